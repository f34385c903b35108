"""Tests for sklearn_lt.losses.

Every expected value is rebuilt independently of the code under test: from a
hand computation written as a literal (with the arithmetic in a comment), from
a formula evaluated in numpy / plain Python, or from torch primitives on a
different code path (``F.cross_entropy`` on adjusted logits).
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_lt.losses import (
    LOSSES,
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    ELMLoss,
    FocalLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
    balanced_softmax_loss,
    cross_entropy_loss,
    elm_loss,
    focal_loss,
    get_loss_class,
    ldam_loss,
    ldam_margins,
    log_prior,
    logit_adjusted_loss,
    supervised_contrastive_margin_loss,
    vs_loss,
)

COUNTS = [50, 10, 2]


# --------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------
def _random_problem(n_samples=6, n_classes=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_samples, n_classes, generator=gen, dtype=dtype)
    target = torch.arange(n_samples) % n_classes
    return logits, target


def _ref_margins(counts, max_margin):
    """LDAM margins C / n_k^(1/4) with the largest equal to max_margin (numpy)."""
    raw = np.asarray(counts, dtype=np.float64) ** -0.25
    return max_margin * raw / raw.max()


def _ref_log_prior(counts):
    counts = np.asarray(counts, dtype=np.float64)
    return np.log(counts / counts.sum())


def _ref_vs_terms(counts, gamma, tau):
    counts = np.asarray(counts, dtype=np.float64)
    return (counts / counts.max()) ** gamma, tau * _ref_log_prior(counts)


def _t(array, like):
    return torch.as_tensor(np.asarray(array), dtype=like.dtype)


def _ref_ce(logits, target, **kw):
    return F.cross_entropy(logits, target, reduction="none", **kw)


def _ref_ldam(logits, target, counts, max_margin=0.5, scale=30.0):
    margins = _t(_ref_margins(counts, max_margin), logits)
    one_hot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
    return _ref_ce(scale * (logits - margins[target, None] * one_hot), target)


def _ref_logit_adjusted(logits, target, counts, tau=1.0):
    return _ref_ce(logits + tau * _t(_ref_log_prior(counts), logits), target)


def _ref_vs(logits, target, counts, gamma=0.2, tau=1.0):
    multiplicative, additive = _ref_vs_terms(counts, gamma, tau)
    return _ref_ce(_t(multiplicative, logits) * logits + _t(additive, logits), target)


def _ref_focal(logits, target, gamma=2.0):
    ce = _ref_ce(logits, target)
    p = torch.exp(-ce)
    return (1 - p) ** gamma * ce


def _ref_supcon(embeddings, labels, rho, temperature):
    """Margin SupCon per anchor with explicit loops over anchors / pairs.

    Returns (per-anchor losses, has-positive flags) as Python lists.
    """
    z = []
    for row in np.asarray(embeddings, dtype=np.float64).tolist():
        norm = math.sqrt(sum(c * c for c in row))
        z.append([c / norm for c in row])
    labels = [int(v) for v in labels]

    def sim(i, j):
        return sum(a * b for a, b in zip(z[i], z[j]))

    losses, has_positive = [], []
    for i in range(len(z)):
        positives = [j for j in range(len(z)) if j != i and labels[j] == labels[i]]
        negatives = [j for j in range(len(z)) if labels[j] != labels[i]]
        if not positives:
            losses.append(0.0)
            has_positive.append(False)
            continue
        r = rho[labels[i]]
        denominator = sum(math.exp((sim(i, a) - r) / temperature) for a in positives)
        denominator += sum(math.exp(sim(i, a) / temperature) for a in negatives)
        total = 0.0
        for p in positives:
            total += math.log(math.exp((sim(i, p) - r) / temperature) / denominator)
        losses.append(-total / len(positives))
        has_positive.append(True)
    return losses, has_positive


def _weighted_mean(values, weights):
    num = sum(v * w for v, w in zip(values, weights))
    den = sum(weights)
    return num / den if den > 0 else 0.0


# --------------------------------------------------------------------------
# Hand-computed values on tiny inputs
# --------------------------------------------------------------------------
def test_cross_entropy_hand_computed_two_classes():
    # CE([-0.05, 0.1], y=0) = 0.05 + log(e^-0.05 + e^0.1)
    expected = 0.05 + math.log(math.exp(-0.05) + math.exp(0.1))
    out = cross_entropy_loss(
        torch.tensor([[-0.05, 0.1]], dtype=torch.float64), torch.tensor([0])
    )
    assert out.item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_hand_computed_three_classes_two_rows():
    # Row 0: logits [1, 2, 3], y=2 -> -3 + log(e + e^2 + e^3)
    # Row 1: logits [0, 0, 0], y=1 -> log 3
    row0 = -3 + math.log(math.e + math.e**2 + math.e**3)
    row1 = math.log(3)
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    out = cross_entropy_loss(logits, torch.tensor([2, 1]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [row0, row1], rtol=1e-12)


def test_ldam_margins_hand_computed():
    # n^(-1/4): 16 -> 1/2, 1 -> 1; scaled so that the largest is 0.5.
    np.testing.assert_allclose(ldam_margins([16, 1], 0.5).numpy(), [0.25, 0.5])
    # 81 -> 1/3, 16 -> 1/2, 1 -> 1 with max_margin 1.
    np.testing.assert_allclose(
        ldam_margins([81, 16, 1], 1.0).numpy(), [1 / 3, 1 / 2, 1.0], rtol=1e-12
    )


def test_log_prior_hand_computed():
    # priors 1/4, 3/4
    np.testing.assert_allclose(
        log_prior([1, 3]).numpy(), [math.log(0.25), math.log(0.75)], rtol=1e-12
    )


def test_ldam_loss_hand_computed():
    # counts [16, 1] -> margins [0.25, 0.5].
    # Row 0: logits [0.2, 0.1], y=0 -> adjusted [-0.05, 0.1];
    #   scale 2 -> [-0.1, 0.2], loss 0.1 + log(e^-0.1 + e^0.2).
    # Row 1: logits [0.3, 0.4], y=1 -> adjusted [0.3, -0.1];
    #   scale 2 -> [0.6, -0.2], loss 0.2 + log(e^0.6 + e^-0.2).
    row0 = 0.1 + math.log(math.exp(-0.1) + math.exp(0.2))
    row1 = 0.2 + math.log(math.exp(0.6) + math.exp(-0.2))
    logits = torch.tensor([[0.2, 0.1], [0.3, 0.4]], dtype=torch.float64)
    out = ldam_loss(logits, torch.tensor([0, 1]), [16, 1], 0.5, 2.0, reduction="none")
    np.testing.assert_allclose(out.numpy(), [row0, row1], rtol=1e-12)
    # With scale 1, row 0 is the CE of [-0.05, 0.1] with target 0.
    single = ldam_loss(logits[:1], torch.tensor([0]), [16, 1], scale=1.0)
    expected = 0.05 + math.log(math.exp(-0.05) + math.exp(0.1))
    assert single.item() == pytest.approx(expected, rel=1e-12)


def test_logit_adjusted_loss_hand_computed():
    # counts [3, 1] -> priors [3/4, 1/4]; zero logits.
    # tau=1, y=1: -log(1/4) + log(3/4 + 1/4) = log 4;  y=0: log(4/3).
    # tau=2, y=1: -2 log(1/4) + log(9/16 + 1/16) = log 16 + log(5/8) = log 10.
    logits = torch.zeros(2, 2, dtype=torch.float64)
    out = logit_adjusted_loss(logits, torch.tensor([1, 0]), [3, 1], reduction="none")
    np.testing.assert_allclose(out.numpy(), [math.log(4), math.log(4 / 3)])
    out = logit_adjusted_loss(logits[:1], torch.tensor([1]), [3, 1], tau=2.0)
    assert out.item() == pytest.approx(math.log(10), rel=1e-12)


def test_balanced_softmax_loss_hand_computed():
    # counts [1, 2, 1] -> priors [1/4, 1/2, 1/4]; zero logits, y=0:
    # -log(1/4) + log(1) = log 4.
    out = balanced_softmax_loss(
        torch.zeros(1, 3, dtype=torch.float64), torch.tensor([0]), [1, 2, 1]
    )
    assert out.item() == pytest.approx(math.log(4), rel=1e-12)


def test_vs_loss_hand_computed():
    # counts [4, 1], gamma 0.5, tau 1: Delta = [1, (1/4)^0.5] = [1, 0.5],
    # iota = [log 0.8, log 0.2]. Logits [1, 2], y=1:
    # z = [1 + log 0.8, 1 + log 0.2] -> -(1 + log 0.2) + log(e * (0.8 + 0.2)) = log 5.
    logits = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    out = vs_loss(logits, torch.tensor([1]), [4, 1], gamma=0.5, tau=1.0)
    assert out.item() == pytest.approx(math.log(5), rel=1e-12)


def test_focal_loss_hand_computed():
    # logits [0, log 3] -> p = [1/4, 3/4]; gamma 2.
    # y=0: -(3/4)^2 log(1/4) = (9/16) log 4;  y=1: -(1/4)^2 log(3/4) = log(4/3)/16.
    logits = torch.tensor([[0.0, math.log(3)]] * 2, dtype=torch.float64)
    out = focal_loss(logits, torch.tensor([0, 1]), gamma=2.0, reduction="none")
    np.testing.assert_allclose(
        out.numpy(), [9 / 16 * math.log(4), math.log(4 / 3) / 16], rtol=1e-12
    )


def test_supervised_contrastive_margin_loss_hand_computed_three_points():
    # z0 = z1 = (1, 0) (class 0), z2 = (-1, 0) (class 1); equal counts -> rho =
    # embedding_margin = 0.5 for both classes; T = 1.
    # Anchor 0: positive 1 (s = 1), negative 2 (s = -1):
    #   -log(e^(1 - 0.5) / (e^(1 - 0.5) + e^-1)) = log(1 + e^(-1.5)); anchor 1 same.
    # Anchor 2 has no positive and is left out of the mean.
    embeddings = torch.tensor(
        [[2.0, 0.0], [1.0, 0.0], [-3.0, 0.0]], dtype=torch.float64
    )
    out = supervised_contrastive_margin_loss(
        embeddings, torch.tensor([0, 0, 1]), [5, 5], temperature=1.0
    )
    assert out.item() == pytest.approx(math.log(1 + math.exp(-1.5)), rel=1e-12)


def test_supervised_contrastive_margin_loss_matches_loop_reference():
    embeddings = torch.tensor(
        [[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-1.0, 2.0], [1.0, -1.0]],
        dtype=torch.float64,
    )
    labels = torch.tensor([0, 0, 1, 1, 2])
    counts = [16, 1, 81]
    # n^(-1/4) = [1/2, 1, 1/3]; embedding_margin 0.5 -> rho = [1/4, 1/2, 1/6].
    rho = [0.25, 0.5, 1 / 6]
    per_anchor, has_positive = _ref_supcon(embeddings, labels, rho, 0.2)
    out = supervised_contrastive_margin_loss(
        embeddings, labels, counts, temperature=0.2, embedding_margin=0.5
    )
    assert out.item() == pytest.approx(
        _weighted_mean(per_anchor, [float(h) for h in has_positive]), rel=1e-12
    )
    none = supervised_contrastive_margin_loss(
        embeddings, labels, counts, 0.2, 0.5, reduction="none"
    )
    np.testing.assert_allclose(none.numpy(), per_anchor, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------
# References built from torch primitives on a different code path
# --------------------------------------------------------------------------
@pytest.mark.parametrize("max_margin", [0.0, 0.3, 0.5])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_ldam_loss_equals_cross_entropy_of_scaled_margin_logits(max_margin, scale):
    logits, target = _random_problem()
    out = ldam_loss(logits, target, COUNTS, max_margin, scale)
    expected = _ref_ldam(logits, target, COUNTS, max_margin, scale).mean()
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 2.0, -1.0])
def test_logit_adjusted_loss_equals_cross_entropy_of_shifted_logits(tau):
    logits, target = _random_problem()
    out = logit_adjusted_loss(logits, target, COUNTS, tau)
    prior = torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    expected = F.cross_entropy(logits + tau * torch.log(prior), target)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(("gamma", "tau"), [(0.2, 1.0), (0.5, 0.0), (1.0, 2.0)])
def test_vs_loss_equals_cross_entropy_of_scaled_shifted_logits(gamma, tau):
    logits, target = _random_problem()
    out = vs_loss(logits, target, COUNTS, gamma, tau)
    counts = torch.tensor(COUNTS, dtype=torch.float64)
    multiplicative = (counts / counts.max()) ** gamma
    additive = tau * torch.log(counts / counts.sum())
    expected = F.cross_entropy(multiplicative * logits + additive, target)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 5.0])
def test_focal_loss_equals_modulated_cross_entropy(gamma):
    logits, target = _random_problem()
    out = focal_loss(logits, target, gamma)
    p = F.softmax(logits, dim=1)[torch.arange(len(target)), target]
    expected = (-((1 - p) ** gamma) * torch.log(p)).mean()
    torch.testing.assert_close(out, expected)


def test_weighted_cross_entropy_equals_torch_weighted_cross_entropy():
    logits, target = _random_problem()
    weight = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            cross_entropy_loss(logits, target, weight, reduction=reduction),
            F.cross_entropy(logits, target, weight=weight, reduction=reduction),
        )


def test_weighted_ldam_loss_equals_torch_weighted_cross_entropy_of_margin_logits():
    logits, target = _random_problem()
    weight = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)
    margins = torch.as_tensor(_ref_margins(COUNTS, 0.5))
    adjusted = 30.0 * (logits - F.one_hot(target, 3) * margins[target, None])
    torch.testing.assert_close(
        ldam_loss(logits, target, COUNTS, weight=weight),
        F.cross_entropy(adjusted, target, weight=weight),
    )


# --------------------------------------------------------------------------
# Closed-form gradients vs autograd, and gradcheck
# --------------------------------------------------------------------------
def _softmax_np(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _grad_ce(f, y):
    return _softmax_np(f) - np.eye(f.shape[1])[y]


def _grad_ldam(f, y, counts=COUNTS, max_margin=0.5, scale=30.0):
    onehot = np.eye(f.shape[1])[y]
    margins = _ref_margins(counts, max_margin)
    adjusted = f - onehot * margins[y][:, None]
    return scale * (_softmax_np(scale * adjusted) - onehot)


def _grad_logit_adjusted(f, y, counts=COUNTS, tau=1.0):
    return _softmax_np(f + tau * _ref_log_prior(counts)) - np.eye(f.shape[1])[y]


def _grad_vs(f, y, counts=COUNTS, gamma=0.2, tau=1.0):
    multiplicative, additive = _ref_vs_terms(counts, gamma, tau)
    onehot = np.eye(f.shape[1])[y]
    return multiplicative * (_softmax_np(multiplicative * f + additive) - onehot)


def _grad_focal(f, y, gamma=2.0):
    # d/df_k -(1-p)^g log p = [g (1-p)^(g-1) p log p - (1-p)^g] (delta_ky - p_k)
    p_all = _softmax_np(f)
    p = p_all[np.arange(len(y)), y][:, None]
    factor = gamma * (1 - p) ** (gamma - 1) * p * np.log(p) - (1 - p) ** gamma
    return factor * (np.eye(f.shape[1])[y] - p_all)


GRADIENT_CASES = [
    ("ce", lambda x, y: cross_entropy_loss(x, y), _grad_ce),
    ("ldam", lambda x, y: ldam_loss(x, y, COUNTS), _grad_ldam),
    (
        "ldam_scale_2",
        lambda x, y: ldam_loss(x, y, COUNTS, 0.3, 2.0),
        lambda f, y: _grad_ldam(f, y, max_margin=0.3, scale=2.0),
    ),
    (
        "logit_adjusted",
        lambda x, y: logit_adjusted_loss(x, y, COUNTS),
        _grad_logit_adjusted,
    ),
    (
        "logit_adjusted_tau_2",
        lambda x, y: logit_adjusted_loss(x, y, COUNTS, tau=2.0),
        lambda f, y: _grad_logit_adjusted(f, y, tau=2.0),
    ),
    (
        "balanced_softmax",
        lambda x, y: balanced_softmax_loss(x, y, COUNTS),
        _grad_logit_adjusted,
    ),
    ("vs", lambda x, y: vs_loss(x, y, COUNTS), _grad_vs),
    (
        "vs_gamma_1_tau_half",
        lambda x, y: vs_loss(x, y, COUNTS, gamma=1.0, tau=0.5),
        lambda f, y: _grad_vs(f, y, gamma=1.0, tau=0.5),
    ),
    ("focal", lambda x, y: focal_loss(x, y), _grad_focal),
    (
        "focal_gamma_half",
        lambda x, y: focal_loss(x, y, gamma=0.5),
        lambda f, y: _grad_focal(f, y, gamma=0.5),
    ),
]


@pytest.mark.parametrize(
    ("loss_fn", "closed_form"),
    [case[1:] for case in GRADIENT_CASES],
    ids=[case[0] for case in GRADIENT_CASES],
)
def test_autograd_gradient_matches_closed_form(loss_fn, closed_form):
    logits, target = _random_problem(n_samples=7, seed=3)
    logits.requires_grad_(True)
    loss_fn(logits, target).backward()
    expected = closed_form(logits.detach().numpy(), target.numpy()) / len(target)
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_weighted_mean_gradient_matches_closed_form():
    # d/df (sum_i v_i l_i / sum_i v_i) = v_i (softmax(f_i) - e_{y_i}) / sum v
    logits, target = _random_problem(n_samples=5, seed=4)
    logits.requires_grad_(True)
    weight = np.array([0.5, 2.0, 1.0])
    sample_weight = np.array([1.0, 0.0, 3.0, 0.5, 2.0])
    cross_entropy_loss(
        logits,
        target,
        torch.as_tensor(weight),
        sample_weight=torch.as_tensor(sample_weight),
    ).backward()
    v = weight[target.numpy()] * sample_weight
    expected = v[:, None] * _grad_ce(logits.detach().numpy(), target.numpy()) / v.sum()
    np.testing.assert_allclose(logits.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


GRADCHECK_CASES = {
    "ce": lambda x, y: cross_entropy_loss(x, y),
    "ce_weighted_sum": lambda x, y: cross_entropy_loss(
        x, y, torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), reduction="sum"
    ),
    "ldam": lambda x, y: ldam_loss(x, y, COUNTS, scale=5.0),
    "logit_adjusted": lambda x, y: logit_adjusted_loss(x, y, COUNTS, tau=1.5),
    "balanced_softmax": lambda x, y: balanced_softmax_loss(x, y, COUNTS),
    "vs": lambda x, y: vs_loss(x, y, COUNTS, gamma=0.3, tau=0.7),
    "focal": lambda x, y: focal_loss(x, y, gamma=2.0),
    "focal_gamma_half": lambda x, y: focal_loss(x, y, gamma=0.5),
    "focal_none": lambda x, y: focal_loss(x, y, reduction="none"),
}


@pytest.mark.parametrize("name", list(GRADCHECK_CASES))
def test_gradcheck_float64_logit_losses(name):
    logits, target = _random_problem(n_samples=5, seed=5)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: GRADCHECK_CASES[name](x, target), (logits,)
    )


def _embedding_problem(seed=6, n_samples=6, n_dims=3):
    gen = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(n_samples, n_dims, generator=gen, dtype=torch.float64)
    logits = torch.randn(n_samples, 3, generator=gen, dtype=torch.float64)
    target = torch.tensor([0, 0, 1, 1, 0, 2])[:n_samples]
    return logits, embeddings, target


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64_supervised_contrastive_margin_loss(reduction):
    _, embeddings, target = _embedding_problem()
    embeddings.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda e: supervised_contrastive_margin_loss(
            e, target, COUNTS, temperature=0.5, reduction=reduction
        ),
        (embeddings,),
    )


@pytest.mark.parametrize("logit_loss", ["logit_adjusted", "ldam"])
def test_gradcheck_float64_elm_loss_wrt_logits_and_embeddings(logit_loss):
    logits, embeddings, target = _embedding_problem()
    logits.requires_grad_(True)
    embeddings.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda f, e: elm_loss(
            f,
            e,
            target,
            COUNTS,
            logit_loss=logit_loss,
            scale=5.0,
            temperature=0.5,
            embedding_weight=0.7,
        ),
        (logits, embeddings),
    )


# --------------------------------------------------------------------------
# Limits and reductions to other losses
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_ldam_loss_with_zero_max_margin_equals_cross_entropy_of_scaled_logits(scale):
    logits, target = _random_problem()
    torch.testing.assert_close(
        ldam_loss(logits, target, COUNTS, max_margin=0.0, scale=scale),
        F.cross_entropy(scale * logits, target),
    )


def test_logit_adjusted_loss_with_zero_tau_equals_cross_entropy():
    logits, target = _random_problem()
    torch.testing.assert_close(
        logit_adjusted_loss(logits, target, COUNTS, tau=0.0),
        F.cross_entropy(logits, target),
    )


@pytest.mark.parametrize("tau", [0.5, 1.0, 3.0])
def test_logit_adjusted_loss_with_uniform_counts_equals_cross_entropy(tau):
    logits, target = _random_problem()
    torch.testing.assert_close(
        logit_adjusted_loss(logits, target, [7, 7, 7], tau=tau),
        F.cross_entropy(logits, target),
    )


def test_balanced_softmax_loss_with_uniform_counts_equals_cross_entropy():
    logits, target = _random_problem()
    torch.testing.assert_close(
        balanced_softmax_loss(logits, target, [4, 4, 4]),
        F.cross_entropy(logits, target),
    )


@pytest.mark.parametrize(("gamma", "tau"), [(0.2, 1.0), (1.0, 2.0), (0.0, 0.0)])
def test_vs_loss_with_uniform_counts_equals_cross_entropy(gamma, tau):
    logits, target = _random_problem()
    torch.testing.assert_close(
        vs_loss(logits, target, [9, 9, 9], gamma=gamma, tau=tau),
        F.cross_entropy(logits, target),
    )


def test_ldam_loss_with_uniform_counts_subtracts_constant_margin_from_target():
    # Equal counts do not remove LDAM's margin: every class gets max_margin.
    logits, target = _random_problem()
    onehot = F.one_hot(target, 3).to(logits.dtype)
    torch.testing.assert_close(
        ldam_loss(logits, target, [5, 5, 5], max_margin=0.4, scale=10.0),
        F.cross_entropy(10.0 * (logits - 0.4 * onehot), target),
    )


def test_focal_loss_with_zero_gamma_equals_cross_entropy():
    logits, target = _random_problem()
    weight = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    torch.testing.assert_close(
        focal_loss(logits, target, gamma=0.0, weight=weight),
        F.cross_entropy(logits, target, weight=weight),
    )


def test_balanced_softmax_loss_equals_logit_adjusted_loss_with_unit_tau():
    logits, target = _random_problem()
    torch.testing.assert_close(
        balanced_softmax_loss(logits, target, COUNTS),
        logit_adjusted_loss(logits, target, COUNTS, tau=1.0),
    )
    torch.testing.assert_close(
        balanced_softmax_loss(logits, target, COUNTS),
        _ref_logit_adjusted(logits, target, COUNTS, tau=1.0).mean(),
    )


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 2.0])
def test_vs_loss_with_zero_gamma_equals_logit_adjusted_loss_with_same_tau(tau):
    logits, target = _random_problem()
    out = vs_loss(logits, target, COUNTS, gamma=0.0, tau=tau)
    torch.testing.assert_close(out, logit_adjusted_loss(logits, target, COUNTS, tau))
    torch.testing.assert_close(
        out, _ref_logit_adjusted(logits, target, COUNTS, tau).mean()
    )


def test_vs_loss_with_zero_gamma_and_zero_tau_equals_cross_entropy():
    logits, target = _random_problem()
    torch.testing.assert_close(
        vs_loss(logits, target, COUNTS, gamma=0.0, tau=0.0),
        F.cross_entropy(logits, target),
    )


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_logit_adjusted_loss_equals_pairwise_margin_form_tau_log_prior_ratio(tau):
    # Menon et al. (2021): CE(f + tau log pi, y)
    #   = log(1 + sum_{k != y} exp(f_k - f_y + tau log(pi_k / pi_y))),
    # i.e. a pairwise margin tau log(pi_y / pi_k) that class y must win by.
    logits, target = _random_problem(n_samples=5, seed=8)
    prior = np.asarray(COUNTS, dtype=np.float64) / sum(COUNTS)
    f = logits.numpy()
    expected = []
    for i, y in enumerate(target.tolist()):
        total = 1.0
        for k in range(f.shape[1]):
            if k != y:
                total += math.exp(
                    f[i, k] - f[i, y] + tau * math.log(prior[k] / prior[y])
                )
        expected.append(math.log(total))
    out = logit_adjusted_loss(logits, target, COUNTS, tau, reduction="none")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_ldam_loss_equals_pairwise_margin_form_with_target_only_margin():
    # CE(s (f - Delta_y e_y), y) = log(1 + sum_{k != y} exp(s (f_k - f_y + Delta_y))):
    # the same margin Delta_y against every other class k.
    logits, target = _random_problem(n_samples=5, seed=9)
    margins = _ref_margins(COUNTS, 0.5)
    f = logits.numpy()
    scale = 3.0
    expected = []
    for i, y in enumerate(target.tolist()):
        total = 1.0
        for k in range(f.shape[1]):
            if k != y:
                total += math.exp(scale * (f[i, k] - f[i, y] + margins[y]))
        expected.append(math.log(total))
    out = ldam_loss(logits, target, COUNTS, 0.5, scale, reduction="none")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_vs_additive_offset_in_binary_case_equals_ldam_style_target_margin(tau):
    # With two classes an additive offset iota on all logits only matters
    # through iota_y - iota_other, so VS (gamma = 0) equals CE with an
    # LDAM-style margin subtracted from the target logit only:
    #   Delta_y = tau * log(pi_other / pi_y)
    # (positive for the rare class, negative for the frequent one).
    counts = [30, 3]
    prior = [c / sum(counts) for c in counts]
    target_margins = torch.tensor(
        [tau * math.log(prior[1] / prior[0]), tau * math.log(prior[0] / prior[1])],
        dtype=torch.float64,
    )
    logits, _ = _random_problem(n_samples=6, n_classes=2, seed=10)
    target = torch.tensor([0, 1, 1, 0, 1, 0])
    onehot = F.one_hot(target, 2).to(logits.dtype)
    expected = F.cross_entropy(logits - onehot * target_margins[target, None], target)
    torch.testing.assert_close(
        vs_loss(logits, target, counts, gamma=0.0, tau=tau), expected
    )


@pytest.mark.parametrize("gamma", [0.3, 1.0])
def test_vs_loss_equals_pairwise_form_with_multiplicative_and_additive_terms(gamma):
    # CE(Delta f + iota, y) = log(1 + sum_{k != y} exp(Delta_k f_k + iota_k
    #                                                   - Delta_y f_y - iota_y))
    counts = [40, 8, 1]
    tau = 0.8
    n_max = max(counts)
    prior = [c / sum(counts) for c in counts]
    delta = [(c / n_max) ** gamma for c in counts]
    iota = [tau * math.log(p) for p in prior]
    logits, target = _random_problem(n_samples=5, seed=11)
    f = logits.numpy()
    expected = []
    for i, y in enumerate(target.tolist()):
        total = 1.0
        for k in range(3):
            if k != y:
                total += math.exp(
                    delta[k] * f[i, k] + iota[k] - delta[y] * f[i, y] - iota[y]
                )
        expected.append(math.log(total))
    out = vs_loss(logits, target, counts, gamma, tau, reduction="none")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_ldam_loss_gives_rare_class_larger_margin():
    # Same logits row, once labelled with the frequent and once with the rare
    # class (symmetric logits): the rare target pays the larger margin.
    logits = torch.tensor([[0.1, 0.1], [0.1, 0.1]], dtype=torch.float64)
    out = ldam_loss(logits, torch.tensor([0, 1]), [100, 1], reduction="none")
    assert out[1] > out[0]


# --------------------------------------------------------------------------
# Reductions and weights
# --------------------------------------------------------------------------
REDUCTION_CASES = {
    "ce": (lambda x, y, **kw: cross_entropy_loss(x, y, **kw), _ref_ce),
    "ldam": (
        lambda x, y, **kw: ldam_loss(x, y, COUNTS, 0.5, 5.0, **kw),
        lambda x, y: _ref_ldam(x, y, COUNTS, 0.5, 5.0),
    ),
    "logit_adjusted": (
        lambda x, y, **kw: logit_adjusted_loss(x, y, COUNTS, 1.5, **kw),
        lambda x, y: _ref_logit_adjusted(x, y, COUNTS, 1.5),
    ),
    "balanced_softmax": (
        lambda x, y, **kw: balanced_softmax_loss(x, y, COUNTS, **kw),
        lambda x, y: _ref_logit_adjusted(x, y, COUNTS, 1.0),
    ),
    "vs": (
        lambda x, y, **kw: vs_loss(x, y, COUNTS, 0.3, 0.7, **kw),
        lambda x, y: _ref_vs(x, y, COUNTS, 0.3, 0.7),
    ),
    "focal": (
        lambda x, y, **kw: focal_loss(x, y, 1.5, **kw),
        lambda x, y: _ref_focal(x, y, 1.5),
    ),
}
WEIGHT = [0.5, 2.0, 1.0]
SAMPLE_WEIGHT = [1.0, 0.0, 3.0, 0.5, 2.0, 1.5]


@pytest.mark.parametrize("name", list(REDUCTION_CASES))
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("use_sample_weight", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reduction_follows_weighted_convention(
    name, use_weight, use_sample_weight, reduction
):
    # v_i = w[y_i] * s_i; "none": v_i l_i; "sum": sum v_i l_i;
    # "mean": sum v_i l_i / sum v_i.
    loss_fn, reference = REDUCTION_CASES[name]
    logits, target = _random_problem(n_samples=6, seed=12)
    per_example = reference(logits, target).numpy()
    v = np.ones(len(target))
    kwargs = {"reduction": reduction}
    if use_weight:
        v = v * np.asarray(WEIGHT)[target.numpy()]
        kwargs["weight"] = torch.tensor(WEIGHT, dtype=torch.float64)
    if use_sample_weight:
        v = v * np.asarray(SAMPLE_WEIGHT)
        kwargs["sample_weight"] = torch.tensor(SAMPLE_WEIGHT, dtype=torch.float64)
    expected = {
        "none": v * per_example,
        "sum": np.sum(v * per_example),
        "mean": np.sum(v * per_example) / np.sum(v),
    }[reduction]
    out = loss_fn(logits, target, **kwargs)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(REDUCTION_CASES))
def test_weights_accept_lists_and_float32_logits(name):
    loss_fn, reference = REDUCTION_CASES[name]
    logits, target = _random_problem(n_samples=6, seed=13, dtype=torch.float32)
    out = loss_fn(logits, target, weight=WEIGHT, sample_weight=SAMPLE_WEIGHT)
    assert out.dtype == torch.float32
    v = torch.tensor(WEIGHT)[target] * torch.tensor(SAMPLE_WEIGHT)
    expected = (v * reference(logits, target)).sum() / v.sum()
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("name", list(REDUCTION_CASES))
def test_all_zero_sample_weights_give_zero_loss_not_nan(name):
    loss_fn, _ = REDUCTION_CASES[name]
    logits, target = _random_problem(n_samples=4, seed=14)
    logits.requires_grad_(True)
    out = loss_fn(logits, target, sample_weight=torch.zeros(4, dtype=torch.float64))
    assert out.item() == 0.0
    out.backward()
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad == 0).all()


@pytest.mark.parametrize("name", list(REDUCTION_CASES))
def test_unknown_reduction_raises_value_error(name):
    loss_fn, _ = REDUCTION_CASES[name]
    logits, target = _random_problem()
    with pytest.raises(ValueError, match="reduction"):
        loss_fn(logits, target, reduction="avg")


# --------------------------------------------------------------------------
# Embedding term and ELM
# --------------------------------------------------------------------------
def test_supervised_contrastive_margin_loss_with_zero_margin_equals_supcon():
    # SupCon (Khosla et al., "out" form) with explicit loops:
    #   l_i = -1/|P(i)| sum_p log(exp(s_ip/T) / sum_{a != i} exp(s_ia/T)).
    _, embeddings, target = _embedding_problem(seed=15)
    temperature = 0.3
    z = F.normalize(embeddings, dim=1).numpy()
    labels = target.tolist()
    expected = []
    for i in range(len(z)):
        positives = [j for j in range(len(z)) if j != i and labels[j] == labels[i]]
        if not positives:
            continue
        denominator = sum(
            math.exp(float(z[i] @ z[a]) / temperature) for a in range(len(z)) if a != i
        )
        expected.append(
            -sum(
                math.log(math.exp(float(z[i] @ z[p]) / temperature) / denominator)
                for p in positives
            )
            / len(positives)
        )
    out = supervised_contrastive_margin_loss(
        embeddings, target, COUNTS, temperature=temperature, embedding_margin=0.0
    )
    assert out.item() == pytest.approx(sum(expected) / len(expected), rel=1e-12)


def test_supcon_margin_loss_anchors_without_positive_contribute_nothing():
    _, embeddings, target = _embedding_problem(seed=16)
    # Class 2 appears once (index 5): it has no positive.
    none = supervised_contrastive_margin_loss(
        embeddings, target, COUNTS, reduction="none"
    )
    assert none[5].item() == 0.0
    full = supervised_contrastive_margin_loss(embeddings, target, COUNTS)
    # The mean runs over the five anchors with a positive.
    assert full.item() == pytest.approx(none.sum().item() / 5, rel=1e-12)


def _masked_supcon(embeddings, target, rho, temperature):
    """Margin SupCon per anchor from full n x n masked arrays and logsumexp,
    differentiated by autograd: a second code path for the loss and its
    gradient (the library writes its backward by hand)."""
    z = F.normalize(embeddings, dim=1)
    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    positive = (target.unsqueeze(0) == target.unsqueeze(1)) & ~eye
    margins = torch.as_tensor(rho, dtype=z.dtype)[target].unsqueeze(1)
    adjusted = (z @ z.T - margins * positive.to(z.dtype)) / temperature
    adjusted = adjusted.masked_fill(eye, float("-inf"))
    log_ratio = adjusted - torch.logsumexp(adjusted, dim=1, keepdim=True)
    log_ratio = log_ratio.masked_fill(~positive, 0.0)
    n_positive = positive.sum(dim=1)
    return -log_ratio.sum(dim=1) / n_positive.clamp_min(1), n_positive > 0


@pytest.mark.parametrize("temperature", [1.0, 0.1, 0.002])
@pytest.mark.parametrize("embedding_margin", [0.0, 0.5, 3.0])
def test_supcon_margin_loss_and_gradient_match_masked_reference(
    temperature, embedding_margin
):
    gen = torch.Generator().manual_seed(3)
    n, n_classes = 60, 9
    # Long-tailed labels with singletons (classes 7 and 8: no positive),
    # repeated rows (similarity exactly 1) and a zero row.
    target = torch.tensor(
        [0] * 20 + [1] * 14 + [2] * 9 + [3] * 7 + [4] * 4 + [5] * 2 + [6] * 2 + [7, 8]
    )[torch.randperm(n, generator=gen)]
    embeddings = torch.randn(n, 5, generator=gen, dtype=torch.float64)
    embeddings[1] = embeddings[0]
    embeddings[2] = 0.0
    counts = np.bincount(target.numpy(), minlength=n_classes)
    rho = (embedding_margin * ldam_margins(counts, 1.0)).tolist()
    weights = torch.rand(n, generator=gen, dtype=torch.float64)

    def both(fn):
        e = embeddings.clone().requires_grad_(True)
        per_anchor, has_positive = fn(e)
        (weights * per_anchor).sum().backward()
        return per_anchor.detach(), has_positive, e.grad

    ours = both(
        lambda e: (
            supervised_contrastive_margin_loss(
                e, target, counts, temperature, embedding_margin, reduction="none"
            ),
            None,
        )
    )
    ref = both(lambda e: _masked_supcon(e, target, rho, temperature))
    assert torch.isfinite(ours[0]).all() and torch.isfinite(ours[2]).all()
    torch.testing.assert_close(ours[0], ref[0] * ref[1], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours[2], ref[2], rtol=1e-8, atol=1e-8)


def test_gradcheck_float64_supcon_margin_function_on_unnormalised_rows():
    # The hand-written backward must be the gradient for any rows, not only
    # up to the component along each row that F.normalize projects away.
    from sklearn_lt.losses._elm import _SupConMargin

    gen = torch.Generator().manual_seed(11)
    z = torch.randn(9, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3])
    margins = torch.tensor([0.3, 0.3, 0.3, 0.7, 0.7, 1.0, 0.0, 0.0, 0.0])
    margins = margins.to(torch.float64)
    assert torch.autograd.gradcheck(
        lambda e: _SupConMargin.apply(e, target, margins, 1 / 0.7)[0], (z,)
    )
    # Same function as the masked reference on these rows (no normalisation).
    eye = torch.eye(9, dtype=torch.bool)
    positive = (target[:, None] == target[None, :]) & ~eye
    adjusted = (z @ z.T - margins[:, None] * positive) / 0.7
    adjusted = adjusted.masked_fill(eye, float("-inf"))
    log_ratio = (adjusted - torch.logsumexp(adjusted, 1, keepdim=True)).masked_fill(
        ~positive, 0.0
    )
    expected = -log_ratio.sum(1) / positive.sum(1).clamp_min(1)
    torch.testing.assert_close(
        _SupConMargin.apply(z, target, margins, 1 / 0.7)[0], expected
    )


def _supcon_problem(dtype):
    gen = torch.Generator().manual_seed(5)
    target = torch.tensor([0] * 12 + [1] * 6 + [2] * 3 + [3])
    embeddings = torch.randn(len(target), 8, generator=gen, dtype=torch.float64)
    counts = np.bincount(target.numpy())
    return embeddings.to(dtype), target, counts


def _supcon_value_and_grad(embeddings, target, counts, **kwargs):
    e = embeddings.clone().requires_grad_(True)
    loss = supervised_contrastive_margin_loss(
        e, target, counts, 0.1, 1.0, reduction="sum"
    )
    loss.backward()
    return loss.detach(), e.grad


def test_supcon_margin_float32_matches_float64_masked_reference():
    embeddings, target, counts = _supcon_problem(torch.float32)
    rho = ldam_margins(counts, 1.0).tolist()
    ours = _supcon_value_and_grad(embeddings, target, counts)
    e = embeddings.double().requires_grad_(True)
    per_anchor, _ = _masked_supcon(e, target, rho, 0.1)
    per_anchor.sum().backward()
    assert ours[0].dtype == torch.float32
    torch.testing.assert_close(
        ours[0].double(), per_anchor.detach().sum(), rtol=1e-5, atol=0
    )
    torch.testing.assert_close(ours[1].double(), e.grad, rtol=1e-4, atol=1e-5)


def test_supcon_margin_under_cpu_autocast_matches_full_precision():
    # Under autocast, matrix products would come back in bfloat16 while the
    # embeddings stay float32; the term must still run (forward and
    # backward) and give the full-precision answer.
    embeddings, target, counts = _supcon_problem(torch.float32)
    expected = _supcon_value_and_grad(embeddings, target, counts)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = _supcon_value_and_grad(embeddings, target, counts)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=0)
    torch.testing.assert_close(got[1], expected[1], rtol=1e-4, atol=1e-6)


def test_supcon_margin_refuses_double_backward():
    # The hand-written backward is not itself differentiable: asking for a
    # second derivative must fail loudly, not return a wrong Hessian.
    embeddings, target, counts = _supcon_problem(torch.float64)
    e = embeddings.requires_grad_(True)
    loss = supervised_contrastive_margin_loss(e, target, counts, 0.1, 1.0)
    (grad,) = torch.autograd.grad(loss, e, create_graph=True)
    first_order = _supcon_value_and_grad(embeddings.detach(), target, counts)[1]
    # (That helper sums; the loss above is the mean over the 21 anchors with a
    # positive.) The first derivative itself is unaffected.
    torch.testing.assert_close(grad * 21, first_order)
    with pytest.raises(RuntimeError, match="double backward"):
        grad.pow(2).sum().backward()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("n_samples", [1, 3])
def test_supervised_contrastive_margin_loss_without_positives_is_zero(
    reduction, n_samples
):
    embeddings = torch.randn(n_samples, 2, dtype=torch.float64, requires_grad=True)
    target = torch.arange(n_samples)
    out = supervised_contrastive_margin_loss(
        embeddings, target, [1, 2, 3], reduction=reduction
    )
    assert torch.equal(out.detach(), torch.zeros_like(out))
    out.sum().backward()
    assert torch.isfinite(embeddings.grad).all()


def test_supervised_contrastive_margin_loss_gives_rarer_class_larger_margin():
    # Point-symmetric geometry (z -> -z swaps the classes), so
    # without margins all four anchors have the same loss. With counts
    # [100, 1] class 1 gets the margin embedding_margin, class 0 a smaller one
    # (100^(-1/4) * embedding_margin), and the loss grows with the margin.
    angles = [0.0, 0.8, math.pi, math.pi + 0.8]
    embeddings = torch.tensor(
        [[math.cos(a), math.sin(a)] for a in angles], dtype=torch.float64
    )
    target = torch.tensor([0, 0, 1, 1])
    plain = supervised_contrastive_margin_loss(
        embeddings, target, [100, 1], 1.0, embedding_margin=0.0, reduction="none"
    )
    torch.testing.assert_close(plain, torch.full_like(plain, plain[0].item()))
    out = supervised_contrastive_margin_loss(
        embeddings, target, [100, 1], 1.0, embedding_margin=0.5, reduction="none"
    )
    assert out[2] > out[0]
    assert out[3] > out[1]
    rho = [0.5 * 100**-0.25, 0.5]
    expected, _ = _ref_supcon(embeddings, target, rho, 1.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_supervised_contrastive_margin_loss_weights_apply_to_anchors():
    _, embeddings, target = _embedding_problem(seed=17)
    counts = [10, 3, 1]
    rho = list(_ref_margins(counts, 0.5))
    per_anchor, has_positive = _ref_supcon(embeddings, target, rho, 0.1)
    weight = [2.0, 0.5, 4.0]
    sample_weight = [1.0, 2.0, 0.0, 1.0, 3.0, 5.0]
    v = [
        weight[y] * s * float(h)
        for y, s, h in zip(target.tolist(), sample_weight, has_positive)
    ]
    out = supervised_contrastive_margin_loss(
        embeddings,
        target,
        counts,
        weight=torch.tensor(weight),
        sample_weight=torch.tensor(sample_weight),
    )
    assert out.item() == pytest.approx(_weighted_mean(per_anchor, v), rel=1e-12)
    total = supervised_contrastive_margin_loss(
        embeddings,
        target,
        counts,
        weight=torch.tensor(weight),
        sample_weight=torch.tensor(sample_weight),
        reduction="sum",
    )
    expected_sum = sum(p * w for p, w in zip(per_anchor, v))
    assert total.item() == pytest.approx(expected_sum, rel=1e-12)


@pytest.mark.parametrize("embedding_weight", [0.0, 0.5, 2.0])
def test_elm_loss_equals_logit_adjusted_term_plus_weighted_embedding_term(
    embedding_weight,
):
    logits, embeddings, target = _embedding_problem(seed=18)
    out = elm_loss(
        logits,
        embeddings,
        target,
        COUNTS,
        tau=1.5,
        embedding_weight=embedding_weight,
        temperature=0.2,
        embedding_margin=0.4,
    )
    logit_term = _ref_logit_adjusted(logits, target, COUNTS, 1.5).mean().item()
    per_anchor, has_positive = _ref_supcon(
        embeddings, target, list(_ref_margins(COUNTS, 0.4)), 0.2
    )
    embedding_term = _weighted_mean(per_anchor, [float(h) for h in has_positive])
    assert out.item() == pytest.approx(
        logit_term + embedding_weight * embedding_term, rel=1e-12
    )


def test_elm_loss_with_ldam_logit_term():
    logits, embeddings, target = _embedding_problem(seed=19)
    out = elm_loss(
        logits,
        embeddings,
        target,
        COUNTS,
        logit_loss="ldam",
        max_margin=0.3,
        scale=4.0,
        embedding_weight=0.5,
    )
    logit_term = _ref_ldam(logits, target, COUNTS, 0.3, 4.0).mean().item()
    per_anchor, has_positive = _ref_supcon(
        embeddings, target, list(_ref_margins(COUNTS, 0.5)), 0.1
    )
    embedding_term = _weighted_mean(per_anchor, [float(h) for h in has_positive])
    assert out.item() == pytest.approx(logit_term + 0.5 * embedding_term, rel=1e-12)


def test_elm_loss_reduces_its_two_terms_separately_with_weights():
    logits, embeddings, target = _embedding_problem(seed=20)
    weight = [1.0, 3.0, 0.5]
    sample_weight = [0.5, 1.0, 2.0, 0.0, 1.0, 1.0]
    v = [weight[y] * s for y, s in zip(target.tolist(), sample_weight)]
    out = elm_loss(
        logits,
        embeddings,
        target,
        COUNTS,
        weight=torch.tensor(weight),
        sample_weight=torch.tensor(sample_weight),
    )
    logit_term = _weighted_mean(_ref_logit_adjusted(logits, target, COUNTS).tolist(), v)
    per_anchor, has_positive = _ref_supcon(
        embeddings, target, list(_ref_margins(COUNTS, 0.5)), 0.1
    )
    embedding_term = _weighted_mean(
        per_anchor, [vi * float(h) for vi, h in zip(v, has_positive)]
    )
    assert out.item() == pytest.approx(logit_term + embedding_term, rel=1e-12)


def test_elm_loss_with_all_zero_sample_weights_is_zero():
    logits, embeddings, target = _embedding_problem(seed=21)
    logits.requires_grad_(True)
    embeddings.requires_grad_(True)
    out = elm_loss(
        logits, embeddings, target, COUNTS, sample_weight=torch.zeros(len(target))
    )
    assert out.item() == 0.0
    out.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.isfinite(embeddings.grad).all()


# --------------------------------------------------------------------------
# Numerical stability
# --------------------------------------------------------------------------
IMBALANCED_COUNTS = [10000, 1]
# Scale 1 for LDAM: with scale 30 the true loss on logits of magnitude 1e4
# (about 6e5) is not representable in float16, whatever the internal precision.
STABILITY_CASES = {
    "ce": lambda x, y: cross_entropy_loss(x, y),
    "ldam": lambda x, y: ldam_loss(x, y, IMBALANCED_COUNTS, scale=1.0),
    "logit_adjusted": lambda x, y: logit_adjusted_loss(x, y, IMBALANCED_COUNTS),
    "logit_adjusted_tau_2": lambda x, y: logit_adjusted_loss(
        x, y, IMBALANCED_COUNTS, tau=2.0
    ),
    "balanced_softmax": lambda x, y: balanced_softmax_loss(x, y, IMBALANCED_COUNTS),
    "vs": lambda x, y: vs_loss(x, y, IMBALANCED_COUNTS),
    "focal": lambda x, y: focal_loss(x, y),
    "focal_gamma_half": lambda x, y: focal_loss(x, y, gamma=0.5),
    "focal_gamma_zero": lambda x, y: focal_loss(x, y, gamma=0.0),
    "ce_weighted": lambda x, y: cross_entropy_loss(x, y, [1e-4, 1.0]),
    "ldam_none": lambda x, y: ldam_loss(
        x, y, IMBALANCED_COUNTS, scale=1.0, reduction="none"
    ),
}
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("magnitude", [1.0, 1e4])
@pytest.mark.parametrize("name", list(STABILITY_CASES))
def test_losses_and_gradients_are_finite_for_extreme_inputs(name, magnitude, dtype):
    # Imbalance ratio 1e4, class 1 has a single training example; rows that
    # are confidently right and confidently wrong.
    logits = magnitude * torch.tensor(
        [[1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, 1.0]]
    )
    logits = logits.to(dtype).requires_grad_(True)
    target = torch.tensor([0, 1, 1, 0])
    out = STABILITY_CASES[name](logits, target)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert logits.grad.dtype == dtype
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("magnitude", [1e-3, 1.0, 1e4])
def test_elm_loss_and_gradients_are_finite_for_extreme_inputs(magnitude, dtype):
    gen = torch.Generator().manual_seed(22)
    logits = (magnitude * torch.randn(5, 3, generator=gen)).to(dtype)
    embeddings = (magnitude * torch.randn(5, 4, generator=gen)).to(dtype)
    logits.requires_grad_(True)
    embeddings.requires_grad_(True)
    # Class 2 has a single training example and a single row here.
    target = torch.tensor([0, 0, 1, 1, 2])
    out = elm_loss(logits, embeddings, target, [10000, 100, 1])
    assert out.dtype == dtype
    assert torch.isfinite(out)
    out.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.isfinite(embeddings.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_ldam_loss_half_precision_upcast_prevents_scale_overflow(dtype):
    # 30 * 1e4 overflows float16; computed in float32 the loss is small:
    # equal logits, y=0, margin Delta_0: CE([-30 Delta_0, 0], 0)
    #   = log(1 + exp(30 Delta_0)).
    logits = torch.full((1, 2), 1e4, dtype=dtype, requires_grad=True)
    out = ldam_loss(logits, torch.tensor([0]), IMBALANCED_COUNTS)
    delta0 = 0.5 * 10000**-0.25
    expected = math.log1p(math.exp(30 * delta0))
    assert out.dtype == dtype
    assert out.item() == pytest.approx(expected, rel=1e-2)
    out.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", list(REDUCTION_CASES))
def test_half_precision_matches_float32_within_half_resolution(name, dtype):
    loss_fn, _ = REDUCTION_CASES[name]
    logits, target = _random_problem(seed=23, dtype=torch.float32)
    half = logits.to(dtype)
    out = loss_fn(half, target)
    expected = loss_fn(half.float(), target)
    assert out.dtype == dtype
    torch.testing.assert_close(out, expected.to(dtype))


def test_focal_loss_gradient_is_zero_for_perfect_prediction_with_gamma_below_one():
    # (1 - p)^gamma log p has derivative 0 at p = 1 for every gamma > 0.
    logits = torch.tensor([[1e4, -1e4]], requires_grad=True)
    out = focal_loss(logits, torch.tensor([0]), gamma=0.5)
    out.backward()
    assert out.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


# --------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------
MODULE_CASES = [
    ("ce", CrossEntropyLoss, {}, lambda x, y, **kw: cross_entropy_loss(x, y, **kw)),
    (
        "ldam",
        LDAMLoss,
        {"max_margin": 0.3, "scale": 7.0},
        lambda x, y, **kw: ldam_loss(x, y, COUNTS, 0.3, 7.0, **kw),
    ),
    (
        "logit_adjusted",
        LogitAdjustedLoss,
        {"tau": 1.7},
        lambda x, y, **kw: logit_adjusted_loss(x, y, COUNTS, 1.7, **kw),
    ),
    (
        "balanced_softmax",
        BalancedSoftmaxLoss,
        {},
        lambda x, y, **kw: balanced_softmax_loss(x, y, COUNTS, **kw),
    ),
    (
        "vs",
        VSLoss,
        {"gamma": 0.4, "tau": 0.6},
        lambda x, y, **kw: vs_loss(x, y, COUNTS, 0.4, 0.6, **kw),
    ),
    (
        "focal",
        FocalLoss,
        {"gamma": 1.5},
        lambda x, y, **kw: focal_loss(x, y, 1.5, **kw),
    ),
]


@pytest.mark.parametrize(
    ("module_class", "params", "function"),
    [case[1:] for case in MODULE_CASES],
    ids=[case[0] for case in MODULE_CASES],
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_weight", [False, True])
def test_module_equals_function(module_class, params, function, reduction, use_weight):
    logits, target = _random_problem(seed=24)
    weight = torch.tensor(WEIGHT, dtype=torch.float64) if use_weight else None
    sample_weight = torch.tensor(SAMPLE_WEIGHT, dtype=torch.float64)
    module = module_class(
        class_counts=COUNTS, weight=weight, reduction=reduction, **params
    )
    for sw in (None, sample_weight):
        torch.testing.assert_close(
            module(logits, target, sample_weight=sw),
            function(
                logits, target, weight=weight, sample_weight=sw, reduction=reduction
            ),
        )


@pytest.mark.parametrize("logit_loss", ["logit_adjusted", "ldam"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elm_module_equals_function(logit_loss, reduction):
    logits, embeddings, target = _embedding_problem(seed=25)
    params = {
        "logit_loss": logit_loss,
        "tau": 0.8,
        "max_margin": 0.4,
        "scale": 6.0,
        "embedding_weight": 0.3,
        "temperature": 0.25,
        "embedding_margin": 0.2,
    }
    weight = torch.tensor(WEIGHT, dtype=torch.float64)
    module = ELMLoss(COUNTS, weight=weight, reduction=reduction, **params)
    assert module.uses_embeddings
    torch.testing.assert_close(
        module(logits, embeddings, target),
        elm_loss(
            logits,
            embeddings,
            target,
            COUNTS,
            weight=weight,
            reduction=reduction,
            **params,
        ),
    )


@pytest.mark.parametrize(
    ("module", "expected_buffers"),
    [
        (CrossEntropyLoss(COUNTS), {"class_counts"}),
        (LDAMLoss(COUNTS), {"class_counts", "margins"}),
        (LogitAdjustedLoss(COUNTS), {"class_counts", "offsets"}),
        (BalancedSoftmaxLoss(COUNTS), {"class_counts", "offsets"}),
        (VSLoss(COUNTS), {"class_counts", "multiplicative", "additive"}),
        (FocalLoss(COUNTS), {"class_counts"}),
        (ELMLoss(COUNTS), {"class_counts"}),
        (
            LDAMLoss(COUNTS, weight=[1.0, 2.0, 3.0]),
            {"class_counts", "margins", "weight"},
        ),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None,
)
def test_module_holds_margins_and_offsets_as_buffers(module, expected_buffers):
    names = {name for name, _ in module.named_buffers()}
    assert names == expected_buffers
    assert set(module.state_dict()) == expected_buffers
    assert not list(module.parameters())


def test_module_buffer_values_are_the_hand_computed_margins_and_offsets():
    ldam = LDAMLoss([16, 1], max_margin=0.5)
    np.testing.assert_allclose(ldam.margins.numpy(), [0.25, 0.5])
    adjusted = LogitAdjustedLoss([3, 1], tau=2.0)
    np.testing.assert_allclose(
        adjusted.offsets.numpy(), [2 * math.log(0.75), 2 * math.log(0.25)]
    )
    vs = VSLoss([4, 1], gamma=0.5, tau=1.0)
    np.testing.assert_allclose(vs.multiplicative.numpy(), [1.0, 0.5])
    np.testing.assert_allclose(vs.additive.numpy(), [math.log(0.8), math.log(0.2)])


@pytest.mark.parametrize(
    ("module_class", "params", "function"),
    [case[1:] for case in MODULE_CASES],
    ids=[case[0] for case in MODULE_CASES],
)
def test_module_to_dtype_moves_buffers(module_class, params, function):
    module = module_class(COUNTS, weight=WEIGHT, **params)
    module.to(torch.float32)
    assert all(b.dtype == torch.float32 for b in module.buffers())
    logits, target = _random_problem(seed=26, dtype=torch.float32)
    torch.testing.assert_close(
        module(logits, target), function(logits, target, weight=WEIGHT)
    )
    module.to(torch.float64)
    assert all(b.dtype == torch.float64 for b in module.buffers())
    logits = logits.double()
    torch.testing.assert_close(
        module(logits, target), function(logits, target, weight=WEIGHT)
    )


def test_module_state_dict_round_trip():
    source = LDAMLoss(COUNTS, max_margin=0.3, weight=WEIGHT)
    target_module = LDAMLoss(COUNTS, max_margin=0.3, weight=[1.0, 1.0, 1.0])
    target_module.load_state_dict(source.state_dict())
    torch.testing.assert_close(target_module.weight, source.weight)


@pytest.mark.parametrize(
    "module_class", [LDAMLoss, LogitAdjustedLoss, BalancedSoftmaxLoss, VSLoss]
)
def test_module_without_class_counts_raises_clear_runtime_error(module_class):
    module = module_class()
    logits, target = _random_problem()
    with pytest.raises(RuntimeError, match="class_counts"):
        module(logits, target)


def test_elm_module_without_class_counts_raises_clear_runtime_error():
    logits, embeddings, target = _embedding_problem()
    with pytest.raises(RuntimeError, match="class_counts"):
        ELMLoss()(logits, embeddings, target)


@pytest.mark.parametrize("module_class", [CrossEntropyLoss, FocalLoss])
def test_count_free_modules_work_without_class_counts(module_class):
    logits, target = _random_problem()
    out = module_class()(logits, target)
    assert torch.isfinite(out)


def test_set_weight_switches_class_weights_on_and_off():
    logits, target = _random_problem(seed=27)
    module = CrossEntropyLoss(COUNTS)
    plain = F.cross_entropy(logits, target)
    torch.testing.assert_close(module(logits, target), plain)
    weight = torch.tensor(WEIGHT, dtype=torch.float64)
    module.set_weight(weight)
    assert "weight" in module.state_dict()
    torch.testing.assert_close(
        module(logits, target), F.cross_entropy(logits, target, weight=weight)
    )
    module.set_weight(None)
    assert module.weight is None
    assert "weight" not in module.state_dict()
    torch.testing.assert_close(module(logits, target), plain)


def test_set_weight_on_ldam_module_matches_weighted_reference():
    logits, target = _random_problem(seed=28)
    module = LDAMLoss(COUNTS, scale=5.0)
    module.set_weight(np.asarray(WEIGHT))
    margins = torch.as_tensor(_ref_margins(COUNTS, 0.5))
    adjusted = 5.0 * (logits - F.one_hot(target, 3) * margins[target, None])
    torch.testing.assert_close(
        module(logits, target),
        F.cross_entropy(adjusted, target, weight=torch.tensor(WEIGHT).double()),
    )


def test_logit_scale_of_modules():
    assert LDAMLoss(COUNTS, scale=12.0).logit_scale == 12.0
    assert LogitAdjustedLoss(COUNTS).logit_scale == 1.0
    assert ELMLoss(COUNTS, logit_loss="ldam", scale=9.0).logit_scale == 9.0
    assert ELMLoss(COUNTS, scale=9.0).logit_scale == 1.0
    assert not LDAMLoss.uses_embeddings


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_get_loss_class_returns_registered_class(name):
    assert get_loss_class(name) is LOSSES[name]
    assert issubclass(get_loss_class(name), nn.Module)


def test_loss_registry_names():
    assert LOSSES == {
        "ce": CrossEntropyLoss,
        "ldam": LDAMLoss,
        "logit_adjusted": LogitAdjustedLoss,
        "balanced_softmax": BalancedSoftmaxLoss,
        "vs": VSLoss,
        "focal": FocalLoss,
        "elm": ELMLoss,
    }


# --------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------
_L = torch.zeros(2, 3, dtype=torch.float64)
_Y = torch.tensor([0, 1])
_E = torch.randn(2, 2, dtype=torch.float64)

BAD_CALLS = {
    "ldam_negative_max_margin": lambda: ldam_loss(_L, _Y, COUNTS, max_margin=-0.1),
    "ldam_margins_negative_max_margin": lambda: ldam_margins(COUNTS, -1.0),
    "ldam_module_negative_max_margin": lambda: LDAMLoss(COUNTS, max_margin=-0.1),
    "ldam_module_negative_max_margin_without_counts": lambda: LDAMLoss(max_margin=-1),
    "ldam_negative_scale": lambda: ldam_loss(_L, _Y, COUNTS, scale=-1.0),
    "ldam_module_string_scale": lambda: LDAMLoss(scale="30"),
    "logit_adjusted_string_tau": lambda: logit_adjusted_loss(_L, _Y, COUNTS, tau="1"),
    "logit_adjusted_nan_tau": lambda: logit_adjusted_loss(_L, _Y, COUNTS, tau=math.nan),
    "logit_adjusted_bool_tau": lambda: logit_adjusted_loss(_L, _Y, COUNTS, tau=True),
    "logit_adjusted_module_string_tau": lambda: LogitAdjustedLoss(tau="a"),
    "vs_string_gamma": lambda: vs_loss(_L, _Y, COUNTS, gamma="0.2"),
    "vs_string_tau": lambda: vs_loss(_L, _Y, COUNTS, tau="1"),
    "vs_module_string_tau": lambda: VSLoss(tau="1"),
    "focal_negative_gamma": lambda: focal_loss(_L, _Y, gamma=-1.0),
    "focal_module_negative_gamma": lambda: FocalLoss(gamma=-0.5),
    "zero_count_ldam": lambda: ldam_loss(_L, _Y, [3, 0, 2]),
    "zero_count_logit_adjusted": lambda: logit_adjusted_loss(_L, _Y, [3, 0, 2]),
    "zero_count_vs": lambda: vs_loss(_L, _Y, [3, 2, 0]),
    "zero_count_module": lambda: LDAMLoss([0, 3, 2]),
    "zero_count_log_prior": lambda: log_prior([1, 0]),
    "negative_count": lambda: log_prior([-1, 4]),
    "nan_count": lambda: log_prior([math.nan, 4]),
    "inf_count": lambda: log_prior([math.inf, 4]),
    "two_dimensional_counts": lambda: log_prior([[1, 2], [3, 4]]),
    "empty_counts": lambda: log_prior([]),
    "none_counts": lambda: logit_adjusted_loss(_L, _Y, None),
    "module_bad_reduction": lambda: LDAMLoss(COUNTS, reduction="avg"),
    "supcon_zero_temperature": lambda: supervised_contrastive_margin_loss(
        _E, _Y, COUNTS, temperature=0.0
    ),
    "supcon_negative_margin": lambda: supervised_contrastive_margin_loss(
        _E, _Y, COUNTS, embedding_margin=-0.5
    ),
    "elm_unknown_logit_loss": lambda: elm_loss(_L, _E, _Y, COUNTS, logit_loss="vs"),
    "elm_negative_embedding_weight": lambda: elm_loss(
        _L, _E, _Y, COUNTS, embedding_weight=-1.0
    ),
    "elm_module_unknown_logit_loss": lambda: ELMLoss(logit_loss="focal"),
    "elm_module_zero_temperature": lambda: ELMLoss(temperature=0),
    "elm_module_negative_embedding_margin": lambda: ELMLoss(embedding_margin=-1.0),
    "get_loss_class_unknown": lambda: get_loss_class("ldam_plus"),
    "get_loss_class_unhashable": lambda: get_loss_class(["ce"]),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_parameters_raise_value_error(name):
    with pytest.raises(ValueError):
        BAD_CALLS[name]()


def test_error_messages_name_the_parameter():
    with pytest.raises(ValueError, match="max_margin"):
        LDAMLoss(max_margin=-1.0)
    with pytest.raises(ValueError, match="tau"):
        LogitAdjustedLoss(tau="1")
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(_L, _Y, gamma=-1.0)
    with pytest.raises(ValueError, match=r"class indices \[1\]"):
        log_prior([3, 0])
    with pytest.raises(ValueError, match="Unknown loss 'nope'"):
        get_loss_class("nope")


# --------------------------------------------------------------------------
# skorch criterion
# --------------------------------------------------------------------------
class _Linear(nn.Module):
    def __init__(self, n_features=4, n_classes=3):
        super().__init__()
        self.linear = nn.Linear(n_features, n_classes)

    def forward(self, X):
        return self.linear(X)


@pytest.mark.parametrize(
    ("criterion", "params"),
    [
        (LogitAdjustedLoss, {"criterion__tau": 1.0}),
        (LDAMLoss, {"criterion__scale": 5.0}),
        (VSLoss, {}),
    ],
    ids=["logit_adjusted", "ldam", "vs"],
)
def test_module_works_as_skorch_criterion(criterion, params):
    skorch = pytest.importorskip("skorch")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = np.repeat([0, 1, 2], [40, 15, 5]).astype(np.int64)
    X[np.arange(60), y] += 2.0
    net = skorch.NeuralNetClassifier(
        module=_Linear,
        criterion=criterion,
        criterion__class_counts=np.bincount(y).tolist(),
        max_epochs=5,
        lr=0.1,
        train_split=None,
        verbose=0,
        **params,
    )
    net.fit(X, y)
    losses = net.history[:, "train_loss"]
    assert len(losses) == 5
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert isinstance(net.criterion_, criterion)
    np.testing.assert_array_equal(net.criterion_.class_counts.numpy(), [40, 15, 5])
    assert net.predict(X).shape == (60,)


# --------------------------------------------------------------------------
# ELM's lean path (value and gradient in one pass) and the module's cache
# --------------------------------------------------------------------------
def _ref_elm(
    logits,
    embeddings,
    target,
    counts,
    *,
    logit_loss="logit_adjusted",
    tau=1.0,
    max_margin=0.5,
    scale=30.0,
    embedding_weight=1.0,
    temperature=0.1,
    embedding_margin=0.5,
    weight=None,
    sample_weight=None,
    reduction="mean",
):
    """ELM in float64 from plain torch operations, differentiable by autograd:
    cross-entropy of the adjusted logits plus the masked n x n SupCon
    reference, weighted and reduced as the module docstring says."""
    if logit_loss == "ldam":
        per_example = _ref_ldam(logits, target, counts, max_margin, scale)
    else:
        per_example = _ref_logit_adjusted(logits, target, counts, tau)
    rho = _ref_margins(counts, embedding_margin).tolist()
    per_anchor, has_positive = _masked_supcon(embeddings, target, rho, temperature)
    v = torch.ones(len(target), dtype=torch.float64)
    if weight is not None:
        v = v * torch.as_tensor(weight, dtype=torch.float64)[target]
    if sample_weight is not None:
        v = v * torch.as_tensor(sample_weight, dtype=torch.float64)
    u = v * has_positive.to(torch.float64)
    logit_term = (v * per_example).sum()
    embedding_term = (u * per_anchor).sum()
    if reduction == "mean":
        tiny = torch.finfo(torch.float64).tiny
        logit_term = logit_term / v.sum().clamp_min(tiny)
        embedding_term = embedding_term / u.sum().clamp_min(tiny)
    return logit_term + embedding_weight * embedding_term


def _elm_value_and_grads(fn, logits, embeddings):
    f = logits.detach().clone().requires_grad_(True)
    e = embeddings.detach().clone().requires_grad_(True)
    value = fn(f, e)
    grad_f, grad_e = torch.autograd.grad(value, [f, e])
    return value.detach(), grad_f, grad_e


def _elm_problem(n_samples, seed, n_dims=5, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    # Long-tailed labels over 4 classes; class 3 at most once (no positive).
    pattern = [0, 0, 1, 0, 2, 1, 0, 3, 2, 0, 1, 0]
    target = torch.tensor([pattern[i % 7] for i in range(n_samples)])
    if n_samples > 7:
        target[-1] = 3
    logits = torch.randn(n_samples, 4, generator=gen, dtype=dtype)
    embeddings = torch.randn(n_samples, n_dims, generator=gen, dtype=dtype)
    return logits, embeddings, target


ELM_COUNTS = [40, 12, 5, 1]
ELM_PARAMS = {
    "logit_adjusted": {"tau": 1.3, "temperature": 0.2, "embedding_margin": 0.7},
    "ldam": {
        "logit_loss": "ldam",
        "max_margin": 0.4,
        "scale": 3.0,
        "temperature": 0.5,
        "embedding_margin": 0.3,
        "embedding_weight": 0.6,
    },
}


@pytest.mark.parametrize("params_name", list(ELM_PARAMS))
@pytest.mark.parametrize("n_samples", [2, 3, 7, 40, 450])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_elm_lean_path_matches_general_path_and_float64_reference(
    params_name, n_samples, reduction, weighted
):
    from sklearn_lt.losses._elm import _elm_lean_applies, _elm_loss_general

    params = ELM_PARAMS[params_name]
    logits, embeddings, target = _elm_problem(n_samples, seed=n_samples)
    kw = {"reduction": reduction}
    if weighted:
        gen = torch.Generator().manual_seed(1)
        kw["weight"] = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
        kw["sample_weight"] = torch.rand(n_samples, generator=gen, dtype=torch.float64)
    assert _elm_lean_applies(logits, embeddings, target, reduction)
    module = ELMLoss(ELM_COUNTS, weight=kw.get("weight"), reduction=reduction, **params)
    sample_weight = kw.get("sample_weight")
    lean_module = _elm_value_and_grads(
        lambda f, e: module(f, e, target, sample_weight=sample_weight),
        logits,
        embeddings,
    )
    lean_function = _elm_value_and_grads(
        lambda f, e: elm_loss(f, e, target, ELM_COUNTS, **params, **kw),
        logits,
        embeddings,
    )
    full = {
        "logit_loss": "logit_adjusted",
        "tau": 1.0,
        "max_margin": 0.5,
        "scale": 30.0,
        "embedding_weight": 1.0,
        "temperature": 0.1,
        "embedding_margin": 0.5,
        **params,
    }
    general = _elm_value_and_grads(
        lambda f, e: _elm_loss_general(
            f,
            e,
            target,
            ELM_COUNTS,
            full["logit_loss"],
            full["tau"],
            full["max_margin"],
            full["scale"],
            full["embedding_weight"],
            full["temperature"],
            full["embedding_margin"],
            kw.get("weight"),
            kw.get("sample_weight"),
            reduction,
        ),
        logits,
        embeddings,
    )
    reference = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS, **params, **kw),
        logits,
        embeddings,
    )
    for got in (lean_module, lean_function, general):
        for g, r in zip(got, reference):
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_elm_lean_path_without_any_positive_is_the_logit_term():
    # Every row its own class: the embedding term is 0 and has no gradient.
    logits, embeddings, _ = _elm_problem(3, seed=2)
    target = torch.tensor([0, 1, 2])
    value, grad_f, grad_e = _elm_value_and_grads(
        lambda f, e: ELMLoss(ELM_COUNTS)(f, e, target), logits, embeddings
    )
    expected = _ref_logit_adjusted(logits, target, ELM_COUNTS).mean()
    torch.testing.assert_close(value, expected)
    assert torch.equal(grad_e, torch.zeros_like(grad_e))
    assert torch.isfinite(grad_f).all()


@pytest.mark.parametrize("n_samples", [9, 450])
def test_elm_lean_path_on_zero_and_repeated_rows_matches_reference(n_samples):
    # A zero row (norm below F.normalize's eps: gradient g / eps) and two
    # identical rows (similarity exactly 1).
    logits, embeddings, target = _elm_problem(n_samples, seed=3)
    embeddings[1] = 0.0
    embeddings[4] = embeddings[0]
    ours = _elm_value_and_grads(
        lambda f, e: ELMLoss(ELM_COUNTS, temperature=0.05)(f, e, target),
        logits,
        embeddings,
    )
    ref = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS, temperature=0.05),
        logits,
        embeddings,
    )
    assert torch.isfinite(ours[2]).all()
    for g, r in zip(ours, ref):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_samples", [300, 1100])
def test_elm_module_at_larger_batches_matches_reference(n_samples):
    # Both forms of the lean path: diag(b) P as a matrix (300 rows) and
    # through class sums (1100 rows).
    from sklearn_lt.losses._elm import _PAIR_MATRIX_MAX_ROWS

    assert 300 <= _PAIR_MATRIX_MAX_ROWS < 450 < 1100
    gen = torch.Generator().manual_seed(4)
    target = torch.randint(0, 4, (n_samples,), generator=gen)
    logits = torch.randn(n_samples, 4, generator=gen, dtype=torch.float64)
    embeddings = torch.randn(n_samples, 6, generator=gen, dtype=torch.float64)
    ours = _elm_value_and_grads(
        lambda f, e: ELMLoss(ELM_COUNTS)(f, e, target), logits, embeddings
    )
    ref = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS), logits, embeddings
    )
    for g, r in zip(ours, ref):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-12)


def test_elm_lean_path_float32_matches_float64_reference():
    logits, embeddings, target = _elm_problem(40, seed=5, n_dims=16)
    ours = _elm_value_and_grads(
        lambda f, e: ELMLoss(ELM_COUNTS)(f, e, target),
        logits.float(),
        embeddings.float(),
    )
    ref = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS), logits, embeddings
    )
    assert all(t.dtype == torch.float32 for t in ours)
    for g, r in zip(ours, ref):
        torch.testing.assert_close(g.double(), r, rtol=1e-5, atol=1e-6)


def test_elm_lean_path_without_grad_and_with_one_input_requiring_grad():
    logits, embeddings, target = _elm_problem(7, seed=6)
    module = ELMLoss(ELM_COUNTS)
    expected, grad_f, grad_e = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS), logits, embeddings
    )
    with torch.no_grad():
        torch.testing.assert_close(module(logits, embeddings, target), expected)
    e = embeddings.clone().requires_grad_(True)
    module(logits, e, target).backward()
    torch.testing.assert_close(e.grad, grad_e)
    f = logits.clone().requires_grad_(True)
    module(f, embeddings, target).backward()
    torch.testing.assert_close(f.grad, grad_f)


def test_elm_lean_path_under_cpu_autocast_matches_full_precision():
    logits, embeddings, target = _elm_problem(12, seed=7)
    logits, embeddings = logits.float(), embeddings.float()
    module = ELMLoss(ELM_COUNTS)
    expected = _elm_value_and_grads(
        lambda f, e: module(f, e, target), logits, embeddings
    )
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = _elm_value_and_grads(
            lambda f, e: module(f, e, target), logits, embeddings
        )
    for g, r in zip(got, expected):
        torch.testing.assert_close(g, r, rtol=1e-6, atol=1e-7)


def test_elm_lean_path_double_backward():
    # Second derivatives through the embedding term are refused; through the
    # logit term they are those of the plain cross-entropy reference.
    logits, embeddings, target = _elm_problem(7, seed=8)
    module = ELMLoss(ELM_COUNTS)
    f = logits.clone().requires_grad_(True)
    e = embeddings.clone().requires_grad_(True)
    grad_f, grad_e = torch.autograd.grad(
        module(f, e, target), [f, e], create_graph=True
    )
    with pytest.raises(RuntimeError, match="double backward"):
        grad_e.pow(2).sum().backward(retain_graph=True)
    grad_f.pow(2).sum().backward()
    f_ref = logits.clone().requires_grad_(True)
    (g_ref,) = torch.autograd.grad(
        _ref_logit_adjusted(f_ref, target, ELM_COUNTS).mean(), f_ref, create_graph=True
    )
    g_ref.pow(2).sum().backward()
    torch.testing.assert_close(grad_f, g_ref)
    torch.testing.assert_close(f.grad, f_ref.grad)


def _elm_module_value(module, seed=9):
    logits, embeddings, target = _elm_problem(10, seed=seed)
    return module(logits, embeddings, target), (logits, embeddings, target)


def test_elm_module_cache_follows_replaced_class_counts_buffer():
    module = ELMLoss(ELM_COUNTS)
    _elm_module_value(module)
    new_counts = [3, 30, 9, 2]
    module.class_counts = torch.tensor(new_counts, dtype=torch.float64)
    value, inputs = _elm_module_value(module)
    torch.testing.assert_close(value, _ref_elm(*inputs, new_counts))


def test_elm_module_cache_follows_load_state_dict_and_validates_counts():
    module = ELMLoss(ELM_COUNTS, logit_loss="ldam", scale=4.0)
    _elm_module_value(module)
    new_counts = [3, 30, 9, 2]
    module.load_state_dict(ELMLoss(new_counts).state_dict())
    value, inputs = _elm_module_value(module)
    expected = _ref_elm(*inputs, new_counts, logit_loss="ldam", scale=4.0)
    torch.testing.assert_close(value, expected)
    # Counts loaded in place are validated again, with the usual message.
    module.class_counts.copy_(torch.tensor([3.0, 0.0, 9.0, 2.0]))
    with pytest.raises(ValueError, match=r"class indices \[1\]"):
        _elm_module_value(module)


def test_elm_module_cache_follows_parameters_dtype_and_weight():
    module = ELMLoss(ELM_COUNTS)
    _elm_module_value(module)
    module.tau = 2.0
    module.embedding_margin = 0.1
    value, inputs = _elm_module_value(module)
    expected = _ref_elm(*inputs, ELM_COUNTS, tau=2.0, embedding_margin=0.1)
    torch.testing.assert_close(value, expected)
    module.set_weight([1.0, 0.5, 2.0, 4.0])
    value, inputs = _elm_module_value(module)
    expected = _ref_elm(
        *inputs,
        ELM_COUNTS,
        tau=2.0,
        embedding_margin=0.1,
        weight=[1.0, 0.5, 2.0, 4.0],
    )
    torch.testing.assert_close(value, expected)
    module.to(torch.float32)
    logits, embeddings, target = inputs
    value = module(logits.float(), embeddings.float(), target)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value.double(), expected, rtol=1e-5, atol=1e-6)


def test_elm_module_cache_is_not_saved_and_survives_copies():
    import copy
    import pickle

    module = ELMLoss(ELM_COUNTS, tau=0.7)
    value, inputs = _elm_module_value(module)
    assert "_constants_cache" in module.__dict__
    assert set(module.state_dict()) == {"class_counts"}
    assert "_constants_cache" not in module.__getstate__()
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert "_constants_cache" not in clone.__dict__
        torch.testing.assert_close(clone(*inputs), value)
    torch.testing.assert_close(value, _ref_elm(*inputs, ELM_COUNTS, tau=0.7))


@pytest.mark.parametrize("use_load_state_dict", [True, False])
def test_module_buffers_cast_once_follow_new_counts(use_load_state_dict):
    # Float64 buffers, float32 logits: the cast buffers are cached, and a new
    # state (loaded in place, or new buffers) replaces them.
    logits, target = _random_problem(seed=30, dtype=torch.float32)
    new_counts = [5, 5, 40]
    modules = [LogitAdjustedLoss(COUNTS), LDAMLoss(COUNTS), VSLoss(COUNTS)]
    references = [
        lambda c: _ref_logit_adjusted(logits.double(), target, c),
        lambda c: _ref_ldam(logits.double(), target, c),
        lambda c: _ref_vs(logits.double(), target, c),
    ]
    for module, reference in zip(modules, references):
        first = module(logits, target)
        torch.testing.assert_close(first.double(), reference(COUNTS).mean())
        fresh = type(module)(new_counts)
        if use_load_state_dict:
            module.load_state_dict(fresh.state_dict())
        else:
            for name, buffer in fresh.named_buffers():
                setattr(module, name, buffer)
        second = module(logits, target)
        assert second.dtype == torch.float32
        torch.testing.assert_close(second.double(), reference(new_counts).mean())


@pytest.mark.parametrize("n_samples", [40, 450])
@pytest.mark.parametrize(
    ("temperature", "embedding_margin"), [(0.002, 3.0), (0.002, 0.0), (1.0, 3.0)]
)
def test_elm_lean_path_at_extreme_temperatures_and_margins(
    n_samples, temperature, embedding_margin
):
    # A / T up to about 2000: the softmax must stay finite and accurate in
    # float64 and float32, in both forms of the lean path.
    params = {"temperature": temperature, "embedding_margin": embedding_margin}
    logits, embeddings, target = _elm_problem(n_samples, seed=11)
    ref = _elm_value_and_grads(
        lambda f, e: _ref_elm(f, e, target, ELM_COUNTS, **params), logits, embeddings
    )
    module = ELMLoss(ELM_COUNTS, **params)
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        ours = _elm_value_and_grads(
            lambda f, e: module(f, e, target), logits.to(dtype), embeddings.to(dtype)
        )
        for g, r in zip(ours, ref):
            assert torch.isfinite(g).all()
            torch.testing.assert_close(
                g.double(), r, rtol=tol, atol=tol * r.abs().max().item()
            )


@pytest.mark.parametrize("params_name", list(ELM_PARAMS))
@pytest.mark.parametrize("n_samples", [2, 7, 40, 450])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_elm_value_and_grad_matches_float64_reference(
    params_name, n_samples, reduction, weighted
):
    # What LongTailNet's hand-written step calls instead of autograd.
    params = ELM_PARAMS[params_name]
    logits, embeddings, target = _elm_problem(n_samples, seed=n_samples + 1)
    weight = sample_weight = None
    if weighted:
        gen = torch.Generator().manual_seed(2)
        weight = torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64)
        sample_weight = torch.rand(n_samples, generator=gen, dtype=torch.float64)
    module = ELMLoss(ELM_COUNTS, weight=weight, reduction=reduction, **params)
    value, (grad_f, grad_e) = module.value_and_grad(
        logits, target, embeddings, sample_weight
    )
    reference = _elm_value_and_grads(
        lambda f, e: _ref_elm(
            f,
            e,
            target,
            ELM_COUNTS,
            **params,
            weight=weight,
            sample_weight=sample_weight,
            reduction=reduction,
        ),
        logits,
        embeddings,
    )
    for got, want in zip((value, grad_f, grad_e), reference):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_elm_value_and_grad_refuses_what_needs_autograd():
    logits, embeddings, target = _elm_problem(7, seed=0)
    assert (
        ELMLoss(ELM_COUNTS, reduction="none").value_and_grad(logits, target, embeddings)
        is None
    )
    assert (
        ELMLoss(ELM_COUNTS).value_and_grad(logits[:1], target[:1], embeddings[:1])
        is None
    )


@pytest.mark.parametrize("n_columns", [2, 15, 16, 40])
def test_log_softmax_rows_equals_torch_log_softmax(n_columns):
    from sklearn_lt.losses._common import _log_softmax_rows

    values = torch.randn(33, n_columns, generator=torch.Generator().manual_seed(3))
    got = _log_softmax_rows(values)
    assert got.is_contiguous()
    torch.testing.assert_close(got, torch.log_softmax(values, dim=1))
