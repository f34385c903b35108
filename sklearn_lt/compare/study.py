"""The comparison as a Python API: :class:`Comparison` and its results.

:class:`Comparison` is what ``sklearn-lt compare`` runs, for a notebook or a
script: the data (the bundled long-tailed digits, a file, a DataFrame with
a label column, or ``X`` and ``y``), the contenders, the splits and the
settings; :meth:`Comparison.run` fits every contender on every split and
returns a :class:`ComparisonResults` with the table, the per-class and
per-split frames, a report and plots. Given a directory ``out``, it also
writes there what the command line writes, each contender the moment it
finishes, and can ``resume`` an interrupted run or ``overwrite`` an old one
(:class:`~sklearn_lt.compare._results.ResultsDirectory`: the manifest, the
checksums, the files it owns).
"""

import io
import logging
import os
import time
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from ._results import ResultsDirectory, fingerprint
from .contenders import _describe_estimator, resolve_contenders
from .run import _build_table, _builtin_names, compare
from .scoring import shot_thresholds

__all__ = ["Comparison", "ComparisonResults"]

#: Notes of a run (resuming, files written); the command line shows them.
logger = logging.getLogger("sklearn_lt.compare")

_PLOT_FILES = ("balanced_accuracy.png", "per_class_recall.png", "reliability.png")


