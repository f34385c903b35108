"""Persistence: pickle, joblib, GPU-to-CPU loading and the pickle-free format."""

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
import torch.serialization
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.exceptions import DeviceWarning

from sklearn_lt import (
    LinearMarginClassifier,
    LogitAdjustedClassifier,
    LogitAdjustedClassifierCV,
    MLPMarginClassifier,
)
from sklearn_lt.persistence import ModelFileError, load, save
from sklearn_lt.persistence._format import FORMAT_VERSION

ESTIMATORS = {
    "linear": LinearMarginClassifier(random_state=0),
    "linear-ldam-drw": LinearMarginClassifier(
        loss="ldam", reweight="drw", max_iter=20, random_state=0
    ),
    "mlp-elm-early-stopping": MLPMarginClassifier(
        loss="elm",
        hidden_layer_sizes=(6, 4),
        early_stopping=True,
        max_iter=4,
        random_state=0,
    ),
    "mlp-ldam-class-weight": MLPMarginClassifier(
        loss="ldam",
        class_weight={0: 1.0, 2: 3.0},
        hidden_layer_sizes=5,
        dropout=0.1,
        max_iter=3,
        random_state=0,
    ),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [30, 12, 6])
    X = rng.normal(size=(y.size, 4)) + y[:, None]
    return X, y


@pytest.fixture(scope="module", params=sorted(ESTIMATORS))
def fitted(request, data):
    X, y = data
    return clone(ESTIMATORS[request.param]).fit(X, y)


def _outputs(clf, X):
    outputs = {
        "predict": clf.predict(X),
        "predict_proba": clf.predict_proba(X),
        "decision_function": clf.decision_function(X),
    }
    if hasattr(clf, "transform"):
        outputs["transform"] = clf.transform(X)
    return outputs


def _assert_same_outputs(a, b, X):
    expected, actual = _outputs(a, X), _outputs(b, X)
    assert expected.keys() == actual.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


# --------------------------------------------------------------------------
# pickle and joblib
# --------------------------------------------------------------------------
def test_pickle_round_trip_predicts_identically(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    _assert_same_outputs(fitted, restored, X)
    assert restored.get_params() == fitted.get_params()


def test_joblib_round_trip_predicts_identically(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    _assert_same_outputs(fitted, joblib.load(path), X)


def test_pickled_model_can_be_refitted(data):
    X, y = data
    clf = LinearMarginClassifier(random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        restored.fit(X, y).predict_proba(X), clf.predict_proba(X)
    )


# --------------------------------------------------------------------------
# A model fitted on a GPU, loaded on a CPU-only machine
# --------------------------------------------------------------------------
def _pickle_as_if_fitted_on_cuda(clf, monkeypatch):
    """Pickle ``clf`` as a CUDA-fitted model would be pickled.

    The tensors' storages are recorded with the location tag ``"cuda:0"``
    (what ``torch`` writes for a tensor on the first GPU), and the estimator
    and its net say ``device="cuda"``. ``torch.serialization.location_tag`` is
    the function ``torch.save`` asks for that tag, so patching it while
    pickling produces the bytes a GPU fit produces.
    """
    clf = pickle.loads(pickle.dumps(clf))
    clf.device = "cuda"
    clf.net_.device = "cuda"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        blob = pickle.dumps(clf)
        cuda_state = clf.net_.__getstate__()["__cuda_dependent_attributes__"]
    return blob, cuda_state


def test_model_pickled_on_cuda_loads_and_predicts_on_cpu(data, monkeypatch):
    X, y = data
    clf = MLPMarginClassifier(
        loss="ldam", hidden_layer_sizes=(5,), max_iter=3, random_state=0
    ).fit(X, y)
    blob, cuda_state = _pickle_as_if_fitted_on_cuda(clf, monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    # The simulation is faithful: the weights really are tagged for CUDA, so
    # a plain unpickler without a map location fails as on a real CPU machine.
    with pytest.raises(RuntimeError, match="CUDA"):
        pickle.loads(cuda_state)

    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        restored = pickle.loads(blob)
    assert torch.device(restored.net_.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in restored.net_.module_.parameters())
    _assert_same_outputs(clf, restored, X)
    # Refitting needs the device parameter changed, with a clear error until then.
    with pytest.raises(ValueError, match="CUDA is not available"):
        restored.fit(X, y)
    restored.set_params(device="cpu").fit(X, y)


def test_safe_format_model_saved_for_cuda_loads_on_cpu_with_a_warning(
    data, monkeypatch
):
    X, y = data
    clf = LinearMarginClassifier(random_state=0).fit(X, y)
    buffer = io.BytesIO()
    save(clf, buffer)
    files = _members(buffer)
    metadata = json.loads(files["metadata.json"])
    metadata["params"]["device"] = "cuda"
    files["metadata.json"] = json.dumps(metadata)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="CUDA is not available"):
        restored = load(_archive(files))
    assert restored.device == "cpu"
    _assert_same_outputs(clf, restored, X)
    with pytest.raises(ValueError, match="CUDA is not available"):
        load(_archive(files), device="cuda")


_LOAD_ON_CPU = """
import pickle, sys
import numpy as np
import torch
from sklearn_lt.persistence import load
assert not torch.cuda.is_available()
X = np.load(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    pickled = pickle.load(f)
safe = load(sys.argv[3])
np.save(sys.argv[4], np.stack([pickled.predict_proba(X), safe.predict_proba(X)]))
"""


@pytest.mark.gpu
def test_model_fitted_on_cuda_loads_in_a_process_without_cuda(data, tmp_path):
    X, y = data
    clf = MLPMarginClassifier(
        hidden_layer_sizes=(8,), max_iter=5, device="cuda", random_state=0
    ).fit(X, y)
    assert next(clf.net_.module_.parameters()).is_cuda
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(clf, f)
    save(clf, tmp_path / "model.sklt")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_ON_CPU,
            *(str(tmp_path / name) for name in ("X.npy", "model.pkl", "model.sklt")),
            str(tmp_path / "proba.npy"),
        ],
        check=True,
        env=env,
    )
    pickled, safe = np.load(tmp_path / "proba.npy")
    expected = clf.predict_proba(X)
    # GPU and CPU kernels round differently; the weights are the same.
    np.testing.assert_allclose(pickled, expected, atol=1e-5)
    np.testing.assert_allclose(safe, expected, atol=1e-5)


