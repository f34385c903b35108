"""Tests for sklearn_lt.decisions: scikit-learn's binary tuner, the closed-form
optimal rule of Gaussian classes, and the metrics recomputed by sklearn."""

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    get_scorer,
    make_scorer,
    recall_score,
)
from sklearn.model_selection import (
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    train_test_split,
)
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lt.datasets import make_long_tailed_classification
from sklearn_lt.decisions import MetricOptimalClassifierCV
from sklearn_lt.metrics import worst_class_recall

MEANS = np.array([0.0, 2.0, 4.0])  # class-conditional N(mean_k, 1) in 1-d
PRIOR = np.array([0.6, 0.3, 0.1])

SKLEARN_METRIC = {
    "macro_f1": lambda y, p: f1_score(y, p, average="macro"),
    "balanced_accuracy": balanced_accuracy_score,
    "gmean": geometric_mean_score,
    "worst_class_recall": worst_class_recall,
    "accuracy": accuracy_score,
}


class GaussianBayes(ClassifierMixin, BaseEstimator):
    """The exact posterior of 1-d Gaussian classes at PRIOR."""

    def fit(self, X, y):
        self.classes_ = np.arange(3)
        return self

    def predict_proba(self, X):
        log_joint = -0.5 * (np.asarray(X)[:, :1] - MEANS) ** 2 + np.log(PRIOR)
        joint = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
        return joint / joint.sum(axis=1, keepdims=True)

    def predict(self, X):
        return np.argmax(self.predict_proba(X), axis=1)


def draw(n, seed, prior=PRIOR):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=prior)
    return rng.normal(MEANS[y], 1.0)[:, None], y


def population_optimum(metric, prior=PRIOR):
    """Best population value of ``metric`` over rules ``x < t1 -> 0,
    t1 <= x < t2 -> 1, x >= t2 -> 2`` (a fine grid), in closed form."""
    grid = np.linspace(-2.0, 6.0, 401)
    t1, t2 = np.meshgrid(grid, grid, indexing="ij")
    keep = t1 <= t2
    t1, t2 = t1[keep], t2[keep]
    # rate[k, j]: P(predict j | class k).
    cdf1 = norm.cdf(t1[None, :] - MEANS[:, None])
    cdf2 = norm.cdf(t2[None, :] - MEANS[:, None])
    rate = np.stack([cdf1, cdf2 - cdf1, 1.0 - cdf2], axis=1)  # (k, j, rules)
    recall = rate[[0, 1, 2], [0, 1, 2]]
    tp = prior[:, None] * recall
    predicted = np.einsum("k,kjr->jr", prior, rate)
    values = {
        "balanced_accuracy": recall.mean(axis=0),
        "worst_class_recall": recall.min(axis=0),
        "gmean": np.prod(recall, axis=0) ** (1 / 3),
        "macro_f1": (2 * tp / (predicted + prior[:, None])).mean(axis=0),
    }[metric]
    return values.max()


@pytest.mark.parametrize(
    "metric", ["balanced_accuracy", "macro_f1", "gmean", "worst_class_recall"]
)
def test_rule_reaches_the_optimum_of_gaussian_classes(metric):
    # The "model" is the exact posterior, so the only error left is the
    # search on 6,000 out-of-fold rows; the optimum is computed in closed form.
    X_train, y_train = draw(6000, seed=0)
    X_test, y_test = draw(60000, seed=1)
    inner = FrozenEstimator(GaussianBayes().fit(X_train, y_train))
    model = MetricOptimalClassifierCV(inner, metric=metric).fit(X_train, y_train)
    achieved = SKLEARN_METRIC[metric](y_test, model.predict(X_test))
    optimum = population_optimum(metric)
    assert achieved == pytest.approx(optimum, abs=0.015)
    # The plain argmax (the accuracy-optimal rule) is clearly worse for the
    # recall-based metrics (for macro-F1 it is within 0.003 of the optimum
    # on these classes).
    if metric != "macro_f1":
        proba = inner.predict_proba(X_test)
        plain = SKLEARN_METRIC[metric](y_test, np.argmax(proba, axis=1))
        assert plain < optimum - 0.03


def test_macro_f1_at_a_named_deployment_prior_reaches_its_optimum():
    # Trained on PRIOR, deployed on balanced classes: with prior="balanced"
    # the rule reaches the closed-form optimum of macro-F1 at that prior.
    X_train, y_train = draw(6000, seed=0)
    X_test, y_test = draw(60000, seed=1, prior=np.full(3, 1 / 3))
    inner = FrozenEstimator(GaussianBayes().fit(X_train, y_train))
    optimum = population_optimum("macro_f1", np.full(3, 1 / 3))
    scores = {}
    for prior in ("balanced", None):
        model = MetricOptimalClassifierCV(inner, metric="macro_f1", prior=prior)
        model.fit(X_train, y_train)
        scores[prior] = f1_score(y_test, model.predict(X_test), average="macro")
    assert scores["balanced"] == pytest.approx(optimum, abs=0.015)
    assert scores[None] < optimum - 0.005  # tuned for the training prior