class Comparison:
    """A side-by-side comparison of classifiers on the same splits.

    The Python entry point of ``sklearn-lt compare``: set up the data, the
    contenders and the splits, then :meth:`run`. Every contender is fitted
    on the training part of every split and scored on its test part with
    the metrics of the long-tail literature
    (:func:`~sklearn_lt.compare.compare` does the fitting).

    Parameters
    ----------
    data : None, str, path-like, pandas.DataFrame or array-like, default=None
        None: the bundled digits, made long-tailed for training
        (``imbalance_ratio``, default 20) with balanced test sets
        (:func:`~sklearn_lt.compare.digits_lt_split`). A CSV or Parquet
        file, or a DataFrame holding the label column ``target``: read by
        :func:`~sklearn_lt.compare.read_table` (labels as text, stray cells
        as missing, with warnings). An array or a DataFrame of features
        alone: then ``target`` holds the labels.

    target : str or array-like, default=None
        The name of the label column of ``data``, or the labels themselves
        when ``data`` holds the features only. None with the digits.

    contenders : None, mapping, or list of str and (name, estimator) pairs, \
            default=None
        None: every default contender
        (:func:`~sklearn_lt.compare.default_contenders`); names pick default
        contenders, ``(name, estimator)`` pairs or a mapping add your own
        (see :func:`~sklearn_lt.compare.resolve_contenders`).

    drop : list of str, default=None
        Contenders to leave out, by name.

    cv : int, splitter or iterable, default=5
        An int: stratified K-fold (shuffled, seeded by ``random_state``),
        or, for the digits, that many independent splits. A scikit-learn
        splitter or a list of ``(train, test)`` index arrays is used as
        given.

    repeats : int, default=1
        With an int ``cv``: repeat the K folds this many times with new
        seeds (:class:`~sklearn.model_selection.RepeatedStratifiedKFold`).

    imbalance_ratio : float, default=None
        Make the training part of every split long-tailed with this ratio
        of the largest to the smallest class
        (:class:`~sklearn_lt.compare.LongTailedCV`); test parts are left as
        they are. None: 20 for the digits, the data as given otherwise.

    shot_thresholds : "auto" or (int, int), default="auto"
        ``(many, few)``: classes with more than ``many`` training examples
        are many-shot, with fewer than ``few`` few-shot. ``"auto"`` scales
        the groups to the data (:func:`~sklearn_lt.compare.shot_thresholds`:
        log-scale thirds of the training class sizes, so the largest class
        is many-shot and the smallest few-shot whenever they differ);
        ``(100, 20)`` is the literature's split.

    categorical : list of str, default=None
        Numeric columns to treat as categorical (integer codes).

    preprocess : "auto", bool or list of str, default="auto"
        Which contenders get the per-fold preprocessing front end on a
        table (:mod:`sklearn_lt.compare.preprocessing`): ``"auto"``, the
        default contenders picked by name; your own estimators are used as
        given.

    scoring : str, callable, list or dict, default=None
        Extra scorers reported next to the built-in metrics.

    n_jobs : int, default=None
        Parallel fits through joblib (any joblib backend, Dask's included).
        Every worker's contenders share its part of the cores.

    random_state : int, default=0
        Seed of the splits and of every randomised contender.

    metric : {"balanced_accuracy", "macro_f1", "gmean", \
            "worst_class_recall"}, default="balanced_accuracy"
        What the metric-optimal contenders (``mlp_margin_la_metric_opt``,
        ``hgb_metric_opt``) maximise; see
        :func:`~sklearn_lt.compare.contenders.default_contenders`.

    progress : bool, default=False
        Show a progress bar (tqdm) with one step per fit.

    description : str, default=None
        One line describing the data and the splits, for the report. None:
        written from the data.

    read_options : dict, default=None
        Keyword arguments for :func:`~sklearn_lt.compare.read_table` when
        ``data`` is a file or a DataFrame with the label column: ``sep``,
        ``decimal``, ``drop_columns``, ``max_bytes`` (the CLI's ``--sep``,
        ``--decimal``, ``--drop-columns``, ``--max-bytes``).

    Attributes
    ----------
    results_ : ComparisonResults
        The results of the last :meth:`run`, also when it was interrupted
        (then with the finished contenders only).

    See Also
    --------
    compare : The function that fits and scores.
    ComparisonResults : What :meth:`run` returns.

    Examples
    --------
    >>> from sklearn_lt.compare import Comparison
    >>> results = Comparison(contenders=["logreg", "logreg_balanced"],
    ...                      cv=2).run()
    >>> results.table["contender"].tolist()  # best first
    ['logreg_balanced', 'logreg']
    >>> results.per_class.columns.tolist()
    ['contender', 'split', 'class', 'train_count', 'recall']
    >>> many, few = results.shot_thresholds  # scaled to the digits
    >>> bool(few < many)
    True

    A DataFrame with its label column, written to a directory:

    >>> import tempfile
    >>> from sklearn.datasets import load_iris
    >>> frame = load_iris(as_frame=True).frame
    >>> with tempfile.TemporaryDirectory() as out:
    ...     results = Comparison(frame, "target", contenders=["logreg"],
    ...                          cv=3).run(out, plots=False)
    ...     sorted(path.name for path in results.files)[-3:]
    ['report.html', 'results.csv', 'results.md']
    """

    def __init__(
        self,
        data=None,
        target=None,
        *,
        contenders=None,
        drop=None,
        cv=5,
        repeats=1,
        imbalance_ratio=None,
        shot_thresholds="auto",
        categorical=None,
        preprocess="auto",
        scoring=None,
        n_jobs=None,
        random_state=0,
        progress=False,
        description=None,
        read_options=None,
        metric="balanced_accuracy",
    ):
        self.data = data
        self.target = target
        self.contenders = contenders
        self.drop = drop
        self.cv = cv
        self.repeats = repeats
        self.imbalance_ratio = imbalance_ratio
        self.shot_thresholds = shot_thresholds
        self.categorical = categorical
        self.preprocess = preprocess
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress
        self.description = description
        self.read_options = read_options
        self.metric = metric

    # -- the data and the splits ---------------------------------------------------

    def _data(self):
        """``X, y, splits, description`` from the parameters."""
        from .splits import LongTailedCV, digits_lt_split
        from .tables import read_table

        if not isinstance(self.repeats, Integral) or self.repeats < 1:
            raise ValueError(f"repeats must be an integer >= 1; got {self.repeats!r}.")
        seed = self.random_state
        if self.data is None:
            if self.target is not None:
                raise ValueError(
                    "target needs data: the bundled digits come with their labels."
                )
            if not isinstance(self.cv, Integral) or self.cv < 1:
                raise ValueError(
                    "With the bundled digits, cv is the number of splits (an "
                    f"integer >= 1); got {self.cv!r}."
                )
            ratio = 20 if self.imbalance_ratio is None else self.imbalance_ratio
            total = int(self.cv) * int(self.repeats)
            X, y, splits = digits_lt_split(
                imbalance_ratio=ratio, n_splits=total, random_state=seed
            )
            description = (
                f"bundled digits, long-tailed training sets (exponential "
                f"profile, imbalance ratio {ratio:g}) and balanced test sets, "
                f"{total} independent split(s), seed {seed}"
            )
            return X, y, splits, description
        if isinstance(self.target, str) or (
            self.target is None
            and not isinstance(self.data, (pd.DataFrame, np.ndarray))
        ):
            if self.target is None:
                raise ValueError(
                    f"target must name the label column of data ({_name(self.data)})."
                )
            X, y = read_table(self.data, self.target, **(self.read_options or {}))
            what = (
                Path(os.fspath(self.data)).name
                if isinstance(self.data, (str, os.PathLike))
                else "the DataFrame"
            )
            described = f"{what} (target {self.target!r})"
        else:
            if self.target is None:
                raise ValueError(
                    "target is missing: pass the labels, or the name of the "
                    "label column of a DataFrame."
                )
            X, y = self.data, self.target
            described = "the given X and y"
        y = np.asarray(y)
        if isinstance(self.cv, Integral):
            from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

            if self.repeats == 1:
                cv = StratifiedKFold(int(self.cv), shuffle=True, random_state=seed)
            else:
                cv = RepeatedStratifiedKFold(
                    n_splits=int(self.cv),
                    n_repeats=int(self.repeats),
                    random_state=seed,
                )
            how = f"stratified {int(self.cv)}-fold cross-validation" + (
                f" repeated {self.repeats} times" if self.repeats > 1 else ""
            )
        else:
            cv, how = self.cv, "the given splits"
        if self.imbalance_ratio is not None:
            cv = LongTailedCV(
                cv, imbalance_ratio=self.imbalance_ratio, random_state=seed
            )
            how += (
                f", training folds made long-tailed (imbalance ratio "
                f"{self.imbalance_ratio:g})"
            )
        if hasattr(cv, "split"):
            splits = list(cv.split(X, y))
        else:
            splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
        n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) > 1 else "?"
        description = (
            f"{described}: {len(y)} rows, {n_features} features, "
            f"{len(np.unique(y))} classes; {how}, seed {seed}"
        )
        return X, y, splits, description

    # -- running ---------------------------------------------------------------------

    def run(self, out=None, *, resume=False, overwrite=False, plots=True, command=None):
        """Fit and score every contender on every split.

        Parameters
        ----------
        out : str or path-like, default=None
            A directory to write the results to, as ``sklearn-lt compare``
            does (``results.csv``, ``per_class_recall.csv``,
            ``per_split_scores.csv``, ``results.md``, the plots,
            ``report.html``, ``manifest.json``), each contender the moment
            it finishes. None: nothing is written.

        resume : bool, default=False
            Keep the contenders already finished in ``out`` and run the
            others; refused if the data, splits or settings differ.

        overwrite : bool, default=False
            Replace the results in a non-empty ``out`` (only the files the
            manifest there lists as written by this package are removed).

        plots : bool, default=True
            Write the PNG plots to ``out`` (and embed them in the report).

        command : str, default=None
            The command line, for the report.

        Returns
        -------
        results : ComparisonResults

        Raises
        ------
        ValueError
            For bad data or settings, or a results directory that cannot
            be used as asked
            (:class:`~sklearn_lt.compare.ResultsDirectoryError`, a
            ``ValueError``); messages are one line.
        KeyboardInterrupt
            After writing the finished contenders (resumable), if
            interrupted; ``results_`` then holds them.
        """
        started = time.perf_counter()
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other; pass one.")
        directory = None
        if out is not None:
            directory = ResultsDirectory(out, style=getattr(self, "_style", "api"))
            directory.check()
        contenders = resolve_contenders(
            self.contenders,
            drop=self.drop,
            random_state=self.random_state,
            metric=self.metric,
        )
        X, y, splits, description = self._data()
        if self.description is not None:
            description = self.description
        labels = np.unique(y)
        mean_counts = np.mean(
            [[np.sum(y[train] == label) for label in labels] for train, _ in splits],
            axis=0,
        )
        many, few = _shot_pair(self.shot_thresholds)
        many_shot, few_shot = shot_thresholds(mean_counts, many, few)
        front = self.preprocess
        if isinstance(front, str) and front == "auto":
            front = sorted(_builtin_names(self.contenders, contenders))
        elif isinstance(front, (tuple, set, frozenset)):
            front = list(front)
        if isinstance(front, list):
            unknown = sorted(set(front) - set(contenders))
            if unknown:
                raise ValueError(
                    f"preprocess names unknown contender(s) {unknown}; the "
                    f"contenders are: {', '.join(contenders)}."
                )
        settings = {
            "seed": self.random_state,
            "cv": self.cv if isinstance(self.cv, Integral) else "given splits",
            "repeats": self.repeats,
            "imbalance_ratio": self.imbalance_ratio,
            "shot_thresholds": [float(many_shot), float(few_shot)],
            "categorical": self.categorical,
            "target": self.target if isinstance(self.target, str) else None,
            "scoring": _scoring_names(self.scoring),
        }
        if any(name.endswith("_metric_opt") for name in contenders):
            settings["metric"] = self.metric  # (absent: earlier manifests hold)
        descriptions = {name: _describe_estimator(e) for name, e in contenders.items()}
        state = _State(directory)
        if directory is not None:
            old_rows, old_per_class, old_per_split = directory.prepare(
                fingerprint(X, y, splits, settings),
                contenders=descriptions,
                overwrite=overwrite,
                resume=resume,
            )
            if directory.n_damaged:
                logger.warning(
                    "resuming %s: %d damaged or incomplete row(s) left out "
                    "(checksum mismatch); their contenders run again",
                    out,
                    directory.n_damaged,
                )
            if len(old_per_class):
                # the labels were read back as strings: map them to those of y
                known = {str(label): label for label in labels}
                old_per_class["class"] = old_per_class["class"].map(known)
            state.load(old_rows, old_per_class, old_per_split)
        finished = {row["contender"] for row in state.rows}
        remaining = {n: e for n, e in contenders.items() if n not in finished}
        if finished:
            logger.info(
                "resuming %s: %d finished contender(s) kept, %d to run",
                out,
                len(finished),
                len(remaining),
            )

        scaled = " (scaled to the data)" if self.shot_thresholds == "auto" else ""

        def finish(interrupted):
            self.results_ = state.finish(
                contenders=list(contenders),
                description=description,
                y=y,
                splits=splits,
                thresholds=(many_shot, few_shot),
                meta_settings=(
                    f"{len(splits)} split(s), seed {self.random_state}, n_jobs "
                    f"{self.n_jobs}{getattr(self, '_settings_note', '')}, shot "
                    f"thresholds many > {many_shot:g}, few < {few_shot:g}"
                    f"{scaled}{'; interrupted, finished contenders only' * interrupted}"
                ),
                command=command,
                started=started,
                plots=plots,
                interrupted=interrupted,
            )
            return self.results_

        try:
            if remaining:
                compare(
                    remaining,
                    X,
                    y,
                    cv=splits,
                    scoring=self.scoring,
                    n_jobs=self.n_jobs,
                    random_state=self.random_state,
                    many_shot=many_shot,
                    few_shot=few_shot,
                    categorical=self.categorical,
                    preprocess=(
                        # a resumed run: the names still to run
                        [name for name in front if name in remaining]
                        if isinstance(front, list)
                        else front
                    ),
                    progress=self.progress,
                    callback=state.keep,
                )
        except KeyboardInterrupt:
            finish(interrupted=True)
            raise
        return finish(interrupted=False)


