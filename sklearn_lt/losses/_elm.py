"""ELM: embedding and logit margins (Jitkrittum et al., 2022), and the
supervised contrastive loss with class-dependent margins that its embedding
term is (Khosla et al., NeurIPS 2020, with margins).

One implementation: :func:`_elm_lean_value_and_grad` is ELM's closed form
(value and gradients with respect to logits and embeddings, no autograd),
which :meth:`ELMLoss.value_and_grad` hands to a training step and
:class:`_ELMLean` wraps for autograd; inputs it does not cover (reduction
``"none"``, half precision, a single row) go through the two terms'
functions and autograd (:func:`_elm_loss_general`).
"""

import torch
import torch.nn.functional as F

from ._common import (
    _check_nonnegative,
    _check_real,
    _check_temperature,
    _column,
    _CountLoss,
    _example_weights,
    _log_softmax_rows,
    _no_autocast,
    _reduce,
    _reduction_coefficients,
    _upcast,
    ldam_margins,
    log_prior,
)
from ._ldam import ldam_loss
from ._logit_adjusted import logit_adjusted_loss


class _RefuseDoubleBackward(torch.autograd.Function):
    """Pass a hand-written gradient through; fail if it is differentiated.

    The other inputs only tie the result to the graph, so that a second
    derivative reaches :meth:`backward` and raises instead of treating the
    hand-written gradient as a constant.
    """

    @staticmethod
    def forward(ctx, value, *graph_inputs):
        return value.clone()

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise RuntimeError(
            "ELM's margin SupCon term has a hand-written backward that is not "
            "itself differentiable: second derivatives (double backward) "
            "through it are not supported."
        )


