"""ONNX converters (or NOT_EXPORTABLE reasons) for the modules the torch door adds."""

from __future__ import annotations

import numpy as np

from nerve import nn
from nerve.nn.functional import sampling
from nerve.onnx.emit import transpose
from nerve.onnx.registry import NOT_EXPORTABLE, Call, converter

_LOSS = "a loss is not part of an inference graph; export the model without it"
NOT_EXPORTABLE.update(
    {
        **{
            cls: _LOSS
            for cls in (
                nn.CosineEmbeddingLoss,
                nn.CTCLoss,
                nn.GaussianNLLLoss,
                nn.HingeEmbeddingLoss,
                nn.MarginRankingLoss,
                nn.MultiLabelMarginLoss,
                nn.MultiLabelSoftMarginLoss,
                nn.MultiMarginLoss,
                nn.PoissonNLLLoss,
                nn.SoftMarginLoss,
                nn.TripletMarginLoss,
                nn.TripletMarginWithDistanceLoss,
            )
        },
        nn.RReLU: "RReLU draws random slopes in training; export nn.LeakyReLU with the mean slope",
        nn.RNNCell: "the single-step cells have no converter yet; export nn.RNN over a sequence",
        nn.LSTMCell: "the single-step cells have no converter yet; export nn.LSTM over a sequence",
        nn.GRUCell: "the single-step cells have no converter yet; export nn.GRU over a sequence",
        nn.Transformer: "the encoder-decoder (two inputs, masks) has no converter yet",
        nn.TransformerDecoder: "the decoder (two inputs, masks) has no converter yet",
        nn.EmbeddingBag: "EmbeddingBag (ragged bags through offsets) has no converter yet",
        nn.Unfold: "Unfold (im2col) has no converter yet",
        nn.Fold: "Fold (col2im) has no converter yet",
        nn.PixelUnshuffle: "ONNX SpaceToDepth orders channels differently; no converter yet",
        nn.ParameterList: "a ParameterList has no forward(); export the module that uses it",
        nn.ParameterDict: "a ParameterDict has no forward(); export the module that uses it",
        **{
            cls: "circular padding (ONNX Pad mode 'wrap', opset 19) has no converter yet"
            for cls in (nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d)
        },
        nn.CosineSimilarity: "a similarity of two inputs has no converter yet",
        nn.PairwiseDistance: "a distance of two inputs has no converter yet",
    }
)


@converter(nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
def _identity(g, c: Call):
    return c.x.name  # every dropout is the identity at inference


@converter(nn.Hardtanh, nn.ReLU6)
def _hardtanh(g, c: Call):
    m = c.module
    lo, hi = g.scalar(float(m.min_val)), g.scalar(float(m.max_val))
    return g.op("Clip", [c.x.name, lo, hi], name=c.prefix)


@converter(nn.Hardsigmoid)
def _hardsigmoid(g, c: Call):
    return g.op("HardSigmoid", [c.x.name], alpha=1.0 / 6, beta=0.5, name=c.prefix)


@converter(nn.Hardswish)
def _hardswish(g, c: Call):
    gate = g.op("HardSigmoid", [c.x.name], alpha=1.0 / 6, beta=0.5)
    return g.op("Mul", [c.x.name, gate], name=c.prefix)


@converter(nn.Mish)
def _mish(g, c: Call):
    t = g.op("Tanh", [g.op("Softplus", [c.x.name])])
    return g.op("Mul", [c.x.name, t], name=c.prefix)


@converter(nn.Softsign)
def _softsign(g, c: Call):
    return g.op("Softsign", [c.x.name], name=c.prefix)


@converter(nn.Tanhshrink)
def _tanhshrink(g, c: Call):
    return g.op("Sub", [c.x.name, g.op("Tanh", [c.x.name])], name=c.prefix)


@converter(nn.Softshrink)
def _softshrink(g, c: Call):
    lambd = float(c.module.lambd)
    return g.op("Shrink", [c.x.name], bias=lambd, lambd=lambd, name=c.prefix)


@converter(nn.Hardshrink)
def _hardshrink(g, c: Call):
    return g.op("Shrink", [c.x.name], bias=0.0, lambd=float(c.module.lambd), name=c.prefix)


@converter(nn.Threshold)
def _threshold(g, c: Call):
    m = c.module
    above = g.op("Greater", [c.x.name, g.scalar(float(m.threshold))])
    return g.op("Where", [above, c.x.name, g.scalar(float(m.value))], name=c.prefix)


@converter(nn.LogSigmoid)
def _logsigmoid(g, c: Call):
    return g.op("Log", [g.op("Sigmoid", [c.x.name])], name=c.prefix)


@converter(nn.CELU)
def _celu(g, c: Call):
    return g.op("Celu", [c.x.name], alpha=float(c.module.alpha), name=c.prefix)


@converter(nn.Softmin)
def _softmin(g, c: Call):
    dim = c.module.dim
    if dim is None:
        dim = 0 if c.x.ndim in (0, 1, 3) else 1
    if dim % c.x.ndim in c.x.dynamic:
        raise c.fail(f"a softmin over the batch dim {dim} would mix samples")
    return g.op("Softmax", [g.op("Neg", [c.x.name])], axis=int(dim), name=c.prefix)


@converter(nn.Softmax2d)
def _softmax2d(g, c: Call):
    return g.op("Softmax", [c.x.name], axis=-3, name=c.prefix)


@converter(nn.PReLU)
def _prelu(g, c: Call):
    w = np.asarray(c.module.weight._data, dtype=np.float32)
    if w.size > 1:  # one slope per channel (dim 1): broadcast over the spatial dims
        w = w.reshape((w.size,) + (1,) * max(c.x.ndim - 2, 0))
    return g.op("PRelu", [c.x.name, g.const(w, "slope")], name=c.prefix)


@converter(nn.PixelShuffle)
def _pixel_shuffle(g, c: Call):
    if c.x.ndim != 4:
        raise c.fail(f"export needs a (N, C, H, W) input, got shape {c.x.shape}")
    r = int(c.module.upscale_factor)
    return g.op("DepthToSpace", [c.x.name], blocksize=r, mode="CRD", name=c.prefix)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(in, out) averaging weights of adaptive average pooling's bins."""
    w = np.zeros((n_in, n_out), np.float32)
    for j in range(n_out):
        lo, hi = (j * n_in) // n_out, -((-(j + 1) * n_in) // n_out)
        w[lo:hi, j] = 1.0 / (hi - lo)
    return w


def _linear_matrix(n_in: int, n_out: int, scale, align_corners: bool) -> np.ndarray:
    """(in, out) weights with out[j] = (1 - lam) x[i0] + lam x[i1], as F.interpolate."""
    i0, i1, lam = sampling.linear_weights(n_in, n_out, scale, align_corners, np.float32)
    w = np.zeros((n_in, n_out), np.float32)
    cols = np.arange(n_out)
    np.add.at(w, (i0, cols), 1 - lam)
    np.add.at(w, (i1, cols), lam)
    return w


@converter(nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d)
def _upsample(g, c: Call):
    """Each spatial axis as nerve computes it: a Gather of source rows (nearest) or a MatMul
    with the (in, out) blend weights, so the runtime's Resize conventions do not matter."""
    m, ndim = c.module, c.x.ndim
    if any(d >= 2 for d in c.x.dynamic):
        raise c.fail("export needs fixed spatial sizes (only the batch dim may vary)")
    shape = c.x.shape
    out, scales = sampling.output_sizes(
        shape, m.size, m.scale_factor, bool(m.recompute_scale_factor)
    )
    y = c.x.name
    for d, (n_out, scale) in enumerate(zip(out, scales)):
        axis, n_in = 2 + d, shape[2 + d]
        if m.mode in ("nearest", "nearest-exact"):
            if n_in == n_out and scale in (None, 1.0):
                continue
            idx = sampling.nearest_index(n_in, n_out, scale, m.mode == "nearest-exact")
            y = g.op("Gather", [y, g.ints(idx)], axis=axis)
            continue
        if m.mode == "area":
            w = _area_weights(n_in, n_out)
        else:
            w = _linear_matrix(n_in, n_out, scale, bool(m.align_corners))
        order = [a for a in range(ndim) if a != axis] + [axis]
        moved = g.op("MatMul", [transpose(g, y, order), g.const(w, "resize.weight")])
        y = transpose(g, moved, np.argsort(order))
    return g.op("Identity", [y], name=c.prefix)


@converter(nn.GLU)
def _glu(g, c: Call):
    dim = c.module.dim % c.x.ndim
    if dim in c.x.dynamic:
        raise c.fail(f"GLU over the batch dim {c.module.dim} would mix samples")
    half = c.x.shape[dim] // 2
    a = g.op("Slice", [c.x.name, g.ints([0]), g.ints([half]), g.ints([dim])])
    b = g.op("Slice", [c.x.name, g.ints([half]), g.ints([2 * half]), g.ints([dim])])
    return g.op("Mul", [a, g.op("Sigmoid", [b])], name=c.prefix)


# ----------------------------------------------------------------------------- 1-d, 3-d, instance
def _one(v) -> list:
    return [int(v)] if isinstance(v, (int, np.integer)) else [int(a) for a in v]


def _batched(c: Call, ndim: int) -> None:
    if c.x.ndim != ndim:
        raise c.fail(f"export needs a batched {ndim}-d input (N, C, ...), got shape {c.x.shape}")


@converter(nn.MaxPool1d)
def _max_pool1d(g, c: Call):
    m = c.module
    _batched(c, 3)
    if m.return_indices:
        raise c.fail("return_indices=True has no ONNX form here")
    p = _one(m.padding)
    return g.op(
        "MaxPool",
        [c.x.name],
        name=c.prefix,
        kernel_shape=_one(m.kernel_size),
        strides=_one(m.stride or m.kernel_size),
        pads=p + p,
        dilations=_one(m.dilation),
        ceil_mode=int(bool(m.ceil_mode)),
    )


@converter(nn.AvgPool1d)
def _avg_pool1d(g, c: Call):
    m = c.module
    _batched(c, 3)
    p = _one(m.padding)
    return g.op(
        "AveragePool",
        [c.x.name],
        name=c.prefix,
        kernel_shape=_one(m.kernel_size),
        strides=_one(m.stride),
        pads=p + p,
        ceil_mode=int(bool(m.ceil_mode)),
        count_include_pad=int(bool(m.count_include_pad)),
    )


@converter(nn.AdaptiveAvgPool1d)
def _adaptive_avg_pool1d(g, c: Call):
    _batched(c, 3)
    size, out = c.x.shape[-1], c.out.shape[-1]
    if out == 1:
        return g.op("GlobalAveragePool", [c.x.name], name=c.prefix)
    if size % out:
        raise c.fail(
            f"output size {out} does not divide the input's {size}, so the windows differ in "
            "size (ONNX has no adaptive pooling)"
        )
    k = [size // out]
    return g.op("AveragePool", [c.x.name], name=c.prefix, kernel_shape=k, strides=k)


@converter(nn.ConvTranspose1d)
def _conv_transpose1d(g, c: Call):
    m = c.module
    _batched(c, 3)
    inputs = [c.x.name, g.const(np.asarray(m.weight._data, np.float32), "weight")]
    if m.bias is not None:
        inputs.append(g.const(np.asarray(m.bias._data, np.float32), "bias"))
    return g.op(
        "ConvTranspose",
        inputs,
        name=c.prefix,
        strides=list(m.stride),
        pads=[int(m.padding[0]), int(m.padding[0])],
        output_padding=list(m.output_padding),
        dilations=list(m.dilation),
        group=int(m.groups),
        kernel_shape=list(m.kernel_size),
    )


def _affine(m, n: int) -> tuple:
    weight = np.asarray(m.weight._data, np.float32) if m.weight is not None else np.ones(n)
    bias = np.asarray(m.bias._data, np.float32) if m.bias is not None else np.zeros(n)
    return weight, bias


@converter(nn.BatchNorm3d)
def _batch_norm3d(g, c: Call):
    m = c.module
    if not m.track_running_stats:
        raise c.fail("track_running_stats=False normalizes with batch statistics at inference")
    weight, bias = _affine(m, m.num_features)
    stats = [weight, bias, m.running_mean._data, m.running_var._data]
    inputs = [c.x.name] + [g.const(np.asarray(a, np.float32), "bn") for a in stats]
    return g.op("BatchNormalization", inputs, name=c.prefix, epsilon=float(m.eps))


@converter(nn.InstanceNorm1d, nn.InstanceNorm2d)
def _instance_norm(g, c: Call):
    m = c.module
    _batched(c, m._spatial + 2)
    channels = c.x.shape[1]
    weight, bias = _affine(m, channels)
    if m.track_running_stats:  # eval with running statistics: a batch norm
        stats = [weight, bias, m.running_mean._data, m.running_var._data]
        inputs = [c.x.name] + [g.const(np.asarray(a, np.float32), "in") for a in stats]
        return g.op("BatchNormalization", inputs, name=c.prefix, epsilon=float(m.eps))
    inputs = [c.x.name, g.const(np.asarray(weight, np.float32), "scale")]
    inputs.append(g.const(np.asarray(bias, np.float32), "bias"))
    return g.op("InstanceNormalization", inputs, name=c.prefix, epsilon=float(m.eps))


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


@converter(
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ConstantPad3d,
    nn.ReflectionPad1d,
    nn.ReflectionPad2d,
    nn.ReflectionPad3d,
    nn.ReplicationPad1d,
    nn.ReplicationPad2d,
    nn.ReplicationPad3d,
)
def _pad(g, c: Call):
    m, ndim = c.module, c.x.ndim
    if any(p < 0 for p in m.padding):
        raise c.fail(f"negative padding (cropping) {m.padding} has no converter yet")
    before, after = [0] * ndim, [0] * ndim
    for k in range(len(m.padding) // 2):  # torch lists the last dim first
        before[ndim - 1 - k], after[ndim - 1 - k] = m.padding[2 * k], m.padding[2 * k + 1]
    inputs = [c.x.name, g.ints(before + after)]
    if m._mode == "constant":
        inputs.append(g.scalar(float(m.value)))
    return g.op("Pad", inputs, mode=_PAD_MODES[m._mode], name=c.prefix)
