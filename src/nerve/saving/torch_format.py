"""Reading PyTorch's ``torch.save`` files without torch and without running code from them.

A file written by ``torch.save`` (PyTorch >= 1.6) is a zip holding ``<name>/data.pkl`` (a
pickle of the saved object), one ``<name>/data/<key>`` member per storage (raw bytes),
``<name>/version`` and ``<name>/byteorder``. The pickle names functions and classes to call;
an ordinary unpickler would import and call whatever it names, so a downloaded ``.pt`` could
run any code. This reader follows PyTorch's own ``weights_only`` rule, narrower still: the
pickle may build only plain containers (dict, OrderedDict, list, tuple, set), numbers,
strings and bytes, and tensors through ``torch._utils._rebuild_tensor_v2`` (or
``_rebuild_parameter``) over the storages its persistent ids name. Every other global, any
other persistent id, the legacy (non-zip) format and a damaged zip are refused with
:class:`NerveFileError` naming the file and what was found. Tensors come back as NumPy arrays
that own their memory (a view into a shared storage is copied out).
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile

import numpy as np

from nerve.saving.archive import open_zip
from nerve.saving.safetensors_io import NerveFileError

# torch's storage classes -> NumPy dtypes ("BFloat16" has none: read as uint16, widened below)
_STORAGES = {
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
    "HalfStorage": "f2",
    "BFloat16Storage": "u2",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
    "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
}
MAX_PICKLE_BYTES = 64 * 1024 * 1024
MAX_EXPANDED_BYTES = 1 << 30


class _StorageType:
    """What ``torch.FloatStorage`` (and the others) stand for here: a dtype, nothing to call."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: str):
        self.name, self.dtype = name, dtype


class _Storage:
    __slots__ = ("name", "array")

    def __init__(self, name: str, array: np.ndarray):
        self.name, self.array = name, array


def looks_like_torch_zip(names: list[str]) -> bool:
    """Whether a zip's member names are those of a ``torch.save`` file."""
    return any(n.endswith("/data.pkl") and n.count("/") == 1 for n in names)


