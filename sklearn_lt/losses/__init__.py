r"""Long-tail losses in plain PyTorch, built from per-class training counts.

Every loss comes twice: as a function (``ldam_loss(logits, target,
class_counts)``) and as a thin :class:`torch.nn.Module` that only delegates
(``LDAMLoss(class_counts=...)``), usable as a skorch ``criterion`` with the
counts passed as ``criterion__class_counts``. Margins and log-priors are
registered buffers, so they follow ``.to(device)``.

Notation: ``n_k`` is the number of training examples of class ``k``,
``pi_k = n_k / sum_j n_j`` its prior, ``f(x)`` the logits, ``y`` the target.

Weighting and reduction are shared by every loss. With per-class weights
``w`` and per-example weights ``s``, example ``i`` carries weight
``v_i = w[y_i] * s_i`` and ``reduction="mean"`` returns
``sum_i v_i * l_i / sum_i v_i``, the convention of
:func:`torch.nn.functional.cross_entropy` with ``weight``; ``"sum"`` returns
``sum_i v_i * l_i`` and ``"none"`` the vector ``v_i * l_i``.

Half-precision inputs (float16, bfloat16) are computed in float32 and the
result is cast back, so that ``scale * logits`` cannot overflow.

The losses and their papers: LDAM [1]_, logit adjustment [2]_, balanced
softmax [3]_, VS [4]_, focal [5]_, ELM [6]_ and the supervised contrastive
loss its embedding term builds on [7]_.

The package holds one module per family, each loss's closed form beside it
(see the "Architecture" page of the user guide): ``_common`` (counts,
checks, reduction, the base :class:`_CountLoss` and its step protocol
``value_and_grad``), ``_cross_entropy`` (cross-entropy and the closed form
of the softmax cross-entropy family), ``_ldam``, ``_logit_adjusted``,
``_vs``, ``_focal`` and ``_elm``.

References
----------
.. [1] K. Cao, C. Wei, A. Gaidon, N. Arechiga, T. Ma, "Learning Imbalanced
   Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019.
.. [2] A. K. Menon, S. Jayasumana, A. S. Rawat, H. Jain, A. Veit, S. Kumar,
   "Long-tail learning via logit adjustment", ICLR 2021.
.. [3] J. Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual
   Recognition", NeurIPS 2020.
.. [4] G. R. Kini, O. Paraskevas, S. Oymak, C. Thrampoulidis, "Label-Imbalanced
   and Group-Sensitive Classification under Overparameterization",
   NeurIPS 2021.
.. [5] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar, "Focal Loss for
   Dense Object Detection", ICCV 2017.
.. [6] W. Jitkrittum, A. K. Menon, A. S. Rawat, S. Kumar, "ELM: Embedding and
   Logit Margins for Long-Tail Learning", arXiv:2204.13208, 2022.
.. [7] P. Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
"""

from ._common import ldam_margins, log_prior
from ._cross_entropy import CrossEntropyLoss, cross_entropy_loss
from ._elm import ELMLoss, elm_loss, supervised_contrastive_margin_loss
from ._focal import FocalLoss, focal_loss
from ._ldam import LDAMLoss, ldam_loss
from ._logit_adjusted import (
    BalancedSoftmaxLoss,
    LogitAdjustedLoss,
    balanced_softmax_loss,
    logit_adjusted_loss,
)
from ._vs import VSLoss, vs_loss

__all__ = [
    "LOSSES",
    "BalancedSoftmaxLoss",
    "CrossEntropyLoss",
    "ELMLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "VSLoss",
    "balanced_softmax_loss",
    "cross_entropy_loss",
    "elm_loss",
    "focal_loss",
    "get_loss_class",
    "ldam_loss",
    "ldam_margins",
    "log_prior",
    "logit_adjusted_loss",
    "supervised_contrastive_margin_loss",
    "vs_loss",
]


LOSSES = {
    "ce": CrossEntropyLoss,
    "ldam": LDAMLoss,
    "logit_adjusted": LogitAdjustedLoss,
    "balanced_softmax": BalancedSoftmaxLoss,
    "vs": VSLoss,
    "focal": FocalLoss,
    "elm": ELMLoss,
}
"""Loss names accepted by the estimators' ``loss`` parameter."""


def get_loss_class(name):
    """Return the loss module class registered under ``name``."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown loss {name!r}; expected one of {sorted(LOSSES)}."
        ) from None
