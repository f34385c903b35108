"""
=========================================================
A sampler in front of a margin loss (imbalanced-learn)
=========================================================

:class:`~sklearn_lt.MLPMarginClassifier` goes into an imbalanced-learn
``Pipeline`` like any classifier, behind a sampler. We compare, on the same
long-tailed-train / balanced-test splits of the digits:

* resampling alone: ``SMOTE`` (or random over-sampling) in front of an MLP
  trained with plain cross-entropy;
* the margin loss alone: LDAM with deferred re-weighting (LDAM-DRW) on the
  long-tailed data;
* both: ``SMOTE`` in front of LDAM-DRW.

One thing to keep in mind: the loss learns its class counts from the ``y`` it
is given, so behind a sampler that balances the classes it sees equal counts,
and LDAM's per-class margins (larger for rarer classes) all become the same.
A partial sampler, ``sampling_strategy`` below one, leaves some of the
imbalance for the loss to act on.
"""

# %%
# Data and pipelines
# ------------------
import os

import numpy as np
from imblearn.metrics import classification_report_imbalanced
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import MLPMarginClassifier
from sklearn_lt.compare import compare, digits_lt_split

# Small settings when the examples run as tests.
FAST = os.environ.get("SKLEARN_LT_EXAMPLE_FAST") == "1"

X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=1 if FAST else 3)


def mlp(loss, **kwargs):
    """The same network for every contender; only the loss differs."""
    return MLPMarginClassifier(
        loss,
        hidden_layer_sizes=(128,),
        batch_size=64,
        max_iter=5 if FAST else 60,
        random_state=0,
        **kwargs,
    )


def grow_to_30_percent(y):
    """Sampling strategy: grow every class to 30% of the largest one."""
    labels, counts = np.unique(y, return_counts=True)
    target = int(0.3 * counts.max())
    return {label: max(count, target) for label, count in zip(labels, counts)}


contenders = {
    "smote + cross-entropy": make_pipeline(
        StandardScaler(), SMOTE(k_neighbors=3, random_state=0), mlp("ce")
    ),
    "oversample + cross-entropy": make_pipeline(
        StandardScaler(), RandomOverSampler(random_state=0), mlp("ce")
    ),
    "ldam-drw": make_pipeline(StandardScaler(), mlp("ldam", reweight="drw")),
    "smote + ldam-drw": make_pipeline(
        StandardScaler(),
        SMOTE(k_neighbors=3, random_state=0),
        mlp("ldam", reweight="drw"),
    ),
    "partial smote + ldam-drw": make_pipeline(
        StandardScaler(),
        SMOTE(sampling_strategy=grow_to_30_percent, k_neighbors=3, random_state=0),
        mlp("ldam", reweight="drw"),
    ),
}

# %%
# Compare
# -------
# The rarest digit has 6 training examples, so ``SMOTE`` interpolates between
# at most 3 neighbours (``k_neighbors=3``).
table = compare(contenders, X, y, cv=cv)
columns = [
    "contender",
    "balanced_accuracy_mean",
    "balanced_accuracy_std",
    "few_shot_recall_mean",
    "worst_class_recall_mean",
]
print(table[columns].round(3).to_string(index=False))

# %%
# A closer look at the best pipeline
# ----------------------------------
# imbalanced-learn's report gives per-class precision, recall, specificity
# and geometric mean on the balanced test set of the first split.
best = contenders[table["contender"].iloc[0]]
train, test = cv[0]
best.fit(X[train], y[train])
print(classification_report_imbalanced(y[test], best.predict(X[test]), digits=3))
