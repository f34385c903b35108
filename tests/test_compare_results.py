"""Tests of sklearn_lt.compare._results: a results directory that survives."""

import hashlib
import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from sklearn_lt.compare import _results as results_module
from sklearn_lt.compare._results import (
    CHECKSUM,
    ResultsDirectory,
    ResultsDirectoryError,
    checked_csv,
    fingerprint,
    read_checked_csv,
)

SPLITS = [(np.array([0, 1, 2]), np.array([3, 4]))]


def _fingerprint(seed=0, X=None):
    X = np.arange(10.0).reshape(5, 2) if X is None else X
    return fingerprint(X, np.array([0, 1, 0, 1, 0]), SPLITS, {"seed": seed})


def _contender(name, value=0.5):
    row = {"contender": name, "family": "baseline", "n_failed": 0, "error": "",
           "balanced_accuracy_mean": value}  # fmt: skip
    per_class = pd.DataFrame(
        {"contender": name, "split": [0, 0], "class": [0, 1], "recall": [value] * 2}
    )
    per_split = pd.DataFrame(
        {"contender": name, "split": [0], "balanced_accuracy": [value], "error": [""]}
    )
    return row, per_class, per_split


def test_fingerprint_changes_with_data_splits_settings():
    base = _fingerprint()
    assert _fingerprint() == base
    assert _fingerprint(seed=1)["settings"] != base["settings"]
    X = np.arange(10.0).reshape(5, 2)
    X[0, 0] = 99
    assert _fingerprint(X=X)["data"] != base["data"]
    splits = [(np.array([0, 1]), np.array([3]))]
    other = fingerprint(
        np.arange(10.0).reshape(5, 2), [0, 1, 0, 1, 0], splits, {"seed": 0}
    )
    assert other["splits"] != base["splits"] and other["data"] == base["data"]
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]})
    changed = frame.assign(b=["x", "z"])
    assert (
        fingerprint(frame, [0, 1], SPLITS, {})["data"]
        != (fingerprint(changed, [0, 1], SPLITS, {})["data"])
    )
    assert set(base["versions"]) >= {"scikit-learn", "numpy"}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root / "file", r"exists and is not a directory"),
        (
            lambda root: root / "file" / "a" / "b",
            r"'.*file' is a file, not a directory",
        ),
    ],
)
def test_check_refuses_files(tmp_path, make, message):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsDirectoryError, match=message):
        ResultsDirectory(make(tmp_path)).check()


def test_check_creates_nothing_and_prepare_creates_parents(tmp_path):
    directory = ResultsDirectory(tmp_path / "a" / "b")
    directory.check()
    assert not (tmp_path / "a").exists()
    rows, _, _ = directory.prepare(_fingerprint(), contenders={"x": "X()"})
    assert rows.empty
    manifest = json.loads((tmp_path / "a" / "b" / "manifest.json").read_text())
    assert manifest["contenders"] == {"x": "X()"}
    assert manifest["settings"] == {"seed": 0}


def test_append_writes_each_contender_at_once_and_keeps_the_header(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={})
    directory.append(*_contender("a", 0.5))
    # a row with its columns in another order lands under the same header
    row, per_class, per_split = _contender("b", 0.7)
    directory.append(dict(reversed(list(row.items()))), per_class, per_split)
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert table["contender"].tolist() == ["a", "b"]
    assert table["balanced_accuracy_mean"].tolist() == [0.5, 0.7]
    assert len(pd.read_csv(tmp_path / "per_class_recall.csv")) == 4


def test_non_empty_directory_needs_overwrite_or_resume(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ResultsDirectoryError, match=r"is not empty \(notes.txt\)"):
        ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={})
    # a previous run's files (listed in its manifest) are replaced
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={}, overwrite=True)
    directory.append(*_contender("a"))
    directory.write_text("results.md", "old")
    listed = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert set(listed) >= {"manifest.json", "results.csv", "results.md"}
    ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={}, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "notes.txt"]


def test_overwrite_keeps_result_files_without_a_manifest(tmp_path):
    # another tool's results.csv and report.html, no manifest: not ours
    (tmp_path / "results.csv").write_text("theirs\n1\n")
    (tmp_path / "report.html").write_text("<p>theirs</p>")
    with pytest.raises(
        ResultsDirectoryError,
        match=r"holds results.csv, report.html but no manifest.json: this package "
        r"did not write them, so they are kept",
    ):
        ResultsDirectory(tmp_path).prepare(
            _fingerprint(), contenders={}, overwrite=True
        )
    assert (tmp_path / "results.csv").read_text() == "theirs\n1\n"
    assert (tmp_path / "report.html").read_text() == "<p>theirs</p>"
    assert not (tmp_path / "manifest.json").exists()


