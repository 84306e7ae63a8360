"""keras.ops' convolution and pooling: conv, depthwise_conv, max_pool, average_pool (1-d, 2-d).

Keras's layouts: inputs channels-last by default ``(batch, *spatial, channels)``, kernels
``(*spatial, in_channels // groups, out_channels)``. ``padding='same'`` pads as Keras (and
TensorFlow) do, the odd unit after, for any stride: each output covers ``ceil(size / stride)``
positions. The work is nerve's conv and pooling ops on channels-first views.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras import config
from nerve.keras.ops._common import detached, to_float, to_tensor
from nerve.nn import functional as F
from nerve.primitives import elementwise as ew
from nerve.primitives import shape as sh

__all__ = ["average_pool", "conv", "depthwise_conv", "max_pool"]


def _tuple(value, n: int, name: str, op: str) -> tuple:
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or any(int(v) < 1 for v in values):
        raise ValueError(f"{op}: {name} must be a positive int or {n} of them, got {value!r}")
    return tuple(int(v) for v in values)


def _channels_first(op: str, x: Tensor, data_format) -> tuple[Tensor, bool]:
    fmt = data_format or config.image_data_format()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first'")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: inputs must be (batch, *spatial, channels) with 1 or 2 spatial dims, got "
            f"shape {x.shape}"
        )
    if fmt == "channels_first":
        return x, False
    return sh.permute(x, (0, x.ndim - 1, *range(1, x.ndim - 1))), True


def _back(y: Tensor, moved: bool) -> Tensor:
    return sh.permute(y, (0, *range(2, y.ndim), 1)) if moved else y


def _padding(op: str, padding: str, sizes, windows, strides, dilations, x: Tensor, value):
    """``x`` (channels-first) padded for ``padding`` ('valid' or Keras's 'same')."""
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding == "valid":
        return x, [(0, 0)] * len(sizes)
    if padding != "same":
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    pads = []
    for n, k, s, d in zip(sizes, windows, strides, dilations):
        out = math.ceil(n / s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    flat = tuple(v for pair in pads[::-1] for v in pair)
    return sh.pad(x, flat, value=value), pads


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1) -> Tensor:
    """An N-d convolution (N = 1 or 2) with Keras's layouts.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first with ``data_format``).
        kernel: ``(*window, channels // groups, filters)``; groups is inferred.
        strides: an int or one per spatial dim.
        padding: ``'valid'`` or ``'same'``.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: an int or one per spatial dim.

    Returns:
        ``(batch, *out_spatial, filters)`` in the input's layout.

    Raises:
        ValueError: shapes or arguments that do not fit.
    """
    x, moved = _channels_first("conv", to_float(inputs, "conv"), data_format)
    w = to_tensor(kernel, "conv", x._data.dtype)
    nd = x.ndim - 2
    if w.ndim != nd + 2:
        raise ValueError(f"conv: kernel of shape {w.shape} for {nd}-d inputs of shape {x.shape}")
    cin, per_group, filters = x.shape[1], w.shape[-2], w.shape[-1]
    if per_group == 0 or cin % per_group or filters % (cin // per_group):
        raise ValueError(
            f"conv: inputs with {cin} channels do not fit a kernel of shape {w.shape} "
            f"(its in-channels {per_group} must divide {cin})"
        )
    s = _tuple(strides, nd, "strides", "conv")
    d = _tuple(dilation_rate, nd, "dilation_rate", "conv")
    x, _ = _padding("conv", padding, x.shape[2:], w.shape[:nd], s, d, x, 0.0)
    weight = sh.permute(w, (nd + 1, nd, *range(nd)))  # (filters, in/groups, *window)
    fn = F.conv1d if nd == 1 else F.conv2d
    y = fn(x, weight, stride=s, dilation=d, groups=cin // per_group)
    return _back(y, moved)


def depthwise_conv(
    inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1
) -> Tensor:
    """A depthwise convolution: each channel convolved with its own ``multiplier`` filters.

    Args:
        inputs: ``(batch, *spatial, channels)``.
        kernel: ``(*window, channels, multiplier)``.
        strides, padding, data_format, dilation_rate: as in :func:`conv`.

    Returns:
        ``(batch, *out_spatial, channels * multiplier)``.
    """
    w = to_float(kernel, "depthwise_conv")
    if w.ndim < 3:
        raise ValueError(f"depthwise_conv: kernel must be (*window, channels, mult), got {w.shape}")
    window, cin, mult = w.shape[:-2], w.shape[-2], w.shape[-1]
    grouped = sh.reshape(w, (*window, 1, cin * mult))
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def _pool(op: str, inputs, pool_size, strides, padding, data_format, average: bool) -> Tensor:
    x, moved = _channels_first(op, to_float(inputs, op), data_format)
    nd = x.ndim - 2
    k = _tuple(pool_size, nd, "pool_size", op)
    s = k if strides is None else _tuple(strides, nd, "strides", op)
    sizes = x.shape[2:]
    fill = 0.0 if average else -np.inf
    x, pads = _padding(op, padding, sizes, k, s, (1,) * nd, x, fill)
    if average:
        fn = F.avg_pool1d if nd == 1 else F.avg_pool2d
        y = fn(x, k, s)
        if any(p != (0, 0) for p in pads):
            # Keras averages over the window's real elements only: divide by their share
            ones = np.ones((1, 1, *sizes), x._data.dtype)
            flat = tuple(v for pair in pads[::-1] for v in pair)
            share = fn(sh.pad(detached(ones), flat), k, s)
            y = ew.div(y, share)
    else:
        fn = F.max_pool1d if nd == 1 else F.max_pool2d
        y = fn(x, k, s)
    return _back(y, moved)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None) -> Tensor:
    """The maximum over each window (``strides`` default to ``pool_size``).

    Args:
        inputs: ``(batch, *spatial, channels)`` with 1 or 2 spatial dims.
        pool_size: an int or one per spatial dim.
        strides: an int, one per spatial dim, or None (``pool_size``).
        padding: ``'valid'`` or ``'same'`` (padding never wins the maximum).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
    """
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format, False)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None) -> Tensor:
    """The mean over each window; with ``'same'`` padding only the real elements count (see
    :func:`max_pool` for the arguments)."""
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format, True)
