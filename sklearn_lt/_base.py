"""The scikit-learn estimator shared by the linear and MLP classifiers.

Subclasses say which module to build (``_module_spec``) and how to train it
(``_training_spec``); everything else lives here: parameter and input
validation, label encoding, class counts, the loss and its class weights, the
skorch net, seeding, and ``predict`` / ``predict_proba`` /
``decision_function``.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._interrupts import propagating_interrupts
from .losses import LOSSES, get_loss_class
from .net import DeferredReweighting, LongTailNet, _check_device
from .schedules import (
    SCHEDULES,
    LearningRateSchedule,
    drw_start_epoch,
    lr_scheduler_callback,
)
from .weights import TAU_CONSTRAINT, compute_class_weights

# Sparse X (one-hot encoded tables): CSR or CSC, kept sparse (see _as_tensor).
_SPARSE = ["csr", "csc"]

_COMMON_CONSTRAINTS = {
    "loss": [StrOptions(set(LOSSES))],
    "tau": [TAU_CONSTRAINT],
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
    "learning_rate": [StrOptions(set(SCHEDULES))],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    "lr_milestones": ["array-like"],
    "lr_gamma": [Interval(Real, 0, 1, closed="right")],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "fast_step": ["boolean"],
}


# Features beyond this absolute value draw a warning before minibatch
# training (_check_feature_scale).
_FEATURE_SCALE_LIMIT = 1e4

# alpha="auto": 1e-2 up to 2,000 training rows, then 1e-2 * (2000 / n)**1.5,
# 3.2e-4 at 20,000 rows. The 2,000 rows and 1e-2 come from
# benchmarks/bench_quality.py (RESULTS.md section 7); the power 1.5 (it was 2)
# from bench_real.py's real tables (RESULTS.md, "The penalty's decay with the
# rows"): +0.3 points on the real binary tables, nothing lost elsewhere.
_AUTO_ALPHA_MAX = 1e-2
_AUTO_ALPHA_ROWS = 2000
_AUTO_ALPHA_POWER = 1.5
# ELM keeps the old fixed default: the strong penalty cost it 2-10 points on
# long-tailed multi-class tables while adding 1 point on binary ones.
_AUTO_ALPHA_ELM = 1e-4


class DoubleCorrectionWarning(UserWarning):
    """Class weights (or DRW) combined with a loss that already corrects
    for the class prior.

    ``loss="logit_adjusted"`` (with ``tau > 0``) and
    ``loss="balanced_softmax"`` add ``tau * log(prior)`` to the logits in
    training, which is already the correction for an imbalanced prior
    (Menon et al., 2021). Class weights (``class_weight``, or the deferred
    re-weighting of ``reweight="drw"``) correct for it a second time, and
    the model then over-predicts the rare classes.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_lt import DoubleCorrectionWarning, LinearMarginClassifier
    >>> X, y = make_classification(100, 4, weights=[0.8], random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = LinearMarginClassifier(class_weight="balanced").fit(X, y)
    >>> [w.category.__name__ for w in caught]
    ['DoubleCorrectionWarning']
    """


@contextmanager
def _seeded_torch(seed, device):
    """Run the body with torch's random state seeded, then restore it.

    On a CPU only the CPU generator is seeded: ``torch.manual_seed`` also
    seeds every accelerator's generator (CUDA's, and through lazy calls
    MTIA's and XPU's, each recording a stack trace: about 0.2 ms a fit),
    which a CPU fit does not use and which ``fork_rng`` would not restore.
    """
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        if cuda:
            torch.manual_seed(seed)
        else:
            torch.default_generator.manual_seed(seed)
        yield


def _as_tensor(array):
    """``array`` as a tensor sharing its memory; a scipy sparse matrix as
    CSR (:class:`~sklearn_lt.net.TensorBatchIterator` makes tensors of its
    batches, so it is never dense as a whole)."""
    if sp.issparse(array):
        return sp.csr_matrix(array)
    # Read-only inputs (memory maps) are fine: nothing writes to the tensor.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not")
        return torch.as_tensor(array)


def _checked_sample_weight(sample_weight, X):
    """``sample_weight`` validated by scikit-learn (float64, non-negative,
    one per row of ``X``), or None."""
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight must have at least one positive value.")
    return sample_weight


def _scaled_sample_weight(sample_weight):
    """Checked weights as float32, scaled to a largest value of 1.

    Every loss is a weighted mean ``sum_i w_i l_i / sum_i w_i``: a row of
    weight 0 adds nothing to either sum (the same as dropping it), a weight
    of 2 counts a row twice (the same as repeating it), and a common factor
    on the weights changes nothing, so the scaling keeps weights such as
    1e38 or 1e-46 from overflowing or vanishing in float32.
    """
    if sample_weight is None:
        return None
    return (sample_weight / sample_weight.max()).astype(np.float32)


def _rows_to_train(X, y_encoded, sample_weight):
    """Drop the rows of weight 0, and the weights if the rest are all equal.

    A row of weight 0 is then a dropped row for every loss, including the
    terms where a row meets the other rows of its batch (ELM's contrastive
    term), and for the minibatches: the same rows in the same batches. With
    equal weights the weighted mean loss is the plain mean, computed as
    without weights.
    """
    if sample_weight is None:
        return X, y_encoded, None
    keep = sample_weight > 0
    if not keep.all():
        X, y_encoded, sample_weight = X[keep], y_encoded[keep], sample_weight[keep]
    if sample_weight.min() == sample_weight.max():
        sample_weight = None
    return X, y_encoded, sample_weight


def _net_input(X, sample_weight):
    """What the net trains on: ``X`` as a tensor, or with weights the dict
    ``{"X": ..., "sample_weight": ...}`` of :class:`~sklearn_lt.LongTailNet`."""
    X_in = _as_tensor(X)
    if sample_weight is None:
        return X_in
    return {
        "X": X_in,
        "sample_weight": _as_tensor(_scaled_sample_weight(sample_weight)),
    }


def _class_counts(y_encoded, n_classes, sample_weight):
    """Per-class counts as float64: the sum of ``sample_weight`` over each
    class's rows, or the number of rows without weights."""
    return np.bincount(y_encoded, weights=sample_weight, minlength=n_classes).astype(
        np.float64
    )


