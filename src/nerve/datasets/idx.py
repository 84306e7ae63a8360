"""The IDX format of the MNIST family: a magic number, big-endian dimensions, then raw data.

The magic number is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions; each dimension follows
as a big-endian uint32. Files may be gzip-compressed. Anything else, or a size that does not
match the header, is an error naming the file.

A file is read as a stream: the header first, then exactly the bytes it declares, so a small
gzip file that would expand to gigabytes (a "gzip bomb") is refused after its header, not after
it has been decompressed into memory.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["parse_idx", "read_idx"]

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_NDIM = 8  # the MNIST family uses 1 (labels) and 3 (images)
MAX_BYTES = 1 << 34  # 16 GiB of data: far beyond any IDX dataset
_CHUNK = 1 << 22


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian array.

    Raises:
        OSError: the file cannot be opened.
        ValueError: naming the file: not IDX, damaged gzip, truncated, or trailing bytes.

    >>> import gzip, os, tempfile
    >>> header = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx2-ubyte.gz")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(gzip.compress(header + bytes(range(6))))
    >>> read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    try:
        f = path.open("rb")
    except OSError as exc:
        raise OSError(f"read_idx: cannot read {path}: {exc.strerror or exc}") from exc
    with f:
        compressed = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        stream = gzip.GzipFile(fileobj=f, mode="rb") if compressed else f
        try:
            return _read_stream(stream, str(path))
        except (OSError, EOFError, zlib.error) as exc:
            if not compressed:
                raise OSError(f"read_idx: cannot read {path}: {exc}") from exc
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def _read_exactly(stream, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = stream.read(min(_CHUNK, n - got))
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_stream(stream, name: str) -> np.ndarray:
    head = _read_exactly(stream, 4)
    dtype, ndim = _check_magic(head, name)
    raw_dims = _read_exactly(stream, 4 * ndim)
    dims = _dims(head + raw_dims, ndim, name)
    count = math.prod(dims)
    expected = count * dtype.itemsize
    if expected > MAX_BYTES:
        raise ValueError(
            f"{name}: its header declares shape {dims} of {dtype.newbyteorder('=')} "
            f"({expected} bytes); refusing more than {MAX_BYTES} bytes"
        )
    data = _read_exactly(stream, expected)
    if len(data) < expected:
        raise ValueError(
            f"{name} is truncated: shape {dims} of {dtype.newbyteorder('=')} needs "
            f"{expected} bytes of data, found {len(data)}"
        )
    extra = len(_read_exactly(stream, _CHUNK))  # only as much as tells how much is left over
    if extra:
        raise ValueError(
            f"{name}: {extra}{'+' if extra == _CHUNK else ''} unexpected bytes after the data "
            f"of shape {dims}"
        )
    return (
        np.frombuffer(data, dtype=dtype, count=count).reshape(dims).astype(dtype.newbyteorder("="))
    )


def _check_magic(head: bytes, name: str) -> tuple[np.dtype, int]:
    if len(head) < 4:
        raise ValueError(f"{name} is not an IDX file: {len(head)} bytes, shorter than a header")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{name} is not an IDX file: its magic number starts {head[:2].hex()}, not 0000"
        )
    code, ndim = head[2], head[3]
    if code not in _DTYPES:
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02x}")
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(
            f"{name}: its IDX header declares {ndim} dimensions; expected 1 to {MAX_NDIM}"
        )
    return np.dtype(_DTYPES[code]), ndim


def _dims(header: bytes, ndim: int, name: str) -> tuple[int, ...]:
    start = 4 + 4 * ndim
    if len(header) < start:
        raise ValueError(
            f"{name} is truncated: its header promises {ndim} dimensions but ends after "
            f"{len(header)} bytes"
        )
    return struct.unpack(f">{ndim}I", header[4:start])


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file; ``name`` appears in errors."""
    dtype, ndim = _check_magic(raw[:4], name)
    dims = _dims(raw, ndim, name)
    start = 4 + 4 * ndim
    count = math.prod(dims)
    expected, found = count * dtype.itemsize, len(raw) - start
    if found < expected:
        raise ValueError(
            f"{name} is truncated: shape {dims} of {dtype.newbyteorder('=')} needs "
            f"{expected} bytes of data, found {found}"
        )
    if found > expected:
        raise ValueError(
            f"{name}: {found - expected} unexpected bytes after the data of shape {dims}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=start).reshape(dims)
    return data.astype(dtype.newbyteorder("="))
