"""Plots of a comparison: who helps the tail, and by how much.

* :func:`plot_balanced_accuracy`: one bar per contender, the axis zoomed to
  the data, the standard deviation over the splits as error bars, this
  package's contenders in colour against grey baselines, failed contenders
  drawn as hatched bars that say so;
* :func:`plot_per_class_recall_panels`: small multiples, one panel per
  contender (best first), recall of every class with the classes ordered by
  training size (the size is on the axis), each against the best baseline;
* :func:`plot_per_class_recall`: all contenders on one Axes against the
  class size (log x axis), every line its own colour;
* :func:`write_plots`: both files of ``sklearn-lt compare``
  (``balanced_accuracy.png``, ``per_class_recall.png``), drawn off-screen.

The inputs are the result table and the ``per_class`` frame of
:func:`sklearn_lt.compare.compare`. matplotlib is an optional dependency
(``pip install "sklearn-lt[plots]"``); it is imported only when a function
here is called. With ``ax=None`` (``figure=None``) the functions draw on a
new pyplot figure, so that ``plt.show()`` and notebooks show it;
:func:`write_plots` uses plain :class:`matplotlib.figure.Figure` objects and
never touches pyplot or the backend.

Examples
--------
>>> import pandas as pd
>>> from matplotlib.figure import Figure
>>> from sklearn_lt.compare.plots import plot_balanced_accuracy
>>> table = pd.DataFrame({
...     "contender": ["ours", "baseline"],
...     "family": ["sklearn_lt", "baseline"],
...     "balanced_accuracy_mean": [0.9, 0.8],
...     "balanced_accuracy_std": [0.01, 0.02],
... })
>>> ax = plot_balanced_accuracy(table, ax=Figure().add_subplot())
>>> [label.get_text() for label in ax.get_yticklabels()]
['ours', 'baseline']
"""

import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "plot_balanced_accuracy",
    "plot_per_class_recall",
    "plot_per_class_recall_panels",
    "write_plots",
]

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


def _zoomed_limits(means, stds):
    """x limits that bracket mean ± std of the scored rows, inside [0, 1]."""
    finite = np.isfinite(means)
    if not finite.any():
        return 0.0, 1.0
    stds = np.where(np.isfinite(stds), stds, 0.0)
    low = float(np.min(means[finite] - stds[finite]))
    high = float(np.max(means[finite] + stds[finite]))
    pad = max(0.08 * (high - low), 0.005)
    low, high = max(low - pad, 0.0), min(high + pad, 1.0)
    if high - low < 0.01:  # a single value at 0 or 1
        low, high = max(high - 0.01, 0.0), max(low + 0.01, high)
    return low, high


