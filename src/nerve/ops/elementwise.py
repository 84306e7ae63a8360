"""Elementwise ops: arithmetic, math functions, activations, comparisons, casts.

Each differentiable op is one Function (forward + backward) registered by name; the public
function below it lifts operands (scalars take the tensor's dtype) and calls ``apply``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import as_tensor, binary_operands, check_broadcast, require_float


def _binary(fn_cls, a, b, op: str):
    a, b = binary_operands(a, b, op)
    try:
        return fn_cls.apply(a, b)
    except ValueError:
        check_broadcast(op, a.data, b.data)
        raise


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


def add(a, b) -> Tensor:
    """``a + b`` with broadcasting."""
    return _binary(Add, a, b, "add")


def sub(a, b) -> Tensor:
    """``a - b`` with broadcasting."""
    return _binary(Sub, a, b, "sub")


def mul(a, b) -> Tensor:
    """``a * b`` with broadcasting."""
    return _binary(Mul, a, b, "mul")


def div(a, b) -> Tensor:
    """``a / b`` with broadcasting (true division; ints become float32)."""
    a, b = binary_operands(a, b, "div")
    if a.data.dtype.kind != "f":
        a, b = cast(a, np.float32), cast(b, np.float32)
    try:
        return Div.apply(a, b)
    except ValueError:
        check_broadcast("div", a.data, b.data)
        raise


# ----------------------------------------------------------------------------- unary math
@register("exp")
class Exp(Function):
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g):
        return g * self.out


def exp(x) -> Tensor:
    x = as_tensor(x, "exp")
    require_float("exp", x)
    return Exp.apply(x)


@register("relu")
class ReLU(Function):
    def forward(self, x):
        out = np.maximum(x, 0)
        self.out = out  # backward reads the output, not the input
        return out

    def backward(self, g):
        return g * (self.out > 0)


def relu(x) -> Tensor:
    return ReLU.apply(as_tensor(x, "relu"))


# ----------------------------------------------------------------------------- copies and casts
@register("clone")
class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def clone(x) -> Tensor:
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
    x = as_tensor(x, "cast")
    dtype = np.dtype(dtype)
    if dtype == x.data.dtype:
        return x
    if dtype.kind != "f" or x.data.dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype))  # not differentiable: int/bool results
    return Cast.apply(x, dtype=dtype)


# ----------------------------------------------------------------------------- activations
@register("sigmoid")
class Sigmoid(Function):
    def forward(self, x):
        # exp of -|x| never overflows: sigmoid(x) = 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise.
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1.0, e) / (1.0 + e)
        out = out.astype(x.dtype, copy=False)
        self.out = out
        return out

    def backward(self, g):
        return g * self.out * (1 - self.out)


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
        self.mask = x > 0
        self.slope = x.dtype.type(negative_slope)
        return np.where(self.mask, x, x * self.slope)

    def backward(self, g):
        return np.where(self.mask, g, g * self.slope)


@register("elu")
class ELU(Function):
    """alpha * (exp(x) - 1) for x <= 0, scaled by ``scale`` (SELU is ELU with fixed constants)."""

    def forward(self, x, alpha, scale):
        t = x.dtype.type
        self.mask = x > 0
        self.neg = t(scale * alpha) * np.exp(np.minimum(x, 0))  # d/dx of the negative branch
        self.scale = t(scale)
        return np.where(self.mask, x * self.scale, self.neg - t(scale * alpha))

    def backward(self, g):
        return np.where(self.mask, g * self.scale, g * self.neg)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@register("gelu")
class GELU(Function):
    def forward(self, x, approximate):
        t = x.dtype.type
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            k = t(np.sqrt(2.0 / np.pi))
            self.th = np.tanh(k * (x + t(0.044715) * x**3))
            return t(0.5) * x * (1 + self.th)
        self.cdf = (t(0.5) * (1 + _erf(x / t(np.sqrt(2.0))))).astype(x.dtype, copy=False)
        return x * self.cdf

    def backward(self, g):
        x = self.x
        t = x.dtype.type
        if self.approximate == "tanh":
            k = t(np.sqrt(2.0 / np.pi))
            th = self.th
            inner_grad = k * (1 + t(3 * 0.044715) * x * x)
            return g * (t(0.5) * (1 + th) + t(0.5) * x * (1 - th * th) * inner_grad)
        pdf = np.exp(t(-0.5) * x * x) * t(1 / np.sqrt(2 * np.pi))
        return g * (self.cdf + x * pdf)


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
        self.s = Sigmoid().forward(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1 + self.x * (1 - s)))


@register("softplus")
class Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` as in torch."""

    def forward(self, x, beta, threshold):
        t = x.dtype.type
        bx = x * t(beta)
        self.linear = bx > threshold
        self.sig = Sigmoid().forward(bx)
        soft = (np.logaddexp(0, bx) / t(beta)).astype(x.dtype, copy=False)
        return np.where(self.linear, x, soft)

    def backward(self, g):
        return np.where(self.linear, g, g * self.sig)


def sigmoid(x) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    x = as_tensor(x, "sigmoid")
    require_float("sigmoid", x)
    return Sigmoid.apply(x)


def tanh(x) -> Tensor:
    x = as_tensor(x, "tanh")
    require_float("tanh", x)
    return Tanh.apply(x)


def leaky_relu(x, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (``inplace`` is accepted and ignored)."""
    return LeakyReLU.apply(as_tensor(x, "leaky_relu"), negative_slope=negative_slope)


def elu(x, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = as_tensor(x, "elu")
    require_float("elu", x)
    return ELU.apply(x, alpha=alpha, scale=1.0)


def selu(x, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017)."""
    x = as_tensor(x, "selu")
    require_float("selu", x)
    return ELU.apply(x, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def gelu(x, approximate: str = "none") -> Tensor:
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula of Hendrycks and Gimpel."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = as_tensor(x, "gelu")
    require_float("gelu", x)
    return GELU.apply(x, approximate=approximate)


def silu(x, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = as_tensor(x, "silu")
    require_float("silu", x)
    return SiLU.apply(x)


swish = silu


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    x = as_tensor(x, "softplus")
    require_float("softplus", x)
    return Softplus.apply(x, beta=beta, threshold=threshold)
