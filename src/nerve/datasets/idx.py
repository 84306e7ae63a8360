"""The IDX format of the MNIST family: a magic number, big-endian dimensions, then raw data.

The magic number is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions; each dimension follows
as a big-endian uint32. Files may be gzip-compressed. Anything else, or a size that does not
match the header, is an error naming the file.
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


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian array.

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
        raw = path.read_bytes()
    except OSError as exc:
        raise OSError(f"read_idx: cannot read {path}: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    return parse_idx(raw, str(path))


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file; ``name`` appears in errors."""
    if len(raw) < 4:
        raise ValueError(f"{name} is not an IDX file: {len(raw)} bytes, shorter than a header")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name} is not an IDX file: its magic number starts {raw[:2].hex()}, not 0000"
        )
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"{name}: an IDX file needs at least one dimension, the header says 0")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(
            f"{name} is truncated: its header promises {ndim} dimensions but ends after "
            f"{len(raw)} bytes"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_DTYPES[code])
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
