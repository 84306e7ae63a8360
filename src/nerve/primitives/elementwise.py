"""Elementwise ops: arithmetic, math functions, clamping, selection, comparisons, activations.

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
from nerve.primitives.common import (
    as_tensor,
    binary_operands,
    check_broadcast,
    flat_memory,
    require_float,
)

__all__ = [
    "abs",
    "add",
    "cast",
    "clamp",
    "clip",
    "clone",
    "cos",
    "div",
    "elu",
    "eq",
    "exp",
    "floor_divide",
    "ge",
    "gelu",
    "gt",
    "isfinite",
    "isnan",
    "le",
    "leaky_relu",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "ne",
    "neg",
    "pow",
    "relu",
    "remainder",
    "rsqrt",
    "selu",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "softplus",
    "sqrt",
    "square",
    "sub",
    "swish",
    "tanh",
    "where",
]

_SCALARS = (int, float, bool, np.number, np.bool_)


def _binary(fn_cls, a, b, op: str, **params):
    a, b = binary_operands(a, b, op)
    try:
        return fn_cls.apply(a, b, **params)
    except ValueError:
        check_broadcast(op, a.data, b.data)
        raise


def _check_shapes(op: str, *arrays) -> None:
    """Raise a clear error when several shapes do not broadcast (called after NumPy failed)."""
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays[:-1])
        raise ValueError(
            f"{op}: shapes {shapes} and {arrays[-1].shape} cannot be broadcast together"
        ) from None


def _to_float(x, op: str) -> Tensor:
    """``x`` as a float Tensor: ints and bools become float32, as torch promotes them."""
    x = as_tensor(x, op)
    if x.data.dtype.kind != "f":
        return Tensor._wrap(x.data.astype(DEFAULT_FLOAT))
    return x


def _float_only(x, op: str) -> Tensor:
    """``x`` as a Tensor, or a TypeError when it is not floating point (torch refuses too)."""
    x = as_tensor(x, op)
    require_float(op, x)
    return x


def _not_bool(x, op: str) -> Tensor:
    x = as_tensor(x, op)
    if x.data.dtype.kind == "b":
        raise TypeError(f"{op} does not support bool tensors; use logical_not or cast with .int()")
    return x


class _NoGrad(Function):
    """Base of ops whose result carries no gradient (comparisons, logic, integer quotients)."""

    differentiable = ()

    def backward(self, *grad_outputs):  # pragma: no cover - apply never records these ops
        return (None,) * len(self.inputs)


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
class FloorDivide(_NoGrad):
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
                if isinstance(b, np.ndarray):
                    ga = np.where(b == 0, 0, g * b * a ** (b - 1))
                elif b == 0:
                    ga = np.zeros_like(g)
                else:
                    ga = g * b * _power(a, b - 1)
            if need_b:
                log_a = np.log(a if isinstance(a, np.ndarray) else b.dtype.type(a))
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


def add(x, other, *, alpha=1) -> Tensor:
    """``x + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, x, other, "add")


