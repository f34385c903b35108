"""A fair side-by-side comparison of classifiers on long-tailed data.

:class:`Comparison` is the entry point for a notebook or a script (what
``sklearn-lt compare`` runs): the data, the contenders, the splits, then
``.run(out=None, resume=False, overwrite=False)``, which returns a
:class:`ComparisonResults` with ``.table``, ``.per_class``, ``.per_split``,
``.to_html(path)`` and ``.plot()``. :func:`compare` runs every contender
through the same train/test splits and returns one row per contender with
the mean and standard deviation over the splits of the metrics the
long-tail literature reports:

* ``balanced_accuracy`` (:func:`sklearn.metrics.balanced_accuracy_score`, the
  mean per-class recall),
* ``f1_macro`` (:func:`sklearn.metrics.f1_score` with ``average="macro"``),
* ``geometric_mean`` (:func:`imblearn.metrics.geometric_mean_score`),
* ``many_shot_recall``, ``medium_shot_recall``, ``few_shot_recall``: mean
  recall of the classes with more than ``many_shot``, between ``few_shot``
  and ``many_shot``, and fewer than ``few_shot`` *training* examples (the
  groups of :func:`sklearn_lt.metrics.shot_accuracy`),
* ``worst_class_recall`` (:func:`sklearn_lt.metrics.worst_class_recall`),
* ``fit_seconds`` and ``predict_seconds`` per split,

with the number of failed splits and the first error of each contender, and,
for each of ours, the mean paired difference to the best baseline and a
paired test's p-value (Wilcoxon signed-rank with 6 or more splits, the
paired t-test with fewer).

The splits are either a stratified K-fold, any scikit-learn splitter, an
iterable of ``(train_indices, test_indices)``, or the long-tailed-train /
balanced-test protocol of the literature: :func:`digits_lt_split` repeats the
split of :func:`sklearn_lt.datasets.load_digits_lt`, and
:class:`LongTailedCV` makes the training folds of any splitter long-tailed
while leaving the test folds as they are.

The parts, one concept per module:

* :mod:`~sklearn_lt.compare.study`: :class:`Comparison` and
  :class:`ComparisonResults`, the Python API of ``sklearn-lt compare``;
* :mod:`~sklearn_lt.compare.contenders`: the default field
  (:func:`default_contenders`), names, one-line descriptions;
* :mod:`~sklearn_lt.compare.tables`: reading a table (:func:`read_table`:
  decimal commas, stray cells, labels as text, row identifiers, bounded
  reads);
* :mod:`~sklearn_lt.compare.preprocessing`: the per-fold preprocessing of
  mixed-type tables (scikit-learn's ``ColumnTransformer``);
* :mod:`~sklearn_lt.compare.splits`: :func:`digits_lt_split`,
  :class:`LongTailedCV`;
* :mod:`~sklearn_lt.compare.scoring`: the metrics of one split;
* :mod:`~sklearn_lt.compare.run`: :func:`compare`, fitting and failures;
* :mod:`~sklearn_lt.compare.plots`: the plots (matplotlib);
* :mod:`~sklearn_lt.compare.html`: the self-contained HTML report;

and, private to the package (their names may change without notice):

* ``_stats``: paired tests against the best baseline;
* ``_results``: a results directory that survives errors and interrupts
  (written per contender, resumable, with a manifest);
* ``_markdown``: the printed and Markdown tables;
* ``_options`` and ``_command``: the options of ``sklearn-lt compare`` and
  its run, from the parsed options to the exit status.

Examples
--------
>>> from sklearn_lt.compare import compare, digits_lt_split
>>> X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=2)
>>> table = compare(["logreg", "logreg_balanced"], X, y, cv=cv)
>>> list(table["contender"])  # sorted by balanced accuracy, best first
['logreg_balanced', 'logreg']
>>> bool(table["balanced_accuracy_mean"].between(0.7, 1).all())
True
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING

# Public name -> the submodule that defines it. They are loaded on first use
# (PEP 562, as the package ``__init__`` does), so that ``sklearn-lt --help``
# can read :mod:`~sklearn_lt.compare._options` without importing scikit-learn.
_LAZY = {
    "Comparison": "study",
    "ComparisonResults": "study",
    "ContenderFailedWarning": "run",
    "LongTailedCV": "splits",
    "ResultsDirectoryError": "_results",
    "TableTooLargeError": "tables",
    "TableWarning": "tables",
    "compare": "run",
    "default_contenders": "contenders",
    "digits_lt_split": "splits",
    "read_table": "tables",
    "resolve_contenders": "contenders",
    "shot_thresholds": "scoring",
}

if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from ._results import ResultsDirectoryError
    from .contenders import (
        default_contenders,
        resolve_contenders,
    )
    from .run import ContenderFailedWarning, compare
    from .scoring import shot_thresholds
    from .splits import LongTailedCV, digits_lt_split
    from .study import Comparison, ComparisonResults
    from .tables import TableTooLargeError, TableWarning, read_table

__all__ = [
    "Comparison",
    "ComparisonResults",
    "ContenderFailedWarning",
    "LongTailedCV",
    "ResultsDirectoryError",
    "TableTooLargeError",
    "TableWarning",
    "compare",
    "default_contenders",
    "digits_lt_split",
    "read_table",
    "resolve_contenders",
    "shot_thresholds",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
