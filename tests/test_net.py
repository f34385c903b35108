"""LongTailNet and its callbacks (the batch iterator: test_batches.py)."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import DataLoader

from sklearn_lt import LongTailNet
from sklearn_lt.losses import ELMLoss, LDAMLoss, LogitAdjustedLoss
from sklearn_lt.net import (
    DeferredReweighting,
    NonFiniteLossError,
)
from sklearn_lt.weights import effective_number_weights


def _data(n=90, d=5, counts=(60, 20, 10), seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
    X = (rng.normal(size=(len(y), d)) + y[:, None]).astype(np.float32)
    return X, y


class TwoOutputs(nn.Module):
    """Returns (logits, embeddings)."""

    def __init__(self, d=5, k=3, width=8):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d, width), nn.ReLU())
        self.head = nn.Linear(width, k)

    def forward(self, X):
        embeddings = self.body(X)
        return self.head(embeddings), embeddings


class Record(Callback):
    """Records the criterion's weights at the start of each epoch's batches."""

    def initialize(self):
        self.weights = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            weight = net.criterion_.weight
            self.weights.append(None if weight is None else weight.clone())


def test_class_counts_are_taken_from_y_of_each_fit():
    X, y = _data()
    net = LongTailNet(
        nn.Linear(5, 3), criterion=LogitAdjustedLoss, max_epochs=1, verbose=0
    )
    net.fit(X, y)
    np.testing.assert_array_equal(net.criterion_.class_counts.numpy(), [60, 20, 10])
    subset = np.r_[0:30, 60:80, 80:82]
    net.fit(X[subset], y[subset])
    np.testing.assert_array_equal(net.criterion_.class_counts.numpy(), [30, 20, 2])
    expected = torch.log(torch.tensor([30, 20, 2.0]) / 52)
    np.testing.assert_allclose(
        net.criterion_.offsets.numpy(), expected.numpy(), rtol=1e-6
    )


def test_given_class_counts_are_the_criterions():
    X, y = _data()
    given = np.array([5.0, 10.0, 20.0])
    net = LongTailNet(
        nn.Linear(5, 3),
        criterion=LogitAdjustedLoss,
        class_counts=given,
        max_epochs=1,
        verbose=0,
    ).fit(X, y)
    np.testing.assert_array_equal(net.criterion_.class_counts.numpy(), given)
    expected = np.log(given / given.sum())
    np.testing.assert_allclose(net.criterion_.offsets.numpy(), expected)


def test_changed_given_counts_keep_the_optimizer_state():
    # partial_fit with counts accumulated by the caller: the criterion is
    # rebuilt, Adam's moments carry over (as if the loss's constants had
    # simply changed).
    X, y = _data()
    torch.manual_seed(0)
    net = LongTailNet(
        nn.Linear(5, 3),
        criterion=LogitAdjustedLoss,
        class_counts=[60, 20, 10],
        optimizer=torch.optim.Adam,
        verbose=0,
    )
    net.partial_fit(X, y)
    before = {k: v.clone() for k, v in net.optimizer_.state_dict()["state"][0].items()}
    net.set_params(class_counts=[120, 40, 20.0])
    net.notify("on_train_begin", X=X, y=y)  # what partial_fit does first
    np.testing.assert_array_equal(net.criterion_.class_counts.numpy(), [120, 40, 20])
    after = net.optimizer_.state_dict()["state"][0]
    for key, value in before.items():
        torch.testing.assert_close(after[key], value, rtol=0, atol=0)


def test_elm_criterion_receives_embeddings_and_prediction_uses_logits():
    X, y = _data()
    torch.manual_seed(0)
    net = LongTailNet(TwoOutputs, criterion=ELMLoss, max_epochs=3, lr=0.1, verbose=0)
    net.fit(X, y)
    assert np.isfinite(net.history[:, "train_loss"]).all()
    logits, _ = net.forward(X)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), rtol=1e-5)
    np.testing.assert_array_equal(net.predict(X), logits.argmax(1).numpy())


def test_elm_criterion_without_embeddings_is_a_clear_error():
    X, y = _data()
    net = LongTailNet(nn.Linear(5, 3), criterion=ELMLoss, max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\(logits, embeddings\)"):
        net.fit(X, y)


def test_ldam_predict_proba_is_softmax_of_scaled_logits():
    X, y = _data()
    net = LongTailNet(
        nn.Linear(5, 3),
        criterion=LDAMLoss,
        criterion__scale=7.0,
        max_epochs=1,
        verbose=0,
    )
    net.fit(X, y)
    logits = net.forward(X)
    np.testing.assert_allclose(
        net.predict_proba(X), torch.softmax(7.0 * logits, 1).numpy(), rtol=1e-5
    )


def test_deferred_reweighting_switches_weights_on_at_the_given_epoch():
    X, y = _data()
    record = Record()
    net = LongTailNet(
        nn.Linear(5, 3),
        criterion=LogitAdjustedLoss,
        max_epochs=5,
        batch_size=45,
        callbacks=[("drw", DeferredReweighting(3)), ("record", record)],
        verbose=0,
    )
    net.fit(X, y)
    assert len(record.weights) == 10  # 5 epochs x 2 batches
    assert all(w is None for w in record.weights[:6])
    expected = effective_number_weights([60, 20, 10])
    for weight in record.weights[6:]:
        np.testing.assert_allclose(weight.numpy(), expected)


def test_sample_weight_in_x_dict_reaches_the_loss_not_the_module():
    X, y = _data()
    weights = np.linspace(0.1, 2, len(y)).astype(np.float32)
    net = LongTailNet(nn.Linear(5, 3), max_epochs=1, verbose=0).initialize()
    net.criterion_.class_counts = torch.tensor([60.0, 20, 10])
    logits = net.infer(
        {"X": torch.from_numpy(X), "sample_weight": torch.from_numpy(weights)}
    )
    loss = net.get_loss(
        logits, torch.from_numpy(y), X={"X": X, "sample_weight": weights}
    )
    per_example = nn.functional.cross_entropy(
        logits, torch.from_numpy(y), reduction="none"
    )
    expected = (per_example * torch.from_numpy(weights)).sum() / weights.sum()
    torch.testing.assert_close(loss, expected)


def test_alpha_adds_half_alpha_squared_weight_norm_in_training_only():
    X, y = _data()
    net = LongTailNet(nn.Linear(5, 3), alpha=0.3, max_epochs=1, verbose=0).initialize()
    net.criterion_.class_counts = torch.tensor([60.0, 20, 10])
    logits = net.infer(torch.from_numpy(X))
    target = torch.from_numpy(y)
    plain = net.get_loss(logits, target, training=False)
    penalised = net.get_loss(logits, target, training=True)
    expected = 0.5 * 0.3 * net.module_.weight.pow(2).sum()  # the bias is not penalised
    torch.testing.assert_close(penalised - plain, expected)


def test_diverging_training_stops_with_a_clear_error_naming_the_epoch():
    X, y = _data()
    X = X * 1e18
    net = LongTailNet(nn.Linear(5, 3), lr=1e10, max_epochs=5, verbose=0)
    with pytest.raises(NonFiniteLossError, match=r"epoch \d+.*learning rate"):
        net.fit(X, y)


@pytest.mark.gpu
def test_long_tail_net_trains_on_cuda_and_moves_data_once():
    X, y = _data()
    net = LongTailNet(
        TwoOutputs, criterion=ELMLoss, device="cuda", max_epochs=2, verbose=0
    ).fit(X, y)
    assert next(net.module_.parameters()).is_cuda
    assert net.criterion_.class_counts.is_cuda
    assert net.predict(X).shape == (len(y),)


# --------------------------------------------------------------------------
# The fast epoch loop gives skorch's results
# --------------------------------------------------------------------------
class SkorchLoopNet(LongTailNet):
    """LongTailNet with skorch's own run_single_epoch (the reference)."""

    _fast_loop = False


