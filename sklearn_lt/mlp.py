"""MLPMarginClassifier: a multi-layer perceptron trained with a long-tail loss."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    _COMMON_CONSTRAINTS,
    _SPARSE,
    _as_tensor,
    _BaseMarginClassifier,
    _check_finite_output,
)
from ._threads import torch_thread_budget
from .early_stopping import StratifiedValidSplit, early_stopping_callbacks
from .modules import ACTIVATIONS, EnsembleMLPModule, MLPModule

__all__ = ["MLPMarginClassifier"]

# Validation rows kept of every class that has at least twice as many.
_MIN_VALID_PER_CLASS = 3


class MLPMarginClassifier(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseMarginClassifier
):
    """Multi-layer perceptron trained with a long-tail loss.

    Hidden layers as in :class:`~sklearn.neural_network.MLPClassifier`,
    trained by minibatch Adam (or SGD with momentum) on a skorch net, with
    any loss of :mod:`sklearn_lt.losses`, including ELM. ``loss="ldam"`` (and
    ELM with an LDAM logit term) uses a cosine (normalised) head, as in Cao
    et al. The objective is the weighted mean loss plus
    ``0.5 * alpha * sum ||W||^2`` over the weight matrices.

    Parameters
    ----------
    loss : {"logit_adjusted", "ce", "ldam", "balanced_softmax", "vs", \
            "focal", "elm"}, default="logit_adjusted"
        The training loss.
    hidden_layer_sizes : array-like of int, default=(100,)
        Width of each hidden layer; the last is the embedding dimension.
    activation : {"relu", "tanh", "logistic", "identity", "gelu"}, \
            default="relu"
        Hidden-layer activation.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    ensemble_size : int, default=1
        Number of MLPs trained together in one pass, each on its own loss
        (the mean of the members' losses is minimised, as Gorishniy et al.
        [4]_ train their ensembles), their logits averaged at prediction:
        see :class:`~sklearn_lt.modules.EnsembleMLPModule`. Each member has
        ``hidden_layer_sizes`` and its own penalty ``alpha``; a fit costs
        about ``ensemble_size`` times as much. :meth:`transform` returns
        the members' embeddings side by side.
    tau : float, default=1.0
        Logit-adjustment strength (``"logit_adjusted"``, ``"vs"``, ELM), in
        ``[0, 10]``: 0 is no adjustment, 1 the balanced-error rule of Menon
        et al.; larger values swamp what the model learns.
    max_margin : float, default=0.5
        LDAM margin of the rarest class.
    scale : float, default=30.0
        LDAM logit scale (``s`` in Cao et al.).
    vs_gamma : float, default=0.2
        Exponent of the VS multiplicative adjustment.
    focal_gamma : float, default=2.0
        Focusing parameter of the focal loss.
    elm_logit_loss : {"logit_adjusted", "ldam"}, default="logit_adjusted"
        Logit-margin term of ELM.
    embedding_weight : float, default=1.0
        Weight of ELM's embedding-margin term.
    temperature : float, default=0.1
        Temperature of ELM's contrastive term.
    embedding_margin : float, default=0.5
        Embedding margin of the rarest class in ELM.
    class_weight : None, "balanced", "effective_number" or dict, default=None
        Per-class loss weights.
    beta : float, default=0.9999
        ``beta`` of the effective-number weights.
    reweight : None or "drw", default=None
        Deferred re-weighting: class weights (``class_weight``, or
        effective-number weights if None) switch on after ``reweight_start``
        of the epochs (Cao et al.).
    reweight_start : float, default=0.8
        Fraction of ``max_iter`` before the weights switch on (160 of 200
        in the LDAM paper): from epoch ``round(reweight_start *
        max_iter)``, counted from 0, and at the latest in the last epoch,
        so DRW is never silently off. With ``learning_rate="step"`` the
        weights switch on at the first decay instead, as in the paper.
    alpha : float or "auto", default="auto"
        L2 penalty on the weight matrices, added to the mean loss as
        ``0.5 * alpha * sum ||W||^2``. ``"auto"`` scales it with the
        training rows ``n`` (with ``sample_weight``, their total weight,
        ``class_counts_.sum()``): ``1e-2`` up to 2,000 rows, then
        ``1e-2 * (2000 / n) ** 1.5`` (``1.25e-3`` at 8,000 rows, ``3.2e-4``
        at 20,000): few rows need a strong penalty not to memorise the rare
        class, many rows a weaker one not to underfit. The level and the
        2,000 rows did best in ``benchmarks/bench_quality.py`` on small
        binary and long-tailed tables; the decay (power 1.5 rather than 2)
        did best on the real tables of ``benchmarks/bench_real.py`` (numbers
        in ``benchmarks/RESULTS.md``). With ``loss="elm"``, ``"auto"`` is
        ``1e-4`` at any size: the strong penalty cost ELM 2 to 10 points
        on long-tailed multi-class tables. The value used is ``alpha_``.
    solver : {"adam", "sgd"}, default="adam"
        Optimiser.
    momentum : float, default=0.9
        Momentum of SGD.
    batch_size : int, default=128
        Minibatch size.
    max_iter : int, default=100
        Number of passes over the data (epochs), as in
        :class:`~sklearn.neural_network.MLPClassifier`. With
        ``early_stopping=True`` training may stop sooner.
    learning_rate_init : float, default=1e-3
        Step size (the base rate of the schedule).
    learning_rate : {"constant", "cosine", "step"}, default="constant"
        Learning-rate schedule over ``max_iter``, the name as in
        :class:`~sklearn.neural_network.MLPClassifier`: ``"cosine"``
        anneals to 0; ``"step"`` is the LDAM-DRW recipe, multiplying the
        rate by ``lr_gamma`` at each of ``lr_milestones`` (see
        :mod:`sklearn_lt.schedules`). Not used by :meth:`partial_fit`.
    warmup_epochs : int, default=0
        Epochs of linear warm-up: ``learning_rate_init * (e + 1) /
        warmup_epochs`` at epoch ``e`` (5 of 200 in Cao et al.).
    lr_milestones : tuple of float, default=(0.8, 0.9)
        ``learning_rate="step"``: fractions of ``max_iter`` at which the
        rate decays (epochs 160 and 180 of 200 in Cao et al.).
    lr_gamma : float, default=0.01
        ``learning_rate="step"``: factor of each decay.
    early_stopping : bool, default=False
        Hold out a validation set (``validation_fraction`` of every class,
        but at least 3 rows of each class that has 6 or more, and at most
        half of any class), score it after every epoch with ``scoring``,
        stop when the score has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs, and restore the weights of the best
        epoch. With ``reweight="drw"`` the epochs before the weights switch
        on neither count nor can be the best one.
    scoring : str or callable, default="balanced_accuracy"
        The early-stopping score: a scikit-learn scorer name or a callable
        ``scorer(net, X, y)`` (higher is better), or ``"loss"`` for the
        validation loss (lower is better). Balanced accuracy weighs every
        class alike, so a rare class counts as much as a common one.
    validation_fraction : float, default=0.1
        Held-out fraction of each class for early stopping.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Smallest improvement of the early-stopping score that counts.
    device : str or torch.device, default="cpu"
        Where to train: ``"cpu"`` or ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split; an int
        makes a CPU fit repeatable bit for bit.
    verbose : int, default=0
        Print skorch's epoch table when positive.
    warm_start : bool, default=False
        When True, the next :meth:`fit` continues from the fitted weights
        (with a new optimiser) instead of a new initialisation, for
        ``max_iter`` more epochs, as in
        :class:`~sklearn.neural_network.MLPClassifier`: the classes and
        features must be the same; ``loss_curve_`` runs on from the
        previous fit, ``n_iter_`` counts this fit's epochs.
    fast_step : bool, default=True
        Train with the hand-written step where it applies (the layers
        back-propagated by hand, the loss's closed-form gradient, fused
        Adam / AdamW): the result of autograd up to float rounding, at about
        half the cost of a step on small batches. ``False`` trains every
        step with autograd (see :class:`~sklearn_lt.LongTailNet`); dropout
        and the cosine head always do.
    max_epochs : int, default="deprecated"
        The old name of ``max_iter``; when set, it is used and ``fit`` warns.

        .. deprecated:: 0.1
           ``max_epochs`` was renamed to ``max_iter`` in 0.1 and will be
           removed in 0.2.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    class_counts_ : ndarray of shape (n_classes,), dtype float64
        Training examples of each class, weighted: the sum of
        ``sample_weight`` over the class's rows (the number of rows when no
        ``sample_weight`` is given), summed over the calls of
        :meth:`partial_fit`. Every loss and class weight is built from these
        counts (the priors of logit adjustment, the LDAM and VS margins,
        ``"balanced"`` and ``"effective_number"`` weights, DRW), so a row of
        weight 0 is a dropped row (it is also left out of training) and one
        of weight 2 a repeated row, as in
        :class:`~sklearn_lt.LogitAdjustedClassifier`. A class of count 0
        (of zero total weight, or not seen yet by :meth:`partial_fit`) is
        never predicted.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit (only for inputs with string
        column names).
    net_ : sklearn_lt.LongTailNet
        The fitted skorch net, with its ``history``.
    n_iter_ : int
        Number of epochs run (with :meth:`partial_fit`, one per call).
    alpha_ : float
        The L2 penalty used (``alpha``, or its ``"auto"`` value).
    loss_curve_ : list of float
        Training loss (penalty included) of each epoch of :meth:`fit`, as
        in :class:`~sklearn.neural_network.MLPClassifier`.
    best_loss_ : float or None
        Smallest of ``loss_curve_``; None with early stopping.
    validation_scores_ : list of float or None
        The early-stopping score of each epoch on the held-out rows; None
        without early stopping.
    best_validation_score_ : float or None
        The best of ``validation_scores_`` over the epochs that count (the
        epoch whose weights were restored); None without early stopping.

    See Also
    --------
    LinearMarginClassifier : The same losses on a linear model.
    sklearn.neural_network.MLPClassifier : ``loss="ce"`` without weights.

    References
    ----------
    .. [1] K. Cao et al., "Learning Imbalanced Datasets with
       Label-Distribution-Aware Margin Loss", NeurIPS 2019.
    .. [2] A. K. Menon et al., "Long-tail learning via logit adjustment",
       ICLR 2021.
    .. [3] W. Jitkrittum et al., "ELM: Embedding and Logit Margins for
       Long-Tail Learning", arXiv:2204.13208, 2022.
    .. [4] Y. Gorishniy, A. Kotelnikov and A. Babenko, "TabM: Advancing
       Tabular Deep Learning with Parameter-Efficient Ensembling",
       ICLR 2025.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import MLPMarginClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     MLPMarginClassifier(loss="ldam", reweight="drw", random_state=0),
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    >>> round(clf.score(X, y), 2) > 0.9
    True
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left")],
        "elm_logit_loss": [StrOptions({"logit_adjusted", "ldam"})],
        "embedding_weight": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "embedding_margin": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"adam", "sgd"})],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "scoring": [str, callable],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            Hidden(StrOptions({"deprecated"})),
        ],
    }
    # Rows per batch at prediction: large enough that skorch's per-batch
    # overhead vanishes, small enough that a batch's activations stay small.
    _predict_batch_size = 8192
    _supports_embeddings = True
    _epochs_name = "max_iter"

    def __init__(
        self,
        loss="logit_adjusted",
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        dropout=0.0,
        ensemble_size=1,
        tau=1.0,
        max_margin=0.5,
        scale=30.0,
        vs_gamma=0.2,
        focal_gamma=2.0,
        elm_logit_loss="logit_adjusted",
        embedding_weight=1.0,
        temperature=0.1,
        embedding_margin=0.5,
        class_weight=None,
        beta=0.9999,
        reweight=None,
        reweight_start=0.8,
        alpha="auto",
        solver="adam",
        momentum=0.9,
        batch_size=128,
        max_iter=100,
        learning_rate_init=1e-3,
        learning_rate="constant",
        warmup_epochs=0,
        lr_milestones=(0.8, 0.9),
        lr_gamma=0.01,
        early_stopping=False,
        scoring="balanced_accuracy",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        warm_start=False,
        fast_step=True,
        max_epochs="deprecated",
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.ensemble_size = ensemble_size
        self.tau = tau
        self.max_margin = max_margin
        self.scale = scale
        self.vs_gamma = vs_gamma
        self.focal_gamma = focal_gamma
        self.elm_logit_loss = elm_logit_loss
        self.embedding_weight = embedding_weight
        self.temperature = temperature
        self.embedding_margin = embedding_margin
        self.class_weight = class_weight
        self.beta = beta
        self.reweight = reweight
        self.reweight_start = reweight_start
        self.alpha = alpha
        self.solver = solver
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.warmup_epochs = warmup_epochs
        self.lr_milestones = lr_milestones
        self.lr_gamma = lr_gamma
        self.early_stopping = early_stopping
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.fast_step = fast_step
        self.max_epochs = max_epochs

    def _max_epochs_is_set(self):
        return not (
            isinstance(self.max_epochs, str) and self.max_epochs == "deprecated"
        )

    def _validate_params(self):
        super()._validate_params()
        if self._max_epochs_is_set():
            # scikit-learn's pattern for a renamed parameter: the old name
            # still works for one release, with a FutureWarning at fit.
            warnings.warn(
                "'max_epochs' was renamed to 'max_iter' (the name in "
                "MLPClassifier) in sklearn_lt 0.1 and will be removed in 0.2; "
                "set max_iter instead. The value of max_epochs is used.",
                FutureWarning,
                stacklevel=3,
            )

    def _n_epochs(self):
        """Epochs of ``fit``: ``max_iter``, or the deprecated ``max_epochs``
        where it is set."""
        return self.max_epochs if self._max_epochs_is_set() else self.max_iter

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not sizes or any(
            not isinstance(size, Integral) or isinstance(size, bool) or size < 1
            for size in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a non-empty sequence of positive "
                f"integers, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(size) for size in sizes)

    def _module_spec(self, n_features, n_classes):
        spec = {
            "n_features": n_features,
            "n_classes": n_classes,
            "hidden_layer_sizes": self._hidden_sizes(),
            "activation": self.activation,
            "dropout": self.dropout,
            "head": "cosine" if self._uses_cosine_head() else "linear",
            "return_embeddings": self.loss == "elm",
        }
        if self.ensemble_size == 1:
            return MLPModule, spec
        return EnsembleMLPModule, {**spec, "n_members": self.ensemble_size}

    def _make_net(self, n_features, n_classes, **kwargs):
        net = super()._make_net(n_features, n_classes, **kwargs)
        if self.ensemble_size > 1:
            # The objective is the mean over the members of each member's
            # loss plus its penalty: the penalty on all members' weights
            # together is divided by their number.
            net.set_params(alpha=self.alpha_ / self.ensemble_size)
        return net

    def _training_spec(self, n_samples):
        kwargs = {
            "optimizer": torch.optim.Adam if self.solver == "adam" else torch.optim.SGD,
            "lr": self.learning_rate_init,
            "batch_size": self.batch_size,
            "max_epochs": self._n_epochs(),
            "iterator_train__shuffle": True,
        }
        if self.solver == "sgd":
            kwargs["optimizer__momentum"] = self.momentum
        return kwargs, self._reweight_epoch()

    def _train_split(self, seed):
        if not self.early_stopping:
            return None
        return StratifiedValidSplit(
            self.validation_fraction,
            min_per_class=_MIN_VALID_PER_CLASS,
            random_state=seed,
        )

    def _extra_callbacks(self, seed):
        if not self.early_stopping:
            return []
        start = self._reweight_epoch() if self.reweight == "drw" else 0
        return early_stopping_callbacks(
            self.scoring, self.n_iter_no_change, self.tol, start_epoch=start
        )

    @property
    def _n_features_out(self):
        return self._hidden_sizes()[-1] * self.ensemble_size

    def transform(self, X):
        """Embeddings: the output of the last hidden layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        embeddings : ndarray of shape (n_samples, n_embeddings)
            ``n_embeddings`` is ``hidden_layer_sizes[-1] * ensemble_size``:
            with ``ensemble_size > 1``, the members' embeddings side by side.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float32, order="C", accept_sparse=_SPARSE, reset=False
        )
        net = self.net_
        net.module_.eval()
        iterator = net.get_iterator(net.get_dataset(_as_tensor(X)), training=False)
        with torch.no_grad(), torch_thread_budget():
            parts = [
                net.module_.embed(batch.to(net.device)).cpu() for batch, _ in iterator
            ]
        embeddings = torch.cat(parts).double().numpy()
        return _check_finite_output(embeddings, X, "embeddings")
