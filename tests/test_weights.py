"""Tests for sklearn_lt.weights.

Expected values come from scikit-learn's ``compute_class_weight``, from the
formulas evaluated with plain Python floats, or from hand computations.
"""

import math

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from sklearn_lt.weights import (
    balanced_weights,
    compute_class_weights,
    effective_number_weights,
)

COUNT_CASES = [[30, 10], [5, 5, 5], [1000, 100, 10, 1], [10000, 1], [1], [7, 3, 2]]


def _y_from_counts(counts):
    return np.repeat(np.arange(len(counts)), counts)


def _ref_effective_number(counts, beta):
    """(1 - beta) / (1 - beta^n_k), normalised to sum to K (plain floats)."""
    raw = [(1.0 - beta) / (1.0 - beta**n) for n in counts]
    total = sum(raw)
    return [len(counts) * r / total for r in raw]


# --------------------------------------------------------------------------
# balanced_weights
# --------------------------------------------------------------------------
@pytest.mark.parametrize("counts", COUNT_CASES, ids=str)
def test_balanced_weights_equal_sklearn_compute_class_weight(counts):
    y = _y_from_counts(counts)
    expected = compute_class_weight("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(balanced_weights(counts), expected, rtol=1e-12)


def test_balanced_weights_hand_computed():
    # n = 40, K = 2: 40 / (2 * 30) = 2/3, 40 / (2 * 10) = 2.
    np.testing.assert_allclose(balanced_weights([30, 10]), [2 / 3, 2.0])
    # n = 6, K = 3: 6 / (3 * [1, 2, 3]) = [2, 1, 2/3].
    np.testing.assert_allclose(balanced_weights(np.array([1, 2, 3])), [2, 1, 2 / 3])


def test_balanced_weights_return_float_ndarray():
    out = balanced_weights([3, 1])
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == (2,)


# --------------------------------------------------------------------------
# effective_number_weights
# --------------------------------------------------------------------------
@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99, 0.999, 0.9999])
@pytest.mark.parametrize("counts", COUNT_CASES, ids=str)
def test_effective_number_weights_match_formula(counts, beta):
    out = effective_number_weights(counts, beta=beta)
    np.testing.assert_allclose(out, _ref_effective_number(counts, beta), rtol=1e-9)
    assert out.sum() == pytest.approx(len(counts))


def test_effective_number_weights_hand_computed():
    # beta = 0.5, counts [1, 2]: raw = [0.5 / 0.5, 0.5 / 0.75] = [1, 2/3];
    # normalised to sum 2: [1, 2/3] * 2 / (5/3) = [6/5, 4/5].
    np.testing.assert_allclose(effective_number_weights([1, 2], beta=0.5), [1.2, 0.8])


@pytest.mark.parametrize("counts", COUNT_CASES, ids=str)
def test_effective_number_weights_with_zero_beta_are_ones(counts):
    np.testing.assert_array_equal(
        effective_number_weights(counts, beta=0.0), np.ones(len(counts))
    )


def test_effective_number_weights_with_tiny_beta_approach_ones():
    np.testing.assert_allclose(
        effective_number_weights([1000, 10, 1], beta=1e-12), [1.0, 1.0, 1.0]
    )


def test_effective_number_weights_default_beta_is_0_9999():
    counts = [500, 20, 3]
    np.testing.assert_allclose(
        effective_number_weights(counts),
        _ref_effective_number(counts, 0.9999),
        rtol=1e-9,
    )


def test_effective_number_weights_approach_inverse_frequency_as_beta_tends_to_one():
    # As beta -> 1, (1 - beta) / (1 - beta^n) -> 1 / n, so w_j / w_k -> n_k / n_j.
    counts = [1000, 100, 10, 1]
    inverse_frequency_ratio = [counts[0] / n for n in counts]
    previous_error = math.inf
    for beta in [0.9, 0.99, 0.999, 0.9999, 1 - 1e-6, 1 - 1e-9]:
        out = effective_number_weights(counts, beta=beta)
        ratio = out / out[0]
        error = np.max(np.abs(ratio / inverse_frequency_ratio - 1))
        assert error < previous_error
        previous_error = error
    assert previous_error < 1e-5
    # Normalised to sum K, the limit is the balanced weights rescaled likewise.
    balanced = np.asarray(balanced_weights(counts))
    np.testing.assert_allclose(out, balanced * len(counts) / balanced.sum(), rtol=1e-5)


@pytest.mark.parametrize("beta", [0.9, 0.999])
def test_effective_number_weights_give_rarer_class_larger_weight(beta):
    out = effective_number_weights([1000, 100, 10, 1], beta=beta)
    assert np.all(np.diff(out) > 0)


