"""Converters of ``nerve.quantization``'s int8 layers, as ONNX QDQ: the int8 weight is stored
as int8 with a DequantizeLinear (per channel), and the input goes through QuantizeLinear /
DequantizeLinear with its calibrated scale and zero point, the same rounding as nerve's."""

from __future__ import annotations

import numpy as np

from nerve.onnx.convert_layers import _from_nchw, _spatial_pads, _to_nchw
from nerve.onnx.convert_nn import _conv_pads
from nerve.onnx.emit import array, keras_activation
from nerve.onnx.registry import Call, converter
from nerve.quantization import modules as q


def _fake_quantized_input(g, c: Call, x: str) -> str:
    m = c.module
    scale = np.asarray(m.input_scale._data, np.float32).reshape(())
    zero_point = np.asarray(m.input_zero_point._data).reshape(())
    scale = g.const(scale, f"{c.prefix}.x_scale")
    zp = g.const(zero_point, f"{c.prefix}.x_zero_point", dtype=np.int8)
    return g.op("DequantizeLinear", [g.op("QuantizeLinear", [x, scale, zp]), scale, zp])


def _weight(g, c: Call, perm) -> str:
    """The int8 weight, transposed by ``perm`` to the layout the ONNX op reads, dequantized
    along its output-channel axis."""
    m = c.module
    w = np.transpose(np.asarray(m.weight_int8._data), perm)
    scale = np.asarray(m.weight_scale._data, np.float32)
    axis = list(perm).index(m._channel_axis % w.ndim)
    w_name = g.const(w, f"{c.prefix}.weight_int8", dtype=np.int8)
    if scale.size == 1:
        return g.op("DequantizeLinear", [w_name, g.const(scale.reshape(()), "w_scale")])
    s_name = g.const(scale, f"{c.prefix}.weight_scale")
    zeros = g.const(np.zeros(scale.shape, np.int8), f"{c.prefix}.weight_zero_point", np.int8)
    return g.op("DequantizeLinear", [w_name, s_name, zeros], axis=axis)


def _add_bias(g, y: str, bias, prefix: str) -> str:
    if bias is None:
        return y
    return g.op("Add", [y, g.const(array(bias), f"{prefix}.bias")])


@converter(q.QuantizedLinear, q.QuantizedDense)
def _linear(g, c: Call):
    m = c.module
    x = _fake_quantized_input(g, c, c.x.name)
    perm = (1, 0) if isinstance(m, q.QuantizedLinear) else (0, 1)  # to (in, out)
    y = _add_bias(g, g.op("MatMul", [x, _weight(g, c, perm)]), m.bias, c.prefix)
    return keras_activation(g, getattr(m, "activation", None), y, c.what)


def _conv(g, c: Call, x: str, pads, strides, dilations, groups) -> str:
    m = c.module
    ndim = m.weight_int8._data.ndim
    if isinstance(m, (q.QuantizedConv1d, q.QuantizedConv2d)):
        perm = tuple(range(ndim))  # torch's layout already: (out, in/groups, *kernel)
    else:  # Keras's (*kernel, in/groups, out)
        perm = (ndim - 1, ndim - 2, *range(ndim - 2))
    inputs = [x, _weight(g, c, perm)]
    if m.bias is not None:
        inputs.append(g.const(array(m.bias), f"{c.prefix}.bias"))
    kernel = np.transpose(np.asarray(m.weight_int8._data), perm).shape[2:]
    return g.op(
        "Conv",
        inputs,
        name=c.prefix,
        strides=list(strides),
        pads=list(pads),
        dilations=list(dilations),
        group=int(groups),
        kernel_shape=list(kernel),
    )


@converter(q.QuantizedConv1d, q.QuantizedConv2d)
def _conv_nn(g, c: Call):
    m = c.module
    if c.x.ndim != len(m.kernel_size) + 2:
        raise c.fail(f"export needs a batched input (N, C, ...), got shape {c.x.shape}")
    x = _fake_quantized_input(g, c, c.x.name)
    return _conv(g, c, x, _conv_pads(c), m.stride, m.dilation, m.groups)


@converter(q.QuantizedConv1D, q.QuantizedConv2D)
def _conv_keras(g, c: Call):
    m = c.module
    x = _fake_quantized_input(g, c, _to_nchw(g, c))
    y = _conv(g, c, x, _spatial_pads(c), m.strides, m.dilation_rate, m.groups)
    return keras_activation(g, m.activation, _from_nchw(g, c, y), c.what)