class BatchLog(Callback):
    """Logs every batch-hook call with what it was given."""

    def initialize(self):
        self.calls = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.calls.append(("begin", training, len(batch[1])))

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        self.calls.append(("end", training, len(batch[1]), loss.item()))

    def on_grad_computed(self, net, named_parameters, training=None, **kwargs):
        norms = [float(p.grad.norm()) for _, p in named_parameters]
        self.calls.append(("grad", training, norms))


def _mlp_net(cls, **kwargs):
    from sklearn_lt.modules import MLPModule

    params = {
        "module__n_features": 5,
        "module__n_classes": 3,
        "module__hidden_layer_sizes": (16,),
        "module__dropout": 0.1,
        "criterion": LogitAdjustedLoss,
        "optimizer": torch.optim.Adam,
        "lr": 0.01,
        "alpha": 1e-3,
        "batch_size": 16,
        "max_epochs": 4,
        "iterator_train__shuffle": True,
        "verbose": 0,
    }
    return cls(MLPModule, **{**params, **kwargs})


def _fit_both(X, y, **kwargs):
    nets = []
    for cls in (LongTailNet, SkorchLoopNet):
        torch.manual_seed(7)
        nets.append(_mlp_net(cls, **kwargs).fit(X, y))
    return nets


def _assert_same(fast, slow, keys=("train_loss", "train_loss_best")):
    for key in keys:
        assert fast.history[:, key] == slow.history[:, key], key
    assert fast.history[:, "batches"] == slow.history[:, "batches"]
    for (name, a), (_, b) in zip(
        fast.module_.state_dict().items(), slow.module_.state_dict().items()
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_fast_loop_gives_skorchs_history_and_weights():
    X, y = _data()
    weights = np.linspace(0.2, 1.0, len(y)).astype(np.float32)
    fast, slow = _fit_both({"X": X, "sample_weight": weights}, y)
    _assert_same(fast, slow)
    assert len(fast.history[-1, "batches"]) == 6  # 90 rows in batches of 16


def test_fast_loop_with_validation_and_batch_hook_callbacks_matches_skorch():
    from skorch.dataset import ValidSplit

    X, y = _data()
    logs = []
    nets = []
    for cls in (LongTailNet, SkorchLoopNet):
        torch.manual_seed(7)
        log = BatchLog()
        nets.append(
            _mlp_net(
                cls, train_split=ValidSplit(3, stratified=True), callbacks=[log]
            ).fit(X, y)
        )
        logs.append(log.calls)
    fast, slow = nets
    _assert_same(
        fast,
        slow,
        keys=("train_loss", "valid_loss", "valid_loss_best", "valid_acc"),
    )
    assert logs[0] == logs[1]
    kinds = {(call[0], call[1]) for call in logs[0]}
    assert kinds == {
        ("begin", True),
        ("end", True),
        ("grad", True),
        ("begin", False),
        ("end", False),
    }


def test_epoch_scoring_on_train_batches_still_gets_its_batches():
    from skorch.callbacks import EpochScoring

    X, y = _data()
    nets = _fit_both(
        X, y, callbacks=[EpochScoring("accuracy", on_train=True, name="train_acc")]
    )
    fast, slow = nets
    _assert_same(fast, slow, keys=("train_loss", "train_acc"))
    assert 0 < fast.history[-1, "train_acc"] <= 1


def test_lr_scheduler_stepping_every_batch_still_steps():
    from skorch.callbacks import LRScheduler

    X, y = _data()
    scheduler = LRScheduler("StepLR", step_size=1, gamma=0.5, step_every="batch")
    fast, slow = _fit_both(X, y, callbacks=[("lr", scheduler)])
    _assert_same(fast, slow)
    # 4 epochs x 6 batches, halving after every batch.
    assert fast.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**24)