def _name(data):
    return type(data).__name__


def _shot_pair(value):
    if isinstance(value, str) and value == "auto":
        return "auto", "auto"
    try:
        many, few = value
    except (TypeError, ValueError):
        raise ValueError(
            f'shot_thresholds must be "auto" or a pair (many, few); got {value!r}.'
        ) from None
    return many, few


def _scoring_names(scoring):
    if scoring is None or isinstance(scoring, str):
        return scoring
    if callable(scoring):
        return "score"
    return sorted(map(str, scoring))


class _State:
    """The rows gathered so far (resumed and new), written as they come."""

    def __init__(self, directory):
        self.directory = directory
        self.rows, self.per_class, self.per_split = [], [], []

    def load(self, rows, per_class, per_split):
        self.rows = rows.to_dict("records") if len(rows) else []
        self.per_class = [per_class] if len(per_class) else []
        self.per_split = [per_split] if len(per_split) else []

    def keep(self, row, recalls, scores):
        row = dict(row, diff_vs_best_baseline=np.nan, p_value=np.nan)
        # in memory first: a Ctrl-C while the files are written still finds
        # the contender finished (the interrupted run's finish writes it)
        self.rows.append(row)
        self.per_class.append(recalls)
        self.per_split.append(scores)
        if self.directory is not None:
            self.directory.append(row, recalls, scores)

    def finish(self, *, contenders, description, y, splits, thresholds,
               meta_settings, command, started, plots, interrupted):  # fmt: skip
        from ._markdown import (
            failure_summary,
            machine_description,
            statistics_summary,
        )

        many_shot, few_shot = thresholds
        if self.rows:
            per_class = pd.concat(self.per_class, ignore_index=True)
            per_split = pd.concat(self.per_split, ignore_index=True)
            table = _build_table(self.rows, per_split)
            statistics = statistics_summary(table, per_split)
            failures = failure_summary(table)
        else:
            table, per_class, per_split = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
            statistics = failures = ""
        table.attrs["shot_thresholds"] = (many_shot, few_shot)
        meta = {
            "command": command or "",
            "data": description,
            "class_counts": _class_counts_line(y, splits),
            "machine": machine_description(),
            "settings": meta_settings,
            "failures": failures,
            "statistics": statistics,
            "wall_time": f"{time.perf_counter() - started:.1f} s",
        }
        results = ComparisonResults(
            table,
            per_class,
            per_split,
            meta=meta,
            shot_thresholds=(many_shot, few_shot),
            contenders=contenders,
            interrupted=interrupted,
        )
        if self.directory is not None and self.rows:
            results.out = self.directory.path
            results.files = results._write(self.directory, plots=plots)
        return results


