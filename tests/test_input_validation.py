"""Bad input: every public estimator answers loudly, early and clearly.

The matrix of issue 7. Each case either raises a clear error -- the one
scikit-learn's ``LogisticRegression`` raises for the same input, where it has
one (checked by running ``LogisticRegression`` beside ours) -- or is
documented correct behaviour, checked against an independent reference
(scikit-learn, a hand computation or an invariant). Inputs are never
modified in place.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import _check_sample_weight
from torch import nn

from sklearn_lt import (
    LinearMarginClassifier,
    LongTailNet,
    MLPMarginClassifier,
    losses,
)
from sklearn_lt.compare import compare
from sklearn_lt.losses import LDAMLoss
from sklearn_lt.net import NonFiniteLossError
from sklearn_lt.posthoc import LogitAdjustedClassifier, LogitAdjustedClassifierCV
from sklearn_lt.weights import compute_class_weights


def _linear(**params):
    return LinearMarginClassifier(**{"max_iter": 30, "random_state": 0, **params})


def _mlp(**params):
    defaults = {"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0}
    return MLPMarginClassifier(**{**defaults, **params})


ESTIMATORS = {
    "linear": _linear,
    "mlp": _mlp,
    "logit_adjusted": lambda: LogitAdjustedClassifier(_linear()),
    "logit_adjusted_cv": lambda: LogitAdjustedClassifierCV(_linear(), cv=2, taus=3),
}
OURS = list(ESTIMATORS)
REFERENCE = "LogisticRegression"


def _make(name):
    if name == REFERENCE:
        return LogisticRegression()
    return ESTIMATORS[name]()


def _data(n_per_class=20, n_features=4, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.normal(size=(len(y), n_features)) + y[:, None]
    return X, y


X0, Y0 = _data()


# --------------------------------------------------------------------------
# The error matrix: ours raise what LogisticRegression raises
# --------------------------------------------------------------------------
def _with(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


def _frame(X, columns):
    return pd.DataFrame(X, columns=columns)


# Each case: (fit X, fit y, fit kwargs, predict X or None, error type, message
# fragment, whether LogisticRegression raises it too).
ERROR_CASES = {
    "nan_in_X": (_with(X0, (3, 1), np.nan), Y0, {}, None, ValueError,
                 "Input X contains NaN", True),
    "inf_in_X": (_with(X0, (3, 1), np.inf), Y0, {}, None, ValueError,
                 "Input X contains infinity", True),
    "nan_in_X_at_predict": (X0, Y0, {}, _with(X0, (0, 0), np.nan), ValueError,
                            "Input X contains NaN", True),
    "nan_in_y": (X0, _with(Y0, 5, np.nan), {}, None, ValueError,
                 "Input y contains NaN", True),
    "continuous_y": (X0, np.linspace(0, 1, len(Y0)), {}, None, ValueError,
                     "Unknown label type: continuous", True),
    "two_column_y": (X0, np.c_[Y0, Y0], {}, None, ValueError,
                     r"y should be a 1d array, got an array of shape \(60, 2\)",
                     True),
    "single_class": (X0, np.zeros(len(Y0)), {}, None, ValueError,
                     "needs samples of at least 2 classes in the data, but the "
                     "data contains only one class", True),
    "zero_rows": (X0[:0], Y0[:0], {}, None, ValueError,
                  r"Found array with 0 sample\(s\)", True),
    "zero_rows_at_predict": (X0, Y0, {}, X0[:0], ValueError,
                             r"Found array with 0 sample\(s\)", True),
    "inconsistent_lengths": (X0, Y0[:-1], {}, None, ValueError,
                             r"inconsistent numbers of samples: \[60, 59\]", True),
    "unknown_feature_count_at_predict": (
        X0, Y0, {}, X0[:, :3], ValueError,
        r"X has 3 features, but \w+ is expecting 4 features as input", True),
    "one_dimensional_X": (X0[:, 0], Y0, {}, None, ValueError,
                          "Expected 2D array, got 1D array instead", True),
    "three_dimensional_X": (X0[:, :, None], Y0, {}, None, ValueError,
                            "Found array with dim 3", True),
    "complex_X": (X0 + 1j, Y0, {}, None, ValueError,
                  "Complex data not supported", True),
    "string_X": (np.full(X0.shape, "a"), Y0, {}, None, ValueError,
                 "could not convert string to float", True),
    # float32 is the compute type: values beyond its range are refused with
    # scikit-learn's message (LogisticRegression computes in float64).
    "X_beyond_float32": (_with(X0, (0, 0), 1e39), Y0, {}, None, ValueError,
                         r"Input X contains infinity or a value too large for "
                         r"dtype\('float32'\)", False),
    "feature_names_reordered_at_predict": (
        _frame(X0, list("abcd")), Y0, {}, _frame(X0, list("abcd"))[list("badc")],
        ValueError, "Feature names must be in the same order as they were in fit",
        True),
    "feature_names_unseen_at_predict": (
        _frame(X0, list("abcd")), Y0, {}, _frame(X0, list("abce")), ValueError,
        "Feature names unseen at fit time", True),
    "sample_weight_wrong_length": (
        X0, Y0, {"sample_weight": np.ones(59)}, None, ValueError,
        r"sample_weight.shape == \(59,\), expected \(60,\)!", True),
    "sample_weight_nan": (X0, Y0, {"sample_weight": _with(np.ones(60), 0, np.nan)},
                          None, ValueError, "Input sample_weight contains NaN", True),
    "sample_weight_all_zero": (
        X0, Y0, {"sample_weight": np.zeros(60)}, None, ValueError,
        "Sample weights must contain at least one non-zero number", True),
    # LogisticRegression accepts negative weights; scikit-learn's message for
    # refusing them is _check_sample_weight's (test below).
    "sample_weight_negative": (
        X0, Y0, {"sample_weight": _with(np.ones(60), 7, -1.0)}, None, ValueError,
        "Negative values in data passed to `sample_weight`", False),
}  # fmt: skip


def _fit_predict(estimator, X, y, fit_kwargs, X_predict):
    estimator.fit(X, y, **fit_kwargs)
    if X_predict is not None:
        estimator.predict(X_predict)


@pytest.mark.parametrize(
    ("case", "estimator"),
    [
        (case, estimator)
        for case, spec in ERROR_CASES.items()
        # LogisticRegression runs too where it refuses the input as well.
        for estimator in [*OURS, REFERENCE]
        if spec[-1] or estimator != REFERENCE
    ],
)
def test_bad_input_raises_scikit_learns_error(case, estimator):
    X, y, fit_kwargs, X_predict, error, fragment, _ = ERROR_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. fold-level warnings of the CV
        with pytest.raises(error, match=fragment):
            _fit_predict(_make(estimator), X, y, dict(fit_kwargs), X_predict)


@pytest.mark.parametrize("estimator", OURS)
@pytest.mark.parametrize(
    "case", [case for case, spec in ERROR_CASES.items() if spec[-1]]
)
def test_bad_input_message_is_word_for_word_logistic_regressions(case, estimator):
    # The whole first line, up to the estimator's name and the dtype.
    X, y, fit_kwargs, X_predict, *_ = ERROR_CASES[case]
    messages = []
    for name in (REFERENCE, estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as info:
                _fit_predict(_make(name), X, y, dict(fit_kwargs), X_predict)
        first_line = str(info.value).strip().split("\n")[0]
        first_line = re.sub(r"\b\w+(Regression|Classifier|ClassifierCV)\b", "EST",
                            first_line)  # fmt: skip
        first_line = re.sub(r"dtype\('float\d+'\)", "DTYPE", first_line)
        first_line = re.sub(r"\(shape=[^)]*\)", "(shape=...)", first_line)
        # LogisticRegression speaks of its "solver", ours of the "classifier".
        first_line = re.sub(r"This (solver|classifier) needs", "needs", first_line)
        messages.append((type(info.value), first_line.rstrip(".")))
    assert messages[0][0] is messages[1][0]
    if case == "zero_rows" and estimator == "logit_adjusted_cv":
        # The splitter sees y first: the same sentence, without a name.
        assert messages[1][1] == messages[0][1].replace(" by EST", "")
        return
    assert messages[0][1] == messages[1][1]


def test_negative_sample_weight_message_is_scikit_learns():
    with pytest.raises(ValueError) as reference:
        _check_sample_weight(
            np.r_[-1.0, 1.0], np.zeros((2, 1)), ensure_non_negative=True
        )
    with pytest.raises(ValueError) as ours:
        _linear().fit(X0, Y0, sample_weight=_with(np.ones(60), 7, -1.0))
    assert str(ours.value) == str(reference.value)


@pytest.mark.parametrize("estimator", ["logit_adjusted", "logit_adjusted_cv"])
def test_negative_sample_weight_is_refused_before_the_inner_model_is_fitted(
    estimator,
):
    # The prior is a weighted class frequency: negative weights have no
    # meaning there, even around an inner model that accepts them.
    wrapper = _make(estimator).set_params(estimator=LogisticRegression())
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        wrapper.fit(X0, Y0, sample_weight=_with(np.ones(60), 7, -1.0))
    assert not hasattr(wrapper, "estimator_")


@pytest.mark.parametrize("estimator", OURS)
def test_sparse_input_with_a_million_features_trains_without_densifying(estimator):
    # Sparse X is accepted (issue 23) and stays sparse (a matrix that could
    # not be made dense: tests/test_sparse.py).
    rng = np.random.RandomState(0)
    columns = rng.randint(0, 1_000_000, size=(len(Y0), 10))
    indptr = np.arange(0, columns.size + 1, 10)
    X = sp.csr_matrix(
        (rng.normal(size=columns.size), columns.ravel(), indptr),
        shape=(len(Y0), 1_000_000),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _make(estimator).fit(X, Y0)
    proba = model.predict_proba(X)
    assert proba.shape == (len(Y0), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("estimator", OURS)
def test_predict_before_fit_is_not_fitted_error(estimator):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="is not fitted yet"):
        _make(estimator).predict(X0)


# --------------------------------------------------------------------------
# Nonsense hyper-parameters: clear errors at fit, never at construction
# --------------------------------------------------------------------------
COMMON_BAD_PARAMS = [
    ({"loss": "ldam", "max_margin": -0.5}, "max_margin"),
    ({"scale": 0.0}, "scale"),
    ({"scale": np.inf}, "scale"),
    ({"tau": "1"}, "tau"),
    ({"tau": None}, "tau"),
    ({"tau": np.nan}, "tau"),
    ({"tau": np.inf}, "tau"),
    ({"loss": "hinge"}, "loss"),
    ({"loss": None}, "loss"),
    ({"class_weight": "auto"}, "class_weight"),
    ({"beta": 1.0}, "beta"),
    ({"alpha": -1.0}, "alpha"),
    ({"learning_rate_init": 0.0}, "learning_rate_init"),
    ({"batch_size": 0}, "batch_size"),
    ({"max_epochs": 0}, "max_epochs"),
    ({"max_iter": 0}, "max_iter"),
    ({"reweight": "always"}, "reweight"),
    ({"focal_gamma": -2.0}, "focal_gamma"),
]
MLP_BAD_PARAMS = [
    ({"loss": "elm", "embedding_margin": -0.1}, "embedding_margin"),
    ({"loss": "elm", "temperature": 0.0}, "temperature"),
    ({"loss": "elm", "elm_logit_loss": "focal"}, "elm_logit_loss"),
    ({"dropout": 1.0}, "dropout"),
    ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
    ({"activation": "softmax"}, "activation"),
]


@pytest.mark.parametrize(
    ("make", "params", "name"),
    [(_linear, p, n) for p, n in COMMON_BAD_PARAMS]
    + [(_mlp, p, n) for p, n in COMMON_BAD_PARAMS + MLP_BAD_PARAMS],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_nonsense_hyper_parameters_are_refused_at_fit_naming_them(make, params, name):
    estimator = make(**params)  # construction stores, never validates
    assert estimator.get_params()[name] is params[name]
    with pytest.raises(ValueError, match=name):
        estimator.fit(X0, Y0)


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ({0: 1.0, 7: 2.0}, r"labels \[7\] that are not among the classes"),
        ({0: -1.0}, "finite and >= 0"),
        ({1: np.nan}, "finite and >= 0"),
    ],
)
@pytest.mark.parametrize("make", [_linear, _mlp])
def test_class_weight_dict_is_checked_against_the_classes(make, class_weight, message):
    with pytest.raises(ValueError, match=message):
        make(class_weight=class_weight).fit(X0, Y0)


@pytest.mark.parametrize("make", [_linear, _mlp])
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error_at_fit(make, device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    estimator = make(device=device)  # constructing is fine
    with pytest.raises(ValueError, match=r"CUDA is not available.*device='cpu'"):
        estimator.fit(X0, Y0)


@pytest.mark.parametrize(
    "make",
    [
        _linear,
        _mlp,
        lambda **params: LogitAdjustedClassifier(LogisticRegression(), **params),
    ],
    ids=["linear", "mlp", "logit_adjusted"],
)
@pytest.mark.parametrize("tau", [-1.0, 10.5, 1e308, np.inf])
def test_tau_outside_zero_to_ten_is_refused_by_every_estimator(make, tau):
    # Issues 21 and 23: tau=-1 was accepted by the margin estimators (not by
    # LogitAdjustedClassifier), and tau=1e308 predicted the rarest class
    # everywhere. One range for all: [0, 10].
    with pytest.raises(
        ValueError, match=r"'tau' parameter .* in the range \[0.0, 10.0\]"
    ):
        make(tau=tau).fit(X0, Y0)


@pytest.mark.parametrize("make", [_linear, _mlp])
def test_unknown_device_is_a_clear_error_at_fit(make):
    with pytest.raises(ValueError, match="not a valid torch device"):
        make(device="gpu0").fit(X0, Y0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LogitAdjustedClassifier(LogisticRegression(), tau=-1.0), "tau"),
        (lambda: LogitAdjustedClassifier(LogisticRegression(), tau="1"), "tau"),
        (lambda: LogitAdjustedClassifier(LogisticRegression(), tau=np.inf), "tau"),
        (lambda: LogitAdjustedClassifier("model"), "estimator"),
        (
            lambda: LogitAdjustedClassifier(LogisticRegression(), prior=[0.5, 0.5]),
            "prior has 2 entries but there are 3 classes",
        ),
        (
            lambda: LogitAdjustedClassifier(LogisticRegression(), prior=[1, 0, 1]),
            "prior must be finite and positive",
        ),
        (
            lambda: LogitAdjustedClassifier(
                LogisticRegression(), response_method="predict_log_proba"
            ),
            "response_method",
        ),
        (
            lambda: LogitAdjustedClassifierCV(LogisticRegression(), taus=[-1.0, 1.0]),
            "taus must be a non-empty grid of finite values >= 0",
        ),
        (
            lambda: LogitAdjustedClassifierCV(LogisticRegression(), taus=[np.nan]),
            "taus must be",
        ),
        (lambda: LogitAdjustedClassifierCV(LogisticRegression(), taus=0), "taus"),
        (
            lambda: LogitAdjustedClassifierCV(LogisticRegression(), scoring="nope"),
            "scoring",
        ),
    ],
)
def test_nonsense_post_hoc_parameters_are_refused_at_fit(make, message):
    with pytest.raises(ValueError, match=message):
        make().fit(X0, Y0)


# --------------------------------------------------------------------------
# compare(): the harness checks the data, contenders fail loudly
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (X0, _with(Y0, 5, np.nan), "Input y contains NaN"),
        (X0[:0], Y0[:0], r"Found array with 0 sample\(s\)"),
        (X0, Y0[:-1], "inconsistent numbers of samples"),
    ],
    ids=["nan_in_y", "zero_rows", "inconsistent_lengths"],
)
def test_compare_refuses_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        compare(["logreg"], X, y, cv=2)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (_with(X0, (3, 1), np.nan), Y0, "Input X contains NaN"),
        (X0, np.zeros(len(Y0)), "needs samples of at least 2 classes"),
    ],
    ids=["nan_in_X", "single_class"],
)
def test_compare_names_contenders_that_fail_on_every_split(X, y, message):
    # NaN in X is legitimate for some contenders (histogram boosting), so the
    # harness does not refuse it: a contender that fails on every split is
    # kept with NaN scores and a warning that names it and its error.
    contenders = ["logreg", ("linear", _linear())]
    with pytest.warns(UserWarning) as record:
        table = compare(contenders, X, y, cv=2)
    texts = [str(w.message) for w in record]
    for name in ("logreg", "linear"):
        assert any(
            f"'{name}' failed on every split" in text and message in text
            for text in texts
        ), texts
    assert table["balanced_accuracy_mean"].isna().all()
    with pytest.raises(ValueError, match=message):
        compare(contenders, X, y, cv=2, error_score="raise")


def test_compare_handles_string_labels_and_one_feature():
    labels = np.array(["ant", "bee", "cat"])[Y0]
    table = compare(["logreg", ("linear", _linear())], X0[:, :1], labels, cv=2)
    assert table["balanced_accuracy_mean"].between(0, 1).all()


# --------------------------------------------------------------------------
# LongTailNet: the skorch path for users' own modules
# --------------------------------------------------------------------------
def _net(**params):
    return LongTailNet(nn.Linear(4, 3), max_epochs=2, lr=0.1, verbose=0, **params)


X32, Y64 = X0.astype(np.float32), Y0.astype(np.int64)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.array(["a", "b", "c"])[Y0], "LabelEncoder"),
        (Y64 - 1, "LabelEncoder"),
        (Y0.astype(np.float64), "LabelEncoder"),
        (Y64[:0], "at least one training example"),
    ],
    ids=["string", "negative", "float", "empty"],
)
def test_long_tail_net_refuses_unencoded_or_empty_y(y, message):
    X = X32[: len(y)]
    with pytest.raises(ValueError, match=message):
        _net().fit(X, y)


def test_long_tail_net_cuda_without_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        _net(device="cuda").fit(X32, Y64)


def test_long_tail_net_nan_inputs_stop_training_naming_the_inputs():
    X = X32.copy()
    X[4, 2] = np.nan
    with pytest.raises(NonFiniteLossError, match=r"epoch 1.*inputs X contain NaN"):
        _net().fit(X, Y64)


def test_long_tail_net_one_example_class_gives_finite_ldam_margins():
    y = Y64.copy()
    y[0] = 3
    net = LongTailNet(
        nn.Linear(4, 4), criterion=LDAMLoss, max_epochs=3, lr=0.1, verbose=0
    ).fit(X32, y)
    counts = np.bincount(y)
    margins = net.criterion_.margins.numpy()
    # Hand-computed: 0.5 * (n_min / n_k)^(1/4), the singleton gets 0.5.
    np.testing.assert_allclose(margins, 0.5 * (1 / counts) ** 0.25)
    assert np.isfinite(net.history[:, "train_loss"]).all()


def test_long_tail_net_never_modifies_its_inputs():
    X, y = X32.copy(), Y64.copy()
    net = _net().fit(X, y)
    net.predict_proba(X)
    np.testing.assert_array_equal(X, X32)
    np.testing.assert_array_equal(y, Y64)


# --------------------------------------------------------------------------
# Documented behaviour: extreme class structure
# --------------------------------------------------------------------------
def _one_example_class():
    X, y = _data(n_per_class=15)
    y = y.copy()
    y[0] = 3  # class 3 has a single example
    return X, y


@pytest.mark.parametrize(
    "make",
    [
        lambda: _linear(loss="ldam"),
        lambda: _linear(loss="logit_adjusted", class_weight="balanced"),
        lambda: _mlp(loss="ldam", reweight="drw"),
        lambda: _mlp(loss="elm", batch_size=16),
        lambda: _mlp(loss="elm", early_stopping=True, validation_fraction=0.2),
        lambda: LogitAdjustedClassifier(_linear()),
        lambda: LogitAdjustedClassifierCV(_linear(), cv=2, taus=3),
    ],
    ids=["linear_ldam", "linear_la", "mlp_ldam_drw", "mlp_elm", "mlp_elm_es",
         "posthoc", "posthoc_cv"],
)  # fmt: skip
def test_a_class_with_one_example_works_and_stays_finite(make):
    X, y = _one_example_class()
    with warnings.catch_warnings():
        # CV folds without the singleton class warn (sklearn's own warnings).
        warnings.simplefilter("ignore", UserWarning)
        estimator = make().fit(X, y)
    np.testing.assert_array_equal(estimator.classes_, [0, 1, 2, 3])
    proba = estimator.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    net = getattr(estimator, "net_", None)
    if net is not None:
        assert np.isfinite(net.history[:, "train_loss"]).all()
        for param in net.module_.parameters():
            assert torch.isfinite(param).all()
        margins = getattr(net.criterion_, "margins", None)
        if margins is not None:
            expected = 0.5 * (1 / np.array([14, 15, 15, 1])) ** 0.25
            np.testing.assert_allclose(margins.numpy(), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _linear(loss="logit_adjusted"),
        lambda: _linear(loss="ldam", reweight="drw"),
        lambda: _linear(loss="vs", class_weight="effective_number"),
        lambda: _mlp(loss="ldam", reweight="drw", batch_size=1024),
        lambda: _mlp(loss="elm", batch_size=1024),
        lambda: LogitAdjustedClassifier(_linear()),
    ],
    ids=["linear_la", "linear_ldam_drw", "linear_vs_en", "mlp_ldam_drw", "mlp_elm",
         "posthoc"],
)  # fmt: skip
def test_imbalance_ratio_ten_thousand_fits_finite_models(make):
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(10_000, dtype=int), 1]
    X = rng.normal(size=(len(y), 3))
    X[y == 1] += 3.0
    estimator = make().fit(X, y)
    np.testing.assert_array_equal(estimator.class_counts_, [10_000, 1])
    proba = estimator.predict_proba(X)
    assert np.isfinite(proba).all()
    assert np.isfinite(estimator.decision_function(X)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _linear(loss="logit_adjusted", max_iter=5),
        lambda: _linear(loss="ldam", max_iter=5),
        lambda: _mlp(loss="ldam", max_iter=2, batch_size=1000),
        lambda: _mlp(loss="elm", max_iter=2, batch_size=1000),
    ],
    ids=["linear_la", "linear_ldam", "mlp_ldam", "mlp_elm"],
)
def test_a_thousand_classes(make):
    rng = np.random.RandomState(0)
    labels = rng.permutation(np.arange(0, 3000, 3))  # 1000 non-contiguous labels
    y = np.repeat(labels, 2)
    X = rng.normal(size=(len(y), 5))
    estimator = make().fit(X, y)
    reference_classes = np.unique(y)  # what LogisticRegression's classes_ is
    np.testing.assert_array_equal(estimator.classes_, reference_classes)
    proba = estimator.predict_proba(X[:50])
    assert proba.shape == (50, 1000)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.isin(estimator.predict(X[:50]), labels).all()


# --------------------------------------------------------------------------
# Labels, features and dtypes
# --------------------------------------------------------------------------
LABELLINGS = {
    "string": np.array(["zebra", "ant", "mole"]),
    "bool": np.array([False, True]),
    "negative_int": np.array([-7, -2, 0]),
    "non_contiguous_int": np.array([3, 10, 42]),
    "integral_float": np.array([-1.0, 2.0, 5.0]),
    "object_mixed_width": np.array(["a", "bb", "ccc"], dtype=object),
}


@pytest.mark.parametrize("estimator", OURS)
@pytest.mark.parametrize("labelling", list(LABELLINGS))
def test_any_label_type_is_learned_like_its_integer_codes(labelling, estimator):
    names = LABELLINGS[labelling]
    X, codes = _data(n_classes=len(names))
    y = names[codes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        by_codes = _make(estimator).fit(X, np.searchsorted(np.sort(names), y))
        by_names = _make(estimator).fit(X, y)
    reference = LogisticRegression().fit(X, y)
    np.testing.assert_array_equal(by_names.classes_, reference.classes_)
    assert by_names.classes_.dtype == reference.classes_.dtype
    predicted = by_names.predict(X)
    assert predicted.dtype == reference.predict(X).dtype
    # Labels are encoded in sorted order, so the same seed trains the same
    # model: predictions are the names of the code model's predictions.
    np.testing.assert_array_equal(predicted, np.sort(names)[by_codes.predict(X)])
    np.testing.assert_array_equal(by_names.predict_proba(X), by_codes.predict_proba(X))


@pytest.mark.parametrize("estimator", OURS)
def test_one_feature(estimator):
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 40)
    X = (rng.normal(size=len(y)) * 0.3 + 3 * y)[:, None]
    model = _make(estimator)
    if estimator == "mlp":
        model.set_params(max_iter=30, learning_rate_init=1e-2)
    model.fit(X, y)
    reference = LogisticRegression().fit(X, y)
    assert model.n_features_in_ == 1
    # A separable one-dimensional problem: both get it right.
    assert (model.predict(X) == y).mean() > 0.95
    assert (reference.predict(X) == y).mean() > 0.95


@pytest.mark.parametrize("estimator", OURS)
@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, bool]
)
def test_input_dtypes_are_read_as_their_float32_values(dtype, estimator):
    X = (X0 * 3 + 5).astype(dtype)
    as_float32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = _make(estimator).fit(X, Y0)
        b = _make(estimator).fit(as_float32, Y0)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(as_float32))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(as_float32))


@pytest.mark.parametrize("estimator", OURS)
def test_dataframe_feature_names_are_recorded_and_checked(estimator):
    frame = _frame(X0, ["age", "income", "height", "weight"])
    model = _make(estimator).fit(frame, pd.Series(np.array(["a", "b", "c"])[Y0]))
    reference = LogisticRegression().fit(frame, Y0)
    np.testing.assert_array_equal(model.feature_names_in_, reference.feature_names_in_)
    # A bare array at predict time: the warning LogisticRegression gives.
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        reference.predict(X0)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = model.predict(X0)
    np.testing.assert_array_equal(from_array, model.predict(frame))


def _memmap(array, tmp_path):
    path = tmp_path / "X.dat"
    writable = np.memmap(path, dtype=array.dtype, mode="w+", shape=array.shape)
    writable[:] = array
    writable.flush()
    del writable
    return np.memmap(path, dtype=array.dtype, mode="r", shape=array.shape)


@pytest.mark.parametrize("estimator", OURS)
@pytest.mark.parametrize(
    "layout", ["strided_columns", "fortran", "read_only", "memmap", "read_only_float32"]
)
def test_non_contiguous_and_read_only_arrays(layout, estimator, tmp_path):
    wide = np.repeat(X0, 2, axis=1)  # columns 0, 2, 4, 6 are X0's
    contiguous = np.ascontiguousarray(X0)
    if layout == "strided_columns":
        X = wide[:, ::2]
        assert not X.flags.c_contiguous
    elif layout == "fortran":
        X = np.asfortranarray(X0)
    elif layout == "memmap":
        X = _memmap(contiguous, tmp_path)
    else:
        X = contiguous.astype(np.float32 if layout.endswith("float32") else np.float64)
        X.setflags(write=False)
    y = Y0.copy()
    y.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _make(estimator).fit(X, y)
        reference = _make(estimator).fit(contiguous.astype(X.dtype), Y0)
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(model.predict(X), reference.predict(contiguous))


# --------------------------------------------------------------------------
# sample_weight with zeros
# --------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", OURS)
def test_zero_sample_weights_work_and_count_nothing_in_the_prior(estimator):
    weights = np.ones(len(Y0))
    weights[::4] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _make(estimator).fit(X0, Y0, sample_weight=weights)
    assert np.isfinite(model.predict_proba(X0)).all()
    if estimator.startswith("logit_adjusted"):
        # The prior is the weighted class frequency (hand count).
        expected = np.array([(weights[Y0 == k]).sum() for k in range(3)])
        np.testing.assert_allclose(model.prior_, expected / expected.sum())


# --------------------------------------------------------------------------
# Nothing is modified in place
# --------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", OURS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inputs_are_never_modified(estimator, dtype):
    # float32 C-ordered X is what the models compute on, so it is the input
    # most at risk of being shared with a tensor rather than copied.
    X = np.ascontiguousarray(X0, dtype=dtype)
    y = np.array(["a", "b", "c"])[Y0]
    weights = np.linspace(0.5, 2.0, len(y)).astype(dtype)
    frame = _frame(X, list("abcd"))
    copies = X.copy(), y.copy(), weights.copy(), frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = _make(estimator).fit(X, y, sample_weight=weights)
        model.predict(X)
        model.predict_proba(X)
        model.decision_function(X)
        if hasattr(model, "transform"):
            model.transform(X)
        _make(estimator).fit(frame, y).predict(frame)
    np.testing.assert_array_equal(X, copies[0])
    np.testing.assert_array_equal(y, copies[1])
    np.testing.assert_array_equal(weights, copies[2])
    pd.testing.assert_frame_equal(frame, copies[3])


# --------------------------------------------------------------------------
# The plain-PyTorch losses and the class-weight helper
# --------------------------------------------------------------------------
_LOGITS, _TARGET = torch.zeros(2, 3), torch.tensor([0, 1])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: losses.LogitAdjustedLoss([3, 2, 1], tau=np.inf), "tau"),
        (lambda: losses.VSLoss([3, 2, 1], gamma=-np.inf), "gamma"),
        (lambda: losses.LDAMLoss([3, 2, 1], scale=np.inf), "scale"),
        (lambda: losses.LDAMLoss([3, 2, 1], max_margin=np.inf), "max_margin"),
        (lambda: losses.FocalLoss(gamma=np.inf), "gamma"),
        (lambda: losses.ELMLoss(temperature=np.inf), "temperature"),
        (lambda: losses.ELMLoss(embedding_weight=np.nan), "embedding_weight"),
        (
            lambda: losses.logit_adjusted_loss(_LOGITS, _TARGET, [3, 2, 1], np.inf),
            "tau",
        ),
        (
            lambda: losses.supervised_contrastive_margin_loss(
                _LOGITS, _TARGET, [3, 2, 1], embedding_margin=-1.0
            ),
            "embedding_margin",
        ),
    ],
)
def test_losses_refuse_non_finite_or_negative_parameters_naming_them(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite"):
        call()


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([0, 1], r"classes has shape \(2,\) but class_counts has 3 entries"),
        ([[0, 1, 2]], r"classes has shape \(1, 3\)"),
        ([0, 0, 1], "classes must be distinct"),
    ],
)
def test_class_weight_dict_needs_one_distinct_label_per_count(classes, message):
    with pytest.raises(ValueError, match=message):
        compute_class_weights({0: 2.0}, [5, 3, 1], classes=classes)