def plot_balanced_accuracy(table, *, ax=None):
    """Bar chart of the balanced accuracy of every contender, with error bars.

    One horizontal bar per contender, in the order of ``table`` (best first
    in the output of :func:`sklearn_lt.compare.compare`), its length the mean
    balanced accuracy over the splits and its error bar the standard
    deviation; the value is written beside the axes. The x axis is zoomed to
    the data (it does not start at 0: compare the bar ends, not their
    lengths). If ``table`` has a ``family`` column, this package's
    contenders (``"sklearn_lt"``) are blue and the baselines grey, and a
    dashed line marks the best baseline. A contender without a score (NaN
    mean: it failed) gets a hatched red bar across the axes with the reason
    (``error`` column) and "failed (k/n splits)"; a contender that failed on
    some splits only (``n_failed`` column) gets "k/n splits failed".

    Parameters
    ----------
    table : pandas.DataFrame
        The result table of :func:`sklearn_lt.compare.compare`: columns
        ``contender``, ``balanced_accuracy_mean`` and
        ``balanced_accuracy_std``; optionally ``family``, ``n_splits``,
        ``n_failed`` and ``error``.

    ax : matplotlib.axes.Axes, default=None
        Where to draw. None: a new pyplot figure.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The Axes drawn on; ``ax.figure`` is its Figure. ``ax.patches`` holds
        one bar per row of ``table``, in order.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If a column is missing.

    See Also
    --------
    sklearn_lt.compare.compare : Produces ``table``.
    plot_per_class_recall_panels : The per-class view of the same run.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from sklearn_lt.compare.plots import plot_balanced_accuracy
    >>> table = pd.DataFrame({
    ...     "contender": ["a", "b", "c"],
    ...     "balanced_accuracy_mean": [0.9, 0.8, float("nan")],
    ...     "balanced_accuracy_std": [0.01, 0.02, float("nan")],
    ...     "n_splits": [5, 5, 5],
    ... })
    >>> ax = plot_balanced_accuracy(table, ax=Figure().add_subplot())
    >>> [round(float(bar.get_width()), 2) for bar in ax.patches[:2]]
    [0.9, 0.8]
    >>> str(ax.patches[2].get_hatch())
    '///'
    >>> "failed (5/5 splits)" in [text.get_text() for text in ax.texts]
    True
    """
    _check_columns(
        table,
        ["contender", "balanced_accuracy_mean", "balanced_accuracy_std"],
        "table",
    )
    n = len(table)
    ax = _new_axes(ax, (9, 1.4 + 0.34 * max(n, 1)))
    means = table["balanced_accuracy_mean"].to_numpy(dtype=float)
    stds = table["balanced_accuracy_std"].to_numpy(dtype=float)
    families = _column(table, "family", None)
    colors = [_FAMILY_COLORS.get(family, _BASELINE_COLOR) for family in families]
    if "family" not in table.columns:
        colors = [_OURS_COLOR] * n
    status = _status(table)
    low, high = _zoomed_limits(means, stds)
    positions = np.arange(n)
    value_at = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for position, mean, std, color, facts in zip(
        positions, means, stds, colors, status
    ):
        if facts["scored"]:
            ax.barh(position, mean, height=0.7, color=color, zorder=2)
            if np.isfinite(std):
                ax.errorbar(
                    mean,
                    position,
                    xerr=std,
                    fmt="none",
                    ecolor="black",
                    elinewidth=1,
                    capsize=3,
                    zorder=3,
                )
            value = f"{mean:.3f} ± {std:.3f}" if np.isfinite(std) else f"{mean:.3f}"
            partial = facts["label"]  # failed on some splits only
            ax.text(
                1.01,
                position,
                value,
                transform=value_at,
                va="bottom" if partial else "center",
                fontsize="small",
                clip_on=False,
            )
            if partial:
                ax.text(
                    1.01,
                    position,
                    partial,
                    transform=value_at,
                    va="top",
                    fontsize="x-small",
                    color=_FAILED_COLOR,
                    clip_on=False,
                )
        else:
            ax.barh(
                position,
                high - low,
                left=low,
                height=0.7,
                facecolor="none",
                edgecolor=_FAILED_COLOR,
                hatch="///",
                linewidth=0,
                zorder=1,
            )
            ax.text(
                1.01,
                position,
                facts["label"],
                transform=value_at,
                va="center",
                fontsize="small",
                color=_FAILED_COLOR,
                fontweight="bold",
                clip_on=False,
            )
            if facts["error"]:
                ax.text(
                    0.5,
                    position,
                    _shorten(facts["error"], 70),
                    transform=value_at,
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color=_FAILED_COLOR,
                    zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
                )
    names = [_shorten(name, 40, middle=True) for name in table["contender"]]
    ax.set_yticks(positions, labels=names)
    for label, color, facts in zip(ax.get_yticklabels(), colors, status):
        label.set_color(color if facts["scored"] else _FAILED_COLOR)
    ax.set_ylim(max(n, 1) - 0.5, -0.5)  # first row (the best) on top
    if not n:
        ax.text(0.5, 0.5, "no contenders", transform=ax.transAxes, ha="center")
    ax.set_xlim(low, high)
    ax.set_xlabel("balanced accuracy, mean ± std over splits (axis zoomed to the data)")
    has_legend = "family" in table.columns
    ax.set_title("Balanced accuracy", loc="left", pad=22 if has_legend else 6)
    ax.grid(True, axis="x", alpha=0.3, zorder=0)
    ax.set_axisbelow(True)
    if has_legend:
        _balanced_accuracy_legend(ax, table, means, status)
    return ax


