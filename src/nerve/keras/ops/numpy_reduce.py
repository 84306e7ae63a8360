"""keras.ops' reductions and orderings: sum, mean, max (values only), arg*, cumsum, sort, norm.

Keras's keywords are ``axis=`` (an int, a tuple or None for every axis) and ``keepdims=``.
Integer sums stay in their dtype (int32 sums are int32, bools sum as int32), means and variances
are floats, and indices (argmax, argsort) are int32, as on Keras's torch backend.
"""

from __future__ import annotations

import builtins

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import (
    axes_tuple,
    axis_index,
    detached,
    to_float,
    to_tensor,
)
from nerve.primitives import elementwise as ew
from nerve.primitives import reduction, scan, sorting
from nerve.primitives import shape as sh

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "average",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "max",
    "mean",
    "median",
    "min",
    "norm",
    "prod",
    "quantile",
    "sort",
    "std",
    "sum",
    "var",
]


def _int_result(t: Tensor, like: np.dtype) -> Tensor:
    # nerve sums small ints as int64; Keras keeps int32 (and counts bools as int32)
    want = np.dtype(np.int32) if like.kind == "b" else like
    return t if t._data.dtype == want else detached(t._data.astype(want))


def _nonempty(op: str, t: Tensor, axes) -> None:
    if t._data.size == 0 and (axes is None or builtins.any(t.shape[a] == 0 for a in axes)):
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {t.shape}")


# ----------------------------------------------------------------------------- sums and means
def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """The sum over ``axis`` (an int, a tuple, or None for every element).

    Args:
        x: the tensor.
        axis: the axis or axes to reduce.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The sum; integer tensors keep their dtype, bools sum as int32.

    Raises:
        ValueError: an axis is out of range or named twice.
    """
    t = to_tensor(x, "sum")
    axes = axes_tuple(axis, t.ndim, "sum")
    out = reduction.sum(t, axis=axes, keepdims=bool(keepdims))
    return _int_result(out, t._data.dtype) if t._data.dtype.kind != "f" else out


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """The mean over ``axis`` (integers average as float32); see :func:`sum` for the args."""
    t = to_float(x, "mean")
    return reduction.mean(t, axis=axes_tuple(axis, t.ndim, "mean"), keepdims=bool(keepdims))


def average(x, axis=None, weights=None) -> Tensor:
    """The mean over ``axis``, weighted by ``weights`` (of ``x``'s shape, or 1-d along ``axis``).

    Raises:
        ValueError: 1-d weights whose length is not the size of ``axis``.
    """
    t = to_float(x, "average")
    if weights is None:
        return mean(t, axis)
    w = to_float(weights, "average")
    if w.ndim == 1 and t.ndim > 1:
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("average: 1-d weights need one int axis")
        a = axis_index(axis, t.ndim, "average")
        if w.shape[0] != t.shape[a]:
            raise ValueError(
                f"average: weights of length {w.shape[0]} for axis {a} of size {t.shape[a]}"
            )
        w = sh.reshape(w, tuple(-1 if i == a else 1 for i in range(t.ndim)))
    if w._data.dtype != t._data.dtype:
        w = ew.cast(w, np.result_type(w._data.dtype, t._data.dtype))
    try:
        full = sh.broadcast_to(w, t.shape)
    except ValueError:
        raise ValueError(f"average: weights of shape {w.shape} for x of shape {t.shape}") from None
    return ew.div(sum(ew.mul(t, full), axis), sum(full, axis))


