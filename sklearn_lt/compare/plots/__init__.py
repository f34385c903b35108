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

One figure per private module: ``_accuracy`` (the bars), ``_recall`` (one
Axes), ``_panels`` (small multiples); ``_style`` holds what they share
(colours, the matplotlib import, column checks, contender status).

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

import sys
from pathlib import Path

from ._accuracy import plot_balanced_accuracy
from ._panels import (
    _class_ticks,
    _panels_ncols,
    _panels_size,
    plot_per_class_recall_panels,
)
from ._recall import _mean_recall, plot_per_class_recall
from ._style import _require_matplotlib

__all__ = [
    "plot_balanced_accuracy",
    "plot_per_class_recall",
    "plot_per_class_recall_panels",
    "write_plots",
]


def _save(figure, path, dpi):
    """Save ``figure`` to ``path`` atomically, with umask permissions."""
    from ..._atomic import atomic_write

    path = Path(path)
    with atomic_write(path, "wb") as file:
        figure.savefig(file, dpi=dpi, format="png")
    return path


def write_plots(out_dir, table, per_class, *, dpi=120, per_split=None):
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

    per_split : pandas.DataFrame, default=None
        The per-split frame (``return_per_split=True``); with its
        reliability columns, ``reliability.png`` is written too: the
        reliability diagram of the three best contenders with
        probabilities (:func:`~sklearn_lt.compare.plots._reliability.plot_reliability`).

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
    for name, figure in _plot_figures(table, per_class, per_split).items():
        written.append(_save(figure, out_dir / name, dpi))
    return written


def _plot_figures(table, per_class, per_split=None):
    """``{file name: Figure}`` of the plots, drawn off-screen: the reliability
    diagram too when ``per_split`` has its columns."""
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
    if per_split is not None and "reliability_n_0" in per_split:
        from ._reliability import plot_reliability

        binary = per_class["class"].nunique() == 2 if len(per_class) else None
        figures["reliability.png"] = plot_reliability(per_split, table, binary=binary)
    return figures