class _SupConMargin(torch.autograd.Function):
    r"""Per-anchor margin SupCon loss on L2-normalised embeddings ``z``.

    Forward and backward are written out so that the only ``n x n`` work is
    the similarity matrix, one exponential of it and three matrix products:
    sums over positive pairs use per-class sums of the embeddings instead of
    masked ``n x n`` arrays, and autograd keeps one ``n x n`` buffer instead
    of a dozen. With ``A_ij = s_ij / T - r_i [y_j = y_i]`` for ``j != i``
    (``r_i = rho_{y_i} / T``), ``m_i = max_j A_ij``,
    ``D_i = sum_{j != i} exp(A_ij - m_i)`` and ``C_k`` the sum of the
    embeddings of class ``k``:

    ``l_i = m_i + log D_i - (z_i . C_{y_i} - z_i . z_i) / (T |P(i)|) + r_i``

    and, with ``Q_ij = exp(A_ij - m_i) / D_i``,
    ``dl_i / ds_ij = (Q_ij - [j in P(i)] / |P(i)|) / T``, which reaches ``z``
    through ``s = z z^T``. Needs at least two rows.
    """

    @staticmethod
    def forward(ctx, z, target, anchor_margins, inv_temperature):
        # Under autocast, torch.mm would hand back half-precision products
        # that the backward (run outside autocast) cannot mix with z: work in
        # z's own precision throughout (float32 for half inputs, upcast by
        # the caller).
        with torch.autocast(z.device.type, enabled=False):
            return _SupConMargin._forward(
                ctx, z, target, anchor_margins, inv_temperature
            )

    @staticmethod
    def _forward(ctx, z, target, anchor_margins, inv_temperature):
        n_labels = int(target.max()) + 1
        n_positive = torch.bincount(target, minlength=n_labels)[target] - 1
        has_positive = n_positive > 0
        positive_count = n_positive.clamp_min(1).to(z.dtype)
        r = anchor_margins * inv_temperature
        class_sums = z.new_zeros(n_labels, z.shape[1]).index_add_(0, target, z)
        anchor_sums = class_sums[target]
        # A, then exp(A - m), in one n x n buffer.
        scaled = torch.mm(z, z.T).mul_(inv_temperature)
        same = target.unsqueeze(1) == target.unsqueeze(0)
        scaled.sub_(torch.where(same, r.unsqueeze(1), 0.0))
        del same
        scaled.fill_diagonal_(float("-inf"))
        row_max = scaled.amax(dim=1)
        exp_scaled = scaled.sub_(row_max.unsqueeze(1)).exp_()
        denominator = exp_scaled.sum(dim=1)
        positive_similarity = (z * anchor_sums).sum(dim=1) - (z * z).sum(dim=1)
        per_anchor = (
            row_max
            + torch.log(denominator)
            - positive_similarity * inv_temperature / positive_count
            + r
        )
        per_anchor = torch.where(has_positive, per_anchor, 0.0)
        ctx.save_for_backward(
            z,
            target,
            exp_scaled,
            denominator,
            positive_count,
            has_positive,
            anchor_sums,
        )
        ctx.inv_temperature = inv_temperature
        ctx.n_labels = n_labels
        ctx.mark_non_differentiable(has_positive)
        return per_anchor, has_positive

    @staticmethod
    def backward(ctx, grad_per_anchor, _):
        with (
            torch.no_grad(),
            torch.autocast(grad_per_anchor.device.type, enabled=False),
        ):
            grad = _SupConMargin._backward(ctx, grad_per_anchor)
        if torch.is_grad_enabled():
            # create_graph=True: the result must not pose as differentiable.
            grad = _RefuseDoubleBackward.apply(
                grad, ctx.saved_tensors[0], grad_per_anchor
            )
        return grad, None, None, None

    @staticmethod
    def _backward(ctx, grad_per_anchor):
        (
            z,
            target,
            exp_scaled,
            denominator,
            positive_count,
            has_positive,
            anchor_sums,
        ) = ctx.saved_tensors
        g = torch.where(has_positive, grad_per_anchor.to(z.dtype), 0.0)
        # Softmax part: sum_j g_i Q_ij z_j for the row, sum_i g_i Q_ij z_i for
        # the column of s. (Summing M = diag(g / D) exp_scaled and its
        # transpose first would save one n x n x d product, but on a CPU the
        # transposed n x n pass costs as much as the product.) exp_scaled is
        # saved for the backward and left as it is (retain_graph).
        c = (g / denominator).unsqueeze(1)
        grad = torch.mm(exp_scaled, z).mul_(c)
        grad.add_(torch.mm(exp_scaled.T, c * z))
        # Positive part: b_i (C_{y_i} - z_i) for the row, and
        # sum_{j in P(i)} b_j z_j for the column, with b_i = g_i / |P(i)|.
        b = (g / positive_count).unsqueeze(1)
        bz = b * z
        weighted_sums = z.new_zeros(ctx.n_labels, z.shape[1]).index_add_(0, target, bz)
        grad.sub_(b * anchor_sums)
        grad.sub_(weighted_sums[target])
        grad.add_(bz, alpha=2.0)
        return grad.mul_(ctx.inv_temperature)


def _supcon_margin_per_anchor(embeddings, target, anchor_margins, temperature):
    """Per-anchor margin SupCon loss and a mask of anchors with a positive."""
    z = F.normalize(embeddings, dim=1)
    target = target.to(z.device)
    if z.shape[0] < 2:
        # No anchor has a positive: zero loss, still attached to the graph.
        return (z * 0.0).sum(dim=1), torch.zeros_like(target, dtype=torch.bool)
    margins = anchor_margins.to(z.device, z.dtype)
    return _SupConMargin.apply(z, target, margins, 1.0 / temperature)


# --------------------------------------------------------------------------
# ELM in one pass: value and gradient together (mean / sum reductions)
# --------------------------------------------------------------------------
# Up to this many rows diag(b) P (see _elm_lean_value_and_grad) is formed as
# an n x n matrix; above, class sums stand in for it and the softmax is done in
# place. Measured (1 thread, 100 dims): the matrix form is 20% faster at 128
# to 384 rows, 25% slower at 512, where n x n buffers outgrow the caches.
_PAIR_MATRIX_MAX_ROWS = 384
_NORMALIZE_EPS = 1e-12  # F.normalize's default: z = e / max(||e||, eps)


