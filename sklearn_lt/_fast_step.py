"""A hand-written backward pass and a direct fused Adam step for plain MLPs.

On a mini-batch of a hundred rows, the arithmetic of a training step of a
small MLP is a handful of small matrix products; most of the time goes to
the machinery around them: autograd's graph (a node, saved tensors and
several dispatches per operation, plus the engine's walk) and
``Optimizer.step``'s bookkeeping (hooks, regrouping the tensors by device
and dtype, state look-ups), about 60% of a step at 500 rows. This module
removes both for the package's own modules, where the layers are known:

* :class:`MLPBackprop` runs the forward pass of an
  :class:`~sklearn_lt.modules.MLPModule` or
  :class:`~sklearn_lt.modules.LinearModule` without a graph, lets autograd
  differentiate only the loss with respect to the logits (and embeddings),
  and back-propagates through the layers by hand with the same kernels
  autograd calls (``mm``, ``sum``, ``threshold_backward``, ...).
* :class:`FusedAdamStep` calls the fused Adam / AdamW kernel on the
  optimiser's own state, as ``Adam.step`` does, without the bookkeeping.
  The kernels (``torch._fused_adam_``, ``torch._fused_adamw_``,
  ``torch._foreach_add_``) are private to torch: they are used only where
  :func:`fused_adam_kernels_available` finds them with the signature this
  module was written for; elsewhere the public ``optimizer.step()`` of
  ``torch.optim.Adam(..., fused=True)`` runs (the same kernel, with its
  bookkeeping), and a test forces that fallback.

Both say ``None`` (use the general path) for anything they do not know: a
subclass or another layer type, dropout, GELU, a cosine head, frozen
parameters, module / tensor / optimiser hooks, amsgrad-less fused variants
they were not written for, a GradScaler. ``tests/test_fast_step.py`` checks
them against autograd and ``Adam.step``.
"""

import contextlib
import functools
import weakref

import torch
import torch.nn.modules.module as _module_hooks
import torch.optim.optimizer as _optimizer_hooks
from torch import nn

from .modules import EnsembleMLPModule, LinearModule, MLPModule

__all__ = [
    "EnsembleBackprop",
    "FusedAdamStep",
    "MLPBackprop",
    "fused_adam_kernels_available",
    "squared_norm",
]

aten = torch.ops.aten
_linear = torch.nn.functional.linear


def _no_grad():
    """``torch.no_grad()``, or nothing when grad mode is off already (the
    caller's context): entering one costs about 2 us, several a step."""
    return torch.no_grad() if torch.is_grad_enabled() else contextlib.nullcontext()


def _relu_backward(grad, output):
    return aten.threshold_backward(grad, output, 0)


def _tanh_backward(grad, output):
    return aten.tanh_backward(grad, output)


def _sigmoid_backward(grad, output):
    return aten.sigmoid_backward(grad, output)


# Activation -> (forward, backward from the activation's output); None:
# the identity. These are the functions autograd's ReLU, Tanh and Sigmoid
# nodes call, so the gradients are those of autograd.
_ACTIVATIONS = {
    nn.ReLU: (torch.relu, _relu_backward),
    nn.Tanh: (torch.tanh, _tanh_backward),
    nn.Sigmoid: (torch.sigmoid, _sigmoid_backward),
    nn.Identity: None,
}


def _has_module_hooks(module):
    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or module._backward_hooks
        or module._backward_pre_hooks
    )


def _global_module_hooks():
    return bool(
        _module_hooks._global_forward_hooks
        or _module_hooks._global_forward_pre_hooks
        or _module_hooks._global_backward_hooks
        or _module_hooks._global_backward_pre_hooks
    )


def _plain_parameter(param):
    return (
        param.requires_grad
        and param.dtype in (torch.float32, torch.float64)
        and param.layout == torch.strided
        and not param._backward_hooks
        and not getattr(param, "_post_accumulate_grad_hooks", None)
    )


