"""Linear fit time and quality: LinearMarginClassifier vs LogisticRegression.

LinearMarginClassifier(loss="logit_adjusted") (full-batch L-BFGS in torch,
float32) against LogisticRegression(class_weight="balanced") (lbfgs), both
with default tolerances, on a long-tailed problem (d = 100, 20 classes),
with balanced accuracy measured on a balanced held-out set.

Two reference columns explain the quality difference rather than enter the
target. "plain LR - log pi": an unweighted LogisticRegression (max_iter=1000,
so that it converges) whose log-probabilities are shifted by -log(prior)
(LogitAdjustedClassifier). On a linear model with an unpenalised intercept
that is the logit-adjusted loss's own solution (Menon et al., Sec. 4).
"ours ce balanced": LinearMarginClassifier(loss="ce", class_weight="balanced"),
our solver on sklearn's weighted loss.

    python benchmarks/bench_linear.py --rows 10000 100000 1000000
"""

import argparse

import numpy as np
from _common import fit_model, long_tailed_data, machine, median_time, print_table
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from sklearn_lt import LinearMarginClassifier, LogitAdjustedClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--flip-y",
        type=float,
        default=0.01,
        help="fraction of labels drawn at random (make_classification's flip_y)",
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    rows = []
    for n_rows in args.rows:
        X, y = long_tailed_data(int(n_rows * 1.25), seed=1, flip_y=args.flip_y)
        # Hold out a test set with (up to) equal counts per class.
        rng = np.random.RandomState(0)
        per_class = max(1, int(np.bincount(y).min() // 2))
        test = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == k), per_class, replace=False)
                for k in np.unique(y)
            ]
        )
        train = np.setdiff1d(np.arange(len(y)), test)[:n_rows]
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
        c_ours = 1e4 / len(y_train)
        models = {
            "ours": lambda: LinearMarginClassifier(
                loss="logit_adjusted", random_state=0
            ),
            "sklearn": lambda: LogisticRegression(class_weight="balanced"),
            # Our default alpha = 1e-4 on the mean loss is C = 1 / (alpha n).
            "plain LR - log pi": lambda c=c_ours: LogitAdjustedClassifier(
                LogisticRegression(C=c, max_iter=1000)
            ),
            "ours ce balanced": lambda: LinearMarginClassifier(
                loss="ce", class_weight="balanced", random_state=0
            ),
        }
        seconds, scores = {}, {}
        for name, make in models.items():
            seconds[name], model = median_time(
                args.repeats, fit_model, make(), X_train, y_train
            )
            scores[name] = balanced_accuracy_score(y_test, model.predict(X_test))
        row = {
            "rows": len(y_train),
            "ours fit s": seconds["ours"],
            "sklearn fit s": seconds["sklearn"],
            "ours / sklearn": seconds["ours"] / seconds["sklearn"],
            "ours bal. acc": scores["ours"],
            "sklearn bal. acc": scores["sklearn"],
            "difference (points)": 100 * (scores["ours"] - scores["sklearn"]),
            "plain LR - log pi bal. acc": scores["plain LR - log pi"],
            "ours ce balanced fit s": seconds["ours ce balanced"],
            "ours ce balanced bal. acc": scores["ours ce balanced"],
        }
        rows.append(row)
        print_table([row], list(row))
    print()
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
