"""Balanced accuracy, one bar per contender (:func:`plot_balanced_accuracy`)."""

import numpy as np

from ._style import (
    _BASELINE_COLOR,
    _FAILED_COLOR,
    _FAMILY_COLORS,
    _FAMILY_LABELS,
    _OURS_COLOR,
    _REFERENCE_COLOR,
    _check_columns,
    _column,
    _new_axes,
    _shorten,
    _status,
)


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