def _elm_lean_value_and_grad(
    logits,
    embeddings,
    target,
    onehot,
    logit_scale,
    logit_shift,
    neg_rho,
    inv_temperature,
    embedding_weight,
    v,
    reduction,
    need_grad,
):
    """ELM's value (and, if ``need_grad``, its gradients) without autograd.

    Same mathematics as the logit term (:func:`logit_adjusted_loss` or
    :func:`ldam_loss`, written as ``CE(logit_scale * f + logit_shift, y)``)
    plus ``embedding_weight`` times :func:`supervised_contrastive_margin_loss`
    (per-class margins ``rho = -neg_rho``) with F.normalize folded in, for
    ``reduction`` "mean" or "sum": the loss is then ``sum_i a_i l_i`` with
    coefficients ``a`` known before the backward, so the gradients are
    formed here and the backward only scales them.

    In the notation of :class:`_SupConMargin`, with ``L = log_softmax(A)``
    (rows), ``P`` the 0/1 matrix of positive pairs and ``b_i = a_i / |P(i)|``,
    the embedding term is ``-<L, diag(b) P>`` and its gradient in ``s`` is
    ``(G + G^T) / T`` with ``G = diag(a) exp(L) - diag(b) P``. So the ``n x n``
    work is one product for ``A`` (margins included), a softmax, a dot
    product and one product for the gradient (two above
    ``_PAIR_MATRIX_MAX_ROWS`` rows); ``diag(b) P`` is a product of one-hot
    rows ``Y`` (``n x k x n``) for few rows and class sums ``Y^T z`` for many.
    """
    n = logits.shape[0]
    dtype = logits.dtype
    # Logit term: cross-entropy of logit_scale * f + logit_shift.
    log_p = _log_softmax_rows(torch.add(logit_shift, logits, alpha=logit_scale))
    alpha = _reduction_coefficients(reduction, v, n)
    if isinstance(alpha, torch.Tensor):
        logit_value = torch.dot((log_p * onehot).sum(dim=1), alpha).neg_()
    else:
        logit_value = torch.dot(log_p.view(-1), onehot.view(-1)).mul_(-alpha)

    # Embedding term on z = e / max(||e||, eps).
    norm = torch.linalg.vector_norm(embeddings, dim=1)
    inv_norm = norm.clamp_min(_NORMALIZE_EPS).reciprocal_()
    z = embeddings * inv_norm.unsqueeze(1)
    n_positive = torch.mv(onehot, onehot.sum(dim=0)).sub_(1.0)
    beta = _reduction_coefficients(reduction, v, n, mask=(n_positive > 0).to(dtype))
    onehot_t = onehot.T
    # A = s / T - (rho_{y_i} / T) [y_j = y_i] as one product of rows
    # [z_i, -rho_{y_i} e_{y_i}] and [z_j, e_{y_j}] / T (row i of
    # onehot * neg_rho is -rho_{y_i} e_{y_i}): k more columns cost little, a
    # separate n x n margin matrix a pass over n x n memory. Its diagonal is
    # excluded below.
    margin_columns = onehot * neg_rho
    scaled = torch.mm(
        torch.cat([z, margin_columns], dim=1),
        torch.cat([z, onehot], dim=1).mul_(inv_temperature).T,
    )
    # b_i = a_i / |P(i)|, 0 for anchors without a positive.
    b = beta / n_positive.clamp_min(1.0)
    pair_matrix = n <= _PAIR_MATRIX_MAX_ROWS
    if pair_matrix:
        # Few rows, where the number of operations counts: diag(b) P as an
        # n x n matrix, used in the value and in G. The lowest finite value,
        # not -inf, on the diagonal: exp gives 0 all the same, and the zero
        # diagonal of diag(b) P times it stays 0 in the dot product.
        scaled.fill_diagonal_(torch.finfo(dtype).min)
        log_q = torch.log_softmax(scaled, dim=1)
        del scaled
        weighted_positive = torch.mm(b.unsqueeze(1) * onehot, onehot_t)
        weighted_positive.fill_diagonal_(0.0)
        embedding_value = torch.dot(log_q.view(-1), weighted_positive.view(-1))
    else:
        # Many rows, where every n x n pass and allocation counts: the
        # softmax in place, and sums over positives through the class sums
        # C = Y^T z. With L_ij = A_ij - lse_i,
        # <L, diag(b) P> = sum_i b_i sum_{j in P(i)} A_ij - sum_i a_i lse_i and
        # sum_{j in P(i)} A_ij = (z_i . C_{y_i} - z_i . z_i - rho_{y_i} |P(i)|) / T.
        scaled.fill_diagonal_(float("-inf"))
        row_max = scaled.amax(dim=1)
        exp_scaled = scaled.sub_(row_max.unsqueeze(1)).exp_()
        denominator = exp_scaled.sum(dim=1)
        class_sums = torch.mm(onehot_t, z)
        own = torch.linalg.vecdot(torch.mm(onehot, class_sums), z)
        own.sub_((norm * inv_norm).square_())
        own.add_(margin_columns.sum(dim=1) * n_positive).mul_(inv_temperature)
        embedding_value = torch.dot(b, own) - torch.dot(
            beta, denominator.log().add_(row_max)
        )
    # The dot products are minus the embedding term.
    value = torch.add(logit_value, embedding_value, alpha=-embedding_weight)
    if not need_grad:
        return value, None, None, alpha

    # d/df: logit_scale * a_i (softmax(adjusted_i) - e_{y_i}).
    grad_logits = log_p.exp_().sub_(onehot).mul_(_column(alpha) * logit_scale)

    # d/dz = (G + G^T) z, times embedding_weight / T applied with the norm at
    # the end.
    if pair_matrix:
        probabilities = log_q.exp_()
        # -(H + H^T) z with H = diag(b) P - diag(a) exp(L) = -G.
        # Adding the transpose first saves a product: at these sizes the
        # transposed n x n pass costs a third of one (1 thread, 128 rows).
        gram = weighted_positive.addcmul_(probabilities, beta.unsqueeze(1), value=-1)
        grad_z = torch.mm(gram + gram.T, z)
        sign = -1.0
    else:
        # diag(a) Q z + Q^T diag(a) z - diag(b) P z - P diag(b) z with
        # P z = Y C - z: the positive part in O(n k d).
        probabilities = exp_scaled.div_(denominator.unsqueeze(1))
        beta_column = beta.unsqueeze(1)
        b_column = b.unsqueeze(1)
        grad_z = torch.mm(probabilities, z).mul_(beta_column)
        grad_z.addmm_(probabilities.T, z * beta_column)
        bz = z * b_column
        grad_z.addmm_(onehot * b_column, class_sums, alpha=-1.0)
        grad_z.addmm_(onehot, torch.mm(onehot_t, bz), alpha=-1.0)
        # (2 b z lies along z: the projection below removes it from the
        # gradient in e; kept so that grad_z is the gradient in z.)
        grad_z.add_(bz, alpha=2.0)
        sign = 1.0
    # Through z = e / max(||e||, eps): (g - z (z . g)) / ||e|| where the norm
    # is not clamped, g / eps where it is (clamp_min passes no gradient).
    radial = torch.linalg.vecdot(z, grad_z).masked_fill_(norm < _NORMALIZE_EPS, 0.0)
    grad_z.addcmul_(z, radial.unsqueeze(1), value=-1.0)
    factor = sign * embedding_weight * inv_temperature
    grad_embeddings = grad_z.mul_(inv_norm.mul_(factor).unsqueeze(1))
    return value, grad_logits, grad_embeddings, alpha


