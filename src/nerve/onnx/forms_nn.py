"""ONNX forms of the fused neural-network ops: convolution, pooling, normalization, embedding,
dropout, attention and the recurrent sequences (see op_forms)."""

from __future__ import annotations

import numpy as np

from nerve.onnx.op_forms import form, squeeze, unsqueeze


def _static_spatial(n):
    if any(a >= 2 for a in n.x.dynamic) or any(a >= 2 for a in n.out.dynamic):
        raise n.fail("its spatial sizes must be static (only batch axes can be dynamic)")


def _nchw(g, n, expand) -> str:
    """The input as (N, C, H, W): the unit axes the op inserted, inserted here too."""
    x = n.name(0)
    return unsqueeze(g, x, list(expand)) if expand else x


def _back(g, y: str, expand) -> str:
    return squeeze(g, y, list(expand)) if expand else y


# ----------------------------------------------------------------------------- convolution
@form("conv2d")
def _conv2d(g, n):
    p = n.params
    expand, w_expand = p.get("expand", ()), p.get("w_expand", ())
    w = n.name(1)
    if w_expand:
        w4 = n.const(1)
        w = (
            g.const(np.expand_dims(w4, tuple(w_expand)), f"{n.inputs[1].label}.4d")
            if w4 is not None
            else unsqueeze(g, w, list(w_expand))
        )
    (pt, pb), (pl, pr) = p["padding"]
    inputs = [_nchw(g, n, expand), w] + ([n.name(2)] if n.inputs[2] is not None else [])
    kernel = list(n.inputs[1].shape[2:]) if not w_expand else None
    y = g.op(
        "Conv",
        inputs,
        strides=[int(s) for s in p["stride"]],
        pads=[int(pt), int(pl), int(pb), int(pr)],
        dilations=[int(d) for d in p["dilation"]],
        group=int(p["groups"]),
        kernel_shape=kernel,
    )
    return _back(g, y, expand)


@form("conv_transpose2d")
def _conv_transpose2d(g, n):
    p = n.params
    expand, w_expand = p.get("expand", ()), p.get("w_expand", ())
    w = n.name(1)
    if w_expand:
        w = unsqueeze(g, w, list(w_expand))
    ph, pw = (int(v) for v in p["padding"])
    inputs = [_nchw(g, n, expand), w] + ([n.name(2)] if n.inputs[2] is not None else [])
    y = g.op(
        "ConvTranspose",
        inputs,
        strides=[int(s) for s in p["stride"]],
        pads=[ph, pw, ph, pw],
        output_padding=[int(o) for o in p["output_padding"]],
        dilations=[int(d) for d in p["dilation"]],
        group=int(p["groups"]),
    )
    return _back(g, y, expand)


# ----------------------------------------------------------------------------- pooling
def _pool_pads(n, size, padding, kernel, stride, dilation, out_size) -> list:
    """Begin and end pads that make every window (ceil_mode's last one too) fit, so that the
    ONNX pool runs with floor rounding and gives nerve's output size."""
    ends = []
    for sz, pd, k, s, d, o in zip(size, padding, kernel, stride, dilation, out_size):
        full = max(sz + 2 * pd, (o - 1) * s + d * (k - 1) + 1)
        ends.append(full - sz - pd)
    return [int(v) for v in padding] + ends


@form("max_pool2d")
def _max_pool2d(g, n):
    p = n.params
    if p.get("return_indices"):
        raise n.fail("return_indices=True has no ONNX form here")
    _static_spatial(n)
    expand = p.get("expand", ())
    x = _nchw(g, n, expand)
    size = _spatial(n, expand)
    pads = _pool_pads(n, size, p["padding"], p["kernel"], p["stride"], p["dilation"], p["out_size"])
    y = g.op(
        "MaxPool",
        [x],
        kernel_shape=[int(k) for k in p["kernel"]],
        strides=[int(s) for s in p["stride"]],
        pads=pads,
        dilations=[int(d) for d in p["dilation"]],
    )
    return _back(g, y, expand)


def _spatial(n, expand) -> tuple:
    shape = (
        np.expand_dims(np.empty(n.x.shape, np.bool_), tuple(expand)).shape if expand else n.x.shape
    )
    return tuple(shape[2:])


