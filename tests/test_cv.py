"""MLPMarginClassifierCV and LinearMarginClassifierCV (sklearn_lt/_cv.py).

References: GridSearchCV over the same grid (identical seeds give identical
fits), and for the post-hoc ``tau`` settings a model fitted by hand on each
fold whose decision_function is shifted by hand.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_lt import (
    LinearMarginClassifier,
    LinearMarginClassifierCV,
    MLPMarginClassifier,
    MLPMarginClassifierCV,
)
from sklearn_lt.datasets import make_long_tailed_classification

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n_classes=3, n_samples=240, seed=0):
    X, y = make_long_tailed_classification(
        n_samples=n_samples,
        n_classes=n_classes,
        imbalance_ratio=6,
        class_sep=0.8,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


def _linear(**params):
    return LinearMarginClassifier(max_iter=30, **params)


GRID = {"alpha": [1e-3, 1e-1], "tau": [0.5, 1.0, 2.0]}


def _grid_search(estimator, grid, cv, scoring="balanced_accuracy"):
    return GridSearchCV(estimator, grid, cv=cv, scoring=scoring)


@pytest.mark.parametrize("weighted", [False, True])
def test_without_posthoc_tau_scores_equal_gridsearchcv(weighted):
    X, y = _data()
    fit_params = {}
    if weighted:
        fit_params["sample_weight"] = np.random.RandomState(0).uniform(0.5, 2, len(y))
    search = LinearMarginClassifierCV(
        _linear(), param_grid=GRID, cv=3, posthoc_tau=False, random_state=0
    ).fit(X, y, **fit_params)
    reference = _grid_search(_linear(random_state=0), GRID, cv=3).fit(
        X, y, **fit_params
    )
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    for key in ["split0_test_score", "split2_test_score", "mean_test_score"]:
        np.testing.assert_array_equal(
            search.cv_results_[key], reference.cv_results_[key]
        )
    np.testing.assert_array_equal(
        search.cv_results_["rank_test_score"], reference.cv_results_["rank_test_score"]
    )
    assert search.best_params_ == reference.best_params_
    assert search.best_score_ == reference.best_score_
    assert search.n_fits_ == 3 * 6
    assert np.isnan(search.cv_results_["tau_trained"]).all()
    np.testing.assert_array_equal(
        search.predict(X), reference.best_estimator_.predict(X)
    )


def _posthoc_reference(X, y, cv, estimator, tau_trained, taus):
    """Per-fold balanced accuracy of a model fitted at ``tau_trained`` and
    shifted by hand to each of ``taus``."""
    scores = np.empty((len(taus), cv.get_n_splits()))
    for split, (train, test) in enumerate(cv.split(X, y)):
        model = clone(estimator).set_params(tau=tau_trained).fit(X[train], y[train])
        scores_test = model.decision_function(X[test])
        classes = np.unique(y[train])
        counts = np.array([(y[train] == c).sum() for c in classes])
        log_prior = np.log(counts / len(train))
        for i, tau in enumerate(taus):
            if scores_test.ndim == 1:  # binary: logit_1 - logit_0
                shifted = scores_test + (tau_trained - tau) * (
                    log_prior[1] - log_prior[0]
                )
                predicted = classes[(shifted > 0).astype(int)]
            else:
                shifted = scores_test + (tau_trained - tau) * log_prior
                predicted = classes[np.argmax(shifted, axis=1)]
            scores[i, split] = balanced_accuracy_score(y[test], predicted)
    return scores


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize(
    "estimator",
    [_linear(random_state=0), MLPMarginClassifier(max_iter=5, random_state=0)],
    ids=["linear", "mlp"],
)
def test_posthoc_tau_equals_shifting_decision_function_by_hand(estimator, n_classes):
    X, y = _data(n_classes=n_classes)
    taus = [0.0, 0.5, 1.0, 2.5]
    cv = StratifiedKFold(3)
    cls = (
        LinearMarginClassifierCV
        if isinstance(estimator, LinearMarginClassifier)
        else MLPMarginClassifierCV
    )
    search = cls(estimator, param_grid={"tau": taus}, cv=cv, random_state=0).fit(X, y)
    # Trained at the grid's tau nearest the estimator's own (1.0).
    np.testing.assert_array_equal(search.cv_results_["tau_trained"], 1.0)
    assert search.n_fits_ == 3
    expected = _posthoc_reference(X, y, cv, estimator, 1.0, taus)
    for split in range(3):
        np.testing.assert_allclose(
            search.cv_results_[f"split{split}_test_score"], expected[:, split]
        )
    # The refit trains with the chosen tau itself.
    assert search.best_estimator_.tau == search.best_params_["tau"]


def test_posthoc_tau_trains_nearest_the_estimators_tau_and_groups_by_the_rest():
    X, y = _data()
    grid = [
        {"tau": [0.5, 1.5, 3.0], "alpha": [1e-3, 1e-1]},
        {"loss": ["ce"], "tau": [0.5, 1.5]},  # ce does not use tau: no sharing
    ]
    search = LinearMarginClassifierCV(
        _linear(tau=2.0), param_grid=grid, cv=2, random_state=0
    ).fit(X, y)
    tau_trained = search.cv_results_["tau_trained"]
    np.testing.assert_array_equal(tau_trained[:6], 1.5)
    assert np.isnan(tau_trained[6:]).all()
    assert search.n_fits_ == 2 * (2 + 2)
    # The trained settings score as GridSearchCV's fits of them.
    reference = _grid_search(
        _linear(tau=2.0, random_state=0), {"tau": [1.5], "alpha": [1e-3, 1e-1]}, cv=2
    ).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"][[1, 4]],
        reference.cv_results_["mean_test_score"],
    )


def test_cv_results_structure_and_best_params_follow_the_scores():
    X, y = _data()
    search = LinearMarginClassifierCV(
        _linear(), param_grid=GRID, cv=4, random_state=0
    ).fit(X, y)
    results = search.cv_results_
    n = 6
    assert len(results["params"]) == n
    for key in [
        "mean_fit_time",
        "std_fit_time",
        "mean_score_time",
        "std_score_time",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "tau_trained",
        "param_alpha",
        "param_tau",
        *[f"split{i}_test_score" for i in range(4)],
    ]:
        assert len(results[key]) == n, key
    splits = np.column_stack([results[f"split{i}_test_score"] for i in range(4)])
    np.testing.assert_allclose(results["mean_test_score"], splits.mean(axis=1))
    np.testing.assert_allclose(results["std_test_score"], splits.std(axis=1))
    best = int(np.argmax(results["mean_test_score"]))
    assert search.best_index_ == best
    assert search.best_params_ == results["params"][best]
    assert search.best_score_ == results["mean_test_score"].max()
    assert results["rank_test_score"][best] == 1
    order = np.argsort(-results["mean_test_score"], kind="stable")
    assert np.all(np.diff(results["rank_test_score"][order]) >= 0)
    assert [p["alpha"] for p in results["params"]] == list(results["param_alpha"])
    assert search.n_splits_ == 4
    assert set(search.classes_) == set(y)
    assert pd.DataFrame(results).shape[0] == n


@pytest.mark.parametrize(
    "cls, estimator",
    [
        (LinearMarginClassifierCV, _linear(alpha=1e-2)),
        (MLPMarginClassifierCV, MLPMarginClassifier(max_iter=5, alpha=1e-3)),
    ],
    ids=["linear", "mlp"],
)
def test_one_setting_refit_equals_the_plain_estimator(cls, estimator):
    X, y = _data()
    search = cls(estimator, param_grid={"tau": [1.5]}, cv=3, random_state=7).fit(X, y)
    plain = clone(estimator).set_params(tau=1.5, random_state=7).fit(X, y)
    np.testing.assert_array_equal(search.predict(X), plain.predict(X))
    np.testing.assert_array_equal(
        search.decision_function(X), plain.decision_function(X)
    )
    np.testing.assert_array_equal(search.predict_proba(X), plain.predict_proba(X))
    assert search.best_params_ == {"tau": 1.5}


def test_scoring_is_honoured_in_the_search_and_in_score():
    X, y = _data()
    search = LinearMarginClassifierCV(
        _linear(), param_grid=GRID, cv=3, scoring="accuracy", random_state=0
    ).fit(X, y)
    grid = {"alpha": GRID["alpha"], "tau": [1.0]}  # the trained settings
    reference = _grid_search(
        _linear(random_state=0), grid, cv=3, scoring="accuracy"
    ).fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"][[1, 4]],
        reference.cv_results_["mean_test_score"],
    )
    assert search.score(X, y) == accuracy_score(y, search.predict(X))
    default = LinearMarginClassifierCV(
        _linear(), param_grid=GRID, cv=3, random_state=0
    ).fit(X, y)
    assert default.score(X, y) == balanced_accuracy_score(y, default.predict(X))
    assert not np.array_equal(
        default.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


def test_default_grids():
    X, y = _data(n_samples=120)
    linear = LinearMarginClassifierCV(_linear(), cv=2).fit(X, y)
    assert len(linear.cv_results_["params"]) == 21
    assert linear.n_fits_ == 2 * 9
    mlp = MLPMarginClassifierCV(MLPMarginClassifier(max_iter=1), cv=2).fit(X, y)
    params = mlp.cv_results_["params"]
    assert len(params) == 18
    assert mlp.n_fits_ == 2 * 6
    assert {p["loss"] for p in params} == {"logit_adjusted", "ldam"}
    assert {p.get("hidden_layer_sizes") for p in params} == {None, (100,), (256, 256)}


def test_pipeline_clone_and_gridsearchcv():
    X, y = _data()
    search = LinearMarginClassifierCV(_linear(), param_grid=GRID, cv=2, random_state=0)
    assert clone(search).get_params()["param_grid"] == GRID
    pipe = make_pipeline(StandardScaler(), clone(search)).fit(X, y)
    assert pipe.predict(X).shape == y.shape
    outer = GridSearchCV(clone(search), {"cv": [2, 3]}, cv=2).fit(X, y)
    assert outer.best_params_["cv"] in (2, 3)
    assert outer.best_estimator_.n_splits_ == outer.best_params_["cv"]


def test_feature_names_are_checked_at_prediction():
    X, y = _data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    search = LinearMarginClassifierCV(_linear(), param_grid={"alpha": [1e-2]}, cv=2)
    search.fit(frame, y)
    np.testing.assert_array_equal(search.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        search.predict(frame)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        search.predict(X)


def test_n_jobs_gives_the_same_results():
    X, y = _data()
    kwargs = {"param_grid": GRID, "cv": 2, "random_state": 0}
    one = LinearMarginClassifierCV(_linear(), n_jobs=1, **kwargs).fit(X, y)
    two = LinearMarginClassifierCV(_linear(), n_jobs=2, **kwargs).fit(X, y)
    np.testing.assert_array_equal(
        one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"]
    )


def test_input_is_not_modified():
    X, y = _data()
    X_copy, y_copy = X.copy(), y.copy()
    LinearMarginClassifierCV(_linear(), param_grid={"alpha": [1e-2]}, cv=2).fit(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_errors():
    X, y = _data()
    with pytest.raises(TypeError, match="estimator must be a LinearMarginClassifier"):
        LinearMarginClassifierCV(MLPMarginClassifier()).fit(X, y)
    with pytest.raises(ValueError, match=r"param_grid names \['depth'\]"):
        LinearMarginClassifierCV(param_grid={"depth": [1]}).fit(X, y)
    with pytest.raises(ValueError, match="random_state= also sets"):
        LinearMarginClassifierCV(
            param_grid={"random_state": [0, 1]}, random_state=0
        ).fit(X, y)
    with pytest.raises(ValueError, match="Invalid param_grid"):
        LinearMarginClassifierCV(param_grid={"alpha": 1e-2}).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        LinearMarginClassifierCV().fit(X, np.zeros(len(X)))
    search = LinearMarginClassifierCV(
        _linear(), param_grid={"alpha": [1e-2]}, cv=2, refit=False
    ).fit(X, y)
    assert not hasattr(search, "best_estimator_")
    assert search.best_params_ == {"alpha": 1e-2}
    with pytest.raises(AttributeError, match="refit=False"):
        search.predict(X)


def test_convergence_warnings_of_inner_fits_reach_the_caller():
    X, y = _data()
    search = LinearMarginClassifierCV(
        LinearMarginClassifier(max_iter=1, alpha=1e-6), param_grid={"tau": [1.0]}, cv=2
    )
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        search.fit(X, y)


_WEIGHTS = (
    "The inner estimators compute in float32 and the check asks for rtol=1e-7 "
    "(see tests/test_common.py); measured on the check's data (2026-12-03): "
    "largest predict_proba difference 3.7e-7 (LinearMarginClassifierCV) and "
    "4.5e-8 (MLPMarginClassifierCV), relative 6.0e-5 and 3.3e-6, dense and "
    "sparse alike (sparse batches are made dense)."
)


@pytest.mark.slow
@parametrize_with_checks(
    [
        LinearMarginClassifierCV(
            LinearMarginClassifier(max_iter=20),
            param_grid={"alpha": [1e-4, 1e-2], "tau": [0.5, 1.0]},
            cv=2,
            random_state=0,
        ),
        MLPMarginClassifierCV(
            MLPMarginClassifier(max_iter=10),
            param_grid={"tau": [0.5, 1.0]},
            cv=2,
            random_state=0,
        ),
    ],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