def test_effective_number_weights_are_finite_for_extreme_imbalance():
    out = effective_number_weights([10**7, 1], beta=1 - 1e-12)
    assert np.all(np.isfinite(out))
    assert out[1] / out[0] == pytest.approx(1e7, rel=1e-3)


@pytest.mark.parametrize("beta", [1.0, -0.1, 1.5, math.nan, "0.9", None])
def test_effective_number_weights_reject_beta_outside_unit_interval(beta):
    with pytest.raises(ValueError, match="beta"):
        effective_number_weights([3, 1], beta=beta)


# --------------------------------------------------------------------------
# Count validation
# --------------------------------------------------------------------------
BAD_COUNTS = {
    "zero": [3, 0, 2],
    "negative": [3, -1],
    "nan": [3, math.nan],
    "inf": [math.inf, 1],
    "two_dimensional": [[1, 2], [3, 4]],
    "empty": [],
}


@pytest.mark.parametrize("name", list(BAD_COUNTS))
@pytest.mark.parametrize(
    "function",
    [balanced_weights, effective_number_weights],
    ids=["balanced", "effective_number"],
)
def test_bad_class_counts_raise_value_error(function, name):
    with pytest.raises(ValueError, match="class_counts|at least one"):
        function(BAD_COUNTS[name])


def test_zero_count_error_names_the_class_index():
    with pytest.raises(ValueError, match=r"class indices \[1\]"):
        balanced_weights([4, 0, 2])


# --------------------------------------------------------------------------
# compute_class_weights
# --------------------------------------------------------------------------
def test_compute_class_weights_none_gives_none():
    assert compute_class_weights(None, [3, 1]) is None


@pytest.mark.parametrize("counts", COUNT_CASES, ids=str)
def test_compute_class_weights_balanced_equals_sklearn(counts):
    y = _y_from_counts(counts)
    np.testing.assert_allclose(
        compute_class_weights("balanced", counts),
        compute_class_weight("balanced", classes=np.unique(y), y=y),
        rtol=1e-12,
    )


@pytest.mark.parametrize("beta", [0.9, 0.99])
def test_compute_class_weights_effective_number_passes_beta(beta):
    counts = [200, 20, 2]
    np.testing.assert_allclose(
        compute_class_weights("effective_number", counts, beta=beta),
        _ref_effective_number(counts, beta),
        rtol=1e-9,
    )


def test_compute_class_weights_dict_missing_labels_get_one():
    out = compute_class_weights({0: 2.0, 2: 0.5}, [3, 3, 3])
    np.testing.assert_array_equal(out, [2.0, 1.0, 0.5])
    assert out.dtype == np.float64


def test_compute_class_weights_dict_with_string_labels():
    out = compute_class_weights({"c": 5}, [1, 2, 3], classes=["a", "b", "c"])
    np.testing.assert_array_equal(out, [1.0, 1.0, 5.0])


def test_compute_class_weights_dict_follows_classes_order():
    out = compute_class_weights({10: 3.0, 30: 0.25}, [4, 5, 6], classes=[30, 10, 20])
    np.testing.assert_array_equal(out, [0.25, 3.0, 1.0])


def test_compute_class_weights_dict_equals_sklearn_for_full_dict():
    classes = np.array([2, 5, 7])
    class_weight = {2: 0.5, 5: 4.0, 7: 1.5}
    y = np.repeat(classes, [4, 2, 1])
    np.testing.assert_array_equal(
        compute_class_weights(class_weight, [4, 2, 1], classes=classes),
        compute_class_weight(class_weight, classes=classes, y=y),
    )


def test_compute_class_weights_dict_accepts_numpy_integer_keys():
    out = compute_class_weights({np.int64(1): 2.0}, [3, 3], classes=np.array([0, 1]))
    np.testing.assert_array_equal(out, [1.0, 2.0])


@pytest.mark.parametrize(
    ("class_weight", "classes"),
    [({3: 2.0}, None), ({"z": 1.0}, ["a", "b"]), ({0: 1.0, 5: 2.0}, [0, 1])],
)
def test_compute_class_weights_dict_with_unknown_label_raises(class_weight, classes):
    with pytest.raises(ValueError, match="not among the classes"):
        compute_class_weights(class_weight, [2, 2], classes=classes)


@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf])
def test_compute_class_weights_dict_rejects_negative_or_non_finite_values(value):
    with pytest.raises(ValueError, match="finite and >= 0"):
        compute_class_weights({0: value}, [2, 2])


@pytest.mark.parametrize("class_weight", ["Balanced", "auto", "", ["balanced"], 1.0])
def test_compute_class_weights_bad_specification_raises(class_weight):
    with pytest.raises(ValueError, match="class_weight must be"):
        compute_class_weights(class_weight, [2, 2])


def test_compute_class_weights_dict_validates_counts():
    with pytest.raises(ValueError, match="at least one"):
        compute_class_weights({0: 2.0}, [2, 0])
