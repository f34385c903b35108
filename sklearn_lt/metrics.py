"""Metrics the long-tail literature reports, beside scikit-learn's.

Everything scikit-learn or imbalanced-learn already has is used, not
rewritten: the mean per-class recall is
:func:`sklearn.metrics.balanced_accuracy_score`, per-class recall and
precision come from :func:`sklearn.metrics.precision_recall_fscore_support`,
and :func:`imblearn.metrics.geometric_mean_score` and
:func:`imblearn.metrics.classification_report_imbalanced` cover the
geometric mean and a per-class report. This module adds what they lack:

* :func:`per_class_recall`: a per-class table next to the training counts,
  for plots of recall against class size;
* :func:`shot_accuracy`: mean recall of the many-, medium- and few-shot
  classes (the split of Liu et al., 2019);
* :func:`worst_class_recall`: the smallest per-class recall, and
  :data:`worst_class_recall_scorer` for ``scoring=`` in a search;
* :func:`embedding_compactness`: how tightly each class's embeddings gather
  around their mean;
* :func:`expected_calibration_error`: how far predicted probabilities are
  from observed frequencies (top-label or class-wise, equal-width bins).

The multi-class Brier score is scikit-learn's own
:func:`sklearn.metrics.brier_score_loss`, which takes an
``(n_samples, n_classes)`` array since version 1.7: with
``scale_by_half=False`` it is ``mean_i sum_k (p_ik - [y_i = k])^2`` for any
number of classes (in [0, 2]); the default halves it for two classes only.

Higher is better for every score here except :func:`embedding_compactness`,
a spread (lower is tighter), and :func:`expected_calibration_error`, an
error (lower is better calibrated).

``shot_accuracy`` and ``per_class_recall`` need the *training* class counts,
which a scorer never sees (it gets a fitted model and the validation fold),
so they have no scorer; compute them on held-out predictions instead.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.model_selection import GridSearchCV
>>> from sklearn_lt.metrics import worst_class_recall_scorer
>>> X, y = load_iris(return_X_y=True)
>>> search = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.01, 1.0]},
...                       scoring=worst_class_recall_scorer).fit(X, y)
>>> search.best_params_
{'C': 1.0}
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.metrics import make_scorer, precision_recall_fscore_support
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
)

__all__ = [
    "embedding_compactness",
    "expected_calibration_error",
    "per_class_recall",
    "shot_accuracy",
    "worst_class_recall",
    "worst_class_recall_scorer",
]


def _per_class_recall_precision(y_true, y_pred, labels):
    """Recall, precision and support for ``labels``; NaN where undefined."""
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=np.nan
    )
    return recall, precision, support


def _resolve_counts(class_counts, labels, y_true, *, extra_labels=()):
    """Return ``(labels, counts)`` as aligned arrays, counts as floats.

    ``class_counts`` is a mapping ``{label: count}``, an array-like aligned
    with ``labels``, or None (all counts NaN). When ``labels`` is None it
    defaults to the sorted union of the keys of a mapping and the arrays in
    ``extra_labels`` (labels missing from the mapping get a NaN count); to the
    sorted labels of ``y_true`` for an array-like; and to the sorted union of
    ``y_true`` and ``extra_labels`` for None.
    """
    if isinstance(class_counts, dict):
        if labels is None:
            labels = unique_labels(np.asarray(list(class_counts)), *extra_labels)
        labels = np.asarray(labels)
        counts = [class_counts.get(label, np.nan) for label in labels.tolist()]
        return labels, np.asarray(counts, dtype=float)
    if class_counts is None:
        if labels is None:
            labels = unique_labels(y_true, *extra_labels)
        labels = np.asarray(labels)
        return labels, np.full(len(labels), np.nan)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    counts = column_or_1d(class_counts).astype(float)
    if len(counts) != len(labels):
        raise ValueError(
            f"class_counts has {len(counts)} entries but there are {len(labels)} "
            f"labels ({labels.tolist()}); pass class_counts as a dict "
            "{label: count} or give labels aligned with it."
        )
    return labels, counts


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "class_counts": [dict, "array-like", None],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def per_class_recall(y_true, y_pred, *, class_counts=None, labels=None):
    """Per-class recall and precision, next to the training class counts.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_pred : array-like of shape (n_samples,)
        Predicted labels.

    class_counts : dict or array-like of shape (n_labels,), default=None
        Training examples per class: ``{label: count}``, or an array aligned
        with ``labels`` (with ``labels`` None, with the sorted labels of
        ``y_true``). None leaves the ``train_count`` column NaN.

    labels : array-like of shape (n_labels,), default=None
        The classes to report, in this order before sorting. None: the
        sorted union of the labels in ``y_true`` and ``y_pred`` (and of the
        keys of a ``class_counts`` dict); with an array ``class_counts``, the
        sorted labels of ``y_true``.

    Returns
    -------
    table : pandas.DataFrame of shape (n_labels, 5)
        One row per label, sorted by label, with columns ``class``,
        ``train_count`` (float; NaN if unknown), ``support`` (number of true
        examples in ``y_true``), ``recall`` and ``precision``. Recall is NaN
        for a class without true examples, precision for a class never
        predicted.

    See Also
    --------
    sklearn.metrics.precision_recall_fscore_support : The underlying metric.
    shot_accuracy : Recall averaged over many-, medium- and few-shot classes.

    Examples
    --------
    >>> from sklearn_lt.metrics import per_class_recall
    >>> y_true = [0, 0, 0, 1, 1, 2]
    >>> y_pred = [0, 0, 1, 1, 0, 1]
    >>> per_class_recall(y_true, y_pred, class_counts={0: 50, 1: 10, 2: 2})
       class  train_count  support    recall  precision
    0      0         50.0        3  0.666667   0.666667
    1      1         10.0        2  0.500000   0.333333
    2      2          2.0        1  0.000000        NaN
    """
    check_consistent_length(y_true, y_pred)
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    labels, counts = _resolve_counts(
        class_counts, labels, y_true, extra_labels=(y_true, y_pred)
    )
    recall, precision, support = _per_class_recall_precision(y_true, y_pred, labels)
    table = pd.DataFrame(
        {
            "class": labels,
            "train_count": counts,
            "support": support,
            "recall": recall,
            "precision": precision,
        }
    )
    return table.sort_values("class", kind="stable").reset_index(drop=True)


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "class_counts": [dict, "array-like"],
        "labels": ["array-like", None],
        "many_shot": [Interval(Integral, 0, None, closed="left")],
        "few_shot": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def shot_accuracy(
    y_true, y_pred, class_counts, *, labels=None, many_shot=100, few_shot=20
):
    """Mean per-class recall of the many-, medium- and few-shot classes.

    Classes are grouped by their number ``n`` of *training* examples, as in
    Liu et al. (2019), with the default thresholds:

    * many-shot: ``n > many_shot`` (more than 100),
    * medium-shot: ``few_shot <= n <= many_shot`` (20 to 100, both included),
    * few-shot: ``n < few_shot`` (fewer than 20).

    Each group's score is the mean over its classes of the recall on the
    test data ("accuracy" in the literature, where test sets are balanced;
    on a balanced test set it equals the accuracy restricted to the group).
    Classes without examples in ``y_true`` are left out of their group's mean.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels of the test data.

    y_pred : array-like of shape (n_samples,)
        Predicted labels.

    class_counts : dict or array-like of shape (n_labels,)
        Training examples per class: ``{label: count}``, or an array aligned
        with ``labels``.

    labels : array-like of shape (n_labels,), default=None
        The classes. None: the sorted keys of a ``class_counts`` dict, or the
        sorted labels of ``y_true`` for an array ``class_counts`` (which must
        then have one entry per label).

    many_shot : int, default=100
        Classes with more training examples than this are many-shot.

    few_shot : int, default=20
        Classes with fewer training examples than this are few-shot.

    Returns
    -------
    scores : dict
        ``{"many_shot": float, "medium_shot": float, "few_shot": float}``;
        NaN for a group without classes (or without test examples).

    Raises
    ------
    ValueError
        If ``y_true`` has labels without a training count, if ``class_counts``
        and ``labels`` differ in length, or if ``few_shot > many_shot``.

    See Also
    --------
    per_class_recall : The per-class numbers behind the groups.

    Notes
    -----
    There is no scorer for this metric: the groups depend on the training
    counts, which a scorer does not see.

    References
    ----------
    .. [1] Z. Liu, Z. Miao, X. Zhan, J. Wang, B. Gong and S. X. Yu,
       "Large-Scale Long-Tailed Recognition in an Open World", CVPR 2019.

    Examples
    --------
    >>> from sklearn_lt.metrics import shot_accuracy
    >>> y_true = [0, 0, 1, 1, 2, 2]
    >>> y_pred = [0, 0, 1, 0, 0, 0]
    >>> shot_accuracy(y_true, y_pred, {0: 500, 1: 50, 2: 5})
    {'many_shot': 1.0, 'medium_shot': 0.5, 'few_shot': 0.0}
    """
    if few_shot > many_shot:
        raise ValueError(
            f"few_shot={few_shot} must not be larger than many_shot={many_shot}."
        )
    check_consistent_length(y_true, y_pred)
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    labels, counts = _resolve_counts(class_counts, labels, y_true)
    unknown = np.setdiff1d(np.unique(y_true), labels)
    if unknown.size:
        raise ValueError(
            f"y_true has labels {unknown.tolist()} without a training count in "
            "class_counts."
        )
    if np.isnan(counts).any():
        raise ValueError("class_counts must give a count for every label.")
    recall, _, _ = _per_class_recall_precision(y_true, y_pred, labels)
    groups = {
        "many_shot": counts > many_shot,
        "medium_shot": (counts >= few_shot) & (counts <= many_shot),
        "few_shot": counts < few_shot,
    }
    scores = {}
    for name, members in groups.items():
        group = recall[members]
        group = group[~np.isnan(group)]
        scores[name] = float(group.mean()) if group.size else float("nan")
    return scores


@validate_params(
    {
        "y_true": ["array-like"],
        "y_pred": ["array-like"],
        "labels": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def worst_class_recall(y_true, y_pred, *, labels=None):
    """Smallest per-class recall.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_pred : array-like of shape (n_samples,)
        Predicted labels.

    labels : array-like, default=None
        The classes to take the minimum over. None: the labels present in
        ``y_true``. Labels without examples in ``y_true`` (recall undefined)
        are skipped.

    Returns
    -------
    recall : float
        ``min_k recall_k``, in [0, 1]; NaN if no label has true examples.

    See Also
    --------
    sklearn.metrics.balanced_accuracy_score : The mean per-class recall.
    worst_class_recall_scorer : This metric as a scorer.

    Examples
    --------
    >>> from sklearn_lt.metrics import worst_class_recall
    >>> worst_class_recall([0, 0, 1, 1, 2], [0, 0, 1, 0, 2])
    0.5
    """
    check_consistent_length(y_true, y_pred)
    y_true = column_or_1d(y_true)
    y_pred = column_or_1d(y_pred)
    if labels is None:
        labels = np.unique(y_true)
    recall, _, _ = _per_class_recall_precision(y_true, y_pred, labels)
    recall = recall[~np.isnan(recall)]
    return float(recall.min()) if recall.size else float("nan")


# A scorer for ``scoring=`` in GridSearchCV & co. (greater is better); the
# module docstring shows it in use.
worst_class_recall_scorer = make_scorer(worst_class_recall)


@validate_params(
    {
        "embeddings": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "normalize": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def embedding_compactness(embeddings, y, *, normalize=True):
    """Spread of each class's embeddings around the class mean.

    For class ``k`` with embeddings ``z_1, ..., z_m`` (each first divided by
    its Euclidean norm if ``normalize``; zero vectors stay zero), the
    compactness is the mean Euclidean distance to their mean::

        mu_k = (z_1 + ... + z_m) / m
        compactness_k = (||z_1 - mu_k|| + ... + ||z_m - mu_k||) / m

    The mean ``mu_k`` is not projected back onto the sphere. Lower is tighter;
    a class with a single example has compactness 0. With ``normalize`` the
    values lie in [0, 1] and do not depend on the scale of the embeddings,
    which is what margin losses on a normalised (cosine) head act on.

    Parameters
    ----------
    embeddings : {array-like, sparse matrix} of shape (n_samples, n_dims)
        Embeddings, for example the output of a fitted model's ``transform``.

    y : array-like of shape (n_samples,)
        Class labels.

    normalize : bool, default=True
        Whether to scale each embedding to unit Euclidean norm first.

    Returns
    -------
    compactness : pandas.Series of shape (n_classes,)
        Indexed by class label (sorted), named ``"compactness"``.

    Examples
    --------
    >>> from sklearn_lt.metrics import embedding_compactness
    >>> embeddings = [[1, 0], [0, 1], [3, 0], [-3, 0]]
    >>> embedding_compactness(embeddings, ["a", "a", "b", "b"])
    class
    a    0.707107
    b    1.000000
    Name: compactness, dtype: float64
    """
    embeddings = check_array(embeddings, accept_sparse="csr", dtype=np.float64)
    y = column_or_1d(y)
    check_consistent_length(embeddings, y)
    if normalize:
        embeddings = l2_normalize(embeddings, norm="l2")
    if hasattr(embeddings, "toarray"):
        embeddings = embeddings.toarray()
    classes = np.unique(y)
    spread = []
    for label in classes:
        members = embeddings[y == label]
        distances = np.linalg.norm(members - members.mean(axis=0), axis=1)
        spread.append(distances.mean())
    return pd.Series(spread, index=pd.Index(classes, name="class"), name="compactness")


def _proba_matrix(y_true, y_proba, labels):
    """``(onehot, proba, labels)``: aligned float arrays of the same shape."""
    y_true = column_or_1d(y_true)
    proba = check_array(y_proba, ensure_2d=False, dtype=np.float64)
    check_consistent_length(y_true, proba)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    labels = unique_labels(y_true) if labels is None else column_or_1d(labels)
    if proba.shape[1] != len(labels):
        raise ValueError(
            f"y_proba has {proba.shape[1]} columns but there are {len(labels)} "
            f"labels ({labels.tolist()}); pass labels= aligned with its columns "
            "(for a fitted classifier, its classes_)."
        )
    unknown = np.setdiff1d(np.unique(y_true), labels)
    if unknown.size:
        raise ValueError(
            f"y_true has labels {unknown.tolist()} that are not in labels "
            f"{labels.tolist()}."
        )
    if np.any(proba < 0) or np.any(proba > 1):
        raise ValueError("y_proba must hold probabilities, in [0, 1].")
    onehot = (y_true[:, None] == labels[None, :]).astype(np.float64)
    return onehot, proba, labels


def _binned_gap(confidence, outcome, weight, n_bins):
    """``sum_b (w_b / w) |mean outcome_b - mean confidence_b|``, equal-width bins.

    Bin ``b`` (0-based) holds confidences in ``(b / n_bins, (b + 1) / n_bins]``;
    the first bin also holds 0.
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    conf = np.bincount(bins, weights=weight * confidence, minlength=n_bins)
    hits = np.bincount(bins, weights=weight * outcome, minlength=n_bins)
    return float(np.abs(hits - conf).sum() / weight.sum())


