"""Activations as nn.functional names them.

The fused ones live in nerve.primitives (one place); the rest are short compositions of those
ops, so their gradients come from the ops' own backwards and need no Function of their own.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor
from nerve.primitives.elementwise import (
    elu,
    gelu,
    leaky_relu,
    relu,
    selu,
    sigmoid,
    silu,
    softplus,
    tanh,
    where,
)
from nerve.primitives.reduction import log_softmax, softmax
from nerve.primitives.shape import chunk

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "rrelu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]


def _float(op: str, x) -> Tensor:
    x = as_tensor(x, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(input, min_val, max_val)``.

    Raises:
        ValueError: ``max_val < min_val``.
    """
    if max_val < min_val:
        raise ValueError(f"hardtanh: max_val ({max_val}) cannot be less than min_val ({min_val})")
    return _clip_inside(_float("hardtanh", input), min_val, max_val)


def _clip_inside(x: Tensor, low: float, high: float) -> Tensor:
    """``clamp(x, low, high)`` whose gradient is 1 strictly inside (low, high) and 0 at the
    bounds, as torch's hardtanh, relu6, hardsigmoid and hardswish have it (``clamp``'s own
    gradient is 1 at its bounds, as torch.clamp's)."""
    inside = (x > low) & (x < high)
    return where(inside, x, x.clamp(low, high).detach())


def relu6(input, inplace: bool = False) -> Tensor:
    """``min(max(0, x), 6)``."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between."""
    return _clip_inside(_float("hardsigmoid", input) + 3.0, 0.0, 6.0) / 6.0


def hardswish(input, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    x = _float("hardswish", input)
    return x * (_clip_inside(x + 3.0, 0.0, 6.0) / 6.0)


def mish(input, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    x = _float("mish", input)
    return x * softplus(x).tanh()


def softsign(input) -> Tensor:
    """``x / (1 + |x|)``."""
    x = _float("softsign", input)
    return x / (x.abs() + 1.0)


def tanhshrink(input) -> Tensor:
    """``x - tanh(x)``."""
    x = _float("tanhshrink", input)
    return x - x.tanh()


def _lambd(op: str, lambd: float) -> float:
    if lambd < 0:
        raise ValueError(f"{op}: lambda must be greater or equal to 0, but found to be {lambd}")
    return float(lambd)


def softshrink(input, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above lambd, ``x + lambd`` below -lambd, 0 between.

    Raises:
        ValueError: ``lambd < 0``.
    """
    lambd = _lambd("softshrink", lambd)
    x = _float("softshrink", input)
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0.0))


def hardshrink(input, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    x = _float("hardshrink", input)
    return where((x > lambd) | (x < -lambd), x, 0.0)


def threshold(input, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    x = as_tensor(input, "threshold")
    return where(x > threshold, x, value)


def logsigmoid(input) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-_float("logsigmoid", input))


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Raises:
        ValueError: ``alpha == 0``.
    """
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError, alpha cannot be 0")
    return elu(_float("celu", input) / alpha) * alpha


def glu(input, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``a * sigmoid(b)``.

    Raises:
        ValueError: the size along ``dim`` is odd, or the input is 0-d.
    """
    x = _float("glu", input)
    if x.ndim == 0:
        raise ValueError("glu does not support scalars because halving size must be even")
    size = x.shape[dim]
    if size % 2:
        raise ValueError(
            f"glu: halving dimension must be even, but dimension {dim % x.ndim} is size {size}"
        )
    a, b = chunk(x, 2, dim)
    return a * b.sigmoid()


def softmin(input, dim: int | None = None, dtype=None) -> Tensor:
    """``softmax(-x, dim)``."""
    x = _float("softmin", input)
    if dim is None:  # torch's legacy implicit dim
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return softmax(-x, dim, dtype=dtype)


def prelu(input, weight) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, one slope per channel (dim 1) or one for all.

    Args:
        input: (N, C, ...) or any shape when ``weight`` has one element.
        weight: (C,) or (1,).

    Raises:
        ValueError: ``weight`` has neither 1 nor C elements.
    """
    x = _float("prelu", input)
    w = as_tensor(weight, "prelu")
    if w.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-d, got shape {tuple(w.shape)}")
    n = int(np.prod(w.shape))
    if n != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1
        if x.ndim < 2 or n != channels:
            raise ValueError(
                f"prelu: weight has {n} elements but the input of shape {tuple(x.shape)} has "
                f"{channels} channels (dim 1); give 1 or {channels}"
            )
        w = w.reshape((n,) + (1,) * (x.ndim - 2))
    elif w.ndim:
        w = w.reshape(())
    return where(x > 0, x, w * x)  # at 0 the gradient is the slope, as torch


def rrelu(
    input,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU: slope ``U(lower, upper)`` per element in training, and the mean
    slope ``(lower + upper) / 2`` in eval.

    Raises:
        ValueError: ``lower > upper``.
    """
    if lower > upper:
        raise ValueError(f"rrelu: lower bound {lower} must not exceed upper bound {upper}")
    x = _float("rrelu", input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = backend.rng_for(backend.array_module_of(x._data)).uniform(lower, upper, size=x.shape)
    slopes = slopes.astype(x.dtype)
    return where(x > 0, x, x * Tensor._wrap(slopes))
