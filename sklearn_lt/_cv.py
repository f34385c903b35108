"""Selecting the settings of our estimators by inner cross-validation.

:class:`MLPMarginClassifierCV` and :class:`LinearMarginClassifierCV` search
a small grid of settings (loss, ``alpha``, ``tau``, width) the way
:class:`~sklearn.linear_model.LogisticRegressionCV` searches ``C``: one
inner stratified cross-validation, the best setting refitted on all rows.
They give the scores :class:`~sklearn.model_selection.GridSearchCV` would
give over the same grid, but fit fewer models: settings that differ only in
the ``tau`` of the logit-adjusted loss share one fit per fold (the other
``tau`` values are evaluated by shifting its logits, see
``posthoc_tau``), the splits and the input conversion are done once, and
the remaining (setting, fold) fits run in parallel with ``n_jobs``.
"""

import time
from inspect import signature
from numbers import Integral

import numpy as np
from scipy.stats import rankdata
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .linear import LinearMarginClassifier
from .mlp import MLPMarginClassifier
from .posthoc import _log_scores, _PrecomputedLogits

__all__ = ["LinearMarginClassifierCV", "MLPMarginClassifierCV"]

_TAUS = [0.5, 1.0, 1.5, 2.0]


def _candidate_groups(candidates, base_params, posthoc_tau):
    """Group the grid's settings that can share one fit per fold.

    Returns a list of ``(trained_index, [(index, tau_shift), ...])``: the
    setting ``trained_index`` is fitted, and every member ``index`` is scored
    from that fit with its logits shifted by ``tau_shift * log(prior)``
    (``tau_trained - tau``; 0 for the trained setting itself). Only
    logit-adjusted settings that differ in nothing but ``tau`` are grouped.
    """
    groups, pending = [], list(range(len(candidates)))
    while pending:
        first = pending.pop(0)
        params = {**base_params, **candidates[first]}
        members = [first]
        if posthoc_tau and params["loss"] == "logit_adjusted":
            rest = {k: v for k, v in candidates[first].items() if k != "tau"}
            for other in list(pending):
                other_rest = {k: v for k, v in candidates[other].items() if k != "tau"}
                if _same_params(rest, other_rest):
                    members.append(other)
                    pending.remove(other)
        taus = [float({**base_params, **candidates[i]}["tau"]) for i in members]
        # Train at the grid's tau nearest the estimator's own (1.0 by
        # default: the Bayes-optimal value for the balanced error).
        trained = members[int(np.argmin(np.abs(np.subtract(taus, base_params["tau"]))))]
        tau_trained = float({**base_params, **candidates[trained]}["tau"])
        groups.append(
            (trained, [(i, tau_trained - tau) for i, tau in zip(members, taus)])
        )
    return groups


def _same_params(a, b):
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if type(x) is not type(y):
            return False
        if isinstance(x, (tuple, list, np.ndarray)):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _scorer_accepts_sample_weight(scorer):
    if hasattr(scorer, "_accept_sample_weight"):
        return scorer._accept_sample_weight()
    return "sample_weight" in signature(scorer).parameters


def _fit_and_score(
    estimator, params, X, y, sample_weight, train, test, members, scorer
):
    """Fit ``estimator`` with ``params`` on ``train``; score every member on ``test``.

    ``sample_weight`` reaches the scorer too when it accepts it, as in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Returns ``(fit_time, [(score, score_time), ...])`` in the order of
    ``members``.
    """
    estimator.set_params(**params)
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    fit_params, score_params = {}, {}
    if sample_weight is not None:
        fit_params["sample_weight"] = sample_weight[train]
        if _scorer_accepts_sample_weight(scorer):
            score_params["sample_weight"] = sample_weight[test]
    start = time.perf_counter()
    estimator.fit(X_train, y_train, **fit_params)
    fit_time = time.perf_counter() - start

    results, logits, log_prior = [], None, None
    for _, tau_shift in members:
        start = time.perf_counter()
        if tau_shift == 0:
            score = scorer(estimator, X_test, y_test, **score_params)
        else:
            if logits is None:
                logits = _log_scores(estimator, X_test, "decision_function")
                # The prior the loss used: the fold's class counts (floored
                # at 1, as the loss does).
                counts = np.maximum(np.asarray(estimator.class_counts_), 1)
                log_prior = np.log(counts / counts.sum())
            # Trained at tau_0, the loss's minimiser is log p(y|x) -
            # tau_0 log prior + c; at tau it is that plus (tau_0 - tau) log prior.
            shifted = logits + tau_shift * log_prior
            stand_in = _PrecomputedLogits(estimator.classes_, shifted)
            score = scorer(stand_in, X_test, y_test, **score_params)
        results.append((float(score), time.perf_counter() - start))
    return fit_time, results


