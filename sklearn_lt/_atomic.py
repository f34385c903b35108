"""Atomic file writes with the permissions of an ordinary new file.

:func:`atomic_write` is the one way the package replaces a file it writes:
the content goes to a temporary file in the target's directory, which is
flushed, synced to disk and then :func:`os.replace`-d onto the target. A
failure part-way (an exception, a full disk, an interrupt) leaves the
previous file byte for byte as it was and removes the temporary file.

The temporary file is created with mode ``0o666`` filtered by the process's
umask, as :func:`open` creates files, not ``0o600`` as
:func:`tempfile.mkstemp` does; so a report or a model file can be read by
whoever could read any other file the user writes.
"""

import contextlib
import os
import secrets

__all__ = ["atomic_write"]

_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def _create_beside(path):
    """Create a new, empty temporary file in ``path``'s directory."""
    directory, name = os.path.split(path)
    for _ in range(100):
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            # The kernel applies the umask to 0o666, as open(path, "w") does.
            return os.open(temporary, _FLAGS, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"Cannot create a temporary file beside {path!r}.")


def _sync_directory(directory):
    """Make the rename durable; not possible (nor needed) on every platform."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, encoding=None, newline=None):
    """Write a file so that it is either replaced whole or left untouched.

    Parameters
    ----------
    path : str or path-like
        The file to write. A symbolic link is followed: the file it points to
        is replaced, in that file's directory.
    mode : {"wb", "w"}, default="wb"
        Binary or text.
    encoding, newline : str, default=None
        As for :func:`open`, in text mode (``encoding`` defaults to UTF-8).

    Yields
    ------
    file : file object
        An open temporary file in the same directory as ``path``. When the
        ``with`` block ends without an exception it is flushed, synced and
        moved onto ``path`` with :func:`os.replace`; otherwise it is removed
        and ``path`` is unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_lt._atomic import atomic_write
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     path = os.path.join(directory, "notes.txt")
    ...     with atomic_write(path, "w") as file:
    ...         _ = file.write("complete or absent")
    ...     with open(path) as file:
    ...         print(file.read(), sorted(os.listdir(directory)))
    complete or absent ['notes.txt']
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}.")
    path = os.path.realpath(os.fspath(path))
    fd, temporary = _create_beside(path)
    try:
        try:
            if mode == "w":
                file = open(fd, "w", encoding=encoding or "utf-8", newline=newline)
            else:
                file = open(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(os.path.dirname(path))
