"""Reading a table the way people write them: the one home for it.

:func:`read_table` turns a file (CSV with any delimiter, compressed or not,
or Parquet) or a DataFrame into features and string labels for
:func:`~sklearn_lt.compare.compare`, with a warning (:class:`TableWarning`)
or a one-line error (:class:`ValueError`) for everything it would otherwise
get silently wrong. The rules are listed in :func:`read_table`'s notes.

Examples
--------
>>> import io
>>> from sklearn_lt.compare.tables import read_table
>>> text = "weight;colour;label\\n0,125;red;01\\n1,5;blue;1\\n2;red;NA\\n"
>>> X, y = read_table(io.BytesIO(text.encode()), "label")
>>> X["weight"].tolist()
[0.125, 1.5, 2.0]
>>> y.tolist()
['01', '1', 'NA']
"""

import bz2
import csv
import gzip
import io
import lzma
import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "TableTooLargeError",
    "TableWarning",
    "read_table",
]

#: Largest uncompressed table :func:`read_table` reads unless told otherwise
#: (2 GiB).
_DEFAULT_MAX_BYTES = 2 * 1024**3

#: Share of a text column's non-missing cells that must be numbers for the
#: column to be read as numeric (the rest become missing, with a warning).
_NUMERIC_FRACTION = 0.95

#: Rows from which a column with a different value on every row (or strictly
#: monotone integers) is reported as a likely row identifier.
_ID_MIN_ROWS = 10

# pandas' default missing-value markers (``pandas.read_csv``'s ``na_values``):
# missing in a feature column, without a warning.
_MISSING_MARKERS = frozenset(
    [
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
        "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
        "nan", "null",
    ]
)  # fmt: skip

_SEPARATORS = ",;\t|"
_SNIFF_BYTES = 65536
_SAMPLE_CELLS = 10_000  # cells per column looked at to detect the decimal mark
_THOUSANDS = {".": ",'\u00a0\u202f ", ",": ".'\u00a0\u202f "}
_ISO_DATE = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?"
)
_DURATION = r"-?(?:\d+ days?,? )?[+-]?\d+:\d{2}:\d{2}(?:\.\d+)?"
_NUMBER_CHARACTERS = (
    "[-+0-9.,eE'\u00a0\u202f ]+|[+-]?(?:inf|Inf|INF|infinity|Infinity|INFINITY)"
)
_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)


class TableWarning(UserWarning):
    """A table was read, but something in it was changed or looks wrong.

    Examples
    --------
    >>> from sklearn_lt.compare.tables import TableWarning
    >>> issubclass(TableWarning, UserWarning)
    True
    """


class TableTooLargeError(ValueError):
    """A table is larger than the ``max_bytes`` allowed, uncompressed.

    Examples
    --------
    >>> from sklearn_lt.compare.tables import TableTooLargeError
    >>> issubclass(TableTooLargeError, ValueError)
    True
    """


