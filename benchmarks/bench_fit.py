"""MLP per-epoch training time: MLPMarginClassifier vs a plain PyTorch loop vs sklearn.

All three train the same architecture (d -> 256 -> 256 -> K, ReLU) with Adam
(lr 1e-3), the same L2 penalty (alpha / 2 * sum ||W||^2) and batch size; ours
and the plain loop use the same logit-adjusted loss. The plain loop is the
reference a PyTorch user would write: tensors made once, a permutation per
epoch, slicing, forward, loss, backward, step.

    python benchmarks/bench_fit.py --rows 100000 --batch-sizes 256 2048
"""

import argparse
import warnings

from _common import (
    interleaved_medians,
    long_tailed_data,
    machine,
    plain_training_loop,
    print_table,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklearn_lt import MLPMarginClassifier

HIDDEN = (256, 256)
ALPHA = 1e-4


def plain_loop(X, y, batch_size, epochs, seed=0):
    return plain_training_loop(X, y, HIDDEN, batch_size, epochs, ALPHA, seed=seed)


def ours(X, y, batch_size, epochs, seed=0):
    clf = MLPMarginClassifier(
        loss="logit_adjusted",
        hidden_layer_sizes=HIDDEN,
        batch_size=batch_size,
        max_iter=epochs,
        alpha=ALPHA,
        random_state=seed,
    )
    return clf.fit(X, y)


def sklearn_mlp(X, y, batch_size, epochs, seed=0):
    clf = MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        batch_size=batch_size,
        max_iter=epochs,
        alpha=ALPHA,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    rows = []
    for n_rows in args.rows:
        X, y = long_tailed_data(n_rows)
        for batch_size in args.batch_sizes:
            fns = {"plain": plain_loop, "ours": ours}
            if not args.skip_sklearn:
                fns["sklearn"] = sklearn_mlp
            seconds = interleaved_medians(
                args.repeats, fns, X, y, batch_size, args.epochs
            )
            per_epoch = {name: s / args.epochs for name, s in seconds.items()}
            row = {
                "rows": n_rows,
                "batch": batch_size,
                "plain s/epoch": per_epoch["plain"],
                "ours s/epoch": per_epoch["ours"],
                "ours / plain": per_epoch["ours"] / per_epoch["plain"],
            }
            if "sklearn" in per_epoch:
                row["sklearn s/epoch"] = per_epoch["sklearn"]
                row["ours / sklearn"] = per_epoch["ours"] / per_epoch["sklearn"]
            rows.append(row)
            print_table(rows[-1:], list(row))
    print()
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
