"""max and min (values, or torch's (values, indices) pair along a dim), amax and amin, argmax
and argmin. Re-exported by ``reduction.py``.

Without a dim the gradient of max/min (and of amax/amin) is shared evenly among tied elements;
along a dim it goes to the element at the returned index. NumPy's keywords (axis=/keepdims=) mean
NumPy's semantics: the values only.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, keep
from nerve.primitives.reduce_axes import (
    _axes,
    _expand_back,
    _require_nonempty,
    _single_dim,
    _squeeze,
)
from nerve.primitives.sorting import TakeAlong

__all__ = ["amax", "amin", "argmax", "argmin", "max", "min"]


# The (values, indices) pair that max/min return along a dim, like torch.return_types.max.
_MaxResult = namedtuple("max", ("values", "indices"))
_MinResult = namedtuple("min", ("values", "indices"))


@register("max")
class MaxDim(TakeAlong):
    """max(x, dim): the values at argmax."""


@register("min")
class MinDim(TakeAlong):
    """min(x, dim): the values at argmin."""


class _Extreme(Function):
    """amax/amin: the gradient is split evenly among the elements equal to the result."""

    reduce: staticmethod  # np.max or np.min, set by the subclass

    def forward(self, x, axes, keepdims):
        out = self.reduce(x, axis=axes, keepdims=True)
        self.mask, self.axes, self.keepdims = x == out, axes, keepdims
        return _squeeze(out, axes, keepdims)

    def backward(self, g):
        g = _expand_back(g, self.axes, self.keepdims)
        mask = self.mask
        ties = mask.sum(axis=self.axes, keepdims=True, dtype=g.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # nan in the input: no match
            return np.where(mask, g / ties, g.dtype.type(0))


@register("amax")
class Amax(_Extreme):
    reduce = staticmethod(np.max)


@register("amin")
class Amin(_Extreme):
    reduce = staticmethod(np.min)


def _numpy_style(op: str, dim, keepdim, axis, keepdims) -> bool:
    """True when the call uses NumPy's keywords (axis=/keepdims=): NumPy semantics, values only.

    torch's ``dim``/``keepdim`` give the (values, indices) pair; a call mixing both styles is
    ambiguous (which result did it mean?) and refused.
    """
    numpy_style = axis is not None or keepdims is not None
    if numpy_style and (dim is not None or keepdim):
        raise TypeError(
            f"{op}: use torch's dim=/keepdim= (returns (values, indices)) or NumPy's "
            "axis=/keepdims= (returns values), not both in one call"
        )
    return numpy_style


def _extreme(op, x, dim, keepdim, axis, keepdims, along_cls, all_cls, arg, result):
    x = as_tensor(x, op)
    if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
        from nerve.primitives import elementwise

        return (elementwise.maximum if op == "max" else elementwise.minimum)(x, dim)
    if _numpy_style(op, dim, keepdim, axis, keepdims):
        # NumPy's x.max(axis=..., keepdims=...): the values, as amax computes them.
        return _amaxmin(op, all_cls, x, None, False, axis, bool(keepdims))
    if dim is None:
        _require_nonempty(op, x.shape, None)
        return all_cls.apply(x, axes=None, keepdims=False)
    keepdims = bool(keepdim)
    ax = _single_dim(op, x, dim, None)
    if x.ndim == 0:
        return result(x.clone(), Tensor._wrap(array_module_of(x._data).zeros((), np.int64)))
    _require_nonempty(op, x.shape, (ax,))
    idx = np.expand_dims(arg(x._data, axis=ax), ax)
    values = along_cls.apply(x, indices=idx, axis=ax, keepdims=keepdims)
    return result(values, Tensor._wrap(idx if keepdims else np.squeeze(idx, axis=ax)))


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest element, or ``(values, indices)`` along ``dim`` as torch.max returns.

    Without ``dim`` the gradient is shared evenly among tied maxima; along ``dim`` it goes to the
    element at ``indices`` (int64, not differentiable). ``max(a, b)`` is the elementwise maximum.
    NumPy's keywords mean NumPy's semantics: ``x.max(axis=-1, keepdims=True)`` returns the values
    only (``axis`` may be a tuple), so ``x - x.max(axis=-1, keepdims=True)`` broadcasts right.

    Raises:
        TypeError: torch's dim=/keepdim= mixed with NumPy's axis=/keepdims= in one call.

    >>> import nerve
    >>> nerve.max(nerve.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1).indices
    tensor([1, 0])
    """
    return _extreme("max", x, dim, keepdim, axis, keepdims, MaxDim, Amax, np.argmax, _MaxResult)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest element, or ``(values, indices)`` along ``dim`` (see :func:`max`)."""
    return _extreme("min", x, dim, keepdim, axis, keepdims, MinDim, Amin, np.argmin, _MinResult)


def _amaxmin(op, cls, x, dim, keepdim, axis, keepdims) -> Tensor:
    x = as_tensor(x, op)
    axes = _axes(op, x, dim, axis)
    _require_nonempty(op, x.shape, axes)
    return cls.apply(x, axes=axes, keepdims=keep(keepdim, keepdims))


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Maximum over ``dim`` (int, tuple or None); ties share the gradient evenly."""
    return _amaxmin("amax", Amax, x, dim, keepdim, axis, keepdims)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Minimum over ``dim`` (int, tuple or None); ties share the gradient evenly."""
    return _amaxmin("amin", Amin, x, dim, keepdim, axis, keepdims)


def _arg(op, fn, x, dim, keepdim, axis, keepdims) -> Tensor:
    x = as_tensor(x, op)
    keepdims = keep(keepdim, keepdims)
    if dim is None and axis is None:
        _require_nonempty(op, x.shape, None)
        out = fn(x._data.reshape(-1))
        shape = (1,) * x.ndim if keepdims else ()
        return Tensor._wrap(array_module_of(x._data).asarray(out, dtype=np.int64).reshape(shape))
    ax = _single_dim(op, x, dim, axis)
    if x.ndim == 0:
        return Tensor._wrap(array_module_of(x._data).zeros((), dtype=np.int64))
    _require_nonempty(op, x.shape, (ax,))
    return Tensor._wrap(fn(x._data, axis=ax, keepdims=keepdims).astype(np.int64, copy=False))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index (int64) of the largest element along ``dim``, or into the flattened tensor."""
    return _arg("argmax", np.argmax, x, dim, keepdim, axis, keepdims)


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """Index (int64) of the smallest element along ``dim``, or into the flattened tensor."""
    return _arg("argmin", np.argmin, x, dim, keepdim, axis, keepdims)
