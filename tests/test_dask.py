"""Searches, cross-validation and compare() on a Dask cluster (joblib backend).

A ``LocalCluster`` of two worker processes (one thread each) runs the same
``GridSearchCV`` / ``cross_validate`` / ``compare`` as the local (sequential)
backend, and the scores must be identical: every fit is seeded, and torch
runs one thread on both sides, so each fit is the same computation.
"""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier
from sklearn_lt.compare import compare
from sklearn_lt.datasets import make_long_tailed_classification

SCORING = ["balanced_accuracy", "neg_log_loss"]


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each; closed after the module."""
    distributed = pytest.importorskip(
        "distributed",
        reason="dask.distributed is not installed (pip install 'sklearn-lt[dask]')",
    )
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=":0",
        # Workers start with OMP_NUM_THREADS=1 (Dask's default environment).
    )
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(2, timeout=120)
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    X, y = make_long_tailed_classification(
        n_samples=300, n_features=8, n_classes=3, imbalance_ratio=5, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture
def one_torch_thread():
    """The local run uses one torch thread, as each Dask worker does."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run_local_and_on_dask(client, fn):
    from distributed import get_task_stream

    with joblib.parallel_config(backend="sequential"):
        local = fn(n_jobs=1)
    with joblib.parallel_config(backend="dask"), get_task_stream(client) as tasks:
        on_dask = fn(n_jobs=-1)
    # the fits really ran on the cluster's workers
    workers = {task["worker"] for task in tasks.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    return local, on_dask, workers


def _mlp(**params):
    return MLPMarginClassifier(
        hidden_layer_sizes=(16,), max_iter=15, random_state=0, **params
    )


@pytest.mark.slow  # starting two worker processes takes seconds
def test_grid_search_on_dask_scores_as_locally(client, data, one_torch_thread):
    X, y = data
    grid = {
        "mlpmarginclassifier__loss": ["logit_adjusted", "ldam"],
        "mlpmarginclassifier__alpha": [1e-4, 1e-2],
    }

    def search(n_jobs):
        model = make_pipeline(StandardScaler(), _mlp())
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        return GridSearchCV(
            model, grid, cv=cv, scoring=SCORING, refit=False, n_jobs=n_jobs
        ).fit(X, y)

    local, on_dask, workers = _run_local_and_on_dask(client, search)
    assert len(workers) == 2  # 12 fits of about a second: both workers busy
    for key, value in local.cv_results_.items():
        if "_score" in key and "time" not in key:
            np.testing.assert_array_equal(on_dask.cv_results_[key], value, err_msg=key)
    assert list(on_dask.cv_results_["params"]) == list(local.cv_results_["params"])
    assert client.run(torch.get_num_threads) == dict.fromkeys(
        client.scheduler_info()["workers"], 1
    )


@pytest.mark.slow  # starting two worker processes takes seconds
def test_cross_validate_on_dask_scores_as_locally(client, data, one_torch_thread):
    X, y = data

    def run(n_jobs):
        model = make_pipeline(
            StandardScaler(),
            LinearMarginClassifier("ldam", reweight="drw", random_state=0),
        )
        return cross_validate(model, X, y, cv=4, scoring=SCORING, n_jobs=n_jobs)

    local, on_dask, _ = _run_local_and_on_dask(client, run)
    for key in ("test_balanced_accuracy", "test_neg_log_loss"):
        np.testing.assert_array_equal(on_dask[key], local[key], err_msg=key)


@pytest.mark.slow  # starting two worker processes takes seconds
def test_compare_on_dask_gives_the_local_table(client, data, one_torch_thread):
    pd = pytest.importorskip("pandas")
    X, y = data
    contenders = [
        ("linear_la", make_pipeline(StandardScaler(), LinearMarginClassifier())),
        ("mlp_ldam_drw", make_pipeline(StandardScaler(), _mlp(loss="ldam"))),
    ]

    def run(n_jobs):
        return compare(contenders, X, y, cv=3, n_jobs=n_jobs)

    local, on_dask, _ = _run_local_and_on_dask(client, run)
    timings = [column for column in local if "seconds" in column]
    assert len(timings) < local.shape[1] - 10  # only timings are left out
    # the decisions and every score of them agree exactly; the probabilities
    # only to float rounding: L-BFGS ends a few ulps apart under another
    # thread count (measured with the same predictions: Brier 0.233589 on
    # Dask against 0.233608 locally). The ECE is binned, so a row whose
    # probability crosses a bin edge moves it by more (measured 0.0724
    # against 0.0701 in one CI run, 0.006863 against 0.006848 in another)
    brier = [c for c in local if c.startswith("brier_")]
    ece = [c for c in local if c.startswith("calibration_")]
    assert brier and ece
    exact = timings + brier + ece
    pd.testing.assert_frame_equal(
        on_dask.drop(columns=exact), local.drop(columns=exact), check_exact=True
    )
    pd.testing.assert_frame_equal(
        on_dask[brier], local[brier], check_exact=False, rtol=1e-3, atol=1e-3
    )
    pd.testing.assert_frame_equal(
        on_dask[ece], local[ece], check_exact=False, rtol=0, atol=0.02
    )


@pytest.mark.parametrize(
    "estimator",
    [
        LinearMarginClassifier(random_state=0),
        LinearMarginClassifier("ldam", reweight="drw", solver="adam", random_state=0),
        _mlp(loss="elm"),
        _mlp(loss="ldam", reweight="drw", early_stopping=True),
    ],
    ids=["linear", "linear-ldam-drw", "mlp-elm", "mlp-ldam-drw-early-stopping"],
)
def test_estimators_pickle_with_the_standard_library(estimator, data):
    """What Dask sends to workers, with plain pickle: no lambdas, CPU tensors."""
    X, y = data
    unfitted = pickle.loads(pickle.dumps(estimator))
    assert unfitted.get_params() == estimator.get_params()
    fitted = estimator.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    tensors = [*restored.net_.module_.state_dict().values()]
    tensors += [*restored.net_.criterion_.state_dict().values()]
    assert all(t.device.type == "cpu" for t in tensors)
