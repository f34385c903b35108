"""GPU vs CPU per-epoch training time of the MLP, and GPU-trained models on CPU.

Needs a CUDA device; without one it prints a line saying it skipped and
exits 0. On a GPU: MLPMarginClassifier (256-256, batch 2048) on 1M x 100,
10 epochs on the GPU and 1 epoch on the CPU, per-epoch ratio; then the
GPU-trained model is pickled and loaded in a fresh process with CUDA hidden
(CUDA_VISIBLE_DEVICES=""), where it must predict the same labels.

    python benchmarks/bench_gpu.py --rows 1000000 --epochs 10
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from _common import long_tailed_data, machine, print_table

from sklearn_lt import MLPMarginClassifier

_LOAD_ON_CPU = """
import pickle, sys, numpy as np, torch
assert not torch.cuda.is_available()
with open(sys.argv[1], "rb") as f:
    model = pickle.load(f)
X = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(X))
"""


def fit_seconds(device, X, y, epochs, batch_size):
    clf = MLPMarginClassifier(
        hidden_layer_sizes=(256, 256),
        batch_size=batch_size,
        max_iter=epochs,
        device=device,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, clf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cpu-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2048)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("skipped: no CUDA device available (torch.cuda.is_available() is False)")
        return 0
    print(f"machine: {machine()}, GPU: {torch.cuda.get_device_name(0)}")
    X, y = long_tailed_data(args.rows)
    fit_seconds("cuda", X[:10_000], y[:10_000], 1, args.batch_size)  # warm up CUDA
    gpu_seconds, gpu_model = fit_seconds("cuda", X, y, args.epochs, args.batch_size)
    cpu_seconds, _ = fit_seconds("cpu", X, y, args.cpu_epochs, args.batch_size)
    gpu_epoch, cpu_epoch = gpu_seconds / args.epochs, cpu_seconds / args.cpu_epochs
    print_table(
        [
            {
                "rows": args.rows,
                "batch": args.batch_size,
                "GPU s/epoch": gpu_epoch,
                "CPU s/epoch": cpu_epoch,
                "speed-up": cpu_epoch / gpu_epoch,
            }
        ],
        ["rows", "batch", "GPU s/epoch", "CPU s/epoch", "speed-up"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        model_path, data_path, out_path = (
            os.path.join(tmp, n) for n in ("m.pkl", "X.npy", "pred.npy")
        )
        with open(model_path, "wb") as f:
            pickle.dump(gpu_model, f)
        sample = X[:10_000]
        np.save(data_path, sample)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        subprocess.run(
            [sys.executable, "-c", _LOAD_ON_CPU, model_path, data_path, out_path],
            check=True,
            env=env,
        )
        same = np.mean(np.load(out_path) == gpu_model.predict(sample))
        print(
            "GPU-trained model loaded in a CPU-only process: "
            f"{100 * same:.2f}% identical labels"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
