"""
=========================================================
Margin losses against SVM baselines on long-tailed digits
=========================================================

The question this package answers: on long-tailed data, do margin losses beat
the class-weighted SVMs many of us reach for first? We train on a long-tailed
version of scikit-learn's digits (digit 0 has 20 times the examples of digit
9), test on a balanced test set, and compare, on the same splits:

* ``SVC(kernel="rbf", class_weight="balanced")`` and
  ``LinearSVC(class_weight="balanced")``, the SVM baselines;
* :class:`~sklearn_lt.LinearMarginClassifier` with the logit-adjusted loss, a
  linear model like ``LinearSVC``;
* :class:`~sklearn_lt.MLPMarginClassifier` with the logit-adjusted loss and
  with LDAM plus deferred re-weighting (LDAM-DRW).

``sklearn-lt compare`` runs the same comparison, with more contenders, from
the command line.
"""

# %%
# Data: long-tailed training sets, balanced test sets
# ---------------------------------------------------
# :func:`~sklearn_lt.compare.digits_lt_split` stacks a few independent
# long-tailed-train / balanced-test splits of the bundled digits (nothing
# downloads) and gives them as ``cv``, the form
# :func:`~sklearn_lt.compare.compare` and ``cross_validate`` take.
import os

import numpy as np

from sklearn_lt.compare import compare, default_contenders, digits_lt_split

# Small settings when the examples run as tests.
FAST = os.environ.get("SKLEARN_LT_EXAMPLE_FAST") == "1"

X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=1 if FAST else 3)
train, test = cv[0]
print("training examples per digit:", np.bincount(y[train]).tolist())
print("test examples per digit:    ", np.bincount(y[test]).tolist())

# %%
# Contenders
# ----------
# The default contenders are plain estimators (inside a ``StandardScaler``
# pipeline); we pick five by name. The two MLPs share the MLP settings of
# every MLP contender of ``sklearn-lt compare``.
names = [
    "svc_rbf_balanced",
    "linear_svc_balanced",
    "linear_margin_la",
    "mlp_margin_la",
    "mlp_margin_ldam_drw",
]
contenders = {name: default_contenders()[name] for name in names}
if FAST:
    for name in ["mlp_margin_la", "mlp_margin_ldam_drw"]:
        contenders[name].set_params(mlpmarginclassifier__max_iter=5)
contenders["mlp_margin_ldam_drw"]

# %%
# Compare
# -------
# Every contender is cross-validated on the same splits; the table is sorted
# by balanced accuracy (the mean per-class recall, which weighs the tail as
# much as the head).
table, per_class = compare(contenders, X, y, cv=cv, return_per_class=True)
columns = [
    "contender",
    "balanced_accuracy_mean",
    "balanced_accuracy_std",
    "few_shot_recall_mean",
    "worst_class_recall_mean",
]
print(table[columns].round(3).to_string(index=False))

# %%
# Who helps the tail
# ------------------
# Per-class recall against the number of training examples of the class. The
# SVMs lose recall on the rare digits (left); the margin losses keep more of
# it.
import matplotlib.pyplot as plt

from sklearn_lt.compare.plots import plot_balanced_accuracy, plot_per_class_recall

ax = plot_per_class_recall(per_class)

# %%
# And the summary, with the standard deviation over the splits.
plot_balanced_accuracy(table)
plt.show()