# --------------------------------------------------------------------------
# The pickle-free format
# --------------------------------------------------------------------------
def _members(buffer):
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _archive(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


def _round_trip(clf, **kwargs):
    buffer = io.BytesIO()
    save(clf, buffer)
    buffer.seek(0)
    return load(buffer, **kwargs)


def test_safe_format_round_trip_predicts_identically(fitted, data):
    X, _ = data
    restored = _round_trip(fitted)
    _assert_same_outputs(fitted, restored, X)
    assert type(restored) is type(fitted)
    assert restored.get_params() == fitted.get_params()
    assert set(vars(restored)) == set(vars(fitted))
    for name in ("classes_", "class_counts_", "n_features_in_", "n_iter_"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(fitted, name))
    assert restored.net_.history.to_list() == fitted.net_.history.to_list()
    # The loaded model is an ordinary estimator: it clones and refits.
    X_, y_ = data
    clone(restored).fit(X_, y_).predict(X_)


def test_safe_format_writes_to_a_path_and_leaves_torch_rng_alone(data, tmp_path):
    X, y = data
    clf = MLPMarginClassifier(max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.sklt"
    save(clf, path)
    save(clf, str(path))  # replaces the file
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    restored = load(path)
    np.testing.assert_array_equal(torch.rand(3), expected)
    _assert_same_outputs(clf, restored, X)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["rare", "common", "middle"], dtype=object),
        np.array(["rare", "common", "middle"]),
        np.array([-7, 3, 1000]),
        np.array([1.0, 2.0, 5.0]),
    ],
    ids=["object-str", "unicode", "negative-int", "float"],
)
def test_safe_format_keeps_label_types(labels, data):
    X, y = data
    clf = LinearMarginClassifier(random_state=0).fit(X, labels[y])
    restored = _round_trip(clf)
    assert restored.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_safe_format_keeps_bool_labels_and_feature_names(data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    binary = y > 0
    clf = LinearMarginClassifier(random_state=0).fit(frame, binary)
    restored = _round_trip(clf)
    np.testing.assert_array_equal(restored.feature_names_in_, clf.feature_names_in_)
    np.testing.assert_array_equal(restored.predict(frame), clf.predict(frame))
    assert restored.predict(frame).dtype == bool
    with pytest.raises(ValueError, match="feature names should match"):
        restored.predict(frame[["d", "c", "b", "a"]])


def test_safe_format_keeps_parameter_types(data):
    X, y = data
    clf = MLPMarginClassifier(
        hidden_layer_sizes=(4, 3),
        class_weight={np.int64(2): 2.5, 1: 1.5},
        device=torch.device("cpu"),
        random_state=np.random.RandomState(3),
        max_iter=2,
    ).fit(X, y)
    params = _round_trip(clf).get_params()
    assert params["hidden_layer_sizes"] == (4, 3)
    assert params["class_weight"] == {2: 2.5, 1: 1.5}
    assert params["device"] == torch.device("cpu")
    assert params["random_state"].randint(10**9) == pickle.loads(
        pickle.dumps(clf.random_state)
    ).randint(10**9)


def test_safe_format_refuses_what_it_cannot_store(data):
    X, y = data
    with pytest.raises(NotFittedError):
        save(LinearMarginClassifier(), io.BytesIO())

    class Custom(LinearMarginClassifier):
        pass

    with pytest.raises(TypeError, match="Custom"):
        save(Custom(random_state=0).fit(X, y), io.BytesIO())
    # Inside a pipeline, the subclass is a type that load would not trust.
    pipeline = make_pipeline(StandardScaler(), Custom(random_state=0)).fit(X, y)
    with pytest.raises(TypeError, match="Custom"):
        save(pipeline, io.BytesIO())
    clf = LinearMarginClassifier(random_state=0).fit(X, y)
    clf.random_state = np.random.default_rng(0)
    with pytest.raises(TypeError, match="'random_state'.*Generator"):
        save(clf, io.BytesIO())


# --------------------------------------------------------------------------
# Tampered files are refused, and nothing in them runs
# --------------------------------------------------------------------------
EXECUTED = []


def _record_execution():
    EXECUTED.append(True)
    return LinearMarginClassifier()


class _Payload:
    """Unpickling this calls ``_record_execution``: a stand-in for an exploit."""

    def __reduce__(self):
        return (_record_execution, ())


@pytest.fixture
def saved(data):
    X, y = data
    clf = MLPMarginClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    buffer = io.BytesIO()
    save(clf.fit(X, y), buffer)
    EXECUTED.clear()
    yield _members(buffer)
    assert not EXECUTED, "loading ran code from the file"


def _with_metadata(files, change):
    metadata = json.loads(files["metadata.json"])
    change(metadata)
    return {**files, "metadata.json": json.dumps(metadata).encode()}


def test_a_pickle_in_place_of_the_model_file_is_refused(saved, tmp_path):
    path = tmp_path / "model.sklt"
    path.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ModelFileError, match="not a zip archive.*pickle"):
        load(path)