def _balanced_accuracy_legend(ax, table, means, status):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    families = list(table["family"])
    handles = [
        Patch(color=_FAMILY_COLORS.get(family, _BASELINE_COLOR), label=label)
        for family, label in _FAMILY_LABELS.items()
        if family in families
    ]
    scored_baselines = [
        (mean, name)
        for mean, name, family in zip(means, table["contender"], families)
        if family == "baseline" and np.isfinite(mean)
    ]
    if scored_baselines:
        best, name = max(scored_baselines)
        ax.axvline(best, color=_REFERENCE_COLOR, linestyle="--", linewidth=1, zorder=4)
        handles.append(
            Line2D(
                [],
                [],
                color=_REFERENCE_COLOR,
                linestyle="--",
                linewidth=1,
                label=f"best baseline ({_shorten(name, 30)})",
            )
        )
    if not all(facts["scored"] for facts in status):
        handles.append(
            Patch(
                facecolor="none",
                edgecolor=_FAILED_COLOR,
                hatch="///",
                linewidth=0,
                label="failed (no score)",
            )
        )
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=len(handles),
        fontsize="small",
        frameon=False,
        borderaxespad=0.2,
        handlelength=1.5,
        columnspacing=1.0,
    )


def _mean_recall(per_class):
    """Mean recall over splits: contenders x classes, classes smallest first.

    Returns the recall frame (NaN where a contender has no recall for a
    class) and the mean training count of each class, in the same order.
    """
    frame = per_class.assign(
        train_count=pd.to_numeric(per_class["train_count"], errors="coerce"),
        recall=pd.to_numeric(per_class["recall"], errors="coerce"),
    )
    counts = frame.groupby("class", sort=False)["train_count"].mean()
    counts = counts.sort_values(kind="stable")
    recall = frame.pivot_table(
        index="contender",
        columns="class",
        values="recall",
        aggfunc="mean",
        sort=False,
        dropna=False,
    )
    recall = recall.reindex(columns=counts.index)
    return recall, counts


def _distinct_colors(n):
    """``n`` pairwise different colours (no greys): tab10, tab20, then a map."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    for name, size in (("tab10", 10), ("tab20", 20)):
        palette = [to_hex(colormaps[name](i)) for i in range(size)]
        palette = [c for c in palette if c not in ("#7f7f7f", "#c7c7c7")]
        if n <= len(palette):
            return palette[:n]
    cmap = colormaps["turbo"]
    colors = [to_hex(cmap(x)) for x in np.linspace(0.05, 0.95, n)]
    return colors if len(set(colors)) == n else [cmap(x) for x in np.linspace(0, 1, n)]


def _grey_shades(n):
    """``n`` pairwise different greys, dark to light."""
    from matplotlib.colors import to_hex

    return [to_hex((g, g, g)) for g in np.linspace(0.1, 0.7, n)] if n else []


def plot_per_class_recall(per_class, *, contenders=None, table=None, ax=None):
    """Per-class recall against training class size, one line per contender.

    For every contender and class, the recall is averaged over the splits
    and drawn against the class's mean number of training examples (log
    scale), so the tail classes are on the left: a contender that helps the
    tail lifts the left end of its line. No two lines share a colour: with
    ``table`` (for its ``family`` column) this package's contenders get
    distinct colours and solid lines, the baselines distinct greys and
    dashed lines; without it every contender gets its own colour. With many
    contenders, :func:`plot_per_class_recall_panels` reads better.

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

    table : pandas.DataFrame, default=None
        The result table (``contender`` and ``family`` columns), to colour
        this package's contenders and grey the baselines.

    ax : matplotlib.axes.Axes, default=None
        Where to draw. None: a new pyplot figure.

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
    plot_per_class_recall_panels : One panel per contender.
    sklearn_lt.compare.compare : Produces ``per_class``.
    sklearn_lt.metrics.per_class_recall : The per-class table of one model.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from sklearn_lt.compare.plots import plot_per_class_recall
    >>> per_class = pd.DataFrame({
    ...     "contender": ["a", "a", "b", "b"],
    ...     "split": [0, 0, 0, 0],
    ...     "class": [0, 1, 0, 1],
    ...     "train_count": [100, 10, 100, 10],
    ...     "recall": [0.9, 0.5, 0.8, 0.7],
    ... })
    >>> ax = plot_per_class_recall(per_class, ax=Figure().add_subplot())
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
    ax = _new_axes(ax, (9, 5.5))
    family = {}
    if table is not None:
        _check_columns(table, ["contender", "family"], "table")
        family = dict(zip(table["contender"], table["family"]))
    baselines = [name for name in contenders if family.get(name) == "baseline"]
    others = [name for name in contenders if name not in baselines]
    styles = dict(zip(others, _distinct_colors(len(others))))
    styles.update(zip(baselines, _grey_shades(len(baselines))))
    recall, counts = _mean_recall(per_class)
    markers = "osD^v<>pPXh*"
    for i, name in enumerate(contenders):
        ax.plot(
            counts.to_numpy(dtype=float),
            recall.loc[name].to_numpy(dtype=float),
            marker=markers[i % len(markers)],
            markersize=4,
            color=styles[name],
            linestyle="--" if name in baselines else "-",
            linewidth=1.2 if name in baselines else 1.8,
            label=name,
        )
    ax.set_xscale("log")
    ax.set_xlabel("training examples of the class (log scale)")
    ax.set_ylabel("recall on the test data (mean over splits)")
    ax.set_title("Per-class recall against training class size")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0,
    )
    return ax