@form("avg_pool2d")
def _avg_pool2d(g, n):
    p = n.params
    _static_spatial(n)
    expand = p.get("expand", ())
    x = _nchw(g, n, expand)
    size = _spatial(n, expand)
    kernel, stride = [int(k) for k in p["kernel"]], [int(s) for s in p["stride"]]
    pads = _pool_pads(n, size, p["padding"], kernel, stride, (1, 1), p["out_size"])
    if any(pads):  # zeros in, counted: the divisor is applied below
        zero = g.const(np.asarray(0, n.out.a.dtype), "zero")
        x = g.op("Pad", [x, g.ints([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]]), zero])
    y = g.op("AveragePool", [x], kernel_shape=kernel, strides=stride)
    area = kernel[0] * kernel[1]
    divisor = np.asarray(p["divisor"], np.float64)
    if not np.all(divisor == area):
        y = g.op("Mul", [y, g.const((area / divisor).astype(n.out.a.dtype), "divisor")])
    return _back(g, y, expand)


def _bins(size: int, out: int) -> np.ndarray:
    i = np.arange(out)
    start, end = i * size // out, -(-(i + 1) * size // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return inside / (end - start)[:, None]


@form("adaptive_avg_pool2d")
def _adaptive_avg_pool2d(g, n):
    _static_spatial(n)
    expand = n.params.get("expand", ())
    x = _nchw(g, n, expand)
    (h, w), (oh, ow) = _spatial(n, expand), n.params["out_size"]
    if (oh, ow) == (1, 1):
        y = g.op("GlobalAveragePool", [x])
    else:  # separable bin means: (OH, H) @ x @ (W, OW), windows of any size
        dt = n.out.a.dtype
        y = g.op("MatMul", [x, g.const(_bins(w, ow).T.astype(dt), "bins_w")])
        y = g.op("MatMul", [g.const(_bins(h, oh).astype(dt), "bins_h"), y])
    return _back(g, y, expand)


# ----------------------------------------------------------------------------- normalization
def _affine_or(g, n, i: int, fill: float, size: int) -> str:
    if n.inputs[i] is not None:
        return n.name(i, n.out.a.dtype)
    return g.const(np.full(size, fill, n.out.a.dtype), "ones" if fill else "zeros")


@form("batch_norm")
def _batch_norm(g, n):
    if n.params["training"]:
        raise n.fail("batch statistics (training mode) are not exported; export in eval mode")
    if n.inputs[3] is None or n.inputs[4] is None:
        raise n.fail("without running statistics it normalizes with batch statistics")
    c = n.x.shape[1]
    inputs = [n.name(0), _affine_or(g, n, 1, 1.0, c), _affine_or(g, n, 2, 0.0, c)]
    inputs += [n.name(3, n.out.a.dtype), n.name(4, n.out.a.dtype)]
    return g.op("BatchNormalization", inputs, epsilon=float(n.params["eps"]))


@form("layer_norm")
def _layer_norm(g, n):
    shape = tuple(int(s) for s in n.params["normalized_shape"])
    size = int(np.prod(shape))
    w = _affine_or(g, n, 1, 1.0, size)
    b = _affine_or(g, n, 2, 0.0, size)
    if n.inputs[1] is None:
        w = g.op("Reshape", [w, g.ints(shape)])
    if n.inputs[2] is None:
        b = g.op("Reshape", [b, g.ints(shape)])
    return g.op(
        "LayerNormalization",
        [n.name(0), w, b],
        axis=-len(shape),
        epsilon=float(n.params["eps"]),
    )


@form("group_norm")
def _group_norm(g, n):
    groups = int(n.params["num_groups"])
    x = n.x
    if any(a >= 2 for a in x.dynamic):
        raise n.fail("its spatial sizes must be static")
    ones = np.ones(groups, n.out.a.dtype)
    grouped = g.op("Reshape", [n.name(0), g.ints([0, groups, -1])])
    y = g.op(
        "InstanceNormalization",
        [grouped, g.const(ones, "ones"), g.const(ones * 0, "zeros")],
        epsilon=float(n.params["eps"]),
    )
    y = g.op("Reshape", [y, g.ints([0] + list(x.shape[1:]))])
    extra = [1] * (x.ndim - 2)
    c = x.shape[1]
    if n.inputs[1] is not None:
        y = g.op("Mul", [y, g.op("Reshape", [n.name(1), g.ints([c] + extra)])])
    if n.inputs[2] is not None:
        y = g.op("Add", [y, g.op("Reshape", [n.name(2), g.ints([c] + extra)])])
    return y


