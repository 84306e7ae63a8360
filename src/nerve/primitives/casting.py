"""Copies and casts: ``clone`` (a differentiable copy) and ``cast`` (a dtype change, differentiable
between float types). Re-exported by ``elementwise.py``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor

__all__ = ["cast", "clone"]


@register("clone")
class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(x) -> Tensor:
    """A differentiable copy."""
    return Clone.apply(as_tensor(x, "clone"))


@register("cast")
class Cast(Function):
    """Change dtype; the gradient flows back (cast to the input's dtype) between float types."""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return _narrowing_cast(x, dtype)

    def backward(self, g):
        return _narrowing_cast(g, self.in_dtype)


def _narrowing_cast(a, dtype):
    """``a.astype(dtype)``; a float too large for a narrower float type becomes inf without a
    warning, as in torch (a GradScaler's overflow check relies on those infs)."""
    dtype = np.dtype(dtype)
    if a.dtype.kind == "f" and dtype.kind == "f" and dtype.itemsize < a.dtype.itemsize:
        with np.errstate(over="ignore"):
            return a.astype(dtype)
    return a.astype(dtype)


def cast(x, dtype) -> Tensor:
    """``x`` as ``dtype``; differentiable between float types, a plain copy otherwise."""
    x = as_tensor(x, "cast")
    dtype = np.dtype(dtype)
    if dtype == x._data.dtype:
        return x
    if dtype.kind != "f" or x._data.dtype.kind != "f":
        return Tensor._wrap(x._data.astype(dtype))  # not differentiable: int/bool results
    return Cast.apply(x, dtype=dtype)