def test_overwrite_keeps_result_files_not_listed_in_the_manifest(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={})
    directory.append(*_contender("a"))  # ours: listed in the manifest
    (tmp_path / "report.html").write_text("<p>theirs</p>")  # not listed
    with pytest.raises(
        ResultsDirectoryError,
        match=r"holds report.html, which its manifest.json does not list as "
        r"written by this package, so they are kept",
    ):
        ResultsDirectory(tmp_path).prepare(
            _fingerprint(), contenders={}, overwrite=True
        )
    assert (tmp_path / "report.html").read_text() == "<p>theirs</p>"
    assert (tmp_path / "results.csv").exists()  # nothing removed either


def test_a_manifest_of_another_tool_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text('{"name": "other tool"}')
    with pytest.raises(
        ResultsDirectoryError, match=r"its manifest.json was not written by this"
    ):
        ResultsDirectory(tmp_path).prepare(
            _fingerprint(), contenders={}, overwrite=True
        )
    assert (tmp_path / "manifest.json").read_text() == '{"name": "other tool"}'


@pytest.mark.parametrize("path", ["", "   "])
def test_empty_out_is_refused(path):
    with pytest.raises(ResultsDirectoryError, match=r"out is empty; give the name"):
        ResultsDirectory(path)


def test_results_csv_that_is_a_directory_is_a_one_line_error(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={})
    (tmp_path / "results.csv").mkdir()
    for flags in ({"overwrite": True}, {"resume": True}):
        with pytest.raises(
            ResultsDirectoryError,
            match=r"^cannot write results.csv in out .*: '.*results.csv' is a "
            r"directory, not a file",
        ):
            ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={}, **flags)


def test_full_disk_is_a_one_line_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    import contextlib
    import errno

    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={})
    directory.append(*_contender("a"))
    before = (tmp_path / "results.csv").read_bytes()

    @contextlib.contextmanager
    def full_disk(path, mode="wb", **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
        yield  # pragma: no cover

    monkeypatch.setattr(results_module, "atomic_write", full_disk)
    with pytest.raises(
        ResultsDirectoryError,
        match=r"^cannot write per_class_recall.csv in out .*: No space left on "
        r"device$",
    ):
        directory.append(*_contender("b"))
    assert (tmp_path / "results.csv").read_bytes() == before


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_are_created_with_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        directory = ResultsDirectory(tmp_path / "out")
        directory.prepare(_fingerprint(), contenders={})
        directory.append(*_contender("a"))
        directory.write_text("results.md", "# results")
    finally:
        os.umask(old)
    for path in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name


def test_every_row_carries_a_checksum_of_its_cells(tmp_path):
    frame = pd.DataFrame({"contender": ["a", "b, c"], "error": ["", 'say "x"']})
    text = checked_csv(frame)
    assert text.splitlines()[0] == f"contender,error,{CHECKSUM}"
    # the checksum: first 16 hex digits of the SHA-256 of the JSON of the cells
    expected = hashlib.sha256(json.dumps(["a", ""]).encode()).hexdigest()[:16]
    assert text.splitlines()[1] == f"a,,{expected}"
    back, damaged = read_checked_csv(text, keep_default_na=False)
    assert damaged == 0
    assert back.to_dict("list") == frame.to_dict("list")
    edited = text.replace("b, c", "b, d")
    assert read_checked_csv(edited)[1] == 1


def test_resume_reruns_a_row_cut_short(tmp_path):
    """A crash mid-write (here: the last row truncated by hand) loses that row."""
    directory = ResultsDirectory(tmp_path)
    names = {"a": "A()", "b": "B()"}
    directory.prepare(_fingerprint(), contenders=names)
    directory.append(*_contender("a", 0.5))
    directory.append(*_contender("b", 0.75))
    path = tmp_path / "results.csv"
    text = path.read_text()
    path.write_text(text[: text.rindex("0.75") + 3])  # "...,0.7" and no checksum
    rows, per_class, per_split = ResultsDirectory(tmp_path).prepare(
        _fingerprint(), contenders=names, resume=True
    )
    assert rows["contender"].tolist() == ["a"]
    assert rows["balanced_accuracy_mean"].tolist() == [0.5]
    assert per_class["contender"].unique().tolist() == ["a"]
    assert per_split["contender"].tolist() == ["a"]
    # rewritten without the damaged row: b is run again
    assert read_checked_csv(path.read_text())[0]["contender"].tolist() == ["a"]


def test_resume_drops_a_contender_whose_per_split_rows_are_incomplete(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={})
    row, per_class, per_split = _contender("a")
    directory.append(dict(row, n_splits=1), per_class, per_split)
    row, per_class, per_split = _contender("b")
    directory.append(dict(row, n_splits=1), per_class, per_split)
    path = tmp_path / "per_split_scores.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")  # b's per-split row lost
    resumed = ResultsDirectory(tmp_path)
    rows, _, _ = resumed.prepare(_fingerprint(), contenders={}, resume=True)
    assert rows["contender"].tolist() == ["a"]
    assert resumed.n_damaged == 1