def test_a_pickle_in_place_of_the_weights_is_refused(saved):
    buffer = io.BytesIO()
    torch.save({"head.weight": _Payload()}, buffer)
    for payload in (buffer.getvalue(), pickle.dumps(_Payload())):
        with pytest.raises(ModelFileError, match="refused without running"):
            load(_archive({**saved, "module.pt": payload}))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format="pickle"), "format 'pickle'"),
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "newer"),
        (lambda m: m.update(format_version="1"), "invalid format_version"),
        (lambda m: m.update(estimator="os.system"), "only .*can be loaded"),
        (lambda m: m["params"].update(run="rm -rf /"), r"parameters \['run'\]"),
        (lambda m: m["params"].update(max_margin=-1.0), "max_margin"),
        (lambda m: m["params"].update(loss={"eval": "1"}), "unknown value tag"),
        (lambda m: m["params"].update(tau=[1.0]), "tau"),
        (lambda m: m["attributes"].update(class_counts_=[5, -1, 3]), "non-negative"),
        (lambda m: m["attributes"].update(class_counts_=[0, 0, 0]), "not all zero"),
        (lambda m: m["attributes"].update(n_features_in_=5), "do not fit"),
        (lambda m: m["attributes"].update(n_features_in_=True), "n_features_in_"),
        (
            lambda m: m["attributes"].update(classes_={"dtype": "|V8", "values": []}),
            "dtype",
        ),
        (
            lambda m: m["attributes"].update(
                classes_={"dtype": "<U1", "values": ["ab", "cd", "ef"]}
            ),
            "does not fit its dtype",
        ),
        (lambda m: m["attributes"].update(net_="x"), "unknown attributes"),
    ],
    ids=[
        "format",
        "newer-version",
        "version-type",
        "estimator",
        "unknown-parameter",
        "invalid-parameter",
        "unknown-tag",
        "parameter-type",
        "negative-count",
        "all-zero-counts",
        "feature-count",
        "bool-as-int",
        "void-dtype",
        "truncated-labels",
        "extra-attribute",
    ],
)
def test_a_modified_header_is_refused(saved, change, message):
    with pytest.raises(ModelFileError, match=message):
        load(_archive(_with_metadata(saved, change)))