def test_non_finite_loss_is_caught_in_the_epoch_it_happens():
    X, y = _data()
    X[50, 1] = np.inf
    net = LongTailNet(nn.Linear(5, 3), batch_size=16, max_epochs=3, verbose=0)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1: .*inputs X contain NaN"):
        net.fit(X, y)


def test_adam_is_fused_by_default_and_matches_the_plain_implementation():
    X, y = _data()
    torch.manual_seed(3)
    fused = _mlp_net(LongTailNet, module__dropout=0.0).fit(X, y)
    torch.manual_seed(3)
    plain = _mlp_net(LongTailNet, module__dropout=0.0, optimizer__foreach=False)
    plain.fit(X, y)
    assert fused.optimizer_.defaults["fused"] is True
    assert not plain.optimizer_.defaults.get("fused")
    for a, b in zip(fused.module_.parameters(), plain.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        fused.history[:, "train_loss"], plain.history[:, "train_loss"], rtol=1e-6
    )


def test_epoch_table_is_printed_with_verbose_only(capsys):
    X, y = _data()
    LongTailNet(nn.Linear(5, 3), max_epochs=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 4  # header, rule, 2 rows
    LongTailNet(nn.Linear(5, 3), max_epochs=2, verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_fitted_net_clones_and_pickles_without_private_parameters():
    import pickle

    from sklearn.base import clone

    X, y = _data()
    net = LongTailNet(nn.Linear(5, 3), alpha=0.1, max_epochs=2, verbose=0).fit(X, y)
    assert not any(key.startswith("_defer") for key in net.get_params())
    clone(net).fit(X, y)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))


