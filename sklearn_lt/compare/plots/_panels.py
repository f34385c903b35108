"""Per-class recall in small multiples: :func:`plot_per_class_recall_panels`."""

import math
import textwrap

import numpy as np
import pandas as pd

from ._recall import _mean_recall
from ._style import (
    _BASELINE_LINE_COLOR,
    _FAILED_COLOR,
    _OURS_COLOR,
    _REFERENCE_COLOR,
    _check_columns,
    _require_matplotlib,
    _shorten,
    _status,
)

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
