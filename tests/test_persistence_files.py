"""How ``save`` writes files: atomically, with the user's umask (issue 21)."""

import errno
import os
import stat
import zipfile

import numpy as np
import pytest

from sklearn_lt import LinearMarginClassifier
from sklearn_lt._atomic import atomic_write
from sklearn_lt.persistence import load, save


@pytest.fixture(scope="module")
def models():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [30, 12, 6])
    X = rng.normal(size=(y.size, 4)) + y[:, None]
    first = LinearMarginClassifier(random_state=0).fit(X, y)
    second = LinearMarginClassifier(alpha=0.1, random_state=0).fit(X, y)
    return X, first, second


def _fail_after_first_member(monkeypatch, error):
    """Make ZipFile.writestr write one member, then raise ``error``."""
    original = zipfile.ZipFile.writestr
    calls = []

    def writestr(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) > 1:
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    return calls


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        KeyboardInterrupt(),
        RuntimeError("raised mid-write"),
    ],
    ids=["disk-full", "interrupt", "exception"],
)
def test_a_failed_save_leaves_the_previous_file_intact(
    models, tmp_path, monkeypatch, error
):
    X, first, second = models
    path = tmp_path / "model.sklt"
    save(first, path)
    before = path.read_bytes()
    calls = _fail_after_first_member(monkeypatch, error)
    with pytest.raises(type(error)):
        save(second, path)
    assert len(calls) == 2, "the failure did not happen mid-write"
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.sklt"]  # no temporary left
    np.testing.assert_array_equal(load(path).predict_proba(X), first.predict_proba(X))


def test_a_failed_first_save_creates_nothing(models, tmp_path, monkeypatch):
    X, first, _ = models
    _fail_after_first_member(monkeypatch, OSError(errno.ENOSPC, "disk full"))
    with pytest.raises(OSError, match="disk full"):
        save(first, tmp_path / "model.sklt")
    assert os.listdir(tmp_path) == []


def test_save_replaces_an_existing_file_whole(models, tmp_path):
    X, first, second = models
    path = tmp_path / "model.sklt"
    path.write_bytes(b"x" * 10**6)  # longer than a model: nothing may remain
    save(second, path)
    np.testing.assert_array_equal(load(path).predict_proba(X), second.predict_proba(X))
    assert sorted(os.listdir(tmp_path)) == ["model.sklt"]


def test_save_through_a_symlink_replaces_the_file_it_points_to(models, tmp_path):
    X, first, second = models
    target = tmp_path / "models" / "model.sklt"
    target.parent.mkdir()
    save(first, target)
    link = tmp_path / "current.sklt"
    link.symlink_to(target)
    save(second, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(
        load(target).predict_proba(X), second.predict_proba(X)
    )


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_umask(value):
        os.umask(value)

    yield set_umask
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_saved_files_get_the_permissions_of_any_new_file(models, tmp_path, umask, mask):
    X, first, _ = models
    umask(mask)
    # The reference: a file created by open(), as any program creates one.
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    expected = stat.S_IMODE(reference.stat().st_mode)
    assert expected == 0o666 & ~mask
    save(first, tmp_path / "model.sklt")
    assert stat.S_IMODE((tmp_path / "model.sklt").stat().st_mode) == expected
    # Replacing an existing file gives the same mode.
    save(first, tmp_path / "model.sklt")
    assert stat.S_IMODE((tmp_path / "model.sklt").stat().st_mode) == expected


def test_atomic_write_text_mode_and_modes(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "notes.txt"
    with atomic_write(path, "w", newline="") as file:
        file.write("one\r\ntwo\n")
    assert path.read_bytes() == b"one\r\ntwo\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w', got 'a'"):
        with atomic_write(path, "a"):
            pass
    assert path.read_bytes() == b"one\r\ntwo\n"
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