def load_torch_zip(data: bytes, path: str):
    """The object a ``torch.save`` zip holds, tensors as NumPy arrays.

    Args:
        data: the file's bytes.
        path: the file's name, for messages.

    Raises:
        NerveFileError: the file is damaged, or its pickle names anything beyond tensors,
            containers, numbers and strings (the message names the offending global).
    """
    where = f"cannot load {path!r}"
    zf, infos = open_zip(io.BytesIO(data), len(data), where)
    with zf:
        pickles = [i for i in infos if i.filename.endswith("/data.pkl")]
        if len(pickles) != 1 or pickles[0].filename.count("/") != 1:
            raise NerveFileError(f"{where}: not a torch.save file (no single <name>/data.pkl)")
        prefix = pickles[0].filename[: -len("data.pkl")]
        by_name = {i.filename: i for i in infos}
        strange = sorted(n for n in by_name if not n.startswith(prefix))
        if strange:
            raise NerveFileError(f"{where}: members outside {prefix!r}: {strange[:3]}")
        big_endian = False
        if prefix + "byteorder" in by_name:
            order = _read(zf, by_name[prefix + "byteorder"], 16, where).strip()
            if order not in (b"little", b"big"):
                raise NerveFileError(f"{where}: unknown byteorder {order[:16]!r}")
            big_endian = order == b"big"
        body = _read(zf, pickles[0], MAX_PICKLE_BYTES, where)
        unpickler = _Unpickler(io.BytesIO(body), zf, by_name, prefix, big_endian, where)
        try:
            result = unpickler.load()
        except NerveFileError:
            raise
        except (
            pickle.UnpicklingError,
            EOFError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            OverflowError,
            MemoryError,
            RecursionError,
        ) as exc:
            raise NerveFileError(
                f"{where}: data.pkl is damaged or not a PyTorch pickle "
                f"({type(exc).__name__}: {exc})"
            ) from None
    _check_result(result, where)
    return result


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> bytes:
    if info.file_size > limit:
        raise NerveFileError(f"{where}: member {info.filename!r} claims {info.file_size} bytes")
    try:
        data = zf.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
        raise NerveFileError(f"{where}: member {info.filename!r} is damaged ({exc})") from None
    if len(data) != info.file_size:
        raise NerveFileError(f"{where}: member {info.filename!r} is truncated")
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, zf, by_name, prefix, big_endian, where):
        super().__init__(file)
        self._zf, self._by_name, self._prefix = zf, by_name, prefix
        self._big_endian, self._where = big_endian, where
        self._storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        # Only what a state_dict needs; every other global is refused, never imported.
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._rebuild_tensor
        if module == "torch._utils" and name in (
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
        ):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGES:
            return _StorageType(name, _STORAGES[name])
        raise NerveFileError(
            f"{self._where}: its pickle names the global {module}.{name}; nerve loads only "
            "tensors, dicts, lists, tuples, numbers and strings from a PyTorch file (as "
            "torch.load(weights_only=True)), so it refuses this file without running anything. "
            "Save the model's state_dict() with torch.save instead"
        )

    def persistent_load(self, pid):
        if (
            not isinstance(pid, tuple)
            or len(pid) != 5
            or pid[0] != "storage"
            or not isinstance(pid[1], _StorageType)
            or not isinstance(pid[2], str)
            or not isinstance(pid[4], int)
        ):
            raise NerveFileError(
                f"{self._where}: its pickle refers to an unknown persistent object {pid!r:.80}"
            )
        _, kind, key, _location, numel = pid
        if key in self._storages:
            return self._storages[key]
        member = self._by_name.get(f"{self._prefix}data/{key}")
        if member is None:
            raise NerveFileError(f"{self._where}: storage {key!r} is missing from the zip")
        dtype = np.dtype(kind.dtype).newbyteorder(">" if self._big_endian else "<")
        if numel < 0 or member.file_size != numel * dtype.itemsize:
            raise NerveFileError(
                f"{self._where}: storage {key!r} holds {member.file_size} bytes, not {numel} "
                f"elements of {kind.name}"
            )
        raw = _read(self._zf, member, member.file_size, self._where)
        storage = _Storage(kind.name, np.frombuffer(raw, dtype=dtype))
        self._storages[key] = storage
        return storage

    def _rebuild_tensor(self, storage, offset, size, stride, *_rest):
        where = self._where
        if not isinstance(storage, _Storage):
            raise NerveFileError(f"{where}: a tensor is rebuilt from {type(storage).__name__}")
        if (
            not _ints(size)
            or not _ints(stride)
            or len(size) != len(stride)
            or not isinstance(offset, int)
            or offset < 0
        ):
            raise NerveFileError(
                f"{where}: a tensor has an invalid layout (offset {offset!r}, size {size!r}, "
                f"stride {stride!r})"
            )
        flat = storage.array
        count = math.prod(size)
        if count > flat.size and count * flat.itemsize > MAX_EXPANDED_BYTES:
            # Strides of 0 repeat a storage (an expanded tensor); a few bytes must not claim
            # gigabytes.
            raise NerveFileError(
                f"{where}: a tensor of size {tuple(size)} repeats a {storage.name} of "
                f"{flat.size} elements into more than {MAX_EXPANDED_BYTES} bytes"
            )
        if 0 in size:
            out = np.empty(size, flat.dtype)
        else:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.size:
                raise NerveFileError(
                    f"{where}: a tensor of size {tuple(size)}, stride {tuple(stride)} at offset "
                    f"{offset} runs past its {storage.name} of {flat.size} elements"
                )
            item = flat.itemsize
            view = np.lib.stride_tricks.as_strided(
                flat[offset:], shape=tuple(size), strides=tuple(s * item for s in stride)
            )
            out = np.array(view, order="C")  # owns its memory; shared views are copied apart
        out = out.astype(out.dtype.newbyteorder("="), copy=False)
        if storage.name == "BFloat16Storage":  # bfloat16 is float32's upper half
            out = (out.astype(np.uint32) << 16).view(np.float32)
        return out


def _rebuild_parameter(data, *_rest):
    if not isinstance(data, np.ndarray):
        raise TypeError(f"a Parameter is rebuilt from {type(data).__name__}")
    return data


def _ints(values) -> bool:
    return isinstance(values, tuple) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values
    )


def _check_result(result, where: str) -> None:
    """Only containers, arrays, numbers and strings may come out (no stray storage objects)."""
    stack, seen = [result], set()
    while stack:
        value = stack.pop()
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            if id(value) in seen:  # a pickle can build a list that holds itself
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
        elif not (
            value is None or isinstance(value, (np.ndarray, bool, int, float, complex, str, bytes))
        ):
            raise NerveFileError(
                f"{where}: the file holds a {type(value).__name__}, which is not a tensor, "
                "container, number or string"
            )
