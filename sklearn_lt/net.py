"""skorch layer: a classifier net that knows about class counts.

:class:`LongTailNet` is a :class:`skorch.NeuralNetClassifier` for users who
bring their own PyTorch module. Compared with its parent it

* counts the classes in ``y`` when training begins and hands the counts to
  the criterion (``criterion__class_counts``), through the
  :class:`ClassCountSetter` callback, so every fold of a search gets its own;
* accepts modules that return ``(logits, embeddings)``: a criterion with
  ``uses_embeddings = True`` (ELM) receives both, any other the logits, and
  ``predict``/``predict_proba`` use the logits;
* accepts ``X`` as a dict ``{"X": ..., "sample_weight": ...}``: the weights go
  to the loss, not to the module (skorch's documented sample-weight recipe);
* adds an optional L2 penalty ``alpha`` on weight matrices, and stops with a
  clear error when the training loss stops being finite;
* iterates over tensors that were moved to the device once
  (:class:`TensorBatchIterator`), instead of collating one row at a time;
* runs skorch's training loop without its per-batch overhead
  (:meth:`LongTailNet.run_single_epoch`: the same history, weights and
  callback calls), with fused Adam / AdamW / SGD by default;
* takes one training step (:meth:`LongTailNet._train_step`), chosen when
  the net is first trained: for the package's own modules
  (:class:`~sklearn_lt.modules.MLPModule`,
  :class:`~sklearn_lt.modules.LinearModule`,
  :class:`~sklearn_lt.modules.EnsembleMLPModule`) it back-propagates by
  hand (:mod:`sklearn_lt._fast_step`) and asks the criterion for its value
  and gradients (``value_and_grad``, the step protocol of
  :mod:`sklearn_lt.losses`), with autograd where the loss has no closed
  form: the same gradients as autograd up to float rounding, at about half
  the cost of a step on small batches. Anything else (your own module,
  dropout, a subclass that overrides the step) takes autograd's step;
  ``fast_step=False`` makes every step autograd's;
* trains and predicts with torch's intra-op threads capped by the budget of
  joblib and threadpoolctl (:mod:`sklearn_lt._threads`).

:class:`DeferredReweighting` is the DRW schedule of Cao et al. (2019) as a
callback.
"""

import math
from collections.abc import Mapping
from functools import partial

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    BatchScoring,
    Callback,
    EpochScoring,
    LRScheduler,
)
from skorch.dataset import get_len, unpack_data
from skorch.history import History
from skorch.utils import TeeGenerator, to_tensor

from ._batches import TensorBatchIterator
from ._callbacks import (
    ClassCountSetter,
    DeferredReweighting,
    NonFiniteLossError,
    NonFiniteLossGuard,
    _fast_default,
)
from ._fast_step import FusedAdamStep, MLPBackprop, squared_norm
from ._interrupts import _SIGINT_SEEN, _TrainingInterrupted
from ._threads import torch_thread_budget
from .losses import CrossEntropyLoss
from .losses._common import _CountLoss, _few_columns

__all__ = [
    "ClassCountSetter",
    "DeferredReweighting",
    "LongTailNet",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "TensorBatchIterator",
]


