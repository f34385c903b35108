"""Long-tailed datasets: subsampling profiles, a bundled demo set, a generator.

The long-tail profiles are the two used by Cao et al. (2019) [1]_ to build
CIFAR-10-LT and CIFAR-100-LT from balanced data:

* ``"exponential"``: the class of index ``i`` (labels in sorted order, starting
  at 0) keeps ``floor(n_max * imbalance_ratio ** (-i / (n_classes - 1)))``
  examples, so the first class keeps ``n_max`` and the last one
  ``n_max / imbalance_ratio``;
* ``"step"``: the first ``ceil(n_classes / 2)`` classes keep ``n_max`` examples
  and the remaining ``floor(n_classes / 2)`` keep
  ``floor(n_max / imbalance_ratio)``.

Every class keeps at least one example.

References
----------
.. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning Imbalanced
   Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = [
    "load_digits_lt",
    "long_tail_counts",
    "make_long_tailed",
    "make_long_tailed_classification",
]

_PROFILES = ("exponential", "step")

# Relative slack for the floor: in floating point ``49 * 49 ** -1.0`` is
# 0.9999999999999999, which a plain floor would turn into 0 instead of 1.
_FLOOR_SLACK = 1e-9


def _profile_fractions(n_classes, imbalance_ratio, profile):
    """Return each class's size relative to the largest one (first is 1.0)."""
    index = np.arange(n_classes)
    if profile == "exponential":
        return float(imbalance_ratio) ** (-index / (n_classes - 1))
    n_head = n_classes - n_classes // 2  # ceil(n_classes / 2)
    return np.where(index < n_head, 1.0, 1.0 / imbalance_ratio)


def _check_n_classes(n_classes):
    if n_classes < 2:
        raise ValueError(
            "A long-tailed profile needs at least two classes; got "
            f"n_classes={n_classes}."
        )


@validate_params(
    {
        "n_max": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "profile": [StrOptions(set(_PROFILES))],
    },
    prefer_skip_nested_validation=True,
)
def long_tail_counts(n_max, n_classes, imbalance_ratio, profile):
    """Number of examples per class of a long-tailed profile.

    Parameters
    ----------
    n_max : int
        Size of the largest (first) class.

    n_classes : int
        Number of classes, at least 2.

    imbalance_ratio : float
        Ratio of the largest to the smallest class size, at least 1.

    profile : {"exponential", "step"}
        ``"exponential"``: class ``i`` (``i = 0, ..., n_classes - 1``) gets
        ``floor(n_max * imbalance_ratio ** (-i / (n_classes - 1)))``.
        ``"step"``: the first ``ceil(n_classes / 2)`` classes get ``n_max`` and
        the others ``floor(n_max / imbalance_ratio)``.
        Every count is at least 1, so when ``n_max < imbalance_ratio`` the
        realised ratio is smaller than asked.

    Returns
    -------
    counts : ndarray of shape (n_classes,), dtype int
        Non-increasing class sizes, the first equal to ``n_max``.

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019.

    Examples
    --------
    >>> from sklearn_lt.datasets import long_tail_counts
    >>> long_tail_counts(500, 5, 100, "exponential").tolist()
    [500, 158, 50, 15, 5]
    >>> long_tail_counts(500, 5, 100, "step").tolist()
    [500, 500, 500, 5, 5]
    """
    _check_n_classes(n_classes)
    sizes = n_max * _profile_fractions(n_classes, imbalance_ratio, profile)
    counts = np.floor(sizes * (1 + _FLOOR_SLACK)).astype(np.int64)
    return np.maximum(counts, 1)


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "profile": [StrOptions(set(_PROFILES))],
        "return_indices": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_long_tailed(
    X,
    y,
    imbalance_ratio=100,
    profile="exponential",
    *,
    return_indices=False,
    random_state=None,
):
    """Subsample a (roughly) balanced dataset to a long-tailed class profile.

    Classes are ranked in sorted label order: the first label becomes the
    largest (head) class and the last label the smallest (tail) class. The
    head size ``n_max`` is the size of the *smallest* class in ``y``, so that
    every class has enough examples for its share of the profile; on a
    balanced dataset this is simply the class size. The per-class counts are
    :func:`long_tail_counts` ``(n_max, n_classes, imbalance_ratio, profile)``
    and each class's examples are drawn without replacement.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Features. A pandas DataFrame stays a DataFrame, a sparse matrix stays
        sparse (rows are taken with :func:`sklearn.utils._safe_indexing`).

    y : array-like of shape (n_samples,)
        Class labels, at least two distinct classes.

    imbalance_ratio : float, default=100
        Ratio of the largest to the smallest class size, at least 1. With 1 a
        balanced dataset comes back with the same rows.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the profile; see :func:`long_tail_counts`.

    return_indices : bool, default=False
        If True, return the (sorted) indices of the kept rows instead of the
        data.

    random_state : int, RandomState instance or None, default=None
        Controls which examples are kept. Pass an int for reproducible output.

    Returns
    -------
    X_lt : {ndarray, DataFrame, sparse matrix} of shape (n_kept, n_features)
        The kept rows, in their original order. Only if ``return_indices`` is
        False.

    y_lt : {ndarray, Series} of shape (n_kept,)
        Their labels. Only if ``return_indices`` is False.

    indices : ndarray of shape (n_kept,)
        Sorted positions of the kept rows. Only if ``return_indices`` is True.

    See Also
    --------
    long_tail_counts : The per-class counts.
    load_digits_lt : A small long-tailed training set with a balanced test set.

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.datasets import make_long_tailed
    >>> X = np.arange(200).reshape(-1, 1)
    >>> y = np.repeat([0, 1, 2, 3], 50)
    >>> X_lt, y_lt = make_long_tailed(X, y, imbalance_ratio=10, random_state=0)
    >>> np.bincount(y_lt).tolist()
    [50, 23, 10, 5]
    """
    check_consistent_length(X, y)
    labels = column_or_1d(y, warn=True)
    classes, class_sizes = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(
            "make_long_tailed needs at least two classes in y; got "
            f"{len(classes)} ({classes.tolist()})."
        )
    counts = long_tail_counts(
        int(class_sizes.min()), len(classes), imbalance_ratio, profile
    )
    rng = check_random_state(random_state)
    kept = [
        rng.choice(np.flatnonzero(labels == label), size=count, replace=False)
        for label, count in zip(classes, counts, strict=True)
    ]
    indices = np.sort(np.concatenate(kept))
    if return_indices:
        return indices
    return _safe_indexing(X, indices), _safe_indexing(y, indices)


