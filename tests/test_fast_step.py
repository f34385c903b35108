"""The hand-written training step (sklearn_lt._fast_step and its use in
LongTailNet): gradients against autograd, Adam steps against Adam.step, and
whole fits against the autograd step and skorch's own loop."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, GradientNormClipping
from torch import nn

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier, _fast_step
from sklearn_lt._fast_step import FusedAdamStep, MLPBackprop, squared_norm
from sklearn_lt.losses import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    ELMLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
)
from sklearn_lt.modules import LinearModule, MLPModule
from sklearn_lt.net import LongTailNet


def _module(hidden=(7, 5), activation="relu", embeddings=False, seed=0):
    torch.manual_seed(seed)
    return MLPModule(
        4, 3, hidden, activation=activation, return_embeddings=embeddings
    ).double()


# --------------------------------------------------------------------------
# MLPBackprop
# --------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("hidden", [(), (7,), (7, 5)])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_backprop_gradients_equal_autograd(activation, hidden, alpha):
    module = _module(hidden, activation)
    X = torch.randn(11, 4, dtype=torch.float64)
    target = torch.randint(0, 3, (11,))
    weights = [p for p in module.parameters() if p.ndim > 1]

    loss = nn.functional.cross_entropy(module(X), target)
    loss = loss + 0.5 * alpha * sum(w.pow(2).sum() for w in weights)
    expected = torch.autograd.grad(loss, list(module.parameters()))

    plan = MLPBackprop.plan(module)
    outputs, saved = plan.forward(X)
    torch.testing.assert_close(outputs[0], module(X))
    (grad_logits,) = torch.autograd.grad(
        nn.functional.cross_entropy(outputs[0], target), outputs
    )
    grads = plan.backward(saved, grad_logits, alpha=alpha)
    assert len(grads) == len(expected)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_backprop_with_embeddings_and_transposed_logits_equals_autograd():
    module = _module((6,), embeddings=True)
    X = torch.randn(9, 4, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])

    def loss_of(logits, embeddings):
        return nn.functional.cross_entropy(logits, target) + embeddings.pow(3).mean()

    expected = torch.autograd.grad(loss_of(*module(X)), list(module.parameters()))
    plan = MLPBackprop.plan(module)
    outputs, saved = plan.forward(X, transposed_logits=True)
    assert not outputs[0].is_contiguous()  # a view of (n_classes, n_samples)
    output_grads = torch.autograd.grad(loss_of(*outputs), outputs)
    for got, want in zip(plan.backward(saved, *output_grads), expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_backprop_on_a_linear_module():
    torch.manual_seed(0)
    module = LinearModule(4, 3).double()
    X = torch.randn(8, 4, dtype=torch.float64)
    target = torch.randint(0, 3, (8,))
    expected = torch.autograd.grad(
        nn.functional.cross_entropy(module(X), target), list(module.parameters())
    )
    plan = MLPBackprop.plan(module)
    outputs, saved = plan.forward(X)
    output_grads = torch.autograd.grad(
        nn.functional.cross_entropy(outputs[0], target), outputs
    )
    for got, want in zip(plan.backward(saved, *output_grads), expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


class _SubModule(MLPModule):
    pass


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPModule(4, 3, (5,), dropout=0.2),
        lambda: MLPModule(4, 3, (5,), activation="gelu"),
        lambda: MLPModule(4, 3, (5,), head="cosine"),
        lambda: _SubModule(4, 3, (5,)),
        lambda: MLPModule(4, 3, (5,)).eval(),
        lambda: nn.Sequential(nn.Linear(4, 3)),
    ],
    ids=["dropout", "gelu", "cosine", "subclass", "eval", "other-module"],
)
def test_backprop_plan_refuses_what_it_does_not_reproduce(make):
    assert MLPBackprop.plan(make()) is None


def test_backprop_plan_refuses_frozen_parameters_and_hooks():
    module = MLPModule(4, 3, (5,))
    plan = MLPBackprop.plan(module)
    assert plan.is_current(module)

    module.head.bias.requires_grad_(False)
    assert not plan.is_current(module)
    assert MLPBackprop.plan(module) is None
    module.head.bias.requires_grad_(True)
    assert plan.is_current(module)

    handle = module.body[0].register_forward_hook(lambda *args: None)
    assert not plan.is_current(module)
    assert MLPBackprop.plan(module) is None
    handle.remove()
    assert plan.is_current(module)

    module.head = nn.Linear(5, 3)
    assert not plan.is_current(module)
    assert not plan.is_current(MLPModule(4, 3, (5,)))


def test_squared_norm():
    tensors = [torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0], [2.0]])]
    assert float(squared_norm(tensors)) == 30.0


# --------------------------------------------------------------------------
# FusedAdamStep
# --------------------------------------------------------------------------
def _two_optimisers(optimizer_class, **kwargs):
    torch.manual_seed(0)
    params = [torch.randn(5, 3, requires_grad=True), torch.randn(3, requires_grad=True)]
    copies = [p.detach().clone().requires_grad_() for p in params]
    return (
        (params, optimizer_class(params, fused=True, **kwargs)),
        (copies, optimizer_class(copies, fused=True, **kwargs)),
    )


@pytest.mark.parametrize(
    "optimizer_class, kwargs",
    [
        (torch.optim.Adam, {}),
        (torch.optim.Adam, {"weight_decay": 0.1, "amsgrad": True}),
        (torch.optim.Adam, {"maximize": True, "betas": (0.8, 0.9)}),
        (torch.optim.AdamW, {"weight_decay": 0.05}),
    ],
)
def test_fused_adam_step_equals_adam_step(optimizer_class, kwargs):
    (params, reference), (copies, optimizer) = _two_optimisers(
        optimizer_class, lr=0.05, **kwargs
    )
    generator = torch.Generator().manual_seed(1)
    plan = None
    for _ in range(6):
        grads = [torch.randn(p.shape, generator=generator) for p in params]
        for p, c, g in zip(params, copies, grads):
            p.grad, c.grad = g.clone(), g.clone()
        reference.step()
        if plan is None:
            optimizer.step()  # the first step creates the state
            plan = FusedAdamStep.plan(optimizer)
        else:
            assert plan.is_current(optimizer)
            assert plan.step(optimizer)
        for p, c in zip(params, copies):
            torch.testing.assert_close(c, p, rtol=0, atol=0)
    for p, c in zip(params, copies):
        for key, value in reference.state[p].items():
            torch.testing.assert_close(optimizer.state[c][key], value, rtol=0, atol=0)


def test_fused_adam_step_follows_the_learning_rate_schedule_without_warnings():
    (params, reference), (copies, optimizer) = _two_optimisers(torch.optim.Adam, lr=0.1)
    schedules = [
        torch.optim.lr_scheduler.StepLR(o, 1, 0.5) for o in (reference, optimizer)
    ]
    plan = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            for p, c in zip(params, copies):
                p.grad = torch.ones_like(p)
                c.grad = torch.ones_like(c)
            reference.step()
            if plan is None:
                optimizer.step()
                plan = FusedAdamStep.plan(optimizer)
            else:
                assert plan.step(optimizer)
            for schedule in schedules:
                schedule.step()
    for p, c in zip(params, copies):
        torch.testing.assert_close(c, p, rtol=0, atol=0)


def test_fused_adam_plan_refuses_what_it_does_not_reproduce():
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.ones(3)
    plain = torch.optim.Adam([p], fused=False)
    plain.step()
    assert FusedAdamStep.plan(plain) is None
    fused = torch.optim.Adam([p], fused=True)
    assert FusedAdamStep.plan(fused) is None  # no state yet
    fused.step()
    assert FusedAdamStep.plan(fused) is not None
    handle = fused.register_step_pre_hook(lambda *args: None)
    assert FusedAdamStep.plan(fused) is None
    handle.remove()
    assert FusedAdamStep.plan(torch.optim.SGD([p], lr=0.1, fused=True)) is None
    plan = FusedAdamStep.plan(fused)
    p.grad = None
    assert plan.step(fused) is False  # a parameter without a gradient


def test_fused_kernel_check_finds_the_kernels_of_this_torch():
    # The suite runs on a torch that has them (setup.cfg's floor); the
    # fallback is tested below by forcing the check off.
    assert _fast_step.fused_adam_kernels_available()


def test_without_the_private_kernels_the_public_step_runs(monkeypatch):
    monkeypatch.setattr(_fast_step, "fused_adam_kernels_available", lambda: False)
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.ones(3)
    optimizer = torch.optim.Adam([p], fused=True)
    optimizer.step()
    assert FusedAdamStep.plan(optimizer) is None


@pytest.mark.parametrize(
    "optimizer_class, kwargs",
    [(torch.optim.Adam, {}), (torch.optim.AdamW, {"weight_decay": 0.05})],
)
def test_groups_without_the_decoupled_key_follow_the_optimizer_class(
    optimizer_class, kwargs
):
    # Older torch has no "decoupled_weight_decay" key in AdamW's groups:
    # AdamW must still take AdamW's kernel, not become Adam.
    (params, reference), (copies, optimizer) = _two_optimisers(
        optimizer_class, lr=0.05, **kwargs
    )
    plan = None
    for _ in range(3):
        for p, c in zip(params, copies):
            p.grad, c.grad = torch.ones_like(p), torch.ones_like(c)
        reference.step()
        if plan is None:
            optimizer.step()  # (this torch's step() needs the key)
            for group in optimizer.param_groups:
                del group["decoupled_weight_decay"]
            plan = FusedAdamStep.plan(optimizer)
        else:
            assert plan.step(optimizer)
    for p, c in zip(params, copies):
        torch.testing.assert_close(c, p, rtol=0, atol=0)


# --------------------------------------------------------------------------
# LongTailNet with the hand-written step
# --------------------------------------------------------------------------
def AutogradStepNet(*args, **kwargs):  # noqa: N802 (used as a class)
    """The public switch off: every step autograd's."""
    return LongTailNet(*args, fast_step=False, **kwargs)


