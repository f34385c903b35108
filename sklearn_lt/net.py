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
  (:class:`TensorBatchIterator`), instead of collating one row at a time.

:class:`DeferredReweighting` is the DRW schedule of Cao et al. (2019) as a
callback.
"""

import math
from collections.abc import Mapping
from functools import partial

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from skorch.utils import to_numpy, to_tensor
from torch.utils.data import DataLoader, Subset

from .losses import CrossEntropyLoss, _CountLoss
from .weights import compute_class_weights

__all__ = [
    "ClassCountSetter",
    "DeferredReweighting",
    "LongTailNet",
    "NonFiniteLossError",
    "NonFiniteLossGuard",
    "TensorBatchIterator",
]


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss or the weights stop being finite."""


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------
class ClassCountSetter(Callback):
    """Set ``criterion__class_counts`` from ``y`` when training begins.

    Counts are ``np.bincount(y, minlength=n_classes)`` with ``n_classes``
    taken from the net's ``classes`` if given, else from ``y``. The criterion
    is re-initialised only when the counts change.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
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
        counts = np.bincount(y.astype(np.int64), minlength=n_classes)
        current = getattr(net, "criterion__class_counts", None)
        if current is None or not np.array_equal(np.asarray(current), counts):
            net.set_params(criterion__class_counts=counts)


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


def _has_non_finite(data):
    if isinstance(data, Mapping):
        return any(_has_non_finite(value) for value in data.values())
    if isinstance(data, torch.Tensor) and data.is_floating_point():
        return not bool(torch.isfinite(data).all())
    return False


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
# Fast iteration over tensors
# --------------------------------------------------------------------------
def _as_tensor_tree(data, device):
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {key: _as_tensor_tree(value, device) for key, value in data.items()}
    return to_tensor(data, device=device)


def _index_tree(data, index):
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {key: _index_tree(value, index) for key, value in data.items()}
    return data[index]


class TensorBatchIterator:
    """Mini-batches sliced from tensors moved to the device once.

    A drop-in for skorch's ``iterator_train`` / ``iterator_valid``: called as
    ``TensorBatchIterator(dataset, batch_size=..., shuffle=...)``. For a
    skorch :class:`~skorch.dataset.Dataset` (or a ``Subset`` of one) holding
    arrays, tensors or dicts of them, the data become tensors on ``device``
    once and each batch is a slice (no shuffle) or an index gather (shuffle).
    Anything else falls back to a :class:`~torch.utils.data.DataLoader`.

    With ``shuffle=True`` the order is the one ``DataLoader(shuffle=True)``
    draws from the global torch random state (the same two draws per epoch),
    so under ``torch.manual_seed`` both give the same batches.

    Parameters
    ----------
    dataset : skorch Dataset or torch Dataset
    batch_size : int, default=128
    shuffle : bool, default=False
    drop_last : bool, default=False
    device : str or torch.device, default=None
        Where to put the tensors; ``None`` leaves them where they are.
    **kwargs
        Passed to the ``DataLoader`` fallback only.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        drop_last=False,
        device=None,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = device
        self.kwargs = kwargs
        self._tensors = self._extract(dataset, device)

    @staticmethod
    def _extract(dataset, device):
        indices = None
        if isinstance(dataset, Subset) and isinstance(dataset.dataset, Dataset):
            indices = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
            dataset = dataset.dataset
        if type(dataset) is not Dataset:
            return None
        data = (dataset.X, dataset.y)
        if any(_is_unsupported(part) for part in data):
            return None
        X, y = (_as_tensor_tree(part, device) for part in data)
        if indices is not None:
            X = _index_tree(X, indices.to(_first_device(X)))
            y = _index_tree(y, indices.to(_first_device(y))) if y is not None else None
        return X, y, len(indices) if indices is not None else len(dataset)

    def __len__(self):
        if self._tensors is None:
            return len(self._loader())
        n = self._tensors[2]
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size

    def _loader(self):
        return DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            drop_last=self.drop_last,
            **self.kwargs,
        )

    def __iter__(self):
        if self._tensors is None:
            yield from self._loader()
            return
        X, y, n = self._tensors
        if self.shuffle:
            # The same draws as DataLoader(shuffle=True): one for the
            # loader's base seed, one for RandomSampler's generator seed.
            torch.empty((), dtype=torch.int64).random_()
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            generator = torch.Generator()
            generator.manual_seed(seed)
            order = torch.randperm(n, generator=generator)
            order = order.to(_first_device(X))
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            if self.shuffle:
                index = order[start : start + self.batch_size]
            else:
                index = slice(start, start + self.batch_size)
            yield _index_tree(X, index), _index_tree(y, index)


def _is_unsupported(part):
    if part is None or isinstance(part, (np.ndarray, torch.Tensor)):
        return False
    if isinstance(part, Mapping):
        return any(_is_unsupported(value) for value in part.values())
    return True


def _first_device(data):
    if isinstance(data, Mapping):
        return _first_device(next(iter(data.values())))
    return data.device


# --------------------------------------------------------------------------
# The net
# --------------------------------------------------------------------------
def _scaled_softmax(logits, scale=1.0):
    return torch.softmax(scale * logits, dim=-1)


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
        from ``y`` at the start of training.
    train_split : callable or None, default=None
        Unlike skorch's default, train on all the data.
    iterator_train, iterator_valid : default=TensorBatchIterator
        The data are moved to ``device`` once per fit.
    alpha : float, default=0.0
        L2 penalty: ``0.5 * alpha * sum ||W||^2`` over parameters with two or
        more dimensions (weight matrices, not biases) is added to the
        training loss.
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

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
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

    def infer(self, x, **fit_params):
        if isinstance(x, Mapping) and "sample_weight" in x:
            x = {key: value for key, value in x.items() if key != "sample_weight"}
            if list(x) == ["X"]:
                x = x["X"]
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        sample_weight = None
        if isinstance(X, Mapping) and "sample_weight" in X:
            sample_weight = to_tensor(X["sample_weight"], device=self.device)
        embeddings = None
        if isinstance(y_pred, tuple):
            y_pred, embeddings = y_pred[0], (y_pred[1] if len(y_pred) > 1 else None)
        y_true = to_tensor(y_true, device=self.device)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if getattr(self.criterion_, "uses_embeddings", False):
            if embeddings is None:
                raise ValueError(
                    f"{type(self.criterion_).__name__} needs embeddings: the "
                    "module must return (logits, embeddings)."
                )
            loss = self.criterion_(y_pred, embeddings, y_true, **kwargs)
        else:
            loss = self.criterion_(y_pred, y_true, **kwargs)
        if training and self.alpha:
            penalty = sum(
                param.pow(2).sum()
                for param in self.module_.parameters()
                if param.ndim > 1 and param.requires_grad
            )
            loss = loss + 0.5 * self.alpha * penalty
        return loss

    def _get_predict_nonlinearity(self):
        if self.predict_nonlinearity == "auto" and isinstance(
            getattr(self, "criterion_", None), _CountLoss
        ):
            self.check_is_fitted()
            return partial(_scaled_softmax, scale=float(self.criterion_.logit_scale))
        return super()._get_predict_nonlinearity()
