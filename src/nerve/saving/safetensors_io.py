"""Named arrays <-> safetensors bytes, checked before anything is allocated.

safetensors keeps the format simple (an 8-byte header length, a JSON header, then raw bytes), but
a hostile or damaged file can claim any header length, count or shape. ``decode`` reads the
header itself first and refuses absurd sizes, shapes that do not match their byte ranges and
ranges that run past the data, then lets the library build the arrays.

Arrays are made C-contiguous (``np.asarray(order="C")``) before writing: safetensors 0.8.0
writes a non-contiguous array's memory in storage order without saying so
(huggingface/safetensors#825), scrambling a transposed or Fortran-order array.
"""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np

from nerve.device import to_host

MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSORS = 100_000
MAX_NDIM = 32

_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


def _library():
    try:
        import safetensors.numpy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("nerve's files need safetensors: pip install safetensors") from exc
    return safetensors.numpy


class NerveFileError(ValueError):
    """A saved file is damaged, tampered with, truncated, of another format or version."""


def encode(arrays: dict, metadata: dict | None = None) -> bytes:
    """``{name: array}`` as safetensors bytes (every array copied to C order first).

    >>> import numpy as np
    >>> decode(encode({"w": np.ones((2, 3), np.float32).T}), "example")["w"].shape
    (3, 2)
    """
    clean = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"safetensors keys must be strings, got {name!r}")
        # np.ascontiguousarray would make 0-d arrays 1-d; to_host copies a GPU array to the host
        arr = np.asarray(to_host(value), order="C")
        if arr.dtype == object:
            raise TypeError(f"cannot save {name!r}: an array of Python objects")
        clean[name] = arr
    # safetensors sorts its entries; the order (a state_dict's, say) is kept in the metadata.
    return _library().save(clean, metadata={**(metadata or {}), "order": json.dumps(list(clean))})


def read_header(data: bytes, source: str) -> tuple[dict, int]:
    """The safetensors JSON header, checked against the buffer; and where the data starts."""
    if len(data) < 8:
        raise NerveFileError(f"{source}: safetensors payload is truncated ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise NerveFileError(
            f"{source}: safetensors header claims {n} bytes, but the payload holds "
            f"{len(data) - 8} (limit {MAX_HEADER_BYTES}); the file is truncated or damaged"
        )
    try:
        header = json.loads(data[8 : 8 + n])
    # ValueError: not UTF-8, not JSON, or an integer of 4,300+ digits; RecursionError: nesting
    except (ValueError, RecursionError) as exc:
        raise NerveFileError(f"{source}: safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise NerveFileError(f"{source}: safetensors header is not a JSON object")
    if len(header) > MAX_TENSORS + 1:
        raise NerveFileError(
            f"{source}: safetensors header lists {len(header)} entries (limit {MAX_TENSORS})"
        )
    size = len(data) - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise NerveFileError(f"{source}: safetensors metadata must map strings to strings")
            continue
        _check_entry(name, entry, size, source)
    return header, 8 + n


def _check_entry(name: str, entry, size: int, source: str) -> None:
    bad = f"{source}: tensor {name!r} in the safetensors header"
    if not isinstance(entry, dict):
        raise NerveFileError(f"{bad} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _ITEMSIZE:
        raise NerveFileError(f"{bad} has an unknown dtype {dtype!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
    ):
        raise NerveFileError(f"{bad} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= size
    ):
        raise NerveFileError(
            f"{bad} has byte range {offsets!r}, outside the {size} data bytes; the file is "
            "truncated or damaged"
        )
    nbytes = _ITEMSIZE[dtype]
    for s in shape:  # Python ints: no overflow, and a huge claim fails the comparison below
        nbytes *= s
    if nbytes != offsets[1] - offsets[0]:
        raise NerveFileError(
            f"{bad} claims shape {tuple(shape)} of {dtype} ({nbytes} bytes) but spans "
            f"{offsets[1] - offsets[0]} bytes"
        )


def digest(header: dict, data: bytes, start: int) -> str:
    """SHA-256 of the whole header (less its ``sha256`` metadata entry) and the tensor bytes.

    The header is hashed in a canonical JSON form (sorted keys, no spaces), so a renamed or
    retyped tensor, a moved byte range or an edited ``order`` fails the check as surely as a
    changed tensor byte.
    """
    meta = {k: v for k, v in header.get("__metadata__", {}).items() if k != "sha256"}
    canonical = {**header, "__metadata__": meta}
    h = hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())
    h.update(memoryview(data)[start:])
    return h.hexdigest()


def saved_order(header: dict) -> list | None:
    """The tensor names in the order they were saved (a state_dict's), from the ``order``
    metadata entry; None when it is missing or does not list exactly the header's tensors."""
    try:
        order = json.loads(header.get("__metadata__", {}).get("order", "null"))
    except (ValueError, RecursionError):
        return None
    names = set(header) - {"__metadata__"}
    if (
        not isinstance(order, list)
        or not all(isinstance(k, str) for k in order)
        or len(order) != len(names)
        or set(order) != names
    ):
        return None
    return order


def decode(data: bytes, source: str) -> dict:
    """safetensors bytes -> ``{name: array}``, after :func:`read_header` checked them.

    Raises:
        NerveFileError: naming ``source`` and what is wrong.
    """
    header, _ = read_header(data, source)
    try:
        arrays = _library().load(data)
    except Exception as exc:  # the library's own error types vary between versions
        raise NerveFileError(f"{source}: cannot read the safetensors payload ({exc})") from None
    order = saved_order(header) or []
    out = {k: arrays[k] for k in order if k in arrays}
    out.update((k, v) for k, v in arrays.items() if k not in out)
    return {k: v if v.flags.writeable else v.copy() for k, v in out.items()}


def metadata(data: bytes, source: str) -> dict:
    """The string-to-string ``__metadata__`` of a safetensors payload."""
    header, _ = read_header(data, source)
    return dict(header.get("__metadata__", {}))
