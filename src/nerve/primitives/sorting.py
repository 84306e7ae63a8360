"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, nanmedian, mode, quantile,
nanquantile, unique; counting and bins:
bincount, searchsorted, bucketize, histc (not differentiable).

The order is found on the raw array (a stable sort, so ties keep their input order, and NaN sorts
as the largest value, as in torch); the values are then picked by :class:`TakeAlong`, whose
backward puts each gradient back where its value came from. Indices are int64 tensors outside
the graph; ``unique`` is not differentiable.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import accumulate, as_tensor, normalize_dim, to_host

__all__ = [
    "argsort",
    "bincount",
    "bucketize",
    "histc",
    "kthvalue",
    "median",
    "mode",
    "msort",
    "nanmedian",
    "nanquantile",
    "quantile",
    "searchsorted",
    "sort",
    "topk",
    "unique",
]

# (values, indices) pairs named like torch.return_types.*
_SortResult = namedtuple("sort", ("values", "indices"))
_TopkResult = namedtuple("topk", ("values", "indices"))
_KthResult = namedtuple("kthvalue", ("values", "indices"))
_MedianResult = namedtuple("median", ("values", "indices"))


class TakeAlong(Function):
    """The elements at ``indices`` (found by the caller) along ``axis``; the gradient goes back
    to those positions. ``indices`` has the input's number of dims; with ``keepdims=False`` the
    (size-1) axis is dropped from the result. Indices must not repeat within a slice."""

    def forward(self, x, indices, axis, keepdims):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        out = np.take_along_axis(x, indices, axis=axis)
        return out if keepdims else np.squeeze(out, axis=axis)

    def backward(self, g):
        grad = array_module_of(g).zeros(self.shape, dtype=g.dtype)
        if g.ndim < len(self.shape):
            g = np.expand_dims(g, self.axis)
        _put_along(grad, self.indices, g, self.axis)
        return grad


def _put_along(out, indices, values, axis: int) -> None:
    """``np.put_along_axis(out, indices, values, axis)`` on either device (no repeats)."""
    if type(out) is np.ndarray:
        np.put_along_axis(out, indices, values, axis=axis)
        return
    xp = array_module_of(out)
    pos = []
    for d, m in enumerate(indices.shape):
        view = [1] * indices.ndim
        view[d] = -1
        pos.append(indices if d == axis else xp.arange(m).reshape(view))
    out[tuple(pos)] = values


@register("sort")
class Sort(TakeAlong):
    """sort(x, dim): the values in order; also topk's and argsort's order."""


@register("kthvalue")
class KthValue(TakeAlong):
    """kthvalue(x, k, dim) and median(x, dim): one value per slice."""


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``axis`` (int64); descending keeps ties in input order and puts NaN
    first, as torch does: the ascending sort of the reversed array, reversed back."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    n = a.shape[axis]
    rev = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(rev, axis)).astype(np.int64, copy=False)


def _prepare(op: str, input, dim: int):
    x = as_tensor(input, op)
    if x.ndim == 0:
        normalize_dim(dim, 0, op)
        return x, None
    return x, normalize_dim(dim, x.ndim, op)


