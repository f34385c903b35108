"""A results directory that survives errors, interrupts and reruns.

:class:`ResultsDirectory` is where ``sklearn-lt compare`` writes. It is
checked before the first fit (creatable, writable, not a file); it refuses a
non-empty directory unless asked to ``overwrite`` it (which removes the files
it owns, and only those) or to ``resume`` it; each finished contender is
appended at once to ``results.csv``, ``per_class_recall.csv`` and
``per_split_scores.csv`` (flushed to disk), so an interrupt or a crash keeps
finished work; and ``manifest.json`` holds a fingerprint of the data, the
splits and the settings, so that a resumed run refuses to mix its results
with those of a different comparison.
"""

import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "OWNED_FILES",
    "ResultsDirectory",
    "ResultsDirectoryError",
    "fingerprint",
]

RESULTS = "results.csv"
PER_CLASS = "per_class_recall.csv"
PER_SPLIT = "per_split_scores.csv"
MARKDOWN = "results.md"
MANIFEST = "manifest.json"

#: The files a results directory holds; ``overwrite`` removes these only.
OWNED_FILES = (
    RESULTS,
    PER_CLASS,
    PER_SPLIT,
    MARKDOWN,
    MANIFEST,
    "balanced_accuracy.png",
    "per_class_recall.png",
    "report.html",
)

_FORMAT = 1
_VERSIONED = ("sklearn-lt", "scikit-learn", "numpy", "scipy", "torch")


class ResultsDirectoryError(ValueError):
    """The results directory cannot be used as asked (one-line message)."""


def _sha256(*arrays):
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _hash_frame(frame):
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    names = np.array([f"{name}:{dtype}" for name, dtype in frame.dtypes.items()])
    return _sha256(hashed, names.astype("U"))


def fingerprint(X, y, splits, settings):
    """What identifies a comparison: data, splits, settings and versions.

    Parameters
    ----------
    X : pandas.DataFrame or ndarray
        The features.

    y : array-like
        The labels.

    splits : list of (train, test) index arrays
        The splits.

    settings : dict
        JSON-serialisable settings that change the results (seed, number of
        splits, imbalance ratio, shot thresholds, ...).

    Returns
    -------
    fingerprint : dict
        ``data`` and ``splits`` (SHA-256 hex digests), ``settings``, and
        ``versions`` of the packages that compute the scores.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_lt.compare.results import fingerprint
    >>> X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    >>> splits = [(np.array([0, 1]), np.array([2, 3]))]
    >>> a = fingerprint(X, y, splits, {"seed": 0})
    >>> b = fingerprint(X + 1, y, splits, {"seed": 0})
    >>> a["data"] == b["data"], a["splits"] == b["splits"]
    (False, True)
    """
    if isinstance(X, pd.DataFrame):
        data = _hash_frame(X)
    else:
        data = _sha256(np.asarray(X))
    labels = pd.Series(np.asarray(y)).astype(str).to_numpy().astype("U")
    data = hashlib.sha256((data + _sha256(labels)).encode()).hexdigest()
    split_hash = hashlib.sha256()
    for train, test in splits:
        split_hash.update(_sha256(np.asarray(train, dtype=np.int64)).encode())
        split_hash.update(_sha256(np.asarray(test, dtype=np.int64)).encode())
    versions = {}
    for package in _VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover
            versions[package] = None
    return {
        "data": data,
        "splits": split_hash.hexdigest(),
        "settings": json.loads(json.dumps(settings)),
        "versions": versions,
    }


