"""Helpers every op module uses: operand lifting, dtype rules, dim handling, error messages."""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor, _to_array


def as_tensor(x, name: str = "input") -> Tensor:
    """``x`` as a Tensor (Tensors pass through; arrays and lists become float32/int tensors)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor._wrap(_to_array(x))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a Tensor or array-like, got {type(x).__name__}") from exc


def memory_order(a: np.ndarray) -> tuple:
    """The axes of ``a`` from outermost to innermost in memory (a C-contiguous array: 0, 1, ...).

    Fused ops allocate their results in this order so that a conv output (an (N, C, H, W) view
    of batch-last memory) or a channels-last tensor flows through without transposing copies.
    """
    return tuple(sorted(range(a.ndim), key=lambda ax: -abs(a.strides[ax])))


def flat_memory(*arrays: np.ndarray) -> list | None:
    """1-d views of the memory of same-shape arrays that share one dense layout, else None.

    Element k of every view is the same logical element, so elementwise work can run over the
    memory in order, in contiguous blocks, whatever the axis order (ReLU does).
    """
    first = arrays[0]
    if all(a.flags.c_contiguous and a.shape == first.shape for a in arrays):
        return [a.reshape(-1) for a in arrays]
    order = memory_order(first)
    views = []
    for a in arrays:
        dense = a.transpose(order)
        if a.shape != first.shape or not dense.flags.c_contiguous:
            return None
        views.append(dense.reshape(-1))
    return views


def lift_scalar(x, like: np.dtype):
    """A Python or NumPy scalar as a 0-d array of ``like`` (so 2.0 never upcasts float32).

    An int tensor times a float scalar becomes the default float dtype (float32), as in torch.
    """
    if like.kind == "f":
        return np.asarray(x, dtype=like)
    if isinstance(x, (float, np.floating)):
        return np.asarray(x, dtype=backend.DEFAULT_FLOAT)
    if like.kind == "b" and not isinstance(x, (bool, np.bool_)):
        return np.asarray(x, dtype=np.int64)
    return np.asarray(x, dtype=like)


def binary_operands(a, b, op: str):
    """Two operands of a binary op as Tensors with one dtype, following torch's promotion.

    Scalars take the tensor's dtype; float wins over int; float32 meets float64 as float64.
    """
    a_is = isinstance(a, Tensor)
    b_is = isinstance(b, Tensor)
    if a_is and b_is:
        da, db = a._data.dtype, b._data.dtype
        if da is db or da == db:
            return a, b
        if da.kind == "f" and db.kind != "f":
            return a, Tensor._wrap(b._data.astype(da))
        if db.kind == "f" and da.kind != "f":
            return Tensor._wrap(a._data.astype(db)), b
        common = np.result_type(da, db)
        return (
            a if da == common else _cast(a, common),
            b if db == common else _cast(b, common),
        )
    if a_is:
        if isinstance(b, (int, float, bool, np.number, np.bool_)):
            s = lift_scalar(b, a._data.dtype)
            return (a if s.dtype == a._data.dtype else _cast(a, s.dtype)), Tensor._wrap(s)
        return binary_operands(a, as_tensor(b, op), op)
    if b_is:
        if isinstance(a, (int, float, bool, np.number, np.bool_)):
            s = lift_scalar(a, b._data.dtype)
            return Tensor._wrap(s), (b if s.dtype == b._data.dtype else _cast(b, s.dtype))
        return binary_operands(as_tensor(a, op), b, op)
    return binary_operands(as_tensor(a, op), as_tensor(b, op), op)


def _cast(t: Tensor, dtype) -> Tensor:
    from nerve.primitives.elementwise import cast

    return cast(t, dtype)


def check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    """Raise a clear error when two shapes do not broadcast (called only after NumPy failed)."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def require_float(op: str, t: Tensor) -> None:
    if t._data.dtype.kind != "f":
        raise TypeError(
            f"{op} needs a floating-point tensor, got dtype {t._data.dtype}; call .float() first"
        )


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    """A dim in [-ndim, ndim) as a non-negative axis, or a clear IndexError."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % n


def reduction_axes(op: str, ndim: int, dim=None, axis=None):
    """torch's ``dim=`` or NumPy's ``axis=`` as None or a tuple of non-negative axes."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim= or axis=, not both")
        dim = axis
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(normalize_dim(int(d), ndim, op) for d in dim)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(dim)} names an axis twice")
        return axes
    return (normalize_dim(int(dim), ndim, op),)


def keep(keepdim: bool, keepdims) -> bool:
    """torch's ``keepdim=`` or NumPy's ``keepdims=``."""
    return bool(keepdim if keepdims is None else keepdims)