def prod(x, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    """The product over ``axis``; ``dtype`` casts first. Integers keep their dtype."""
    t = to_tensor(x, "prod", dtype)
    axes = axes_tuple(axis, t.ndim, "prod")
    out = reduction.prod(t, axis=axes, keepdims=bool(keepdims))
    return _int_result(out, t._data.dtype) if t._data.dtype.kind != "f" else out


def var(x, axis=None, keepdims: bool = False) -> Tensor:
    """The population variance (divided by N, not N - 1) over ``axis``."""
    t = to_float(x, "var")
    axes = axes_tuple(axis, t.ndim, "var")
    return reduction.var(t, axis=axes, keepdims=bool(keepdims), correction=0)


def std(x, axis=None, keepdims: bool = False) -> Tensor:
    """The population standard deviation over ``axis`` (see :func:`var`)."""
    t = to_float(x, "std")
    axes = axes_tuple(axis, t.ndim, "std")
    return reduction.std(t, axis=axes, keepdims=bool(keepdims), correction=0)


# ----------------------------------------------------------------------------- extremes
def _extreme(op, prim, bound, x, axis, keepdims, initial):
    t = to_tensor(x, op)
    axes = axes_tuple(axis, t.ndim, op)
    if initial is None:
        _nonempty(op, t, axes)
    elif t._data.size == 0:
        shp = np.zeros(t.shape).sum(axis=axes, keepdims=bool(keepdims)).shape
        return detached(np.full(shp, initial, dtype=t._data.dtype))
    out = prim(t, axis=axes, keepdims=bool(keepdims)) if t.ndim else t
    return out if initial is None else bound(out, initial)


def max(x, axis=None, keepdims: bool = False, initial=None) -> Tensor:
    """The largest value over ``axis`` (values only, unlike torch's max along a dim).

    Args:
        x: the tensor.
        axis: the axis or axes to reduce (None: every element).
        keepdims: keep the reduced axes with size 1.
        initial: a floor for the result (and the result of an empty reduction).

    Returns:
        The maxima; tied maxima share the gradient evenly.

    Raises:
        ValueError: an empty reduction without ``initial``, or a bad axis.
    """
    return _extreme("max", reduction.amax, ew.maximum, x, axis, keepdims, initial)


def min(x, axis=None, keepdims: bool = False, initial=None) -> Tensor:
    """The smallest value over ``axis`` (values only); see :func:`max`."""
    return _extreme("min", reduction.amin, ew.minimum, x, axis, keepdims, initial)


def amax(x, axis=None, keepdims: bool = False) -> Tensor:
    """The same as :func:`max` without ``initial``."""
    return _extreme("amax", reduction.amax, ew.maximum, x, axis, keepdims, None)


def amin(x, axis=None, keepdims: bool = False) -> Tensor:
    """The same as :func:`min` without ``initial``."""
    return _extreme("amin", reduction.amin, ew.minimum, x, axis, keepdims, None)


def _arg(op: str, fn, x, axis, keepdims) -> Tensor:
    t = to_tensor(x, op)
    a = t._data
    if axis is None:
        _nonempty(op, t, None)
        i = fn(a.reshape(-1))
        return detached(np.full((1,) * a.ndim if keepdims else (), i, dtype=np.int32))
    ax = axis_index(axis, t.ndim, op)
    _nonempty(op, t, (ax,))
    return detached(fn(a, axis=ax, keepdims=bool(keepdims)).astype(np.int32))


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index (int32) of the largest value along ``axis``, or into the flattened tensor.

    Raises:
        ValueError: an empty tensor, or an axis out of range.
    """
    return _arg("argmax", np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index (int32) of the smallest value along ``axis`` (see :func:`argmax`)."""
    return _arg("argmin", np.argmin, x, axis, keepdims)


# ----------------------------------------------------------------------------- logic
def all(x, axis=None, keepdims: bool = False) -> Tensor:
    """True where every element over ``axis`` is non-zero."""
    t = to_tensor(x, "all")
    axes = axes_tuple(axis, t.ndim, "all")
    return detached(np.all(t._data, axis=axes, keepdims=bool(keepdims)))


def any(x, axis=None, keepdims: bool = False) -> Tensor:
    """True where some element over ``axis`` is non-zero."""
    t = to_tensor(x, "any")
    axes = axes_tuple(axis, t.ndim, "any")
    return detached(np.any(t._data, axis=axes, keepdims=bool(keepdims)))


def count_nonzero(x, axis=None) -> Tensor:
    """The number (int32) of non-zero elements over ``axis``."""
    t = to_tensor(x, "count_nonzero")
    axes = axes_tuple(axis, t.ndim, "count_nonzero")
    return detached(np.count_nonzero(t._data, axis=axes).astype(np.int32))


# ----------------------------------------------------------------------------- cumulative
def _flat_axis(op: str, t: Tensor, axis):
    if axis is None:
        return sh.reshape(t, (-1,)), 0
    if t.ndim == 0:
        return sh.reshape(t, (1,)), 0
    return t, axis_index(axis, t.ndim, op)


def cumsum(x, axis=None, dtype=None) -> Tensor:
    """The running sum along ``axis`` (over the flattened tensor when None).

    Integers keep their dtype (bools sum as int32); ``dtype`` casts first.
    """
    t = to_tensor(x, "cumsum", dtype)
    src, ax = _flat_axis("cumsum", t, axis)
    out = reduction.cumsum(src, axis=ax)
    return _int_result(out, t._data.dtype) if t._data.dtype.kind != "f" else out


def cumprod(x, axis=None, dtype=None) -> Tensor:
    """The running product along ``axis`` (over the flattened tensor when None); exact
    gradients, zeros included. Integers keep their dtype (bools multiply as int32)."""
    t = to_tensor(x, "cumprod", dtype)
    src, ax = _flat_axis("cumprod", t, axis)
    out = scan.cumprod(src, axis=ax)
    return _int_result(out, t._data.dtype) if t._data.dtype.kind != "f" else out


# ----------------------------------------------------------------------------- ordering
def argsort(x, axis=-1) -> Tensor:
    """The indices (int32) that sort ``x`` ascending along ``axis`` (flattened when None);
    the sort is stable."""
    t = to_tensor(x, "argsort")
    if axis is None:
        t, axis = sh.reshape(t, (-1,)), 0
    if t.ndim == 0:
        return detached(np.zeros((), np.int32))
    ax = axis_index(axis, t.ndim, "argsort")
    return _int_result(sorting.argsort(t, ax), np.dtype(np.int32))


def sort(x, axis=-1) -> Tensor:
    """``x`` sorted ascending along ``axis``; the gradient goes back to each value's place."""
    t = to_tensor(x, "sort")
    if axis is None:
        t, axis = sh.reshape(t, (-1,)), 0
    if t.ndim == 0:
        return t
    return sorting.sort(t, axis_index(axis, t.ndim, "sort")).values


_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The ``q``-th quantiles of ``x`` over ``axis``, as np.quantile.

    Args:
        x: the tensor (integers become float32).
        q: a quantile in [0, 1], or a 1-d sequence of them (their axis comes first).
        axis: an int, a tuple, or None (every element).
        method: ``'linear'``, ``'lower'``, ``'higher'``, ``'midpoint'`` or ``'nearest'``.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The quantiles; the gradient reaches the elements they interpolate.

    Raises:
        ValueError: a q outside [0, 1], an unknown method, or a bad axis.
    """
    t = to_float(x, "quantile")
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"quantile: method must be one of {_QUANTILE_METHODS}, got {method!r}")
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantile: q must be a number or a 1-d sequence in [0, 1], got {q!r}")
    axes = axes_tuple(axis, t.ndim, "quantile")
    axes = tuple(range(t.ndim)) if axes is None else axes
    rest = [a for a in range(t.ndim) if a not in axes]
    kept = tuple(1 if a in axes else n for a, n in enumerate(t.shape))
    flat = sh.reshape(sh.permute(t, (*rest, *axes)), (*[t.shape[a] for a in rest], -1))
    n = flat.shape[-1]
    if n == 0:
        raise ValueError(f"quantile: cannot take quantiles of an empty tensor of shape {t.shape}")
    ordered = sorting.sort(flat, -1).values
    pos = qs.reshape(-1) * (n - 1)
    lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)

    def at(i):
        return sh.movedim(ordered[..., i], -1, 0)  # the q axis first

    if method == "lower":
        out = at(lo)
    elif method == "higher":
        out = at(hi)
    elif method == "nearest":
        out = at(np.round(pos).astype(np.int64))
    else:
        frac = np.full_like(pos, 0.5) if method == "midpoint" else pos - lo
        w = detached(frac.reshape((-1,) + (1,) * len(rest)).astype(t._data.dtype))
        out = ew.add(at(lo), ew.mul(ew.sub(at(hi), at(lo)), w))
    if keepdims:
        out = sh.reshape(out, (len(pos), *kept))
    return out if qs.ndim else sh.reshape(out, out.shape[1:])


def median(x, axis=None, keepdims: bool = False) -> Tensor:
    """The median over ``axis`` (the mean of the two middle values for an even count)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# ----------------------------------------------------------------------------- norm
def norm(x, ord=None, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A002 - Keras's name
    """A vector or matrix norm.

    Args:
        x: the tensor (integers become float32).
        ord: for vectors (one axis, or ``x`` 1-d) any number, ``inf`` or ``-inf`` (None: 2);
            for matrices (two axes, or ``x`` 2-d with ``axis=None``) ``None``/``'fro'``
            (Frobenius), 1, -1, ``inf`` or ``-inf``.
        axis: None, one axis or a pair of axes.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The norm.

    Raises:
        ValueError: an ``ord`` that does not fit the number of axes, or a bad axis.
        NotImplementedError: ``ord`` 2, -2 or 'nuc' for matrices (they need an SVD).
    """
    t = to_float(x, "norm")
    keepdims = bool(keepdims)
    if axis is None:
        axes = tuple(range(t.ndim))
        if t.ndim > 2 and ord is not None:
            raise ValueError(f"norm: ord={ord!r} needs axis= for a tensor of {t.ndim} dims")
    else:
        axes = axes_tuple(axis, t.ndim, "norm")
    if len(axes) == 1 or (axis is None and ord is None):
        if isinstance(ord, str) and ord != "fro" or (ord == "fro" and len(axes) == 1):
            raise ValueError(f"norm: ord={ord!r} is not a vector norm")
        p = 2.0 if ord is None or ord == "fro" else float(ord)
        if p == 0:
            counts = np.count_nonzero(t._data, axis=axes, keepdims=keepdims)
            return detached(counts.astype(t._data.dtype))
        return reduction.norm(t, p, axis=axes, keepdims=keepdims)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must be one axis or a pair of axes, got {axis!r}")
    if ord is None or ord == "fro":
        return reduction.norm(t, 2.0, axis=axes, keepdims=keepdims)
    if ord in (2, -2, "nuc"):
        raise NotImplementedError(f"norm: the matrix norm ord={ord!r} is not supported")
    if ord not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"norm: ord={ord!r} is not a matrix norm")
    # 1 / -1: max / min column sum of |x|; inf / -inf: max / min row sum
    row, col = axes
    summed, other = (row, col) if ord in (1, -1) else (col, row)
    sums = reduction.sum(ew.abs(t), axis=summed, keepdims=True)
    pick = reduction.amax if ord > 0 else reduction.amin
    out = pick(sums, axis=other, keepdims=True)
    return (
        out
        if keepdims
        else sh.reshape(out, tuple(n for i, n in enumerate(t.shape) if i not in axes))
    )
