"""What every loss shares: class counts and the values built from them,
argument checks, weighting and reduction, and the base of the loss modules
(:class:`_CountLoss`), which defines the step protocol
(:meth:`_CountLoss.value_and_grad`)."""

import contextlib
import math
from numbers import Real

import torch
import torch.nn.functional as F
from torch import nn

_REDUCTIONS = ("mean", "sum", "none")


def _counts_tensor(class_counts):
    """Validate counts and return them as a float64 tensor on the CPU."""
    if class_counts is None:
        raise ValueError(
            "class_counts is required: pass the number of training examples "
            "of each class (for a skorch criterion: criterion__class_counts)."
        )
    counts = torch.as_tensor(class_counts, dtype=torch.float64).detach().cpu()
    if counts.ndim != 1 or counts.numel() == 0:
        raise ValueError(
            "class_counts must be a non-empty 1-d array, got shape "
            f"{tuple(counts.shape)}."
        )
    if not torch.isfinite(counts).all():
        raise ValueError("class_counts must be finite.")
    if (counts < 1).any():
        bad = torch.nonzero(counts < 1).flatten().tolist()
        raise ValueError(
            "Every class needs at least one training example; class_counts "
            f"has counts below 1 at class indices {bad}."
        )
    return counts


def log_prior(class_counts):
    """Log class priors ``log(n_k / sum_j n_j)`` as a float64 tensor.

    Examples
    --------
    >>> [round(p, 6) for p in log_prior([1, 3]).exp().tolist()]
    [0.25, 0.75]
    """
    counts = _counts_tensor(class_counts)
    return torch.log(counts) - torch.log(counts.sum())


def ldam_margins(class_counts, max_margin=0.5):
    """LDAM margins ``Delta_k = C / n_k^(1/4)``, the largest equal to ``max_margin``.

    Examples
    --------
    >>> ldam_margins([16, 1], max_margin=0.5).tolist()
    [0.25, 0.5]
    """
    _check_nonnegative(max_margin, "max_margin")
    counts = _counts_tensor(class_counts)
    raw = counts.pow(-0.25)
    return raw * (max_margin / raw.max())


def _is_finite_real(value):
    return (
        not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
    )


def _check_nonnegative(value, name):
    if not _is_finite_real(value) or not value >= 0:
        raise ValueError(
            f"{name} must be a finite, non-negative real number, got {value!r}."
        )


def _check_temperature(temperature):
    if not _is_finite_real(temperature) or not temperature > 0:
        raise ValueError(
            f"temperature must be a finite, positive real, got {temperature!r}."
        )


def _check_real(value, name):
    if not _is_finite_real(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}.")


def _upcast(logits):
    """Compute in float32 when given half precision; remember the input dtype."""
    dtype = logits.dtype
    if dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return logits, dtype


