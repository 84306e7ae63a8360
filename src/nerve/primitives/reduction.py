"""Reductions: sum, mean, var/std, prod, logsumexp, softmax, norm, all/any, and the nan-aware and
paired ones (nansum, nanmean, count_nonzero, aminmax, var_mean, std_mean).

Re-exported here: max/min, amax/amin and argmax/argmin of minmax.py; the scans of scan.py
(cumsum, cumprod, cummax, cummin, logcumsumexp); the sorting and counting of sorting.py (sort,
argsort, msort, topk, kthvalue, median, nanmedian, mode, quantile, nanquantile, unique, bincount,
searchsorted, bucketize, histc). Helpers shared by the reductions live in reduce_axes.py.

Each takes torch's ``dim=``/``keepdim=`` or NumPy's ``axis=``/``keepdims=``; for max/min the
keywords also choose the result: torch's give the (values, indices) pair, NumPy's the values.
Results that carry no gradient (indices from argmax, booleans from all/any) are plain tensors
outside the graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import (
    as_tensor,
    divide_where,
    is_array,
    keep,
    reduction_axes,
)
from nerve.primitives.minmax import (  # re-exported, the same objects
    Amax,  # noqa: F401
    Amin,  # noqa: F401
    MaxDim,  # noqa: F401
    MinDim,  # noqa: F401
    _MaxResult,  # noqa: F401
    _MinResult,  # noqa: F401
    amax,
    amin,
    argmax,
    argmin,
    max,
    min,
)
from nerve.primitives.reduce_axes import (
    _axes,
    _count,
    _expand_back,
    _require_float,
    _require_nonempty,
    _squeeze,
)
from nerve.primitives.scan import cummax, cummin, cumprod, cumsum, logcumsumexp
from nerve.primitives.sorting import (
    argsort,
    bincount,
    bucketize,
    histc,
    kthvalue,
    median,
    mode,
    msort,
    nanmedian,
    nanquantile,
    quantile,
    searchsorted,
    sort,
    topk,
    unique,
)

__all__ = [
    "all",
    "amax",
    "amin",
    "aminmax",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "bincount",
    "bucketize",
    "count_nonzero",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "histc",
    "kthvalue",
    "log_softmax",
    "logcumsumexp",
    "logsumexp",
    "max",
    "mean",
    "median",
    "min",
    "mode",
    "msort",
    "nanmean",
    "nanmedian",
    "nanquantile",
    "nansum",
    "norm",
    "prod",
    "quantile",
    "searchsorted",
    "softmax",
    "sort",
    "std",
    "std_mean",
    "sum",
    "topk",
    "unique",
    "var",
    "var_mean",
]


# ----------------------------------------------------------------------------- sum, mean
@register("sum")
class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, g):
        return np.broadcast_to(_expand_back(g, self.axes, self.keepdims), self.shape)


@register("mean")
class Mean(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        n = _count(x.shape, axes)
        with np.errstate(invalid="ignore", divide="ignore"):  # mean of nothing is nan
            return x.sum(axis=axes, keepdims=keepdims) / x.dtype.type(n)

    def backward(self, g):
        n = _count(self.shape, self.axes) or 1  # no elements: the gradient is empty anyway
        g = _expand_back(g, self.axes, self.keepdims) / g.dtype.type(n)
        return np.broadcast_to(g, self.shape)


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all); bools and ints sum as int64.

    >>> import nerve
    >>> nerve.sum(nerve.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0)
    tensor([4., 6.])
    """
    x = as_tensor(x, "sum")
    if dtype is not None:
        x = x.astype(dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = x.long()
    return Sum.apply(x, axes=_axes("sum", x, dim, axis), keepdims=keep(keepdim, keepdims))


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Mean over ``dim`` (all dims when None); the mean of no elements is nan."""
    x = as_tensor(x, "mean")
    _require_float("mean", x)
    return Mean.apply(x, axes=_axes("mean", x, dim, axis), keepdims=keep(keepdim, keepdims))


# ----------------------------------------------------------------------------- var, std
def _centered(x: np.ndarray, axes):
    n = _count(x.shape, axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x - x.sum(axis=axes, keepdims=True) / x.dtype.type(n), n


@register("var")
class Var(Function):
    def forward(self, x, axes, keepdims, correction):
        d, n = _centered(x, axes)
        dof = x.dtype.type(n - correction if n > correction else 0)
        with np.errstate(invalid="ignore", divide="ignore"):  # dof 0: nan or inf, as torch
            out = (d * d).sum(axis=axes, keepdims=keepdims) / dof
        self.d, self.dof, self.axes, self.keepdims = d, dof, axes, keepdims
        return out

    def backward(self, g):
        g = _expand_back(g, self.axes, self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (g * (2 / self.dof)) * self.d


@register("std")
class Std(Function):
    def forward(self, x, axes, keepdims, correction):
        d, n = _centered(x, axes)
        dof = x.dtype.type(n - correction if n > correction else 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.sqrt((d * d).sum(axis=axes, keepdims=True) / dof)
        self.d, self.dof, self.out = d, dof, out
        self.axes, self.keepdims = axes, keepdims
        return _squeeze(out, axes, keepdims)

    def backward(self, g):
        g = _expand_back(g, self.axes, self.keepdims)
        # A constant slice (std 0) gets gradient 0, as in torch; dof 0 (std nan) stays nan.
        denom = self.out * self.dof
        return divide_where(g, denom, denom != 0) * self.d


def _correction(op: str, dim, unbiased, correction, ddof):
    if isinstance(dim, bool):  # torch's var(x, unbiased) overload
        dim, unbiased = None, dim
    given = [c for c in (unbiased, correction, ddof) if c is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: pass only one of unbiased=, correction= and ddof=")
    if unbiased is not None:
        return dim, int(bool(unbiased))
    value = correction if correction is not None else ddof
    return dim, 1 if value is None else value


def var(
    x,
    dim=None,
    unbiased=None,
    keepdim=False,
    *,
    correction=None,
    axis=None,
    keepdims=None,
    ddof=None,
) -> Tensor:
    """Variance over ``dim``: sum((x - mean)^2) / (N - correction), correction 1 by default.

    ``unbiased=False`` means correction 0; NumPy's ``ddof=`` is the same as ``correction=``.

    >>> import nerve
    >>> nerve.var(nerve.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.6667)
    """
    x = as_tensor(x, "var")
    _require_float("var", x)
    dim, c = _correction("var", dim, unbiased, correction, ddof)
    axes = _axes("var", x, dim, axis)
    return Var.apply(x, axes=axes, keepdims=keep(keepdim, keepdims), correction=c)


def std(
    x,
    dim=None,
    unbiased=None,
    keepdim=False,
    *,
    correction=None,
    axis=None,
    keepdims=None,
    ddof=None,
) -> Tensor:
    """Standard deviation over ``dim``: the square root of :func:`var` (same arguments)."""
    x = as_tensor(x, "std")
    _require_float("std", x)
    dim, c = _correction("std", dim, unbiased, correction, ddof)
    axes = _axes("std", x, dim, axis)
    return Std.apply(x, axes=axes, keepdims=keep(keepdim, keepdims), correction=c)


# ----------------------------------------------------------------------------- prod, logsumexp
@register("prod")
class Prod(Function):
    def forward(self, x, axes, keepdims):
        self.x, self.axes, self.keepdims = x, axes, keepdims
        return x.prod(axis=axes, keepdims=keepdims)

    def backward(self, g):
        # d prod / d x_i is the product of the others: out / x_i when the slice has no zero,
        # the product of the non-zeros at the one zero, and 0 everywhere with two zeros or more.
        x, axes = self.x, self.axes
        g = _expand_back(g, axes, self.keepdims)
        zero = x == 0
        safe = np.where(zero, x.dtype.type(1), x)
        others = safe.prod(axis=axes, keepdims=True)
        n_zeros = zero.sum(axis=axes, keepdims=True)
        grad = np.where(
            n_zeros == 0, others / safe, np.where(zero & (n_zeros == 1), others, x.dtype.type(0))
        )
        return g * grad


def prod(x, dim=None, keepdim=False, *, axis=None, keepdims=None, dtype=None) -> Tensor:
    """Product over ``dim`` (all dims when None); bools and ints multiply as int64.

    The gradient is exact when the input holds zeros.
    """
    x = as_tensor(x, "prod")
    if dtype is not None:
        x = x.astype(dtype)
    elif x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        x = x.long()
    return Prod.apply(x, axes=_axes("prod", x, dim, axis), keepdims=keep(keepdim, keepdims))


@register("logsumexp")
class LogSumExp(Function):
    def forward(self, x, axes, keepdims):
        if type(x) is np.ndarray:
            shift = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
        elif x.size:  # a device's max takes no initial= (CuPy's does not)
            shift = x.max(axis=axes, keepdims=True)
        else:  # the max of nothing: -inf, in the keepdims shape
            kept = tuple(1 if axes is None or a in axes else n for a, n in enumerate(x.shape))
            shift = array_module_of(x).full(kept, -np.inf, x.dtype)
        shift = np.where(np.isfinite(shift), shift, x.dtype.type(0))  # all -inf, inf or empty
        with np.errstate(divide="ignore"):  # log(0) = -inf for an empty or all -inf slice
            out = np.log(np.exp(x - shift).sum(axis=axes, keepdims=True)) + shift
        self.x, self.out, self.axes, self.keepdims = x, out, axes, keepdims
        return _squeeze(out, axes, keepdims)

    def backward(self, g):
        g = _expand_back(g, self.axes, self.keepdims)
        with np.errstate(invalid="ignore"):
            return g * np.exp(self.x - self.out)


def logsumexp(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (all dims when None), computed without overflow.

    >>> import nerve
    >>> nerve.logsumexp(nerve.tensor([[0.0, 0.0], [-500.0, -500.0]]), dim=1)
    tensor([   0.6931, -499.3069])
    """
    x = as_tensor(x, "logsumexp")
    if x._data.dtype.kind != "f":
        x = x.float()  # as torch: integers reduce to the default float type
    axes = _axes("logsumexp", x, dim, axis)
    return LogSumExp.apply(x, axes=axes, keepdims=keep(keepdim, keepdims))


# ----------------------------------------------------------------------------- softmax
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
    if x._data.dtype.kind != "f":
        raise TypeError(f"softmax needs a floating-point tensor, got dtype {x.dtype}")
    return Softmax.apply(x, axis=_softmax_axis("softmax", x, dim))


def log_softmax(x, dim: int | None = -1, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (no log of 0)."""
    x = as_tensor(x, "log_softmax")
    if dtype is not None:
        x = x.astype(dtype)
    if x._data.dtype.kind != "f":
        raise TypeError(f"log_softmax needs a floating-point tensor, got dtype {x.dtype}")
    return LogSoftmax.apply(x, axis=_softmax_axis("log_softmax", x, dim))


# ----------------------------------------------------------------------------- norm
@register("norm")
class Norm(Function):
    def forward(self, x, p, axes, keepdims):
        a = np.abs(x)
        if p == np.inf:
            out = a.max(axis=axes, keepdims=True)
        elif p == -np.inf:
            out = a.min(axis=axes, keepdims=True)
        elif p == 0:
            out = (x != 0).sum(axis=axes, keepdims=True, dtype=x.dtype)
        elif p == 1:
            out = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = np.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            out = (a**p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.x, self.out, self.p, self.axes, self.keepdims = x, out, p, axes, keepdims
        return _squeeze(out, axes, keepdims)

    def backward(self, g):
        x, out, p, axes = self.x, self.out, self.p, self.axes
        g = np.reshape(g, out.shape)  # the keepdims shape
        zero = x.dtype.type(0)
        if p == 0:  # a count: flat almost everywhere
            return array_module_of(g).zeros(x.shape, dtype=g.dtype)
        if p == 1:
            return np.sign(x) * g
        if np.isinf(p):  # ties share the gradient, as in amax
            mask = np.abs(x) == out
            ties = mask.sum(axis=axes, keepdims=True, dtype=g.dtype)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(mask, np.sign(x) * (g / ties), zero)
        # d||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1); 0 at the zero vector, as torch.
        denom = out if p == 2 else out ** (p - 1)
        scale = divide_where(g, denom, out != 0)
        if p == 2:
            return x * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.where(x == 0, zero, np.sign(x) * np.abs(x) ** (p - 1))
        return scaled * scale


def norm(x, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """The p-norm over ``dim`` (all elements when None): (sum |x|^p)^(1/p).

    ``p`` is any number > 0, ``inf``/``-inf`` (largest/smallest magnitude), 0 (count of non-zeros)
    or ``'fro'`` (the 2-norm of the elements). The gradient at the zero vector is 0, as in torch.

    >>> import nerve
    >>> nerve.norm(nerve.tensor([3.0, 4.0]))
    tensor(5.)
    """
    x = as_tensor(x, "norm")
    _require_float("norm", x)
    if p == "fro" or p is None:
        p = 2.0
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported; use 'fro' or a number")
    p = float(p)
    if p < 0 and p != -np.inf:
        raise ValueError(f"norm: p must be >= 0, inf or -inf, got {p}")
    axes = _axes("norm", x, dim, axis)
    if np.isinf(p):
        _require_nonempty("norm", x.shape, axes)
    return Norm.apply(x, p=p, axes=axes, keepdims=keep(keepdim, keepdims))


# ----------------------------------------------------------------------------- all, any
def _logical(op, fn, x, dim, keepdim, axis, keepdims) -> Tensor:
    x = as_tensor(x, op)
    axes = _axes(op, x, dim, axis)
    out = fn(x._data, axis=axes, keepdims=keep(keepdim, keepdims))
    return Tensor._wrap(out if is_array(out) else np.asarray(out))  # NumPy: 0-d gives a scalar


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """True where every element along ``dim`` is non-zero (a bool tensor, no gradient)."""
    return _logical("all", np.all, x, dim, keepdim, axis, keepdims)


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """True where some element along ``dim`` is non-zero (a bool tensor, no gradient)."""
    return _logical("any", np.any, x, dim, keepdim, axis, keepdims)


# ----------------------------------------------------------------------------- nan-aware, pairs
_AminmaxResult = namedtuple("aminmax", ("min", "max"))


def nansum(x, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None) -> Tensor:
    """:func:`sum` with nan counted as zero (nan gets no gradient)."""
    from nerve.primitives import elementwise as ew

    x = as_tensor(x, "nansum")
    if x._data.dtype.kind == "f":
        x = ew.where(ew.isnan(x), 0.0, x)
    return sum(x, dim, keepdim, axis=axis, keepdims=keepdims, dtype=dtype)


def nanmean(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """:func:`mean` over the elements that are not nan (nan where all are)."""
    from nerve.primitives import elementwise as ew

    x = as_tensor(x, "nanmean")
    _require_float("nanmean", x)
    c = sum(~ew.isnan(x), dim, keepdim, axis=axis, keepdims=keepdims)._data
    # An all-nan slice divides by nan, not 0: nan value and gradient, as torch, and no warning.
    count = Tensor._wrap(np.where(c == 0, np.nan, c).astype(x._data.dtype))
    return ew.div(nansum(x, dim, keepdim, axis=axis, keepdims=keepdims), count)


def count_nonzero(x, dim=None) -> Tensor:
    """How many elements along ``dim`` (an int, a tuple, or None for all) are non-zero (int64)."""
    x = as_tensor(x, "count_nonzero")
    axes = _axes("count_nonzero", x, dim, None)
    xp = array_module_of(x._data)
    return Tensor._wrap(xp.asarray(np.count_nonzero(x._data, axis=axes), dtype=np.int64))


def aminmax(x, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (all elements when None), as :func:`amin` and :func:`amax`."""
    return _AminmaxResult(amin(x, dim, keepdim), amax(x, dim, keepdim))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call (see :func:`var` for the correction)."""
    if isinstance(dim, bool):  # torch's var_mean(x, unbiased) overload
        dim, unbiased = None, dim
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call (see :func:`std` for the correction)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)
