"""partial_fit of LinearMarginClassifier and MLPMarginClassifier.

The references are independent of the code under test: class counts are
``np.bincount`` over the chunks, priors and weights are rebuilt from their
formulas, and the chunked fit is compared with a single ``fit`` on the same
data, epochs and batches.
"""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.datasets import load_digits_lt

N_CHUNKS = 10
CLASSES = np.arange(10)


@pytest.fixture(scope="module")
def digits():
    """Long-tailed digits, standardised; 480 training rows (10 chunks of 48)."""
    X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=10)
    scaler = StandardScaler().fit(X_train)
    rows = np.random.RandomState(0).permutation(len(y_train))[:480]
    return (
        scaler.transform(X_train[rows]).astype(np.float32),
        y_train[rows],
        scaler.transform(X_test).astype(np.float32),
        y_test,
    )


def _chunks(n_samples, n_chunks=N_CHUNKS):
    return np.array_split(np.arange(n_samples), n_chunks)


def _toy(seed=0, n_samples=60, n_features=4):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    y = rng.randint(3, size=n_samples)
    X[:, 0] += y
    return X, y


# The number of epochs: max_iter in the MLP (MLPClassifier's name); in the
# linear model max_iter is L-BFGS's budget and max_epochs the minibatch one.
_EPOCHS = {MLPMarginClassifier: "max_iter", LinearMarginClassifier: "max_epochs"}

ESTIMATORS = [
    pytest.param(
        MLPMarginClassifier(
            "logit_adjusted", hidden_layer_sizes=(64,), learning_rate_init=1e-3
        ),
        id="mlp-logit_adjusted",
    ),
    pytest.param(
        MLPMarginClassifier("ldam", hidden_layer_sizes=(64,), learning_rate_init=1e-3),
        id="mlp-ldam",
    ),
    pytest.param(
        LinearMarginClassifier(
            "logit_adjusted", solver="adam", learning_rate_init=1e-2
        ),
        id="linear-logit_adjusted",
    ),
]


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_ten_chunks_match_a_single_fit_within_one_point(estimator, digits):
    X, y, X_test, y_test = digits
    epochs = 40
    # 48 rows a chunk, 24 a batch: both ways take the same 20 steps an epoch.
    params = {"batch_size": 24, _EPOCHS[type(estimator)]: epochs, "random_state": 0}
    single = estimator.set_params(**params).fit(X, y)
    single_score = balanced_accuracy_score(y_test, single.predict(X_test))

    chunked = type(estimator)(**estimator.get_params())
    order = np.random.RandomState(0)
    chunks = _chunks(len(y))
    for _ in range(epochs):
        for index in order.permutation(N_CHUNKS):  # as dask-ml shuffles blocks
            rows = chunks[index]
            chunked.partial_fit(X[rows], y[rows], classes=CLASSES)
    chunked_score = balanced_accuracy_score(y_test, chunked.predict(X_test))

    assert chunked.n_iter_ == epochs * N_CHUNKS
    assert single_score > 0.85
    assert abs(chunked_score - single_score) <= 0.01


def test_lbfgs_partial_fit_trains_with_adam_and_learns():
    X, X_test, y, y_test = load_digits_lt(imbalance_ratio=10)
    scaler = StandardScaler().fit(X)
    X, X_test = scaler.transform(X), scaler.transform(X_test)
    clf = LinearMarginClassifier(random_state=0)  # solver="lbfgs"
    for _ in range(20):
        for rows in _chunks(len(y)):
            clf.partial_fit(X[rows], y[rows], classes=CLASSES)
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    reference = LogisticRegression(class_weight="balanced", max_iter=1000)
    reference_score = balanced_accuracy_score(
        y_test, reference.fit(X, y).predict(X_test)
    )
    score = balanced_accuracy_score(y_test, clf.predict(X_test))
    assert score > reference_score - 0.03


@pytest.mark.parametrize("cls", [LinearMarginClassifier, MLPMarginClassifier])
def test_first_call_without_classes_is_an_error(cls):
    X, y = _toy()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        cls().partial_fit(X, y)


