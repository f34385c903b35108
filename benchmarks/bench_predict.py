"""predict_proba throughput and peak memory on 1M rows, ours vs scikit-learn.

Each model is fitted on a small sample (prediction cost does not depend on
the training size), saved, and then timed in a fresh process on the full X:
median of several predict_proba calls, and the peak resident memory above
the level after loading X and the model (Linux VmHWM, reset before the
calls), reported as a multiple of X's size.

    python benchmarks/bench_predict.py --rows 1000000
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from _common import long_tailed_data, machine, print_table
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sklearn_lt import LinearMarginClassifier, MLPMarginClassifier

HIDDEN = (256, 256)


def _rss_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def worker(model_path, data_path, repeats):
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    X = np.load(data_path)
    model.predict_proba(X[:1000])  # warm up
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    base = _rss_kib("VmRSS")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        proba = model.predict_proba(X)
        times.append(time.perf_counter() - start)
        del proba
    peak = _rss_kib("VmHWM")
    print(
        json.dumps(
            {
                "seconds": float(np.median(times)),
                "peak_extra_bytes": (peak - base) * 1024,
            }
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker, args.repeats)
        return
    print(f"machine: {machine()}")
    X, y = long_tailed_data(args.rows)
    fit_X, fit_y = X[:20_000], y[:20_000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models = {
            "MLPMarginClassifier": MLPMarginClassifier(
                hidden_layer_sizes=HIDDEN, max_iter=1, random_state=0
            ),
            "MLPClassifier": MLPClassifier(
                hidden_layer_sizes=HIDDEN, max_iter=1, random_state=0
            ),
            "LinearMarginClassifier": LinearMarginClassifier(
                max_iter=20, random_state=0
            ),
            "LogisticRegression": LogisticRegression(max_iter=20),
        }
        for model in models.values():
            model.fit(fit_X, fit_y)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "X.npy")
        np.save(data_path, X)
        for name, model in models.items():
            model_path = os.path.join(tmp, f"{name}.pkl")
            with open(model_path, "wb") as f:
                pickle.dump(model, f)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    model_path,
                    data_path,
                    "--repeats",
                    str(args.repeats),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[name] = json.loads(out.strip().splitlines()[-1])
    rows = []
    for ours, theirs in [
        ("MLPMarginClassifier", "MLPClassifier"),
        ("LinearMarginClassifier", "LogisticRegression"),
    ]:
        for name in (ours, theirs):
            r = results[name]
            rows.append(
                {
                    "model": name,
                    "rows/s": args.rows / r["seconds"],
                    "seconds": r["seconds"],
                    "throughput vs sklearn": results[theirs]["seconds"] / r["seconds"],
                    "peak extra memory / X size": r["peak_extra_bytes"] / X.nbytes,
                }
            )
    print(f"X: {X.shape}, {X.dtype}, {X.nbytes / 2**20:.0f} MiB")
    print_table(rows, list(rows[0]))


if __name__ == "__main__":
    main()
