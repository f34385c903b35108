"""Whole models with ordinary scikit-learn / imbalanced-learn parts (issue 23).

What ``sklearn_lt.persistence`` trusts in the skops part beyond skops'
defaults: estimators and data-only helpers of scikit-learn,
imbalanced-learn and this package, dtype types as values, and tree types
whose indices are checked after loading. Everything else is refused.
"""

import io
import json
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, TunedThresholdClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_lt import (
    LinearMarginClassifier,
    LinearMarginClassifierCV,
    LogitAdjustedClassifierCV,
    MLPMarginClassifier,
)
from sklearn_lt.persistence import ModelFileError, load, save

imblearn = pytest.importorskip("imblearn")
from imblearn.over_sampling import SMOTE  # noqa: E402
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline  # noqa: E402
from imblearn.under_sampling import RandomUnderSampler  # noqa: E402


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [60, 25, 15])
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=y.size) + y,
            "weight": rng.normal(size=y.size) - y,
            "colour": rng.choice(["red", "green", "blue"], size=y.size),
        }
    )
    return frame, y


def _round_trip(model, **kwargs):
    buffer = io.BytesIO()
    save(model, buffer, **kwargs)
    buffer.seek(0)
    return load(buffer, **kwargs)


def _selector_pipeline():
    # Type objects, not strings: skops reports them as 'numpy.number' and
    # 'builtins.object' (issue 23 item 4).
    return make_pipeline(
        make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include=np.number)),
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include=object),
            ),
        ),
        LinearMarginClassifier(random_state=0),
    )


def _categorical_hgb():
    return LogitAdjustedClassifierCV(
        HistGradientBoostingClassifier(
            max_iter=15, categorical_features="from_dtype", random_state=0
        ),
        cv=2,
    )


MODELS = {
    # (a) make_column_selector with dtype types
    "column-selector-types": (_selector_pipeline, "frame"),
    # (b) the docs' post-hoc example: TreePredictor inside
    "adjusted-cv-hist-gradient-boosting": (
        lambda: LogitAdjustedClassifierCV(
            HistGradientBoostingClassifier(max_iter=15, random_state=0), cv=2
        ),
        "numeric",
    ),
    "adjusted-cv-hist-gradient-boosting-categorical": (_categorical_hgb, "category"),
    # (c) imbalanced-learn pipelines
    "imblearn-under-sampling": (
        lambda: make_imblearn_pipeline(
            RandomUnderSampler(random_state=0), LogisticRegression()
        ),
        "numeric",
    ),
    "imblearn-smote": (
        lambda: make_imblearn_pipeline(
            SMOTE(random_state=0), StandardScaler(), LogisticRegression()
        ),
        "numeric",
    ),
    "imblearn-smote-ours": (
        lambda: make_imblearn_pipeline(
            SMOTE(random_state=0), LinearMarginClassifier(random_state=0)
        ),
        "numeric",
    ),
    # what an experienced user wraps around a classifier
    "calibrated-linear": (
        lambda: CalibratedClassifierCV(LinearMarginClassifier(random_state=0), cv=2),
        "numeric",
    ),
    "tuned-threshold-linear": (
        lambda: TunedThresholdClassifierCV(
            LinearMarginClassifier(random_state=0), cv=2
        ),
        "binary",
    ),
    # our own estimators that are not stored in our format: by the rule
    "linear-margin-cv": (lambda: LinearMarginClassifierCV(cv=2), "numeric"),
    # (d) fitted searches of our classifiers
    "grid-search-linear": (
        lambda: GridSearchCV(
            LinearMarginClassifier(random_state=0),
            {"alpha": [1e-4, 1e-2]},
            cv=2,
            scoring="balanced_accuracy",
        ),
        "numeric",
    ),
    "grid-search-mlp": (
        lambda: GridSearchCV(
            MLPMarginClassifier(max_iter=2, random_state=0),
            {"hidden_layer_sizes": [(4,), (6,)]},
            cv=2,
        ),
        "numeric",
    ),
}


def _data(kind, table):
    frame, y = table
    if kind == "numeric":
        return frame[["size", "weight"]].to_numpy(), y
    if kind == "binary":
        return frame[["size", "weight"]].to_numpy(), (y > 0).astype(int)
    if kind == "category":
        return frame.astype({"colour": "category"}), y
    return frame, y


