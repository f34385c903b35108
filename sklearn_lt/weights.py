"""Class weights from per-class training counts.

Three ways to turn class counts ``n_k`` into per-class loss weights:

* ``"balanced"``: inverse frequency, ``n / (K * n_k)``, the same numbers as
  :func:`sklearn.utils.class_weight.compute_class_weight`;
* ``"effective_number"``: Cui et al. (2019) [1]_, ``(1 - beta) / (1 - beta ** n_k)``,
  normalised to sum to the number of classes ``K``;
* a dict ``{label: weight}`` (missing labels get weight 1, as in scikit-learn).

The deferred re-weighting (DRW) schedule of Cao et al. (2019) [2]_, no
weights before a given epoch and the class weights from it on, is the
callback :class:`sklearn_lt.net.DeferredReweighting`.

References
----------
.. [1] Y. Cui, M. Jia, T.-Y. Lin, Y. Song, S. Belongie, "Class-Balanced Loss
   Based on Effective Number of Samples", CVPR 2019.
.. [2] K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning Imbalanced
   Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019.
"""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

__all__ = [
    "balanced_weights",
    "compute_class_weights",
    "effective_number_weights",
]


# The logit-adjustment strength tau, one range for every estimator that
# takes it (the margin estimators, LogitAdjustedClassifier): tau = 0 is no
# adjustment, tau = 1 the balanced-error rule of Menon et al. (2021), whose
# grids stay within [0, 2]. Above 10 the offsets tau * log(prior) of a class
# with prior 1e-3 pass 69 logits and swamp what the model learned
# (tau=1e308 predicted the rarest class everywhere, issue 21).
TAU_CONSTRAINT = Interval(Real, 0, 10, closed="both")


def _check_counts(class_counts):
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"class_counts must be a non-empty 1-d array, got shape {counts.shape}."
        )
    if not np.all(np.isfinite(counts)):
        raise ValueError("class_counts must be finite.")
    if np.any(counts < 1):
        bad = np.flatnonzero(counts < 1).tolist()
        raise ValueError(
            "Every class needs at least one training example; class_counts "
            f"has counts below 1 at class indices {bad}."
        )
    return counts


def balanced_weights(class_counts):
    """Inverse-frequency class weights ``n / (K * n_k)``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of training examples of each class.

    Returns
    -------
    weights : ndarray of shape (n_classes,)
        The weights scikit-learn's ``class_weight="balanced"`` gives.

    Examples
    --------
    >>> balanced_weights([30, 10]).tolist()
    [0.6666666666666666, 2.0]
    """
    counts = _check_counts(class_counts)
    return counts.sum() / (counts.size * counts)


def effective_number_weights(class_counts, beta=0.9999):
    """Class-balanced weights from the effective number of samples.

    ``w_k = (1 - beta) / (1 - beta ** n_k)``, rescaled so that the weights sum
    to the number of classes (Cui et al., CVPR 2019).

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of training examples of each class.
    beta : float, default=0.9999
        Hyper-parameter in ``[0, 1)``. ``beta = 0`` gives equal weights; as
        ``beta`` tends to 1 the weights tend to inverse frequency.

    Returns
    -------
    weights : ndarray of shape (n_classes,)

    References
    ----------
    .. [1] Y. Cui et al., "Class-Balanced Loss Based on Effective Number of
       Samples", CVPR 2019.

    Examples
    --------
    >>> effective_number_weights([100, 100]).tolist()
    [1.0, 1.0]
    """
    if not isinstance(beta, Real) or not 0 <= beta < 1:
        raise ValueError(f"beta must be a float in [0, 1), got {beta!r}.")
    counts = _check_counts(class_counts)
    # 1 - beta**n computed as -expm1(n * log(beta)) keeps precision for beta
    # close to 1, where 1 - beta**n would lose most of its digits.
    if beta == 0:
        raw = np.ones_like(counts)
    else:
        raw = (1.0 - beta) / -np.expm1(counts * np.log(beta))
    return raw * (counts.size / raw.sum())


def compute_class_weights(class_weight, class_counts, classes=None, beta=0.9999):
    """Per-class weights for a loss from a ``class_weight`` specification.

    Parameters
    ----------
    class_weight : None, "balanced", "effective_number" or dict
        ``None`` gives ``None`` (no weighting). A dict maps labels (from
        ``classes``) to weights; labels not in the dict get weight 1.
    class_counts : array-like of shape (n_classes,)
        Training counts, aligned with ``classes``.
    classes : array-like of shape (n_classes,), default=None
        Labels aligned with ``class_counts``; needed for a dict.
    beta : float, default=0.9999
        ``beta`` of the effective-number weights.

    Returns
    -------
    weights : ndarray of shape (n_classes,) or None
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight == "balanced":
            return balanced_weights(class_counts)
        if class_weight == "effective_number":
            return effective_number_weights(class_counts, beta=beta)
        raise ValueError(
            "class_weight must be None, 'balanced', 'effective_number' or a "
            f"dict, got {class_weight!r}."
        )
    if isinstance(class_weight, dict):
        counts = _check_counts(class_counts)
        if classes is None:
            classes = np.arange(counts.size)
        classes = np.asarray(classes)
        if classes.ndim != 1 or classes.size != counts.size:
            raise ValueError(
                f"classes has shape {classes.shape} but class_counts has "
                f"{counts.size} entries; they must be aligned, one label per "
                "count."
            )
        if np.unique(classes).size != classes.size:
            raise ValueError(f"classes must be distinct, got {classes.tolist()}.")
        classes = classes.tolist()
        unknown = [label for label in class_weight if label not in classes]
        if unknown:
            raise ValueError(
                f"class_weight has labels {unknown} that are not among the "
                f"classes {classes}."
            )
        weights = np.array(
            [float(class_weight.get(label, 1.0)) for label in classes],
            dtype=np.float64,
        )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("class_weight values must be finite and >= 0.")
        return weights
    raise ValueError(
        "class_weight must be None, 'balanced', 'effective_number' or a dict, "
        f"got {class_weight!r}."
    )
