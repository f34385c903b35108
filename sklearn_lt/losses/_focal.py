"""The softmax focal loss (Lin et al., ICCV 2017).

No closed form is given (:meth:`~._common._CountLoss.value_and_grad` says
``None``): a training step differentiates it with autograd.
"""

import torch
import torch.nn.functional as F

from ._common import _check_nonnegative, _CountLoss, _reduce, _upcast


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
    # (1 - p)^gamma via -expm1(log p) keeps precision when p is close to 1.
    # Clamping at the smallest normal (not 0) keeps the gradient of pow finite
    # (0 rather than nan) at p = 1 when 0 < gamma < 1.
    one_minus_p = (-torch.expm1(log_p)).clamp_min(torch.finfo(log_p.dtype).tiny)
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

    def forward(self, logits, target, sample_weight=None):
        return focal_loss(
            logits,
            target,
            self.gamma,
            self.weight,
            sample_weight=sample_weight,
            reduction=self.reduction,
        )
