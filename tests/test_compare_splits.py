"""Tests of sklearn_lt.compare.splits: long-tailed training folds."""

import numpy as np
from sklearn.model_selection import StratifiedKFold

from sklearn_lt.compare import LongTailedCV, digits_lt_split
from sklearn_lt.compare.splits import _head_first_order
from sklearn_lt.datasets import long_tail_counts


def test_digits_lt_split_gives_long_tailed_train_and_balanced_test():
    X, y, cv = digits_lt_split(imbalance_ratio=10, n_splits=2, random_state=5)
    assert len(cv) == 2
    counts = long_tail_counts(174 - 52, 10, 10, "exponential")
    for train, test in cv:
        assert np.intersect1d(train, test).size == 0
        assert np.bincount(y[train]).tolist() == counts.tolist()
        assert np.bincount(y[test]).tolist() == [52] * 10
    # the two splits are drawn with different seeds
    assert not np.array_equal(X[cv[0][0]], X[cv[1][0]])
    X_again, y_again, _ = digits_lt_split(
        imbalance_ratio=10, n_splits=2, random_state=5
    )
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)


def test_long_tailed_cv_subsamples_training_folds_only():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2, 3], 50)
    X = rng.normal(size=(200, 2))
    base = StratifiedKFold(5, shuffle=True, random_state=0)
    cv = LongTailedCV(cv=base, imbalance_ratio=10, random_state=0)
    assert cv.get_n_splits(X, y) == 5
    expected_counts = long_tail_counts(40, 4, 10, "exponential").tolist()
    splits = list(cv.split(X, y))
    for (train, test), (base_train, base_test) in zip(splits, base.split(X, y)):
        np.testing.assert_array_equal(test, base_test)
        assert np.isin(train, base_train).all()
        assert np.all(np.diff(train) > 0)
        assert np.bincount(y[train]).tolist() == expected_counts
    # repeated calls agree
    for (a, _), (b, _) in zip(splits, cv.split(X, y)):
        np.testing.assert_array_equal(a, b)


def test_head_first_order_ranks_by_frequency_with_ties_by_label():
    y = np.array(["b"] * 5 + ["a"] * 2 + ["c"] * 5 + ["d"] * 2)
    assert _head_first_order(y).tolist() == ["b", "c", "a", "d"]
    assert _head_first_order([3, 1, 2]).tolist() == [1, 2, 3]


def test_long_tailed_cv_makes_the_most_frequent_class_the_head():
    # the wine table: the alphabetically first class is the rarest;
    # it must become the tail, not the head
    y = np.repeat(["a_rare", "b_common", "c_middle"], [12, 72, 24])
    X = np.zeros((len(y), 1))
    base = StratifiedKFold(4, shuffle=True, random_state=0)
    cv = LongTailedCV(cv=base, imbalance_ratio=3, random_state=0)
    for (train, _), (base_train, _) in zip(cv.split(X, y), base.split(X, y)):
        counts = {c: int(np.sum(y[train] == c)) for c in np.unique(y)}
        # make_long_tailed: head size = the smallest class in the fold
        n_max = min(int(np.sum(y[base_train] == c)) for c in np.unique(y))
        head, middle, tail = long_tail_counts(n_max, 3, 3, "exponential")
        assert counts == {"b_common": head, "c_middle": middle, "a_rare": tail}
        assert head > tail
