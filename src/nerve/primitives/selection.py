"""Ops that pick between values: clamp (clip, clamp_min, clamp_max), maximum, minimum and where.
Re-exported by ``elementwise.py``.

At ties, maximum and minimum split the gradient between their inputs (torch's convention); a
clamp's gradient flows inside its bounds, bounds included. Backward passes mask with bool arrays
(see ``elementwise.py``).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.casting import cast
from nerve.primitives.common import as_tensor, binary_operands
from nerve.primitives.operands import binary, check_shapes

__all__ = ["clamp", "clamp_max", "clamp_min", "clip", "maximum", "minimum", "where"]


@register("clamp")
class Clamp(Function):
    """min(max(x, lo), hi) where ``lo``/``hi`` may be None, arrays or Tensors.

    As in torch: x's gradient flows where lo <= x <= hi (bounds included); where lo > hi the
    result is hi and the gradient goes to hi.
    """

    def forward(self, x, lo, hi):
        self.x, self.lo, self.hi = x, lo, hi
        return np.clip(x, lo, hi)

    def backward(self, g):
        x, lo, hi = self.x, self.lo, self.hi
        need_x, need_lo, need_hi = self.needs_input_grad
        gx = glo = ghi = None
        if lo is not None and hi is not None:
            if need_x:
                gx = g * ((x >= lo) & (x <= hi))
            if need_lo:
                glo = g * ((x < lo) & (lo < hi))
            if need_hi:
                ghi = g * ((x > hi) | (hi < lo))
        elif lo is not None:
            gx = g * (x >= lo) if need_x else None
            glo = g * (x < lo) if need_lo else None
        else:
            gx = g * (x <= hi) if need_x else None
            ghi = g * (x > hi) if need_hi else None
        return gx, glo, ghi


@register("maximum")
class Maximum(Function):
    """Elementwise max; at ties each input gets half the gradient (torch's convention)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        return _split_ties(g, self.a, self.b, self.needs_input_grad)


@register("minimum")
class Minimum(Function):
    """Elementwise min; at ties each input gets half the gradient (torch's convention)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, g):
        return _split_ties(g, self.b, self.a, self.needs_input_grad)


def _split_ties(g, hi, lo, needs):
    """Gradients of max(hi, lo)-like selections: the winner gets g, a tie g/2 each.

    Written as 1 - (lost) - 0.5 (tie), so that nan (neither lost nor tied) passes g, as torch.
    """
    one = g.dtype.type(1)  # a NumPy scalar, so bool masks become g's dtype, not float64
    tie = (hi == lo) * (one / 2)
    g_hi = g * (one - (hi < lo) - tie) if needs[0] else None
    g_lo = g * (one - (hi > lo) - tie) if needs[1] else None
    return g_hi, g_lo


@register("where")
class Where(Function):
    """x where condition else y; the condition gets no gradient."""

    differentiable = (1, 2)

    def forward(self, condition, x, y):
        self.condition = condition
        return np.where(condition, x, y)

    def backward(self, g):
        c = self.condition
        _, need_x, need_y = self.needs_input_grad
        return None, (g * c if need_x else None), (g * ~c if need_y else None)


def clamp(x, min=None, max=None) -> Tensor:
    """Limit ``x`` to [min, max]; either bound may be None, a scalar or a Tensor.

    The gradient is 1 inside the range (bounds included) and 0 outside.

    >>> import nerve
    >>> nerve.clamp(nerve.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    x = as_tensor(x, "clamp")
    lo = hi = None
    if min is not None:
        x, lo = binary_operands(x, min, "clamp")
    if max is not None:
        x, hi = binary_operands(x, max, "clamp")
        if lo is not None and lo._data.dtype != x._data.dtype:
            lo = cast(lo, x._data.dtype)
    try:
        return Clamp.apply(x, lo, hi)
    except ValueError:
        check_shapes("clamp", *(t._data for t in (x, lo, hi) if t is not None))
        raise


clip = clamp


def clamp_min(x, min) -> Tensor:
    """``clamp(x, min=min)``."""
    return clamp(x, min=min)


def clamp_max(x, max) -> Tensor:
    """``clamp(x, max=max)``."""
    return clamp(x, max=max)


def maximum(x, other) -> Tensor:
    """Elementwise maximum with broadcasting (nan wins, as in torch)."""
    return binary(Maximum, x, other, "maximum")


def minimum(x, other) -> Tensor:
    """Elementwise minimum with broadcasting (nan wins, as in torch)."""
    return binary(Minimum, x, other, "minimum")


def where(condition, x=None, y=None):
    """``x`` where ``condition`` is True, else ``y``; x and y may be scalars; all broadcast.

    With ``condition`` alone, returns the indices of its True elements, one int64 Tensor per
    dimension (like ``nonzero(as_tuple=True)``).

    >>> import nerve
    >>> c = nerve.tensor([True, False, True])
    >>> nerve.where(c, nerve.tensor([1.0, 2.0, 3.0]), 0.0).tolist()
    [1.0, 0.0, 3.0]
    """
    c = as_tensor(condition, "where")
    if c._data.dtype.kind != "b":
        raise TypeError(
            f"where: condition must be a bool tensor, got dtype {c._data.dtype}; "
            "compare it first (e.g. mask != 0)"
        )
    if x is None and y is None:
        return tuple(Tensor._wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(c._data))
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    a, b = binary_operands(x, y, "where")
    try:
        return Where.apply(c, a, b)
    except ValueError:
        check_shapes("where", c._data, a._data, b._data)
        raise
