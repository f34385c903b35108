"""Properties that hold for every random small problem (hypothesis).

Losses are finite and non-negative; ``predict``, ``predict_proba`` and
``decision_function`` agree; probabilities sum to 1; the full-batch linear
model does not depend on the order of the training rows nor on the names of
the classes; training that diverges stops with a clear error instead of
leaving NaN weights; fits are repeatable bit for bit on the CPU.

The expected values are invariants (argmax, row sums, permutations), never
outputs of the code under test.
"""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.losses import LOSSES, supervised_contrastive_margin_loss
from sklearn_lt.net import NonFiniteLossError
from sklearn_lt.posthoc import LogitAdjustedClassifier

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
FIT_SETTINGS = settings(SETTINGS, max_examples=12)


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------
def _loss_params(draw, name):
    real = st.floats(-3.0, 3.0, allow_nan=False)
    if name == "ldam":
        return {
            "max_margin": draw(st.floats(0.0, 1.0)),
            "scale": draw(st.floats(0.0, 64.0)),
        }
    if name == "logit_adjusted":
        return {"tau": draw(real)}
    if name == "vs":
        return {"gamma": draw(st.floats(-1.0, 1.0)), "tau": draw(real)}
    if name == "focal":
        return {"gamma": draw(st.floats(0.0, 5.0))}
    if name == "elm":
        return {
            "logit_loss": draw(st.sampled_from(["logit_adjusted", "ldam"])),
            "tau": draw(real),
            "max_margin": draw(st.floats(0.0, 1.0)),
            "scale": draw(st.floats(0.0, 64.0)),
            "embedding_weight": draw(st.floats(0.0, 2.0)),
            "temperature": draw(st.floats(0.05, 2.0)),
            "embedding_margin": draw(st.floats(0.0, 1.0)),
        }
    return {}


@st.composite
def loss_problems(draw):
    name = draw(st.sampled_from(sorted(LOSSES)))
    n_classes = draw(st.integers(2, 6))
    n = draw(st.integers(1, 16))
    counts = draw(
        st.lists(st.integers(1, 10**6), min_size=n_classes, max_size=n_classes)
    )
    target = draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    dtype = draw(st.sampled_from([torch.float16, torch.float32, torch.float64]))
    largest = 1e4 if dtype == torch.float16 else 1e6
    magnitude = draw(st.sampled_from([0.0, 1e-3, 1.0, 30.0, largest]))
    seed = draw(st.integers(0, 2**31 - 1))
    weighted = draw(st.booleans())
    sample_weighted = draw(st.booleans())
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    rng = np.random.RandomState(seed)
    return {
        "name": name,
        "params": _loss_params(draw, name),
        "counts": counts,
        "target": torch.as_tensor(target, dtype=torch.long),
        "logits": torch.as_tensor(
            rng.normal(size=(n, n_classes)) * magnitude, dtype=dtype
        ),
        "embeddings": torch.as_tensor(rng.normal(size=(n, 3)) * magnitude, dtype=dtype),
        # Zero weights included: an all-zero batch must give 0, not 0/0.
        "weight": rng.choice([0.0, 0.5, 1.0, 10.0], size=n_classes)
        if weighted
        else None,
        "sample_weight": torch.as_tensor(rng.choice([0.0, 1.0, 3.0], size=n))
        if sample_weighted
        else None,
        "reduction": reduction,
    }