@pytest.mark.parametrize("cls", [LinearMarginClassifier, MLPMarginClassifier])
def test_class_counts_accumulate_over_calls(cls):
    rng = np.random.RandomState(1)
    chunks = [_toy(seed) for seed in range(4)]
    # The first chunk has no class 2 (its labels are 0 and 1 only).
    X0, y0 = chunks[0]
    chunks[0] = (X0[y0 < 2], y0[y0 < 2])
    labels = np.array(["a", "b", "c"])
    clf = cls(**{_EPOCHS[cls]: 5}, random_state=0)
    seen = []
    for X, y in chunks:
        clf.partial_fit(X, labels[y], classes=labels[rng.permutation(3)])
        seen.append(y)
    expected = np.bincount(np.concatenate(seen), minlength=3)
    np.testing.assert_array_equal(clf.class_counts_, expected)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(
        clf.net_.criterion_.class_counts.numpy(), expected.astype(float)
    )
    assert clf.n_iter_ == len(chunks)
    assert set(clf.predict(chunks[1][0])) <= set(labels)


def test_criterion_gets_the_accumulated_counts_at_each_call():
    X, y = _toy()
    clf = LinearMarginClassifier("logit_adjusted", tau=1.0, random_state=0)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    clf.partial_fit(X[30:], y[30:])
    counts = np.bincount(y, minlength=3).astype(float)
    # logit adjustment: offsets tau * log(n_k / n), rebuilt by hand
    np.testing.assert_allclose(
        clf.net_.criterion_.offsets.numpy(), np.log(counts / counts.sum())
    )


def test_unseen_class_counts_as_one_for_the_loss_and_stays_finite():
    X, y = _toy()
    first = y < 2  # class 2 not seen yet
    clf = MLPMarginClassifier("ldam", hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X[first], y[first], classes=[0, 1, 2])
    counts = np.bincount(y[first], minlength=3)
    assert counts[2] == 0 and clf.class_counts_[2] == 0
    np.testing.assert_array_equal(
        clf.net_.criterion_.class_counts.numpy(), np.maximum(counts, 1)
    )
    # LDAM margins C / n^(1/4), the rarest class at max_margin=0.5
    raw = np.maximum(counts, 1) ** -0.25
    np.testing.assert_allclose(
        clf.net_.criterion_.margins.numpy(), 0.5 * raw / raw.max(), rtol=1e-6
    )
    assert np.isfinite(clf.predict_proba(X)).all()
    assert np.isfinite(clf.net_.history[-1, "train_loss"])


def test_optimizer_state_carries_over_between_calls():
    X, y = _toy(n_samples=100)
    clf = MLPMarginClassifier(hidden_layer_sizes=(8,), batch_size=16, random_state=0)
    clf.partial_fit(X[:40], y[:40], classes=[0, 1, 2])
    clf.partial_fit(X[40:], y[40:])
    steps = math.ceil(40 / 16) + math.ceil(60 / 16)
    state = clf.net_.optimizer_.state_dict()["state"]
    assert {int(s["step"]) for s in state.values()} == {steps}


def test_drw_epochs_are_counted_over_calls():
    X, y = _toy()
    clf = MLPMarginClassifier(
        "ldam",
        reweight="drw",
        reweight_start=0.5,
        max_iter=4,
        hidden_layer_sizes=(8,),
        random_state=0,
    )
    weights = []
    for _ in range(4):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        weight = clf.net_.criterion_.weight
        weights.append(None if weight is None else weight.numpy())
    assert weights[0] is None and weights[1] is None  # calls 0 and 1
    # effective-number weights (1 - beta) / (1 - beta^n), mean 1, from the
    # counts accumulated when the weights switched on (three passes at call 2)
    beta = 0.9999
    for call, passes in [(2, 3), (3, 4)]:
        counts = passes * np.bincount(y, minlength=3)
        raw = (1 - beta) / (1 - beta**counts)
        np.testing.assert_allclose(weights[call], raw * 3 / raw.sum(), rtol=1e-6)


def test_class_weight_follows_the_accumulated_counts():
    X, y = _toy()
    clf = LinearMarginClassifier("ce", class_weight="balanced", random_state=0)
    clf.partial_fit(X[:20], y[:20], classes=[0, 1, 2])
    clf.partial_fit(X[20:], y[20:])
    counts = np.bincount(y, minlength=3)
    np.testing.assert_allclose(
        clf.net_.criterion_.weight.numpy(), counts.sum() / (3 * counts)
    )


@pytest.mark.parametrize("cls", [LinearMarginClassifier, MLPMarginClassifier])
def test_label_not_in_classes_is_an_error(cls):
    X, y = _toy()
    clf = cls().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        clf.partial_fit(X[:5], np.array([0, 1, 7, 2, 1]))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[3\] that are not in classes"):
        cls().partial_fit(X[:3], [0, 1, 3], classes=[0, 1, 2])