class _ELMLean(torch.autograd.Function):
    """ELM (mean / sum) with the gradients formed in the forward pass.

    The backward scales them by the incoming scalar. Under ``create_graph``
    the logit gradient is rebuilt from differentiable operations (the logit
    term stays twice differentiable, as with autograd's cross-entropy) while
    the embedding gradient refuses a second derivative, as
    :class:`_SupConMargin` does.
    """

    @staticmethod
    def forward(ctx, logits, embeddings, rest):
        # The other arguments come as one tuple: each argument of apply costs
        # time on every call. Autocast off: torch.mm would hand back
        # half-precision products.
        with _no_autocast(logits.device.type):
            value, grad_logits, grad_embeddings, alpha = _elm_lean_value_and_grad(
                logits, embeddings, *rest, need_grad=True
            )
        ctx.save_for_backward(logits, embeddings, grad_logits, grad_embeddings)
        ctx.logit_terms = (rest[1], rest[2], rest[3], alpha)
        return value

    @staticmethod
    def backward(ctx, grad_value):
        logits, embeddings, grad_logits, grad_embeddings = ctx.saved_tensors
        if not torch.is_grad_enabled():
            return grad_logits * grad_value, grad_embeddings * grad_value, None
        # create_graph=True: a differentiable logit gradient, and an embedding
        # gradient that refuses to be differentiated.
        onehot, scale, shift, alpha = ctx.logit_terms
        probabilities = torch.softmax(logits * scale + shift, dim=1)
        grad_l = (probabilities - onehot) * (_column(alpha) * scale) * grad_value
        grad_e = _RefuseDoubleBackward.apply(
            grad_embeddings * grad_value, embeddings, grad_value
        )
        return grad_l, grad_e, None


