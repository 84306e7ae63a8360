"""keras.ops' NumPy-like creation ops: zeros, ones, full, eye, arange, linspace, and the
``_like`` forms. Floats default to float32 (Keras's floatx); ``arange`` of ints gives int32.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.keras.ops._common import (
    detached,
    shape_tuple,
    standardize_dtype,
    to_tensor,
)
from nerve.primitives import shape as sh

__all__ = [
    "arange",
    "empty",
    "empty_like",
    "eye",
    "full",
    "full_like",
    "identity",
    "linspace",
    "logspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tri",
    "zeros",
    "zeros_like",
]


def _float_dtype(dtype, op: str) -> np.dtype:
    return standardize_dtype(dtype, op) or np.dtype(DEFAULT_FLOAT)


# ----------------------------------------------------------------------------- creation
def zeros(shape, dtype=None) -> Tensor:
    """A tensor of zeros of ``shape`` (float32 unless ``dtype`` says)."""
    return detached(np.zeros(shape_tuple(shape, "zeros"), _float_dtype(dtype, "zeros")))


def ones(shape, dtype=None) -> Tensor:
    """A tensor of ones of ``shape`` (float32 unless ``dtype`` says)."""
    return detached(np.ones(shape_tuple(shape, "ones"), _float_dtype(dtype, "ones")))


def empty(shape, dtype=None) -> Tensor:
    """A new tensor of ``shape`` (filled with zeros, so nothing uninitialised leaks out)."""
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (float32 unless ``dtype`` says)."""
    fill = fill_value._data if isinstance(fill_value, Tensor) else fill_value
    out = np.broadcast_to(np.asarray(fill), shape_tuple(shape, "full"))
    return detached(out.astype(_float_dtype(dtype, "full")))


def _like(x, op: str):
    return to_tensor(x, op)._data


def zeros_like(x, dtype=None) -> Tensor:
    """Zeros with ``x``'s shape and dtype (or ``dtype``)."""
    return detached(np.zeros_like(_like(x, "zeros_like"), standardize_dtype(dtype, "zeros_like")))


def ones_like(x, dtype=None) -> Tensor:
    """Ones with ``x``'s shape and dtype (or ``dtype``)."""
    return detached(np.ones_like(_like(x, "ones_like"), standardize_dtype(dtype, "ones_like")))


def empty_like(x, dtype=None) -> Tensor:
    """A new tensor with ``x``'s shape and dtype (zeros)."""
    return zeros_like(x, dtype)


def full_like(x, fill_value, dtype=None) -> Tensor:
    """``fill_value`` with ``x``'s shape and dtype (or ``dtype``)."""
    fill = fill_value._data if isinstance(fill_value, Tensor) else fill_value
    a = _like(x, "full_like")
    out = np.broadcast_to(np.asarray(fill), a.shape)
    return detached(out.astype(standardize_dtype(dtype, "full_like") or a.dtype))


def eye(N, M=None, k: int = 0, dtype=None) -> Tensor:  # noqa: N803 - Keras's names
    """An ``N x M`` matrix with ones on diagonal ``k`` (float32 unless ``dtype`` says)."""
    return detached(
        np.eye(int(N), None if M is None else int(M), int(k), _float_dtype(dtype, "eye"))
    )


def identity(n, dtype=None) -> Tensor:
    """The ``n x n`` identity matrix (float32 unless ``dtype`` says)."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k: int = 0, dtype=None) -> Tensor:  # noqa: N803 - Keras's names
    """An ``N x M`` matrix with ones at and below diagonal ``k``."""
    return detached(
        np.tri(int(N), None if M is None else int(M), int(k), _float_dtype(dtype, "tri"))
    )


def arange(start, stop=None, step=None, dtype=None) -> Tensor:
    """Values from ``start`` up to (not including) ``stop`` by ``step``.

    Args:
        start: the first value (or the stop, with ``start`` 0, when ``stop`` is None).
        stop: the end (excluded).
        step: the spacing (1 when None).
        dtype: the result's dtype; int32 when every argument is an int, else float32.

    Returns:
        A 1-d tensor.

    Raises:
        ValueError: a zero step.
    """
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dt = standardize_dtype(dtype, "arange")
    if dt is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dt = np.dtype(np.int32 if ints else DEFAULT_FLOAT)
    return detached(np.arange(start, stop, step).astype(dt))


def linspace(
    start,
    stop,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype=None,
    axis: int = 0,
):
    """``num`` evenly spaced values from ``start`` to ``stop`` (included when ``endpoint``).

    Returns:
        The values (float32 unless ``dtype`` says), and the step too when ``retstep``.
    """
    if int(num) < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    a = to_tensor(start, "linspace")._data
    b = to_tensor(stop, "linspace")._data
    values, step = np.linspace(a, b, int(num), endpoint=bool(endpoint), retstep=True, axis=axis)
    out = detached(values.astype(_float_dtype(dtype, "linspace")))
    return (out, step) if retstep else out


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10, dtype=None, axis: int = 0):
    """``base ** linspace(start, stop, num)`` (float32 unless ``dtype`` says)."""
    if int(num) < 0:
        raise ValueError(f"logspace: num must be non-negative, got {num}")
    a = to_tensor(start, "logspace")._data
    b = to_tensor(stop, "logspace")._data
    values = np.logspace(a, b, int(num), endpoint=bool(endpoint), base=base, axis=axis)
    return detached(values.astype(_float_dtype(dtype, "logspace")))


def meshgrid(*x, indexing: str = "xy") -> list:
    """Coordinate grids from 1-d tensors, as np.meshgrid (``'xy'``: the first two axes swapped;
    ``'ij'``: matrix indexing); gradients sum back to the vectors.

    Raises:
        ValueError: an unknown ``indexing`` or an input that is not 1-d.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vs = [to_tensor(v, "meshgrid") for v in x]
    for v in vs:
        if v.ndim != 1:
            raise ValueError(f"meshgrid: inputs must be 1-d, got shape {v.shape}")
    sizes = [v.shape[0] for v in vs]
    if indexing == "xy" and len(vs) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, v in enumerate(vs):
        at = 1 - i if indexing == "xy" and i < 2 and len(vs) > 1 else i
        view = sh.reshape(v, tuple(-1 if j == at else 1 for j in range(len(vs))))
        out.append(sh.broadcast_to(view, tuple(sizes)))
    return out
