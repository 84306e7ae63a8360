"""ONNX forms shared by the nn and Keras converters: activations, affine maps, recurrences,
attention. Each takes ONNX names (and NumPy weights) and returns the output name(s)."""

from __future__ import annotations

import math

import numpy as np

from nerve import activations
from nerve.onnx.graph import ExportError, GraphBuilder

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_GAMMA = 1.0507009873554804934193349852946
INT64_MAX = np.iinfo(np.int64).max


def array(p) -> np.ndarray:
    """A Parameter, Tensor or array as a float32 NumPy array."""
    return np.asarray(getattr(p, "data", p), dtype=np.float32)


# ----------------------------------------------------------------------------- activations
def gelu(g: GraphBuilder, x: str, approximate: str = "none") -> str:
    """x * Phi(x), exact (Erf) or tanh form (opset 17 has no Gelu op)."""
    half = g.op("Mul", [x, g.scalar(0.5)])
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.scalar(math.sqrt(2.0 / math.pi))])])
    else:
        t = g.op("Erf", [g.op("Mul", [x, g.scalar(1.0 / math.sqrt(2.0))])])
    return g.op("Mul", [half, g.op("Add", [t, g.scalar(1.0)])], name="gelu")


def softplus(g: GraphBuilder, x: str, beta: float = 1.0, threshold: float | None = None) -> str:
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (torch's form)."""
    bx = x if beta == 1.0 else g.op("Mul", [x, g.scalar(beta)])
    y = g.op("Softplus", [bx])
    if beta != 1.0:
        y = g.op("Div", [y, g.scalar(beta)])
    if threshold is None:
        return y
    return g.op("Where", [g.op("Greater", [bx, g.scalar(threshold)]), x, y], name="softplus")


def silu(g: GraphBuilder, x: str) -> str:
    return g.op("Mul", [x, g.op("Sigmoid", [x])], name="silu")


def keras_relu(g, x, negative_slope=0.0, max_value=None, threshold=0.0) -> str:
    """Keras's relu with its options (a leaky slope, a cap, a threshold)."""
    if negative_slope == 0.0 and threshold == 0.0:
        y = g.op("Relu", [x])
    else:
        t = g.scalar(threshold)
        below = g.op("Mul", [g.op("Sub", [x, t]), g.scalar(negative_slope)])
        y = g.op("Where", [g.op("Greater", [x, t]), x, below], name="relu")
    if max_value is not None:
        y = g.op("Min", [y, g.scalar(max_value)])
    return y


def _relu6(g, x):
    return g.op("Clip", [x, g.scalar(0.0), g.scalar(6.0)])


def _hard_sigmoid(g, x):
    return g.op("Div", [_relu6(g, g.op("Add", [x, g.scalar(3.0)])), g.scalar(6.0)])


def _softsign(g, x):
    return g.op("Softsign", [x])


# nerve.activations functions (what Keras layers hold) -> their ONNX form
_KERAS_ACTIVATIONS = {
    activations.relu: lambda g, x: g.op("Relu", [x]),
    activations.relu6: _relu6,
    activations.sigmoid: lambda g, x: g.op("Sigmoid", [x]),
    activations.hard_sigmoid: _hard_sigmoid,
    activations.tanh: lambda g, x: g.op("Tanh", [x]),
    activations.softmax: lambda g, x: g.op("Softmax", [x], axis=-1),
    activations.log_softmax: lambda g, x: g.op("LogSoftmax", [x], axis=-1),
    activations.elu: lambda g, x: g.op("Elu", [x], alpha=1.0),
    activations.selu: lambda g, x: g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_GAMMA),
    activations.gelu: lambda g, x: gelu(g, x, "none"),
    activations.silu: silu,
    activations.softplus: lambda g, x: g.op("Softplus", [x]),
    activations.softsign: _softsign,
    activations.exponential: lambda g, x: g.op("Exp", [x]),
    activations.leaky_relu: lambda g, x: g.op("LeakyRelu", [x], alpha=0.2),
}


def keras_activation(g: GraphBuilder, fn, x: str, owner: str) -> str:
    """The ONNX form of a Keras layer's ``activation`` function."""
    if fn is None or fn is activations.linear:
        return x
    emit = _KERAS_ACTIVATIONS.get(fn)
    if emit is None:
        raise ExportError(
            f"{owner}: activation {getattr(fn, '__name__', fn)!r} has no ONNX form (known: "
            f"{sorted(f.__name__ for f in _KERAS_ACTIVATIONS)})"
        )
    return emit(g, x)


# ----------------------------------------------------------------------------- layout, affine
def transpose(g: GraphBuilder, x: str, perm) -> str:
    return g.op("Transpose", [x], perm=[int(p) for p in perm])


