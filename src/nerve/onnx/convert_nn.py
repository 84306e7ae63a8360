"""Converters of the PyTorch-style modules of ``nerve.nn``."""

from __future__ import annotations

import numpy as np

from nerve import nn
from nerve.nn import functional as F
from nerve.onnx import emit
from nerve.onnx.emit import array, transpose
from nerve.onnx.op_forms import reduce
from nerve.onnx.registry import NOT_EXPORTABLE, TRACED, Call, converter

TRACED.add(nn.Module)  # a custom forward() is traced op by op
_LOSS = "a loss is not part of an inference graph; export the model without it"
NOT_EXPORTABLE.update(
    {
        nn.ModuleList: "a ModuleList has no forward(); export the module that uses it",
        nn.ModuleDict: "a ModuleDict has no forward(); export the module that uses it",
        nn.Bilinear: "Bilinear (an einsum of two inputs) has no converter yet",
        nn.TransformerDecoderLayer: "the decoder (two inputs, masks) has no converter yet",
        **{
            cls: _LOSS
            for cls in (
                nn.BCELoss,
                nn.BCEWithLogitsLoss,
                nn.CrossEntropyLoss,
                nn.HuberLoss,
                nn.KLDivLoss,
                nn.L1Loss,
                nn.MSELoss,
                nn.NLLLoss,
                nn.SmoothL1Loss,
            )
        },
    }
)


# ----------------------------------------------------------------------------- activations
@converter(nn.ReLU)
def _relu(g, c: Call):
    return g.op("Relu", [c.x.name], name=c.prefix)


@converter(nn.LeakyReLU)
def _leaky_relu(g, c: Call):
    return g.op("LeakyRelu", [c.x.name], alpha=float(c.module.negative_slope), name=c.prefix)


@converter(nn.ELU)
def _elu(g, c: Call):
    return g.op("Elu", [c.x.name], alpha=float(c.module.alpha), name=c.prefix)


@converter(nn.SELU)
def _selu(g, c: Call):
    return g.op("Selu", [c.x.name], alpha=emit.SELU_ALPHA, gamma=emit.SELU_GAMMA, name=c.prefix)


@converter(nn.GELU)
def _gelu(g, c: Call):
    return emit.gelu(g, c.x.name, c.module.approximate)


@converter(nn.SiLU)
def _silu(g, c: Call):
    return emit.silu(g, c.x.name)


@converter(nn.Sigmoid)
def _sigmoid(g, c: Call):
    return g.op("Sigmoid", [c.x.name], name=c.prefix)


@converter(nn.Tanh)
def _tanh(g, c: Call):
    return g.op("Tanh", [c.x.name], name=c.prefix)


@converter(nn.Softplus)
def _softplus(g, c: Call):
    m = c.module
    return emit.softplus(g, c.x.name, float(m.beta), float(m.threshold))


def _softmax_dim(c: Call) -> int:
    dim = c.module.dim
    if dim is None:  # torch's legacy implicit dim, as nerve's module picks it
        dim = 0 if c.x.ndim in (0, 1, 3) else 1
    if dim % c.x.ndim in c.x.dynamic:
        raise c.fail(f"a softmax over the batch dim {dim} would mix samples")
    return int(dim)


@converter(nn.Softmax)
def _softmax(g, c: Call):
    return g.op("Softmax", [c.x.name], axis=_softmax_dim(c), name=c.prefix)


@converter(nn.LogSoftmax)
def _log_softmax(g, c: Call):
    return g.op("LogSoftmax", [c.x.name], axis=_softmax_dim(c), name=c.prefix)


# ----------------------------------------------------------------------------- shape, identity
@converter(nn.Identity, nn.Dropout)
def _identity(g, c: Call):
    return c.x.name  # dropout is the identity at inference


@converter(nn.Flatten, nn.Unflatten)
def _reshape_to_output(g, c: Call):
    return g.op("Reshape", [c.x.name, g.ints(c.out.target_shape(c.what))], name=c.prefix)


# ----------------------------------------------------------------------------- linear, conv
@converter(nn.Linear)
def _linear(g, c: Call):
    m = c.module
    return emit.matmul_add(g, c.x.name, array(m.weight).T, m.bias, c.prefix)