# ----------------------------------------------------------------------------- embedding, dropout
@form("embedding")
def _embedding(g, n):
    return g.op("Gather", [n.name(1), n.name(0, np.int64)], axis=0)


@form("dropout")
def _dropout(g, n):
    return g.op("Identity", [n.name(0)])  # exported for inference, where dropout is the identity


# ----------------------------------------------------------------------------- attention
@form("scaled_dot_product_attention")
def _sdpa(g, n):
    p = n.params
    dt = n.out.a.dtype
    q, k, v = n.inputs[:3]
    perm = list(range(k.ndim - 2)) + [k.ndim - 1, k.ndim - 2]
    s = g.op("MatMul", [n.name(0), g.op("Transpose", [n.name(1)], perm=perm)])
    s = g.op("Mul", [s, g.const(np.asarray(p["scale"], dt), "scale")])
    low = g.const(np.asarray(-np.inf, dt), "neg_inf")
    if n.inputs[3] is not None:
        mask = n.inputs[3]
        if mask.a.dtype == np.bool_:
            s = g.op("Where", [n.name(3), s, low])
        else:
            s = g.op("Add", [s, n.name(3, dt)])
    if p["is_causal"]:
        rows, cols = q.shape[-2], k.shape[-2]
        if q.dynamic and (q.ndim - 2) in q.dynamic:
            raise n.fail("a causal mask over a dynamic sequence length is not exported")
        s = g.op("Where", [g.const(np.tri(rows, cols, dtype=bool), "causal"), s, low])
    w = g.op("Softmax", [s], axis=-1)
    return g.op("MatMul", [w, n.name(2, dt)])


# ----------------------------------------------------------------------------- recurrent
# torch's gate blocks -> ONNX's: LSTM (i, f, g, o) -> (i, o, f, c); GRU (r, z, n) -> (z, r, h)
_GATES = {"lstm_sequence": (0, 3, 1, 2), "gru_sequence": (1, 0, 2), "rnn_sequence": (0,)}


def _rows(order, hidden: int) -> np.ndarray:
    return np.concatenate([np.arange(i * hidden, (i + 1) * hidden) for i in order])


@form("lstm_sequence", "gru_sequence", "rnn_sequence")
def _sequence(g, n):
    """The op reads the projected input xw (T, N, G*H): the ONNX op gets it as its input, with
    W a permutation matrix (the gates in ONNX's order) and R the recurrent weight reordered."""
    kind = {"lstm_sequence": "LSTM", "gru_sequence": "GRU", "rnn_sequence": "RNN"}[n.op]
    dt = n.out.a.dtype
    xw, h0 = n.inputs[0], n.inputs[1]
    w_index = 3 if kind == "LSTM" else 2
    gh = xw.shape[-1]
    hidden = h0.shape[-1]
    rows = _rows(_GATES[n.op], hidden)
    w = np.eye(gh, dtype=dt)[rows][None]
    r = g.op("Gather", [n.name(w_index, dt), g.ints(rows)], axis=0)
    inputs = [n.name(0, dt), g.const(w, "W"), unsqueeze(g, r, [0])]
    if kind == "GRU":
        rb = g.op("Gather", [n.name(3, dt), g.ints(rows)], axis=0)
        inputs.append(
            unsqueeze(g, g.op("Concat", [g.const(np.zeros(gh, dt), "zeros"), rb], axis=0), [0])
        )
    else:
        inputs.append("")
    inputs += ["", unsqueeze(g, n.name(1, dt), [0])]
    if kind == "LSTM":
        inputs.append(unsqueeze(g, n.name(2, dt), [0]))
    attrs = {"hidden_size": int(hidden)}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        act = n.params.get("nonlinearity", "tanh")
        attrs["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[act]]
    outs = g.op(kind, inputs, outputs=3 if kind == "LSTM" else 2, **attrs)
    y = squeeze(g, outs[0], [1])
    states = [squeeze(g, s, [0]) for s in outs[1:]]
    return [y, *states]
