"""Small tables and start-up: MLPMarginClassifier vs MLPClassifier vs a plain loop.

Two parts, each printing ratios measured side by side in one run, the
contenders taken in turns (a, b, c, a, b, c, ...), medians of ``--repeats``:

* **fit** (issue 13, target 1): at 500, 2,000 and 10,000 rows (d = 64,
  10 classes, long-tailed), hidden (100,), batch 128, 100 epochs, Adam
  (lr 1e-3), L2 1e-4, one thread for torch and for BLAS. Contenders: ours
  with ``loss="logit_adjusted"`` and with ``loss="elm"``; scikit-learn's
  ``MLPClassifier`` (same layers, batch, epochs, ``tol=0`` so that it runs
  them all); and the plain PyTorch loop a user would write over the same
  tensors (a permutation per epoch, index, forward, logit-adjusted loss plus
  the same L2 penalty, backward, step), with torch's default Adam and with
  ``Adam(fused=True)``.
* **start-up** (target 2): wall time of ``python -c "import sklearn_lt"``,
  ``from sklearn_lt import MLPMarginClassifier``, ``import torch, sklearn,
  skorch``, ``sklearn-lt --help`` and ``sklearn-lt compare --help`` (fresh
  interpreters), the heavy modules that ``import sklearn_lt`` loads, and the
  largest entries of ``python -X importtime -c "import sklearn_lt"``.

    python benchmarks/bench_small.py                      # both parts
    python benchmarks/bench_small.py --part fit --rows 500 --repeats 5
    python benchmarks/bench_small.py --part startup --repeats 7
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from _common import long_tailed_data, machine, plain_training_loop, print_table
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sklearn_lt import MLPMarginClassifier

HIDDEN = (100,)
ALPHA = 1e-4
BATCH = 128
N_FEATURES = 64
N_CLASSES = 10
HEAVY = ("torch", "skorch", "pandas", "matplotlib")


# -- fit -----------------------------------------------------------------------
def plain_loop(X, y, epochs, fused=None, seed=0):
    return plain_training_loop(X, y, HIDDEN, BATCH, epochs, ALPHA, fused, seed)


def ours(X, y, epochs, loss="logit_adjusted", seed=0):
    clf = MLPMarginClassifier(
        loss=loss,
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH,
        max_iter=epochs,
        alpha=ALPHA,
        random_state=seed,
    )
    return clf.fit(X, y)


def sklearn_mlp(X, y, epochs, seed=0):
    clf = MLPClassifier(
        hidden_layer_sizes=HIDDEN,
        batch_size=BATCH,
        max_iter=epochs,
        alpha=ALPHA,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


FIT_CONTENDERS = {
    "sklearn": sklearn_mlp,
    "plain": plain_loop,
    "plain fused": lambda X, y, epochs: plain_loop(X, y, epochs, fused=True),
    "ours": ours,
    "ours elm": lambda X, y, epochs: ours(X, y, epochs, loss="elm"),
}


def _ratios(med):
    return {
        "ours / sklearn": med["ours"] / med["sklearn"],
        "ours / plain": med["ours"] / med["plain"],
        "ours / plain fused": med["ours"] / med["plain fused"],
        "elm / ours": med["ours elm"] / med["ours"],
    }


def run_fit(rows, epochs, repeats, pause):
    """Wall and CPU (process) time of each contender; on a busy machine the
    CPU time, which leaves out the time spent waiting for a core, is the
    steadier of the two (one thread: CPU time is the work done)."""
    torch.set_num_threads(1)
    wall_rows, cpu_rows, fastest_rows = [], [], []
    with threadpool_limits(1):
        for n_rows in rows:
            X, y = long_tailed_data(n_rows, n_features=N_FEATURES, n_classes=N_CLASSES)
            for fn in FIT_CONTENDERS.values():  # warm-up, untimed
                fn(X[:300], y[:300], 1)
            wall = {name: [] for name in FIT_CONTENDERS}
            cpu = {name: [] for name in FIT_CONTENDERS}
            for _ in range(repeats):
                for name, fn in FIT_CONTENDERS.items():
                    time.sleep(pause)
                    start, start_cpu = time.perf_counter(), time.process_time()
                    fn(X, y, epochs)
                    cpu[name].append(time.process_time() - start_cpu)
                    wall[name].append(time.perf_counter() - start)
            for times, table, statistic in (
                (wall, wall_rows, np.median),
                (cpu, cpu_rows, np.median),
                (wall, fastest_rows, np.min),
            ):
                med = {name: float(statistic(t)) for name, t in times.items()}
                row = {"rows": n_rows, **{f"{k} s": v for k, v in med.items()}}
                table.append({**row, **_ratios(med)})
            print(f"rows {n_rows}: load average {os.getloadavg()[0]:.2f}")
            sys.stdout.flush()
    print("\nwall time (median of", repeats, "in turns):")
    print_table(wall_rows, list(wall_rows[0]))
    print("\nCPU time of the process (median of", repeats, "in turns):")
    print_table(cpu_rows, list(cpu_rows[0]))
    # On a machine whose speed drifts from one run to the next, the fastest
    # run of each contender is the steadiest estimate of its own cost.
    print("\nwall time (fastest of", repeats, "in turns):")
    print_table(fastest_rows, list(fastest_rows[0]))
    return wall_rows, cpu_rows


# -- start-up ------------------------------------------------------------------
def _cli():
    exe = shutil.which("sklearn-lt")
    return [exe] if exe else [sys.executable, "-m", "sklearn_lt"]


STARTUP_COMMANDS = {
    "import sklearn_lt": [sys.executable, "-c", "import sklearn_lt"],
    "from sklearn_lt import MLPMarginClassifier": [
        sys.executable,
        "-c",
        "from sklearn_lt import MLPMarginClassifier",
    ],
    "import torch, sklearn, skorch": [
        sys.executable,
        "-c",
        "import torch, sklearn, skorch",
    ],
    "sklearn-lt --help": [*_cli(), "--help"],
    "sklearn-lt compare --help": [*_cli(), "compare", "--help"],
}


def run_startup(repeats, pause):
    times = {name: [] for name in STARTUP_COMMANDS}
    for _ in range(repeats):
        for name, command in STARTUP_COMMANDS.items():
            time.sleep(pause)
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    rows = [
        {"command": name, "median s": float(np.median(t)), "min s": float(min(t))}
        for name, t in times.items()
    ]
    print_table(rows, ["command", "median s", "min s"])

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, sklearn_lt; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"\nheavy modules loaded by `import sklearn_lt`: {loaded or 'none'}")

    # -X importtime: "import time: self [us] | cumulative | imported package"
    for label, command in (
        ("python -X importtime -c 'import sklearn_lt'", ["-c", "import sklearn_lt"]),
        ("python -X importtime -m sklearn_lt --help", ["-m", "sklearn_lt", "--help"]),
    ):
        stderr = subprocess.run(
            [sys.executable, "-X", "importtime", *command],
            check=True,
            capture_output=True,
            text=True,
        ).stderr
        entries = []
        for line in stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                entries.append((int(parts[1]), parts[2].rstrip()))
        print(f"\n`{label}`, largest cumulative:")
        for cumulative, name in sorted(entries, reverse=True)[:6]:
            print(f"  {cumulative / 1e6:7.3f} s  {name}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["fit", "startup", "all"], default="all")
    parser.add_argument("--rows", type=int, nargs="+", default=[500, 2000, 10_000])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.5)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    if args.part in ("fit", "all"):
        run_fit(args.rows, args.epochs, args.repeats, args.pause)
    if args.part in ("startup", "all"):
        print()
        run_startup(args.repeats, args.pause)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
