"""More of keras.ops' NumPy-like ops: NaN-ignoring reductions, splits and flips, small math
helpers, and ``scan``. Each is composed from the families beside it (and so from nerve's
primitives), so the differentiable ones carry gradients.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops import numpy_array as arr
from nerve.keras.ops import numpy_reduce as red
from nerve.keras.ops._common import (
    axes_tuple,
    axis_index,
    detached,
    standardize_dtype,
    to_float,
    to_tensor,
)
from nerve.keras.ops.numpy_math import _pair
from nerve.primitives import elementwise as ew
from nerve.primitives import shape as sh

__all__ = [
    "allclose",
    "array",
    "array_split",
    "cbrt",
    "copy",
    "deg2rad",
    "divide_no_nan",
    "dsplit",
    "dstack",
    "fliplr",
    "flipud",
    "fmod",
    "get_item",
    "heaviside",
    "hsplit",
    "hypot",
    "isin",
    "isneginf",
    "isposinf",
    "logaddexp2",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "percentile",
    "ptp",
    "rad2deg",
    "rot90",
    "saturate_cast",
    "scan",
    "signbit",
    "vsplit",
]


# ----------------------------------------------------------------------------- conversion
def array(x, dtype=None) -> Tensor:
    """``x`` as a tensor (a copy), cast to ``dtype`` when given."""
    t = to_tensor(x, "array", dtype)
    return detached(t._data.copy()) if not t.requires_grad else ew.clone(t)


def copy(x) -> Tensor:
    """A copy of ``x`` (the gradient flows through)."""
    t = to_tensor(x, "copy")
    return ew.clone(t) if t.requires_grad else detached(t._data.copy())


def saturate_cast(x, dtype) -> Tensor:
    """``x`` cast to ``dtype`` with values first clipped to its range (no wrap-around)."""
    t = to_tensor(x, "saturate_cast")
    dt = standardize_dtype(dtype, "saturate_cast")
    src = t._data.dtype
    if dt.kind in "iu" and src.kind in "iuf":
        info = np.iinfo(dt)
        if src.kind == "f":
            # the largest floats of x's dtype inside the range (2**31 - 1 is not a float32)
            lo, hi = np.asarray(info.min, src), np.asarray(info.max, src)
            lo = lo if int(lo) >= info.min else np.nextafter(lo, 0)
            hi = hi if int(hi) <= info.max else np.nextafter(hi, 0)
            t = ew.clamp(t, float(lo), float(hi))
        else:
            t = ew.clamp(
                t, int(max(info.min, np.iinfo(src).min)), int(min(info.max, np.iinfo(src).max))
            )
    elif dt.kind == "f" and src.kind == "f" and dt.itemsize < src.itemsize:
        fi = np.finfo(dt)
        t = ew.clamp(t, float(fi.min), float(fi.max))
    return ew.cast(t, dt)


def get_item(x, key) -> Tensor:
    """``x[key]`` (NumPy indexing; differentiable)."""
    return to_tensor(x, "get_item")[key]


# ----------------------------------------------------------------------------- math helpers
def _floats(x1, x2, op: str):
    a, b = _pair(x1, x2, op)
    a = a if not isinstance(a, Tensor) or a._data.dtype.kind == "f" else to_float(a, op)
    b = b if not isinstance(b, Tensor) or b._data.dtype.kind == "f" else to_float(b, op)
    return a, b


def fmod(x1, x2) -> Tensor:
    """The remainder of ``x1 / x2`` with the sign of ``x1`` (C's fmod)."""
    return ew.fmod(*_pair(x1, x2, "fmod"))


def hypot(x1, x2) -> Tensor:
    """``sqrt(x1^2 + x2^2)``, elementwise."""
    a, b = _floats(x1, x2, "hypot")
    return ew.sqrt(ew.add(ew.square(a), ew.square(b)))


def cbrt(x) -> Tensor:
    """The real cube root, elementwise (negative inputs give negative roots)."""
    t = to_float(x, "cbrt")
    return ew.mul(ew.sign(t), ew.pow(ew.abs(t), 1.0 / 3.0))


def deg2rad(x) -> Tensor:
    """Degrees to radians."""
    return ew.mul(to_float(x, "deg2rad"), math.pi / 180.0)


def rad2deg(x) -> Tensor:
    """Radians to degrees."""
    return ew.mul(to_float(x, "rad2deg"), 180.0 / math.pi)


def logaddexp2(x1, x2) -> Tensor:
    """``log2(2^x1 + 2^x2)``, computed stably."""
    a, b = _floats(x1, x2, "logaddexp2")
    ln2 = math.log(2.0)
    return ew.div(ew.logaddexp(ew.mul(a, ln2), ew.mul(b, ln2)), ln2)


def divide_no_nan(x1, x2) -> Tensor:
    """``x1 / x2``, and 0 wherever ``x2`` is 0 (no gradient flows through those places)."""
    a, b = to_float(x1, "divide_no_nan"), to_float(x2, "divide_no_nan")
    zero = ew.eq(b, 0)
    return ew.where(zero, 0.0, ew.div(a, ew.where(zero, 1.0, b)))


def heaviside(x1, x2) -> Tensor:
    """0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``."""
    a, b = _floats(x1, x2, "heaviside")
    a = a if isinstance(a, Tensor) else to_float(a, "heaviside")
    step = ew.where(ew.gt(a, 0), 1.0, 0.0)
    return ew.where(ew.eq(a, 0), b, step)


def signbit(x) -> Tensor:
    """True where the sign bit is set (negative numbers and -0.0)."""
    return detached(np.signbit(to_tensor(x, "signbit")._data))


def isneginf(x) -> Tensor:
    """True where ``x`` is -inf."""
    return detached(np.isneginf(to_tensor(x, "isneginf")._data))


def isposinf(x) -> Tensor:
    """True where ``x`` is +inf."""
    return detached(np.isposinf(to_tensor(x, "isposinf")._data))


def isin(x1, x2, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``x1`` occurs in ``x2`` (False with ``invert``)."""
    a, b = to_tensor(x1, "isin")._data, to_tensor(x2, "isin")._data
    return detached(np.isin(a, b, assume_unique=assume_unique, invert=invert))


def allclose(x1, x2, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """Whether every element of ``x1`` is close to ``x2`` (a 0-d bool tensor)."""
    a, b = to_tensor(x1, "allclose")._data, to_tensor(x2, "allclose")._data
    return detached(np.asarray(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


# ----------------------------------------------------------------------------- NaN-ignoring
def _without_nan(op: str, x, fill: float) -> tuple[Tensor, np.ndarray]:
    t = to_float(x, op)
    nan = np.isnan(t._data)
    return (ew.where(detached(nan), fill, t) if nan.any() else t), nan


def nansum(x, axis=None, keepdims: bool = False) -> Tensor:
    """The sum over ``axis``, NaNs counted as zero."""
    t, _ = _without_nan("nansum", x, 0.0)
    return red.sum(t, axis, keepdims)


def nanprod(x, axis=None, keepdims: bool = False) -> Tensor:
    """The product over ``axis``, NaNs counted as one."""
    t, _ = _without_nan("nanprod", x, 1.0)
    return red.prod(t, axis, keepdims)


def nanmean(x, axis=None, keepdims: bool = False) -> Tensor:
    """The mean over ``axis`` of the elements that are not NaN."""
    t, nan = _without_nan("nanmean", x, 0.0)
    axes = axes_tuple(axis, t.ndim, "nanmean")
    count = np.sum(~nan, axis=axes, keepdims=bool(keepdims)).astype(t._data.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # all-NaN slices give NaN
        return ew.div(red.sum(t, axis, keepdims), detached(count))


def nanvar(x, axis=None, keepdims: bool = False) -> Tensor:
    """The population variance over ``axis`` of the elements that are not NaN."""
    t, nan = _without_nan("nanvar", x, 0.0)
    axes = axes_tuple(axis, t.ndim, "nanvar")
    with np.errstate(divide="ignore", invalid="ignore"):
        count = detached(np.sum(~nan, axis=axes, keepdims=True).astype(t._data.dtype))
        dev = ew.where(detached(nan), 0.0, ew.sub(t, ew.div(red.sum(t, axis, True), count)))
        total = red.sum(ew.square(dev), axis, True)
        out = ew.div(total, count)
    return out if keepdims else arr.squeeze(out, axes) if axes else arr.reshape(out, ())


def nanstd(x, axis=None, keepdims: bool = False) -> Tensor:
    """The population standard deviation over ``axis`` ignoring NaNs."""
    return ew.sqrt(nanvar(x, axis, keepdims))


def nanmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """The maximum over ``axis`` ignoring NaNs (NaN where every element is NaN)."""
    t, nan = _without_nan("nanmax", x, -np.inf)
    out = red.max(t, axis, keepdims)
    return _all_nan(out, nan, t.ndim, axis, keepdims, "nanmax")


def nanmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """The minimum over ``axis`` ignoring NaNs (NaN where every element is NaN)."""
    t, nan = _without_nan("nanmin", x, np.inf)
    out = red.min(t, axis, keepdims)
    return _all_nan(out, nan, t.ndim, axis, keepdims, "nanmin")


def _all_nan(out: Tensor, nan: np.ndarray, ndim: int, axis, keepdims, op: str) -> Tensor:
    every = np.all(nan, axis=axes_tuple(axis, ndim, op), keepdims=bool(keepdims))
    return ew.where(detached(every), np.nan, out) if every.any() else out


def ptp(x, axis=None, keepdims: bool = False) -> Tensor:
    """The range ``max - min`` over ``axis``."""
    t = to_tensor(x, "ptp")
    return ew.sub(red.max(t, axis, keepdims), red.min(t, axis, keepdims))


def percentile(x, q, axis=None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The ``q``-th percentiles (``q`` in [0, 100]); see :func:`quantile`."""
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64) / 100.0
    return red.quantile(x, qs, axis=axis, method=method, keepdims=keepdims)


# ----------------------------------------------------------------------------- splits, flips
def array_split(x, indices_or_sections, axis: int = 0) -> list:
    """``x`` cut along ``axis`` into N nearly equal pieces (the first ones one longer), or at
    the given indices."""
    t = to_tensor(x, "array_split")
    if not isinstance(indices_or_sections, (int, np.integer)):
        return arr.split(t, indices_or_sections, axis)
    k = int(indices_or_sections)
    if k <= 0:
        raise ValueError(f"array_split: the number of sections must be positive, got {k}")
    n = t.shape[axis_index(axis, t.ndim, "array_split")]
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return arr.split(t, list(np.cumsum(sizes)[:-1]), axis)


def _split_along(op: str, x, indices_or_sections, axis: int, min_ndim: int) -> list:
    t = to_tensor(x, op)
    if t.ndim < min_ndim:
        raise ValueError(f"{op}: needs at least {min_ndim} dims, got shape {t.shape}")
    return arr.split(t, indices_or_sections, axis)


def hsplit(x, indices_or_sections) -> list:
    """:func:`split` along axis 1 (axis 0 for 1-d tensors)."""
    t = to_tensor(x, "hsplit")
    return arr.split(t, indices_or_sections, 0 if t.ndim == 1 else 1)


def vsplit(x, indices_or_sections) -> list:
    """:func:`split` along axis 0 of a tensor with at least 2 dims."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


def dsplit(x, indices_or_sections) -> list:
    """:func:`split` along axis 2 of a tensor with at least 3 dims."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


def dstack(xs) -> Tensor:
    """The tensors joined along axis 2 (1-d and 2-d ones get size-1 axes first)."""
    ts = [to_tensor(t, "dstack") for t in xs]
    ts = [
        sh.reshape(t, (1, -1, 1))
        if t.ndim <= 1
        else sh.reshape(t, (*t.shape, 1))
        if t.ndim == 2
        else t
        for t in ts
    ]
    return arr.concatenate(ts, axis=2)


def fliplr(x) -> Tensor:
    """``x`` reversed along axis 1."""
    return arr.flip(x, axis=1)


def flipud(x) -> Tensor:
    """``x`` reversed along axis 0."""
    return arr.flip(x, axis=0)


def rot90(array, k: int = 1, axes=(0, 1)) -> Tensor:
    """``array`` rotated by 90 degrees ``k`` times in the plane of ``axes`` (counterclockwise
    from the first axis toward the second).

    Raises:
        ValueError: ``axes`` that are not two different axes.
    """
    t = to_tensor(array, "rot90")
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name two axes, got {axes!r}")
    a, b = (axis_index(i, t.ndim, "rot90", "axes") for i in axes)
    if a == b:
        raise ValueError(f"rot90: axes must differ, got {axes!r}")
    k = int(k) % 4
    if k == 0:
        return t
    if k == 2:
        return sh.flip(t, (a, b))
    perm = list(range(t.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return sh.permute(sh.flip(t, (b,)), tuple(perm))
    return sh.flip(sh.permute(t, tuple(perm)), (b,))


# ----------------------------------------------------------------------------- scan
def scan(f, init, xs=None, length=None, reverse: bool = False, unroll=1):
    """``carry, y = f(carry, x)`` for each slice ``x`` of ``xs`` along the first axis (or
    ``length`` times with ``x=None``); returns the last carry and the stacked ``y``s.

    Raises:
        ValueError: neither ``xs`` nor ``length``, or a ``length`` that differs from xs's.
    """
    if xs is None and length is None:
        raise ValueError("scan: give xs or length")
    if xs is not None:
        nested = isinstance(xs, (tuple, list))
        parts = [to_tensor(x, "scan") for x in (xs if nested else [xs])]
        n = parts[0].shape[0]
        if length is not None and int(length) != n:
            raise ValueError(f"scan: length={length} but xs has {n} slices")
    else:
        nested, parts, n = False, [], int(length)
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        x = None
        if parts:
            x = type(xs)(p[i] for p in parts) if nested else parts[0][i]
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, _stack(ys, n)


def _stack(ys: list, n: int):
    if not ys or ys[0] is None:
        return None
    first = ys[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack([y[i] for y in ys], n) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([y[k] for y in ys], n) for k in first}
    return sh.stack([to_tensor(y, "scan") for y in ys], 0)
