"""The benchmark scripts run (tiny sizes); the GPU one skips cleanly without CUDA."""

import runpy
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script, args, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(sys, "argv", [script, *args])
    module = runpy.run_path(str(BENCHMARKS / script))
    return module["main"](args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_gpu_benchmark_skips_cleanly_without_cuda(monkeypatch, capsys):
    assert _run("bench_gpu.py", [], monkeypatch) == 0
    assert capsys.readouterr().out.startswith("skipped: no CUDA device")


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, args",
    [
        (
            "bench_fit.py",
            [
                "--rows",
                "2000",
                "--batch-sizes",
                "256",
                "--epochs",
                "1",
                "--repeats",
                "1",
            ],
        ),
        ("bench_linear.py", ["--rows", "2000", "--repeats", "1"]),
        (
            "bench_scaling.py",
            [
                "--rows",
                "1000",
                "2000",
                "--classes",
                "3",
                "--class-rows",
                "1000",
                "--elm-batches",
                "64",
                "--repeats",
                "1",
            ],
        ),
        ("bench_predict.py", ["--rows", "20000", "--repeats", "1"]),
        (
            "bench_small.py",
            ["--part", "fit", "--rows", "300", "--epochs", "2", "--repeats", "1"]
            + ["--pause", "0"],
        ),
        (
            "bench_quality.py",
            ["--seeds", "1", "--tasks", "wine", "digits_lt", "--n-jobs", "1"]
            + ["--models", "lr_bal", "la_v0"],
        ),
    ],
)
def test_benchmark_scripts_run_on_tiny_sizes(script, args, monkeypatch, capsys):
    _run(script, args, monkeypatch)
    assert "|" in capsys.readouterr().out


@pytest.mark.slow
def test_dask_benchmark_runs_on_tiny_sizes(monkeypatch, capsys):
    pytest.importorskip(
        "distributed",
        reason="dask.distributed is not installed (pip install 'sklearn-lt[dask]')",
    )
    assert _run("bench_dask.py", ["--tiny"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "|" in out
    assert "ratio (1 worker / 2 workers):" in out
