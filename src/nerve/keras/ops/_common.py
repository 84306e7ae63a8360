"""What every family of keras.ops shares: Keras's input conversion, dtype names and axis checks.

Keras converts its inputs with its own rules, which differ from torch's: a Python int becomes
int32 (not int64), a Python float float32, and a NumPy array keeps its dtype (float64 included).
Python scalars met by a tensor stay "weak" (they take the tensor's dtype), which nerve's binary
ops already do, so the binary ops below pass scalars through untouched.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.primitives import elementwise as ew

SCALARS = (int, float, bool, np.number, np.bool_)

# Keras's dtype names (the ones NumPy can hold); bfloat16 and the complex types have no NumPy twin.
_DTYPES = {
    "bool": np.bool_,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "float16": np.float16,
    "float32": np.float32,
    "float64": np.float64,
}


def standardize_dtype(dtype, op: str) -> np.dtype | None:
    """A Keras dtype (a name like ``"float32"``, a NumPy dtype or type, ``int``/``float``) as a
    NumPy dtype; None stays None."""
    if dtype is None:
        return None
    # Python's float and int mean Keras's defaults (NumPy would read them as 64-bit)
    if dtype is float or (isinstance(dtype, str) and dtype == "float"):
        return np.dtype(DEFAULT_FLOAT)
    if dtype is int or (isinstance(dtype, str) and dtype == "int"):
        return np.dtype(np.int32)
    if dtype is bool:
        return np.dtype(np.bool_)
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(
                f"{op}: unsupported dtype {dtype!r}; use one of {', '.join(sorted(_DTYPES))}"
            )
        return np.dtype(_DTYPES[dtype])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"{op}: {dtype!r} is not a dtype") from None
    if dt.kind not in "biuf":
        raise ValueError(f"{op}: unsupported dtype {dt}")
    return dt


def to_tensor(x, op: str, dtype=None) -> Tensor:
    """``x`` as a Tensor by Keras's rules (Tensors pass; Python ints int32, floats float32;
    NumPy arrays keep their dtype), then cast to ``dtype`` when given."""
    if isinstance(x, Tensor):
        t = x
    else:
        if isinstance(x, (np.ndarray, np.number, np.bool_)):
            arr = np.asarray(x)
        else:
            try:
                arr = np.asarray(x)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{op}: cannot make a tensor from {type(x).__name__}") from exc
            if arr.dtype == np.float64:
                arr = arr.astype(DEFAULT_FLOAT)
            elif arr.dtype == np.int64:
                arr = arr.astype(np.int32)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{op}: cannot make a tensor from data of dtype {arr.dtype}")
        t = Tensor._wrap(arr)
    dt = standardize_dtype(dtype, op)
    if dt is not None and t._data.dtype != dt:
        t = ew.cast(t, dt)
    return t


def operand(x, op: str):
    """A binary op's operand: Python scalars stay weak (take the other side's dtype)."""
    if isinstance(x, (int, float, bool, Tensor)):
        return x
    return to_tensor(x, op)


def to_float(x, op: str) -> Tensor:
    """``x`` as a float Tensor: ints and bools become float32, as Keras promotes them."""
    t = to_tensor(x, op)
    if t._data.dtype.kind != "f":
        return Tensor._wrap(t._data.astype(DEFAULT_FLOAT))
    return t


def axis_index(axis, ndim: int, op: str, name: str = "axis") -> int:
    """One axis in [-ndim, ndim) as a non-negative int, or a ValueError naming the op."""
    try:
        a = int(axis)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an int, got {axis!r}") from None
    if not -ndim <= a < max(ndim, 1):
        raise ValueError(
            f"{op}: {name} {a} is out of bounds for a tensor with {ndim} dimensions "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    return a % max(ndim, 1)


def axes_tuple(axis, ndim: int, op: str):
    """None (every axis) or a tuple of distinct non-negative axes."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        axes = tuple(axis_index(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: axis {tuple(axis)} names an axis twice")
        return axes
    return (axis_index(axis, ndim, op),)


def shape_tuple(shape, op: str) -> tuple:
    """A shape (an int or a sequence of ints) as a tuple of non-negative ints."""
    if isinstance(shape, Tensor):
        shape = shape._data.tolist()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: shape must be a sequence of ints, got {shape!r}") from None
    if any(s < 0 for s in out):
        raise ValueError(f"{op}: shape {out} has a negative size")
    return out


def detached(array: np.ndarray) -> Tensor:
    """A result outside the graph (indices, booleans, counts)."""
    return Tensor._wrap(np.asarray(array))
