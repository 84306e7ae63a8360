"""The copy of a tensor to another device, differentiable: its gradient goes back to where the
tensor came from (``x.to("cuda")`` in a graph that starts on the CPU, as torch's ``_to_copy``)."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.device import device_of, to_device


@register("to_copy")
class ToCopy(Function):
    """``x`` copied to device ``dest`` (torch's ``_to_copy``); backward copies the gradient back
    to ``x``'s device. The output is always a new array, as torch's (``Tensor.to`` returns the
    tensor itself, without this op, when it is on ``dest`` already)."""

    def forward(self, x, dest, non_blocking: bool = False):
        self.source = device_of(x)
        out = to_device(x, dest, non_blocking)
        return out.copy() if out is x else out

    def backward(self, g):
        return to_device(g, self.source)


def move(t, dest, non_blocking: bool = False):
    """``t`` on device ``dest`` (a checked device): ``t`` itself when it is there already."""
    here = t.device
    if here == dest or (dest.index is None and here.type == dest.type == "cpu"):
        return t
    if dest.type != "cpu" and dest.index is None and here.type == dest.type:
        from nerve.device import _current_index

        if here.index == _current_index(dest.type):
            return t
    return ToCopy.apply(t, dest=dest, non_blocking=non_blocking)


def gradient_on(g, t):
    """``backward(gradient)``'s array on ``t``'s device: a number (0-d) is moved there; a
    gradient on another device is an error naming both, as in torch."""
    if isinstance(g, np.generic) or (type(g) is np.ndarray and g.ndim == 0):
        return to_device(np.asarray(g), t.device)
    raise RuntimeError(
        f"backward(): the gradient is on {device_of(g)} but the tensor is on {t.device}; "
        f"move the gradient with .to({str(t.device)!r})"
    )


def host_message(t) -> str:
    """torch's words for asking NumPy for a GPU tensor's memory."""
    return (
        f"can't convert {t.device} device type tensor to numpy. Use Tensor.cpu() to copy the "
        "tensor to host memory first."
    )
