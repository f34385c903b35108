"""Learning-rate schedules of the neural estimators, and where DRW switches on.

The estimators take ``learning_rate`` as :class:`~sklearn.neural_network.
MLPClassifier` users know it, the *name* of a schedule next to the step size
``learning_rate_init``:

``"constant"``
    ``learning_rate_init`` at every epoch (after the optional warm-up).
``"cosine"``
    Cosine annealing from ``learning_rate_init`` to 0 over the epochs after
    the warm-up (Loshchilov & Hutter, 2017):
    ``lr_e = lr * (1 + cos(pi * (e - W) / (E - W))) / 2``.
``"step"``
    The LDAM-DRW recipe (Cao et al., 2019, Sec. 3.3 and their released
    training script): the rate is multiplied by ``lr_gamma`` at each
    fraction of ``max_epochs`` in ``lr_milestones`` (their script: x0.01 at
    epoch 160 and again at 180 of 200, i.e. ``lr_milestones=(0.8, 0.9)``,
    ``lr_gamma=0.01``). With ``reweight="drw"`` the class weights switch on
    at the first decay, as in the paper.

Every schedule may start with ``warmup_epochs`` of linear warm-up:
``lr_e = lr * (e + 1) / W`` for ``e < W`` (epochs counted from 0; Cao et al.
warm up for 5 of 200 epochs, Goyal et al., 2017).

The factor is a picklable callable handed to :class:`torch.optim.lr_scheduler.
LambdaLR` through skorch's :class:`~skorch.callbacks.LRScheduler`, which
steps it once per epoch.
"""

import math

__all__ = ["LearningRateSchedule", "drw_start_epoch", "lr_scheduler_callback"]

SCHEDULES = ("constant", "cosine", "step")


class LearningRateSchedule:
    """Multiplicative factor of the base learning rate at an epoch.

    Parameters
    ----------
    kind : {"constant", "cosine", "step"}
        The schedule (see the module docstring).
    max_epochs : int
        Epochs of the whole run.
    warmup_epochs : int, default=0
        Epochs of linear warm-up at the start.
    milestones : tuple of float, default=(0.8, 0.9)
        ``"step"``: fractions of ``max_epochs`` at which the rate decays.
    gamma : float, default=0.01
        ``"step"``: factor applied at each milestone.

    Examples
    --------
    >>> from sklearn_lt.schedules import LearningRateSchedule
    >>> schedule = LearningRateSchedule("step", 10, warmup_epochs=2)
    >>> [round(schedule(epoch), 6) for epoch in range(10)]
    [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.01, 0.0001]
    """

    def __init__(self, kind, max_epochs, warmup_epochs=0, milestones=(0.8, 0.9),
                 gamma=0.01):  # fmt: skip
        self.kind = kind
        self.max_epochs = int(max_epochs)
        self.warmup_epochs = int(warmup_epochs)
        self.milestones = tuple(milestones)
        self.gamma = float(gamma)

    def milestone_epochs(self):
        """Epochs (from 0) at which the ``"step"`` schedule decays."""
        return [_milestone_epoch(f, self.max_epochs) for f in self.milestones]

    def __call__(self, epoch):
        warmup = self.warmup_epochs
        if epoch < warmup:
            return (epoch + 1) / warmup
        if self.kind == "cosine":
            span = max(self.max_epochs - warmup, 1)
            return 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / span))
        if self.kind == "step":
            n_decays = sum(epoch >= start for start in self.milestone_epochs())
            return self.gamma**n_decays
        return 1.0

    def __repr__(self):
        return (
            f"LearningRateSchedule({self.kind!r}, {self.max_epochs}, "
            f"warmup_epochs={self.warmup_epochs}, milestones={self.milestones}, "
            f"gamma={self.gamma})"
        )


def _milestone_epoch(fraction, max_epochs):
    """First epoch (from 0) at or after ``fraction`` of ``max_epochs``.

    ``round(fraction * max_epochs)``, kept below ``max_epochs`` so that a
    milestone always falls inside the run (``fraction=1`` means the last
    epoch).
    """
    return min(int(round(fraction * max_epochs)), max_epochs - 1)


def drw_start_epoch(reweight_start, max_epochs, schedule=None):
    """Epoch (from 0) at which deferred re-weighting switches weights on.

    With the ``"step"`` schedule, the first decay (Cao et al. switch the
    weights on when the rate drops); otherwise ``reweight_start`` of
    ``max_epochs``. Never past the last epoch, so that DRW is never silently
    off: with ``max_epochs=2`` and ``reweight_start=0.8`` the weights are on
    for the second epoch.
    """
    if schedule is not None and schedule.kind == "step" and schedule.milestones:
        return min(schedule.milestone_epochs())
    return _milestone_epoch(reweight_start, max_epochs)


def lr_scheduler_callback(schedule):
    """skorch's ``LRScheduler`` callback stepping ``schedule`` per epoch."""
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import LambdaLR

    return LRScheduler(policy=LambdaLR, lr_lambda=schedule, step_every="epoch")