class ResultsDirectory:
    """The output directory of a comparison.

    Parameters
    ----------
    path : str or path-like
        The directory; created (with its parents) by :meth:`prepare`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_lt.compare.results import ResultsDirectory
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "file").write_text("x")
    1
    >>> ResultsDirectory(root / "file" / "sub").check()
    Traceback (most recent call last):
        ...
    sklearn_lt.compare.results.ResultsDirectoryError: cannot write to ... is a file, not a directory
    """  # noqa: E501

    def __init__(self, path):
        self.path = Path(path)

    # -- before anything runs ----------------------------------------------------

    def check(self):
        """Check, without creating anything, that the directory can be written.

        Raises
        ------
        ResultsDirectoryError
            If the path (or a parent) is a file, or the nearest existing
            parent is not writable.
        """
        path = self.path
        if path.exists() and not path.is_dir():
            raise ResultsDirectoryError(
                f"--out {str(path)!r} exists and is not a directory"
            )
        existing = path
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise ResultsDirectoryError(
                f"cannot write to --out {str(path)!r}: {str(existing)!r} is a "
                "file, not a directory"
            )
        if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
            raise ResultsDirectoryError(
                f"cannot write to --out {str(path)!r}: {str(existing)!r} is not "
                "writable"
            )

    def prepare(self, fingerprint, *, contenders, overwrite=False, resume=False):
        """Create the directory, settle what is already there, write the manifest.

        Parameters
        ----------
        fingerprint : dict
            From :func:`fingerprint`.

        contenders : dict
            ``{name: one-line description}`` of the contenders to run.

        overwrite : bool, default=False
            Remove the files of :data:`OWNED_FILES` found in the directory.

        resume : bool, default=False
            Keep the finished contenders found in the directory.

        Returns
        -------
        rows : pandas.DataFrame
            The finished contenders' rows of ``results.csv`` (empty unless
            resuming).

        per_class, per_split : pandas.DataFrame
            Their rows of ``per_class_recall.csv`` (with the class labels as
            strings) and ``per_split_scores.csv``.

        Raises
        ------
        ResultsDirectoryError
            If the directory cannot be created or written, is not empty and
            neither ``overwrite`` nor ``resume`` is given, or (resuming) its
            manifest is missing or differs from ``fingerprint``, or a
            finished contender is now a different estimator.
        """
        self.check()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as exc:
            raise ResultsDirectoryError(
                f"cannot write to --out {str(self.path)!r}: {exc.strerror or exc}"
            ) from exc
        entries = sorted(entry.name for entry in self.path.iterdir())
        empty = (pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
        finished = empty
        if entries and not (overwrite or resume):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ResultsDirectoryError(
                f"--out {str(self.path)!r} is not empty ({shown}); pass "
                "--overwrite to replace its results, --resume to continue "
                "them, or choose another directory"
            )
        if overwrite:
            for name in OWNED_FILES:
                (self.path / name).unlink(missing_ok=True)
        elif resume and entries:
            finished = self._resume(fingerprint, contenders)
        manifest = dict(fingerprint, format=_FORMAT, contenders=contenders)
        if resume and (self.path / MANIFEST).exists():
            old = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            manifest["contenders"] = {**old.get("contenders", {}), **contenders}
        self._write_atomic(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return finished

    def _resume(self, fingerprint, contenders):
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            raise ResultsDirectoryError(
                f"cannot resume --out {str(self.path)!r}: it has no {MANIFEST} "
                "(not written by sklearn-lt compare); use --overwrite or "
                "another directory"
            )
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultsDirectoryError(
                f"cannot resume --out {str(self.path)!r}: unreadable {MANIFEST} ({exc})"
            ) from exc
        differ = [
            key
            for key in ("data", "splits", "versions")
            if old.get(key) != fingerprint[key]
        ]
        old_settings = old.get("settings", {})
        differ += [
            f"setting {key} ({old_settings.get(key)!r} then, "
            f"{fingerprint['settings'].get(key)!r} now)"
            for key in sorted(set(old_settings) | set(fingerprint["settings"]))
            if old_settings.get(key) != fingerprint["settings"].get(key)
        ]
        if differ:
            raise ResultsDirectoryError(
                f"cannot resume --out {str(self.path)!r}: the results there come "
                f"from a different comparison ({'; '.join(differ)} differ); use "
                "--overwrite or another directory"
            )
        rows = self._read(RESULTS)
        if rows.empty:
            return rows, pd.DataFrame(), pd.DataFrame()
        changed = [
            name
            for name in rows["contender"]
            if name in contenders
            and old.get("contenders", {}).get(name, contenders[name])
            != contenders[name]
        ]
        if changed:
            raise ResultsDirectoryError(
                f"cannot resume --out {str(self.path)!r}: contender(s) "
                f"{', '.join(changed)} are not the estimators they were; use "
                "--overwrite or another directory"
            )
        names = set(rows["contender"])
        per_class = self._read(PER_CLASS)
        per_split = self._read(PER_SPLIT)
        # only complete contenders: their row is written last
        per_class = (
            per_class[per_class["contender"].isin(names)]
            if len(per_class)
            else per_class
        )
        per_split = (
            per_split[per_split["contender"].isin(names)]
            if len(per_split)
            else per_split
        )
        for name, frame in [
            (RESULTS, rows),
            (PER_CLASS, per_class),
            (PER_SPLIT, per_split),
        ]:
            self._write_atomic(name, frame.to_csv(index=False))
        return rows, per_class, per_split

    def _read(self, name):
        path = self.path / name
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame()
        try:
            # class labels stay strings (the caller maps them back to the
            # labels of y), as do names and errors
            frame = pd.read_csv(
                path,
                keep_default_na=False,
                na_values=["", "NaN", "nan"],
                dtype={"class": str, "contender": str, "error": str},
            )
        except (ValueError, pd.errors.ParserError) as exc:
            raise ResultsDirectoryError(
                f"cannot resume --out {str(self.path)!r}: {name} is damaged "
                f"({str(exc).splitlines()[0]}); use --overwrite"
            ) from exc
        if "error" in frame:
            error = frame["error"].astype(object)
            frame["error"] = error.where(error.notna(), "").astype(str)
        return frame.dropna(subset=["contender"]) if "contender" in frame else frame

    # -- while running -------------------------------------------------------------

    def append(self, row, per_class, per_split):
        """Append one finished contender to the CSV files, flushed to disk.

        ``per_class`` and ``per_split`` are written before the row of
        ``results.csv``, so a contender with a row is complete.

        Parameters
        ----------
        row : dict
            The contender's table row.

        per_class, per_split : pandas.DataFrame
            Its per-class recalls and per-split scores.
        """
        self._append(PER_CLASS, per_class)
        self._append(PER_SPLIT, per_split)
        self._append(RESULTS, pd.DataFrame([row]))

    def _append(self, name, frame):
        path = self.path / name
        header = not path.exists() or path.stat().st_size == 0
        if not header:
            # the columns of the file, in its order (a resumed file may have
            # been written by another run)
            columns = list(pd.read_csv(path, nrows=0).columns)
            if list(frame.columns) != columns:
                frame = frame.reindex(columns=columns)
        with open(path, "a", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, header=header)
            handle.flush()
            os.fsync(handle.fileno())

    # -- at the end ------------------------------------------------------------------

    def write_table(self, table, per_class, per_split):
        """Rewrite the three CSV files whole (sorted, with the paired tests).

        Parameters
        ----------
        table, per_class, per_split : pandas.DataFrame

        Returns
        -------
        paths : list of pathlib.Path
        """
        written = []
        for name, frame in [
            (RESULTS, table),
            (PER_CLASS, per_class),
            (PER_SPLIT, per_split),
        ]:
            written.append(self._write_atomic(name, frame.to_csv(index=False)))
        return written

    def write_text(self, name, text):
        """Write a text file atomically; return its path.

        Parameters
        ----------
        name : str
            File name inside the directory.
        text : str

        Returns
        -------
        path : pathlib.Path
        """
        return self._write_atomic(name, text)

    def _write_atomic(self, name, text):
        path = self.path / name
        handle, temporary = tempfile.mkstemp(dir=self.path, prefix=f".{name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path
