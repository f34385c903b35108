"""Probabilities (and decisions) at the class prior the user names.

A classifier trained for balanced decisions (class weights, a long-tail
loss, post-hoc logit adjustment) returns probabilities at the *balanced*
prior: summed over a data set they overstate the rare classes many times.
:class:`PriorCalibratedClassifier` gives the probabilities at the training
prior, the balanced prior or any prior, and the Bayes decision at it,
without refitting the model when the prior changes.

Two maps to the training prior's ``P(y | x)``:

* closed form, for this package's estimators trained with
  ``loss="logit_adjusted"`` (``tau``) or ``"balanced_softmax"`` (``tau = 1``):
  the loss is minimised by ``f(x) = log P(y | x) - tau * log pi + const``
  (Menon et al., 2021), so ``softmax(f(x) + tau * log pi)`` estimates it;
* fitted, for any other classifier: a temperature and per-class biases on
  out-of-fold logits, ``softmax(z(x) / T + b)``, fitted by log-loss (bias-
  corrected temperature scaling, Alexandari et al., 2020), in the manner of
  :class:`sklearn.calibration.CalibratedClassifierCV`.

At any other prior ``q`` the posterior follows by Bayes' rule:
``P_q(k | x) ∝ P(k | x) * q_k / pi_k``.
"""

from numbers import Integral

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .posthoc import _LOG_FLOOR, _fit_inner, _log_scores

__all__ = ["PriorCalibratedClassifier"]

# Losses whose minimiser is log P(y | x) - tau * log(prior) + const.
_LOGIT_ADJUSTED_LOSSES = {"logit_adjusted", "balanced_softmax"}


