"""A fair side-by-side comparison of classifiers on long-tailed data.

:func:`compare` runs every contender through the same train/test splits with
:func:`sklearn.model_selection.cross_validate` (so ``n_jobs`` and any joblib
backend apply) and returns one row per contender with the mean and standard
deviation over the splits of the metrics the long-tail literature reports:

* ``balanced_accuracy`` (:func:`sklearn.metrics.balanced_accuracy_score`, the
  mean per-class recall),
* ``f1_macro`` (:func:`sklearn.metrics.f1_score` with ``average="macro"``),
* ``geometric_mean`` (:func:`imblearn.metrics.geometric_mean_score`),
* ``many_shot_recall``, ``medium_shot_recall``, ``few_shot_recall``: mean
  recall of the classes with more than ``many_shot``, between ``few_shot``
  and ``many_shot``, and fewer than ``few_shot`` *training* examples (the
  groups of :func:`sklearn_lt.metrics.shot_accuracy`),
* ``worst_class_recall`` (:func:`sklearn_lt.metrics.worst_class_recall`),
* ``fit_seconds`` and ``predict_seconds`` per split.

The splits are either a stratified K-fold, any scikit-learn splitter, an
iterable of ``(train_indices, test_indices)``, or the long-tailed-train /
balanced-test protocol of the literature: :func:`digits_lt_split` repeats the
split of :func:`sklearn_lt.datasets.load_digits_lt`, and
:class:`LongTailedCV` makes the training folds of any splitter long-tailed
while leaving the test folds as they are.

:func:`default_contenders` lists the default field: scikit-learn and
imbalanced-learn baselines, and this package's classifiers, each a plain
estimator that can be copied out and used on its own.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn_lt.compare import compare, digits_lt_split
>>> X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=2)
>>> table = compare(["logreg", "logreg_balanced"], X, y, cv=cv)
>>> list(table["contender"])  # sorted by balanced accuracy, best first
['logreg_balanced', 'logreg']
>>> bool(table["balanced_accuracy_mean"].between(0.7, 1).all())
True
"""

import re
import time
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, f1_score, get_scorer
from sklearn.model_selection import StratifiedKFold, check_cv, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import column_or_1d

from .datasets import PROFILES, load_digits_lt, make_long_tailed
from .linear import LinearMarginClassifier
from .metrics import per_class_recall, worst_class_recall
from .mlp import MLPMarginClassifier
from .posthoc import LogitAdjustedClassifier

__all__ = [
    "LongTailedCV",
    "METRICS",
    "compare",
    "default_contenders",
    "digits_lt_split",
    "resolve_contenders",
]

#: The metrics of the result table, in column order (each gets ``_mean`` and
#: ``_std`` columns).
METRICS = (
    "balanced_accuracy",
    "f1_macro",
    "geometric_mean",
    "many_shot_recall",
    "medium_shot_recall",
    "few_shot_recall",
    "worst_class_recall",
    "fit_seconds",
    "predict_seconds",
)

# One MLP setting shared by every MLP contender, ours and the baselines, so
# that they differ only in the loss or the resampling: same width, epochs,
# minibatch size, step size and L2 penalty.
MLP_SETTINGS = {
    "hidden_layer_sizes": (128,),
    "batch_size": 64,
    "learning_rate_init": 1e-3,
    "alpha": 1e-4,
}
MLP_EPOCHS = 100

_RECALL_PREFIX = "recall_class_"


# -- contenders ----------------------------------------------------------------