class MLPBackprop:
    """Forward and backward of a plain MLP without an autograd graph.

    Built by :meth:`plan`, which returns ``None`` unless the module is an
    :class:`~sklearn_lt.modules.MLPModule` or
    :class:`~sklearn_lt.modules.LinearModule` (exactly: a subclass may
    change ``forward``) made of ``nn.Linear`` layers and ReLU / tanh /
    logistic / identity activations, in training mode, without dropout,
    hooks or frozen parameters.

    Parameters
    ----------
    layers : list of (nn.Linear, activation or None)
        The hidden layers, then the head (activation ``None``).
    return_embeddings : bool
        Whether the module returns ``(logits, embeddings)``.
    """

    def __init__(self, layers, return_embeddings):
        self.layers = layers
        self.return_embeddings = return_embeddings
        # Gradients are returned in the order of module.parameters().
        self.parameters = [p for linear, _ in layers for p in _linear_params(linear)]
        # The weight matrices, on which the penalty alpha acts.
        self.weights = [linear.weight for linear, _ in layers]
        # (weight, bias, activation) per layer: reading a parameter through
        # nn.Module.__getattr__ costs about 0.4 us, a dozen times a step.
        # is_current() checks that the layers still hold these tensors.
        self._steps = [(linear.weight, linear.bias, act) for linear, act in layers]

    @classmethod
    def plan(cls, module):
        """A :class:`MLPBackprop` for ``module``, or ``None`` if it does not apply.

        For an :class:`~sklearn_lt.modules.EnsembleMLPModule`, an
        :class:`EnsembleBackprop` (or ``None``).
        """
        if _global_module_hooks() or not module.training:
            return None
        if type(module) is EnsembleMLPModule:
            return EnsembleBackprop.plan(module)
        if type(module) is MLPModule:
            body = module.body
            if type(body) is not nn.Sequential:
                return None
            children = list(body)
            return_embeddings = bool(module.return_embeddings)
        elif type(module) is LinearModule:
            children, return_embeddings = [], False
        else:
            return None
        head = module.head
        if type(head) is not nn.Linear:
            return None
        layers = []
        for child in children:
            kind = type(child)
            if kind is nn.Linear:
                layers.append([child, None])
            elif kind in _ACTIVATIONS and layers and layers[-1][1] is None:
                layers[-1][1] = _ACTIVATIONS[kind]
            else:  # dropout, GELU, two activations in a row, ...
                return None
        layers.append([head, None])
        for module_ in (module, *children, head, *([module.body] if children else [])):
            if _has_module_hooks(module_):
                return None
        plan = cls([tuple(layer) for layer in layers], return_embeddings)
        params = list(module.parameters())
        if len(params) != len(plan.parameters) or any(
            a is not b for a, b in zip(params, plan.parameters)
        ):
            return None
        if not all(map(_plain_parameter, params)):
            return None
        if len({(p.device, p.dtype) for p in params}) != 1:
            return None
        # Weak references: the plan (kept on the net) must not keep a
        # replaced module alive.
        plan._module = weakref.ref(module)
        owners = [module, *([module.body] if type(module) is MLPModule else [])]
        owners += [*children, head]
        plan._structure = [
            (
                weakref.ref(owner),
                tuple(owner._modules.values()),
                tuple(owner._parameters.values()),
            )
            for owner in owners
        ]
        return plan

    def is_current(self, module):
        """Whether this plan still holds for ``module``: the same layers and
        parameters, training mode, no hooks, all parameters trainable (a
        callback may have frozen some, or added a hook, since the plan was
        made)."""
        if (
            module is not self._module()
            or not module.training
            or _global_module_hooks()
        ):
            return False
        for owner_ref, children, params in self._structure:
            owner = owner_ref()
            if (
                owner is None
                or _has_module_hooks(owner)
                or len(owner._modules) != len(children)
                or len(owner._parameters) != len(params)
                or any(a is not b for a, b in zip(owner._modules.values(), children))
                or any(a is not b for a, b in zip(owner._parameters.values(), params))
            ):
                return False
        return all(map(_plain_parameter, self.parameters))

    def forward(self, X, requires_grad=True, transposed_logits=False):
        """Logits (and embeddings) for ``X``, and what :meth:`backward` needs.

        With ``transposed_logits`` the head computes ``W a^T + b`` and the
        logits are the transposed view of that ``(n_classes, n_samples)``
        array (what :func:`~sklearn_lt.losses._cross_entropy.softmax_ce_value_and_grad`
        works on below 16 classes; MKL is also faster with the few classes
        as rows).

        Returns
        -------
        outputs : list of Tensor
            ``[logits]`` or ``[logits, embeddings]``: leaves that require
            gradients (with ``requires_grad``), for the loss.
        saved : list of (Tensor, Tensor or None)
            Per layer, its input and its activation's output.
        """
        saved = []
        steps = self._steps
        with _no_grad():
            a = X
            for weight, bias, activation in steps[:-1]:
                z = _linear(a, weight, bias)
                out = z if activation is None else activation[0](z)
                saved.append((a, None if activation is None else out))
                a = out
            weight, bias, _ = steps[-1]
            if transposed_logits:
                logits = (
                    weight.mm(a.t())
                    if bias is None
                    else torch.addmm(bias.unsqueeze(1), weight, a.t())
                ).t()
            else:
                logits = _linear(a, weight, bias)
            saved.append((a, None))
        if requires_grad:
            logits.requires_grad_()
        if not self.return_embeddings:
            return [logits], saved
        embeddings = a.detach()
        if requires_grad:
            embeddings.requires_grad_()
        return [logits, embeddings], saved

    def backward(self, saved, grad_logits, grad_embeddings=None, alpha=0.0):
        """Gradients of the parameters, in ``module.parameters()`` order.

        ``grad_logits`` / ``grad_embeddings`` are the loss's gradients with
        respect to the outputs of :meth:`forward`; ``alpha`` adds the
        gradient ``alpha * W`` of the penalty ``0.5 * alpha * ||W||^2`` on
        every weight matrix (in the same matrix product).
        """
        grads = []
        grad = grad_logits
        steps = self._steps
        last = len(steps) - 1
        with _no_grad():
            for index in range(last, -1, -1):
                weight, bias, activation = steps[index]
                inputs, output = saved[index]
                if activation is not None:
                    grad = activation[1](grad, output)
                # autograd's Addmm backward for F.linear's weight (W^T is
                # column-major): grad^T @ input, and the bias: a column sum.
                if bias is not None:
                    grads.append(grad.sum(0))
                grads.append(
                    torch.addmm(weight, grad.t(), inputs, beta=alpha)
                    if alpha
                    else grad.t().mm(inputs)
                )
                if index > 0:
                    grad = grad.mm(weight)
                    if index == last and grad_embeddings is not None:
                        grad = grad + grad_embeddings
        grads.reverse()
        return grads


