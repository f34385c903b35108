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
    _few_columns,
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


def softmax_ce_value_and_grad(
    logits,
    target,
    scale=None,
    offset=None,
    target_shift=None,
    class_weight=None,
    sample_weight=None,
    reduction="mean",
):
    """Value and gradient of the weighted, reduced cross-entropy of ``u``.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
        ``z``, float32 or float64; may be a transposed view.
    target : LongTensor of shape (n_samples,)
    scale, offset, target_shift : Tensor of shape (n_classes,), float or None
        ``a``, ``c`` and ``d`` of the module docstring (``None``: 1, 0, 0).
    class_weight : Tensor of shape (n_classes,), default=None
    sample_weight : Tensor of shape (n_samples,), default=None
    reduction : {"mean", "sum"}, default="mean"
        ``"mean"`` divides by the sum of the weights (clamped at the
        smallest positive float, so that all-zero weights give 0), as the
        loss modules do.

    Returns
    -------
    loss : Tensor of shape ()
    grad : Tensor of shape (n_samples, n_classes)
        ``dloss / dlogits``, of ``logits``' dtype (a transposed view below
        16 classes).
    """
    dtype, device = logits.dtype, logits.device
    if target_shift is not None:
        target_shift = target_shift.to(device=device, dtype=dtype)
    if class_weight is not None:
        class_weight = class_weight.to(device=device, dtype=dtype)
    if sample_weight is not None:
        sample_weight = sample_weight.to(device=device, dtype=dtype)
    return _value_and_grad(
        logits,
        target,
        _per_class(scale, dtype, device),
        _per_class(offset, dtype, device),
        target_shift,
        class_weight,
        sample_weight,
        reduction,
    )


def _per_class(values, dtype, device):
    """A per-class term in ``dtype`` on ``device``, shaped to broadcast over
    the array :func:`_value_and_grad` works on: a column when the classes
    are few (that array is the transposed logits), else a row."""
    if values is None or isinstance(values, float):
        return values
    shape = (-1, 1) if _few_columns(len(values)) else (1, -1)
    return values.to(device=device, dtype=dtype).view(shape)


def _value_and_grad(
    logits, target, scale, offset, target_shift, class_weight, sample_weight, reduction
):
    """:func:`softmax_ce_value_and_grad` with the per-class terms already in
    the logits' dtype and device, and ``scale`` / ``offset`` shaped as a
    column (fewer than 16 classes) or a row."""
    n, k = logits.shape
    transposed = _few_columns(k)
    work = logits.t().contiguous() if transposed else logits.contiguous()
    class_dim = 0 if transposed else 1
    index = target.view(1, n) if transposed else target.view(n, 1)

    u = work
    if scale is not None:
        u = u * scale
    if offset is not None:
        u = u + offset
    if target_shift is not None:
        if u is work:
            u = u.clone()
        u.scatter_add_(class_dim, index, target_shift[target].neg_().view(index.shape))
    log_p = torch.log_softmax(u, class_dim)
    nll = log_p.gather(class_dim, index).view(n).neg_()

    weights = None
    if class_weight is not None:
        weights = class_weight[target]
    if sample_weight is not None:
        sample_weight = sample_weight.view(n)
        weights = sample_weight if weights is None else weights * sample_weight
    if weights is None:
        if reduction == "mean":
            loss, r = nll.mean(), 1.0 / n
        else:
            loss, r = nll.sum(), 1.0
    else:
        total = weights.sum()
        if reduction == "mean":
            total = total.clamp_min(torch.finfo(logits.dtype).tiny)
            loss, r = nll.dot(weights) / total, weights / total
        else:
            loss, r = nll.dot(weights), weights

    grad = log_p.exp_()  # softmax(u), in log_p's buffer
    if isinstance(r, float):
        # softmax - onehot, times r: the one-hot entries get r * (p - 1).
        if r != 1.0:
            grad.mul_(r)
        grad.scatter_add_(
            class_dim,
            index,
            torch.full(index.shape, -r, dtype=logits.dtype, device=logits.device),
        )
    else:
        r = r.view(index.shape)
        grad.mul_(r).scatter_add_(class_dim, index, r.neg())
    if scale is not None:
        grad.mul_(scale)
    return loss, (grad.t() if transposed else grad)


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
