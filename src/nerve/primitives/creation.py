"""Making tensors: from data, filled, ranges, identity, and random (through backend's generator)."""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor, _to_array

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"sizes must be ints, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"sizes must be non-negative, got {shape}")
    return shape


def _float(dtype) -> np.dtype:
    return np.dtype(backend.DEFAULT_FLOAT if dtype is None else dtype)


def _made(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data``; float data becomes float32 unless ``dtype`` says.

    >>> tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    >>> tensor([0.5]).dtype
    dtype('float32')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` as a Tensor, sharing memory when it already is an ndarray of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == np.dtype(dtype)):
        return Tensor._wrap(data)
    return Tensor._wrap(_to_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory and keeping its dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.zeros(_shape(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.ones(_shape(size), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.empty(_shape(size), dtype=_float(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        kind = np.asarray(fill_value).dtype.kind
        dtype = backend.DEFAULT_FLOAT if kind == "f" else np.asarray(fill_value).dtype
    return _made(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.ones_like(np.asarray(t), dtype=dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.full_like(np.asarray(t), fill_value, dtype=dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Values in [start, end) by step; int64 for integer arguments, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if ints else backend.DEFAULT_FLOAT
    return _made(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.linspace(start, end, int(steps), dtype=_float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _made(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from nerve's generator (see manual_seed)."""
    arr = backend.rng().random(_shape(size), dtype=np.float64).astype(_float(dtype))
    return _made(arr, requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from nerve's generator (see manual_seed)."""
    dt = _float(dtype)
    arr = backend.rng().standard_normal(
        _shape(size), dtype=dt if dt in (np.float32, np.float64) else np.float64
    )
    return _made(arr.astype(dt, copy=False), requires_grad)


def randint(low, high=None, size=(), dtype=np.int64) -> Tensor:
    """Integers in [low, high) (or [0, low) when high is None), int64 by default."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    return Tensor._wrap(backend.rng().integers(low, high, size=_shape((size,)), dtype=dtype))


def rand_like(t, dtype=None) -> Tensor:
    return rand(np.shape(np.asarray(t)), dtype=dtype or np.asarray(t).dtype)


def randn_like(t, dtype=None) -> Tensor:
    return randn(np.shape(np.asarray(t)), dtype=dtype or np.asarray(t).dtype)
