"""The callbacks of :class:`~sklearn_lt.net.LongTailNet`: class counts to the
criterion, deferred re-weighting, the non-finite loss guard, and quieter
versions of two of skorch's defaults. Public ones are exported by
:mod:`sklearn_lt.net`."""

import math
import re
import sys
from collections.abc import Mapping

import numpy as np
import torch
from skorch.callbacks import (
    Callback,
    PassthroughScoring,
    PrintLog,
)
from skorch.history import History
from skorch.utils import to_numpy

from .losses._common import _CountLoss
from .weights import compute_class_weights


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss or the weights stop being finite."""


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------
class ClassCountSetter(Callback):
    """Give the criterion the net's class counts when training begins.

    The one way class counts reach a :class:`LongTailNet`'s criterion. The
    counts are the net's ``class_counts`` when given (an estimator that
    knows them, e.g. accumulated over ``partial_fit`` calls); else
    ``np.bincount(y, minlength=n_classes)`` with ``n_classes`` taken from
    the net's ``classes`` if given, else from ``y``. When ``X`` is a dict
    with a ``"sample_weight"`` entry, each row counts with its weight (a row
    of weight 0 as a dropped row, one of weight 2 as two rows), and weighted
    counts whose smallest positive value is below 1 are scaled up to make
    it 1 (the losses count rows; priors and margins do not change under a
    common factor). The criterion is re-initialised only when the counts
    change; with given counts, the optimisers' state carries over (the
    criterion has no parameters: only the loss's constants change).
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        given = getattr(net, "class_counts", None)
        if given is not None:
            counts = np.asarray(given, dtype=np.float64)
        else:
            counts = _counts_from_y(net, X, y)
        current = getattr(getattr(net, "criterion_", None), "class_counts", None)
        if torch.is_tensor(current):
            current = current.detach().cpu().numpy()
        elif current is None:
            current = getattr(net, "criterion__class_counts", None)
        if current is not None and np.array_equal(np.asarray(current), counts):
            return
        if given is None or not net.initialized_:
            net.set_params(criterion__class_counts=counts)
            return
        # skorch rebuilds the optimisers with the criterion; their state
        # (Adam's moments, SGD's momentum) carries over unchanged.
        states = {
            name: getattr(net, name + "_").state_dict() for name in net._optimizers
        }
        net.set_params(criterion__class_counts=counts)
        for name, state in states.items():
            getattr(net, name + "_").load_state_dict(state)