def supervised_contrastive_margin_loss(
    embeddings,
    target,
    class_counts,
    temperature=0.1,
    embedding_margin=0.5,
    weight=None,
    *,
    sample_weight=None,
    reduction="mean",
):
    r"""Supervised contrastive loss with class-dependent positive margins.

    The embedding term of ELM. On L2-normalised embeddings ``z`` with
    cosine similarities ``s_ij``, for an anchor ``i`` of class ``y``, its
    positives ``P(i) = {j != i : y_j = y}`` and negatives ``N(i)``:

    .. math::

        l_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)} \log
        \frac{\exp((s_{ip} - \rho_y)/T)}
        {\sum_{a \in P(i)} \exp((s_{ia} - \rho_y)/T)
         + \sum_{a \in N(i)} \exp(s_{ia}/T)}

    with margins ``rho_k = embedding_margin * n_k^(-1/4) / max_j n_j^(-1/4)``
    (largest for the rarest class, as LDAM's). ``embedding_margin = 0`` is the
    SupCon loss of Khosla et al. (2020), "out" form. Anchors without a
    positive in the batch contribute nothing; ``"mean"`` averages over the
    anchors that have one (0 if none has).

    Parameters
    ----------
    embeddings : Tensor of shape (n_samples, n_dims)
    target : LongTensor of shape (n_samples,)
    class_counts : array-like of shape (n_classes,)
    temperature : float, default=0.1
        ``T`` above, ``> 0``.
    embedding_margin : float, default=0.5
        Margin of the rarest class, ``>= 0``.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`; weights apply to anchors.

    Returns
    -------
    loss : Tensor
    """
    _check_temperature(temperature)
    _check_nonnegative(embedding_margin, "embedding_margin")
    rho = ldam_margins(class_counts, embedding_margin)
    embeddings, dtype = _upcast(embeddings)
    per_anchor, has_positive = _supcon_margin_per_anchor(
        embeddings, target, rho[target.cpu()], temperature
    )
    return _reduce_anchors(
        per_anchor, has_positive, target, weight, sample_weight, reduction, dtype
    )


def _reduce_anchors(
    per_anchor, has_positive, target, weight, sample_weight, reduction, dtype
):
    mask = has_positive.to(per_anchor.dtype)
    sample_weight = (
        mask
        if sample_weight is None
        else mask * torch.as_tensor(sample_weight, dtype=mask.dtype, device=mask.device)
    )
    return _reduce(per_anchor, target, weight, sample_weight, reduction, dtype)


