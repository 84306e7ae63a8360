"""Elementwise ops: arithmetic (add, sub, mul, div, pow, lerp, ...) and math functions (exp, log,
sqrt, sin, ...).

Clamping, maximum/minimum and where live in ``selection.py``, clone and cast in ``casting.py``,
more math functions in ``unary.py``, comparisons and logic in ``logic.py``, rounding in
``rounding.py``, activations in ``activation.py``; their names are re-exported here
(``nerve.primitives.elementwise.relu``), the same objects.

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
from nerve.primitives import casting as _casting
from nerve.primitives import logic as _logic
from nerve.primitives import rounding as _rounding
from nerve.primitives import selection as _selection
from nerve.primitives import unary as _unary
from nerve.primitives.activation import *  # noqa: F403
from nerve.primitives.casting import *  # noqa: F403
from nerve.primitives.casting import Cast, Clone, cast  # noqa: F401 - re-exported, as before
from nerve.primitives.common import as_tensor, binary_operands, check_broadcast, require_float
from nerve.primitives.logic import *  # noqa: F403
from nerve.primitives.operands import SCALARS, NoGrad, binary, not_bool, to_float
from nerve.primitives.out_arg import write_out
from nerve.primitives.rounding import *  # noqa: F403
from nerve.primitives.selection import *  # noqa: F403
from nerve.primitives.selection import Clamp, Maximum, Minimum, Where  # noqa: F401 - as before
from nerve.primitives.unary import *  # noqa: F403

# Its own names, then those of the families it re-exports (one import path for all of them).
__all__ = [
    "abs",
    "absolute",
    "add",
    "cos",
    "div",
    "divide",
    "exp",
    "floor_divide",
    "lerp",
    "log",
    "log1p",
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
    *_activation.__all__,
    *_casting.__all__,
    *_logic.__all__,
    *_rounding.__all__,
    *_selection.__all__,
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


# NumPy-style names torch also has, for the same ops.
multiply, subtract, divide, true_divide = mul, sub, div, div
negative, absolute = neg, abs
