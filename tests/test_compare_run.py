"""Tests of the comparison harness, sklearn_lt.compare.

Every score is rebuilt independently: by hand on a problem whose predictions
are known in advance, or by fitting the same estimator on the same split and
calling scikit-learn's and imbalanced-learn's own metrics.
"""

import numpy as np
import pandas as pd
import pytest
from imblearn.metrics import geometric_mean_score
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    recall_score,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from sklearn_lt import LogitAdjustedClassifier
from sklearn_lt.compare import ContenderFailedWarning, LongTailedCV, compare
from sklearn_lt.compare.scoring import _METRICS
from sklearn_lt.datasets import make_long_tailed_classification

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
    expected = ["contender", "family", "estimator", "n_splits", "n_failed", "error"]
    expected += ["probabilities"]
    for metric in _METRICS:
        expected += [f"{metric}_mean", f"{metric}_std"]
    expected += ["diff_vs_best_baseline", "p_value"]
    assert list(table.columns) == expected
    assert (table["n_failed"] == 0).all() and (table["error"] == "").all()
    assert set(table["estimator"]) == {
        "StandardScaler() -> LogisticRegression(max_iter=1000)",
        "DecisionTreeClassifier()",
    }
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
    # the literature's thresholds: 12, 6 and 2 examples are all few-shot (< 20)
    row = compare(
        [("lookup", LookupClassifier())], X, y, cv=cv, many_shot=100, few_shot=20
    ).iloc[0]
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
        ("plain", LogisticRegression()),
    ]
    table = compare(contenders, X, y, cv=cv).set_index("contender")
    assert table.loc["posthoc", "family"] == "sklearn_lt"
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


def test_a_failing_split_gives_nan_scores_a_count_and_the_error():
    X, y, cv = _poisoned_problem()
    contenders = [("lookup", LookupClassifier()), ("dummy", DummyClassifier())]
    with pytest.warns(
        ContenderFailedWarning, match=r"'lookup' failed on 1 of 2 splits"
    ) as rec:
        table = compare(contenders, X, y, cv=cv)
    assert any("ValueError: poisoned training row" in str(w.message) for w in rec)
    row = table.set_index("contender").loc["lookup"]
    for metric in _METRICS:
        if not metric.endswith("_seconds"):
            assert np.isnan(row[f"{metric}_mean"]), metric
    assert np.isfinite(row["fit_seconds_mean"])
    assert row["n_failed"] == 1
    assert row["error"] == "ValueError: poisoned training row"
    # failed contenders go last; the others are untouched
    assert list(table["contender"]) == ["dummy", "lookup"]
    assert table.set_index("contender").loc["dummy", "n_failed"] == 0
    assert table.set_index("contender").loc["dummy", "error"] == ""
    np.testing.assert_allclose(table["balanced_accuracy_mean"][0], 1 / 3)


def test_a_contender_failing_every_split_is_kept_with_nan_scores():
    X, y, cv = _poisoned_problem()
    cv = [cv[1], cv[1]]
    with pytest.warns(UserWarning, match=r"'lookup' failed on every split"):
        table, per_split = compare(
            [("lookup", LookupClassifier())], X, y, cv=cv, return_per_split=True
        )
    assert table["contender"].tolist() == ["lookup"]
    assert table["n_failed"].tolist() == [2]
    assert table["error"].tolist() == ["ValueError: poisoned training row"]
    scores = [
        f"{m}_{s}" for m in _METRICS if m != "fit_seconds" for s in ("mean", "std")
    ]
    assert table[scores].isna().all(axis=None)
    assert per_split["error"].tolist() == ["ValueError: poisoned training row"] * 2


def test_error_score_raise_propagates_the_error():
    X, y, cv = _poisoned_problem()
    with pytest.raises(ValueError, match="poisoned training row"):
        compare([("lookup", LookupClassifier())], X, y, cv=cv, error_score="raise")


def test_few_shot_above_many_shot_is_an_error(tiny):
    X, y, cv = tiny
    with pytest.raises(ValueError, match="few_shot=50 must not be larger"):
        compare(["logreg"], X, y, cv=cv, few_shot=50, many_shot=10)


# -- splits ----------------------------------------------------------------------


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