def sub(x, other, *, alpha=1) -> Tensor:
    """``x - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    a, b = binary_operands(x, other, "sub")
    if a.data.dtype.kind == "b" and b.data.dtype.kind == "b":
        raise TypeError("sub: subtracting two bool tensors is not supported; use logical_xor")
    try:
        return Sub.apply(a, b)
    except ValueError:
        check_broadcast("sub", a.data, b.data)
        raise


def mul(x, other) -> Tensor:
    """``x * other`` with broadcasting."""
    return _binary(Mul, x, other, "mul")


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
        return _binary(FloorDivide, x, other, "div", rounding_mode=rounding_mode)
    a, b = binary_operands(x, other, "div")
    if a.data.dtype.kind != "f":
        a, b = cast(a, DEFAULT_FLOAT), cast(b, DEFAULT_FLOAT)
    try:
        return Div.apply(a, b)
    except ValueError:
        check_broadcast("div", a.data, b.data)
        raise


def floor_divide(x, other) -> Tensor:
    """``x // other`` rounded toward -inf (integers stay integers); no gradient.

    Raises ZeroDivisionError when an integer divisor is 0.
    """
    return _binary(FloorDivide, x, other, "floor_divide", rounding_mode="floor")


def remainder(x, other) -> Tensor:
    """``x % other`` with the sign of ``other``, as Python's % and torch.remainder.

    The gradient is 1 for ``x`` and ``-floor(x / other)`` for ``other``.
    """
    return _binary(Remainder, x, other, "remainder")


def pow(x, exponent) -> Tensor:
    """``x ** exponent``: Tensor ** scalar, scalar ** Tensor or Tensor ** Tensor.

    Integer tensors stay integer with an integer exponent and become float32 with a float one.

    >>> import nerve
    >>> nerve.pow(nerve.tensor([1.0, 2.0, 3.0]), 2).tolist()
    [1.0, 4.0, 9.0]
    """
    if isinstance(exponent, _SCALARS) and not isinstance(x, _SCALARS):
        base = as_tensor(x, "pow")
        exp_ = _python_scalar(exponent)
        base = _pow_dtype(base, isinstance(exp_, float))
        if base.data.dtype.kind != "f" and exp_ < 0:
            raise ValueError(
                f"pow: integers to negative integer powers are not allowed (exponent {exp_}); "
                "cast the base with .float() first"
            )
        return Pow.apply(base, exp_)
    if isinstance(x, _SCALARS) and not isinstance(exponent, _SCALARS):
        base = _python_scalar(x)
        exp_ = _pow_dtype(as_tensor(exponent, "pow"), isinstance(base, float))
        _check_int_exponent(base, exp_.data)
        return Pow.apply(base, exp_)
    a, b = binary_operands(x, exponent, "pow")
    if a.data.dtype.kind == "b":
        a, b = cast(a, np.int64), cast(b, np.int64)
    _check_int_exponent(a.data, b.data)
    try:
        return Pow.apply(a, b)
    except ValueError:
        check_broadcast("pow", a.data, b.data)
        raise


def _python_scalar(s):
    """A NumPy scalar as a Python number (so it never upcasts float32); bools as ints."""
    s = s.item() if isinstance(s, (np.generic,)) else s
    return int(s) if isinstance(s, bool) else s


def _pow_dtype(t: Tensor, other_is_float: bool) -> Tensor:
    if t.data.dtype.kind == "f":
        return t
    if other_is_float:
        return cast(t, DEFAULT_FLOAT)
    return cast(t, np.int64) if t.data.dtype.kind == "b" else t


def _check_int_exponent(base, exponent: np.ndarray) -> None:
    if exponent.dtype.kind in "iu" and np.asarray(base).dtype.kind in "iu" and np.any(exponent < 0):
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
    return Neg.apply(_not_bool(x, "neg"))


def abs(x) -> Tensor:
    """``|x|``; the gradient at 0 is 0."""
    return Abs.apply(_not_bool(x, "abs"))


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of ``x`` (bool tensors come back unchanged)."""
    return Sign.apply(as_tensor(x, "sign"))


def exp(x) -> Tensor:
    """``e ** x`` (integer tensors become float32)."""
    return Exp.apply(_to_float(x, "exp"))


def log(x) -> Tensor:
    """Natural logarithm (integer tensors become float32)."""
    return Log.apply(_to_float(x, "log"))


def log1p(x) -> Tensor:
    """``log(1 + x)``, accurate for small ``x``."""
    return Log1p.apply(_to_float(x, "log1p"))


def sqrt(x) -> Tensor:
    """Square root (integer tensors become float32)."""
    return Sqrt.apply(_to_float(x, "sqrt"))


def rsqrt(x) -> Tensor:
    """``1 / sqrt(x)``."""
    return Rsqrt.apply(_to_float(x, "rsqrt"))


def square(x) -> Tensor:
    """``x * x`` (integer tensors stay integer; bools become int64, as in torch)."""
    x = as_tensor(x, "square")
    if x.data.dtype.kind == "b":
        x = cast(x, np.int64)
    return Square.apply(x)


def sin(x) -> Tensor:
    return Sin.apply(_to_float(x, "sin"))


def cos(x) -> Tensor:
    return Cos.apply(_to_float(x, "cos"))


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
        if lo is not None and lo.data.dtype != x.data.dtype:
            lo = cast(lo, x.data.dtype)
    try:
        return Clamp.apply(x, lo, hi)
    except ValueError:
        _check_shapes("clamp", *(t.data for t in (x, lo, hi) if t is not None))
        raise


clip = clamp


def maximum(x, other) -> Tensor:
    """Elementwise maximum with broadcasting (nan wins, as in torch)."""
    return _binary(Maximum, x, other, "maximum")