class SkorchLoopNet(LongTailNet):
    _fast_loop = False


def _data(n=90, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5).astype(np.float32)
    y = (np.arange(n) % 3).astype(np.int64)
    return X, y


def _fit(cls, X, y, **kwargs):
    params = {
        "module__n_features": 5,
        "module__n_classes": 3,
        "module__hidden_layer_sizes": (16,),
        "criterion": LogitAdjustedLoss,
        "optimizer": torch.optim.Adam,
        "lr": 0.01,
        "alpha": 1e-3,
        "batch_size": 16,
        "max_epochs": 4,
        "iterator_train__shuffle": True,
        "verbose": 0,
    }
    params.update(kwargs)
    torch.manual_seed(7)
    return cls(MLPModule, **params).fit(X, y)


def _count_manual_steps(monkeypatch):
    calls = {"backward": 0, "adam": 0}
    backward, step = MLPBackprop.backward, FusedAdamStep.step

    def counted_backward(self, *args, **kwargs):
        calls["backward"] += 1
        return backward(self, *args, **kwargs)

    def counted_step(self, *args, **kwargs):
        calls["adam"] += 1
        return step(self, *args, **kwargs)

    ensemble_backward = _fast_step.EnsembleBackprop.backward

    def counted_ensemble_backward(self, *args, **kwargs):
        calls["backward"] += 1
        return ensemble_backward(self, *args, **kwargs)

    monkeypatch.setattr(_fast_step.MLPBackprop, "backward", counted_backward)
    monkeypatch.setattr(
        _fast_step.EnsembleBackprop, "backward", counted_ensemble_backward
    )
    monkeypatch.setattr(_fast_step.FusedAdamStep, "step", counted_step)
    return calls