def test_prior_weights_the_out_of_fold_rows():
    X, y = make_long_tailed_classification(
        n_samples=1500, n_classes=4, imbalance_ratio=10, random_state=0
    )
    cv = StratifiedKFold(3)
    counts = np.bincount(y)
    same = MetricOptimalClassifierCV(LogisticRegression(), cv=cv, prior=counts * 3)
    default = MetricOptimalClassifierCV(LogisticRegression(), cv=cv)
    np.testing.assert_allclose(same.fit(X, y).weights_, default.fit(X, y).weights_)
    model = MetricOptimalClassifierCV(LogisticRegression(), cv=cv, prior="balanced")
    model.fit(X, y)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    tuned = np.argmax(proba * model.weights_ + model.biases_, axis=1)
    weight = (1 / 4) / (counts / counts.sum())
    expected = f1_score(y, tuned, average="macro", sample_weight=weight[y])
    assert model.best_score_ == pytest.approx(expected)
    with pytest.raises(ValueError, match="prior has 2 entries but there are 4"):
        MetricOptimalClassifierCV(LogisticRegression(), prior=[1, 1]).fit(X, y)


def test_balanced_accuracy_weights_approach_inverse_prior():
    # Bayes-optimal for balanced accuracy: w_k ∝ 1 / pi_k.
    X_train, y_train = draw(6000, seed=0)
    inner = FrozenEstimator(GaussianBayes().fit(X_train, y_train))
    model = MetricOptimalClassifierCV(inner, metric="balanced_accuracy")
    model.fit(X_train, y_train)
    expected = (1 / PRIOR) / (1 / PRIOR).max()
    np.testing.assert_allclose(model.weights_, expected, rtol=0.35)


@pytest.fixture(scope="module")
def binary_split():
    X, y = make_classification(
        n_samples=6000,
        n_features=10,
        n_informative=4,
        weights=[0.9],
        flip_y=0.02,
        random_state=0,
    )
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


@pytest.mark.parametrize(
    "ours, scoring",
    [
        ("balanced_accuracy", "balanced_accuracy"),
        ("macro_f1", "f1_macro"),
        ("f1", "f1"),  # a scorer name: the fallback grid search
    ],
)
def test_binary_agrees_with_tuned_threshold_classifier(binary_split, ours, scoring):
    X_train, X_test, y_train, y_test = binary_split
    model = MetricOptimalClassifierCV(LogisticRegression(), metric=ours)
    model.fit(X_train, y_train)
    tuned = TunedThresholdClassifierCV(LogisticRegression(), scoring=scoring)
    tuned.fit(X_train, y_train)
    scorer = get_scorer(scoring)
    assert scorer(model, X_test, y_test) == pytest.approx(
        scorer(tuned, X_test, y_test), abs=0.005
    )
    # Both beat the default threshold of 0.5 here.
    assert scorer(model, X_test, y_test) > scorer(model.estimator_, X_test, y_test)


@pytest.mark.parametrize("metric", sorted(SKLEARN_METRIC))
def test_scores_are_the_metrics_of_the_out_of_fold_predictions(metric):
    # Recompute the out-of-fold probabilities with the same splits and check
    # best_score_ and argmax_score_ with scikit-learn's / imblearn's metrics.
    X, y = make_long_tailed_classification(
        n_samples=1500, n_classes=4, imbalance_ratio=10, random_state=0
    )
    cv = StratifiedKFold(3)
    model = MetricOptimalClassifierCV(LogisticRegression(), metric=metric, cv=cv)
    model.fit(X, y)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    tuned = np.argmax(proba * model.weights_ + model.biases_, axis=1)
    reference = SKLEARN_METRIC[metric]
    assert model.best_score_ == pytest.approx(reference(y, tuned))
    assert model.argmax_score_ == pytest.approx(reference(y, proba.argmax(axis=1)))
    assert model.best_score_ >= model.argmax_score_
    if metric != "macro_f1":
        np.testing.assert_array_equal(model.biases_, 0)
    assert model.weights_.max() == pytest.approx(1.0)


def test_scorer_callable_uses_the_fallback_search():
    X, y = make_long_tailed_classification(
        n_samples=1500, n_classes=4, imbalance_ratio=10, random_state=0
    )
    cv = StratifiedKFold(3)
    scorer = make_scorer(f1_score, average="macro")
    model = MetricOptimalClassifierCV(LogisticRegression(), metric=scorer, cv=cv)
    model.fit(X, y)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    tuned = np.argmax(proba * model.weights_, axis=1)
    assert model.best_score_ == pytest.approx(f1_score(y, tuned, average="macro"))
    assert model.best_score_ > model.argmax_score_
    np.testing.assert_array_equal(model.biases_, 0)