def test_modified_weights_and_archive_members_are_refused(saved):
    state = torch.load(io.BytesIO(saved["module.pt"]), weights_only=True)
    bad = {}
    for name, change in [
        ("nan", lambda s: s["head.weight"].fill_(float("nan"))),
        ("shape", lambda s: s.update({"head.weight": torch.zeros(2, 2)})),
        ("missing", lambda s: s.pop("head.bias")),
    ]:
        copy = {key: value.clone() for key, value in state.items()}
        change(copy)
        buffer = io.BytesIO()
        torch.save(copy, buffer)
        bad[name] = buffer.getvalue()
    with pytest.raises(ModelFileError, match="not finite"):
        load(_archive({**saved, "module.pt": bad["nan"]}))
    for name in ("shape", "missing"):
        with pytest.raises(ModelFileError, match="do not fit"):
            load(_archive({**saved, "module.pt": bad[name]}))
    with pytest.raises(ModelFileError, match="members"):
        load(_archive({**saved, "extra.py": b"print(1)"}))
    with pytest.raises(ModelFileError, match="members"):
        load(_archive({k: v for k, v in saved.items() if k != "history.json"}))
    with pytest.raises(ModelFileError, match="invalid JSON"):
        load(_archive({**saved, "metadata.json": b"{not json"}))


@pytest.mark.parametrize("loss", ["ldam", "vs", "logit_adjusted"])
def test_partial_fit_model_with_an_unseen_class_round_trips(loss, data):
    # partial_fit allows classes declared but not seen yet (count 0); the
    # file must load back with the true counts and the same outputs.
    X, y = data
    clf = LinearMarginClassifier(loss=loss, random_state=0)
    seen = y < 2
    clf.partial_fit(X[seen], y[seen], classes=np.unique(y))
    assert clf.class_counts_.min() == 0
    restored = _round_trip(clf)
    np.testing.assert_array_equal(restored.class_counts_, clf.class_counts_)
    _assert_same_outputs(clf, restored, X)


# --------------------------------------------------------------------------
# Fitted attributes beyond the five of format version 1
# --------------------------------------------------------------------------
def test_extra_fitted_attributes_round_trip(data):
    # Attributes such as loss_curve_ (a list of floats) or
    # best_validation_score_ (None without early stopping) are stored as
    # plain JSON, whatever their names.
    X, y = data
    clf = MLPMarginClassifier(max_iter=2, random_state=0).fit(X, y)
    clf.loss_curve_ = [1.25, 0.5, float("nan")]
    clf.best_validation_score_ = None
    clf.validation_scores_ = np.array([0.25, 0.75])
    clf.n_layers_ = np.int64(3)
    restored = _round_trip(clf)
    np.testing.assert_array_equal(restored.loss_curve_, clf.loss_curve_)
    assert isinstance(restored.loss_curve_, list)
    assert restored.best_validation_score_ is None
    np.testing.assert_array_equal(restored.validation_scores_, [0.25, 0.75])
    assert restored.validation_scores_.dtype == np.float64
    assert restored.n_layers_ == 3 and type(restored.n_layers_) is int
    clf.history_object_ = object()
    with pytest.raises(TypeError, match="'history_object_' of type object"):
        save(clf, io.BytesIO())


