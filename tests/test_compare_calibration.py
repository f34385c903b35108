"""Calibration in the comparison: Brier score and ECE at the training prior."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from sklearn_lt import LinearMarginClassifier
from sklearn_lt.compare import compare
from sklearn_lt.compare._markdown import display_table, probability_note
from sklearn_lt.compare.scoring import _training_prior_proba


def _ece_by_hand(y, proba, classes, n_bins=15):
    """Top-label ECE with bins (0, 1/B], ..., written out with a loop."""
    confidence = proba.max(axis=1)
    correct = classes[proba.argmax(axis=1)] == y
    total = 0.0
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        members = (confidence > low) & (confidence <= high)
        if b == 0:
            members |= confidence == 0
        if members.any():
            gap = abs(correct[members].mean() - confidence[members].mean())
            total += members.sum() / len(y) * gap
    return total


@pytest.mark.parametrize("n_classes", [2, 3])
def test_brier_and_ece_equal_hand_computed_values_on_the_same_folds(n_classes):
    X, y = make_classification(
        n_samples=240, n_classes=n_classes, n_informative=4, random_state=0
    )
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    model = LogisticRegression(max_iter=1000)
    _, per_split = compare([("lr", model)], X, y, cv=cv, return_per_split=True)
    classes = np.unique(y)
    for k, (train, test) in enumerate(cv):
        proba = clone(model).fit(X[train], y[train]).predict_proba(X[test])
        onehot = (y[test][:, None] == classes).astype(float)
        if n_classes == 2:
            brier = brier_score_loss(y[test], proba[:, 1])
            np.testing.assert_allclose(brier, np.mean((proba[:, 1] - y[test]) ** 2))
        else:  # the multi-class Brier score: squared distance to the one-hot
            brier = np.mean(np.sum((proba - onehot) ** 2, axis=1))
        np.testing.assert_allclose(per_split["brier_score"][k], brier, rtol=1e-9)
        np.testing.assert_allclose(
            per_split["calibration_error"][k],
            _ece_by_hand(y[test], proba, classes),
            rtol=1e-9,
        )


def test_closed_form_training_prior_probabilities_match_the_true_rate():
    # a skewed binary table (5% positives): balanced probabilities overshoot
    X, y = make_classification(
        n_samples=2000, weights=[0.95], flip_y=0.02, class_sep=0.8, random_state=1
    )
    train, test = np.arange(1000), np.arange(1000, 2000)
    model = LinearMarginClassifier("logit_adjusted", random_state=0)
    model.fit(X[train], y[train])
    true_rate = y[test].mean()
    raw = model.predict_proba(X[test])[:, 1].mean()
    calibrated = _training_prior_proba(model, X[test], np.array([0, 1]))[:, 1]
    # Bayes' rule by hand, tau = 1: P(1 | x) = p1 pi1 / (p0 pi0 + p1 pi1)
    p = model.predict_proba(X[test])
    pi = np.bincount(y[train]) / len(train)
    by_hand = p[:, 1] * pi[1] / (p[:, 0] * pi[0] + p[:, 1] * pi[1])
    np.testing.assert_allclose(calibrated, by_hand, rtol=1e-6)
    assert abs(calibrated.mean() - true_rate) < 0.25 * true_rate
    assert raw > 2 * true_rate  # the balanced probabilities do not
    # the decisions stay the balanced ones
    np.testing.assert_array_equal(
        model.predict(X[test]), model.predict_proba(X[test]).argmax(axis=1)
    )
    # and the comparison scores the calibrated ones: a lower Brier score
    table = compare([("la", model)], X, y, cv=[(train, test)], preprocess=False)
    raw_brier = brier_score_loss(y[test], model.predict_proba(X[test])[:, 1])
    assert table["brier_score_mean"][0] < raw_brier
    np.testing.assert_allclose(
        table["brier_score_mean"][0], brier_score_loss(y[test], calibrated)
    )
    assert table["probabilities"][0] == "training prior (closed form)"


def test_a_contender_without_predict_proba_gets_nan_and_n_a():
    X, y = make_classification(n_samples=90, random_state=0)
    table = compare([("svc", LinearSVC()), "logreg"], X, y, cv=3)
    row = table.set_index("contender").loc["svc"]
    assert np.isnan(row["brier_score_mean"]) and np.isnan(row["calibration_error_mean"])
    assert row["n_failed"] == 0 and np.isfinite(row["balanced_accuracy_mean"])
    display = display_table(table).set_index("contender")
    assert display.loc["svc", "Brier"] == "n/a"
    assert display.loc["logreg", "Brier"] != "n/a"
    note = probability_note(table)
    assert "Without predict_proba (n/a): svc." in note
    assert "predict_proba gives them" in note and "logreg" in note
