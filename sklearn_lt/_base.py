"""The scikit-learn estimator shared by the linear and MLP classifiers.

Subclasses say which module to build (``_module_spec``) and how to train it
(``_training_spec``); everything else lives here: parameter and input
validation, label encoding, class counts, the loss and its class weights, the
skorch net, seeding, and ``predict`` / ``predict_proba`` /
``decision_function``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .losses import LOSSES, get_loss_class
from .net import DeferredReweighting, LongTailNet
from .weights import compute_class_weights

_COMMON_CONSTRAINTS = {
    "loss": [StrOptions(set(LOSSES))],
    "tau": [Interval(Real, None, None, closed="neither")],
    "max_margin": [Interval(Real, 0, None, closed="left")],
    "scale": [Interval(Real, 0, None, closed="neither")],
    "vs_gamma": [Interval(Real, None, None, closed="neither")],
    "focal_gamma": [Interval(Real, 0, None, closed="left")],
    "class_weight": [StrOptions({"balanced", "effective_number"}), dict, None],
    "beta": [Interval(Real, 0, 1, closed="left")],
    "reweight": [StrOptions({"drw"}), None],
    "reweight_start": [Interval(Real, 0, 1, closed="both")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def _check_device(device):
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


def _as_tensor(array):
    # Read-only inputs (memory maps) are fine: nothing writes to the tensor.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        return torch.as_tensor(array)


def _check_finite_output(values, X, what):
    """Raise if the model's outputs overflowed (float32) on some rows of ``X``."""
    bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"The model's {what} are not finite for {rows.size} of "
            f"{len(values)} samples (first: row {rows[0]}), whose features "
            f"reach {np.abs(X[rows]).max():.3g} in absolute value: float32 "
            "overflowed. Scale the inputs as for training (e.g. a "
            "StandardScaler in a Pipeline)."
        )
    return values


class _BaseMarginClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict logic; see LinearMarginClassifier / MLPMarginClassifier."""

    _parameter_constraints = dict(_COMMON_CONSTRAINTS)
    _minibatch = True  # subclasses on a full-batch solver override

    # -- hooks for subclasses ------------------------------------------------
    def _module_spec(self, n_features, n_classes):
        """Return ``(module_class, module_kwargs)``."""
        raise NotImplementedError

    def _training_spec(self, n_samples):
        """Return ``(net_kwargs, reweight_epoch)`` for the optimiser."""
        raise NotImplementedError

    def _extra_callbacks(self, seed):
        return []

    def _train_split(self, seed):
        return None

    # -- the loss ------------------------------------------------------------
    def _criterion_params(self):
        loss = self.loss
        if loss == "ldam":
            return {"max_margin": self.max_margin, "scale": self.scale}
        if loss == "logit_adjusted":
            return {"tau": self.tau}
        if loss == "vs":
            return {"gamma": self.vs_gamma, "tau": self.tau}
        if loss == "focal":
            return {"gamma": self.focal_gamma}
        if loss == "elm":
            return {
                "logit_loss": self.elm_logit_loss,
                "tau": self.tau,
                "max_margin": self.max_margin,
                "scale": self.scale,
                "embedding_weight": self.embedding_weight,
                "temperature": self.temperature,
                "embedding_margin": self.embedding_margin,
            }
        return {}

    def _uses_cosine_head(self):
        return self.loss == "ldam" or (
            self.loss == "elm" and self.elm_logit_loss == "ldam"
        )

    # -- fit -----------------------------------------------------------------
    def _validate_inputs(self, X, y, sample_weight):
        X, y = validate_data(
            self, X, y, dtype=np.float32, order="C", accept_sparse=False
        )
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "This classifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            if not sample_weight.sum() > 0:
                raise ValueError("sample_weight must have at least one positive value.")
            # Every loss is a weighted mean, unchanged by a common factor on
            # the weights: scaling them to a largest value of 1 keeps weights
            # such as 1e38 or 1e-46 from overflowing or vanishing in float32.
            sample_weight = (sample_weight / sample_weight.max()).astype(np.float32)
        return X, y_encoded.astype(np.int64), classes, sample_weight

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (dense; converted to float32).
        y : array-like of shape (n_samples,)
            Class labels (any hashable, sortable labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-example weights.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._validate_params()
        device = _check_device(self.device)
        if self.loss == "elm" and not self._supports_embeddings:
            raise ValueError(
                f"loss='elm' needs a learned embedding, which "
                f"{type(self).__name__} does not have; use "
                "MLPMarginClassifier(loss='elm') instead."
            )
        X, y_encoded, classes, sample_weight = self._validate_inputs(
            X, y, sample_weight
        )
        n_samples, n_features = X.shape
        n_classes = classes.size
        self.classes_ = classes
        self.class_counts_ = np.bincount(y_encoded, minlength=n_classes)

        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        self.net_ = self._build_net(n_samples, n_features, seed)

        X_in = _as_tensor(X)
        if sample_weight is not None:
            X_in = {"X": X_in, "sample_weight": _as_tensor(sample_weight)}
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            self.net_.fit(X_in, torch.from_numpy(y_encoded))
        self.n_iter_ = self._n_iter()
        return self

    def _n_iter(self):
        """Number of epochs run (full-batch solvers override)."""
        return len(self.net_.history)

    def _build_net(self, n_samples, n_features, seed):
        n_classes = self.classes_.size
        module, module_kwargs = self._module_spec(n_features, n_classes)
        net_kwargs, reweight_epoch = self._training_spec(n_samples)
        weights = None
        if self.class_weight is not None or self.reweight == "drw":
            weights = compute_class_weights(
                self.class_weight or "effective_number",
                self.class_counts_,
                classes=self.classes_,
                beta=self.beta,
            )
        callbacks = list(self._extra_callbacks(seed))
        criterion_kwargs = {
            f"criterion__{key}": value
            for key, value in self._criterion_params().items()
        }
        if self.reweight == "drw":
            callbacks.append(("drw", DeferredReweighting(reweight_epoch, weights)))
        elif weights is not None:
            criterion_kwargs["criterion__weight"] = weights
        return LongTailNet(
            module=module,
            **{f"module__{key}": value for key, value in module_kwargs.items()},
            criterion=get_loss_class(self.loss),
            criterion__class_counts=self.class_counts_,
            **criterion_kwargs,
            classes=np.arange(n_classes),
            train_split=self._train_split(seed),
            callbacks=callbacks or None,
            alpha=self.alpha,
            device=self.device,
            verbose=int(self.verbose),
            **net_kwargs,
        )

    # -- predict -------------------------------------------------------------
    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float32, order="C", accept_sparse=False, reset=False
        )
        output = self.net_.forward(_as_tensor(X), training=False)
        if isinstance(output, tuple):
            output = output[0]
        scale = float(self.net_.criterion_.logit_scale)
        return _check_finite_output((scale * output).double().numpy(), X, "logits")

    def decision_function(self, X):
        """Logits used for prediction.

        For ``loss="logit_adjusted"``, ``"balanced_softmax"`` and ``"vs"``
        these are the raw model outputs (the adjustments act in training
        only); for ``"ldam"`` the cosine logits times ``scale``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            For two classes, the difference ``logit_1 - logit_0`` (positive
            means ``classes_[1]``), as scikit-learn expects.
        """
        logits = self._logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities, the softmax of the prediction logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predicted class labels (argmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags
