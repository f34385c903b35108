"""
==================================================
The comparison in a notebook: ``Comparison``
==================================================

``sklearn-lt compare`` on the command line and
:class:`~sklearn_lt.compare.Comparison` in Python are the same thing: the
command only parses its arguments and runs a ``Comparison``. Here we run one
notebook-style on a table of our own: a DataFrame with a label column,
numeric and string features and a long tail of rare classes. We look at the
table, plot the per-class recall, write a report, and continue a run that
was stopped half-way.
"""

# %%
# A long-tailed table
# -------------------
# Six classes, the largest 25 times the smallest, named by text; four numeric
# features and one string column. Any DataFrame with a label column (or a
# CSV / Parquet file, or ``X`` and ``y``) works the same way.
import os
import tempfile

import numpy as np
import pandas as pd

from sklearn_lt.compare import Comparison
from sklearn_lt.datasets import make_long_tailed_classification

# Small settings when the examples run as tests.
FAST = os.environ.get("SKLEARN_LT_EXAMPLE_FAST") == "1"

X, y = make_long_tailed_classification(
    n_samples=300 if FAST else 900,
    n_features=4,
    n_informative=4,
    n_redundant=0,
    n_classes=6,
    imbalance_ratio=25,
    class_sep=1.2,
    random_state=0,
)
names = np.array(["ash", "birch", "cedar", "elm", "fir", "yew"])
frame = pd.DataFrame(X, columns=["height", "girth", "bark", "leaf"])
frame["soil"] = np.random.RandomState(0).choice(["clay", "sand", "loam"], len(y))
frame["species"] = names[y]
frame["species"].value_counts()

# %%
# Set up and run
# --------------
# The contenders are picked by name from
# :func:`~sklearn_lt.compare.default_contenders` (``sklearn-lt compare
# --list-contenders`` prints them); your own estimators go in as
# ``(name, estimator)`` pairs. On a table, the built-in contenders get a
# per-fold front end (imputation, one-hot encoding of ``soil``); yours are
# used as given.
comparison = Comparison(
    frame,
    target="species",
    contenders=["logreg", "logreg_balanced", "logreg_posthoc_la", "linear_margin_la"],
    cv=2 if FAST else 5,
    random_state=0,
)
results = comparison.run()
print(results)

# %%
# The table
# ---------
# ``results.table`` is a DataFrame, best balanced accuracy first, with every
# metric's mean and standard deviation over the splits, failures, and for
# this package's contenders a paired test against the best baseline.
# ``results.display()`` is what the command prints: ``failed`` marks a
# contender that failed on a split, ``no class`` a shot group without a
# class. The shot groups are scaled to the data (log-scale thirds of the
# training class sizes).
print("shot thresholds (many, few):", results.shot_thresholds)
results.display()

# %%
# Who helps the tail
# ------------------
# One panel per contender, the classes from the smallest training set to the
# largest, each named with its training size; the dashed line is the best
# baseline.
figure = results.plot()

# %%
# The balanced accuracy of every contender, with its spread over the splits.
figure = results.plot("balanced_accuracy")

# %%
# A report, and a run that survives
# ---------------------------------
# ``to_html`` writes one self-contained page (plots embedded). With ``out``,
# ``run`` writes what the command line writes, each contender the moment it
# finishes; ``resume=True`` keeps the finished ones and runs the others
# (Ctrl-C in the middle of a run keeps what finished, too).
with tempfile.TemporaryDirectory() as out:
    report = results.to_html(os.path.join(out, "report.html"))
    print(report.name, report.stat().st_size > 0)
    first = Comparison(
        frame, target="species", contenders=["logreg"], cv=2 if FAST else 5
    ).run(out=os.path.join(out, "run"), overwrite=True, plots=False)
    more = Comparison(
        frame,
        target="species",
        contenders=["logreg", "logreg_balanced"],
        cv=2 if FAST else 5,
    ).run(out=os.path.join(out, "run"), resume=True, plots=False)
    print(sorted(path.name for path in more.files))
more.table[["contender", "balanced_accuracy_mean", "few_shot_recall_mean"]]
