"""Elementwise ops: arithmetic, math functions, clamping, selection, copies and casts.

Comparisons and logic live in ``logic.py``, rounding in ``rounding.py``, activations in
``activation.py``; their names are re-exported here (``nerve.primitives.elementwise.relu``).

Each op is one Function (forward + backward) registered by name; the public function below it
lifts operands (scalars take the tensor's dtype, ints meet floats as float32), checks them and
calls ``apply``. Comparisons, logical ops and integer quotients are registered too but list no
differentiable input, so their results never carry a gradient.

Backward passes mask gradients by multiplying with a bool array rather than ``np.where``: on
unpredictable masks ``np.where`` is ten times slower (the result differs only where an incoming
gradient is already inf or nan).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.primitives import activation as _activation
from nerve.primitives import logic as _logic
from nerve.primitives import rounding as _rounding
from nerve.primitives import unary as _unary
from nerve.primitives.activation import *  # noqa: F403
from nerve.primitives.common import as_tensor, binary_operands, check_broadcast, require_float
from nerve.primitives.logic import *  # noqa: F403
from nerve.primitives.operands import (
    SCALARS,
    NoGrad,
    binary,
    check_shapes,
    not_bool,
    to_float,
)
from nerve.primitives.out_arg import write_out
from nerve.primitives.rounding import *  # noqa: F403
from nerve.primitives.unary import *  # noqa: F403

# Its own names, then those of the families it re-exports (one import path for all of them).
__all__ = [
    "abs",
    "absolute",
    "add",
    "cast",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "clone",
    "cos",
    "div",
    "divide",
    "exp",
    "floor_divide",
    "lerp",
    "log",
    "log1p",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "neg",
    "negative",
    "pow",
    "remainder",
    "rsqrt",
    "sign",
    "sin",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "true_divide",
    "where",
    *_activation.__all__,
    *_logic.__all__,
    *_rounding.__all__,
    *_unary.__all__,
]


# ----------------------------------------------------------------------------- arithmetic
@register("add")
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


@register("sub")
class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


@register("mul")
class Mul(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.a = a if need_b else None
        self.b = b if need_a else None
        return a * b

    def backward(self, g):
        return (
            g * self.b if self.needs_input_grad[0] else None,
            g * self.a if self.needs_input_grad[1] else None,
        )


@register("div")
class Div(Function):
    def forward(self, a, b):
        out = a / b
        self.b = b
        self.out = out if self.needs_input_grad[1] else None
        return out

    def backward(self, g):
        ga = g / self.b
        return ga, (-ga * self.out if self.needs_input_grad[1] else None)


@register("floor_divide")
class FloorDivide(NoGrad):
    """The quotient rounded toward -inf (``"floor"``) or toward zero (``"trunc"``)."""

    def forward(self, a, b, rounding_mode):
        if a.dtype.kind in "iu" and not np.all(b):
            raise ZeroDivisionError("floor_divide: integer division by zero")
        if rounding_mode == "floor":
            return np.floor_divide(a, b)
        if a.dtype.kind == "f":
            return np.trunc(a / b)
        # Integers: floor and trunc differ by one where the quotient is negative and inexact.
        q = np.floor_divide(a, b)
        return q + (((a < 0) != (b < 0)) & (np.remainder(a, b) != 0))


@register("remainder")
class Remainder(Function):
    """a - floor(a / b) * b: the result takes the sign of the divisor (Python's %)."""

    def forward(self, a, b):
        if a.dtype.kind in "iu" and not np.all(b):
            raise ZeroDivisionError("remainder: integer division by zero")
        if self.needs_input_grad[1]:
            self.a, self.b = a, b
        return np.remainder(a, b)

    def backward(self, g):
        gb = -g * np.floor_divide(self.a, self.b) if self.needs_input_grad[1] else None
        return g, gb


@register("pow")
class Pow(Function):
    """base ** exponent; either side may be a Python scalar (it then gets no gradient).

    A scalar exponent stays a Python number so that NumPy's fast paths (x**2, x**0.5) apply.
    Where the derivative meets 0 * inf, torch's convention gives 0: no base gradient where the
    exponent is 0, no exponent gradient where the base is 0 and the exponent >= 0.
    """

    def forward(self, a, b):
        out = _power(a, b) if isinstance(b, (int, float)) else a**b
        self.a, self.b = a, b
        self.out = out if self.needs_input_grad[1] else None
        return out

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                if not isinstance(b, (int, float)):  # an array, on either device
                    ga = np.where(b == 0, 0, g * b * a ** (b - 1))
                elif b == 0:
                    ga = np.zeros_like(g)
                else:
                    ga = g * b * _power(a, b - 1)
            if need_b:
                log_a = np.log(b.dtype.type(a) if isinstance(a, (int, float)) else a)
                gb = np.where((a == 0) & (b >= 0), 0, g * self.out * log_a)
        return ga, gb


def _power(a, e):
    """``a ** e`` for a Python scalar ``e``, with torch's fast cases that NumPy lacks.

    NumPy shortcuts 2, 0.5, -1 itself; its general power is ~50x slower than x * x * x.
    """
    if e == 3:
        return a * a * a
    if e == -2:
        return 1 / (a * a)
    if e == -0.5:
        return 1 / np.sqrt(a)
    return a**e


def add(x, other, *, alpha=1, out=None) -> Tensor:
    """``x + alpha * other`` with broadcasting (written into ``out`` when given, as torch)."""
    if out is not None:
        return write_out("add", out, (x, other), lambda: add(x, other, alpha=alpha))
    if alpha != 1:
        other = mul(other, alpha)
    return binary(Add, x, other, "add")


def sub(x, other, *, alpha=1) -> Tensor:
    """``x - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(x, other, "sub")
    if a._data.dtype.kind == "b" and b._data.dtype.kind == "b":
        raise TypeError("sub: subtracting two bool tensors is not supported; use logical_xor")
    try:
        return Sub.apply(a, b)
    except ValueError:
        check_broadcast("sub", a._data, b._data)
        raise


def mul(x, other, *, out=None) -> Tensor:
    """``x * other`` with broadcasting (written into ``out`` when given, as torch)."""
    if out is not None:
        return write_out("mul", out, (x, other), lambda: mul(x, other))
    return binary(Mul, x, other, "mul")


def div(x, other, *, rounding_mode=None) -> Tensor:
    """``x / other`` with broadcasting: true division (ints become float32) by default.

    ``rounding_mode="floor"`` or ``"trunc"`` rounds the quotient and keeps integer dtypes, as
    :func:`floor_divide` does; the rounded quotient has no gradient.
    """
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(
                f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}"
            )
        return binary(FloorDivide, x, other, "div", rounding_mode=rounding_mode)
    a, b = binary_operands(x, other, "div")
    if a._data.dtype.kind != "f":
        a, b = cast(a, DEFAULT_FLOAT), cast(b, DEFAULT_FLOAT)
    try:
        return Div.apply(a, b)
    except ValueError:
        check_broadcast("div", a._data, b._data)
        raise


def floor_divide(x, other) -> Tensor:
    """``x // other`` rounded toward -inf (integers stay integers); no gradient.

    Raises ZeroDivisionError when an integer divisor is 0.
    """
    return binary(FloorDivide, x, other, "floor_divide", rounding_mode="floor")


def remainder(x, other) -> Tensor:
    """``x % other`` with the sign of ``other``, as Python's % and torch.remainder.

    The gradient is 1 for ``x`` and ``-floor(x / other)`` for ``other``.
    """
    return binary(Remainder, x, other, "remainder")


def pow(x, exponent) -> Tensor:
    """``x ** exponent``: Tensor ** scalar, scalar ** Tensor or Tensor ** Tensor.

    Integer tensors stay integer with an integer exponent and become float32 with a float one.

    >>> import nerve
    >>> nerve.pow(nerve.tensor([1.0, 2.0, 3.0]), 2).tolist()
    [1.0, 4.0, 9.0]
    """
    if isinstance(exponent, SCALARS) and not isinstance(x, SCALARS):
        base = as_tensor(x, "pow")
        exp_ = _python_scalar(exponent)
        base = _pow_dtype(base, isinstance(exp_, float))
        if base._data.dtype.kind != "f" and exp_ < 0:
            raise ValueError(
                f"pow: integers to negative integer powers are not allowed (exponent {exp_}); "
                "cast the base with .float() first"
            )
        return Pow.apply(base, exp_)
    if isinstance(x, SCALARS) and not isinstance(exponent, SCALARS):
        base = _python_scalar(x)
        exp_ = _pow_dtype(as_tensor(exponent, "pow"), isinstance(base, float))
        _check_int_exponent(base, exp_._data)
        return Pow.apply(base, exp_)
    a, b = binary_operands(x, exponent, "pow")
    if a._data.dtype.kind == "b":
        a, b = cast(a, np.int64), cast(b, np.int64)
    _check_int_exponent(a._data, b._data)
    try:
        return Pow.apply(a, b)
    except ValueError:
        check_broadcast("pow", a._data, b._data)
        raise


def _python_scalar(s):
    """A NumPy scalar as a Python number (so it never upcasts float32); bools as ints."""
    s = s.item() if isinstance(s, (np.generic,)) else s
    return int(s) if isinstance(s, bool) else s


def _pow_dtype(t: Tensor, other_is_float: bool) -> Tensor:
    if t._data.dtype.kind == "f":
        return t
    if other_is_float:
        return cast(t, DEFAULT_FLOAT)
    return cast(t, np.int64) if t._data.dtype.kind == "b" else t


def _check_int_exponent(base, exponent: np.ndarray) -> None:
    base_kind = (
        "i" if isinstance(base, int) else "f" if isinstance(base, float) else base.dtype.kind
    )
    if exponent.dtype.kind in "iu" and base_kind in "iu" and np.any(exponent < 0):
        raise ValueError(
            "pow: integers to negative integer powers are not allowed; "
            "cast the base with .float() first"
        )


# ----------------------------------------------------------------------------- unary math
@register("neg")
class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


@register("abs")
class Abs(Function):
    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return g * np.sign(self.x)  # 0 at x == 0, as torch


@register("sign")
class Sign(Function):
    """-1, 0 or 1; the gradient is zero everywhere (torch's convention, 0 at the jump too)."""

    def forward(self, x):
        return x.copy() if x.dtype.kind == "b" else np.sign(x)

    def backward(self, g):
        return np.zeros_like(g)


@register("exp")
class Exp(Function):
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return g * self.out


@register("log")
class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return g / self.x


@register("log1p")
class Log1p(Function):
    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, g):
        return g / (1 + self.x)


@register("sqrt")
class Sqrt(Function):
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):  # at 0: inf (nan for g = 0), as torch
            return g / (2 * self.out)