def test_resume_keeps_complete_contenders_and_checks_the_fingerprint(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={"a": "A()", "b": "B()"})
    directory.append(*_contender("a", 0.5))
    # "b" was interrupted after its per-class rows, before its table row
    _, per_class_a, _ = _contender("a", 0.5)
    _, per_class_b, _ = _contender("b")
    (tmp_path / "per_class_recall.csv").write_text(
        checked_csv(pd.concat([per_class_a, per_class_b]))
    )

    rows, per_class, per_split = directory.prepare(
        _fingerprint(), contenders={"a": "A()", "b": "B()"}, resume=True
    )
    assert rows["contender"].tolist() == ["a"]
    assert rows["error"].tolist() == [""]
    assert per_class["contender"].unique().tolist() == ["a"]
    assert per_split["contender"].tolist() == ["a"]
    on_disk = pd.read_csv(tmp_path / "per_class_recall.csv")
    assert on_disk.columns[-1] == CHECKSUM
    assert on_disk["contender"].unique().tolist() == ["a"]  # b's rows dropped

    with pytest.raises(ResultsDirectoryError, match=r"setting seed \(0 then, 1 now\)"):
        directory.prepare(_fingerprint(seed=1), contenders={}, resume=True)
    X = np.ones((5, 2))
    with pytest.raises(ResultsDirectoryError, match=r"\(data differ\)"):
        directory.prepare(_fingerprint(X=X), contenders={}, resume=True)
    with pytest.raises(ResultsDirectoryError, match=r"contender\(s\) a are not the"):
        directory.prepare(_fingerprint(), contenders={"a": "A(changed=1)"}, resume=True)


def test_resume_accepts_a_metric_the_earlier_run_did_not_use(tmp_path):
    # The metric is a setting only of runs with a metric-optimal contender:
    # a run without one resumes with any metric, and then keeps it.
    directory = ResultsDirectory(tmp_path)
    settings = {"seed": 0}
    X, y = np.zeros((5, 1)), np.array([0, 1, 0, 1, 0])
    directory.prepare(fingerprint(X, y, SPLITS, settings), contenders={"a": "A()"})
    directory.append(*_contender("a", 0.5))
    with_metric = fingerprint(X, y, SPLITS, {**settings, "metric": "macro_f1"})
    rows, _, _ = directory.prepare(
        with_metric, contenders={"a": "A()", "b_metric_opt": "B()"}, resume=True
    )
    assert rows["contender"].tolist() == ["a"]
    other = fingerprint(X, y, SPLITS, {**settings, "metric": "gmean"})
    with pytest.raises(ResultsDirectoryError, match=r"setting metric \('macro_f1'"):
        directory.prepare(other, contenders={}, resume=True)
    # and the other way: the metric-optimal contender dropped on resuming
    rows, _, _ = directory.prepare(
        fingerprint(X, y, SPLITS, settings), contenders={"a": "A()"}, resume=True
    )
    assert rows["contender"].tolist() == ["a"]


def test_resume_refuses_a_directory_without_manifest(tmp_path):
    (tmp_path / "results.csv").write_text("contender\nx\n")
    with pytest.raises(ResultsDirectoryError, match=r"has no manifest.json"):
        ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={}, resume=True)
