"""Scoring one split: every metric of the result table from one prediction.

The metrics (:data:`_METRICS`) are those the long-tail literature reports:
balanced accuracy, macro-F1, geometric mean, many/medium/few-shot recall,
worst-class recall, and the seconds ``fit`` and ``predict`` took. They are
computed with scikit-learn's and imbalanced-learn's own functions.

Calibration at the training prior sits beside them: the multi-class Brier
score (:func:`sklearn.metrics.brier_score_loss`) and the top-label expected
calibration error (:func:`sklearn_lt.metrics.expected_calibration_error`,
15 bins) of the test fold's probabilities. For this package's estimators
trained with the logit-adjusted loss (``loss="logit_adjusted"`` or
``"balanced_softmax"``) the probabilities are those at the training prior
in closed form, ``softmax(f(x) + tau * log pi)`` (Menon et al., 2021; as
:class:`~sklearn_lt.PriorCalibratedClassifier` computes them, without a
refit). The same map undoes a post-hoc adjustment
(:class:`~sklearn_lt.LogitAdjustedClassifier` of an unweighted model with
``predict_proba``), giving back its inner model's probabilities, and a soft
vote whose members all have a closed form is scored on the mean of its
members' (:func:`_closed_form_proba`). Every other contender's are its
``predict_proba`` as it gives it (:func:`_probability_source`). A
contender without ``predict_proba`` scores NaN.
"""

import time
from collections.abc import Mapping
from numbers import Real

import numpy as np
from scipy.special import softmax
from sklearn.base import is_classifier
from sklearn.metrics import (
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    get_scorer,
)
from sklearn.utils.validation import column_or_1d

from ..metrics import expected_calibration_error, per_class_recall, worst_class_recall
from .plots._reliability import reliability_bins

__all__ = [
    "shot_thresholds",
]

#: The metrics of the result table, in column order (each gets ``_mean`` and
#: ``_std`` columns).
_METRICS = (
    "balanced_accuracy",
    "f1_macro",
    "geometric_mean",
    "many_shot_recall",
    "medium_shot_recall",
    "few_shot_recall",
    "worst_class_recall",
    "brier_score",
    "calibration_error",
    "fit_seconds",
    "predict_seconds",
)

#: The shot-group metrics (NaN for a group without a class).
_SHOT_METRICS = ("many_shot_recall", "medium_shot_recall", "few_shot_recall")

_RECALL_PREFIX = "recall_class_"

#: The calibration metrics (lower is better; NaN without ``predict_proba``).
_CALIBRATION_METRICS = ("brier_score", "calibration_error")

#: Bins of the expected calibration error.
_ECE_BINS = 15

#: What :func:`_probability_source` answers.
_CLOSED_FORM = "training prior (closed form)"
_RAW = "predict_proba as given"
_NO_PROBA = "none"


def _logit_adjustment(estimator):
    from ..prior_calibration import _logit_adjustment

    return _logit_adjustment(estimator)


def _is_logit_adjusted(estimator):
    """Whether ``estimator`` (or a pipeline's last step) is ours, logit-adjusted."""
    from ..prior_calibration import _LOGIT_ADJUSTED_LOSSES, _final_step

    final = _final_step(estimator)
    return (
        type(final).__module__.startswith("sklearn_lt.")
        and getattr(final, "loss", None) in _LOGIT_ADJUSTED_LOSSES
    )


def _is_posthoc_adjuster(final):
    """Whether ``final`` is a post-hoc logit adjuster of probabilities.

    Undoing :class:`~sklearn_lt.LogitAdjustedClassifier`'s (or its CV
    variant's) adjustment gives back its inner model's probabilities. They
    are at the training prior only if the inner model was trained on the
    rows as they come: not for an adjuster of decision scores, nor for an
    inner model that reweights (a ``class_weight`` set anywhere in it),
    resamples (a step with ``fit_resample``) or is one of this package's
    (whose probabilities are balanced). Weights passed to ``fit`` cannot be
    seen here.
    """
    from ..posthoc import _BaseLogitAdjuster

    if not isinstance(final, _BaseLogitAdjuster):
        return False
    inner = getattr(final, "estimator_", final.estimator)
    return (
        final.response_method != "decision_function"
        and hasattr(inner, "predict_proba")
        and _trained_as_is(inner)
    )