#: Classes labelled one by one under a panel; more get every k-th label.
_MAX_CLASS_LABELS = 40
_CLASS_LABEL_WIDTH = 40


def _class_ticks(counts):
    """Tick labels ``"class (size)"``, one per class, written upright.

    Every class is named, its label cut (in the middle) only past 40
    characters, so the worst and the best class can be read off the axis;
    past 40 classes, every k-th one.
    """
    labels = [
        f"{_shorten(label, _CLASS_LABEL_WIDTH, middle=True)} "
        f"({'?' if pd.isna(count) else f'{count:.0f}'})"
        for label, count in counts.items()
    ]
    step = max(1, math.ceil(len(labels) / _MAX_CLASS_LABELS))
    return [text if i % step == 0 else "" for i, text in enumerate(labels)]


def plot_per_class_recall_panels(
    per_class, table=None, *, contenders=None, ncols=4, figure=None
):
    """Per-class recall as small multiples: one panel per contender.

    The classes are on the x axis, smallest training set first, each tick
    labelled with the class label and its mean number of training examples
    over the splits, ``"class (size)"``, written upright so that every
    class is named in full (up to 40 classes; labels past 40 characters
    are cut in the middle); the y axis is the recall on the test data,
    averaged over the splits. Panels follow the order of ``table`` (best
    first in the output of :func:`sklearn_lt.compare.compare`); their
    titles give the rank and the balanced accuracy. This package's
    contenders are drawn in blue, the baselines in grey; every panel
    (except the best baseline's own) also shows the best baseline as a
    dashed black line, and shades where the contender is above it (blue)
    or below it (red). A contender without any recall (it failed) gets a
    hatched panel that says "failed" with the reason from ``table``'s
    ``error`` column.

    Parameters
    ----------
    per_class : pandas.DataFrame
        The per-class frame of :func:`sklearn_lt.compare.compare` with
        ``return_per_class=True``: columns ``contender``, ``class``,
        ``train_count`` and ``recall``.

    table : pandas.DataFrame, default=None
        The result table: order, ``family``, ``balanced_accuracy_mean``
        and failures. None: the order of ``per_class``, one colour, no
        reference line.

    contenders : list of str, default=None
        The contenders to draw, in this order. None: every contender of
        ``table`` and ``per_class``.

    ncols : int, default=4
        Panels per row (fewer if there are fewer contenders).

    figure : matplotlib.figure.Figure, default=None
        An empty figure to draw on. None: a new pyplot figure sized to the
        number of panels.

    Returns
    -------
    figure : matplotlib.figure.Figure
        The figure; ``figure.axes`` holds one panel per contender, in order.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If a column is missing or a contender is unknown.

    See Also
    --------
    plot_per_class_recall : All contenders on one Axes.
    plot_balanced_accuracy : The summary of the same run.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from sklearn_lt.compare.plots import plot_per_class_recall_panels
    >>> per_class = pd.DataFrame({
    ...     "contender": ["ours", "ours", "base", "base"],
    ...     "split": [0, 0, 0, 0],
    ...     "class": ["a", "b", "a", "b"],
    ...     "train_count": [100, 10, 100, 10],
    ...     "recall": [0.9, 0.6, 0.95, 0.4],
    ... })
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"],
    ...     "family": ["sklearn_lt", "baseline"],
    ...     "balanced_accuracy_mean": [0.75, 0.675],
    ...     "balanced_accuracy_std": [0.0, 0.0],
    ... })
    >>> fig = plot_per_class_recall_panels(
    ...     per_class, table, figure=Figure(layout="constrained"))
    >>> [ax.get_title(loc="left").splitlines()[0] for ax in fig.axes]
    ['1. ours', '2. base']
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['b (10)', 'a (100)']
    """
    _check_columns(
        per_class, ["contender", "class", "train_count", "recall"], "per_class"
    )
    if table is not None:
        _check_columns(table, ["contender", "balanced_accuracy_mean"], "table")
    in_table = [] if table is None else list(table["contender"])
    known = list(dict.fromkeys([*in_table, *per_class["contender"]]))
    if contenders is None:
        contenders = known
    unknown = [name for name in contenders if name not in known]
    if unknown:
        raise ValueError(f"Unknown contender(s) {unknown}; known: {', '.join(known)}.")
    _require_matplotlib()
    recall, counts = _mean_recall(per_class)
    x = np.arange(len(counts))
    rows = {}
    if table is not None:
        for (_, row), facts in zip(table.iterrows(), _status(table)):
            rows[row["contender"]] = {**row.to_dict(), **facts}
    families = {name: rows.get(name, {}).get("family") for name in contenders}
    has_family = table is not None and "family" in table.columns
    reference = _best_baseline(table, recall) if has_family else None

    n = max(len(contenders), 1)
    tick_labels = _class_ticks(counts)
    ncols = _panels_ncols(n, ncols, len(counts))
    nrows = math.ceil(n / ncols)
    if figure is None:
        import matplotlib.pyplot as plt

        figure = plt.figure(
            figsize=_panels_size(n, ncols, tick_labels), layout="constrained"
        )
    axes = figure.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[len(contenders) :]:
        ax.remove()
    if not contenders:
        ax = figure.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no per-class results", ha="center", va="center")
        return figure
    for rank, (ax, name) in enumerate(zip(axes, contenders), start=1):
        facts = rows.get(name, {})
        family = families[name]
        color = (
            _OURS_COLOR
            if family == "sklearn_lt" or not has_family
            else _BASELINE_LINE_COLOR
        )
        values = (
            recall.loc[name].to_numpy(dtype=float)
            if name in recall.index
            else np.full(len(counts), np.nan)
        )
        title = f"{rank}. {_shorten(name, 34, middle=True)}"
        mean = facts.get("balanced_accuracy_mean", np.nan)
        if pd.notna(mean):
            std = facts.get("balanced_accuracy_std", np.nan)
            title += f"\nbalanced acc. {mean:.3f}" + (
                f" ± {std:.3f}" if pd.notna(std) else ""
            )
            if reference is not None and reference[0] == name:
                title += " (the reference)"
        elif facts or np.isnan(values).all():
            title += "\nno score"
        ax.set_title(title, loc="left", fontsize="small", color=color)
        if np.isnan(values).all() or (facts and not facts["scored"]):
            _failed_panel(ax, facts)
        else:
            if reference is not None and reference[0] != name:
                ref = reference[1]
                ax.plot(
                    x,
                    ref,
                    color=_REFERENCE_COLOR,
                    linestyle="--",
                    linewidth=1,
                    label="best baseline",
                )
                ok = np.isfinite(values) & np.isfinite(ref)
                ax.fill_between(
                    x,
                    values,
                    ref,
                    where=ok & (values >= ref),
                    interpolate=True,
                    color=_OURS_COLOR,
                    alpha=0.18,
                    linewidth=0,
                )
                ax.fill_between(
                    x,
                    values,
                    ref,
                    where=ok & (values < ref),
                    interpolate=True,
                    color=_FAILED_COLOR,
                    alpha=0.18,
                    linewidth=0,
                )
            ax.plot(
                x,
                values,
                color=color,
                marker="o",
                markersize=3.5,
                linewidth=1.8,
                label=name,
            )
            if facts.get("label"):  # failed on some splits only
                ax.text(
                    0.02,
                    0.04,
                    facts["label"],
                    transform=ax.transAxes,
                    fontsize="x-small",
                    color=_FAILED_COLOR,
                )
        ax.set_xticks(x, labels=tick_labels, fontsize="x-small", rotation=90)
        ax.tick_params(axis="x", labelbottom=True)
        ax.grid(True, alpha=0.3)
    # Tick labels only on the lowest panel of each column.
    for i, ax in enumerate(axes[: len(contenders)]):
        if i + ncols < len(contenders):
            ax.tick_params(axis="x", labelbottom=False)
    if len(contenders):
        lowest = np.nanmin(recall.to_numpy(dtype=float), initial=1.0)
        bottom = max(0.0, math.floor(10 * lowest - 0.5) / 10)  # zoomed to the data
        axes[0].set_ylim(bottom - 0.03, 1.03)
        axes[0].set_xlim(-0.4, len(counts) - 0.6)
    figure.supylabel("recall on the test data (mean over splits)", fontsize="small")
    chars = max(30, int(11 * figure.get_figwidth()))  # what fits on a line
    figure.suptitle(
        "\n".join(
            textwrap.wrap(
                "Per-class recall, one panel per contender (best first)", chars
            )
            + textwrap.wrap(
                "x axis: the classes, smallest training set first, labelled "
                "'class (training examples)'",
                chars,
            )
        ),
        fontsize="medium",
    )
    _panels_legend(figure, has_family, families, reference)
    return figure


