"""Comparisons and logic: eq/ne/lt/le/gt/ge, logical_*, isnan/isinf/isfinite.

Registered like every op, but with no differentiable input: their bool results never carry a
gradient. Operands follow the arithmetic ops' promotion (a scalar takes the tensor's dtype).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor, binary_operands, check_broadcast, is_array
from nerve.primitives.operands import NoGrad, binary

__all__ = [
    "allclose",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "less",
    "less_equal",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "not_equal",
    "signbit",
]


# ----------------------------------------------------------------------------- comparisons, logic
@register("eq")
class Eq(NoGrad):
    def forward(self, a, b):
        return a == b


@register("ne")
class Ne(NoGrad):
    def forward(self, a, b):
        return a != b


@register("lt")
class Lt(NoGrad):
    def forward(self, a, b):
        return a < b


@register("le")
class Le(NoGrad):
    def forward(self, a, b):
        return a <= b


@register("gt")
class Gt(NoGrad):
    def forward(self, a, b):
        return a > b


@register("ge")
class Ge(NoGrad):
    def forward(self, a, b):
        return a >= b


@register("logical_not")
class LogicalNot(NoGrad):
    def forward(self, x):
        return np.logical_not(x)


@register("logical_and")
class LogicalAnd(NoGrad):
    def forward(self, a, b):
        return np.logical_and(a, b)


@register("logical_or")
class LogicalOr(NoGrad):
    def forward(self, a, b):
        return np.logical_or(a, b)


@register("logical_xor")
class LogicalXor(NoGrad):
    def forward(self, a, b):
        return np.logical_xor(a, b)


@register("isnan")
class IsNan(NoGrad):
    def forward(self, x):
        return np.isnan(x)


@register("isinf")
class IsInf(NoGrad):
    def forward(self, x):
        return np.isinf(x)


@register("isfinite")
class IsFinite(NoGrad):
    def forward(self, x):
        return np.isfinite(x)


def eq(x, other) -> Tensor:
    """``x == other`` elementwise, as a bool Tensor (``x == None`` is False, as in torch)."""
    if other is None:  # so that `x in [None, ...]` and `x == None` work
        return False
    return binary(Eq, x, other, "eq")


def ne(x, other) -> Tensor:
    """``x != other`` elementwise, as a bool Tensor (``x != None`` is True, as in torch)."""
    if other is None:
        return True
    return binary(Ne, x, other, "ne")


def lt(x, other) -> Tensor:
    """``x < other`` elementwise, as a bool Tensor."""
    return binary(Lt, x, other, "lt")


def le(x, other) -> Tensor:
    """``x <= other`` elementwise, as a bool Tensor."""
    return binary(Le, x, other, "le")


def gt(x, other) -> Tensor:
    """``x > other`` elementwise, as a bool Tensor."""
    return binary(Gt, x, other, "gt")


def ge(x, other) -> Tensor:
    """``x >= other`` elementwise, as a bool Tensor."""
    return binary(Ge, x, other, "ge")


def logical_not(x) -> Tensor:
    """True where ``x`` is zero (or False)."""
    return LogicalNot.apply(as_tensor(x, "logical_not"))


def logical_and(x, other) -> Tensor:
    """True where both are nonzero."""
    return binary(LogicalAnd, x, other, "logical_and")


def logical_or(x, other) -> Tensor:
    """True where either is nonzero."""
    return binary(LogicalOr, x, other, "logical_or")


def logical_xor(x, other) -> Tensor:
    """True where exactly one is nonzero."""
    return binary(LogicalXor, x, other, "logical_xor")


def isnan(x) -> Tensor:
    """True where ``x`` is nan (never for integer tensors)."""
    return IsNan.apply(as_tensor(x, "isnan"))


def isinf(x) -> Tensor:
    """True where ``x`` is +inf or -inf (never for integer tensors)."""
    return IsInf.apply(as_tensor(x, "isinf"))


def isposinf(x) -> Tensor:
    """True where ``x`` is +inf."""
    # a comparison, not np.isposinf: every device module has it (an int is never inf)
    return Tensor._wrap(as_tensor(x, "isposinf")._data == np.inf)


def isneginf(x) -> Tensor:
    """True where ``x`` is -inf."""
    return Tensor._wrap(as_tensor(x, "isneginf")._data == -np.inf)


def signbit(x) -> Tensor:
    """True where the sign bit is set (negative numbers and -0.0)."""
    return Tensor._wrap(np.signbit(as_tensor(x, "signbit")._data))


def isfinite(x) -> Tensor:
    """True where ``x`` is neither inf nor nan (always for integer tensors)."""
    return IsFinite.apply(as_tensor(x, "isfinite"))


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne  # torch's other names


# ----------------------------------------------------------------------------- closeness
def isclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """True where ``|input - other| <= atol + rtol * |other|`` (a bool tensor; broadcasts).

    Infinities are close only to themselves; nan is close to nan only with ``equal_nan``.

    >>> import nerve
    >>> nerve.isclose(nerve.tensor([1.0, 2.0]), nerve.tensor([1.0 + 1e-7, 2.1])).tolist()
    [True, False]
    """
    a, b = binary_operands(input, other, "isclose")
    try:
        out = np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError:
        check_broadcast("isclose", a._data, b._data)
        raise
    return Tensor._wrap(out if is_array(out) else np.asarray(out))  # NumPy: 0-d gives a scalar


def allclose(input, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
    """True (a Python bool) when every element is close (see :func:`isclose`)."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other) -> bool:
    """True (a Python bool) when both have the same shape and the same elements."""
    a, b = as_tensor(input, "equal"), as_tensor(other, "equal")
    return a.shape == b.shape and bool(np.array_equal(a._data, b._data))
