"""The label-distribution-aware margin (LDAM) loss (Cao et al., NeurIPS 2019).

Its closed form: the cross-entropy of ``s * (f - Delta_y e_y)``, a member of
the softmax cross-entropy family (:mod:`._cross_entropy`) with ``a = s`` and
``d = s * Delta``.
"""

import torch.nn.functional as F

from ._common import _check_nonnegative, _reduced_ce, _upcast, ldam_margins
from ._cross_entropy import _SoftmaxCrossEntropyLoss


def _ldam_adjusted(logits, target, margins, scale):
    margins = margins.to(device=logits.device, dtype=logits.dtype)
    one_hot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
    return scale * (logits - one_hot * margins[target].unsqueeze(1))


def ldam_loss(
    logits,
    target,
    class_counts,
    max_margin=0.5,
    scale=30.0,
    weight=None,
    *,
    sample_weight=None,
    reduction="mean",
):
    r"""Label-distribution-aware margin (LDAM) loss (Cao et al., NeurIPS 2019).

    ``l_i = CE(s * (f(x_i) - Delta_{y_i} e_{y_i}), y_i)`` with margins
    ``Delta_k = C / n_k^(1/4)``, ``C`` such that ``max_k Delta_k = max_margin``.
    Meant for cosine logits in ``[-1, 1]`` from a normalised head; ``scale``
    is ``s`` in Cao et al.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    target : LongTensor of shape (n_samples,)
    class_counts : array-like of shape (n_classes,)
    max_margin : float, default=0.5
        Margin of the rarest class.
    scale : float, default=30.0
        Multiplies all (margin-adjusted) logits.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`.

    Returns
    -------
    loss : Tensor

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[0.2, 0.1]])
    >>> round(ldam_loss(logits, torch.tensor([0]), [16, 1], scale=1.0).item(), 4)
    0.771
    """
    _check_nonnegative(scale, "scale")
    margins = ldam_margins(class_counts, max_margin)
    logits, dtype = _upcast(logits)
    adjusted = _ldam_adjusted(logits, target, margins, scale)
    return _reduced_ce(adjusted, target, weight, sample_weight, reduction, dtype)


class LDAMLoss(_SoftmaxCrossEntropyLoss):
    """Module form of :func:`ldam_loss`; ``margins`` is a buffer.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,), default=None
    max_margin : float, default=0.5
    scale : float, default=30.0
    weight : array-like of shape (n_classes,), default=None
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    def __init__(
        self,
        class_counts=None,
        max_margin=0.5,
        scale=30.0,
        weight=None,
        reduction="mean",
    ):
        super().__init__(class_counts, weight, reduction)
        _check_nonnegative(max_margin, "max_margin")
        _check_nonnegative(scale, "scale")
        self.max_margin = max_margin
        self.scale = scale
        margins = (
            None if class_counts is None else ldam_margins(class_counts, max_margin)
        )
        self.register_buffer("margins", margins)

    _term_sources = ("margins", "scale")

    @property
    def logit_scale(self):
        return self.scale

    def _affine_terms(self):
        # CE(s * (f - Delta_y e_y)): a = s, d = s * Delta.
        scale = float(self.scale)
        return scale, None, self.margins * scale

    def forward(self, logits, target, sample_weight=None):
        self._require_counts()
        logits, dtype = _upcast(logits)
        margins = self._buffer_like("margins", logits)
        adjusted = _ldam_adjusted(logits, target, margins, self.scale)
        return self._finish(adjusted, target, sample_weight, dtype)