def _panel_width(n_classes):
    """Inches a panel needs for ``n_classes`` upright labels (at least 3.3)."""
    return max(3.3, 0.6 + 0.14 * min(n_classes, _MAX_CLASS_LABELS))


def _panels_ncols(n, ncols, n_classes):
    """Panels per row: at most ``ncols``, and the rows at most 20 inches."""
    fit = max(1, int(20 // _panel_width(n_classes)))
    return max(1, min(int(ncols), max(n, 1), fit))


def _panels_size(n, ncols, tick_labels=()):
    """Figure size (inches) of ``n`` panels in rows of ``ncols``.

    Wide enough for one upright label per class, tall enough for the
    longest label under the lowest panels.
    """
    n = max(n, 1)
    ncols = max(1, min(ncols, n))
    longest = max((len(text) for text in tick_labels), default=6)
    width = 0.8 + _panel_width(len(tick_labels)) * ncols
    return width, 1.3 + 2.5 * math.ceil(n / ncols) + 0.065 * longest


def _best_baseline(table, recall):
    """(name, recall per class) of the best scored baseline, or None."""
    baselines = table[
        (table["family"] == "baseline") & table["balanced_accuracy_mean"].notna()
    ]
    baselines = [name for name in baselines["contender"] if name in recall.index]
    if not baselines:
        return None
    order = table.set_index("contender").loc[baselines, "balanced_accuracy_mean"]
    name = order.astype(float).idxmax()
    return name, recall.loc[name].to_numpy(dtype=float)


def _failed_panel(ax, facts):
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (0, 0),
            1,
            1,
            transform=ax.transAxes,
            facecolor="none",
            edgecolor=_FAILED_COLOR,
            hatch="///",
            linewidth=0,
            alpha=0.5,
        )
    )
    text = facts.get("label") or "failed: no per-class results"
    if facts.get("error"):
        wrapped = textwrap.wrap(_shorten(facts["error"], 110), 36)
        text += "\n" + "\n".join(wrapped[:3])
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize="x-small",
        color=_FAILED_COLOR,
        bbox={"facecolor": "white", "edgecolor": _FAILED_COLOR, "pad": 3},
    )


