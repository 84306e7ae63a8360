"""tf.nn.conv2d, max_pool and avg_pool: TensorFlow 1's channels-last convolution and pooling.

TensorFlow lays images out as NHWC and filters as [height, width, in, out]; nerve's fused ops
take NCHW and [out, in, height, width], so each node permutes around one F.conv2d / F.max_pool2d
call. 'SAME' padding may be one larger at the bottom and right than at the top and left, as
TensorFlow pads; that asymmetric part goes through F.pad.
"""

from __future__ import annotations

import math

import numpy as np

import nerve.nn.functional as F
from nerve.autograd import Tensor as NerveTensor
from nerve.compat.v1.graph import GraphTensor, TensorShape, convert_to_tensor

__all__ = ["avg_pool", "conv2d", "max_pool"]


def _four(op: str, name: str, value) -> tuple:
    """An NHWC ``strides``/``ksize``: 4 values with 1 for the batch and channels (or 1 or 2)."""
    vals = [int(v) for v in np.atleast_1d(value)]
    if len(vals) == 1:
        vals = [1, vals[0], vals[0], 1]
    elif len(vals) == 2:
        vals = [1, *vals, 1]
    if len(vals) != 4 or vals[0] != 1 or vals[3] != 1 or min(vals) < 1:
        raise ValueError(
            f"{op}: {name} must be [1, h, w, 1] (NHWC, positive), got {list(np.atleast_1d(value))}"
        )
    return vals[1], vals[2]


def _padding(op: str, padding) -> str:
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")
    return padding.upper()


def _same_pads(size: int, k: int, s: int, d: int) -> tuple:
    # TensorFlow's SAME: the output has ceil(size / s) positions; any odd padding goes last.
    effective = (k - 1) * d + 1
    total = max((math.ceil(size / s) - 1) * s + effective - size, 0)
    return total // 2, total - total // 2


