"""Keras-style core, merge, activation, normalization and embedding layers.

Each layer's forward and its input and weight gradients are checked against the torch module
(or torch expression) it maps to, with the weights copied in Keras's layout; Keras's defaults,
freezing, regularizer losses, get_config / from_config, masks and error messages are checked too.
Where Keras 3 itself is installed (the ``keras`` fixture), a few semantics are checked against it.
"""

import json
import math

import numpy as np
import pytest

import nerve
from nerve import layers, regularizers
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
    """layer(*inputs) vs reference(*torch inputs, *torch weights): output and every gradient.

    The layer is built first; the torch weights are copies of its ``weights`` (Keras layout),
    and both sides are given the same random output gradient.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    xs = [nerve.tensor(a, requires_grad=True) for a in inputs]
    out = layer(xs if call_kw.pop("as_list", False) else xs[0], **call_kw)
    ws = [torch.tensor(w._data.copy(), requires_grad=w.requires_grad) for w in layer.weights]
    xts = [torch.tensor(a, requires_grad=True) for a in inputs]
    ref = reference(*xts, *ws)
    assert_close(out, ref.detach().numpy(), rtol=rtol, atol=atol, msg="output: ")
    g = rand(*out.shape, seed=10)
    (out * nerve.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for k, (a, b) in enumerate(zip(xs, xts)):
        assert_close(a.grad, b.grad.numpy(), rtol=rtol, atol=atol, msg=f"input {k} grad: ")
    for w, wt in zip(layer.weights, ws):
        if wt.requires_grad:
            assert w.grad is not None, f"no gradient for {w.shape}"
            assert_close(w.grad, wt.grad.numpy(), rtol=rtol, atol=atol, msg=f"weight {w.shape}: ")
    return out


def to_numpy(value):
    """A Keras (torch backend) tensor or variable as an array."""
    value = getattr(value, "value", value)
    return value.detach().cpu().numpy()


def built(layer, x):
    layer(nerve.tensor(x))
    return layer


# ----------------------------------------------------------------------------- Dense
@pytest.mark.parametrize(
    "shape,kw",
    [
        ((3, 6), {}),
        ((2, 5, 6), {}),
        ((2, 3, 2, 6), {"use_bias": False}),
        ((4, 6), {"activation": "relu"}),
        ((4, 6), {"activation": "tanh", "bias_initializer": "random_normal"}),
    ],
    ids=str,
)
def test_dense_matches_torch_linear(torch, shape, kw):
    x = rand(*shape)
    layer = layers.Dense(4, **kw)
    built(layer, x)
    assert layer.kernel.shape == (6, 4)
    lin = torch.nn.Linear(6, 4, bias=kw.get("use_bias", True))
    act = {"relu": torch.relu, "tanh": torch.tanh}.get(kw.get("activation"), lambda t: t)

    def reference(xt, kernel, bias=None):
        with torch.no_grad():  # nn.Linear holds the transposed kernel
            lin.weight.copy_(kernel.T)
            if bias is not None:
                lin.bias.copy_(bias)
        return act(lin(xt))

    xs = nerve.tensor(x, requires_grad=True)
    out = layer(xs)
    xt = torch.tensor(x, requires_grad=True)
    ref = reference(xt, *[torch.tensor(w._data.copy()) for w in layer.weights])
    assert_close(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rand(*out.shape, seed=1)
    (out * nerve.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    assert_close(xs.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_close(layer.kernel.grad, lin.weight.grad.T.numpy(), rtol=1e-4, atol=1e-5)
    if layer.use_bias:
        assert_close(layer.bias.grad, lin.bias.grad.numpy(), rtol=1e-4, atol=1e-5)
    else:
        assert layer.bias is None and len(layer.weights) == 1


def test_dense_keras_defaults():
    layer = built(layers.Dense(200), rand(2, 300))
    k = layer.kernel._data
    limit = math.sqrt(6.0 / (300 + 200))  # glorot_uniform
    assert k.dtype == np.float32 and np.abs(k).max() <= limit
    assert np.abs(k).max() > 0.98 * limit
    assert abs(k.std() - limit / math.sqrt(3)) < 0.02 * limit
    assert np.all(layer.bias._data == 0)
    assert [w.shape for w in layer.weights] == [(300, 200), (200,)]
    assert set(layer.state_dict()) == {"kernel", "bias"}
    assert layer.count_params() == 300 * 200 + 200
    cfg = layer.get_config()
    assert cfg["activation"] == "linear" and cfg["use_bias"] is True
    assert cfg["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {}}
    assert cfg["bias_initializer"] == {"class_name": "Zeros", "config": {}}


def test_dense_wrong_input_size_names_layer_and_shapes():
    layer = layers.Dense(3, name="proj")
    layer(nerve.zeros(2, 4))
    with pytest.raises(ValueError, match=r"'proj'.*Dense.*4.*got \(2, 5\)"):
        layer(nerve.zeros(2, 5))
    with pytest.raises(ValueError, match=r"'proj'.*got \(4,\)"):
        layer(nerve.zeros(4))
    with pytest.raises(ValueError, match=r"Dense: units must be a positive integer, got 0"):
        layers.Dense(0)


def test_dense_kernel_gradient_in_keras_layout():
    layer = built(layers.Dense(5), rand(3, 4))
    x = nerve.tensor(rand(3, 4), requires_grad=True)
    layer(x).sum().backward()
    grad = np.asarray(layer.kernel.grad._data)
    assert grad.shape == (4, 5) and grad.flags.c_contiguous
    assert_close(grad, x._data.T @ np.ones((3, 5), np.float32), rtol=1e-5)


def _float64_weights_kept() -> bool:
    layer = layers.Dense(1, dtype="float64")
    layer.build((1, 1))
    return layer.kernel.dtype == np.float64


@pytest.mark.skipif(
    not _float64_weights_kept(),
    reason="Layer.add_weight makes float32 Parameters whatever the dtype (Parameter's default)",
)
def test_dense_keeps_its_dtype():
    layer = layers.Dense(3, dtype="float64")
    x = nerve.tensor(rand(2, 4), dtype=nerve.float64, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == np.float64 and layer.kernel.dtype == np.float64
    assert layer.kernel.grad.dtype == np.float64 and x.grad.dtype == np.float64


# ----------------------------------------------------------------------------- freezing
def _sgd_step(layer, x, lr=0.1):
    xt = nerve.tensor(x, requires_grad=True)
    out = layer(xt)
    (out * out).sum().backward()
    for w in layer.weights:
        if w.grad is not None:
            w._data -= lr * np.asarray(w.grad._data)


@pytest.mark.parametrize("when", ["constructor", "attribute"])
def test_trainable_false_freezes_dense(when):
    if when == "constructor":
        layer = layers.Dense(3, trainable=False, bias_initializer="ones")
        layer(nerve.tensor(rand(2, 4)))
    else:
        layer = built(layers.Dense(3, bias_initializer="ones"), rand(2, 4))
        layer.trainable = False
    before = layer.get_weights()
    _sgd_step(layer, rand(2, 4))
    for a, b in zip(before, layer.get_weights()):
        assert np.array_equal(a, b)
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == 2
    assert all(w.grad is None for w in layer.weights)
    layer.trainable = True  # and back: the step moves the weights again
    _sgd_step(layer, rand(2, 4))
    assert not np.array_equal(before[0], layer.get_weights()[0])
    assert len(layer.trainable_weights) == 2


# ----------------------------------------------------------------------------- regularizers
def test_regularizer_losses_have_keras_values():
    layer = layers.Dense(
        3,
        kernel_regularizer=regularizers.l2(0.01),
        bias_regularizer=regularizers.l1(0.5),
        activity_regularizer="l2",
        bias_initializer="ones",
    )
    x = nerve.tensor(rand(4, 5))
    out = layer(x)
    k, b = layer.kernel._data.astype(np.float64), layer.bias._data.astype(np.float64)
    expected = [0.01 * np.sum(k**2), 0.5 * np.sum(np.abs(b))]
    # Keras divides the activity penalty by the batch size.
    expected.append(0.01 * np.sum(out._data.astype(np.float64) ** 2) / 4)
    assert len(layer.losses) == 3
    for got, want in zip(layer.losses, expected):
        assert_close(got, np.float32(want), rtol=1e-5)
    # The penalties are differentiable: their gradient reaches the kernel.
    layer.losses[0].backward()
    assert_close(layer.kernel.grad, 0.02 * layer.kernel._data, rtol=1e-5)


def test_regularizers_of_other_layers():
    emb = built(layers.Embedding(7, 3, embeddings_regularizer="l2"), np.array([[1, 2]]))
    assert_close(emb.losses[0], np.float32(0.01 * np.sum(emb.embeddings._data**2)), rtol=1e-5)
    bn = built(layers.BatchNormalization(gamma_regularizer=regularizers.l2(0.1)), rand(4, 3))
    assert_close(bn.losses[0], np.float32(0.1 * 3), rtol=1e-6)  # gamma starts at ones
    ln = built(layers.LayerNormalization(beta_regularizer="l1"), rand(2, 3))
    assert_close(ln.losses[0], np.float32(0.0))
    pr = built(layers.PReLU(alpha_initializer="ones", alpha_regularizer="l1"), rand(2, 3))
    assert_close(pr.losses[0], np.float32(0.01 * 3), rtol=1e-6)


# ----------------------------------------------------------------------------- config
def _config_cases():
    x3 = rand(2, 3, 4, seed=3)
    return [
        (
            lambda: layers.Dense(
                5,
                activation="tanh",
                kernel_initializer="he_normal",
                bias_initializer=nerve.initializers.Constant(0.5),
                kernel_regularizer=regularizers.l2(0.02),
                activity_regularizer="l1",
            ),
            x3,
        ),
        (lambda: layers.Dense(2, use_bias=False), x3),
        (lambda: layers.Activation("softmax"), x3),
        (lambda: layers.Dropout(0.3, noise_shape=(None, 1, 4), seed=3), x3),
        (lambda: layers.Flatten("channels_first"), x3),
        (lambda: layers.Reshape((4, -1)), x3),
        (lambda: layers.Permute((2, 1)), x3),
        (lambda: layers.RepeatVector(3), x3[:, 0]),
        (lambda: layers.Identity(), x3),
        (lambda: layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2), x3),
        (lambda: layers.LeakyReLU(0.1), x3),
        (lambda: layers.ELU(0.5), x3),
        (lambda: layers.Softmax(axis=(1, 2)), x3),
        (lambda: layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1]), x3),
        (
            lambda: layers.BatchNormalization(
                axis=1,
                momentum=0.9,
                epsilon=1e-4,
                center=False,
                moving_variance_initializer=nerve.initializers.RandomUniform(0.5, 1.5),
            ),
            x3,
        ),
        (lambda: layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, scale=False), x3),
        (lambda: layers.LayerNormalization(axis=1), x3),
        (
            lambda: layers.Embedding(12, 3, mask_zero=True, embeddings_regularizer="l2"),
            np.array([[1, 0, 11], [4, 5, 6]]),
        ),
    ]


def infer(layer, x):
    """The layer in inference mode (``training=False`` goes only to a call that takes it)."""
    layer.eval()
    return layer(nerve.tensor(x))


@pytest.mark.parametrize("case", range(len(_config_cases())))
def test_get_config_from_config_round_trip(case):
    make, x = _config_cases()[case]
    layer = make()
    out = infer(layer, x)
    config = layer.get_config()
    config = json.loads(json.dumps(config))  # JSON-able
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    infer(clone, x)
    clone.set_weights(layer.get_weights())
    assert_close(infer(clone, x), out, rtol=1e-6, atol=1e-7)


def test_config_records_every_constructor_argument():
    import inspect

    for cls in (
        layers.Dense,
        layers.Activation,
        layers.Dropout,
        layers.Flatten,
        layers.Reshape,
        layers.Permute,
        layers.RepeatVector,
        layers.ReLU,
        layers.LeakyReLU,
        layers.ELU,
        layers.Softmax,
        layers.PReLU,
        layers.BatchNormalization,
        layers.LayerNormalization,
        layers.Embedding,
        layers.Concatenate,
        layers.Dot,
        layers.Lambda,
    ):
        params = [
            p
            for p, v in inspect.signature(cls.__init__).parameters.items()
            if p not in ("self", "kwargs", "input_length") and v.kind != v.VAR_KEYWORD
        ]
        required = {"units": 2, "activation": "relu", "rate": 0.5, "target_shape": (2,)}
        required |= {"dims": (1,), "n": 2, "input_dim": 3, "output_dim": 2, "axes": 1}
        required["function"] = abs
        layer = cls(**{p: required[p] for p in params if p in required})
        missing = set(params) - set(layer.get_config())
        assert not missing, f"{cls.__name__}.get_config lacks {sorted(missing)}"


def test_merge_layers_round_trip():
    xs = [nerve.tensor(rand(2, 3, seed=s)) for s in range(2)]
    for layer in (
        layers.Add(),
        layers.Concatenate(axis=0),
        layers.Dot(axes=(1, 1), normalize=True),
    ):
        out = layer(xs)
        clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
        assert_close(clone(xs), out)


def test_lambda_config_records_only_a_name():
    def double(x):
        return x * 2

    layer = layers.Lambda(double, output_shape=(3,), arguments={})
    config = json.loads(json.dumps(layer.get_config()))
    assert config["function"] == "double" and config["output_shape"] == [3]
    with pytest.raises(ValueError, match=r"only the name 'double'.*custom_objects"):
        layers.Lambda.from_config(config)
    clone = layers.Lambda.from_config(config, custom_objects={"double": double})
    assert clone(nerve.ones(1, 3)).tolist() == [[2.0, 2.0, 2.0]]
    assert layers.Lambda(lambda t: t).get_config()["function"] == "<lambda>"


def test_lambda_arguments_mask_and_training():
    def scale(x, factor, training=None):
        return x * (factor if training else 1.0)

    layer = layers.Lambda(scale, arguments={"factor": 3.0}, mask=lambda x, m: x > 0)
    x = nerve.tensor([[1.0, -1.0]])
    assert layer(x, training=True).tolist() == [[3.0, -3.0]]
    assert layer(x, training=False).tolist() == [[1.0, -1.0]]
    assert layer.compute_mask(x).tolist() == [[True, False]]


# ----------------------------------------------------------------------------- activations
ACTIVATIONS = [
    (lambda: layers.ReLU(), lambda t, x: t.relu(x)),
    (lambda: layers.ReLU(max_value=6.0), lambda t, x: t.nn.functional.relu6(x)),
    (
        lambda: layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3),
        lambda t, x: t.where(x > 0.3, x, 0.1 * (x - 0.3)).clamp(max=1.5),
    ),
    (lambda: layers.LeakyReLU(), lambda t, x: t.nn.LeakyReLU(0.3)(x)),
    (lambda: layers.LeakyReLU(negative_slope=0.05), lambda t, x: t.nn.LeakyReLU(0.05)(x)),
    (lambda: layers.ELU(), lambda t, x: t.nn.ELU()(x)),
    (lambda: layers.ELU(alpha=0.7), lambda t, x: t.nn.ELU(0.7)(x)),
    (lambda: layers.Softmax(), lambda t, x: t.nn.Softmax(dim=-1)(x)),
    (lambda: layers.Softmax(axis=1), lambda t, x: t.nn.Softmax(dim=1)(x)),
    (lambda: layers.Softmax(axis=(1, 2)), lambda t, x: t.exp(x - x.logsumexp((1, 2), True))),
    (lambda: layers.Activation("tanh"), lambda t, x: t.tanh(x)),
    (lambda: layers.Activation("gelu"), lambda t, x: t.nn.functional.gelu(x)),
    (lambda: layers.Activation(None), lambda t, x: x * 1),
]


@pytest.mark.parametrize("case", range(len(ACTIVATIONS)))
def test_activation_layers_match_torch(torch, case):
    make, ref = ACTIVATIONS[case]
    x = rand(3, 4, 5, seed=case)
    x[np.abs(x - 0.3) < 1e-2] += 0.05  # away from the kinks
    x[np.abs(x) < 1e-2] += 0.05
    check(torch, make(), x, lambda xt: ref(torch, xt))


def test_activation_layer_defaults_are_keras():
    assert layers.LeakyReLU().negative_slope == 0.3
    assert layers.LeakyReLU(alpha=0.2).negative_slope == 0.2  # Keras 2's argument name
    cfg = layers.ReLU().get_config()
    assert (cfg["max_value"], cfg["negative_slope"], cfg["threshold"]) == (None, 0.0, 0.0)
    assert layers.ELU().alpha == 1.0 and layers.Softmax().axis == -1
    with pytest.raises(ValueError, match=r"ReLU: negative_slope must be >= 0"):
        layers.ReLU(negative_slope=-1)
    with pytest.raises(ValueError, match=r"LeakyReLU: negative_slope must be a number"):
        layers.LeakyReLU(None)


@pytest.mark.parametrize("shared_axes", [None, [1], [1, 2]])
def test_prelu_matches_torch(torch, shared_axes):
    x = rand(2, 3, 4, 5)
    layer = layers.PReLU(alpha_initializer="random_uniform", shared_axes=shared_axes)
    layer.build(x.shape)
    expect = [3, 4, 5]
    for a in shared_axes or ():
        expect[a - 1] = 1
    assert layer.alpha.shape == tuple(expect)
    check(torch, layer, x, lambda xt, alpha: torch.where(xt >= 0, xt, alpha * xt))
    # Keras's default alpha is zeros: a plain ReLU to start with.
    assert np.all(built(layers.PReLU(), x).alpha._data == 0)


def test_prelu_per_channel_equals_torch_prelu(torch):
    x = rand(2, 6, 3)  # (batch, steps, channels): one slope per channel
    layer = built(layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1]), x)
    t = torch.nn.PReLU(3)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.alpha._data.reshape(3)))
    ref = t(torch.tensor(x).permute(0, 2, 1)).permute(0, 2, 1)
    assert_close(layer(nerve.tensor(x)), ref.detach().numpy(), rtol=1e-6)


def test_softmax_mask_zeroes_masked_positions(torch):
    x = rand(2, 5)
    mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], dtype=bool)
    out = layers.Softmax()(nerve.tensor(x), mask=nerve.tensor(mask))
    ref = torch.softmax(torch.tensor(x).masked_fill(~torch.tensor(mask), -1e9), -1)
    assert_close(out, ref.numpy(), rtol=1e-6, atol=1e-7)
    assert np.all(out._data[~mask] == 0)


# ----------------------------------------------------------------------------- Dropout
def test_dropout_only_when_training():
    layer = layers.Dropout(0.4)
    x = nerve.ones(50, 40)
    assert layer(x, training=False) is x
    layer.eval()  # training taken from the layer's mode when not given
    assert layer(x) is x
    layer.train()
    y = layer(x)
    vals = set(np.unique(y._data).tolist())
    assert vals == {0.0, np.float32(1 / 0.6)}
    assert abs((y._data == 0).mean() - 0.4) < 0.05
    assert layers.Dropout(0.0)(x, training=True) is x


def test_dropout_gradient_is_the_mask():
    x = nerve.tensor(rand(30, 20), requires_grad=True)
    y = layers.Dropout(0.5)(x, training=True)
    y.sum().backward()
    kept = y._data != 0
    assert_close(x.grad, np.where(kept, 2.0, 0.0).astype(np.float32))


def test_dropout_noise_shape_broadcasts():
    x = nerve.tensor(rand(4, 10, 6) + 5.0, requires_grad=True)
    y = layers.Dropout(0.5, noise_shape=(None, 1, 6))(x, training=True)
    dropped = y._data == 0
    assert np.all(dropped == dropped[:, :1, :])  # the same features at every step
    assert 0 < dropped.mean() < 1
    y.sum().backward()
    assert_close(x.grad, np.where(dropped, 0.0, 2.0).astype(np.float32))
    with pytest.raises(ValueError, match=r"Dropout layer '.*': noise_shape \(None, 3\) does not"):
        layers.Dropout(0.5, noise_shape=(None, 3))(nerve.ones(2, 4), training=True)


def test_dropout_seeded_through_nerve_generator():
    x = nerve.ones(8, 8)
    nerve.manual_seed(5)
    a = layers.Dropout(0.5)(x, training=True)
    nerve.manual_seed(5)
    b = layers.Dropout(0.5)(x, training=True)
    assert np.array_equal(a._data, b._data)
    with pytest.raises(ValueError, match=r"Dropout: rate must be in \[0, 1\], got 1.5"):
        layers.Dropout(1.5)


# ----------------------------------------------------------------------------- reshaping
def test_flatten_matches_torch(torch):
    x = rand(2, 3, 4, 5)
    check(torch, layers.Flatten(), x, lambda xt: torch.nn.Flatten()(xt))
    # channels_first is flattened in channels_last order, as Keras does.
    check(
        torch,
        layers.Flatten(data_format="channels_first"),
        x,
        lambda xt: xt.permute(0, 2, 3, 1).reshape(2, -1),
    )
    assert layers.Flatten()(nerve.zeros(3)).shape == (3, 1)
    assert layers.Flatten()(nerve.zeros(0, 4, 2)).shape == (0, 8)
    with pytest.raises(ValueError, match=r"Flatten: data_format must be"):
        layers.Flatten("nchw")


def test_reshape_permute_repeat_match_torch(torch):
    x = rand(2, 3, 4)
    check(torch, layers.Reshape((4, 3)), x, lambda xt: xt.reshape(2, 4, 3))
    check(torch, layers.Reshape((-1, 2)), x, lambda xt: xt.reshape(2, -1, 2))
    check(torch, layers.Permute((2, 1)), x, lambda xt: xt.permute(0, 2, 1))
    y = rand(2, 3, 4, 5)
    check(torch, layers.Permute((3, 1, 2)), y, lambda xt: xt.permute(0, 3, 1, 2))
    v = rand(2, 5)
    check(torch, layers.RepeatVector(4), v, lambda xt: xt[:, None, :].repeat(1, 4, 1))


def test_reshaping_errors():
    with pytest.raises(ValueError, match=r"Reshape layer 'rs': cannot reshape samples of shape "):
        layers.Reshape((5, -1), name="rs")(nerve.zeros(2, 12))
    with pytest.raises(ValueError, match=r"12 elements\) into target_shape \(5, 2\)"):
        layers.Reshape((5, 2))(nerve.zeros(2, 12))
    with pytest.raises(ValueError, match=r"at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"Permute: dims must be a permutation of 1..2"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"'perm' \(Permute\) is incompatible.*got \(2, 3\)"):
        layers.Permute((2, 1), name="perm")(nerve.zeros(2, 3))
    with pytest.raises(ValueError, match=r"RepeatVector\) is incompatible.*got \(2, 3, 4\)"):
        layers.RepeatVector(2)(nerve.zeros(2, 3, 4))


# ----------------------------------------------------------------------------- merge
MERGES = [
    (layers.Add, 3, lambda t, *xs: sum(xs)),
    (layers.Subtract, 2, lambda t, a, b: a - b),
    (layers.Multiply, 3, lambda t, a, b, c: a * b * c),
    (layers.Average, 3, lambda t, *xs: sum(xs) / 3),
    (layers.Maximum, 3, lambda t, a, b, c: t.maximum(t.maximum(a, b), c)),
    (layers.Minimum, 2, lambda t, a, b: t.minimum(a, b)),
]


@pytest.mark.parametrize("cls,n,ref", MERGES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_merge_layers_match_torch(torch, cls, n, ref):
    xs = tuple(rand(2, 3, 4, seed=s) for s in range(n))
    check(torch, cls(), xs, lambda *ts: ref(torch, *ts), as_list=True)


def test_merge_broadcasts_like_keras(torch):
    xs = (rand(2, 3, 4, seed=0), rand(2, 1, 4, seed=1), rand(2, 4, seed=2))
    # A rank-2 input gets its size-1 axis after the batch axis: (2, 4) -> (2, 1, 4).
    check(torch, layers.Add(), xs, lambda a, b, c: a + b + c[:, None], as_list=True)


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_concatenate_matches_torch(torch, axis):
    xs = (rand(2, 3, 4, seed=0), rand(2, 3, 4, seed=1))
    if axis == -1:
        xs = (xs[0], rand(2, 3, 2, seed=2))
    check(
        torch, layers.Concatenate(axis=axis), xs, lambda a, b: torch.cat([a, b], axis), as_list=True
    )


@pytest.mark.parametrize(
    "shapes,axes,normalize",
    [
        (((2, 3), (2, 3)), 1, False),
        (((2, 3, 5), (2, 4, 3)), (1, 2), False),
        (((2, 4, 5), (2, 4, 6)), 1, True),
        (((2, 5), (2, 3, 5)), (1, 2), False),
    ],
    ids=str,
)
def test_dot_matches_torch(torch, shapes, axes, normalize):
    xs = tuple(rand(*s, seed=k) for k, s in enumerate(shapes))
    ax, ay = axes if isinstance(axes, tuple) else (axes, axes)

    def reference(a, b):
        if normalize:
            a = torch.nn.functional.normalize(a, dim=ax)
            b = torch.nn.functional.normalize(b, dim=ay)
        a = a.movedim(ax, -1)
        b = b.movedim(ay, 1)
        a2 = a.reshape(a.shape[0], -1, a.shape[-1])
        b2 = b.reshape(b.shape[0], b.shape[1], -1)
        out = torch.bmm(a2, b2).reshape(*a.shape[:-1], *b.shape[2:])
        return out if out.ndim > 1 else out[:, None]

    check(torch, layers.Dot(axes=axes, normalize=normalize), xs, reference, as_list=True)


def test_merge_errors_name_layer_and_shapes():
    a, b = nerve.zeros(2, 3), nerve.zeros(2, 4)
    with pytest.raises(ValueError, match=r"Add layer 'plus': inputs of shapes \(2, 3\), \(2, 4\)"):
        layers.Add(name="plus")([a, b])
    with pytest.raises(ValueError, match=r"Multiply .*the batch sizes differ"):
        layers.Multiply()([a, nerve.zeros(3, 3)])
    with pytest.raises(ValueError, match=r"Subtract layer .* exactly 2 inputs, got 3"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"Maximum layer .* a list of tensors, got a single"):
        layers.Maximum()(a)
    with pytest.raises(ValueError, match=r"Concatenate .*\(2, 3\), \(3, 4\) cannot be concat"):
        layers.Concatenate()([a, nerve.zeros(3, 4)])
    with pytest.raises(ValueError, match=r"different ranks"):
        layers.Concatenate()([a, nerve.zeros(2, 3, 1)])
    with pytest.raises(ValueError, match=r"Dot .*sizes 3 \(axis 1\) and 4 \(axis 1\) differ"):
        layers.Dot(axes=1)([a, b])
    # Once built, a later call is checked as well.
    add = layers.Add()
    add([a, a])
    with pytest.raises(ValueError, match=r"\(2, 3\), \(2, 4\) cannot be added"):
        add([a, b])


# ----------------------------------------------------------------------------- BatchNormalization
def _bn_layouts():
    # (input shape, layer axis, torch module, to torch's (N, C, *) layout, back)
    return [
        ((8, 3), -1, "BatchNorm1d", lambda t: t, lambda t: t),
        ((4, 5, 3), -1, "BatchNorm1d", lambda t: t.permute(0, 2, 1), lambda t: t.permute(0, 2, 1)),
        (
            (2, 4, 5, 3),
            -1,
            "BatchNorm2d",
            lambda t: t.permute(0, 3, 1, 2),
            lambda t: t.permute(0, 2, 3, 1),
        ),
        ((2, 3, 4, 5), 1, "BatchNorm2d", lambda t: t, lambda t: t),
        ((4, 3, 6), 1, "BatchNorm1d", lambda t: t, lambda t: t),
    ]


@pytest.mark.parametrize("case", range(len(_bn_layouts())))
def test_batch_normalization_matches_torch_over_steps(torch, case):
    shape, axis, name, to_t, back = _bn_layouts()[case]
    c = shape[axis]
    layer = layers.BatchNormalization(axis=axis)
    t = getattr(torch.nn, name)(c, eps=1e-3, momentum=1 - 0.99)
    layer.build(shape)
    rng = np.random.default_rng(case)
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.normal(0, 1, c)
    layer.set_weights([gamma, beta, np.zeros(c), np.ones(c)])
    with torch.no_grad():
        t.weight.copy_(torch.tensor(gamma))
        t.bias.copy_(torch.tensor(beta))
    mean, var = np.zeros(c), np.ones(c)
    red = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    for step in range(4):
        x = (rng.normal(2.0, 3.0, shape)).astype(np.float32)
        xn = nerve.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        out = layer(xn, training=True)
        ref = back(t(to_t(xt)))
        assert_close(out, ref.detach().numpy(), rtol=1e-4, atol=1e-4, msg=f"step {step}: ")
        g = rand(*shape, seed=step)
        (out * nerve.tensor(g)).sum().backward()
        (ref * torch.tensor(g)).sum().backward()
        assert_close(xn.grad, xt.grad.numpy(), rtol=1e-3, atol=1e-4)
        assert_close(layer.gamma.grad, t.weight.grad.numpy(), rtol=1e-3, atol=1e-4)
        assert_close(layer.beta.grad, t.bias.grad.numpy(), rtol=1e-3, atol=1e-4)
        layer.gamma.grad = layer.beta.grad = t.weight.grad = t.bias.grad = None
        # Keras's update, with the biased batch variance (torch keeps the unbiased one).
        mean = mean * 0.99 + x.mean(axis=red) * 0.01
        var = var * 0.99 + x.var(axis=red) * 0.01
        assert_close(layer.moving_mean, mean.astype(np.float32), rtol=1e-5, atol=1e-6)
        assert_close(layer.moving_variance, var.astype(np.float32), rtol=1e-5, atol=1e-6)
        assert_close(layer.moving_mean, t.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    # Inference uses the moving statistics.
    x = rng.normal(0, 1, shape).astype(np.float32)
    ref = torch.nn.functional.batch_norm(
        to_t(torch.tensor(x)),
        torch.tensor(mean, dtype=torch.float32),
        torch.tensor(var, dtype=torch.float32),
        torch.tensor(gamma, dtype=torch.float32),
        torch.tensor(beta, dtype=torch.float32),
        False,
        0.0,
        1e-3,
    )
    assert_close(layer(nerve.tensor(x), training=False), back(ref).numpy(), rtol=1e-4, atol=1e-5)


def test_batch_normalization_moving_stats_match_keras(keras):
    x_steps = [rand(6, 4, seed=s) * 2 + 1 for s in range(3)]
    ours = layers.BatchNormalization(momentum=0.9)
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    for x in x_steps:
        out = ours(nerve.tensor(x), training=True)
        ref = to_numpy(theirs(x, training=True))
        assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert_close(ours.moving_mean, to_numpy(theirs.moving_mean), rtol=1e-5, atol=1e-6)
    assert_close(ours.moving_variance, to_numpy(theirs.moving_variance), rtol=1e-5, atol=1e-6)
    x = rand(3, 4, seed=9)
    ref = to_numpy(theirs(x, training=False))
    assert_close(ours(nerve.tensor(x), training=False), ref, rtol=1e-4, atol=1e-5)


def test_batch_normalization_keras_defaults():
    layer = layers.BatchNormalization()
    assert (layer.axis, layer.momentum, layer.epsilon) == (-1, 0.99, 1e-3)
    layer(nerve.tensor(rand(4, 3)), training=False)
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [n for n, _ in layer.named_parameters()] == names
    assert [w._data.tolist() for w in layer.weights] == [[1.0] * 3, [0.0] * 3, [0.0] * 3, [1.0] * 3]
    assert len(layer.trainable_weights) == 2
    assert [w.shape for w in layer.non_trainable_weights] == [(3,), (3,)]
    assert layer.non_trainable_weights[0] is layer.moving_mean
    assert layer.count_params() == 12
    assert len(layers.BatchNormalization(center=False, scale=False).get_config()) > 10


def test_batch_normalization_trainable_false_is_inference_mode():
    layer = built(layers.BatchNormalization(), rand(5, 3))
    layer.set_weights([np.full(3, 2.0), np.full(3, 0.5), np.full(3, 1.0), np.full(3, 4.0)])
    layer.trainable = False
    x = rand(5, 3, seed=1)
    before = layer.get_weights()
    out = layer(nerve.tensor(x), training=True)
    expected = 2.0 * (x - 1.0) / np.sqrt(4.0 + 1e-3) + 0.5
    assert_close(out, expected.astype(np.float32), rtol=1e-5, atol=1e-6)
    _sgd_step(layer, x)
    for a, b in zip(before, layer.get_weights()):
        assert np.array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batch_normalization_errors():
    layer = layers.BatchNormalization(name="bn")
    layer(nerve.zeros(4, 3))
    with pytest.raises(ValueError, match=r"'bn' \(BatchNormalization\).*expected.*3.*got \(4, 5\)"):
        layer(nerve.zeros(4, 5))
    with pytest.raises(ValueError, match=r"'bn'.*more than one value per feature.*\(1, 3\)"):
        layer(nerve.zeros(1, 3), training=True)
    assert layer(nerve.zeros(1, 3), training=False).shape == (1, 3)
    with pytest.raises(ValueError, match=r"axis 3 is out of range for an input of shape"):
        layers.BatchNormalization(axis=3)(nerve.zeros(2, 3))
    with pytest.raises(ValueError, match=r"synchronized=True"):
        layers.BatchNormalization(synchronized=True)


# ----------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize(
    "shape,axis,kw",
    [
        ((3, 4, 5), -1, {}),
        ((3, 4, 5), [-2, -1], {}),
        ((3, 4, 5), [1, 2], {"center": False}),
        ((6, 5), -1, {"scale": False}),
    ],
    ids=str,
)
def test_layer_normalization_matches_torch(torch, shape, axis, kw):
    x = rand(*shape)
    layer = layers.LayerNormalization(axis=axis, gamma_initializer="random_normal", **kw)
    layer.build(shape)
    layer.set_weights([w._data + rand(*w.shape, seed=7) for w in layer.weights])
    norm = shape[-1:] if axis == -1 else shape[-2:]

    def reference(xt, *ws):
        gamma = ws[0] if layer.scale else None
        beta = ws[-1] if layer.center else None
        return torch.nn.functional.layer_norm(xt, norm, gamma, beta, 1e-3)

    check(torch, layer, x, reference)


def test_layer_normalization_inner_axis_matches_torch(torch):
    x = rand(2, 3, 4)  # normalize over axis 1 (channels first): moved last for F.layer_norm
    layer = layers.LayerNormalization(axis=1, beta_initializer="random_normal")
    layer.build(x.shape)

    def reference(xt, gamma, beta):
        y = torch.nn.functional.layer_norm(xt.permute(0, 2, 1), (3,), gamma, beta, 1e-3)
        return y.permute(0, 2, 1)

    check(torch, layer, x, reference)


def test_layer_normalization_equals_nn_layernorm_module(torch):
    x = rand(4, 7)
    layer = built(layers.LayerNormalization(), x)
    t = torch.nn.LayerNorm(7, eps=1e-3)
    assert layer.epsilon == 1e-3
    assert_close(layer(nerve.tensor(x)), t(torch.tensor(x)).detach().numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"LayerNormalization\) is incompatible.*got \(4, 6\)"):
        layer(nerve.zeros(4, 6))


# ----------------------------------------------------------------------------- Embedding
def test_embedding_matches_torch(torch):
    layer = layers.Embedding(10, 4)
    ids = np.array([[1, 3, 3, 9], [0, 1, 1, 1]])
    layer.build(ids.shape)
    t = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(layer.embeddings._data))
    out = layer(nerve.tensor(ids))
    ref = t(torch.tensor(ids))
    assert_close(out, ref.detach().numpy())
    g = rand(2, 4, 4)
    (out * nerve.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    assert_close(layer.embeddings.grad, t.weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_keras_defaults_and_inputs():
    layer = layers.Embedding(1000, 16)
    layer(np.array([[1, 2]]))
    w = layer.embeddings._data
    assert w.shape == (1000, 16) and np.abs(w).max() <= 0.05 and np.abs(w).max() > 0.049
    assert abs(w.mean()) < 0.005
    assert layer.get_config()["embeddings_initializer"] == {
        "class_name": "RandomUniform",
        "config": {"minval": -0.05, "maxval": 0.05},
    }
    # Float ids are cast, as Keras does; any input rank works.
    assert_close(layer(np.array([[1.0, 2.0]])), layer(np.array([[1, 2]])))
    assert layer(np.zeros((2, 3, 4), dtype=np.int64)).shape == (2, 3, 4, 16)
    with pytest.raises(IndexError, match=r"index 1000 is out of range"):
        layer(np.array([[1000]]))
    assert layers.Embedding(5, 2, input_length=7).get_config()["batch_input_shape"] == [None, 7]
    assert layer.compute_mask(np.array([[1, 0]])) is None


def test_embedding_mask_zero_computes_mask():
    layer = layers.Embedding(5, 3, mask_zero=True)
    ids = np.array([[1, 2, 0, 0], [3, 0, 4, 0]])
    layer(ids)
    assert layer.compute_mask(ids).tolist() == (ids != 0).tolist()


@needs_mask_lookup
def test_mask_zero_propagates_through_layers():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    emb = layers.Embedding(5, 4, mask_zero=True)
    h = emb(nerve.tensor(ids))
    for layer in (
        layers.Dense(6),
        layers.Activation("tanh"),
        layers.Dropout(0.2),
        layers.LayerNormalization(),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Identity(),
    ):
        h = layer(h)
        assert get_mask(h) is not None, type(layer).__name__
        assert get_mask(h).tolist() == (ids != 0).tolist()
    # Softmax over the time axis gives masked steps probability 0.
    p = layers.Softmax(axis=1)(layers.Dense(1)(h))
    assert np.all(p._data[ids == 0] == 0)
    assert_close(p._data.sum(axis=1), np.ones((2, 1), np.float32), rtol=1e-5)
    # Merges: the or of the masks; Flatten does not keep one.
    other = layers.Embedding(5, 6, mask_zero=True)(nerve.tensor(np.array([[1, 0, 2], [0, 0, 0]])))
    merged = layers.Add()([h, other])
    assert get_mask(merged).tolist() == [[True, True, True], [True, False, False]]
    assert get_mask(layers.Flatten()(h)) is None


# ----------------------------------------------------------------------------- Keras itself
KERAS_DEFAULTS = [
    ("Dense", {"units": 3}),
    ("Activation", {"activation": "relu"}),
    ("Dropout", {"rate": 0.5}),
    ("Flatten", {}),
    ("Reshape", {"target_shape": (2,)}),
    ("Permute", {"dims": (1,)}),
    ("RepeatVector", {"n": 2}),
    ("ReLU", {}),
    ("LeakyReLU", {}),
    ("ELU", {}),
    ("Softmax", {}),
    ("PReLU", {}),
    ("BatchNormalization", {}),
    ("LayerNormalization", {}),
    ("Embedding", {"input_dim": 3, "output_dim": 2}),
    ("Concatenate", {}),
    ("Dot", {"axes": 1}),
    ("Add", {}),
    ("Identity", {}),
]


def _plain(value):
    """A config value without Keras's bookkeeping (module names, None seeds, tuples)."""
    if isinstance(value, dict):
        if "class_name" in value:
            config = {k: v for k, v in value.get("config", {}).items() if v is not None}
            return (value["class_name"], _plain(config))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize("name,kw", KERAS_DEFAULTS, ids=lambda v: str(v))