def default_contenders(random_state=0):
    """The default field of contenders, baselines first.

    Every contender is a plain scikit-learn, imbalanced-learn or sklearn_lt
    estimator (scaled by a :class:`~sklearn.preprocessing.StandardScaler`
    where scale matters) that can be copied out of this function and used
    alone. The MLPs, ours and the baselines, share one setting
    (:data:`MLP_SETTINGS`, ``MLP_EPOCHS`` epochs): they differ only in the
    loss or in the resampling.

    ============================  ==========================================
    name                          estimator
    ============================  ==========================================
    ``logreg``                    ``LogisticRegression``
    ``logreg_balanced``           ``LogisticRegression(class_weight="balanced")``
    ``linear_svc_balanced``       ``LinearSVC(class_weight="balanced")``
    ``svc_rbf_balanced``          ``SVC(kernel="rbf", class_weight="balanced")``
    ``mlp``                       ``MLPClassifier``
    ``smote_logreg``              ``SMOTE`` then ``LogisticRegression``
    ``oversample_mlp``            ``RandomOverSampler`` then ``MLPClassifier``
    ``balanced_random_forest``    ``BalancedRandomForestClassifier``
    ``easy_ensemble``             ``EasyEnsembleClassifier``
    ``linear_margin_la``          ``LinearMarginClassifier("logit_adjusted")``
    ``mlp_margin_la``             ``MLPMarginClassifier("logit_adjusted")``
    ``mlp_margin_ldam_drw``       ``MLPMarginClassifier("ldam", reweight="drw")``
    ``mlp_margin_elm``            ``MLPMarginClassifier("elm")``
    ``logreg_posthoc_la``         ``LogitAdjustedClassifier(LogisticRegression)``
    ============================  ==========================================

    Parameters
    ----------
    random_state : int or None, default=0
        Seed of every randomised contender.

    Returns
    -------
    contenders : dict
        Ordered mapping from name to (unfitted) estimator.

    Raises
    ------
    ImportError
        If imbalanced-learn, which provides several baselines, is missing.

    Examples
    --------
    >>> from sklearn_lt.compare import default_contenders
    >>> contenders = default_contenders()
    >>> list(contenders)[:3]
    ['logreg', 'logreg_balanced', 'linear_svc_balanced']
    >>> contenders["svc_rbf_balanced"]
    Pipeline(steps=[('standardscaler', StandardScaler()),
                    ('svc', SVC(class_weight='balanced'))])
    """
    try:
        from imblearn.ensemble import (
            BalancedRandomForestClassifier,
            EasyEnsembleClassifier,
        )
        from imblearn.over_sampling import SMOTE, RandomOverSampler
        from imblearn.pipeline import make_pipeline as make_imb_pipeline
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The default contenders need imbalanced-learn; install it with "
            "`pip install sklearn-lt[compare]` (or `pip install imbalanced-learn`)."
        ) from exc

    seed = random_state

    def scaled(estimator):
        return make_pipeline(StandardScaler(), estimator)

    def logreg(**kwargs):
        return LogisticRegression(max_iter=1000, **kwargs)

    def sk_mlp():
        return MLPClassifier(**MLP_SETTINGS, max_iter=MLP_EPOCHS, random_state=seed)

    def our_mlp(loss, **kwargs):
        return MLPMarginClassifier(
            loss,
            **MLP_SETTINGS,
            max_epochs=MLP_EPOCHS,
            random_state=seed,
            **kwargs,
        )

    return {
        # scikit-learn baselines
        "logreg": scaled(logreg()),
        "logreg_balanced": scaled(logreg(class_weight="balanced")),
        "linear_svc_balanced": scaled(
            LinearSVC(class_weight="balanced", random_state=seed)
        ),
        "svc_rbf_balanced": scaled(SVC(kernel="rbf", class_weight="balanced")),
        "mlp": scaled(sk_mlp()),
        # imbalanced-learn baselines
        "smote_logreg": make_imb_pipeline(
            StandardScaler(), SMOTE(random_state=seed), logreg()
        ),
        "oversample_mlp": make_imb_pipeline(
            StandardScaler(), RandomOverSampler(random_state=seed), sk_mlp()
        ),
        "balanced_random_forest": BalancedRandomForestClassifier(
            sampling_strategy="all",
            replacement=True,
            bootstrap=False,
            random_state=seed,
        ),
        "easy_ensemble": EasyEnsembleClassifier(random_state=seed),
        # sklearn_lt
        "linear_margin_la": scaled(
            LinearMarginClassifier("logit_adjusted", random_state=seed)
        ),
        "mlp_margin_la": scaled(our_mlp("logit_adjusted")),
        "mlp_margin_ldam_drw": scaled(our_mlp("ldam", reweight="drw")),
        "mlp_margin_elm": scaled(our_mlp("elm")),
        "logreg_posthoc_la": LogitAdjustedClassifier(scaled(logreg())),
    }


