"""What the reductions share: ``dim``/``axis`` arguments turned into axes, element counts,
gradients expanded back over the reduced axes, and the checks that name the op (a non-empty
dimension for max-like reductions, a float input, a single dim).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.primitives.common import normalize_dim, reduction_axes


def _axes(op: str, x: Tensor, dim, axis):
    """Reduced axes as None (all) or a tuple; a 0-d tensor accepts dim 0/-1 as torch does."""
    axes = reduction_axes(op, x.ndim, dim, axis)
    return None if x.ndim == 0 else axes


def _count(shape: tuple, axes) -> int:
    """How many elements each output element reduces over."""
    return math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)


def _expand_back(g: np.ndarray, axes, keepdims: bool) -> np.ndarray:
    """Reinsert reduced axes into ``g`` so it broadcasts against the input."""
    if axes is not None and not keepdims:
        g = np.expand_dims(g, axes)
    return g


def _squeeze(out: np.ndarray, axes, keepdims: bool) -> np.ndarray:
    """Drop the reduced axes of a keepdims result unless keepdims was asked for."""
    if keepdims:
        return out
    return out.reshape(()) if axes is None else np.squeeze(out, axis=axes)


def _require_nonempty(op: str, shape: tuple, axes) -> None:
    """max-like reductions have no identity: say which dim is empty, as torch does."""
    if axes is None:
        if math.prod(shape) == 0:
            raise RuntimeError(
                f"{op}(): cannot reduce a tensor of shape {shape} with no elements; "
                "pass dim= to reduce over a non-empty dimension"
            )
        return
    for a in axes:
        if shape[a] == 0:
            raise IndexError(
                f"{op}(): dim {a} of a tensor of shape {shape} has size 0, and the reduction "
                "has no identity"
            )


def _require_float(op: str, x: Tensor) -> None:
    if x._data.dtype.kind != "f":
        raise TypeError(
            f"{op} needs a floating-point tensor, got dtype {x.dtype}; call .float() first"
        )


def _single_dim(op: str, x: Tensor, dim, axis) -> int:
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim= or axis=, not both")
        dim = axis
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int, got {tuple(dim)}")
    return normalize_dim(int(dim), x.ndim, op)