def _loss_counts(class_counts):
    """The counts the loss is built from: ``class_counts`` with classes of
    count 0 (declared to ``partial_fit`` but not seen yet, or of zero total
    weight) counted as the smallest positive count or one row, whichever is
    less, so their margins and log-priors stay finite; counts are then
    scaled up, if needed, so that the smallest is 1 (the losses count
    rows). Priors, LDAM and VS margins and balanced weights are unchanged
    by a common factor; without weights, or with integer weights, nothing
    is scaled."""
    counts = np.asarray(class_counts, dtype=np.float64)
    positive = counts[counts > 0]
    floor = min(1.0, positive.min()) if positive.size else 1.0
    counts = np.where(counts > 0, counts, floor)
    if counts.min() < 1:
        counts = counts / counts.min()
    return counts


def _check_finite_output(values, X, what, offset=0, total=None):
    """Raise if the model's outputs overflowed (float32) on some rows of ``X``.

    ``values`` and ``X`` may be a block of rows starting at row ``offset``
    of ``total`` rows.
    """
    if np.isfinite(values.sum()):  # one pass, no temporary (float64 sum)
        return values
    bad = ~np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"The model's {what} are not finite for {rows.size} of "
            f"{total or len(values)} samples (first: row {offset + rows[0]}), whose "
            f"features "
            f"reach {abs(X[rows]).max():.3g} in absolute value: float32 "
            "overflowed. Scale the inputs as for training (e.g. a "
            "StandardScaler in a Pipeline)."
        )
    return values