@SETTINGS
@given(loss_problems())
def test_every_loss_is_finite_non_negative_with_finite_gradients(problem):
    loss_class = LOSSES[problem["name"]]
    criterion = loss_class(
        class_counts=problem["counts"],
        weight=problem["weight"],
        reduction=problem["reduction"],
        **problem["params"],
    )
    logits = problem["logits"].clone().requires_grad_(True)
    embeddings = problem["embeddings"].clone().requires_grad_(True)
    args = (logits, embeddings) if criterion.uses_embeddings else (logits,)
    out = criterion(*args, problem["target"], sample_weight=problem["sample_weight"])
    assert out.dtype == logits.dtype
    assert (out >= 0).all(), out
    representable = torch.ones_like(out, dtype=torch.bool)
    if logits.dtype == torch.float16:
        # The loss comes back in the input's dtype (computed in float32): a
        # true value above float16's largest (65504) cannot be represented.
        wide = criterion(
            *(tensor.detach().float() for tensor in args),
            problem["target"],
            sample_weight=problem["sample_weight"],
        )
        representable = wide <= torch.finfo(torch.float16).max
    assert torch.isfinite(out[representable]).all(), out
    out.sum().backward()
    for tensor in args:
        if tensor.grad is not None:
            assert torch.isfinite(tensor.grad).all()


@SETTINGS
@given(loss_problems())
def test_embedding_margin_loss_is_finite_and_non_negative(problem):
    out = supervised_contrastive_margin_loss(
        problem["embeddings"],
        problem["target"],
        problem["counts"],
        temperature=0.1,
        embedding_margin=0.5,
        weight=problem["weight"],
        sample_weight=problem["sample_weight"],
        reduction=problem["reduction"],
    )
    assert torch.isfinite(out).all()
    assert (out >= 0).all()