class _MarginClassifierCV(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared logic of the two ``*CV`` classes (see their docstrings)."""

    _estimator_class = None

    _parameter_constraints: dict = {
        "estimator": [None, object],
        "param_grid": [dict, list, None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "posthoc_tau": ["boolean"],
        "n_jobs": [Integral, None],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        param_grid=None,
        cv=5,
        scoring="balanced_accuracy",
        posthoc_tau=True,
        n_jobs=None,
        refit=True,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.param_grid = param_grid
        self.cv = cv
        self.scoring = scoring
        self.posthoc_tau = posthoc_tau
        self.n_jobs = n_jobs
        self.refit = refit
        self.random_state = random_state
        self.verbose = verbose

    @staticmethod
    def _default_param_grid():
        raise NotImplementedError

    def _base_estimator(self):
        cls = self._estimator_class
        if self.estimator is None:
            return cls()
        if not isinstance(self.estimator, cls):
            raise TypeError(
                f"estimator must be a {cls.__name__} (or None for the default "
                f"one), got {type(self.estimator).__name__}. To search a "
                f"pipeline, put {type(self).__name__} in the pipeline instead."
            )
        return self.estimator

    def _candidates(self, estimator):
        grid = (
            self._default_param_grid() if self.param_grid is None else self.param_grid
        )
        try:
            candidates = list(ParameterGrid(grid))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Invalid param_grid: {exc}") from exc
        if not candidates:
            raise ValueError("param_grid has no setting to try.")
        valid = estimator.get_params(deep=False)
        unknown = sorted({key for c in candidates for key in c} - set(valid))
        if unknown:
            raise ValueError(
                f"param_grid names {unknown}, which are not parameters of "
                f"{type(estimator).__name__}."
            )
        if any("random_state" in c for c in candidates) and (
            self.random_state is not None
        ):
            raise ValueError(
                "param_grid sets random_state, which random_state= also sets; "
                "use one of them."
            )
        return candidates

    def _validate_X(self, X, estimator, reset, y="no_validation"):
        """X as the inner estimators take it (float32; sparse if they accept
        it), with ``y`` when fitting."""
        tags = get_tags(estimator).input_tags
        return validate_data(
            self,
            X,
            y,
            dtype=np.float32,
            accept_sparse="csr" if tags.sparse else False,
            ensure_all_finite="allow-nan" if tags.allow_nan else True,
            reset=reset,
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Search the grid by cross-validation, then refit the best setting.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (converted to float32 once, before the search).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-example weights, passed to every inner ``fit`` (the rows of
            the training part of each fold) and, as
            :class:`~sklearn.model_selection.GridSearchCV` does, to the
            scorer on the validation part when it accepts them.

        Returns
        -------
        self : object
            The fitted search.
        """
        base = self._base_estimator()
        X, y = self._validate_X(X, base, reset=True, y=y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                "This classifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]!r}."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        candidates = self._candidates(base)
        seed = {}
        if self.random_state is not None:
            seed = {
                "random_state": int(
                    check_random_state(self.random_state).randint(
                        np.iinfo(np.int32).max
                    )
                )
                if not isinstance(self.random_state, Integral)
                else self.random_state
            }
        scorer = check_scoring(base, scoring=self.scoring)
        cv = check_cv(self.cv, y, classifier=True)
        splits = list(cv.split(X, y))
        n_splits = len(splits)
        groups = _candidate_groups(
            candidates, base.get_params(deep=False), self.posthoc_tau
        )
        if self.verbose > 0:
            print(
                f"Fitting {n_splits} folds for each of {len(groups)} fits, "
                f"scoring {len(candidates)} settings "
                f"({len(groups) * n_splits} fits in all)."
            )

        out = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_and_score)(
                clone(base),
                {**candidates[trained], **seed},
                X,
                y,
                sample_weight,
                train,
                test,
                members,
                scorer,
            )
            for trained, members in groups
            for train, test in splits
        )

        n = len(candidates)
        scores = np.empty((n, n_splits))
        fit_times = np.empty((n, n_splits))
        score_times = np.empty((n, n_splits))
        tau_trained = np.full(n, np.nan)
        base_tau = float(base.tau)
        task = iter(out)
        for trained, members in groups:
            for split in range(n_splits):
                fit_time, results = next(task)
                for (index, _), (score, score_time) in zip(members, results):
                    scores[index, split] = score
                    fit_times[index, split] = fit_time
                    score_times[index, split] = score_time
            if len(members) > 1:
                trained_tau = float(candidates[trained].get("tau", base_tau))
                for index, _ in members:
                    tau_trained[index] = trained_tau

        self.cv_results_ = self._results(
            candidates, scores, fit_times, score_times, tau_trained
        )
        mean = self.cv_results_["mean_test_score"]
        if np.all(np.isnan(mean)):
            raise ValueError("Every setting got a NaN cross-validation score.")
        self.best_index_ = int(self.cv_results_["rank_test_score"].argmin())
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(mean[self.best_index_])
        self.n_splits_ = n_splits
        self.n_fits_ = len(groups) * n_splits
        self.scorer_ = scorer

        if self.refit:
            fit_params = (
                {} if sample_weight is None else {"sample_weight": sample_weight}
            )
            start = time.perf_counter()
            self.best_estimator_ = (
                clone(base)
                .set_params(**self.best_params_, **seed)
                .fit(X, y, **fit_params)
            )
            self.refit_time_ = time.perf_counter() - start
        return self

    @staticmethod
    def _results(candidates, scores, fit_times, score_times, tau_trained):
        """``cv_results_`` laid out as GridSearchCV's."""
        n = len(candidates)
        results = {}
        for name, values in [("fit_time", fit_times), ("score_time", score_times)]:
            results[f"mean_{name}"] = values.mean(axis=1)
            results[f"std_{name}"] = values.std(axis=1)
        for key in sorted({key for c in candidates for key in c}):
            column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
            for i, c in enumerate(candidates):
                if key in c:
                    column[i] = c[key]
            results[f"param_{key}"] = column
        results["params"] = candidates
        for split in range(scores.shape[1]):
            results[f"split{split}_test_score"] = scores[:, split]
        mean = scores.mean(axis=1)
        results["mean_test_score"] = mean
        results["std_test_score"] = scores.std(axis=1)
        # Rank 1 is best; ties share the best rank; NaN ranks last.
        results["rank_test_score"] = rankdata(
            -np.nan_to_num(mean, nan=-np.inf), method="min"
        ).astype(np.int32)
        results["tau_trained"] = tau_trained
        return results

    # -- delegation ------------------------------------------------------------
    def _fitted(self):
        check_is_fitted(self, "cv_results_")
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"This {type(self).__name__} was fitted with refit=False, so it "
                "has no best_estimator_ to predict with; refit it with refit=True."
            )
        return self.best_estimator_

    def _delegate(self, method, X):
        estimator = self._fitted()
        X = self._validate_X(X, estimator, reset=False)
        return getattr(estimator, method)(X)

    def predict(self, X):
        """Predict with the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._delegate("predict", X)

    def predict_proba(self, X):
        """Class probabilities of the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_proba", X)

    def decision_function(self, X):
        """Logits of the refitted best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
        """
        return self._delegate("decision_function", X)

    def score(self, X, y, sample_weight=None):
        """Score of the refitted best estimator with ``scoring``.

        As :meth:`sklearn.linear_model.LogisticRegressionCV.score`: the
        metric of the search (balanced accuracy by default), not accuracy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        self._fitted()
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.scorer_(self, X, y, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(
            self._estimator_class() if self.estimator is None else self.estimator
        )
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


_SHARED_DOC = """
    Parameters
    ----------
    estimator : {name} or None, default=None
        The configured estimator whose other settings are kept (``{kept}``,
        ``device``, ...); the grid's settings are set on clones of it. None
        means ``{name}()``.
    param_grid : dict or list of dicts, default=None
        Settings to try, as in :class:`~sklearn.model_selection.GridSearchCV`
        (a dict of lists, or a list of such dicts). None: the default grid
        above.
    cv : int, cross-validation generator or iterable, default=5
        Splitting strategy, as in :func:`sklearn.model_selection.check_cv`
        (an int means stratified k-fold without shuffling). The splits are
        made once and shared by every setting.
    scoring : str, callable or None, default="balanced_accuracy"
        Score maximised on the validation folds (a scorer name, a scorer
        callable such as :data:`sklearn_lt.metrics.worst_class_recall_scorer`,
        or None for the estimator's ``score``: accuracy). Also used by
        :meth:`score`.
    posthoc_tau : bool, default=True
        Let logit-adjusted settings that differ only in ``tau`` share one
        fit per fold: the fit at the grid's ``tau`` nearest the estimator's
        own (``tau_0``) is scored as is, and at every other ``tau`` with its
        logits shifted by ``(tau_0 - tau) * log(prior)``, the prior being the
        fold's class frequencies. This is exact at the loss's minimiser
        (Menon et al.: it is ``log p(y|x) - tau log prior`` plus a constant),
        but **an approximation** for a fitted model: the penalty, a finite
        number of epochs, DRW and (for the MLP) the learned features make a
        model trained with ``tau`` differ from the shifted one. Scores of the
        shifted settings therefore differ somewhat from those
        :class:`~sklearn.model_selection.GridSearchCV` would report (the
        trained settings' scores are identical). ``cv_results_["tau_trained"]``
        says which fit scored each setting. The chosen setting is always
        refitted with its own ``tau``. False: every setting is fitted.
    n_jobs : int, default=None
        Number of (fit, fold) pairs trained in parallel (joblib). None means
        1 unless in a :obj:`joblib.parallel_backend` context; -1 means all
        processors.
    refit : bool, default=True
        Refit the best setting on all rows (``best_estimator_``); needed for
        ``predict``.
    random_state : int, RandomState instance or None, default=None
        When not None, the ``random_state`` of every inner fit and of the
        refit (an int as is; a RandomState instance draws one int per
        :meth:`fit`). None keeps ``estimator``'s own. The splits of an int
        ``cv`` do not shuffle and do not use it.
    verbose : int, default=0
        Print the number of fits and joblib's progress when positive.

    Attributes
    ----------
    best_params_ : dict
        The setting with the best mean validation score (the first in grid
        order among equals).
    best_score_ : float
        Its mean validation score.
    best_index_ : int
        Its index in ``cv_results_``.
    best_estimator_ : {name}
        ``estimator`` with ``best_params_``, refitted on all rows (only
        with ``refit=True``).
    cv_results_ : dict of ndarrays
        As :attr:`sklearn.model_selection.GridSearchCV.cv_results_`:
        ``params``, ``param_<name>`` (masked arrays), ``split{{i}}_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``; plus ``tau_trained``: the ``tau`` the shared fit
        of a post-hoc-evaluated setting was trained with (NaN for settings
        fitted on their own). Settings sharing a fit report its fit time.
        ``pandas.DataFrame(cv_results_)`` reads it.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit (only for inputs with string
        column names).
    n_splits_ : int
        Number of cross-validation splits.
    n_fits_ : int
        Number of models fitted in the search (the refit excluded):
        ``n_splits_`` times the number of distinct fits.
    refit_time_ : float
        Seconds spent refitting the best setting on all rows.
    scorer_ : callable
        The scorer of ``scoring``.
"""


class LinearMarginClassifierCV(_MarginClassifierCV):
    __doc__ = (
        """Linear long-tail classifier with its settings chosen by cross-validation.

    An inner stratified cross-validation over a small grid of
    :class:`LinearMarginClassifier` settings, scored by balanced accuracy,
    then the best setting refitted on all rows, in the manner of
    :class:`~sklearn.linear_model.LogisticRegressionCV`. It reports what
    :class:`~sklearn.model_selection.GridSearchCV` over the same grid
    reports, but fits fewer models (see ``posthoc_tau``).

    The default grid (21 settings, 9 fits per fold) is::

        [{"loss": ["logit_adjusted"], "tau": [0.5, 1.0, 1.5, 2.0],
          "alpha": [1e-4, 1e-3, 1e-2, 1e-1]},
         {"loss": ["ldam"], "reweight": ["drw"]},
         {"loss": ["ce"], "class_weight": ["balanced"],
          "alpha": [1e-4, 1e-3, 1e-2, 1e-1]}]
"""
        + _SHARED_DOC.format(name="LinearMarginClassifier", kept="max_iter")
        + """
    See Also
    --------
    LinearMarginClassifier : One setting, no search.
    MLPMarginClassifierCV : The same search for the MLP.
    LogitAdjustedClassifierCV : ``tau`` by cross-validation around any
        classifier.

    References
    ----------
    .. [1] A. K. Menon et al., "Long-tail learning via logit adjustment",
       ICLR 2021.
    .. [2] K. Cao et al., "Learning Imbalanced Datasets with
       Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import LinearMarginClassifierCV
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=600, n_classes=3, imbalance_ratio=10, random_state=0)
    >>> X = StandardScaler().fit_transform(X)
    >>> search = LinearMarginClassifierCV(cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), search.n_fits_
    (21, 27)
    >>> sorted(search.best_params_) in (["alpha", "loss", "tau"],
    ...     ["loss", "reweight"], ["alpha", "class_weight", "loss"])
    True
    >>> search.predict(X[:4]).shape
    (4,)
    """
    )

    _estimator_class = LinearMarginClassifier

    @staticmethod
    def _default_param_grid():
        alphas = [1e-4, 1e-3, 1e-2, 1e-1]
        return [
            {"loss": ["logit_adjusted"], "tau": list(_TAUS), "alpha": alphas},
            # A cosine head's logits do not depend on the weights' norm, so
            # the penalty cannot change LDAM's predictions: one setting.
            {"loss": ["ldam"], "reweight": ["drw"]},
            {"loss": ["ce"], "class_weight": ["balanced"], "alpha": alphas},
        ]


class MLPMarginClassifierCV(_MarginClassifierCV):
    __doc__ = (
        """MLP long-tail classifier with its settings chosen by cross-validation.

    An inner stratified cross-validation over a small grid of
    :class:`MLPMarginClassifier` settings, scored by balanced accuracy,
    then the best setting refitted on all rows, in the manner of
    :class:`~sklearn.linear_model.LogisticRegressionCV`. It reports what
    :class:`~sklearn.model_selection.GridSearchCV` over the same grid
    reports, but fits fewer models (see ``posthoc_tau``). It costs about
    ``n_fits_ * (1 - 1 / cv) + 1`` default fits: pass a smaller
    ``param_grid`` or ``cv`` when that is too much.

    The default grid (18 settings, 6 fits per fold) is::

        [{"loss": ["logit_adjusted"], "tau": [0.5, 1.0, 1.5, 2.0],
          "alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(100,), (256, 256)]},
         {"loss": ["ldam"], "reweight": ["drw"], "alpha": [1e-4, 1e-2]}]
"""
        + _SHARED_DOC.format(name="MLPMarginClassifier", kept="max_iter")
        + """
    See Also
    --------
    MLPMarginClassifier : One setting, no search.
    LinearMarginClassifierCV : The same search for the linear model.
    LogitAdjustedClassifierCV : ``tau`` by cross-validation around any
        classifier.

    References
    ----------
    .. [1] A. K. Menon et al., "Long-tail learning via logit adjustment",
       ICLR 2021.
    .. [2] K. Cao et al., "Learning Imbalanced Datasets with
       Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import MLPMarginClassifier, MLPMarginClassifierCV
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=300, n_classes=3, imbalance_ratio=10, random_state=0)
    >>> X = StandardScaler().fit_transform(X)
    >>> search = MLPMarginClassifierCV(
    ...     MLPMarginClassifier(max_iter=20),
    ...     param_grid={"tau": [0.5, 1.0, 2.0], "alpha": [1e-4, 1e-2]},
    ...     cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), search.n_fits_
    (6, 6)
    >>> search.cv_results_["tau_trained"].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    >>> search.best_estimator_.tau == search.best_params_["tau"]
    True
    """
    )

    _estimator_class = MLPMarginClassifier

    @staticmethod
    def _default_param_grid():
        alphas = [1e-4, 1e-2]
        return [
            {
                "loss": ["logit_adjusted"],
                "tau": list(_TAUS),
                "alpha": alphas,
                "hidden_layer_sizes": [(100,), (256, 256)],
            },
            {"loss": ["ldam"], "reweight": ["drw"], "alpha": alphas},
        ]