def resolve_contenders(contenders=None, *, drop=None, random_state=0):
    """Turn names, pairs or a mapping into an ordered ``{name: estimator}``.

    Parameters
    ----------
    contenders : None, mapping, or list of str and (name, estimator) pairs, \
            default=None
        None: all of :func:`default_contenders`. A mapping ``{name:
        estimator}`` is used as is. In a list, a string picks that default
        contender by name and a pair ``(name, estimator)`` adds one of your
        own, for example ``["svc_rbf_balanced", ("mine", MyClassifier())]``.

    drop : iterable of str, default=None
        Names to leave out.

    random_state : int or None, default=0
        Seed of the default contenders picked by name.

    Returns
    -------
    contenders : dict
        Ordered mapping from name to estimator.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), a duplicated
        name, something that is not an estimator, or an empty result.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklearn_lt.compare import resolve_contenders
    >>> list(resolve_contenders(["logreg", ("tree", DecisionTreeClassifier())]))
    ['logreg', 'tree']
    >>> len(resolve_contenders(drop=["easy_ensemble"]))
    13
    """
    defaults = None

    def default(name):
        nonlocal defaults
        if defaults is None:
            defaults = default_contenders(random_state=random_state)
        if name not in defaults:
            raise ValueError(
                f"Unknown contender {name!r}; the default contenders are: "
                f"{', '.join(defaults)}."
            )
        return defaults[name]

    if contenders is None:
        resolved = dict(default_contenders(random_state=random_state))
    elif isinstance(contenders, Mapping):
        resolved = dict(contenders)
    elif isinstance(contenders, str):
        resolved = {contenders: default(contenders)}
    else:
        resolved = {}
        for item in contenders:
            if isinstance(item, str):
                name, estimator = item, default(item)
            elif isinstance(item, tuple) and len(item) == 2:
                name, estimator = item
            else:
                raise ValueError(
                    "Each contender must be a default contender's name or a "
                    f"(name, estimator) pair; got {item!r}."
                )
            if name in resolved:
                raise ValueError(f"Contender {name!r} is given twice.")
            resolved[name] = estimator
    for name, estimator in resolved.items():
        if not isinstance(name, str) or not hasattr(estimator, "fit"):
            raise ValueError(
                f"Contender {name!r} must be named by a string and be an "
                f"estimator with fit and predict; got {estimator!r}."
            )
    for name in drop or ():
        if name not in resolved:
            raise ValueError(
                f"Cannot drop unknown contender {name!r}; the contenders are: "
                f"{', '.join(resolved)}."
            )
        del resolved[name]
    if not resolved:
        raise ValueError("No contenders left to compare.")
    return resolved


def _family(estimator):
    """``"sklearn_lt"`` if any part of ``estimator`` comes from this package."""
    parts = [estimator]
    if isinstance(estimator, BaseEstimator):
        parts += list(estimator.get_params(deep=True).values())
    for part in parts:
        if type(part).__module__.split(".")[0] == "sklearn_lt":
            return "sklearn_lt"
    return "baseline"


# -- splits --------------------------------------------------------------------


