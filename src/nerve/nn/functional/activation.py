"""Activations as nn.functional names them; the math lives in nerve.primitives (one place)."""

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
)
from nerve.primitives.reduction import log_softmax, softmax

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]
