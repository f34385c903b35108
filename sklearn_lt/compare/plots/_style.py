"""What both figures share: colours, the matplotlib import, checks, labels."""

import numpy as np
import pandas as pd

# This package's contenders in colour, the baselines in grey (bars, panel
# lines and names), failures in red.
_OURS_COLOR = "#1f77b4"
_BASELINE_COLOR = "#8c8c8c"
_BASELINE_LINE_COLOR = "#595959"
_FAILED_COLOR = "#c0392b"
_REFERENCE_COLOR = "#000000"
_FAMILY_COLORS = {"sklearn_lt": _OURS_COLOR, "baseline": _BASELINE_COLOR}
_FAMILY_LABELS = {"sklearn_lt": "sklearn_lt (ours)", "baseline": "baseline"}


def _require_matplotlib():
    """Import matplotlib, or say how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "sklearn_lt.compare.plots needs matplotlib; install it with "
            '`pip install "sklearn-lt[plots]"` (or `pip install matplotlib`).'
        ) from exc
    return matplotlib


def _new_axes(ax, figsize):
    _require_matplotlib()
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_columns(frame, columns, name):
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(frame)}.")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {missing}; pass the output of "
            "sklearn_lt.compare.compare (with return_per_class=True for the "
            "per-class frame)."
        )


def _shorten(text, width, middle=False):
    """``text`` on one line, at most ``width`` characters.

    ``middle=True`` cuts out the middle, so that names sharing a long
    prefix (``..._variant_1``, ``..._variant_2``) stay distinguishable.
    """
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    if middle:
        head = (width - 1) // 2
        return text[:head] + "…" + text[len(text) - (width - 1 - head) :]
    return text[: width - 1] + "…"


def _column(table, name, default):
    """A column of ``table`` as a list, or ``default`` for every row."""
    if name in table.columns:
        return list(table[name])
    return [default] * len(table)


def _status(table):
    """Failure facts per row of ``table``: a list of dicts.

    A contender whose mean balanced accuracy is NaN has no score and is
    drawn as failed; ``n_failed`` (when the table has it) and ``n_splits``
    give the "k/n splits"; ``error`` gives the reason.
    """
    means = table["balanced_accuracy_mean"].to_numpy(dtype=float)
    rows = []
    for mean, n_splits, n_failed, error in zip(
        means,
        _column(table, "n_splits", None),
        _column(table, "n_failed", None),
        _column(table, "error", ""),
    ):
        n_splits = None if pd.isna(n_splits) else int(n_splits)
        scored = bool(np.isfinite(mean))
        if n_failed is None or pd.isna(n_failed):
            n_failed = None if scored else n_splits
        else:
            n_failed = int(n_failed)
        error = "" if error is None or pd.isna(error) else str(error)
        fraction = (
            f"{n_failed}/{n_splits} splits"
            if n_failed is not None and n_splits is not None
            else f"{n_failed} split(s)"
            if n_failed is not None
            else ""
        )
        if not scored:
            label = f"failed ({fraction})" if fraction else "failed"
        elif n_failed:
            label = f"{fraction} failed"
        else:
            label = ""
        rows.append(
            {"scored": scored, "n_failed": n_failed, "label": label, "error": error}
        )
    return rows
