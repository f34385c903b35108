"""Tests of sklearn_lt.compare.preprocessing: mixed tables, per fold."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklearn_lt import LogitAdjustedClassifier
from sklearn_lt.compare.preprocessing import (
    _MAX_ONE_HOT,
    CategoricalColumns,
    _check_finite_features,
    column_kinds,
    make_preprocessor,
    with_preprocessing,
)


def _frame():
    return pd.DataFrame(
        {
            "age": [31.0, np.nan, 45.0, 52.0],
            "city": ["Oslo", "Rome", None, "Oslo"],
            "grade": [1, 2, 3, 1],
            "member": [True, False, True, True],
            "kind": pd.Categorical(["a", "b", "a", "b"]),
        }
    )


def test_column_kinds_from_dtypes_and_override():
    frame = _frame()
    assert column_kinds(frame) == (["age", "grade"], ["city", "member", "kind"])
    assert column_kinds(frame, ["grade"]) == (
        ["age"],
        ["city", "grade", "member", "kind"],
    )
    with pytest.raises(ValueError, match=r"'nope' are not columns of X"):
        column_kinds(frame, ["nope"])


def test_one_hot_path_imputes_with_the_training_median_and_indicates():
    train = _frame()
    step = make_preprocessor(["age"], ["city"]).fit(train)
    out = step.transform(
        pd.DataFrame({"age": [np.nan, 60.0], "city": ["Lima", "Rome"]})
    )
    median = np.nanmedian(train["age"])  # 45
    # columns: age, age-missing indicator, one-hot of Oslo, Rome, missing
    np.testing.assert_array_equal(
        out, [[median, 1, 0, 0, 0], [60.0, 0, 0, 1, 0]]
    )  # an unseen city is all zeros
    assert isinstance(step, ColumnTransformer)


def test_one_hot_columns_are_bounded():
    many = pd.DataFrame({"id": [f"row{i}" for i in range(500)], "x": np.arange(500.0)})
    out = make_preprocessor(["x"], ["id"]).fit_transform(many)
    assert out.shape == (500, 1 + _MAX_ONE_HOT)


def test_categorical_columns_learn_levels_on_the_training_fold():
    train = _frame()
    cast = CategoricalColumns(["city", "grade"]).fit(train)
    assert cast.categories_ == {"city": ["Oslo", "Rome"], "grade": ["1", "2", "3"]}
    test = pd.DataFrame(
        {"age": [1.0, 2.0], "city": ["Rome", "Paris"], "grade": [3, 7],
         "member": [True, True], "kind": pd.Categorical(["a", "a"])}
    )  # fmt: skip
    out = cast.transform(test)
    assert out["city"].tolist()[0] == "Rome" and pd.isna(out["city"].tolist()[1])
    assert out["grade"].tolist()[0] == "3" and pd.isna(out["grade"].tolist()[1])
    assert list(out["city"].cat.categories) == ["Oslo", "Rome"]
    pd.testing.assert_series_equal(out["age"], test["age"])
    assert test["city"].tolist() == ["Rome", "Paris"]  # input untouched


def test_categorical_columns_keep_the_most_frequent_levels():
    values = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"]
    cast = CategoricalColumns(["v"], max_categories=2).fit(pd.DataFrame({"v": values}))
    assert cast.categories_ == {"v": ["a", "b"]}  # b and c tie: by value


def test_with_preprocessing_picks_native_support_for_gradient_boosting():
    numeric, categorical = ["age"], ["city"]
    hgb = with_preprocessing(HistGradientBoostingClassifier(), numeric, categorical)
    assert isinstance(hgb, Pipeline)
    assert isinstance(hgb[0], CategoricalColumns) and hgb[0].columns == ["city"]
    wrapped = with_preprocessing(
        LogitAdjustedClassifier(HistGradientBoostingClassifier()), numeric, categorical
    )
    assert isinstance(wrapped[0], CategoricalColumns)
    # without categorical columns it needs no step at all
    plain = HistGradientBoostingClassifier(max_iter=7)
    alone = with_preprocessing(plain, numeric, [])
    assert type(alone) is HistGradientBoostingClassifier and alone is not plain
    assert alone.max_iter == 7
    # a pipeline, or gradient boosting told its categories, gets the one-hot step
    for estimator in [
        make_pipeline(MinMaxScaler(), HistGradientBoostingClassifier()),
        HistGradientBoostingClassifier(categorical_features=[0]),
        LogisticRegression(),
    ]:
        pipe = with_preprocessing(estimator, numeric, categorical)
        assert isinstance(pipe[0], ColumnTransformer)
        assert repr(pipe[1]) == repr(estimator) and pipe[1] is not estimator


def _mixed_frame(n=200, seed=0):
    rng = np.random.RandomState(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 1, n),
            "age": np.where(rng.rand(n) < 0.1, np.nan, rng.normal(40, 10, n)),
            "plan": rng.choice(["basic", "gold", "rare"], n, p=[0.7, 0.28, 0.02]),
        }
    )


@pytest.mark.parametrize("wrap", [False, True])
def test_leading_standard_scaler_scales_numeric_columns_only(wrap):
    frame = _mixed_frame()
    model = make_pipeline(StandardScaler(), LogisticRegression())
    if wrap:  # the scaler inside a meta-estimator moves too
        model = LogitAdjustedClassifier(model)
    pipe = with_preprocessing(model, ["income", "age"], ["plan"])
    inner = pipe[1].estimator if wrap else pipe[1]
    assert [type(step) for _, step in inner.steps] == [LogisticRegression]
    out = pipe[0].fit_transform(frame)
    # reference by hand: median imputation, then z-scores with the population std
    for j, name in enumerate(["income", "age"]):
        column = frame[name].fillna(frame[name].median()).to_numpy()
        expected = (column - column.mean()) / column.std()
        np.testing.assert_allclose(out[:, j], expected, rtol=1e-10)
    # the missing-value indicator of age and the one-hot columns stay 0/1
    indicator = frame["age"].isna().to_numpy().astype(float)
    np.testing.assert_array_equal(out[:, 2], indicator)
    one_hot = out[:, 3:]
    assert set(np.unique(one_hot)) == {0.0, 1.0}
    np.testing.assert_array_equal(one_hot.sum(axis=1), np.ones(len(frame)))
    assert one_hot.shape[1] == 3


def test_native_path_fits_hist_gradient_boosting_on_a_mixed_table():
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=80), "c": rng.choice(["u", "v", None], 80)}
    )
    y = (frame["c"] == "u").to_numpy().astype(int)
    model = with_preprocessing(
        HistGradientBoostingClassifier(max_iter=20), ["x"], ["c"]
    )
    model.fit(frame.iloc[:60], y[:60])
    assert model[-1].is_categorical_.tolist() == [False, True]
    assert (model.predict(frame.iloc[60:]) == y[60:]).mean() == 1.0


def test_check_finite_features_names_the_columns():
    frame = pd.DataFrame({"ok": [1.0, np.nan], "big": [1e300, -1e300], "s": ["a", "b"]})
    with pytest.raises(ValueError, match=r"column\(s\) big have values too large"):
        _check_finite_features(frame)
    frame["big"] = [np.inf, 1.0]
    with pytest.raises(ValueError, match=r"column\(s\) big contain infinite values"):
        _check_finite_features(frame, ["ok", "big"])
    _check_finite_features(frame[["ok", "s"]])  # NaN and strings are fine
    _check_finite_features(np.array([[1e150, 1.0], [-1e150, 2.0]]))  # no overflow
    with pytest.raises(ValueError, match=r"column\(s\) 1 contain infinite"):
        _check_finite_features(np.array([[1.0, np.inf]]))
    _check_finite_features(np.array([["a", "b"]], dtype=object))  # left to contenders
