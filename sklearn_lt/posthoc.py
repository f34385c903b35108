"""Post-hoc logit adjustment of any fitted probabilistic classifier.

A classifier trained on long-tailed data estimates ``p(y | x)`` under the
training prior ``pi``, which favours the head classes. Menon et al. (2021)
show that predicting ``argmax_k log p_k(x) - tau * log pi_k`` instead
targets the balanced error (the mean per-class error) when ``tau = 1``;
``tau`` trades head accuracy for tail accuracy. Nothing is retrained: the
wrapped model's scores are shifted by a per-class constant.

* :class:`LogitAdjustedClassifier` applies a fixed ``tau``, in the manner of
  :class:`sklearn.model_selection.FixedThresholdClassifier`.
* :class:`LogitAdjustedClassifierCV` picks ``tau`` from a grid by
  cross-validation, in the manner of
  :class:`sklearn.model_selection.TunedThresholdClassifierCV`.
"""

import warnings
from numbers import Integral

import numpy as np
from scipy.special import log_softmax, softmax
from scipy.stats import rankdata
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, assert_all_finite, get_tags
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    column_or_1d,
    indexable,
)

from .weights import TAU_CONSTRAINT

__all__ = ["LogitAdjustedClassifier", "LogitAdjustedClassifierCV"]

# log(0) would be -inf; a zero probability becomes log(smallest positive
# float), about -708, so that adjusted scores stay finite.
_LOG_FLOOR = float(np.log(np.finfo(np.float64).tiny))


def _log_scores(estimator, X, response_method):
    """Scores of ``estimator`` on ``X`` as log-probabilities or logits.

    Returns an array of shape (n_samples, n_classes) in the order of
    ``estimator.classes_``. ``predict_proba`` outputs are logged (zeros
    floored); a binary ``decision_function`` ``d`` becomes the logits
    ``[0, d]``, which have the same softmax and argmax.
    """
    if response_method == "auto":
        has_proba = hasattr(estimator, "predict_proba")
        response_method = "predict_proba" if has_proba else "decision_function"
    if response_method == "predict_proba":
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(proba), _LOG_FLOOR)
    scores = np.asarray(estimator.decision_function(X), dtype=np.float64)
    if scores.ndim == 1:
        scores = np.column_stack([np.zeros_like(scores), scores])
    return scores


def _weighted_class_counts(y, sample_weight, classes):
    """Sum of sample weights per class, in the order of ``classes``."""
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValueError(
            f"y has labels {unknown.tolist()} that the estimator was not fitted "
            f"on (its classes_ are {np.asarray(classes).tolist()})."
        )
    return np.array([sample_weight[y == label].sum() for label in classes])


def _check_prior(prior, class_counts, classes):
    """The prior to adjust with: the given one, or the class frequencies."""
    if prior is None:
        if np.any(class_counts <= 0):
            missing = np.asarray(classes)[class_counts <= 0].tolist()
            raise ValueError(
                f"The classes {missing} have no training samples (or a zero "
                "total sample_weight), so their prior is 0 and log(prior) is "
                "undefined; pass prior= explicitly."
            )
        return class_counts / class_counts.sum()
    prior = column_or_1d(np.asarray(prior, dtype=np.float64))
    if prior.shape != (len(classes),):
        raise ValueError(
            f"prior has {prior.shape[0]} entries but there are {len(classes)} "
            "classes; it must be aligned with classes_."
        )
    if not np.all(np.isfinite(prior)) or np.any(prior <= 0):
        raise ValueError(f"prior must be finite and positive; got {prior}.")
    return prior / prior.sum()


def _fit_params_for(fit_params, indices, n_samples):
    """Rows ``indices`` of every sample-aligned fit parameter."""
    return {
        key: _safe_indexing(value, indices)
        if _num_samples_or_none(value) == n_samples
        else value
        for key, value in fit_params.items()
    }


def _num_samples_or_none(value):
    try:
        return _num_samples(value)
    except TypeError:
        return None