def _out_size(size, k, s, d, padding):
    if size is None:
        return None
    if padding == "SAME":
        return math.ceil(size / s)
    return max((size - ((k - 1) * d + 1)) // s + 1, 0)


def _check_nhwc(op: str, x: GraphTensor, data_format) -> None:
    if data_format not in (None, "NHWC"):
        raise ValueError(f"{op}: only data_format='NHWC' is supported, got {data_format!r}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input {x.name} must be float, got {x.dtype}")
    if x.shape.ndims not in (None, 4):
        raise ValueError(f"{op}: input {x.name} must be 4-D NHWC, got shape {x.shape}")


def _pad_nchw(t, padding, kh, kw, sh, sw, dh, dw, value):
    if padding == "VALID":
        return t
    top, bottom = _same_pads(t.shape[2], kh, sh, dh)
    left, right = _same_pads(t.shape[3], kw, sw, dw)
    if top == bottom == left == right == 0:
        return t
    return F.pad(t, (left, right, top, bottom), value=value)


def conv2d(
    input,
    filter=None,  # noqa: A002
    strides=None,
    padding=None,
    use_cudnn_on_gpu=True,
    data_format="NHWC",
    dilations=(1, 1, 1, 1),
    name=None,
    filters=None,
):
    """2-D convolution of NHWC ``input`` with a [kh, kw, in, out] ``filter``.

    Args:
        input: a float tensor (batch, height, width, channels).
        filter: the kernel [kh, kw, in_channels, out_channels] (``filters`` is the new name).
        strides: [1, sh, sw, 1].
        padding: 'SAME' (output size ceil(in / stride)) or 'VALID'.
        data_format: 'NHWC' only.
        dilations: [1, dh, dw, 1].

    Raises:
        ValueError: strides, padding or dilations malformed, or the channels do not match.
    """
    op = "Conv2D"
    kernel = filter if filter is not None else filters
    if kernel is None or strides is None or padding is None:
        raise ValueError(f"{op}: filter, strides and padding are required")
    x = convert_to_tensor(input, what=op)
    _check_nhwc(op, x, data_format)
    w = convert_to_tensor(kernel, dtype=x.dtype, what=op)
    if w.shape.ndims not in (None, 4):
        raise ValueError(f"{op}: filter {w.name} must be [kh, kw, in, out], got shape {w.shape}")
    sh, sw = _four(op, "strides", strides)
    dh, dw = _four(op, "dilations", dilations)
    pad = _padding(op, padding)
    shape = TensorShape(None)
    if x.shape.ndims == 4 and w.shape.ndims == 4:
        cin, wcin = x.shape[3], w.shape[2]
        if cin is not None and wcin is not None and cin != wcin:
            raise ValueError(
                f"{op}: input {x.name} has {cin} channels but filter {w.name} {w.shape} expects "
                f"{wcin}"
            )
        kh, kw = w.shape[0], w.shape[1]
        oh = None if kh is None else _out_size(x.shape[1], kh, sh, dh, pad)
        ow = None if kw is None else _out_size(x.shape[2], kw, sw, dw, pad)
        shape = TensorShape([x.shape[0], oh, ow, w.shape[3]])

    def fn(t, k):
        kh, kw = k.shape[0], k.shape[1]
        xc = _pad_nchw(t.permute(0, 3, 1, 2), pad, kh, kw, sh, sw, dh, dw, 0.0)
        out = F.conv2d(xc, k.permute(3, 2, 0, 1), stride=(sh, sw), dilation=(dh, dw))
        return out.permute(0, 2, 3, 1)

    return GraphTensor(op, fn, (x, w), x.dtype, shape, name)


def _pool(op, value, ksize, strides, padding, data_format, name, average):
    x = convert_to_tensor(value, what=op)
    _check_nhwc(op, x, data_format)
    kh, kw = _four(op, "ksize", ksize)
    sh, sw = _four(op, "strides", strides)
    pad = _padding(op, padding)
    shape = TensorShape(None)
    if x.shape.ndims == 4:
        shape = TensorShape(
            [
                x.shape[0],
                _out_size(x.shape[1], kh, sh, 1, pad),
                _out_size(x.shape[2], kw, sw, 1, pad),
                x.shape[3],
            ]
        )

    def fn(t):
        xc = t.permute(0, 3, 1, 2)
        if not average:
            xc = _pad_nchw(xc, pad, kh, kw, sh, sw, 1, 1, -np.inf)
            return F.max_pool2d(xc, (kh, kw), stride=(sh, sw)).permute(0, 2, 3, 1)
        # TensorFlow averages over the window's real pixels only: sum / count of them
        summed = F.avg_pool2d(_pad_nchw(xc, pad, kh, kw, sh, sw, 1, 1, 0.0), (kh, kw), (sh, sw))
        if pad == "SAME":
            ones = NerveTensor(np.ones((1, 1, t.shape[1], t.shape[2]), t.dtype), dtype=t.dtype)
            mask = _pad_nchw(ones, pad, kh, kw, sh, sw, 1, 1, 0.0)
            share = F.avg_pool2d(mask, (kh, kw), (sh, sw))._data  # real pixels / window size
            summed = summed / NerveTensor(share, dtype=share.dtype)
        return summed.permute(0, 2, 3, 1)

    return GraphTensor(op, fn, (x,), x.dtype, shape, name)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Max pooling of NHWC ``value`` over ``ksize`` windows ([1, kh, kw, 1]) every ``strides``.

    Raises:
        ValueError: ksize, strides or padding malformed.
    """
    value = input if value is None else value
    return _pool("MaxPool", value, ksize, strides, padding, data_format, name, average=False)


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Average pooling of NHWC ``value``; with 'SAME' the padded pixels are not counted.

    Raises:
        ValueError: ksize, strides or padding malformed.
    """
    value = input if value is None else value
    return _pool("AvgPool", value, ksize, strides, padding, data_format, name, average=True)