# --------------------------------------------------------------------------
# Estimators on random small problems
# --------------------------------------------------------------------------
@st.composite
def classification_problems(draw, min_per_class=1):
    n_classes = draw(st.integers(2, 4))
    counts = draw(
        st.lists(st.integers(min_per_class, 12), min_size=n_classes, max_size=n_classes)
    )
    n_features = draw(st.integers(1, 4))
    separation = draw(st.sampled_from([0.0, 1.0, 3.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(n_classes), counts)
    centres = rng.normal(size=(n_classes, n_features)) * separation
    X = rng.normal(size=(len(y), n_features)) + centres[y]
    return X, y


def _estimators(draw):
    kind = draw(st.sampled_from(["linear", "mlp", "posthoc"]))
    if kind == "linear":
        loss = draw(st.sampled_from(sorted(set(LOSSES) - {"elm"})))
        solver = draw(st.sampled_from(["lbfgs", "adam"]))
        return LinearMarginClassifier(
            loss=loss, solver=solver, max_iter=30, max_epochs=3, random_state=0
        )
    if kind == "mlp":
        loss = draw(st.sampled_from(sorted(LOSSES)))
        return MLPMarginClassifier(
            loss=loss, hidden_layer_sizes=(6,), max_iter=3, random_state=0
        )
    inner = draw(st.sampled_from(["logreg", "linear"]))
    inner = (
        LogisticRegression()
        if inner == "logreg"
        else LinearMarginClassifier(loss="ce", max_iter=30, random_state=0)
    )
    return LogitAdjustedClassifier(inner, tau=draw(st.floats(0.0, 2.0)))


@FIT_SETTINGS
@given(classification_problems(), st.data())
def test_predict_is_argmax_of_proba_and_of_decision_function(problem, data):
    X, y = problem
    estimator = _estimators(data.draw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    predicted = estimator.predict(X)
    proba = estimator.predict_proba(X)
    scores = estimator.decision_function(X)
    classes = estimator.classes_
    np.testing.assert_array_equal(predicted, classes[np.argmax(proba, axis=1)])
    if len(classes) == 2:
        assert scores.shape == (len(X),)
        np.testing.assert_array_equal(predicted, classes[(scores > 0).astype(int)])
    else:
        np.testing.assert_array_equal(predicted, classes[np.argmax(scores, axis=1)])
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)


# Convex losses whose prediction logits are identified by the data. "vs" is
# included because the fit projects the intercepts out of the loss's flat
# direction (b_k -> b_k + c / Delta_k), see test_linear.py.
CONVEX_LOSSES = ["ce", "logit_adjusted", "balanced_softmax", "vs"]


def _full_batch_linear(loss, class_weight=None):
    # A convex, strongly penalised objective with a unique minimiser: the
    # fit should not depend on how the rows or classes are presented.
    return LinearMarginClassifier(
        loss=loss,
        class_weight=class_weight,
        alpha=1e-2,
        tol=1e-8,
        max_iter=500,
        random_state=0,
    )


@FIT_SETTINGS
@given(
    classification_problems(min_per_class=2),
    st.sampled_from(CONVEX_LOSSES),
    st.sampled_from([None, "balanced"]),
    st.randoms(use_true_random=False),
)
def test_permuting_training_rows_changes_nothing_beyond_float_noise(
    problem, loss, class_weight, random
):
    X, y = problem
    order = np.arange(len(y))
    random.shuffle(order)
    a = _full_batch_linear(loss, class_weight).fit(X, y)
    b = _full_batch_linear(loss, class_weight).fit(X[order], y[order])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=2e-3)
    np.testing.assert_array_equal(a.class_counts_, b.class_counts_)


def _relabel_check(make, X, y, permutation):
    names = np.array(["ant", "bee", "cat", "dog"])[: len(permutation)]
    a = make().fit(X, names[y])
    b = make().fit(X, names[permutation][y])
    # Class k of the first fit is named names[permutation[k]] in the second;
    # both keep classes_ sorted, so b's column for it is permutation[k].
    proba_a, proba_b = a.predict_proba(X), b.predict_proba(X)
    # L-BFGS in float32 stops once the loss no longer changes in float32,
    # which leaves the probabilities accurate to a few 1e-3, not 1e-7.
    np.testing.assert_allclose(proba_b[:, permutation], proba_a, atol=5e-3)
    clear = np.sort(proba_a, axis=1)[:, -1] - np.sort(proba_a, axis=1)[:, -2] > 2e-2
    renamed = names[permutation][np.searchsorted(names, a.predict(X))]
    np.testing.assert_array_equal(b.predict(X)[clear], renamed[clear])


@FIT_SETTINGS
@given(
    classification_problems(min_per_class=2),
    st.sampled_from(CONVEX_LOSSES),
    st.randoms(use_true_random=False),
)
def test_relabelling_classes_permutes_the_outputs(problem, loss, random):
    X, y = problem
    permutation = list(range(y.max() + 1))
    random.shuffle(permutation)
    _relabel_check(lambda: _full_batch_linear(loss), X, y, np.array(permutation))


@FIT_SETTINGS
@given(classification_problems(min_per_class=2), st.randoms(use_true_random=False))
def test_relabelling_classes_permutes_post_hoc_outputs(problem, random):
    X, y = problem
    permutation = list(range(y.max() + 1))
    random.shuffle(permutation)
    _relabel_check(
        lambda: LogitAdjustedClassifier(LogisticRegression(tol=1e-8, max_iter=1000)),
        X,
        y,
        np.array(permutation),
    )


# --------------------------------------------------------------------------
# Numerical robustness: never NaN weights in silence
# --------------------------------------------------------------------------
def _extreme_problem(magnitude=50.0):
    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(4), [2000, 200, 20, 2])  # priors down to 1e-3
    X = rng.normal(size=(len(y), 5)) * magnitude + y[:, None]
    return X, y


EXTREME = _extreme_problem()


def _finite_or_clear_error(estimator, X, y):
    """Fit; return "finite" or "error", failing on any silent non-finite state."""
    try:
        estimator.fit(X, y)
    except NonFiniteLossError as exc:
        message = str(exc)
        assert "Training diverged at epoch" in message
        assert "Try a smaller learning rate" in message
        assert "StandardScaler" in message
        return "error"
    for name, param in estimator.net_.module_.named_parameters():
        assert torch.isfinite(param).all(), f"{name} is not finite and no error"
    assert np.isfinite(estimator.net_.history[:, "train_loss"]).all()
    return "finite"