class EnsembleBackprop:
    """Forward and backward of an :class:`~sklearn_lt.modules.EnsembleMLPModule`
    without an autograd graph: :class:`MLPBackprop`'s counterpart, with the
    first layer as one matrix product and the later layers and heads as
    batched ones (``bmm``, as autograd's ``baddbmm`` backward).

    The logits are ``(n_samples, n_members, n_classes)``; the net gives the
    closed-form losses one row per member and sample (labels and weights
    repeated), or has autograd differentiate any other loss with respect to
    the logits. ``plan`` returns ``None`` (autograd's step) for dropout, a
    cosine head, GELU, hooks, frozen parameters and embeddings (ELM).
    """

    return_embeddings = False

    def __init__(self, module, activation):
        self.n_members = module.n_members
        self.activation = activation
        self.input = (module.input_weight, module.input_bias)
        self.hidden = list(zip(module.weights, module.biases))
        self.head = (module.head_weight, module.head_bias)
        self.parameters = list(module.parameters())
        self.weights = [p for p in self.parameters if p.ndim > 1]

    @classmethod
    def plan(cls, module):
        """An :class:`EnsembleBackprop` for ``module``, or ``None``."""
        kind = type(module.activation)
        if (
            module.head_kind != "linear"
            or module.return_embeddings
            or type(module.dropout) is not nn.Identity
            or kind not in _ACTIVATIONS
            or any(_has_module_hooks(m) for m in module.modules())
        ):
            return None
        params = list(module.parameters())
        if (
            not all(map(_plain_parameter, params))
            or len({(p.device, p.dtype) for p in params}) != 1
        ):
            return None
        plan = cls(module, _ACTIVATIONS[kind])
        plan._module = weakref.ref(module)
        plan._params = tuple(params)
        return plan

    def is_current(self, module):
        """Whether this plan still holds for ``module`` (see
        :meth:`MLPBackprop.is_current`)."""
        return (
            module is self._module()
            and module.training
            and not _global_module_hooks()
            and not any(_has_module_hooks(m) for m in module.modules())
            and tuple(module.parameters()) == self._params
            and all(map(_plain_parameter, self.parameters))
        )

    def _act(self, z):
        return z if self.activation is None else self.activation[0](z)

    def forward(self, X, requires_grad=True, transposed_logits=False):
        """``[logits]`` of shape ``(n_samples, n_members, n_classes)`` and
        what :meth:`backward` needs (see :meth:`MLPBackprop.forward`)."""
        with _no_grad():
            weight, bias = self.input
            first = self._act(_linear(X, weight, bias))  # (n, members * width)
            a = first.view(len(X), self.n_members, -1).transpose(0, 1)
            saved = []
            for weight, bias in self.hidden:
                bias = bias.view(self.n_members, 1, -1)
                out = self._act(torch.baddbmm(bias, a, weight))
                saved.append((a, out))
                a = out
            weight, bias = self.head
            logits = torch.baddbmm(bias.view(self.n_members, 1, -1), a, weight)
            logits = logits.transpose(0, 1).contiguous()
        if requires_grad:
            logits.requires_grad_()
        return [logits], (X, first, saved, a)

    def backward(self, saved, grad_logits, grad_embeddings=None, alpha=0.0):
        """Gradients of the parameters, in ``module.parameters()`` order,
        ``alpha * W`` added to every weight's (see :meth:`MLPBackprop.backward`)."""
        X, first, hidden_saved, last = saved
        backward = None if self.activation is None else self.activation[1]
        grads = {}
        with _no_grad():
            grad = grad_logits.transpose(0, 1)  # (members, n, classes)
            weight, bias = self.head
            grads[bias] = grad.sum(1).view(-1)
            grads[weight] = (
                torch.baddbmm(weight, last.transpose(1, 2), grad, beta=alpha)
                if alpha
                else torch.bmm(last.transpose(1, 2), grad)
            )
            grad = torch.bmm(grad, weight.transpose(1, 2))
            for (weight, bias), (inputs, output) in zip(
                reversed(self.hidden), reversed(hidden_saved)
            ):
                if backward is not None:
                    grad = backward(grad, output)
                grads[bias] = grad.sum(1).view(-1)
                grads[weight] = (
                    torch.baddbmm(weight, inputs.transpose(1, 2), grad, beta=alpha)
                    if alpha
                    else torch.bmm(inputs.transpose(1, 2), grad)
                )
                grad = torch.bmm(grad, weight.transpose(1, 2))
            grad = grad.transpose(0, 1).reshape(len(X), -1)
            if backward is not None:
                grad = backward(grad, first)
            weight, bias = self.input
            grads[bias] = grad.sum(0)
            grads[weight] = (
                torch.addmm(weight, grad.t(), X, beta=alpha)
                if alpha
                else grad.t().mm(X)
            )
        return [grads[p] for p in self.parameters]