def _conv_pads(c: Call) -> list:
    m = c.module
    if m.padding == "valid":
        pairs = [(0, 0)] * len(m.kernel_size)
    elif m.padding == "same":  # the odd unit after, as torch (and nerve) pad
        totals = [d * (k - 1) for k, d in zip(m.kernel_size, m.dilation)]
        pairs = [(t // 2, t - t // 2) for t in totals]
    else:
        pairs = [(p, p) for p in m.padding]
    return emit.onnx_pads(pairs)


@converter(nn.Conv1d, nn.Conv2d)
def _conv(g, c: Call):
    m = c.module
    if c.x.ndim != len(m.kernel_size) + 2:
        raise c.fail(f"export needs a batched input (N, C, ...), got shape {c.x.shape}")
    return emit.conv(
        g, c.x.name, m.weight, m.bias, c.prefix, m.stride, _conv_pads(c), m.dilation, m.groups
    )


@converter(nn.ConvTranspose2d)
def _conv_transpose(g, c: Call):
    m = c.module
    if c.x.ndim != 4:
        raise c.fail(f"export needs a batched input (N, C, H, W), got shape {c.x.shape}")
    inputs = [c.x.name, g.const(array(m.weight), f"{c.prefix}.weight")]
    if m.bias is not None:
        inputs.append(g.const(array(m.bias), f"{c.prefix}.bias"))
    return g.op(
        "ConvTranspose",
        inputs,
        name=c.prefix,
        strides=list(m.stride),
        pads=emit.onnx_pads([(p, p) for p in m.padding]),
        output_padding=list(m.output_padding),
        dilations=list(m.dilation),
        group=int(m.groups),
        kernel_shape=list(m.kernel_size),
    )


# ----------------------------------------------------------------------------- pooling
def _pair(v) -> list:
    return [int(v), int(v)] if isinstance(v, (int, np.integer)) else [int(a) for a in v]


@converter(nn.MaxPool2d)
def _max_pool(g, c: Call):
    m = c.module
    if m.return_indices:
        raise c.fail("return_indices=True has no ONNX form here")
    k, p = _pair(m.kernel_size), _pair(m.padding)
    return g.op(
        "MaxPool",
        [c.x.name],
        name=c.prefix,
        kernel_shape=k,
        strides=_pair(m.stride or m.kernel_size),
        pads=p + p,
        dilations=_pair(m.dilation),
        ceil_mode=int(bool(m.ceil_mode)),
    )


@converter(nn.AvgPool2d)
def _avg_pool(g, c: Call):
    m = c.module
    if m.divisor_override is not None:
        raise c.fail("divisor_override has no ONNX form")
    k, p = _pair(m.kernel_size), _pair(m.padding)
    return g.op(
        "AveragePool",
        [c.x.name],
        name=c.prefix,
        kernel_shape=k,
        strides=_pair(m.stride or m.kernel_size),
        pads=p + p,
        ceil_mode=int(bool(m.ceil_mode)),
        count_include_pad=int(bool(m.count_include_pad)),
    )


@converter(nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool(g, c: Call):
    size = c.x.shape[-2:]
    out = c.out.shape[-2:]
    if tuple(out) == (1, 1):
        return g.op("GlobalAveragePool", [c.x.name], name=c.prefix)
    if any(s % o for s, o in zip(size, out)):
        raise c.fail(
            f"output size {tuple(out)} does not divide the input's {tuple(size)}, so the windows "
            "differ in size (ONNX has no adaptive pooling)"
        )
    k = [s // o for s, o in zip(size, out)]
    return g.op("AveragePool", [c.x.name], name=c.prefix, kernel_shape=k, strides=k)


# ----------------------------------------------------------------------------- normalization
@converter(nn.BatchNorm1d, nn.BatchNorm2d)
def _batch_norm(g, c: Call):
    m = c.module
    if not m.track_running_stats:
        raise c.fail("track_running_stats=False normalizes with batch statistics at inference")
    n = m.num_features
    weight = array(m.weight) if m.weight is not None else np.ones(n, np.float32)
    bias = array(m.bias) if m.bias is not None else np.zeros(n, np.float32)
    inputs = [c.x.name] + [
        g.const(a, f"{c.prefix}.{what}")
        for what, a in (
            ("weight", weight),
            ("bias", bias),
            ("running_mean", array(m.running_mean)),
            ("running_var", array(m.running_var)),
        )
    ]
    return g.op("BatchNormalization", inputs, name=c.prefix, epsilon=float(m.eps))


def layer_norm(g, x: str, shape, weight, bias, eps: float, prefix: str) -> str:
    shape = tuple(shape)
    w = array(weight) if weight is not None else np.ones(shape, np.float32)
    b = array(bias) if bias is not None else np.zeros(shape, np.float32)
    return g.op(
        "LayerNormalization",
        [x, g.const(w, f"{prefix}.weight"), g.const(b, f"{prefix}.bias")],
        name=prefix,
        axis=-len(shape),
        epsilon=float(eps),
    )


@converter(nn.LayerNorm)
def _layer_norm(g, c: Call):
    m = c.module
    return layer_norm(g, c.x.name, m.normalized_shape, m.weight, m.bias, m.eps, c.prefix)


@converter(nn.GroupNorm)
def _group_norm(g, c: Call):
    # InstanceNormalization over (N, groups, -1) normalizes each group; then the affine map
    m, x = c.module, c.x
    grouped = g.op("Reshape", [x.name, g.ints([0, m.num_groups, -1])])
    ones = np.ones(m.num_groups, np.float32)
    y = g.op(
        "InstanceNormalization",
        [grouped, g.const(ones, "ones"), g.const(ones * 0, "zeros")],
        epsilon=float(m.eps),
    )
    y = g.op("Reshape", [y, g.ints(x.target_shape(c.what))])
    if m.weight is None:
        return y
    extra = (1,) * (x.ndim - 2)
    w = g.const(array(m.weight).reshape(-1, *extra), f"{c.prefix}.weight")
    b = g.const(array(m.bias).reshape(-1, *extra), f"{c.prefix}.bias")
    return g.op("Add", [g.op("Mul", [y, w]), b], name=c.prefix)


# ----------------------------------------------------------------------------- embedding
@converter(nn.Embedding)
def _embedding(g, c: Call):
    weight = g.const(array(c.module.weight), f"{c.prefix}.weight")
    return g.op("Gather", [weight, c.x.name], axis=0, name=c.prefix)


# ----------------------------------------------------------------------------- recurrent
# torch's gate blocks -> ONNX's: LSTM (i, f, g, o) -> (i, o, f, c); GRU (r, z, n) -> (z, r, h)
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}


def _reorder(w: np.ndarray, kind: str, hidden: int) -> np.ndarray:
    blocks = [w[i * hidden : (i + 1) * hidden] for i in _GATE_ORDER[kind]]
    return np.concatenate(blocks, axis=0)


@converter(nn.RNN, nn.LSTM, nn.GRU)
def _rnn(g, c: Call):
    m = c.module
    kind, hidden = m._mode, m.hidden_size
    if c.x.ndim != 3:
        raise c.fail(f"export needs a batched input (3-d), got shape {c.x.shape}")
    if len(c.inputs) > 1:
        raise c.fail("initial states (hx) are not exported; the exported model starts at zeros")
    x = transpose(g, c.x.name, (1, 0, 2)) if m.batch_first else c.x.name
    directions = ("forward", "bidirectional")[m.num_directions - 1]
    activation = {"tanh": "Tanh", "relu": "Relu"}.get(getattr(m, "nonlinearity", "tanh"))
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        ws, rs, bs = [], [], []
        for d in range(m.num_directions):
            w_ih, w_hh, b_ih, b_hh = (None if t is None else array(t) for t in m._weights(layer, d))
            ws.append(_reorder(w_ih, kind, hidden))
            rs.append(_reorder(w_hh, kind, hidden))
            if b_ih is not None:
                bs.append(
                    np.concatenate([_reorder(b_ih, kind, hidden), _reorder(b_hh, kind, hidden)])
                )
        y, yh, yc = emit.recurrent(
            g,
            kind,
            x,
            np.stack(ws),
            np.stack(rs),
            np.stack(bs) if bs else None,
            hidden,
            f"{c.prefix}.l{layer}",
            directions,
            activation,
        )
        x = emit.merge_directions(g, y)
        h_n.append(yh)
        c_n.append(yc)
    out = transpose(g, x, (1, 0, 2)) if m.batch_first else x
    h = h_n[0] if len(h_n) == 1 else g.op("Concat", h_n, axis=0)
    if kind != "LSTM":
        return [out, h]
    cell = c_n[0] if len(c_n) == 1 else g.op("Concat", c_n, axis=0)
    return [out, h, cell]


# ----------------------------------------------------------------------------- attention
def _mha(g, m, q: str, k: str, v: str, prefix: str, mask=None):
    """nn.MultiheadAttention on batch-first names; returns (output, per-head weights)."""
    e = m.embed_dim
    if m._qkv_same_embed_dim:
        w = array(m.in_proj_weight)
        wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
    else:
        wq, wk, wv = (array(t) for t in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight))
    b = None if m.in_proj_bias is None else array(m.in_proj_bias)
    bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
    q = emit.matmul_add(g, q, wq.T, bq, f"{prefix}.q_proj")
    k = emit.matmul_add(g, k, wk.T, bk, f"{prefix}.k_proj")
    v = emit.matmul_add(g, v, wv.T, bv, f"{prefix}.v_proj")
    h, d = m.num_heads, m.head_dim
    out, weights = emit.attention(g, q, k, v, h, d, d, prefix, mask)
    op = m.out_proj
    return emit.matmul_add(g, out, array(op.weight).T, op.bias, f"{prefix}.out_proj"), weights


def _no_masks(c: Call, names) -> None:
    for name in names:
        if c.kwargs.get(name) not in (None, False):
            raise c.fail(f"{name} is not exported (export a model called without masks)")


@converter(nn.MultiheadAttention)
def _multihead_attention(g, c: Call):
    m = c.module
    _no_masks(c, ("key_padding_mask", "attn_mask"))
    if len(c.inputs) != 3 or c.x.ndim != 3:
        raise c.fail("export needs batched (3-d) query, key and value, and no masks")
    q, k, v = (i.name for i in c.inputs)
    axis = 1 if m.batch_first else 0
    mask = None
    if c.kwargs.get("is_causal"):
        mask = emit.causal_mask(g, c.inputs[0].shape[axis], c.inputs[1].shape[axis])
    if not m.batch_first:
        q, k, v = (transpose(g, t, (1, 0, 2)) for t in (q, k, v))
    out, weights = _mha(g, m, q, k, v, c.prefix, mask)
    if not m.batch_first:
        out = transpose(g, out, (1, 0, 2))
    if len(c.outputs) < 2 or c.outputs[1] is None:
        return [out, None]
    if c.kwargs.get("average_attn_weights", True):
        weights = reduce(g, "ReduceMean", weights, [1], False)
    return [out, weights]


def _activation_fn(g, fn, x: str, c: Call) -> str:
    if fn is F.relu:
        return g.op("Relu", [x])
    if fn is F.gelu:
        return emit.gelu(g, x, "none")
    raise c.fail(f"activation {getattr(fn, '__name__', fn)!r} has no ONNX form (relu or gelu)")


def _encoder_layer(g, m, x: str, prefix: str, c: Call) -> str:
    def sa(t):
        return _mha(g, m.self_attn, t, t, t, f"{prefix}.self_attn")[0]

    def ff(t):
        h = emit.matmul_add(g, t, array(m.linear1.weight).T, m.linear1.bias, f"{prefix}.linear1")
        h = _activation_fn(g, m.activation, h, c)
        return emit.matmul_add(g, h, array(m.linear2.weight).T, m.linear2.bias, f"{prefix}.linear2")

    def norm(t, n, i):
        return layer_norm(g, t, n.normalized_shape, n.weight, n.bias, n.eps, f"{prefix}.norm{i}")

    if m.norm_first:
        x = g.op("Add", [x, sa(norm(x, m.norm1, 1))])
        return g.op("Add", [x, ff(norm(x, m.norm2, 2))])
    x = norm(g.op("Add", [x, sa(x)]), m.norm1, 1)
    return norm(g.op("Add", [x, ff(x)]), m.norm2, 2)


def _encoder_input(g, c: Call, batch_first: bool) -> str:
    _no_masks(c, ("src_mask", "mask", "src_key_padding_mask", "is_causal"))
    if len(c.inputs) != 1 or c.x.ndim != 3:
        raise c.fail(f"export needs one batched (3-d) input and no masks, got {len(c.inputs)}")
    return c.x.name if batch_first else transpose(g, c.x.name, (1, 0, 2))


@converter(nn.TransformerEncoderLayer)
def _transformer_encoder_layer(g, c: Call):
    m = c.module
    batch_first = m.self_attn.batch_first
    x = _encoder_layer(g, m, _encoder_input(g, c, batch_first), c.prefix, c)
    return x if batch_first else transpose(g, x, (1, 0, 2))


@converter(nn.TransformerEncoder)
def _transformer_encoder(g, c: Call):
    m = c.module
    batch_first = m.layers[0].self_attn.batch_first if len(m.layers) else True
    x = _encoder_input(g, c, batch_first)
    for i, layer in enumerate(m.layers):
        x = _encoder_layer(g, layer, x, f"{c.prefix}.layers.{i}", c)
    if m.norm is not None:
        n = m.norm
        if not isinstance(n, nn.LayerNorm):
            raise c.fail(f"its final norm is a {type(n).__name__}; only LayerNorm is exported")
        x = layer_norm(g, x, n.normalized_shape, n.weight, n.bias, n.eps, f"{c.prefix}.norm")
    return x if batch_first else transpose(g, x, (1, 0, 2))