@validate_params(
    {
        "y_true": ["array-like"],
        "y_proba": ["array-like"],
        "labels": ["array-like", None],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "kind": [StrOptions({"top_label", "classwise"})],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def expected_calibration_error(
    y_true, y_proba, *, labels=None, n_bins=15, kind="top_label", sample_weight=None
):
    """Expected calibration error (ECE) with equal-width bins.

    ``kind="top_label"`` (Guo et al., 2017): the confidence of a row is its
    largest probability and its outcome is 1 if that class (the first on
    ties) is the true one. The confidences are put into ``n_bins`` bins of
    equal width, ``(0, 1/B], (1/B, 2/B], ..., ((B-1)/B, 1]`` (a confidence of
    0 goes to the first), and::

        ECE = sum_b (n_b / n) * |accuracy_b - mean confidence_b|

    ``kind="classwise"`` (Kull et al., 2019): the same binned gap for each
    class ``k`` between ``p_k(x)`` and ``[y = k]`` over all rows, averaged
    over the classes.

    Lower is better; 0 means that, bin by bin, the predicted probabilities
    match the observed frequencies. The value depends on ``n_bins``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted probabilities, columns aligned with ``labels``; a 1-d array
        is the probability of ``labels[1]`` in a binary problem.

    labels : array-like of shape (n_classes,), default=None
        The classes of the columns of ``y_proba`` (a fitted classifier's
        ``classes_``). None: the sorted labels of ``y_true``.

    n_bins : int, default=15
        Number of equal-width bins on [0, 1].

    kind : {"top_label", "classwise"}, default="top_label"
        Which probabilities are binned; see above.

    sample_weight : array-like of shape (n_samples,), default=None
        Row weights (``n_b`` and the bin means become weighted).

    Returns
    -------
    ece : float
        In [0, 1].

    See Also
    --------
    sklearn.calibration.calibration_curve : The binary reliability curve.
    sklearn.metrics.brier_score_loss : The (multi-class) Brier score.

    References
    ----------
    .. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of
       Modern Neural Networks", ICML 2017.
    .. [2] M. Kull, M. Perello-Nieto, M. Kangsepp, T. Silva Filho, H. Song and
       P. Flach, "Beyond temperature scaling: Obtaining well-calibrated
       multiclass probabilities with Dirichlet calibration", NeurIPS 2019.

    Examples
    --------
    >>> from sklearn_lt.metrics import expected_calibration_error
    >>> y_true = [0, 1, 1, 1]
    >>> y_proba = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.2, 0.8]]
    >>> round(expected_calibration_error(y_true, y_proba, n_bins=5), 4)
    0.275
    """
    onehot, proba, _ = _proba_matrix(y_true, y_proba, labels)
    if sample_weight is None:
        weight = np.ones(len(proba))
    else:
        weight = column_or_1d(sample_weight).astype(np.float64)
        check_consistent_length(proba, weight)
    if kind == "top_label":
        top = np.argmax(proba, axis=1)
        rows = np.arange(len(proba))
        return _binned_gap(proba[rows, top], onehot[rows, top], weight, n_bins)
    gaps = [
        _binned_gap(proba[:, k], onehot[:, k], weight, n_bins)
        for k in range(proba.shape[1])
    ]
    return float(np.mean(gaps))
