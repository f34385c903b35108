"""Threads: parallel searches and comparisons of our estimators use the cores well.

Issue 13, target 3, measured side by side in one run, in turns, medians of
``--repeats``:

* **grid search**: ``GridSearchCV`` of ``MLPMarginClassifier`` over 4 values of
  ``alpha`` x 2 folds (8 fits; 2,000 rows, d = 64, 10 classes, long-tailed,
  hidden (100,), ``--epochs`` epochs) with ``n_jobs=2`` against
  ``n_jobs=1``. The loky workers are started by an untimed warm-up search,
  as they stay up between searches. Target: ``n_jobs=2`` at least 1.6 x
  faster on two cores.
* **compare**: ``sklearn-lt compare --n-jobs -1`` against ``--n-jobs 1``
  (``--contenders``, 2 splits, no plots) while one other process keeps a
  core busy (``--busy``, a Python busy loop started and stopped by this
  script). Target: ``-1`` no slower than ``1``.

Within a joblib (loky) worker, torch trains with the worker's share of the
cores (see ``sklearn_lt/_threads.py``); in the main process, with every core.

    python benchmarks/bench_threads.py
    python benchmarks/bench_threads.py --part grid --repeats 3 --epochs 30
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import long_tailed_data, machine, print_table
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sklearn_lt import MLPMarginClassifier

BUSY_LOOP = "while True:\n    pass\n"


def grid_search(X, y, n_jobs, epochs):
    search = GridSearchCV(
        MLPMarginClassifier(hidden_layer_sizes=(100,), max_iter=epochs, random_state=0),
        {"alpha": [1e-5, 1e-4, 1e-3, 1e-2]},
        cv=2,
        n_jobs=n_jobs,
        refit=False,
    )
    return search.fit(X, y)


def run_grid(repeats, epochs, pause):
    X, y = long_tailed_data(2000, n_features=64, n_classes=10)
    grid_search(X[:300], y[:300], 2, 1)  # start the loky workers (untimed)
    runs = {
        "n_jobs=1": lambda: grid_search(X, y, 1, epochs),
        "n_jobs=2": lambda: grid_search(X, y, 2, epochs),
        # For reference: one process with one torch thread.
        "n_jobs=1, 1 thread": lambda: _one_thread(grid_search, X, y, 1, epochs),
    }
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            time.sleep(pause)
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    med = {name: float(np.median(t)) for name, t in times.items()}
    row = {
        "fits": 8,
        "epochs": epochs,
        **{f"{name} s": value for name, value in med.items()},
        "speed-up of n_jobs=2": med["n_jobs=1"] / med["n_jobs=2"],
        "... over 1 thread": med["n_jobs=1, 1 thread"] / med["n_jobs=2"],
    }
    print_table([row], list(row))
    return row


def _one_thread(fn, *args):
    with threadpool_limits(1):
        return fn(*args)


def _compare_command(n_jobs, out, contenders):
    exe = shutil.which("sklearn-lt")
    cli = [exe] if exe else [sys.executable, "-m", "sklearn_lt"]
    return [
        *cli,
        "compare",
        "--contenders",
        contenders,
        "--cv",
        "2",
        "--no-plots",
        "--no-progress",
        "--n-jobs",
        str(n_jobs),
        "--out",
        out,
        "--overwrite",
    ]


def run_compare(repeats, contenders, busy, pause):
    workdir = tempfile.mkdtemp(prefix="bench_threads_")
    busy_procs = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(busy)
    ]
    times = {1: [], -1: []}
    try:
        for _ in range(repeats):
            for n_jobs in times:
                time.sleep(pause)
                out = os.path.join(workdir, f"n_jobs_{n_jobs}")
                start = time.perf_counter()
                subprocess.run(
                    _compare_command(n_jobs, out, contenders),
                    check=True,
                    capture_output=True,
                )
                times[n_jobs].append(time.perf_counter() - start)
    finally:
        for proc in busy_procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    med = {n_jobs: float(np.median(t)) for n_jobs, t in times.items()}
    row = {
        "contenders": contenders,
        "busy processes": busy,
        "--n-jobs 1 s": med[1],
        "--n-jobs -1 s": med[-1],
        "(-1) / (1)": med[-1] / med[1],
    }
    print_table([row], list(row))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["grid", "compare", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument(
        "--contenders", default="mlp_margin_la,mlp_margin_ldam_drw,logreg_balanced"
    )
    parser.add_argument("--busy", type=int, default=1)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    if args.part in ("grid", "all"):
        run_grid(args.repeats, args.epochs, args.pause)
    if args.part in ("compare", "all"):
        print()
        run_compare(args.repeats, args.contenders, args.busy, args.pause)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
