"""Converters of the Keras-style layers of ``nerve.layers`` (channels_last by default: the
convolutions and poolings are wrapped in Transposes to ONNX's channels-first ops)."""

from __future__ import annotations

import numpy as np

from nerve import activations, layers
from nerve.layers.conv import transpose_geometry
from nerve.onnx import emit
from nerve.onnx.convert_nn import layer_norm
from nerve.onnx.emit import array, keras_activation, transpose
from nerve.onnx.op_forms import reduce
from nerve.onnx.registry import NOT_EXPORTABLE, TRACED, Call, converter

TRACED.add(layers.Layer)  # a custom call() is traced op by op
NOT_EXPORTABLE.update(
    {
        layers.Lambda: "a Lambda runs arbitrary Python; register a converter for a layer "
        "that does the same",
        layers.InputLayer: "an InputLayer is the input of a functional model, not a layer to run",
        layers.Bidirectional: "Bidirectional has no converter yet",
        layers.Conv1DTranspose: "Conv1DTranspose has no converter yet",
        layers.Dot: "Dot has no converter yet",
    }
)


def _act(g, c: Call, y: str) -> str:
    return keras_activation(g, getattr(c.module, "activation", None), y, c.what)


# ----------------------------------------------------------------------------- core
@converter(layers.Dense)
def _dense(g, c: Call):
    m = c.module
    return _act(g, c, emit.matmul_add(g, c.x.name, m.kernel, m.bias, c.prefix))


@converter(layers.Activation)
def _activation(g, c: Call):
    return _act(g, c, c.x.name)


@converter(
    layers.Dropout,
    layers.Identity,
    layers.RandomFlip,
    layers.RandomRotation,
    layers.RandomTranslation,
    layers.RandomZoom,
)
def _identity(g, c: Call):
    return c.x.name  # dropout and augmentation are the identity at inference


def _as_float(g, c: Call) -> str:
    if c.x.a.dtype.kind == "f":
        return c.x.name
    return g.op("Cast", [c.x.name], to=g.onnx.TensorProto.FLOAT)


@converter(layers.Rescaling)
def _rescaling(g, c: Call):
    m = c.module
    y = g.op("Mul", [_as_float(g, c), g.const(array(m.scale), f"{c.prefix}.scale")])
    return g.op("Add", [y, g.const(array(m.offset), f"{c.prefix}.offset")], name=c.prefix)


@converter(layers.Normalization)
def _normalization(g, c: Call):
    m = c.module
    mean, variance = (array(a) for a in m._statistics())
    std = np.maximum(np.sqrt(variance), np.float32(1e-7))  # nerve's (and Keras's) epsilon
    x = _as_float(g, c)
    if m.invert:
        y = g.op("Mul", [x, g.const(std, f"{c.prefix}.std")])
        return g.op("Add", [y, g.const(mean, f"{c.prefix}.mean")], name=c.prefix)
    y = g.op("Sub", [x, g.const(mean, f"{c.prefix}.mean")])
    return g.op("Div", [y, g.const(std, f"{c.prefix}.std")], name=c.prefix)


@converter(layers.Flatten)
def _flatten(g, c: Call):
    x = c.x.name
    if c.module.data_format == "channels_first" and c.x.ndim > 2:
        x = transpose(g, x, (0, *range(2, c.x.ndim), 1))
    return g.op("Reshape", [x, g.ints(c.out.target_shape(c.what))], name=c.prefix)


@converter(layers.Reshape)
def _reshape(g, c: Call):
    return g.op("Reshape", [c.x.name, g.ints(c.out.target_shape(c.what))], name=c.prefix)


@converter(layers.Permute)
def _permute(g, c: Call):
    return transpose(g, c.x.name, (0, *c.module.dims))


@converter(layers.RepeatVector)
def _repeat_vector(g, c: Call):
    y = g.op("Unsqueeze", [c.x.name, g.ints([1])])
    return g.op("Tile", [y, g.ints([1, c.module.n, 1])], name=c.prefix)


# ----------------------------------------------------------------------------- activations
@converter(layers.ReLU)
def _relu(g, c: Call):
    m = c.module
    return emit.keras_relu(g, c.x.name, m.negative_slope, m.max_value, m.threshold)


@converter(layers.LeakyReLU)
def _leaky_relu(g, c: Call):
    return g.op("LeakyRelu", [c.x.name], alpha=float(c.module.negative_slope), name=c.prefix)


@converter(layers.ELU)
def _elu(g, c: Call):
    return g.op("Elu", [c.x.name], alpha=float(c.module.alpha), name=c.prefix)