def squared_norm(tensors):
    """``sum ||t||^2`` over ``tensors`` (a 0-d tensor; there must be at least
    one), without an autograd graph."""
    with _no_grad():
        flat = tensors[0].reshape(-1)
        total = torch.dot(flat, flat)
        for tensor in tensors[1:]:
            flat = tensor.reshape(-1)
            total = total.add_(torch.dot(flat, flat))
    return total


def _linear_params(linear):
    return [linear.weight] if linear.bias is None else [linear.weight, linear.bias]


# The keyword arguments FusedAdamStep.step passes to the private kernels.
_FUSED_KERNEL_ARGUMENTS = frozenset(
    (
        "amsgrad",
        "lr",
        "beta1",
        "beta2",
        "weight_decay",
        "eps",
        "maximize",
        "grad_scale",
        "found_inf",
    )
)


@functools.cache
def fused_adam_kernels_available():
    """Whether torch has the private fused Adam / AdamW kernels with the
    arguments :class:`FusedAdamStep` passes (checked once per process).

    ``False`` (an older or newer torch that renamed them or changed their
    signature) leaves every step to the public ``optimizer.step()``.
    """
    kernels = [
        getattr(torch, name, None)
        for name in ("_fused_adam_", "_fused_adamw_", "_foreach_add_")
    ]
    if not all(callable(kernel) for kernel in kernels):
        return False
    for name in ("_fused_adam_", "_fused_adamw_"):
        try:
            schema = getattr(aten, name).default._schema
            names = {argument.name for argument in schema.arguments}
        except (AttributeError, RuntimeError):
            return False
        if not _FUSED_KERNEL_ARGUMENTS <= names:
            return False
    return True