@register("rsqrt")
class Rsqrt(Function):
    def forward(self, x):
        self.out = 1 / np.sqrt(x)
        return self.out

    def backward(self, g):
        out = self.out
        return g * (out * out * out) * -0.5


@register("square")
class Square(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * (2 * self.x)


@register("sin")
class Sin(Function):
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, g):
        return g * np.cos(self.x)


@register("cos")
class Cos(Function):
    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, g):
        return g * -np.sin(self.x)


def neg(x) -> Tensor:
    """``-x`` (bool tensors: use logical_not)."""
    return Neg.apply(not_bool(x, "neg"))


def abs(x) -> Tensor:
    """``|x|``; the gradient at 0 is 0."""
    return Abs.apply(not_bool(x, "abs"))


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of ``x`` (bool tensors come back unchanged)."""
    return Sign.apply(as_tensor(x, "sign"))


def exp(x) -> Tensor:
    """``e ** x`` (integer tensors become float32)."""
    return Exp.apply(to_float(x, "exp"))


def log(x) -> Tensor:
    """Natural logarithm (integer tensors become float32)."""
    return Log.apply(to_float(x, "log"))


def log1p(x) -> Tensor:
    """``log(1 + x)``, accurate for small ``x``."""
    return Log1p.apply(to_float(x, "log1p"))


def sqrt(x) -> Tensor:
    """Square root (integer tensors become float32)."""
    return Sqrt.apply(to_float(x, "sqrt"))


def rsqrt(x) -> Tensor:
    """``1 / sqrt(x)``."""
    return Rsqrt.apply(to_float(x, "rsqrt"))


def square(x) -> Tensor:
    """``x * x`` (integer tensors stay integer; bools become int64, as in torch)."""
    x = as_tensor(x, "square")
    if x._data.dtype.kind == "b":
        x = cast(x, np.int64)
    return Square.apply(x)


def sin(x) -> Tensor:
    return Sin.apply(to_float(x, "sin"))


def cos(x) -> Tensor:
    return Cos.apply(to_float(x, "cos"))


# ----------------------------------------------------------------------------- clamp, max, where
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


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``: linear interpolation; all three broadcast and
    ``weight`` may be a number. Gradients: 1 - weight, weight, and end - input.

    >>> import nerve
    >>> nerve.lerp(nerve.tensor([0.0, 10.0]), nerve.tensor([10.0, 20.0]), 0.25).tolist()
    [2.5, 12.5]
    """
    x = as_tensor(input, "lerp")
    require_float("lerp", x)
    return add(x, mul(weight, sub(end, x)))


