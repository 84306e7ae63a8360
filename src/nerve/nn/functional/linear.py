"""linear (``x @ W.T + b``, torch's weight layout) and dense (``x @ K + b``, Keras's kernel
layout): each one fused op with one matmul per gradient in backward."""

from __future__ import annotations

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import as_tensor

__all__ = ["dense", "linear"]


@register("linear")
class Linear(Function):
    """y = x @ W.T + b over the last dim of x; every leading dim is flattened into one batch."""

    def forward(self, x, weight, bias):
        need_x, need_w, _ = self.needs_input_grad
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        out = x2 @ weight.T  # BLAS reads the transposed view directly; no copy of W
        if bias is not None:
            out += bias
        self.x2 = x2 if need_w else None
        self.weight = weight if need_x else None
        self.x_shape = x.shape
        return out.reshape(*lead, weight.shape[0])

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ self.weight).reshape(self.x_shape) if need_x else None
        gw = g2.T @ self.x2 if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gw, gb


def linear(input, weight, bias=None) -> Tensor:
    """Apply ``y = input @ weight.T + bias``.

    Args:
        input: (..., in_features); a 1-d input is one sample.
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        (..., out_features).

    Raises:
        ValueError: when the last dim of ``input`` is not ``in_features``, or a shape is wrong.
        TypeError: for non-float tensors or mixed dtypes.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.linear(nerve.ones(2, 3), nerve.ones(4, 3), nerve.zeros(4)).shape
    (2, 4)
    """
    x = as_tensor(input, "linear")
    w = as_tensor(weight, "linear weight")
    b = None if bias is None else as_tensor(bias, "linear bias")
    if w.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-d (out_features, in_features), got shape {w.shape}"
        )
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features "
            f"in its last dim but weight of shape {w.shape} expects in_features={w.shape[1]}"
        )
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(
            f"linear: bias must have shape ({w.shape[0]},) to match weight {w.shape}, got {b.shape}"
        )
    dt = x.data.dtype
    if dt.kind != "f" or w.data.dtype != dt or (b is not None and b.data.dtype != dt):
        raise TypeError(
            f"linear: input, weight and bias need one floating dtype, got {dt}, {w.data.dtype}"
            + ("" if b is None else f", {b.data.dtype}")
        )
    return Linear.apply(x, w, b)


@register("dense")
class Dense(Function):
    """y = x @ K + b over the last dim of x, K of shape (in, out): Keras's Dense kernel."""

    def forward(self, x, kernel, bias):
        need_x, need_k, _ = self.needs_input_grad
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])
        out = x2 @ kernel
        if bias is not None:
            out += bias
        self.x2 = x2 if need_k else None
        self.kernel = kernel if need_x else None
        self.x_shape = x.shape
        return out.reshape(*lead, kernel.shape[1])

    def backward(self, g):
        need_x, need_k, need_b = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gx = (g2 @ self.kernel.T).reshape(self.x_shape) if need_x else None
        gk = self.x2.T @ g2 if need_k else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gk, gb


def dense(input, kernel, bias=None) -> Tensor:
    """Apply ``y = input @ kernel + bias`` with a Keras-layout kernel (in_features, units).

    Args:
        input: (..., in_features); a 1-d input is one sample.
        kernel: (in_features, units).
        bias: (units,) or None.

    Returns:
        (..., units).

    Raises:
        ValueError: when the last dim of ``input`` is not ``in_features``, or a shape is wrong.
        TypeError: for non-float tensors or mixed dtypes.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.dense(nerve.ones(2, 3), nerve.ones(3, 4), nerve.zeros(4)).shape
    (2, 4)
    """
    x = as_tensor(input, "dense")
    k = as_tensor(kernel, "dense kernel")
    b = None if bias is None else as_tensor(bias, "dense bias")
    if k.ndim != 2:
        raise ValueError(f"dense: kernel must be 2-d (in_features, units), got shape {k.shape}")
    if x.ndim == 0 or x.shape[-1] != k.shape[0]:
        raise ValueError(
            f"dense: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features "
            f"in its last dim but kernel of shape {k.shape} expects in_features={k.shape[0]}"
        )
    if b is not None and b.shape != (k.shape[1],):
        raise ValueError(
            f"dense: bias must have shape ({k.shape[1]},) to match kernel {k.shape}, got {b.shape}"
        )
    dt = x.data.dtype
    if dt.kind != "f" or k.data.dtype != dt or (b is not None and b.data.dtype != dt):
        raise TypeError(
            f"dense: input, kernel and bias need one floating dtype, got {dt}, {k.data.dtype}"
            + ("" if b is None else f", {b.data.dtype}")
        )
    return Dense.apply(x, k, b)
