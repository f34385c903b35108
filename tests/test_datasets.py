"""Tests for sklearn_lt.datasets."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_lt.datasets import (
    load_digits_lt,
    long_tail_counts,
    make_long_tailed,
    make_long_tailed_classification,
)


def balanced_data(n_per_class=50, n_classes=4, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    rng.shuffle(y)
    X = rng.normal(size=(len(y), 3))
    return X, y


@given(
    n_max=st.integers(1, 3000),
    n_classes=st.integers(2, 40),
    imbalance_ratio=st.integers(1, 500),
)
@settings(max_examples=200, deadline=None)
def test_exponential_counts_are_the_exact_floor_of_the_formula(
    n_max, n_classes, imbalance_ratio
):
    # n_i = floor(n_max * r ** (-i / (K - 1))) is the integer c with
    # c ** (K-1) * r ** i <= n_max ** (K-1) < (c + 1) ** (K-1) * r ** i,
    # checked here in exact integer arithmetic; a 0 is raised to 1.
    counts = long_tail_counts(n_max, n_classes, imbalance_ratio, "exponential")
    k = n_classes - 1
    assert counts.shape == (n_classes,)
    for i, count in enumerate(counts.tolist()):
        assert n_max**k < (count + 1) ** k * imbalance_ratio**i
        if count > 1:
            assert count**k * imbalance_ratio**i <= n_max**k
    assert counts[0] == n_max
    assert counts[-1] == max(1, n_max // imbalance_ratio)
    assert np.all(np.diff(counts) <= 0)


@pytest.mark.parametrize(
    "n_max, n_classes, imbalance_ratio, expected",
    [
        # CIFAR-10-LT with ratio 100: 5000 * 100 ** (-i / 9).
        (5000, 10, 100, [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]),
        (1000, 4, 1000, [1000, 100, 10, 1]),  # exact powers of 10
        (49, 2, 49, [49, 1]),  # 49 * 49 ** -1.0 is 0.99999... in floating point
        (10, 3, 1000, [10, 1, 1]),  # 10 / 31.6 and 10 / 1000 raised to 1
        (7, 5, 1, [7, 7, 7, 7, 7]),
    ],
)
def test_exponential_counts_examples(n_max, n_classes, imbalance_ratio, expected):
    counts = long_tail_counts(n_max, n_classes, imbalance_ratio, "exponential")
    assert counts.tolist() == expected


@pytest.mark.parametrize(
    "n_max, n_classes, imbalance_ratio, expected",
    [
        (500, 4, 100, [500, 500, 5, 5]),
        (500, 5, 100, [500, 500, 500, 5, 5]),  # odd: the head has ceil(5 / 2)
        (500, 2, 10, [500, 50]),
        (30, 3, 100, [30, 30, 1]),  # 30 / 100 raised to 1
    ],
)
def test_step_counts(n_max, n_classes, imbalance_ratio, expected):
    counts = long_tail_counts(n_max, n_classes, imbalance_ratio, "step")
    assert counts.tolist() == expected


@pytest.mark.parametrize("profile", ["exponential", "step"])
def test_make_long_tailed_follows_the_profile_in_sorted_label_order(profile):
    X, y = balanced_data(n_per_class=60, n_classes=5)
    labels = np.array(["v", "w", "x", "y", "z"])[y]
    X_lt, y_lt = make_long_tailed(X, labels, 12, profile, random_state=0)
    classes, counts = np.unique(y_lt, return_counts=True)
    assert classes.tolist() == ["v", "w", "x", "y", "z"]
    assert counts.tolist() == long_tail_counts(60, 5, 12, profile).tolist()
    # Every kept row is a row of X with its own label.
    rows = {tuple(row): label for row, label in zip(X, labels)}
    assert all(rows[tuple(row)] == label for row, label in zip(X_lt, y_lt))


def test_make_long_tailed_uses_the_smallest_class_as_head_size():
    X, y = balanced_data(n_per_class=50, n_classes=3)
    keep = np.r_[np.flatnonzero(y != 2), np.flatnonzero(y == 2)[:40]]
    counts = np.bincount(make_long_tailed(X[keep], y[keep], 4, random_state=0)[1])
    # n_max = 40: 40, 40 / 2 = 20, 40 / 4 = 10.
    assert counts.tolist() == [40, 20, 10]


def test_ratio_one_on_balanced_data_returns_the_data_unchanged():
    X, y = balanced_data()
    indices = make_long_tailed(X, y, 1, return_indices=True, random_state=0)
    np.testing.assert_array_equal(indices, np.arange(len(y)))
    X_lt, y_lt = make_long_tailed(X, y, 1, "step", random_state=0)
    np.testing.assert_array_equal(X_lt, X)
    np.testing.assert_array_equal(y_lt, y)


def test_make_long_tailed_is_deterministic_under_random_state():
    X, y = balanced_data()
    first = make_long_tailed(X, y, 10, return_indices=True, random_state=3)
    second = make_long_tailed(X, y, 10, return_indices=True, random_state=3)
    other = make_long_tailed(X, y, 10, return_indices=True, random_state=4)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert np.all(np.diff(first) > 0)  # sorted, no duplicates


def test_make_long_tailed_preserves_pandas_and_sparse_containers():
    X, y = balanced_data()
    frame = pd.DataFrame(X, columns=["p", "q", "r"], index=np.arange(len(y)) * 10)
    series = pd.Series(y, index=frame.index, name="target")
    X_lt, y_lt = make_long_tailed(frame, series, 5, random_state=0)
    indices = make_long_tailed(frame, series, 5, return_indices=True, random_state=0)
    assert isinstance(X_lt, pd.DataFrame) and isinstance(y_lt, pd.Series)
    assert X_lt.columns.tolist() == ["p", "q", "r"]
    pd.testing.assert_frame_equal(X_lt, frame.iloc[indices])
    pd.testing.assert_series_equal(y_lt, series.iloc[indices])

    X_sparse, _ = make_long_tailed(sp.csr_matrix(X), y, 5, random_state=0)
    assert sp.issparse(X_sparse)
    np.testing.assert_array_equal(X_sparse.toarray(), X[indices])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"imbalance_ratio": 0.5}, "imbalance_ratio"),
        ({"profile": "linear"}, "profile"),
    ],
)
def test_make_long_tailed_rejects_bad_arguments(kwargs, message):
    X, y = balanced_data()
    with pytest.raises(ValueError, match=message):
        make_long_tailed(X, y, **kwargs)


def test_make_long_tailed_rejects_a_single_class():
    with pytest.raises(ValueError, match="at least two classes"):
        make_long_tailed(np.zeros((5, 2)), np.zeros(5))


def test_long_tail_counts_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least two classes"):
        long_tail_counts(10, 1, 10, "exponential")
    with pytest.raises(ValueError, match="imbalance_ratio"):
        long_tail_counts(10, 3, 0.9, "exponential")


def test_load_digits_lt_shapes_and_balanced_test_set():
    X_train, X_test, y_train, y_test = load_digits_lt()
    # 174 examples per digit after balancing; round(0.3 * 174) = 52 for testing.
    assert X_test.shape == (520, 64) and y_test.shape == (520,)
    assert np.bincount(y_test).tolist() == [52] * 10
    expected = long_tail_counts(174 - 52, 10, 20, "exponential")
    assert np.bincount(y_train).tolist() == expected.tolist()
    assert X_train.shape == (expected.sum(), 64)
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64


def test_load_digits_lt_is_deterministic_and_configurable():
    first = load_digits_lt(random_state=1)
    second = load_digits_lt(random_state=1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    _, X_test, y_train, y_test = load_digits_lt(5, "step", test_size=0.5)
    assert np.bincount(y_test).tolist() == [87] * 10
    assert np.bincount(y_train).tolist() == [87] * 5 + [17] * 5


def test_make_long_tailed_classification_follows_the_profile():
    X, y = make_long_tailed_classification(
        n_samples=2000, n_classes=6, imbalance_ratio=20, flip_y=0, random_state=0
    )
    assert X.shape == (2000, 20)
    counts = np.bincount(y)
    weights = 20.0 ** (-np.arange(6) / 5)
    expected = 2000 * weights / weights.sum()
    # make_classification rounds per cluster (2 per class) and hands the
    # remainder to the first clusters: each class is off by a few at most.
    assert np.all(np.abs(counts - expected) <= 4)
    assert counts.sum() == 2000


def test_make_long_tailed_classification_rejects_too_few_samples():
    with pytest.raises(ValueError, match="smaller than n_classes"):
        make_long_tailed_classification(n_samples=5, n_classes=10)
    with pytest.raises(ValueError, match="too small"):
        make_long_tailed_classification(n_samples=100, n_classes=10, flip_y=0)