# -- mixed-type tables -------------------------------------------------------------


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; keeps the matrix it was fitted on."""

    def fit(self, X, y):
        self.X_fit_ = np.asarray(X, dtype=float)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def _mixed_frame(n=90, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(["x", "y", "z"], [n - 30, 20, 10])
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=n) + (y == "y") * 3.0,
            "colour": rng.choice(["red", "green", "blue"], n),
            "count": rng.randint(0, 5, n),
        }
    )
    frame.loc[[0, 5, 40, 70], "size"] = np.nan
    frame.loc[[3, 50], "colour"] = None
    return frame, y


def test_dataframe_preprocessing_is_fitted_on_each_training_fold():
    frame, y = _mixed_frame()
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(frame, y))
    recorded = []

    class Keep(RecordingClassifier):
        def fit(self, X, y):
            super().fit(X, y)
            recorded.append(self.X_fit_)
            return self

    compare([("keep", Keep())], frame, y, cv=cv, n_jobs=1, preprocess=True)
    assert len(recorded) == 3
    for (train, _), X_fit in zip(cv, recorded):
        part = frame.iloc[train]
        size = part["size"].to_numpy()
        missing = np.isnan(size)
        # numeric: the median of this training fold, and a missing indicator
        np.testing.assert_allclose(X_fit[missing, 0], np.nanmedian(size))
        np.testing.assert_allclose(X_fit[~missing, 0], size[~missing])
        np.testing.assert_array_equal(X_fit[:, 2], missing)
        # categorical: one-hot, missing values a category of their own
        colours = part["colour"]
        onehot = X_fit[:, 3:]
        assert onehot.shape[1] == colours.nunique(dropna=False)
        np.testing.assert_array_equal(onehot.sum(axis=1), 1)


def test_mixed_table_scores_like_a_hand_built_pipeline():
    frame, y = _mixed_frame(seed=1)
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(frame, y))
    with threadpool_limits(1):  # gradient boosting's threads on a busy machine
        table = compare(["logreg_balanced", "hgb"], frame, y, cv=cv, n_jobs=1)
    assert table["n_failed"].tolist() == [0, 0]
    # logreg_balanced by hand from sklearn parts, per fold: numeric columns
    # imputed and scaled; missing indicators and one-hot columns left 0/1
    by_hand = make_pipeline(
        ColumnTransformer(
            [
                (
                    "n",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    ["size", "count"],
                ),
                ("m", MissingIndicator(error_on_new=False), ["size", "count"]),
                (
                    "c",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    ["colour"],
                ),
            ]
        ),
        LogisticRegression(class_weight="balanced", max_iter=1000),
    )
    expected = [
        balanced_accuracy_score(
            y[test],
            clone(by_hand).fit(frame.iloc[train], y[train]).predict(frame.iloc[test]),
        )
        for train, test in cv
    ]
    row = table.set_index("contender").loc["logreg_balanced"]
    np.testing.assert_allclose(row["balanced_accuracy_mean"], np.mean(expected))
    # hgb by hand: the string column as a pandas category, NaN left in place
    hgb = HistGradientBoostingClassifier(random_state=0)
    expected = []
    for train, test in cv:
        train_part = frame.iloc[train].astype({"colour": "category"})
        levels = train_part["colour"].cat.categories
        test_part = frame.iloc[test].astype({"colour": pd.CategoricalDtype(levels)})
        with threadpool_limits(1):
            pred = clone(hgb).fit(train_part, y[train]).predict(test_part)
        expected.append(balanced_accuracy_score(y[test], pred))
    row = table.set_index("contender").loc["hgb"]
    np.testing.assert_allclose(row["balanced_accuracy_mean"], np.mean(expected))


def test_categorical_override_one_hot_encodes_an_integer_column():
    frame, y = _mixed_frame()
    recorded = []

    class Keep(RecordingClassifier):
        def fit(self, X, y):
            recorded.append(np.asarray(X).shape[1])
            return super().fit(X, y)

    train, test = next(StratifiedKFold(3, shuffle=True, random_state=0).split(frame, y))
    cv = [(train, test)]
    compare([("keep", Keep())], frame, y, cv=cv, preprocess=True)
    compare([("keep", Keep())], frame, y, cv=cv, categorical=["count"], preprocess=True)
    n_counts = frame["count"].iloc[train].nunique()
    assert recorded[1] == recorded[0] - 1 + n_counts
    with pytest.raises(ValueError, match=r"'nope' are not columns of X"):
        compare(
            [("keep", Keep())], frame, y, cv=cv, categorical=["nope"]
        )  # checked always


@pytest.mark.parametrize(
    "value, message",
    [
        (np.inf, "contain infinite values"),
        (1e300, "have values too large to standardise"),
    ],
)
def test_features_that_stay_non_finite_are_refused_before_fitting(value, message):
    frame, y = _mixed_frame()
    frame.loc[[1, 2], "size"] = [value, -value]
    fitted = []

    class Keep(RecordingClassifier):
        def fit(self, X, y):
            fitted.append(True)
            return super().fit(X, y)

    with pytest.raises(ValueError, match=rf"column\(s\) size {message}"):
        compare([("keep", Keep())], frame, y, cv=2, preprocess=True)
    with pytest.raises(ValueError, match=message):
        compare([("keep", Keep())], frame[["size"]].to_numpy(), y, cv=2)
    assert not fitted


# -- callback and per-split scores ------------------------------------------------


def test_callback_gets_each_contender_as_it_finishes(tiny):
    X, y, cv = tiny
    seen = []

    def callback(row, per_class, per_split):
        seen.append((row["contender"], len(per_class), per_split))

    contenders = [("dummy", DummyClassifier()), "logreg"]
    table, per_split = compare(
        contenders, X, y, cv=cv, callback=callback, return_per_split=True
    )
    assert [name for name, _, _ in seen] == ["dummy", "logreg"]
    assert [n for _, n, _ in seen] == [3 * 4, 3 * 4]  # splits x classes
    for name, _, scores in seen:
        row = table.set_index("contender").loc[name]
        np.testing.assert_allclose(
            scores["balanced_accuracy"].mean(), row["balanced_accuracy_mean"]
        )
        assert scores["split"].tolist() == [0, 1, 2]
    assert list(per_split["contender"]) == ["dummy"] * 3 + ["logreg"] * 3


def test_paired_columns_for_ours_against_the_best_baseline(tiny):
    X, y, cv = tiny
    contenders = [
        ("dummy", DummyClassifier()),
        "logreg",
        (
            "ours",
            LogitAdjustedClassifier(
                make_pipeline(StandardScaler(), LogisticRegression())
            ),
        ),
    ]
    table, per_split = compare(contenders, X, y, cv=cv, return_per_split=True)
    table = table.set_index("contender")
    assert table.loc[["dummy", "logreg"], "p_value"].isna().all()
    scores = per_split.pivot(
        index="split", columns="contender", values="balanced_accuracy"
    )
    differences = scores["ours"] - scores["logreg"]  # logreg beats the dummy
    np.testing.assert_allclose(
        table.loc["ours", "diff_vs_best_baseline"], differences.mean()
    )
    expected = stats.ttest_rel(scores["ours"], scores["logreg"]).pvalue  # 3 splits
    np.testing.assert_allclose(table.loc["ours", "p_value"], expected)


def test_lightgbm_contender_takes_category_columns_when_installed():
    lightgbm = pytest.importorskip("lightgbm")
    frame, y = _mixed_frame(seed=2)
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(frame, y))
    with threadpool_limits(1):
        table = compare(["lightgbm"], frame, y, cv=cv, n_jobs=1)
    assert table["n_failed"].tolist() == [0]
    expected = []
    for train, test in cv:
        train_part = frame.iloc[train].astype({"colour": "category"})
        levels = pd.CategoricalDtype(train_part["colour"].cat.categories)
        test_part = frame.iloc[test].astype({"colour": levels})
        model = lightgbm.LGBMClassifier(random_state=0, verbose=-1)
        with threadpool_limits(1):
            pred = model.fit(train_part, y[train]).predict(test_part)
        expected.append(balanced_accuracy_score(y[test], pred))
    np.testing.assert_allclose(table["balanced_accuracy_mean"], np.mean(expected))


def test_user_pipeline_with_make_column_selector_is_used_as_given():
    # issue 23.3: compare() put its own preprocessing in front of the user's
    # pipeline, whose make_column_selector then failed on a NumPy array
    frame, y = _mixed_frame(seed=2)
    mine = make_pipeline(
        ColumnTransformer(
            [
                (
                    "num",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    make_column_selector(dtype_include="number"),
                ),
                (
                    "cat",
                    OneHotEncoder(handle_unknown="ignore"),
                    make_column_selector(dtype_exclude="number"),
                ),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    cv = list(StratifiedKFold(3, shuffle=True, random_state=0).split(frame, y))
    table = compare([("mine", mine), "logreg"], frame, y, cv=cv, n_jobs=1)
    assert table["n_failed"].tolist() == [0, 0]
    expected = [
        balanced_accuracy_score(
            y[test],
            clone(mine).fit(frame.iloc[train], y[train]).predict(frame.iloc[test]),
        )
        for train, test in cv
    ]
    row = table.set_index("contender").loc["mine"]
    np.testing.assert_allclose(row["balanced_accuracy_mean"], np.mean(expected))
    with pytest.raises(
        ValueError, match='preprocess must be "auto", True, False or a list of'
    ):
        compare([("mine", mine)], frame, y, cv=cv, preprocess="yes")
    # a list of names: the front end for those only
    table = compare(
        [("mine", mine), ("front", LogisticRegression(max_iter=1000))],
        frame, y, cv=cv, n_jobs=1, preprocess=["front"],
    )  # fmt: skip
    assert table["n_failed"].tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"preprocess names unknown contender"):
        compare([("mine", mine)], frame, y, cv=cv, preprocess=["other"])


def test_default_shot_thresholds_scale_to_the_training_class_sizes():
    """The default groups are log-scale thirds of the training class sizes:
    on the lookup problem (12, 6, 2 training rows) the thresholds are
    2 * 6 ** (2/3) = 6.60 and 2 * 6 ** (1/3) = 3.63, so class 0 is
    many-shot, class 1 medium and class 2 few-shot (with 100, 20 all three
    were few-shot and the other groups said "no class")."""
    X, y, cv = _lookup_problem()
    table = compare([("lookup", LookupClassifier())], X, y, cv=cv)
    assert table.attrs["shot_thresholds"] == (
        round(2 * 6 ** (2 / 3), 2),
        round(2 * 6 ** (1 / 3), 2),
    )
    row = table.iloc[0]
    # recalls per split: class 0: 1, 0.75; class 1: 0.75, 1; class 2: 0.25, 0.5
    np.testing.assert_allclose(row["many_shot_recall_mean"], (1 + 0.75) / 2)
    np.testing.assert_allclose(row["medium_shot_recall_mean"], (0.75 + 1) / 2)
    np.testing.assert_allclose(row["few_shot_recall_mean"], (0.25 + 0.5) / 2)


def test_shot_thresholds_on_a_binary_table_of_10000_rows():
    from sklearn_lt.compare import shot_thresholds

    # 9,000 and 1,000 training rows: with 100, 20 both were many-shot
    many, few = shot_thresholds([9000, 1000])
    assert 1000 < few < many < 9000
    np.testing.assert_allclose(
        [many, few], [1000 * 9 ** (2 / 3), 1000 * 9 ** (1 / 3)], atol=0.01
    )
    # equal classes are all medium-shot
    many, few = shot_thresholds([5000, 5000])
    assert not 5000 > many and not 5000 < few
    with pytest.raises(ValueError, match=r"many_shot must be \"auto\" or a number"):
        shot_thresholds([1, 2], many_shot="many")


class ThreadProbe(ClassifierMixin, BaseEstimator):
    """Stands in for LightGBM: records the n_jobs it is fitted with."""

    def __init__(self, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        if self.n_jobs != 1:
            raise ValueError(f"fitted with n_jobs={self.n_jobs}")
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_lightgbm_threads_follow_the_worker_budget(tiny, monkeypatch):
    """LightGBM's n_jobs=None takes every physical core in every joblib
    worker; compare gives it the worker's thread budget instead (here 1,
    under threadpool_limits(1)), inside a pipeline too."""
    monkeypatch.setattr(ThreadProbe, "__module__", "lightgbm.sklearn")
    X, y, cv = tiny
    with threadpool_limits(1):
        table = compare(
            [("alone", ThreadProbe()),
             ("piped", make_pipeline(ThreadProbe(n_jobs=-1)))],
            X, y, cv=cv, n_jobs=1,
        )  # fmt: skip
    assert table["n_failed"].tolist() == [0, 0], table["error"].tolist()
    # a positive n_jobs the user chose is kept
    with pytest.warns(ContenderFailedWarning, match="fitted with n_jobs=3"):
        table = compare([("mine", ThreadProbe(n_jobs=3))], X, y, cv=cv, n_jobs=1)
    assert table["error"].tolist()[0] == "ValueError: fitted with n_jobs=3"
