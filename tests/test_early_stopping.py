"""Early stopping with a few rows of a class: the split, the monitor, the restore."""

import numpy as np
import pytest
from skorch.callbacks import Callback

from sklearn_lt import MLPMarginClassifier
from sklearn_lt.early_stopping import (
    StratifiedValidSplit,
    _validation_counts,
)


def _toy(n_per_class=(150, 12), seed=0, shift=1.0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = rng.normal(size=(y.size, 6)) + shift * np.eye(6)[y]
    return X.astype(np.float32), y


@pytest.mark.parametrize(
    "counts, fraction, expected",
    [
        # ceil(0.1 n), at least 3, at most n // 2
        ([357, 12], 0.1, [36, 3]),
        ([100, 7, 2, 1], 0.1, [10, 3, 1, 0]),
        ([40, 40], 0.25, [10, 10]),
        ([5, 4], 0.1, [2, 2]),
    ],
)
def test_validation_counts_by_hand(counts, fraction, expected):
    assert _validation_counts(counts, fraction).tolist() == expected


def test_split_holds_out_every_class_and_is_disjoint_and_seeded():
    y = np.repeat([0, 1, 2], [200, 12, 2])
    split = StratifiedValidSplit(0.1, random_state=0)
    train, valid = split.indices(y)
    assert np.bincount(y[valid]).tolist() == [20, 3, 1]
    assert np.intersect1d(train, valid).size == 0
    assert np.union1d(train, valid).tolist() == list(range(y.size))
    again = StratifiedValidSplit(0.1, random_state=0).indices(y)
    other = StratifiedValidSplit(0.1, random_state=1).indices(y)
    np.testing.assert_array_equal(valid, again[1])
    assert not np.array_equal(valid, other[1])


def test_sklearns_stratified_split_would_leave_the_rare_class_out():
    # Why the split is not sklearn's StratifiedShuffleSplit: at 10% a class
    # of 12 rows among 369 gets 1 validation row, or none.
    from sklearn.model_selection import train_test_split

    y = np.repeat([0, 1], [357, 12])
    _, valid = train_test_split(
        np.arange(y.size), test_size=0.1, stratify=y, random_state=0
    )
    assert np.sum(y[valid] == 1) <= 1
    _, ours = StratifiedValidSplit(0.1, random_state=0).indices(y)
    assert np.sum(y[ours] == 1) == 3


class _WeightRecorder(Callback):
    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append(
            {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        )


def test_balanced_accuracy_is_monitored_and_the_best_epoch_restored(fit_with_callback):
    X, y = _toy()
    clf = MLPMarginClassifier(
        early_stopping=True,
        n_iter_no_change=5,
        max_iter=60,
        hidden_layer_sizes=(16,),
        random_state=0,
    )
    recorder = fit_with_callback(clf, X, y, _WeightRecorder())
    history = clf.net_.history
    scores = np.asarray(history[:, "valid_score"])
    assert clf.n_iter_ == len(scores) == len(clf.loss_curve_)
    np.testing.assert_allclose(clf.validation_scores_, scores)
    assert clf.best_validation_score_ == scores.max()
    # the first epoch reaching the best score is kept (later ties do not
    # count as improvements), and its weights are the fitted ones
    best = int(np.argmax(scores))
    for key, value in clf.net_.module_.state_dict().items():
        np.testing.assert_array_equal(value, recorder.states[best][key])
    if clf.n_iter_ < 60:  # stopped: n_iter_no_change epochs without a gain
        assert clf.n_iter_ == best + 1 + 5


def test_validation_score_is_balanced_accuracy_of_the_validation_rows():
    from sklearn.metrics import balanced_accuracy_score

    X, y = _toy()
    clf = MLPMarginClassifier(
        early_stopping=True, max_iter=3, hidden_layer_sizes=(8,), random_state=0
    ).fit(X, y)
    split = clf.net_.train_split
    _, valid = split.indices(y)
    # after the fit the restored weights are those of the best epoch
    best = int(np.argmax(clf.validation_scores_))
    predicted = clf.predict(X[valid])
    assert balanced_accuracy_score(y[valid], predicted) == pytest.approx(
        clf.validation_scores_[best]
    )


def test_another_scorer_and_the_loss_can_be_monitored():
    X, y = _toy()
    common = {"early_stopping": True, "max_iter": 4, "hidden_layer_sizes": (8,)}
    f1 = MLPMarginClassifier(scoring="f1_macro", **common).fit(X, y)
    assert f1.best_validation_score_ == max(f1.validation_scores_)
    loss = MLPMarginClassifier(scoring="loss", **common).fit(X, y)
    np.testing.assert_allclose(
        loss.validation_scores_, loss.net_.history[:, "valid_loss"]
    )
    assert loss.best_validation_score_ == min(loss.validation_scores_)


def test_no_early_stopping_before_drw_switches_on():
    X, y = _toy()
    clf = MLPMarginClassifier(
        "ldam",
        reweight="drw",
        reweight_start=0.5,
        early_stopping=True,
        n_iter_no_change=1,
        tol=100.0,  # nothing ever improves: stop at the first counted miss
        max_iter=20,
        hidden_layer_sizes=(8,),
        random_state=0,
    ).fit(X, y)
    # epochs 0-9 are not counted; epoch 10 sets the first best, 11 misses
    assert clf.n_iter_ == 12
    assert clf.best_validation_score_ == clf.validation_scores_[10]


def test_without_early_stopping_mlp_classifier_attributes():
    X, y = _toy()
    clf = MLPMarginClassifier(max_iter=5, hidden_layer_sizes=(8,)).fit(X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert "valid_loss" not in clf.net_.history[-1]  # trained on all rows