def elm_loss(
    logits,
    embeddings,
    target,
    class_counts,
    logit_loss="logit_adjusted",
    tau=1.0,
    max_margin=0.5,
    scale=30.0,
    embedding_weight=1.0,
    temperature=0.1,
    embedding_margin=0.5,
    weight=None,
    *,
    sample_weight=None,
    reduction="mean",
):
    r"""ELM: embedding and logit margins (Jitkrittum et al., 2022).

    ``L = L_logit(logits) + embedding_weight * L_emb(embeddings)``, where
    ``L_logit`` is :func:`logit_adjusted_loss` (``logit_loss="logit_adjusted"``,
    with ``tau``) or :func:`ldam_loss` (``logit_loss="ldam"``, with
    ``max_margin`` and ``scale``), and ``L_emb`` is
    :func:`supervised_contrastive_margin_loss` on the L2-normalised
    embeddings: positive-pair similarities of an anchor of class ``y`` are
    reduced by ``rho_y`` (rarer classes, larger margins), which pulls
    tail-class embeddings tighter. The two terms are reduced separately
    (``"mean"``: the logit term over all examples, the embedding term over
    anchors with a positive) and added.

    This follows the structure of the paper (a logit-margin loss plus a
    margin-based supervised contrastive term on the embeddings). The paper's
    exact text was not available to us when this was written; the precise
    placement of the margin above (subtracted from every positive pair,
    numerator and denominator, with ``rho_y ~ n_y^(-1/4)``) is our choice,
    documented here, and may differ in detail from the authors' form.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    embeddings : Tensor of shape (n_samples, n_dims)
    target : LongTensor of shape (n_samples,)
    class_counts : array-like of shape (n_classes,)
    logit_loss : {"logit_adjusted", "ldam"}, default="logit_adjusted"
    tau, max_margin, scale
        Parameters of the logit term.
    embedding_weight : float, default=1.0
        Weight of the embedding term, ``>= 0``.
    temperature, embedding_margin
        Parameters of the embedding term.
    weight, sample_weight, reduction
        See :func:`cross_entropy_loss`.

    Returns
    -------
    loss : Tensor
    """
    _check_nonnegative(embedding_weight, "embedding_weight")
    if logit_loss not in ("logit_adjusted", "ldam"):
        raise ValueError(
            f"logit_loss must be 'logit_adjusted' or 'ldam', got {logit_loss!r}."
        )
    if _elm_lean_applies(logits, embeddings, target, reduction):
        # The same checks as the logit and embedding terms make below.
        _check_temperature(temperature)
        if logit_loss == "ldam":
            _check_nonnegative(scale, "scale")
        constants = _elm_constants(
            class_counts,
            logit_loss,
            tau,
            max_margin,
            scale,
            embedding_margin,
            logits.dtype,
            logits.device,
        )
        return _elm_lean(
            logits,
            embeddings,
            target,
            constants,
            temperature,
            embedding_weight,
            weight,
            sample_weight,
            reduction,
        )
    return _elm_loss_general(
        logits,
        embeddings,
        target,
        class_counts,
        logit_loss,
        tau,
        max_margin,
        scale,
        embedding_weight,
        temperature,
        embedding_margin,
        weight,
        sample_weight,
        reduction,
    )


def _elm_lean_applies(logits, embeddings, target, reduction):
    """Whether :func:`_elm_lean` covers these inputs (else the general path).

    It needs a scalar reduction, full-precision inputs of one dtype on one
    device and at least two rows (an n x n similarity without its diagonal).
    """
    return (
        reduction in ("mean", "sum")
        and logits.dtype in (torch.float32, torch.float64)
        and embeddings.dtype == logits.dtype
        and embeddings.device == logits.device
        and logits.ndim == 2
        and embeddings.ndim == 2
        and target.ndim == 1
        and logits.shape[0] >= 2
        and embeddings.shape[0] == logits.shape[0]
    )