def matmul_add(g: GraphBuilder, x: str, w_in_out, bias, prefix: str) -> str:
    """x @ W + b with W of shape (in, out): MatMul then Add (any input rank)."""
    y = g.op("MatMul", [x, g.const(array(w_in_out), f"{prefix}.weight")], name=f"{prefix}.matmul")
    if bias is not None:
        y = g.op("Add", [y, g.const(array(bias), f"{prefix}.bias")], name=f"{prefix}.add")
    return y


def conv(g, x, weight, bias, prefix, strides, pads=None, dilations=None, group=1, auto_pad=None):
    """ONNX Conv; ``weight`` (out, in/group, *kernel) as torch; ``pads`` as ONNX orders them
    (all begins, then all ends)."""
    inputs = [x, g.const(array(weight), f"{prefix}.weight")]
    if bias is not None:
        inputs.append(g.const(array(bias), f"{prefix}.bias"))
    return g.op(
        "Conv",
        inputs,
        name=prefix,
        strides=list(strides),
        pads=None if auto_pad else list(pads),
        auto_pad=auto_pad,
        dilations=list(dilations) if dilations is not None else None,
        group=int(group),
        kernel_shape=list(np.shape(weight)[2:]),
    )


def onnx_pads(pairs) -> list:
    """((before, after), ...) per spatial dim as ONNX's [begins..., ends...]."""
    return [int(lo) for lo, _ in pairs] + [int(hi) for _, hi in pairs]


def reverse_time(g: GraphBuilder, x: str, axis: int = 0) -> str:
    """``x`` read backwards along ``axis`` (a Slice with step -1)."""
    return g.op("Slice", [x, g.ints([-1]), g.ints([-INT64_MAX]), g.ints([axis]), g.ints([-1])])


# ----------------------------------------------------------------------------- recurrences
def recurrent(
    g: GraphBuilder,
    kind: str,
    x: str,
    w,
    r,
    b,
    hidden: int,
    prefix: str,
    direction: str = "forward",
    activation: str | None = None,
):
    """One ONNX LSTM / GRU / RNN op over time-major ``x`` (T, N, F).

    ``w`` (D, G*H, F), ``r`` (D, G*H, H), ``b`` (D, 2*G*H) or None, gates already in ONNX's
    order (LSTM i, o, f, c; GRU z, r, h). GRU uses linear_before_reset=1 (torch's and Keras 3's
    form). Returns (Y (T, D, N, H), Y_h (D, N, H), Y_c (D, N, H) or None).
    """
    inputs = [x, g.const(w, f"{prefix}.W"), g.const(r, f"{prefix}.R")]
    if b is not None:
        inputs.append(g.const(b, f"{prefix}.B"))
    attrs = {"hidden_size": int(hidden), "direction": direction}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        attrs["activations"] = [activation or "Tanh"] * (2 if direction == "bidirectional" else 1)
    n_out = 3 if kind == "LSTM" else 2
    outs = g.op(kind, inputs, outputs=n_out, name=prefix, **attrs)
    return outs[0], outs[1], outs[2] if kind == "LSTM" else None


def merge_directions(g: GraphBuilder, y: str) -> str:
    """ONNX's Y (T, D, N, H) as (T, N, D*H), the directions side by side (torch's layout)."""
    y = transpose(g, y, (0, 2, 1, 3))
    return g.op("Reshape", [y, g.ints([0, 0, -1])])


# ----------------------------------------------------------------------------- attention
def causal_mask(g: GraphBuilder, length: int, keys: int) -> str:
    """An additive (L, S) mask: -1e9 above the diagonal (query i sees keys 0..i)."""
    hidden = ~np.tri(length, keys, dtype=bool)
    return g.const(np.where(hidden, -1e9, 0.0).astype(np.float32), "causal_mask")


def attention(g, q, k, v, heads: int, qk_dim: int, v_dim: int, prefix: str, mask=None):
    """softmax(q k^T / sqrt(d) + mask) v per head, over batch-first projections (N, L, heads*d).

    Returns (output (N, L, heads*v_dim), weights (N, heads, L, S)).
    """
    qh = transpose(g, g.op("Reshape", [q, g.ints([0, 0, heads, qk_dim])]), (0, 2, 1, 3))
    kh = transpose(g, g.op("Reshape", [k, g.ints([0, 0, heads, qk_dim])]), (0, 2, 3, 1))
    vh = transpose(g, g.op("Reshape", [v, g.ints([0, 0, heads, v_dim])]), (0, 2, 1, 3))
    scores = g.op("MatMul", [qh, kh], name=f"{prefix}.scores")
    scores = g.op("Mul", [scores, g.scalar(1.0 / math.sqrt(qk_dim))])
    if mask is not None:
        scores = g.op("Add", [scores, mask])
    weights = g.op("Softmax", [scores], axis=-1, name=f"{prefix}.weights")
    out = transpose(g, g.op("MatMul", [weights, vh]), (0, 2, 1, 3))
    return g.op("Reshape", [out, g.ints([0, 0, heads * v_dim])]), weights
