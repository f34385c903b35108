"""Selection estimators (MLPMarginClassifierCV, ...CV) against GridSearchCV.

Two parts:

* **time**: at ``--rows`` rows (long-tailed, 20 features, 5 classes,
  imbalance 20), the ``*CV`` estimator with its default grid, the
  equivalent ``GridSearchCV`` (same estimator, same grid, same
  ``StratifiedKFold(5)`` splits, balanced accuracy, refit, same seeds) and
  one fit of the estimator alone, taken in turns (a, b, c, a, b, c, ...),
  medians of ``--repeats``, one process, one thread. Prints the speed-up of
  the ``*CV`` estimator over ``GridSearchCV`` and its cost in default fits
  (what ``sklearn-lt compare`` would weigh: it adds a contender only within
  5x a default fit).
* **quality**: through ``benchmarks/bench_real.py`` (5-fold stratified CV,
  its preprocessing), balanced accuracy of the ``*CV`` estimators against
  the default estimators on a few real tables.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cv.py --part time \\
        --model linear --rows 500 5000 --repeats 3
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cv.py --part time \\
        --model mlp --rows 500 --repeats 3
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cv.py --part quality \\
        --tables mlc_churn olive hawks
"""

import argparse
import os
import sys
import warnings

import numpy as np
import torch
from _common import interleaved_medians, long_tailed_data, machine, print_table
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_lt import (
    LinearMarginClassifier,
    LinearMarginClassifierCV,
    MLPMarginClassifier,
    MLPMarginClassifierCV,
)

SEED = 0


def _models(model, max_iter):
    if model == "linear":
        return LinearMarginClassifier(), LinearMarginClassifierCV
    extra = {} if max_iter is None else {"max_iter": max_iter}
    return MLPMarginClassifier(**extra), MLPMarginClassifierCV


def time_part(model, rows, repeats, max_iter):
    estimator, cls = _models(model, max_iter)
    cv = StratifiedKFold(5)
    search = cls(estimator, cv=cv, random_state=SEED)
    grid = search._default_param_grid()
    table = []
    for n in rows:
        X, y = long_tailed_data(n, n_features=20, n_classes=5, imbalance_ratio=20)
        X = StandardScaler().fit_transform(X).astype(np.float32)
        grid_search = GridSearchCV(
            estimator.set_params(random_state=SEED),
            grid,
            cv=cv,
            scoring="balanced_accuracy",
        )
        single = estimator.set_params(random_state=SEED)
        fns = {
            "cv_estimator": search.fit,
            "grid_search": grid_search.fit,
            "default_fit": single.fit,
        }
        times = interleaved_medians(repeats, fns, X, y)
        same = search.best_params_ == grid_search.best_params_
        assert search.cv_results_["params"] == grid_search.cv_results_["params"]
        table.append(
            {
                "rows": n,
                "fits (ours/GS)": f"{search.n_fits_ + 1}/"
                f"{len(grid_search.cv_results_['params']) * 5 + 1}",
                f"{cls.__name__} s": round(times["cv_estimator"], 2),
                "GridSearchCV s": round(times["grid_search"], 2),
                "default fit s": round(times["default_fit"], 3),
                "GS / ours": round(times["grid_search"] / times["cv_estimator"], 2),
                "ours / default fit": round(
                    times["cv_estimator"] / times["default_fit"], 1
                ),
                "same best": same,
                "best (ours)": _short(search.best_params_),
                "best score ours / GS": f"{search.best_score_:.3f} / "
                f"{grid_search.best_score_:.3f}",
                # How far the post-hoc tau scores are from trained ones.
                "max |mean score diff|": round(
                    float(
                        np.max(
                            np.abs(
                                search.cv_results_["mean_test_score"]
                                - grid_search.cv_results_["mean_test_score"]
                            )
                        )
                    ),
                    4,
                ),
            }
        )
        print_table(table[-1:], list(table[-1]))
        sys.stdout.flush()
    return table


def _short(params):
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def quality_part(tables, repeats, out):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_real as br

    # As bench_real's own estimators: behind StandardScaler (numeric columns).
    br.CONTENDERS["linear_margin_cv"] = br._ours("LinearMarginClassifierCV")
    br.CONTENDERS["mlp_margin_cv"] = br._ours("MLPMarginClassifierCV")
    names = ["linear_margin_cv", "mlp_margin_cv"]
    defaults = [n for n in ("linear_margin", "mlp_margin") if n in br.CONTENDERS]
    cells = br.run(
        tables,
        defaults + names + ["logreg_balanced"],
        folds=5,
        repeats=repeats,
        n_jobs=1,
        out=out,
    )
    print(br.report(cells))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["time", "quality"], default="time")
    parser.add_argument("--model", choices=["linear", "mlp"], default="linear")
    parser.add_argument("--rows", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="MLP only: max_iter of every fit (default: the estimator's)",
    )
    parser.add_argument("--tables", nargs="+", default=["mlc_churn", "olive"])
    parser.add_argument("--out", default="benchmarks/results/bench_cv_cells.csv")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(1)
    print(machine())
    with threadpool_limits(1):
        if args.part == "time":
            time_part(args.model, args.rows, args.repeats, args.max_iter)
        else:
            quality_part(args.tables, args.repeats, args.out)


if __name__ == "__main__":
    main()
