"""A results directory that survives errors, interrupts and reruns.

:class:`ResultsDirectory` is where :meth:`sklearn_lt.compare.Comparison.run`
(and so ``sklearn-lt compare``) writes. It is checked before the first fit
(creatable, writable, not a file); it refuses a non-empty directory unless
asked to ``overwrite`` it or to ``resume`` it. Nothing is lost or clobbered:

* every file is written whole or not at all (a temporary file in the same
  directory, then :func:`os.replace`; :func:`sklearn_lt._atomic.atomic_write`),
  with the permissions of an ordinary new file (the user's umask);
* each finished contender is written at once to ``results.csv``,
  ``per_class_recall.csv`` and ``per_split_scores.csv``, so an interrupt or
  a crash keeps finished work; every row of these files ends with a
  ``row_checksum`` (the first 16 hex digits of the SHA-256 of the row's
  other cells), and a resumed run keeps only rows whose checksum matches,
  so a row damaged or cut short by hand or by a crash is run again;
* ``manifest.json`` holds a fingerprint of the data, the splits and the
  settings, so that a resumed run refuses to mix its results with those of
  a different comparison, and the list of files this package wrote there:
  ``overwrite`` removes those files and nothing else, and refuses a
  directory holding a file of the same name that it did not write.
"""

import csv
import hashlib
import io
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_write

__all__ = [
    "CHECKSUM",
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

#: The last column of every CSV file of the directory.
CHECKSUM = "row_checksum"

#: 2: rows with checksums, the manifest lists the files written.
_FORMAT = 2
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
    >>> from sklearn_lt.compare._results import fingerprint
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


def _row_checksum(cells):
    """First 16 hex digits of the SHA-256 of a row's cells (as in the file)."""
    return hashlib.sha256(json.dumps(cells).encode("utf-8")).hexdigest()[:16]


def checked_csv(frame):
    """``frame`` as CSV text, every row ending with its ``row_checksum``.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    text : str

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare._results import checked_csv, read_checked_csv
    >>> text = checked_csv(pd.DataFrame({"contender": ["a", "b"],
    ...                                  "score": [0.5, 0.75]}))
    >>> text.splitlines()[0]
    'contender,score,row_checksum'
    >>> frame, n_damaged = read_checked_csv(text[:-5])  # the last row cut short
    >>> frame["contender"].tolist(), n_damaged
    (['a'], 1)
    """
    if frame.columns.empty:
        return ""
    text = frame.to_csv(index=False, lineterminator="\n")
    records = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*records[0], CHECKSUM])
    for cells in records[1:]:
        writer.writerow([*cells, _row_checksum(cells)])
    return out.getvalue()


def read_checked_csv(text, **read_csv_options):
    """The rows of :func:`checked_csv` text whose checksum matches.

    Parameters
    ----------
    text : str
        The file's text.

    **read_csv_options
        Passed to :func:`pandas.read_csv` for the intact rows.

    Returns
    -------
    frame : pandas.DataFrame
        The intact rows, without the checksum column.

    n_damaged : int
        Rows left out: cut short, edited, or with another number of cells.

    Raises
    ------
    ValueError
        If the text has no ``row_checksum`` column (not written by this
        version).
    """
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValueError(f"not a CSV file ({exc})") from exc
    records = [cells for cells in records if cells]
    if not records:
        return pd.DataFrame(), 0
    header = records[0]
    if not header or header[-1] != CHECKSUM:
        raise ValueError(f"no {CHECKSUM} column (not written by this version)")
    good = [
        cells[:-1]
        for cells in records[1:]
        if len(cells) == len(header) and cells[-1] == _row_checksum(cells[:-1])
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header[:-1])
    writer.writerows(good)
    out.seek(0)
    frame = pd.read_csv(out, **read_csv_options)
    return frame, len(records) - 1 - len(good)


_STYLES = {
    # how the messages name the options: the Python API and the command line
    "api": {"out": "out", "overwrite": "overwrite=True", "resume": "resume=True"},
    "cli": {"out": "--out", "overwrite": "--overwrite", "resume": "--resume"},
}