@converter(layers.Softmax)
def _softmax(g, c: Call):
    axis = c.module.axis
    if isinstance(axis, tuple) or c.kwargs.get("mask") is not None:
        raise c.fail("a softmax over several axes or with a mask is not exported")
    return g.op("Softmax", [c.x.name], axis=int(axis), name=c.prefix)


@converter(layers.PReLU)
def _prelu(g, c: Call):
    alpha = g.const(array(c.module.alpha), f"{c.prefix}.alpha")
    return g.op("PRelu", [c.x.name, alpha], name=c.prefix)


# ----------------------------------------------------------------------------- convolutions
def _to_nchw(g, c: Call) -> str:
    m, x = c.module, c.x.name
    if m.data_format != "channels_last":
        return x
    return transpose(g, x, (0, 2, 1) if m.rank == 1 else (0, 3, 1, 2))


def _from_nchw(g, c: Call, y: str) -> str:
    if c.module.data_format != "channels_last":
        return y
    return transpose(g, y, (0, 2, 1) if c.module.rank == 1 else (0, 2, 3, 1))


def _spatial_pads(c: Call) -> list:
    """The (before, after) pads nerve uses, for the static spatial size of the input."""
    m = c.module
    pairs = m._pads(m._spatial(_Shape(c.x.shape)))
    return emit.onnx_pads(pairs[2 - m.rank :])


class _Shape:
    """Just enough of a Tensor (its shape) for the layers' geometry helpers."""

    def __init__(self, shape):
        self.shape = tuple(shape)


@converter(layers.Conv1D, layers.Conv2D)
def _conv(g, c: Call):
    m = c.module
    k = array(m.kernel)  # (*kernel, in/groups, filters) -> (filters, in/groups, *kernel)
    w = np.transpose(k, (k.ndim - 1, k.ndim - 2, *range(k.ndim - 2)))
    y = emit.conv(
        g,
        _to_nchw(g, c),
        w,
        m.bias,
        c.prefix,
        m.strides,
        _spatial_pads(c),
        m.dilation_rate,
        m.groups,
    )
    return _act(g, c, _from_nchw(g, c, y))


def _depthwise_oihw(kernel):
    """A Keras depthwise kernel (kh, kw, C, multiplier) as a grouped ONNX weight (C*mult, 1,
    kh, kw), and the channel count C (the group count)."""
    kh, kw, ch, mult = kernel.shape
    return array(kernel).reshape(kh, kw, 1, ch * mult).transpose(3, 2, 0, 1), ch


@converter(layers.DepthwiseConv2D)
def _depthwise(g, c: Call):
    m = c.module
    w, ch = _depthwise_oihw(m.kernel)
    pads = _spatial_pads(c)
    y = emit.conv(g, _to_nchw(g, c), w, m.bias, c.prefix, m.strides, pads, m.dilation_rate, ch)
    return _act(g, c, _from_nchw(g, c, y))


@converter(layers.SeparableConv2D)
def _separable(g, c: Call):
    m = c.module
    dw, ch = _depthwise_oihw(m.depthwise_kernel)
    pw = array(m.pointwise_kernel).transpose(3, 2, 0, 1)
    pads = _spatial_pads(c)
    y = emit.conv(
        g, _to_nchw(g, c), dw, None, f"{c.prefix}.depthwise", m.strides, pads, m.dilation_rate, ch
    )
    y = emit.conv(g, y, pw, m.bias, f"{c.prefix}.pointwise", (1, 1), [0, 0, 0, 0])
    return _act(g, c, _from_nchw(g, c, y))


@converter(layers.Conv2DTranspose)
def _conv_transpose(g, c: Call):
    m = c.module
    spatial = m._spatial(_Shape(c.x.shape))
    begins, ends, extras = [], [], []
    for i, (n, k, s, d) in enumerate(zip(spatial, m.kernel_size, m.strides, m.dilation_rate)):
        op = None if m.output_padding is None else m.output_padding[i]
        crop, length = transpose_geometry(n, k, s, d, m.padding, op)
        after = (n - 1) * s + d * (k - 1) + 1 - crop - length
        begins.append(crop)
        ends.append(max(after, 0))
        extras.append(max(-after, 0))
    w = array(m.kernel).transpose(3, 2, 0, 1)  # (kh, kw, out, in) -> (in, out, kh, kw)
    inputs = [_to_nchw(g, c), g.const(w, f"{c.prefix}.kernel")]
    if m.bias is not None:
        inputs.append(g.const(array(m.bias), f"{c.prefix}.bias"))
    y = g.op(
        "ConvTranspose",
        inputs,
        name=c.prefix,
        strides=list(m.strides),
        pads=begins + ends,
        output_padding=extras,
        dilations=list(m.dilation_rate),
        kernel_shape=list(m.kernel_size),
    )
    return _act(g, c, _from_nchw(g, c, y))


