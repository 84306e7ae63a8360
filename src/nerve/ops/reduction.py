"""Reductions: sum, mean, var/std, max/min, prod, logsumexp, softmax, cumsum, norm, arg*.

Each takes torch's ``dim=``/``keepdim=`` or NumPy's ``axis=``/``keepdims=``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import as_tensor, keep, reduction_axes


def _expand_back(g: np.ndarray, axes, keepdims: bool, shape: tuple) -> np.ndarray:
    """Reinsert reduced axes into ``g`` so it broadcasts against the input of ``shape``."""
    if axes is not None and not keepdims:
        g = np.expand_dims(g, axes)
    return g


@register("sum")
class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        return np.broadcast_to(_expand_back(g, self.axes, self.keepdims, self.shape), self.shape)


@register("mean")
class Mean(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.mean(axis=axes, keepdims=keepdims)

    def backward(self, g):
        n = (
            np.prod([self.shape[a] for a in self.axes])
            if self.axes is not None
            else np.prod(self.shape)
        )
        g = _expand_back(g, self.axes, self.keepdims, self.shape) / g.dtype.type(max(n, 1))
        return np.broadcast_to(g, self.shape)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all dims when None)."""
    x = as_tensor(x, "sum")
    if dtype is not None:
        x = x.astype(dtype)
    elif x.data.dtype.kind == "b":
        x = x.long()
    return Sum.apply(
        x, axes=reduction_axes("sum", x.ndim, dim, axis), keepdims=keep(keepdim, keepdims)
    )


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Mean over ``dim`` (all dims when None)."""
    x = as_tensor(x, "mean")
    if x.data.dtype.kind != "f":
        raise TypeError(
            f"mean needs a floating-point tensor, got dtype {x.dtype}; call .float() first"
        )
    return Mean.apply(
        x, axes=reduction_axes("mean", x.ndim, dim, axis), keepdims=keep(keepdim, keepdims)
    )


@register("softmax")
class Softmax(Function):
    def forward(self, x, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.out, self.axis = e, axis
        return e

    def backward(self, g):
        y = self.out
        gy = g * y
        return gy - y * gy.sum(axis=self.axis, keepdims=True)


@register("log_softmax")
class LogSoftmax(Function):
    def forward(self, x, axis):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.out, self.axis = out, axis
        return out

    def backward(self, g):
        return g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


def _softmax_axis(op: str, x: Tensor, dim) -> int:
    if dim is None:
        raise TypeError(f"{op}: pass dim= (the axis that sums to one); nerve does not guess it")
    return reduction_axes(op, x.ndim, dim)[0]


def softmax(x, dim: int | None = -1, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    x = as_tensor(x, "softmax")
    if dtype is not None:
        x = x.astype(dtype)
    if x.data.dtype.kind != "f":
        raise TypeError(f"softmax needs a floating-point tensor, got dtype {x.dtype}")
    return Softmax.apply(x, axis=_softmax_axis("softmax", x, dim))


def log_softmax(x, dim: int | None = -1, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (no log of 0)."""
    x = as_tensor(x, "log_softmax")
    if dtype is not None:
        x = x.astype(dtype)
    if x.data.dtype.kind != "f":
        raise TypeError(f"log_softmax needs a floating-point tensor, got dtype {x.dtype}")
    return LogSoftmax.apply(x, axis=_softmax_axis("log_softmax", x, dim))
