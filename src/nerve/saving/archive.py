"""The .nerve container: a zip of named members plus metadata.json, written atomically.

``metadata.json`` records the format and its version, nerve's version, and for every other
member its size and SHA-256; reading refuses a member that is missing, unlisted, of another
size or hash, so a flipped byte or a swapped payload is caught even when the zip's own CRC was
rewritten. Array payloads are stored uncompressed (safetensors is not worth deflating and a
stored member cannot expand past the file's own size); JSON members are deflated and capped.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib

from nerve.files import atomic_write
from nerve.saving.safetensors_io import NerveFileError

FORMAT = "nerve.model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
MAX_MEMBERS = 16
MAX_JSON_BYTES = 64 * 1024 * 1024


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


def read_archive(path) -> tuple[dict, dict[str, bytes]]:
    """``(metadata, {name: bytes})`` from a .nerve file, every member checked against the
    metadata. Raises NerveFileError naming the file and the fault."""
    path = os.fspath(path)
    where = f"cannot load {path!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(zf, os.path.getsize(path), where)
    except NerveFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise NerveFileError(
            f"{where}: not a .nerve file, or it is truncated or damaged ({exc})"
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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
