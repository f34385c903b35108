"""Sparse X (CSR / CSC): accepted everywhere, never made dense as a whole.

References: the same estimator on the dense twin of the data (the same
numbers up to float rounding), and a matrix whose dense form (48 GB) could
not be allocated on the test machine.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sklearn_lt._batches
from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier


def _linear():
    return LinearMarginClassifier(random_state=0)


def _mlp(**params):
    return MLPMarginClassifier(
        **{"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, **params}
    )


ESTIMATORS = {
    "linear": _linear,
    "linear_adam": lambda: LinearMarginClassifier(
        solver="adam", max_epochs=3, random_state=0
    ),
    "mlp": _mlp,
    "mlp_elm_early_stopping": lambda: _mlp(loss="elm", early_stopping=True),
}


@pytest.fixture(scope="module")
def sparse_data():
    X, y = make_classification(300, 8, n_informative=4, weights=[0.8], random_state=0)
    X[np.abs(X) < 1.0] = 0  # about two thirds zeros
    return X.astype(np.float32), y


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_matrix])
def test_every_method_takes_sparse_x_like_its_dense_twin(sparse_data, name, container):
    X, y = sparse_data
    Xs = container(X)
    weights = np.r_[np.zeros(20), np.linspace(0.5, 2, len(y) - 20)]
    sparse = _quiet(ESTIMATORS[name]().fit, Xs, y, sample_weight=weights)
    dense = _quiet(ESTIMATORS[name]().fit, X, y, sample_weight=weights)
    for method in ("predict", "predict_proba", "decision_function", "transform"):
        if hasattr(dense, method):
            np.testing.assert_allclose(
                getattr(sparse, method)(Xs),
                getattr(dense, method)(X),
                rtol=1e-6,
                atol=1e-6,
                err_msg=method,
            )
    for model, data in ((sparse, Xs), (dense, X)):
        _quiet(model.partial_fit, data, y)
    np.testing.assert_allclose(
        sparse.predict_proba(Xs), dense.predict_proba(X), rtol=1e-6, atol=1e-6
    )


def _table(n=400, seed=0):
    rng = np.random.RandomState(seed)
    frame = pd.DataFrame(
        {
            "plan": rng.choice([f"p{i}" for i in range(20)], n),
            "state": rng.choice([f"s{i}" for i in range(25)], n),
            "minutes": rng.gamma(2.0, 50.0, n),
            "calls": rng.poisson(3, n).astype(float),
        }
    )
    score = frame["minutes"] / 100 + (frame["plan"] < "p5") * 1.5
    y = np.where(score + rng.normal(0, 0.5, n) > 2.8, "yes", "no")
    return frame, y


@pytest.mark.parametrize(
    "make",
    [_linear, _mlp],
    ids=["linear", "mlp"],
)
def test_one_hot_pipeline_fits_and_predicts_like_its_dense_twin(make):
    # Issue 23: the default OneHotEncoder makes the ColumnTransformer's
    # output sparse, which the estimators refused (TypeError).
    X, y = _table()

    def pipeline(sparse_output):
        encoder = OneHotEncoder(sparse_output=sparse_output)
        columns = ColumnTransformer(
            [
                ("cat", encoder, ["plan", "state"]),
                ("num", StandardScaler(), ["minutes", "calls"]),
            ]
        )
        return make_pipeline(columns, make())

    sparse = _quiet(pipeline(True).fit, X, y)
    dense = _quiet(pipeline(False).fit, X, y)
    assert sp.issparse(sparse[0].transform(X))
    assert not sp.issparse(dense[0].transform(X))
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))
    np.testing.assert_allclose(
        sparse.predict_proba(X), dense.predict_proba(X), rtol=1e-6, atol=1e-6
    )
    assert (sparse.predict(X) == y).mean() > 0.75


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_batches_above_the_dense_limit_go_to_torch_as_sparse_tensors(
    sparse_data, name, monkeypatch
):
    # Every batch is a torch sparse COO tensor when the limit is 0: the same
    # model as with dense batches, up to float rounding.
    X, y = sparse_data
    dense_batches = _quiet(ESTIMATORS[name]().fit, sp.csr_matrix(X), y)
    monkeypatch.setattr(sklearn_lt._batches, "_DENSE_BATCH_BYTES", 0)
    sparse_batches = _quiet(ESTIMATORS[name]().fit, sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse_batches.predict_proba(sp.csr_matrix(X)),
        dense_batches.predict_proba(X),
        rtol=1e-4,
        atol=1e-5,
    )


def _huge(n_rows, n_features, seed=0):
    """One signal column among the first 10 (the class is its parity) and two
    noise columns per row: 48 GB as a dense float32 array."""
    rng = np.random.RandomState(seed)
    signal = rng.randint(0, 10, size=n_rows)
    columns = np.c_[signal, rng.randint(10, n_features, size=(n_rows, 2))]
    X = sp.csr_matrix(
        (
            np.ones(columns.size, dtype=np.float32),
            columns.ravel(),
            np.arange(0, columns.size + 1, 3),
        ),
        shape=(n_rows, n_features),
    )
    return X, signal % 2


@pytest.mark.parametrize(
    "model",
    [
        LinearMarginClassifier(max_iter=5, random_state=0),
        MLPMarginClassifier(
            hidden_layer_sizes=(4,),
            batch_size=2048,
            max_iter=1,
            learning_rate_init=0.05,
            random_state=0,
        ),
    ],
    ids=["linear_lbfgs_full_batch", "mlp_minibatch"],
)
def test_a_matrix_that_would_not_fit_dense_trains_and_predicts(model):
    X, y = _huge(30_000, 400_000)
    assert X.shape[0] * X.shape[1] * 4 > 40e9  # dense: more than 40 GB
    _quiet(model.fit, X, y)
    assert (model.predict(X[:3000]) == y[:3000]).mean() > 0.95
    assert model.predict_proba(X[:10]).shape == (10, 2)