def _check_device(device):
    """Return ``torch.device(device)``, or raise a clear error if unusable."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available "
            "(torch.cuda.is_available() is False); use device='cpu'."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    if dev.type == "meta":
        raise ValueError(
            f"device={device!r} holds no data, so a model cannot be trained "
            "on it; use device='cpu' or 'cuda'."
        )
    try:
        torch.empty(0, device=dev)
    except Exception as exc:  # each backend fails in its own way
        reason = str(exc).strip().split("\n", 1)[0][:200]
        raise ValueError(
            f"device={device!r} is not usable with this PyTorch build "
            f"({type(exc).__name__}: {reason}); use device='cpu'."
        ) from exc
    return dev


# --------------------------------------------------------------------------
# The net
# --------------------------------------------------------------------------
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")

# The methods skorch's loop goes through on every batch. The fast epoch
# (LongTailNet.run_single_epoch) does the same work without them, so it is
# used only when a subclass overrides none of them (AcceleratedLongTailNet
# does, and keeps skorch's loop).
_LOOP_METHODS = (
    "train_step",
    "train_step_single",
    "validation_step",
    "get_train_step_accumulator",
    *_BATCH_HOOKS,
)


# Methods whose work the hand-written training step (LongTailNet's
# _train_step with a plan) does itself: a subclass overriding any of them keeps the
# autograd step.
_MANUAL_STEP_METHODS = (
    "infer",
    "get_loss",
    "_zero_grad_optimizer",
    "_step_optimizer",
    "get_all_learnable_params",
)

# Optimisers that evaluate a step's closure exactly once, at the start of
# step(): for them, computing the loss and gradients first and then calling
# step() is what step(closure) does. (LBFGS, for one, re-evaluates it.)
_SINGLE_CLOSURE_OPTIMIZERS = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.SGD,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
    torch.optim.Adamax,
    torch.optim.NAdam,
    torch.optim.RAdam,
)


def _overrides(callback, hook):
    """Whether ``callback`` overrides the batch hook ``hook``."""
    if not isinstance(callback, Callback):
        return True  # a duck-typed callback: assume it does
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _uses_hook(callback, hook, training):
    """Whether ``callback`` does something in ``hook`` on training (or, with
    ``training=False``, validation) batches.

    Callbacks that override the hook count as using it, except skorch's own
    whose ``on_batch_end`` returns at once on these batches: the scoring
    callbacks on the other kind of batch (``on_train``), and
    :class:`~skorch.callbacks.LRScheduler` unless it steps every training
    batch.
    """
    if not _overrides(callback, hook):
        return False
    if hook == "on_batch_end":
        method = type(callback).on_batch_end
        if method in (EpochScoring.on_batch_end, BatchScoring.on_batch_end):
            return bool(callback.on_train) == bool(training)
        if method is LRScheduler.on_batch_end:
            return bool(training) and callback.step_every == "batch"
    return True


def _fusable(param_groups):
    """Whether a fused optimiser supports these parameters (floating point,
    on the CPU or a CUDA device)."""
    params = []
    for group in param_groups:
        if isinstance(group, Mapping):
            params.extend(group["params"])
        else:
            params.append(group)
    return bool(params) and all(
        isinstance(p, torch.Tensor)
        and p.is_floating_point()
        and p.device.type in ("cpu", "cuda")
        for p in params
    )


def _batch_len(batch):
    """skorch's batch size entry: the length of the batch's X."""
    X = batch[0] if isinstance(batch, (tuple, list)) else batch
    return len(X) if isinstance(X, torch.Tensor) else get_len(X)


def _batch_at(iterator, index):
    """Batch ``index`` of the epoch ``iterator`` just went through, if it can
    tell (a :class:`TensorBatchIterator`); else None."""
    if isinstance(iterator, TensorBatchIterator):
        return iterator._batch_at(index)
    return None


def _scaled_softmax(logits, scale=1.0):
    return torch.softmax(scale * logits, dim=-1)


def _group_layout(optimizer):
    return [(id(group), len(group["params"])) for group in optimizer.param_groups]


class _StepPlan:
    """What the hand-written training step needs, kept on the net: the
    module's :class:`~sklearn_lt._fast_step.MLPBackprop` (or
    :class:`~sklearn_lt._fast_step.EnsembleBackprop`), whether the logits
    are computed transposed, and the optimisers, with a
    :class:`~sklearn_lt._fast_step.FusedAdamStep` for each once its state
    exists."""

    def __init__(self, backprop, optimizers, transposed_logits):
        self.backprop = backprop
        self.transposed_logits = transposed_logits
        self.optimizers = optimizers
        self._groups = [_group_layout(o) for o in optimizers]
        self.plans = [None] * len(optimizers)

    def is_current(self, net):
        """Whether this still describes ``net``'s module and optimisers
        (checked at each epoch: a callback may have frozen a layer or added
        a hook since the plan was made)."""
        optimizers = [getattr(net, name + "_") for name in net._optimizers]
        return (
            len(optimizers) == len(self.optimizers)
            and all(a is b for a, b in zip(optimizers, self.optimizers))
            and all(
                _group_layout(o) == groups
                for o, groups in zip(optimizers, self._groups)
            )
            and self.backprop.is_current(net.module_)
        )

    def accepts(self, X):
        """Whether the hand-written forward pass takes this batch of inputs
        (a dense tensor in the parameters' dtype; else autograd's step)."""
        return (
            torch.is_tensor(X)
            and X.dtype == self.backprop.parameters[0].dtype
            and X.layout == torch.strided
        )

    def step_optimizers(self):
        """``optimizer.step()`` for each optimiser (the fused Adam kernel
        called directly where a plan exists and is current)."""
        for index, optimizer in enumerate(self.optimizers):
            plan = self.plans[index]
            if plan is not None and plan.is_current(optimizer) and plan.step(optimizer):
                continue
            optimizer.step()
            self.plans[index] = FusedAdamStep.plan(optimizer)


def _members_as_rows(logits, y, sample_weight):
    """Members' logits ``(samples, members, classes)`` as ``samples *
    members`` rows, each with its sample's label and weight: a (weighted)
    mean over these rows, as every loss without embeddings is, is the mean
    over the members of each member's loss."""
    n_members = logits.shape[1]
    logits = logits.reshape(-1, logits.shape[2])
    y = y.repeat_interleave(n_members)
    if sample_weight is not None:
        sample_weight = sample_weight.repeat_interleave(n_members)
    return logits, y, sample_weight


