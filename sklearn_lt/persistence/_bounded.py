"""Bounded reading of a zip archive that may be hostile.

Everything :func:`sklearn_lt.persistence.load` reads goes through
:class:`BoundedArchive`, which refuses a file before anything large is
allocated:

* only regular files are opened (a FIFO, a device, a directory, or a symlink
  to one of them is refused without reading, and a FIFO never blocks);
* the archive's size, its central directory and its number of members are
  capped before :class:`zipfile.ZipFile` parses them;
* member names must be unique, members stored or deflated, not encrypted;
* every member's declared size counts against a byte budget (``max_bytes``)
  before it is read, and it is read in bounded chunks that stop at the
  declared size, so a member that lies about its size stops there too;
* a JSON member is scanned for its nesting depth and its number of objects
  before it is parsed, and counts against the budget at a conservative
  estimate of the memory the parsed Python objects take.
"""

import json
import os
import re
import stat
import zipfile
import zlib

import numpy as np

DEFAULT_MAX_BYTES = 256 * 2**20
"""Default byte budget of :func:`~sklearn_lt.persistence.load` (256 MiB)."""

MAX_JSON_DEPTH = 128
"""Deepest nesting of a JSON member; a real header nests fewer than 50 deep."""

MAX_MEMBERS = 4096
"""Most members an archive may have (a model file has a handful)."""

# Parsed JSON takes at most about this many bytes of Python objects per byte
# of text, plus this many per container ('{' or '['): a str, int or float
# with its list slot costs under 16 bytes per character of its text, an
# empty dict or list under 256 bytes.
_JSON_BYTES_PER_CHAR = 16
_JSON_BYTES_PER_CONTAINER = 256
_CHUNK = 2**20
_MAX_DIRECTORY_BYTES = 2**20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


class ModelFileError(ValueError):
    """A file that :func:`~sklearn_lt.persistence.load` refuses.

    Raised for anything that is not a valid, trusted model file; the
    original exception, if any, is chained as ``__cause__``.
    """


ModelFileError.__module__ = "sklearn_lt.persistence"

_FILE_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def _kind(mode):
    for test, kind in _FILE_KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def open_regular_file(file):
    """Open ``file`` for reading if it is a regular file.

    Parameters
    ----------
    file : str, path-like or binary file object
        A path is opened with ``O_NONBLOCK`` (so a FIFO does not block) and
        its type checked with ``fstat`` on the open descriptor, after symlinks
        are resolved. A file object must be a regular file or seekable
        in-memory data (``io.BytesIO``).

    Returns
    -------
    fileobj : binary file object
    owned : bool
        Whether the caller must close ``fileobj``.

    Raises
    ------
    FileNotFoundError, PermissionError
        If the path cannot be opened, as :func:`open` raises them.
    ModelFileError
        If the file is not a regular file.
    """
    if isinstance(file, (str, bytes, os.PathLike)):
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(file, flags)
        except (FileNotFoundError, PermissionError):
            raise
        except OSError as exc:  # ENXIO (a socket), ELOOP, ...
            raise ModelFileError(f"Cannot open the model file: {exc}") from exc
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise ModelFileError(
                    f"{os.fsdecode(file)!r} is {_kind(mode)}, not a regular "
                    "file; a model file is read only from a regular file."
                )
            return os.fdopen(fd, "rb"), True
        except BaseException:
            os.close(fd)
            raise
    try:
        fd = file.fileno()
    except (AttributeError, OSError, ValueError):  # io.BytesIO and the like
        fd = None
    if fd is not None:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ModelFileError(
                f"The file object reads from {_kind(mode)}, not a regular file; "
                "a model file is read only from a regular file."
            )
    seekable = getattr(file, "seekable", None)
    if seekable is None or not seekable():
        raise ModelFileError(
            "The file object is not seekable; pass a path, an open regular "
            "file or an io.BytesIO."
        )
    return file, False


def _size_of(fileobj):
    position = fileobj.tell()
    size = fileobj.seek(0, os.SEEK_END)
    fileobj.seek(position)
    return size


def _too_big(what, size, limit):
    return ModelFileError(
        f"{what} ({size} bytes) exceeds the limit of {limit} bytes; if the "
        "file is a genuine large model from a source you trust, raise the "
        "limit with load(..., max_bytes=...)."
    )