class _BaseMarginClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict logic; see LinearMarginClassifier / MLPMarginClassifier."""

    _parameter_constraints = dict(_COMMON_CONSTRAINTS)

    # -- hooks for subclasses ------------------------------------------------
    def _module_spec(self, n_features, n_classes):
        """Return ``(module_class, module_kwargs)``."""
        raise NotImplementedError

    def _training_spec(self, n_samples):
        """Return ``(net_kwargs, reweight_epoch)`` for the optimiser."""
        raise NotImplementedError

    def _extra_callbacks(self, seed):
        return []

    def _check_convergence(self):
        """Warn after fit if the solver stopped on its budget (override)."""

    def _fits_in_minibatches(self):
        """Whether ``fit`` trains by minibatch epochs (full-batch solvers: no)."""
        return True

    # -- schedules -----------------------------------------------------------
    def _n_epochs(self):
        """Epochs of a minibatch ``fit``."""
        return self.max_epochs

    def _lr_schedule(self):
        """The learning-rate schedule of ``fit``, or None for a constant rate."""
        if not self._fits_in_minibatches():
            return None
        if self.learning_rate == "constant" and self.warmup_epochs == 0:
            return None
        return LearningRateSchedule(
            self.learning_rate,
            self._n_epochs(),
            warmup_epochs=self.warmup_epochs,
            milestones=self._milestones(),
            gamma=self.lr_gamma,
        )

    def _milestones(self):
        milestones = np.asarray(self.lr_milestones, dtype=np.float64).ravel()
        if milestones.size == 0 or not np.all((milestones > 0) & (milestones <= 1)):
            raise ValueError(
                "lr_milestones must be a non-empty sequence of fractions of "
                f"max_epochs in (0, 1], got {self.lr_milestones!r}."
            )
        return tuple(np.sort(milestones).tolist())

    def _reweight_epoch(self):
        """Epoch (from 0) at which DRW switches the class weights on.

        ``reweight_start`` of ``max_epochs``, or the first decay of the
        ``"step"`` schedule, and never past the last epoch (see
        :func:`sklearn_lt.schedules.drw_start_epoch`).
        """
        return drw_start_epoch(
            self.reweight_start, self._n_epochs(), self._lr_schedule()
        )

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

    def _check_double_correction(self):
        """Warn when class weights and a prior-correcting loss both apply."""
        if self.loss == "logit_adjusted" and self.tau > 0:
            loss = f"loss='logit_adjusted' (tau={self.tau})"
        elif self.loss == "balanced_softmax":
            loss = "loss='balanced_softmax'"
        else:
            return
        weights = []
        if self.class_weight is not None:
            weights.append(f"class_weight={self.class_weight!r}")
        if self.reweight == "drw":
            weights.append("reweight='drw'")
        if not weights:
            return
        warnings.warn(
            f"{' and '.join(weights)} with {loss} correct for the class prior "
            "twice: the loss already adds tau * log(prior) to the logits in "
            "training, and the class weights then favour the rare classes "
            "again, so the model over-predicts them. Use one correction: "
            "class_weight=None and reweight=None with this loss, or the "
            "weights with loss='ce' (re-weighting) or loss='ldam' (LDAM-DRW).",
            DoubleCorrectionWarning,
            stacklevel=3,
        )

    def _uses_cosine_head(self):
        return self.loss == "ldam" or (
            self.loss == "elm" and self.elm_logit_loss == "ldam"
        )

    # -- fit -----------------------------------------------------------------
    def _validate_inputs(self, X, y, sample_weight, reset=True):
        X, y = validate_data(
            self, X, y, dtype=np.float32, order="C", accept_sparse=_SPARSE, reset=reset
        )
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                "This classifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0]!r}."
            )
        sample_weight = _checked_sample_weight(sample_weight, X)
        return X, y_encoded.astype(np.int64), classes, sample_weight

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, converted to float32. A sparse matrix (CSR or
            CSC, e.g. from a ``OneHotEncoder``) stays sparse: each minibatch
            is made dense (or, above 64 MiB, a torch sparse tensor) when it
            is drawn, never the whole matrix.
        y : array-like of shape (n_samples,)
            Class labels (any hashable, sortable labels).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-example weights, as repeated rows: they weight
            each row's loss and the class counts that the loss's priors,
            margins and class weights come from (``class_counts_``). Rows of
            weight 0 are left out.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._validate_params()
        self._check_double_correction()
        device = _check_device(self.device)
        if self.loss == "elm" and not self._supports_embeddings:
            raise ValueError(
                f"loss='elm' needs a learned embedding, which "
                f"{type(self).__name__} does not have; use "
                "MLPMarginClassifier(loss='elm') instead."
            )
        # warm_start: continue from the fitted weights (with the same classes
        # and features), as MLPClassifier does.
        previous = getattr(self, "net_", None) if self.warm_start else None
        if previous is not None and not previous.initialized_:
            previous = None
        X, y_encoded, classes, sample_weight = self._validate_inputs(
            X, y, sample_weight, reset=previous is None
        )
        if previous is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as "
                f"in the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {classes}."
            )
        n_features = X.shape[1]
        self._check_feature_scale(X)
        self.classes_ = classes
        self.class_counts_ = _class_counts(y_encoded, classes.size, sample_weight)
        X, y_encoded, sample_weight = _rows_to_train(X, y_encoded, sample_weight)

        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        # The rows that "auto" penalties count: the total weight, so that a
        # row of weight 0 is a dropped row and one of weight 2 a repeated one.
        self.net_ = self._build_net(self.class_counts_.sum(), n_features, seed)

        X_in = _net_input(X, sample_weight)
        with _seeded_torch(seed, device):
            if previous is not None:
                self._load_weights(previous)
            with propagating_interrupts():
                # skorch's fit is initialize() + partial_fit()
                train = self.net_.partial_fit if previous is not None else self.net_.fit
                train(X_in, torch.from_numpy(y_encoded))
        self._center_vs_head()
        curve = getattr(self, "loss_curve_", None)
        self.n_iter_ = self._n_iter()
        self._record_training()
        if previous is not None and curve is not None and self._fits_in_minibatches():
            # As MLPClassifier: the loss curve runs on (n_iter_ is this fit's).
            self.loss_curve_ = list(curve) + self.loss_curve_
        self._check_convergence()
        self._check_divergence(X)
        return self

    def _load_weights(self, previous):
        """Initialise ``net_`` and give it the module weights of ``previous``."""
        self.net_.initialize()
        try:
            self.net_.module_.load_state_dict(previous.module_.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                "warm_start=True continues from the previous fit's weights, "
                "which do not fit the network the parameters now describe "
                f"(change of hidden_layer_sizes, loss or head?): {exc}"
            ) from exc

    def _check_feature_scale(self, X):
        """Warn when a feature's values are too large for minibatch training.

        A step of Adam or SGD moves a first-layer weight by about
        ``learning_rate_init``, which changes that unit's input by
        ``learning_rate_init * |x_j|``: for features beyond
        ``_FEATURE_SCALE_LIMIT`` (10,000) in absolute value the steps are
        too coarse for training to settle, and the model learns little
        (a feature of size 1e30 gave a useless model without a word). L-BFGS
        (``LinearMarginClassifier``'s default) adapts its steps and has
        its own convergence warning.
        """
        if not self._fits_in_minibatches() or X.shape[0] == 0:
            return
        if sp.issparse(X):
            largest = np.asarray(abs(X).max(axis=0).todense()).ravel()
        else:  # two passes, no temporary of the size of X
            largest = np.maximum(X.max(axis=0), -X.min(axis=0))
        large = np.flatnonzero(largest > _FEATURE_SCALE_LIMIT)
        if not large.size:
            return
        names = getattr(self, "feature_names_in_", None)
        shown = [
            f"{index} ({names[index]!r})" if names is not None else str(index)
            for index in large[:10]
        ]
        more = f" and {large.size - 10} more" if large.size > 10 else ""
        which = "Feature" if large.size == 1 else "Features"
        verb = "reaches" if large.size == 1 else "reach"
        warnings.warn(
            f"{which} {', '.join(shown)}{more} {verb} {largest[large].max():.3g} "
            f"in absolute value (more than {_FEATURE_SCALE_LIMIT:.0e}): the "
            "minibatch optimiser's steps are too coarse for them and training "
            "is likely to learn little. Scale the features first, e.g. "
            f"make_pipeline(StandardScaler(), {type(self).__name__}()) "
            "(for sparse data StandardScaler(with_mean=False) or MaxAbsScaler).",
            UserWarning,
            stacklevel=3,
        )

    def _record_training(self):
        """``loss_curve_`` and the early-stopping scores, as MLPClassifier."""
        if not self._fits_in_minibatches():
            return
        history = self.net_.history
        self.loss_curve_ = [float(loss) for loss in history[:, "train_loss"]]
        stopper = dict(self.net_.callbacks_).get("early_stopping")
        if stopper is None:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_)
            return
        monitor = stopper.monitor
        self.validation_scores_ = [float(score) for score in history[:, monitor]]
        counted = self.validation_scores_[stopper.start_epoch :]
        best = min(counted) if stopper.lower_is_better else max(counted)
        self.best_validation_score_ = float(best)
        self.best_loss_ = None

    def _check_divergence(self, X):
        """Warn when minibatch training made things worse, or collapsed.

        Two signs, both ``ConvergenceWarning``s naming the step size: the
        last epoch's training loss is more than 10 times the first's, or the
        fitted model predicts one class for every training row (up to 1,000
        of them, drawn at random: one cheap forward pass) although the data
        have several.
        """
        if not self._fits_in_minibatches():
            return
        curve = self.loss_curve_
        advice = (
            f"the step size learning_rate_init={self.learning_rate_init} may be "
            "too large: try a smaller one, or standardise the features."
        )
        if len(curve) > 1 and curve[-1] > 10 * curve[0]:
            warnings.warn(
                f"Training diverged: the training loss rose from {curve[0]:.4g} "
                f"in the first epoch to {curve[-1]:.4g} in the last; {advice}",
                ConvergenceWarning,
                stacklevel=3,
            )
            return
        rows = np.arange(X.shape[0])
        if len(rows) > 1_000:
            rows = np.sort(np.random.RandomState(0).choice(rows, 1_000, replace=False))
        predicted = np.unique(np.argmax(self._validated_logits(X[rows]), axis=1))
        if predicted.size == 1 and self.classes_.size > 1:
            warnings.warn(
                "The model predicts the single class "
                f"{self.classes_[predicted].tolist()[0]!r} for every training "
                f"row, although the data have {self.classes_.size} classes "
                f"(training loss {curve[0]:.4g} in the first epoch, "
                f"{curve[-1]:.4g} in the last). If the loss is large, {advice} "
                f"If it is small, train longer ({self._epochs_name}).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _center_vs_head(self):
        """Move the VS head to one point of the loss's flat directions.

        The VS loss sees ``Delta_k * f_k + iota_k`` with
        ``f_k = w_k . h + b_k``, so replacing ``w_k`` by ``w_k + v / Delta_k``
        and ``b_k`` by ``b_k + c / Delta_k`` (any vector ``v``, number ``c``)
        adds the same ``v . h + c`` to every adjusted logit: the data term of
        the training loss is unchanged, but the raw logits used at prediction
        move by a different amount for each class. Along these directions only
        the small L2 penalty on the weights (none on the bias) pins the
        solution, which an optimiser stopping at ``tol`` does not reach, so
        the predictions would keep a trace of the random initialisation. After
        training, the head's weight rows and bias are projected onto the
        complement of ``u_k = 1 / Delta_k``: for the weights this is the exact
        minimiser of the penalty along the flat directions, for the bias the
        representative of smallest norm; neither changes the data term.
        """
        if self.loss != "vs":
            return
        module = self.net_.module_
        if hasattr(module, "n_members"):  # EnsembleMLPModule: every member's head
            weight = module.head_weight.transpose(1, 2)  # (members, classes, width)
            bias = module.head_bias
            bias = None if bias is None else bias.view(module.n_members, -1)
        else:
            weight = getattr(module.head, "weight", None)
            bias = getattr(module.head, "bias", None)
        if not isinstance(weight, torch.Tensor):
            return
        with torch.no_grad():
            u = 1.0 / self.net_.criterion_.multiplicative.to(
                weight.device, weight.dtype
            )
            weight -= u[:, None] * (u @ weight).unsqueeze(-2) / (u @ u)
            if bias is not None:
                bias -= ((bias @ u) / (u @ u)).unsqueeze(-1) * u

    def _n_iter(self):
        """Number of epochs run (full-batch solvers override)."""
        return len(self.net_.history)

    def _penalty(self, n_samples):
        """The L2 penalty ``alpha`` used for ``n_samples`` training rows."""
        if isinstance(self.alpha, str):  # "auto": see the subclass docstring
            if self.loss == "elm":
                return _AUTO_ALPHA_ELM
            ratio = min(1.0, _AUTO_ALPHA_ROWS / max(n_samples, 1))
            return float(_AUTO_ALPHA_MAX * ratio**_AUTO_ALPHA_POWER)
        return float(self.alpha)

    def _build_net(self, n_samples, n_features, seed=None, incremental=False):
        """The net of ``fit`` or, with ``incremental``, of ``partial_fit``
        (one epoch a call, no held-out split, early stopping or schedule;
        see :meth:`partial_fit`). ``n_samples`` sets the "auto" penalty."""
        n_classes = self.classes_.size
        self.alpha_ = self._penalty(n_samples)
        if incremental:
            net_kwargs, reweight_epoch = self._incremental_training_spec(n_samples)
            callbacks, train_split = [], None
        else:
            net_kwargs, reweight_epoch = self._training_spec(n_samples)
            callbacks = list(self._extra_callbacks(seed))
            schedule = self._lr_schedule()
            if schedule is not None:
                callbacks.append(("lr_scheduler", lr_scheduler_callback(schedule)))
            train_split = self._train_split(seed)
        # A class declared to partial_fit but not seen yet (count 0, e.g. in
        # a loaded model) gets finite margins and priors (_loss_counts).
        counts = _loss_counts(self.class_counts_)
        criterion_kwargs = {}
        if self.reweight == "drw":
            if incremental and not isinstance(self.class_weight, dict):
                # A name: DRW computes the weights from the criterion's
                # (accumulated) counts when it switches them on.
                weights = self.class_weight or "effective_number"
            else:
                weights = self._class_weights(
                    np.ones(n_classes) if incremental else counts,
                    self.class_weight or "effective_number",
                )
            callbacks.append(
                ("drw", DeferredReweighting(reweight_epoch, weights, beta=self.beta))
            )
        elif self.class_weight is not None:
            criterion_kwargs["criterion__weight"] = self._class_weights(counts)
        net = self._make_net(
            n_features,
            n_classes,
            train_split=train_split,
            callbacks=callbacks or None,
            # The weighted (or, in partial_fit, accumulated) counts, which
            # the net, seeing one chunk and scaled weights, could not count
            # from y.
            class_counts=counts,
            **criterion_kwargs,
            **net_kwargs,
        )
        net.incremental_ = incremental
        return net

    def _class_weights(self, counts, class_weight=None):
        return compute_class_weights(
            self.class_weight if class_weight is None else class_weight,
            counts,
            classes=self.classes_,
            beta=self.beta,
        )

    def _make_net(self, n_features, n_classes, **kwargs):
        """A ``LongTailNet`` with the estimator's module, loss and settings;
        ``kwargs`` are the parts that differ between fit and partial_fit."""
        module, module_kwargs = self._module_spec(n_features, n_classes)
        return LongTailNet(
            module=module,
            **{f"module__{key}": value for key, value in module_kwargs.items()},
            criterion=get_loss_class(self.loss),
            **{
                f"criterion__{key}": value
                for key, value in self._criterion_params().items()
            },
            classes=np.arange(n_classes),
            alpha=self.alpha_,
            device=self.device,
            # (a model saved before fast_step existed has no attribute)
            fast_step=getattr(self, "fast_step", True),
            verbose=int(self.verbose),
            iterator_valid__batch_size=self._predict_batch_size,
            **kwargs,
        )

    # -- partial_fit ---------------------------------------------------------
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on a chunk of data, keeping what was learned.

        For data that do not fit in memory or arrive in chunks (for example
        through :class:`dask_ml.wrappers.Incremental`). Each call makes one
        pass (one epoch: shuffled minibatches of ``batch_size``) over the
        given chunk, continuing from the current weights and optimiser state.

        - ``classes`` (every label that will ever appear) must be passed on
          the first call and may be left out later; every later chunk must
          have labels among ``classes_`` and ``n_features_in_`` features.
        - Class counts (weighted by ``sample_weight``) accumulate over
          calls in ``class_counts_``. At the
          start of each call the loss is rebuilt from the counts seen so far,
          this chunk included, so the margins (LDAM, VS, ELM), the log-priors
          (logit adjustment) and the class weights reflect all the data seen;
          the optimiser's state carries over. A class not seen yet counts as
          one example (or as the smallest class, if less) for the loss and
          the class weights, so its margin and prior stay finite;
          ``class_counts_`` keeps the true counts.
        - ``reweight="drw"``: epochs are counted over calls (one per call),
          so class weights switch on from call number
          ``round(reweight_start * max_epochs)``: set ``max_epochs`` to the
          number of calls planned (chunks times passes). Otherwise
          ``max_epochs`` is not used.
        - ``early_stopping`` is not used (there is no held-out split), as
          in :meth:`sklearn.neural_network.MLPClassifier.partial_fit`.
        - ``LinearMarginClassifier(solver="lbfgs")``: L-BFGS needs all the
          data at once, so ``partial_fit`` trains with Adam at
          ``learning_rate_init`` in minibatches of ``batch_size``.
        - After ``fit``, ``partial_fit`` continues from the fitted weights
          with a new optimiser (and a new epoch count for DRW); ``fit``
          after ``partial_fit`` starts again from scratch.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data (sparse as in :meth:`fit`).
        y : array-like of shape (n_samples,)
            Its labels, all among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class label; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-example weights of this chunk, as in
            :meth:`fit`; the weighted counts add up in ``class_counts_``.

        Returns
        -------
        self : object
            The classifier, trained one more epoch.
        """
        self._validate_params()
        first_call = not hasattr(self, "classes_")
        if first_call:
            self._check_double_correction()
        if first_call:
            device = _check_device(self.device)
            if self.loss == "elm" and not self._supports_embeddings:
                raise ValueError(
                    f"loss='elm' needs a learned embedding, which "
                    f"{type(self).__name__} does not have; use "
                    "MLPMarginClassifier(loss='elm') instead."
                )
        else:
            device = torch.device(self.device)
        X, y_encoded, classes, sample_weight = self._validate_partial_fit_inputs(
            X, y, classes, sample_weight, first_call
        )
        self._check_feature_scale(X)
        counts = _class_counts(y_encoded, classes.size, sample_weight)
        X, y_encoded, sample_weight = _rows_to_train(X, y_encoded, sample_weight)
        if first_call:
            self.classes_ = classes
            self.class_counts_ = counts
        else:
            self.class_counts_ = self.class_counts_ + counts

        previous = None
        if first_call or not self._net_is_incremental():
            # A net from fit() is replaced by an incremental one that starts
            # from its weights.
            previous = getattr(self, "net_", None)
            self.net_ = self._build_net(counts.sum(), X.shape[1], incremental=True)
        net = self.net_
        epochs_done = len(net.history) if net.initialized_ else 0
        # One seed per epoch: an int random_state gives repeatable calls
        # that still shuffle differently from one epoch to the next.
        seed = (
            int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            + epochs_done
        ) % np.iinfo(np.int32).max

        X_in = _net_input(X, sample_weight)
        with _seeded_torch(seed, device):
            if previous is not None and previous.initialized_:
                net.initialize()
                net.module_.load_state_dict(previous.module_.state_dict())
            self._set_incremental_criterion()
            with propagating_interrupts():
                net.partial_fit(X_in, torch.from_numpy(y_encoded))
        self._center_vs_head()
        self.n_iter_ = len(net.history)
        return self

    def _validate_partial_fit_inputs(self, X, y, classes, sample_weight, first_call):
        """Validate a chunk; return it with labels encoded on ``classes_``."""
        if first_call:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            classes = np.unique(np.asarray(classes))
            if classes.size < 2:
                raise ValueError(
                    f"classes must contain at least 2 labels, got {classes.tolist()!r}."
                )
        else:
            if classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_
            ):
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()!r} is not the same "
                    f"as on the first call to partial_fit, "
                    f"{self.classes_.tolist()!r}."
                )
            classes = self.classes_
        X, y = validate_data(
            self,
            X,
            y,
            reset=first_call,
            dtype=np.float32,
            order="C",
            accept_sparse=_SPARSE,
        )
        check_classification_targets(y)
        unknown = np.setdiff1d(y, classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()!r} that are not in "
                f"classes {classes.tolist()!r}; pass every label in classes= "
                "on the first call to partial_fit."
            )
        y_encoded = np.searchsorted(classes, y).astype(np.int64)
        sample_weight = _checked_sample_weight(sample_weight, X)
        return X, y_encoded, classes, sample_weight

    def _incremental_training_spec(self, n_samples):
        """``(net_kwargs, reweight_epoch)`` of partial_fit: one epoch a call."""
        net_kwargs, reweight_epoch = self._training_spec(n_samples)
        return {**net_kwargs, "max_epochs": 1}, reweight_epoch

    def _net_is_incremental(self):
        net = getattr(self, "net_", None)
        return bool(getattr(net, "incremental_", False)) or (
            # a net saved before incremental_ existed
            getattr(net, "callbacks__class_count_setter", "unset") is None
        )

    def _set_incremental_criterion(self):
        """Rebuild the loss from the counts seen so far (see _loss_counts):
        the net's ``class_counts`` (the criterion takes them when training
        begins, the optimiser's state carried over) and the class weights."""
        counts = _loss_counts(self.class_counts_)
        net = self.net_
        net.set_params(class_counts=counts)
        if self.class_weight is None or self.reweight == "drw":
            return
        params = {"criterion__weight": self._class_weights(counts)}
        if not net.initialized_:
            net.set_params(**params)
            return
        # skorch re-creates the optimiser along with the criterion; the
        # criterion has no parameters, so the optimiser's state (Adam's
        # moments, SGD's momentum) is carried over unchanged.
        state = net.optimizer_.state_dict()
        net.set_params(**params)
        net.optimizer_.load_state_dict(state)

    # -- predict -------------------------------------------------------------
    def _logits(self, X, softmax=False):
        """Scaled prediction logits (or their softmax) as float64.

        skorch's ``forward_iter`` runs the module over batches of
        ``_predict_batch_size`` rows; each batch is scaled (and soft-maxed)
        in torch and written into one preallocated array, so there is no list
        of batch outputs to concatenate and no full-size temporary.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float32, order="C", accept_sparse=_SPARSE, reset=False
        )
        return self._validated_logits(X, softmax)

    def _validated_logits(self, X, softmax=False):
        """:meth:`_logits` of an already validated float32 array.

        A class declared to :meth:`partial_fit` but without a training
        example yet (count 0) is masked out: its logit is ``-inf``, so it is
        never predicted and its probability is 0.
        """
        scale = float(self.net_.criterion_.logit_scale)
        unseen = np.flatnonzero(np.asarray(self.class_counts_) == 0)
        result, start = None, 0
        for output in self.net_.forward_iter(_as_tensor(X), training=False):
            if isinstance(output, tuple):
                output = output[0]
            if result is None:
                result = np.empty((X.shape[0], output.shape[1]), dtype=np.float64)
            block = torch.from_numpy(result[start : start + len(output)])
            torch.mul(output, scale, out=block)
            stop = start + len(output)
            _check_finite_output(
                block.numpy(), X[start:stop], "logits", start, X.shape[0]
            )
            if unseen.size:
                block[:, unseen] = -torch.inf
            if softmax:  # in place: faster than torch.softmax's copies
                block -= block.amax(dim=1, keepdim=True)
                block.exp_()
                block /= block.sum(dim=1, keepdim=True)
            start = stop
        return result

    def decision_function(self, X):
        """Logits used for prediction.

        For ``loss="logit_adjusted"``, ``"balanced_softmax"`` and ``"vs"``
        these are the raw model outputs (the adjustments act in training
        only); for ``"ldam"`` the cosine logits times ``scale``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._logits(X, softmax=True)

    def predict(self, X):
        """Predicted class labels (argmax of the logits).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        return tags