@pytest.mark.parametrize("name", sorted(MODELS))
def test_ordinary_model_round_trip_predicts_identically(name, table):
    build, kind = MODELS[name]
    X, y = _data(kind, table)
    model = build().fit(X, y)
    restored = _round_trip(model)
    assert type(restored) is type(model)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_grid_search_keeps_its_results_and_the_scored_estimator(table):
    X, y = _data("numeric", table)
    search = GridSearchCV(
        LinearMarginClassifier(random_state=0), {"alpha": [1e-4, 1e-2]}, cv=2
    ).fit(X, y)
    restored = _round_trip(search)
    assert restored.best_params_ == search.best_params_
    np.testing.assert_array_equal(
        restored.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    assert isinstance(restored.best_estimator_, LinearMarginClassifier)
    # The scorer holds the same unfitted template as the search, as before.
    assert restored.scorer_._estimator is restored.estimator
    assert restored.score(X, y) == search.score(X, y)


# --------------------------------------------------------------------------
# Foreign types are still refused, by name, before anything is built
# --------------------------------------------------------------------------
def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _archive(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _edit_schema(model, change):
    """Save ``model``, then rewrite each node of its skops schema with ``change``."""
    buffer = io.BytesIO()
    save(model, buffer)
    files = _members(buffer.getvalue())
    inner = _members(files["sklearn.skops"])
    changed = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if change(node):
                changed.append(node)
            for value in node.values():
                walk(value)

    schema = json.loads(inner["schema.json"])
    walk(schema)
    assert changed, "the edit found nothing to change"
    inner["schema.json"] = json.dumps(schema).encode()
    files["sklearn.skops"] = _archive(inner).getvalue()
    return _archive(files)


@pytest.fixture(scope="module")
def selector_pipeline(table):
    X, y = table
    return _selector_pipeline().fit(X, y)


def _retype(old, new, loader=None):
    def change(node):
        if f"{node.get('__module__')}.{node.get('__class__')}" != old:
            return False
        module, _, name = new.rpartition(".")
        node.update({"__module__": module, "__class__": name})
        if loader:
            node["__loader__"] = loader
        return True

    return change


@pytest.mark.parametrize(
    "old, new",
    [
        ("numpy.number", "builtins.eval"),  # a callable where a type stood
        ("numpy.number", "os.system"),
        ("builtins.object", "subprocess.Popen"),
    ],
)
def test_a_foreign_type_in_place_of_a_dtype_is_refused(selector_pipeline, old, new):
    crafted = _edit_schema(selector_pipeline, _retype(old, new))
    with pytest.raises(ModelFileError, match=rf"untrusted types \['{new}'\]"):
        load(crafted)


def test_a_dtype_type_is_trusted_as_a_value_only(selector_pipeline):
    # numpy.number where the file would construct an object, not name a type.
    crafted = _edit_schema(
        selector_pipeline,
        _retype("sklearn.preprocessing._data.StandardScaler", "numpy.number"),
    )
    with pytest.raises(ModelFileError, match=r"untrusted types \['numpy.number'\]"):
        load(crafted)


@pytest.mark.parametrize(
    "name",
    [
        # ours, but stored only in our own format, never built by skops
        "sklearn_lt.linear.LinearMarginClassifier",
        # ours, but not an estimator (a skorch net holds arbitrary torch code)
        "sklearn_lt.net.LongTailNet",
        # a library function, but not a metric (it writes files)
        "sklearn.datasets._svmlight_format_io.dump_svmlight_file",
        # a class re-exported under another module's name
        "sklearn.preprocessing.StandardScaler",
        # another module of the package that is never imported for a file
        "sklearn_lt.__main__.main",
        # a look-alike package
        "sklearn_ltx.linear.LinearMarginClassifier",
    ],
)
def test_names_outside_the_trusted_rules_are_refused(selector_pipeline, name):
    scaler = "sklearn.preprocessing._data.StandardScaler"
    crafted = _edit_schema(selector_pipeline, _retype(scaler, name))
    before = set(sys.modules)
    with pytest.raises(ModelFileError, match=rf"untrusted types \['{name}'\]"):
        load(crafted)
    assert "sklearn_lt.__main__" in before or "sklearn_lt.__main__" not in sys.modules


def test_a_foreign_class_is_refused_at_save_and_load(table):
    class Foreign(StandardScaler):
        pass

    X, y = _data("numeric", table)
    model = make_pipeline(Foreign(), LogisticRegression()).fit(X, y)
    with pytest.raises(TypeError, match="would not trust.*Foreign"):
        save(model, io.BytesIO())


# --------------------------------------------------------------------------
# Trees: trusted because their indices are checked after loading
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def boosted(table):
    X, y = _data("numeric", table)
    return X, y, HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)


def _tampered_copy(model, change):
    """Save and load ``model`` (a deep copy), then apply ``change`` to it."""
    copy = _round_trip(model)
    change(copy)
    return copy


def _first_split(predictor):
    return int(np.flatnonzero(predictor.nodes["is_leaf"] == 0)[0])


def _set_node(field, value):
    def change(model):
        predictor = model._predictors[0][0]
        predictor.nodes[field][_first_split(predictor)] = value

    return change


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("left", 10**6, "left child index outside the tree"),
        ("right", 0, "right child index outside the tree"),  # a cycle to the root
        ("feature_idx", 2, "splits on a feature outside the 2 it has"),
        ("feature_idx", -1, "splits on a feature outside the 2 it has"),
        ("is_categorical", 1, "categorical split on a non-categorical feature"),
    ],
)
def test_a_tree_with_indices_out_of_range_is_refused(boosted, field, value, message):
    X, y, model = boosted
    crafted = _tampered_copy(model, _set_node(field, value))
    buffer = io.BytesIO()
    save(crafted, buffer)  # save stores what it is given; load checks it
    buffer.seek(0)
    with pytest.raises(ModelFileError, match=message):
        load(buffer)