def _elm_constants(
    class_counts, logit_loss, tau, max_margin, scale, embedding_margin, dtype, device
):
    """Count-derived constants of the lean ELM path, validated like the terms'.

    Returns ``(eye, logit_scale, logit_offsets, -rho, target_column_only)``:
    the ``k x k`` identity (one-hot rows), the factor and the per-class
    additive term of the logit term's adjusted logits (``tau log pi`` for
    logit adjustment; ``-scale Delta``, on the target column only, for LDAM)
    and minus the embedding margins (the sign the lean path uses them with).
    """
    if logit_loss == "ldam":
        logit_scale = scale
        offsets = ldam_margins(class_counts, max_margin) * -scale
    else:
        _check_real(tau, "tau")
        logit_scale = 1.0
        offsets = tau * log_prior(class_counts)
    _check_nonnegative(embedding_margin, "embedding_margin")
    rho = ldam_margins(class_counts, embedding_margin)
    return (
        torch.eye(len(rho), dtype=dtype, device=device),
        logit_scale,
        offsets.to(device=device, dtype=dtype),
        rho.to(device=device, dtype=dtype).neg_(),
        logit_loss == "ldam",
    )


def _elm_lean(
    logits,
    embeddings,
    target,
    constants,
    temperature,
    embedding_weight,
    weight,
    sample_weight,
    reduction,
):
    """ELM through :class:`_ELMLean` (see :func:`_elm_lean_applies`)."""
    rest = _elm_lean_inputs(
        logits,
        target,
        constants,
        temperature,
        embedding_weight,
        weight,
        sample_weight,
        reduction,
    )
    if torch.is_grad_enabled() and (logits.requires_grad or embeddings.requires_grad):
        return _ELMLean.apply(logits, embeddings, rest)
    with _no_autocast(logits.device.type):
        return _elm_lean_value_and_grad(logits, embeddings, *rest, need_grad=False)[0]


def _elm_lean_inputs(
    logits,
    target,
    constants,
    temperature,
    embedding_weight,
    weight,
    sample_weight,
    reduction,
):
    """The arguments of :func:`_elm_lean_value_and_grad` after the two
    inputs, for one batch."""
    eye, logit_scale, offsets, neg_rho, target_column_only = constants
    if target.device != logits.device:
        target = target.to(logits.device)
    onehot = eye[target]
    # LDAM's margin is on the target column only; logit adjustment's offsets
    # are on every column.
    shift = onehot * offsets if target_column_only else offsets
    v = None
    if weight is not None or sample_weight is not None:
        v = _example_weights(weight, sample_weight, target, logits.dtype, logits.device)
    return (
        target,
        onehot,
        logit_scale,
        shift,
        neg_rho,
        1.0 / temperature,
        embedding_weight,
        v,
        reduction,
    )


def _elm_loss_general(
    logits,
    embeddings,
    target,
    class_counts,
    logit_loss,
    tau,
    max_margin,
    scale,
    embedding_weight,
    temperature,
    embedding_margin,
    weight,
    sample_weight,
    reduction,
):
    """ELM from its two terms' functions and autograd (any inputs)."""
    if logit_loss == "logit_adjusted":
        logit_term = logit_adjusted_loss(
            logits,
            target,
            class_counts,
            tau,
            weight,
            sample_weight=sample_weight,
            reduction=reduction,
        )
    elif logit_loss == "ldam":
        logit_term = ldam_loss(
            logits,
            target,
            class_counts,
            max_margin,
            scale,
            weight,
            sample_weight=sample_weight,
            reduction=reduction,
        )
    else:
        raise ValueError(
            f"logit_loss must be 'logit_adjusted' or 'ldam', got {logit_loss!r}."
        )
    embedding_term = supervised_contrastive_margin_loss(
        embeddings,
        target,
        class_counts,
        temperature,
        embedding_margin,
        weight,
        sample_weight=sample_weight,
        reduction=reduction,
    )
    return logit_term + embedding_weight * embedding_term.to(logit_term.dtype)


