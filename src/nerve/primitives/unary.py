"""More math functions: reciprocal, exp2/expm1, log2/log10, tan, asin/acos/atan, sinh/cosh,
erf/erfc/erfinv, logit, sinc, deg2rad/rad2deg, and the binary atan2, logaddexp, fmod, fmax/fmin,
hypot, xlogy; nan_to_num. Re-exported by ``elementwise.py``.

Each is one Function; integer inputs become float32, as torch promotes them. Derivatives are
written from the forward's own output where that is exact (exp2, expm1, reciprocal).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.activation import erf_array
from nerve.primitives.common import as_tensor, device_special
from nerve.primitives.operands import binary, to_float

__all__ = [
    "acos",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "asin",
    "atan",
    "atan2",
    "cosh",
    "deg2rad",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expm1",
    "fmax",
    "fmin",
    "fmod",
    "hypot",
    "log10",
    "log2",
    "logaddexp",
    "logit",
    "nan_to_num",
    "rad2deg",
    "reciprocal",
    "sinc",
    "sinh",
    "tan",
    "xlogy",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@register("reciprocal")
class Reciprocal(Function):
    def forward(self, x):
        with np.errstate(divide="ignore"):  # 1 / 0 = inf, as torch
            self.out = 1 / x
        return self.out

    def backward(self, g):
        return -g * (self.out * self.out)


@register("exp2")
class Exp2(Function):
    def forward(self, x):
        self.out = np.exp2(x)
        return self.out

    def backward(self, g):
        return g * self.out * self.out.dtype.type(_LN2)


@register("expm1")
class Expm1(Function):
    def forward(self, x):
        self.out = np.expm1(x)
        return self.out

    def backward(self, g):
        return g * (self.out + 1)


@register("log2")
class Log2(Function):
    def forward(self, x):
        self.x = x
        return np.log2(x)

    def backward(self, g):
        return g / (self.x * self.x.dtype.type(_LN2))


@register("log10")
class Log10(Function):
    def forward(self, x):
        self.x = x
        return np.log10(x)

    def backward(self, g):
        return g / (self.x * self.x.dtype.type(_LN10))


@register("tan")
class Tan(Function):
    def forward(self, x):
        self.out = np.tan(x)
        return self.out

    def backward(self, g):
        return g * (1 + self.out * self.out)


@register("asin")
class Asin(Function):
    def forward(self, x):
        self.x = x
        return np.arcsin(x)

    def backward(self, g):
        return g / np.sqrt(1 - self.x * self.x)


@register("acos")
class Acos(Function):
    def forward(self, x):
        self.x = x
        return np.arccos(x)

    def backward(self, g):
        return -g / np.sqrt(1 - self.x * self.x)


@register("atan")
class Atan(Function):
    def forward(self, x):
        self.x = x
        return np.arctan(x)

    def backward(self, g):
        return g / (1 + self.x * self.x)


@register("sinh")
class Sinh(Function):
    def forward(self, x):
        self.x = x
        return np.sinh(x)

    def backward(self, g):
        return g * np.cosh(self.x)


@register("cosh")
class Cosh(Function):
    def forward(self, x):
        self.x = x
        return np.cosh(x)

    def backward(self, g):
        return g * np.sinh(self.x)


@register("erf")
class Erf(Function):
    def forward(self, x):
        self.x = x
        return erf_array(x)

    def backward(self, g):
        x = self.x
        return g * (np.exp(-(x * x)) * x.dtype.type(_TWO_OVER_SQRT_PI))


@register("atan2")
class Atan2(Function):
    """atan2(y, x): the angle of the point (x, y); gradients x / r^2 and -y / r^2."""

    def forward(self, y, x):
        self.y, self.x = y, x
        return np.arctan2(y, x)

    def backward(self, g):
        y, x = self.y, self.x
        r2 = x * x + y * y
        need_y, need_x = self.needs_input_grad
        return (g * x / r2 if need_y else None), (-g * y / r2 if need_x else None)


@register("logaddexp")
class LogAddExp(Function):
    """log(exp(a) + exp(b)) without overflow; the gradients are the two softmax weights."""

    def forward(self, a, b):
        out = np.logaddexp(a, b)
        self.a, self.b, self.out = a, b, out
        return out

    def backward(self, g):
        with np.errstate(invalid="ignore"):  # -inf - -inf: both weights are nan, as torch
            ga = g * np.exp(self.a - self.out) if self.needs_input_grad[0] else None
            gb = g * np.exp(self.b - self.out) if self.needs_input_grad[1] else None
        return ga, gb


@register("fmod")
class Fmod(Function):
    """a - trunc(a / b) * b: the result takes the sign of the dividend (C's fmod)."""

    def forward(self, a, b):
        if a.dtype.kind in "iu" and not np.all(b):
            raise ZeroDivisionError("fmod: integer division by zero")
        if self.needs_input_grad[1]:
            self.a, self.b = a, b
        return np.fmod(a, b)

    def backward(self, g):
        gb = None
        if self.needs_input_grad[1]:
            gb = -g * np.trunc(self.a / self.b)
        return g, gb


@register("erfc")
class Erfc(Function):
    def forward(self, x):
        self.x = x
        return erfc_array(x)

    def backward(self, g):
        x = self.x
        return g * (np.exp(-(x * x)) * x.dtype.type(-_TWO_OVER_SQRT_PI))


@register("erfinv")
class Erfinv(Function):
    def forward(self, x):
        self.out = erfinv_array(x)
        return self.out

    def backward(self, g):
        y = self.out
        with np.errstate(over="ignore"):  # at +-1 the slope is inf, as torch
            return g * (np.exp(y * y) * y.dtype.type(1 / _TWO_OVER_SQRT_PI))


@register("logit")
class Logit(Function):
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given (zero gradient outside,
    as torch)."""

    def forward(self, x, eps):
        self.x, self.eps = x, eps
        p = x if eps is None else np.clip(x, eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0, 1 and outside: +-inf, nan
            return np.log(p / (1 - p))

    def backward(self, g):
        x, eps = self.x, self.eps
        with np.errstate(divide="ignore", invalid="ignore"):
            d = g / (x * (1 - x))
        if eps is not None:
            d = d * ((x >= eps) & (x <= 1 - eps))
        return d


@register("sinc")
class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0 (NumPy's and torch's normalized sinc)."""

    def forward(self, x):
        self.x = x
        return np.sinc(x)

    def backward(self, g):
        x = self.x
        px = x * x.dtype.type(np.pi)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (np.cos(px) * px - np.sin(px)) / (px * x)
        return g * np.where(x == 0, x.dtype.type(0), d)


@register("fmax")
class Fmax(Function):
    """Elementwise max where nan loses (the other value wins); ties go to the first input."""

    def forward(self, a, b):
        self.first = (a >= b) | np.isnan(b)
        return np.fmax(a, b)

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (g * self.first if need_a else None), (g * ~self.first if need_b else None)


@register("fmin")
class Fmin(Fmax):
    """Elementwise min where nan loses (the other value wins); ties go to the first input."""

    def forward(self, a, b):
        self.first = (a <= b) | np.isnan(b)
        return np.fmin(a, b)


@register("hypot")
class Hypot(Function):
    def forward(self, a, b):
        out = np.hypot(a, b)
        self.a, self.b, self.out = a, b, out
        return out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 at the origin, as torch
            scale = g / self.out
        return (scale * self.a if need_a else None), (scale * self.b if need_b else None)


@register("xlogy")
class Xlogy(Function):
    """x * log(y), 0 where x is 0 (unless y is nan)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x * np.log(y)
        return np.where((x == 0) & ~np.isnan(y), x.dtype.type(0), out)

    def backward(self, g):
        x, y = self.x, self.y
        need_x, need_y = self.needs_input_grad
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_x:  # torch: log(y), but 0 where x is 0 and log(y) is -inf or nan
                gx = g * np.where((x == 0) & (y <= 0), x.dtype.type(0), np.log(y))
            if need_y:
                gy = g * x / y
        return gx, gy


def _unary(op: str, cls, x) -> Tensor:
    return cls.apply(to_float(x, op))


def reciprocal(input) -> Tensor:
    """1 / x (inf at 0, as torch)."""
    return _unary("reciprocal", Reciprocal, input)


def exp2(input) -> Tensor:
    """2 ** x."""
    return _unary("exp2", Exp2, input)


def expm1(input) -> Tensor:
    """exp(x) - 1, accurate for small x."""
    return _unary("expm1", Expm1, input)


def log2(input) -> Tensor:
    """Base-2 logarithm (nan below 0 and -inf at 0, as torch)."""
    x = to_float(input, "log2")
    with np.errstate(divide="ignore", invalid="ignore"):
        return Log2.apply(x)


def log10(input) -> Tensor:
    """Base-10 logarithm (nan below 0 and -inf at 0, as torch)."""
    x = to_float(input, "log10")
    with np.errstate(divide="ignore", invalid="ignore"):
        return Log10.apply(x)


def tan(input) -> Tensor:
    """Tangent (radians)."""
    return _unary("tan", Tan, input)


def asin(input) -> Tensor:
    """Inverse sine, in [-pi/2, pi/2] (nan outside [-1, 1])."""
    x = to_float(input, "asin")
    with np.errstate(invalid="ignore"):
        return Asin.apply(x)


def acos(input) -> Tensor:
    """Inverse cosine, in [0, pi] (nan outside [-1, 1])."""
    x = to_float(input, "acos")
    with np.errstate(invalid="ignore"):
        return Acos.apply(x)


def atan(input) -> Tensor:
    """Inverse tangent, in (-pi/2, pi/2)."""
    return _unary("atan", Atan, input)


def sinh(input) -> Tensor:
    """Hyperbolic sine."""
    return _unary("sinh", Sinh, input)


def cosh(input) -> Tensor:
    """Hyperbolic cosine."""
    return _unary("cosh", Cosh, input)


def erf(input) -> Tensor:
    """The error function, 2/sqrt(pi) * integral of exp(-t^2) from 0 to x.

    >>> import nerve
    >>> round(nerve.erf(nerve.tensor([0.5])).item(), 4)
    0.5205
    """
    return _unary("erf", Erf, input)


def atan2(input, other) -> Tensor:
    """The angle (radians, in [-pi, pi]) of the point (other, input): atan2(y, x); broadcasts."""
    return binary(Atan2, *_floats("atan2", input, other), "atan2")


def logaddexp(input, other) -> Tensor:
    """log(exp(input) + exp(other)), computed without overflow; broadcasts."""
    return binary(LogAddExp, *_floats("logaddexp", input, other), "logaddexp")


def fmod(input, other) -> Tensor:
    """The remainder of input / other with the sign of ``input`` (C's fmod; see ``remainder``
    for Python's %). The gradient is 1 for input and -trunc(input / other) for other.

    Raises:
        ZeroDivisionError: integer division by zero.
    """
    return binary(Fmod, input, other, "fmod")


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """``input`` with nan, +inf and -inf replaced (by default: 0 and the dtype's largest and
    smallest finite values); the gradient passes where the input was finite.

    >>> import nerve
    >>> nerve.nan_to_num(nerve.tensor([float("nan"), 1.0]), nan=-1.0).tolist()
    [-1.0, 1.0]
    """
    from nerve.primitives.elementwise import where  # elementwise re-exports this module

    x = as_tensor(input, "nan_to_num")
    if x._data.dtype.kind != "f":
        return x.clone()
    info = np.finfo(x._data.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    a = x._data
    fill = np.where(np.isnan(a), a.dtype.type(nan), np.where(a > 0, a.dtype.type(hi), lo))
    return where(Tensor._wrap(np.isfinite(a)), x, Tensor._wrap(fill.astype(a.dtype)))


def erfc(input) -> Tensor:
    """1 - erf(x), accurate where erf(x) is near 1."""
    return _unary("erfc", Erfc, input)


def erfinv(input) -> Tensor:
    """The inverse of erf on (-1, 1) (+-inf at +-1, nan outside)."""
    return _unary("erfinv", Erfinv, input)


def logit(input, eps=None) -> Tensor:
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
    return Logit.apply(to_float(input, "logit"), eps=None if eps is None else float(eps))


def sinc(input) -> Tensor:
    """sin(pi x) / (pi x), 1 at 0."""
    return _unary("sinc", Sinc, input)


def _floats(op: str, a, b):
    """Two operands with at least one floating point (two integer ones become float32)."""
    a, b = as_tensor(a, op), as_tensor(b, op)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        a, b = to_float(a, op), to_float(b, op)
    return a, b


def fmax(input, other) -> Tensor:
    """Elementwise maximum where nan loses to a number (nan only where both are); broadcasts."""
    return binary(Fmax, input, other, "fmax")


def fmin(input, other) -> Tensor:
    """Elementwise minimum where nan loses to a number (nan only where both are); broadcasts."""
    return binary(Fmin, input, other, "fmin")


def hypot(input, other) -> Tensor:
    """sqrt(input^2 + other^2) without overflow; broadcasts."""
    return binary(Hypot, *_floats("hypot", input, other), "hypot")


def xlogy(input, other) -> Tensor:
    """input * log(other), and 0 where input is 0 (unless other is nan); broadcasts."""
    return binary(Xlogy, *_floats("xlogy", input, other), "xlogy")


def deg2rad(input) -> Tensor:
    """Degrees to radians."""
    from nerve.primitives.elementwise import mul  # elementwise re-exports this module

    return mul(to_float(input, "deg2rad"), math.pi / 180)


def rad2deg(input) -> Tensor:
    """Radians to degrees."""
    from nerve.primitives.elementwise import mul

    return mul(to_float(input, "rad2deg"), 180 / math.pi)


def erfc_array(x: np.ndarray) -> np.ndarray:
    """erfc in x's dtype: SciPy's when installed, else 1 - erf (less accurate in the tail);
    on a device, its own (see :func:`~nerve.primitives.common.device_special`)."""
    if type(x) is not np.ndarray:
        return device_special(x, "erfc")(x)
    try:
        from scipy.special import erfc as scipy_erfc
    except ImportError:  # pragma: no cover - depends on the environment
        return (1 - erf_array(x)).astype(x.dtype, copy=False)
    return scipy_erfc(x)


def erfinv_array(x: np.ndarray) -> np.ndarray:
    """erfinv in x's dtype: SciPy's when installed, else Newton's method on erf from a
    closed-form start (Winitzki's approximation), three steps; on a device, its own."""
    if type(x) is not np.ndarray:
        return device_special(x, "erfinv")(x)
    try:
        from scipy.special import erfinv as scipy_erfinv
    except ImportError:  # pragma: no cover - depends on the environment
        a = 0.147
        ln = np.log1p(-x * x)
        t = 2 / (np.pi * a) + ln / 2
        y = np.sign(x) * np.sqrt(np.sqrt(t * t - ln / a) - t)
        for _ in range(3):
            y = y - (erf_array(y) - x) / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
        return y.astype(x.dtype, copy=False)
    return scipy_erfinv(x)


arccos, arcsin, arctan, arctan2 = acos, asin, atan, atan2  # NumPy's names, as torch has them
