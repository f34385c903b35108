"""Fit time against rows and against classes, for every loss.

Rows: MLPMarginClassifier (one epoch, batch 2048) and LinearMarginClassifier
(fixed 30 L-BFGS iterations) on 10k -> 1M rows; the slope of log(time)
against log(rows) is reported (1 = linear).
Classes: one MLP epoch on a fixed number of rows with 10 -> 1000 classes for
every loss, as a ratio to plain cross-entropy. ELM's embedding term builds a
batch x batch similarity matrix: O(batch^2 * embedding_dim) per batch, so
O(n * batch * embedding_dim) per epoch, bounded by the batch size and
independent of the number of classes.

    python benchmarks/bench_scaling.py --rows 10000 100000 1000000 --classes 10 100 1000
"""

import argparse

import numpy as np
from _common import (
    fit_model,
    interleaved_medians,
    long_tailed_data,
    machine,
    median_time,
    print_table,
)

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.losses import LOSSES

HIDDEN = (256, 256)


def mlp(loss, batch_size=2048):
    return MLPMarginClassifier(
        loss=loss,
        hidden_layer_sizes=HIDDEN,
        batch_size=batch_size,
        max_iter=1,
        random_state=0,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[10_000, 30_000, 100_000]
    )
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--class-rows", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--elm-batches", type=int, nargs="+", default=[128, 256, 512, 1024, 2048]
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")

    rows = []
    for n_rows in args.rows:
        X, y = long_tailed_data(n_rows)
        t_mlp, _ = median_time(
            args.repeats, fit_model, mlp("logit_adjusted", args.batch_size), X, y
        )
        t_lin, _ = median_time(
            args.repeats,
            fit_model,
            LinearMarginClassifier(max_iter=30, tol=0.0, random_state=0),
            X,
            y,
        )
        rows.append(
            {
                "rows": n_rows,
                "MLP epoch s": t_mlp,
                "linear fit s (30 L-BFGS iters)": t_lin,
            }
        )
        print_table(rows[-1:], list(rows[-1]))
    log_rows = np.log([r["rows"] for r in rows])
    print()
    print_table(rows, list(rows[0]))
    for column in ("MLP epoch s", "linear fit s (30 L-BFGS iters)"):
        slope = np.polyfit(log_rows, np.log([r[column] for r in rows]), 1)[0]
        print(f"slope of log(time) vs log(rows), {column}: {slope:.3f}")

    table = []
    for n_classes in args.classes:
        X, y = long_tailed_data(args.class_rows, n_classes=n_classes)
        fns = {
            loss: (lambda X, y, loss=loss: mlp(loss, args.batch_size).fit(X, y))
            for loss in LOSSES
        }
        times = interleaved_medians(args.repeats, fns, X, y)
        row = {"classes": n_classes, "ce s": times["ce"]}
        row.update(
            {
                f"{loss} / ce": times[loss] / times["ce"]
                for loss in LOSSES
                if loss != "ce"
            }
        )
        table.append(row)
        print_table([row], list(row))
    print()
    print_table(table, list(table[0]))

    # ELM's embedding term: a batch x batch similarity matrix per batch, so
    # O(batch * embedding_dim) extra work per example: its cost over plain
    # cross-entropy grows with the batch size, not with the data set.
    X, y = long_tailed_data(args.class_rows, n_classes=20)
    batches = []
    for batch_size in args.elm_batches:
        fns = {
            loss: (lambda X, y, loss=loss, b=batch_size: mlp(loss, b).fit(X, y))
            for loss in ("ce", "elm")
        }
        times = interleaved_medians(args.repeats, fns, X, y)
        batches.append(
            {
                "batch": batch_size,
                "ce s": times["ce"],
                "elm s": times["elm"],
                "elm / ce": times["elm"] / times["ce"],
            }
        )
        print_table(batches[-1:], list(batches[-1]))
    print()
    print_table(batches, list(batches[0]))


if __name__ == "__main__":
    main()