@pytest.mark.parametrize("cls", [LinearMarginClassifier, MLPMarginClassifier])
def test_feature_count_change_is_an_error(cls):
    X, y = _toy()
    clf = cls().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    assert clf.n_features_in_ == 4


def test_single_class_classes_is_an_error():
    X, y = _toy()
    with pytest.raises(ValueError, match="at least 2 labels"):
        MLPMarginClassifier().partial_fit(X, np.zeros(len(y)), classes=[0])


def test_a_chunk_of_one_class_is_fine():
    X, y = _toy()
    clf = LinearMarginClassifier(random_state=0)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    clf.partial_fit(X[y == 1], y[y == 1])
    np.testing.assert_array_equal(
        clf.class_counts_, [np.sum(y == 0), np.sum(y == 1), 0]
    )


def test_sample_weight_of_two_equals_a_duplicated_row():
    X, y = _toy()
    weight = np.where(np.arange(len(y)) < 10, 2.0, 1.0)
    params = {
        "loss": "ce",
        "hidden_layer_sizes": (8,),
        "solver": "sgd",
        "batch_size": 1000,  # one full-batch step: the row order does not matter
        "learning_rate_init": 0.1,
        "random_state": 0,
    }
    weighted = MLPMarginClassifier(**params)
    weighted.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weight)
    duplicated = MLPMarginClassifier(**params)
    duplicated.partial_fit(np.r_[X, X[:10]], np.r_[y, y[:10]], classes=[0, 1, 2])
    np.testing.assert_allclose(
        weighted.predict_proba(X), duplicated.predict_proba(X), rtol=1e-4
    )
    with pytest.raises(ValueError, match="non-zero|positive"):
        weighted.partial_fit(X, y, sample_weight=np.zeros(len(y)))


def test_partial_fit_after_fit_continues_from_the_fitted_weights():
    X, y = _toy()
    clf = MLPMarginClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    clf.fit(X, y)
    fitted = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    clf.set_params(learning_rate_init=1e-12)  # a step too small to move
    clf.partial_fit(X, y)
    for key, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, fitted[key], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf.class_counts_, 2 * np.bincount(y))
    # fit after partial_fit starts again
    clf.fit(X[:30], y[:30])
    np.testing.assert_array_equal(clf.class_counts_, np.bincount(y[:30]))


def test_partial_fit_is_repeatable_with_an_int_random_state():
    X, y = _toy()

    def run():
        clf = MLPMarginClassifier(hidden_layer_sizes=(8,), random_state=3)
        for rows in _chunks(len(y), 3):
            clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        return clf.predict_proba(X)

    np.testing.assert_array_equal(run(), run())


def test_works_under_dask_ml_incremental(digits):
    pytest.importorskip(
        "dask_ml",
        reason="dask-ml is not installed (pip install 'sklearn-lt[dask]')",
    )
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y, X_test, y_test = digits
    X_dask = da.from_array(X, chunks=(48, X.shape[1]))
    y_dask = da.from_array(y, chunks=48)
    model = Incremental(
        MLPMarginClassifier(hidden_layer_sizes=(64,), batch_size=24, random_state=0),
        random_state=0,
    )
    epochs = 20
    for _ in range(epochs):
        model.partial_fit(X_dask, y_dask, classes=CLASSES)
    fitted = model.estimator_
    assert fitted.n_iter_ == epochs * N_CHUNKS
    np.testing.assert_array_equal(fitted.class_counts_, epochs * np.bincount(y))
    predicted = model.predict(da.from_array(X_test, chunks=100)).compute()
    assert balanced_accuracy_score(y_test, predicted) > 0.85


@pytest.mark.parametrize("cls", [MLPMarginClassifier, LinearMarginClassifier])
def test_declared_but_unseen_class_is_never_predicted(cls, digits):
    # The case: classes=[0, 1, 2, 3, 99] with no 99 in the data used
    # to predict 99 for some rows. Its logit is masked until it is seen.
    X, y, _, _ = digits
    rows = y < 4
    clf = cls(random_state=0).partial_fit(X[rows], y[rows], classes=[0, 1, 2, 3, 99])
    proba = clf.predict_proba(X)
    assert set(np.unique(clf.predict(X))) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(proba[:, 4], 0.0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(clf.decision_function(X)[:, 4] == -np.inf)
    # once class 99 has examples, it can be predicted again
    new = X[y == 9][:20]
    clf.partial_fit(new, np.full(len(new), 99))
    assert (clf.predict_proba(X)[:, 4] > 0).all()
