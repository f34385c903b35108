"""Tests for sklearn_lt.prior_calibration: the closed form of Menon et al.
rebuilt by hand, the fitted map against exact posteriors of Gaussian classes,
and Bayes' rule between priors."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lt import LinearMarginClassifier
from sklearn_lt.posthoc import LogitAdjustedClassifier
from sklearn_lt.prior_calibration import PriorCalibratedClassifier

MEANS = np.array([0.0, 2.0, 4.0])  # class-conditional N(mean_k, 1) in 1-d
PRIOR = np.array([0.7, 0.2, 0.1])


def draw(n, seed, prior=PRIOR):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=prior)
    return rng.normal(MEANS[y], 1.0)[:, None], y


def exact_posterior(x, prior):
    return softmax(-0.5 * (x[:, None] - MEANS) ** 2 + np.log(prior), axis=1)


class OverconfidentBalanced(ClassifierMixin, BaseEstimator):
    """The exact posterior at the *uniform* prior, with logits doubled: a
    balanced, over-confident model (what class weighting tends to give)."""

    def fit(self, X, y):
        self.classes_ = np.arange(3)
        return self

    def decision_function(self, X):
        return 2.0 * (-0.5 * (np.asarray(X)[:, 0, None] - MEANS) ** 2)

    def predict(self, X):
        return np.argmax(self.decision_function(X), axis=1)


def test_fitted_map_recovers_the_training_posterior_of_gaussian_classes():
    X, y = draw(20000, seed=0)
    inner = FrozenEstimator(OverconfidentBalanced().fit(X, y))
    model = PriorCalibratedClassifier(inner).fit(X, y)
    assert model.method_ == "temperature_bias"
    # softmax(z / 2 + log(pi)) is the exact posterior: T = 2, b = log(pi) + c.
    assert model.temperature_ == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(model.bias_, np.log(PRIOR) - np.log(PRIOR[0]), atol=0.1)
    X_test, _ = draw(2000, seed=1)
    expected = exact_posterior(X_test[:, 0], PRIOR)
    assert np.abs(model.predict_proba(X_test) - expected).max() < 0.02
    model.set_params(prior="balanced")
    expected = exact_posterior(X_test[:, 0], np.full(3, 1 / 3))
    assert np.abs(model.predict_proba(X_test) - expected).max() < 0.02
    q = np.array([0.1, 0.3, 0.6])
    model.set_params(prior=q * 10)  # normalised
    expected = exact_posterior(X_test[:, 0], q)
    assert np.abs(model.predict_proba(X_test) - expected).max() < 0.02


def test_calibrated_model_keeps_its_probabilities():
    # Logistic regression on Gaussian classes is well specified and fitted at
    # the training prior: the map is close to the identity.
    X, y = draw(4000, seed=0)
    model = PriorCalibratedClassifier(LogisticRegression()).fit(X, y)
    assert model.temperature_ == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(model.bias_, 0, atol=0.15)
    np.testing.assert_allclose(
        model.predict_proba(X), model.estimator_.predict_proba(X), atol=0.03
    )


@pytest.fixture(scope="module")
def logit_adjusted_model():
    X, y = draw(900, seed=0)
    inner = LinearMarginClassifier(loss="logit_adjusted", tau=1.5, random_state=0)
    return X, y, inner.fit(X, y)


def test_closed_form_for_logit_adjusted_loss_by_hand(logit_adjusted_model):
    X, y, inner = logit_adjusted_model
    model = PriorCalibratedClassifier(inner, prefit=True).fit(X, y)
    assert model.method_ == "logit_adjusted"
    counts = np.bincount(y)
    log_prior = np.log(counts / counts.sum())
    logits = inner.decision_function(X)
    # Menon et al.: softmax(f + tau * log pi) is the training posterior.
    np.testing.assert_allclose(
        model.predict_proba(X), softmax(logits + 1.5 * log_prior, axis=1), atol=1e-10
    )
    # Balanced prior: softmax(f + (tau - 1) * log pi).
    model.set_params(prior="balanced")
    np.testing.assert_allclose(
        model.predict_proba(X), softmax(logits + 0.5 * log_prior, axis=1), atol=1e-10
    )
    np.testing.assert_array_equal(
        model.predict(X), np.argmax(logits + 0.5 * log_prior, axis=1)
    )


def test_closed_form_sees_through_a_pipeline(logit_adjusted_model):
    X, y, _ = logit_adjusted_model
    pipe = make_pipeline(  # nested, as sklearn-lt compare's front end builds
        StandardScaler(),
        make_pipeline(
            StandardScaler(), LinearMarginClassifier(loss="balanced_softmax")
        ),
    )
    model = PriorCalibratedClassifier(pipe, prior="balanced").fit(X, y)
    assert model.method_ == "logit_adjusted"
    # tau = 1: the balanced probabilities are the model's own.
    np.testing.assert_allclose(
        model.predict_proba(X), model.estimator_.predict_proba(X), atol=1e-6
    )


def test_logit_adjusted_classifier_gets_a_fitted_map():
    X, y = draw(3000, seed=0)
    inner = LogitAdjustedClassifier(LogisticRegression())
    model = PriorCalibratedClassifier(inner).fit(X, y)
    assert model.method_ == "temperature_bias"
    # The adjustment subtracted log(pi); the map adds it back (b ≈ log pi + c).
    np.testing.assert_allclose(model.bias_, np.log(PRIOR) - np.log(PRIOR[0]), atol=0.25)
    assert model.predict_proba(X).mean(axis=0) == pytest.approx(
        np.bincount(y) / len(y), abs=0.01
    )


def test_bayes_rule_between_configured_priors():
    X, y = draw(1000, seed=0)
    model = PriorCalibratedClassifier(LogisticRegression(class_weight="balanced"))
    model.fit(X, y)
    at_train = model.predict_proba(X)
    q = np.array([0.2, 0.3, 0.5])
    at_q = model.set_params(prior=q).predict_proba(X)
    reweighted = at_train * q / model.training_prior_
    np.testing.assert_allclose(
        at_q, reweighted / reweighted.sum(axis=1, keepdims=True), atol=1e-12
    )
    np.testing.assert_array_equal(model.predict(X), np.argmax(at_q, axis=1))
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), at_q)


def test_errors_name_the_problem():
    X, y = draw(300, seed=0)
    with pytest.raises(ValueError, match="method='logit_adjusted' needs"):
        PriorCalibratedClassifier(LogisticRegression(), method="logit_adjusted").fit(
            X, y
        )
    with pytest.raises(ValueError, match="prior has 2 entries but there are 3"):
        PriorCalibratedClassifier(LogisticRegression(), prior=[0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="finite and positive"):
        PriorCalibratedClassifier(LogisticRegression(), prior=[1, 0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="prefit=True skips"):
        PriorCalibratedClassifier(LogisticRegression().fit(X, y), prefit=True).fit(
            X, y, foo=1
        )


def test_inputs_are_not_modified():
    X, y = draw(300, seed=0)
    X_copy, y_copy = X.copy(), y.copy()
    q = np.array([1.0, 2.0, 3.0])
    model = PriorCalibratedClassifier(LogisticRegression(), prior=q, cv=3)
    model.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(q, [1.0, 2.0, 3.0])


@parametrize_with_checks(
    [
        PriorCalibratedClassifier(LogisticRegression(), cv=2),
        PriorCalibratedClassifier(LogisticRegression(), prior="balanced", cv=2),
    ],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
