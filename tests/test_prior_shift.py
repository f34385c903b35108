"""Tests for sklearn_lt.prior_shift, against hand-computed EM steps and the
closed-form Bayes posterior of Gaussian classes."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lt.prior_shift import PriorShiftAdapter

MEANS = np.array([0.0, 2.0, 4.0])  # class-conditional N(mean_k, 1) in 1-d
TRAIN_PRIOR = np.array([0.6, 0.3, 0.1])


class TableModel(ClassifierMixin, BaseEstimator):
    """Fixed probabilities: row ``i`` of ``table`` for the input ``[[i]]``."""

    def __init__(self, table):
        self.table = table

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.asarray(self.table, dtype=float)[np.asarray(X)[:, 0].astype(int)]

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class GaussianBayes(ClassifierMixin, BaseEstimator):
    """The exact posterior of 1-d Gaussian classes ``N(MEANS[k], 1)`` at
    ``prior`` (the "model" is the Bayes posterior, computed in closed form)."""

    def __init__(self, prior=None):
        self.prior = prior

    def fit(self, X, y):
        self.classes_ = np.arange(len(MEANS))
        return self

    def predict_proba(self, X):
        return bayes_posterior(np.asarray(X)[:, 0], self.prior)

    def predict(self, X):
        return np.argmax(self.predict_proba(X), axis=1)


def bayes_posterior(x, prior):
    log_joint = -0.5 * (x[:, None] - MEANS[None, :]) ** 2 + np.log(prior)
    joint = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    return joint / joint.sum(axis=1, keepdims=True)


def draw(prior, n, seed):
    """``n`` rows with class counts ``round(prior * n)`` exactly."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(prior)), np.round(np.asarray(prior) * n).astype(int))
    return rng.normal(MEANS[y], 1.0)[:, None], y


def fitted_bayes_adapter(method):
    X_train, y_train = draw(TRAIN_PRIOR, 5000, seed=0)
    model = GaussianBayes(prior=TRAIN_PRIOR).fit(X_train, y_train)
    return PriorShiftAdapter(model, method=method, prefit=True).fit(X_train, y_train)