def test_a_tree_with_short_category_bitsets_is_refused(boosted):
    X, y, model = boosted

    def change(copy):
        copy._predictors[0][0].raw_left_cat_bitsets = np.zeros((1, 4), np.uint32)

    crafted = _tampered_copy(model, change)
    buffer = io.BytesIO()
    save(crafted, buffer)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match=r"not an \(n, 8\) array"):
        load(buffer)


def test_a_tree_predictor_outside_its_model_is_refused(boosted):
    X, y, model = boosted
    scaler = StandardScaler().fit(X)
    scaler.stray_ = model._predictors[0][0]
    pipeline = make_pipeline(scaler, LinearMarginClassifier(random_state=0)).fit(X, y)
    buffer = io.BytesIO()
    save(pipeline, buffer)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="outside the HistGradientBoosting"):
        load(buffer)


@pytest.mark.parametrize(
    "position, value, message",
    [
        (1, "index", "sample index outside its data"),
        (2, "node", "node range outside its data"),
        (6, "count", "node count does not match its levels"),
        (3, "bounds", "node bounds do not match its nodes"),
    ],
)
def test_a_kd_tree_with_indices_out_of_range_is_refused(
    table, position, value, message
):
    X, y = _data("numeric", table)
    model = make_imblearn_pipeline(SMOTE(random_state=0), LogisticRegression())
    model.fit(X, y)
    tree = model[0].nn_k_._tree
    state = list(tree.__getstate__())
    if value == "index":
        state[1] = state[1].copy()
        state[1][0] = state[0].shape[0] + 5
    elif value == "node":
        state[2] = state[2].copy()
        state[2]["idx_end"][0] = state[0].shape[0] + 5
    elif value == "bounds":  # a KDTree's upper corners missing
        state[3] = np.ascontiguousarray(state[3][:1])
    else:
        state[6] = state[6] + 2
    tree.__setstate__(tuple(state))
    buffer = io.BytesIO()
    save(model, buffer)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match=message):
        load(buffer)


def test_a_boosted_model_whose_preprocessor_drops_columns_is_refused(table):
    X, y = _data("category", table)
    model = HistGradientBoostingClassifier(
        max_iter=5, categorical_features="from_dtype", random_state=0
    ).fit(X, y)
    crafted = _round_trip(model)
    name, transformer, columns = crafted._preprocessor.transformers_[1]
    assert name == "numerical" and np.sum(columns) == 2
    # The numeric columns dropped: the trees would read past each row's end.
    crafted._preprocessor.transformers_[1] = (name, "drop", columns)
    buffer = io.BytesIO()
    save(crafted, buffer)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="preprocessor gives 1 features, not 3"):
        load(buffer)


def test_trusting_a_tree_by_name_does_not_skip_its_checks(boosted):
    X, y, model = boosted
    crafted = _tampered_copy(model, _set_node("left", 10**6))
    name = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    buffer = io.BytesIO()
    save(crafted, buffer, trusted=[name])
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="left child index outside the tree"):
        load(buffer, trusted=[name])