def _panels_legend(figure, has_family, families, reference):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if not has_family:
        return
    present = set(families.values())
    handles = []
    if "sklearn_lt" in present:
        handles.append(Line2D([], [], color=_OURS_COLOR, marker="o", label="ours"))
    if "baseline" in present:
        handles.append(
            Line2D([], [], color=_BASELINE_LINE_COLOR, marker="o", label="baseline")
        )
    if reference is not None:
        handles += [
            Line2D(
                [],
                [],
                color=_REFERENCE_COLOR,
                linestyle="--",
                label=f"best baseline: {_shorten(reference[0], 30)}",
            ),
            Patch(color=_OURS_COLOR, alpha=0.18, label="above the best baseline"),
            Patch(color=_FAILED_COLOR, alpha=0.18, label="below it"),
        ]
    try:  # matplotlib >= 3.7 places it outside the panels
        figure.legend(
            handles=handles,
            loc="outside lower center",
            ncols=len(handles),
            fontsize="small",
            frameon=False,
        )
    except ValueError:
        figure.axes[0].legend(handles=handles, fontsize="x-small")


def _save(figure, path, dpi):
    """Save ``figure`` to ``path`` atomically, with umask permissions."""
    from .._atomic import atomic_write

    path = Path(path)
    with atomic_write(path, "wb") as file:
        figure.savefig(file, dpi=dpi, format="png")
    return path


