"""Running a comparison: every contender, every split, one fit at a time.

:func:`compare` fits each contender on each split with joblib (so
``n_jobs`` and any joblib backend, Dask's included, apply), scores it with
one prediction per split (:mod:`sklearn_lt.compare.scoring`), and hands each
contender's results to a ``callback`` the moment its last split is done, so
that a caller can write them at once. Failures do not stop the run: a
contender failing on some or all splits keeps its row, with the number of
failed splits and the first error.
"""

import time
import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples, column_or_1d

from ._stats import paired_comparison
from .contenders import _contender_family, _describe_estimator, resolve_contenders
from .plots._reliability import reliability_columns
from .preprocessing import _check_finite_features, column_kinds, with_preprocessing
from .scoring import (
    _CALIBRATION_METRICS,
    _METRICS,
    _RECALL_PREFIX,
    _SHOT_METRICS,
    _extra_scorers,
    _LongTailScorer,
    _probability_source,
    _shot_recalls,
    shot_thresholds,
)

__all__ = [
    "ContenderFailedWarning",
    "compare",
]


class ContenderFailedWarning(UserWarning):
    """A contender failed on some or all splits (its scores are NaN)."""


def _error_line(exc):
    """``"ExcType: first line of the message"`` of an exception.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    line : str

    Examples
    --------
    >>> from sklearn_lt.compare.run import _error_line
    >>> _error_line(ValueError("bad input\\nmore detail"))
    'ValueError: bad input'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def compare(
    contenders,
    X,
    y,
    *,
    cv=5,
    scoring=None,
    n_jobs=None,
    drop=None,
    random_state=0,
    many_shot="auto",
    few_shot="auto",
    categorical=None,
    preprocess="auto",
    error_score=np.nan,
    progress=False,
    callback=None,
    return_per_class=False,
    return_per_split=False,
    metric="balanced_accuracy",
):
    """Cross-validate every contender on the same splits and tabulate.

    Each contender is fitted on the training part of every split and
    predicts its test part once; every metric comes from that prediction.
    The shot recalls use each split's training class counts. A pandas
    DataFrame may mix numeric, string and categorical columns with missing
    values: the built-in contenders then get a per-fold preprocessing step
    (:mod:`sklearn_lt.compare.preprocessing`), while your own estimators
    are used as given, as :func:`~sklearn.model_selection.cross_validate`
    does (see ``preprocess``). NumPy input goes to every contender as it is.

    Parameters
    ----------
    contenders : None, mapping, or list of str and (name, estimator) pairs
        The estimators to compare; see
        :func:`~sklearn_lt.compare.resolve_contenders`. None runs all of
        :func:`~sklearn_lt.compare.default_contenders`.

    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Data.

    y : array-like of shape (n_samples,)
        Class labels.

    cv : int, cross-validation generator or iterable, default=5
        The splits: an int is a shuffled
        :class:`~sklearn.model_selection.StratifiedKFold` seeded by
        ``random_state``; a splitter such as
        :class:`~sklearn_lt.compare.LongTailedCV` or
        :class:`~sklearn.model_selection.RepeatedStratifiedKFold`, or an
        iterable of ``(train_indices, test_indices)`` such as the ``cv`` of
        :func:`~sklearn_lt.compare.digits_lt_split`, is used as given.

    scoring : str, callable, list or dict, default=None
        Extra scorers, reported next to the built-in metrics (``_METRICS``):
        a scorer name, a list of names, a callable ``scorer(estimator, X,
        y)`` (reported as ``score``), or a dict ``{name: scorer}``.

    n_jobs : int, default=None
        Parallel fits (contender x split), through joblib: any joblib
        backend applies, for example Dask's under
        ``joblib.parallel_config(backend="dask")``.

    drop : iterable of str, default=None
        Contenders to leave out, by name.

    random_state : int or None, default=0
        Seed of the default contenders and of an int ``cv``.

    many_shot : "auto" or float, default="auto"
        Classes with more training examples than this are many-shot.
        ``"auto"``: scaled to the data, from the training class sizes
        (:func:`~sklearn_lt.compare.shot_thresholds`: the largest class is
        many-shot whenever the classes differ in size). The literature's
        fixed groups are ``many_shot=100, few_shot=20``.

    few_shot : "auto" or float, default="auto"
        Classes with fewer training examples than this are few-shot;
        ``"auto"`` as for ``many_shot`` (the smallest class is few-shot
        whenever the classes differ in size).

    categorical : list of column names, default=None
        Numeric columns of a DataFrame ``X`` to treat as categorical
        (integer codes); non-numeric columns always are.

    preprocess : "auto", bool or collection of str, default="auto"
        Which contenders get the per-fold preprocessing step when ``X`` is
        a DataFrame. ``"auto"``: the built-in contenders (picked by name, or
        all of them when ``contenders`` is None); estimators you pass
        yourself (``(name, estimator)`` pairs or a mapping) are used as
        given, so a pipeline with its own ``ColumnTransformer`` and
        :func:`~sklearn.compose.make_column_selector` sees the DataFrame.
        True: every contender; False: none; a collection of names: those
        contenders.

    error_score : "raise" or float, default=np.nan
        What a split whose fit (or prediction) fails scores. With a number,
        a contender failing on some splits gets NaN means, and one failing
        on every split is kept with NaN scores; either way its row gives
        ``n_failed`` and the first ``error``, and a
        :class:`ContenderFailedWarning` names it.

    progress : bool, default=False
        Show a progress bar (tqdm, on stderr) with one step per fit and an
        estimate of the time left.

    callback : callable, default=None
        Called as ``callback(row, per_class, per_split)`` as soon as a
        contender has finished every split, in the order of the
        contenders: its table row (a dict, without the paired-test
        columns) and its rows of the two frames described below.

    return_per_class : bool, default=False
        Also return the per-class recall of every contender and split.

    return_per_split : bool, default=False
        Also return every metric of every contender and split.

    metric : {"balanced_accuracy", "macro_f1", "gmean", \
            "worst_class_recall"}, default="balanced_accuracy"
        What the metric-optimal contenders
        (``mlp_margin_la_metric_opt``, ``hgb_metric_opt``; see
        :func:`~sklearn_lt.compare.contenders.default_contenders`)
        maximise.

    Returns
    -------
    table : pandas.DataFrame
        One row per contender, sorted by ``balanced_accuracy_mean``
        (descending, ties in the given order, failed contenders last), with
        columns ``contender``, ``family`` (``"sklearn_lt"`` if the estimator
        uses a part of this package, else ``"baseline"``), ``estimator``
        (a one-line description), ``n_splits``, ``n_failed`` (splits whose
        fit or prediction failed), ``error`` (the first failure as
        ``"ExcType: message"``, ``""`` if none), ``probabilities`` (where
        the calibration metrics' probabilities come from:
        ``"training prior (closed form)"`` for this package's logit-adjusted
        estimators, ``"predict_proba as given"`` for the others, ``"none"``
        without ``predict_proba``, whose ``brier_score`` and
        ``calibration_error`` are NaN), ``<metric>_mean`` /
        ``<metric>_std`` over the splits for every metric of ``_METRICS``
        and every extra scorer, and, from
        :func:`~sklearn_lt.compare._stats.paired_comparison`,
        ``diff_vs_best_baseline`` and ``p_value`` (NaN for baselines).
        Scores lie in [0, 1] (NaN for an empty shot group or a failed
        split); the standard deviation is the population one (``ddof=0``),
        as in ``GridSearchCV``. ``table.attrs["shot_thresholds"]`` holds
        the ``(many_shot, few_shot)`` thresholds used.

    per_class : pandas.DataFrame
        Only if ``return_per_class``: one row per contender, split and class
        with columns ``contender``, ``split``, ``class``, ``train_count``
        (training examples of the class in that split) and ``recall`` (NaN
        if the test split has no example of the class). This is what
        :func:`sklearn_lt.compare.plots.plot_per_class_recall` draws.

    per_split : pandas.DataFrame
        Only if ``return_per_split``: one row per contender and split with
        columns ``contender``, ``split``, every metric and extra scorer,
        and ``error`` (``""`` if the split ran).

    Raises
    ------
    ValueError
        For unknown contender names, a clashing extra scorer name,
        ``few_shot > many_shot``, no samples, labels that are not classes,
        or features that stay non-finite after preprocessing (infinite
        values, or values whose variance overflows).

    See Also
    --------
    default_contenders : The default field.
    digits_lt_split : Long-tailed-train / balanced-test digits splits.
    LongTailedCV : Long-tailed training folds for any splitter.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_lt.compare import compare
    >>> X, y = load_iris(return_X_y=True)
    >>> table = compare(
    ...     ["logreg", ("tree", DecisionTreeClassifier(random_state=0))],
    ...     X, y, cv=3)
    >>> sorted(table["contender"]), list(table["family"])
    (['logreg', 'tree'], ['baseline', 'baseline'])
    >>> bool(table["balanced_accuracy_mean"].between(0.9, 1).all())
    True

    A table with a string column and missing values:

    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.RandomState(0)
    >>> frame = pd.DataFrame({"size": rng.normal(size=60),
    ...                       "colour": rng.choice(["red", "blue", None], 60)})
    >>> labels = np.where(frame["colour"] == "red", "a", "b")
    >>> table = compare(["logreg", "hgb"], frame, labels, cv=3)
    >>> table["n_failed"].tolist()
    [0, 0]
    """
    if not any(isinstance(value, str) for value in (many_shot, few_shot)):
        shot_thresholds([], many_shot, few_shot)  # the numbers, checked early
    contenders_arg = contenders
    contenders = resolve_contenders(
        contenders, drop=drop, random_state=random_state, metric=metric
    )
    extra = _extra_scorers(scoring)
    X, y = indexable(X, y)
    if _num_samples(X) == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={getattr(X, 'shape', None)}) "
            "while a minimum of 1 is required."
        )
    y_array = column_or_1d(y)
    check_classification_targets(y_array)
    labels = np.unique(y_array)
    front = _front_names(preprocess, contenders_arg, contenders)
    if isinstance(X, pd.DataFrame):
        numeric, categorical = column_kinds(X, categorical)
        if front:
            _check_finite_features(X, numeric)
        fitted = {
            name: (
                with_preprocessing(estimator, numeric, categorical)
                if name in front
                else estimator
            )
            for name, estimator in contenders.items()
        }
    else:
        if categorical:
            raise ValueError("categorical columns need X as a pandas DataFrame.")
        _check_finite_features(X)
        fitted = dict(contenders)
    if isinstance(cv, Integral):
        cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    splits = list(check_cv(cv, y_array, classifier=True).split(X, y_array))
    mean_counts = np.mean(
        [[np.sum(y_array[train] == label) for label in labels] for train, _ in splits],
        axis=0,
    )
    many_shot, few_shot = shot_thresholds(mean_counts, many_shot, few_shot)
    scorer = _LongTailScorer(labels, extra)

    rows, per_class, per_split = [], [], []

    def finished(name, outcomes):
        row, recalls, scores = _summarise(
            name, contenders[name], outcomes, splits, y_array, labels, extra,
            many_shot, few_shot,
        )  # fmt: skip
        _warn_failures(row, len(splits))
        rows.append(row)
        per_class.append(recalls)
        per_split.append(scores)
        if callback is not None:
            callback(dict(row), recalls.copy(), scores.copy())

    _run_fits(fitted, X, y, splits, scorer, n_jobs, error_score, progress, finished)
    table = _build_table(rows, pd.concat(per_split, ignore_index=True))
    table.attrs["shot_thresholds"] = (many_shot, few_shot)
    outputs = [table]
    if return_per_class:
        outputs.append(pd.concat(per_class, ignore_index=True))
    if return_per_split:
        outputs.append(pd.concat(per_split, ignore_index=True))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _builtin_names(given, resolved):
    """The names of the contenders that are built-in (picked by name)."""
    if given is None:
        return set(resolved)
    if isinstance(given, str):
        return {given}
    if isinstance(given, Mapping):
        return set()
    return {item for item in given if isinstance(item, str)}


def _front_names(preprocess, given, resolved):
    """The contenders that get the preprocessing front end (on a DataFrame)."""
    if isinstance(preprocess, str) and preprocess == "auto":
        return _builtin_names(given, resolved)
    if preprocess is True or preprocess is False:
        return set(resolved) if preprocess else set()
    if isinstance(preprocess, (list, tuple, set, frozenset)) and all(
        isinstance(name, str) for name in preprocess
    ):
        unknown = sorted(set(preprocess) - set(resolved))
        if unknown:
            raise ValueError(
                f"preprocess names unknown contender(s) {unknown}; the "
                f"contenders are: {', '.join(resolved)}."
            )
        return set(preprocess)
    raise ValueError(
        'preprocess must be "auto", True, False or a list of contender names; '
        f"got {preprocess!r}."
    )


#: Packages whose estimators take every core when ``n_jobs`` is None or
#: negative, whatever the joblib worker's share (LightGBM counts the physical
#: cores itself; OMP_NUM_THREADS does not bound it).
_OWN_THREAD_POOLS = ("lightgbm", "xgboost")


def _bound_threads(estimator):
    """Give LightGBM / XGBoost parts of ``estimator`` this worker's threads.

    scikit-learn's OpenMP code and torch (:mod:`sklearn_lt._threads`) follow
    the share of the cores that joblib gives each worker; LightGBM with
    ``n_jobs=None`` takes every physical core in every worker. Their
    ``n_jobs`` (when None or negative) becomes the same budget,
    :func:`sklearn_lt._threads.thread_budget`. ``estimator`` is a clone;
    a positive ``n_jobs`` the user set is kept.
    """
    if not hasattr(estimator, "get_params"):
        return estimator
    parts = [("", estimator)] + [
        (key, value)
        for key, value in estimator.get_params(deep=True).items()
        if hasattr(value, "get_params")
    ]
    updates = {}
    for key, part in parts:
        if type(part).__module__.split(".")[0] not in _OWN_THREAD_POOLS:
            continue
        n_jobs = part.get_params(deep=False).get("n_jobs", 0)
        if n_jobs is None or (isinstance(n_jobs, Integral) and n_jobs < 0):
            updates[f"{key}__n_jobs" if key else "n_jobs"] = _thread_budget()
    if updates:
        estimator.set_params(**updates)
    return estimator


def _thread_budget():
    from .._threads import thread_budget

    return thread_budget()


def _build_table(rows, per_split):
    """The result table: rows, the paired-test columns, sorted.

    Parameters
    ----------
    rows : list of dict
        One row per contender, as passed to ``callback`` by :func:`compare`.

    per_split : pandas.DataFrame
        The per-split scores of those contenders.

    Returns
    -------
    table : pandas.DataFrame
        As returned by :func:`compare`.
    """
    table = pd.DataFrame(rows)
    paired, _ = paired_comparison(table, per_split)
    table["diff_vs_best_baseline"] = paired["diff_vs_best_baseline"].to_numpy()
    table["p_value"] = paired["p_value"].to_numpy()
    table = table.sort_values(
        "balanced_accuracy_mean", ascending=False, kind="stable", na_position="last"
    )
    return table.reset_index(drop=True)


def _fit_and_score(estimator, X, y, train, test, scorer, error_score):
    """Fit on one split and score it; a failure is returned, not raised."""
    start = time.perf_counter()
    try:
        _bound_threads(estimator)
        estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        fit_seconds = time.perf_counter() - start
        scores = scorer(estimator, _safe_indexing(X, test), _safe_indexing(y, test))
    except Exception as exc:
        if isinstance(error_score, str):  # "raise"
            raise
        return {
            "scores": None,
            "fit_seconds": time.perf_counter() - start,
            "error": _error_line(exc),
        }
    return {"scores": scores, "fit_seconds": fit_seconds, "error": ""}


def _run_fits(contenders, X, y, splits, scorer, n_jobs, error_score, progress, done):
    """Run every (contender, split) fit; call ``done`` per finished contender."""
    tasks = [(name, k) for name in contenders for k in range(len(splits))]
    jobs = (
        delayed(_fit_and_score)(
            clone(contenders[name]), X, y, *splits[k], scorer, error_score
        )
        for name, k in tasks
    )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), unit="fit", desc="compare", leave=True)
    outcomes = {name: [] for name in contenders}
    try:
        # scikit-learn's Parallel carries its config and the warning filters
        # to the workers, as in cross_validate. An ordered generator: results
        # arrive in task order as they finish, so each contender is complete
        # before the next one's first result
        results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
        for (name, _), outcome in zip(tasks, results):
            outcomes[name].append(outcome)
            if bar is not None:
                bar.set_postfix_str(name, refresh=False)
                bar.update(1)
            if len(outcomes[name]) == len(splits):
                done(name, outcomes.pop(name))
    finally:
        if bar is not None:
            bar.close()


def _warn_failures(row, n_splits):
    if not row["n_failed"]:
        return
    where = (
        "every split"
        if row["n_failed"] == n_splits
        else f"{row['n_failed']} of {n_splits} splits"
    )
    warnings.warn(
        f"Contender {row['contender']!r} failed on {where} (scored NaN): "
        f"{row['error']}",
        ContenderFailedWarning,
        stacklevel=4,
    )


def _summarise(name, estimator, outcomes, splits, y, labels, extra, many, few):
    """One table row, the per-class recall and per-split frames of a contender."""
    n_splits, n_labels = len(splits), len(labels)
    keys = (
        "balanced_accuracy",
        "f1_macro",
        "geometric_mean",
        "worst_class_recall",
        *_CALIBRATION_METRICS,
    )
    fold_scores = {metric: np.full(n_splits, np.nan) for metric in (*_METRICS, *extra)}
    recall = np.full((n_splits, n_labels), np.nan)
    errors = []
    for k, outcome in enumerate(outcomes):
        fold_scores["fit_seconds"][k] = outcome["fit_seconds"]
        errors.append(outcome["error"])
        scores = outcome["scores"]
        if scores is None:
            continue
        for key in (*keys, "predict_seconds", *extra):
            fold_scores[key][k] = scores[key]
        recall[k] = [scores[f"{_RECALL_PREFIX}{i}"] for i in range(n_labels)]
    train_counts = np.array(
        [[np.sum(y[train] == label) for label in labels] for train, _ in splits]
    )
    for k in range(n_splits):
        if outcomes[k]["scores"] is not None:
            shots = _shot_recalls(recall[k], train_counts[k], many, few)
            for key in _SHOT_METRICS:
                fold_scores[key][k] = shots[key]

    # A failed split makes every score's mean NaN, as in GridSearchCV;
    # otherwise NaN only marks an empty shot group in a split, which the
    # mean skips. Times are averaged over what ran.
    failed = np.array([bool(error) for error in errors])
    row = {
        "contender": name,
        "family": _contender_family(estimator),
        "estimator": _describe_estimator(estimator),
        "n_splits": n_splits,
        "n_failed": int(failed.sum()),
        "error": next((error for error in errors if error), ""),
        "probabilities": _probability_source(estimator),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        for metric in (*_METRICS, *extra):
            values = fold_scores[metric]
            if failed.any() and not metric.endswith("_seconds"):
                values = np.full_like(values, np.nan)
            row[f"{metric}_mean"] = float(np.nanmean(values))
            row[f"{metric}_std"] = float(np.nanstd(values))
    per_class = pd.DataFrame(
        {
            "contender": name,
            "split": np.repeat(np.arange(n_splits), n_labels),
            "class": np.tile(labels, n_splits),
            "train_count": train_counts.ravel(),
            "recall": recall.ravel(),
        }
    )
    per_split = pd.DataFrame({"contender": name, "split": np.arange(n_splits)})
    for metric in (*_METRICS, *extra):
        per_split[metric] = fold_scores[metric]
    # the reliability diagram's per-bin sums (NaN for a failed split)
    for key in reliability_columns():
        per_split[key] = [
            np.nan if outcome["scores"] is None else outcome["scores"].get(key, np.nan)
            for outcome in outcomes
        ]
    per_split["error"] = errors
    return row, per_class, per_split
