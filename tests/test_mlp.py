"""MLPMarginClassifier: quality on long-tailed digits and real scikit-learn use."""

import pickle

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import MLPMarginClassifier
from sklearn_lt.datasets import load_digits_lt
from sklearn_lt.losses import ELMLoss, LDAMLoss
from sklearn_lt.modules import CosineLinear
from sklearn_lt.weights import effective_number_weights


@pytest.fixture(scope="module")
def digits_lt():
    return load_digits_lt(imbalance_ratio=20, random_state=0)


def _balanced_accuracy(data, seeds=(0, 1, 2), **params):
    X_train, X_test, y_train, y_test = data
    scores = []
    for seed in seeds:
        model = make_pipeline(
            StandardScaler(), MLPMarginClassifier(random_state=seed, **params)
        )
        model.fit(X_train, y_train)
        scores.append(balanced_accuracy_score(y_test, model.predict(X_test)))
    return np.mean(scores)


@pytest.mark.slow
def test_long_tail_losses_beat_plain_cross_entropy_on_digits_lt(digits_lt):
    plain = _balanced_accuracy(digits_lt, loss="ce")
    adjusted = _balanced_accuracy(digits_lt, loss="logit_adjusted")
    ldam_drw = _balanced_accuracy(digits_lt, loss="ldam", reweight="drw")
    assert adjusted > plain
    assert ldam_drw > plain


def test_ldam_uses_a_cosine_head_and_drw_switches_effective_number_weights(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        loss="ldam", reweight="drw", max_epochs=5, random_state=0
    ).fit(X, y)
    assert isinstance(clf.net_.module_.head, CosineLinear)
    assert isinstance(clf.net_.criterion_, LDAMLoss)
    np.testing.assert_allclose(
        clf.net_.criterion_.weight.numpy(), effective_number_weights(np.bincount(y))
    )
    # Prediction logits are the cosines times the scale.
    cosines = clf.net_.forward(X[:5].astype(np.float32)).numpy()
    np.testing.assert_allclose(clf.decision_function(X[:5]), 30.0 * cosines, rtol=1e-5)


def test_elm_trains_on_embeddings_and_transform_returns_them(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        loss="elm", hidden_layer_sizes=(32, 16), max_epochs=5, random_state=0
    ).fit(X, y)
    assert isinstance(clf.net_.criterion_, ELMLoss)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    embeddings = clf.transform(X)
    assert embeddings.shape == (len(X), 16)
    assert (embeddings >= 0).all()  # the last hidden layer's ReLU output


def test_pipeline_grid_search_over_loss_and_margin(digits_lt):
    X, _, y, _ = digits_lt
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", MLPMarginClassifier(max_epochs=5, random_state=0)),
        ]
    )
    grid = {"clf__loss": ["ce", "ldam"], "clf__max_margin": [0.3, 0.5]}
    search = GridSearchCV(
        pipe, grid, scoring="balanced_accuracy", cv=StratifiedKFold(2)
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.named_steps["clf"].loss in {"ce", "ldam"}
    assert 0 <= search.best_score_ <= 1


def test_cross_validate_and_an_imbalanced_learn_pipeline(digits_lt):
    X, _, y, _ = digits_lt
    model = make_pipeline(
        StandardScaler(), MLPMarginClassifier(max_epochs=5, random_state=0)
    )
    scores = cross_validate(
        model, X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy"
    )
    assert scores["test_score"].shape == (3,)
    resampled = make_imb_pipeline(
        StandardScaler(),
        RandomOverSampler(random_state=0),
        MLPMarginClassifier(max_epochs=5, random_state=0),
    ).fit(X, y)
    # After oversampling every class has the majority's count.
    counts = resampled[-1].class_counts_
    assert (counts == counts.max()).all()


def test_clone_set_params_and_pickle_round_trip(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(loss="vs", max_epochs=3, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    clf.set_params(hidden_layer_sizes=(20,), vs_gamma=0.1)
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clf.net_.module_.head.in_features == 20


def test_random_state_makes_fits_bit_identical_and_seeds_differ(digits_lt):
    X, _, y, _ = digits_lt

    def fit(seed):
        return MLPMarginClassifier(max_epochs=3, dropout=0.2, random_state=seed).fit(
            X, y
        )

    a, b, c = fit(7), fit(7), fit(8)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_early_stopping_holds_out_data_and_stops(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        early_stopping=True, n_iter_no_change=2, tol=10.0, max_epochs=50, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 50
    assert "valid_loss" in clf.net_.history[-1]


def test_quiet_by_default_and_verbose_on_request(digits_lt, capsys):
    X, _, y, _ = digits_lt
    MLPMarginClassifier(max_epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
    MLPMarginClassifier(max_epochs=2, random_state=0, verbose=1).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


@pytest.mark.gpu
def test_fits_on_cuda_and_predicts_like_cpu_shapes(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        loss="elm", device="cuda", max_epochs=3, random_state=0
    ).fit(X, y)
    assert next(clf.net_.module_.parameters()).is_cuda
    assert clf.predict_proba(X).shape == (len(X), 10)
