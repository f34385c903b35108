"""LinearMarginClassifier: a linear model trained with a long-tail loss."""

import warnings
from numbers import Integral, Real

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback

from ._base import _COMMON_CONSTRAINTS, _BaseMarginClassifier
from .modules import LinearModule

__all__ = ["LinearMarginClassifier"]


def _lbfgs_counts(optimizer):
    """Cumulative ``(n_iter, func_evals)`` of a torch L-BFGS optimizer."""
    state = list(optimizer.state.values())
    if not state:
        return 0, 0
    return int(state[0].get("n_iter", 0)), int(state[0].get("func_evals", 0))


class _LBFGSBudget(Callback):
    """Record how the last full-batch L-BFGS step ended.

    torch's L-BFGS stops on a small gradient or a small change of the loss or
    the parameters (convergence), or after ``max_iter`` iterations or
    ``max_eval`` loss evaluations in one ``step`` (the budget). Its counters
    add up over steps, so the callback takes their difference over each
    epoch (one step: the whole data set is one batch). torch checks the
    budget before the gradient, so when the budget is used up the callback
    evaluates the gradient once more at the final weights: a step that
    reached ``tolerance_grad`` on its last allowed iteration has converged.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = _lbfgs_counts(net.optimizer_)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        n_iter, n_evals = _lbfgs_counts(net.optimizer_)
        group = net.optimizer_.param_groups[0]
        self.n_iter_ = n_iter - self.start_[0]
        self.n_evals_ = n_evals - self.start_[1]
        # Gradient checked only when the budget ran out; None otherwise.
        self.grad_max_ = None
        if self.n_iter_ >= group["max_iter"] or self.n_evals_ >= group["max_eval"]:
            self.grad_max_ = self._largest_gradient_entry(net, dataset_train)

    @staticmethod
    def _largest_gradient_entry(net, dataset):
        """Largest ``|gradient|`` of the training objective, as L-BFGS sees it."""
        net.optimizer_.zero_grad()
        with torch.enable_grad():
            for batch in net.get_iterator(dataset, training=True):
                net.train_step_single(batch)  # the whole data set: one batch
        largest = max(
            float(p.grad.abs().max())
            for p in net.module_.parameters()
            if p.grad is not None
        )
        net.optimizer_.zero_grad()
        return largest


class LinearMarginClassifier(_BaseMarginClassifier):
    """Linear classifier trained with a long-tail loss.

    A single linear layer ``f(x) = W x + b`` fitted, by default, with
    full-batch L-BFGS (as :class:`~sklearn.linear_model.LogisticRegression`),
    so small problems need no minibatch tuning. With ``loss="ce"`` and no
    weights this is multinomial logistic regression with an L2 penalty; the
    long-tail losses change the training objective only, and prediction is
    the argmax of the logits. ``loss="ldam"`` uses cosine logits (normalised
    inputs and weight vectors, no intercept) as LDAM is designed for.

    The objective is the weighted mean loss (see :mod:`sklearn_lt.losses`)
    plus ``0.5 * alpha * ||W||^2``.

    Parameters
    ----------
    loss : {"logit_adjusted", "ce", "ldam", "balanced_softmax", "vs", \
            "focal"}, default="logit_adjusted"
        The training loss. ``"elm"`` needs a learned embedding and raises
        an error pointing to :class:`MLPMarginClassifier`.
    tau : float, default=1.0
        Logit-adjustment strength (``"logit_adjusted"`` and ``"vs"``), in
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
    class_weight : None, "balanced", "effective_number" or dict, default=None
        Per-class loss weights (see :mod:`sklearn_lt.weights`).
    beta : float, default=0.9999
        ``beta`` of the effective-number weights.
    reweight : None or "drw", default=None
        Deferred re-weighting. With L-BFGS, the model is first fitted without
        class weights, then the fit continues with them (``class_weight``, or
        effective-number weights if ``class_weight`` is None). With a
        minibatch solver, weights switch on after ``reweight_start`` of the
        epochs.
    reweight_start : float, default=0.8
        Fraction of the epochs trained before DRW switches weights on
        (minibatch solvers only): from epoch ``round(reweight_start *
        max_epochs)``, counted from 0, and at the latest in the last epoch,
        so the weights are always used.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the intercept).
    solver : {"lbfgs", "adam", "sgd"}, default="lbfgs"
        ``"lbfgs"`` is full-batch; the others are minibatch.
    max_iter : int, default=100
        Maximum L-BFGS iterations (per stage with DRW); at most
        ``1.25 * max_iter`` loss evaluations. A fit whose last stage stops on
        this budget rather than on ``tol`` raises a
        :class:`~sklearn.exceptions.ConvergenceWarning`, as
        :class:`~sklearn.linear_model.LogisticRegression` does.
    tol : float, default=1e-4
        L-BFGS stops when the largest gradient entry falls below ``tol`` (or
        when the loss or the parameters stop changing).
    batch_size : int, default=128
        Minibatch size (minibatch solvers).
    max_epochs : int, default=50
        Number of epochs (minibatch solvers).
    learning_rate_init : float, default=1e-2
        Step size of the minibatch solvers.
    learning_rate : {"constant", "cosine", "step"}, default="constant"
        Learning-rate schedule of the minibatch solvers over ``max_epochs``
        (see :mod:`sklearn_lt.schedules`; ``"step"`` is the LDAM-DRW recipe,
        whose first decay also switches DRW on). Not used by L-BFGS or by
        :meth:`partial_fit`.
    warmup_epochs : int, default=0
        Epochs of linear learning-rate warm-up (minibatch solvers).
    lr_milestones : tuple of float, default=(0.8, 0.9)
        ``learning_rate="step"``: fractions of ``max_epochs`` at which the
        rate is multiplied by ``lr_gamma``.
    lr_gamma : float, default=0.01
        ``learning_rate="step"``: the decay factor.
    device : str or torch.device, default="cpu"
        Where to train: ``"cpu"`` or ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and shuffling; an int makes a CPU fit repeatable
        bit for bit.
    verbose : int, default=0
        Print skorch's epoch table when positive.
    warm_start : bool, default=False
        When True, the next :meth:`fit` starts from the fitted weights
        instead of a new initialisation (as in
        :class:`~sklearn.linear_model.LogisticRegression`); the classes and
        features must be the same. ``n_iter_`` counts that fit's
        iterations (or epochs).
    fast_step : bool, default=True
        Train with the hand-written step where it applies (the linear layer
        back-propagated by hand, the loss's closed-form gradient, fused
        Adam / AdamW): the result of autograd up to float rounding, faster
        on small batches. ``False`` trains every step with autograd (see
        :class:`~sklearn_lt.LongTailNet`); ``solver="lbfgs"`` always does.

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
    alpha_ : float
        The L2 penalty used (``alpha``).
    n_iter_ : int
        L-BFGS iterations run (all stages), or epochs for minibatch solvers
        (after :meth:`partial_fit`, its epochs: one per call).

    See Also
    --------
    MLPMarginClassifier : The same losses on an MLP (and ELM).
    LogitAdjustedClassifier : Post-hoc adjustment of any fitted classifier.
    sklearn.linear_model.LogisticRegression : ``loss="ce"`` without weights.

    References
    ----------
    .. [1] A. K. Menon et al., "Long-tail learning via logit adjustment",
       ICLR 2021.
    .. [2] K. Cao et al., "Learning Imbalanced Datasets with
       Label-Distribution-Aware Margin Loss", NeurIPS 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_lt import LinearMarginClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = LinearMarginClassifier(random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> round(clf.score(X, y), 2) > 0.9
    True
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "solver": [StrOptions({"lbfgs", "adam", "sgd"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }
    # Rows per batch at prediction: large enough that skorch's per-batch
    # overhead vanishes, small enough that a batch's activations stay small.
    _predict_batch_size = 65536
    _supports_embeddings = False
    _epochs_name = "max_epochs"

    def __init__(
        self,
        loss="logit_adjusted",
        *,
        tau=1.0,
        max_margin=0.5,
        scale=30.0,
        vs_gamma=0.2,
        focal_gamma=2.0,
        class_weight=None,
        beta=0.9999,
        reweight=None,
        reweight_start=0.8,
        alpha=1e-4,
        solver="lbfgs",
        max_iter=100,
        tol=1e-4,
        batch_size=128,
        max_epochs=50,
        learning_rate_init=1e-2,
        learning_rate="constant",
        warmup_epochs=0,
        lr_milestones=(0.8, 0.9),
        lr_gamma=0.01,
        device="cpu",
        random_state=None,
        verbose=0,
        warm_start=False,
        fast_step=True,
    ):
        self.loss = loss
        self.tau = tau
        self.max_margin = max_margin
        self.scale = scale
        self.vs_gamma = vs_gamma
        self.focal_gamma = focal_gamma
        self.class_weight = class_weight
        self.beta = beta
        self.reweight = reweight
        self.reweight_start = reweight_start
        self.alpha = alpha
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.warmup_epochs = warmup_epochs
        self.lr_milestones = lr_milestones
        self.lr_gamma = lr_gamma
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.fast_step = fast_step

    def _n_iter(self):
        if self.solver != "lbfgs":
            return super()._n_iter()
        return _lbfgs_counts(self.net_.optimizer_)[0]

    def _extra_callbacks(self, seed):
        return [("lbfgs_budget", _LBFGSBudget())] if self.solver == "lbfgs" else []

    def _check_convergence(self):
        budget = dict(self.net_.callbacks_).get("lbfgs_budget")
        if budget is None or budget.grad_max_ is None or budget.grad_max_ <= self.tol:
            return
        group = self.net_.optimizer_.param_groups[0]
        stage = " in its re-weighted stage" if self.reweight == "drw" else ""
        warnings.warn(
            f"lbfgs failed to converge{stage}: it used up its budget "
            f"({budget.n_iter_} of max_iter={group['max_iter']} iterations, "
            f"{budget.n_evals_} of max_eval={group['max_eval']} loss "
            f"evaluations) with the largest gradient entry at "
            f"{budget.grad_max_:.3g} > tol={self.tol}. Increase max_iter, or "
            "scale the data (e.g. with StandardScaler).",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _module_spec(self, n_features, n_classes):
        head = "cosine" if self._uses_cosine_head() else "linear"
        return LinearModule, {
            "n_features": n_features,
            "n_classes": n_classes,
            "head": head,
        }

    def _training_spec(self, n_samples):
        if self.solver == "lbfgs":
            drw = self.reweight == "drw"
            return {
                "optimizer": torch.optim.LBFGS,
                "lr": 1.0,
                "optimizer__max_iter": self.max_iter,
                "optimizer__tolerance_grad": self.tol,
                "optimizer__history_size": 10,
                "optimizer__line_search_fn": "strong_wolfe",
                "batch_size": -1,
                "max_epochs": 2 if drw else 1,
            }, 1
        optimizer = torch.optim.Adam if self.solver == "adam" else torch.optim.SGD
        kwargs = {
            "optimizer": optimizer,
            "lr": self.learning_rate_init,
            "batch_size": self.batch_size,
            "max_epochs": self.max_epochs,
            "iterator_train__shuffle": True,
        }
        if self.solver == "sgd":
            kwargs["optimizer__momentum"] = 0.9
        return kwargs, self._reweight_epoch()

    def _fits_in_minibatches(self):
        return self.solver != "lbfgs"

    def _incremental_training_spec(self, n_samples):
        if self.solver != "lbfgs":
            return super()._incremental_training_spec(n_samples)
        # L-BFGS needs the whole data set at once; partial_fit trains with Adam.
        return {
            "optimizer": torch.optim.Adam,
            "lr": self.learning_rate_init,
            "batch_size": self.batch_size,
            "max_epochs": 1,
            "iterator_train__shuffle": True,
        }, self._reweight_epoch()
