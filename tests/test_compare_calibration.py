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


def _skewed(seed=1, n=1200):
    return make_classification(
        n_samples=n, n_classes=3, n_informative=5, weights=[0.8, 0.15],
        flip_y=0.02, random_state=seed,
    )  # fmt: skip


def test_a_posthoc_adjuster_is_scored_on_its_inner_models_probabilities():
    from sklearn_lt import LogitAdjustedClassifier

    X, y = _skewed()
    train, test = np.arange(600), np.arange(600, 1200)
    adjusted = LogitAdjustedClassifier(LogisticRegression(max_iter=1000))
    adjusted.fit(X[train], y[train])
    plain = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    labels = np.unique(y)
    got = _training_prior_proba(adjusted, X[test], labels)
    np.testing.assert_allclose(got, plain.predict_proba(X[test]), atol=1e-10)
    # the adjusted (balanced) probabilities are not those
    assert np.abs(adjusted.predict_proba(X[test]) - got).max() > 0.1
    table = compare([("posthoc", adjusted)], X, y, cv=[(train, test)], preprocess=False)
    onehot = (y[test][:, None] == labels).astype(float)
    by_hand = np.mean(np.sum((plain.predict_proba(X[test]) - onehot) ** 2, axis=1))
    np.testing.assert_allclose(table["brier_score_mean"][0], by_hand, rtol=1e-9)
    assert table["probabilities"][0] == "training prior (closed form)"


def test_a_soft_vote_of_logit_adjusted_models_averages_their_training_prior_ones():
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_lt import LogitAdjustedClassifier

    X, y = _skewed(seed=2)
    train, test = np.arange(600), np.arange(600, 1200)
    members = [
        ("linear", LinearMarginClassifier("logit_adjusted", random_state=0)),
        ("posthoc", LogitAdjustedClassifier(LogisticRegression(max_iter=1000))),
    ]
    vote = make_pipeline(
        StandardScaler(), VotingClassifier(members, voting="soft", weights=[3, 1])
    ).fit(X[train], y[train])
    # each member by hand, on the scaled rows
    scaler = StandardScaler().fit(X[train])
    Z_train, Z_test = scaler.transform(X[train]), scaler.transform(X[test])
    linear = clone(members[0][1]).fit(Z_train, y[train])
    pi = np.bincount(y[train]) / len(train)
    p = linear.predict_proba(Z_test) * pi  # Bayes' rule, tau = 1
    linear_train_prior = p / p.sum(axis=1, keepdims=True)
    plain = LogisticRegression(max_iter=1000).fit(Z_train, y[train])
    expected = (3 * linear_train_prior + plain.predict_proba(Z_test)) / 4
    got = _training_prior_proba(vote, X[test], np.unique(y))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # the vote's own probabilities are the balanced ones: further from the
    # head class's rate than the training-prior ones; its decisions stay
    # their argmax
    assert np.abs(vote.predict_proba(X[test]) - got).max() > 0.1
    assert abs(got[:, 0].mean() - np.mean(y[test] == 0)) < abs(
        vote.predict_proba(X[test])[:, 0].mean() - np.mean(y[test] == 0)
    )
    np.testing.assert_array_equal(
        vote.predict(X[test]), vote.predict_proba(X[test]).argmax(axis=1)
    )


def test_probability_sources_of_adjusters_and_votes():
    from sklearn.ensemble import VotingClassifier

    from sklearn_lt import LogitAdjustedClassifier, LogitAdjustedClassifierCV
    from sklearn_lt.compare.scoring import _probability_source

    closed = "training prior (closed form)"
    as_given = "predict_proba as given"
    lr = LogisticRegression()
    la = LinearMarginClassifier("logit_adjusted")
    assert _probability_source(LogitAdjustedClassifier(lr)) == closed
    assert _probability_source(LogitAdjustedClassifierCV(lr)) == closed
    # an adjuster of decision scores: its softmax is not a probability model
    assert _probability_source(LogitAdjustedClassifier(LinearSVC())) == as_given
    assert (
        _probability_source(
            LogitAdjustedClassifier(lr, response_method="decision_function")
        )
        == as_given
    )
    soft = VotingClassifier(
        [("a", la), ("b", LogitAdjustedClassifier(lr))], voting="soft"
    )
    assert _probability_source(soft) == closed
    # one member without a closed form, or a hard vote: as given
    mixed = VotingClassifier([("a", la), ("b", lr)], voting="soft")
    assert _probability_source(mixed) == as_given
    hard = VotingClassifier([("a", la), ("b", LogitAdjustedClassifier(lr))])
    assert _probability_source(hard) == "none"


def test_a_vote_behind_a_sampler_is_scored_and_a_dropped_member_left_out():
    # imbalanced-learn's pipeline passes over a sampler at prediction time;
    # the dropped member and its weight play no part
    from imblearn.pipeline import make_pipeline as make_imb_pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.ensemble import VotingClassifier
    from sklearn.preprocessing import StandardScaler

    from sklearn_lt import LogitAdjustedClassifier

    X, y = _skewed(seed=3)
    train, test = np.arange(600), np.arange(600, 1200)
    vote = VotingClassifier(
        [
            ("posthoc", LogitAdjustedClassifier(LogisticRegression(max_iter=1000))),
            ("gone", "drop"),
            ("tree", LogitAdjustedClassifier(LogisticRegression(C=0.01))),
        ],
        voting="soft",
        weights=[1, 7, 3],
    )
    model = make_imb_pipeline(
        StandardScaler(), RandomUnderSampler(random_state=0), vote
    )
    model.fit(X[train], y[train])
    fitted = model[-1]
    Z = model[0].transform(X[test])
    expected = (
        fitted.estimators_[0].estimator_.predict_proba(Z)
        + 3 * fitted.estimators_[1].estimator_.predict_proba(Z)
    ) / 4
    got = _training_prior_proba(model, X[test], np.unique(y))
    np.testing.assert_allclose(got, expected, atol=1e-10)
    table = compare([("vote", model)], X, y, cv=[(train, test)], preprocess=False)
    assert table["n_failed"][0] == 0
    assert np.isfinite(table["brier_score_mean"][0])


def test_an_adjuster_of_a_reweighted_or_resampled_model_is_not_undone():
    # the inner model's own probabilities are not at the training prior
    from imblearn.pipeline import make_pipeline as make_imb_pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.pipeline import make_pipeline

    from sklearn_lt import LogitAdjustedClassifier
    from sklearn_lt.compare.scoring import _probability_source

    as_given = "predict_proba as given"
    for inner in (
        LogisticRegression(class_weight="balanced"),
        make_pipeline(LogisticRegression(class_weight="balanced")),
        make_imb_pipeline(RandomUnderSampler(), LogisticRegression()),
        LinearMarginClassifier("logit_adjusted"),
    ):
        adjuster = LogitAdjustedClassifier(inner)
        assert _probability_source(adjuster) == as_given, inner
    X, y = _skewed()
    adjuster = LogitAdjustedClassifier(LogisticRegression(class_weight="balanced"))
    adjuster.fit(X[:600], y[:600])
    np.testing.assert_allclose(
        _training_prior_proba(adjuster, X[600:], np.unique(y)),
        adjuster.predict_proba(X[600:]),
    )
