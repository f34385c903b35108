"""The step protocol of the losses, and the worked example of the
"Architecture" page: its code, read from docs/user_guide/architecture.rst,
adds a label-smoothing loss that trains through LongTailNet's one step with
its closed form and without it.

References: torch's own F.cross_entropy(label_smoothing=...) for the value,
autograd through the module's forward for the closed form, and the fit with
fast_step=False (autograd's step) for the fit with fast_step=True.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklearn_lt import _fast_step
from sklearn_lt.losses import LOSSES
from sklearn_lt.modules import MLPModule

PAGE = Path(__file__).parents[1] / "docs" / "user_guide" / "architecture.rst"


def _worked_example():
    """The namespace the worked example's code blocks define."""
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("Worked example: label smoothing") :]
    blocks = re.findall(
        r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", section, flags=re.M
    )
    assert len(blocks) == 2, "the worked example has two code blocks"
    namespace = {}
    for block in blocks:
        code = "\n".join(line[3:] for line in block.splitlines())
        exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def example():
    return _worked_example()


def test_every_registered_loss_has_a_closed_form():
    # Each loss of the package is exact in closed form (the issue: "LDAM and
    # focal get closed forms if they are exact"); autograd is for others'.
    logits = torch.randn(6, 3, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    embeddings = torch.randn(6, 4, dtype=torch.float64)
    for name, loss_class in LOSSES.items():
        criterion = loss_class([5, 3, 2])
        extra = embeddings if criterion.uses_embeddings else None
        assert criterion.value_and_grad(logits, target, extra) is not None, name


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_focal_closed_form_equals_autograd(gamma, reduction, weighted):
    # dl/dz_j = c (delta_jy - p_j), c = gamma (1-p)^(gamma-1) p log p - (1-p)^gamma
    # (Lin et al.'s loss differentiated by hand) against autograd, with
    # rows whose target probability is 1 to float64 precision (logits 60
    # apart) among them.
    from sklearn_lt.losses import FocalLoss

    rng = torch.Generator().manual_seed(int(gamma * 10) + weighted)
    logits = torch.randn(40, 5, generator=rng, dtype=torch.float64) * 3
    target = torch.randint(0, 5, (40,), generator=rng)
    logits[:4] = 0.0
    logits[torch.arange(4), target[:4]] = 60.0
    weight = torch.rand(5, generator=rng, dtype=torch.float64) if weighted else None
    sample_weight = (
        torch.rand(40, generator=rng, dtype=torch.float64) if weighted else None
    )
    loss = FocalLoss(gamma=gamma, weight=weight, reduction=reduction)
    value, (grad,) = loss.value_and_grad(logits, target, sample_weight=sample_weight)
    z = logits.clone().requires_grad_()
    expected = loss(z, target, sample_weight=sample_weight)
    (expected_grad,) = torch.autograd.grad(expected, z)
    torch.testing.assert_close(value, expected.detach())
    torch.testing.assert_close(grad, expected_grad)
    if gamma == 0.0:  # cross-entropy's gradient, softmax minus one-hot
        ce = torch.nn.functional.cross_entropy(
            z, target, weight=None, reduction=reduction
        )
        if not weighted:
            torch.testing.assert_close(grad, torch.autograd.grad(ce, z)[0])


def test_every_registered_loss_answers_the_protocol():
    logits = torch.randn(6, 3, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    embeddings = torch.randn(6, 4, dtype=torch.float64)
    for name, loss_class in LOSSES.items():
        criterion = loss_class([5, 3, 2])
        answer = criterion.value_and_grad(
            logits, target, embeddings if criterion.uses_embeddings else None
        )
        if answer is None:  # no closed form: autograd
            continue
        value, grads = answer
        inputs = [logits.clone().requires_grad_()]
        if criterion.uses_embeddings:
            inputs.append(embeddings.clone().requires_grad_())
        expected = criterion(inputs[0], *inputs[1:], target)
        expected_grads = torch.autograd.grad(expected, inputs)
        assert len(grads) == len(inputs), name
        torch.testing.assert_close(value, expected.detach(), msg=name)
        for got, want in zip(grads, expected_grads):
            torch.testing.assert_close(got, want, msg=name)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.4])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_example_loss_equals_torch_label_smoothing(example, smoothing, reduction):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(9, 4, dtype=torch.float64, generator=generator)
    target = torch.randint(0, 4, (9,), generator=generator)
    criterion = example["LabelSmoothingLoss"](smoothing=smoothing, reduction=reduction)
    expected = F.cross_entropy(
        logits, target, label_smoothing=smoothing, reduction=reduction
    )
    torch.testing.assert_close(criterion(logits, target), expected)


@pytest.mark.parametrize("sample_weight", [False, True])
def test_example_closed_form_equals_autograd(example, sample_weight):
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(11, 5, dtype=torch.float64, generator=generator)
    target = torch.randint(0, 5, (11,), generator=generator)
    weights = torch.rand(11, dtype=torch.float64, generator=generator)
    weights = weights if sample_weight else None
    criterion = example["LabelSmoothingLoss"](smoothing=0.2)
    leaf = logits.clone().requires_grad_()
    expected = criterion(leaf, target, sample_weight=weights)
    (expected_grad,) = torch.autograd.grad(expected, leaf)
    value, (grad,) = criterion.value_and_grad(logits, target, sample_weight=weights)
    torch.testing.assert_close(value, expected.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-14)
    # Outside what it covers, it answers None (autograd).
    weighted = example["LabelSmoothingLoss"](smoothing=0.2, weight=[1.0] * 5)
    assert weighted.value_and_grad(logits, target) is None


def test_example_loss_trains_the_same_both_ways(example, monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randn(90, 5).astype(np.float32)
    y = (np.arange(90) % 3).astype(np.int64)
    loss_class = example["LabelSmoothingLoss"]
    calls = {"closed_form": 0, "backward": 0}
    value_and_grad = loss_class.value_and_grad
    backward = _fast_step.MLPBackprop.backward

    def counted_value_and_grad(self, *args, **kwargs):
        calls["closed_form"] += 1
        return value_and_grad(self, *args, **kwargs)

    def counted_backward(self, *args, **kwargs):
        calls["backward"] += 1
        return backward(self, *args, **kwargs)

    monkeypatch.setattr(loss_class, "value_and_grad", counted_value_and_grad)
    monkeypatch.setattr(_fast_step.MLPBackprop, "backward", counted_backward)

    fits = []
    for fast_step in (True, False):
        torch.manual_seed(3)
        net = example["LongTailNet"](
            MLPModule,
            module__n_features=5,
            module__n_classes=3,
            module__hidden_layer_sizes=(8,),
            criterion=loss_class,
            criterion__smoothing=0.1,
            batch_size=16,
            max_epochs=3,
            alpha=1e-3,
            iterator_train__shuffle=True,
            fast_step=fast_step,
            verbose=0,
        ).fit(X, y)
        fits.append(net)
        if fast_step:
            # 3 epochs of 6 batches, each through the closed form and the
            # hand-written backward pass.
            assert calls == {"closed_form": 18, "backward": 18}
    assert calls == {"closed_form": 18, "backward": 18}  # none with autograd
    on, off = fits
    np.testing.assert_allclose(
        on.history[:, "train_loss"], off.history[:, "train_loss"], rtol=1e-5
    )
    for (name, a), (_, b) in zip(
        on.module_.state_dict().items(), off.module_.state_dict().items()
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