def test_predict_is_the_argmax_of_decision_function():
    X, y = make_long_tailed_classification(
        n_samples=900, n_classes=3, imbalance_ratio=10, random_state=1
    )
    labels = np.array(["a", "b", "c"])[y]
    model = MetricOptimalClassifierCV(LogisticRegression(), cv=3).fit(X, labels)
    scores = model.decision_function(X)
    np.testing.assert_array_equal(
        model.predict(X), model.classes_[np.argmax(scores, axis=1)]
    )
    np.testing.assert_allclose(
        model.predict_proba(X), model.estimator_.predict_proba(X)
    )
    binary = MetricOptimalClassifierCV(LogisticRegression(), cv=3)
    binary.fit(X, labels == "c")
    np.testing.assert_array_equal(binary.predict(X), binary.decision_function(X) > 0)


def test_bad_parameters_are_refused():
    X, y = make_classification(n_samples=100, random_state=0)
    with pytest.raises(InvalidParameterError, match="'metric' parameter"):
        MetricOptimalClassifierCV(LogisticRegression(), metric="macro-f1").fit(X, y)
    from sklearn.svm import LinearSVC

    with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
        MetricOptimalClassifierCV(LinearSVC()).fit(X, y)


def test_inputs_are_not_modified():
    X, y = make_classification(n_samples=200, weights=[0.8], random_state=0)
    X_copy, y_copy = X.copy(), y.copy()
    MetricOptimalClassifierCV(LogisticRegression(), cv=3).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


_WEIGHTS = (
    "The folds of the cross-validation split the rows, not their weights, and "
    "the metric is unweighted, so a weight of 2 is not a repeated row (as for "
    "sklearn's TunedThresholdClassifierCV)."
)
_NOT_ARGMAX = (
    "predict is the tuned rule and predict_proba the inner model's "
    "probabilities, so predict is not the argmax of predict_proba (as for "
    "sklearn's TunedThresholdClassifierCV, whose threshold is not 0.5)."
)


@parametrize_with_checks(
    [
        MetricOptimalClassifierCV(LogisticRegression(), cv=2),
        MetricOptimalClassifierCV(LogisticRegression(), metric="gmean", cv=2),
    ],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
        "check_classifiers_train": _NOT_ARGMAX,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cap", [0.0, 0.01, 0.05])
def test_worst_class_rule_keeps_the_balanced_accuracy_cap(cap):
    # Recompute the out-of-fold probabilities with the same splits: the
    # tuned rule's balanced accuracy (scikit-learn's) is at most ``cap``
    # below that of the balanced rule argmax p_k / pi_k, and the
    # unconstrained search (None) reaches at least the same worst recall.
    X, y = make_long_tailed_classification(
        n_samples=1500, n_classes=5, imbalance_ratio=20, random_state=3
    )
    cv = StratifiedKFold(3)
    proba = cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba")
    prior = np.bincount(y) / len(y)
    balanced = balanced_accuracy_score(y, np.argmax(proba / prior, axis=1))
    scores = {}
    for loss in (cap, None):
        model = MetricOptimalClassifierCV(
            LogisticRegression(),
            metric="worst_class_recall",
            cv=cv,
            balanced_accuracy_loss=loss,
        ).fit(X, y)
        tuned = np.argmax(proba * model.weights_, axis=1)
        assert model.best_score_ == pytest.approx(
            recall_score(y, tuned, average=None).min()
        )
        scores[loss] = model.best_score_
        if loss is not None:
            assert balanced_accuracy_score(y, tuned) >= balanced - cap - 1e-12
    assert scores[None] >= scores[cap]
    with pytest.raises(InvalidParameterError, match="balanced_accuracy_loss"):
        MetricOptimalClassifierCV(LogisticRegression(), balanced_accuracy_loss=2.0).fit(
            X, y
        )


def test_worst_class_ties_go_to_the_best_balanced_accuracy():
    from sklearn_lt.decisions import _most_balanced_best

    worst = [0.5, 0.6, 0.6, 0.6, 0.7]
    balanced = [0.80, 0.70, 0.75, 0.75, 0.50]
    # 0.7 is the best worst recall, but its balanced accuracy is below the
    # floor of 0.6; of 1-3 (0.6), 2 and 3 have the best balanced accuracy,
    # and 2 comes first (the least far along the iterations)
    assert _most_balanced_best(worst, balanced, floor=0.6) == 2
    assert _most_balanced_best(worst, balanced, floor=None) == 4
    assert _most_balanced_best(worst, balanced, floor=0.76) == 0
