"""Tests of the ``sklearn-lt`` command line (sklearn_lt.cli)."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

from sklearn_lt.cli import main
from sklearn_lt.compare import default_contenders
from sklearn_lt.datasets import long_tail_counts

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


def test_non_numeric_features(capsys, csv_file, tmp_path):
    path, frame = csv_file
    frame = frame.assign(colour=np.where(frame["a"] > 0, "red", "blue"))
    frame.to_csv(path, index=False)
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    _assert_one_line_error(status, err, r"must be numeric.*1 column\(s\).*colour")


def test_missing_feature_values(capsys, csv_file):
    path, frame = csv_file
    frame.loc[3, "b"] = np.nan
    frame.to_csv(path, index=False)
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    _assert_one_line_error(status, err, r"missing or infinite values.*: b;")


def test_single_class(capsys, csv_file):
    path, frame = csv_file
    frame.assign(label="cat").to_csv(path, index=False)
    status, _, err = _run(capsys, "compare", "--data", str(path), "--target", "label")
    _assert_one_line_error(status, err, r"single class \('cat'\)")


def test_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.csv"
    status, _, err = _run(capsys, "compare", "--data", str(missing), "--target", "y")
    _assert_one_line_error(status, err, r"cannot read --data .*nope.csv.*no such file")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", r"it is empty"),
        (b"\xff\xfe\x00\x81binary\x00\xc3\x28\n\x00\x01", r"cannot read --data"),
        (b"a,b,label\n1,2,x\n1,2,3,4,5\n", r"cannot read --data.*Expected 3 fields"),
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


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["compare", "--cv", "0"], r"--cv: expected at least 1"),
        (["compare", "--cv", "two"], r"--cv: expected an integer"),
        (["compare", "--imbalance-ratio", "0.5"], r"expected a number >= 1"),
        (["compare", "--n-jobs", "0"], r"0 is not a number of jobs"),
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
    ]:
        assert option in out, option
    assert "results.csv" in out and "results.md" in out


def test_list_contenders(capsys):
    status, out, _ = _run(capsys, "compare", "--list-contenders")
    assert status == 0
    assert out.split() == list(default_contenders())


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


# -- runs ---------------------------------------------------------------------------


def _expected_balanced_accuracy(name, X, y, splits, seed=0):
    estimator = default_contenders(random_state=seed)[name]
    scores = [
        balanced_accuracy_score(
            y[test], clone(estimator).fit(X[train], y[train]).predict(X[test])
        )
        for train, test in splits
    ]
    return np.mean(scores), np.std(scores)


def test_csv_run_writes_results_and_plots(capsys, csv_file, tmp_path):
    path, frame = csv_file
    out = tmp_path / "results"
    status, stdout, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--contenders", FAST, "--cv", "3", "--seed", "4", "--n-jobs", "1",
        "--out", str(out),
    )  # fmt: skip
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == [
        "balanced_accuracy.png",
        "per_class_recall.csv",
        "per_class_recall.png",
        "results.csv",
        "results.md",
    ]
    for png in ["balanced_accuracy.png", "per_class_recall.png"]:
        assert (out / png).read_bytes()[:8] == PNG_MAGIC

    # results.csv: the scores of the same estimators on the same folds
    results = pd.read_csv(out / "results.csv").set_index("contender")
    X = frame.drop(columns="label").to_numpy()
    y = frame["label"].to_numpy()
    splits = list(StratifiedKFold(3, shuffle=True, random_state=4).split(X, y))
    for name in FAST.split(","):
        mean, std = _expected_balanced_accuracy(name, X, y, splits, seed=4)
        np.testing.assert_allclose(results.loc[name, "balanced_accuracy_mean"], mean)
        np.testing.assert_allclose(results.loc[name, "balanced_accuracy_std"], std)
    assert results["balanced_accuracy_mean"].is_monotonic_decreasing

    # per-class recall: training counts of each fold
    per_class = pd.read_csv(out / "per_class_recall.csv")
    first = per_class[(per_class["split"] == 0)]
    first = first[first["contender"] == "logreg_balanced"]
    train = splits[0][0]
    assert first["train_count"].tolist() == [
        int(np.sum(y[train] == c)) for c in ["cat", "dog", "eel"]
    ]

    # results.md: a Markdown table with one row per contender, best first
    markdown = (out / "results.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| contender | family | balanced acc.")
    assert [row.split(" | ")[0][2:] for row in rows[2:]] == list(results.index)
    assert "--contenders logreg_balanced,logreg_posthoc_la" in markdown
    assert "data.csv (120 rows, 4 features, 3 classes" in markdown

    # the printed table: sorted, with mean ± std
    printed = [line.split()[0] for line in stdout.splitlines() if "±" in line]
    assert printed == list(results.index)
    assert "Wrote results.csv" in stdout


def test_imbalance_ratio_makes_training_folds_long_tailed(capsys, tmp_path):
    rng = np.random.RandomState(1)
    y = np.repeat([0, 1, 2, 3], 50)
    frame = pd.DataFrame(rng.normal(size=(200, 3)) + y[:, None], columns=list("xyz"))
    frame["target"] = y
    path = tmp_path / "balanced.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    status, _, err = _run(
        capsys, "compare", "--data", str(path), "--target", "target",
        "--imbalance-ratio", "10", "--cv", "5", "--contenders", "logreg",
        "--no-plots", "--no-progress", "--n-jobs", "1", "--out", str(out),
    )  # fmt: skip
    assert status == 0, err
    per_class = pd.read_csv(out / "per_class_recall.csv")
    expected = long_tail_counts(40, 4, 10, "exponential").tolist()
    for _, fold in per_class.groupby("split"):
        assert fold["train_count"].tolist() == expected
    assert not list(out.glob("*.png"))
    assert "imbalance ratio 10" in (out / "results.md").read_text()


def test_default_digits_run_is_reproducible_under_seed(capsys, tmp_path):
    tables = []
    for run in range(2):
        out = tmp_path / f"run{run}"
        status, _, err = _run(
            capsys, "compare", "--contenders", "logreg,linear_margin_la",
            "--cv", "2", "--seed", "3", "--n-jobs", "1", "--no-plots",
            "--out", str(out),
        )  # fmt: skip
        assert status == 0, err
        assert "compare: 100%" in err  # the progress bar, on stderr
        table = pd.read_csv(out / "results.csv")
        tables.append(table.drop(columns=[c for c in table if "seconds" in c]))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    markdown = (tmp_path / "run0" / "results.md").read_text()
    assert "bundled digits" in markdown and "imbalance ratio 20" in markdown
    assert "Best sklearn_lt contender" in markdown


def test_missing_matplotlib_skips_plots_with_a_note(capsys, csv_file, tmp_path):
    path, _ = csv_file
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)  # import raises
        status, _, err = _run(
            capsys, "compare", "--data", str(path), "--target", "label",
            "--contenders", "logreg", "--cv", "2", "--n-jobs", "1",
            "--out", str(out),
        )  # fmt: skip
    assert status == 0
    assert "plots skipped" in err and 'pip install "sklearn-lt[plots]"' in err
    assert (out / "results.csv").exists()
    assert not list(out.glob("*.png"))


def test_a_failing_contender_is_reported_in_one_line(capsys, tmp_path):
    # class "c" has 4 training examples per fold: too few for SMOTE's 5
    # neighbours, so smote_logreg fails on every split; logreg runs.
    rng = np.random.RandomState(0)
    y = np.repeat(["a", "b", "c"], [60, 30, 8])
    frame = pd.DataFrame(rng.normal(size=(len(y), 3)), columns=list("xyz"))
    frame["label"] = y
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    status, stdout, err = _run(
        capsys, "compare", "--data", str(path), "--target", "label",
        "--contenders", "smote_logreg,logreg", "--cv", "2", "--n-jobs", "1",
        "--no-plots", "--no-progress", "--out", str(out),
    )  # fmt: skip
    assert status == 0
    assert "Traceback" not in err
    warning_lines = [line for line in err.splitlines() if "warning:" in line]
    assert len(warning_lines) == 1
    assert re.search(r"'smote_logreg' failed on every split.*n_neighbors", err)
    results = pd.read_csv(out / "results.csv")
    assert results["contender"].tolist() == ["logreg", "smote_logreg"]
    assert results["balanced_accuracy_mean"].isna().tolist() == [False, True]