def _counts_from_y(net, X, y):
    """Class counts from ``y`` (weighted by ``X["sample_weight"]``), as
    :class:`ClassCountSetter` documents."""
    if y is None:
        raise ValueError("LongTailNet needs y to count the classes; pass y to fit.")
    y = np.asarray(to_numpy(y)).ravel()
    if y.size == 0:
        raise ValueError(
            "LongTailNet needs at least one training example; got an empty y."
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(
            "LongTailNet expects y encoded as integers 0..n_classes-1, got "
            f"dtype {y.dtype} with values such as {y[:3].tolist()}; use "
            "sklearn.preprocessing.LabelEncoder first."
        )
    n_classes = int(y.max()) + 1
    if net.classes is not None:
        n_classes = max(n_classes, len(net.classes))
    weights = None
    if isinstance(X, Mapping) and "sample_weight" in X:
        weights = np.asarray(to_numpy(X["sample_weight"]), dtype=np.float64)
        weights = weights.ravel()
    counts = np.bincount(y.astype(np.int64), weights=weights, minlength=n_classes)
    if weights is not None:
        positive = counts[counts > 0]
        if positive.size and positive.min() < 1:
            counts = counts / positive.min()
    return counts


class DeferredReweighting(Callback):
    """Deferred re-weighting (DRW): class weights from a given epoch on.

    Before ``reweight_epoch`` the criterion keeps the weights it was built
    with (normally none); from ``reweight_epoch`` (counted from 0 over the
    net's whole history) it uses ``class_weight`` computed from the
    criterion's class counts (Cao et al., NeurIPS 2019, who switch at epoch
    160 of 200 with effective-number weights).

    Parameters
    ----------
    reweight_epoch : int
        First epoch trained with class weights.
    class_weight : "effective_number", "balanced" or array-like, \
            default="effective_number"
        The weights to switch on (an array is used as given).
    beta : float, default=0.9999
        ``beta`` of the effective-number weights.
    """

    def __init__(self, reweight_epoch, class_weight="effective_number", beta=0.9999):
        self.reweight_epoch = reweight_epoch
        self.class_weight = class_weight
        self.beta = beta

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1
        if epoch < self.reweight_epoch:
            return
        criterion = net.criterion_
        if not isinstance(criterion, _CountLoss):
            raise TypeError(
                "DeferredReweighting needs a criterion from sklearn_lt.losses, "
                f"got {type(criterion).__name__}."
            )
        if isinstance(self.class_weight, str):
            weights = compute_class_weights(
                self.class_weight, to_numpy(criterion.class_counts), beta=self.beta
            )
        else:
            weights = np.asarray(self.class_weight, dtype=np.float64)
        criterion.set_weight(weights)


class NonFiniteLossGuard(Callback):
    """Stop training with a clear error when the loss or weights are not finite."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        # A Python float check: skorch itself calls loss.item() on every
        # batch, and a tensor isfinite().all() costs two small tensors.
        if training and loss is not None and not math.isfinite(loss.item()):
            what = f"the training loss became {loss.item()}"
            if batch is not None and _has_non_finite(batch[0]):
                what += (
                    " on a batch whose inputs X contain NaN or infinity (impute "
                    "or drop them first, e.g. sklearn.impute.SimpleImputer)"
                )
            self._fail(net, what)

    def on_epoch_end(self, net, **kwargs):
        with torch.no_grad():
            params = list(net.module_.parameters())
            if params and _all_finite(params):
                return
        for name, param in net.module_.named_parameters():
            if not torch.isfinite(param).all():
                self._fail(net, f"parameter {name!r} has non-finite values")

    @staticmethod
    def _fail(net, what):
        epoch = len(net.history)
        raise NonFiniteLossError(
            f"Training diverged at epoch {epoch}: {what}. Try a smaller "
            "learning rate (learning_rate_init / lr), smaller scale or tau, "
            "standardised features (StandardScaler), or a larger alpha."
        )


def _all_finite(tensors):
    """Whether every entry of ``tensors`` is finite, in a few operations.

    The 2-norm of all the entries (``torch.nn.utils.get_total_norm``) is
    finite if every entry is, and infinite or NaN if one is not. It may also
    overflow for finite entries (above about 1e19 in float32): a false
    alarm, which the caller's exact check, one tensor at a time, clears.
    """
    try:
        total = torch.nn.utils.get_total_norm(tensors, norm_type=2.0)
    except (RuntimeError, TypeError):  # say, integer or sparse parameters
        return False  # the caller checks one by one
    return math.isfinite(total.item())


_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


class _QuietPrintLog(PrintLog):
    """skorch's PrintLog, minus formatting a table nobody sees, and without
    colours outside a terminal.

    :class:`~skorch.callbacks.PrintLog` formats the epoch's row (tabulate,
    about a millisecond) even when ``verbose=0`` keeps it from being printed;
    this one skips the epoch when nothing would be printed. skorch colours
    the best values with terminal escape codes; this one does so only when
    it prints to a standard output that is a terminal, so a redirected log
    (a file, a pipe, a notebook, a logger as ``sink``) is plain text.
    """

    def on_epoch_end(self, net, **kwargs):
        if self.sink is print and not net.verbose:
            return
        super().on_epoch_end(net, **kwargs)

    def format_row(self, row, key, color):
        formatted = super().format_row(row, key, color)
        if isinstance(formatted, str) and not self._to_terminal():
            return _ANSI_CODE.sub("", formatted)
        return formatted

    def _to_terminal(self):
        isatty = getattr(sys.stdout, "isatty", None)
        try:
            return self.sink is print and callable(isatty) and bool(isatty())
        except (OSError, ValueError):  # a closed or detached stream
            return False


class _PassthroughScoring(PassthroughScoring):
    """skorch's PassthroughScoring, reading the epoch's batches directly.

    The same batch-size-weighted mean of the batch values
    (``np.average(values, weights=sizes)`` over the batches that have both)
    and the same history entries; skorch's general history indexing
    (``history[-1, "batches", :, key]``), which costs about as much as a
    small epoch's training, is used only for other history types.
    """

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        if type(history) is not History:
            return super().on_epoch_end(net, **kwargs)
        size_key = "train_batch_size" if self.on_train else "valid_batch_size"
        batches = history[-1]["batches"]
        if not any(self.name in batch for batch in batches):
            return None  # e.g. no validation data
        pairs = [
            (batch[size_key], batch[self.name])
            for batch in batches
            if size_key in batch and self.name in batch
        ]
        sizes, values = zip(*pairs)
        # np.average(values, weights=sizes), the same operations without
        # its argument handling.
        values = np.asarray(values, dtype=np.float64)
        sizes = np.asarray(sizes, dtype=np.float64)
        score = np.multiply(values, sizes).sum() / sizes.sum()
        is_best = self._is_best_score(score)
        if is_best:
            self.best_score_ = score
        history.record(self.name, score)
        if is_best is not None:
            history.record(self.name + "_best", bool(is_best))
        return None


def _fast_default(callback):
    """LongTailNet's replacement for one of skorch's default callbacks."""
    if type(callback) is PrintLog:
        return _QuietPrintLog()
    if type(callback) is PassthroughScoring:
        return _PassthroughScoring(
            callback.name,
            lower_is_better=callback.lower_is_better,
            on_train=callback.on_train,
        )
    return callback


def _has_non_finite(data):
    if isinstance(data, Mapping):
        return any(_has_non_finite(value) for value in data.values())
    if isinstance(data, torch.Tensor) and data.is_floating_point():
        if data.layout != torch.strided:  # a sparse batch: its stored values
            data = data.coalesce().values()
        return not bool(torch.isfinite(data).all())
    return False
