"""Write the synthetic long-tailed table of the decision guide as a CSV.

Usage::

    python docs/synthetic_long_tailed_csv.py synthetic_lt.csv
    sklearn-lt compare --data synthetic_lt.csv --target label --out results_synthetic

The table is :func:`sklearn_lt.datasets.make_long_tailed_classification` with
3000 rows, 20 features (8 informative), 10 classes of one cluster each,
imbalance ratio 100 (exponential profile) and seed 0: the second table of
``docs/user_guide/which_loss.rst`` comes from it.
"""

import sys

import pandas as pd

from sklearn_lt.datasets import make_long_tailed_classification


def main(path):
    X, y = make_long_tailed_classification(
        n_samples=3000,
        n_features=20,
        n_classes=10,
        imbalance_ratio=100,
        n_informative=8,
        n_clusters_per_class=1,
        random_state=0,
    )
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    table["label"] = y
    table.to_csv(path, index=False)
    counts = table["label"].value_counts().sort_index().tolist()
    print(f"wrote {path}: {len(table)} rows, class counts {counts}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/synthetic_long_tailed_csv.py OUT.csv")
    main(sys.argv[1])
