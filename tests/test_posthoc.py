"""Tests for sklearn_lt.posthoc (post-hoc logit adjustment)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lt.datasets import make_long_tailed
from sklearn_lt.metrics import worst_class_recall_scorer
from sklearn_lt.posthoc import LogitAdjustedClassifier, LogitAdjustedClassifierCV


def long_tailed_split(n_classes=5, imbalance_ratio=50, seed=0):
    """Long-tailed training set and balanced test set from one balanced draw."""
    X, y = make_classification(
        n_samples=800 * n_classes,
        n_features=10,
        n_informative=5,
        n_classes=n_classes,
        class_sep=0.8,
        random_state=seed,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    X_train, y_train = make_long_tailed(
        X_train, y_train, imbalance_ratio, random_state=seed
    )
    return X_train, X_test, y_train, y_test


class ProbaFromX(ClassifierMixin, BaseEstimator):
    """Test double whose predict_proba returns X: each row is a probability."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=float)


class ScoreFromX(ClassifierMixin, BaseEstimator):
    """Binary test double whose decision_function returns the first column."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def decision_function(self, X):
        return np.asarray(X, dtype=float)[:, 0]


@pytest.fixture(scope="module")
def long_tailed_data():
    return long_tailed_split()


def test_adjustment_raises_balanced_accuracy_of_logistic_regression(
    long_tailed_data,
):
    X_train, X_test, y_train, y_test = long_tailed_data
    plain = LogisticRegression().fit(X_train, y_train)
    adjusted = LogitAdjustedClassifier(LogisticRegression()).fit(X_train, y_train)

    plain_score = balanced_accuracy_score(y_test, plain.predict(X_test))
    adjusted_score = balanced_accuracy_score(y_test, adjusted.predict(X_test))
    assert adjusted_score > plain_score + 0.05
    # The tail class is the one that gains.
    tail = y_train.max()
    adjusted_recall = recall_score(
        y_test, adjusted.predict(X_test), labels=[tail], average=None
    )
    plain_recall = recall_score(
        y_test, plain.predict(X_test), labels=[tail], average=None
    )
    assert adjusted_recall[0] > plain_recall[0]


def test_uniform_prior_changes_nothing(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    plain = LogisticRegression().fit(X_train, y_train)
    n_classes = len(plain.classes_)
    for prior in (np.ones(n_classes), np.full(n_classes, 0.2)):
        model = LogitAdjustedClassifier(LogisticRegression(), prior=prior)
        model.fit(X_train, y_train)
        np.testing.assert_array_equal(model.predict(X_test), plain.predict(X_test))
        np.testing.assert_allclose(
            model.predict_proba(X_test), plain.predict_proba(X_test), rtol=1e-10
        )
        np.testing.assert_allclose(model.prior_, np.full(n_classes, 1 / n_classes))


def test_learned_prior_of_balanced_labels_changes_nothing():
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, weights=None, random_state=0
    )
    X, y = make_long_tailed(X, y, imbalance_ratio=1, random_state=0)  # balanced
    assert len(set(np.bincount(y))) == 1
    plain = LogisticRegression().fit(X, y)
    model = LogitAdjustedClassifier(LogisticRegression(), tau=2.0).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), plain.predict(X))


def test_tau_zero_is_the_inner_model(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    plain = LogisticRegression().fit(X_train, y_train)
    model = LogitAdjustedClassifier(LogisticRegression(), tau=0.0)
    model.fit(X_train, y_train)
    np.testing.assert_array_equal(model.predict(X_test), plain.predict(X_test))
    np.testing.assert_allclose(
        model.predict_proba(X_test), plain.predict_proba(X_test), rtol=1e-10
    )


def test_adjusted_argmax_matches_hand_computation():
    # Training labels 0,0,0,0,0,0,1,1,1,2: prior pi = (0.6, 0.3, 0.1).
    y_train = np.array([0] * 6 + [1] * 3 + [2])
    X_train = np.full((10, 3), 1 / 3)
    # Row a: p = (0.5, 0.3, 0.2); p / pi = (0.8333, 1.0, 2.0) -> class 2.
    # Row b: p = (0.7, 0.25, 0.05); p / pi = (1.1667, 0.8333, 0.5) -> class 0.
    X = np.array([[0.5, 0.3, 0.2], [0.7, 0.25, 0.05]])
    model = LogitAdjustedClassifier(ProbaFromX()).fit(X_train, y_train)

    np.testing.assert_allclose(model.prior_, [0.6, 0.3, 0.1])
    np.testing.assert_array_equal(model.predict(X), [2, 0])
    # Without adjustment the argmax is class 0 for both rows.
    np.testing.assert_array_equal(model.set_params(tau=0).predict(X), [0, 0])
    model.set_params(tau=1)
    # Adjusted logits: log(p) - log(pi), e.g. row a: log(0.8333), 0, log(2).
    np.testing.assert_allclose(
        model.decision_function(X), np.log([[5 / 6, 1, 2], [7 / 6, 5 / 6, 1 / 2]])
    )
    # predict_proba normalises p / pi: row a (0.8333, 1, 2) / 3.8333.
    np.testing.assert_allclose(
        model.predict_proba(X)[0], [0.217391, 0.260870, 0.521739], atol=1e-6
    )
    # tau = 2 divides by pi squared: row b (1.944, 2.778, 5.0) -> class 2.
    np.testing.assert_array_equal(model.set_params(tau=2).predict(X), [2, 2])


def test_binary_decision_function_is_shifted_by_log_prior_ratio():
    # Labels 0,0,0,1: pi = (0.75, 0.25), log(pi_1 / pi_0) = log(1/3) = -1.0986.
    y_train = np.array([0, 0, 0, 1])
    X_train = np.zeros((4, 1))
    # Scores d = -0.5 and -1.5; adjusted d + 1.0986 = 0.5986 and -0.4014.
    X = np.array([[-0.5], [-1.5]])
    model = LogitAdjustedClassifier(ScoreFromX()).fit(X_train, y_train)
    np.testing.assert_allclose(
        model.decision_function(X), [0.598612, -0.401388], atol=1e-6
    )
    np.testing.assert_array_equal(model.predict(X), [1, 0])
    # The softmax of the logits [0, d'] is the sigmoid of d'.
    np.testing.assert_allclose(
        model.predict_proba(X)[:, 1],
        1 / (1 + np.exp(-np.array([0.598612, -0.401388]))),
        atol=1e-6,
    )


def test_binary_long_tailed_problem_gains_minority_recall():
    X, y = make_classification(
        n_samples=4000, n_features=8, class_sep=0.5, flip_y=0, random_state=1
    )
    labels = np.where(y == 1, "yes", "no")
    X_train, X_test, y_train, y_test = train_test_split(
        X, labels, test_size=0.5, stratify=labels, random_state=1
    )
    X_train, y_train = make_long_tailed(X_train, y_train, 20, random_state=1)
    model = LogitAdjustedClassifier(LogisticRegression()).fit(X_train, y_train)

    np.testing.assert_array_equal(model.classes_, ["no", "yes"])
    assert model.decision_function(X_test).shape == (len(X_test),)
    assert model.predict_proba(X_test).shape == (len(X_test), 2)
    plain = model.estimator_.predict(X_test)
    adjusted = model.predict(X_test)
    # "yes" is the minority (second label in sorted order).
    assert recall_score(y_test, adjusted, pos_label="yes") > recall_score(
        y_test, plain, pos_label="yes"
    )
    assert balanced_accuracy_score(y_test, adjusted) > balanced_accuracy_score(
        y_test, plain
    )


def test_predictions_are_consistent_with_each_other(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    model = LogitAdjustedClassifier(LogisticRegression()).fit(X_train, y_train)
    logits = model.decision_function(X_test)
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), model.predict_log_proba(X_test))
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_array_equal(
        model.predict(X_test), model.classes_[proba.argmax(axis=1)]
    )
    # The adjustment is the inner log-probabilities minus log of the prior.
    inner = np.log(model.estimator_.predict_proba(X_test))
    np.testing.assert_allclose(logits, inner - np.log(model.prior_))


def test_pipeline_inner_estimator_with_dataframe(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    columns = [f"f{i}" for i in range(X_train.shape[1])]
    frame_train = pd.DataFrame(X_train, columns=columns)
    frame_test = pd.DataFrame(X_test, columns=columns)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    model = LogitAdjustedClassifier(pipeline).fit(frame_train, y_train)

    assert model.n_features_in_ == X_train.shape[1]
    np.testing.assert_array_equal(model.feature_names_in_, columns)
    reference = clone(pipeline).fit(frame_train, y_train)
    prior = np.bincount(y_train) / len(y_train)
    expected = np.argmax(
        np.log(reference.predict_proba(frame_test)) - np.log(prior), axis=1
    )
    np.testing.assert_array_equal(model.predict(frame_test), expected)


def test_decision_function_inner_estimator_multiclass(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    svm = LinearSVC().fit(X_train, y_train)
    model = LogitAdjustedClassifier(LinearSVC()).fit(X_train, y_train)
    prior = np.bincount(y_train) / len(y_train)
    expected = np.argmax(svm.decision_function(X_test) - np.log(prior), axis=1)
    np.testing.assert_array_equal(model.predict(X_test), expected)


def test_prefit_estimator_is_used_without_refitting(long_tailed_data):
    X_train, X_test, y_train, _ = long_tailed_data
    fitted = LogisticRegression().fit(X_train, y_train)
    coef = fitted.coef_.copy()
    prefit = LogitAdjustedClassifier(fitted, prefit=True).fit(X_train, y_train)
    assert prefit.estimator_ is fitted
    np.testing.assert_array_equal(fitted.coef_, coef)

    refitted = LogitAdjustedClassifier(LogisticRegression()).fit(X_train, y_train)
    np.testing.assert_array_equal(prefit.predict(X_test), refitted.predict(X_test))
    frozen = LogitAdjustedClassifier(FrozenEstimator(fitted)).fit(X_train, y_train)
    np.testing.assert_array_equal(frozen.predict(X_test), refitted.predict(X_test))


def test_prefit_errors():
    X, y = np.zeros((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(NotFittedError):
        LogitAdjustedClassifier(LogisticRegression(), prefit=True).fit(X, y)
    fitted = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="prefit=True skips"):
        LogitAdjustedClassifier(fitted, prefit=True).fit(X, y, foo=1)
    with pytest.raises(ValueError, match=r"labels \[2\]"):
        LogitAdjustedClassifier(fitted, prefit=True).fit(X, [0, 1, 2, 1])


def test_prior_is_validated():
    X, y = np.zeros((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="aligned with classes_"):
        LogitAdjustedClassifier(LogisticRegression(), prior=[1, 1, 1]).fit(X, y)
    with pytest.raises(ValueError, match="finite and positive"):
        LogitAdjustedClassifier(LogisticRegression(), prior=[1, 0]).fit(X, y)
    with pytest.raises(ValueError, match="tau"):
        LogitAdjustedClassifier(LogisticRegression(), tau=-1).fit(X, y)


def test_sample_weight_counts_like_repeated_samples():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    weighted = LogitAdjustedClassifier(LogisticRegression()).fit(
        X, y, sample_weight=[3, 1, 1, 1]
    )
    # Weights 3+1 for class 0 and 1+1 for class 1: pi = (4/6, 2/6).
    np.testing.assert_allclose(weighted.class_counts_, [4, 2])
    np.testing.assert_allclose(weighted.prior_, [2 / 3, 1 / 3])


def test_grid_search_over_tau_prefers_adjustment(long_tailed_data):
    X_train, _, y_train, _ = long_tailed_data
    search = GridSearchCV(
        LogitAdjustedClassifier(LogisticRegression()),
        {"tau": [0.0, 1.0]},
        scoring="balanced_accuracy",
        cv=3,
    ).fit(X_train, y_train)
    assert search.best_params_ == {"tau": 1.0}


def test_cv_picks_positive_tau_on_long_tailed_data(long_tailed_data):
    X_train, X_test, y_train, y_test = long_tailed_data
    model = LogitAdjustedClassifierCV(LogisticRegression(), cv=3).fit(X_train, y_train)
    assert model.best_tau_ > 0
    np.testing.assert_allclose(model.cv_results_["tau"], np.linspace(0, 2, 21))
    assert model.best_tau_ == model.cv_results_["tau"][model.best_index_]
    assert model.best_score_ == model.cv_results_["mean_test_score"].max()
    assert model.cv_results_["rank_test_score"][model.best_index_] == 1
    splits = np.column_stack(
        [model.cv_results_[f"split{i}_test_score"] for i in range(3)]
    )
    np.testing.assert_allclose(
        splits.mean(axis=1), model.cv_results_["mean_test_score"]
    )
    assert len(pd.DataFrame(model.cv_results_)) == 21

    plain = LogisticRegression().fit(X_train, y_train)
    assert balanced_accuracy_score(
        y_test, model.predict(X_test)
    ) > balanced_accuracy_score(y_test, plain.predict(X_test))
    # The final model is refitted on all the data and uses the chosen tau.
    np.testing.assert_allclose(model.estimator_.coef_, plain.coef_)
    fixed = LogitAdjustedClassifier(LogisticRegression(), tau=model.best_tau_)
    np.testing.assert_array_equal(
        model.predict(X_test), fixed.fit(X_train, y_train).predict(X_test)
    )


def test_cv_scores_match_a_manual_cross_validation(long_tailed_data):
    X_train, _, y_train, _ = long_tailed_data
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(3)
    taus = [0.0, 0.5, 1.0]
    model = LogitAdjustedClassifierCV(LogisticRegression(), taus=taus, cv=cv)
    model.fit(X_train, y_train)
    for i, (train, test) in enumerate(cv.split(X_train, y_train)):
        for j, tau in enumerate(taus):
            fold = LogitAdjustedClassifier(LogisticRegression(), tau=tau)
            fold.fit(X_train[train], y_train[train])
            expected = balanced_accuracy_score(
                y_train[test], fold.predict(X_train[test])
            )
            assert model.cv_results_[f"split{i}_test_score"][j] == pytest.approx(
                expected
            )


def test_cv_accepts_a_scorer_and_a_pipeline(long_tailed_data):
    X_train, _, y_train, _ = long_tailed_data
    model = LogitAdjustedClassifierCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        taus=[0.0, 1.0],
        scoring=worst_class_recall_scorer,
        cv=3,
    ).fit(X_train, y_train)
    assert model.best_tau_ == 1.0
    assert 0 <= model.best_score_ <= 1


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_cv_handles_a_class_missing_from_a_training_fold():
    X, y = make_classification(
        n_samples=300, n_classes=3, n_informative=4, random_state=0
    )
    rare = np.flatnonzero(y == 2)[1:]
    X, y = np.delete(X, rare, axis=0), np.delete(y, rare)  # one example of 2
    with pytest.warns(UserWarning, match="least populated class"):
        model = LogitAdjustedClassifierCV(LogisticRegression(), cv=3).fit(X, y)
    assert np.all(np.isfinite(model.cv_results_["mean_test_score"]))
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_cv_accuracy_prefers_less_adjustment_than_balanced_accuracy(
    long_tailed_data,
):
    X_train, _, y_train, _ = long_tailed_data
    taus = np.linspace(0, 2, 9)
    by_accuracy = LogitAdjustedClassifierCV(
        LogisticRegression(), taus=taus, scoring=None, cv=3
    ).fit(X_train, y_train)
    by_balanced = LogitAdjustedClassifierCV(LogisticRegression(), taus=taus, cv=3).fit(
        X_train, y_train
    )
    # Plain accuracy on long-tailed folds rewards predicting the head.
    assert by_accuracy.best_tau_ < by_balanced.best_tau_


def test_cv_ranking_score_is_unchanged_by_binary_adjustment():
    X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    model = LogitAdjustedClassifierCV(
        LogisticRegression(), taus=[0.0, 1.0, 2.0], scoring="roc_auc", cv=3
    ).fit(X, y)
    # A binary adjustment shifts every score by the same constant, so the
    # ROC AUC ties across the grid and the first tau is kept.
    scores = model.cv_results_["mean_test_score"]
    np.testing.assert_allclose(scores, scores[0])
    assert model.best_tau_ == 0.0
    np.testing.assert_array_equal(model.cv_results_["rank_test_score"], [1, 1, 1])


def test_response_method_must_exist_on_the_inner_estimator():
    X, y = np.zeros((4, 2)), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="has no predict_proba method"):
        LogitAdjustedClassifier(LinearSVC(), response_method="predict_proba").fit(X, y)


def test_cv_rejects_a_bad_grid():
    X, y = np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="taus"):
        LogitAdjustedClassifierCV(LogisticRegression(), taus=[-1.0]).fit(X, y)
    with pytest.raises(ValueError, match="aligned with classes_"):
        LogitAdjustedClassifierCV(LogisticRegression(), prior=[1.0]).fit(X, y)


@parametrize_with_checks(
    [
        LogitAdjustedClassifier(LogisticRegression()),
        LogitAdjustedClassifier(
            LinearSVC(dual=False, tol=1e-12), response_method="decision_function"
        ),
        LogitAdjustedClassifierCV(LogisticRegression(), taus=5, cv=3),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_adjustment_around_a_fully_grown_tree_warns_that_it_changes_nothing():
    # issue 21: a fully grown tree's 0/1 probabilities floor log(0) at about
    # -708, far beyond tau * log-prior range; the adjustment was a silent no-op
    from sklearn.datasets import make_classification
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(400, 5, weights=[0.9], random_state=0)
    tree = DecisionTreeClassifier(random_state=0)
    with pytest.warns(UserWarning, match="changes no prediction on the training"):
        model = LogitAdjustedClassifier(tree).fit(X, y)
    inner = model.estimator_
    np.testing.assert_array_equal(model.predict(X), inner.predict(X))
    # a model with graded probabilities is moved: no warning
    import warnings

    logreg = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        moved = LogitAdjustedClassifier(logreg).fit(X, y)
    assert (moved.predict(X) != moved.estimator_.predict(X)).any()


def test_tau_set_after_fit_is_checked_at_prediction():
    # tau is read at prediction time; set_params skipped the range of fit
    X, y = make_classification(200, 4, weights=[0.8], random_state=0)
    model = LogitAdjustedClassifier(LogisticRegression()).fit(X, y)
    model.set_params(tau=1e308)
    with pytest.raises(ValueError, match=r"The 'tau' parameter of .* in the range"):
        model.predict(X)
    model.set_params(tau=2.0)  # inside [0, 10]: the shift by hand
    expected = np.log(model.estimator_.predict_proba(X)) - 2.0 * np.log(model.prior_)
    np.testing.assert_allclose(
        model.decision_function(X), expected[:, 1] - expected[:, 0], rtol=1e-10
    )