@pytest.mark.parametrize("name", ["predict", "__class__", "classes", "net_", "fit_"])
def test_attributes_that_would_shadow_methods_are_refused(saved, name):
    # Only public names ending in "_" that the class does not define.
    change = lambda m: m["attributes"].update({name: 1})  # noqa: E731
    if name == "fit_":  # not a method name: a plain extra attribute
        assert load(_archive(_with_metadata(saved, change))).fit_ == 1
        return
    with pytest.raises(ModelFileError, match="unknown attributes"):
        load(_archive(_with_metadata(saved, change)))


# --------------------------------------------------------------------------
# Whole models: scikit-learn parts through skops
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [40, 15, 7])
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=y.size) + y,
            "weight": rng.normal(size=y.size) - y,
            "colour": rng.choice(["red", "green", "blue"], size=y.size),
        }
    )
    frame.loc[[3, 10], "size"] = np.nan
    return frame, y


def _preprocessing():
    return make_column_transformer(
        (
            make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_exclude="number"),
        ),
    )


WHOLE_MODELS = {
    "scaler-mlp": lambda: make_pipeline(
        StandardScaler(), MLPMarginClassifier(max_iter=3, random_state=0)
    ),
    "columns-mlp": lambda: make_pipeline(
        _preprocessing(),
        MLPMarginClassifier(loss="ldam", max_iter=3, random_state=0),
    ),
    "adjusted-linear": lambda: LogitAdjustedClassifier(
        make_pipeline(_preprocessing(), LinearMarginClassifier(random_state=0)),
        tau=0.5,
    ),
    "adjusted-sklearn": lambda: LogitAdjustedClassifier(
        make_pipeline(_preprocessing(), LogisticRegression())
    ),
    "adjusted-cv-mlp": lambda: LogitAdjustedClassifierCV(
        make_pipeline(
            _preprocessing(), MLPMarginClassifier(max_iter=2, random_state=0)
        ),
        taus=[0.0, 1.0],
        cv=2,
    ),
    # sklearn-lt compare's blend_la: a soft vote, ours and boosted trees
    "voting-blend": lambda: make_pipeline(
        _preprocessing(),
        VotingClassifier(
            [
                ("mlp", MLPMarginClassifier(max_iter=2, random_state=0)),
                ("linear", LinearMarginClassifier(random_state=0)),
                (
                    "hgb",
                    LogitAdjustedClassifier(
                        HistGradientBoostingClassifier(max_iter=5, random_state=0)
                    ),
                ),
            ],
            voting="soft",
        ),
    ),
}


def _no_address(text):
    return re.sub(r" at 0x[0-9a-f]+", "", text)


