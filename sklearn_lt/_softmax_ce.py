"""Closed-form value and gradient of the softmax cross-entropy losses.

Cross-entropy, logit adjustment, balanced softmax, LDAM and VS are all the
cross-entropy of an affine map of the logits ``z``:

    u_ij = a_j z_ij + c_j - [j = y_i] d_{y_i},
    l_i = log sum_j exp(u_ij) - u_{i y_i},

with ``a`` (VS's multiplicative term, LDAM's scale), ``c`` (logit
adjustment's ``tau log pi``, VS's additive term) and ``d`` (LDAM's scaled
margins) per class. With ``r_i`` the weight of example ``i`` in the reduced
loss (``1/n`` for an unweighted mean, ``v_i / sum v`` with class and sample
weights ``v``), the gradient is ``dL/dz_ij = r_i a_j (softmax(u_i)_j -
[j = y_i])``. :func:`softmax_ce_value_and_grad` computes the value and that
gradient in a handful of tensor operations and no autograd graph, which is
most of the cost of a small training step (see
:meth:`sklearn_lt.net.LongTailNet._train_step_manual`); :func:`affine_terms`
reads ``(a, c, d)`` from a loss module. ``tests/test_softmax_ce.py`` checks
both against autograd through the loss modules themselves.

torch's CPU ``log_softmax`` along a dimension of fewer than 16 classes is
several times slower than along the other dimension of the transposed
array (about 20 us against 5 us for 128 x 10 floats on one AVX-512 core),
so with few classes the work is done on ``z^T``.
"""

import torch

from .losses import (
    BalancedSoftmaxLoss,
    CrossEntropyLoss,
    LDAMLoss,
    LogitAdjustedLoss,
    VSLoss,
)
from .losses._cross_entropy import (
    _per_class,
    _value_and_grad,
    softmax_ce_value_and_grad,
)

__all__ = ["ClosedFormLoss", "affine_terms", "softmax_ce_value_and_grad"]


def affine_terms(criterion):
    """``(a, c, d)`` of a loss module (each a float64 tensor, a float or
    ``None``), or ``None`` if the module is not one of the losses above, or
    reduces with ``"none"``."""
    if getattr(criterion, "reduction", None) not in ("mean", "sum"):
        return None
    kind = type(criterion)
    if kind is CrossEntropyLoss:
        return None, None, None
    if getattr(criterion, "class_counts", None) is None:
        return None  # the module raises its own error when called
    if kind in (LogitAdjustedLoss, BalancedSoftmaxLoss):
        return None, criterion.offsets, None
    if kind is LDAMLoss:
        scale = float(criterion.scale)
        return scale, None, criterion.margins * scale
    if kind is VSLoss:
        return criterion.multiplicative, criterion.additive, None
    return None


_TERM_BUFFERS = ("class_counts", "offsets", "margins", "multiplicative", "additive")


def _term_sources(criterion):
    """What :func:`affine_terms` is computed from (tensors compared by
    identity, the rest by value)."""
    return (
        type(criterion),
        getattr(criterion, "reduction", None),
        getattr(criterion, "scale", None),
        *(getattr(criterion, name, None) for name in _TERM_BUFFERS),
    )


class ClosedFormLoss:
    """A loss module's value and gradient in closed form, for one dtype and
    device.

    Holds the module's :func:`affine_terms` and class weights converted
    once (they change only when the module's ``weight`` is replaced, as
    deferred re-weighting does, which is checked on every call).

    Parameters
    ----------
    criterion : loss module
        One for which :func:`affine_terms` is not ``None``.
    dtype, device
        Those of the logits.
    """

    def __init__(self, criterion, dtype, device):
        self.criterion = criterion
        self.dtype, self.device = dtype, device
        scale, offset, target_shift = affine_terms(criterion)
        self.terms = (
            _per_class(scale, dtype, device),
            _per_class(offset, dtype, device),
            None if target_shift is None else self._convert(target_shift),
        )
        self._weight_source = object()
        self._weight = None
        self._sources = _term_sources(criterion)

    def is_current(self, criterion, dtype, device):
        """Whether this still computes ``criterion``'s loss for logits of
        ``dtype`` on ``device`` (the same module, with the same terms; its
        class weights are followed on every call anyway)."""
        return (
            criterion is self.criterion
            and dtype == self.dtype
            and device == self.device
            and all(
                a is b or (not torch.is_tensor(a) and a == b)
                for a, b in zip(_term_sources(criterion), self._sources)
            )
        )

    def _convert(self, values):
        return values.to(device=self.device, dtype=self.dtype)

    def value_and_grad(self, outputs, target, sample_weight=None):
        """``(loss, (dloss / dlogits,))`` for the module outputs ``[logits]``."""
        loss, grad = self(outputs[0], target, sample_weight)
        return loss, (grad,)

    def __call__(self, logits, target, sample_weight=None):
        """``(loss, dloss / dlogits)``, as :func:`softmax_ce_value_and_grad`."""
        weight = self.criterion.weight
        if weight is not self._weight_source:
            self._weight_source = weight
            self._weight = None if weight is None else self._convert(weight)
        if sample_weight is not None:
            sample_weight = self._convert(sample_weight)
        return _value_and_grad(
            logits,
            target,
            *self.terms,
            self._weight,
            sample_weight,
            self.criterion.reduction,
        )
