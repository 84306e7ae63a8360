"""The .nerve container: a zip of named members plus metadata.json, written atomically.

``metadata.json`` records the format and its version, nerve's version, and for every other
member its size and SHA-256; reading refuses a member that is missing, unlisted, of another
size or hash, so a flipped byte or a swapped payload is caught even when the zip's own CRC was
rewritten. Array payloads are stored uncompressed (safetensors is not worth deflating and a
stored member cannot expand past the file's own size); JSON members are deflated and capped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib

from nerve.files import atomic_write
from nerve.saving.safetensors_io import NerveFileError

FORMAT = "nerve.model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
MAX_MEMBERS = 16
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_ZIP_MEMBERS = 1_000_000  # a torch.save file has one member per storage
MAX_STREAM_BYTES = 1 << 34  # what a stream (not a regular file) may hold at most


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_archive(path, members: dict[str, bytes], info: dict) -> None:
    """Write ``members`` (name -> bytes; ``.json`` ones deflated) and metadata.json to ``path``."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **info,
        "files": {name: {"size": len(b), "sha256": _sha256(b)} for name, b in members.items()},
    }

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr(METADATA, json.dumps(meta, indent=1), zipfile.ZIP_DEFLATED)
            for name, data in members.items():
                method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
                zf.writestr(name, data, method)

    atomic_write(path, write)


# Whatever a damaged zip makes zipfile raise: a flipped bit in the central directory turns into
# "encrypted" (RuntimeError), an unknown compression or zip version (NotImplementedError), an
# offset that overflows (ValueError, OverflowError), a name that is not UTF-8, and so on.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    OverflowError,
    struct.error,
    UnicodeDecodeError,
    KeyError,
    IndexError,
    TypeError,
)


def open_zip(
    source, file_size: int, where: str, kind: str = "zip file"
) -> tuple[zipfile.ZipFile, list]:
    """A ZipFile over ``source`` (a path or a binary file) and its members, each checked: no
    encryption, stored or deflated only, within the file. NerveFileError naming the fault."""
    try:
        zf = zipfile.ZipFile(source)
    except ZIP_ERRORS as exc:
        raise NerveFileError(
            f"{where}: not a {kind}, or it is truncated or damaged ({type(exc).__name__}: {exc})"
        ) from None
    infos = zf.infolist()
    try:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise NerveFileError(f"{where}: the zip claims {len(infos)} members")
        for info in infos:
            bad = f"{where}: zip member {info.filename!r}"
            if info.flag_bits & 0x1:
                raise NerveFileError(f"{bad} is marked encrypted; the file is damaged")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise NerveFileError(
                    f"{bad} uses compression method {info.compress_type}; the file is damaged"
                )
            if not 0 <= info.header_offset < file_size or info.compress_size > file_size:
                raise NerveFileError(
                    f"{bad} claims offset {info.header_offset} and {info.compress_size} bytes "
                    f"in a {file_size}-byte file; the file is truncated or damaged"
                )
    except NerveFileError:
        zf.close()
        raise
    return zf, infos


def source_name(source) -> str:
    """How messages name a path or a file object."""
    if hasattr(source, "read") or hasattr(source, "write"):
        name = getattr(source, "name", None)
        return name if isinstance(name, str) else f"<{type(source).__name__}>"
    return os.fspath(source)


def read_source(source, what: str, limit: int, check_start=None) -> bytes:
    """The bytes of a path or a binary file object, ``limit`` at the most.

    Read in chunks, so that an endless stream (``/dev/zero``, a pipe) is refused at the limit,
    or as soon as its first chunk fails ``check_start(first_bytes, where)``, instead of filling
    memory.
    """
    where = f"{what} {source_name(source)!r}"
    if hasattr(source, "read"):
        return _read_limited(source, limit, where, check_start)
    path = os.fspath(source)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{where}: a directory, not a file")
    with open(path, "rb") as f:
        return _read_limited(f, limit, where, check_start)


