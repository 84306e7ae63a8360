"""keras.ops' NumPy-like elementwise ops: arithmetic, comparisons, logic, math functions.

Each is nerve's primitive under Keras's name and dtype rules: ints meet floats as floats, the
float-only functions (sqrt, exp, log, ...) turn ints into float32, divide always gives a float.
Gradients flow through the primitives; rounding ops carry none (their derivative is zero).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.keras.ops._common import detached, operand, to_float, to_tensor
from nerve.primitives import elementwise as ew

__all__ = [
    "abs",
    "absolute",
    "add",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "ceil",
    "clip",
    "cos",
    "cosh",
    "divide",
    "equal",
    "erf",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "floor_divide",
    "greater",
    "greater_equal",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nan_to_num",
    "negative",
    "not_equal",
    "power",
    "reciprocal",
    "round",
    "rsqrt",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
]


def _pair(x1, x2, op: str):
    a, b = operand(x1, op), operand(x2, op)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = to_tensor(a, op)  # two Python scalars: Keras makes the first one a tensor
    return a, b


# ----------------------------------------------------------------------------- arithmetic
def add(x1, x2) -> Tensor:
    """``x1 + x2`` elementwise, with broadcasting."""
    return ew.add(*_pair(x1, x2, "add"))


def subtract(x1, x2) -> Tensor:
    """``x1 - x2`` elementwise, with broadcasting."""
    return ew.sub(*_pair(x1, x2, "subtract"))


def multiply(x1, x2) -> Tensor:
    """``x1 * x2`` elementwise, with broadcasting."""
    return ew.mul(*_pair(x1, x2, "multiply"))


def _floats(a, b):
    # true division never stays integer: with no float on either side, ints become float32
    if any(
        isinstance(v, float) or (isinstance(v, Tensor) and v._data.dtype.kind == "f")
        for v in (a, b)
    ):
        return a, b
    return tuple(
        Tensor._wrap(v._data.astype(DEFAULT_FLOAT)) if isinstance(v, Tensor) else float(v)
        for v in (a, b)
    )


def divide(x1, x2) -> Tensor:
    """``x1 / x2`` elementwise; integer inputs give float32."""
    return ew.div(*_floats(*_pair(x1, x2, "divide")))


def true_divide(x1, x2) -> Tensor:
    """The same as :func:`divide`."""
    return ew.div(*_floats(*_pair(x1, x2, "true_divide")))


def floor_divide(x1, x2) -> Tensor:
    """``floor(x1 / x2)`` elementwise (integers stay integers; no gradient)."""
    return ew.floor_divide(*_pair(x1, x2, "floor_divide"))


def mod(x1, x2) -> Tensor:
    """The remainder of ``x1 / x2`` with the sign of the divisor (Python's ``%``)."""
    return ew.remainder(*_pair(x1, x2, "mod"))


def power(x1, x2) -> Tensor:
    """``x1 ** x2`` elementwise; an integer base with a float exponent gives a float."""
    a, b = _pair(x1, x2, "power")
    return ew.pow(a, b)


def negative(x) -> Tensor:
    """``-x`` elementwise."""
    return ew.neg(to_tensor(x, "negative"))


def maximum(x1, x2) -> Tensor:
    """The elementwise maximum of two tensors, with broadcasting."""
    return ew.maximum(*_pair(x1, x2, "maximum"))


def minimum(x1, x2) -> Tensor:
    """The elementwise minimum of two tensors, with broadcasting."""
    return ew.minimum(*_pair(x1, x2, "minimum"))


def clip(x, x_min, x_max) -> Tensor:
    """``x`` limited to ``[x_min, x_max]``; the gradient is 1 inside, 0 outside.

    Args:
        x: the tensor.
        x_min: the lower bound (a number or a tensor that broadcasts).
        x_max: the upper bound.

    Returns:
        A tensor of ``x``'s shape (float when a bound is a float and ``x`` is integer).
    """
    return ew.clamp(to_tensor(x, "clip"), operand(x_min, "clip"), operand(x_max, "clip"))


# ----------------------------------------------------------------------------- comparisons
def equal(x1, x2) -> Tensor:
    """``x1 == x2`` elementwise (bool)."""
    return ew.eq(*_pair(x1, x2, "equal"))


def not_equal(x1, x2) -> Tensor:
    """``x1 != x2`` elementwise (bool)."""
    return ew.ne(*_pair(x1, x2, "not_equal"))


def greater(x1, x2) -> Tensor:
    """``x1 > x2`` elementwise (bool)."""
    return ew.gt(*_pair(x1, x2, "greater"))


def greater_equal(x1, x2) -> Tensor:
    """``x1 >= x2`` elementwise (bool)."""
    return ew.ge(*_pair(x1, x2, "greater_equal"))


def less(x1, x2) -> Tensor:
    """``x1 < x2`` elementwise (bool)."""
    return ew.lt(*_pair(x1, x2, "less"))


def less_equal(x1, x2) -> Tensor:
    """``x1 <= x2`` elementwise (bool)."""
    return ew.le(*_pair(x1, x2, "less_equal"))


# ----------------------------------------------------------------------------- logic
def _bool(x, op: str) -> Tensor:
    t = to_tensor(x, op)
    return t if t._data.dtype.kind == "b" else detached(t._data.astype(bool))


def logical_and(x1, x2) -> Tensor:
    """Elementwise AND of the truth values of ``x1`` and ``x2`` (non-zero is True)."""
    return ew.logical_and(_bool(x1, "logical_and"), _bool(x2, "logical_and"))


def logical_or(x1, x2) -> Tensor:
    """Elementwise OR of the truth values of ``x1`` and ``x2``."""
    return ew.logical_or(_bool(x1, "logical_or"), _bool(x2, "logical_or"))


def logical_xor(x1, x2) -> Tensor:
    """Elementwise XOR of the truth values of ``x1`` and ``x2``."""
    return ew.logical_xor(_bool(x1, "logical_xor"), _bool(x2, "logical_xor"))


def logical_not(x) -> Tensor:
    """Elementwise NOT of the truth values of ``x``."""
    return ew.logical_not(_bool(x, "logical_not"))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` is true, else ``x2``; with neither, the indices of the non-zero
    elements of ``condition`` (a tuple of int64 tensors, one per dimension, as NumPy).

    Args:
        condition: where to take ``x1`` (non-zero values count as True).
        x1: the values where the condition holds (a tensor or a number).
        x2: the values elsewhere.

    Returns:
        A tensor of the broadcast shape, or the tuple of index tensors.

    Raises:
        ValueError: only one of ``x1`` and ``x2`` is given, or the shapes do not broadcast.
    """
    c = _bool(condition, "where")
    if x1 is None and x2 is None:
        return ew.where(c)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, b = _pair(x1, x2, "where")
    return ew.where(c, a, b)


# ----------------------------------------------------------------------------- math functions
def sqrt(x) -> Tensor:
    """The square root, elementwise (integers become float32)."""
    return ew.sqrt(to_float(x, "sqrt"))


def rsqrt(x) -> Tensor:
    """``1 / sqrt(x)``, elementwise."""
    return ew.rsqrt(to_float(x, "rsqrt"))


def exp(x) -> Tensor:
    """``e ** x``, elementwise."""
    return ew.exp(to_float(x, "exp"))


def exp2(x) -> Tensor:
    """``2 ** x``, elementwise."""
    return ew.exp2(to_float(x, "exp2"))


def expm1(x) -> Tensor:
    """``exp(x) - 1``, accurate for small ``x``."""
    return ew.expm1(to_float(x, "expm1"))


def log(x) -> Tensor:
    """The natural logarithm, elementwise."""
    return ew.log(to_float(x, "log"))


def log1p(x) -> Tensor:
    """``log(1 + x)``, accurate for small ``x``."""
    return ew.log1p(to_float(x, "log1p"))


def log2(x) -> Tensor:
    """The base-2 logarithm, elementwise."""
    return ew.log2(to_float(x, "log2"))


def log10(x) -> Tensor:
    """The base-10 logarithm, elementwise."""
    return ew.log10(to_float(x, "log10"))


def logaddexp(x1, x2) -> Tensor:
    """``log(exp(x1) + exp(x2))``, computed stably."""
    a, b = _pair(x1, x2, "logaddexp")
    return ew.logaddexp(*_floats(a, b))


def erf(x) -> Tensor:
    """The Gauss error function, elementwise."""
    return ew.erf(to_float(x, "erf"))


def square(x) -> Tensor:
    """``x * x``, elementwise (integers stay integers)."""
    t = to_tensor(x, "square")
    if t._data.dtype.kind == "b":
        t = detached(t._data.astype(np.int32))
    return ew.square(t)


def reciprocal(x) -> Tensor:
    """``1 / x``, elementwise (integers become float32)."""
    return ew.reciprocal(to_float(x, "reciprocal"))


def abs(x) -> Tensor:
    """The absolute value, elementwise (the gradient at 0 is 0)."""
    return ew.abs(to_tensor(x, "abs"))


absolute = abs


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of each element (same dtype as ``x``)."""
    return ew.sign(to_tensor(x, "sign"))


def sin(x) -> Tensor:
    """The sine, elementwise."""
    return ew.sin(to_float(x, "sin"))


def cos(x) -> Tensor:
    """The cosine, elementwise."""
    return ew.cos(to_float(x, "cos"))


def tan(x) -> Tensor:
    """The tangent, elementwise."""
    return ew.tan(to_float(x, "tan"))


def arcsin(x) -> Tensor:
    """The inverse sine, elementwise."""
    return ew.arcsin(to_float(x, "arcsin"))


def arccos(x) -> Tensor:
    """The inverse cosine, elementwise."""
    return ew.arccos(to_float(x, "arccos"))


def arctan(x) -> Tensor:
    """The inverse tangent, elementwise."""
    return ew.arctan(to_float(x, "arctan"))


def arctan2(x1, x2) -> Tensor:
    """The angle of the point ``(x2, x1)``: ``arctan(x1 / x2)`` in the right quadrant."""
    a, b = _pair(x1, x2, "arctan2")
    return ew.arctan2(*_floats(a, b))


def sinh(x) -> Tensor:
    """The hyperbolic sine, elementwise."""
    return ew.sinh(to_float(x, "sinh"))


def cosh(x) -> Tensor:
    """The hyperbolic cosine, elementwise."""
    return ew.cosh(to_float(x, "cosh"))


def tanh(x) -> Tensor:
    """The hyperbolic tangent, elementwise."""
    return ew.tanh(to_float(x, "tanh"))


# ----------------------------------------------------------------------------- rounding
def floor(x) -> Tensor:
    """The largest integer not above each element (float, as Keras gives for integer input;
    the gradient is zero)."""
    return ew.floor(to_float(x, "floor"))


def ceil(x) -> Tensor:
    """The smallest integer not below each element (float; the gradient is zero)."""
    return ew.ceil(to_float(x, "ceil"))


def trunc(x) -> Tensor:
    """Each element rounded toward zero (integers come back unchanged; zero gradient)."""
    return ew.trunc(to_tensor(x, "trunc"))


def round(x, decimals: int = 0) -> Tensor:
    """Each element rounded to ``decimals`` places, halves to even (zero gradient)."""
    t = to_tensor(x, "round")
    if t._data.dtype.kind == "b":
        raise TypeError("round: bool tensors cannot be rounded")
    return ew.round(t, decimals=int(decimals))


# ----------------------------------------------------------------------------- nan / inf
def isnan(x) -> Tensor:
    """True where ``x`` is NaN."""
    return ew.isnan(to_tensor(x, "isnan"))


def isinf(x) -> Tensor:
    """True where ``x`` is +inf or -inf."""
    return ew.isinf(to_tensor(x, "isinf"))


def isfinite(x) -> Tensor:
    """True where ``x`` is neither NaN nor infinite."""
    return ew.isfinite(to_tensor(x, "isfinite"))


def nan_to_num(x, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """``x`` with NaN, +inf and -inf replaced (by ``nan``, and by the dtype's largest and
    smallest values unless ``posinf`` / ``neginf`` say otherwise); the gradient flows through
    the finite elements.

    Args:
        x: the tensor.
        nan: the value for NaN.
        posinf: the value for +inf (None: the largest finite value of the dtype).
        neginf: the value for -inf (None: the most negative finite value).

    Returns:
        A tensor of ``x``'s shape and dtype.
    """
    t = to_tensor(x, "nan_to_num")
    if t._data.dtype.kind != "f":
        return t
    return ew.nan_to_num(t, nan=nan, posinf=posinf, neginf=neginf)


def isclose(x1, x2, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """True where ``|x1 - x2| <= atol + rtol * |x2|`` (NaNs equal when ``equal_nan``)."""
    a, b = _pair(x1, x2, "isclose")
    return ew.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
