"""Keras-style conv, pooling, recurrent and attention layers equal PyTorch with the weights copied.

Each layer keeps Keras's weight layout; the torch references below take those same arrays and
convert them (NHWC <-> NCHW, kernels permuted, GRU gates reordered, ...), so one comparison
checks the forward, the input gradient and every weight gradient. 'same' padding is checked
against explicit TensorFlow-style pads (the odd unit after), written out independently here.
"""

import json
import math

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.layers.base import get_mask, set_mask
from nerve.testing import assert_close


def _masks_propagate() -> bool:
    t = nerve.ones(2)
    set_mask(t, nerve.ones(2).bool())
    try:
        return get_mask(t) is not None
    except ValueError:  # the WeakKeyDictionary in layers/base.py compares tensors with ==
        return False


needs_mask_lookup = pytest.mark.skipif(
    not _masks_propagate(), reason="layers.base.get_mask fails on a tensor that has a mask"
)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check(torch, layer, inputs, reference, rtol=1e-4, atol=1e-5, **call_kw):
    """layer(*inputs) vs reference(*torch inputs, *torch weights): outputs and all gradients.

    The layer is built first (weights made), the torch weights are copies of its weights in
    Keras's layout, and both sides get the same random output gradient.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    xs = [nerve.tensor(a, requires_grad=True) for a in inputs]
    out = layer(*xs, **call_kw)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    ws = [torch.tensor(w._data.copy(), requires_grad=True) for w in layer.weights]
    xts = [torch.tensor(a, requires_grad=True) for a in inputs]
    ref = reference(*xts, *ws)
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    assert len(outs) == len(refs)
    loss_n, loss_t = 0, 0
    for k, (o, r) in enumerate(zip(outs, refs)):
        assert_close(o, r.detach().numpy(), rtol=rtol, atol=atol, msg=f"output {k}: ")
        g = rand(*o.shape, seed=10 + k)
        loss_n = loss_n + (o * nerve.tensor(g)).sum()
        loss_t = loss_t + (r * torch.tensor(g)).sum()
    loss_n.backward()
    loss_t.backward()
    for k, (a, b) in enumerate(zip(xs, xts)):
        assert_close(a.grad, b.grad.numpy(), rtol=rtol, atol=atol, msg=f"input {k} grad: ")
    for w, wt in zip(layer.weights, ws):
        assert w.grad is not None, f"no gradient for {w.shape}"
        assert_close(w.grad, wt.grad.numpy(), rtol=rtol, atol=atol, msg=f"weight {w.shape}: ")
    return out


def tf_pads(size, kernel, stride, dilation=1):
    """TensorFlow's 'same': output ceil(size / stride), the odd unit of padding after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


# ----------------------------------------------------------------------------- Conv2D
CONV2D = [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=(3, 2), strides=2, padding="same"),
    dict(filters=3, kernel_size=4, strides=(2, 3), padding="same"),
    dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"),
    dict(filters=4, kernel_size=2, groups=2, use_bias=False),
    dict(filters=4, kernel_size=3, strides=2, data_format="channels_first"),
    dict(filters=2, kernel_size=1, activation="relu"),
]


@pytest.mark.parametrize("kw", CONV2D, ids=str)
def test_conv2d_matches_torch(torch, kw):
    tf = torch.nn.functional
    first = kw.get("data_format") == "channels_first"
    x = rand(2, 4, 7, 8) if first else rand(2, 7, 8, 4)
    layer = layers.Conv2D(**kw)
    layer.build(x.shape)
    k = layer.kernel_size
    s = layer.strides
    d = layer.dilation_rate

    def reference(xt, kernel, bias=None):
        xt = xt if first else xt.permute(0, 3, 1, 2)
        if kw.get("padding") == "same":
            (pt, pb), (pl, pr) = (tf_pads(n, *a) for n, a in zip(xt.shape[2:], zip(k, s, d)))
            xt = tf.pad(xt, (pl, pr, pt, pb))
        y = tf.conv2d(xt, kernel.permute(3, 2, 0, 1), bias, s, 0, d, kw.get("groups", 1))
        y = y if first else y.permute(0, 2, 3, 1)
        return torch.relu(y) if kw.get("activation") == "relu" else y

    out = check(torch, layer, x, reference)
    if kw.get("padding") == "same":
        assert out.shape[1:3] == (math.ceil(7 / s[0]), math.ceil(8 / s[1]))


CONV1D = [
    dict(filters=3, kernel_size=3),
    dict(filters=3, kernel_size=4, strides=2, padding="same"),
    dict(filters=3, kernel_size=3, dilation_rate=2, padding="causal"),
    dict(filters=4, kernel_size=3, groups=2, data_format="channels_first"),
]


@pytest.mark.parametrize("kw", CONV1D, ids=str)
def test_conv1d_matches_torch(torch, kw):
    tf = torch.nn.functional
    first = kw.get("data_format") == "channels_first"
    x = rand(2, 4, 9) if first else rand(2, 9, 4)
    layer = layers.Conv1D(**kw)
    layer.build(x.shape)
    (k,), (s,), (d,) = layer.kernel_size, layer.strides, layer.dilation_rate

    def reference(xt, kernel, bias):
        xt = xt if first else xt.permute(0, 2, 1)
        if kw.get("padding") == "same":
            xt = tf.pad(xt, tf_pads(xt.shape[2], k, s, d))
        elif kw.get("padding") == "causal":
            xt = tf.pad(xt, (d * (k - 1), 0))
        y = tf.conv1d(xt, kernel.permute(2, 1, 0), bias, s, 0, d, kw.get("groups", 1))
        return y if first else y.permute(0, 2, 1)

    out = check(torch, layer, x, reference)
    if kw.get("padding") == "causal":
        assert out.shape[1] == 9


