"""Tests of sklearn_lt.compare.results: a results directory that survives."""

import json

import numpy as np
import pandas as pd
import pytest

from sklearn_lt.compare.results import (
    OWNED_FILES,
    ResultsDirectory,
    ResultsDirectoryError,
    fingerprint,
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
    for name in OWNED_FILES:
        (tmp_path / name).write_text("old")
    ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={}, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "notes.txt"]


def test_resume_keeps_complete_contenders_and_checks_the_fingerprint(tmp_path):
    directory = ResultsDirectory(tmp_path)
    directory.prepare(_fingerprint(), contenders={"a": "A()", "b": "B()"})
    directory.append(*_contender("a", 0.5))
    # "b" was interrupted after its per-class rows, before its table row
    _, per_class_b, _ = _contender("b")
    directory._append("per_class_recall.csv", per_class_b)

    rows, per_class, per_split = directory.prepare(
        _fingerprint(), contenders={"a": "A()", "b": "B()"}, resume=True
    )
    assert rows["contender"].tolist() == ["a"]
    assert rows["error"].tolist() == [""]
    assert per_class["contender"].unique().tolist() == ["a"]
    assert per_split["contender"].tolist() == ["a"]
    on_disk = pd.read_csv(tmp_path / "per_class_recall.csv")
    assert on_disk["contender"].unique().tolist() == ["a"]  # b's rows dropped

    with pytest.raises(ResultsDirectoryError, match=r"setting seed \(0 then, 1 now\)"):
        directory.prepare(_fingerprint(seed=1), contenders={}, resume=True)
    X = np.ones((5, 2))
    with pytest.raises(ResultsDirectoryError, match=r"\(data differ\)"):
        directory.prepare(_fingerprint(X=X), contenders={}, resume=True)
    with pytest.raises(ResultsDirectoryError, match=r"contender\(s\) a are not the"):
        directory.prepare(_fingerprint(), contenders={"a": "A(changed=1)"}, resume=True)


def test_resume_refuses_a_directory_without_manifest(tmp_path):
    (tmp_path / "results.csv").write_text("contender\nx\n")
    with pytest.raises(ResultsDirectoryError, match=r"has no manifest.json"):
        ResultsDirectory(tmp_path).prepare(_fingerprint(), contenders={}, resume=True)