def _final_step(estimator):
    """The last step of a (nested) pipeline, or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    return _final_step(steps[-1][1]) if steps else estimator


def _logit_adjustment(estimator):
    """``(tau, prior)`` of a fitted logit-adjusted model of ours, else None."""
    final = _final_step(estimator)
    loss = getattr(final, "loss", None)
    counts = getattr(final, "class_counts_", None)
    if loss not in _LOGIT_ADJUSTED_LOSSES or counts is None:
        return None
    tau = 1.0 if loss == "balanced_softmax" else float(final.tau)
    counts = np.asarray(counts, dtype=np.float64)
    return tau, counts / counts.sum()


def _out_of_fold_scores(estimator, X, y, cv, n_jobs, params):
    """Out-of-fold log-probabilities (or logits) of clones of ``estimator``."""
    method = "predict_proba" if hasattr(estimator, "predict_proba") else None
    if method is None:
        method = "decision_function"
    scores = cross_val_predict(
        clone(estimator), X, y, cv=cv, method=method, n_jobs=n_jobs, params=params
    )
    scores = np.asarray(scores, dtype=np.float64)
    if method == "predict_proba":
        with np.errstate(divide="ignore"):
            return np.maximum(np.log(scores), _LOG_FLOOR)
    if scores.ndim == 1:
        scores = np.column_stack([np.zeros_like(scores), scores])
    return scores


def _fit_temperature_bias(scores, y_encoded, weight):
    """``(temperature, bias)`` minimising the weighted log-loss of
    ``softmax(scores / temperature + bias)``; ``bias[0] = 0``."""
    n_classes = scores.shape[1]
    onehot = np.eye(n_classes)[y_encoded]
    weight = weight / weight.sum()
    # Centre each row (softmax is unchanged) so the floored -708 entries of
    # zero probabilities do not dominate the scale of the problem.
    scores = scores - scores.max(axis=1, keepdims=True)

    def loss_and_grad(theta):
        inverse_t = np.exp(theta[0])
        bias = np.concatenate([[0.0], theta[1:]])
        logits = inverse_t * scores + bias
        log_p = log_softmax(logits, axis=1)
        loss = -np.sum(weight * np.sum(onehot * log_p, axis=1))
        residual = (np.exp(log_p) - onehot) * weight[:, None]
        grad_t = inverse_t * np.sum(residual * scores)
        return loss, np.concatenate([[grad_t], residual.sum(axis=0)[1:]])

    start = np.zeros(n_classes)
    bounds = [(-7.0, 7.0)] + [(None, None)] * (n_classes - 1)
    result = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(np.exp(-result.x[0])), np.concatenate([[0.0], result.x[1:]])


class PriorCalibratedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Probabilities and decisions at a named class prior.

    Wraps a classifier and returns ``P_q(y | x)``, the class probabilities
    under the prior ``q`` named by ``prior``: the training prior (calibrated
    probabilities, whose mean is the training class frequencies), the
    balanced (uniform) prior, or any prior. :meth:`predict` is the argmax of
    :meth:`predict_proba`: the Bayes decision at ``q`` for accuracy, so at
    ``prior="balanced"`` it targets the balanced error. ``prior`` is read at
    prediction time: ``set_params(prior=...)`` on a fitted model changes the
    outputs without refitting.

    How the training prior's probabilities are obtained (``method``):

    * ``"logit_adjusted"``: for this package's estimators trained with
      ``loss="logit_adjusted"`` (or ``"balanced_softmax"``), in closed form,
      ``softmax(f(x) + tau * log pi)`` with ``f`` the model's logits and
      ``pi`` its training class frequencies (Menon et al., 2021). Nothing is
      fitted beyond the model.
    * ``"temperature_bias"``: for any classifier, a temperature ``T`` and
      per-class biases ``b`` fitted by log-loss on out-of-fold log-
      probabilities (or logits) ``z``: ``softmax(z(x) / T + b)``. The biases
      absorb the prior the model was trained towards (class weights, LDAM,
      VS, focal, :class:`~sklearn_lt.LogitAdjustedClassifier`), the
      temperature its over- or under-confidence (Alexandari et al., 2020).
    * ``"auto"``: ``"logit_adjusted"`` when the fitted model (or the last
      step of a pipeline) has such a loss, else ``"temperature_bias"``.

    Parameters
    ----------
    estimator : estimator instance
        The classifier, with ``fit`` and ``predict_proba`` or
        ``decision_function`` (and ``classes_`` once fitted).

    prior : {"train", "balanced"} or array-like of shape (n_classes,), \
            default="train"
        The prior ``q`` of the outputs: the class frequencies of ``y`` in
        :meth:`fit`, the uniform prior, or positive numbers aligned with
        ``classes_`` (normalised to sum to 1).

    method : {"auto", "logit_adjusted", "temperature_bias"}, default="auto"
        How the training prior's probabilities are obtained; see above.

    cv : int, cross-validation generator or iterable, default=5
        Splits for the out-of-fold scores of ``"temperature_bias"`` (an int
        means stratified k-fold). Unused by ``"logit_adjusted"`` and with
        ``prefit``.

    prefit : bool, default=False
        If True, ``estimator`` is already fitted and used as is; for
        ``"temperature_bias"`` the map is then fitted on its scores on the
        data passed to :meth:`fit`, which must be held out from its training
        data (as with ``CalibratedClassifierCV`` around a
        :class:`~sklearn.frozen.FrozenEstimator`).

    n_jobs : int, default=None
        Folds fitted in parallel for the out-of-fold scores.

    Attributes
    ----------
    estimator_ : estimator instance
        The classifier fitted on all the data (``estimator`` if ``prefit``).

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    training_prior_ : ndarray of shape (n_classes,)
        The prior ``pi`` of the training-prior probabilities: the class
        frequencies of ``y`` (for ``"logit_adjusted"``, those the model
        counted, ``class_counts_``).

    method_ : str
        The method used, ``"logit_adjusted"`` or ``"temperature_bias"``.

    temperature_ : float
        ``T`` (1 for ``"logit_adjusted"``).

    bias_ : ndarray of shape (n_classes,)
        ``b`` (``tau * log pi`` for ``"logit_adjusted"``).

    n_features_in_ : int
        Number of features seen by ``estimator_``, if it exposes it.

    See Also
    --------
    sklearn.calibration.CalibratedClassifierCV : Calibration at the training
        prior, without a named prior.
    sklearn_lt.PriorShiftAdapter : Estimates an unknown
        deployment prior from unlabelled rows.

    References
    ----------
    .. [1] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit and
       S. Kumar, "Long-tail learning via logit adjustment", ICLR 2021.
    .. [2] A. Alexandari, A. Kundaje and A. Shrikumar, "Maximum Likelihood
       with Bias-Corrected Calibration is Hard-To-Beat at Label Shift
       Adaptation", ICML 2020.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> from sklearn_lt.prior_calibration import PriorCalibratedClassifier
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=3000, n_classes=3, imbalance_ratio=20, random_state=0)
    >>> balanced = LogisticRegression(class_weight="balanced")
    >>> balanced.fit(X, y).predict_proba(X).mean(axis=0).round(2).tolist()
    [0.6, 0.28, 0.11]
    >>> model = PriorCalibratedClassifier(balanced).fit(X, y)
    >>> model.training_prior_.round(2).tolist()
    [0.78, 0.18, 0.04]
    >>> model.predict_proba(X).mean(axis=0).round(2).tolist()
    [0.78, 0.18, 0.04]
    >>> model.set_params(prior="balanced").predict(X[:5]).tolist()
    [0, 0, 1, 0, 1]
    """

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
        ],
        "prior": [StrOptions({"train", "balanced"}), "array-like"],
        "method": [StrOptions({"auto", "logit_adjusted", "temperature_bias"})],
        "cv": ["cv_object"],
        "prefit": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        prior="train",
        method="auto",
        cv=5,
        prefit=False,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.prior = prior
        self.method = method
        self.cv = cv
        self.prefit = prefit
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the classifier (unless prefit) and its map to the training prior.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as the inner estimator accepts it.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights for every inner ``fit``, the class frequencies and the
            log-loss of the fitted map.

        **fit_params : dict
            Other parameters for the inner ``fit`` (not with ``prefit``).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y_array, params, weight, counts = _fit_inner(
            self, X, y, sample_weight, fit_params, prefit=self.prefit, rows="training"
        )
        self._check_target_prior(counts / counts.sum())  # fail early

        adjustment = _logit_adjustment(self.estimator_)
        method = self.method
        if method == "auto":
            method = "temperature_bias" if adjustment is None else "logit_adjusted"
        if method == "logit_adjusted":
            if adjustment is None:
                raise ValueError(
                    "method='logit_adjusted' needs a fitted model of this "
                    "package trained with loss='logit_adjusted' or "
                    "'balanced_softmax' (or a pipeline ending in one); got "
                    f"{type(_final_step(self.estimator_)).__name__}. Use "
                    "method='temperature_bias'."
                )
            tau, self.training_prior_ = adjustment
            self.temperature_ = 1.0
            self.bias_ = tau * np.log(self.training_prior_)
        else:
            self.training_prior_ = counts / counts.sum()
            if self.prefit:
                scores = _log_scores(self.estimator_, X, "auto")
            else:
                cv = check_cv(self.cv, y_array, classifier=True)
                scores = _out_of_fold_scores(
                    self.estimator, X, y_array, cv, self.n_jobs, params
                )
            y_encoded = np.searchsorted(self.classes_, y_array)
            self.temperature_, self.bias_ = _fit_temperature_bias(
                scores, y_encoded, weight
            )
        self.method_ = method
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _check_target_prior(self, training_prior):
        """``log q - log pi``: the shift from the training prior to ``prior``."""
        n_classes = len(training_prior)
        if isinstance(self.prior, str):
            if self.prior == "train":
                return np.zeros(n_classes)
            return -np.log(n_classes) - np.log(training_prior)
        prior = column_or_1d(np.asarray(self.prior, dtype=np.float64))
        if prior.shape != (n_classes,):
            raise ValueError(
                f"prior has {prior.shape[0]} entries but there are {n_classes} "
                "classes; it must be aligned with classes_."
            )
        if not np.all(np.isfinite(prior)) or np.any(prior <= 0):
            raise ValueError(f"prior must be finite and positive; got {prior}.")
        return np.log(prior / prior.sum()) - np.log(training_prior)

    def _logits(self, X):
        """Logits of the probabilities at ``prior``."""
        check_is_fitted(self, "bias_")
        scores = _log_scores(self.estimator_, X, "auto")
        shift = self._check_target_prior(self.training_prior_)
        return scores / self.temperature_ + self.bias_ + shift

    def predict_proba(self, X):
        """Class probabilities at ``prior``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return log_softmax(self._logits(X), axis=1)

    def decision_function(self, X):
        """Logits of :meth:`predict_proba` (their softmax).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            For two classes, the logit of ``classes_[1]`` minus that of
            ``classes_[0]``.
        """
        logits = self._logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict(self, X):
        """The most probable class at ``prior`` (argmax of :meth:`predict_proba`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        return tags