def minimum(x, other) -> Tensor:
    """Elementwise minimum with broadcasting (nan wins, as in torch)."""
    return _binary(Minimum, x, other, "minimum")


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
    if c.data.dtype.kind != "b":
        raise TypeError(
            f"where: condition must be a bool tensor, got dtype {c.data.dtype}; "
            "compare it first (e.g. mask != 0)"
        )
    if x is None and y is None:
        return tuple(Tensor._wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(c.data))
    if x is None or y is None:
        raise TypeError("where: give both x and y, or neither")
    a, b = binary_operands(x, y, "where")
    try:
        return Where.apply(c, a, b)
    except ValueError:
        _check_shapes("where", c.data, a.data, b.data)
        raise


# ----------------------------------------------------------------------------- comparisons, logic
@register("eq")
class Eq(_NoGrad):
    def forward(self, a, b):
        return a == b


@register("ne")
class Ne(_NoGrad):
    def forward(self, a, b):
        return a != b


@register("lt")
class Lt(_NoGrad):
    def forward(self, a, b):
        return a < b


@register("le")
class Le(_NoGrad):
    def forward(self, a, b):
        return a <= b


@register("gt")
class Gt(_NoGrad):
    def forward(self, a, b):
        return a > b


@register("ge")
class Ge(_NoGrad):
    def forward(self, a, b):
        return a >= b


@register("logical_not")
class LogicalNot(_NoGrad):
    def forward(self, x):
        return np.logical_not(x)


@register("logical_and")
class LogicalAnd(_NoGrad):
    def forward(self, a, b):
        return np.logical_and(a, b)


@register("logical_or")
class LogicalOr(_NoGrad):
    def forward(self, a, b):
        return np.logical_or(a, b)


@register("logical_xor")
class LogicalXor(_NoGrad):
    def forward(self, a, b):
        return np.logical_xor(a, b)


@register("isnan")
class IsNan(_NoGrad):
    def forward(self, x):
        return np.isnan(x)


@register("isfinite")
class IsFinite(_NoGrad):
    def forward(self, x):
        return np.isfinite(x)


def eq(x, other) -> Tensor:
    """``x == other`` elementwise, as a bool Tensor (``x == None`` is False, as in torch)."""
    if other is None:  # so that `x in [None, ...]` and `x == None` work
        return False
    return _binary(Eq, x, other, "eq")


def ne(x, other) -> Tensor:
    """``x != other`` elementwise, as a bool Tensor (``x != None`` is True, as in torch)."""
    if other is None:
        return True
    return _binary(Ne, x, other, "ne")


def lt(x, other) -> Tensor:
    """``x < other`` elementwise, as a bool Tensor."""
    return _binary(Lt, x, other, "lt")


def le(x, other) -> Tensor:
    """``x <= other`` elementwise, as a bool Tensor."""
    return _binary(Le, x, other, "le")


def gt(x, other) -> Tensor:
    """``x > other`` elementwise, as a bool Tensor."""
    return _binary(Gt, x, other, "gt")


def ge(x, other) -> Tensor:
    """``x >= other`` elementwise, as a bool Tensor."""
    return _binary(Ge, x, other, "ge")


def logical_not(x) -> Tensor:
    """True where ``x`` is zero (or False)."""
    return LogicalNot.apply(as_tensor(x, "logical_not"))


def logical_and(x, other) -> Tensor:
    """True where both are nonzero."""
    return _binary(LogicalAnd, x, other, "logical_and")


def logical_or(x, other) -> Tensor:
    """True where either is nonzero."""
    return _binary(LogicalOr, x, other, "logical_or")


def logical_xor(x, other) -> Tensor:
    """True where exactly one is nonzero."""
    return _binary(LogicalXor, x, other, "logical_xor")


def isnan(x) -> Tensor:
    """True where ``x`` is nan (never for integer tensors)."""
    return IsNan.apply(as_tensor(x, "isnan"))


def isfinite(x) -> Tensor:
    """True where ``x`` is neither inf nor nan (always for integer tensors)."""
    return IsFinite.apply(as_tensor(x, "isfinite"))


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
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.in_dtype)


def cast(x, dtype) -> Tensor:
    """``x`` as ``dtype``; differentiable between float types, a plain copy otherwise."""
    x = as_tensor(x, "cast")
    dtype = np.dtype(dtype)
    if dtype == x.data.dtype:
        return x
    if dtype.kind != "f" or x.data.dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype))  # not differentiable: int/bool results
    return Cast.apply(x, dtype=dtype)


# ----------------------------------------------------------------------------- activations
def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) in x's dtype; exp overflows to inf for very negative x, giving 0."""
    e = np.empty_like(x)  # out= keeps 0-d results arrays
    np.negative(x, out=e)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.divide(1, e, out=e)  # NumPy's reciprocal measured 1.6x slower than this divide


