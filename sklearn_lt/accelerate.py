"""Multi-GPU and mixed-precision training through Hugging Face Accelerate.

:class:`AcceleratedLongTailNet` is :class:`~sklearn_lt.LongTailNet` with
skorch's :class:`skorch.hf.AccelerateMixin`: pass an
``accelerate.Accelerator`` and the same script trains on a CPU, one GPU,
several GPUs or several machines, as ``accelerate launch`` starts it. The
class-count plumbing (``criterion__class_counts`` from ``y``), ELM
embeddings, sample weights, DRW and the L2 penalty ``alpha`` work as in
:class:`~sklearn_lt.LongTailNet`.

This module imports nothing from ``accelerate`` itself (the accelerator is
passed in), so ``import sklearn_lt`` never needs it; install it with
``pip install "sklearn-lt[accelerate]"``.

A recipe, in a script ``train.py`` run with ``accelerate launch train.py``
(or ``python train.py`` on one device)::

    import numpy as np
    import torch
    from accelerate import Accelerator
    from sklearn_lt.accelerate import AcceleratedLongTailNet
    from sklearn_lt.losses import LDAMLoss
    from sklearn_lt.modules import MLPModule
    from sklearn_lt.net import DeferredReweighting

    accelerator = Accelerator(mixed_precision="bf16")  # or "no", "fp16"
    net = AcceleratedLongTailNet(
        MLPModule,
        module__n_features=X.shape[1],
        module__n_classes=n_classes,
        module__hidden_layer_sizes=(512, 256),
        module__head="cosine",  # LDAM's normalised head
        criterion=LDAMLoss,
        classes=np.arange(n_classes),
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=256,  # per process
        max_epochs=100,
        iterator_train__shuffle=True,
        callbacks=[("drw", DeferredReweighting(reweight_epoch=80))],
        accelerator=accelerator,
    )
    net.fit(X.astype(np.float32), y.astype(np.int64))  # y encoded 0..K-1
    # collective: every process calls it (skorch waits for all of them),
    # only the main process writes
    net.save_params(f_params="model.pt")
    accelerator.wait_for_everyone()
    accelerator.end_training()  # leave the process group before exit

Differences from :class:`~sklearn_lt.LongTailNet`, all from Accelerate:

* ``device`` is ``None``: the accelerator places the module, the criterion
  and each batch (``Accelerator(cpu=True)`` forces the CPU);
* batches come from a :class:`torch.utils.data.DataLoader`, which the
  accelerator shards across processes (``batch_size`` is per process), not
  from :class:`~sklearn_lt.net.TensorBatchIterator`;
* optimisers that need a closure (L-BFGS) are not supported;
* a net holding an accelerator does not pickle: save it with
  ``save_params`` / ``load_params`` (see skorch's ``AccelerateMixin``).

Several processes (GPUs, machines, or CPU processes with gloo)::

    accelerate launch --multi_gpu --num_processes 4 train.py   # 4 GPUs
    accelerate launch --multi_gpu --num_machines 2 --num_processes 16 \\
        --machine_rank 0 --main_process_ip 10.0.0.1 \\
        --main_process_port 29500 train.py   # rank 1 on the other machine
    torchrun --nproc_per_node 2 train.py   # 2 CPU processes, Accelerator(cpu=True)

Every process calls ``fit`` with the whole ``X`` and ``y`` (the class
counts come from all of ``y``); the data loader gives each process a shard
of every global batch (``batch_size`` times the number of processes) and
DDP averages the gradients. Each process's loss is scaled by its share of
the global batch's weight (class weights, sample weights) before that
average, so the objective is the weighted mean over the global batch, as in
one process; ELM's embedding term compares the examples of each shard only.
With the same global batch and seed and no shuffling, the trained model is
the one a single process trains, to float rounding
(``tests/test_distributed.py``). ``predict_proba``, ``predict`` and
``save_params`` are collective: every process calls them; each gets all
rows' predictions in order, and only the main process writes.
"""

from collections.abc import Mapping

import torch
from skorch.callbacks import LRScheduler
from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from .net import LongTailNet

__all__ = ["AcceleratedLongTailNet"]


