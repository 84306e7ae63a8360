"""linear (``x @ W.T + b``, torch's weight layout) and dense (``x @ K + b``, Keras's kernel
layout): each one fused op with one matmul per gradient in backward."""

from __future__ import annotations

import numpy as np

from nerve.autograd import amp
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _modes
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor

__all__ = ["dense", "linear"]


def linear_out(x2, weight, bias, out=None):
    """``x2 @ weight.T + bias`` for a 2-d ``x2``, written into ``out`` or into a new array.

    Linear's forward, and what a compiled plan (nerve.compiler.plan) calls with a buffer it
    keeps: one kernel, so both give the same bits.

    Args:
        x2: (rows, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.
        out: a C-contiguous (rows, out_features) array of x2's dtype, or None.

    Returns:
        ``out`` (the new array when None was given).
    """
    if x2.shape[0] == 1:  # one row: BLAS's gemv, 2x faster than a 1-row gemm
        if out is None:
            out = (weight @ x2[0])[None]
        else:
            np.matmul(weight, x2[0], out=out[0])
    elif out is None:
        out = x2 @ weight.T  # BLAS reads the transposed view directly; no copy of W
    else:
        np.matmul(x2, weight.T, out=out)
    if bias is not None:
        out += bias
    return out


@register("linear")
class Linear(Function):
    """y = x @ W.T + b over the last dim of x; every leading dim is flattened into one batch."""

    def forward(self, x, weight, bias):
        need_x, need_w, _ = self.needs_input_grad
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        out = linear_out(x2, weight, bias)
        self.x2 = x2 if need_w else None
        self.weight = weight if need_x else None
        self.x_shape = x.shape
        return out if x.ndim == 2 else out.reshape(*x.shape[:-1], weight.shape[0])

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
    x, w, b = _checked("linear", input, weight, bias, "weight", in_axis=1)
    return Linear.apply(x, w, b)


@register("dense")
class Dense(Function):
    """y = x @ K + b over the last dim of x, K of shape (in, out): Keras's Dense kernel."""

    def forward(self, x, kernel, bias):
        need_x, need_k, _ = self.needs_input_grad
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        out = (x2[0] @ kernel)[None] if x2.shape[0] == 1 else x2 @ kernel  # gemv for one row
        if bias is not None:
            out += bias
        self.x2 = x2 if need_k else None
        self.kernel = kernel if need_x else None
        self.x_shape = x.shape
        return out if x.ndim == 2 else out.reshape(*x.shape[:-1], kernel.shape[1])

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
    x, k, b = _checked("dense", input, kernel, bias, "kernel", in_axis=0)
    return Dense.apply(x, k, b)


_LAYOUTS = {"weight": "(out_features, in_features)", "kernel": "(in_features, units)"}


def _checked(op: str, input, weight, bias, weight_name: str, in_axis: int):
    """Tensors for linear/dense, after one check each of shapes and dtypes (``in_axis``: the
    weight's axis that meets the input's features; the other gives the outputs)."""
    x = as_tensor(input, op)
    w = as_tensor(weight, f"{op} {weight_name}")
    b = None if bias is None else as_tensor(bias, f"{op} bias")
    if _modes.autocast is not None:  # autocast: cast before the one-dtype check, as apply would
        x, w, b = amp.autocast_inputs(op, x, w, b)
    if w.ndim != 2:
        raise ValueError(
            f"{op}: {weight_name} must be 2-d {_LAYOUTS[weight_name]}, got shape {w.shape}"
        )
    n_in, n_out = w.shape[in_axis], w.shape[1 - in_axis]
    if x.ndim == 0 or x.shape[-1] != n_in:
        raise ValueError(
            f"{op}: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features "
            f"in its last dim but {weight_name} of shape {w.shape} expects in_features={n_in}"
        )
    if b is not None and b.shape != (n_out,):
        raise ValueError(
            f"{op}: bias must have shape ({n_out},) to match {weight_name} {w.shape}, got {b.shape}"
        )
    dt = x._data.dtype
    if dt.kind != "f" or w._data.dtype != dt or (b is not None and b._data.dtype != dt):
        raise TypeError(
            f"{op}: input, {weight_name} and bias need one floating dtype, got {dt}, "
            f"{w._data.dtype}" + ("" if b is None else f", {b._data.dtype}")
        )
    return x, w, b