def _reduce(per_example, target, weight, sample_weight, reduction, out_dtype):
    """Apply class and example weights, then reduce (see the module docstring)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
    v = None
    if weight is not None:
        v = torch.as_tensor(weight, dtype=per_example.dtype, device=per_example.device)
        v = v[target]
    if sample_weight is not None:
        s = torch.as_tensor(
            sample_weight, dtype=per_example.dtype, device=per_example.device
        )
        v = s if v is None else v * s
    if v is None:
        if reduction == "mean":
            out = per_example.mean()
        elif reduction == "sum":
            out = per_example.sum()
        else:
            out = per_example
    else:
        weighted = per_example * v
        if reduction == "mean":
            # An all-zero weight batch contributes zero loss, not 0/0.
            out = weighted.sum() / v.sum().clamp_min(torch.finfo(v.dtype).tiny)
        elif reduction == "sum":
            out = weighted.sum()
        else:
            out = weighted
    return out.to(out_dtype)


def _ce_per_example(logits, target):
    return F.cross_entropy(logits, target, reduction="none")


def _reduced_ce(adjusted, target, weight, sample_weight, reduction, out_dtype):
    """Cross-entropy of ``adjusted`` logits, weighted and reduced as by
    :func:`_reduce`.

    Without weights a scalar reduction is F.cross_entropy's own: one fused
    operation and one autograd node per mini-batch instead of three.
    """
    if weight is None and sample_weight is None and reduction in ("mean", "sum"):
        return F.cross_entropy(adjusted, target, reduction=reduction).to(out_dtype)
    return _reduce(
        _ce_per_example(adjusted, target),
        target,
        weight,
        sample_weight,
        reduction,
        out_dtype,
    )


def _example_weights(weight, sample_weight, target, dtype, device):
    """Per-example weights ``v_i = w[y_i] s_i`` (``None`` when all are 1)."""
    v = None
    if weight is not None:
        v = torch.as_tensor(weight, dtype=dtype, device=device)[target]
    if sample_weight is not None:
        s = torch.as_tensor(sample_weight, dtype=dtype, device=device)
        v = s if v is None else v * s
    return v


def _reduction_coefficients(reduction, v, n, mask=None):
    """``a`` (a vector, or one number for all) with ``reduce(l) = sum_i a_i l_i``.

    As :func:`_reduce` reduces; ``mask`` (0/1 floats) multiplies the weights,
    as anchors without a positive do in :func:`_reduce_anchors`.
    """
    if mask is not None:
        v = mask if v is None else v * mask
    if v is None:
        return 1.0 if reduction == "sum" else 1.0 / n
    if reduction == "sum":
        return v
    # An all-zero weight batch contributes zero loss, not 0/0.
    return v / v.sum().clamp_min(torch.finfo(v.dtype).tiny)


def _few_columns(n_columns):
    """Whether a softmax over ``n_columns`` is faster done along the first
    axis of the transposed array: torch's CPU kernel along a dimension of
    fewer than 16 entries is several times slower than along the other one
    (measured on one AVX-512 core; used by the lean ELM path,
    :mod:`sklearn_lt.losses._cross_entropy` and the net's hand-written step)."""
    return n_columns < 16


def _log_softmax_rows(values):
    """``torch.log_softmax(values, dim=1)``, contiguous, faster for few
    columns: torch's CPU kernel along a dimension of fewer than 16 entries
    is several times slower than along the other dimension of the transposed
    array (about 20 us against 8 us, round trip included, for 128 x 10
    floats on one core)."""
    if not _few_columns(values.shape[1]) or values.device.type != "cpu":
        return torch.log_softmax(values, dim=1)
    return torch.log_softmax(values.t().contiguous(), dim=0).t().contiguous()


def _no_autocast(device_type):
    """A context that switches autocast off (a no-op when it is off already,
    which spares entering ``torch.autocast`` on every mini-batch)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def _column(coefficients):
    """Broadcast per-row coefficients (a vector or one number) over columns."""
    if isinstance(coefficients, torch.Tensor):
        return coefficients.unsqueeze(1)
    return coefficients


class _CountLoss(nn.Module):
    """Base of the loss modules: holds class counts and class weights.

    ``class_counts`` may be ``None`` at construction (skorch builds the
    criterion before it has seen ``y``); the loss raises a clear error if it
    is still ``None`` when called. ``weight`` is a buffer that may be
    replaced during training (deferred re-weighting).

    ``uses_embeddings`` tells a net whether to pass ``(logits, embeddings)``;
    ``logit_scale`` is the factor by which the raw module outputs are
    multiplied to give the logits used for prediction.
    """

    uses_embeddings = False
    logit_scale = 1.0

    def __init__(self, class_counts=None, weight=None, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {_REDUCTIONS}, got {reduction!r}."
            )
        self.reduction = reduction
        counts = None if class_counts is None else _counts_tensor(class_counts)
        self.register_buffer("class_counts", counts)
        self.register_buffer("weight", None)
        self.set_weight(weight)

    def set_weight(self, weight):
        """Replace the per-class weights (``None`` switches them off)."""
        if weight is None:
            self.weight = None
            return
        like = self.class_counts
        weight = torch.as_tensor(weight, dtype=torch.float64)
        if like is not None:
            weight = weight.to(like.device)
        self.weight = weight

    def __getstate__(self):
        # The cache of derived constants is rebuilt on demand: it is neither
        # pickled nor deep-copied (skorch clones criteria).
        state = super().__getstate__()
        state.pop("_constants_cache", None)
        state.pop("_closed_form_cache", None)
        return state

    def _cached_constants(self, dtype, device, build, params, name="class_counts"):
        """``build(buffer, dtype, device)`` for the buffer ``name``, cached.

        Computed once per buffer, parameters, dtype and device instead of
        once per mini-batch. The key holds the buffer itself (compared by
        identity) and its version counter, so a new buffer (``set_params``
        re-initialisation, ``.to()``) or one changed in place
        (``load_state_dict``) rebuilds it, with class counts validated again.
        A plain attribute, not a buffer: never in the ``state_dict``.
        """
        source = getattr(self, name)
        key = (source._version, dtype, device, params)
        caches = self.__dict__.setdefault("_constants_cache", {})
        cached = caches.get(name)
        if cached is not None and cached[0] is source and cached[1] == key:
            return cached[2]
        constants = build(source, dtype, device)
        caches[name] = (source, key, constants)
        return constants

    def _buffer_like(self, name, like):
        """Buffer ``name`` in the dtype and on the device of ``like``.

        The buffers are float64; casting them on every mini-batch would cost
        a copy each time.
        """
        tensor = getattr(self, name)
        if tensor.dtype == like.dtype and tensor.device == like.device:
            return tensor
        return self._cached_constants(
            like.dtype,
            like.device,
            lambda source, dtype, device: source.to(device=device, dtype=dtype),
            (),
            name=name,
        )

    def value_and_grad(self, logits, target, embeddings=None, sample_weight=None):
        """The loss and its gradients in closed form, or ``None``.

        The step protocol: a training step (:class:`sklearn_lt.LongTailNet`'s)
        asks the loss for its value and its gradients with respect to its
        inputs, and back-propagates those through the module; where the
        answer is ``None`` it differentiates :meth:`forward` with autograd
        instead. The step never looks at the loss's type. This default has
        no closed form; a loss with one overrides it (the softmax
        cross-entropy family, :class:`FocalLoss`, :class:`ELMLoss`).

        Parameters
        ----------
        logits : Tensor of shape (n_samples, n_classes)
            May be a transposed view (the net computes the logits of few
            classes as ``(n_classes, n_samples)``).
        target : LongTensor of shape (n_samples,)
            On the device of ``logits``.
        embeddings : Tensor of shape (n_samples, n_dims), default=None
            For a loss with ``uses_embeddings``.
        sample_weight : Tensor of shape (n_samples,), default=None

        Returns
        -------
        None or (loss, grads)
            ``None``: no closed form for these inputs (use autograd through
            :meth:`forward`). Else ``loss``, the value of the forward call
            (a 0-d tensor, without an autograd graph), and ``grads``, a
            tuple with its gradient with respect to ``logits`` (in the
            layout of ``logits``) and, for a loss with ``uses_embeddings``,
            with respect to ``embeddings``.
        """
        return None

    def _require_counts(self):
        if self.class_counts is None:
            raise RuntimeError(
                f"{type(self).__name__} has no class_counts: pass class_counts= "
                "(criterion__class_counts= in skorch), or train it with "
                "sklearn_lt.LongTailNet, which sets them from y."
            )

    def _finish(self, adjusted, target, sample_weight, dtype):
        """Cross-entropy of the adjusted logits, weighted and reduced."""
        return _reduced_ce(
            adjusted, target, self.weight, sample_weight, self.reduction, dtype
        )
