"""What ``Tensor.to`` / ``Tensor.type`` / the creation functions make of torch's arguments:
devices, dtypes, and torch's legacy type names (``'torch.FloatTensor'``)."""

from __future__ import annotations

import numpy as np

from nerve.device import as_device, device

# torch's legacy tensor type names, by dtype (what Tensor.type() answers and accepts)
_TYPE_NAMES = {
    np.dtype("float32"): "FloatTensor",
    np.dtype("float64"): "DoubleTensor",
    np.dtype("float16"): "HalfTensor",
    np.dtype("int64"): "LongTensor",
    np.dtype("int32"): "IntTensor",
    np.dtype("int16"): "ShortTensor",
    np.dtype("int8"): "CharTensor",
    np.dtype("uint8"): "ByteTensor",
    np.dtype("bool"): "BoolTensor",
}
_BY_NAME = {name: dt for dt, name in _TYPE_NAMES.items()}


def type_name(dtype: np.dtype) -> str:
    """``'nerve.FloatTensor'`` for float32, as torch's ``Tensor.type()`` says ``torch.``..."""
    return "nerve." + _TYPE_NAMES.get(np.dtype(dtype), f"{np.dtype(dtype).name}Tensor")


def as_dtype(spec, what: str) -> np.dtype:
    """A dtype from a dtype, a NumPy scalar type, or a type name (``'torch.FloatTensor'``)."""
    if isinstance(spec, str):
        name = spec.rpartition(".")[2]
        if name in _BY_NAME:
            return _BY_NAME[name]
    try:
        return np.dtype(spec)
    except TypeError:
        raise TypeError(f"{what}: {spec!r} is not a dtype (e.g. nerve.float32)") from None


def is_dtype(arg) -> bool:
    return isinstance(arg, np.dtype) or (isinstance(arg, type) and issubclass(arg, np.generic))


def parse_to(args: tuple, kwargs: dict):
    """(device or None, dtype or None, copy) from torch's ``Tensor.to`` overloads.

    to(device=None, dtype=None, non_blocking=False, copy=False), to(dtype, non_blocking, copy),
    to(other, non_blocking, copy).
    """
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"Tensor.to() got unexpected keyword arguments {sorted(kwargs)}")
    rest = list(args)
    flags = []
    while rest and isinstance(rest[-1], bool):  # the positional non_blocking and copy flags
        flags.insert(0, rest.pop())
    if len(flags) > 2 or len(rest) > 2:
        raise TypeError(f"Tensor.to() takes a device and/or a dtype, got {args!r}")
    if len(flags) == 2:
        copy = flags[1]
    for arg in rest:
        if hasattr(arg, "data") and hasattr(arg, "device") and hasattr(arg, "dtype"):
            dev, dtype = arg.device, arg.dtype  # to(other): other's device and dtype
        elif is_dtype(arg):
            dtype = arg
        elif isinstance(arg, (str, int, device)):
            dev = arg
        elif arg is not None:
            raise TypeError(
                f"Tensor.to() expects a device ('cpu'), a dtype (nerve.float64) or a tensor, "
                f"got {arg!r}"
            )
    return (
        None if dev is None else as_device(dev),
        None if dtype is None else as_dtype(dtype, "Tensor.to"),
        copy,
    )
