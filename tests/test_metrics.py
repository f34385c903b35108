"""Tests for sklearn_lt.metrics, against numbers computed by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV

from sklearn_lt.metrics import (
    embedding_compactness,
    expected_calibration_error,
    per_class_recall,
    shot_accuracy,
    worst_class_recall,
    worst_class_recall_scorer,
)

# Nine examples of three classes.
#   a: true at 0, 1;          predicted a at 0, 4, 7  -> recall 1/2, precision 1/3
#   b: true at 2, 3, 4;       predicted b at 1, 2, 3, 8 -> recall 2/3, precision 2/4
#   c: true at 5, 6, 7, 8;    predicted c at 5, 6     -> recall 2/4, precision 2/2
Y_TRUE = ["a", "a", "b", "b", "b", "c", "c", "c", "c"]
Y_PRED = ["a", "b", "b", "b", "a", "c", "c", "a", "b"]


def test_per_class_recall_matches_hand_computation():
    table = per_class_recall(Y_TRUE, Y_PRED, class_counts={"a": 100, "b": 30, "c": 5})
    assert list(table.columns) == [
        "class",
        "train_count",
        "support",
        "recall",
        "precision",
    ]
    assert table["class"].tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(table["train_count"], [100, 30, 5])
    np.testing.assert_array_equal(table["support"], [2, 3, 4])
    np.testing.assert_allclose(table["recall"], [1 / 2, 2 / 3, 2 / 4])
    np.testing.assert_allclose(table["precision"], [1 / 3, 2 / 4, 2 / 2])


def test_per_class_recall_without_counts_has_nan_train_count():
    table = per_class_recall(Y_TRUE, Y_PRED)
    assert table["train_count"].isna().all()
    np.testing.assert_allclose(table["recall"], [1 / 2, 2 / 3, 2 / 4])


def test_per_class_recall_with_array_counts_aligned_with_sorted_labels():
    table = per_class_recall(Y_TRUE, Y_PRED, class_counts=[100, 30, 5])
    np.testing.assert_array_equal(table["train_count"], [100, 30, 5])
    with pytest.raises(ValueError, match="class_counts has 2 entries"):
        per_class_recall(Y_TRUE, Y_PRED, class_counts=[100, 30])


def test_per_class_recall_rows_are_sorted_and_undefined_values_are_nan():
    # Label "d" has no true and no predicted example: recall and precision
    # are undefined; "z" appears only in y_pred, so its precision is 0/1.
    y_pred = [*Y_PRED[:-1], "z"]
    table = per_class_recall(
        Y_TRUE, y_pred, labels=["z", "d", "c", "b", "a"], class_counts={"a": 100}
    )
    assert table["class"].tolist() == ["a", "b", "c", "d", "z"]
    np.testing.assert_array_equal(table["support"], [2, 3, 4, 0, 0])
    np.testing.assert_array_equal(table["train_count"], [100, *[np.nan] * 4])
    assert np.isnan(table.loc[3, "recall"]) and np.isnan(table.loc[3, "precision"])
    assert table.loc[4, "precision"] == 0.0
    # b loses its false positive at position 8: precision 2/3.
    assert table.loc[1, "precision"] == pytest.approx(2 / 3)


def test_per_class_recall_default_labels_include_dict_keys_and_predictions():
    table = per_class_recall([0, 1], [0, 2], class_counts={0: 10, 1: 5, 3: 1})
    assert table["class"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(table["train_count"], [10, 5, np.nan, 1])


# Training counts on the group boundaries (defaults: many > 100, few < 20):
#   class 0: 150 many, class 4: 101 many, class 1: 100 medium,
#   class 2: 20 medium, class 3: 19 few.
COUNTS = {0: 150, 1: 100, 2: 20, 3: 19, 4: 101}
#                 0  0  1  1  2  2  3  3  4  4
SHOT_TRUE = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
SHOT_PRED = [0, 0, 1, 0, 2, 0, 0, 0, 4, 1]
# Per-class recall: 0 -> 1.0, 1 -> 0.5, 2 -> 0.5, 3 -> 0.0, 4 -> 0.5.
# many = mean(1.0, 0.5) = 0.75, medium = mean(0.5, 0.5) = 0.5, few = 0.0.


def test_shot_accuracy_matches_hand_computation_at_the_boundaries():
    scores = shot_accuracy(SHOT_TRUE, SHOT_PRED, COUNTS)
    assert scores == {"many_shot": 0.75, "medium_shot": 0.5, "few_shot": 0.0}
    assert all(type(value) is float for value in scores.values())


def test_shot_accuracy_with_array_counts_and_custom_thresholds():
    counts = [150, 100, 20, 19, 101]  # aligned with the sorted labels 0..4
    assert shot_accuracy(SHOT_TRUE, SHOT_PRED, counts) == shot_accuracy(
        SHOT_TRUE, SHOT_PRED, COUNTS
    )
    # many > 100: {0}; 19 <= n <= 100: {1, 2, 3}; few < 19: none.
    scores = shot_accuracy(SHOT_TRUE, SHOT_PRED, counts, many_shot=101, few_shot=19)
    assert scores["many_shot"] == 1.0
    assert scores["medium_shot"] == pytest.approx((0.5 + 0.5 + 0.0 + 0.5) / 4)
    assert np.isnan(scores["few_shot"])


def test_shot_accuracy_of_one_group_is_balanced_accuracy():
    counts = dict.fromkeys(range(5), 1000)
    scores = shot_accuracy(SHOT_TRUE, SHOT_PRED, counts)
    assert scores["many_shot"] == pytest.approx(
        balanced_accuracy_score(SHOT_TRUE, SHOT_PRED)
    )
    assert np.isnan(scores["medium_shot"]) and np.isnan(scores["few_shot"])


def test_shot_accuracy_skips_classes_without_test_examples():
    # Class 5 (few-shot) never occurs in y_true: the few group keeps only 3.
    scores = shot_accuracy(SHOT_TRUE, SHOT_PRED, {**COUNTS, 5: 2})
    assert scores["few_shot"] == 0.0


def test_shot_accuracy_errors():
    with pytest.raises(ValueError, match=r"labels \[4\] without a training count"):
        shot_accuracy(SHOT_TRUE, SHOT_PRED, {k: COUNTS[k] for k in range(4)})
    with pytest.raises(ValueError, match="class_counts has 4 entries"):
        shot_accuracy(SHOT_TRUE, SHOT_PRED, [150, 100, 20, 19])
    with pytest.raises(ValueError, match="few_shot=50 must not be larger"):
        shot_accuracy(SHOT_TRUE, SHOT_PRED, COUNTS, many_shot=10, few_shot=50)


def test_worst_class_recall_matches_hand_computation():
    # Recalls: a 1/2, b 2/3, c 2/4 -> minimum 0.5.
    assert worst_class_recall(Y_TRUE, Y_PRED) == 0.5
    # Restricted to b: 2/3; label "d" has no true examples and is skipped.
    assert worst_class_recall(Y_TRUE, Y_PRED, labels=["b", "d"]) == pytest.approx(2 / 3)
    assert worst_class_recall(Y_TRUE, Y_TRUE) == 1.0
    # A class never predicted right: recall 0.
    assert worst_class_recall([0, 0, 1], [0, 0, 0]) == 0.0


def test_worst_class_recall_scorer_in_grid_search():
    rng = np.random.RandomState(0)
    # Class 1 is rare and shifted: unweighted logistic regression misses much
    # of it, class_weight="balanced" raises its recall.
    X = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(1.5, 1, (20, 2))]
    y = np.r_[np.zeros(300, int), np.ones(20, int)]
    search = GridSearchCV(
        LogisticRegression(),
        {"class_weight": [None, "balanced"]},
        scoring=worst_class_recall_scorer,
        cv=4,
    ).fit(X, y)
    assert search.best_params_ == {"class_weight": "balanced"}
    model = search.best_estimator_
    assert worst_class_recall_scorer(model, X, y) == worst_class_recall(
        y, model.predict(X)
    )


def test_embedding_compactness_matches_hand_computation():
    embeddings = np.array(
        [[1, 0], [0, 1], [3, 0], [-3, 0], [0, 2], [0, 4], [5, 5]], dtype=float
    )
    y = np.array(["a", "a", "b", "b", "c", "c", "d"])
    compact = embedding_compactness(embeddings, y)
    # a: mean (0.5, 0.5), both at distance sqrt(0.5) = 0.7071.
    # b: normalised to (1, 0) and (-1, 0), mean 0, distances 1.
    # c: both normalise to (0, 1): distance 0. d: a single example: 0.
    assert isinstance(compact, pd.Series)
    assert compact.name == "compactness"
    assert compact.index.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(compact, [np.sqrt(0.5), 1.0, 0.0, 0.0])

    raw = embedding_compactness(embeddings, y, normalize=False)
    # b: mean 0, distances 3. c: mean (0, 3), distances 1.
    np.testing.assert_allclose(raw, [np.sqrt(0.5), 3.0, 1.0, 0.0])


def test_embedding_compactness_of_normalised_embeddings_is_scale_free():
    rng = np.random.RandomState(0)
    embeddings = rng.normal(size=(40, 3))
    y = rng.randint(0, 3, size=40)
    scale = rng.uniform(0.1, 10, size=(40, 1))
    pd.testing.assert_series_equal(
        embedding_compactness(embeddings, y),
        embedding_compactness(embeddings * scale, y),
    )
    assert (embedding_compactness(embeddings, y) <= 1).all()


def test_embedding_compactness_checks_lengths():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        embedding_compactness(np.zeros((3, 2)), [0, 1])


# Four rows, two classes; top-label confidences 0.9 (right), 0.8 (right),
# 0.6 (wrong: class 0 predicted, 1 true), 0.8 (right). With 5 bins:
#   (0.8, 1.0]: 0.9          -> |1 - 0.9|            = 0.1
#   (0.6, 0.8]: 0.8, 0.8     -> |2 - 1.6|            = 0.4  (sums over rows)
#   (0.4, 0.6]: 0.6          -> |0 - 0.6|            = 0.6
# ECE = (0.1 + 0.4 + 0.6) / 4 = 0.275
ECE_Y = [0, 1, 1, 1]
ECE_P = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.2, 0.8]]


def test_top_label_ece_matches_hand_computation():
    assert expected_calibration_error(ECE_Y, ECE_P, n_bins=5) == pytest.approx(0.275)


def test_top_label_ece_with_one_bin_is_gap_between_accuracy_and_confidence():
    # One bin: |accuracy - mean confidence| = |3/4 - 3.1/4|.
    assert expected_calibration_error(ECE_Y, ECE_P, n_bins=1) == pytest.approx(0.1 / 4)


def test_classwise_ece_matches_hand_computation():
    # Class 0 probabilities 0.9, 0.2, 0.6, 0.2 against outcomes 1, 0, 0, 0:
    #   (0.8, 1]: |1 - 0.9| = 0.1; (0.4, 0.6]: |0 - 0.6| = 0.6;
    #   (0, 0.2]: |0 - 0.4| = 0.4  -> 1.1 / 4
    # Class 1 probabilities 0.1, 0.8, 0.4, 0.8 against outcomes 0, 1, 1, 1:
    #   (0, 0.2]: 0.1; (0.6, 0.8]: |2 - 1.6| = 0.4; (0.2, 0.4]: |1 - 0.4| = 0.6
    #   -> 1.1 / 4
    value = expected_calibration_error(ECE_Y, ECE_P, n_bins=5, kind="classwise")
    assert value == pytest.approx(1.1 / 4)


def test_ece_is_zero_when_frequencies_match_confidences():
    # In the bin (0.6, 0.8], 7 of 10 rows at confidence 0.7 are right.
    y_true = [1] * 7 + [0] * 3
    proba = [[0.3, 0.7]] * 10
    assert expected_calibration_error(y_true, proba, n_bins=10) == pytest.approx(0)


def test_ece_binary_1d_probabilities_and_string_labels():
    one_d = [0.1, 0.8, 0.4, 0.8]
    labels_2d = expected_calibration_error(ECE_Y, ECE_P, n_bins=5)
    assert expected_calibration_error(ECE_Y, one_d, n_bins=5) == labels_2d
    y_str = np.array(["no", "yes", "yes", "yes"])
    assert expected_calibration_error(y_str, ECE_P, n_bins=5) == labels_2d


def test_ece_sample_weight_equals_repeating_rows():
    weighted = expected_calibration_error(
        ECE_Y, ECE_P, n_bins=5, sample_weight=[2, 1, 1, 3]
    )
    repeated = expected_calibration_error(
        [0, 0, 1, 1, 1, 1, 1],
        [ECE_P[0]] * 2 + [ECE_P[1], ECE_P[2]] + [ECE_P[3]] * 3,
        n_bins=5,
    )
    assert weighted == pytest.approx(repeated)


def test_ece_rejects_misaligned_columns_and_unknown_labels():
    with pytest.raises(ValueError, match="y_proba has 2 columns but there are 3"):
        expected_calibration_error([0, 1, 2], [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match=r"y_true has labels \[5\]"):
        expected_calibration_error([0, 5], [[0.5, 0.5]] * 2, labels=[0, 1])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        expected_calibration_error([0, 1], [[1.5, -0.5]] * 2)


def test_sklearn_brier_score_loss_is_the_multiclass_brier_score():
    # The metrics module documents brier_score_loss(..., scale_by_half=False)
    # as mean_i sum_k (p_ik - [y_i = k])^2; check that reading by hand.
    from sklearn.metrics import brier_score_loss

    y_true = [0, 2, 1]
    proba = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]]
    # rows: 0.09 + 0.04 + 0.01; 0.01 + 0.09 + 0.16; 0.04 + 0.64 + 0.36
    expected = (0.14 + 0.26 + 1.04) / 3
    assert brier_score_loss(
        y_true, proba, labels=[0, 1, 2], scale_by_half=False
    ) == pytest.approx(expected)
