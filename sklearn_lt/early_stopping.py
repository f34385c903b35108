"""Early stopping that works with a few rows of a class.

Two parts, both plain skorch pieces:

* :class:`StratifiedValidSplit`, a skorch ``train_split`` that holds out a
  stratified fraction of the rows *and at least a few rows of every class
  that can spare them*, so that a class with 12 training rows is still in
  the validation set (a plain 10% stratified split keeps one row of it, or
  none);
* :func:`early_stopping_callbacks`, skorch's :class:`~skorch.callbacks.
  EpochScoring` of a scikit-learn scorer on the validation rows (balanced
  accuracy by default, so that the rare classes count as much as the common
  ones) and :class:`DelayedEarlyStopping`, skorch's
  :class:`~skorch.callbacks.EarlyStopping` that restores the best epoch's
  weights and does not stop (or pick a best epoch) before a given epoch
  (where deferred re-weighting switches on).
"""

import numpy as np
from sklearn.utils import check_random_state
from skorch.callbacks import EarlyStopping, EpochScoring
from skorch.utils import to_numpy
from torch.utils.data import Subset

__all__ = [
    "DelayedEarlyStopping",
    "StratifiedValidSplit",
    "early_stopping_callbacks",
]


def _validation_counts(class_counts, fraction, min_per_class=3):
    """Validation rows taken from each class.

    ``ceil(fraction * n_k)`` rows of class ``k``, raised to
    ``min_per_class`` where the class can spare them, and never more than
    half of the class (rounded down), so that every class keeps at least as
    many training rows as it gives: a class of 12 rows gives 3 at
    ``fraction=0.1``, a class of 2 gives 1, a class of 1 gives none.

    Parameters
    ----------
    class_counts : array-like of int
        Rows of each class.
    fraction : float
        Target fraction held out, in (0, 1).
    min_per_class : int, default=3
        Rows held out of every class that has at least twice as many.

    Returns
    -------
    counts : ndarray of int

    Examples
    --------
    >>> from sklearn_lt.early_stopping import _validation_counts
    >>> _validation_counts([357, 12, 2, 1], 0.1).tolist()
    [36, 3, 1, 0]
    """
    counts = np.asarray(class_counts, dtype=np.int64)
    wanted = np.maximum(np.ceil(fraction * counts).astype(np.int64), min_per_class)
    return np.minimum(wanted, counts // 2)


class StratifiedValidSplit:
    """skorch ``train_split``: a validation set with every class in it.

    Draws, for every class, :func:`_validation_counts` rows at random (seeded)
    into the validation set; the rest train.

    Parameters
    ----------
    fraction : float
        Fraction of each class held out (see :func:`_validation_counts`).
    min_per_class : int, default=3
        Rows held out of every class that can spare them.
    random_state : int or None, default=None
        Seed of the draw.
    """

    def __init__(self, fraction, min_per_class=3, random_state=None):
        self.fraction = fraction
        self.min_per_class = min_per_class
        self.random_state = random_state

    def indices(self, y):
        """``(train_indices, valid_indices)`` for the encoded labels ``y``."""
        y = np.asarray(to_numpy(y)).ravel()
        rng = check_random_state(self.random_state)
        classes, y_index = np.unique(y, return_inverse=True)
        n_valid = _validation_counts(
            np.bincount(y_index, minlength=classes.size),
            self.fraction,
            self.min_per_class,
        )
        valid = [
            rng.permutation(np.flatnonzero(y_index == k))[:n]
            for k, n in enumerate(n_valid)
        ]
        valid = np.sort(np.concatenate(valid))
        if valid.size == 0:
            raise ValueError(
                "early_stopping needs at least one class with 2 or more rows "
                "to hold out a validation set."
            )
        train = np.setdiff1d(np.arange(y.size), valid)
        return train, valid

    def __call__(self, dataset, y=None, groups=None):
        if y is None:
            raise ValueError("StratifiedValidSplit needs y.")
        train, valid = self.indices(y)
        return Subset(dataset, train), Subset(dataset, valid)

    def __repr__(self):
        return (
            f"StratifiedValidSplit({self.fraction}, min_per_class="
            f"{self.min_per_class}, random_state={self.random_state})"
        )


class DelayedEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that ignores the epochs before ``start_epoch``.

    Before ``start_epoch`` (counted from 0) the monitored score is neither
    tracked nor counted against the patience, so training is not stopped
    and no best epoch is chosen there: with deferred re-weighting, the
    model kept is one trained with the weights on. With
    ``load_best=True`` the weights of the best epoch are restored at the
    end of training, as in skorch.

    Parameters
    ----------
    start_epoch : int, default=0
        First epoch that counts.
    **kwargs
        Passed to :class:`skorch.callbacks.EarlyStopping`.
    """

    def __init__(self, start_epoch=0, **kwargs):
        super().__init__(**kwargs)
        self.start_epoch = start_epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) - 1 < self.start_epoch:
            return
        super().on_epoch_end(net, **kwargs)


def early_stopping_callbacks(scoring, patience, tol, start_epoch=0, name="valid_score"):
    """The callbacks of early stopping on a validation score.

    Parameters
    ----------
    scoring : str or callable
        ``"loss"`` monitors skorch's ``valid_loss`` (lower is better); any
        other value is a scikit-learn scorer (a name such as
        ``"balanced_accuracy"``, or ``scorer(net, X, y)``) computed on the
        validation rows each epoch (higher is better) by skorch's
        :class:`~skorch.callbacks.EpochScoring`.
    patience : int
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float
        Smallest improvement that counts.
    start_epoch : int, default=0
        See :class:`DelayedEarlyStopping`.
    name : str, default="valid_score"
        History key of the score.

    Returns
    -------
    callbacks : list of (str, Callback)
    """
    callbacks = []
    if scoring == "loss":
        monitor, lower_is_better = "valid_loss", True
    else:
        callbacks.append(
            (
                "valid_scoring",
                EpochScoring(scoring, lower_is_better=False, on_train=False, name=name),
            )
        )
        monitor, lower_is_better = name, False
    stopper = DelayedEarlyStopping(
        start_epoch=start_epoch,
        monitor=monitor,
        lower_is_better=lower_is_better,
        patience=patience,
        threshold=tol,
        threshold_mode="abs",
        load_best=True,
    )
    callbacks.append(("early_stopping", stopper))
    return callbacks
