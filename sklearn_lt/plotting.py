"""Plots of a comparison: who helps the tail, and by how much.

* :func:`plot_per_class_recall`: per-class recall against the number of
  training examples of the class, one line per contender (log x axis), from
  the ``per_class`` frame of :func:`sklearn_lt.compare.compare`;
* :func:`plot_balanced_accuracy`: a bar chart of the mean balanced accuracy
  of every contender with the standard deviation over the splits as error
  bars, from the result table of :func:`sklearn_lt.compare.compare`.

matplotlib is an optional dependency (``pip install "sklearn-lt[plots]"``);
it is imported only when a function here is called. Both functions draw on
a given ``ax`` or on a new figure and return the Axes; the Figure is
``ax.figure``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> from sklearn_lt.plotting import plot_balanced_accuracy
>>> table = pd.DataFrame({
...     "contender": ["ours", "baseline"],
...     "family": ["sklearn_lt", "baseline"],
...     "balanced_accuracy_mean": [0.9, 0.8],
...     "balanced_accuracy_std": [0.01, 0.02],
... })
>>> ax = plot_balanced_accuracy(table)
>>> [label.get_text() for label in ax.get_yticklabels()]
['ours', 'baseline']
"""

import numpy as np
import pandas as pd

__all__ = ["plot_balanced_accuracy", "plot_per_class_recall"]

# Colours of the two families in the bar chart (matplotlib's tab10 blue and
# grey), so that this package's contenders stand out from the baselines.
_FAMILY_COLORS = {"sklearn_lt": "tab:blue", "baseline": "tab:gray"}


