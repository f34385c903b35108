"""Scoring one split: every metric of the result table from one prediction.

The metrics (:data:`_METRICS`) are those the long-tail literature reports:
balanced accuracy, macro-F1, geometric mean, many/medium/few-shot recall,
worst-class recall, and the seconds ``fit`` and ``predict`` took. They are
computed with scikit-learn's and imbalanced-learn's own functions.
"""

import time
from collections.abc import Mapping
from numbers import Real

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score, get_scorer
from sklearn.utils.validation import column_or_1d

from ..metrics import per_class_recall, worst_class_recall

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
    "fit_seconds",
    "predict_seconds",
)

#: The shot-group metrics (NaN for a group without a class).
_SHOT_METRICS = ("many_shot_recall", "medium_shot_recall", "few_shot_recall")

_RECALL_PREFIX = "recall_class_"


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