def read_table(
    data,
    target,
    *,
    sep=None,
    decimal=None,
    drop_columns=(),
    max_bytes=_DEFAULT_MAX_BYTES,
):
    """Features and string labels from a CSV or Parquet file, or a DataFrame.

    Parameters
    ----------
    data : str, path-like, binary file object or pandas.DataFrame
        A CSV file with a header row (plain, gzip, bzip2, xz or a zip archive
        holding one file), a Parquet file (``.parquet``/``.pq`` or the
        Parquet signature; needs pyarrow), or a DataFrame (not modified).

    target : str
        The name of the label column.

    sep : str, default=None
        The CSV delimiter, one character. None: detected (``,``, ``;``, tab
        or ``|``, whichever splits every line of the start of the file into
        the same number of fields, the most fields winning).

    decimal : {".", ","}, default=None
        The decimal mark of the numbers in text cells. None: detected.

    drop_columns : iterable of str, default=()
        Columns to leave out (not the target).

    max_bytes : int, default=_DEFAULT_MAX_BYTES
        The largest table read, in bytes, uncompressed.

    Returns
    -------
    X : pandas.DataFrame
        The features, in the order of the table, with a fresh
        ``RangeIndex``: numeric columns as ``int64`` or ``float64`` (NaN
        for missing), text columns as strings (NaN for missing), other
        columns (booleans, categories) as they were.

    y : ndarray of str, shape (n_rows,)
        The labels, as written (an object array of ``str``).

    Raises
    ------
    ValueError
        A one-line message naming the problem: the file cannot be read, it
        has no rows, the target or a dropped column is not in it, a column
        holds lists, the target is continuous or has one class.
        :class:`TableTooLargeError` (a ``ValueError``) when the table is
        larger than ``max_bytes``.

    Warns
    -----
    TableWarning
        For stray cells read as missing, text columns that are mostly
        numbers, likely row identifiers, dates read as seconds and rows
        left out for an empty label.

    See Also
    --------
    sklearn_lt.compare.compare : Runs the contenders on ``X, y``.

    Notes
    -----
    What is read how:

    * **Numbers as people write them.** The decimal mark is ``"."`` or ``","``
      (``decimal=``, or detected from the start of a CSV file and from the text
      columns of a DataFrame: ``","`` when more cells are unambiguously written
      with a decimal comma, such as ``0,1257`` or ``1.234,5``, than with a
      decimal point). Thousands separators are accepted in their usual places
      (``1,234.5``, ``1.234,5``, ``1 234``, ``1'234``).
    * **A few stray cells.** A text column is numeric when at least
      :data:`_NUMERIC_FRACTION` (95 %) of its non-missing cells are numbers; its
      other cells (``"?"``, ``"unknown"``, a ``1,5`` in a table written with
      points) become missing values, with a warning that names the column, the
      count and two examples. A column with at least half but fewer than 95 %
      numbers stays text (categories), with a warning. Empty cells and pandas'
      missing-value markers (``NA``, ``n/a``, ``NaN``, ``null``, ``None``, ...)
      are missing without a warning.
    * **Labels are text.** The target is read as strings, exactly as written
      (surrounding spaces removed): ``1`` and ``01`` are two classes, a class
      named ``NA`` or ``None`` is a class. Rows whose label is empty (or missing
      in a Parquet file or DataFrame) are left out, with a warning that counts
      them; a numeric target with non-integer values is refused as continuous.
    * **Row identifiers.** A text column with a different value on every row,
      and an integer column that strictly increases or decreases down the table
      (a row number such as R's ``rownames``), get a warning naming them (from
      :data:`_ID_MIN_ROWS` rows on); ``drop_columns`` leaves any column out.
    * **Dates and durations.** Datetime columns (Parquet, DataFrames, and CSV
      columns of ISO 8601 dates such as ``2024-01-31`` or
      ``2024-01-31T12:00:00Z``) become seconds since 1970-01-01 UTC, a number
      every contender can use (a time trend), with a warning; split them into
      year, month, weekday yourself if the calendar matters. Timedelta columns
      become seconds (no warning: nothing is lost), and so do CSV columns of
      durations or times of day such as ``1 days 02:00:00`` or ``02:00:00``
      (with a warning).
    * **One value per cell.** A Parquet or DataFrame column holding lists,
      arrays or dicts is refused with its name (leave it out with
      ``drop_columns``, or flatten it).
    * **Bounded reads.** A file larger than ``max_bytes`` uncompressed (default
      :data:`_DEFAULT_MAX_BYTES`, 2 GiB) is refused: the size of a plain file is
      checked before reading, gzip, bzip2, xz and zip files are counted while
      they decompress (a decompression bomb stops at the limit, without filling
      the memory), and a Parquet file by the uncompressed size its metadata
      declares. Compression is recognised from the file's first bytes, not its
      name.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_lt.compare.tables import read_table
    >>> frame = pd.DataFrame(
    ...     {"size": ["1,5", "2,25", "3"], "city": ["Oslo", "Rome", "Oslo"],
    ...      "label": ["01", "1", "01"]}
    ... )
    >>> X, y = read_table(frame, "label")
    >>> X["size"].tolist(), y.tolist()
    ([1.5, 2.25, 3.0], ['01', '1', '01'])
    """
    if decimal not in (None, ".", ","):
        raise ValueError(
            f"decimal must be '.' or ',' (or None to detect); got {decimal!r}"
        )
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise ValueError(f"sep must be one character (or None to detect); got {sep!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int | np.integer):
        raise ValueError(f"max_bytes must be an integer; got {max_bytes!r}")
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1; got {max_bytes}")
    if isinstance(drop_columns, str):
        drop_columns = [drop_columns]
    drop_columns = list(dict.fromkeys(drop_columns))

    if isinstance(data, pd.DataFrame):
        name, frame, text = "the DataFrame", data, False
    else:
        frame, text, sep, decimal = _read_file(
            data, _display_name(data), target, sep, decimal, max_bytes
        )
        name = Path(getattr(data, "name", "the file")).name
        if isinstance(data, str | os.PathLike):
            name = Path(data).name
    if frame.shape[1] == 0:
        raise ValueError(f"cannot read {name!r}: it has no columns")
    duplicated = frame.columns[frame.columns.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{name} has more than one column named "
            f"{', '.join(map(repr, dict.fromkeys(duplicated)))}; rename them"
        )
    if target not in frame.columns:
        raise ValueError(
            f"the target column {target!r} is not in {name}; its columns are: "
            f"{_list(frame.columns)}"
        )
    unknown = [column for column in drop_columns if column not in frame.columns]
    if unknown:
        raise ValueError(
            f"cannot drop column(s) {', '.join(map(repr, unknown))}: not in "
            f"{name}; its columns are: {_list(frame.columns)}"
        )
    if target in drop_columns:
        raise ValueError(f"cannot drop the target column {target!r}")
    if len(frame) == 0:
        raise ValueError(f"{name} has {'a header but ' if text else ''}no rows")
    features = frame.drop(columns=[target, *drop_columns])
    if features.shape[1] == 0:
        raise ValueError(f"{name} has no feature column besides {target!r}")

    notes = []
    y, labelled = _labels(frame[target], target, text)
    if not labelled.all():
        missing = np.flatnonzero(~labelled)
        if labelled.sum() == 0:
            raise ValueError(f"the target column {target!r} is empty on every row")
        rows = ", ".join(str(i + 1) for i in missing[:5])
        notes.append(
            f"the target column {target!r} is empty on {len(missing)} of "
            f"{len(frame)} rows (data rows {rows}{', ...' if len(missing) > 5 else ''}"
            "); those rows are left out"
        )
        features = features.iloc[labelled]
        y = y[labelled]

    X, decimal = _features(features.reset_index(drop=True), decimal, text, notes)
    _check_labels(y, target, decimal)
    _identifiers(X, notes)
    for note in notes:
        warnings.warn(note, TableWarning, stacklevel=2)
    X.attrs = {"separator": sep, "decimal": decimal}
    return X, y


# -- files -------------------------------------------------------------------------


def _display_name(data):
    if isinstance(data, str | os.PathLike):
        return repr(str(data))
    return repr(getattr(data, "name", "the file"))


def _list(columns, most=20):
    names = ", ".join(map(str, list(columns)[:most]))
    return names + (", ..." if len(columns) > most else "")


def _one_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _read_file(data, name, target, sep, decimal, max_bytes):
    """The raw frame, whether it is from a CSV file, the separator, the mark.

    A CSV file is read by pandas with the target as text and pandas' missing
    markers for the other columns; the separator and the decimal mark are
    detected from its start (:data:`_SNIFF_BYTES`). Columns pandas cannot
    read as numbers come back as text, for :func:`_parse_text_column`.
    """
    try:
        if isinstance(data, str | os.PathLike):
            path = Path(data)
            if not path.exists():
                raise ValueError(f"cannot read {name}: no such file")
            if not path.is_file():
                raise ValueError(f"cannot read {name}: not a file")
            with open(path, "rb") as handle:
                head = handle.read(8)
            if head[:4] == b"PAR1" or path.suffix.lower() in (".parquet", ".pq"):
                return _read_parquet(path, name, max_bytes), False, None, decimal
            size = path.stat().st_size
            if _compression(head) is None and size > max_bytes:
                raise TableTooLargeError(
                    f"cannot read {name}: it has {_size(size)}, more than the "
                    f"{_size(max_bytes)} allowed (raise the limit with --max-bytes "
                    "or max_bytes=)"
                )

            def opener():
                return _open(open(path, "rb"), name, max_bytes)

        else:  # a binary file object, read once into memory (bounded)
            with _open(data, name, max_bytes, own=False) as handle:
                content = handle.read()

            def opener():
                return io.BytesIO(content)

        with opener() as handle:
            sample = handle.read(_SNIFF_BYTES)
        if not sample.strip():
            raise ValueError(f"cannot read {name}: it is empty")
        if sep is None:
            sep = _sniff_separator(sample)
        header, *rows = _sample_rows(sample, sep)
        if decimal is None:
            decimal = _detect_decimal(
                pd.Series([row[i] for row in rows if i < len(row)], dtype=object)
                for i in range(len(header))  # the labels too: the same hand
            )
        missing = sorted(_MISSING_MARKERS)
        with opener() as handle:
            frame = pd.read_csv(
                handle,
                sep=sep,
                decimal=decimal,
                dtype={target: str},
                keep_default_na=False,
                na_values={column: missing for column in header if column != target},
            )
        return frame, True, sep, decimal
    except TableTooLargeError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"cannot read {name}: it is empty") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"cannot read {name}: it is not UTF-8 text (it has the byte "
            f"0x{exc.object[exc.start : exc.start + 1].hex()}); save it as UTF-8 "
            "(in Excel: CSV UTF-8)"
        ) from exc
    except ValueError as exc:
        if str(exc).startswith("cannot read"):
            raise
        raise ValueError(f"cannot read {name}: {_one_line(exc)}") from exc
    except (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise ValueError(f"cannot read {name}: {_one_line(exc)}") from exc


def _compression(head):
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return None


def _open(handle, name, max_bytes, own=True):
    """A binary stream of the decompressed content, at most ``max_bytes``."""
    head = handle.read(8)
    handle.seek(0)
    kind = _compression(head)
    if kind == "gzip":
        raw = gzip.GzipFile(fileobj=handle)
    elif kind == "bzip2":
        raw = bz2.BZ2File(handle)
    elif kind == "xz":
        raw = lzma.LZMAFile(handle)
    elif kind == "zip":
        archive = zipfile.ZipFile(handle)
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            raise ValueError(
                f"cannot read {name}: a zip archive must hold exactly one file; "
                f"it holds {len(members)}"
            )
        raw = archive.open(members[0])
    elif kind == "zstd":
        raise ValueError(
            f"cannot read {name}: zstd compression is not supported; use gzip, "
            "bzip2, xz or zip, or decompress it"
        )
    else:
        raw = handle
    return io.BufferedReader(
        _BoundedReader(raw, max_bytes, name, handle if own else None)
    )


class _BoundedReader(io.RawIOBase):
    """Counts the bytes read and stops past ``limit`` (while decompressing)."""

    def __init__(self, raw, limit, name, underlying):
        self._raw, self._limit, self._name = raw, limit, name
        self._underlying = underlying
        self._count = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._raw.read(len(buffer))
        self._count += len(data)
        if self._count > self._limit:
            raise TableTooLargeError(
                f"cannot read {self._name}: it is larger than the "
                f"{_size(self._limit)} allowed uncompressed (raise the limit "
                "with --max-bytes or max_bytes=)"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            self._raw.close()
            if self._underlying is not None:
                self._underlying.close()
        super().close()


def _size(n):
    for unit, scale in [("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)]:
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _read_parquet(path, name, max_bytes):
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise ValueError(
            f"cannot read {name}: Parquet needs pyarrow (pip install pyarrow)"
        )
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    size = sum(
        metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
    )
    if max(size, path.stat().st_size) > max_bytes:
        raise TableTooLargeError(
            f"cannot read {name}: it holds {_size(size)} uncompressed, more than "
            f"the {_size(max_bytes)} allowed (raise the limit with --max-bytes or "
            "max_bytes=)"
        )
    return pd.read_parquet(path)


def _sample_rows(sample, sep):
    """The rows of the start of a CSV file (the last, maybe cut, left out)."""
    text = sample.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if len(sample) >= _SNIFF_BYTES:
        text = text[: text.rfind("\n") + 1] or text
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=sep) if row]
    except csv.Error:
        rows = []
    return rows or [[]]


def _sniff_separator(sample):
    """The delimiter that splits every line of ``sample`` alike, most fields first."""
    text = sample.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(lines) > 1 and len(sample) >= _SNIFF_BYTES:
        text = "\n".join(lines[:-1])  # drop a line cut in half
    best, most = None, 1
    for candidate in _SEPARATORS:
        try:
            rows = [
                row for row in csv.reader(io.StringIO(text), delimiter=candidate) if row
            ]
        except csv.Error:
            continue
        widths = {len(row) for row in rows}
        if len(widths) == 1 and (width := widths.pop()) > most:
            best, most = candidate, width
    if best is not None:
        return best
    try:
        return csv.Sniffer().sniff(text, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        return ","


# -- labels ------------------------------------------------------------------------


def _labels(column, target, text):
    """Labels as an object array of str, and which rows have one."""
    if text:
        values = column.astype(object).to_numpy()
        labels = np.array(
            [value.strip() if isinstance(value, str) else "" for value in values],
            dtype=object,
        )
        return labels, labels != ""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    present = column.notna().to_numpy().copy()
    labels = np.empty(len(column), dtype=object)
    for i, value in enumerate(column.to_numpy(dtype=object)):
        if not present[i]:
            labels[i] = ""
        elif isinstance(value, _CONTAINERS):
            raise ValueError(
                f"the target column {target!r} holds lists, not class labels"
            )
        elif isinstance(value, float | np.floating) and float(value).is_integer():
            labels[i] = str(int(value))
        else:
            labels[i] = str(value).strip()
    present &= labels != ""
    return labels, present


def _check_labels(y, target, decimal):
    labels = pd.Series(y, dtype=object)
    if decimal != ".":
        labels = labels.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(labels, errors="coerce")
    if numbers.notna().all() and np.isfinite(numbers.to_numpy(dtype=float)).all():
        from sklearn.utils.multiclass import type_of_target

        if type_of_target(numbers.to_numpy()) == "continuous":
            raise ValueError(
                f"the target column {target!r} holds continuous values "
                f"({len(set(y))} distinct), not class labels; pick a column of "
                "classes or bin it first"
            )
    classes = sorted(set(y))
    if len(classes) < 2:
        raise ValueError(
            f"the target column {target!r} has a single class ({classes[0]!r}); "
            "a comparison needs at least two"
        )


# -- features ----------------------------------------------------------------------


def _features(frame, decimal, text, notes):
    """The feature columns parsed (numbers, dates and durations as numbers)."""
    columns, texts = {}, {}
    for name in frame.columns:
        column = frame[name]
        kind = column.dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            columns[name] = _seconds_since_epoch(column)
            notes.append(
                f"column {name!r} holds dates and times; read as seconds since "
                "1970-01-01 UTC"
            )
        elif pd.api.types.is_timedelta64_dtype(kind):
            columns[name] = column.dt.total_seconds().astype("float64")
        elif pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind):
            texts[name] = _as_text(column, name, text)
            columns[name] = None
        else:
            columns[name] = column
    if decimal is None:
        decimal = _detect_decimal(texts.values())
    for name, strings in texts.items():
        columns[name] = _parse_text_column(name, strings, decimal, notes)
    X = pd.concat(list(columns.values()), axis=1, keys=range(len(columns)))
    X.columns = frame.columns
    return X, decimal


def _as_text(column, name, text):
    """Stripped strings, NaN for missing cells."""
    if not text:
        values = column.dropna()
        holds = values.map(lambda value: isinstance(value, _CONTAINERS))
        if holds.any():
            example = values[holds].iloc[0]
            what = "dicts" if isinstance(example, dict) else "lists"
            raise ValueError(
                f"column {name!r} holds {what} (e.g. {_short(example)}), not one "
                f"value per row: leave it out (--drop-columns {name}, or "
                "drop_columns=) or flatten it"
            )
    if text:  # a CSV column pandas kept as text (its markers already NaN)
        strings = column.str.strip()
    else:
        present = column.notna().to_numpy()
        strings = [
            str(value).strip() if ok else ""
            for value, ok in zip(column.to_numpy(dtype=object), present)
        ]
        strings = pd.Series(strings, index=column.index, dtype=object)
    return strings.where(~strings.isin(_MISSING_MARKERS))


def _short(value, most=40):
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= most else text[: most - 3] + "..."


def _number_patterns(decimal):
    """A number with thousands separators in their places, and the separators."""
    thousands = "[" + re.escape(_THOUSANDS[decimal]) + "]"
    mark = re.escape(decimal)
    grouped = rf"[+-]?[1-9]\d{{0,2}}(?:{thousands}\d{{3}})+(?:{mark}\d*)?"
    return grouped, thousands


def _detect_decimal(texts):
    """``","`` if more cells need a decimal comma than a decimal point."""
    comma = dot = 0
    for strings in texts:
        cells = strings.iloc[:_SAMPLE_CELLS].dropna().astype(str).str.strip()
        if cells.empty:
            continue
        comma += int(
            (
                cells.str.fullmatch(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
                & ~cells.str.fullmatch(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+")
            ).sum()
            + cells.str.fullmatch(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+,\d*").sum()
        )
        dot += int(
            (
                cells.str.fullmatch(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")
                & ~cells.str.fullmatch(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+")
            ).sum()
            + cells.str.fullmatch(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+\.\d*").sum()
        )
    return "," if comma > dot else "."


def _parse_numbers(cells, decimal):
    """Numbers (float, NaN where a cell is not one) and whether all are integers.

    Cells without the other mark (``","`` for a decimal point) go through
    :func:`pandas.to_numeric` at once; the rest are numbers only with
    thousands separators in their places.
    """
    other = "," if decimal == "." else "."
    numbers = pd.Series(np.nan, index=cells.index, dtype="float64")
    # only cells made of digits, signs, marks and spaces can be numbers
    candidates = cells[cells.str.fullmatch(_NUMBER_CHARACTERS)]
    text = candidates[~candidates.str.contains(other, regex=False)]
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    if len(text):
        numbers[text.index] = pd.to_numeric(text, errors="coerce")
    rest = candidates[numbers[candidates.index].isna()]
    if len(rest):
        grouped, thousands = _number_patterns(decimal)
        rest = rest[rest.str.fullmatch(grouped)]
    if len(rest):
        rest = rest.str.replace(thousands, "", regex=True)
        if decimal != ".":
            rest = rest.str.replace(decimal, ".", regex=False)
        numbers[rest.index] = pd.to_numeric(rest, errors="coerce")
    finite = numbers.to_numpy()
    integral = bool(
        np.isfinite(finite).all()
        and (np.abs(finite) < 2**53).all()
        and not cells.str.contains(f"[eE{re.escape(decimal)}]").any()
    )
    return numbers, integral


def _parse_text_column(name, strings, decimal, notes):
    cells = strings.dropna()
    if cells.empty:
        return pd.Series(np.nan, index=strings.index, dtype="float64")
    numbers, integral = _parse_numbers(cells, decimal)
    parsed = int(numbers.notna().sum())
    if parsed >= _NUMERIC_FRACTION * len(cells):
        _stray(name, cells[numbers.isna()], len(cells), "numbers", notes)
        if integral and len(cells) == len(strings):
            return numbers.astype("int64")
        return numbers.reindex(strings.index)
    dates = cells.str.fullmatch(_ISO_DATE)
    if dates.sum() >= _NUMERIC_FRACTION * len(cells):
        times = pd.to_datetime(
            cells.where(dates), format="ISO8601", utc=True, errors="coerce"
        )
        _stray(name, cells[times.isna()], len(cells), "dates", notes)
        notes.append(
            f"column {name!r} holds dates; read as seconds since 1970-01-01 UTC"
        )
        return _seconds_since_epoch(times).reindex(strings.index)
    durations = cells.str.fullmatch(_DURATION)
    if durations.sum() >= _NUMERIC_FRACTION * len(cells):
        spans = pd.to_timedelta(cells.where(durations), errors="coerce")
        _stray(name, cells[spans.isna()], len(cells), "durations", notes)
        notes.append(
            f"column {name!r} holds durations or times of day (such as "
            f"{cells.iloc[0]!r}); read as seconds"
        )
        return spans.dt.total_seconds().astype("float64").reindex(strings.index)
    if parsed >= 0.5 * len(cells):
        notes.append(
            f"column {name!r} is read as text (categories): {parsed} of its "
            f"{len(cells)} non-missing cells are numbers, fewer than the "
            f"{_NUMERIC_FRACTION:.0%} needed to read it as numbers (others: "
            f"{_examples(cells[numbers.isna()])})"
        )
    return strings


def _examples(cells, most=2):
    return ", ".join(repr(value) for value in pd.unique(cells.to_numpy())[:most])


def _stray(name, stray, total, what, notes):
    if len(stray):
        notes.append(
            f"column {name!r} holds {what}, but {len(stray)} of its {total} "
            f"non-missing cells are not (e.g. {_examples(stray)}); they are read "
            "as missing values"
        )


def _seconds_since_epoch(column):
    times = pd.to_datetime(column, utc=True)
    seconds = (times - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.astype("float64")


def _identifiers(X, notes):
    """A note naming the columns that look like row identifiers."""
    if len(X) < _ID_MIN_ROWS:
        return
    found = {}
    for name in X.columns:
        column = X[name]
        kind = column.dtype
        if pd.api.types.is_bool_dtype(kind):
            continue
        if pd.api.types.is_integer_dtype(kind):
            first, last = column.iloc[0], column.iloc[-1]
            if column.is_unique and (
                column.is_monotonic_increasing or column.is_monotonic_decreasing
            ):
                way = "increasing" if last > first else "decreasing"
                found[name] = f"integers {way} from {first} to {last}"
        elif not pd.api.types.is_numeric_dtype(kind):
            if column.notna().all() and column.astype(str).is_unique:
                found[name] = "a different value on every row"
    if found:
        described = "; ".join(f"{name!r} ({why})" for name, why in found.items())
        notes.append(
            f"column(s) {described} look like row identifiers, not features: a "
            "model can only memorise them; leave them out with --drop-columns "
            f"{','.join(map(str, found))} (drop_columns=)"
        )