def _pyplot():
    """Import matplotlib's pyplot, or say how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_lt.plotting needs matplotlib; install it with "
            '`pip install "sklearn-lt[plots]"` (or `pip install matplotlib`).'
        ) from exc
    return plt


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    plt = _pyplot()
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


def plot_per_class_recall(per_class, *, contenders=None, ax=None):
    """Per-class recall against training class size, one line per contender.

    For every contender and class, the recall is averaged over the splits
    and drawn against the class's mean number of training examples (log
    scale), so the tail classes are on the left: a contender that helps the
    tail lifts the left end of its line.

    Parameters
    ----------
    per_class : pandas.DataFrame
        The per-class frame of :func:`sklearn_lt.compare.compare` with
        ``return_per_class=True``: columns ``contender``, ``class``,
        ``train_count`` and ``recall`` (one row per contender, split and
        class).

    contenders : list of str, default=None
        The contenders to draw, in this order. None: all, in the order of
        their first appearance in ``per_class``.

    ax : matplotlib.axes.Axes, default=None
        Where to draw. None: a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on; ``ax.figure`` is its Figure.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If a column is missing or a contender is unknown.

    See Also
    --------
    sklearn_lt.compare.compare : Produces ``per_class``.
    sklearn_lt.metrics.per_class_recall : The per-class table of one model.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklearn_lt.plotting import plot_per_class_recall
    >>> per_class = pd.DataFrame({
    ...     "contender": ["a", "a", "b", "b"],
    ...     "split": [0, 0, 0, 0],
    ...     "class": [0, 1, 0, 1],
    ...     "train_count": [100, 10, 100, 10],
    ...     "recall": [0.9, 0.5, 0.8, 0.7],
    ... })
    >>> ax = plot_per_class_recall(per_class)
    >>> [line.get_label() for line in ax.get_lines()]
    ['a', 'b']
    >>> ax.get_xscale()
    'log'
    """
    _check_columns(
        per_class, ["contender", "class", "train_count", "recall"], "per_class"
    )
    known = list(dict.fromkeys(per_class["contender"]))
    if contenders is None:
        contenders = known
    unknown = [name for name in contenders if name not in known]
    if unknown:
        raise ValueError(
            f"Unknown contender(s) {unknown}; per_class has: {', '.join(known)}."
        )
    ax = _new_axes(ax, (8, 5))
    means = per_class.groupby(["contender", "class"], sort=False)[
        ["train_count", "recall"]
    ].mean()
    markers = "osD^v<>pPXh*"
    for i, name in enumerate(contenders):
        points = means.loc[name].sort_values("train_count", kind="stable")
        ax.plot(
            points["train_count"].to_numpy(dtype=float),
            points["recall"].to_numpy(dtype=float),
            marker=markers[i % len(markers)],
            linestyle="-" if i < 10 else "--",
            label=name,
        )
    ax.set_xscale("log")
    ax.set_xlabel("training examples of the class (log scale)")
    ax.set_ylabel("recall on the test data (mean over splits)")
    ax.set_title("Per-class recall against training class size")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="lower right", ncols=2)
    return ax


def plot_balanced_accuracy(table, *, ax=None):
    """Bar chart of the balanced accuracy of every contender, with error bars.

    One horizontal bar per contender, in the order of ``table`` (best first
    in the output of :func:`sklearn_lt.compare.compare`), its length the mean
    balanced accuracy over the splits and its error bar the standard
    deviation. If ``table`` has a ``family`` column, this package's
    contenders (``"sklearn_lt"``) are drawn in blue and the baselines in
    grey.

    Parameters
    ----------
    table : pandas.DataFrame
        The result table of :func:`sklearn_lt.compare.compare`: columns
        ``contender``, ``balanced_accuracy_mean`` and
        ``balanced_accuracy_std`` (and optionally ``family``).

    ax : matplotlib.axes.Axes, default=None
        Where to draw. None: a new figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on; ``ax.figure`` is its Figure.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If a column is missing.

    See Also
    --------
    sklearn_lt.compare.compare : Produces ``table``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from sklearn_lt.plotting import plot_balanced_accuracy
    >>> table = pd.DataFrame({
    ...     "contender": ["a", "b"],
    ...     "balanced_accuracy_mean": [0.9, 0.8],
    ...     "balanced_accuracy_std": [0.01, 0.02],
    ... })
    >>> ax = plot_balanced_accuracy(table)
    >>> [round(float(bar.get_width()), 2) for bar in ax.patches]
    [0.9, 0.8]
    """
    _check_columns(
        table,
        ["contender", "balanced_accuracy_mean", "balanced_accuracy_std"],
        "table",
    )
    n = len(table)
    ax = _new_axes(ax, (8, 0.5 + 0.4 * max(n, 1)))
    means = table["balanced_accuracy_mean"].to_numpy(dtype=float)
    stds = table["balanced_accuracy_std"].to_numpy(dtype=float)
    if "family" in table.columns:
        colors = [_FAMILY_COLORS.get(f, "tab:gray") for f in table["family"]]
    else:
        colors = ["tab:blue"] * n
    positions = np.arange(n)
    ax.barh(
        positions,
        np.nan_to_num(means),
        xerr=np.nan_to_num(stds),
        color=colors,
        capsize=3,
        error_kw={"elinewidth": 1},
    )
    for position, mean in zip(positions, means):
        if np.isfinite(mean):  # the value, inside the bar at its start
            ax.text(
                0.01, position, f"{mean:.3f}", va="center", color="white",
                fontsize="small", transform=ax.get_yaxis_transform(),
            )  # fmt: skip
    ax.set_yticks(positions, labels=list(table["contender"]))
    ax.invert_yaxis()  # first row (the best) on top
    ax.set_xlabel("balanced accuracy (mean ± std over splits)")
    ax.set_xlim(0, 1)
    ax.set_title("Balanced accuracy")
    ax.grid(True, axis="x", alpha=0.3)
    if "family" in table.columns:
        from matplotlib.patches import Patch

        families = list(dict.fromkeys(table["family"]))
        ax.legend(
            handles=[
                Patch(color=_FAMILY_COLORS.get(f, "tab:gray"), label=f)
                for f in families
            ],
            loc="lower right",
            fontsize="small",
        )
    return ax
