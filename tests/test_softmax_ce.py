"""The closed form of the softmax cross-entropy losses
(sklearn_lt.losses._cross_entropy and each loss's value_and_grad).

References: a hand-computed two-class example, and autograd through the loss
modules themselves (whose values are checked against the published formulas
in test_losses.py), in float64.
"""

import math

import numpy as np
import pytest
import torch

from sklearn_lt.losses import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    ELMLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
)
from sklearn_lt.losses._cross_entropy import softmax_ce_value_and_grad

COUNTS = np.array([50, 20, 8, 3, 1, 30, 2, 9, 4, 6, 7, 5, 3, 2, 1, 1, 9, 9, 20, 3])
CLOSED_FORM = [
    CrossEntropyLoss,
    LogitAdjustedLoss,
    BalancedSoftmaxLoss,
    LDAMLoss,
    VSLoss,
]


def test_two_class_cross_entropy_by_hand():
    # softmax([0, ln 3]) = [1/4, 3/4]: loss -ln(1/4), gradient p - onehot.
    logits = torch.tensor([[0.0, math.log(3.0)]], dtype=torch.float64)
    loss, grad = softmax_ce_value_and_grad(logits, torch.tensor([0]))
    assert float(loss) == pytest.approx(math.log(4.0), rel=1e-12)
    np.testing.assert_allclose(grad.numpy(), [[-0.75, 0.75]], rtol=1e-12)


def test_logit_adjustment_by_hand():
    # counts [1, 3]: offsets ln(1/4), ln(3/4); with logits [0, 0] the
    # adjusted softmax is the prior [1/4, 3/4]; target 1: loss -ln(3/4).
    criterion = LogitAdjustedLoss([1, 3])
    logits = torch.zeros(1, 2, dtype=torch.float64)
    loss, (grad,) = criterion.value_and_grad(logits, torch.tensor([1]))
    assert float(loss) == pytest.approx(-math.log(0.75), rel=1e-12)
    np.testing.assert_allclose(grad.numpy(), [[0.25, -0.25]], rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 5, 10, 20])
@pytest.mark.parametrize("loss_class", CLOSED_FORM)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weights", [None, "class", "sample", "both"])
def test_value_and_gradient_equal_autograd_through_the_module(
    n_classes, loss_class, reduction, weights
):
    generator = torch.Generator().manual_seed(n_classes)
    n = 37
    logits = torch.randn(n, n_classes, dtype=torch.float64, generator=generator)
    logits.requires_grad_()
    target = torch.randint(0, n_classes, (n,), generator=generator)
    class_weight = sample_weight = None
    if weights in ("class", "both"):
        class_weight = torch.rand(n_classes, dtype=torch.float64, generator=generator)
    if weights in ("sample", "both"):
        sample_weight = torch.rand(n, dtype=torch.float64, generator=generator)
    criterion = loss_class(COUNTS[:n_classes], weight=class_weight, reduction=reduction)
    expected = criterion(logits, target, sample_weight=sample_weight)
    (expected_grad,) = torch.autograd.grad(expected, logits)

    loss, (grad,) = criterion.value_and_grad(
        logits.detach(), target, sample_weight=sample_weight
    )
    assert grad.shape == logits.shape
    np.testing.assert_allclose(float(loss), float(expected.detach()), rtol=1e-12)
    np.testing.assert_allclose(
        grad.numpy(), expected_grad.numpy(), rtol=1e-10, atol=1e-14
    )


@pytest.mark.parametrize("n_classes", [3, 20])
def test_float32_is_close_to_the_float64_result(n_classes):
    generator = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(64, n_classes, dtype=torch.float64, generator=generator)
    target = torch.randint(0, n_classes, (64,), generator=generator)
    criterion = LDAMLoss(COUNTS[:n_classes])
    loss64, (grad64,) = criterion.value_and_grad(logits, target)
    loss32, (grad32,) = criterion.value_and_grad(logits.float(), target)
    assert grad32.dtype == torch.float32 and loss32.dtype == torch.float32
    np.testing.assert_allclose(float(loss32), float(loss64), rtol=1e-5)
    np.testing.assert_allclose(grad32.numpy(), grad64.numpy(), atol=1e-6)


