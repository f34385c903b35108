"""Tests of the comparison harness, sklearn_lt.compare.

Every score is rebuilt independently: by hand on a problem whose predictions
are known in advance, or by fitting the same estimator on the same split and
calling scikit-learn's and imbalanced-learn's own metrics.
"""

import re
import warnings

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    recall_score,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from sklearn_lt import LinearMarginClassifier, LogitAdjustedClassifier
from sklearn_lt.compare import (
    METRICS,
    LongTailedCV,
    compare,
    default_contenders,
    digits_lt_split,
    resolve_contenders,
)
from sklearn_lt.datasets import long_tail_counts, make_long_tailed_classification

# -- helpers ---------------------------------------------------------------------


class LookupClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the label written in the first feature; fails on poison.

    ``fit`` raises if a training row has a negative second feature, so a
    split can be made to fail by putting such a row in its training part.
    """

    def fit(self, X, y):
        X = np.asarray(X)
        if (X[:, 1] < 0).any():
            raise ValueError("poisoned training row")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.asarray(X)[:, 0].astype(int)


def _lookup_problem():
    """Two splits with known predictions, training counts and recalls.

    Training part (shared): 12 examples of class 0, 6 of class 1, 2 of
    class 2; with many_shot=10 and few_shot=4 the classes are many-, medium-
    and few-shot. Test parts: 4 examples per class.

    Split 0 predictions: class 0 all right; class 1 three of four right (one
    predicted 0); class 2 one of four right (three predicted 0).
    Split 1 predictions: class 0 three of four right (one predicted 2);
    class 1 all right; class 2 two of four right (two predicted 1).
    """
    train_y = np.repeat([0, 1, 2], [12, 6, 2])
    train_X = np.column_stack([train_y, np.zeros(20)])  # predicted = true
    test_y = np.repeat([0, 1, 2], 4)
    pred_0 = [0, 0, 0, 0, 1, 1, 1, 0, 2, 0, 0, 0]
    pred_1 = [0, 0, 0, 2, 1, 1, 1, 1, 2, 2, 1, 1]
    X = np.vstack(
        [
            train_X,
            np.column_stack([pred_0, np.zeros(12)]),
            np.column_stack([pred_1, np.zeros(12)]),
        ]
    )
    y = np.concatenate([train_y, test_y, test_y])
    train = np.arange(20)
    cv = [(train, np.arange(20, 32)), (train, np.arange(32, 44))]
    return X, y, cv


@pytest.fixture(scope="module")
def tiny():
    """A small long-tailed 4-class problem and a fixed 3-fold splitter."""
    X, y = make_long_tailed_classification(
        n_samples=240,
        n_features=6,
        n_classes=4,
        imbalance_ratio=8,
        class_sep=1.5,
        random_state=0,
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    return X, y, cv


# -- result table ------------------------------------------------------------------


def test_table_columns_and_one_row_per_contender(tiny):
    X, y, cv = tiny
    table = compare(["logreg", ("tree", DecisionTreeClassifier())], X, y, cv=cv)
    expected = ["contender", "family", "n_splits"]
    for metric in METRICS:
        expected += [f"{metric}_mean", f"{metric}_std"]
    assert list(table.columns) == expected
    assert sorted(table["contender"]) == ["logreg", "tree"]
    assert (table["n_splits"] == 3).all()
    assert list(table.index) == [0, 1]


def test_table_is_sorted_by_balanced_accuracy_with_stable_ties(tiny):
    X, y, cv = tiny
    contenders = [
        ("dummy_a", DummyClassifier()),
        ("logreg", make_pipeline(StandardScaler(), LogisticRegression())),
        ("dummy_b", DummyClassifier()),
    ]
    table = compare(contenders, X, y, cv=cv)
    # the majority-class dummy has balanced accuracy 1 / n_classes = 0.25;
    # the two dummies tie and keep their given order
    assert list(table["contender"]) == ["logreg", "dummy_a", "dummy_b"]
    np.testing.assert_allclose(table["balanced_accuracy_mean"][1:], 0.25)
    assert table["balanced_accuracy_mean"].is_monotonic_decreasing


def test_metrics_match_sklearn_and_imblearn_on_the_same_splits(tiny):
    X, y, cv = tiny
    estimators = {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression()),
        "tree": DecisionTreeClassifier(max_depth=3, random_state=0),
    }
    table = compare(estimators, X, y, cv=cv).set_index("contender")
    for name, estimator in estimators.items():
        scores = {key: [] for key in ("ba", "f1", "gm", "worst", "acc")}
        for train, test in cv.split(X, y):
            pred = clone(estimator).fit(X[train], y[train]).predict(X[test])
            scores["ba"].append(balanced_accuracy_score(y[test], pred))
            scores["f1"].append(f1_score(y[test], pred, average="macro"))
            scores["gm"].append(geometric_mean_score(y[test], pred))
            scores["worst"].append(recall_score(y[test], pred, average=None).min())
        row = table.loc[name]
        for key, metric in [
            ("ba", "balanced_accuracy"),
            ("f1", "f1_macro"),
            ("gm", "geometric_mean"),
            ("worst", "worst_class_recall"),
        ]:
            np.testing.assert_allclose(row[f"{metric}_mean"], np.mean(scores[key]))
            np.testing.assert_allclose(row[f"{metric}_std"], np.std(scores[key]))
        assert row["fit_seconds_mean"] >= 0 and row["predict_seconds_mean"] >= 0


def test_int_cv_is_a_shuffled_stratified_kfold_seeded_by_random_state(tiny):
    X, y, _ = tiny
    estimator = DecisionTreeClassifier(max_depth=2, random_state=0)
    table = compare([("tree", estimator)], X, y, cv=4, random_state=3)
    expected = [
        balanced_accuracy_score(
            y[test], clone(estimator).fit(X[train], y[train]).predict(X[test])
        )
        for train, test in StratifiedKFold(4, shuffle=True, random_state=3).split(X, y)
    ]
    np.testing.assert_allclose(table["balanced_accuracy_mean"], np.mean(expected))
    assert table["n_splits"].item() == 4


def test_hand_computed_scores_on_known_predictions():
    X, y, cv = _lookup_problem()
    table, per_class = compare(
        [("lookup", LookupClassifier())],
        X,
        y,
        cv=cv,
        many_shot=10,
        few_shot=4,
        return_per_class=True,
    )
    row = table.iloc[0]
    # per-class recalls: split 0 (1, 3/4, 1/4), split 1 (3/4, 1, 1/2)
    balanced = [(1 + 0.75 + 0.25) / 3, (0.75 + 1 + 0.5) / 3]
    np.testing.assert_allclose(row["balanced_accuracy_mean"], np.mean(balanced))
    np.testing.assert_allclose(row["balanced_accuracy_std"], np.std(balanced))
    # many-shot class 0, medium-shot class 1, few-shot class 2
    np.testing.assert_allclose(row["many_shot_recall_mean"], (1 + 0.75) / 2)
    np.testing.assert_allclose(row["medium_shot_recall_mean"], (0.75 + 1) / 2)
    np.testing.assert_allclose(row["few_shot_recall_mean"], (0.25 + 0.5) / 2)
    np.testing.assert_allclose(row["few_shot_recall_std"], 0.125)
    np.testing.assert_allclose(row["worst_class_recall_mean"], (0.25 + 0.5) / 2)
    # split 0 F1: class 0 predicted 8 times, 4 right: P=1/2, R=1, F1=2/3;
    # class 1 predicted 3 times, all right: R=3/4, F1=6/7; class 2 predicted
    # once, right: R=1/4, F1=2/5.
    # split 1 F1: class 0: P=1, R=3/4, F1=6/7; class 1 predicted 6 times, 4
    # right: P=2/3, R=1, F1=4/5; class 2 predicted 3 times, 2 right: P=2/3,
    # R=1/2, F1=4/7.
    f1 = [(2 / 3 + 6 / 7 + 2 / 5) / 3, (6 / 7 + 4 / 5 + 4 / 7) / 3]
    np.testing.assert_allclose(row["f1_macro_mean"], np.mean(f1))
    gmean = [(1 * 0.75 * 0.25) ** (1 / 3), (0.75 * 1 * 0.5) ** (1 / 3)]
    np.testing.assert_allclose(row["geometric_mean_mean"], np.mean(gmean))

    assert list(per_class.columns) == [
        "contender",
        "split",
        "class",
        "train_count",
        "recall",
    ]
    assert per_class["train_count"].tolist() == [12, 6, 2, 12, 6, 2]
    assert per_class["class"].tolist() == [0, 1, 2, 0, 1, 2]
    assert per_class["split"].tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(per_class["recall"], [1, 0.75, 0.25, 0.75, 1, 0.5])


def test_empty_shot_group_is_nan():
    X, y, cv = _lookup_problem()
    # default thresholds: 12, 6 and 2 examples are all few-shot (< 20)
    row = compare([("lookup", LookupClassifier())], X, y, cv=cv).iloc[0]
    assert np.isnan(row["many_shot_recall_mean"])
    assert np.isnan(row["medium_shot_recall_mean"])
    np.testing.assert_allclose(
        row["few_shot_recall_mean"], np.mean([(1 + 0.75 + 0.25) / 3, 2.25 / 3])
    )


def test_extra_scorers_are_reported(tiny):
    X, y, cv = tiny
    estimator = DecisionTreeClassifier(max_depth=2, random_state=0)
    table = compare([("tree", estimator)], X, y, cv=cv, scoring="accuracy")
    expected = [
        accuracy_score(
            y[test], clone(estimator).fit(X[train], y[train]).predict(X[test])
        )
        for train, test in cv.split(X, y)
    ]
    np.testing.assert_allclose(table["accuracy_mean"], np.mean(expected))
    with pytest.raises(ValueError, match="clashes"):
        compare([("tree", estimator)], X, y, cv=cv, scoring="balanced_accuracy")


def test_family_marks_estimators_using_this_package(tiny):
    X, y, cv = tiny
    contenders = [
        ("posthoc", LogitAdjustedClassifier(LogisticRegression())),
        ("ours_in_pipeline", make_pipeline(StandardScaler(), LinearMarginClassifier())),
        ("plain", LogisticRegression()),
    ]
    table = compare(contenders, X, y, cv=cv).set_index("contender")
    assert table.loc["posthoc", "family"] == "sklearn_lt"
    assert table.loc["ours_in_pipeline", "family"] == "sklearn_lt"
    assert table.loc["plain", "family"] == "baseline"


@pytest.mark.slow  # starting the worker processes takes seconds
def test_parallel_jobs_give_the_same_scores(tiny):
    X, y, cv = tiny
    contenders = [("tree", DecisionTreeClassifier(max_depth=3, random_state=0))]
    serial = compare(contenders, X, y, cv=cv)
    parallel = compare(contenders, X, y, cv=cv, n_jobs=2)
    np.testing.assert_allclose(
        serial["balanced_accuracy_mean"], parallel["balanced_accuracy_mean"]
    )


def test_progress_bar_counts_contenders_times_splits(tiny, capsys):
    X, y, cv = tiny
    compare(["logreg", ("dummy", DummyClassifier())], X, y, cv=cv, progress=True)
    err = capsys.readouterr().err
    assert "6/6" in err


# -- failures ------------------------------------------------------------------------


def _poisoned_problem():
    """Split 0 trains cleanly, split 1 has a poisoned training row."""
    X, y, cv = _lookup_problem()
    X = np.vstack([X, [[0, -1]]])
    y = np.append(y, 0)
    train, test = cv[1]
    cv[1] = (np.append(train, len(y) - 1), test)
    return X, y, cv


def test_a_failing_split_gives_nan_scores_and_a_warning():
    X, y, cv = _poisoned_problem()
    contenders = [("lookup", LookupClassifier()), ("dummy", DummyClassifier())]
    with pytest.warns(UserWarning, match=r"'lookup' failed on 1 of 2 splits") as rec:
        table = compare(contenders, X, y, cv=cv)
    assert any("poisoned training row" in str(w.message) for w in rec)
    row = table.set_index("contender").loc["lookup"]
    for metric in METRICS:
        if not metric.endswith("_seconds"):
            assert np.isnan(row[f"{metric}_mean"]), metric
    assert np.isfinite(row["fit_seconds_mean"])
    # failed contenders go last; the others are untouched
    assert list(table["contender"]) == ["dummy", "lookup"]
    np.testing.assert_allclose(table["balanced_accuracy_mean"][0], 1 / 3)


def test_a_contender_failing_every_split_is_kept_with_nan_scores():
    X, y, cv = _poisoned_problem()
    cv = [cv[1], cv[1]]
    with pytest.warns(UserWarning, match=r"'lookup' failed on every split"):
        table = compare([("lookup", LookupClassifier())], X, y, cv=cv)
    assert table["contender"].tolist() == ["lookup"]
    assert table.drop(columns=["contender", "family", "n_splits"]).isna().all(axis=None)


def test_error_score_raise_propagates_the_error():
    X, y, cv = _poisoned_problem()
    with pytest.raises(ValueError, match="poisoned training row"):
        compare([("lookup", LookupClassifier())], X, y, cv=cv, error_score="raise")


def test_few_shot_above_many_shot_is_an_error(tiny):
    X, y, cv = tiny
    with pytest.raises(ValueError, match="few_shot=50 must not be larger"):
        compare(["logreg"], X, y, cv=cv, few_shot=50, many_shot=10)


# -- contenders ---------------------------------------------------------------------


def test_unknown_contender_name_lists_the_known_ones(tiny):
    X, y, cv = tiny
    with pytest.raises(ValueError, match=r"Unknown contender 'svm'.*svc_rbf_balanced"):
        compare(["svm"], X, y, cv=cv)
    with pytest.raises(ValueError, match=r"Cannot drop unknown contender 'nope'"):
        compare(["logreg"], X, y, cv=cv, drop=["nope"])


@pytest.mark.parametrize(
    "contenders, message",
    [
        (["logreg", "logreg"], "given twice"),
        ([("x", object())], "must be named by a string and be an estimator"),
        ([42], "name or a \\(name, estimator\\) pair"),
    ],
)
def test_resolve_contenders_rejects_bad_input(contenders, message):
    with pytest.raises(ValueError, match=message):
        resolve_contenders(contenders)


def test_dropping_every_contender_is_an_error():
    with pytest.raises(ValueError, match="No contenders left"):
        resolve_contenders(["logreg"], drop=["logreg"])


def test_default_contenders_are_unfitted_clonable_and_named_as_documented():
    contenders = default_contenders(random_state=7)
    assert list(contenders) == [
        "logreg",
        "logreg_balanced",
        "linear_svc_balanced",
        "svc_rbf_balanced",
        "mlp",
        "smote_logreg",
        "oversample_mlp",
        "balanced_random_forest",
        "easy_ensemble",
        "linear_margin_la",
        "mlp_margin_la",
        "mlp_margin_ldam_drw",
        "mlp_margin_elm",
        "logreg_posthoc_la",
    ]
    for estimator in contenders.values():
        clone(estimator)
    # every MLP contender, ours and the baselines, gets the same budget
    mlps = {
        name: params
        for name, estimator in contenders.items()
        for key, params in estimator.get_params().items()
        if re.fullmatch(r"(mlpclassifier|mlpmarginclassifier)", key)
    }
    assert set(mlps) == {
        "mlp",
        "oversample_mlp",
        "mlp_margin_la",
        "mlp_margin_ldam_drw",
        "mlp_margin_elm",
    }
    budgets = {
        (
            mlp.hidden_layer_sizes,
            mlp.batch_size,
            mlp.learning_rate_init,
            mlp.alpha,
            getattr(mlp, "max_epochs", getattr(mlp, "max_iter", None)),
            mlp.random_state,
        )
        for mlp in mlps.values()
    }
    assert len(budgets) == 1
    assert budgets.pop()[-1] == 7


def test_every_default_contender_runs_on_a_tiny_problem():
    X, y = make_long_tailed_classification(
        n_samples=150, n_features=5, n_classes=3, imbalance_ratio=5, random_state=0
    )
    cv = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP convergence, small-class notes
        table = compare(None, X, y, cv=cv)
    assert len(table) == 14
    assert table["balanced_accuracy_mean"].notna().all()
    families = dict(zip(table["contender"], table["family"]))
    ours = {name for name, family in families.items() if family == "sklearn_lt"}
    assert ours == {
        "linear_margin_la",
        "mlp_margin_la",
        "mlp_margin_ldam_drw",
        "mlp_margin_elm",
        "logreg_posthoc_la",
    }


# -- splits --------------------------------------------------------------------------


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


def test_long_tailed_cv_with_int_cv_and_in_compare():
    y = np.repeat([0, 1, 2], 60)
    X = np.column_stack([y, np.zeros(180)])  # the lookup predicts perfectly
    cv = LongTailedCV(cv=3, imbalance_ratio=4, random_state=0)
    train, test = next(cv.split(X, y))
    assert np.bincount(y[train]).tolist() == [40, 20, 10]
    assert np.bincount(y[test]).tolist() == [20, 20, 20]
    table, per_class = compare(
        [("lookup", LookupClassifier())], X, y, cv=cv, return_per_class=True
    )
    np.testing.assert_allclose(table["balanced_accuracy_mean"], 1.0)
    assert per_class["train_count"].tolist() == [40, 20, 10] * 3
