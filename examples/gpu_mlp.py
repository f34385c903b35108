"""
==========================
The same MLP on GPU or CPU
==========================

:class:`~sklearn_lt.MLPMarginClassifier` trains with PyTorch (through
skorch); ``device="cuda"`` moves the network and the data to a GPU, and
nothing else changes: the estimator still clones, pickles, goes into a
``Pipeline`` and predicts NumPy arrays. This example uses a GPU when one is
there and the CPU otherwise.
"""

# %%
# Pick the device
# ---------------
import os
import time

import torch
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import MLPMarginClassifier, load_digits_lt

# Small settings when the examples run as tests.
FAST = os.environ.get("SKLEARN_LT_EXAMPLE_FAST") == "1"

device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)

# %%
# Train LDAM-DRW on long-tailed digits
# ------------------------------------
# Each epoch moves no data: the training set is put on the device once. The
# deferred re-weighting switches on for the last 20% of the epochs.
X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=20)
model = make_pipeline(
    StandardScaler(),
    MLPMarginClassifier(
        loss="ldam",
        reweight="drw",
        hidden_layer_sizes=(256, 256),
        batch_size=64,
        max_iter=5 if FAST else 100,
        device=device,
        random_state=0,
    ),
)
start = time.perf_counter()
model.fit(X_train, y_train)
seconds = time.perf_counter() - start
y_pred = model.predict(X_test)
print(f"fit: {seconds:.1f} s on {device}")
print("balanced accuracy:", round(balanced_accuracy_score(y_test, y_pred), 3))

# %%
# What was learned
# ----------------
# The fitted skorch net is kept as ``net_``; its history has the training
# loss of every epoch. The predictions are NumPy arrays whatever the device.
net = model[-1].net_
losses = net.history[:, "train_loss"]
print("train loss, first and last epoch:", round(losses[0], 3), round(losses[-1], 3))
print(type(y_pred).__name__, y_pred[:10])

# %%
# The training loss per epoch, on a log scale. The dashed line marks where
# the class weights of DRW switch on, for the last 20% of the epochs
# (``reweight_start=0.8``).
import matplotlib.pyplot as plt

epochs = range(1, len(losses) + 1)
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.plot(epochs, losses, marker="." if FAST else None)
ax.axvline(0.8 * len(losses) + 0.5, color="grey", linestyle="--", label="DRW on")
ax.set_xlabel("epoch")
ax.set_yscale("log")
ax.set_ylabel("training loss (LDAM)")
ax.set_title(f"LDAM-DRW on long-tailed digits ({device})")
ax.legend()
plt.show()
