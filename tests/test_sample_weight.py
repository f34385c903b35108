"""sample_weight reaches the class counts that every loss is built from.

A row of weight 0 must be a dropped row and a row of integer weight k the
same row repeated k times (scikit-learn's semantics, and those of
:class:`~sklearn_lt.LogitAdjustedClassifier`), for every loss, class
weighting, DRW, both estimators, ``fit`` and ``partial_fit``. The references
are fits on the dropped / repeated rows and counts by hand.
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from sklearn_lt import LinearMarginClassifier, LongTailNet, MLPMarginClassifier
from sklearn_lt.losses import LogitAdjustedLoss

LINEAR_LOSSES = ["logit_adjusted", "ce", "ldam", "balanced_softmax", "vs", "focal"]
WEIGHTINGS = {
    "none": {},
    "balanced": {"class_weight": "balanced"},
    "effective_number": {"class_weight": "effective_number", "beta": 0.99},
    "drw": {"reweight": "drw"},
}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        weights=[0.7, 0.2, 0.1],
        random_state=0,
    )
    weights = np.ones(len(y))
    # Drop 60% of the head class: the prior changes a lot.
    head = np.flatnonzero(y == 0)
    weights[np.random.RandomState(1).permutation(head)[: int(0.6 * head.size)]] = 0
    return X.astype(np.float32), y, weights


def _quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


def _hand_counts(y, weights, n_classes=3):
    return np.array([weights[y == k].sum() for k in range(n_classes)])


def _assert_same_loss(a, b):
    """The two fitted criteria were built from the same counts and weights."""
    np.testing.assert_array_equal(
        a.net_.criterion_.class_counts.numpy(), b.net_.criterion_.class_counts.numpy()
    )
    wa, wb = a.net_.criterion_.weight, b.net_.criterion_.weight
    assert (wa is None) == (wb is None)
    if wa is not None:
        np.testing.assert_array_equal(wa.numpy(), wb.numpy())


@pytest.mark.parametrize(
    ("loss", "weighting"),
    [(loss, w) for loss in LINEAR_LOSSES for w in ("none", "drw")]
    + [
        (loss, w)
        for loss in ("logit_adjusted", "ldam", "ce")
        for w in ("balanced", "effective_number")
    ],
)
def test_linear_zero_weight_equals_dropped_row(data, loss, weighting):
    X, y, weights = data
    params = {"loss": loss, "random_state": 0, **WEIGHTINGS[weighting]}
    weighted = _quiet_fit(LinearMarginClassifier(**params), X, y, sample_weight=weights)
    keep = weights > 0
    dropped = _quiet_fit(LinearMarginClassifier(**params), X[keep], y[keep])
    np.testing.assert_array_equal(weighted.class_counts_, _hand_counts(y, weights))
    np.testing.assert_array_equal(weighted.class_counts_, dropped.class_counts_)
    _assert_same_loss(weighted, dropped)
    # Full-batch L-BFGS is deterministic: the same model.
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize(
    ("loss", "params"),
    [
        ("logit_adjusted", {}),
        ("ldam", {"reweight": "drw"}),
        ("vs", {"class_weight": "effective_number"}),
        ("elm", {}),
    ],
)
def test_mlp_zero_weight_equals_dropped_row(data, loss, params):
    # Rows of weight 0 are left out of training, so with the same seed the
    # weighted fit sees the same rows in the same shuffled minibatches as the
    # fit on the dropped rows: the same model, not only the same counts.
    X, y, weights = data
    params = {
        "loss": loss,
        "hidden_layer_sizes": (8,),
        "max_iter": 5,
        "batch_size": 32,
        "random_state": 0,
        **params,
    }
    weighted = _quiet_fit(MLPMarginClassifier(**params), X, y, sample_weight=weights)
    keep = weights > 0
    dropped = _quiet_fit(MLPMarginClassifier(**params), X[keep], y[keep])
    np.testing.assert_array_equal(weighted.class_counts_, _hand_counts(y, weights))
    _assert_same_loss(weighted, dropped)
    assert weighted.alpha_ == dropped.alpha_
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("loss", ["logit_adjusted", "ce", "vs"])
def test_linear_integer_weights_equal_repeated_rows(data, loss):
    # scikit-learn's check_sample_weight_equivalence_on_dense_data, on our
    # data: weights 0..3 against the rows repeated that often.
    X, y, _ = data
    repeats = np.random.RandomState(2).randint(0, 4, size=len(y))
    params = {"loss": loss, "random_state": 0, "tol": 1e-6, "max_iter": 500}
    weighted = _quiet_fit(LinearMarginClassifier(**params), X, y, sample_weight=repeats)
    index = np.repeat(np.arange(len(y)), repeats)
    repeated = _quiet_fit(LinearMarginClassifier(**params), X[index], y[index])
    np.testing.assert_array_equal(weighted.class_counts_, np.bincount(y[index]))
    _assert_same_loss(weighted, repeated)
    # The same objective in float32, summed in another order: L-BFGS stops
    # at nearby points (measured: 2.3e-4 apart for logit_adjusted; the
    # unweighted prior of the old code put them 0.05 to 0.3 apart).
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), rtol=0, atol=1e-3
    )


def test_issue_23_reproduction_prior_follows_the_weights():
    # Issue 23: a quarter of the majority rows kept; the weighted fit used
    # the unweighted counts [1699, 301] and its probabilities were up to
    # 0.33 away from the fit on the kept rows.
    X, y = make_classification(2000, 8, weights=[0.85], random_state=0)
    keep = np.ones(len(y))
    majority = np.flatnonzero(y == 0)
    keep[majority[np.arange(majority.size) % 4 != 0]] = 0
    weighted = LinearMarginClassifier(random_state=0).fit(X, y, sample_weight=keep)
    dropped = LinearMarginClassifier(random_state=0).fit(X[keep > 0], y[keep > 0])
    np.testing.assert_array_equal(
        weighted.class_counts_, [np.ceil(np.sum(y == 0) / 4), np.sum(y == 1)]
    )
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=0, atol=1e-6
    )


def test_fractional_weights_give_the_weighted_prior():
    # Weights below 1 (here summing to 1): the loss's prior is still the
    # weighted class frequency, by hand.
    X, y = make_classification(200, 4, weights=[0.5], random_state=0)
    weights = np.where(y == 0, 1.0, 3.0)
    weights /= weights.sum()
    clf = LinearMarginClassifier(random_state=0).fit(X, y, sample_weight=weights)
    expected = np.array([weights[y == 0].sum(), weights[y == 1].sum()])
    np.testing.assert_allclose(clf.class_counts_, expected, rtol=1e-12)
    counts = clf.net_.criterion_.class_counts.numpy()
    np.testing.assert_allclose(counts / counts.sum(), expected / expected.sum())


def test_a_class_of_zero_total_weight_is_never_predicted(data):
    X, y, _ = data
    weights = np.where(y == 2, 0.0, 1.0)
    clf = _quiet_fit(
        LinearMarginClassifier(random_state=0), X, y, sample_weight=weights
    )
    assert clf.class_counts_[2] == 0
    proba = clf.predict_proba(X)
    assert np.all(proba[:, 2] == 0)
    assert not np.any(clf.predict(X) == 2)


@pytest.mark.parametrize("cls", [LinearMarginClassifier, MLPMarginClassifier])
def test_partial_fit_accumulates_weighted_counts_and_zero_equals_dropped(data, cls):
    X, y, weights = data
    params = {"random_state": 0, "batch_size": 32}
    if cls is MLPMarginClassifier:
        params["hidden_layer_sizes"] = (8,)
    halves = np.array_split(np.arange(len(y)), 2)
    weighted, dropped = cls(**params), cls(**params)
    for half in halves:
        keep = half[weights[half] > 0]
        weighted.partial_fit(
            X[half], y[half], classes=[0, 1, 2], sample_weight=weights[half]
        )
        dropped.partial_fit(X[keep], y[keep], classes=[0, 1, 2])
    np.testing.assert_array_equal(weighted.class_counts_, _hand_counts(y, weights))
    _assert_same_loss(weighted, dropped)
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=0, atol=1e-6
    )


def test_long_tail_net_counts_classes_with_the_weights():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = np.r_[np.zeros(30), np.ones(10)].astype(np.int64)
    weights = np.where(y == 0, 0.5, 2.0).astype(np.float32)
    net = LongTailNet(
        torch.nn.Linear(3, 2), criterion=LogitAdjustedLoss, max_epochs=1, verbose=0
    )
    net.fit({"X": X, "sample_weight": weights}, y)
    # 30 * 0.5 = 15 and 10 * 2 = 20.
    assert net.criterion_.class_counts.tolist() == [15.0, 20.0]


def test_fractional_weighted_counts_survive_save_and_load(tmp_path):
    from sklearn_lt.persistence import load, save

    X, y = make_classification(100, 4, weights=[0.7], random_state=0)
    weights = np.where(y == 0, 0.25, 0.1)
    clf = LinearMarginClassifier(random_state=0).fit(X, y, sample_weight=weights)
    save(clf, tmp_path / "model.sklt")
    restored = load(tmp_path / "model.sklt")
    np.testing.assert_array_equal(restored.class_counts_, clf.class_counts_)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
