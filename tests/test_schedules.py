"""Learning-rate schedules and the DRW switch: checked epoch by epoch."""

import math

import numpy as np
import pytest
from skorch.callbacks import Callback

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.schedules import LearningRateSchedule, drw_start_epoch


def _toy(n_per_class=(60, 20, 8), seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = rng.normal(size=(y.size, 5)) + 1.5 * np.eye(5)[y]
    return X.astype(np.float32), y


class _Recorder(Callback):
    """Learning rate and criterion class weights at the start of each epoch."""

    def initialize(self):
        self.lrs, self.weights = [], []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.lrs.append(net.optimizer_.param_groups[0]["lr"])
        weight = net.criterion_.weight
        self.weights.append(None if weight is None else weight.numpy().copy())


def test_step_schedule_with_warmup_by_hand():
    # 10 epochs, 2 of warm-up: 1/2, 2/2, then x0.01 from epoch round(8) = 8
    # and again from epoch round(9) = 9.
    schedule = LearningRateSchedule("step", 10, warmup_epochs=2)
    expected = [0.5, 1, 1, 1, 1, 1, 1, 1, 1e-2, 1e-4]
    np.testing.assert_allclose([schedule(e) for e in range(10)], expected)


def test_cosine_schedule_by_hand():
    # 4 epochs after 1 of warm-up: (1 + cos(pi * k / 4)) / 2 for k = 0..3
    schedule = LearningRateSchedule("cosine", 5, warmup_epochs=1)
    expected = [1.0, 1.0, (1 + math.sqrt(0.5)) / 2, 0.5, (1 - math.sqrt(0.5)) / 2]
    np.testing.assert_allclose([schedule(e) for e in range(5)], expected)


def test_constant_schedule_is_one_after_warmup():
    schedule = LearningRateSchedule("constant", 6, warmup_epochs=3)
    np.testing.assert_allclose(
        [schedule(e) for e in range(6)], [1 / 3, 2 / 3, 1, 1, 1, 1]
    )


def test_ldam_drw_paper_recipe_lr_and_weights_epoch_by_epoch(fit_with_callback):
    # Cao et al.'s recipe squeezed into 10 epochs: SGD at 0.1, 2 epochs of
    # warm-up, x0.01 at 80% and again at 90%, DRW at the first decay.
    X, y = _toy()
    clf = MLPMarginClassifier(
        "ldam",
        reweight="drw",
        solver="sgd",
        learning_rate_init=0.1,
        learning_rate="step",
        warmup_epochs=2,
        max_iter=10,
        hidden_layer_sizes=(8,),
        random_state=0,
    )
    recorder = fit_with_callback(clf, X, y, _Recorder())
    expected_lr = [0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.001, 0.00001]
    np.testing.assert_allclose(recorder.lrs, expected_lr, rtol=1e-12)
    # effective-number weights (1 - beta) / (1 - beta^n_k), normalised to
    # mean 1, from epoch 8 on; none before.
    counts = np.bincount(y)
    raw = (1 - 0.9999) / (1 - 0.9999**counts)
    weights = raw * 3 / raw.sum()
    assert all(w is None for w in recorder.weights[:8])
    for w in recorder.weights[8:]:
        np.testing.assert_allclose(w, weights, rtol=1e-5)
    # skorch's LRScheduler also records the rate of each epoch in the history
    np.testing.assert_allclose(clf.net_.history[:, "event_lr"], expected_lr)


def test_minibatch_linear_model_follows_the_cosine_schedule(fit_with_callback):
    X, y = _toy()
    clf = LinearMarginClassifier(
        solver="sgd", learning_rate="cosine", max_epochs=4, learning_rate_init=0.1
    )
    recorder = fit_with_callback(clf, X, y, _Recorder())
    expected = [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    np.testing.assert_allclose(recorder.lrs, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "max_epochs, reweight_start, first_weighted",
    [(1, 0.8, 0), (2, 0.8, 1), (3, 0.8, 2), (3, 1.0, 2), (10, 1.0, 9), (10, 0.5, 5)],
)
def test_drw_weights_are_on_within_max_epochs(
    max_epochs, reweight_start, first_weighted, fit_with_callback
):
    X, y = _toy()
    clf = MLPMarginClassifier(
        "ldam",
        reweight="drw",
        class_weight="balanced",
        reweight_start=reweight_start,
        max_iter=max_epochs,
        hidden_layer_sizes=(8,),
        random_state=0,
    )
    recorder = fit_with_callback(clf, X, y, _Recorder())
    on = [w is not None for w in recorder.weights]
    assert on == [e >= first_weighted for e in range(max_epochs)]
    balanced = y.size / (3 * np.bincount(y))
    np.testing.assert_allclose(recorder.weights[-1], balanced, rtol=1e-5)


def test_drw_changes_a_two_epoch_model():
    # The case: at max_epochs=2 DRW used to be silently off (switch
    # epoch round(0.8 * 2) = 2 never reached), giving the unweighted model.
    X, y = _toy()
    unweighted = MLPMarginClassifier("ldam", max_iter=2, random_state=0).fit(X, y)
    drw = MLPMarginClassifier(
        "ldam", reweight="drw", class_weight="balanced", max_iter=2, random_state=0
    ).fit(X, y)
    assert not np.allclose(unweighted.predict_proba(X), drw.predict_proba(X))


@pytest.mark.parametrize("calls, reweight_start", [(1, 0.8), (2, 0.8), (3, 1.0)])
def test_partial_fit_drw_switches_on_by_the_last_planned_call(calls, reweight_start):
    X, y = _toy()
    clf = MLPMarginClassifier(
        "ldam",
        reweight="drw",
        reweight_start=reweight_start,
        max_iter=calls,
        hidden_layer_sizes=(8,),
        random_state=0,
    )
    for _ in range(calls):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.net_.criterion_.weight is not None


def test_drw_start_epoch_is_the_first_decay_of_the_step_schedule():
    schedule = LearningRateSchedule("step", 200, milestones=(0.8, 0.9))
    assert drw_start_epoch(0.5, 200, schedule) == 160
    assert drw_start_epoch(0.5, 200) == 100
    assert drw_start_epoch(1.0, 200) == 199


@pytest.mark.parametrize("milestones", [(), (0.0,), (1.5,), (0.5, -0.1)])
def test_bad_milestones_are_refused(milestones):
    X, y = _toy()
    clf = MLPMarginClassifier(learning_rate="step", lr_milestones=milestones)
    with pytest.raises(ValueError, match="lr_milestones"):
        clf.fit(X, y)


def test_unknown_schedule_name_is_refused_with_sklearns_message():
    X, y = _toy()
    with pytest.raises(ValueError, match="'learning_rate' parameter"):
        MLPMarginClassifier(learning_rate="invscaling").fit(X, y)