def _assert_close_fits(fast, reference, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(
        fast.history[:, "train_loss"], reference.history[:, "train_loss"], rtol=rtol
    )
    for (name, a), (_, b) in zip(
        fast.module_.state_dict().items(), reference.module_.state_dict().items()
    ):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"criterion": CrossEntropyLoss},
        {"criterion": LDAMLoss, "module__head": "linear"},
        {"criterion": VSLoss},
        {"criterion": FocalLoss},
        {"criterion": ELMLoss, "module__return_embeddings": True},
        {"module__activation": "tanh", "module__hidden_layer_sizes": (8, 6)},
        {"optimizer": torch.optim.AdamW, "alpha": 0.0},
        {"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9},
        {"criterion__weight": [1.0, 2.0, 0.5]},
    ],
    ids=lambda kwargs: (
        "-".join(getattr(v, "__name__", str(v)) for v in kwargs.values()) or "default"
    ),
)
def test_hand_written_step_matches_autograd_and_skorch(monkeypatch, kwargs):
    X, y = _data()
    calls = _count_manual_steps(monkeypatch)
    fast = _fit(LongTailNet, X, y, **kwargs)
    n_steps = 4 * 6  # 4 epochs of 90 rows in batches of 16
    assert calls["backward"] == n_steps
    if kwargs.get("optimizer", torch.optim.Adam) is not torch.optim.SGD:
        assert calls["adam"] == n_steps - 1  # the first step is Adam.step()
    _assert_close_fits(fast, _fit(AutogradStepNet, X, y, **kwargs))
    _assert_close_fits(fast, _fit(SkorchLoopNet, X, y, **kwargs))


