"""Atomic file writes: every file nerve writes appears whole or not at all.

A write goes to a temp file beside the target, is flushed and fsynced, then renamed over the
target (``os.replace`` is atomic on one file system); the directory is fsynced too where the
platform allows, so that the rename itself survives a crash. A failure at any point removes the
temp file and leaves the previous file untouched.

Files are saved as ``open(path, "wb")`` would save them (as torch.save and Keras do): a new
file gets the mode the umask allows (0644 under umask 022), a replaced file keeps its mode, and
a symlink is written through to its target. The temp file is named
``.<target>.<pid>.<random>.tmp``; a process killed in mid-save (SIGKILL, power loss) leaves it
behind, and the next save of the same target removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time


def umask() -> int:
    """The process's umask (read from /proc where possible: os.umask would change it for a
    moment, for every thread)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


STALE_SECONDS = 3600  # an unnamed temp file this old belongs to no save still running


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete ``.<name>.<pid>.<random>.tmp`` files left by saves whose process has died (and
    ``.<name>.<random>.tmp`` ones, of earlier nerve versions, an hour old)."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[^.]+\.tmp")
    unnamed = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            if unnamed.fullmatch(entry):
                full = os.path.join(directory, entry)
                with contextlib.suppress(OSError):
                    if time.time() - os.stat(full).st_mtime > STALE_SECONDS:
                        os.remove(full)
            continue
        pid = int(match.group(1))
        if pid == os.getpid():
            continue  # another thread of this process may be saving right now
        try:
            os.kill(pid, 0)
            continue  # that process still runs (perhaps saving): leave its file alone
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, OSError):
            continue  # a live process of another user, or a pid we cannot ask about
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, entry))


def _named(exc: OSError, path: str) -> OSError:
    """The same error, naming the target rather than the temp file (or no file at all)."""
    if exc.errno is not None:
        try:
            return type(exc)(exc.errno, exc.strerror or str(exc), path)
        except TypeError:  # a subclass with its own constructor
            return OSError(exc.errno, exc.strerror or str(exc), path)
    return OSError(f"cannot write {path!r}: {exc}")


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a binary temp file beside ``path``, then move it into place.

    Args:
        path: the target; a symlink is followed and its target replaced.
        write: called with the open temp file.

    Raises:
        OSError: the file cannot be written (the error names ``path``); the previous file is
            left as it was and the temp file removed.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "hello.txt")
    >>> atomic_write(path, lambda f: f.write(b"hi"))
    >>> open(path, "rb").read()
    b'hi'
    """
    given = os.fspath(path)  # the name errors use: the one the caller wrote
    path = os.path.realpath(given)  # write through a symlink, as open() does
    directory, name = os.path.split(path)
    _remove_stale_temporaries(directory, name)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # a replaced file keeps its mode
    except OSError:
        mode = 0o666 & ~umask()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise _named(exc, given) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise _named(exc, given) from exc
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
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda f: f.write(data))