class BoundedArchive:
    """A zip archive read within a byte budget.

    Parameters
    ----------
    fileobj : binary file object
        Seekable; from :func:`open_regular_file`.
    max_bytes : int
        The budget: the archive's size, the sum of its members' declared
        sizes, and the sum of what is read (JSON at its estimated parsed
        size) may not exceed it.
    name : str
        How error messages call the archive ("The model file", "module.pt").
    allowed_compression : set of int
        The ``zipfile`` compression methods accepted.
    not_zip : str, default=None
        The message if the data is not a zip archive.

    Raises
    ------
    ModelFileError
        If the archive is malformed or over budget.
    """

    def __init__(
        self,
        fileobj,
        max_bytes,
        name="The model file",
        allowed_compression=frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}),
        not_zip=None,
    ):
        self.name = name
        self.remaining = max_bytes
        size = _size_of(fileobj)
        # A deflated archive is at most a little larger than its contents.
        if size > max_bytes + max_bytes // 100 + _MAX_DIRECTORY_BYTES:
            raise _too_big(f"{name}'s size", size, max_bytes)
        try:
            end = zipfile._EndRecData(fileobj)  # what ZipFile parses first
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, OverflowError):
            end = None
        if end is None:
            raise ModelFileError(
                not_zip
                or f"{name} is not a model file written by "
                "sklearn_lt.persistence.save (not a zip archive). If it is a "
                "pickle, load it with pickle or joblib only if you trust its "
                "source: unpickling runs code."
            )
        entries, directory = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
        if entries > MAX_MEMBERS or directory > _MAX_DIRECTORY_BYTES:
            raise ModelFileError(
                f"{name} declares {entries} members in a {directory}-byte "
                f"directory; a model file has at most {MAX_MEMBERS} members "
                f"and a directory under {_MAX_DIRECTORY_BYTES} bytes."
            )
        try:
            self._zip = zipfile.ZipFile(fileobj, "r")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ModelFileError(f"{name} is not a valid zip archive: {exc}") from exc
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            self.close()
            raise ModelFileError(
                f"{name} holds duplicate members {duplicates}; a file written "
                "by sklearn_lt.persistence.save has each member once."
            )
        for info in infos:
            if info.flag_bits & 0x1:
                self.close()
                raise ModelFileError(f"{name}: member {info.filename!r} is encrypted.")
            if info.compress_type not in allowed_compression:
                self.close()
                raise ModelFileError(
                    f"{name}: member {info.filename!r} uses compression method "
                    f"{info.compress_type}, which a model file does not use."
                )
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            self.close()
            raise _too_big(f"{name}'s members' total size", declared, max_bytes)
        self.members = {info.filename: info for info in infos}
        self.read_names = set()

    def close(self):
        """Close the archive (not the underlying file object)."""
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def read(self, name, max_size=None):
        """Read a member in chunks, charging its size to the budget.

        Parameters
        ----------
        name : str
            A member of the archive.
        max_size : int, default=None
            A tighter cap for this member.

        Returns
        -------
        data : bytes
        """
        info = self.members.get(name)
        if info is None:
            raise ModelFileError(f"{self.name} has no member {name!r}.")
        self.read_names.add(name)
        limit = self.remaining if max_size is None else min(max_size, self.remaining)
        if info.file_size > limit:
            raise _too_big(f"{self.name}: member {name!r}", info.file_size, limit)
        limit = info.file_size
        data = bytearray()
        try:
            with self._zip.open(info) as member:
                while True:
                    chunk = member.read(min(_CHUNK, limit + 1 - len(data)))
                    if not chunk:
                        break
                    data += chunk
                    if len(data) > limit:
                        raise ModelFileError(
                            f"{self.name}: member {name!r} inflates beyond its "
                            f"declared size of {limit} bytes."
                        )
        except ModelFileError:
            raise
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as exc:
            raise ModelFileError(
                f"{self.name}: member {name!r} is corrupt ({type(exc).__name__}: "
                f"{exc})."
            ) from exc
        self.charge(len(data), f"{self.name}: member {name!r}")
        return bytes(data)

    def charge(self, size, what):
        """Take ``size`` bytes from the budget, or raise."""
        if size > self.remaining:
            raise _too_big(what, size, self.remaining)
        self.remaining -= size

    def read_json(self, name, per_container=_JSON_BYTES_PER_CONTAINER):
        """Read and parse a JSON member within the depth and memory limits.

        ``per_container`` is the cost charged per JSON object or array: a
        reader that builds more per object (skops builds a node for each)
        passes more.
        """
        # The parsed objects cost at least _JSON_BYTES_PER_CHAR per byte of
        # text in the budget, so a larger member is refused unread.
        data = self.read(name, max_size=self.remaining // _JSON_BYTES_PER_CHAR)
        self.remaining += len(data)  # charged below at the parsed estimate
        return parse_json(data, f"{self.name}: member {name!r}", self, per_container)


def scan_json(data):
    """Nesting depth and number of containers of JSON text, without parsing.

    Brackets inside strings are not counted. Runs in bounded memory.

    Parameters
    ----------
    data : bytes

    Returns
    -------
    depth : int
    containers : int
    """
    text = _STRING.sub(b'""', data)
    depth = max_depth = containers = 0
    for start in range(0, len(text), _CHUNK):
        chunk = np.frombuffer(text, np.uint8, min(_CHUNK, len(text) - start), start)
        opens, closes = np.isin(chunk, _OPEN), np.isin(chunk, _CLOSE)
        if not (opens.any() or closes.any()):
            continue
        running = np.cumsum(opens.astype(np.int64) - closes) + depth
        max_depth = max(max_depth, int(running.max()))
        depth = int(running[-1])
        containers += int(opens.sum())
    return max_depth, containers


def parse_json(data, what, budget, per_container=_JSON_BYTES_PER_CONTAINER):
    """Parse JSON bytes after checking depth and estimated size.

    Parameters
    ----------
    data : bytes
    what : str
        Names the data in error messages.
    budget : BoundedArchive
        Charged with the estimated size of the parsed objects.
    per_container : int
        Bytes charged per JSON object or array.

    Returns
    -------
    value : object
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{what} is not UTF-8 text: {exc}") from exc
    depth, containers = scan_json(data)
    if depth > MAX_JSON_DEPTH:
        raise ModelFileError(
            f"{what} nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}."
        )
    estimate = _JSON_BYTES_PER_CHAR * len(data) + per_container * containers
    budget.charge(estimate, f"{what} (estimated size once parsed)")
    try:
        return json.loads(text)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ModelFileError(f"{what} has invalid JSON: {exc}") from exc