# ----------------------------------------------------------------------------- transposed
TRANSPOSE2D = [  # (kwargs, expected output height, width) for a 5x4 input
    (dict(kernel_size=3, strides=2), (11, 9)),
    (dict(kernel_size=3, strides=2, padding="same"), (10, 8)),
    (dict(kernel_size=4, strides=2, padding="same"), (10, 8)),
    (dict(kernel_size=2, strides=3), (15, 12)),
    (dict(kernel_size=(3, 2), strides=(2, 3), padding="same"), (10, 12)),
    (dict(kernel_size=3, strides=2, padding="same", output_padding=1), (10, 8)),
    (dict(kernel_size=3, strides=2, output_padding=1), (12, 10)),
    (dict(kernel_size=3, dilation_rate=2, padding="same"), (5, 4)),
]


@pytest.mark.parametrize("kw,size", TRANSPOSE2D, ids=str)
def test_conv2d_transpose_is_the_gradient_of_conv2d(torch, kw, size):
    """Keras's transposed conv (as its TF and JAX backends compute it) is the input gradient of
    the Conv2D with the same kernel, padding (TF's 'same') and strides, from the output size."""
    tf = torch.nn.functional
    x = rand(2, 5, 4, 3)
    layer = layers.Conv2DTranspose(2, **kw)
    layer.build(x.shape)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate

    def reference(xt, kernel, bias):
        w = kernel.permute(3, 2, 0, 1)  # (in, filters, kh, kw): a conv from filters to in
        z = torch.zeros(2, 2, *size, requires_grad=True)
        zp = z
        if kw.get("padding") == "same":
            (pt, pb), (pl, pr) = (tf_pads(n, *a) for n, a in zip(size, zip(k, s, d)))
            zp = tf.pad(z, (pl, pr, pt, pb))
        y = tf.conv2d(zp, w, None, s, 0, d)
        assert y.shape[2:] == xt.shape[1:3]
        (dz,) = torch.autograd.grad(y, z, xt.permute(0, 3, 1, 2), create_graph=True)
        return (dz + bias[:, None, None]).permute(0, 2, 3, 1)

    out = check(torch, layer, x, reference)
    assert out.shape == (2, *size, 2)


def test_conv1d_transpose_matches_torch(torch):
    tf = torch.nn.functional
    x = rand(2, 5, 3)
    layer = layers.Conv1DTranspose(4, 3, strides=2, padding="same")
    layer.build(x.shape)

    def reference(xt, kernel, bias):  # same, k=3, s=2: the full output minus its last step
        y = tf.conv_transpose1d(xt.permute(0, 2, 1), kernel.permute(2, 1, 0), bias, 2)
        return y[:, :, :10].permute(0, 2, 1)

    check(torch, layer, x, reference)


# ----------------------------------------------------------------------------- depthwise
@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_depthwise_conv2d_matches_per_channel_convolutions(torch, padding, strides):
    tf = torch.nn.functional
    x = rand(2, 6, 7, 3)
    layer = layers.DepthwiseConv2D(3, strides=strides, padding=padding, depth_multiplier=2)
    layer.build(x.shape)

    def reference(xt, kernel, bias):
        xt = xt.permute(0, 3, 1, 2)
        if padding == "same":
            (pt, pb), (pl, pr) = tf_pads(6, 3, 2), tf_pads(7, 3, 2)
            xt = tf.pad(xt, (pl, pr, pt, pb))
        outs = [
            tf.conv2d(xt[:, c : c + 1], kernel[None, None, :, :, c, m], stride=strides)
            for c in range(3)
            for m in range(2)
        ]
        return (torch.cat(outs, 1) + bias[:, None, None]).permute(0, 2, 3, 1)

    out = check(torch, layer, x, reference)
    assert out.shape[-1] == 6 and layer.kernel.shape == (3, 3, 3, 2)


def test_separable_conv2d_matches_depthwise_then_pointwise(torch):
    tf = torch.nn.functional
    x = rand(2, 6, 6, 3)
    layer = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)
    layer.build(x.shape)

    def reference(xt, depthwise, pointwise, bias):
        xt = tf.pad(xt.permute(0, 3, 1, 2), (1, 1, 1, 1))
        w = depthwise.reshape(3, 3, 1, 6).permute(3, 2, 0, 1)
        y = tf.conv2d(xt, w, groups=3)
        y = torch.einsum("nchw,co->nhwo", y, pointwise[0, 0])
        return y + bias

    check(torch, layer, x, reference)


# ----------------------------------------------------------------------------- pooling
POOL2D = [
    dict(),
    dict(pool_size=3, strides=2),
    dict(padding="same"),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(2, 3), strides=(1, 2), padding="same"),
    dict(pool_size=2, data_format="channels_first", padding="same"),
]