def test_transposed_view_input_gives_the_same_result():
    generator = torch.Generator().manual_seed(1)
    columns = torch.randn(4, 30, dtype=torch.float64, generator=generator)
    target = torch.randint(0, 4, (30,), generator=generator)
    a = softmax_ce_value_and_grad(columns.t(), target)
    b = softmax_ce_value_and_grad(columns.t().contiguous(), target)
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=0)


def test_all_zero_sample_weights_give_zero_loss_and_gradient():
    logits = torch.randn(6, 3, dtype=torch.float64)
    loss, grad = softmax_ce_value_and_grad(
        logits, torch.tensor([0, 1, 2, 0, 1, 2]), sample_weight=torch.zeros(6)
    )
    assert float(loss) == 0.0
    assert not grad.any()


def test_inputs_without_a_closed_form_answer_none():
    logits = torch.randn(5, 3, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 0, 1])
    embeddings = torch.randn(5, 4, dtype=torch.float64)
    # Focal has its closed form (test_losses_protocol.py checks its values),
    # except for reduction "none" and half precision, like the others.
    assert FocalLoss(COUNTS[:3]).value_and_grad(logits, target) is not None
    assert (
        FocalLoss(COUNTS[:3], reduction="none").value_and_grad(logits, target) is None
    )
    assert FocalLoss(COUNTS[:3]).value_and_grad(logits.half(), target) is None
    none = LogitAdjustedLoss(COUNTS[:3], reduction="none")
    assert none.value_and_grad(logits, target) is None
    half = LDAMLoss(COUNTS[:3]).value_and_grad(logits.half(), target)
    assert half is None
    # ELM has one, with embeddings (test_losses.py checks its values).
    assert ELMLoss(COUNTS[:3]).value_and_grad(logits, target, embeddings) is not None


def test_closed_form_without_counts_is_a_clear_error():
    with pytest.raises(RuntimeError, match="has no class_counts"):
        LogitAdjustedLoss().value_and_grad(torch.zeros(2, 3), torch.tensor([0, 1]))
    # Cross-entropy does not need them.
    loss, _ = CrossEntropyLoss().value_and_grad(torch.zeros(2, 3), torch.tensor([0, 1]))
    assert float(loss) == pytest.approx(math.log(3.0))


def _assert_matches_autograd(criterion, logits, target):
    logits = logits.detach().requires_grad_()
    expected = criterion(logits, target)
    (expected_grad,) = torch.autograd.grad(expected, logits)
    loss, (grad,) = criterion.value_and_grad(logits.detach(), target)
    np.testing.assert_allclose(float(loss), float(expected.detach()), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), rtol=1e-10)


def test_closed_form_follows_replaced_class_weights():
    criterion = LogitAdjustedLoss(COUNTS[:4])
    logits = torch.randn(10, 4, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 0])
    for weight in (None, torch.tensor([1.0, 2.0, 3.0, 4.0]), None):
        criterion.set_weight(weight)  # what deferred re-weighting does
        _assert_matches_autograd(criterion, logits, target)


def test_closed_form_follows_changed_terms():
    # The converted terms are kept between calls: a changed hyper-parameter,
    # new buffers or buffers changed in place must not give stale results.
    logits = torch.randn(10, 4, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 0])
    criterion = LDAMLoss(COUNTS[:4])
    first, _ = criterion.value_and_grad(logits, target)
    criterion.scale = 10.0
    _assert_matches_autograd(criterion, logits, target)
    assert float(criterion.value_and_grad(logits, target)[0]) != float(first)
    other = LDAMLoss(COUNTS[4:8], max_margin=0.3)
    criterion.load_state_dict(other.state_dict())  # copies in place
    _assert_matches_autograd(criterion, logits, target)
    vs = VSLoss(COUNTS[:4])
    vs.value_and_grad(logits, target)
    vs.additive = vs.additive * 2.0
    _assert_matches_autograd(vs, logits, target)
