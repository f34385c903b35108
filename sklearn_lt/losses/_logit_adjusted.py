"""Logit adjustment (Menon et al., ICLR 2021) and balanced softmax (Ren et
al., NeurIPS 2020, its ``tau = 1`` case).

Their closed form: the cross-entropy of ``f + tau log pi``, a member of the
softmax cross-entropy family (:mod:`._cross_entropy`) with
``c = tau log pi``.
"""

from ._common import _check_real, _reduced_ce, _upcast, log_prior
from ._cross_entropy import _SoftmaxCrossEntropyLoss


def _shifted(logits, offsets):
    return logits + offsets.to(logits.device, logits.dtype)


def logit_adjusted_loss(
    logits,
    target,
    class_counts,
    tau=1.0,
    weight=None,
    *,
    sample_weight=None,
    reduction="mean",
):
    """Logit-adjusted cross-entropy (Menon et al., ICLR 2021).

    ``l_i = CE(f(x_i) + tau * log pi, y_i)``. Predict with the raw logits
    ``f(x)``. ``tau = 1`` is the balanced softmax of Ren et al. (2020).

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    target : LongTensor of shape (n_samples,)
    class_counts : array-like of shape (n_classes,)
    tau : float, default=1.0
        Strength of the adjustment; ``tau = 0`` is plain cross-entropy.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`.

    Returns
    -------
    loss : Tensor
    """
    _check_real(tau, "tau")
    offsets = tau * log_prior(class_counts)
    logits, dtype = _upcast(logits)
    return _reduced_ce(
        _shifted(logits, offsets), target, weight, sample_weight, reduction, dtype
    )


def balanced_softmax_loss(
    logits, target, class_counts, weight=None, *, sample_weight=None, reduction="mean"
):
    """Balanced softmax (Ren et al., 2020): :func:`logit_adjusted_loss`, tau = 1."""
    return logit_adjusted_loss(
        logits,
        target,
        class_counts,
        tau=1.0,
        weight=weight,
        sample_weight=sample_weight,
        reduction=reduction,
    )


class LogitAdjustedLoss(_SoftmaxCrossEntropyLoss):
    """Module form of :func:`logit_adjusted_loss`; ``offsets = tau * log pi``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,), default=None
    tau : float, default=1.0
    weight : array-like of shape (n_classes,), default=None
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    def __init__(self, class_counts=None, tau=1.0, weight=None, reduction="mean"):
        super().__init__(class_counts, weight, reduction)
        _check_real(tau, "tau")
        self.tau = tau
        offsets = None if class_counts is None else tau * log_prior(class_counts)
        self.register_buffer("offsets", offsets)

    _term_sources = ("offsets",)

    def _affine_terms(self):
        # CE(f + tau log pi): c = tau log pi.
        return None, self.offsets, None

    def forward(self, logits, target, sample_weight=None):
        self._require_counts()
        logits, dtype = _upcast(logits)
        adjusted = _shifted(logits, self._buffer_like("offsets", logits))
        return self._finish(adjusted, target, sample_weight, dtype)


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Module form of :func:`balanced_softmax_loss` (``tau = 1``)."""

    def __init__(self, class_counts=None, weight=None, reduction="mean"):
        super().__init__(class_counts, tau=1.0, weight=weight, reduction=reduction)
