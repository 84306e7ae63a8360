"""Activations as nn.functional names them; the math lives in nerve.ops (one place)."""

from nerve.ops.elementwise import (
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
from nerve.ops.reduction import log_softmax, softmax

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