def _fit_inner(meta, X, y, sample_weight, fit_params, *, prefit, rows="training"):
    """Validate, fit (or take) ``meta.estimator`` and count the classes.

    The shared first half of the ``fit`` of the post-hoc meta-estimators:
    sets ``meta.estimator_`` (a fitted clone, or the estimator itself when
    ``prefit``) and ``meta.classes_``, and returns ``(X, y_array, params,
    weight, counts)``: the inner ``fit`` parameters (``sample_weight``
    included), the row weights (ones without ``sample_weight``) and the
    weighted class counts in the order of ``classes_`` (every class must
    have a positive count).
    """
    X, y, y_array = _check_targets(X, y)
    sample_weight = _check_weights(sample_weight, X)
    if prefit and fit_params:
        raise ValueError(
            "fit parameters are for fitting the inner estimator, which "
            f"prefit=True skips; got {sorted(fit_params)}."
        )
    params = dict(fit_params)
    if sample_weight is not None:
        params["sample_weight"] = sample_weight
    if prefit:
        check_is_fitted(meta.estimator)
        meta.estimator_ = meta.estimator
    else:
        meta.estimator_ = clone(meta.estimator).fit(X, y_array, **params)
    meta.classes_ = np.asarray(meta.estimator_.classes_)
    weight = np.ones(len(y_array)) if sample_weight is None else sample_weight
    counts = _weighted_class_counts(y_array, weight, meta.classes_)
    if np.any(counts <= 0):
        raise ValueError(
            f"The classes {meta.classes_[counts <= 0].tolist()} have no "
            f"{rows} rows, so their training prior is 0."
        )
    return X, y_array, params, weight, counts


class _AdjustedPredictionsMixin:
    """Prediction methods built on ``_adjusted_logits(X)`` and ``classes_``."""

    def decision_function(self, X):
        """Adjusted logits ``log p_k(x) - tau * log prior_k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples, as the inner estimator accepts them.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            The adjusted logits; for a binary problem, as scikit-learn's
            convention, the score of the second class minus that of the
            first (positive means ``classes_[1]``).
        """
        logits = self._adjusted_logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict(self, X):
        """Class with the largest adjusted logit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples, as the inner estimator accepts them.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        logits = self._adjusted_logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def predict_proba(self, X):
        """Softmax of the adjusted logits.

        With ``tau = 1`` and a well-calibrated inner model these estimate the
        class probabilities under the *balanced* (uniform) prior, not the
        training one; their argmax is :meth:`predict`. For probabilities at
        the training prior (or any other), wrap the model in
        :class:`~sklearn_lt.PriorCalibratedClassifier`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples, as the inner estimator accepts them.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        return softmax(self._adjusted_logits(X), axis=1)

    def predict_log_proba(self, X):
        """Log-softmax of the adjusted logits (the log of :meth:`predict_proba`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples, as the inner estimator accepts them.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return log_softmax(self._adjusted_logits(X), axis=1)


class _BaseLogitAdjuster(
    _AdjustedPredictionsMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator
):
    """Shared validation, prior and tags of the two public classes."""

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
        ],
        "prior": ["array-like", None],
        "response_method": [StrOptions({"auto", "predict_proba", "decision_function"})],
    }

    def _fitted_tau(self):
        raise NotImplementedError

    def _adjusted_logits(self, X):
        check_is_fitted(self, "estimator_")
        logits = _log_scores(self.estimator_, X, self.response_method)
        return logits - self._fitted_tau() * np.log(self.prior_)

    def _set_prior(self, X, y, sample_weight):
        """Set ``classes_``, ``class_counts_``, ``prior_`` and forwarded names."""
        classes = getattr(self.estimator_, "classes_", None)
        if classes is None:
            raise AttributeError(
                f"The fitted {type(self.estimator_).__name__} has no classes_ "
                "attribute, which is needed to align the prior with its outputs."
            )
        self.classes_ = np.asarray(classes)
        method = self.response_method
        if method != "auto" and not hasattr(self.estimator_, method):
            raise ValueError(
                f"response_method={method!r} but the fitted "
                f"{type(self.estimator_).__name__} has no {method} method."
            )
        sample_weight = _check_sample_weight(sample_weight, X)
        self.class_counts_ = _weighted_class_counts(y, sample_weight, self.classes_)
        self.prior_ = _check_prior(self.prior, self.class_counts_, self.classes_)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
            elif name in vars(self):  # left over from an earlier fit
                delattr(self, name)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        return tags


def _check_targets(X, y):
    """Check lengths and labels; X is left to the inner estimator."""
    X, y = indexable(X, y)
    y_array = column_or_1d(y, warn=True)
    assert_all_finite(y_array, input_name="y")
    check_classification_targets(y_array)
    return X, y, y_array


def _check_weights(sample_weight, X):
    """Validated non-negative weights (None stays None), before any fit.

    The prior is a weighted class frequency, which negative weights would
    make meaningless, so they are refused even if the inner estimator
    accepts them.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, ensure_non_negative=True)