_ZEROS: dict = {}  # dtype -> a read-only block of zeros, the second operand of ReLU's maximum
_ZERO_BLOCK = 1 << 16


def _relu_into(x: np.ndarray, out: np.ndarray) -> None:
    """out = max(x, 0) over 1-d ``x``, a block at a time against an array of zeros: NumPy 2.4's
    maximum with a scalar measured 1.5x (large) to 3x (small arrays) slower than with an array."""
    zeros = _ZEROS.get(x.dtype)
    if zeros is None:
        zeros = _ZEROS[x.dtype] = np.zeros(_ZERO_BLOCK, x.dtype)
        zeros.flags.writeable = False
    for start in range(0, x.size, _ZERO_BLOCK):
        stop = min(start + _ZERO_BLOCK, x.size)
        np.maximum(x[start:stop], zeros[: stop - start], out=out[start:stop])


@register("relu")
class ReLU(Function):
    def forward(self, x):
        flat = None
        if x.size > 4096:  # below, the scalar maximum's fixed cost is the smallest
            out = np.empty_like(x)  # x's memory order
            flat = flat_memory(x, out)
        if flat is None:
            out = np.maximum(x, 0)
        else:
            _relu_into(*flat)
        self.out = out  # backward reads the output, not the input
        return out

    def backward(self, g):
        return g * (self.out > 0)


@register("sigmoid")
class Sigmoid(Function):
    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, g):
        d = 1 - self.out
        d *= self.out
        d *= g
        return d


@register("tanh")
class Tanh(Function):
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


@register("leaky_relu")
class LeakyReLU(Function):
    def forward(self, x, negative_slope):
        self.x = x
        self.slope = slope = x.dtype.type(negative_slope)
        # max(x, s*x) is x for x > 0 and s*x below when s <= 1; min when s > 1.
        return np.maximum(x, x * slope) if slope <= 1 else np.minimum(x, x * slope)

    def backward(self, g):
        d = (self.x > 0).astype(g.dtype)  # 1 above 0, slope at and below 0 (torch's side)
        d *= 1 - self.slope
        d += self.slope
        d *= g
        return d


@register("elu")
class ELU(Function):
    """scale * (x for x > 0, alpha * (exp(x) - 1) otherwise); SELU is ELU with fixed constants."""

    def forward(self, x, alpha, scale):
        t = x.dtype.type
        self.scale, self.scaled_alpha = t(scale), t(scale * alpha)
        # exp(x) - 1, not expm1: NumPy's expm1 is scalar code, ~10x slower, and the difference
        # (an absolute 1e-7 in float32) is far below what an activation needs.
        out = np.exp(np.minimum(x, 0))
        out -= 1
        out *= t(alpha)
        out += np.maximum(x, 0)
        out *= self.scale
        self.x, self.out = x, out
        return out

    def backward(self, g):
        # d/dx = scale for x > 0, and scale * alpha * exp(x) = out + scale * alpha for x <= 0.
        positive = self.x > 0
        d = self.out + self.scaled_alpha
        d *= ~positive
        d += positive * self.scale
        d *= g
        return d


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@register("gelu")
class GELU(Function):
    """x * Phi(x), or with ``approximate="tanh"``: x/2 (1 + tanh(k (x + c x^3))).

    Written with in-place updates: on arrays this size, fresh temporaries cost page faults.
    """

    def forward(self, x, approximate):
        t = x.dtype.type
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            inner = x * x
            inner *= t(_GELU_C)
            inner += 1
            inner *= x
            inner *= t(_GELU_K)
            self.th = th = np.tanh(inner)
            out = th + 1
            out *= x
            out *= t(0.5)
            return out
        self.cdf = _normal_cdf(x)
        return x * self.cdf

    def backward(self, g):
        x = self.x
        t = x.dtype.type
        if self.approximate == "tanh":
            # 0.5 (1 + th) + 0.5 x (1 - th^2) k (1 + 3 c x^2)
            th = self.th
            d = x * x
            d *= t(3 * _GELU_C)
            d += 1
            d *= x
            d *= th * th - 1
            d *= t(-0.5 * _GELU_K)
            d += t(0.5) * th
            d += t(0.5)
        else:
            d = x * x  # Phi(x) + x * pdf(x)
            d *= t(-0.5)
            d = np.exp(d)
            d *= t(1 / np.sqrt(2 * np.pi))
            d *= x
            d += self.cdf
        d *= g
        return d


_GELU_K = float(np.sqrt(2.0 / np.pi))
_GELU_C = 0.044715


