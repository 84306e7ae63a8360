"""Activations: relu, sigmoid, tanh, leaky_relu, elu/selu, gelu, silu, softplus.

Each is one Function whose forward and backward stay finite wherever torch's do: at +-3e38 and
+-inf (a float32's edges) the values and gradients match torch's, not NaN from inf - inf or
0 * inf in an intermediate.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, device_special, flat_memory
from nerve.primitives.operands import float_only, to_float
from nerve.primitives.threads import parallel_rows

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softplus",
    "swish",
    "tanh",
]


# ----------------------------------------------------------------------------- activations
# ReLU, sigmoid and tanh have their forward in a function that writes into a given array
# (``out``, which may be ``x`` itself): the op's forward calls it with a fresh array and a
# compiled plan (nerve.compiler.plan) calls it over a dead intermediate, so both run one
# kernel and give the same bits.


def sigmoid_out(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)) in x's dtype, written into ``out`` (x's shape and dtype; may be x
    itself) or into a new array; exp overflows to inf for very negative x, giving 0.

    Args:
        x: a floating-point array.
        out: where the result goes, or None for a new array of x's layout.

    Returns:
        ``out`` (the new array when None was given).
    """
    e = np.empty_like(x) if out is None else out  # out= keeps 0-d results arrays
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


def relu_out(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, 0) written into ``out`` (x's shape and dtype; may be x itself) or into a new
    array of x's memory order.

    Args:
        x: an array.
        out: where the result goes, or None for a new array.

    Returns:
        ``out`` (the new array when None was given).
    """
    # Below 4096 elements the scalar maximum's fixed cost is the smallest; the blocks of zeros
    # are host memory, so a device array takes the plain maximum. Not split over threads: one
    # core already saturates the memory bandwidth here (4M elements: 1.42 ms on one thread,
    # 1.41 ms on two; benchmarks/bench_threads.py).
    if x.size > 4096 and type(x) is np.ndarray:
        dest = np.empty_like(x) if out is None else out  # x's memory order
        flat = flat_memory(x, dest)
        if flat is not None:
            _relu_into(*flat)
            return dest
        return np.maximum(x, 0, out=dest)
    if out is None:
        return np.maximum(x, 0)
    return np.maximum(x, 0, out=out)


def tanh_out(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """tanh(x) written into ``out`` (x's shape and dtype; may be x itself) or a new array.

    Args:
        x: a floating-point array.
        out: where the result goes, or None for a new array.

    Returns:
        ``out`` (the new array when None was given).
    """
    if out is None:
        return np.tanh(x)
    return np.tanh(x, out=out)


@register("relu")
class ReLU(Function):
    def forward(self, x):
        out = relu_out(x)
        self.out = out  # backward reads the output, not the input
        return out

    def backward(self, g):
        out = self.out
        if g.size >= _RELU_SPLIT and type(g) is np.ndarray and type(out) is np.ndarray:
            dx = np.empty_like(out)
            flat = flat_memory(g, out, dx)
            if flat is not None and parallel_rows(_relu_grad_into, flat, _RELU_SPLIT):
                return dx
        return g * (out > 0)


# Elements from which ReLU's backward splits over the threads of nerve.primitives.threads
# (when they are on). Measured after a GEMM, 1 thread vs 2 (benchmarks/bench_threads.py, quiet
# 2-core machine): 262k 108 vs 158 us, 1M 445 vs 406 us, 4M 2303 vs 1665 us.
_RELU_SPLIT = 1 << 20


def _relu_grad_into(g: np.ndarray, out: np.ndarray, dx: np.ndarray) -> None:
    """dx = g * (out > 0), the same products as the one-thread expression."""
    np.greater(out, 0, out=dx)
    dx *= g


@register("sigmoid")
class Sigmoid(Function):
    def forward(self, x):
        self.out = sigmoid_out(x)
        return self.out

    def backward(self, g):
        d = 1 - self.out
        d *= self.out
        d *= g
        return d


@register("tanh")
class Tanh(Function):
    def forward(self, x):
        self.out = tanh_out(x)
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
        # With alpha >= 0, out <= 0 exactly where x <= 0: min(out, 0) keeps those and zeroes
        # x > 0 (out up to inf), which the mask then lifts to scale. Masking out + scale * alpha
        # by multiplication instead gave inf * 0 = nan at x = inf. The minimum is taken against
        # an array of zeros: NumPy 2.4's minimum with a scalar measured 1.5-2x slower.
        a = self.scaled_alpha
        out = self.out
        if a < 0:  # a negative alpha (rare): out's sign no longer tells the sides apart
            return g * np.where(self.x > 0, self.scale, out + a)
        d = np.minimum(out, array_module_of(out).zeros(out.shape, out.dtype))
        d += a
        d += (self.x > 0) * (self.scale - a)
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
            out *= t(0.5)  # before x: (1 + th) * x overflows for x near the dtype's max
            out *= x
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
        return (t(0.5) * (1 + erf_array(x * t(np.sqrt(0.5))))).astype(x.dtype, copy=False)
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


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf in x's dtype, from SciPy when it is installed (fast), else math.erf per element
    (exact, slow); on a device, its own special functions (CuPy: cupyx.scipy.special). Also
    the forward of ``unary.erf``."""
    if type(x) is not np.ndarray:
        return device_special(x, "erf")(x)
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
        self.s = sigmoid_out(x)
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
        bx = x if beta == 1 else x * self.beta
        # max(bx, 0) + log1p(exp(-|bx|)) never overflows.
        out = _log1p_unit(np.exp(-np.abs(bx)))
        if type(out) is not type(bx):  # NumPy gives a scalar for 0-d: putmask needs an array
            out = np.asarray(out)
        out += np.maximum(bx, 0)
        out /= self.beta
        np.putmask(out, bx > threshold, x)
        return out

    def backward(self, g):
        bx = self.x if self.beta == 1 else self.x * self.beta
        d = sigmoid_out(bx)
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
    if x._data.dtype.kind == "b":
        raise TypeError("relu does not support bool tensors; cast with .float() first")
    return ReLU.apply(x)


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(-x)), without overflow warnings (integer tensors become float32)."""
    return Sigmoid.apply(to_float(x, "sigmoid"))


def tanh(x) -> Tensor:
    """Hyperbolic tangent (integer tensors become float32)."""
    return Tanh.apply(to_float(x, "tanh"))


def leaky_relu(x, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (``inplace`` is accepted and ignored)."""
    return LeakyReLU.apply(float_only(x, "leaky_relu"), negative_slope=negative_slope)


def elu(x, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return ELU.apply(float_only(x, "elu"), alpha=alpha, scale=1.0)


def selu(x, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017)."""
    return ELU.apply(float_only(x, "selu"), alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def gelu(x, approximate: str = "none") -> Tensor:
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula of Hendrycks and Gimpel."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(float_only(x, "gelu"), approximate=approximate)


def silu(x, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return SiLU.apply(float_only(x, "silu"))


swish = silu


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return Softplus.apply(float_only(x, "softplus"), beta=beta, threshold=threshold)