class LogitAdjustedClassifier(_BaseLogitAdjuster):
    """Post-hoc logit adjustment of a classifier for long-tailed data.

    Wraps a classifier and predicts ``argmax_k log p_k(x) - tau * log pi_k``,
    where ``p_k(x)`` is the inner model's probability (or logit) for class
    ``k`` and ``pi`` the class prior of the training data (Menon et al.,
    2021). With ``tau = 1`` this is the Bayes-optimal rule for the balanced
    error when ``p`` is calibrated; ``tau = 0`` gives back the inner model.
    The inner model is fitted once, unchanged; only its outputs are shifted.

    Parameters
    ----------
    estimator : estimator instance
        The classifier to adjust, for example a ``Pipeline``. It must have
        ``fit`` and ``predict_proba`` or ``decision_function``, and a
        ``classes_`` attribute once fitted. Unless ``prefit`` is True it is
        cloned and fitted in :meth:`fit`.

    tau : float, default=1.0
        Strength of the adjustment, in ``[0, 10]``. It is read at prediction
        time, so ``set_params(tau=...)`` on a fitted model takes effect
        without refitting.

    prior : array-like of shape (n_classes,), default=None
        Class prior ``pi`` aligned with ``classes_`` (positive; normalised to
        sum to 1). None: the class frequencies of ``y`` in :meth:`fit`,
        weighted by ``sample_weight`` if given.

    response_method : {"auto", "predict_proba", "decision_function"}, \
            default="auto"
        Inner method giving the scores: ``"predict_proba"`` (logged, with
        zero probabilities floored at about -708) or ``"decision_function"``
        (treated as logits; a binary score ``d`` as the logits ``[0, d]``).
        ``"auto"`` uses ``predict_proba`` when the fitted estimator has it.

    prefit : bool, default=False
        If True, ``estimator`` is already fitted and is used as is:
        :meth:`fit` only learns the prior from ``y`` (which must be the
        training labels, or labels distributed like them). A
        :class:`sklearn.frozen.FrozenEstimator` with ``prefit=False`` does the
        same and, unlike ``prefit``, survives :func:`sklearn.base.clone`
        (which ``cross_validate`` and ``GridSearchCV`` call, and which
        returns an unfitted copy of a plain estimator).

    Attributes
    ----------
    estimator_ : estimator instance
        The fitted inner classifier (``estimator`` itself if ``prefit``).

    classes_ : ndarray of shape (n_classes,)
        Class labels, from ``estimator_``.

    class_counts_ : ndarray of shape (n_classes,)
        Training examples per class in :meth:`fit` (sums of
        ``sample_weight`` if given).

    prior_ : ndarray of shape (n_classes,)
        The prior used for the adjustment.

    n_features_in_ : int
        Number of features seen by ``estimator_``, if it exposes it.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names seen by ``estimator_``, if it exposes them.

    See Also
    --------
    LogitAdjustedClassifierCV : Picks ``tau`` by cross-validation.
    sklearn_lt.PriorCalibratedClassifier : Probabilities at
        the training prior (or any named prior) instead of the balanced one.
    sklearn.model_selection.FixedThresholdClassifier : The binary-threshold
        counterpart in scikit-learn.

    Notes
    -----
    Adjusting by ``tau * log pi`` adds the same constant to every sample's
    scores, so it changes which class wins but never the ranking of samples
    within a class. A uniform prior changes nothing.

    References
    ----------
    .. [1] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and
       S. Kumar, "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import balanced_accuracy_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt.datasets import load_digits_lt
    >>> from sklearn_lt.posthoc import LogitAdjustedClassifier
    >>> X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=20)
    >>> inner = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    >>> model = LogitAdjustedClassifier(inner).fit(X_train, y_train)
    >>> model.class_counts_.astype(int).tolist()
    [122, 87, 62, 44, 32, 23, 16, 11, 8, 6]
    >>> plain = model.estimator_.predict(X_test)
    >>> round(balanced_accuracy_score(y_test, plain), 2)
    0.85
    >>> round(balanced_accuracy_score(y_test, model.predict(X_test)), 2)
    0.91
    """

    _parameter_constraints: dict = {
        **_BaseLogitAdjuster._parameter_constraints,
        "tau": [TAU_CONSTRAINT],
        "prefit": ["boolean"],
    }

    def __init__(
        self,
        estimator,
        *,
        tau=1.0,
        prior=None,
        response_method="auto",
        prefit=False,
    ):
        self.estimator = estimator
        self.tau = tau
        self.prior = prior
        self.response_method = response_method
        self.prefit = prefit

    def _fitted_tau(self):
        # tau is read at prediction time, so a set_params(tau=...) after fit
        # is checked here against the same range as in fit
        validate_parameter_constraints(
            {"tau": [TAU_CONSTRAINT]}, {"tau": self.tau}, type(self).__name__
        )
        return self.tau

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the inner classifier (unless prefit) and learn the prior.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as the inner estimator accepts it.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights, passed to the inner ``fit`` (unless prefit) and used for
            the class frequencies of the prior.

        **fit_params : dict
            Other parameters for the inner ``fit``. Not allowed with
            ``prefit=True``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y, y_array = _check_targets(X, y)
        sample_weight = _check_weights(sample_weight, X)
        if self.prefit:
            if fit_params:
                raise ValueError(
                    "fit parameters are for fitting the inner estimator, which "
                    f"prefit=True skips; got {sorted(fit_params)}."
                )
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
        else:
            if sample_weight is not None:
                fit_params["sample_weight"] = sample_weight
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self._set_prior(X, y_array, sample_weight)
        self._warn_if_no_prediction_changes(X)
        return self

    def _warn_if_no_prediction_changes(self, X):
        """Warn when the adjustment moves no prediction on the training rows.

        That happens when the inner model's scores are saturated, such as
        the 0/1 probabilities of a fully grown decision tree: a shift of at
        most ``tau * (max log prior - min log prior)`` cannot reach them.
        """
        shift = self.tau * np.log(self.prior_)
        if np.ptp(shift) == 0:  # tau = 0 or a uniform prior: nothing to move
            return
        scores = _log_scores(self.estimator_, X, self.response_method)
        before = np.argmax(scores, axis=1)
        if np.array_equal(before, np.argmax(scores - shift, axis=1)):
            ordered = np.sort(scores, axis=1)
            gap = float(np.median(ordered[:, -1] - ordered[:, -2]))
            warnings.warn(
                "Post-hoc logit adjustment changes no prediction on the "
                f"training data: the inner {type(self.estimator_).__name__}'s "
                f"log-scores are a median {gap:.3g} apart, more than the "
                f"largest shift tau * log-prior range = {np.ptp(shift):.3g}. "
                "Its scores look saturated (probabilities of 0 and 1, as from "
                "a fully grown tree); use a model with graded probabilities "
                "(for example min_samples_leaf, or CalibratedClassifierCV).",
                UserWarning,
                stacklevel=3,
            )