# Numerical Recipes' erfc(z) = s * exp(-z^2 + P(s)), s = 1 / (1 + z / 2): fractional error
# below 1.2e-7 for every z >= 0. The coefficients of P, constant term first.
_ERFC_P = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = P(N(0, 1) <= x) in x's dtype.

    float32 uses the erfc above (float32 accurate, and ~10x faster than SciPy's erf, which
    works in double precision); other dtypes use erf itself.
    """
    t = x.dtype.type
    if x.dtype != np.float32:
        return (t(0.5) * (1 + _erf(x * t(np.sqrt(0.5))))).astype(x.dtype, copy=False)
    if x.ndim == 0:  # NumPy returns scalars for 0-d arrays, and scalars take no out=
        return _normal_cdf(x.reshape(1)).reshape(())
    # In place where it can be: fresh large arrays cost page faults.
    z = np.abs(x)
    z *= t(np.sqrt(0.5))
    s = z * t(0.5)
    s += 1
    np.reciprocal(s, out=s)
    p = s * t(_ERFC_P[-1])
    for c in reversed(_ERFC_P[1:-1]):  # Horner, over the coefficients
        p += t(c)
        p *= s
    p += t(_ERFC_P[0])
    z *= z
    p -= z
    lower = np.exp(p, out=p)
    lower *= s
    lower *= t(0.5)  # Phi(-|x|) = erfc(|x| / sqrt(2)) / 2, accurate in the far tail
    upper = lower * t(-2)  # Phi(|x|) - Phi(-|x|) = 1 - 2 Phi(-|x|), added where x > 0
    upper += 1
    upper *= x > 0
    upper += lower
    return upper


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, from SciPy when it is installed (fast), else math.erf per element (exact, slow)."""
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - depends on the environment
        import math

        return np.vectorize(math.erf, otypes=[x.dtype])(x)
    return erf(x)


@register("silu")
class SiLU(Function):
    def forward(self, x):
        self.x = x
        self.s = _sigmoid(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1 + self.x * (1 - s)))


@register("softplus")
class Softplus(Function):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold, as torch."""

    def forward(self, x, beta, threshold):
        t = x.dtype.type
        self.x, self.beta, self.threshold = x, t(beta), threshold
        bx = x * self.beta
        # max(bx, 0) + log1p(exp(-|bx|)) never overflows.
        out = np.asarray(_log1p_unit(np.exp(-np.abs(bx))))  # an array even when 0-d: putmask
        out += np.maximum(bx, 0)
        out /= self.beta
        np.putmask(out, bx > threshold, x)
        return out

    def backward(self, g):
        bx = self.x * self.beta
        d = _sigmoid(bx)
        np.putmask(d, bx > self.threshold, 1)
        d *= g
        return d


def _log1p_unit(y: np.ndarray) -> np.ndarray:
    """log1p(y) for y in [0, 1], to a few ulps: NumPy's log1p is scalar code, ~10x slower.

    With u = 1 + y rounded, u - 1 is exact and log(u) is off by exactly the rounding error
    ((u - 1) - y) / u, to first order; for tiny y, u == 1 and the result is y.
    """
    u = 1 + y
    r = u - 1
    r -= y
    r /= u
    out = np.log(u)
    out -= r
    return out


def relu(x, inplace: bool = False) -> Tensor:
    """max(x, 0) (``inplace`` is accepted and ignored)."""
    x = as_tensor(x, "relu")
    if x.data.dtype.kind == "b":
        raise TypeError("relu does not support bool tensors; cast with .float() first")
    return ReLU.apply(x)


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(-x)), without overflow warnings (integer tensors become float32)."""
    return Sigmoid.apply(_to_float(x, "sigmoid"))


def tanh(x) -> Tensor:
    """Hyperbolic tangent (integer tensors become float32)."""
    return Tanh.apply(_to_float(x, "tanh"))


def leaky_relu(x, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (``inplace`` is accepted and ignored)."""
    return LeakyReLU.apply(_float_only(x, "leaky_relu"), negative_slope=negative_slope)


def elu(x, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return ELU.apply(_float_only(x, "elu"), alpha=alpha, scale=1.0)


def selu(x, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017)."""
    return ELU.apply(_float_only(x, "selu"), alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def gelu(x, approximate: str = "none") -> Tensor:
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula of Hendrycks and Gimpel."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_only(x, "gelu"), approximate=approximate)


def silu(x, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return SiLU.apply(_float_only(x, "silu"))


swish = silu


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return Softplus.apply(_float_only(x, "softplus"), beta=beta, threshold=threshold)
