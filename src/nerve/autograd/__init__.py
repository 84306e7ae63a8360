"""Tensor, Function, the backward engine, grad mode and the op registry.

``nerve.autograd`` is also torch.autograd's door: ``Function`` (torch-style subclasses with
static ``forward(ctx, ...)``/``backward(ctx, ...)`` work on Tensors, see
:mod:`nerve.autograd.custom_function`), ``grad``, ``backward``, ``gradcheck``.
"""

from nerve.autograd.api import Variable, backward, grad, gradcheck
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from nerve.autograd.registry import register, registered_ops
from nerve.autograd.tensor import Tensor

__all__ = [
    "Function",
    "Tensor",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "register",
    "registered_ops",
    "set_detect_anomaly",
    "set_grad_enabled",
]