class _PrecomputedLogits(_AdjustedPredictionsMixin, ClassifierMixin, BaseEstimator):
    """A stand-in fitted classifier answering a scorer from fixed logits.

    Used inside :class:`LogitAdjustedClassifierCV` so that each ``tau`` of
    the grid is scored on a validation fold without calling the inner model
    again. It ignores ``X`` except for checking its length.
    """

    def __init__(self, classes, logits):
        self.classes = classes
        self.logits = logits

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.classes

    def _adjusted_logits(self, X):
        if _num_samples(X) != self.logits.shape[0]:
            raise ValueError("X is not the validation fold these logits belong to.")
        return self.logits


def _score_fold(estimator, X, y, sample_weight, fit_params, train, test, context):
    """Fit on ``train``, then score every ``tau`` of the grid on ``test``."""
    classes, taus, prior, response_method, scorer = context
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    params = _fit_params_for(fit_params, train, _num_samples(X))
    if sample_weight is not None:
        params["sample_weight"] = sample_weight[train]
    estimator.fit(X_train, y_train, **params)

    # A class absent from this training fold (possible for very rare classes)
    # is unknown to the fold's model: it gets a -inf logit and is never
    # predicted; the other classes are adjusted with the fold's own prior.
    fold_classes = np.asarray(estimator.classes_)
    position = {label: i for i, label in enumerate(classes.tolist())}
    columns = np.array([position[label] for label in fold_classes.tolist()])
    fold_weight = np.ones(len(train)) if sample_weight is None else sample_weight[train]
    counts = _weighted_class_counts(column_or_1d(y_train), fold_weight, fold_classes)
    fold_prior = _check_prior(
        None if prior is None else np.asarray(prior)[columns], counts, fold_classes
    )
    logits = _log_scores(estimator, X_test, response_method)
    full = np.full((logits.shape[0], len(classes)), -np.inf)
    scores = []
    for tau in taus:
        full[:, columns] = logits - tau * np.log(fold_prior)
        scores.append(scorer(_PrecomputedLogits(classes, full.copy()), X_test, y_test))
    return scores