def _read_limited(f, limit: int, where: str, check_start) -> bytes:
    try:
        regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode) and f.seekable()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        regular = False  # a BytesIO, a pipe, a device
    if regular:  # its size is known: check the start, then read it at once (no second copy)
        start = f.tell()
        size = os.fstat(f.fileno()).st_size - start
        if size > limit:
            raise NerveFileError(f"{where}: {size} bytes, over the limit of {limit}")
        if check_start is not None:
            check_start(f.read(1 << 16), where)
            f.seek(start)
        return f.read()
    chunks, total = [], 0
    while True:
        chunk = f.read(min(1 << 16 if not chunks else 1 << 24, limit + 1 - total))
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise TypeError(f"{where}: expected a binary file, whose read() gives bytes")
        if not chunks and check_start is not None:
            check_start(chunk, where)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise NerveFileError(f"{where}: more than {limit} bytes; not a file nerve reads")
    return b"".join(chunks)


def check_zip_start(first: bytes, where: str) -> None:
    """A zip begins with a local file header (or, empty, with its end record)."""
    if first[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise NerveFileError(f"{where}: not a zip file (it begins {first[:4]!r})")


def read_archive(path) -> tuple[dict, dict[str, bytes]]:
    """``(metadata, {name: bytes})`` from a .nerve file, every member checked against the
    metadata. Raises NerveFileError naming the file and the fault."""
    path = os.fspath(path)
    where = f"cannot load {path!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    if os.path.isfile(path):
        source, size = path, os.path.getsize(path)
    else:  # a device or a pipe: read it whole, up to the limit, then treat it as bytes
        data = read_source(path, "cannot load", MAX_STREAM_BYTES, check_zip_start)
        source, size = io.BytesIO(data), len(data)
    zf, _ = open_zip(source, size, where, ".nerve file")
    try:
        with zf:
            return _read(zf, size, where)
    except NerveFileError:
        raise
    except ZIP_ERRORS as exc:
        raise NerveFileError(
            f"{where}: not a .nerve file, or it is truncated or damaged ({type(exc).__name__}: "
            f"{exc})"
        ) from None


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file_size: int, where: str) -> bytes:
    if info.compress_type == zipfile.ZIP_STORED:
        if info.file_size != info.compress_size or info.file_size > file_size:
            raise NerveFileError(
                f"{where}: member {info.filename!r} claims {info.file_size} bytes in a "
                f"{file_size}-byte file"
            )
    elif not info.filename.endswith(".json") or info.file_size > MAX_JSON_BYTES:
        raise NerveFileError(
            f"{where}: member {info.filename!r} is compressed to expand to {info.file_size} "
            f"bytes; only JSON members under {MAX_JSON_BYTES} bytes may be compressed"
        )
    data = zf.read(info)  # zipfile stops at file_size and checks the CRC
    if len(data) != info.file_size:
        raise NerveFileError(f"{where}: member {info.filename!r} is truncated")
    return data


def _read(zf: zipfile.ZipFile, file_size: int, where: str):
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise NerveFileError(f"{where}: {len(infos)} members (a .nerve file has a few)")
    by_name = {i.filename: i for i in infos}
    if METADATA not in by_name:
        raise NerveFileError(f"{where}: no {METADATA}; this zip is not a .nerve file")
    try:
        meta = json.loads(_member(zf, by_name[METADATA], file_size, where))
    except (ValueError, RecursionError) as exc:  # ValueError: also ints of 4,300+ digits
        raise NerveFileError(f"{where}: {METADATA} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise NerveFileError(f"{where}: format {got!r} is not {FORMAT!r}")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise NerveFileError(f"{where}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise NerveFileError(
            f"{where}: written in format version {version} by nerve "
            f"{meta.get('nerve_version')!r}; this nerve reads versions up to {FORMAT_VERSION} "
            "(upgrade nerve)"
        )
    files = meta.get("files")
    if not isinstance(files, dict):
        raise NerveFileError(f"{where}: {METADATA} has no 'files' table")
    unlisted = sorted(set(by_name) - set(files) - {METADATA})
    missing = sorted(set(files) - set(by_name))
    if unlisted or missing:
        raise NerveFileError(
            f"{where}: members do not match {METADATA} (missing {missing}, unlisted {unlisted})"
        )
    members = {}
    for name, expected in files.items():
        data = _member(zf, by_name[name], file_size, where)
        if not isinstance(expected, dict) or expected.get("size") != len(data):
            raise NerveFileError(f"{where}: member {name!r} has another size than recorded")
        if expected.get("sha256") != _sha256(data):
            raise NerveFileError(
                f"{where}: member {name!r} fails its SHA-256 check; the file was modified or "
                "damaged after it was written"
            )
        members[name] = data
    return meta, members
