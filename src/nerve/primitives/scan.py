"""Scans along one dim: cumsum, cumprod, cummax, cummin and logcumsumexp, with exact gradients
(cumprod's too where the input holds zeros)."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import accumulate, add_at, as_tensor, normalize_dim

__all__ = ["cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"]


def _scan_dim(op: str, x, dim, axis) -> int:
    """torch's ``dim=`` or NumPy's ``axis=`` (one of them, required) as an axis."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim= or axis=, not both")
        dim = axis
    if dim is None:
        raise TypeError(f"{op}: pass dim= (the axis to accumulate along)")
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int, got {tuple(dim)}")
    return normalize_dim(int(dim), x.ndim, op)


def _scan_input(op: str, x, dim, axis, dtype):
    x = as_tensor(x, op)
    ax = _scan_dim(op, x, dim, axis)
    if dtype is not None:
        x = x.astype(dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = x.long()  # as torch: bools and small ints accumulate as int64
    return x, ax


@register("cumsum")
class CumSum(Function):
    def forward(self, x, axis):
        self.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(self, g):
        # Each input feeds every later output: a reversed cumulative sum of the gradient.
        a = self.axis
        return np.flip(np.cumsum(np.flip(g, a), axis=a), a)


def cumsum(x, dim=None, *, axis=None, dtype=None) -> Tensor:
    """Cumulative sum along ``dim`` (required, as in torch); bools and ints sum as int64.

    >>> import nerve
    >>> nerve.cumsum(nerve.tensor([1.0, 2.0, 3.0]), dim=0)
    tensor([1., 3., 6.])
    """
    x, ax = _scan_input("cumsum", x, dim, axis, dtype)
    if x.ndim == 0:
        x = x.reshape(1)
        return CumSum.apply(x, axis=0).reshape(())
    return CumSum.apply(x, axis=ax)


@register("cumprod")
class CumProd(Function):
    def forward(self, x, axis):
        out = np.cumprod(x, axis=axis)
        self.x, self.out, self.axis = x, out, axis
        return out

    def backward(self, g):
        # d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i. Before a slice's first zero z
        # that is out_j / x_i; at z it is the running product with x_z taken as 1; after z every
        # term holds x_z = 0. Exact with zeros, where out / x would divide 0 by 0.
        x, out, a = self.x, self.out, self.axis
        zero = x == 0
        if not zero.any():
            return _rev_cumsum(g * out, a) / x
        n = x.shape[a]
        pos = array_module_of(x).arange(n).reshape((-1,) + (1,) * (x.ndim - a - 1))
        first = np.where(zero.any(axis=a, keepdims=True), np.argmax(zero, axis=a, keepdims=True), n)
        at_zero = pos == first
        one = x.dtype.type(1)
        before = _rev_cumsum(g * out, a) / np.where(zero, one, x)
        skip_zero = np.cumprod(np.where(at_zero, one, x), axis=a)
        at = _rev_cumsum(g * skip_zero, a)
        return np.where(pos < first, before, np.where(at_zero, at, x.dtype.type(0)))


def _rev_cumsum(g: np.ndarray, a: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(g, a), axis=a), a)


def cumprod(x, dim=None, *, axis=None, dtype=None) -> Tensor:
    """Cumulative product along ``dim`` (required, as in torch); bools and ints multiply as int64.

    The gradient is exact where the input holds zeros.

    Args:
        x: a tensor.
        dim: the dimension to accumulate along (NumPy's ``axis=`` also works).
        dtype: cast the input to this dtype first.

    Returns:
        A tensor of ``x``'s shape.

    Raises:
        TypeError: no dim given.
        IndexError: ``dim`` is out of range.

    >>> import nerve
    >>> nerve.cumprod(nerve.tensor([1.0, 2.0, 3.0]), dim=0).tolist()
    [1.0, 2.0, 6.0]
    """
    x, ax = _scan_input("cumprod", x, dim, axis, dtype)
    if x.ndim == 0:
        return CumProd.apply(x.reshape(1), axis=0).reshape(())
    return CumProd.apply(x, axis=ax)


# ----------------------------------------------------------------------------- cummax, cummin
_CummaxResult = namedtuple("cummax", ("values", "indices"))
_CumminResult = namedtuple("cummin", ("values", "indices"))