class LogitAdjustedClassifierCV(_BaseLogitAdjuster):
    """Post-hoc logit adjustment with ``tau`` chosen by cross-validation.

    For each split of ``cv``, a clone of ``estimator`` is fitted on the
    training part and its scores on the validation part are adjusted with
    every ``tau`` of the grid (using the prior of the training part), then
    scored. The ``tau`` with the best mean score is kept, and ``estimator``
    is refitted on all the data, as in :class:`LogitAdjustedClassifier`.
    The inner model is fitted ``n_splits + 1`` times whatever the grid size.

    Parameters
    ----------
    estimator : estimator instance
        The classifier to adjust, for example a ``Pipeline``. It must have
        ``fit`` and ``predict_proba`` or ``decision_function``, and a
        ``classes_`` attribute once fitted.

    taus : int or array-like of shape (n_taus,), default=21
        The grid of ``tau`` values (each at least 0). An int ``n`` means
        ``n`` evenly spaced values from 0 to 2, both included (the default
        steps by 0.1 and contains the theory's ``tau = 1``).

    scoring : str, callable or None, default="balanced_accuracy"
        Score to maximise on the validation folds: a scorer name (see
        :func:`sklearn.metrics.get_scorer_names`), a scorer callable such as
        :data:`sklearn_lt.metrics.worst_class_recall_scorer`, or None for
        accuracy. It sees the adjusted outputs (``predict``,
        ``predict_proba``, ``decision_function``). Scores are unweighted.

    cv : int, cross-validation generator or iterable, default=5
        Splitting strategy, as in :func:`sklearn.model_selection.check_cv`
        (an int means stratified k-fold).

    prior : array-like of shape (n_classes,), default=None
        Class prior aligned with ``classes_``. None: the class frequencies of
        each training part (and of all of ``y`` for the final model).

    response_method : {"auto", "predict_proba", "decision_function"}, \
            default="auto"
        Inner method giving the scores; see :class:`LogitAdjustedClassifier`.

    n_jobs : int, default=None
        Number of folds fitted in parallel. None means 1 unless in a
        :obj:`joblib.parallel_backend` context; -1 means all processors.

    Attributes
    ----------
    best_tau_ : float
        The chosen ``tau`` (the first of the grid among equal best scores).

    best_score_ : float
        Its mean validation score.

    best_index_ : int
        Its position in ``cv_results_["tau"]``.

    cv_results_ : dict of ndarrays
        ``"tau"``, ``"split{i}_test_score"`` for each split,
        ``"mean_test_score"``, ``"std_test_score"`` and ``"rank_test_score"``
        (1 is best), one entry per grid value; ``pandas.DataFrame`` reads it
        directly.

    estimator_ : estimator instance
        The inner classifier refitted on all the data.

    classes_ : ndarray of shape (n_classes,)
        Class labels, from ``estimator_``.

    class_counts_ : ndarray of shape (n_classes,)
        Training examples per class (sums of ``sample_weight`` if given).

    prior_ : ndarray of shape (n_classes,)
        The prior used by the final model.

    n_features_in_ : int
        Number of features seen by ``estimator_``, if it exposes it.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names seen by ``estimator_``, if it exposes them.

    See Also
    --------
    LogitAdjustedClassifier : A fixed ``tau``.
    sklearn.model_selection.TunedThresholdClassifierCV : The binary-threshold
        counterpart in scikit-learn.

    References
    ----------
    .. [1] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and
       S. Kumar, "Long-tail learning via logit adjustment", ICLR 2021.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> from sklearn_lt.posthoc import LogitAdjustedClassifierCV
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=2000, n_classes=5, imbalance_ratio=50, class_sep=0.5,
    ...     random_state=0)
    >>> model = LogitAdjustedClassifierCV(LogisticRegression(), cv=3).fit(X, y)
    >>> bool(model.best_tau_ > 0)
    True
    >>> sorted(model.cv_results_)[:3]
    ['mean_test_score', 'rank_test_score', 'split0_test_score']
    """

    _parameter_constraints: dict = {
        **_BaseLogitAdjuster._parameter_constraints,
        "taus": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        taus=21,
        scoring="balanced_accuracy",
        cv=5,
        prior=None,
        response_method="auto",
        n_jobs=None,
    ):
        self.estimator = estimator
        self.taus = taus
        self.scoring = scoring
        self.cv = cv
        self.prior = prior
        self.response_method = response_method
        self.n_jobs = n_jobs

    def _fitted_tau(self):
        return self.best_tau_

    def _tau_grid(self):
        if isinstance(self.taus, Integral):
            return np.linspace(0.0, 2.0, self.taus)
        taus = column_or_1d(np.asarray(self.taus, dtype=np.float64))
        if taus.size == 0 or not np.all(np.isfinite(taus)) or np.any(taus < 0):
            raise ValueError(
                f"taus must be a non-empty grid of finite values >= 0; got {taus}."
            )
        return taus

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Choose ``tau`` by cross-validation, then fit on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as the inner estimator accepts it.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights, passed to every inner ``fit`` and used for the class
            frequencies of the priors (not for the validation scores).

        **fit_params : dict
            Other parameters for the inner ``fit``; those with one entry per
            sample are split with the data.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y, y_array = _check_targets(X, y)
        taus = self._tau_grid()
        sample_weight = _check_weights(sample_weight, X)
        classes = np.unique(y_array)
        _check_prior(self.prior, np.ones(len(classes)), classes)  # fail early
        scorer = check_scoring(self, scoring=self.scoring)
        cv = check_cv(self.cv, y_array, classifier=True)
        splits = list(cv.split(X, y_array))

        context = (classes, taus, self.prior, self.response_method, scorer)
        fold_scores = Parallel(n_jobs=self.n_jobs)(
            delayed(_score_fold)(
                clone(self.estimator),
                X,
                y,
                sample_weight,
                fit_params,
                train,
                test,
                context,
            )
            for train, test in splits
        )
        fold_scores = np.asarray(fold_scores, dtype=np.float64)
        mean = fold_scores.mean(axis=0)
        if np.all(np.isnan(mean)):
            raise ValueError(
                "Every tau got a NaN cross-validation score; check scoring."
            )
        self.cv_results_ = {"tau": taus}
        for i, split_scores in enumerate(fold_scores):
            self.cv_results_[f"split{i}_test_score"] = split_scores
        self.cv_results_.update(
            mean_test_score=mean,
            std_test_score=fold_scores.std(axis=0),
            # Rank 1 is best; ties share the best rank, NaN ranks last.
            rank_test_score=rankdata(
                -np.nan_to_num(mean, nan=-np.inf), method="min"
            ).astype(np.int32),
        )
        self.best_index_ = int(np.nanargmax(mean))
        self.best_tau_ = float(taus[self.best_index_])
        self.best_score_ = float(mean[self.best_index_])

        params = dict(fit_params)
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self._set_prior(X, y_array, sample_weight)
        return self