@settings(SETTINGS, max_examples=15)
@given(
    kind=st.sampled_from(["linear", "mlp"]),
    loss=st.sampled_from(sorted(LOSSES)),
    solver=st.sampled_from(["adam", "sgd"]),
    learning_rate=st.sampled_from([1.0, 1e2, 1e4]),
    reweight=st.sampled_from([None, "drw"]),
)
def test_extreme_settings_end_finite_or_with_a_clear_error(
    kind, loss, solver, learning_rate, reweight
):
    params = {
        "loss": loss,
        "scale": 30.0,
        "tau": 2.0,
        "solver": solver,
        "learning_rate_init": learning_rate,
        "reweight": reweight,
        "alpha": 0.0,
        "batch_size": 512,
        "random_state": 0,
    }
    if kind == "linear":
        if loss == "elm":
            loss = params["loss"] = "ldam"
        estimator = LinearMarginClassifier(max_epochs=2, **params)
    else:
        estimator = MLPMarginClassifier(hidden_layer_sizes=(16,), max_iter=2, **params)
    X, y = EXTREME
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _finite_or_clear_error(estimator, X, y)


@pytest.mark.parametrize(
    "estimator",
    [
        # Full-batch L-BFGS on unscaled inputs: the weights overflow.
        LinearMarginClassifier(loss="ce", tau=2.0, random_state=0),
        LinearMarginClassifier(loss="logit_adjusted", tau=2.0, random_state=0),
        # SGD with a huge step on an MLP.
        MLPMarginClassifier(
            loss="logit_adjusted",
            tau=2.0,
            solver="sgd",
            learning_rate_init=1e2,
            max_iter=2,
            alpha=0.0,
            random_state=0,
        ),
    ],
    ids=["linear_ce", "linear_logit_adjusted", "mlp_sgd"],
)
def test_divergence_raises_naming_the_epoch_and_a_remedy(estimator):
    X, y = _extreme_problem(magnitude=1e10)
    with pytest.raises(NonFiniteLossError, match=r"diverged at epoch \d+: .*Try a "):
        estimator.fit(X, y)


# --------------------------------------------------------------------------
# Determinism on the CPU
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [60, 20, 8])
    X = rng.normal(size=(len(y), 5)) + y[:, None]
    return X, y


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: LinearMarginClassifier(random_state=seed),
        lambda seed: LinearMarginClassifier(
            loss="ldam", reweight="drw", random_state=seed
        ),
        lambda seed: MLPMarginClassifier(
            loss="elm",
            hidden_layer_sizes=(8,),
            max_iter=4,
            batch_size=16,
            early_stopping=True,
            random_state=seed,
        ),
        lambda seed: MLPMarginClassifier(
            loss="ldam", reweight="drw", dropout=0.3, max_iter=4, random_state=seed
        ),
    ],
    ids=["linear_lbfgs", "linear_lbfgs_ldam_drw", "mlp_elm_early_stopping", "mlp_drw"],
)
def test_same_random_state_is_bit_identical_and_leaves_global_rngs_alone(make, small):
    X, y = small
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a, b = make(0).fit(X, y), make(0).fit(X, y)
    c = make(np.random.RandomState(0)).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    np.testing.assert_array_equal(a.decision_function(X), c.decision_function(X))
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)
    # Seeding is private to the fit: the user's global generators are untouched.
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])


@pytest.mark.parametrize(
    "make",
    [
        # One L-BFGS iteration: the result still carries the initialisation.
        lambda seed: LinearMarginClassifier(max_iter=1, random_state=seed),
        lambda seed: LinearMarginClassifier(
            solver="adam", max_epochs=2, random_state=seed
        ),
    ],
    ids=["lbfgs", "adam"],
)
def test_different_seeds_give_different_linear_models(make, small):
    X, y = small
    a, b = make(0).fit(X, y), make(1).fit(X, y)
    assert not np.allclose(a.decision_function(X), b.decision_function(X))