class ResultsDirectory:
    """The output directory of a comparison.

    Parameters
    ----------
    path : str or path-like
        The directory; created (with its parents) by :meth:`prepare`. An
        empty string is refused (it would mean the current directory).

    style : {"api", "cli"}, default="api"
        How the messages name the options: ``out``, ``overwrite=True``,
        ``resume=True`` (Python) or ``--out``, ``--overwrite``,
        ``--resume`` (``sklearn-lt compare``).

    Attributes
    ----------
    n_damaged : int
        Rows of the CSV files left out by the last resume because their
        checksum did not match (a row cut short or edited).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_lt.compare._results import ResultsDirectory
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "file").write_text("x")
    1
    >>> ResultsDirectory(root / "file" / "sub").check()
    Traceback (most recent call last):
        ...
    sklearn_lt.compare._results.ResultsDirectoryError: cannot write to out ... is a file, not a directory
    """  # noqa: E501

    def __init__(self, path, *, style="api"):
        if not str(os.fspath(path)).strip():
            names = _STYLES.get(style, _STYLES["api"])
            raise ResultsDirectoryError(
                f"{names['out']} is empty; give the name of a directory for the results"
            )
        self.path = Path(path)
        self.style = style
        self.n_damaged = 0
        self._frames = {}
        self._manifest = None

    def _opt(self, key):
        return _STYLES.get(self.style, _STYLES["api"])[key]

    # -- before anything runs ----------------------------------------------------

    def check(self):
        """Check, without creating anything, that the directory can be written.

        Raises
        ------
        ResultsDirectoryError
            If the path (or a parent) is a file, or the nearest existing
            parent is not writable.
        """
        path, out = self.path, self._opt("out")
        if path.exists() and not path.is_dir():
            raise ResultsDirectoryError(
                f"{out} {str(path)!r} exists and is not a directory"
            )
        existing = path
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise ResultsDirectoryError(
                f"cannot write to {out} {str(path)!r}: {str(existing)!r} is a "
                "file, not a directory"
            )
        if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
            raise ResultsDirectoryError(
                f"cannot write to {out} {str(path)!r}: {str(existing)!r} is not "
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
            Remove the files that the manifest found there lists as written
            by this package. A file named as one of :data:`OWNED_FILES`
            that it does not list (or without a manifest) is not removed:
            the directory is refused.

        resume : bool, default=False
            Keep the finished contenders found in the directory (the rows
            whose checksum matches).

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
            neither ``overwrite`` nor ``resume`` is given, holds a file it
            would write that this package did not write (or a directory of
            that name), or (resuming) its manifest is missing or differs
            from ``fingerprint``, or a finished contender is now a
            different estimator.
        """
        self.check()
        out = f"{self._opt('out')} {str(self.path)!r}"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as exc:
            raise ResultsDirectoryError(
                f"cannot write to {out}: {exc.strerror or exc}"
            ) from exc
        entries = sorted(entry.name for entry in self.path.iterdir())
        finished = (pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
        self._frames = {}
        self.n_damaged = 0
        if entries and not (overwrite or resume):
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise ResultsDirectoryError(
                f"{out} is not empty ({shown}); pass {self._opt('overwrite')} to "
                f"replace its results, {self._opt('resume')} to continue them, "
                "or choose another directory"
            )
        for name in OWNED_FILES:
            target = self.path / name
            if target.is_dir() or (target.exists() and not target.is_file()):
                raise ResultsDirectoryError(
                    f"cannot write {name} in {out}: {str(target)!r} is a "
                    "directory, not a file; move it away or choose another "
                    "directory"
                )
        old = self._read_manifest() if entries else None
        present = [name for name in OWNED_FILES if (self.path / name).exists()]
        if present and old is None and not (resume and not overwrite):
            raise ResultsDirectoryError(
                f"{out} holds {', '.join(present)} but no {MANIFEST}: this package "
                "did not write them, so they are kept; remove them yourself or "
                "choose another directory"
            )
        if old is not None:
            ours = set(old.get("files", OWNED_FILES))
            foreign = [n for n in present if n != MANIFEST and n not in ours]
            if foreign:
                raise ResultsDirectoryError(
                    f"{out} holds {', '.join(foreign)}, which its {MANIFEST} does "
                    "not list as written by this package, so they are kept; "
                    "remove them yourself or choose another directory"
                )
        if overwrite:
            for name in present:
                if name != MANIFEST:
                    self._remove(name)
        elif resume and entries:
            finished = self._resume(old, fingerprint, contenders)
        manifest = dict(fingerprint, format=_FORMAT, contenders=contenders)
        manifest["files"] = [MANIFEST]
        if resume and old is not None:
            manifest["contenders"] = {**old.get("contenders", {}), **contenders}
            manifest["files"] = sorted(
                {MANIFEST, *(n for n in old.get("files", ()) if n in OWNED_FILES)}
            )
        self._manifest = manifest
        self._write_atomic(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return finished

    def _remove(self, name):
        try:
            (self.path / name).unlink(missing_ok=True)
        except OSError as exc:
            raise ResultsDirectoryError(
                f"cannot remove {name} from {self._opt('out')} "
                f"{str(self.path)!r}: {exc.strerror or exc}"
            ) from exc

    def _read_manifest(self):
        """The manifest found in the directory (None if none); checked."""
        path = self.path / MANIFEST
        out = f"{self._opt('out')} {str(self.path)!r}"
        if not path.exists():
            return None
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultsDirectoryError(
                f"cannot use {out}: unreadable {MANIFEST} ({_first_line(exc)}); "
                "remove it yourself or choose another directory"
            ) from exc
        if not isinstance(old, dict) or not {"format", "data", "splits"} <= set(old):
            raise ResultsDirectoryError(
                f"cannot use {out}: its {MANIFEST} was not written by this "
                "package, so nothing there is touched; choose another directory"
            )
        return old

    def _resume(self, old, fingerprint, contenders):
        out = f"{self._opt('out')} {str(self.path)!r}"
        again = f"use {self._opt('overwrite')} or another directory"
        if old is None:
            raise ResultsDirectoryError(
                f"cannot resume {out}: it has no {MANIFEST} (not written by "
                f"sklearn-lt compare); {again}"
            )
        if old.get("format") != _FORMAT:
            raise ResultsDirectoryError(
                f"cannot resume {out}: its results were written by another "
                f"version of sklearn-lt (format {old.get('format')!r}, now "
                f"{_FORMAT}); {again}"
            )
        differ = [
            key
            for key in ("data", "splits", "versions")
            if old.get(key) != fingerprint[key]
        ]
        old_settings = old.get("settings", {})
        keys = set(old_settings) | set(fingerprint["settings"])
        if "metric" not in old_settings or "metric" not in fingerprint["settings"]:
            # Written only when a metric-optimal contender runs: the finished
            # contenders of a run without one do not depend on it, and a run
            # without one keeps the rows of those that did.
            keys.discard("metric")
        differ += [
            f"setting {key} ({old_settings.get(key)!r} then, "
            f"{fingerprint['settings'].get(key)!r} now)"
            for key in sorted(keys)
            if old_settings.get(key) != fingerprint["settings"].get(key)
        ]
        if differ:
            raise ResultsDirectoryError(
                f"cannot resume {out}: the results there come from a different "
                f"comparison ({'; '.join(differ)} differ); {again}"
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
                f"cannot resume {out}: contender(s) {', '.join(changed)} are not "
                f"the estimators they were; {again}"
            )
        per_class = self._read(PER_CLASS)
        per_split = self._read(PER_SPLIT)
        # a contender is complete if its row is intact (it is written last)
        # and so are all its per-split and per-class rows
        complete = []
        n_classes = per_class["class"].nunique() if len(per_class) else 0
        for _, row in rows.iterrows():
            name = row["contender"]
            n_splits = row.get("n_splits")
            if n_splits is not None and pd.notna(n_splits):
                splits = int((per_split.get("contender") == name).sum())
                classes = int((per_class.get("contender") == name).sum())
                if splits != int(n_splits) or classes != int(n_splits) * n_classes:
                    self.n_damaged += 1
                    continue
            complete.append(name)
        rows = rows[rows["contender"].isin(complete)].reset_index(drop=True)

        def keep(frame):
            if not len(frame):
                return frame
            return frame[frame["contender"].isin(complete)].reset_index(drop=True)

        per_class, per_split = keep(per_class), keep(per_split)
        self._frames = {RESULTS: rows, PER_CLASS: per_class, PER_SPLIT: per_split}
        for name, frame in self._frames.items():
            self._write_atomic(name, checked_csv(frame))
        return rows.copy(), per_class.copy(), per_split.copy()

    def _read(self, name):
        path = self.path / name
        if not path.exists() or path.stat().st_size == 0:
            return pd.DataFrame()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            # class labels stay strings (the caller maps them back to the
            # labels of y), as do names and errors
            frame, damaged = read_checked_csv(
                text,
                keep_default_na=False,
                na_values=["", "NaN", "nan"],
                dtype={"class": str, "contender": str, "error": str},
            )
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ResultsDirectoryError(
                f"cannot resume {self._opt('out')} {str(self.path)!r}: {name} is "
                f"damaged ({_first_line(exc)}); use {self._opt('overwrite')}"
            ) from exc
        self.n_damaged += damaged
        if "error" in frame:
            error = frame["error"].astype(object)
            frame["error"] = error.where(error.notna(), "").astype(str)
        return frame.dropna(subset=["contender"]) if "contender" in frame else frame

    # -- while running -------------------------------------------------------------

    def append(self, row, per_class, per_split):
        """Write one finished contender to the CSV files at once.

        Each file is rewritten whole, atomically, with the new rows and
        their checksums; ``per_class`` and ``per_split`` are written before
        the row of ``results.csv``, so a contender with a row is complete.

        Parameters
        ----------
        row : dict
            The contender's table row.

        per_class, per_split : pandas.DataFrame
            Its per-class recalls and per-split scores.
        """
        for name, frame in [
            (PER_CLASS, per_class),
            (PER_SPLIT, per_split),
            (RESULTS, pd.DataFrame([row])),
        ]:
            old = self._frames.get(name)
            frame = (
                frame
                if old is None or not len(old)
                else pd.concat([old, frame], ignore_index=True)
            )
            self._frames[name] = frame
            self._write_atomic(name, checked_csv(frame))

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
            (PER_CLASS, per_class),
            (PER_SPLIT, per_split),
            (RESULTS, table),
        ]:
            self._frames[name] = frame
            written.append(self._write_atomic(name, checked_csv(frame)))
        return [written[2], written[0], written[1]]

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

    def claim(self, name):
        """Record in the manifest that this package writes ``name``.

        Called before writing a file of :data:`OWNED_FILES` by other means
        (the plots, the report), so that a later ``overwrite`` may remove
        it and nothing else.

        Parameters
        ----------
        name : str

        Returns
        -------
        path : pathlib.Path
            Where the file goes.
        """
        manifest = self._manifest
        if manifest is not None and name not in manifest.setdefault("files", []):
            manifest["files"] = sorted({*manifest["files"], name})
            self._write(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return self.path / name

    def _write_atomic(self, name, text):
        self.claim(name)
        return self._write(name, text)

    def _write(self, name, text):
        path = self.path / name
        try:
            with atomic_write(path, "w", encoding="utf-8", newline="") as file:
                file.write(text)
        except OSError as exc:
            raise ResultsDirectoryError(
                f"cannot write {name} in {self._opt('out')} {str(self.path)!r}: "
                f"{exc.strerror or _first_line(exc)}"
            ) from exc
        return path


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