def write_plots(out_dir, table, per_class, *, dpi=120):
    """Write ``balanced_accuracy.png`` and ``per_class_recall.png``.

    The figures are plain :class:`matplotlib.figure.Figure` objects saved
    with the Agg renderer: no window opens, pyplot and the user's backend
    are left alone, nothing stays in memory. Each file is written to a
    temporary name first and then renamed, so an interrupted run leaves no
    truncated PNG.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        An existing directory.

    table : pandas.DataFrame
        The result table of :func:`sklearn_lt.compare.compare`.

    per_class : pandas.DataFrame
        Its per-class frame (``return_per_class=True``).

    dpi : int, default=120
        Resolution of the PNG files.

    Returns
    -------
    paths : list of pathlib.Path
        The files written; empty (with one note on stderr) if matplotlib
        is not installed.

    See Also
    --------
    plot_balanced_accuracy, plot_per_class_recall_panels : The two plots.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from sklearn_lt.compare.plots import write_plots
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"],
    ...     "family": ["sklearn_lt", "baseline"],
    ...     "balanced_accuracy_mean": [0.75, 0.675],
    ...     "balanced_accuracy_std": [0.01, 0.02],
    ... })
    >>> per_class = pd.DataFrame({
    ...     "contender": ["ours", "ours", "base", "base"],
    ...     "split": 0, "class": [0, 1, 0, 1],
    ...     "train_count": [100, 10, 100, 10],
    ...     "recall": [0.9, 0.6, 0.95, 0.4],
    ... })
    >>> with tempfile.TemporaryDirectory() as out:
    ...     [path.name for path in write_plots(out, table, per_class)]
    ['balanced_accuracy.png', 'per_class_recall.png']
    """
    try:
        _require_matplotlib()
    except ImportError:
        print(
            "sklearn-lt: note: plots skipped, matplotlib is not installed "
            '(pip install "sklearn-lt[plots]")',
            file=sys.stderr,
        )
        return []
    out_dir = Path(out_dir)
    written = []
    for name, figure in _plot_figures(table, per_class).items():
        written.append(_save(figure, out_dir / name, dpi))
    return written


def _plot_figures(table, per_class):
    """``{file name: Figure}`` of the two plots, drawn off-screen."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    n = len(table)
    figure = Figure(figsize=(9, 1.4 + 0.34 * max(n, 1)), layout="constrained")
    plot_balanced_accuracy(table, ax=figure.add_subplot())
    figures = {"balanced_accuracy.png": figure}
    n_panels = len(dict.fromkeys([*table["contender"], *per_class["contender"]]))
    _, counts = _mean_recall(per_class)
    labels = _class_ticks(counts)
    ncols = _panels_ncols(n_panels, 4, len(counts))
    figure = Figure(figsize=_panels_size(n_panels, ncols, labels), layout="constrained")
    plot_per_class_recall_panels(per_class, table, figure=figure, ncols=ncols)
    figures["per_class_recall.png"] = figure
    return figures