@validate_params(
    {
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "profile": [StrOptions(set(PROFILES))],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def digits_lt_split(
    imbalance_ratio=20,
    n_splits=5,
    *,
    profile="exponential",
    test_size=0.3,
    random_state=0,
):
    """Repeated long-tailed-train / balanced-test splits of the digits data.

    Split ``r`` is :func:`sklearn_lt.datasets.load_digits_lt` with
    ``random_state + r`` (for an int ``random_state``): a long-tailed
    training set and an exactly balanced test set. The splits' data are
    stacked into one ``X, y`` and each split is given as indices into it, the
    form ``cv`` takes in :func:`compare` and
    :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    imbalance_ratio : float, default=20
        Ratio of the largest to the smallest training class.

    n_splits : int, default=5
        Number of independent splits.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the training profile.

    test_size : float, default=0.3
        Fraction of each (balanced) class held out for testing.

    random_state : int, RandomState instance or None, default=0
        Seed of the first split; the others use the next integers. A
        RandomState or None draws the seeds.

    Returns
    -------
    X : ndarray of shape (n_samples, 64)
        The stacked training and test sets of every split.

    y : ndarray of shape (n_samples,)
        Their labels (digits 0 to 9; 0 is the head class, 9 the tail).

    cv : list of (ndarray, ndarray)
        ``(train_indices, test_indices)`` of each split, indices into ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare import digits_lt_split
    >>> X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=2)
    >>> train, test = cv[0]
    >>> np.bincount(y[train]).tolist()
    [122, 87, 62, 44, 32, 23, 16, 11, 8, 6]
    >>> np.bincount(y[test]).tolist()
    [52, 52, 52, 52, 52, 52, 52, 52, 52, 52]
    """
    if isinstance(random_state, Integral):
        seeds = [int(random_state) + r for r in range(n_splits)]
    else:
        rng = check_random_state(random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_splits).tolist()
    X_parts, y_parts, cv = [], [], []
    offset = 0
    for seed in seeds:
        X_train, X_test, y_train, y_test = load_digits_lt(
            imbalance_ratio, profile, test_size=test_size, random_state=seed
        )
        n_train, n_test = len(y_train), len(y_test)
        train = np.arange(offset, offset + n_train)
        test = np.arange(offset + n_train, offset + n_train + n_test)
        cv.append((train, test))
        X_parts += [X_train, X_test]
        y_parts += [y_train, y_test]
        offset += n_train + n_test
    return np.concatenate(X_parts), np.concatenate(y_parts), cv


class LongTailedCV:
    """Cross-validation with long-tailed training folds.

    Wraps a splitter: each of its training folds is subsampled to a
    long-tailed profile by :func:`sklearn_lt.datasets.make_long_tailed`
    (the first label in sorted order becomes the head class), and the test
    folds are left as they are. On a balanced dataset this is the protocol
    of the long-tail literature: train on long-tailed data, test on balanced
    data.

    Parameters
    ----------
    cv : int, cross-validation generator or iterable, default=5
        The splitter to wrap, as ``cv`` in
        :func:`~sklearn.model_selection.cross_validate`; an int is a
        shuffled :class:`~sklearn.model_selection.StratifiedKFold` seeded by
        ``random_state``.

    imbalance_ratio : float, default=100
        Ratio of the largest to the smallest training class.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the training profile.

    random_state : int, RandomState instance or None, default=None
        Controls the shuffling of an int ``cv`` and which training examples
        are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare import LongTailedCV
    >>> X = np.zeros((300, 1))
    >>> y = np.repeat([0, 1, 2], 100)
    >>> cv = LongTailedCV(cv=5, imbalance_ratio=10, random_state=0)
    >>> train, test = next(cv.split(X, y))
    >>> np.bincount(y[train]).tolist(), np.bincount(y[test]).tolist()
    ([80, 25, 8], [20, 20, 20])
    """

    def __init__(
        self, cv=5, imbalance_ratio=100, profile="exponential", random_state=None
    ):
        self.cv = cv
        self.imbalance_ratio = imbalance_ratio
        self.profile = profile
        self.random_state = random_state

    def _base_cv(self, y):
        if isinstance(self.cv, Integral):
            return StratifiedKFold(
                self.cv, shuffle=True, random_state=self.random_state
            )
        return check_cv(self.cv, y, classifier=True)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits (that of the wrapped splitter).

        Parameters
        ----------
        X, y, groups : object
            Passed to the wrapped splitter.

        Returns
        -------
        n_splits : int
        """
        return self._base_cv(y).get_n_splits(X, y, groups)

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` indices with long-tailed training folds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            Passed to the wrapped splitter.

        Yields
        ------
        train : ndarray
            The kept training indices, sorted.
        test : ndarray
            The test indices of the wrapped splitter.
        """
        y = column_or_1d(y)
        rng = check_random_state(
            # a fresh generator per call, so repeated calls agree
            self.random_state
            if not isinstance(self.random_state, Integral)
            else np.random.RandomState(self.random_state)
        )
        for train, test in self._base_cv(y).split(X, y, groups):
            keep = make_long_tailed(
                train.reshape(-1, 1),
                y[train],
                self.imbalance_ratio,
                self.profile,
                return_indices=True,
                random_state=rng,
            )
            yield train[keep], test

    def __repr__(self):
        return (
            f"{type(self).__name__}(cv={self.cv!r}, "
            f"imbalance_ratio={self.imbalance_ratio!r}, "
            f"profile={self.profile!r}, random_state={self.random_state!r})"
        )


# -- scoring -------------------------------------------------------------------


class _LongTailScorer:
    """Scorer for ``cross_validate`` returning every metric of one fold.

    Predicts once, then returns a dict: the summary metrics, the seconds
    ``predict`` took, the recall of each class of ``labels`` under the key
    ``recall_class_<i>`` (NaN if the fold has no example of it), and the
    scores of the extra scorers.
    """

    def __init__(self, labels, extra_scorers):
        self.labels = labels
        self.extra_scorers = extra_scorers

    def __call__(self, estimator, X, y_true):
        start = time.perf_counter()
        y_pred = estimator.predict(X)
        seconds = time.perf_counter() - start
        y_true = column_or_1d(y_true)
        present = self.labels[np.isin(self.labels, y_true)]
        recall = per_class_recall(y_true, y_pred, labels=self.labels)["recall"]
        scores = {
            "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
            "f1_macro": f1_score(
                y_true, y_pred, labels=present, average="macro", zero_division=0
            ),
            "geometric_mean": _geometric_mean(y_true, y_pred, present),
            "worst_class_recall": worst_class_recall(y_true, y_pred),
            "predict_seconds": seconds,
        }
        for i, value in enumerate(recall.to_numpy(dtype=float)):
            scores[f"{_RECALL_PREFIX}{i}"] = value
        for name, scorer in self.extra_scorers.items():
            scores[name] = scorer(estimator, X, y_true)
        return {key: float(value) for key, value in scores.items()}


def _geometric_mean(y_true, y_pred, labels):
    from imblearn.metrics import geometric_mean_score

    return geometric_mean_score(y_true, y_pred, labels=labels, average="multiclass")


def _extra_scorers(scoring):
    """Normalise ``scoring`` to ``{name: scorer}``."""
    if scoring is None:
        return {}
    if isinstance(scoring, str):
        scoring = [scoring]
    elif callable(scoring):
        scoring = {"score": scoring}
    if isinstance(scoring, Mapping):
        items = list(scoring.items())
    else:
        items = [(name, name) for name in scoring]
    scorers = {}
    reserved = set(METRICS) | {"fit_time", "score_time"}
    for name, scorer in items:
        if name in reserved or str(name).startswith(_RECALL_PREFIX):
            raise ValueError(
                f"The extra scorer name {name!r} clashes with a built-in metric."
            )
        scorers[name] = get_scorer(scorer) if isinstance(scorer, str) else scorer
    return scorers


def _shot_recalls(recall, train_counts, many_shot, few_shot):
    """Mean recall of the many-, medium- and few-shot classes of one fold.

    The groups are those of :func:`sklearn_lt.metrics.shot_accuracy`;
    classes with an undefined (NaN) recall are left out.
    """
    groups = {
        "many_shot_recall": train_counts > many_shot,
        "medium_shot_recall": (train_counts >= few_shot) & (train_counts <= many_shot),
        "few_shot_recall": train_counts < few_shot,
    }
    scores = {}
    for name, members in groups.items():
        values = recall[members]
        values = values[~np.isnan(values)]
        scores[name] = float(values.mean()) if values.size else np.nan
    return scores


def _first_error_line(message):
    """The last non-empty line of a FitFailedWarning: the exception itself."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    errors = [
        line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)", line)
    ]
    return (errors or lines or [""])[-1]


# -- the harness ---------------------------------------------------------------


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
    many_shot=100,
    few_shot=20,
    error_score=np.nan,
    progress=False,
    return_per_class=False,
):
    """Cross-validate every contender on the same splits and tabulate.

    Each contender goes through
    :func:`~sklearn.model_selection.cross_validate` on the same splits, with
    one scorer that predicts once per split and computes every metric; the
    shot recalls are computed afterwards from each split's training class
    counts (``return_indices=True``).

    Parameters
    ----------
    contenders : None, mapping, or list of str and (name, estimator) pairs
        The estimators to compare; see :func:`resolve_contenders`. None runs
        all of :func:`default_contenders`.

    X : array-like of shape (n_samples, n_features)
        Data.

    y : array-like of shape (n_samples,)
        Class labels.

    cv : int, cross-validation generator or iterable, default=5
        The splits: an int is a shuffled
        :class:`~sklearn.model_selection.StratifiedKFold` seeded by
        ``random_state``; a splitter such as :class:`LongTailedCV`, or an
        iterable of ``(train_indices, test_indices)`` such as the ``cv`` of
        :func:`digits_lt_split`, is used as given.

    scoring : str, callable, list or dict, default=None
        Extra scorers, reported next to the built-in metrics (``METRICS``):
        a scorer name, a list of names, a callable ``scorer(estimator, X,
        y)`` (reported as ``score``), or a dict ``{name: scorer}``.

    n_jobs : int, default=None
        Parallel jobs over the splits of each contender, as in
        ``cross_validate`` (any joblib backend applies).

    drop : iterable of str, default=None
        Contenders to leave out, by name.

    random_state : int or None, default=0
        Seed of the default contenders and of an int ``cv``.

    many_shot : int, default=100
        Classes with more training examples than this are many-shot.

    few_shot : int, default=20
        Classes with fewer training examples than this are few-shot.

    error_score : "raise" or float, default=np.nan
        What a split whose fit (or prediction) fails scores. With a number,
        a contender failing on some splits gets NaN means, and one failing
        on every split is kept with NaN scores; a :class:`UserWarning` names
        it and the error.

    progress : bool, default=False
        Show a progress bar (tqdm, on stderr) over contenders x splits.

    return_per_class : bool, default=False
        Also return the per-class recall of every contender and split.

    Returns
    -------
    table : pandas.DataFrame
        One row per contender, sorted by ``balanced_accuracy_mean``
        (descending, ties in the given order), with columns ``contender``,
        ``family`` (``"sklearn_lt"`` if the estimator uses a part of this
        package, else ``"baseline"``), ``n_splits`` and ``<metric>_mean`` /
        ``<metric>_std`` over the splits for every metric of ``METRICS`` and
        every extra scorer. Scores lie in [0, 1] (NaN for an empty shot
        group or a failed split); the standard deviation is the population
        one (``ddof=0``), as in ``GridSearchCV``.

    per_class : pandas.DataFrame
        Only if ``return_per_class``: one row per contender, split and class
        with columns ``contender``, ``split``, ``class``, ``train_count``
        (training examples of the class in that split) and ``recall`` (NaN
        if the test split has no example of the class). This is what
        :func:`sklearn_lt.plotting.plot_per_class_recall` draws.

    Raises
    ------
    ValueError
        For unknown contender names, a clashing extra scorer name, or
        ``few_shot > many_shot``.

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
    """
    if few_shot > many_shot:
        raise ValueError(
            f"few_shot={few_shot} must not be larger than many_shot={many_shot}."
        )
    contenders = resolve_contenders(contenders, drop=drop, random_state=random_state)
    extra = _extra_scorers(scoring)
    X, y = indexable(X, y)
    y_array = column_or_1d(y)
    labels = np.unique(y_array)
    if isinstance(cv, Integral):
        cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    splits = list(check_cv(cv, y_array, classifier=True).split(X, y_array))
    scorer = _LongTailScorer(labels, extra)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(contenders) * len(splits), unit="fit", desc="compare", leave=True
        )
    rows, per_class = [], []
    try:
        for name, estimator in contenders.items():
            if bar is not None:
                bar.set_postfix_str(name)
            results = _cross_validate_one(
                name, estimator, X, y, splits, scorer, n_jobs, error_score
            )
            row, recalls = _summarise(
                name, estimator, results, splits, y_array, labels, extra,
                many_shot, few_shot,
            )  # fmt: skip
            rows.append(row)
            per_class.append(recalls)
            if bar is not None:
                bar.update(len(splits))
    finally:
        if bar is not None:
            bar.close()

    table = pd.DataFrame(rows)
    table = table.sort_values(
        "balanced_accuracy_mean", ascending=False, kind="stable", na_position="last"
    ).reset_index(drop=True)
    if return_per_class:
        return table, pd.concat(per_class, ignore_index=True)
    return table


def _cross_validate_one(name, estimator, X, y, splits, scorer, n_jobs, error_score):
    """``cross_validate`` one contender; failures become NaN and a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitFailedWarning)
        try:
            results = cross_validate(
                estimator,
                X,
                y,
                cv=splits,
                scoring=scorer,
                n_jobs=n_jobs,
                return_indices=True,
                error_score=error_score,
            )
        except ValueError as exc:
            # With a numeric error_score, cross_validate raises only when
            # every split failed; anything else is a real error.
            if isinstance(error_score, str) or "fits failed" not in str(exc):
                raise
            # every split failed: cross_validate gives up. Warn after
            # leaving the recording block, which would swallow the warning.
            failure = _first_error_line(exc)
            results = None
    if results is not None and "test_balanced_accuracy" not in results:
        # Every split failed, some in fit and the others in scoring (e.g. NaN
        # in X): cross_validate returns only NaN placeholders.
        failure = next(
            (_first_error_line(w.message) for w in caught if "rror" in str(w.message)),
            "fitting or scoring failed",
        )
        results = None
    if results is None:
        warnings.warn(
            f"Contender {name!r} failed on every split (scored NaN): {failure}",
            UserWarning,
            stacklevel=3,
        )
        return None
    for warning in caught:
        if issubclass(warning.category, FitFailedWarning):
            n_failed = re.search(r"(\d+) fits? failed", str(warning.message))
            count = n_failed.group(1) if n_failed else "some"
            warnings.warn(
                f"Contender {name!r} failed on {count} of {len(splits)} splits "
                f"(scored NaN): {_first_error_line(warning.message)}",
                UserWarning,
                stacklevel=3,
            )
        else:
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
                source=warning.source,
            )
    return results