def test_run_single_epoch_with_a_custom_step_uses_it():
    X, y = _data()
    net = LongTailNet(nn.Linear(5, 3), max_epochs=1, verbose=0).fit(X, y)
    calls = []

    def step(batch, **fit_params):
        calls.append(len(batch[1]))
        return {"loss": torch.tensor(0.5), "y_pred": None}

    net.history.new_epoch()
    iterator = net.get_iterator(net.get_dataset(X, y), training=True)
    net.run_single_epoch(iterator, training=True, prefix="train", step_fn=step)
    assert calls == [90]
    assert net.history[-1, "batches", :, "train_loss"] == [0.5]


def test_fast_loop_with_a_dataloader_and_partial_fit_matches_skorch():
    X, y = _data()
    nets = []
    for cls in (LongTailNet, SkorchLoopNet):
        torch.manual_seed(11)
        net = _mlp_net(cls, iterator_train=DataLoader, max_epochs=2)
        net.fit(X, y)
        net.partial_fit(X, y)  # two more epochs, same optimiser
        nets.append(net)
    fast, slow = nets
    assert len(fast.history) == 4
    _assert_same(fast, slow)


# --------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------
def _interrupt_in_epoch(monkeypatch, epoch):
    """Press Ctrl-C (send this process SIGINT) when training epoch ``epoch``
    (from 1) starts."""
    import os
    import signal

    run_single_epoch = LongTailNet.run_single_epoch

    def interrupted(self, iterator, training, *args, **kwargs):
        if training and len(self.history) == epoch:
            os.kill(os.getpid(), signal.SIGINT)
        return run_single_epoch(self, iterator, training, *args, **kwargs)

    monkeypatch.setattr(LongTailNet, "run_single_epoch", interrupted)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_estimators_let_a_keyboard_interrupt_through(monkeypatch, method):
    import signal

    from sklearn_lt import MLPMarginClassifier

    X, y = _data()
    # partial_fit trains one epoch a call: interrupt that one.
    _interrupt_in_epoch(monkeypatch, 2 if method == "fit" else 1)
    clf = MLPMarginClassifier(max_iter=4, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        if method == "fit":
            clf.fit(X, y)
        else:
            clf.partial_fit(X, y, classes=np.unique(y))
    monkeypatch.undo()
    # Nothing is left switched on: the next fit trains all its epochs, and
    # the SIGINT handler is the one from before.
    assert MLPMarginClassifier(max_iter=4).fit(X, y).n_iter_ == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_early_stopping_still_ends_training_inside_the_estimators():
    # skorch's EarlyStopping raises KeyboardInterrupt to stop: not a Ctrl-C.
    from sklearn_lt import MLPMarginClassifier

    X, y = _data()
    clf = MLPMarginClassifier(
        max_iter=200, early_stopping=True, n_iter_no_change=2, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 200


def test_long_tail_net_keeps_skorchs_stop_on_keyboard_interrupt(monkeypatch):
    X, y = _data()
    _interrupt_in_epoch(monkeypatch, 3)
    net = _mlp_net(LongTailNet, max_epochs=5).fit(X, y)  # no exception
    assert len(net.history) == 3  # two finished epochs, the third begun
    assert net.predict(X).shape == (len(y),)


def test_float64_features_are_cast_to_the_module_precision():
    # Issue 21: float64 X (NumPy's default) into a float32 module raised
    # torch's "mat1 and mat2 must have the same dtype".
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = np.r_[np.zeros(50), np.ones(10)].astype(np.int64)

    def fit(data):
        torch.manual_seed(0)
        return LongTailNet(
            torch.nn.Linear(4, 2), criterion=LogitAdjustedLoss, max_epochs=3, lr=0.1
        ).fit(data, y)

    from_64, from_32 = fit(X), fit(X.astype(np.float32))
    np.testing.assert_array_equal(from_64.predict_proba(X), from_32.predict_proba(X))
    weighted = fit({"X": X, "sample_weight": np.ones(len(y))})
    np.testing.assert_allclose(
        weighted.predict_proba(X), from_32.predict_proba(X), rtol=1e-5
    )
