"""torch's threads follow the joblib / threadpoolctl budget during fit and predict."""

import joblib
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits
from torch import nn

from sklearn_lt import LongTailNet, MLPMarginClassifier
from sklearn_lt._threads import thread_budget, torch_thread_budget

CORES = joblib.cpu_count()
needs_two_cores = pytest.mark.skipif(CORES < 2, reason="needs two cores")


def _data(n=120, d=4, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [70, 35, 15]).astype(np.int64)
    X = (rng.normal(size=(n, d)) + y[:, None]).astype(np.float32)
    return X, y


class SeenThreads(Callback):
    """Records torch.get_num_threads() in the training loop's hooks."""

    def initialize(self):
        self.seen = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.seen.append(torch.get_num_threads())


class ThreadsInForward(nn.Linear):
    """A linear module that records torch.get_num_threads() when called."""

    seen = []

    def forward(self, X):
        ThreadsInForward.seen.append(torch.get_num_threads())
        return super().forward(X)


def test_budget_is_the_threadpoolctl_limit_and_at_most_the_cores():
    assert 1 <= thread_budget() <= CORES
    with threadpool_limits(1):
        assert thread_budget() == 1
    with threadpool_limits(1, user_api="blas"):
        assert thread_budget() == 1


@needs_two_cores
def test_fit_and_predict_run_on_the_budget_and_restore_torch_threads():
    X, y = _data()
    seen = SeenThreads()
    ThreadsInForward.seen = []
    net = LongTailNet(
        ThreadsInForward,
        module__in_features=4,
        module__out_features=3,
        max_epochs=2,
        batch_size=40,
        callbacks=[("seen", seen)],
        verbose=0,
    )
    previous = torch.get_num_threads()
    try:
        with threadpool_limits(1, user_api="blas"):
            # torch's own setting says 2, the budget (BLAS limit) says 1.
            torch.set_num_threads(2)
            net.fit(X, y)
            assert seen.seen and set(seen.seen) == {1}
            assert torch.get_num_threads() == 2  # restored after fit
            ThreadsInForward.seen = []
            net.predict_proba(X)
            assert ThreadsInForward.seen and set(ThreadsInForward.seen) == {1}
            assert torch.get_num_threads() == 2  # restored after predict
    finally:
        torch.set_num_threads(previous)


@needs_two_cores
def test_estimator_fit_predict_and_transform_run_on_the_budget(monkeypatch):
    from sklearn_lt.modules import MLPModule

    seen = []
    forward, embed = MLPModule.forward, MLPModule.embed

    def recording(method):
        def wrapper(self, *args, **kwargs):
            seen.append(torch.get_num_threads())
            return method(self, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(MLPModule, "forward", recording(forward))
    monkeypatch.setattr(MLPModule, "embed", recording(embed))
    X, y = _data()
    previous = torch.get_num_threads()
    try:
        with threadpool_limits(1, user_api="blas"):
            torch.set_num_threads(2)
            clf = MLPMarginClassifier(
                hidden_layer_sizes=(8,), max_iter=2, random_state=0
            ).fit(X, y)
            clf.predict(X)
            clf.transform(X)
            assert seen and set(seen) == {1}
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_threads_are_restored_when_fit_fails():
    X, y = _data()
    previous = torch.get_num_threads()

    class Boom(Callback):
        def on_epoch_begin(self, net, **kwargs):
            raise RuntimeError("boom")

    net = LongTailNet(
        nn.Linear(4, 3), max_epochs=1, callbacks=[("boom", Boom())], verbose=0
    )
    with threadpool_limits(1, user_api="blas"):
        with pytest.raises(RuntimeError, match="boom"):
            net.fit(X, y)
    assert torch.get_num_threads() == previous


def test_budget_never_raises_torch_threads():
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch_thread_budget():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


def _fit_in_worker(X, y):
    # A library in the worker raised torch's threads to all the cores.
    torch.set_num_threads(joblib.cpu_count())
    seen = SeenThreads()
    LongTailNet(
        nn.Linear(4, 3), max_epochs=1, callbacks=[("seen", seen)], verbose=0
    ).fit(X, y)
    return set(seen.seen), torch.get_num_threads(), thread_budget()


@pytest.mark.slow
@needs_two_cores
def test_joblib_workers_train_on_their_share_of_the_cores():
    X, y = _data()
    results = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_fit_in_worker)(X, y) for _ in range(2)
    )
    for seen, after, budget in results:
        # joblib's loky workers get cpu_count() // n_jobs threads each.
        assert budget == CORES // 2
        assert seen == {CORES // 2}
        assert after == CORES  # restored after fit
