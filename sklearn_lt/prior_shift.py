"""Prior-shift (label-shift) adaptation of a fitted probabilistic classifier.

When the class frequencies at deployment differ from those of the training
data (a screening programme, a new market) but the class-conditional
distributions ``p(x | y)`` do not, the posterior at the new prior ``q`` is
the training posterior reweighted by ``q_k / pi_k`` and renormalised::

    p_q(k | x) = (q_k / pi_k) p(k | x) / sum_j (q_j / pi_j) p(j | x)

:class:`PriorShiftAdapter` estimates ``q`` from *unlabelled* deployment rows,
by the EM algorithm of Saerens, Latinne and Decaestecker (2002) or by
black-box shift estimation (Lipton, Wang and Smola, 2018), and predicts at
it. Nothing is retrained.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .posthoc import _fit_inner

__all__ = ["PriorShiftAdapter"]


def _reweighted(proba, ratio):
    """Rows of ``proba * ratio`` renormalised (a row of zeros stays uniform)."""
    weighted = proba * ratio
    total = weighted.sum(axis=1, keepdims=True)
    uniform = np.full_like(weighted, 1.0 / weighted.shape[1])
    return np.divide(weighted, total, out=uniform, where=total > 0)


def _em_prior(proba, prior, max_iter, tol):
    """EM estimate of the deployment prior (Saerens et al., 2002).

    Starting from ``q = prior``, repeat: ``p'(k | x) ∝ (q_k / prior_k)
    p(k | x)`` for every row, then ``q = mean over rows of p'(. | x)``; stop
    when no entry of ``q`` moves by more than ``tol``. Returns ``(q, n_iter,
    converged, shift)``, ``shift`` the largest move of the last iteration.
    """
    q = prior.copy()
    for n_iter in range(1, max_iter + 1):
        new = _reweighted(proba, q / prior).mean(axis=0)
        shift = np.max(np.abs(new - q))
        q = new
        if shift <= tol:
            return q, n_iter, True, shift
    return q, max_iter, False, shift


def _bbse_prior(confusion, predicted_frequency):
    """BBSE estimate of the deployment prior (Lipton et al., 2018).

    ``confusion[i, j]`` is the joint frequency of (prediction ``i``, label
    ``j``) on labelled held-out data and ``predicted_frequency[i]`` the
    frequency of prediction ``i`` on the deployment rows. Solves
    ``confusion @ w = predicted_frequency`` (least squares, so a singular
    matrix still gives an answer), clips ``w`` at 0 and returns the prior
    ``w * column sums of confusion``, renormalised.
    """
    weights = np.linalg.lstsq(confusion, predicted_frequency, rcond=None)[0]
    prior = np.clip(weights, 0.0, None) * confusion.sum(axis=0)
    if prior.sum() <= 0:
        raise ValueError(
            "BBSE found no class with a positive weight: the confusion matrix "
            "of the held-out predictions does not explain the predictions on "
            "the deployment rows. Try method='em'."
        )
    return prior / prior.sum()


class PriorShiftAdapter(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Estimate the class prior of unlabelled data and predict at it.

    :meth:`fit` fits the wrapped classifier (unless ``prefit``) and records
    the training prior ``pi`` (the class frequencies of ``y``). Until
    :meth:`adapt` is called the adapter predicts like the wrapped model.
    :meth:`adapt` takes unlabelled rows from the deployment distribution,
    estimates their prior ``q`` (``estimated_prior_``) and from then on
    predicts the reweighted posterior
    ``p_q(k | x) ∝ (q_k / pi_k) p(k | x)`` and its argmax (the Bayes
    decision for accuracy at ``q``).

    Both methods assume label shift: the class-conditional distributions
    ``p(x | y)`` are the same in training and at deployment.

    * ``method="em"`` (Saerens, Latinne and Decaestecker, 2002): the maximum
      likelihood estimate of ``q``, by EM on the deployment rows. Needs
      ``predict_proba`` to be calibrated at the training prior; for
      estimators that return balanced probabilities (this package's, trained
      with ``class_weight`` or a long-tail loss) wrap them in
      :class:`~sklearn_lt.PriorCalibratedClassifier` with
      ``prior="train"`` first.
    * ``method="bbse"`` (Lipton, Wang and Smola, 2018): black-box shift
      estimation from hard predictions only, so calibration does not matter.
      It needs the confusion matrix of the model on held-out labelled data:
      out-of-fold predictions over ``cv`` (or, with ``prefit``, the model's
      predictions on the data passed to :meth:`fit`, which must then be
      held-out data). It solves ``C w = mu`` with ``C[i, j]`` the joint
      frequency of (predicted ``i``, true ``j``) and ``mu[i]`` the frequency
      of prediction ``i`` on the deployment rows, clips ``w`` at 0, and takes
      ``q ∝ w * pi``.

    Parameters
    ----------
    estimator : estimator instance
        A classifier with ``fit`` and ``predict_proba`` (and ``classes_``
        once fitted), for example a ``Pipeline``.

    method : {"em", "bbse"}, default="em"
        How :meth:`adapt` estimates the deployment prior.

    prefit : bool, default=False
        If True, ``estimator`` is already fitted and used as is; :meth:`fit`
        only reads the prior (and, for ``"bbse"``, the confusion matrix) from
        the labelled data it gets. :class:`sklearn.frozen.FrozenEstimator`
        with ``prefit=False`` is the clone-safe alternative for ``"em"``.

    cv : int, cross-validation generator or iterable, default=5
        Splits for the out-of-fold predictions of ``"bbse"`` (an int means
        stratified k-fold). Unused by ``"em"`` and with ``prefit``.

    em_max_iter : int, default=1000
        Most EM iterations.

    em_tol : float, default=1e-8
        EM stops when no entry of the prior estimate moves by more than this.

    n_jobs : int, default=None
        Folds fitted in parallel for ``"bbse"``'s out-of-fold predictions.

    Attributes
    ----------
    estimator_ : estimator instance
        The fitted wrapped classifier.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    prior_ : ndarray of shape (n_classes,)
        The training prior ``pi`` (class frequencies of ``y`` in :meth:`fit`,
        weighted by ``sample_weight`` if given).

    confusion_matrix_ : ndarray of shape (n_classes, n_classes)
        For ``"bbse"`` only: joint frequencies of (predicted, true) class on
        held-out data; its column sums are the held-out class frequencies.

    estimated_prior_ : ndarray of shape (n_classes,)
        The deployment prior found by the last :meth:`adapt`; absent before.

    n_iter_ : int
        EM iterations of the last :meth:`adapt` (0 for ``"bbse"``).

    n_features_in_ : int
        Number of features seen by ``estimator_``, if it exposes it.

    See Also
    --------
    sklearn_lt.PriorCalibratedClassifier : Probabilities at
        a prior the user knows.

    Notes
    -----
    How close the estimate can be depends on the model and on the number of
    deployment rows, even with exactly calibrated probabilities: its error
    shrinks roughly as ``1 / sqrt(n_rows)`` and grows as the model's
    classes overlap. In ``benchmarks/bench_decisions.py`` (part 5, labels
    drawn from the model's own probabilities) the median L1 error at 2,000
    rows is 0.01-0.03 on binary tables, 0.055 with 10 classes at balanced
    accuracy 0.71, and 0.1-0.55 with 10-30 classes at balanced accuracy
    0.1-0.45, where predicting at the estimate can be no better than at the
    training prior.

    References
    ----------
    .. [1] M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the Outputs
       of a Classifier to New a Priori Probabilities: A Simple Procedure",
       Neural Computation 14(1), 2002.
    .. [2] Z. C. Lipton, Y.-X. Wang and A. J. Smola, "Detecting and Correcting
       for Label Shift with Black Box Predictors", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_lt.prior_shift import PriorShiftAdapter
    >>> rng = np.random.default_rng(0)
    >>> def draw(n_per_class):
    ...     y = np.repeat([0, 1, 2], n_per_class)
    ...     return rng.normal(2.0 * y, 1.0)[:, None], y
    >>> X_train, y_train = draw([2000, 1000, 200])
    >>> X_new, y_new = draw([100, 500, 1400])  # true prior 0.05, 0.25, 0.7
    >>> model = PriorShiftAdapter(LogisticRegression()).fit(X_train, y_train)
    >>> model.prior_.round(2).tolist()
    [0.62, 0.31, 0.06]
    >>> model.adapt(X_new).estimated_prior_.round(2).tolist()
    [0.04, 0.24, 0.72]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "method": [StrOptions({"em", "bbse"})],
        "prefit": ["boolean"],
        "cv": ["cv_object"],
        "em_max_iter": [Interval(Integral, 1, None, closed="left")],
        "em_tol": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        *,
        method="em",
        prefit=False,
        cv=5,
        em_max_iter=1000,
        em_tol=1e-8,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.method = method
        self.prefit = prefit
        self.cv = cv
        self.em_max_iter = em_max_iter
        self.em_tol = em_tol
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the classifier (unless prefit) and record the training prior.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Labelled training data (with ``prefit``: labelled data distributed
            like the training data, held out from it for ``"bbse"``).

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights for the inner ``fit`` and the class frequencies.

        **fit_params : dict
            Other parameters for the inner ``fit`` (not with ``prefit``).

        Returns
        -------
        self : object
            The fitted adapter, predicting at the training prior.
        """
        X, y_array, params, weight, counts = _fit_inner(
            self, X, y, sample_weight, fit_params, prefit=self.prefit, rows="labelled"
        )
        self.prior_ = counts / counts.sum()

        for name in ("confusion_matrix_", "estimated_prior_", "n_iter_"):
            self.__dict__.pop(name, None)  # left over from an earlier fit
        if self.method == "bbse":
            if self.prefit:
                y_pred = self.estimator_.predict(X)
            else:
                cv = check_cv(self.cv, y_array, classifier=True)
                y_pred = cross_val_predict(
                    clone(self.estimator),
                    X,
                    y_array,
                    cv=cv,
                    n_jobs=self.n_jobs,
                    params=params,
                )
            predicted = np.searchsorted(self.classes_, y_pred)
            true = np.searchsorted(self.classes_, y_array)
            n_classes = len(self.classes_)
            confusion = np.zeros((n_classes, n_classes))
            np.add.at(confusion, (predicted, true), weight)
            self.confusion_matrix_ = confusion / weight.sum()
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def adapt(self, X):
        """Estimate the class prior of unlabelled deployment rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Unlabelled rows from the deployment distribution.

        Returns
        -------
        self : object
            The adapter, now predicting at ``estimated_prior_``.
        """
        check_is_fitted(self, "prior_")
        if self.method == "em":
            proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
            prior, n_iter, converged, shift = _em_prior(
                proba, self.prior_, self.em_max_iter, self.em_tol
            )
            if not converged:
                # EM slows down to a crawl when the estimate runs into the
                # simplex's edge (a class's prior near 0); its last steps
                # then move the estimate very little.
                warnings.warn(
                    f"EM did not converge in em_max_iter={self.em_max_iter} "
                    f"iterations (em_tol={self.em_tol}): its last step moved "
                    f"the prior by {shift:.2g}, and the smallest estimated "
                    f"class prior is {prior.min():.2g}. EM slows down where a "
                    "class's prior goes to 0; increase em_max_iter to go on.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        else:
            y_pred = np.asarray(self.estimator_.predict(X))
            counts = np.array([np.sum(y_pred == label) for label in self.classes_])
            prior = _bbse_prior(self.confusion_matrix_, counts / len(y_pred))
            n_iter = 0
        self.estimated_prior_ = prior
        self.n_iter_ = n_iter
        return self

    def _current_prior(self):
        return getattr(self, "estimated_prior_", self.prior_)

    def predict_proba(self, X):
        """Probabilities at the estimated deployment prior.

        Before :meth:`adapt`, the wrapped model's probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``p(k | x) * q_k / pi_k``, renormalised; columns in the order of
            ``classes_``.
        """
        check_is_fitted(self, "prior_")
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        return _reweighted(proba, self._current_prior() / self.prior_)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities (``-inf`` where a probability is 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class at the estimated deployment prior.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Argmax of :meth:`predict_proba`.
        """
        check_is_fitted(self, "prior_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        return tags