def _zero_d(x: Tensor, result):
    return result(x.clone(), Tensor._wrap(array_module_of(x._data).zeros((), np.int64)))


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sort along ``dim``; returns ``(values, indices)`` like torch.sort.

    The sort is always stable (``stable`` is accepted for torch's signature): equal elements keep
    their input order. NaN sorts as the largest value. The gradient of ``values`` goes back to
    the element each came from.

    Args:
        input: a tensor.
        dim: the dimension to sort along.
        descending: largest first.
        stable: accepted; the sort is stable either way.

    Returns:
        A named tuple ``(values, indices)``; ``indices`` is int64.

    Raises:
        IndexError: ``dim`` is out of range.

    >>> import nerve
    >>> nerve.sort(nerve.tensor([3.0, 1.0, 2.0])).indices.tolist()
    [1, 2, 0]
    """
    x, ax = _prepare("sort", input, dim)
    if ax is None:
        return _zero_d(x, _SortResult)
    idx = _order(x._data, ax, descending)
    return _SortResult(Sort.apply(x, indices=idx, axis=ax, keepdims=True), Tensor._wrap(idx))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (see :func:`sort`); no gradient.

    >>> import nerve
    >>> nerve.argsort(nerve.tensor([3.0, 1.0, 2.0]), descending=True).tolist()
    [0, 2, 1]
    """
    x, ax = _prepare("argsort", input, dim)
    if ax is None:
        return Tensor._wrap(array_module_of(x._data).zeros((), np.int64))
    return Tensor._wrap(_order(x._data, ax, descending))


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``.

    The result is always in sorted order (largest first, or smallest first with
    ``largest=False``); ties keep their input order.

    Args:
        input: a tensor.
        k: how many elements to keep, 0 <= k <= size of ``dim``.
        dim: the dimension to select along.
        largest: the largest (True) or the smallest (False) elements.
        sorted: accepted; the result is sorted either way.

    Returns:
        A named tuple ``(values, indices)``; ``indices`` is int64.

    Raises:
        RuntimeError: ``k`` is out of range for the dimension.
        IndexError: ``dim`` is out of range.

    >>> import nerve
    >>> nerve.topk(nerve.tensor([1.0, 4.0, 2.0, 3.0]), 2).values.tolist()
    [4.0, 3.0]
    """
    dim = -1 if dim is None else dim  # torch's default: the last dim
    x, ax = _prepare("topk", input, dim)
    n = 1 if ax is None else x.shape[ax]
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(
            f"topk: k={k} is out of range for dim {dim} of size {n} (input shape {x.shape})"
        )
    if ax is None:
        if k == 1:
            return _zero_d(x, _TopkResult)
        x, ax = x.reshape(1), 0
    idx = _order(x._data, ax, largest)
    idx = idx[(slice(None),) * ax + (slice(0, k),)].copy()  # C-contiguous
    return _TopkResult(Sort.apply(x, indices=idx, axis=ax, keepdims=True), Tensor._wrap(idx))


def _pick(x: Tensor, ax: int, pos: np.ndarray, keepdim: bool, result):
    """Values and indices at the ``pos``-th element of the ascending order along ``ax``."""
    order = _order(x._data, ax, False)
    idx = np.take_along_axis(order, pos, axis=ax)
    values = KthValue.apply(x, indices=idx, axis=ax, keepdims=keepdim)
    return result(values, Tensor._wrap(idx if keepdim else np.squeeze(idx, axis=ax)))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``, as ``(values, indices)``.

    Raises:
        RuntimeError: ``k`` is not in 1..size of ``dim``.
        IndexError: ``dim`` is out of range.

    >>> import nerve
    >>> nerve.kthvalue(nerve.tensor([3.0, 1.0, 2.0]), 2).values.item()
    2.0
    """
    dim = -1 if dim is None else dim
    x, ax = _prepare("kthvalue", input, dim)
    n = 1 if ax is None else x.shape[ax]
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue: k={k} is out of range for dim {dim} of size {n} (k counts from 1; "
            f"input shape {x.shape})"
        )
    if ax is None:
        return _zero_d(x, _KthResult)
    shape = list(x.shape)
    shape[ax] = 1
    pos = array_module_of(x._data).full(shape, k - 1, np.int64)
    return _pick(x, ax, pos, keepdim, _KthResult)


def median(input, dim=None, keepdim: bool = False):
    """The median (the lower of the two middle values for an even count, as torch).

    Without ``dim``: the median of all elements, a 0-d tensor. With ``dim``: ``(values,
    indices)`` along it. A slice holding NaN has median NaN (at its first NaN), as in torch.
    The gradient goes to the element picked.

    Raises:
        IndexError: ``dim`` is out of range.
        RuntimeError: the tensor (or the dimension) is empty.
    """
    x = as_tensor(input, "median")
    if dim is None:
        if x._data.size == 0:
            raise RuntimeError(f"median: cannot take the median of an empty tensor {x.shape}")
        return median(x.reshape(-1), 0).values
    x, ax = _prepare("median", x, dim)
    if ax is None:
        return _zero_d(x, _MedianResult)
    n = x.shape[ax]
    if n == 0:
        raise RuntimeError(f"median: dim {dim} of the tensor of shape {x.shape} is empty")
    shape = list(x.shape)
    shape[ax] = 1
    pos = array_module_of(x._data).full(shape, (n - 1) // 2, np.int64)
    if x._data.dtype.kind == "f":
        # torch: a slice with NaN has median NaN, at its first NaN; NaN sorts last, so pick
        # the first NaN's position in the ascending order (the count of non-NaN elements).
        nans = np.isnan(x._data)
        count = (n - nans.sum(axis=ax, keepdims=True)).astype(np.int64)
        pos = np.where(count < n, count, pos)
    return _pick(x, ax, pos, bool(keepdim), _MedianResult)


def unique(
    input,
    sorted: bool = True,  # noqa: A002 - torch's keyword
    return_inverse: bool = False,
    return_counts: bool = False,
    dim=None,
):
    """The distinct elements of ``input`` in ascending order (not differentiable).

    With ``dim``: the distinct slices along it. ``return_inverse`` adds, for each element (or
    slice), the position of its value in the result; ``return_counts`` how often each occurs.

    Returns:
        A tensor, or a tuple ``(values, inverse?, counts?)`` when either flag is set.

    Raises:
        IndexError: ``dim`` is out of range.
    """
    x = as_tensor(input, "unique")
    a = x._data
    if dim is None:
        res = np.unique(a, return_inverse=True, return_counts=True)
        inverse = res[1].reshape(a.shape)
    else:
        ax = normalize_dim(dim, a.ndim, "unique")
        res = np.unique(a, return_inverse=True, return_counts=True, axis=ax)
        inverse = res[1].reshape(-1)
    out = [Tensor._wrap(res[0])]
    if return_inverse:
        out.append(Tensor._wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(Tensor._wrap(res[2].astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


# ----------------------------------------------------------------------------- counting, bins
def bincount(input, weights=None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-d non-negative integer ``input`` (int64),
    or the sum of ``weights`` per value (in weights' float dtype). Not differentiable.

    Raises:
        TypeError, ValueError: ``input`` is not 1-d non-negative integers; weights' shape differs.

    >>> import nerve
    >>> nerve.bincount(nerve.tensor([1, 1, 3])).tolist()
    [0, 2, 0, 1]
    """
    x = as_tensor(input, "bincount")
    if x.dtype.kind not in "iu" or x.ndim != 1:
        raise TypeError(f"bincount: expects a 1-d integer tensor, got {x.dtype} of shape {x.shape}")
    if x._data.size and x._data.min() < 0:
        raise ValueError(f"bincount: values must be non-negative, got {int(x._data.min())}")
    if weights is None:
        return Tensor._wrap(np.bincount(x._data, minlength=int(minlength)).astype(np.int64))
    w = as_tensor(weights, "bincount")
    if w.shape != x.shape:
        raise ValueError(f"bincount: weights of shape {w.shape} must match the input {x.shape}")
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    out = np.bincount(x._data, weights=w._data, minlength=int(minlength))
    return Tensor._wrap(out.astype(dtype))


def searchsorted(
    sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None
) -> Tensor:
    """Where each value of ``input`` would go in ``sorted_sequence`` (sorted along its last dim)
    to keep it sorted: the first such place, or with ``right=True`` (``side='right'``) the last.
    A 1-d sequence serves every value; an n-d one holds one sequence per row of ``input``.

    Raises:
        ValueError: the leading dims of the two do not match.

    >>> import nerve
    >>> nerve.searchsorted(nerve.tensor([1.0, 2.0, 3.0]), nerve.tensor([2.0, 2.5])).tolist()
    [1, 2]
    """
    seq = as_tensor(sorted_sequence, "searchsorted")._data
    xp = array_module_of(seq)
    vals = as_tensor(input, "searchsorted")._data if not np.isscalar(input) else xp.asarray(input)
    if sorter is not None:
        seq = np.take_along_axis(seq, as_tensor(sorter, "searchsorted")._data, axis=-1)
    how = side if side is not None else ("right" if right else "left")
    if seq.ndim <= 1:
        out = np.searchsorted(seq, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise ValueError(
                f"searchsorted: the sequences' leading dims {seq.shape[:-1]} must match the "
                f"input's {vals.shape[:-1]}"
            )
        rows_s, rows_v = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        out = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(rows_s, rows_v)])
        out = out.reshape(vals.shape)
    return Tensor._wrap(xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value among the sorted 1-d ``boundaries``: i such that
    boundaries[i - 1] < x <= boundaries[i] (with ``right=True``: boundaries[i - 1] <= x <
    boundaries[i]). Not differentiable."""
    b = as_tensor(boundaries, "bucketize")
    if b.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-d, got shape {b.shape}")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def histc(input, bins: int = 100, min=0, max=0) -> Tensor:
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are ignored. Returns counts in the input's float dtype; not differentiable."""
    x = as_tensor(input, "histc")
    if x.dtype.kind != "f":
        raise TypeError(f"histc: expects a floating-point tensor, got dtype {x.dtype}")
    lo, hi = float(min), float(max)
    if lo == hi == 0 and x._data.size:
        lo, hi = float(x._data.min()), float(x._data.max())
    if lo == hi:  # one point: torch widens the range by 1 each side
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ValueError(f"histc: max ({hi}) must be larger than min ({lo})")
    counts, _ = np.histogram(x._data, bins=int(bins), range=(lo, hi))
    return Tensor._wrap(counts.astype(x.dtype))


# ----------------------------------------------------------------------------- quantiles
_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")
_NanMedianResult = namedtuple("nanmedian", ("values", "indices"))


def _quantile(op: str, input, q, dim, keepdim: bool, interpolation: str, skip_nan: bool):
    from nerve.primitives import elementwise as ew
    from nerve.primitives.indexing import gather
    from nerve.primitives.shape import movedim

    x = as_tensor(input, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got dtype {x.dtype}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}"
        )
    qs = np.asarray(to_host(q._data) if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or qs.size == 0 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise ValueError(f"{op}: q must be a number or a 1-d tensor of values in [0, 1], got {q}")
    whole = dim is None
    if whole:
        xs, d = x.reshape(-1), 0
    else:
        xs, d = x, normalize_dim(dim, x.ndim, op)
    if xs.shape[d] == 0:
        raise RuntimeError(f"{op}: cannot take quantiles of an empty dim (input shape {x.shape})")
    n = xs.shape[d]
    order = sort(xs, d).values  # nan sorts last
    nans = np.isnan(xs._data).sum(axis=d, keepdims=True)
    valid = n - nans if skip_nan else np.full_like(nans, n)
    shape = [1] * xs.ndim
    shape[d] = qs.size
    xp = array_module_of(x._data)
    pos = xp.asarray(qs.reshape(shape)) * np.maximum(valid - 1, 0)  # per slice, per q
    lo, hi = np.floor(pos), np.ceil(pos)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(pos)  # halves to even, as torch
    weight = (pos - lo) if interpolation == "linear" else xp.full(pos.shape, 0.5)
    v_lo = gather(order, d, Tensor._wrap(lo.astype(np.int64)))
    v_hi = gather(order, d, Tensor._wrap(hi.astype(np.int64)))
    out = ew.add(v_lo, ew.mul(ew.sub(v_hi, v_lo), Tensor._wrap(weight.astype(x.dtype))))
    undefined = (valid == 0) if skip_nan else (nans > 0)  # all nan / any nan: the result is nan
    if type(x._data) is not np.ndarray or undefined.any():  # a device: no read, always where
        out = ew.where(Tensor._wrap(np.broadcast_to(undefined, out.shape)), np.nan, out)
    if qs.ndim == 0:
        out = out.reshape(out.shape[:d] + out.shape[d + 1 :]) if not keepdim or whole else out
    else:
        out = movedim(out, d, 0)
        if keepdim and not whole:
            out = out.reshape(out.shape[: d + 1] + (1,) + out.shape[d + 1 :])
    if keepdim and whole:
        out = out.reshape(tuple(qs.shape) + (1,) * x.ndim)
    return out


def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """The ``q``-th quantiles (q in [0, 1], a number or a 1-d tensor) along ``dim`` (of all
    elements when None), between the two nearest ranks as ``interpolation`` says ('linear',
    'lower', 'higher', 'nearest', 'midpoint'). A 1-d ``q`` adds a leading dim. A slice holding
    nan gives nan. Gradients go to the one or two elements each result is made of.

    Raises:
        ValueError: q out of [0, 1], or an unknown interpolation.

    >>> import nerve
    >>> nerve.quantile(nerve.tensor([1.0, 2.0, 3.0, 4.0]), 0.5).item()
    2.5
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """:func:`quantile` ignoring nan (nan only where a slice is all nan)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def nanmedian(input, dim=None, keepdim: bool = False):
    """:func:`median` ignoring nan (nan only where a slice is all nan)."""
    x = as_tensor(input, "nanmedian")
    if dim is None:
        if x._data.size == 0:
            raise RuntimeError(f"nanmedian: cannot take the median of an empty tensor {x.shape}")
        return nanmedian(x.reshape(-1), 0).values
    x, ax = _prepare("nanmedian", x, dim)
    if ax is None:
        return _zero_d(x, _NanMedianResult)
    n = x.shape[ax]
    if n == 0:
        raise RuntimeError(f"nanmedian: dim {dim} of the tensor of shape {x.shape} is empty")
    valid = n - np.isnan(x._data).sum(axis=ax, keepdims=True) if x.dtype.kind == "f" else n
    pos = (np.maximum(array_module_of(x._data).asarray(valid) - 1, 0) // 2).astype(np.int64)
    shape = list(x.shape)
    shape[ax] = 1
    return _pick(x, ax, np.broadcast_to(pos, shape).copy(), bool(keepdim), _NanMedianResult)


def msort(input) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


_ModeResult = namedtuple("mode", ("values", "indices"))


def mode(input, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the
    index of its last occurrence, as ``(values, indices)``; the gradient goes to that element.

    >>> import nerve
    >>> nerve.mode(nerve.tensor([1.0, 3.0, 3.0, 1.0, 2.0])).indices.item()
    3
    """
    x, ax = _prepare("mode", input, dim)
    if ax is None:
        return _zero_d(x, _ModeResult)
    n = x.shape[ax]
    if n == 0:
        raise RuntimeError(f"mode: dim {dim} of the tensor of shape {x.shape} is empty")
    order = np.moveaxis(_order(x._data, ax, False), ax, -1)
    rows = order.reshape(-1, n)
    s = np.take_along_axis(np.moveaxis(x._data, ax, -1).reshape(-1, n), rows, axis=1)
    xp = array_module_of(s)
    starts = xp.ones(s.shape, bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    pos = xp.arange(n)
    run_len = pos - accumulate(np.maximum, np.where(starts, pos, 0), 1) + 1
    # The first position where the longest run ends: the smallest of the most frequent values;
    # the stable sort puts that value's last occurrence there.
    best = np.argmax(run_len, axis=1)
    idx = rows[xp.arange(rows.shape[0]), best].reshape(order.shape[:-1] + (1,))
    idx = np.moveaxis(idx, -1, ax)
    values = KthValue.apply(x, indices=idx, axis=ax, keepdims=bool(keepdim))
    return _ModeResult(values, Tensor._wrap(idx if keepdim else np.squeeze(idx, axis=ax)))
