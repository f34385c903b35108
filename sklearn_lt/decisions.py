"""Multi-class decision rules tuned for the metric the user names.

The argmax of calibrated probabilities maximises accuracy. Other metrics have
other Bayes-optimal rules, and for the metrics of imbalanced problems they
are linear in the probabilities: predict ``argmax_k w_k p_k(x) + b_k``.

* balanced accuracy: ``w_k = 1 / pi_k``, ``b = 0`` (Menon et al., 2013);
* G-mean and worst-class recall: per-class weights ``w_k = lambda_k / pi_k``
  (Narasimhan and Menon, 2021; the worst-class weights solve a min-max
  problem, found here by exponentiated gradient);
* macro-F1: weights and biases from the linearisation of the metric at the
  optimum (Koyejo et al., 2015; Narasimhan et al., 2015).

:class:`MetricOptimalClassifierCV` learns ``w`` and ``b`` from out-of-fold
probabilities, like :class:`sklearn.model_selection.TunedThresholdClassifierCV`
learns a binary threshold, and works for any number of classes.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .posthoc import _check_prior, _check_targets, _check_weights

__all__ = ["MetricOptimalClassifierCV"]

# Metrics computed from per-class counts (exact line searches); sklearn's
# scorer names for them are aliases.
_COUNT_METRICS = {
    "macro_f1",
    "balanced_accuracy",
    "gmean",
    "worst_class_recall",
    "accuracy",
}
_ALIASES = {"f1_macro": "macro_f1"}
# Metrics whose optimal rule needs per-class biases as well as weights.
_WITH_BIAS = {"macro_f1"}


def _metric_from_counts(metric, tp, predicted, support):
    """The metric for every column of ``tp`` and ``predicted`` (shape (K, m)).

    ``tp[k]`` counts the rows of class ``k`` predicted ``k``, ``predicted[k]``
    the rows predicted ``k``, ``support[k]`` the rows of class ``k``. As in
    scikit-learn, a class without rows is left out of the recalls, and out of
    the F1 scores unless it is predicted (then its F1 is 0).
    """
    support = support[:, None]
    if metric == "accuracy":
        return tp.sum(axis=0) / support.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "macro_f1":
            f1 = 2.0 * tp / (predicted + support)  # NaN where both are 0
            return np.nanmean(f1, axis=0)
        recall = np.where(support > 0, tp / support, np.nan)
        if metric == "balanced_accuracy":
            return np.nanmean(recall, axis=0)
        if metric == "worst_class_recall":
            return np.nanmin(recall, axis=0)
        return np.exp(np.nanmean(np.log(recall), axis=0))  # gmean; 0 if a 0


def _counts(y, y_pred, n_classes, weight):
    """``(tp, predicted)`` per class for encoded labels, rows weighted."""
    right = y == y_pred
    tp = np.bincount(y[right], weights=weight[right], minlength=n_classes)
    predicted = np.bincount(y_pred, weights=weight, minlength=n_classes)
    return tp, predicted


class _Rule:
    """Scores ``proba * weights + biases`` on out-of-fold data, and searches.

    ``evaluate(y_pred)`` returns the metric of encoded predictions; for the
    count metrics the line searches score every candidate at once from
    cumulative counts, for a scorer only a grid of candidates is tried.
    """

    def __init__(
        self, proba, y, folds, metric, scorer, classes, n_candidates, row_weight
    ):
        self.proba = proba
        self.y = y
        self.n_classes = proba.shape[1]
        # Rows weighted by q_y / pi_y count as if the classes had prior q.
        self.row_weight = row_weight
        self.support = np.bincount(y, weights=row_weight, minlength=self.n_classes)
        # The score is the mean over groups (``folds``) of the metric on each
        # group's rows; the estimator passes one group (the pooled rows).
        self.in_fold = [folds == fold for fold in np.unique(folds)]
        self.fold_support = [
            np.bincount(y[rows], weights=row_weight[rows], minlength=self.n_classes)
            for rows in self.in_fold
        ]
        self.metric = metric
        self.scorer = scorer
        self.classes = classes
        self.n_candidates = n_candidates

    def predict(self, weights, biases):
        return np.argmax(self.proba * weights + biases, axis=1)

    def evaluate(self, y_pred):
        """Mean over the folds of the metric of ``y_pred`` on each fold."""
        values = []
        for rows, support in zip(self.in_fold, self.fold_support):
            y_true, fold_pred = self.y[rows], y_pred[rows]
            if self.scorer is not None:
                stand_in = _FixedPredictions(self.classes, self.classes[fold_pred])
                values.append(
                    self.scorer(
                        stand_in,
                        fold_pred[:, None],
                        self.classes[y_true],
                        sample_weight=self.row_weight[rows],
                    )
                )
                continue
            tp, predicted = _counts(
                y_true, fold_pred, self.n_classes, self.row_weight[rows]
            )
            values.append(
                _metric_from_counts(
                    self.metric, tp[:, None], predicted[:, None], support
                )[0]
            )
        return float(np.mean(values))

    def line_search(self, weights, biases, k, which):
        """Best value of ``weights[k]`` (``which="weight"``, kept > 0) or
        ``biases[k]``, the others fixed; returns ``(value, score)``."""
        scores = self.proba * weights + biases
        others = scores.copy()
        others[:, k] = -np.inf
        runner_up = np.argmax(others, axis=1)
        best_other = others[np.arange(len(scores)), runner_up]
        p_k = self.proba[:, k]
        # Row i is predicted k iff value > threshold[i] (for "weight", rows
        # with p_k = 0 do not depend on the value: they are fixed).
        if which == "weight":
            movable = p_k > 0
            threshold = np.full(len(p_k), np.inf)
            threshold[movable] = (best_other[movable] - biases[k]) / p_k[movable]
            fixed_k = ~movable & (biases[k] > best_other)
        else:
            movable = np.ones(len(p_k), dtype=bool)
            threshold = best_other - weights[k] * p_k
            fixed_k = np.zeros(len(p_k), dtype=bool)
        order = np.flatnonzero(movable)[np.argsort(threshold[movable], kind="stable")]
        sorted_t = threshold[order]
        # Candidate intervals: (-inf, t_1), (t_1, t_2), ..., (t_n, inf); in
        # interval j the first j rows of `order` are predicted k.
        lower = np.concatenate([[-np.inf], sorted_t])
        upper = np.concatenate([sorted_t, [np.inf]])
        if which == "weight":
            feasible = upper > 0
        else:
            feasible = np.ones(len(lower), dtype=bool)
        feasible &= upper > lower  # empty intervals between equal thresholds
        values = self._interval_points(lower, upper, which)

        base_pred = np.where(fixed_k, k, runner_up)
        if self.scorer is None:
            candidate_scores = self._count_scores(base_pred, order, runner_up, k)
        else:
            candidate_scores = self._grid_scores(base_pred, order, k, feasible)
        candidate_scores = np.where(feasible, candidate_scores, -np.inf)
        best = int(np.argmax(candidate_scores))
        return float(values[best]), float(candidate_scores[best])

    def _grid_scores(self, base_pred, order, k, feasible):
        """Scorer values at ``n_candidates`` evenly spaced feasible positions,
        then at as many between the neighbours of the best one (two levels);
        ``-inf`` elsewhere."""
        scores = np.full(len(feasible), -np.inf)
        positions = np.flatnonzero(feasible)
        for _ in range(2):
            if len(positions) > self.n_candidates:
                picks = np.linspace(0, len(positions) - 1, self.n_candidates)
                picks = np.unique(np.round(picks).astype(int))
            else:
                picks = np.arange(len(positions))
            for j in positions[picks]:
                if np.isneginf(scores[j]):
                    y_pred = base_pred.copy()
                    y_pred[order[:j]] = k
                    scores[j] = self.evaluate(y_pred)
            best = int(np.argmax(scores[positions[picks]]))
            lo = picks[max(best - 1, 0)]
            hi = picks[min(best + 1, len(picks) - 1)]
            positions = positions[lo : hi + 1]
        return scores

    def _interval_points(self, lower, upper, which):
        """One value inside each interval ``(lower[j], upper[j])``.

        Weights stay positive: the geometric mean of the ends, half the upper
        end when the interval reaches 0, twice the lower end (or 1) when it is
        unbounded above. Biases: the midpoint, or a step past the last end.
        """
        values = np.empty(len(lower))
        with np.errstate(invalid="ignore", over="ignore"):
            if which == "weight":
                lo = np.maximum(lower, 0.0)
                bounded = np.isfinite(upper)
                inner = bounded & (lo > 0)
                values[inner] = np.sqrt(lo[inner] * upper[inner])
                touching = bounded & (lo <= 0)
                values[touching] = upper[touching] / 2.0
                unbounded = ~bounded
                values[unbounded] = np.where(lo[unbounded] > 0, 2 * lo[unbounded], 1.0)
                return values
            ends = np.concatenate([lower[1:], upper[:-1]])
            step = 0.01 * max(np.ptp(ends), 1e-6) if ends.size else 1.0
            both = np.isfinite(lower) & np.isfinite(upper)
            values[both] = (lower[both] + upper[both]) / 2.0
            below = ~np.isfinite(lower)
            values[below] = np.where(
                np.isfinite(upper[below]), upper[below] - step, 0.0
            )
            above = np.isfinite(lower) & ~np.isfinite(upper)
            values[above] = lower[above] + step
        return values

    def _count_scores(self, base_pred, order, runner_up, k):
        """The count metric for every number ``j`` of rows of ``order`` moved
        from their runner-up class to ``k``."""
        n_classes = self.n_classes
        moved_from = runner_up[order]
        moved_true = self.y[order]
        steps = len(order)
        columns = np.arange(1, steps + 1)
        was_right = moved_true == moved_from
        total = np.zeros(steps + 1)
        for rows, support in zip(self.in_fold, self.fold_support):
            tp, predicted = _counts(
                self.y[rows], base_pred[rows], n_classes, self.row_weight[rows]
            )
            moves = rows[order]  # the moved rows that belong to this fold
            weight = np.where(moves, self.row_weight[order], 0.0)
            d_pred = np.zeros((n_classes, steps + 1))
            d_tp = np.zeros((n_classes, steps + 1))
            np.add.at(d_pred, (moved_from, columns), -weight)
            d_pred[k, 1:] += weight
            np.add.at(d_tp, (moved_from, columns), -weight * was_right)
            d_tp[k, 1:] += weight * (moved_true == k)
            tp_j = tp[:, None] + np.cumsum(d_tp, axis=1)
            pred_j = predicted[:, None] + np.cumsum(d_pred, axis=1)
            total += _metric_from_counts(self.metric, tp_j, pred_j, support)
        return total / len(self.in_fold)


class _FixedPredictions(ClassifierMixin, BaseEstimator):
    """A stand-in fitted classifier that answers a scorer with fixed labels."""

    def __init__(self, classes, labels):
        self.classes = classes
        self.labels = labels

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.classes

    def predict(self, X):
        return self.labels


def _normalised(weights, biases):
    scale = weights.max()
    return weights / scale, biases / scale


def _most_balanced_best(scores, balanced_accuracies, floor=None):
    """Index of the best score among candidates whose balanced accuracy is
    at least ``floor``; ties go to the best balanced accuracy, then to the
    earliest candidate.

    The out-of-fold worst-class recall moves in steps of one row of the
    rarest class, so many candidates tie on it; the tie-break keeps the one
    that gives up the least balanced accuracy.

    Examples
    --------
    >>> _most_balanced_best([0.5, 0.6, 0.6, 0.7], [0.8, 0.7, 0.75, 0.5], 0.6)
    2
    """
    keys = [
        (score, balanced, -i)
        for i, (score, balanced) in enumerate(zip(scores, balanced_accuracies))
        if floor is None or balanced >= floor
    ]
    return -max(keys)[2]


def _start(rule, metric, prior, ratio, loss_cap=None):
    """Starting weights and biases from the metric's plug-in rule.

    ``prior`` is the training prior, ``ratio`` the deployment prior over it
    (the Bayes rule for accuracy at the deployment prior). ``loss_cap``
    (worst-class recall only): candidates whose out-of-fold balanced accuracy
    falls more than this below the balanced rule's (``w = 1 / pi``) are
    dropped.
    """
    n_classes = len(prior)
    ones, zeros = np.ones(n_classes), np.zeros(n_classes)
    balanced_rule = (1.0 / prior, zeros)
    starts = [(ones, zeros), balanced_rule, (ratio / ratio.max(), zeros)]
    if metric in ("macro_f1", "gmean"):
        # Fixed point of the linearisation at the current confusion counts.
        weights, biases = 1.0 / prior, zeros
        for _ in range(20):
            y_pred = rule.predict(weights, biases)
            tp, predicted = _counts(rule.y, y_pred, n_classes, rule.row_weight)
            if metric == "gmean":
                weights, biases = 1.0 / np.maximum(tp, 0.5), zeros
            else:
                total = predicted + rule.support
                weights, biases = 2.0 / total, -2.0 * tp / total**2
            starts.append(_normalised(weights, biases))
    if metric == "worst_class_recall":
        # Exponentiated gradient on the class weights lambda of the min-max
        # problem max_h min_lambda sum_k lambda_k recall_k(h), whose inner
        # best response is argmax_k lambda_k p_k / pi_k.
        # Both the iterates and their running mean (the algorithm's output,
        # as a deterministic rule) are candidates, and so are blends of the
        # last mean with the uniform lambda (the balanced rule).
        lam = np.full(n_classes, 1.0 / n_classes)
        total = np.zeros(n_classes)
        for step in range(1, 201):
            weights = lam / prior
            starts.append((weights / weights.max(), zeros))
            total += lam
            mean = total / step / prior
            starts.append((mean / mean.max(), zeros))
            y_pred = rule.predict(weights, zeros)
            tp, _ = _counts(rule.y, y_pred, n_classes, rule.row_weight)
            lam = lam * np.exp(-0.5 * tp / rule.support)
            lam /= lam.sum()
        for share in (0.25, 0.5, 0.75):
            blend = (share * total / step + (1.0 - share) / n_classes) / prior
            starts.append((blend / blend.max(), zeros))
    scored = [(rule.evaluate(rule.predict(w, b)), i) for i, (w, b) in enumerate(starts)]
    if metric == "worst_class_recall":

        def balanced_accuracy(w, b):
            tp, predicted = _counts(
                rule.y, rule.predict(w, b), n_classes, rule.row_weight
            )
            return _metric_from_counts(
                "balanced_accuracy", tp[:, None], predicted[:, None], rule.support
            )[0]

        floor = None
        if loss_cap is not None:
            floor = balanced_accuracy(*balanced_rule) - loss_cap
        best = _most_balanced_best(
            [score for score, _ in scored],
            [balanced_accuracy(w, b) for w, b in starts],
            floor,
        )
    else:
        best = max(scored)[1]
    return starts[best][0].copy(), starts[best][1].copy()


class MetricOptimalClassifierCV(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Decision rule ``argmax_k w_k p_k(x) + b_k`` tuned for a metric by CV.

    The multi-class counterpart of
    :class:`sklearn.model_selection.TunedThresholdClassifierCV`. Out-of-fold
    probabilities ``p(x)`` of ``estimator`` are collected over ``cv``; per-class
    weights ``w`` (and, for macro-F1, biases ``b``) are chosen to maximise
    ``metric`` on them; then ``estimator`` is refitted on all the data and
    :meth:`predict` returns ``argmax_k w_k p_k(x) + b_k``. The score of a
    rule is the metric on all the out-of-fold rows pooled (not the mean of
    per-fold scores, which ``TunedThresholdClassifierCV`` maximises: for the
    worst-class recall a mean of per-fold minima is biased low, and on
    Gaussian classes the pooled optimum is the closer to the true one).

    The search starts from the metric's plug-in rule, which assumes that
    ``p`` are probabilities at the training prior (wrap models that return
    balanced probabilities, such as this package's, in
    :class:`~sklearn_lt.PriorCalibratedClassifier`), then improves it by
    coordinate ascent, one class at a time:

    * ``"balanced_accuracy"``: the Bayes-optimal ``w_k = 1 / pi_k``.
    * ``"gmean"``: fixed-point iterations of ``w_k = 1 / TP_k``, the gradient
      of the log G-mean in the per-class true positives.
    * ``"worst_class_recall"``: exponentiated-gradient updates of the class
      weights ``lambda`` of the min-max problem
      ``max_h min_lambda sum_k lambda_k recall_k(h)`` (Narasimhan and Menon,
      2021), ``w = lambda / pi``; the best iterate, running mean or blend
      of the mean with the uniform ``lambda`` is kept as is, among those
      whose out-of-fold balanced accuracy is at most
      ``balanced_accuracy_loss`` below the balanced rule's (``w = 1 / pi``),
      ties on the worst-class recall going to the best balanced accuracy:
      with a handful of rows in the rarest class the out-of-fold minimum is
      noisy, and the unconstrained best gave up 2-5 points of test balanced
      accuracy for 1-2 of worst-class recall in
      ``benchmarks/bench_decisions.py``. Coordinate ascent on a minimum
      chases those few rows (it lost 2-3 points of test worst-class recall
      there), so it is skipped for this metric.
    * ``"macro_f1"``: fixed-point iterations of the linearised metric
      (Koyejo et al., 2015; Narasimhan et al., 2015),
      ``w_k = 2 / (P_k + N_k)``, ``b_k = -2 TP_k / (P_k + N_k)^2``, with
      ``P_k`` the rows predicted ``k`` and ``N_k`` those of class ``k``.
    * ``"accuracy"``: the plain argmax.

    The coordinate step is exact for these metrics: changing ``w_k`` (or
    ``b_k``) only moves rows between class ``k`` and their runner-up, so
    every candidate value is scored from cumulative counts in
    ``O(n_samples * n_classes)``. Any other scorer (an sklearn scorer name or
    a callable ``scorer(estimator, X, y)`` that uses ``predict``) gets the same
    coordinate search over weights only, scoring ``n_candidates`` evenly
    spaced breakpoints per step and then ``n_candidates`` more around the
    best: the documented fallback.

    Parameters
    ----------
    estimator : estimator instance
        A classifier with ``fit`` and ``predict_proba``.

    metric : str or callable, default="macro_f1"
        ``"macro_f1"`` (alias ``"f1_macro"``), ``"balanced_accuracy"``,
        ``"gmean"``, ``"worst_class_recall"``, ``"accuracy"``, another
        scikit-learn scorer name, or a scorer callable. Greater is better.

    prior : "balanced" or array-like of shape (n_classes,), default=None
        The class prior the metric is maximised for. None: that of the
        training data. Otherwise each out-of-fold row of class ``k`` counts
        ``q_k / pi_k`` times, as if the classes were drawn with prior ``q``
        (uniform for ``"balanced"``; an array is aligned with the sorted
        labels and normalised). Recalls, hence balanced accuracy, G-mean and
        worst-class recall, do not depend on it; precision, F1 and accuracy
        do. Use it when the deployment prior is known (or estimated by
        :class:`~sklearn_lt.PriorShiftAdapter`).

    cv : int, cross-validation generator or iterable, default=5
        Splits for the out-of-fold probabilities (an int means stratified
        k-fold).

    max_iter : int, default=10
        Most sweeps of the coordinate ascent over the classes (none for
        ``"worst_class_recall"``).

    n_candidates : int, default=32
        With a scorer (not a named metric, which tries every breakpoint):
        values tried per coordinate step, twice: evenly spaced over all
        breakpoints, then evenly spaced between the neighbours of the best.

    n_jobs : int, default=None
        Folds fitted in parallel.

    balanced_accuracy_loss : float in [0, 1] or None, default=0.01
        ``metric="worst_class_recall"`` only: the most out-of-fold balanced
        accuracy the rule may give up against the balanced rule
        ``w = 1 / pi`` (a constraint on the min-max search). None: no
        constraint (the best out-of-fold worst-class recall).

    Attributes
    ----------
    estimator_ : estimator instance
        ``estimator`` refitted on all the data.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    weights_ : ndarray of shape (n_classes,)
        The per-class weights ``w`` (largest 1).

    biases_ : ndarray of shape (n_classes,)
        The per-class biases ``b`` (zeros unless ``metric="macro_f1"``).

    best_score_ : float
        The metric of the tuned rule on the out-of-fold probabilities
        (rows weighted to ``prior``).

    argmax_score_ : float
        The same for the plain argmax.

    n_iter_ : int
        Coordinate-ascent sweeps run.

    n_features_in_ : int
        Number of features seen by ``estimator_``, if it exposes it.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : The binary threshold.
    sklearn_lt.LogitAdjustedClassifierCV : One parameter (``tau``)
        instead of one per class.

    Notes
    -----
    :meth:`predict_proba` returns the refitted estimator's probabilities
    unchanged (as ``TunedThresholdClassifierCV`` does), so :meth:`predict` is
    not their argmax; :meth:`decision_function` gives the rule's scores.

    References
    ----------
    .. [1] O. Koyejo, N. Natarajan, P. Ravikumar and I. S. Dhillon, "Consistent
       Multilabel Classification" (NeurIPS 2015) and "Consistent Binary
       Classification with Generalized Performance Metrics" (NeurIPS 2014).
    .. [2] H. Narasimhan, H. G. Ramaswamy, A. Saha and S. Agarwal, "Consistent
       Multiclass Algorithms for Complex Performance Measures", ICML 2015.
    .. [3] H. Narasimhan and A. K. Menon, "Training Over-parameterized Models
       with Non-decomposable Objectives", NeurIPS 2021.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import f1_score
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> from sklearn_lt.decisions import MetricOptimalClassifierCV
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=4000, n_classes=5, imbalance_ratio=50, class_sep=0.7,
    ...     random_state=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, stratify=y, random_state=0)
    >>> model = MetricOptimalClassifierCV(LogisticRegression(), metric="macro_f1")
    >>> model = model.fit(X_train, y_train)
    >>> bool(model.best_score_ > model.argmax_score_)
    True
    >>> plain = model.estimator_.predict(X_test)
    >>> tuned = model.predict(X_test)
    >>> bool(f1_score(y_test, tuned, average="macro")
    ...      > f1_score(y_test, plain, average="macro"))
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "metric": [
            StrOptions(_COUNT_METRICS | set(_ALIASES) | set(get_scorer_names())),
            callable,
        ],
        "prior": [StrOptions({"balanced"}), "array-like", None],
        "cv": ["cv_object"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_candidates": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
        "balanced_accuracy_loss": [Interval(Real, 0, 1, closed="both"), None],
    }

    def __init__(
        self,
        estimator,
        *,
        metric="macro_f1",
        prior=None,
        cv=5,
        max_iter=10,
        n_candidates=32,
        n_jobs=None,
        balanced_accuracy_loss=0.01,
    ):
        self.estimator = estimator
        self.metric = metric
        self.prior = prior
        self.cv = cv
        self.max_iter = max_iter
        self.n_candidates = n_candidates
        self.n_jobs = n_jobs
        self.balanced_accuracy_loss = balanced_accuracy_loss

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Tune the rule on out-of-fold probabilities, then refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, as the inner estimator accepts it.

        y : array-like of shape (n_samples,)
            Class labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights for every inner ``fit`` (the metric itself is unweighted).

        **fit_params : dict
            Other parameters for the inner ``fit``; those with one entry per
            sample are split with the data.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y, y_array = _check_targets(X, y)
        sample_weight = _check_weights(sample_weight, X)
        params = dict(fit_params)
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        classes, y_encoded = np.unique(y_array, return_inverse=True)
        metric = _ALIASES.get(self.metric, self.metric)
        scorer = None
        if not (isinstance(metric, str) and metric in _COUNT_METRICS):
            scorer = check_scoring(self, scoring=metric)
            metric = None
        cv = check_cv(self.cv, y_array, classifier=True)
        splits = list(cv.split(X, y_array))
        folds = np.zeros(len(y_array), dtype=int)  # pooled (see the docstring)
        proba = cross_val_predict(
            clone(self.estimator),
            X,
            y_array,
            cv=splits,
            method="predict_proba",
            n_jobs=self.n_jobs,
            params=params,
        )
        proba = np.asarray(proba, dtype=np.float64)
        counts = np.bincount(y_encoded, minlength=len(classes)).astype(np.float64)
        prior = counts / counts.sum()
        if isinstance(self.prior, str):  # "balanced"
            target = np.full(len(classes), 1.0 / len(classes))
        else:
            target = _check_prior(self.prior, counts, classes)
        ratio = target / prior
        rule = _Rule(
            proba,
            y_encoded,
            folds,
            metric,
            scorer,
            classes,
            self.n_candidates,
            ratio[y_encoded],
        )
        self.argmax_score_ = rule.evaluate(np.argmax(proba, axis=1))

        weights, biases = _start(
            rule, metric, prior, ratio, self.balanced_accuracy_loss
        )
        score = rule.evaluate(rule.predict(weights, biases))
        searched = ("weight", "bias") if metric in _WITH_BIAS else ("weight",)
        self.n_iter_ = 0
        max_iter = 0 if metric == "worst_class_recall" else self.max_iter
        while self.n_iter_ < max_iter:
            self.n_iter_ += 1
            before = score
            for k in range(len(classes)):
                for which in searched:
                    value, new_score = rule.line_search(weights, biases, k, which)
                    if new_score > score:
                        target = weights if which == "weight" else biases
                        target[k] = value
                        score = rule.evaluate(rule.predict(weights, biases))
            weights, biases = _normalised(weights, biases)
            if score <= before:
                break
        self.weights_, self.biases_ = weights, biases
        self.best_score_ = score

        self.estimator_ = clone(self.estimator).fit(X, y_array, **params)
        inner_classes = np.asarray(self.estimator_.classes_)
        if not np.array_equal(inner_classes, classes):
            raise ValueError(
                f"The fitted {type(self.estimator_).__name__} has classes_ "
                f"{inner_classes.tolist()}, not the labels of y "
                f"{classes.tolist()}; the rule's weights would be misaligned."
            )
        self.classes_ = classes
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def decision_function(self, X):
        """The rule's scores ``w_k p_k(x) + b_k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            For two classes, the score of ``classes_[1]`` minus that of
            ``classes_[0]``.
        """
        check_is_fitted(self, "weights_")
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        scores = proba * self.weights_ + self.biases_
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """The class with the largest ``w_k p_k(x) + b_k``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self, "weights_")
        proba = np.asarray(self.estimator_.predict_proba(X), dtype=np.float64)
        return self.classes_[np.argmax(proba * self.weights_ + self.biases_, axis=1)]

    def predict_proba(self, X):
        """The refitted estimator's probabilities, unchanged.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``estimator_.predict_proba(X)``.
        """
        check_is_fitted(self, "weights_")
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        return tags