# ----------------------------------------------------------------------------- pooling
@converter(
    layers.MaxPooling1D, layers.MaxPooling2D, layers.AveragePooling1D, layers.AveragePooling2D
)
def _pool(g, c: Call):
    m = c.module
    attrs = {"kernel_shape": list(m.pool_size), "strides": list(m.strides)}
    if m.padding == "same":  # TensorFlow's 'same': the odd unit after; averages skip padding
        attrs["auto_pad"] = "SAME_UPPER"
    y = g.op("MaxPool" if m._max else "AveragePool", [_to_nchw(g, c)], name=c.prefix, **attrs)
    return _from_nchw(g, c, y)


@converter(
    layers.GlobalAveragePooling1D,
    layers.GlobalAveragePooling2D,
    layers.GlobalMaxPooling1D,
    layers.GlobalMaxPooling2D,
)
def _global_pool(g, c: Call):
    m = c.module
    if c.kwargs.get("mask") is not None:
        raise c.fail("a masked average is not exported")
    op = "ReduceMax" if m._max else "ReduceMean"
    return reduce(g, op, c.x.name, list(m._axes()), m.keepdims)


# ----------------------------------------------------------------------------- normalization
@converter(layers.BatchNormalization)
def _batch_norm(g, c: Call):
    # inference form: x * scale + shift, per feature along ``axis``
    m, x = c.module, c.x
    axis = m.axis % x.ndim
    var, mean = array(m.moving_variance), array(m.moving_mean)
    scale = 1.0 / np.sqrt(var + np.float32(m.epsilon))
    if m.scale:
        scale = scale * array(m.gamma)
    shift = -mean * scale
    if m.center:
        shift = shift + array(m.beta)
    shape = [1] * (x.ndim - axis)
    shape[0] = -1
    y = g.op("Mul", [x.name, g.const(scale.reshape(shape), f"{c.prefix}.scale")])
    return g.op("Add", [y, g.const(shift.reshape(shape), f"{c.prefix}.shift")], name=c.prefix)


@converter(layers.LayerNormalization)
def _layer_norm(g, c: Call):
    m, x = c.module, c.x
    axes = m._axes(x.shape)
    shape = tuple(x.shape[a] for a in axes)
    gamma = m.gamma if m.scale else None
    beta = m.beta if m.center else None
    if axes == tuple(range(x.ndim - len(axes), x.ndim)):
        return layer_norm(g, x.name, shape, gamma, beta, m.epsilon, c.prefix)
    order = [a for a in range(x.ndim) if a not in axes] + list(axes)
    y = layer_norm(g, transpose(g, x.name, order), shape, gamma, beta, m.epsilon, c.prefix)
    return transpose(g, y, np.argsort(order))


# ----------------------------------------------------------------------------- merging
def _aligned(g, c: Call) -> list:
    """The inputs at one rank, Keras's way: missing axes inserted after the batch axis."""
    xs = c.inputs
    rank = max(x.ndim for x in xs)
    out = []
    for x in xs:
        if x.ndim == rank:
            out.append(x.name)
        else:
            axes = list(range(1, 1 + rank - x.ndim))
            out.append(g.op("Unsqueeze", [x.name, g.ints(axes)]))
    return out


def _fold(g, op: str, names: list, prefix: str) -> str:
    y = names[0]
    for n in names[1:]:
        y = g.op(op, [y, n], name=prefix)
    return y


_MERGES = {
    layers.Add: "Add",
    layers.Subtract: "Sub",
    layers.Multiply: "Mul",
    layers.Maximum: "Max",
    layers.Minimum: "Min",
}


@converter(*_MERGES)
def _merge(g, c: Call):
    return _fold(g, _MERGES[type(c.module)], _aligned(g, c), c.prefix)


@converter(layers.Average)
def _average(g, c: Call):
    names = _aligned(g, c)
    total = _fold(g, "Add", names, c.prefix)
    return g.op("Div", [total, g.scalar(float(len(names)))], name=c.prefix)


@converter(layers.Concatenate)
def _concatenate(g, c: Call):
    return g.op("Concat", [x.name for x in c.inputs], axis=int(c.module.axis), name=c.prefix)


