"""The vector-scaling (VS) loss (Kini et al., NeurIPS 2021).

Its closed form: the cross-entropy of ``Delta * f + iota``, a member of the
softmax cross-entropy family (:mod:`._cross_entropy`) with ``a = Delta`` and
``c = iota``.
"""

import torch

from ._common import _check_real, _counts_tensor, _reduced_ce, _upcast, log_prior
from ._cross_entropy import _SoftmaxCrossEntropyLoss


def _vs_terms(class_counts, gamma, tau):
    counts = _counts_tensor(class_counts)
    multiplicative = (counts / counts.max()).pow(gamma)
    additive = tau * log_prior(counts)
    return multiplicative, additive


def _vs_adjusted(logits, multiplicative, additive):
    multiplicative = multiplicative.to(logits.device, logits.dtype)
    additive = additive.to(logits.device, logits.dtype)
    return torch.addcmul(additive, multiplicative, logits)


def vs_loss(
    logits,
    target,
    class_counts,
    gamma=0.2,
    tau=1.0,
    weight=None,
    *,
    sample_weight=None,
    reduction="mean",
):
    """Vector-scaling (VS) loss (Kini et al., NeurIPS 2021).

    ``l_i = CE(Delta * f(x_i) + iota, y_i)`` with multiplicative
    ``Delta_k = (n_k / n_max)^gamma`` and additive ``iota_k = tau * log pi_k``.
    ``gamma = 0`` gives :func:`logit_adjusted_loss`; ``tau = 0, gamma = 0``
    gives cross-entropy. Predict with the raw logits.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    target : LongTensor of shape (n_samples,)
    class_counts : array-like of shape (n_classes,)
    gamma : float, default=0.2
        Exponent of the multiplicative adjustment.
    tau : float, default=1.0
        Strength of the additive adjustment.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`.

    Returns
    -------
    loss : Tensor
    """
    _check_real(gamma, "gamma")
    _check_real(tau, "tau")
    multiplicative, additive = _vs_terms(class_counts, gamma, tau)
    logits, dtype = _upcast(logits)
    adjusted = _vs_adjusted(logits, multiplicative, additive)
    return _reduced_ce(adjusted, target, weight, sample_weight, reduction, dtype)


class VSLoss(_SoftmaxCrossEntropyLoss):
    """Module form of :func:`vs_loss`.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,), default=None
    gamma : float, default=0.2
    tau : float, default=1.0
    weight : array-like of shape (n_classes,), default=None
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    def __init__(
        self, class_counts=None, gamma=0.2, tau=1.0, weight=None, reduction="mean"
    ):
        super().__init__(class_counts, weight, reduction)
        _check_real(gamma, "gamma")
        _check_real(tau, "tau")
        self.gamma = gamma
        self.tau = tau
        terms = (
            (None, None)
            if class_counts is None
            else _vs_terms(class_counts, gamma, tau)
        )
        self.register_buffer("multiplicative", terms[0])
        self.register_buffer("additive", terms[1])

    _term_sources = ("multiplicative", "additive")

    def _affine_terms(self):
        # CE(Delta * f + iota): a = Delta, c = iota.
        return self.multiplicative, self.additive, None

    def forward(self, logits, target, sample_weight=None):
        self._require_counts()
        logits, dtype = _upcast(logits)
        adjusted = _vs_adjusted(
            logits,
            self._buffer_like("multiplicative", logits),
            self._buffer_like("additive", logits),
        )
        return self._finish(adjusted, target, sample_weight, dtype)
