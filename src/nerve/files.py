"""Atomic file writes: every file nerve writes appears whole or not at all.

A write goes to a temp file beside the target, is flushed and fsynced, then renamed over the
target (``os.replace`` is atomic on one file system); the directory is fsynced too where the
platform allows, so that the rename itself survives a crash. A failure at any point removes the
temp file and leaves the previous file untouched.
"""

from __future__ import annotations

import os
import tempfile


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a binary temp file beside ``path``, then move it into place.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "hello.txt")
    >>> atomic_write(path, lambda f: f.write(b"hi"))
    >>> open(path, "rb").read()
    b'hi'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable; not possible on every platform
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda f: f.write(data))