def _trained_as_is(estimator):
    """Whether nothing in ``estimator`` reweights or resamples its rows."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return all(
            step is None or isinstance(step, str) or _trained_as_is(step)
            for _, step in steps
        )
    if hasattr(estimator, "fit_resample"):
        return False
    if is_classifier(estimator) and type(estimator).__module__.startswith(
        "sklearn_lt."
    ):
        return False
    get_params = getattr(estimator, "get_params", None)
    return get_params is None or get_params(deep=False).get("class_weight") is None


def _is_soft_vote(final):
    """Whether ``final`` is a soft ``VotingClassifier``."""
    from sklearn.ensemble import VotingClassifier

    return isinstance(final, VotingClassifier) and final.voting == "soft"


def _vote_members(vote):
    """The members of ``vote`` that are not dropped."""
    return [m for _, m in vote.estimators if m is not None and m != "drop"]


def _has_closed_form(estimator):
    """Whether the training-prior probabilities of ``estimator`` have a
    closed form (fitted or not): this package's logit-adjusted models, a
    post-hoc logit adjuster of probabilities, a soft vote of such models."""
    from ..prior_calibration import _final_step

    final = _final_step(estimator)
    if _is_logit_adjusted(final) or _is_posthoc_adjuster(final):
        return True
    if not _is_soft_vote(final):
        return False
    members = _vote_members(final)
    return bool(members) and all(_has_closed_form(m) for m in members)


def _probability_source(estimator):
    """Where a contender's calibration probabilities come from.

    Parameters
    ----------
    estimator : estimator
        The (fitted or unfitted) contender.

    Returns
    -------
    source : str
        ``"training prior (closed form)"`` for this package's
        logit-adjusted estimators, post-hoc logit adjusters of probabilities
        (:class:`~sklearn_lt.LogitAdjustedClassifier`) and soft votes of
        such models; ``"predict_proba as given"`` for any other with
        ``predict_proba``, ``"none"`` without it.

    Examples
    --------
    >>> from sklearn.svm import LinearSVC
    >>> from sklearn_lt import MLPMarginClassifier
    >>> from sklearn_lt.compare.scoring import _probability_source
    >>> _probability_source(MLPMarginClassifier("logit_adjusted"))
    'training prior (closed form)'
    >>> _probability_source(MLPMarginClassifier("ldam"))
    'predict_proba as given'
    >>> _probability_source(LinearSVC())
    'none'
    """
    if _has_closed_form(estimator):
        return _CLOSED_FORM
    return _RAW if hasattr(estimator, "predict_proba") else _NO_PROBA


def _closed_form_proba(estimator, X):
    """Training-prior probabilities of a fitted ``estimator`` with a closed
    form (columns ``estimator.classes_``), else None.

    * this package's logit-adjusted model: ``softmax(log p(x) + tau log pi)``
      with ``p`` its (balanced) ``predict_proba`` and ``pi`` its training
      class frequencies;
    * a post-hoc adjuster: the same with its ``tau`` and ``prior_``, which
      gives back its inner model's probabilities;
    * a soft vote whose members all have one: the (weighted) mean of the
      members' training-prior probabilities.
    """
    from ..prior_calibration import _final_step

    final = _final_step(estimator)
    adjustment = None
    if _is_logit_adjusted(final):
        adjustment = _logit_adjustment(estimator)
    elif _is_posthoc_adjuster(final):
        adjustment = final._fitted_tau(), np.asarray(final.prior_, dtype=np.float64)
    if adjustment is not None:
        tau, prior = adjustment
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_proba = np.log(proba)
        return softmax(log_proba + tau * np.log(prior), axis=1)
    if not _is_soft_vote(final):
        return None
    X = _before_final(estimator, X)  # through the steps before the vote
    probas = [_closed_form_proba(member, X) for member in final.estimators_]
    if any(proba is None for proba in probas):
        return None
    weights = None
    if final.weights is not None:  # those of the members not dropped
        kept = _vote_members(final)
        weights = [w for (_, m), w in zip(final.estimators, final.weights) if m in kept]
    return np.average(probas, axis=0, weights=weights)


def _before_final(estimator, X):
    """``X`` through every step of a (nested) pipeline but the last estimator.

    Resamplers (a step with ``fit_resample``) act only in ``fit`` and are
    passed over, as imbalanced-learn's pipeline does at prediction time.
    """
    steps = getattr(estimator, "steps", None)
    if not steps:
        return X
    for _, step in steps[:-1]:
        if step is None or isinstance(step, str) or hasattr(step, "fit_resample"):
            continue
        X = step.transform(X)
    return _before_final(steps[-1][1], X)


def _training_prior_proba(estimator, X, labels):
    """Probabilities of ``X`` for the calibration metrics, columns ``labels``.

    The closed-form training-prior probabilities where there is one
    (:func:`_closed_form_proba`), any other estimator's ``predict_proba``;
    None without one. A class the estimator did not see in training gets
    probability 0.
    """
    if not hasattr(estimator, "predict_proba"):
        return None
    proba = _closed_form_proba(estimator, X)
    if proba is None:
        proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    classes = np.asarray(getattr(estimator, "classes_", labels))
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        return None
    full = np.zeros((proba.shape[0], len(labels)))
    full[:, np.searchsorted(labels, classes)] = proba
    return full


def _calibration_scores(y_true, proba, labels):
    """Brier score and expected calibration error (NaN without ``proba``)."""
    if proba is None:
        return dict.fromkeys(_CALIBRATION_METRICS, np.nan)
    if len(labels) == 2:
        brier = brier_score_loss(y_true, proba[:, 1], pos_label=labels[1])
    else:
        brier = brier_score_loss(y_true, proba, labels=labels)
    ece = expected_calibration_error(y_true, proba, labels=labels, n_bins=_ECE_BINS)
    return {"brier_score": brier, "calibration_error": ece}


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
        proba = _training_prior_proba(estimator, X, self.labels)
        scores.update(_calibration_scores(y_true, proba, self.labels))
        scores.update(reliability_bins(y_true, proba, self.labels))
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
    reserved = set(_METRICS) | {"fit_time", "score_time"}
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


def shot_thresholds(class_counts, many_shot="auto", few_shot="auto"):
    """The many-shot and few-shot thresholds, ``"auto"`` ones from the data.

    The long-tail literature's groups (many-shot: more than 100 training
    examples, few-shot: fewer than 20) suit ImageNet-LT's 5 to 1280 images
    per class, not a table: on a binary table of 10,000 rows both classes
    are many-shot, and on ``dslabs/olive`` (20 to 165 training rows per
    class) no class is few-shot. ``"auto"`` scales the groups to the data:
    it splits the range of the training class sizes, from the smallest
    ``n_min`` to the largest ``n_max``, into three equal parts on a log
    scale,

    .. math::

        \\text{few} = n_{min} (n_{max} / n_{min})^{1/3}, \\qquad
        \\text{many} = n_{min} (n_{max} / n_{min})^{2/3},

    so that, whenever the classes differ in size, the largest class is
    many-shot and the smallest few-shot (on ImageNet-LT's 5 to 1280 this
    gives 32 and 202, near the literature's 20 and 100). Classes of equal
    size are all medium-shot.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training examples per class (for several splits, their mean).

    many_shot, few_shot : "auto" or float, default="auto"
        A number is used as given.

    Returns
    -------
    many_shot, few_shot : float
        ``"auto"`` ones rounded to two decimals.
        Classes with more than ``many_shot`` training examples are
        many-shot, with fewer than ``few_shot`` few-shot.

    Raises
    ------
    ValueError
        If ``few_shot > many_shot`` or a threshold is neither ``"auto"``
        nor a number.

    Examples
    --------
    >>> from sklearn_lt.compare import shot_thresholds
    >>> shot_thresholds([1000, 8000])  # 1000 * 8 ** (1/3), 1000 * 8 ** (2/3)
    (4000.0, 2000.0)
    >>> shot_thresholds([1000, 8000], many_shot=100, few_shot=20)
    (100, 20)
    """
    counts = np.asarray(class_counts, dtype=float)
    counts = counts[np.isfinite(counts) & (counts > 0)]
    for name, value in (("many_shot", many_shot), ("few_shot", few_shot)):
        if not (
            (isinstance(value, str) and value == "auto")
            or (isinstance(value, Real) and not isinstance(value, bool))
        ):
            raise ValueError(f'{name} must be "auto" or a number; got {value!r}.')
    low = counts.min() if counts.size else 1.0
    high = counts.max() if counts.size else 1.0
    if many_shot == "auto":
        many_shot = round(float(low * (high / low) ** (2 / 3)), 2)
    if few_shot == "auto":
        few_shot = round(float(low * (high / low) ** (1 / 3)), 2)
    if few_shot > many_shot:
        raise ValueError(
            f"few_shot={few_shot:g} must not be larger than many_shot={many_shot:g}."
        )
    return many_shot, few_shot