def test_hand_written_step_with_sample_weights(monkeypatch):
    X, y = _data()
    weights = np.linspace(0.2, 1.0, len(y)).astype(np.float32)
    calls = _count_manual_steps(monkeypatch)
    fast = _fit(LongTailNet, {"X": X, "sample_weight": weights}, y)
    assert calls["backward"] == 24
    reference = _fit(SkorchLoopNet, {"X": X, "sample_weight": weights}, y)
    _assert_close_fits(fast, reference)


class _GradLog(Callback):
    def initialize(self):
        self.norms = []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.norms.append([float(p.grad.norm()) for _, p in named_parameters])


def test_hand_written_step_calls_grad_hooks_with_the_gradients(monkeypatch):
    X, y = _data()
    logs = []
    for cls in (LongTailNet, SkorchLoopNet):
        log = _GradLog()
        _fit(cls, X, y, callbacks=[log, GradientNormClipping(0.05)])
        logs.append(np.array(log.norms))
    np.testing.assert_allclose(logs[0], logs[1], rtol=1e-5)


def test_autograd_step_is_kept_for_what_the_hand_written_one_does_not_cover(
    monkeypatch,
):
    X, y = _data()
    calls = _count_manual_steps(monkeypatch)
    _fit(LongTailNet, X, y, module__dropout=0.1)
    _fit(LongTailNet, X, y, optimizer=torch.optim.LBFGS, lr=0.1, max_epochs=1)

    class CustomInfer(LongTailNet):
        def infer(self, x, **fit_params):
            return super().infer(x, **fit_params)

    _fit(CustomInfer, X, y)
    assert calls["backward"] == 0


def test_freezing_a_layer_between_epochs_is_respected():
    from skorch.callbacks import Freezer

    X, y = _data()
    net = _fit(LongTailNet, X, y, callbacks=[Freezer("body.0.weight")])
    reference = _fit(SkorchLoopNet, X, y, callbacks=[Freezer("body.0.weight")])
    _assert_close_fits(net, reference)


def test_deferred_reweighting_reaches_the_closed_form_loss(monkeypatch):
    from sklearn_lt.net import DeferredReweighting

    X, y = _data()
    y = np.where(np.arange(len(y)) % 5 == 0, 2, y % 2)  # skewed: 18 of class 2
    calls = _count_manual_steps(monkeypatch)
    kwargs = {"callbacks": [DeferredReweighting(2, class_weight="balanced")]}
    fast = _fit(LongTailNet, X, y, **kwargs)
    assert calls["backward"] == 24
    assert fast.criterion_.weight is not None
    reference = _fit(SkorchLoopNet, X, y, **kwargs)
    _assert_close_fits(fast, reference)
    # The weights changed the training: without them the fit differs.
    unweighted = _fit(LongTailNet, X, y)
    assert not np.allclose(
        fast.history[-1, "train_loss"], unweighted.history[-1, "train_loss"]
    )


def test_elm_batch_of_one_row_falls_back_to_autograd_within_the_step(monkeypatch):
    # 97 rows in batches of 16: the last batch has one row, which ELM's
    # closed form declines (no pair of rows); autograd takes that batch.
    X, y = _data(n=97)
    calls = _count_manual_steps(monkeypatch)
    kwargs = {"criterion": ELMLoss, "module__return_embeddings": True}
    fast = _fit(LongTailNet, X, y, **kwargs)
    assert calls["backward"] == 4 * 7
    _assert_close_fits(fast, _fit(SkorchLoopNet, X, y, **kwargs))


# --------------------------------------------------------------------------
# The public switch: the loss x optimiser matrix both ways
# --------------------------------------------------------------------------
_LOSS_SETTINGS = {
    "ce": {"criterion": CrossEntropyLoss},
    "logit_adjusted": {"criterion": LogitAdjustedLoss},
    "balanced_softmax": {"criterion": BalancedSoftmaxLoss},
    "ldam": {"criterion": LDAMLoss, "criterion__scale": 5.0},
    "vs": {"criterion": VSLoss},
    "focal": {"criterion": FocalLoss},
    "elm": {"criterion": ELMLoss, "module__return_embeddings": True},
}
_OPTIMIZER_SETTINGS = {
    "adam": {"optimizer": torch.optim.Adam},
    "adamw": {"optimizer": torch.optim.AdamW, "optimizer__weight_decay": 0.05},
    "sgd": {"optimizer": torch.optim.SGD, "optimizer__momentum": 0.9, "lr": 0.05},
    "rmsprop": {"optimizer": torch.optim.RMSprop, "lr": 0.005},
}


