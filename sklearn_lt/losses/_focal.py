"""The softmax focal loss (Lin et al., ICCV 2017), with its exact gradient.

With ``p = softmax(z)_y`` and ``l = -(1 - p)^gamma log p``,
``dl/dp = gamma (1 - p)^(gamma - 1) log p - (1 - p)^gamma / p`` and
``dp/dz_j = p (delta_jy - p_j)``, so

    dl/dz_j = c (delta_jy - p_j),  c = gamma (1 - p)^(gamma - 1) p log p - (1 - p)^gamma

(``gamma = 0``: ``c = -1``, cross-entropy's ``p_j - delta_jy``). That is
:meth:`FocalLoss.value_and_grad`, the loss's side of the step protocol.
"""

import torch
import torch.nn.functional as F

from ._common import (
    _check_nonnegative,
    _CountLoss,
    _example_weights,
    _reduce,
    _reduction_coefficients,
    _upcast,
)

_FULL_PRECISION = (torch.float32, torch.float64)


def _one_minus_p(log_p):
    """``1 - p`` from ``log p``: ``-expm1(log p)`` keeps precision when p is
    close to 1; clamped at the smallest normal (not 0) so that ``pow`` and
    its gradient stay finite at p = 1 when 0 < gamma < 1."""
    return (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)


def focal_loss(
    logits, target, gamma=2.0, weight=None, *, sample_weight=None, reduction="mean"
):
    """Softmax focal loss (Lin et al., ICCV 2017).

    ``l_i = -(1 - p_{y_i})^gamma log p_{y_i}`` with ``p = softmax(f(x_i))``.
    ``gamma = 0`` is cross-entropy. The per-class ``weight`` is Lin et al.'s
    ``alpha``.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    target : LongTensor of shape (n_samples,)
    gamma : float, default=2.0
        Focusing parameter, ``>= 0``.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`.

    Returns
    -------
    loss : Tensor
    """
    _check_nonnegative(gamma, "gamma")
    logits, dtype = _upcast(logits)
    log_p = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    one_minus_p = _one_minus_p(log_p)
    per_example = -(one_minus_p.pow(gamma)) * log_p
    return _reduce(per_example, target, weight, sample_weight, reduction, dtype)


class FocalLoss(_CountLoss):
    """Module form of :func:`focal_loss` (counts accepted, unused).

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,), default=None
    gamma : float, default=2.0
    weight : array-like of shape (n_classes,), default=None
        Lin et al.'s ``alpha``.
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    def __init__(self, class_counts=None, gamma=2.0, weight=None, reduction="mean"):
        super().__init__(class_counts, weight, reduction)
        _check_nonnegative(gamma, "gamma")
        self.gamma = gamma

    def value_and_grad(self, logits, target, embeddings=None, sample_weight=None):
        """The loss and its exact gradient with respect to ``logits`` (see
        the module docstring and :meth:`_CountLoss.value_and_grad`).

        ``None`` for reduction ``"none"`` and half-precision logits.
        """
        if (
            self.reduction == "none"
            or logits.dtype not in _FULL_PRECISION
            or logits.ndim != 2
        ):
            return None
        with torch.no_grad():
            z = logits.detach()
            log_probs = torch.log_softmax(z, dim=1)
            log_p = log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
            one_minus_p = _one_minus_p(log_p)
            gamma = float(self.gamma)
            focus = one_minus_p.pow(gamma)
            per_example = -focus * log_p
            # c = gamma (1 - p)^(gamma - 1) p log p - (1 - p)^gamma
            c = -focus
            if gamma != 0.0:
                c = c + gamma * one_minus_p.pow(gamma - 1.0) * log_p.exp() * log_p
            v = _example_weights(self.weight, sample_weight, target, z.dtype, z.device)
            a = _reduction_coefficients(self.reduction, v, z.shape[0])
            loss = (per_example * a).sum()
            # dl/dz = c (onehot - probs), scaled by each row's coefficient.
            row = c * a
            grad = log_probs.exp_().mul_(-row.unsqueeze(1))
            grad.scatter_add_(1, target.unsqueeze(1), row.unsqueeze(1))
        return loss, (grad,)

    def forward(self, logits, target, sample_weight=None):
        return focal_loss(
            logits,
            target,
            self.gamma,
            self.weight,
            sample_weight=sample_weight,
            reduction=self.reduction,
        )