class _CumExtreme(Function):
    """The running max (min) along ``axis`` and, for each position, the index it came from (the
    latest on ties, as torch); the gradient goes to that index, adding up where it repeats."""

    ufunc: np.ufunc  # np.maximum or np.minimum

    def forward(self, x, axis):
        xp = array_module_of(x)
        out = accumulate(self.ufunc, x, axis)
        hit = x == out
        if x.dtype.kind == "f":
            hit |= np.isnan(x)  # nan wins from its position on, at its own index
        pos = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        idx = accumulate(np.maximum, np.where(hit, pos, 0), axis).astype(np.int64)
        self.idx, self.axis = idx, axis
        return out, idx

    def backward(self, g, _=None):
        # Rows along the axis, so that one 1-d add.at over (row, index) pairs does the scatter.
        a = self.axis
        gm = np.moveaxis(g, a, -1)
        shape = gm.shape
        m, n = math.prod(shape[:-1]), shape[-1]
        xp = array_module_of(g)
        rows = xp.zeros((m, n), g.dtype)
        idx = np.moveaxis(self.idx, a, -1).reshape(m, n)
        add_at(rows, (xp.arange(m)[:, None], idx), gm.reshape(m, n))
        return np.moveaxis(rows.reshape(shape), -1, a)


@register("cummax")
class CumMax(_CumExtreme):
    ufunc = np.maximum


@register("cummin")
class CumMin(_CumExtreme):
    ufunc = np.minimum


def _cum_extreme(op: str, cls, result, x, dim):
    x = as_tensor(x, op)
    ax = _scan_dim(op, x, dim, None)
    if x.ndim == 0:
        return result(x.clone(), Tensor._wrap(array_module_of(x._data).zeros((), np.int64)))
    values, indices = cls.apply(x, axis=ax)
    return result(values, indices)


def cummax(input, dim: int):
    """The running maximum along ``dim`` and where each came from, as ``(values, indices)``.

    On ties the index is the latest position (as torch); nan, once met, stays.

    >>> import nerve
    >>> nerve.cummax(nerve.tensor([1.0, 3.0, 2.0, 3.0]), 0).indices.tolist()
    [0, 1, 1, 3]
    """
    return _cum_extreme("cummax", CumMax, _CummaxResult, input, dim)


def cummin(input, dim: int):
    """The running minimum along ``dim`` and where each came from (see :func:`cummax`)."""
    return _cum_extreme("cummin", CumMin, _CumminResult, input, dim)


# ----------------------------------------------------------------------------- logcumsumexp
@register("logcumsumexp")
class LogCumSumExp(Function):
    """log(cumsum(exp(x))) along ``axis``, accumulated in log space (never overflows)."""

    def forward(self, x, axis):
        out = accumulate(np.logaddexp, x, axis)
        self.x, self.out, self.axis = x, out, axis
        return out

    def backward(self, g):
        # d out_j / d x_i = exp(x_i - out_j) for j >= i. The sum over j of g_j exp(x_i - out_j)
        # is taken in log space, positive and negative g apart (as torch), so nothing overflows.
        x, out, a = self.x, self.out, self.axis

        def part(weights):  # sum over j >= i of weights_j * exp(x_i - out_j), weights >= 0
            with np.errstate(divide="ignore"):  # log(0) = -inf: a zero weight adds nothing
                logs = np.log(weights) - out
            return np.exp(np.flip(accumulate(np.logaddexp, np.flip(logs, a), a), a) + x)

        return part(np.maximum(g, 0)) - part(np.maximum(-g, 0))


def logcumsumexp(input, dim: int) -> Tensor:
    """log(cumsum(exp(x))) along ``dim``, without overflow.

    >>> import nerve
    >>> [round(v, 4) for v in nerve.logcumsumexp(nerve.tensor([0.0, 0.0]), 0).tolist()]
    [0.0, 0.6931]
    """
    x = as_tensor(input, "logcumsumexp")
    if x.dtype.kind != "f":
        x = x.float()
    ax = _scan_dim("logcumsumexp", x, dim, None)
    if x.ndim == 0:
        return LogCumSumExp.apply(x.reshape(1), axis=0).reshape(())
    return LogCumSumExp.apply(x, axis=ax)
