"""Rounding: round (with decimals), floor, ceil, trunc, frac.

round/floor/ceil/trunc are flat almost everywhere, so their gradient is zero (torch's choice, at
the jumps too); frac = x - trunc(x) passes the gradient unchanged. Integer and bool tensors come
back as they are (torch returns integer inputs unchanged), and carry no gradient anyway.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor, require_float

__all__ = ["ceil", "floor", "frac", "round", "trunc"]


class _Flat(Function):
    """A piecewise-constant op: the gradient is zero everywhere."""

    def backward(self, g):
        return np.zeros_like(g)


@register("round")
class Round(_Flat):
    """Round half to even, as torch (and NumPy) do; ``decimals`` scales by 10**decimals first."""

    def forward(self, x, decimals):
        return np.round(x, decimals) if decimals else np.rint(x)


@register("floor")
class Floor(_Flat):
    def forward(self, x):
        return np.floor(x)


@register("ceil")
class Ceil(_Flat):
    def forward(self, x):
        return np.ceil(x)


@register("trunc")
class Trunc(_Flat):
    def forward(self, x):
        return np.trunc(x)


@register("frac")
class Frac(Function):
    def forward(self, x):
        with np.errstate(invalid="ignore"):  # inf - inf: nan, as torch gives
            return x - np.trunc(x)

    def backward(self, g):
        return g


def _rounded(op: str, cls, x, **params) -> Tensor:
    x = as_tensor(x, op)
    if x._data.dtype.kind != "f":
        return Tensor._wrap(x._data.copy())  # integers are already whole
    return cls.apply(x, **params)


def round(input, *, decimals: int = 0) -> Tensor:
    """Round to the nearest integer (halves to even), or to ``decimals`` decimal places.

    The gradient is zero, as in torch.

    Args:
        input: a tensor (integer tensors are returned unchanged).
        decimals: decimal places to keep; negative rounds to tens, hundreds, ...

    Returns:
        A tensor of ``input``'s shape and dtype.

    >>> import nerve
    >>> nerve.round(nerve.tensor([0.5, 1.5, 2.345]), decimals=0).tolist()
    [0.0, 2.0, 2.0]
    """
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    return _rounded("round", Round, input, decimals=int(decimals))


def floor(input) -> Tensor:
    """The largest integer <= each element (zero gradient)."""
    return _rounded("floor", Floor, input)


def ceil(input) -> Tensor:
    """The smallest integer >= each element (zero gradient)."""
    return _rounded("ceil", Ceil, input)


def trunc(input) -> Tensor:
    """Each element rounded toward zero (zero gradient); ``fix`` in NumPy's words."""
    return _rounded("trunc", Trunc, input)


def frac(input) -> Tensor:
    """The fractional part ``input - trunc(input)`` (sign of the input); gradient 1.

    Raises:
        TypeError: ``input`` is not floating point (torch refuses integers too).
    """
    x = as_tensor(input, "frac")
    require_float("frac", x)
    return Frac.apply(x)