class ELMLoss(_CountLoss):
    """Module form of :func:`elm_loss`; called as ``loss(logits, embeddings, y)``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,), default=None
    logit_loss : {"logit_adjusted", "ldam"}, default="logit_adjusted"
    tau : float, default=1.0
    max_margin : float, default=0.5
    scale : float, default=30.0
    embedding_weight : float, default=1.0
    temperature : float, default=0.1
    embedding_margin : float, default=0.5
    weight : array-like of shape (n_classes,), default=None
    reduction : {"mean", "sum", "none"}, default="mean"
    """

    uses_embeddings = True

    def __init__(
        self,
        class_counts=None,
        logit_loss="logit_adjusted",
        tau=1.0,
        max_margin=0.5,
        scale=30.0,
        embedding_weight=1.0,
        temperature=0.1,
        embedding_margin=0.5,
        weight=None,
        reduction="mean",
    ):
        super().__init__(class_counts, weight, reduction)
        if logit_loss not in ("logit_adjusted", "ldam"):
            raise ValueError(
                f"logit_loss must be 'logit_adjusted' or 'ldam', got {logit_loss!r}."
            )
        _check_real(tau, "tau")
        _check_nonnegative(max_margin, "max_margin")
        _check_nonnegative(scale, "scale")
        _check_nonnegative(embedding_weight, "embedding_weight")
        _check_nonnegative(embedding_margin, "embedding_margin")
        _check_temperature(temperature)
        self.logit_loss = logit_loss
        self.tau = tau
        self.max_margin = max_margin
        self.scale = scale
        self.embedding_weight = embedding_weight
        self.temperature = temperature
        self.embedding_margin = embedding_margin

    @property
    def logit_scale(self):
        return self.scale if self.logit_loss == "ldam" else 1.0

    def _lean_constants(self, logits):
        return self._cached_constants(
            logits.dtype,
            logits.device,
            lambda counts, dtype, device: _elm_constants(
                counts,
                self.logit_loss,
                self.tau,
                self.max_margin,
                self.scale,
                self.embedding_margin,
                dtype,
                device,
            ),
            (
                self.logit_loss,
                self.tau,
                self.max_margin,
                self.scale,
                self.embedding_margin,
            ),
        )

    def value_and_grad(self, logits, target, embeddings=None, sample_weight=None):
        """The loss and its gradients, computed without autograd.

        ELM's side of the step protocol (see
        :meth:`~sklearn_lt.losses._common._CountLoss.value_and_grad`): the
        value of ``self(logits, embeddings, target, sample_weight)`` and its
        gradients with respect to ``logits`` and ``embeddings``, or ``None``
        where only autograd through :meth:`forward` applies (reduction
        ``"none"``, half precision, fewer than two rows).

        Parameters
        ----------
        logits : Tensor of shape (n_samples, n_classes)
        target : LongTensor of shape (n_samples,)
        embeddings : Tensor of shape (n_samples, n_dims)
            Required.
        sample_weight : Tensor of shape (n_samples,), default=None

        Returns
        -------
        None or (loss, grads)
            ``loss`` a 0-d tensor, ``grads`` the tuple
            ``(dloss / dlogits, dloss / dembeddings)``.
        """
        if embeddings is None:
            raise ValueError(
                "ELMLoss needs embeddings: the module must return (logits, embeddings)."
            )
        self._require_counts()
        if not _elm_lean_applies(logits, embeddings, target, self.reduction):
            return None
        rest = _elm_lean_inputs(
            logits,
            target,
            self._lean_constants(logits),
            self.temperature,
            self.embedding_weight,
            self.weight,
            sample_weight,
            self.reduction,
        )
        with torch.no_grad(), _no_autocast(logits.device.type):
            value, grad_logits, grad_embeddings, _ = _elm_lean_value_and_grad(
                logits, embeddings, *rest, need_grad=True
            )
        return value, (grad_logits, grad_embeddings)

    def forward(self, logits, embeddings, target, sample_weight=None):
        self._require_counts()
        if _elm_lean_applies(logits, embeddings, target, self.reduction):
            return _elm_lean(
                logits,
                embeddings,
                target,
                self._lean_constants(logits),
                self.temperature,
                self.embedding_weight,
                self.weight,
                sample_weight,
                self.reduction,
            )
        return elm_loss(
            logits,
            embeddings,
            target,
            self.class_counts,
            logit_loss=self.logit_loss,
            tau=self.tau,
            max_margin=self.max_margin,
            scale=self.scale,
            embedding_weight=self.embedding_weight,
            temperature=self.temperature,
            embedding_margin=self.embedding_margin,
            weight=self.weight,
            sample_weight=sample_weight,
            reduction=self.reduction,
        )