def _class_counts_line(y, splits):
    """``"label: rows (training rows per split)"`` for every class.

    Parameters
    ----------
    y : array-like
        The labels.

    splits : list of (train, test)
        The splits.

    Returns
    -------
    line : str

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare.study import _class_counts_line
    >>> y = np.array(["a", "a", "a", "b"])
    >>> _class_counts_line(y, [(np.array([0, 1, 3]), np.array([2]))])
    'rows in the data (training rows per split): a: 3 (2), b: 1 (1)'
    """
    y = np.asarray(y)
    labels, counts = np.unique(y, return_counts=True)
    parts = []
    for label, count in zip(labels, counts):
        train = [int(np.sum(y[tr] == label)) for tr, _ in splits]
        low, high = min(train), max(train)
        span = f"{low}" if low == high else f"{low}-{high}"
        parts.append(f"{label}: {count} ({span})")
    return "rows in the data (training rows per split): " + ", ".join(parts)


class ComparisonResults:
    """What :meth:`Comparison.run` returns: tables, report and plots.

    Parameters
    ----------
    table, per_class, per_split : pandas.DataFrame
        As returned by :func:`~sklearn_lt.compare.compare`.

    meta : dict of str, default=None
        Lines about the run (command, data, class counts, settings,
        machine, failures, statistics, wall time) for the report.

    shot_thresholds : (float, float), default=(100, 20)
        The many- and few-shot thresholds used.

    contenders : list of str, default=None
        Every contender the run was to fit, finished or not.

    interrupted : bool, default=False
        Whether the run was interrupted (``table`` then holds the finished
        contenders only).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per contender, best balanced accuracy first: every
        metric's mean and std over the splits, failed splits and the first
        error, the paired test against the best baseline.

    per_class : pandas.DataFrame
        Recall of every contender, split and class.

    per_split : pandas.DataFrame
        Every metric of every contender and split.

    out : pathlib.Path or None
        The directory written, if any.

    files : list of pathlib.Path
        The files written there.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare import ComparisonResults
    >>> table = pd.DataFrame({
    ...     "contender": ["ours", "base"], "family": ["sklearn_lt", "baseline"],
    ...     "n_splits": [2, 2], "n_failed": [0, 2], "error": ["", "ValueError: no"],
    ...     "balanced_accuracy_mean": [0.8, float("nan")],
    ...     "balanced_accuracy_std": [0.01, float("nan")]})
    >>> ComparisonResults(table, None, None).display()["balanced acc."].tolist()
    ['0.800 ± 0.010', 'failed']
    """

    def __init__(
        self,
        table,
        per_class,
        per_split,
        *,
        meta=None,
        shot_thresholds=(100, 20),
        contenders=None,
        interrupted=False,
    ):
        self.table = table
        self.per_class = per_class
        self.per_split = per_split
        self.meta = dict(meta or {})
        self.shot_thresholds = tuple(shot_thresholds)
        self.contenders = list(contenders or table.get("contender", []))
        self.interrupted = interrupted
        self.out = None
        self.files = []

    def __repr__(self):
        n = len(self.table)
        return (
            f"<ComparisonResults: {n} contender(s)"
            f"{', interrupted' if self.interrupted else ''}"
            f"{f', written to {str(self.out)!r}' if self.out else ''}>"
        )

    def display(self):
        """The main columns as formatted strings (what the command prints).

        Returns
        -------
        display : pandas.DataFrame
            See :func:`sklearn_lt.compare._markdown.display_table`.
        """
        from ._markdown import display_table

        return display_table(self.table)

    def _repr_html_(self):
        return self.display().to_html(index=False)

    def to_markdown(self):
        """The text of ``results.md``.

        Returns
        -------
        markdown : str
        """
        from ._markdown import results_markdown

        many, few = self.shot_thresholds
        return results_markdown(
            self.table, meta=self.meta, many_shot=many, few_shot=few
        )

    def _figures(self):
        from .plots import _plot_figures

        return _plot_figures(self.table, self.per_class, self.per_split)

    def plot(self, kind="per_class_recall"):
        """Plot the results.

        Parameters
        ----------
        kind : {"per_class_recall", "balanced_accuracy", "reliability"}, \
                default="per_class_recall"
            ``"per_class_recall"``: one panel per contender, the classes
            from the smallest training set to the largest, each labelled
            (:func:`~sklearn_lt.compare.plots.plot_per_class_recall_panels`);
            ``"balanced_accuracy"``: one bar per contender with its spread
            (:func:`~sklearn_lt.compare.plots.plot_balanced_accuracy`);
            ``"reliability"``: the reliability diagram of the three best
            contenders with probabilities (observed frequency against the
            test folds' predicted probability).

        Returns
        -------
        figure : matplotlib.figure.Figure
            A pyplot figure (shown inline in a notebook).

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        ValueError
            For another ``kind``.
        """
        from . import plots

        if kind == "per_class_recall":
            return plots.plot_per_class_recall_panels(self.per_class, self.table)
        if kind == "balanced_accuracy":
            return plots.plot_balanced_accuracy(self.table).figure
        if kind == "reliability":
            import matplotlib.pyplot as plt

            from .plots._reliability import plot_reliability

            binary = self.per_class["class"].nunique() == 2
            figure = plt.figure(figsize=(6.4, 6.4), layout="constrained")
            return plot_reliability(
                self.per_split, self.table, figure=figure, binary=binary
            )
        raise ValueError(
            "kind must be 'per_class_recall', 'balanced_accuracy' or "
            f"'reliability'; got {kind!r}."
        )

    def to_html(self, path, *, plots=True):
        """Write one self-contained HTML report (plots embedded).

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced whole, atomically).

        plots : bool, default=True
            Embed the plots (skipped without matplotlib).

        Returns
        -------
        path : pathlib.Path
        """
        from .html import write_html_report

        images = {}
        if plots:
            try:
                figures = self._figures()
            except ImportError:
                figures = {}
            for name, figure in figures.items():
                buffer = io.BytesIO()
                figure.savefig(buffer, dpi=120, format="png")
                images[name] = buffer.getvalue()
        return write_html_report(
            path, self.table, self.per_class, self.meta, images=images
        )

    def _write(self, directory, *, plots):
        """Write every file of a results directory; return their paths."""
        from ._results import MARKDOWN, ResultsDirectoryError
        from .html import write_html_report
        from .plots import write_plots

        written = directory.write_table(self.table, self.per_class, self.per_split)
        written.append(directory.write_text(MARKDOWN, self.to_markdown()))
        try:
            if plots:
                for name in _PLOT_FILES:
                    directory.claim(name)
                written += write_plots(
                    directory.path, self.table, self.per_class, per_split=self.per_split
                )
            else:
                # old plots would be embedded in the new report: remove ours
                for name in _PLOT_FILES:
                    if name in directory._manifest.get("files", ()):
                        (directory.path / name).unlink(missing_ok=True)
            report = directory.claim("report.html")
            written.append(
                write_html_report(report, self.table, self.per_class, self.meta)
            )
        except OSError as exc:
            raise ResultsDirectoryError(
                f"cannot write to {str(directory.path)!r}: {exc.strerror or exc}"
            ) from exc
        return written
