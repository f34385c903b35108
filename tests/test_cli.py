"""Tests of the ``sklearn-lt`` command line (sklearn_lt.cli)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_lt.cli import build_parser, main
from sklearn_lt.compare import default_contenders
from sklearn_lt.compare.contenders import _describe_estimator as describe_estimator

FAST = "logreg_balanced,logreg_posthoc_la"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def csv_file(tmp_path):
    """A small 3-class CSV: 60, 40 and 20 rows, four numeric features."""
    rng = np.random.RandomState(0)
    y = np.repeat(["cat", "dog", "eel"], [60, 40, 20])
    centres = {"cat": 0.0, "dog": 1.5, "eel": 3.0}
    X = rng.normal(size=(len(y), 4)) + np.array([centres[c] for c in y])[:, None]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.insert(2, "label", y)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _assert_one_line_error(status, err, pattern):
    assert status == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sklearn-lt compare: error: ")
    assert re.search(pattern, lines[0]), lines[0]


# -- errors -----------------------------------------------------------------------


def test_missing_target_column(capsys, csv_file, tmp_path):
    path, _ = csv_file
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "species",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    _assert_one_line_error(status, err, r"'species' is not in data.csv.*a, b, label")
    assert not (tmp_path / "out").exists()


def test_continuous_target(capsys, csv_file):
    path, _ = csv_file
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "a")
    _assert_one_line_error(status, err, r"'a' holds continuous values \(120 distinct\)")


def test_single_class(capsys, csv_file):
    path, frame = csv_file
    frame.assign(label="cat").to_csv(path, index=False)
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    _assert_one_line_error(status, err, r"single class \('cat'\)")


def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.csv"
    status, _, err = _run(capsys, "compare", "--data", str(missing), "--target", "y")
    _assert_one_line_error(status, err, r"cannot read .*nope.csv.*no such file")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", r"it is empty"),
        (b"\xff\xfe\x00\x81binary\x00\xc3\x28\n\x00\x01", r"cannot read .*bad.csv"),
        (b"a,b,label\n1,2,x\n1,2,3,4,5\n", r"cannot read .*bad.csv.*Expected 3 fields"),
    ],
    ids=["empty", "binary", "ragged"],
)
def test_unreadable_file(capsys, tmp_path, content, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    _assert_one_line_error(status, err, reason)


def test_unknown_contender(capsys, csv_file):
    path, _ = csv_file
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--contenders", "logreg,svm",
    )  # fmt: skip
    _assert_one_line_error(status, err, r"Unknown contender 'svm'.*svc_rbf_balanced")


def test_unknown_contender_to_drop(capsys):
    status, _, err = _run(capsys, "compare", "--drop", "nope")
    _assert_one_line_error(status, err, r"Cannot drop unknown contender 'nope'")


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["--target", "label"], r"--target needs --data"),
        (["--data", "x.csv"], r"--data needs --target"),
    ],
)
def test_data_and_target_go_together(capsys, argv, pattern):
    status, _, err = _run(capsys, "compare", *argv)
    _assert_one_line_error(status, err, pattern)


def test_too_few_examples_for_the_folds(capsys, csv_file):
    path, _ = csv_file
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label", "--cv", "25"
    )
    _assert_one_line_error(status, err, r"class 'eel' has 20 example\(s\).*--cv 25")


def test_out_must_be_a_directory(capsys, tmp_path):
    out = tmp_path / "file"
    out.write_text("x")
    status, _, err = _run(capsys, "compare", "--out", str(out))
    _assert_one_line_error(status, err, r"exists and is not a directory")


def test_out_under_a_file_is_refused_before_any_fit(capsys, csv_file, tmp_path):
    path, _ = csv_file
    (tmp_path / "ok.csv").write_text("x")
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--out", str(tmp_path / "ok.csv" / "sub"),
    )  # fmt: skip
    _assert_one_line_error(status, err, r"'.*ok.csv' is a file, not a directory")
    assert "compare:" not in err.replace("sklearn-lt compare: error", "")  # no bar


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root ignores file permissions",
)
def test_read_only_out_is_refused_before_any_fit(capsys, csv_file, tmp_path):
    path, _ = csv_file
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, _, err = _run(
            capsys, "compare", "--data", str(path), "--target", "label",
            "--out", str(locked / "results"),
        )  # fmt: skip
    finally:
        locked.chmod(0o700)
    _assert_one_line_error(status, err, r"is not writable")


@pytest.mark.parametrize(
    "value, pattern",
    [
        ("inf", r"column\(s\) b contain infinite values"),
        ("1e300", r"column\(s\) b have values too large to standardise"),
    ],
)
def test_features_non_finite_after_preprocessing(
    capsys, csv_file, tmp_path, value, pattern
):
    path, frame = csv_file
    frame["b"] = frame["b"].astype(float)
    frame.loc[[3, 4], "b"] = [float(value), -float(value)]
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label", "--out", str(out)
    )
    _assert_one_line_error(status, err, pattern)
    assert not out.exists()


def test_unknown_categorical_column(capsys, csv_file):
    path, _ = csv_file
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--categorical", "a,zz",
    )  # fmt: skip
    _assert_one_line_error(status, err, r"categorical column\(s\) 'zz' are not columns")


@pytest.mark.parametrize(
    "option",
    [
        ["--sep", ";"],
        ["--categorical", "a"],
        ["--decimal", ","],
        ["--drop-columns", "a"],
        ["--max-bytes", "1G"],
    ],
)
def test_data_options_need_data(capsys, option):
    status, _, err = _run(capsys, "compare", *option)
    _assert_one_line_error(status, err, rf"{option[0]} needs --data")


def test_parquet_needs_a_readable_file(capsys, tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet")
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "y")
    _assert_one_line_error(status, err, r"cannot read .*bad.parquet")


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["compare", "--cv", "0"], r"--cv: expected at least 1"),
        (["compare", "--cv", "two"], r"--cv: expected an integer"),
        (["compare", "--imbalance-ratio", "0.5"], r"expected a finite number >= 1"),
        (["compare", "--n-jobs", "0"], r"0 is not a number of jobs"),
        (["compare", "--repeats", "0"], r"--repeats: expected at least 1"),
        (["compare", "--shot-thresholds", "20,100"], r"expected MANY >= FEW >= 1"),
        (["compare", "--shot-thresholds", "100"], r"expected two integers MANY,FEW"),
        (["compare", "--sep", ";;"], r"expected one character"),
        (
            ["compare", "--seed", "-1"],
            r"--seed: expected an integer from 0 to 4294967295, got -1",
        ),
        (["compare", "--seed", str(2**32)], r"--seed: expected an integer from 0 to"),
        (["compare", "--seed", "1.5"], r"--seed: expected an integer, got '1.5'"),
        (
            ["compare", "--imbalance-ratio", "inf"],
            r"expected a finite number >= 1, got inf",
        ),
        (
            ["compare", "--imbalance-ratio", "nan"],
            r"expected a finite number >= 1, got nan",
        ),
        (
            ["compare", "--out", ""],
            r"--out: expected a directory name, got an empty one",
        ),
        (["compare", "--out", "  "], r"--out: expected a directory name"),
        (["compare", "--decimal", ";"], r"--decimal: expected '\.' or ',', got ';'"),
        (
            ["compare", "--max-bytes", "0"],
            r"--max-bytes: expected a size of at least 1",
        ),
        (
            ["compare", "--max-bytes", "lots"],
            r"--max-bytes: expected a size such as 2G",
        ),
        (
            ["compare", "--drop-columns", ","],
            r"--drop-columns: expected comma-separated",
        ),
        (["compare", "--overwrite", "--resume"], r"not allowed with argument"),
        (["compare", "--bogus"], r"unrecognized arguments: --bogus"),
        (["frobnicate"], r"invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_argparse_message(capsys, argv, pattern):
    status, _, err = _run(capsys, *argv)
    assert status == 2
    assert "Traceback" not in err
    assert re.search(pattern, err), err
    assert err.startswith("usage: sklearn-lt")


@pytest.mark.parametrize(
    "text, size",
    [
        ("1000", 1000),
        ("2G", 2 * 1024**3),
        ("500M", 500 * 1024**2),
        ("1.5GiB", 3 * 2**29),
        ("64kb", 65536),
    ],
)
def test_max_bytes_takes_sizes_with_units(text, size):
    args = build_parser().parse_args(["compare", "--max-bytes", text])
    assert args.max_bytes == size


def test_no_command_prints_help_and_exits_2(capsys):
    status, _, err = _run(capsys)
    assert status == 2
    assert "compare" in err


# -- help -------------------------------------------------------------------------


def test_help_explains_every_option(capsys):
    status, out, _ = _run(capsys, "--help")
    assert status == 0
    assert "compare" in out and "--version" in out
    status, out, _ = _run(capsys, "compare", "--help")
    assert status == 0
    for option in [
        "--data",
        "--target",
        "--imbalance-ratio",
        "--cv",
        "--contenders",
        "--drop",
        "--list-contenders",
        "--seed",
        "--n-jobs",
        "--out",
        "--no-plots",
        "--no-progress",
        "--sep",
        "--decimal",
        "--drop-columns",
        "--max-bytes",
        "--categorical",
        "--repeats",
        "--scheduler",
        "--shot-thresholds",
        "--overwrite",
        "--resume",
    ]:
        assert option in out, option
    assert "results.csv" in out and "results.md" in out


def test_list_contenders_shows_each_name_and_its_estimator(capsys):
    status, out, _ = _run(capsys, "compare", "--list-contenders")
    assert status == 0
    contenders = default_contenders()
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(contenders)
    for line, estimator in zip(lines, contenders.values()):
        assert line.split(maxsplit=1)[1] == describe_estimator(estimator)
    assert "hgb_posthoc_la" in out and "HistGradientBoostingClassifier" in out
    assert [line.split()[0] for line in lines[-2:]] == [
        "mlp_margin_la_metric_opt",
        "hgb_metric_opt",
    ]
    assert "MetricOptimalClassifierCV" in lines[-1]


def test_metric_option_rejects_an_unknown_metric_naming_the_allowed_ones(capsys):
    status, _, err = _run(
        capsys, "compare", "--metric", "accuracy", "--list-contenders"
    )
    assert status == 2
    assert "--metric" in err and "'accuracy'" in err
    for name in ("balanced_accuracy", "macro_f1", "gmean", "worst_class_recall"):
        assert name in err


def test_metric_option_reaches_the_metric_optimal_contenders(capsys):
    status, out, _ = _run(capsys, "compare", "--metric", "gmean", "--list-contenders")
    assert status == 0
    assert "metric='gmean'" in out.strip().splitlines()[-1]


@pytest.mark.parametrize("command", [[sys.executable, "-m", "sklearn_lt"], None])
def test_entry_points_show_help(command):
    if command is None:
        script = shutil.which("sklearn-lt")
        if script is None:
            pytest.skip("the sklearn-lt console script is not installed")
        command = [script]
    result = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage: sklearn-lt" in result.stdout
    assert "compare" in result.stdout


def test_cli_module_imports_nothing_heavy_at_module_level():
    """``sklearn-lt --help`` stays fast: cli.py's own top-level imports are light.

    (Whether ``import sklearn_lt`` itself is light is the package
    ``__init__``'s business and is tested there.)
    """
    import ast

    import sklearn_lt.cli

    tree = ast.parse(Path(sklearn_lt.cli.__file__).read_text())
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert imported <= {"argparse", "shlex", "sys", "time", "warnings", "pathlib"}
