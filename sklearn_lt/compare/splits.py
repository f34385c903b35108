"""The splits of a comparison: long-tailed training sets, untouched test sets.

:func:`digits_lt_split` stacks repeated long-tailed-train / balanced-test
splits of the bundled digits into one ``X, y`` with index splits;
:class:`LongTailedCV` makes the training folds of any splitter long-tailed
(the most frequent class of the data is the head) and leaves the test folds
as they are.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import column_or_1d

from ..datasets import _PROFILES, load_digits_lt, make_long_tailed

__all__ = [
    "LongTailedCV",
    "digits_lt_split",
]


@validate_params(
    {
        "imbalance_ratio": [Interval(Real, 1, None, closed="left")],
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "profile": [StrOptions(set(_PROFILES))],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def digits_lt_split(
    imbalance_ratio=20,
    n_splits=5,
    *,
    profile="exponential",
    test_size=0.3,
    random_state=0,
):
    """Repeated long-tailed-train / balanced-test splits of the digits data.

    Split ``r`` is :func:`sklearn_lt.datasets.load_digits_lt` with
    ``random_state + r`` (for an int ``random_state``): a long-tailed
    training set and an exactly balanced test set. The splits' data are
    stacked into one ``X, y`` and each split is given as indices into it, the
    form ``cv`` takes in :func:`compare` and
    :func:`~sklearn.model_selection.cross_validate`.

    Parameters
    ----------
    imbalance_ratio : float, default=20
        Ratio of the largest to the smallest training class.

    n_splits : int, default=5
        Number of independent splits.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the training profile.

    test_size : float, default=0.3
        Fraction of each (balanced) class held out for testing.

    random_state : int, RandomState instance or None, default=0
        Seed of the first split; the others use the next integers. A
        RandomState or None draws the seeds.

    Returns
    -------
    X : ndarray of shape (n_samples, 64)
        The stacked training and test sets of every split.

    y : ndarray of shape (n_samples,)
        Their labels (digits 0 to 9; 0 is the head class, 9 the tail).

    cv : list of (ndarray, ndarray)
        ``(train_indices, test_indices)`` of each split, indices into ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare import digits_lt_split
    >>> X, y, cv = digits_lt_split(imbalance_ratio=20, n_splits=2)
    >>> train, test = cv[0]
    >>> np.bincount(y[train]).tolist()
    [122, 87, 62, 44, 32, 23, 16, 11, 8, 6]
    >>> np.bincount(y[test]).tolist()
    [52, 52, 52, 52, 52, 52, 52, 52, 52, 52]
    """
    if isinstance(random_state, Integral):
        seeds = [int(random_state) + r for r in range(n_splits)]
    else:
        rng = check_random_state(random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_splits).tolist()
    X_parts, y_parts, cv = [], [], []
    offset = 0
    for seed in seeds:
        X_train, X_test, y_train, y_test = load_digits_lt(
            imbalance_ratio, profile, test_size=test_size, random_state=seed
        )
        n_train, n_test = len(y_train), len(y_test)
        train = np.arange(offset, offset + n_train)
        test = np.arange(offset + n_train, offset + n_train + n_test)
        cv.append((train, test))
        X_parts += [X_train, X_test]
        y_parts += [y_train, y_test]
        offset += n_train + n_test
    return np.concatenate(X_parts), np.concatenate(y_parts), cv


class LongTailedCV:
    """Cross-validation with long-tailed training folds.

    Wraps a splitter: each of its training folds is subsampled to a
    long-tailed profile by :func:`sklearn_lt.datasets.make_long_tailed`
    and the test folds are left as they are. The classes are ranked by their
    frequency in the whole of ``y`` (:func:`_head_first_order`): the most
    frequent class becomes the head, the rarest the tail, ties broken by
    label, so a balanced dataset ranks in sorted label order. On a balanced
    dataset this is the protocol of the long-tail literature: train on
    long-tailed data, test on balanced data.

    Parameters
    ----------
    cv : int, cross-validation generator or iterable, default=5
        The splitter to wrap, as ``cv`` in
        :func:`~sklearn.model_selection.cross_validate`; an int is a
        shuffled :class:`~sklearn.model_selection.StratifiedKFold` seeded by
        ``random_state``.

    imbalance_ratio : float, default=100
        Ratio of the largest to the smallest training class.

    profile : {"exponential", "step"}, default="exponential"
        Shape of the training profile.

    random_state : int, RandomState instance or None, default=None
        Controls the shuffling of an int ``cv`` and which training examples
        are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare import LongTailedCV
    >>> X = np.zeros((300, 1))
    >>> y = np.repeat([0, 1, 2], 100)
    >>> cv = LongTailedCV(cv=5, imbalance_ratio=10, random_state=0)
    >>> train, test = next(cv.split(X, y))
    >>> np.bincount(y[train]).tolist(), np.bincount(y[test]).tolist()
    ([80, 25, 8], [20, 20, 20])
    """

    def __init__(
        self, cv=5, imbalance_ratio=100, profile="exponential", random_state=None
    ):
        self.cv = cv
        self.imbalance_ratio = imbalance_ratio
        self.profile = profile
        self.random_state = random_state

    def _base_cv(self, y):
        if isinstance(self.cv, Integral):
            return StratifiedKFold(
                self.cv, shuffle=True, random_state=self.random_state
            )
        return check_cv(self.cv, y, classifier=True)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits (that of the wrapped splitter).

        Parameters
        ----------
        X, y, groups : object
            Passed to the wrapped splitter.

        Returns
        -------
        n_splits : int
        """
        return self._base_cv(y).get_n_splits(X, y, groups)

    def split(self, X, y, groups=None):
        """Yield ``(train, test)`` indices with long-tailed training folds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,)
            Class labels.
        groups : array-like of shape (n_samples,), default=None
            Passed to the wrapped splitter.

        Yields
        ------
        train : ndarray
            The kept training indices, sorted.
        test : ndarray
            The test indices of the wrapped splitter.
        """
        y = column_or_1d(y)
        rng = check_random_state(
            # a fresh generator per call, so repeated calls agree
            self.random_state
            if not isinstance(self.random_state, Integral)
            else np.random.RandomState(self.random_state)
        )
        # rank codes: 0 for the head class; make_long_tailed ranks labels in
        # sorted order, so it gets the codes instead of the labels
        order = _head_first_order(y)
        codes = np.empty(len(y), dtype=np.intp)
        for rank, label in enumerate(order):
            codes[y == label] = rank
        for train, test in self._base_cv(y).split(X, y, groups):
            keep = make_long_tailed(
                train.reshape(-1, 1),
                codes[train],
                self.imbalance_ratio,
                self.profile,
                return_indices=True,
                random_state=rng,
            )
            yield train[keep], test

    def __repr__(self):
        return (
            f"{type(self).__name__}(cv={self.cv!r}, "
            f"imbalance_ratio={self.imbalance_ratio!r}, "
            f"profile={self.profile!r}, random_state={self.random_state!r})"
        )


def _head_first_order(y):
    """The labels of ``y`` from the most to the least frequent, ties by label.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.

    Returns
    -------
    labels : ndarray
        Each label once; the head class first.

    Examples
    --------
    >>> from sklearn_lt.compare.splits import _head_first_order
    >>> _head_first_order(["b", "a", "c", "c", "a", "c"]).tolist()
    ['c', 'a', 'b']
    """
    labels, counts = np.unique(column_or_1d(y), return_counts=True)
    # np.unique sorts the labels; a stable sort by count keeps that order
    # among classes of equal size
    return labels[np.argsort(-counts, kind="stable")]