@pytest.mark.parametrize("kw", POOL2D, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling2d_matches_torch(torch, kw, kind):
    tf = torch.nn.functional
    first = kw.get("data_format") == "channels_first"
    x = rand(2, 3, 7, 8) if first else rand(2, 7, 8, 3)
    layer = (layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D)(**kw)
    k = layer.pool_size
    s = layer.strides

    def reference(xt):
        xt = xt if first else xt.permute(0, 3, 1, 2)
        if kw.get("padding") == "same":
            (pt, pb), (pl, pr) = (tf_pads(n, *a) for n, a in zip(xt.shape[2:], zip(k, s)))
            pads = (pl, pr, pt, pb)
            if kind == "max":
                y = tf.max_pool2d(tf.pad(xt, pads, value=-math.inf), k, s)
            else:  # Keras excludes the padding from each window's count
                sums = tf.avg_pool2d(tf.pad(xt, pads), k, s)
                counts = tf.avg_pool2d(tf.pad(torch.ones_like(xt), pads), k, s)
                y = sums / counts
        else:
            y = (tf.max_pool2d if kind == "max" else tf.avg_pool2d)(xt, k, s)
        return y if first else y.permute(0, 2, 3, 1)

    out = check(torch, layer, x, reference)
    if kw.get("padding") == "same":
        assert out.shape[2 if first else 1] == math.ceil(7 / s[0])


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling1d_matches_torch(torch, padding, kind):
    tf = torch.nn.functional
    x = rand(2, 9, 3)
    layer = (layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D)(
        3, 2, padding=padding
    )

    def reference(xt):
        xt = xt.permute(0, 2, 1)
        pads = tf_pads(9, 3, 2) if padding == "same" else (0, 0)
        if kind == "max":
            y = tf.max_pool1d(tf.pad(xt, pads, value=-math.inf), 3, 2)
        else:
            y = tf.avg_pool1d(tf.pad(xt, pads), 3, 2) / tf.avg_pool1d(
                tf.pad(torch.ones_like(xt), pads), 3, 2
            )
        return y.permute(0, 2, 1)

    check(torch, layer, x, reference)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("first", [False, True])
def test_global_pooling_matches_torch(torch, keepdims, first):
    fmt = "channels_first" if first else "channels_last"
    axes2, axes1 = ((2, 3), (2,)) if first else ((1, 2), (1,))
    cases = [
        (layers.GlobalAveragePooling2D, rand(2, 5, 4, 3), lambda t: t.mean(axes2, keepdims)),
        (layers.GlobalMaxPooling2D, rand(2, 5, 4, 3), lambda t: t.amax(axes2, keepdims)),
        (layers.GlobalAveragePooling1D, rand(2, 5, 3), lambda t: t.mean(axes1, keepdims)),
        (layers.GlobalMaxPooling1D, rand(2, 5, 3), lambda t: t.amax(axes1, keepdims)),
    ]
    for cls, x, reference in cases:
        check(torch, cls(data_format=fmt, keepdims=keepdims), x, reference)


def test_global_average_pooling1d_averages_unmasked_steps():
    x = rand(2, 4, 3)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    out = layers.GlobalAveragePooling1D()(nerve.tensor(x), mask=nerve.tensor(mask))
    assert_close(out, np.stack([x[0, :2].mean(0), x[1].mean(0)]), rtol=1e-6)


# ----------------------------------------------------------------------------- recurrent
H = 4


def gru_to_torch(block):
    """Keras's GRU gate blocks (z, r, h) along the last dim -> torch's (r, z, n)."""
    return block[..., [*range(H, 2 * H), *range(H), *range(2 * H, 3 * H)]]


def torch_rnn(torch, kind, bidirectional=False, **kw):
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}[kind]
    return cls(3, H, batch_first=True, bidirectional=bidirectional, **kw)


def torch_params(kind, kernel, recurrent, bias, suffix=""):
    """Keras-layout weights as the state of a torch RNN layer-direction (differentiable)."""
    if kind == "GRU":
        p = {"weight_ih": gru_to_torch(kernel).T, "weight_hh": gru_to_torch(recurrent).T}
        if bias is not None:
            p["bias_ih"], p["bias_hh"] = gru_to_torch(bias[0]), gru_to_torch(bias[1])
    else:
        p = {"weight_ih": kernel.T, "weight_hh": recurrent.T}
        if bias is not None:
            p["bias_ih"], p["bias_hh"] = bias, bias * 0
    return {f"{k}_l0{suffix}": v for k, v in p.items()}


def rnn_layer(kind, **kw):
    cls = {"LSTM": layers.LSTM, "GRU": layers.GRU, "SimpleRNN": layers.SimpleRNN}[kind]
    layer = cls(H, **kw)
    layer.build((2, 5, 3))
    rng = np.random.default_rng(3)
    if layer.bias is not None:  # non-zero biases, so the recurrent ones are exercised too
        layer.bias._data[...] = rng.standard_normal(layer.bias.shape).astype(np.float32) * 0.5
    return layer


RNN_CASES = [
    dict(),
    dict(return_sequences=True),
    dict(return_state=True),
    dict(return_sequences=True, return_state=True, go_backwards=True),
    dict(use_bias=False, return_sequences=True),
]


@pytest.mark.parametrize("kw", RNN_CASES, ids=str)
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_recurrent_matches_torch(torch, kind, kw):
    from torch.func import functional_call

    layer = rnn_layer(kind, **kw)
    module = torch_rnn(torch, kind, bias=kw.get("use_bias", True))

    def reference(xt, kernel, recurrent, bias=None):
        if kw.get("go_backwards"):
            xt = xt.flip(1)  # Keras returns the sequence in processing (reversed) order
        out, state = functional_call(module, torch_params(kind, kernel, recurrent, bias), (xt,))
        states = state if isinstance(state, tuple) else (state,)
        y = out if kw.get("return_sequences") else out[:, -1]
        return (y, *(s[0] for s in states)) if kw.get("return_state") else y

    check(torch, layer, rand(2, 5, 3), reference)


def test_simple_rnn_relu_matches_torch(torch):
    from torch.func import functional_call

    layer = rnn_layer("SimpleRNN", activation="relu", return_sequences=True)
    module = torch_rnn(torch, "SimpleRNN", nonlinearity="relu")

    def reference(xt, kernel, recurrent, bias):
        return functional_call(module, torch_params("SimpleRNN", kernel, recurrent, bias), xt)[0]

    check(torch, layer, rand(2, 5, 3), reference)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_initial_state_matches_torch(torch, kind):
    from torch.func import functional_call

    layer = rnn_layer(kind, return_sequences=True)
    module = torch_rnn(torch, kind)
    n_states = 2 if kind == "LSTM" else 1
    init = [rand(2, H, seed=20 + i) for i in range(n_states)]

    def reference(xt, kernel, recurrent, bias):
        hx = tuple(torch.tensor(s)[None] for s in init)
        hx = hx if kind == "LSTM" else hx[0]
        return functional_call(module, torch_params(kind, kernel, recurrent, bias), (xt, hx))[0]

    check(torch, layer, rand(2, 5, 3), reference, initial_state=[nerve.tensor(s) for s in init])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_matches_torch(torch, kind, merge_mode, return_sequences):
    from torch.func import functional_call

    cls = layers.LSTM if kind == "LSTM" else layers.GRU
    layer = layers.Bidirectional(cls(H, return_sequences=return_sequences), merge_mode)
    layer.build((2, 5, 3))
    module = torch_rnn(torch, kind, bidirectional=True)

    def reference(xt, *w):
        params = {**torch_params(kind, *w[:3]), **torch_params(kind, *w[3:], "_reverse")}
        out, state = functional_call(module, params, (xt,))
        h = state[0] if kind == "LSTM" else state
        if return_sequences:
            y, y_rev = out[..., :H], out[..., H:]
        else:
            y, y_rev = h[0], h[1]
        merged = {
            "concat": lambda: torch.cat([y, y_rev], -1),
            "sum": lambda: y + y_rev,
            "mul": lambda: y * y_rev,
            "ave": lambda: (y + y_rev) / 2,
            None: lambda: [y, y_rev],
        }
        return merged[merge_mode]()

    check(torch, layer, rand(2, 5, 3), reference)