class FusedAdamStep:
    """``Adam.step()`` / ``AdamW.step()`` with ``fused=True``, called directly.

    The same kernel (``torch._fused_adam_`` / ``torch._fused_adamw_``) on the
    optimiser's own state tensors, with the hyper-parameters read from the
    parameter groups at every step (so learning-rate schedulers work), minus
    ``Optimizer.step``'s bookkeeping. Built by :meth:`plan` once the
    optimiser's state exists (after its first ordinary step).
    """

    def __init__(self, groups):
        self.groups = groups

    @classmethod
    def plan(cls, optimizer):
        """A :class:`FusedAdamStep` for ``optimizer``, or ``None`` (use
        ``optimizer.step()``), among other cases where the private kernels
        are not there (:func:`fused_adam_kernels_available`)."""
        if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
            return None
        if not fused_adam_kernels_available():
            return None
        step = optimizer.__dict__.get("step")
        # The instance's step may only be a learning-rate scheduler's
        # call-counting wrapper around the class's.
        if step is not None and not getattr(step, "_wrapped_by_lr_sched", False):
            return None
        if (
            optimizer._optimizer_step_pre_hooks
            or optimizer._optimizer_step_post_hooks
            or _optimizer_hooks._global_optimizer_pre_hooks
            or _optimizer_hooks._global_optimizer_post_hooks
            or getattr(optimizer, "grad_scale", None) is not None
            or getattr(optimizer, "found_inf", None) is not None
        ):
            return None
        groups = []
        for group in optimizer.param_groups:
            if (
                not group.get("fused")
                or group.get("capturable")
                or group.get("differentiable")
                or torch.is_tensor(group["lr"])
            ):
                return None
            params = list(group["params"])
            states = [optimizer.state.get(p) for p in params]
            if not all(states) or any("step" not in state for state in states):
                return None
            if len({(p.device, p.dtype) for p in params}) > 1:
                return None
            # AdamW's groups say "decoupled_weight_decay" in recent torch;
            # without the key, the class says which update it is.
            decoupled = group.get(
                "decoupled_weight_decay", isinstance(optimizer, torch.optim.AdamW)
            )
            groups.append(
                (
                    group,
                    decoupled,
                    params,
                    [state["exp_avg"] for state in states],
                    [state["exp_avg_sq"] for state in states],
                    [state["max_exp_avg_sq"] for state in states]
                    if group["amsgrad"]
                    else [],
                    [state["step"] for state in states],
                )
            )
        return cls(groups)

    def is_current(self, optimizer):
        """Whether this plan still describes ``optimizer``'s groups and state."""
        if len(optimizer.param_groups) != len(self.groups):
            return False
        for group, (planned, _, params, exp_avgs, _, _, _) in zip(
            optimizer.param_groups, self.groups
        ):
            if group is not planned or len(group["params"]) != len(params):
                return False
            state = optimizer.state.get(params[0])
            if state is None or state.get("exp_avg") is not exp_avgs[0]:
                return False
        return True

    def step(self, optimizer):
        """One step of ``optimizer`` with the parameters' current ``.grad``.

        Returns False (and does nothing) if some parameter has no gradient:
        the caller then uses ``optimizer.step()``, which skips it.
        """
        for _, _, params, _, _, _, _ in self.groups:
            for param in params:
                if param.grad is None:
                    return False
        with _no_grad():
            for (
                group,
                decoupled,
                params,
                exp_avgs,
                exp_avg_sqs,
                max_sqs,
                steps,
            ) in self.groups:
                if not params:
                    continue
                beta1, beta2 = group["betas"]
                kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
                torch._foreach_add_(steps, 1)
                kernel(
                    params,
                    [param.grad for param in params],
                    exp_avgs,
                    exp_avg_sqs,
                    max_sqs,
                    steps,
                    amsgrad=group["amsgrad"],
                    lr=group["lr"],
                    beta1=float(beta1),
                    beta2=float(beta2),
                    weight_decay=group["weight_decay"],
                    eps=group["eps"],
                    maximize=group["maximize"],
                    grad_scale=None,
                    found_inf=None,
                )
        # What a learning-rate scheduler's wrapper of step() records.
        optimizer._opt_called = True
        return True
