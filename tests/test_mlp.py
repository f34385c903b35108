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
        loss="ldam", reweight="drw", max_iter=5, random_state=0
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
        loss="elm", hidden_layer_sizes=(32, 16), max_iter=5, random_state=0
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
            ("clf", MLPMarginClassifier(max_iter=5, random_state=0)),
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
        StandardScaler(), MLPMarginClassifier(max_iter=5, random_state=0)
    )
    scores = cross_validate(
        model, X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy"
    )
    assert scores["test_score"].shape == (3,)
    resampled = make_imb_pipeline(
        StandardScaler(),
        RandomOverSampler(random_state=0),
        MLPMarginClassifier(max_iter=5, random_state=0),
    ).fit(X, y)
    # After oversampling every class has the majority's count.
    counts = resampled[-1].class_counts_
    assert (counts == counts.max()).all()


def test_clone_set_params_and_pickle_round_trip(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(loss="vs", max_iter=3, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    clf.set_params(hidden_layer_sizes=(20,), vs_gamma=0.1)
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clf.net_.module_.head.in_features == 20


def test_random_state_makes_fits_bit_identical_and_seeds_differ(digits_lt):
    X, _, y, _ = digits_lt

    def fit(seed):
        return MLPMarginClassifier(max_iter=3, dropout=0.2, random_state=seed).fit(X, y)

    a, b, c = fit(7), fit(7), fit(8)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_early_stopping_holds_out_data_and_stops(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        early_stopping=True, n_iter_no_change=2, tol=10.0, max_iter=50, random_state=0
    ).fit(X, y)
    assert clf.n_iter_ < 50
    assert "valid_loss" in clf.net_.history[-1]


def test_quiet_by_default_and_verbose_on_request(digits_lt, capsys):
    X, _, y, _ = digits_lt
    MLPMarginClassifier(max_iter=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
    MLPMarginClassifier(max_iter=2, random_state=0, verbose=1).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


@pytest.mark.gpu
def test_fits_on_cuda_and_predicts_like_cpu_shapes(digits_lt):
    X, _, y, _ = digits_lt
    clf = MLPMarginClassifier(
        loss="elm", device="cuda", max_iter=3, random_state=0
    ).fit(X, y)
    assert next(clf.net_.module_.parameters()).is_cuda
    assert clf.predict_proba(X).shape == (len(X), 10)


# -- parity with MLPClassifier ---------------------------------------------------
def _separable(seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat([0, 1, 2], [60, 30, 10])
    X = rng.normal(scale=0.3, size=(y.size, 4)) + 3 * np.eye(4)[y]
    return X.astype(np.float32), y


def test_loss_curve_and_n_iter_as_mlp_classifier():
    from sklearn.neural_network import MLPClassifier

    X, y = _separable()
    ours = MLPMarginClassifier("ce", max_iter=100, random_state=0).fit(X, y)
    theirs = MLPClassifier(max_iter=100, tol=0, random_state=0).fit(X, y)
    assert len(ours.loss_curve_) == ours.n_iter_ == 100
    assert len(theirs.loss_curve_) == theirs.n_iter_
    # both decrease on separable data, from about log(3) (chance)
    for curve in (ours.loss_curve_, theirs.loss_curve_):
        assert curve[-1] < 0.25 * curve[0]
    assert all(isinstance(value, float) for value in ours.loss_curve_)
    assert ours.best_loss_ == min(ours.loss_curve_)


def test_validation_attributes_as_mlp_classifier_with_early_stopping():
    from sklearn.neural_network import MLPClassifier

    X, y = _separable()
    params = {"early_stopping": True, "random_state": 0}
    ours = MLPMarginClassifier(max_iter=100, **params).fit(X, y)
    theirs = MLPClassifier(max_iter=100, **params).fit(X, y)
    for model in (ours, theirs):
        assert len(model.validation_scores_) == model.n_iter_
        assert model.best_validation_score_ == max(model.validation_scores_)
        assert model.best_loss_ is None


def test_set_output_pandas_gives_the_embedding_names():
    import pandas as pd

    X, y = _separable()
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = make_pipeline(
        StandardScaler(),
        MLPMarginClassifier(hidden_layer_sizes=(6, 3), max_iter=2, random_state=0),
    ).set_output(transform="pandas")
    model.fit(frame, y)
    embeddings = model[-1].transform(model[:-1].transform(frame))
    assert isinstance(embeddings, pd.DataFrame)
    expected = [f"mlpmarginclassifier{i}" for i in range(3)]
    assert embeddings.columns.tolist() == expected
    assert model[-1].get_feature_names_out().tolist() == expected
    # the same numbers as the default (NumPy) output
    model.set_output(transform="default")
    np.testing.assert_array_equal(
        embeddings.to_numpy(), model[-1].transform(model[:-1].transform(frame))
    )


# -- training that would silently do nothing -----------------------------------
def test_a_huge_learning_rate_warns_and_names_it():
    from sklearn.exceptions import ConvergenceWarning

    X, y = _separable()
    with pytest.warns(ConvergenceWarning, match="learning_rate_init=1000.0"):
        MLPMarginClassifier(learning_rate_init=1e3, max_iter=20, random_state=0).fit(
            X, y
        )


def test_a_sane_fit_does_not_warn():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y = _separable()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        MLPMarginClassifier(max_iter=100, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "loss, n_samples, expected",
    [
        # 1e-2 up to 2,000 rows, then 1e-2 * (2000 / n)^1.5; ELM keeps 1e-4
        # (by hand: 0.25^1.5 = 0.125, 0.1^1.5 = 0.0316228, 0.5^1.5 = 0.3535534)
        ("logit_adjusted", 300, 1e-2),
        ("logit_adjusted", 2000, 1e-2),
        ("logit_adjusted", 4000, 3.535534e-3),
        ("logit_adjusted", 8000, 1.25e-3),
        ("ldam", 20000, 3.16228e-4),
        ("elm", 300, 1e-4),
        ("elm", 20000, 1e-4),
    ],
)
def test_auto_alpha_follows_the_documented_rule(loss, n_samples, expected):
    rng = np.random.RandomState(0)
    y = np.arange(n_samples) % 3
    X = rng.normal(size=(n_samples, 2)).astype(np.float32)
    clf = MLPMarginClassifier(
        loss, hidden_layer_sizes=(4,), max_iter=1, batch_size=4096
    ).fit(X, y)
    assert clf.alpha_ == pytest.approx(expected)
    assert clf.net_.alpha == pytest.approx(expected)
    fixed = MLPMarginClassifier(loss, alpha=0.5, max_iter=1).fit(X[:50], y[:50])
    assert fixed.alpha_ == 0.5


# --------------------------------------------------------------------------
# warm_start, as MLPClassifier has it; verbose output (issue 23)
# --------------------------------------------------------------------------
def _small_problem():
    from sklearn.datasets import make_classification

    X, y = make_classification(200, 5, n_informative=3, random_state=0)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _weights(model):
    return {k: v.clone() for k, v in model.net_.module_.state_dict().items()}


def test_warm_start_continues_from_the_fitted_weights_as_mlp_classifier_does():
    import warnings

    import torch
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = _small_problem()
    params = {"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0}
    model = MLPMarginClassifier(warm_start=True, **params).fit(X, y)
    first = _weights(model)
    # A second fit with a step too small to move: it starts where the first
    # one ended (a cold start would start from a new initialisation).
    model.set_params(learning_rate_init=1e-12, max_iter=2).fit(X, y)
    for key, value in _weights(model).items():
        torch.testing.assert_close(value, first[key], rtol=1e-5, atol=1e-6)
    cold = MLPMarginClassifier(warm_start=False, **params).fit(X, y)
    cold.set_params(learning_rate_init=1e-12, random_state=1).fit(X, y)
    assert not torch.allclose(_weights(cold)["head.weight"], first["head.weight"])
    # loss_curve_ runs on over the warm fits and n_iter_ counts the last
    # fit's epochs, as MLPClassifier's.
    reference = MLPClassifier((8,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
        reference.set_params(max_iter=2).fit(X, y)
    assert model.n_iter_ == reference.n_iter_ == 2
    assert len(model.loss_curve_) == len(reference.loss_curve_) == 5


def test_warm_start_needs_the_same_classes_and_features():
    X, y = _small_problem()
    model = MLPMarginClassifier(
        hidden_layer_sizes=(4,), max_iter=1, warm_start=True, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has"):
        model.fit(X, np.where(y == 1, 2, y))
    with pytest.raises(ValueError, match="X has 4 features, but MLPMarginClassifier"):
        model.fit(X[:, :4], y)
    with pytest.raises(ValueError, match="warm_start=True continues from the previous"):
        model.set_params(hidden_layer_sizes=(5,)).fit(X, y)


def test_verbose_output_is_plain_text_when_stdout_is_not_a_terminal(capsys):
    X, y = _small_problem()
    params = {"hidden_layer_sizes": (4,), "max_iter": 3, "verbose": 1}
    MLPMarginClassifier(random_state=0, **params).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and len(out.strip().splitlines()) == 5
    assert "\x1b[" not in out


def test_verbose_output_keeps_skorch_colours_on_a_terminal(monkeypatch, capsys):
    import sys

    X, y = _small_problem()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    params = {"hidden_layer_sizes": (4,), "max_iter": 2, "verbose": 1}
    MLPMarginClassifier(random_state=0, **params).fit(X, y)
    # The first epoch's loss is the best so far: skorch colours it.
    assert "\x1b[" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Issue 21: string labels of one predicted class; features of huge scale
# --------------------------------------------------------------------------
def test_one_predicted_class_with_string_labels_warns_naming_the_class():
    from sklearn.exceptions import ConvergenceWarning

    # Constant features: the model's output is its bias, one class for all
    # rows. With an object array of strings the warning itself crashed
    # ("'str' object has no attribute 'tolist'").
    y = np.array(["no", "yes"], dtype=object)[
        np.r_[np.zeros(80), np.ones(20)].astype(int)
    ]
    model = MLPMarginClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(
        ConvergenceWarning,
        match=r"predicts the single class '(no|yes)' for every training row",
    ):
        model.fit(np.zeros((100, 3)), y)
    assert set(model.predict(np.zeros((2, 3)))) <= {"no", "yes"}


def test_a_feature_of_huge_scale_warns_naming_it_and_recommending_scaling():
    import warnings

    import pandas as pd

    X, y = _small_problem()
    params = {"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        MLPMarginClassifier(**params).fit(X, y)  # scaled: no warning
    X = X.astype(np.float64)
    X[:, 2] *= 1e30
    message = (
        r"Feature 2 reaches \d\.\d+e\+30 in absolute value \(more than 1e\+04\).*"
        r"Scale the features first, e.g. make_pipeline\(StandardScaler\(\), "
        r"MLPMarginClassifier\(\)\)"
    )
    with pytest.warns(UserWarning, match=message):
        MLPMarginClassifier(**params).fit(X, y)
    X[:, 4] = 5e4
    frame = pd.DataFrame(X, columns=["a", "b", "income", "d", "e"])
    with pytest.warns(UserWarning, match=r"Features 2 \('income'\), 4 \('e'\) reach"):
        MLPMarginClassifier(**params).partial_fit(frame, y, classes=[0, 1])


def test_max_epochs_is_the_deprecated_name_of_max_iter():
    # scikit-learn's pattern for a renamed parameter: the old name still
    # trains for that many epochs, with a FutureWarning naming the new one.
    X, _, y, _ = load_digits_lt(imbalance_ratio=10, random_state=0)
    new = MLPMarginClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    assert new.get_params()["max_epochs"] == "deprecated"
    new.fit(X, y)
    old = MLPMarginClassifier(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    with pytest.warns(FutureWarning, match="'max_epochs' was renamed to 'max_iter'"):
        old.fit(X, y)
    assert new.n_iter_ == old.n_iter_ == 3
    np.testing.assert_array_equal(old.predict_proba(X), new.predict_proba(X))
    # max_epochs wins over max_iter while it is set, as it did before.
    old.set_params(max_iter=50)
    with pytest.warns(FutureWarning):
        assert old.fit(X, y).n_iter_ == 3
    with pytest.raises(ValueError, match="max_iter"):
        MLPMarginClassifier(max_iter=0).fit(X, y)