def test_bidirectional_return_state_lists_forward_then_backward_states(torch):
    from torch.func import functional_call

    layer = layers.Bidirectional(layers.LSTM(H, return_state=True))
    layer.build((2, 5, 3))
    module = torch_rnn(torch, "LSTM", bidirectional=True)

    def reference(xt, *w):
        params = {**torch_params("LSTM", *w[:3]), **torch_params("LSTM", *w[3:], "_reverse")}
        _, (h, c) = functional_call(module, params, (xt,))
        return torch.cat([h[0], h[1]], -1), h[0], c[0], h[1], c[1]

    check(torch, layer, rand(2, 5, 3), reference)


def masked_reference(torch, kind, xt, mask, weights, zero_output=False, initial=None):
    """Keras's masked recurrence, one torch cell step at a time: a masked step keeps the states
    and repeats the previous output (zeros before the first unmasked step)."""
    from torch.func import functional_call

    cell = {"LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell, "SimpleRNN": torch.nn.RNNCell}
    module = cell[kind](3, H)
    params = {k.replace("_l0", ""): v for k, v in torch_params(kind, *weights).items()}
    n = xt.shape[0]
    states = initial or [torch.zeros(n, H) for _ in range(2 if kind == "LSTM" else 1)]
    prev = torch.zeros(n, H)
    outs = []
    for t in range(xt.shape[1]):
        arg = tuple(states) if kind == "LSTM" else states[0]
        new = functional_call(module, params, (xt[:, t], arg))
        new = list(new) if kind == "LSTM" else [new]
        keep = torch.tensor(np.ascontiguousarray(mask[:, t, None]))
        states = [torch.where(keep, a, b) for a, b in zip(new, states)]
        prev = torch.where(keep, new[0], torch.zeros_like(prev) if zero_output else prev)
        outs.append(prev)
    return torch.stack(outs, 1), states


MASK = np.array(
    [[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 0, 1]], dtype=bool
)  # right padding, left padding, holes


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_masked_steps_keep_the_state(torch, kind, return_sequences):
    layer = rnn_layer(kind, return_sequences=return_sequences, return_state=True)
    init = [rand(3, H, seed=30 + i) for i in range(2 if kind == "LSTM" else 1)]

    def reference(xt, *w):
        states = [torch.tensor(s) for s in init]
        out, states = masked_reference(torch, kind, xt, MASK, w, initial=states)
        return (out if return_sequences else out[:, -1]), *states

    x = rand(3, 6, 3)
    mask = nerve.tensor(MASK)
    check(torch, layer, x, reference, mask=mask, initial_state=[nerve.tensor(s) for s in init])
    # Independently: a right-padded sequence ends in the state of its unpadded part, and
    # masked steps get no gradient.
    xn = nerve.tensor(x, requires_grad=True)
    _, *states = layer(xn, mask=mask)
    full = rnn_layer(kind, return_state=True)
    full.set_weights(layer.get_weights())
    _, *short = full(nerve.tensor(x[:1, :4]))
    for a, b in zip(states, short):
        assert_close(a[:1], b, rtol=1e-5, atol=1e-6)
    sum(s.sum() for s in states).backward()
    assert (xn.grad._data[~MASK] == 0).all() and (xn.grad._data[MASK] != 0).all()


def test_masked_go_backwards_reverses_the_mask_too(torch):
    layer = rnn_layer("GRU", return_sequences=True, go_backwards=True)

    def reference(xt, *w):
        return masked_reference(torch, "GRU", xt.flip(1), MASK[:, ::-1], w)[0]

    check(torch, layer, rand(3, 6, 3), reference, mask=nerve.tensor(MASK))


def test_bidirectional_masked_sequences_output_zeros_at_masked_steps(torch):
    layer = layers.Bidirectional(layers.LSTM(H, return_sequences=True))
    layer.build((3, 6, 3))

    def reference(xt, *w):
        fwd, _ = masked_reference(torch, "LSTM", xt, MASK, w[:3], zero_output=True)
        bwd, _ = masked_reference(torch, "LSTM", xt.flip(1), MASK[:, ::-1], w[3:], True)
        return torch.cat([fwd, bwd.flip(1)], -1)

    out = check(torch, layer, rand(3, 6, 3), reference, mask=nerve.tensor(MASK))
    assert (out._data[~MASK] == 0).all()


@needs_mask_lookup
def test_mask_travels_with_returned_sequences_only():
    x = nerve.tensor(rand(2, 4, 3))
    mask = nerve.tensor(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool))
    set_mask(x, mask)
    seq = layers.LSTM(H, return_sequences=True)(x)
    assert get_mask(seq) is mask
    assert get_mask(layers.LSTM(H)(x)) is None
    assert get_mask(layers.Bidirectional(layers.GRU(H, return_sequences=True))(x)) is mask
    assert get_mask(layers.MultiHeadAttention(2, 2)(x, x)) is mask
    pooled = layers.GlobalAveragePooling1D()(x)  # the mask from the input, as after Embedding
    assert_close(pooled, np.stack([x._data[0, :2].mean(0), x._data[1].mean(0)]), rtol=1e-6)
    out = layers.SimpleRNN(H, return_sequences=True)(x)
    assert (out._data[0, 2:] == out._data[0, 1]).all()  # masked steps repeat the last output