def test_em_steps_match_hand_computation():
    # Training prior (3:1) = [0.75, 0.25]; deployment rows with p(y | x):
    #   [0.9, 0.1], [0.5, 0.5], [0.2, 0.8].
    # Step 1 (ratio 1): q1 = mean = [1.6 / 3, 1.4 / 3].
    # Step 2: ratio q1 / pi = [32/45, 28/15]; reweighted rows, normalised:
    #   [0.64, 0.28/1.5]   -> class 0: 0.64 / (0.64 + 0.18667) = 24/31
    #   [16/45, 42/45]     -> 16/58 = 8/29
    #   [6.4/45, 67.2/45]  -> 6.4/73.6 = 2/23
    # q2 = [(24/31 + 8/29 + 2/23) / 3, 1 - that].
    table = [[0.75, 0.25], [0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]
    X_train, y_train = np.zeros((4, 1)), np.array([0, 0, 0, 1])
    X_new = np.array([[1], [2], [3]])
    q2_0 = (24 / 31 + 8 / 29 + 2 / 23) / 3
    for em_max_iter, expected in [(1, [1.6 / 3, 1.4 / 3]), (2, [q2_0, 1 - q2_0])]:
        model = PriorShiftAdapter(TableModel(table), em_max_iter=em_max_iter)
        model.fit(X_train, y_train)
        np.testing.assert_allclose(model.prior_, [0.75, 0.25])
        with pytest.warns(ConvergenceWarning, match="EM did not converge") as record:
            model.adapt(X_new)
        # the message gives the last step, by hand: from the start [0.75,
        # 0.25] to q1, or from q1 to q2
        last_step = 0.75 - 1.6 / 3 if em_max_iter == 1 else abs(q2_0 - 1.6 / 3)
        assert f"moved the prior by {last_step:.2g}," in str(record[0].message)
        assert f"prior is {min(expected):.2g}." in str(record[0].message)
        np.testing.assert_allclose(model.estimated_prior_, expected, rtol=1e-12)
        assert model.n_iter_ == em_max_iter
        # Probabilities at the estimate: p * q / pi, renormalised.
        ratio = np.asarray(expected) / [0.75, 0.25]
        weighted = np.asarray(table[1:]) * ratio
        np.testing.assert_allclose(
            model.predict_proba(X_new), weighted / weighted.sum(axis=1, keepdims=True)
        )


def test_em_fixed_point_is_the_mean_of_the_adapted_posteriors():
    # At convergence q = mean_x p_q(. | x): EM's fixed-point equation.
    model = fitted_bayes_adapter("em")
    X_new, _ = draw([0.2, 0.2, 0.6], 500, seed=3)
    model.adapt(X_new)
    np.testing.assert_allclose(
        model.predict_proba(X_new).mean(axis=0), model.estimated_prior_, atol=1e-7
    )


@pytest.mark.parametrize("method", ["em", "bbse"])
@pytest.mark.parametrize(
    "target_prior", [TRAIN_PRIOR[::-1], np.full(3, 1 / 3)], ids=["reversed", "uniform"]
)
def test_recovers_known_prior_of_gaussian_classes(method, target_prior):
    model = fitted_bayes_adapter(method)
    X_new, y_new = draw(target_prior, 2000, seed=1)
    model.adapt(X_new)
    assert np.abs(model.estimated_prior_ - target_prior).sum() < 0.05
    # The adapted posterior is close to the exact posterior at the true prior.
    exact = bayes_posterior(X_new[:, 0], target_prior)
    assert np.abs(model.predict_proba(X_new) - exact).max() < 0.05
    # And the adapted decisions are more accurate than the training-prior ones.
    before = np.mean(model.estimator_.predict(X_new) == y_new)
    after = np.mean(model.predict(X_new) == y_new)
    assert after > before


def test_bbse_confusion_matrix_columns_sum_to_the_class_frequencies():
    model = fitted_bayes_adapter("bbse")
    np.testing.assert_allclose(model.confusion_matrix_.sum(axis=0), TRAIN_PRIOR)
    X_train, y_train = draw(TRAIN_PRIOR, 5000, seed=0)
    y_pred = model.estimator_.predict(X_train)
    assert model.confusion_matrix_[1, 2] == pytest.approx(
        np.mean((y_pred == 1) & (y_train == 2))
    )


def test_bbse_with_out_of_fold_predictions_of_a_refitted_model():
    # BBSE inverts a confusion matrix estimated from 500 rows of the rarest
    # class, whose weight is 6 at the reversed prior: over seeds its L1 error
    # here is 0.04-0.15 (EM's is below 0.05), so the bound is looser.
    X_train, y_train = draw(TRAIN_PRIOR, 5000, seed=0)
    model = PriorShiftAdapter(LogisticRegression(), method="bbse", cv=3)
    model.fit(X_train, y_train)
    X_new, _ = draw(TRAIN_PRIOR[::-1], 2000, seed=1)
    model.adapt(X_new)
    assert np.abs(model.estimated_prior_ - TRAIN_PRIOR[::-1]).sum() < 0.15


def test_em_around_logistic_regression_recovers_reversed_prior():
    X_train, y_train = draw(TRAIN_PRIOR, 5000, seed=0)
    model = PriorShiftAdapter(LogisticRegression()).fit(X_train, y_train)
    X_new, _ = draw(TRAIN_PRIOR[::-1], 2000, seed=1)
    model.adapt(X_new)
    assert np.abs(model.estimated_prior_ - TRAIN_PRIOR[::-1]).sum() < 0.05


def test_before_adapt_predicts_like_the_wrapped_model_and_refit_forgets():
    X_train, y_train = draw(TRAIN_PRIOR, 600, seed=0)
    model = PriorShiftAdapter(LogisticRegression()).fit(X_train, y_train)
    np.testing.assert_allclose(
        model.predict_proba(X_train), model.estimator_.predict_proba(X_train)
    )
    model.adapt(draw(TRAIN_PRIOR[::-1], 300, seed=1)[0])
    assert hasattr(model, "estimated_prior_")
    model.fit(X_train, y_train)
    assert not hasattr(model, "estimated_prior_")


def test_errors_name_the_problem():
    X, y = draw(TRAIN_PRIOR, 100, seed=0)
    with pytest.raises(NotFittedError):
        PriorShiftAdapter(LogisticRegression()).adapt(X)
    with pytest.raises(ValueError, match="prefit=True skips"):
        PriorShiftAdapter(LogisticRegression().fit(X, y), prefit=True).fit(
            X, y, sample_weight=None, foo=1
        )
    with pytest.raises(NotFittedError):
        PriorShiftAdapter(LogisticRegression(), prefit=True).fit(X, y)
    with pytest.raises(ValueError, match="'method' parameter"):
        PriorShiftAdapter(LogisticRegression(), method="mle").fit(X, y)
    # A singular case: every held-out prediction is class 0 and the
    # deployment rows are all predicted 2, which no weight explains.
    table = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    inner = TableModel(table).fit(np.zeros((3, 1)), [0, 1, 2])
    model = PriorShiftAdapter(inner, method="bbse", prefit=True)
    model.fit(np.zeros((3, 1)), [0, 1, 2])
    with pytest.raises(ValueError, match="BBSE found no class"):
        model.adapt(np.ones((4, 1)))


def test_inputs_are_not_modified():
    X, y = draw(TRAIN_PRIOR, 300, seed=0)
    X_copy, y_copy = X.copy(), y.copy()
    model = PriorShiftAdapter(LogisticRegression(), method="bbse", cv=3).fit(X, y)
    model.adapt(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


@parametrize_with_checks(
    [
        PriorShiftAdapter(LogisticRegression()),
        PriorShiftAdapter(LogisticRegression(), method="bbse", cv=2),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
