"""Per-class recall of every contender on one Axes: :func:`plot_per_class_recall`."""

import numpy as np
import pandas as pd

from ._style import _check_columns, _new_axes


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
