"""AcceleratedLongTailNet: LongTailNet through Hugging Face Accelerate (on CPU).

The GPU test runs only where CUDA is available.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.preprocessing import StandardScaler

from sklearn_lt.accelerate import AcceleratedLongTailNet
from sklearn_lt.datasets import load_digits_lt
from sklearn_lt.losses import ELMLoss, LDAMLoss, LogitAdjustedLoss
from sklearn_lt.modules import MLPModule
from sklearn_lt.net import DeferredReweighting

_REASON = "accelerate is not installed (pip install 'sklearn-lt[accelerate]')"


def Accelerator(**kwargs):
    return pytest.importorskip("accelerate", reason=_REASON).Accelerator(**kwargs)


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, y_train, y_test = load_digits_lt(imbalance_ratio=10)
    scaler = StandardScaler().fit(X_train)
    return (
        scaler.transform(X_train).astype(np.float32),
        y_train.astype(np.int64),
        scaler.transform(X_test).astype(np.float32),
        y_test,
    )


def _net(accelerator, criterion=LDAMLoss, head="cosine", **kwargs):
    params = {
        "module__n_features": 64,
        "module__n_classes": 10,
        "module__hidden_layer_sizes": (64,),
        "module__head": head,
        "criterion": criterion,
        "classes": np.arange(10),
        "optimizer": torch.optim.Adam,
        "lr": 1e-3,
        "batch_size": 32,
        "max_epochs": 40,
        "iterator_train__shuffle": True,
        "accelerator": accelerator,
        "verbose": 0,
    }
    return AcceleratedLongTailNet(MLPModule, **{**params, **kwargs})


def test_sklearn_lt_imports_without_accelerate():
    # sys.modules[name] = None makes "import name" fail, as if not installed
    code = (
        "import sys; sys.modules['accelerate'] = None; "
        "import sklearn_lt, sklearn_lt.accelerate; print('imported')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "imported"


def test_fits_on_cpu_and_reaches_the_accuracy_of_logistic_regression(digits):
    X, y, X_test, y_test = digits
    torch.manual_seed(0)
    net = _net(
        Accelerator(cpu=True),
        callbacks=[("drw", DeferredReweighting(reweight_epoch=30))],
    ).fit(X, y)
    # the class counts of y reached the criterion (and its LDAM margins)
    np.testing.assert_array_equal(
        net.criterion_.class_counts.numpy(), np.bincount(y).astype(float)
    )
    raw = np.bincount(y) ** -0.25
    np.testing.assert_allclose(
        net.criterion_.margins.numpy(), 0.5 * raw / raw.max(), rtol=1e-6
    )
    assert net.criterion_.weight is not None  # DRW switched weights on
    # the optimiser built after the counts were set is the accelerator's
    from accelerate.optimizer import AcceleratedOptimizer

    assert isinstance(net.optimizer_, AcceleratedOptimizer)
    assert len(net.history) == 40

    proba = net.predict_proba(X_test)
    assert proba.shape == (len(y_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    score = balanced_accuracy_score(y_test, net.predict(X_test))
    reference = LogisticRegression(class_weight="balanced", max_iter=1000)
    reference_score = balanced_accuracy_score(
        y_test, reference.fit(X, y).predict(X_test)
    )
    assert score > 0.85
    assert score > reference_score - 0.03


def test_elm_embeddings_and_sample_weight_go_through(digits):
    X, y, X_test, y_test = digits
    torch.manual_seed(0)
    net = _net(
        Accelerator(cpu=True),
        criterion=ELMLoss,
        head="linear",
        module__return_embeddings=True,
        max_epochs=20,
    )
    weight = np.ones(len(y), dtype=np.float32)
    net.fit({"X": X, "sample_weight": weight}, y)
    assert balanced_accuracy_score(y_test, net.predict(X_test)) > 0.8


def test_verbose_zero_prints_nothing(digits, capsys):
    X, y, _, _ = digits
    _net(Accelerator(cpu=True), criterion=LogitAdjustedLoss, max_epochs=2).fit(X, y)
    assert capsys.readouterr().out == ""


def test_save_and_load_params(digits, tmp_path):
    X, y, X_test, _ = digits
    torch.manual_seed(0)
    net = _net(Accelerator(cpu=True), max_epochs=3).fit(X, y)
    net.save_params(f_params=tmp_path / "model.pt")
    other = _net(Accelerator(cpu=True), max_epochs=3).initialize()
    other.load_params(f_params=tmp_path / "model.pt")
    for key, value in net.module_.state_dict().items():
        torch.testing.assert_close(other.module_.state_dict()[key], value)


@pytest.mark.gpu
def test_fits_on_gpu(digits):
    X, y, X_test, y_test = digits
    torch.manual_seed(0)
    net = _net(Accelerator(), max_epochs=20).fit(X, y)
    assert net.criterion_.class_counts.device.type == "cuda"
    assert next(net.module_.parameters()).device.type == "cuda"
    assert balanced_accuracy_score(y_test, net.predict(X_test)) > 0.8