def test_input_dropout_is_one_mask_for_all_steps():
    """With a diagonal kernel and no recurrence, each output step shows the input mask."""
    layer = layers.SimpleRNN(6, activation="relu", dropout=0.5, return_sequences=True)
    layer.build((4, 5, 6))
    layer.set_weights([np.eye(6), np.zeros((6, 6)), np.zeros(6)])
    x = nerve.ones(4, 5, 6)
    out = layer(x, training=True)._data
    assert ((out == 0) == (out[:, :1] == 0)).all()
    assert 0 < (out == 0).mean() < 1 and set(np.unique(out)) <= {0.0, 2.0}
    assert_close(layer(x, training=False), np.ones((4, 5, 6)))


# ----------------------------------------------------------------------------- attention
def mha_reference(torch, query, value, key, weights, mask=None):
    """Keras's MultiHeadAttention math in torch einsums, over Keras-shaped weights."""
    qk, qb, kk, kb, vk, vb, ok, ob = weights
    q = torch.einsum("btd,dhk->bhtk", query, qk) + qb[:, None]
    k = torch.einsum("bsd,dhk->bhsk", key, kk) + kb[:, None]
    v = torch.einsum("bsd,dhk->bhsk", value, vk) + vb[:, None]
    scores = torch.einsum("bhtk,bhsk->bhts", q / math.sqrt(qk.shape[-1]), k)
    weights = scores.softmax(-1)
    if mask is not None:  # a fully masked query row gets zero weights
        m = torch.tensor(mask)[:, None]
        weights = scores.masked_fill(~m, -1e9).softmax(-1).masked_fill(~m, 0.0)
    out = torch.einsum("bhts,bhsv->bhtv", weights, v)
    return torch.einsum("bhtv,hvo->bto", out, ok) + ob, weights


@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize("cross", [False, True])
@pytest.mark.parametrize("masking", ["none", "causal", "attention_mask", "input_masks"])
def test_multi_head_attention_matches_reference(torch, cross, masking, scores):
    query = rand(2, 5, 8)
    value = rand(2, 6, 6, seed=1) if cross else query
    key = rand(2, 6, 7, seed=2) if cross else None
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5 if cross else None)
    t, s = 5, value.shape[1]
    call_kw, mask = {}, None
    if masking == "causal":
        call_kw["use_causal_mask"] = True
        mask = np.broadcast_to(np.tri(t, s, dtype=bool), (2, t, s))
    elif masking == "attention_mask":
        mask = np.random.default_rng(5).random((2, t, s)) < 0.7
        mask[:, :, 0] = True
        call_kw["attention_mask"] = nerve.tensor(mask)
    elif masking == "input_masks":
        qm = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=bool)
        vm = np.ones((2, s), dtype=bool)
        vm[0, -2:] = False
        call_kw.update(query_mask=nerve.tensor(qm), value_mask=nerve.tensor(vm))
        mask = qm[:, :, None] & vm[:, None, :]  # with fully masked query rows
    inputs = (query, value) if key is None else (query, value, key)
    layer(*(nerve.tensor(a) for a in inputs))  # build

    def reference(*args):
        q, v = args[0], args[1]
        k = args[2] if key is not None else v
        w = args[len(inputs) :]
        out, weights = mha_reference(torch, q, v, k, w, mask)
        return (out, weights) if scores else out

    call_kw["return_attention_scores"] = scores
    out = check(torch, layer, inputs, reference, rtol=1e-4, atol=2e-5, **call_kw)
    if masking == "input_masks":  # a fully masked query: zero weights, output = output bias
        assert_close(out[0][1, 3:] if scores else out[1, 3:], np.zeros((2, 8)), atol=1e-6)