@pytest.mark.parametrize("optimizer", sorted(_OPTIMIZER_SETTINGS))
@pytest.mark.parametrize("loss", sorted(_LOSS_SETTINGS))
def test_fast_step_on_and_off_give_the_same_parameters(monkeypatch, loss, optimizer):
    X, y = _data()
    weights = np.linspace(0.2, 1.0, len(y)).astype(np.float32)
    kwargs = {
        **_LOSS_SETTINGS[loss],
        **_OPTIMIZER_SETTINGS[optimizer],
        "max_epochs": 2,  # 12 steps
    }
    calls = _count_manual_steps(monkeypatch)
    off = _fit(
        LongTailNet, {"X": X, "sample_weight": weights}, y, fast_step=False, **kwargs
    )
    assert calls["backward"] == 0
    on = _fit(
        LongTailNet, {"X": X, "sample_weight": weights}, y, fast_step=True, **kwargs
    )
    assert calls["backward"] == 12
    if optimizer in ("adam", "adamw"):
        assert calls["adam"] == 11  # the first step creates the state
    _assert_close_fits(on, off)


@pytest.mark.parametrize("loss", sorted(_LOSS_SETTINGS))
def test_forced_fallback_of_the_fused_kernels_gives_the_same_fit(monkeypatch, loss):
    X, y = _data()
    kwargs = {**_LOSS_SETTINGS[loss], "optimizer": torch.optim.AdamW}
    direct = _fit(LongTailNet, X, y, **kwargs)
    calls = _count_manual_steps(monkeypatch)
    monkeypatch.setattr(_fast_step, "fused_adam_kernels_available", lambda: False)
    public = _fit(LongTailNet, X, y, **kwargs)
    assert calls["backward"] == 24 and calls["adam"] == 0
    _assert_close_fits(direct, public, rtol=0, atol=0)


@pytest.mark.parametrize(
    "estimator, hand_written",
    [
        (MLPMarginClassifier(hidden_layer_sizes=(8,), max_iter=5), True),
        (MLPMarginClassifier(loss="elm", hidden_layer_sizes=(8,), max_iter=5), True),
        (
            MLPMarginClassifier(
                loss="vs", reweight="drw", hidden_layer_sizes=(8,), max_iter=5
            ),
            True,
        ),
        (MLPMarginClassifier(loss="focal", ensemble_size=3, max_iter=5), True),
        # LDAM's cosine head has no hand-written backward: autograd both ways.
        (
            MLPMarginClassifier(loss="ldam", hidden_layer_sizes=(8,), max_iter=5),
            False,
        ),
        (LinearMarginClassifier(solver="adam", loss="vs", max_epochs=5), True),
    ],
    ids=["mlp-la", "mlp-elm", "mlp-vs-drw", "ensemble-focal", "mlp-ldam", "linear-vs"],
)
def test_estimator_fast_step_switch_gives_the_same_model(
    monkeypatch, estimator, hand_written
):
    X, y = _data(n=120)
    y = np.where(np.arange(len(y)) % 7 == 0, 2, y % 2)
    calls = _count_manual_steps(monkeypatch)
    on = estimator.set_params(random_state=0, batch_size=32).fit(X, y)
    on_proba, n_on = on.predict_proba(X), calls["backward"]
    off = estimator.set_params(fast_step=False).fit(X, y)
    assert (n_on > 0) == hand_written and calls["backward"] == n_on
    np.testing.assert_allclose(off.predict_proba(X), on_proba, rtol=1e-4, atol=1e-6)


def test_foreign_criterion_without_the_protocol_takes_autograd_in_the_step(
    monkeypatch,
):
    # A user's loss without value_and_grad (torch's cross-entropy, taking
    # the class counts the net hands every criterion): the hand-written step
    # still runs (backward through the MLP), the loss's gradient comes from
    # autograd, and the fit equals the one without the hand-written step.
    class UsersLoss(torch.nn.CrossEntropyLoss):
        def __init__(self, class_counts=None, **kwargs):
            super().__init__(**kwargs)

    X, y = _data()
    kwargs = {"criterion": UsersLoss, "max_epochs": 2}
    calls = _count_manual_steps(monkeypatch)
    on = _fit(LongTailNet, X, y, fast_step=True, **kwargs)
    assert calls["backward"] == 12
    off = _fit(LongTailNet, X, y, fast_step=False, **kwargs)
    assert calls["backward"] == 12
    _assert_close_fits(on, off)