# ----------------------------------------------------------------------------- copies and casts
@register("clone")
class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(x) -> Tensor:
    """A differentiable copy."""
    return Clone.apply(as_tensor(x, "clone"))


@register("cast")
class Cast(Function):
    """Change dtype; the gradient flows back (cast to the input's dtype) between float types."""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return _narrowing_cast(x, dtype)

    def backward(self, g):
        return _narrowing_cast(g, self.in_dtype)


def _narrowing_cast(a, dtype):
    """``a.astype(dtype)``; a float too large for a narrower float type becomes inf without a
    warning, as in torch (a GradScaler's overflow check relies on those infs)."""
    dtype = np.dtype(dtype)
    if a.dtype.kind == "f" and dtype.kind == "f" and dtype.itemsize < a.dtype.itemsize:
        with np.errstate(over="ignore"):
            return a.astype(dtype)
    return a.astype(dtype)


def cast(x, dtype) -> Tensor:
    """``x`` as ``dtype``; differentiable between float types, a plain copy otherwise."""
    x = as_tensor(x, "cast")
    dtype = np.dtype(dtype)
    if dtype == x._data.dtype:
        return x
    if dtype.kind != "f" or x._data.dtype.kind != "f":
        return Tensor._wrap(x._data.astype(dtype))  # not differentiable: int/bool results
    return Cast.apply(x, dtype=dtype)


# NumPy-style names torch also has, for the same ops.
multiply, subtract, divide, true_divide = mul, sub, div, div
negative, absolute = neg, abs