# ----------------------------------------------------------------------------- embedding
@converter(layers.Embedding)
def _embedding(g, c: Call):
    m = c.module
    if m.mask_zero:
        raise c.fail("mask_zero=True: Keras masks are not exported")
    ids = c.x.name
    if c.x.a.dtype.kind == "f":
        ids = g.op("Cast", [ids], to=g.onnx.TensorProto.INT64)
    table = g.const(array(m.embeddings), f"{c.prefix}.embeddings")
    return g.op("Gather", [table, ids], axis=0, name=c.prefix)


# ----------------------------------------------------------------------------- recurrent
# Keras's gate blocks -> ONNX's: LSTM (i, f, c, o) -> (i, o, f, c); GRU (z, r, h) unchanged
_GATES = {layers.LSTM: ("LSTM", (0, 3, 1, 2)), layers.GRU: ("GRU", (0, 1, 2))}


@converter(layers.SimpleRNN, layers.LSTM, layers.GRU)
def _recurrent(g, c: Call):
    m = c.module
    if c.kwargs.get("mask") is not None or c.kwargs.get("initial_state") is not None:
        raise c.fail("masks and initial states are not exported")
    if len(c.inputs) != 1:
        raise c.fail("masks and initial states are not exported")
    kind, order = _GATES.get(type(m), ("RNN", (0,)))
    u = m.units

    def onnx_gates(w):  # (rows, G*U) -> (G*U, rows), blocks in ONNX's order
        w = np.asarray(w, np.float32)
        return np.concatenate([w[..., i * u : (i + 1) * u] for i in order], axis=-1).T

    w, r = onnx_gates(array(m.kernel)), onnx_gates(array(m.recurrent_kernel))
    b = None
    if m.bias is not None:
        bias = array(m.bias)
        if kind == "GRU":  # (input bias, recurrent bias)
            b = np.concatenate([onnx_gates(bias[0]), onnx_gates(bias[1])])
        else:
            b = np.concatenate([onnx_gates(bias), np.zeros(bias.size, np.float32)])
    activation = "Relu" if m.activation is activations.relu else "Tanh"
    x = transpose(g, c.x.name, (1, 0, 2))
    if m.go_backwards:  # Keras reads backwards and returns the outputs in that order
        x = emit.reverse_time(g, x)
    y, yh, yc = emit.recurrent(
        g,
        kind,
        x,
        w[None],
        r[None],
        None if b is None else b[None],
        u,
        c.prefix,
        activation=activation,
    )
    squeeze = g.ints([0])
    h = g.op("Squeeze", [yh, squeeze])
    if m.return_sequences:
        out = transpose(g, g.op("Squeeze", [y, g.ints([1])]), (1, 0, 2))
    else:
        out = h
    if not m.return_state:
        return out
    states = [h] if kind != "LSTM" else [h, g.op("Squeeze", [yc, squeeze])]
    return [out, *states]


# ----------------------------------------------------------------------------- attention
@converter(layers.MultiHeadAttention)
def _multi_head_attention(g, c: Call):
    m = c.module
    kw = c.kwargs
    for name in ("query_mask", "value_mask", "key_mask", "attention_mask"):
        if kw.get(name) is not None:
            raise c.fail(f"{name} is not exported")
    args = list(c.args)
    query = args[0]
    value = args[1] if len(args) > 1 else kw["value"]
    key = args[2] if len(args) > 2 else kw.get("key")
    key = value if key is None else key
    p = m._parameters

    def project(x, part):
        kernel = array(p[f"{part}_kernel"])
        dim = kernel.shape[0]
        bias = p.get(f"{part}_bias")
        b = None if bias is None else array(bias).reshape(-1)
        return emit.matmul_add(g, x, kernel.reshape(dim, -1), b, f"{c.prefix}.{part}")

    q, k, v = project(query.name, "query"), project(key.name, "key"), project(value.name, "value")
    mask = None
    if kw.get("use_causal_mask"):
        mask = emit.causal_mask(g, query.shape[1], value.shape[1])
    out, weights = emit.attention(g, q, k, v, m.num_heads, m.key_dim, m.value_dim, c.prefix, mask)
    kernel = array(p["output_kernel"])
    bias = p.get("output_bias")
    out_shape = kernel.shape[2:]
    w = kernel.reshape(m.num_heads * m.value_dim, -1)
    out = emit.matmul_add(
        g, out, w, None if bias is None else array(bias).reshape(-1), f"{c.prefix}.output"
    )
    if len(out_shape) > 1:
        out = g.op("Reshape", [out, g.ints([0, 0, *out_shape])])
    return [out, weights] if kw.get("return_attention_scores") else out