class AcceleratedLongTailNet(AccelerateMixin, LongTailNet):
    """:class:`~sklearn_lt.LongTailNet` trained through an ``Accelerator``.

    Parameters
    ----------
    module : torch module class or instance
        Returns logits, or ``(logits, embeddings)`` (for ELM).
    accelerator : accelerate.Accelerator
        Decides the devices, the number of processes, mixed precision and
        gradient accumulation.
    device : None, default=None
        Leave device placement to the accelerator.
    iterator_train, iterator_valid : default=torch.utils.data.DataLoader
        Data loaders the accelerator can shard across processes.
    unwrap_after_train : bool, default=True
        Restore the plain module after training (needed for inference
        outside the accelerator and for ``save_params``).
    **kwargs
        As for :class:`~sklearn_lt.LongTailNet` (``criterion``, ``alpha``,
        ``classes``, ``callbacks``, ...).

    See Also
    --------
    sklearn_lt.LongTailNet : The same net without Accelerate.
    skorch.hf.AccelerateMixin : The integration this builds on.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> from sklearn_lt.accelerate import AcceleratedLongTailNet
    >>> from sklearn_lt.losses import LogitAdjustedLoss
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 4)).astype(np.float32)
    >>> y = np.r_[np.zeros(50), np.ones(10)].astype(np.int64)
    >>> X[y == 1] += 2.0
    >>> net = AcceleratedLongTailNet(  # doctest: +SKIP
    ...     torch.nn.Linear(4, 2), criterion=LogitAdjustedLoss,
    ...     accelerator=Accelerator(cpu=True), max_epochs=20, lr=0.1,
    ...     verbose=0).fit(X, y)
    >>> net.criterion_.class_counts.tolist()  # doctest: +SKIP
    [50.0, 10.0]
    """

    def __init__(
        self,
        module,
        *args,
        accelerator,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        **kwargs,
    ):
        super().__init__(
            module,
            *args,
            accelerator=accelerator,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            **kwargs,
        )

    def _initialize_callbacks(self):
        # skorch's PrintLog ignores verbose=0 for any sink but print (and
        # AccelerateMixin's "auto" sink is the accelerator's print).
        if self.callbacks__print_log__sink == "auto" and not self.verbose:
            self.callbacks__print_log__sink = print
        return super()._initialize_callbacks()

    def _prepare_criterion(self, criterion):
        """``criterion`` prepared by the accelerator, or only moved to its
        device when it has no trainable parameters and the processes are
        CPU processes: accelerate wraps any module it prepares there in
        ``DistributedDataParallel``, which refuses a module without
        parameters (the package's losses hold only buffers)."""
        # DistributedType is a str enum: "MULTI_CPU" without importing it
        multi_cpu = getattr(self.accelerator, "distributed_type", None) == "MULTI_CPU"
        if multi_cpu and not any(p.requires_grad for p in criterion.parameters()):
            return criterion.to(self.accelerator.device)
        return self.accelerator.prepare(criterion)

    def _initialize_accelerator(self):
        # skorch's, with the criteria prepared by _prepare_criterion
        if self._wrapped_with_accelerator:
            return self
        with self._current_init_context("criterion"):
            for name in self._criteria:
                criterion = getattr(self, name + "_")
                if isinstance(criterion, torch.nn.Module):
                    setattr(self, name + "_", self._prepare_criterion(criterion))
        with self._current_init_context("module"):
            for name in self._modules:
                module = getattr(self, name + "_")
                if isinstance(module, torch.nn.Module):
                    setattr(self, name + "_", self.accelerator.prepare(module))
        with self._current_init_context("optimizer"):
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                if isinstance(optimizer, torch.optim.Optimizer):
                    setattr(self, name + "_", self.accelerator.prepare(optimizer))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                callback.policy_ = self.accelerator.prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    # LongTailNet's ClassCountSetter rebuilds the criterion from y when
    # training begins, and skorch then rebuilds the optimiser too; both
    # happen after the accelerator prepared the originals, so the new ones
    # are prepared here (moved to the device, the optimiser wrapped for
    # mixed precision and gradient accumulation).
    def _initialize_criterion(self, reason=None):
        super()._initialize_criterion(reason=reason)
        if getattr(self, "_wrapped_with_accelerator", False):
            for name in self._criteria:
                criterion = getattr(self, name + "_")
                if isinstance(criterion, torch.nn.Module):
                    setattr(self, name + "_", self._prepare_criterion(criterion))
        return self

    def _initialize_optimizer(self, reason=None):
        super()._initialize_optimizer(reason=reason)
        if getattr(self, "_wrapped_with_accelerator", False):
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                if isinstance(optimizer, torch.optim.Optimizer):
                    setattr(self, name + "_", self.accelerator.prepare(optimizer))
        return self

    def train_step_single(self, batch, **fit_params):
        # skorch's AccelerateMixin step, with the loss that is
        # back-propagated scaled so that DDP's average over processes is the
        # loss of the global batch (see _shard_factor); the loss returned
        # (and recorded) is this process's own.
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with self.accelerator.autocast():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            factor = self._shard_factor(Xi, yi)
            self.accelerator.backward(loss if factor is None else loss * factor)
        return {"loss": loss, "y_pred": y_pred}

    def _shard_factor(self, Xi, yi):
        """``P * V_p / V`` for process ``p`` of ``P``, or ``None`` in one
        process.

        The losses reduce a batch by ``sum_i v_i l_i / sum_i v_i`` with
        ``v_i`` the class weight of ``y_i`` times the sample weight (1
        without weights; module docstring of :mod:`sklearn_lt.losses`), and
        DDP averages the processes' gradients. The average of the shards'
        weighted means is the weighted mean of the global batch only when
        every shard carries the same ``V_p = sum_i v_i``: not with deferred
        re-weighting, sample weights, or a shorter last shard. Scaling
        process ``p``'s loss by ``P * V_p / V`` (``V`` the sum over all
        processes) makes the average exact. The factors average to 1, so
        the L2 penalty ``alpha``, the same in every process, keeps its
        gradient. Losses reduced otherwise (``reduction="sum"``, ELM, whose
        embedding term compares the examples of each shard only) are left
        as they are.
        """
        processes = self.accelerator.num_processes
        criterion = self.criterion_
        if (
            processes == 1
            or getattr(criterion, "reduction", None) != "mean"
            or getattr(criterion, "uses_embeddings", False)
        ):
            return None
        y = to_tensor(yi, device=self.accelerator.device).reshape(-1)
        v = torch.ones(len(y), dtype=torch.float64, device=y.device)
        weight = getattr(criterion, "weight", None)
        if weight is not None:
            v = v * weight.to(device=y.device, dtype=torch.float64)[y]
        if isinstance(Xi, Mapping) and "sample_weight" in Xi:
            s = to_tensor(Xi["sample_weight"], device=y.device)
            v = v * s.to(torch.float64).reshape(-1)
        local = v.sum()
        total = self.accelerator.reduce(local.clone(), reduction="sum")
        tiny = torch.finfo(torch.float64).tiny
        return (processes * local / total.clamp_min(tiny)).float()