class LongTailNet(NeuralNetClassifier):
    """A skorch classifier net trained with a long-tail loss.

    Parameters are those of :class:`skorch.NeuralNetClassifier`, with these
    defaults and additions:

    Parameters
    ----------
    module : torch module class or instance
        Returns logits, or ``(logits, embeddings)``.
    criterion : loss class, default=sklearn_lt.losses.CrossEntropyLoss
        A loss from :mod:`sklearn_lt.losses`; its ``class_counts`` are set
        at the start of training (:class:`ClassCountSetter`).
    train_split : callable or None, default=None
        Unlike skorch's default, train on all the data.
    iterator_train, iterator_valid : default=TensorBatchIterator
        The data are moved to ``device`` once per fit.
    alpha : float, default=0.0
        L2 penalty: ``0.5 * alpha * sum ||W||^2`` over parameters with two or
        more dimensions (weight matrices, not biases) is added to the
        training loss.
    class_counts : array-like of shape (n_classes,), default=None
        The per-class training counts the criterion is built from; ``None``
        counts them from ``y`` (and the sample weights) when training
        begins. An estimator that knows them (weighted, or accumulated over
        ``partial_fit`` calls) passes them here.
    fast_step : bool, default=True
        Whether training may take the hand-written step: for the package's
        own modules (:class:`~sklearn_lt.modules.MLPModule`,
        :class:`~sklearn_lt.modules.LinearModule`,
        :class:`~sklearn_lt.modules.EnsembleMLPModule`) the layers are
        back-propagated by hand, the loss gives its value and gradient in
        closed form where it has one (``criterion.value_and_grad``), and a
        fused Adam / AdamW steps without ``Optimizer.step``'s bookkeeping.
        The result is that of autograd up to float rounding, at about half
        the cost of a step on small batches. ``False`` trains every batch
        with autograd (the reference the tests compare against); anything
        the hand-written step does not reproduce (your own module, dropout,
        a cosine head, hooks, frozen layers, LBFGS, a subclass overriding
        the step) takes autograd's step either way.
    **kwargs
        Passed on to :class:`skorch.NeuralNetClassifier`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_lt import LongTailNet
    >>> from sklearn_lt.losses import LogitAdjustedLoss
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4)).astype(np.float32)
    >>> y = np.r_[np.zeros(50), np.ones(10)].astype(np.int64)
    >>> X[y == 1] += 2.0
    >>> net = LongTailNet(torch.nn.Linear(4, 2), criterion=LogitAdjustedLoss,
    ...                   max_epochs=20, lr=0.1, verbose=0).fit(X, y)
    >>> net.criterion_.class_counts.tolist()
    [50.0, 10.0]
    >>> net.predict(X).shape
    (60,)
    """

    def __init__(
        self,
        module,
        *args,
        criterion=CrossEntropyLoss,
        train_split=None,
        iterator_train=TensorBatchIterator,
        iterator_valid=TensorBatchIterator,
        alpha=0.0,
        class_counts=None,
        fast_step=True,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            criterion=criterion,
            train_split=train_split,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            **kwargs,
        )
        self.alpha = alpha
        self.class_counts = class_counts
        self.fast_step = fast_step

    @property
    def _default_callbacks(self):
        defaults = super()._default_callbacks
        if self._fast_loop:
            defaults = [(name, _fast_default(cb)) for name, cb in defaults]
        return [
            *defaults,
            ("class_count_setter", ClassCountSetter()),
            ("non_finite_loss_guard", NonFiniteLossGuard()),
        ]

    def _set_training(self, training=True):
        # skorch calls this on every batch; Module.train() re-sets the flag
        # on every submodule through the slow nn.Module.__setattr__, so only
        # call it when the mode changes (train() sets the whole tree, and a
        # module overriding train() gets the call whenever the mode flips).
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # Training runs on the thread budget of joblib / threadpoolctl.
        try:
            with torch_thread_budget():
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            # skorch's partial_fit swallows a KeyboardInterrupt from here (a
            # net stopped with Ctrl-C stays usable, and EarlyStopping stops
            # training this way); inside propagating_interrupts() a Ctrl-C
            # reaches the caller instead.
            seen = _SIGINT_SEEN.get()
            if seen is not None and seen[0]:
                raise _TrainingInterrupted from exc
            raise

    def forward_iter(self, X, training=False, device="cpu"):
        # So does prediction (predict, predict_proba, forward), including
        # what the caller does with each batch before asking for the next.
        with torch_thread_budget():
            yield from super().forward_iter(X, training=training, device=device)

    # The fast epoch of run_single_epoch and the fast versions of skorch's
    # default PassthroughScoring and PrintLog; False runs skorch's own loop
    # and callbacks (the reference the tests compare against).
    _fast_loop = True

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One epoch of training or validation, with skorch's results.

        The same steps, history entries and callback calls as
        :meth:`skorch.NeuralNet.run_single_epoch`, with the per-batch
        overhead removed:

        * batch hooks (``on_batch_begin``, ``on_batch_end``,
          ``on_grad_computed``) go only to the callbacks that override them
          (skorch calls every callback on every batch);
        * when no callback uses the batch hooks (the default set, with the
          :class:`NonFiniteLossGuard` checked per batch at the epoch's end),
          the batch losses stay tensors and are written to the history, with
          the batch sizes, once per epoch: one ``.tolist()`` instead of one
          ``.item()`` (a device synchronisation on a GPU) per batch;
        * the modules switch between train and eval mode once per epoch;
        * the L2 penalty ``alpha`` enters the gradients directly (the same
          rounded ``alpha * W`` that autograd would add) and the recorded loss
          as a value, without an autograd graph per batch.

        ``history[:, "train_loss"]`` and the weights are those of skorch's
        loop (``tests/test_net.py``). A subclass that overrides a step or
        batch-hook method of the net gets skorch's loop unchanged.
        """
        if iterator is None:
            return None
        if (
            not self._fast_loop
            or (training and step_fn != self.train_step)  # a custom step
            or any(
                getattr(type(self), name) is not getattr(LongTailNet, name)
                for name in _LOOP_METHODS
            )
        ):
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        callbacks = [cb for _, cb in self.callbacks_]
        hooks = {
            hook: [cb for cb in callbacks if _uses_hook(cb, hook, training)]
            for hook in _BATCH_HOOKS
        }
        # The guard needs the loss of each batch; in the deferred mode it gets
        # the losses at the end of the epoch instead.
        guards = [
            cb
            for cb in hooks["on_batch_end"]
            if type(cb).on_batch_end is NonFiniteLossGuard.on_batch_end
        ]
        batch_hooks = hooks["on_batch_begin"] or [
            cb for cb in hooks["on_batch_end"] if cb not in guards
        ]
        history = self.history
        self._set_training(training)
        if training:
            step = partial(
                self._train_step,
                plan=None if fit_params else self._current_step_plan(),
                grad_hooks=hooks["on_grad_computed"],
                **fit_params,
            )
        else:
            step = partial(step_fn, **fit_params)

        batch_count = 0
        if batch_hooks:
            # Some callback acts per batch: skorch's order, per batch.
            for batch in iterator:
                history.new_batch()
                for cb in hooks["on_batch_begin"]:
                    cb.on_batch_begin(self, batch=batch, training=training)
                result = step(batch)
                history.record_batch(prefix + "_loss", result["loss"].item())
                history.record_batch(prefix + "_batch_size", _batch_len(batch))
                for cb in hooks["on_batch_end"]:
                    cb.on_batch_end(self, batch=batch, training=training, **result)
                self._set_training(training)  # in case a hook switched it
                batch_count += 1
        else:
            losses, sizes = [], []
            for batch in iterator:
                losses.append(step(batch)["loss"].detach())
                sizes.append(_batch_len(batch))
                batch_count += 1
            values = torch.stack(losses).tolist() if losses else []
            loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
            if type(history) is History:
                # What new_batch() and record_batch() write, without
                # History's general indexing (about 20 us a batch).
                list.__getitem__(history, -1)["batches"].extend(
                    {loss_key: value, size_key: size}
                    for value, size in zip(values, sizes)
                )
            else:
                for value, size in zip(values, sizes):
                    history.new_batch()
                    history.record_batch(loss_key, value)
                    history.record_batch(size_key, size)
            if guards and not all(map(math.isfinite, values)):
                first = next(i for i, v in enumerate(values) if not math.isfinite(v))
                batch = _batch_at(iterator, first)
                for guard in guards:
                    guard.on_batch_end(
                        self, batch=batch, training=training, loss=losses[first]
                    )
        history.record(prefix + "_batch_count", batch_count)
        return None

    def _train_step(self, batch, plan, grad_hooks, **fit_params):
        """One training step: the net's only one.

        With a :class:`_StepPlan` (see :meth:`_current_step_plan`) and a
        dense batch, the module's layers are run and back-propagated by hand
        and the criterion is asked for its value and gradients
        (``criterion.value_and_grad``, the step protocol of
        :mod:`sklearn_lt.losses`); where it has no closed form (``None``),
        autograd differentiates the loss with respect to the module's
        outputs, in the same step. Without a plan, the step is skorch's
        (forward, loss and backward through autograd, inside the
        optimiser's closure). Either way: the same loss, gradients (up to
        float rounding), ``on_grad_computed`` calls and optimiser steps, and
        as result the first evaluation, as skorch's
        ``FirstStepAccumulator`` keeps.
        """
        Xi, yi = unpack_data(batch)
        X, sample_weight = Xi, None
        if isinstance(Xi, Mapping) and set(Xi) == {"X", "sample_weight"}:
            X, sample_weight = Xi["X"], Xi["sample_weight"]
        if plan is None or isinstance(X, Mapping) or not plan.accepts(X):
            return self._autograd_step(batch, Xi, yi, grad_hooks, **fit_params)

        backprop = plan.backprop
        outputs, saved = backprop.forward(
            X, requires_grad=False, transposed_logits=plan.transposed_logits
        )
        y_pred = outputs[0] if len(outputs) == 1 else tuple(outputs)
        answer = self._closed_form_loss(outputs, yi, sample_weight)
        if answer is None:
            # Autograd for the loss (with respect to the module's outputs).
            leaves = [output.detach().requires_grad_() for output in outputs]
            loss = self._data_loss(
                leaves[0] if len(leaves) == 1 else tuple(leaves), yi, X=Xi
            )
            output_grads = torch.autograd.grad(
                loss, leaves, allow_unused=True, materialize_grads=True
            )
        else:
            loss, output_grads = answer
        alpha = float(self.alpha)
        grads = backprop.backward(saved, *output_grads, alpha=alpha)
        # Every optimised parameter is one of the module's (see
        # _plan_step): setting .grad is zero_grad(set_to_none=True)
        # followed by autograd's accumulation into an empty .grad.
        for param, grad in zip(backprop.parameters, grads):
            param.grad = grad
        loss = loss.detach()
        if alpha:
            # The penalty's value; its gradient is in the weights' above.
            loss = torch.add(loss, squared_norm(backprop.weights), alpha=0.5 * alpha)
        if grad_hooks:
            self._notify_grad_computed(batch, grad_hooks)
        plan.step_optimizers()
        return {"loss": loss, "y_pred": y_pred}

    def _closed_form_loss(self, outputs, yi, sample_weight):
        """``criterion.value_and_grad`` on the module's outputs: ``(loss,
        output gradients)``, or ``None`` where the criterion has no closed
        form for them."""
        if not (isinstance(yi, torch.Tensor) and yi.device == outputs[0].device):
            yi = to_tensor(yi, device=self.device)
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=self.device)
        logits = outputs[0]
        embeddings = outputs[1] if len(outputs) > 1 else None
        members = logits.ndim == 3
        if members:
            if embeddings is not None:
                return None  # each member's own batch: get_loss's loop
            # An ensemble's logits (samples, members, classes): the loss of
            # every member's rows, as get_loss computes it.
            logits, yi, sample_weight = _members_as_rows(logits, yi, sample_weight)
        # A criterion from outside sklearn_lt.losses may not speak the
        # protocol: autograd, as for a loss without a closed form.
        value_and_grad = getattr(self.criterion_, "value_and_grad", None)
        if value_and_grad is None:
            return None
        with torch.no_grad():
            answer = value_and_grad(logits, yi, embeddings, sample_weight)
        if answer is None:
            return None
        loss, grads = answer
        if members:
            grads = (grads[0].view(outputs[0].shape),)
        return loss, grads

    def _autograd_step(self, batch, Xi, yi, grad_hooks, **fit_params):
        """The step through autograd: skorch's ``train_step`` (the closure
        of zeroing the gradients, forward, loss with the penalty, backward
        and ``on_grad_computed``, and the optimiser steps), without its
        per-batch bookkeeping."""
        result = {}

        def closure():
            self._zero_grad_optimizer()
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
            if not result:
                result["loss"], result["y_pred"] = loss, y_pred
            if grad_hooks:
                self._notify_grad_computed(batch, grad_hooks)
            return loss

        self._step_optimizer(closure)
        return result

    def _notify_grad_computed(self, batch, grad_hooks):
        with torch.enable_grad():
            named = TeeGenerator(self.get_all_learnable_params())
            for cb in grad_hooks:
                cb.on_grad_computed(
                    self, named_parameters=named, batch=batch, training=True
                )

    # Kept for tests/test_ensemble.py, which switches it off; fast_step=False
    # is the public switch.
    _manual_backprop = True

    def _current_step_plan(self):
        """The hand-written step's :class:`_StepPlan` for this epoch, or
        ``None`` (autograd's step).

        Planned when the net is first trained after (re-)initialising its
        module, criterion or optimiser, and kept on the net while it still
        holds (a callback may freeze a layer or add a hook between epochs:
        the plan is then made again). Global modes that autograd's step
        would honour (grad mode off, autocast, anomaly detection) give
        autograd's step for the epoch.
        """
        if (
            not self.fast_step
            or not self._manual_backprop
            or not torch.is_grad_enabled()
            or torch.is_autocast_enabled()
            or torch.is_anomaly_enabled()
        ):
            return None
        plan = self.__dict__.get("_step_plan")
        if plan is not None and plan.is_current(self):
            return plan
        plan = self._step_plan = self._plan_step()
        return plan

    def _plan_step(self):
        """A :class:`_StepPlan`, or ``None`` unless the net is the plain case
        the hand-written step reproduces: one module that
        :meth:`MLPBackprop.plan` knows, one criterion without trainable
        parameters, optimisers that evaluate their closure once and hold
        only the module's parameters, and no overridden step machinery."""
        if (
            list(self._modules) != ["module"]
            or self._criteria != ["criterion"]
            or any(
                getattr(type(self), name) is not getattr(LongTailNet, name)
                for name in _MANUAL_STEP_METHODS
            )
        ):
            return None
        criterion = self.criterion_
        if isinstance(criterion, torch.nn.Module) and any(
            p.requires_grad for p in criterion.parameters()
        ):
            return None
        backprop = MLPBackprop.plan(self.module_)
        if backprop is None:
            return None
        own = {id(p) for p in backprop.parameters}
        optimizers = [getattr(self, name + "_") for name in self._optimizers]
        for optimizer in optimizers:
            if type(optimizer) not in _SINGLE_CLOSURE_OPTIMIZERS or any(
                id(p) not in own
                for group in optimizer.param_groups
                for p in group["params"]
            ):
                return None
        # The softmax cross-entropy losses work on transposed logits when the
        # classes are few (sklearn_lt.losses._cross_entropy); an ensemble's
        # logits (samples x members x classes) and a module that also returns
        # embeddings keep the usual layout.
        transposed = (
            not hasattr(backprop, "n_members")
            and not backprop.return_embeddings
            and _few_columns(backprop.layers[-1][0].out_features)
        )
        return _StepPlan(backprop, optimizers, transposed)

    def initialize_module(self):
        self._forget_step()
        return super().initialize_module()

    def initialize_criterion(self):
        self._forget_step()
        return super().initialize_criterion()

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if (
            prefix == "criterion"
            and self.class_counts is not None
            and isinstance(self.criterion, type)  # an instance keeps its own
        ):
            params["class_counts"] = np.asarray(self.class_counts, dtype=np.float64)
        return params

    def initialize_optimizer(self, *args, **kwargs):
        self._forget_step()
        return super().initialize_optimizer(*args, **kwargs)

    def _forget_step(self):
        """Drop what was planned for the components being re-initialised."""
        self.__dict__.pop("_step_plan", None)
        self.__dict__.pop("_weight_matrix_cache", None)

    def __getstate__(self):
        # The step plan and the weight-matrix list are rebuilt on demand:
        # neither pickled nor deep-copied.
        state = super().__getstate__()
        state.pop("_step_plan", None)
        state.pop("_weight_matrix_cache", None)
        return state

    def initialize(self):
        # A clear error for device="cuda" without CUDA, instead of torch's
        # "Torch not compiled with CUDA enabled" from deep inside .to().
        if self.device is not None:
            _check_device(self.device)
        return super().initialize()

    def get_iterator(self, dataset, training=False):
        # skorch's get_iterator, plus the net's device for TensorBatchIterator.
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = getattr(self, prefix)
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if iterator is TensorBatchIterator:
            kwargs.setdefault("device", self.device)
        return iterator(dataset, **kwargs)

    def get_dataset(self, X, y=None):
        # Floating-point features in the module's precision (float64 arrays,
        # what NumPy and pandas make by default, into a float32 module).
        return super().get_dataset(self._cast_features(X), y)

    def _cast_features(self, X):
        """``X`` (or ``X["X"]``) cast to the floating dtype of the module's
        parameters, if it is a floating array of another one."""
        module = getattr(self, "module_", None)
        if not isinstance(module, torch.nn.Module):
            return X
        dtype = next(
            (p.dtype for p in module.parameters() if p.is_floating_point()), None
        )
        if dtype is None:
            return X
        if isinstance(X, Mapping) and "X" in X:
            return {**X, "X": self._cast_features(X["X"])}
        if isinstance(X, torch.Tensor):
            if X.is_floating_point() and X.dtype != dtype:
                return X.to(dtype)
            return X
        if (isinstance(X, np.ndarray) or sp.issparse(X)) and X.dtype.kind == "f":
            target = torch.empty(0, dtype=dtype)
            if target.dtype in (torch.float16, torch.float32, torch.float64):
                np_dtype = target.numpy().dtype
                if X.dtype != np_dtype:
                    return X.astype(np_dtype)
        return X

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and "sample_weight" in x:
            x = {key: value for key, value in x.items() if key != "sample_weight"}
            if list(x) == ["X"]:
                x = x["X"]
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self._data_loss(y_pred, y_true, X=X)
        if training and self.alpha:
            loss = loss + 0.5 * self.alpha * self._penalty()
        return loss

    def _data_loss(self, y_pred, y_true, X=None):
        """The criterion's loss (without the penalty ``alpha``), with the
        sample weights, embeddings and ensemble members routed as
        :meth:`get_loss` documents."""
        sample_weight = None
        if isinstance(X, Mapping) and "sample_weight" in X:
            sample_weight = to_tensor(X["sample_weight"], device=self.device)
        embeddings = None
        if isinstance(y_pred, tuple):
            y_pred, embeddings = y_pred[0], (y_pred[1] if len(y_pred) > 1 else None)
        y_true = to_tensor(y_true, device=self.device)
        if y_pred.ndim == 3 and embeddings is None:
            # An ensemble's members, (samples, members, classes) (the
            # EnsembleMLPModule in training): the mean of the members' losses.
            y_pred, y_true, sample_weight = _members_as_rows(
                y_pred, y_true, sample_weight
            )
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if y_pred.ndim == 3:  # members with embeddings: each member's own batch
            members = range(y_pred.shape[1])
            loss = sum(
                self._data_loss((y_pred[:, j], embeddings[:, j]), y_true, X=X)
                for j in members
            ) / len(members)
        elif getattr(self.criterion_, "uses_embeddings", False):
            if embeddings is None:
                raise ValueError(
                    f"{type(self.criterion_).__name__} needs embeddings: the "
                    "module must return (logits, embeddings)."
                )
            loss = self.criterion_(y_pred, embeddings, y_true, **kwargs)
        else:
            loss = self.criterion_(y_pred, y_true, **kwargs)
        return loss

    def _penalty(self):
        """``sum ||W||^2`` over the trainable weight matrices."""
        return sum(
            param.pow(2).sum()
            for param in self._weight_matrices()
            if param.requires_grad
        )

    def _weight_matrices(self):
        """The module's parameters with two or more dimensions (kept on the
        net until the module is re-initialised, not pickled: collecting them
        walks every submodule)."""
        module = self.module_
        cached = self.__dict__.get("_weight_matrix_cache")
        if cached is None or cached[0] is not module:
            cached = (module, [p for p in module.parameters() if p.ndim > 1])
            self._weight_matrix_cache = cached
        return cached[1]

    # Optimisers with a fused implementation (one kernel for all parameters
    # instead of a handful of operations per parameter tensor): used by
    # default on CPU and CUDA unless the optimiser's fused or foreach
    # argument is given. The result is that of the plain implementation up to
    # float rounding (tests/test_net.py).
    _FUSED_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD)

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        optimizer = getattr(self, prefix, None)
        if (
            optimizer in self._FUSED_OPTIMIZERS
            and not {"fused", "foreach", "differentiable", "capturable"} & set(kwargs)
            and getattr(self, "accelerator", None) is None
            and args
            and _fusable(args[0])
        ):
            kwargs["fused"] = True
        return args, kwargs

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto" and isinstance(
            getattr(self, "criterion_", None), _CountLoss
        ):
            self.check_is_fitted()
            return partial(_scaled_softmax, scale=float(self.criterion_.logit_scale))
        return super()._get_predict_nonlinearity()