def _summarise(name, estimator, results, splits, y, labels, extra, many_shot, few_shot):
    """One table row and the per-class recall frame of one contender."""
    n_splits, n_labels = len(splits), len(labels)
    fold_scores = {}
    if results is None:
        nan = np.full(n_splits, np.nan)
        fold_scores = dict.fromkeys((*METRICS, *extra), nan)
        recall = np.full((n_splits, n_labels), np.nan)
    else:
        for key in ("balanced_accuracy", "f1_macro", "geometric_mean"):
            fold_scores[key] = results[f"test_{key}"]
        fold_scores["worst_class_recall"] = results["test_worst_class_recall"]
        fold_scores["fit_seconds"] = results["fit_time"]
        fold_scores["predict_seconds"] = results["test_predict_seconds"]
        for key in extra:
            fold_scores[key] = results[f"test_{key}"]
        recall = np.column_stack(
            [results[f"test_{_RECALL_PREFIX}{i}"] for i in range(n_labels)]
        )
    train_counts = np.array(
        [[np.sum(y[train] == label) for label in labels] for train, _ in splits]
    )
    shots = [
        _shot_recalls(recall[k], train_counts[k], many_shot, few_shot)
        for k in range(n_splits)
    ]
    for key in ("many_shot_recall", "medium_shot_recall", "few_shot_recall"):
        fold_scores[key] = np.array([shot[key] for shot in shots])

    # A failed split (NaN balanced accuracy) makes every score's mean NaN, as
    # in GridSearchCV; otherwise NaN only marks an empty shot group in a
    # split, which the mean skips. Times are averaged over what ran.
    failed = np.isnan(np.asarray(fold_scores["balanced_accuracy"], dtype=float))
    row = {"contender": name, "family": _family(estimator), "n_splits": n_splits}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        for metric in (*METRICS, *extra):
            values = np.asarray(fold_scores[metric], dtype=float)
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
    return row, per_class
