"""Tensor, Function, the backward engine, grad mode and the op registry."""

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from nerve.autograd.registry import register, registered_ops
from nerve.autograd.tensor import Tensor

__all__ = [
    "Function",
    "Tensor",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "register",
    "registered_ops",
    "set_grad_enabled",
]
