"""GridSearchCV wall time on 1 vs 2 local Dask workers (joblib's Dask backend).

A grid over MLPMarginClassifier (loss x alpha, 3-fold CV) on a long-tailed
problem runs sequentially (no Dask), then under
``joblib.parallel_config(backend="dask")`` on a ``LocalCluster`` of 1 and of
2 worker processes, one thread each (OMP and torch at 1 thread per worker,
and in the sequential run). The ratio is the 1-worker time over the
2-worker time (2 = perfect scaling); the cluster is started and warmed up
(torch imported, a first small search) before timing, so start-up is not
counted; the sequential run is warmed up the same way.

    python benchmarks/bench_dask.py --rows 20000 --epochs 5 --repeats 3
"""

import argparse
import os
import warnings

import joblib
import numpy as np
from _common import long_tailed_data, machine, median_time, print_table
from sklearn.model_selection import GridSearchCV, StratifiedKFold

GRID = {
    "loss": ["logit_adjusted", "ldam", "balanced_softmax", "vs"],
    "alpha": [1e-4, 1e-2],
}


def _one_thread():
    """Run on each worker: one torch thread, and load sklearn_lt."""
    import torch

    import sklearn_lt  # noqa: F401

    torch.set_num_threads(1)
    return torch.get_num_threads()


def search(X, y, epochs, backend):
    from sklearn_lt import MLPMarginClassifier

    model = MLPMarginClassifier(
        hidden_layer_sizes=(128,), batch_size=256, max_iter=epochs, random_state=0
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with joblib.parallel_config(backend=backend):
        return GridSearchCV(
            model, GRID, cv=cv, scoring="balanced_accuracy", refit=False, n_jobs=-1
        ).fit(X, y)


def warm_up(X, y, backend):
    """A first small search (imports, first fits), not timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny classes in the small sample
        search(X[:300], y[:300], 1, backend)


def time_on_cluster(n_workers, X, y, args):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(n_workers)
        threads = set(client.run(_one_thread).values())
        assert threads == {1}, threads
        warm_up(X, y, "dask")
        return median_time(args.repeats, search, X, y, args.epochs, "dask")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--tiny", action="store_true", help="a seconds-long smoke run (tests)"
    )
    args = parser.parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print(
            "skipped: dask.distributed is not installed (pip install dask[distributed])"
        )
        return 0
    if args.tiny:
        args.rows, args.epochs, args.repeats = 600, 1, 1
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    print(f"machine: {machine()}")
    X, y = long_tailed_data(
        args.rows, n_features=50, n_classes=10, imbalance_ratio=20, seed=0
    )
    n_fits = 3 * int(np.prod([len(values) for values in GRID.values()]))
    print(f"{args.rows} rows, {n_fits} fits of {args.epochs} epochs per search")

    warm_up(X, y, "sequential")
    sequential, result = median_time(
        args.repeats, search, X, y, args.epochs, "sequential"
    )
    rows = [{"backend": "sequential", "workers": 1, "search s": sequential}]
    scores = result.cv_results_["mean_test_score"]
    for n_workers in args.workers:
        seconds, result = time_on_cluster(n_workers, X, y, args)
        # the same seeded fits on one thread: the same scores
        assert np.array_equal(result.cv_results_["mean_test_score"], scores)
        rows.append({"backend": "dask", "workers": n_workers, "search s": seconds})
    one = next((r["search s"] for r in rows[1:] if r["workers"] == 1), None)
    for row in rows:
        row["speed-up vs 1 Dask worker"] = one / row["search s"] if one else np.nan
    print_table(rows, list(rows[0]))
    if one and 2 in args.workers:
        two = next(r["search s"] for r in rows[1:] if r["workers"] == 2)
        print(f"ratio (1 worker / 2 workers): {one / two:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