@pytest.mark.parametrize("name", sorted(WHOLE_MODELS))
def test_whole_model_round_trip_predicts_identically(name, table):
    X, y = table
    if name == "scaler-mlp":
        X = X[["size", "weight"]].fillna(0.0)
    model = WHOLE_MODELS[name]().fit(X, y)
    restored = _round_trip(model)
    assert type(restored) is type(model)
    # make_column_selector's repr shows its address; the rest must agree.
    assert _no_address(repr(restored)) == _no_address(repr(model))
    assert set(vars(restored)) == set(vars(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    pipeline = getattr(restored, "estimator_", restored)
    last, original = pipeline.steps[-1][1], getattr(model, "estimator_", model)
    assert type(last) is type(original.steps[-1][1])
    if isinstance(last, (LinearMarginClassifier, MLPMarginClassifier)):
        assert last.net_.history.to_list() == (
            original.steps[-1][1].net_.history.to_list()
        )
    # A loaded whole model is an ordinary estimator: it clones and refits.
    clone(restored).fit(X, y).predict(X)


def test_voting_members_stay_one_object_each(table):
    # VotingClassifier keeps each fitted member twice: in estimators_ and in
    # the Bunch named_estimators_; both must load as the same object.
    X, y = table
    model = WHOLE_MODELS["voting-blend"]().fit(X, y)
    vote = _round_trip(model).steps[-1][1]
    assert type(vote.named_estimators_) is type(model.steps[-1][1].named_estimators_)
    assert list(vote.named_estimators_) == ["mlp", "linear", "hgb"]
    for member, named in zip(vote.estimators_, vote.named_estimators_.values()):
        assert member is named
    assert isinstance(vote.estimators_[0], MLPMarginClassifier)


def test_prefit_inner_classifier_stays_one_object(data, tmp_path):
    X, y = data
    inner = MLPMarginClassifier(max_iter=2, random_state=0).fit(X, y)
    model = LogitAdjustedClassifier(inner, prefit=True).fit(X, y)
    save(model, tmp_path / "model.sklt")
    restored = load(tmp_path / "model.sklt")
    assert restored.estimator_ is restored.estimator
    assert isinstance(restored.estimator_, MLPMarginClassifier)
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    with zipfile.ZipFile(tmp_path / "model.sklt") as archive:
        names = sorted(archive.namelist())
    assert names == [
        "metadata.json",
        "part0/history.json",
        "part0/metadata.json",
        "part0/module.pt",
        "sklearn.skops",
    ]


_CONSTRUCTED = []


class _Recorder(TransformerMixin, BaseEstimator):
    """A custom transformer whose unpickling/loading is recorded."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return X

    def __setstate__(self, state):
        _CONSTRUCTED.append(True)
        super().__setstate__(state)


@pytest.fixture
def saved_pipeline(data):
    X, y = data
    model = make_pipeline(StandardScaler(), LinearMarginClassifier(random_state=0)).fit(
        X, y
    )
    buffer = io.BytesIO()
    save(model, buffer)
    return _members(buffer)


def _edit_skops(files, change):
    """Rewrite the schema of the skops member with ``change(text)``."""
    inner = _members(io.BytesIO(files["sklearn.skops"]))
    inner["schema.json"] = change(inner["schema.json"].decode()).encode()
    return {**files, "sklearn.skops": _archive(inner).getvalue()}


def test_a_skops_part_naming_os_system_is_refused(saved_pipeline):
    def to_os_system(text):
        schema = json.loads(text)
        step = schema["content"]["content"]["steps"]["content"][0]["content"][1]
        assert step["__class__"] == "StandardScaler"
        step.update({"__class__": "system", "__module__": "os"})
        return json.dumps(schema)

    files = _edit_skops(saved_pipeline, to_os_system)
    with pytest.raises(ModelFileError, match=r"untrusted types \['os.system'\]"):
        load(_archive(files))


def test_a_bunch_is_trusted_only_as_an_ensembles_named_estimators(data, table):
    from sklearn.utils import Bunch

    from sklearn_lt.persistence._trust import check_loaded

    X, y = data
    # anywhere else, a Bunch is refused by load's check, also after a save
    stray = LogisticRegression().fit(X, y)
    stray.extra_ = Bunch(a=np.zeros(3))
    with pytest.raises(ModelFileError, match="a Bunch other than the named_estim"):
        check_loaded(stray)
    buffer = io.BytesIO()
    save(make_pipeline(StandardScaler(), stray), buffer)
    buffer.seek(0)
    with pytest.raises(ModelFileError, match="a Bunch other than the named_estim"):
        load(buffer)
    # an ensemble's Bunch whose values are not its members is refused too
    X_table, y_table = table
    model = WHOLE_MODELS["voting-blend"]().fit(X_table, y_table)
    check_loaded(model)  # as fitted: accepted
    vote = model.steps[-1][1]
    vote.named_estimators_["mlp"] = LogisticRegression()
    with pytest.raises(ModelFileError, match="a Bunch"):
        check_loaded(model)


def test_a_custom_class_in_the_skops_part_is_refused_unless_trusted(data):
    X, y = data
    model = make_pipeline(_Recorder(), LinearMarginClassifier(random_state=0))
    model.fit(X, y)
    name = f"{_Recorder.__module__}._Recorder"
    with pytest.raises(TypeError, match="would not trust.*_Recorder"):
        save(model, io.BytesIO())
    buffer = io.BytesIO()
    save(model, buffer, trusted=[name])
    _CONSTRUCTED.clear()
    buffer.seek(0)
    with pytest.raises(ModelFileError, match=f"untrusted types.*{name}"):
        load(buffer)
    assert not _CONSTRUCTED, "the untrusted class was constructed"
    buffer.seek(0)
    restored = load(buffer, trusted=[name])
    assert _CONSTRUCTED
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_tampered_whole_model_files_are_refused(saved_pipeline):
    files = saved_pipeline
    schema_ref = lambda text: text.replace("part0", "part7")  # noqa: E731
    cases = {
        "refers to a part 'part7'": _edit_skops(files, schema_ref),
        "has no member 'part0/metadata.json'": {
            k: v for k, v in files.items() if k != "part0/metadata.json"
        },
        "members \\['part0/extra.py'\\]": {**files, "part0/extra.py": b"1"},
        "parts should be a list": _with_metadata(
            files, lambda m: m.update(parts=["../etc"])
        ),
        "does not use the parts \\['part1'\\]": {
            **_with_metadata(files, lambda m: m.update(parts=["part0", "part1"])),
            **{
                f"part1/{k}": v
                for k, v in files.items()
                if k.startswith("part0/")
                for k in [k.split("/", 1)[1]]
            },
        },
        "not a valid zip|is not a model file": {
            **files,
            "sklearn.skops": b"not a zip",
        },
    }
    for message, members in cases.items():
        with pytest.raises(ModelFileError, match=message):
            load(_archive(members))


# --------------------------------------------------------------------------
# How load opens files, its budget, and its one error type
# --------------------------------------------------------------------------
def test_load_reads_paths_open_files_and_version_1_files(saved, tmp_path):
    path = tmp_path / "model.sklt"
    path.write_bytes(_archive(saved).getvalue())
    with open(path, "rb") as f:
        from_file = load(f)
    np.testing.assert_array_equal(from_file.class_counts_, load(path).class_counts_)
    # Version 1 files (one classifier, five fitted attributes) still load.
    version_1 = _with_metadata(saved, lambda m: m.update(format_version=1))
    np.testing.assert_array_equal(
        load(_archive(version_1)).class_counts_, from_file.class_counts_
    )
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.sklt")


def test_a_pipe_is_refused_without_reading(saved):
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe, os.fdopen(write_end, "wb"):
        # Nothing is ever written: reading would block forever.
        with pytest.raises(ModelFileError, match="FIFO.*not a regular file"):
            load(pipe)


def test_max_bytes_limits_and_raises_the_budget(saved):
    total = sum(len(data) for data in saved.values())
    with pytest.raises(ModelFileError, match="exceeds the limit of 1000 bytes"):
        load(_archive(saved), max_bytes=1000)
    # The JSON counts at 16 bytes per character once parsed, the weights twice.
    load(_archive(saved), max_bytes=40 * total)
    for bad in (-1, 1.5, "1"):
        with pytest.raises(ValueError, match="max_bytes"):
            load(_archive(saved), max_bytes=bad)


@pytest.mark.parametrize("error", [MemoryError, RecursionError, OverflowError])
def test_any_error_while_loading_is_a_model_file_error(saved, monkeypatch, error):
    # Building the network is the last step, after every check of the file.
    def fail(*args, **kwargs):
        raise error("raised while building the network")

    monkeypatch.setattr(MLPMarginClassifier, "_build_net", fail)
    with pytest.raises(ModelFileError, match=f"{error.__name__}: raised while") as info:
        load(_archive(saved))
    assert isinstance(info.value.__cause__, error)
    assert "\n" not in str(info.value)


def test_a_model_that_cannot_be_stored_leaves_an_existing_file_alone(data, tmp_path):
    X, y = data
    path = tmp_path / "model.sklt"
    path.write_bytes(b"the user's earlier model")
    model = make_pipeline(_Recorder(), LinearMarginClassifier(random_state=0))
    with pytest.raises(TypeError, match="would not trust"):
        save(model.fit(X, y), path)
    clf = LinearMarginClassifier(random_state=0).fit(X, y)
    clf.random_state = np.random.default_rng(0)
    with pytest.raises(TypeError, match="Generator"):
        save(clf, path)
    assert path.read_bytes() == b"the user's earlier model"
