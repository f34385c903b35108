"""
========================================
Grid search over losses, margins and tau
========================================

:class:`~sklearn_lt.MLPMarginClassifier` is a plain scikit-learn estimator,
so its loss and the loss's hyper-parameters go into a ``GridSearchCV`` like
any others: here the LDAM margin (``max_margin``, the largest per-class
margin, that of the rarest class) and the logit-adjustment strength ``tau``,
inside a ``Pipeline`` with a ``StandardScaler``. A list of grids keeps each
hyper-parameter with the loss it belongs to.
"""

# %%
# Data
# ----
# A long-tailed training set (digit 0 has 20 times the examples of digit 9)
# and a balanced test set, from the bundled digits.
import os

import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import MLPMarginClassifier, load_digits_lt, shot_accuracy

# Small settings when the examples run as tests.
FAST = os.environ.get("SKLEARN_LT_EXAMPLE_FAST") == "1"

X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=20)

# %%
# The search
# ----------
# Balanced accuracy is the score to maximise: plain accuracy on the
# long-tailed validation folds would reward ignoring the tail. Stratified
# folds keep a few examples of the rarest digit in every fold.
model = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "mlp",
            MLPMarginClassifier(
                hidden_layer_sizes=(64,),
                max_iter=3 if FAST else 40,
                batch_size=64,
                random_state=0,
            ),
        ),
    ]
)
param_grid = [
    {
        "mlp__loss": ["ldam"],
        "mlp__reweight": ["drw"],
        "mlp__max_margin": [0.5] if FAST else [0.3, 0.5],
    },
    {
        "mlp__loss": ["logit_adjusted"],
        "mlp__tau": [1.0] if FAST else [0.5, 1.0, 1.5],
    },
]
search = GridSearchCV(
    model,
    param_grid,
    scoring="balanced_accuracy",
    cv=StratifiedKFold(2 if FAST else 3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)

results = pd.DataFrame(search.cv_results_)
params = [c for c in results if c.startswith("param_")]
print(
    results[[*params, "mean_test_score", "std_test_score", "rank_test_score"]]
    .sort_values("rank_test_score")
    .to_string(index=False)
)

# %%
# The chosen model on the balanced test set
# -----------------------------------------
# ``GridSearchCV`` refits the best setting on the whole training set.
# :func:`~sklearn_lt.shot_accuracy` splits the test recall by how many
# training examples each class had.
print("best:", search.best_params_)
y_pred = search.predict(X_test)
print("balanced accuracy:", round(balanced_accuracy_score(y_test, y_pred), 3))
counts = pd.Series(y_train).value_counts().to_dict()
print(shot_accuracy(y_test, y_pred, counts, many_shot=100, few_shot=20))

# %%
# Every setting of the search, with its spread over the folds.
import matplotlib.pyplot as plt

results["setting"] = [
    ", ".join(f"{key.removeprefix('mlp__')}={value}" for key, value in params.items())
    for params in results["params"]
]
results = results.sort_values("mean_test_score")
fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(results)), layout="constrained")
ax.barh(
    results["setting"],
    results["mean_test_score"],
    xerr=results["std_test_score"],
    color="tab:blue",
)
ax.set_xlim(results["mean_test_score"].min() - 0.1, 1)
ax.set_xlabel("balanced accuracy (mean ± std over folds)")
plt.show()