def test_multi_head_attention_scores_and_output_shape(torch):
    query, value = rand(2, 4, 6), rand(2, 3, 6, seed=1)
    layer = layers.MultiHeadAttention(3, 2, output_shape=(2, 5))
    out, scores = layer(nerve.tensor(query), nerve.tensor(value), return_attention_scores=True)
    assert out.shape == (2, 4, 2, 5) and scores.shape == (2, 3, 4, 3)
    assert [w.shape for w in layer.get_weights()] == [
        (6, 3, 2), (3, 2), (6, 3, 2), (3, 2), (6, 3, 2), (3, 2), (3, 2, 2, 5), (2, 5),
    ]  # fmt: skip
    w = [torch.tensor(a) for a in layer.get_weights()]
    w[6], w[7] = w[6].reshape(3, 2, 10), w[7].reshape(10)
    ref_out, ref_scores = mha_reference(
        torch, torch.tensor(query), torch.tensor(value), torch.tensor(value), w
    )
    assert_close(scores, ref_scores.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(out, ref_out.reshape(2, 4, 2, 5).numpy(), rtol=1e-5, atol=1e-5)
    plain = layer(nerve.tensor(query), nerve.tensor(value))
    assert_close(plain, out, rtol=1e-5, atol=1e-6)


def test_multi_head_attention_equals_torch_module(torch):
    """With embed = heads * key_dim the Keras layer is torch's MultiheadAttention."""
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = rand(3, 5, 8)
    out = layer(nerve.tensor(x), nerve.tensor(x), use_causal_mask=True)
    qk, qb, kk, kb, vk, vb, ok, ob = (torch.tensor(a) for a in layer.get_weights())
    module = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.cat([w.reshape(8, 8).T for w in (qk, kk, vk)]))
        module.in_proj_bias.copy_(torch.cat([b.reshape(8) for b in (qb, kb, vb)]))
        module.out_proj.weight.copy_(ok.reshape(8, 8).T)
        module.out_proj.bias.copy_(ob)
    xt = torch.tensor(x)
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    ref, _ = module(xt, xt, xt, attn_mask=causal)
    assert_close(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_multi_head_attention_dropout_only_while_training():
    layer = layers.MultiHeadAttention(2, 4, dropout=0.5)
    x = nerve.tensor(rand(2, 5, 8))
    eval_out = layer(x, x, training=False)
    layer.eval()  # training=None follows the module's mode
    assert_close(layer(x, x), eval_out)
    layer.train()
    assert not np.allclose(layer(x, x)._data, eval_out._data)
    assert not np.allclose(layer(x, x, training=True)._data, eval_out._data)


# ----------------------------------------------------------------------------- Keras defaults
def test_keras_default_initializers():
    conv = layers.Conv2D(16, 3)
    conv.build((1, 8, 8, 4))
    limit = math.sqrt(6 / (9 * 4 + 9 * 16))  # glorot_uniform, fans with the receptive field
    k = conv.kernel._data
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.9 * limit
    assert (conv.bias._data == 0).all()

    lstm = layers.LSTM(5)
    lstm.build((2, 3, 7))
    r = lstm.recurrent_kernel._data  # orthogonal (5, 20): orthonormal rows
    assert_close(r @ r.T, np.eye(5), atol=1e-5)
    assert (lstm.bias._data == np.repeat([0.0, 1.0, 0.0, 0.0], 5)).all()  # unit_forget_bias
    limit = math.sqrt(6 / (7 + 20))
    assert np.abs(lstm.kernel._data).max() <= limit

    gru = layers.GRU(5)
    gru.build((2, 3, 7))
    assert gru.bias.shape == (2, 15) and (gru.bias._data == 0).all()
    no_forget = layers.LSTM(5, unit_forget_bias=False)
    no_forget.build((2, 3, 7))
    assert (no_forget.bias._data == 0).all()


def test_layer_names_and_weight_names():
    lstm = layers.LSTM(3)
    lstm.build((1, 2, 4))
    assert [n for n, _ in lstm.named_parameters()] == ["kernel", "recurrent_kernel", "bias"]
    mha = layers.MultiHeadAttention(2, 3)
    x = nerve.ones(1, 2, 4)
    mha(x, x)
    assert [n for n, _ in mha.named_parameters()] == [
        f"{p}_{w}" for p in ("query", "key", "value", "output") for w in ("kernel", "bias")
    ]


# ----------------------------------------------------------------------------- configs
CONFIG_CASES = [
    (layers.Conv2D, dict(filters=4, kernel_size=(3, 2), strides=2, padding="same",
                         activation="relu", use_bias=False, kernel_regularizer="l2",
                         activity_regularizer="l1", groups=2), (2, 8, 8, 4)),
    (layers.Conv1D, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2,
                         kernel_initializer="he_normal"), (2, 9, 2)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                                  output_padding=1), (2, 4, 4, 2)),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=2, strides=2), (2, 4, 2)),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2,
                                  data_format="channels_first"), (2, 3, 6, 6)),
    (layers.SeparableConv2D, dict(filters=5, kernel_size=3, depth_multiplier=2,
                                  pointwise_regularizer="l1"), (2, 6, 6, 3)),
    (layers.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 7, 7, 3)),
    (layers.AveragePooling2D, dict(pool_size=(2, 3), data_format="channels_first"),
     (2, 3, 7, 7)),
    (layers.MaxPooling1D, dict(pool_size=3, padding="same"), (2, 7, 3)),
    (layers.AveragePooling1D, dict(pool_size=2, strides=1), (2, 7, 3)),
    (layers.GlobalAveragePooling2D, dict(keepdims=True), (2, 4, 4, 3)),
    (layers.GlobalMaxPooling2D, dict(data_format="channels_first"), (2, 3, 4, 4)),
    (layers.GlobalAveragePooling1D, dict(), (2, 4, 3)),
    (layers.GlobalMaxPooling1D, dict(keepdims=True), (2, 4, 3)),
    (layers.SimpleRNN, dict(units=3, activation="relu", return_sequences=True,
                            go_backwards=True, dropout=0.25), (2, 4, 3)),
    (layers.LSTM, dict(units=3, unit_forget_bias=False, return_state=True,
                       recurrent_initializer="glorot_uniform",
                       recurrent_regularizer="l2"), (2, 4, 3)),
    (layers.GRU, dict(units=3, use_bias=False, unroll=True), (2, 4, 3)),
    (layers.MultiHeadAttention, dict(num_heads=2, key_dim=3, value_dim=4, dropout=0.1,
                                     output_shape=5, use_bias=False), (2, 4, 6)),
]  # fmt: skip


@pytest.mark.parametrize("cls,kw,shape", CONFIG_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_get_config_round_trips(cls, kw, shape):
    layer = cls(**kw)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    for key in kw:
        assert key in config, key
    clone = cls.from_config(config)
    assert clone.get_config() == config
    x = nerve.tensor(rand(*shape))
    args = (x, x) if cls is layers.MultiHeadAttention else (x,)
    layer.eval()
    clone.eval()
    out = layer(*args)
    clone(*args)
    clone.set_weights(layer.get_weights())
    out2 = clone(*args)
    for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (out, out2))):
        assert_close(a, b)


def test_bidirectional_config_round_trips():
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="sum")
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["layer"]["class_name"] == "GRU"
    assert config["layer"]["config"]["name"].startswith("forward_")
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = layers.Bidirectional.from_config(config)
    assert clone.get_config() == config
    x = nerve.tensor(rand(2, 4, 3))
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    assert_close(clone(x), layer(x))