@validate_params(
    {
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "profile": [StrOptions(set(_PROFILES))],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def load_digits_lt(
    imbalance_ratio=20, profile="exponential", *, test_size=0.3, random_state=0
):
    """Long-tailed training set and balanced test set from the digits data.

    Uses scikit-learn's bundled ``load_digits`` (1797 8x8 images of the ten
    digits, 64 features with values 0 to 16; nothing is downloaded). Steps:

    1. every class is subsampled to the size of the smallest one (174), so
       the data are exactly balanced;
    2. a stratified train/test split with ``round(test_size * 174)`` test
       examples per class, so the test set is exactly balanced;
    3. the training part is made long-tailed by :func:`make_long_tailed`
       (digit 0 is the head class, digit 9 the tail).

    Parameters
    ----------
    imbalance_ratio : float, default=20
        Ratio of the largest to the smallest training class, at least 1.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the training profile; see :func:`long_tail_counts`.

    test_size : float, default=0.3
        Fraction of each (balanced) class held out for testing, in (0, 1).

    random_state : int, RandomState instance or None, default=0
        Controls the balancing, the split and the subsampling.

    Returns
    -------
    X_train : ndarray of shape (n_train, 64), dtype float64
        Long-tailed training features.

    X_test : ndarray of shape (n_test, 64), dtype float64
        Balanced test features.

    y_train : ndarray of shape (n_train,), dtype int
        Training labels (0 to 9).

    y_test : ndarray of shape (n_test,), dtype int
        Test labels, the same number of each digit.

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.datasets import load_digits_lt
    >>> X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=20)
    >>> X_train.shape, X_test.shape
    ((411, 64), (520, 64))
    >>> np.bincount(y_train).tolist()
    [122, 87, 62, 44, 32, 23, 16, 11, 8, 6]
    >>> np.bincount(y_test).tolist()
    [52, 52, 52, 52, 52, 52, 52, 52, 52, 52]
    """
    rng = check_random_state(random_state)
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64)
    classes, class_sizes = np.unique(y, return_counts=True)
    n_per_class = int(class_sizes.min())
    balanced = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y == label), n_per_class, replace=False)
                for label in classes
            ]
        )
    )
    X, y = X[balanced], y[balanced]
    n_test_per_class = int(round(test_size * n_per_class))
    if not 1 <= n_test_per_class < n_per_class:
        raise ValueError(
            f"test_size={test_size} leaves {n_test_per_class} of {n_per_class} "
            "examples per class for testing; it must leave at least one for "
            "testing and one for training."
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=n_test_per_class * len(classes),
        stratify=y,
        random_state=rng,
    )
    X_train, y_train = make_long_tailed(
        X_train, y_train, imbalance_ratio, profile, random_state=rng
    )
    return X_train, X_test, y_train, y_test


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "profile": [StrOptions(set(_PROFILES))],
        "n_informative": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_long_tailed_classification(
    n_samples=1000,
    n_features=20,
    n_classes=10,
    imbalance_ratio=100,
    profile="exponential",
    *,
    n_informative=None,
    random_state=None,
    **kwargs,
):
    """Generate a long-tailed classification problem of any size.

    A thin layer over :func:`sklearn.datasets.make_classification`: the class
    weights follow the long-tail profile (class 0 is the head, class
    ``n_classes - 1`` the tail), and ``n_samples`` examples are drawn in
    total. ``make_classification`` rounds each cluster's share down and hands
    the remainder to the first clusters, so the counts follow
    :func:`long_tail_counts` up to a few examples, and the tail is never
    inflated by the rounding.

    Parameters
    ----------
    n_samples : int, default=1000
        Total number of examples.

    n_features : int, default=20
        Total number of features.

    n_classes : int, default=10
        Number of classes, at least 2.

    imbalance_ratio : float, default=100
        Ratio of the largest to the smallest class weight, at least 1.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the profile; see :func:`long_tail_counts`.

    n_informative : int, default=None
        Number of informative features. None picks the smallest number that
        ``make_classification`` accepts, ``ceil(log2(n_classes *
        n_clusters_per_class))`` and at least 2.

    random_state : int, RandomState instance or None, default=None
        Passed to ``make_classification``.

    **kwargs : dict
        Other arguments of ``make_classification`` (``class_sep``,
        ``n_redundant``, ``n_clusters_per_class``, ``flip_y``...). Its
        defaults apply, including ``flip_y=0.01``: 1% of the labels are
        redrawn uniformly at random, which shifts the smallest classes by an
        example or so; pass ``flip_y=0`` to follow the profile closely.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features.

    y : ndarray of shape (n_samples,)
        Integer labels, class 0 the most frequent.

    Raises
    ------
    ValueError
        If there are fewer examples than classes, or too few for the tail
        classes to get any.

    References
    ----------
    .. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga and T. Ma, "Learning
       Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
       NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.datasets import make_long_tailed_classification
    >>> X, y = make_long_tailed_classification(
    ...     n_samples=1000, n_classes=5, imbalance_ratio=10, flip_y=0,
    ...     random_state=0)
    >>> X.shape
    (1000, 20)
    >>> np.bincount(y).tolist()
    [463, 261, 147, 83, 46]
    """
    _check_n_classes(n_classes)
    if n_samples < n_classes:
        raise ValueError(
            f"n_samples={n_samples} is smaller than n_classes={n_classes}: "
            "every class needs at least one example."
        )
    n_clusters_per_class = kwargs.get("n_clusters_per_class", 2)
    if n_informative is None:
        n_informative = max(2, int(np.ceil(np.log2(n_classes * n_clusters_per_class))))
    weights = _profile_fractions(n_classes, imbalance_ratio, profile)
    weights = weights / weights.sum()
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_classes=n_classes,
        weights=weights,
        random_state=random_state,
        **kwargs,
    )
    empty = np.flatnonzero(np.bincount(y, minlength=n_classes) == 0)
    if empty.size:
        raise ValueError(
            f"n_samples={n_samples} is too small for n_classes={n_classes} at "
            f"imbalance_ratio={imbalance_ratio}: classes {empty.tolist()} got "
            "no examples. Increase n_samples or lower imbalance_ratio."
        )
    return X, y
