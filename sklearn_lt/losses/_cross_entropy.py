"""Cross-entropy, and the closed form of the softmax cross-entropy family.

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
most of the cost of a small training step. Each loss of the family says
what its ``(a, c, d)`` are (:meth:`_SoftmaxCrossEntropyLoss._affine_terms`,
beside the loss in its own module); :class:`_SoftmaxCrossEntropyLoss` turns
them into the loss's :meth:`~_CountLoss.value_and_grad`.
``tests/test_softmax_ce.py`` checks both against autograd through the loss
modules themselves.

torch's CPU ``log_softmax`` along a dimension of fewer than 16 classes is
several times slower than along the other dimension of the transposed
array (about 20 us against 5 us for 128 x 10 floats on one AVX-512 core),
so with few classes the work is done on ``z^T``.
"""

import torch

from ._common import _CountLoss, _few_columns, _reduced_ce, _upcast

_FULL_PRECISION = (torch.float32, torch.float64)


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


def _same_sources(cached, current):
    """Whether two tuples of term sources match: tensors by identity and
    version counter (an in-place change, as ``load_state_dict`` makes,
    counts as a change), anything else by value."""
    return all(
        (a is b and (not torch.is_tensor(a) or version == b._version))
        or (not torch.is_tensor(a) and a == b)
        for (a, version), b in zip(cached, current)
    )


class _SoftmaxCrossEntropyLoss(_CountLoss):
    """Base of the losses that are the cross-entropy of an affine map of the
    logits (see the module docstring).

    A subclass gives its terms in :meth:`_affine_terms` and names what they
    are computed from in ``_term_sources``; this class gives
    :meth:`value_and_grad` in closed form, with the terms converted to the
    logits' dtype and device once and kept until a source changes.
    """

    # Attributes (buffers or hyper-parameters) the affine terms come from.
    _term_sources = ()
    # Whether the terms need class counts (cross-entropy's do not).
    _needs_counts = True

    def _affine_terms(self):
        """``(a, c, d)``: each a float64 tensor of shape (n_classes,), a
        float or ``None`` (1, 0, 0)."""
        raise NotImplementedError

    def _closed_form_terms(self, dtype, device):
        """``(a, c, d, class weights)`` in ``dtype`` on ``device``, shaped as
        :func:`_value_and_grad` uses them; cached on the module (a plain
        attribute, never in the ``state_dict``)."""
        sources = (self.weight, *(getattr(self, name) for name in self._term_sources))
        cache = self.__dict__.get("_closed_form_cache")
        if (
            cache is not None
            and cache[0] == dtype
            and cache[1] == device
            and _same_sources(cache[2], sources)
        ):
            return cache[3]
        scale, offset, target_shift = self._affine_terms()
        weight = self.weight
        terms = (
            _per_class(scale, dtype, device),
            _per_class(offset, dtype, device),
            None
            if target_shift is None
            else target_shift.to(device=device, dtype=dtype),
            None if weight is None else weight.to(device=device, dtype=dtype),
        )
        versions = tuple(
            (source, source._version if torch.is_tensor(source) else None)
            for source in sources
        )
        self.__dict__["_closed_form_cache"] = (dtype, device, versions, terms)
        return terms

    def value_and_grad(self, logits, target, embeddings=None, sample_weight=None):
        """The loss and its gradient with respect to ``logits``, in closed
        form (see :meth:`_CountLoss.value_and_grad`).

        ``None`` for reduction ``"none"`` and half-precision logits.
        """
        if (
            self.reduction == "none"
            or logits.dtype not in _FULL_PRECISION
            or logits.ndim != 2
        ):
            return None
        if self._needs_counts:
            self._require_counts()
        dtype, device = logits.dtype, logits.device
        scale, offset, target_shift, weight = self._closed_form_terms(dtype, device)
        if sample_weight is not None:
            sample_weight = torch.as_tensor(sample_weight).to(
                device=device, dtype=dtype
            )
        if logits.requires_grad and torch.is_grad_enabled():
            logits = logits.detach()
        loss, grad = _value_and_grad(
            logits,
            target,
            scale,
            offset,
            target_shift,
            weight,
            sample_weight,
            self.reduction,
        )
        return loss, (grad,)


def cross_entropy_loss(
    logits, target, weight=None, *, sample_weight=None, reduction="mean"
):
    """Softmax cross-entropy with optional per-class weights.

    ``l_i = -f_{y_i}(x_i) + log sum_k exp f_k(x_i)``.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    target : LongTensor of shape (n_samples,)
    weight : Tensor of shape (n_classes,), default=None
        Per-class weights.
    sample_weight : Tensor of shape (n_samples,), default=None
        Per-example weights.
    reduction : {"mean", "sum", "none"}, default="mean"

    Returns
    -------
    loss : Tensor
    """
    logits, dtype = _upcast(logits)
    return _reduced_ce(logits, target, weight, sample_weight, reduction, dtype)


class CrossEntropyLoss(_SoftmaxCrossEntropyLoss):
    """Module form of :func:`cross_entropy_loss` (counts accepted, unused)."""

    _needs_counts = False

    def _affine_terms(self):
        return None, None, None

    def forward(self, logits, target, sample_weight=None):
        logits, dtype = _upcast(logits)
        return self._finish(logits, target, sample_weight, dtype)