# ----------------------------------------------------------------------------- errors
def test_wrong_input_size_names_the_layer_and_both_shapes():
    conv = layers.Conv2D(4, 3, name="features")
    conv(nerve.ones(2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"'features' \(Conv2D\).*\(None, None, None, 3\).*"
                                         r"\(2, 8, 8, 5\)"):  # fmt: skip
        conv(nerve.ones(2, 8, 8, 5))
    lstm = layers.LSTM(4, name="encoder")
    lstm(nerve.ones(2, 5, 3))
    with pytest.raises(ValueError, match=r"'encoder' \(LSTM\).*\(None, None, 3\).*\(2, 5, 6\)"):
        lstm(np.ones((2, 5, 6), np.float32))
    mha = layers.MultiHeadAttention(2, 3, name="attend")
    q = nerve.ones(2, 4, 6)
    mha(q, q)
    with pytest.raises(ValueError, match=r"'attend'.*value must have 6 features.*\(2, 4, 7\)"):
        mha(q, nerve.ones(2, 4, 7))
    with pytest.raises(ValueError, match=r"'attend' \(MultiHeadAttention\).*\(2, 4, 5\)"):
        mha(nerve.ones(2, 4, 5), q)


@pytest.mark.parametrize(
    "make,error,pattern",
    [
        (lambda: layers.Conv2D(4, 3, padding="full"), ValueError, r"padding must be one of"),
        (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), ValueError, r"strides > 1"),
        (lambda: layers.Conv2D(5, 3, groups=2), ValueError, r"filters \(5\).*groups \(2\)"),
        (lambda: layers.Conv2D(4, (3, 3, 3)), ValueError, r"kernel_size must be an int or"),
        (lambda: layers.Conv2D(4, 3, data_format="NHWC"), ValueError, r"data_format"),
        (lambda: layers.Conv2D(4, 3, padding="causal"), ValueError, r"padding must be one of"),
        (lambda: layers.LSTM(4, recurrent_dropout=0.2), NotImplementedError,
         r"recurrent_dropout=0.2"),
        (lambda: layers.LSTM(4, activation="relu"), NotImplementedError, r"activation='relu'"),
        (lambda: layers.GRU(4, recurrent_activation="hard_sigmoid"), NotImplementedError,
         r"recurrent_activation='hard_sigmoid'"),
        (lambda: layers.SimpleRNN(4, activation="sigmoid"), NotImplementedError,
         r"activation='sigmoid'"),
        (lambda: layers.GRU(4, reset_after=False), NotImplementedError, r"reset_after=False"),
        (lambda: layers.LSTM(4, stateful=True), NotImplementedError, r"stateful=True"),
        (lambda: layers.LSTM(0), ValueError, r"units must be a positive int"),
        (lambda: layers.Bidirectional(layers.LSTM(4), merge_mode="max"), ValueError,
         r"merge_mode"),
        (lambda: layers.Bidirectional(layers.Conv1D(4, 3)), ValueError, r"SimpleRNN, LSTM"),
        (lambda: layers.MultiHeadAttention(2, 4, attention_axes=(1,)), NotImplementedError,
         r"attention_axes"),
        (lambda: layers.MaxPooling2D(pool_size=0), ValueError, r"pool_size must be >= 1"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_call_time_errors():
    conv = layers.Conv2D(4, 5)
    with pytest.raises(ValueError, match=r"kernel_size \(5, 5\).*larger than.*\(3, 3\)"):
        conv(nerve.ones(1, 3, 3, 2))
    grouped = layers.Conv2D(4, 3, groups=2)
    with pytest.raises(ValueError, match=r"3 channels are not divisible by groups=2"):
        grouped(nerve.ones(1, 5, 5, 3))
    lstm = layers.LSTM(4)
    with pytest.raises(ValueError, match=r"initial_state must hold 2 tensor\(s\)"):
        lstm(nerve.ones(2, 3, 5), initial_state=[nerve.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"\(batch, units\) = \(2, 4\), got \(2, 3\)"):
        lstm(nerve.ones(2, 3, 5), initial_state=[nerve.zeros(2, 3), nerve.zeros(2, 3)])
    with pytest.raises(ValueError, match=r"mask of shape \(2, 4\) does not match"):
        lstm(nerve.ones(2, 3, 5), mask=nerve.ones(2, 4).bool())
    with pytest.raises(ValueError, match=r"expected a 3-d input"):
        layers.GRU(3)(nerve.ones(2, 5))
    pool = layers.MaxPooling2D(4)
    with pytest.raises(ValueError, match=r"pool_size \(4, 4\) is larger"):
        pool(nerve.ones(1, 3, 3, 2))
    mha = layers.MultiHeadAttention(2, 3)
    q = nerve.ones(2, 4, 6)
    with pytest.raises(ValueError, match=r"attention_mask of shape \(2, 3, 3\) does not"):
        mha(q, q, attention_mask=nerve.ones(2, 3, 3).bool())


def test_regularizers_add_their_penalties_to_losses():
    conv = layers.Conv2D(2, 3, kernel_regularizer="l2", activity_regularizer="l1")
    out = conv(nerve.tensor(rand(2, 5, 5, 3)))
    penalties = [float(p.item()) for p in conv.losses]
    k = conv.kernel._data
    assert_close(np.array(penalties), [0.01 * (k**2).sum(), 0.01 * np.abs(out._data).sum() / 2])
    lstm = layers.LSTM(3, recurrent_regularizer="l1", bias_regularizer="l2")
    lstm(nerve.tensor(rand(2, 4, 3)))
    r, b = lstm.recurrent_kernel._data, lstm.bias._data
    expected = [0.01 * np.abs(r).sum(), 0.01 * (b**2).sum()]
    assert_close(np.array([float(p.item()) for p in lstm.losses]), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- Keras 3 itself
MASK9 = np.array([[1, 0, 1, 1, 0, 0, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1, 1, 1]], dtype=bool)
IMG, IMG_FIRST, SEQ = (2, 7, 8, 4), (2, 4, 7, 8), (2, 9, 4)
KERAS_CASES = [  # (make(layers module), input shape, call kwargs): one lambda builds both
    (lambda lay: lay.Conv2D(4, 3, activation="relu"), IMG, {}),
    (lambda lay: lay.Conv2D(4, (3, 2), strides=2, padding="same"), IMG, {}),
    (lambda lay: lay.Conv2D(4, 4, strides=(2, 3), padding="same"), IMG, {}),
    (lambda lay: lay.Conv2D(4, 3, dilation_rate=2, padding="same"), IMG, {}),
    (lambda lay: lay.Conv2D(4, 2, groups=2, data_format="channels_first"), IMG_FIRST, {}),
    (lambda lay: lay.Conv1D(3, 3, padding="causal", dilation_rate=2), SEQ, {}),
    (lambda lay: lay.Conv1D(3, 4, strides=2, padding="same"), SEQ, {}),
    (lambda lay: lay.Conv2DTranspose(2, 3, strides=2), IMG, {}),
    (lambda lay: lay.Conv2DTranspose(2, 3, strides=2, padding="same"), IMG, {}),
    (lambda lay: lay.Conv2DTranspose(2, 4, strides=2, padding="same"), IMG, {}),
    (lambda lay: lay.Conv2DTranspose(2, 2, strides=3), IMG, {}),
    (lambda lay: lay.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1), IMG, {}),
    (lambda lay: lay.Conv2DTranspose(2, 3, padding="same", dilation_rate=2), IMG, {}),
    (lambda lay: lay.Conv1DTranspose(3, 3, strides=2, padding="same"), SEQ, {}),
    (lambda lay: lay.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2), IMG, {}),
    (lambda lay: lay.SeparableConv2D(5, 3, padding="same", depth_multiplier=2), IMG, {}),
    (lambda lay: lay.MaxPooling2D(3, 2, padding="same"), IMG, {}),
    (lambda lay: lay.MaxPooling2D((2, 3), (1, 2), padding="same"), IMG, {}),
    (lambda lay: lay.AveragePooling2D(2), IMG, {}),
    (lambda lay: lay.AveragePooling2D(2, padding="same"), IMG, {}),
    (lambda lay: lay.AveragePooling2D(3, 1, padding="same"), IMG, {}),
    (lambda lay: lay.MaxPooling1D(3, 2, padding="same"), SEQ, {}),
    (lambda lay: lay.AveragePooling1D(3, 2, padding="same"), SEQ, {}),
    (lambda lay: lay.GlobalAveragePooling2D(), IMG, {}),
    (lambda lay: lay.GlobalMaxPooling1D(keepdims=True), SEQ, {}),
    (lambda lay: lay.LSTM(5), SEQ, {}),
    (lambda lay: lay.LSTM(5, return_sequences=True, return_state=True, go_backwards=True), SEQ,
     {"mask": MASK9}),
    (lambda lay: lay.GRU(5), SEQ, {"mask": MASK9}),
    (lambda lay: lay.SimpleRNN(5, return_sequences=True), SEQ, {"mask": MASK9}),
    (lambda lay: lay.Bidirectional(lay.LSTM(5, return_sequences=True)), SEQ, {"mask": MASK9}),
    (lambda lay: lay.Bidirectional(lay.GRU(5, return_state=True), merge_mode="ave"), SEQ,
     {"mask": MASK9}),
]  # fmt: skip


def keras_numpy(keras, out):
    """Keras outputs (torch tensors on its torch backend) as NumPy arrays."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().cpu().numpy() for o in outs]


@pytest.mark.parametrize("make,shape,call_kw", KERAS_CASES)
def test_matches_keras(keras, make, shape, call_kw):
    """Keras 3 with nerve's weights (get_weights -> set_weights) gives nerve's outputs."""
    x = rand(*shape)
    ours = make(layers)
    out = ours(nerve.tensor(x), **{k: nerve.tensor(v) for k, v in call_kw.items()})
    theirs = make(keras.layers)
    theirs(x, **call_kw)
    theirs.set_weights(ours.get_weights())
    outs = out if isinstance(out, (tuple, list)) else (out,)
    expected = keras_numpy(keras, theirs(x, **call_kw))
    assert len(outs) == len(expected)
    for a, b in zip(outs, expected):
        assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_average_pooling_same_follows_tensorflow_not_keras_torch_edge_padding(keras):
    """Where 'same' pads unevenly Keras's torch backend pads by repeating the edge (so edge
    values count twice); nerve excludes the padding, as TensorFlow and JAX do."""
    x = rand(1, 7, 8, 1)
    out = layers.AveragePooling2D(3, 2, padding="same")(nerve.tensor(x))._data
    # width 8: pads (0, 1); height 7: pads (1, 1). The last window of the first row covers
    # rows 0..1 and columns 6..7 of the input.
    assert_close(out[0, 0, -1, 0], x[0, :2, 6:, 0].mean(), rtol=1e-6)
    theirs = keras_numpy(keras, keras.layers.AveragePooling2D(3, 2, padding="same")(x))[0]
    assert not np.allclose(out, theirs)


@pytest.mark.parametrize("scores", [False, True])
@pytest.mark.parametrize(
    "kw,cross,call_kw",
    [
        (dict(num_heads=2, key_dim=3), False, {"use_causal_mask": True}),
        (dict(num_heads=2, key_dim=3, value_dim=4, output_shape=7), True, {}),
        (dict(num_heads=2, key_dim=3), True, {"attention_mask": "partial"}),
        (dict(num_heads=2, key_dim=3), True, {"query_mask": "q", "value_mask": "v"}),
    ],
)
def test_multi_head_attention_matches_keras(keras, kw, cross, call_kw, scores):
    query = rand(2, 5, 8)
    value = rand(2, 6, 6, seed=1) if cross else query
    masks = {
        "partial": np.random.default_rng(3).random((2, 5, 6)) < 0.6,
        "q": np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool),
        "v": np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=bool),
    }
    masks["partial"][:, :, 0] = True
    call_kw = {k: masks.get(v, v) for k, v in call_kw.items()}
    call_kw["return_attention_scores"] = scores
    ours = layers.MultiHeadAttention(**kw)
    out = ours(
        nerve.tensor(query),
        nerve.tensor(value),
        **{k: nerve.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call_kw.items()},
    )
    theirs = keras.layers.MultiHeadAttention(**kw)
    theirs(query, value, **call_kw)
    theirs.set_weights(ours.get_weights())
    k_query = query
    if "query_mask" in call_kw:  # Keras 3.15 reads the query's mask from the tensor only
        k_query = keras.ops.convert_to_tensor(query)
        k_query._keras_mask = keras.ops.convert_to_tensor(call_kw.pop("query_mask"))
    expected = keras_numpy(keras, theirs(k_query, value, **call_kw))
    outs = out if isinstance(out, tuple) else (out,)
    if k_query is not query and not scores:
        # Keras 3.15's fused path (no dropout, no scores) gives a fully masked query uniform
        # weights; its masked softmax, and nerve, give zeros: compare the other queries.
        outs, expected = [outs[0]._data[1]], [expected[0][1]]
    for a, b in zip(outs, expected):
        assert_close(a, b, rtol=1e-5, atol=1e-5)