def test_config_defaults_equal_keras(keras, name, kw):
    ours = getattr(layers, name)(**kw).get_config()
    theirs = getattr(keras.layers, name)(**kw).get_config()
    for key in set(ours) & set(theirs) - {"name", "dtype", "trainable"}:
        assert _plain(ours[key]) == _plain(theirs[key]), f"{name}.{key}"
    # What Keras 3.15 has and nerve leaves out: quantization and batch renormalization.
    left_out = {"quantization_config", "renorm", "renorm_clipping", "renorm_momentum"}
    assert set(theirs) - set(ours) <= left_out | {"rms_scaling"}


KERAS_FORWARD = [
    ("ReLU", {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.3}, [(2, 3, 4)]),
    ("LeakyReLU", {}, [(2, 3, 4)]),
    ("ELU", {"alpha": 0.7}, [(2, 3, 4)]),
    ("Softmax", {"axis": 1}, [(2, 3, 4)]),
    ("Flatten", {"data_format": "channels_first"}, [(2, 3, 4, 5)]),
    ("Permute", {"dims": (3, 1, 2)}, [(2, 3, 4, 5)]),
    ("Reshape", {"target_shape": (-1, 3)}, [(2, 3, 4)]),
    ("RepeatVector", {"n": 3}, [(2, 4)]),
    ("Dense", {"units": 3, "activation": "relu"}, [(2, 5, 4)]),
    ("PReLU", {"alpha_initializer": "random_uniform", "shared_axes": [1]}, [(2, 3, 4)]),
    ("LayerNormalization", {"gamma_initializer": "random_normal"}, [(2, 3, 4)]),
    ("LayerNormalization", {"axis": [1, 2], "beta_initializer": "random_normal"}, [(2, 3, 4)]),
    ("BatchNormalization", {"axis": 1}, [(4, 3, 5)]),
    ("Add", {}, [(2, 3, 4), (2, 1, 4)]),
    ("Average", {}, [(2, 3), (2, 3), (2, 3)]),
    ("Maximum", {}, [(2, 3), (2, 3)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4)]),
    ("Dot", {"axes": (1, 2)}, [(2, 3, 5), (2, 4, 3)]),
    ("Dot", {"axes": 1, "normalize": True}, [(2, 4), (2, 4)]),
]


@pytest.mark.parametrize("name,kw,shapes", KERAS_FORWARD, ids=lambda v: str(v))
def test_forward_equals_keras(keras, name, kw, shapes):
    xs = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    ours = getattr(layers, name)(**kw)
    theirs = getattr(keras.layers, name)(**kw)
    arg = xs if len(xs) > 1 else xs[0]
    ref = theirs(arg, training=True) if name == "BatchNormalization" else theirs(arg)
    ours.build([x.shape for x in xs] if len(xs) > 1 else xs[0].shape)
    if ours.weights:
        ours.set_weights([to_numpy(w) for w in theirs.weights])
    ours_arg = [nerve.tensor(x) for x in xs] if len(xs) > 1 else nerve.tensor(xs[0])
    out = ours(ours_arg, training=True) if name == "BatchNormalization" else ours(ours_arg)
    assert_close(out, to_numpy(ref), rtol=1e-5, atol=1e-5)
