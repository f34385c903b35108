"""Shared helpers of the benchmark scripts: data, timing, machine facts."""

import os
import platform
import time

import numpy as np
import torch
from sklearn.datasets import make_classification


def long_tailed_data(
    n_rows, n_features=100, n_classes=20, imbalance_ratio=100, seed=0, flip_y=0.01
):
    """float32 data with an exponential long-tail class profile.

    ``flip_y`` is ``make_classification``'s fraction of labels drawn at
    random (its default, 0.01). Such noise lands on every class alike, so on
    the rarest class (prior about 0.2% here) it is a large share of the
    labels.
    """
    profile = imbalance_ratio ** (-np.arange(n_classes) / max(n_classes - 1, 1))
    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=min(n_features, 40),
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        weights=profile / profile.sum(),
        class_sep=1.5,
        flip_y=flip_y,
        random_state=seed,
    )
    return X.astype(np.float32), y


def median_time(repeats, fn, *args, **kwargs):
    """Median wall time of ``fn(*args, **kwargs)`` over ``repeats`` runs, and
    the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def interleaved_medians(repeats, fns, *args, pause=0.5, **kwargs):
    """Median wall time of each of ``fns`` (a dict name -> function), taking
    the runs in turns (a, b, c, a, b, c, ...) so that a slow spell of the
    machine hits every contender alike rather than one of them."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            # Let the previous run's BLAS / OpenMP worker threads, which
            # busy-wait for a while after a call, go idle before the clock
            # starts: otherwise they steal cores from the next contender.
            time.sleep(pause)
            start = time.perf_counter()
            fn(*args, **kwargs)
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def fit_model(model, X, y):
    """``model.fit(X, y)``, as a function to time."""
    return model.fit(X, y)


def machine():
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
        f"python {platform.python_version()}"
    )


def print_table(rows, columns):
    widths = [max(len(str(c)), *(len(_fmt(r[c])) for r in rows)) for c in columns]
    print("| " + " | ".join(str(c).ljust(w) for c, w in zip(columns, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(
            "| "
            + " | ".join(_fmt(r[c]).ljust(w) for c, w in zip(columns, widths))
            + " |"
        )


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def plain_training_loop(X, y, hidden, batch_size, epochs, alpha, fused=None, seed=0):
    """The loop a PyTorch user writes: the reference the package is timed against.

    The same ``MLPModule``, logit-adjusted cross-entropy (log-prior offsets)
    plus ``0.5 * alpha * sum ||W||^2``, Adam at 1e-3, a fresh permutation per
    epoch, minibatches indexed from tensors; ``fused`` is passed to Adam.
    """
    import torch.nn.functional as F

    from sklearn_lt.losses import log_prior
    from sklearn_lt.modules import MLPModule

    torch.manual_seed(seed)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    model = MLPModule(X.shape[1], int(y.max()) + 1, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    offsets = log_prior(np.bincount(y)).float()
    weights = [p for p in model.parameters() if p.ndim > 1]
    n = len(y)
    for _ in range(epochs):
        order = torch.randperm(n)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            logits = model(X_t[index])
            loss = F.cross_entropy(logits + offsets, y_t[index])
            loss = loss + 0.5 * alpha * sum(w.pow(2).sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model
