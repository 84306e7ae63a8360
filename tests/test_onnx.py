"""nerve.onnx.export: every layer and a few whole models, run by onnxruntime at two batch sizes
and compared with nerve's own outputs."""

import os
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nerve  # noqa: E402
from nerve import layers, models, nn  # noqa: E402
from nerve.onnx import ExportError, export  # noqa: E402

RTOL = ATOL = 1e-5


def _rand(*shape):
    return np.random.randn(*shape).astype(np.float32)


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [] if out is None else [np.asarray(out._data)]


def _nerve(model, xs):
    model.eval()
    if isinstance(model, models.Model) and len(xs) > 1:
        return _flat(model([nerve.Tensor(x) for x in xs]))
    return _flat(model(*[nerve.Tensor(x) for x in xs]))


def check_export(model, make_input, tmp_path, batches=(2, 5), atol=ATOL, **kwargs):
    """Export with a batch of ``batches[0]``, then compare onnxruntime and nerve on fresh random
    inputs at every batch size; returns the ONNX model."""
    path = str(tmp_path / "model.onnx")
    example = make_input(batches[0])
    assert export(model, example, path, **kwargs) == path
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for n in batches:
        xs = make_input(n)
        xs = xs if isinstance(xs, tuple) else (xs,)
        got = session.run(None, dict(zip(names, xs)))
        want = _nerve(model, xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=atol)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []
    return proto


def _eval_bn(module, x):
    """Give batch norms non-trivial running statistics (a few training steps)."""
    module.train()
    with nerve.no_grad():
        for _ in range(3):
            module(nerve.Tensor(x * 2 + 0.5))
    module.eval()
    return module


# ----------------------------------------------------------------------------- nn modules
NN_CASES = {
    "linear": (lambda: nn.Linear(6, 4), (6,)),
    "linear_3d_no_bias": (lambda: nn.Linear(6, 4, bias=False), (3, 6)),
    "relu": (nn.ReLU, (7,)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), (7,)),
    "elu": (lambda: nn.ELU(0.7), (7,)),
    "selu": (nn.SELU, (7,)),
    "gelu": (nn.GELU, (7,)),
    "gelu_tanh": (lambda: nn.GELU("tanh"), (7,)),
    "silu": (nn.SiLU, (7,)),
    "sigmoid": (nn.Sigmoid, (7,)),
    "tanh": (nn.Tanh, (7,)),
    "softmax": (lambda: nn.Softmax(dim=-1), (3, 7)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=1), (7,)),
    "softplus": (lambda: nn.Softplus(beta=2.0, threshold=1.0), (7,)),
    "dropout": (lambda: nn.Dropout(0.5), (7,)),
    "identity": (nn.Identity, (7,)),
    "flatten": (nn.Flatten, (2, 3, 4)),
    "unflatten": (lambda: nn.Unflatten(1, (2, 6)), (12,)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (3, 11)),
    "conv1d_same": (lambda: nn.Conv1d(3, 4, 4, padding="same", dilation=2), (3, 11)),
    "conv2d": (lambda: nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(1, 2), groups=2), (4, 9, 8)),
    "conv2d_dilated": (lambda: nn.Conv2d(2, 3, 3, dilation=2, bias=False), (2, 9, 9)),
    "conv_transpose2d": (
        lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        (4, 5, 6),
    ),
    "max_pool2d": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (3, 9, 8)),
    "avg_pool2d": (lambda: nn.AvgPool2d(2), (3, 8, 8)),
    "avg_pool2d_pad": (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (3, 7, 7)),
    "adaptive_avg_pool2d_1": (lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 7)),
    "adaptive_avg_pool2d_2": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (3, 4, 6)),
    "batch_norm1d": (lambda: nn.BatchNorm1d(5), (5,)),
    "batch_norm1d_3d": (lambda: nn.BatchNorm1d(5, affine=False), (5, 4)),
    "batch_norm2d": (lambda: nn.BatchNorm2d(3), (3, 4, 4)),
    "layer_norm": (lambda: nn.LayerNorm((3, 4)), (3, 4)),
    "layer_norm_no_bias": (lambda: nn.LayerNorm(4, bias=False), (2, 4)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (4, 3, 3)),
    "rnn": (lambda: nn.RNN(3, 5, batch_first=True, nonlinearity="relu"), (4, 3)),
    "lstm": (lambda: nn.LSTM(3, 5, batch_first=True), (4, 3)),
    "lstm_2layer_bi": (lambda: nn.LSTM(3, 5, 2, batch_first=True, bidirectional=True), (4, 3)),
    "gru": (lambda: nn.GRU(3, 5, batch_first=True), (4, 3)),
    "gru_bi_no_bias": (
        lambda: nn.GRU(3, 5, batch_first=True, bidirectional=True, bias=False),
        (4, 3),
    ),
    "transformer_encoder_layer": (
        lambda: nn.TransformerEncoderLayer(8, 2, 16, batch_first=True),
        (5, 8),
    ),
    "transformer_encoder_layer_norm_first_gelu": (
        lambda: nn.TransformerEncoderLayer(
            8, 2, 16, activation="gelu", batch_first=True, norm_first=True
        ),
        (5, 8),
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(NN_CASES))
def test_nn_module(case, tmp_path):
    make, shape = NN_CASES[case]
    module = make()
    if "norm" in case and "layer" not in case:
        _eval_bn(module, _rand(8, *shape))
    check_export(module, lambda n: _rand(n, *shape), tmp_path)


def test_time_major_modules_take_batch_axis_1(tmp_path):
    lstm = nn.LSTM(3, 4, num_layers=2)
    check_export(lstm, lambda n: _rand(6, n, 3), tmp_path, dynamic_batch=1)
    mha = nn.MultiheadAttention(8, 2)
    check_export(mha, lambda n: (_rand(5, n, 8), _rand(4, n, 8), _rand(4, n, 8)), tmp_path,
                 dynamic_batch=1)  # fmt: skip
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8))
    check_export(encoder, lambda n: _rand(5, n, 8), tmp_path, dynamic_batch=1)


def test_multihead_attention_batch_first_and_causal(tmp_path):
    mha = nn.MultiheadAttention(8, 4, batch_first=True, kdim=6, vdim=5)
    check_export(mha, lambda n: (_rand(n, 3, 8), _rand(n, 4, 6), _rand(n, 4, 5)), tmp_path)

    class Causal(nn.Module):  # a custom module made exportable by registering a converter
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False, is_causal=True)[0]

    from nerve.onnx import CONVERTERS, converter
    from nerve.onnx.convert_nn import _multihead_attention
    from nerve.onnx.registry import Call

    @converter(Causal)
    def _causal(g, c):
        inner = Call(c.module.attn, (c.x, c.x, c.x), {"is_causal": True}, [c.out, None], c.prefix)
        return _multihead_attention(g, inner)[0]

    try:
        check_export(Causal(), lambda n: _rand(n, 5, 8), tmp_path)
    finally:
        del CONVERTERS[Causal]


def test_embedding_takes_integer_ids(tmp_path):
    net = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    proto = check_export(net, lambda n: np.random.randint(0, 10, (n, 3)), tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


# ----------------------------------------------------------------------------- Keras layers
KERAS_CASES = {
    "dense": (lambda: layers.Dense(4, activation="relu"), (6,)),
    "dense_3d": (lambda: layers.Dense(4, activation="gelu", use_bias=False), (3, 6)),
    "activation_softmax": (lambda: layers.Activation("softmax"), (5,)),
    "activation_selu": (lambda: layers.Activation("selu"), (5,)),
    "activation_swish": (lambda: layers.Activation("swish"), (5,)),
    "activation_softplus": (lambda: layers.Activation("softplus"), (5,)),
    "activation_hard_sigmoid": (lambda: layers.Activation("hard_sigmoid"), (5,)),
    "activation_tanh_sigmoid_elu": (lambda: layers.Dense(3, activation="elu"), (5,)),
    "relu_options": (lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), (9,)),
    "leaky_relu": (layers.LeakyReLU, (9,)),
    "elu": (lambda: layers.ELU(0.5), (9,)),
    "softmax": (lambda: layers.Softmax(axis=1), (4, 3)),
    "prelu": (lambda: layers.PReLU(alpha_initializer="random_normal", shared_axes=(1,)), (4, 3)),
    "dropout": (lambda: layers.Dropout(0.5), (5,)),
    "flatten": (layers.Flatten, (2, 3, 4)),
    "flatten_channels_first": (lambda: layers.Flatten(data_format="channels_first"), (2, 3, 4)),
    "reshape": (lambda: layers.Reshape((3, -1)), (12,)),
    "permute": (lambda: layers.Permute((2, 1)), (3, 4)),
    "repeat_vector": (lambda: layers.RepeatVector(3), (4,)),
    "conv1d_causal": (lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2), (9, 3)),
    "conv1d_same_strided": (lambda: layers.Conv1D(4, 4, strides=2, padding="same"), (9, 3)),
    "conv2d_same_strided": (
        lambda: layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        (9, 8, 3),
    ),
    "conv2d_groups": (lambda: layers.Conv2D(4, (3, 2), groups=2), (7, 6, 4)),
    "conv2d_channels_first": (lambda: layers.Conv2D(4, 3, data_format="channels_first"), (3, 6, 6)),
    "conv2d_transpose": (
        lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        (5, 4, 2),
    ),
    "conv2d_transpose_valid": (
        lambda: layers.Conv2DTranspose(3, 3, strides=2, output_padding=1),
        (5, 4, 2),
    ),
    "depthwise_conv2d": (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (6, 6, 3)),
    "separable_conv2d": (lambda: layers.SeparableConv2D(5, 3, padding="same"), (6, 6, 3)),
    "max_pooling2d_same": (lambda: layers.MaxPooling2D(2, padding="same"), (5, 7, 3)),
    "average_pooling2d_same": (lambda: layers.AveragePooling2D(3, 2, padding="same"), (5, 7, 3)),
    "max_pooling1d": (layers.MaxPooling1D, (8, 3)),
    "average_pooling1d": (layers.AveragePooling1D, (8, 3)),
    "global_average_pooling2d": (layers.GlobalAveragePooling2D, (4, 5, 3)),
    "global_max_pooling2d_keepdims": (
        lambda: layers.GlobalMaxPooling2D(keepdims=True),
        (4, 5, 3),
    ),
    "global_average_pooling1d": (layers.GlobalAveragePooling1D, (4, 3)),
    "global_max_pooling1d": (layers.GlobalMaxPooling1D, (4, 3)),
    "batch_normalization": (layers.BatchNormalization, (4, 4, 3)),
    "batch_normalization_axis1": (lambda: layers.BatchNormalization(axis=1), (3, 4)),
    "layer_normalization": (layers.LayerNormalization, (4, 6)),
    "layer_normalization_axes": (lambda: layers.LayerNormalization(axis=[1]), (4, 6)),
    "embedding": (lambda: layers.Embedding(10, 4), None),
    "simple_rnn": (lambda: layers.SimpleRNN(5, return_sequences=True), (6, 3)),
    "lstm": (lambda: layers.LSTM(5), (6, 3)),
    "lstm_states": (lambda: layers.LSTM(5, return_sequences=True, return_state=True), (6, 3)),
    "gru": (lambda: layers.GRU(5, return_state=True), (6, 3)),
    "gru_backwards": (lambda: layers.GRU(5, return_sequences=True, go_backwards=True), (6, 3)),
}


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_keras_layer(case, tmp_path):
    make, shape = KERAS_CASES[case]
    layer = make()
    if shape is None:  # integer ids
        inp = layers.Input((5,), dtype="int64")
        model = models.Model(inp, layer(inp))
        check_export(model, lambda n: np.random.randint(0, 10, (n, 5)), tmp_path)
        return
    inp = layers.Input(shape)
    out = layer(inp)
    model = models.Model(inp, out)
    if "normalization" in case:
        _eval_bn(model, _rand(8, *shape))
    check_export(model, lambda n: _rand(n, *shape), tmp_path)


def test_keras_merge_layers_and_attention(tmp_path):
    a, b = layers.Input((4, 6)), layers.Input((6,))
    outs = [
        layers.Add()([a, b]),
        layers.Subtract()([a, b]),
        layers.Multiply()([a, a]),
        layers.Average()([a, b, a]),
        layers.Maximum()([a, b]),
        layers.Minimum()([a, b]),
        layers.Concatenate(axis=1)([a, a]),
        layers.MultiHeadAttention(2, 3, value_dim=4)(a, a, use_causal_mask=True),
        *layers.MultiHeadAttention(3, 2)(a, a, return_attention_scores=True),
        layers.MultiHeadAttention(2, 3, output_shape=(2, 5))(a, a, key=a),
    ]
    model = models.Model([a, b], outs)
    proto = check_export(model, lambda n: (_rand(n, 4, 6), _rand(n, 6)), tmp_path)
    assert len(proto.graph.output) == len(outs)


def test_preprocessing_layers(tmp_path):
    norm = layers.Normalization()
    norm.adapt(_rand(50, 4, 4, 3) * 3 + 1)
    inp = layers.Input((4, 4, 3))
    x = layers.RandomFlip()(inp)
    x = layers.RandomRotation(0.2)(x)
    x = layers.Rescaling(0.5, offset=0.1)(x)
    outs = [norm(x), layers.Normalization(mean=1.0, variance=4.0, invert=True)(x)]
    model = models.Model(inp, outs)
    check_export(model, lambda n: _rand(n, 4, 4, 3), tmp_path)


def test_every_layer_class_has_a_converter_or_a_reason():
    """A new module or layer class fails here until it gets a converter or a NOT_EXPORTABLE
    entry (the class-keyed twin of the op registry's coverage test)."""
    import inspect

    from nerve.onnx import CONVERTERS
    from nerve.onnx.registry import NOT_EXPORTABLE, TRACED

    # TRACED: classes exported by tracing their forward() (nn.Module, layers.Layer: a custom
    # module or layer; test_onnx_trace.py covers them)
    walked = {nn.Sequential, models.Sequential, models.Model} | TRACED
    missing = [
        f"{mod.__name__}.{name}"
        for mod in (nn, layers)
        for name, cls in vars(mod).items()
        if inspect.isclass(cls) and issubclass(cls, nn.Module)
        if cls not in CONVERTERS and cls not in NOT_EXPORTABLE and cls not in walked
    ]
    assert missing == []
    assert all(isinstance(why, str) and why for why in NOT_EXPORTABLE.values())


# ----------------------------------------------------------------------------- whole models
def test_mlp(tmp_path):
    net = nn.Sequential(
        nn.Linear(20, 32), nn.GELU(), nn.Dropout(0.2), nn.Linear(32, 16), nn.SiLU(),
        nn.Linear(16, 5), nn.Softmax(dim=1),
    )  # fmt: skip
    proto = check_export(net, lambda n: _rand(n, 20), tmp_path, batches=(1, 7))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 20
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    check_export(models.Model.from_module(net), lambda n: _rand(n, 20), tmp_path)


def test_cnn_with_batch_norm(tmp_path):
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )  # fmt: skip
    _eval_bn(net, _rand(16, 1, 12, 12))
    check_export(net, lambda n: _rand(n, 1, 12, 12), tmp_path)


def test_keras_cnn_with_batch_norm(tmp_path):
    model = models.Sequential([
        layers.Input((12, 12, 1)), layers.Conv2D(8, 3, padding="same"),
        layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"), layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3), layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    _eval_bn(model, _rand(16, 12, 12, 1))
    check_export(model, lambda n: _rand(n, 12, 12, 1), tmp_path)


def test_lstm_classifier(tmp_path):
    model = models.Sequential([
        layers.Input((7,), dtype="int64"), layers.Embedding(20, 8),
        layers.LSTM(12, return_sequences=True), layers.LSTM(6), layers.Dense(3),
    ])  # fmt: skip
    check_export(model, lambda n: np.random.randint(0, 20, (n, 7)), tmp_path)


def test_transformer_encoder_classifier(tmp_path):
    net = nn.Sequential(
        nn.Linear(4, 16),
        nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True), 2),
        nn.Flatten(), nn.Linear(6 * 16, 3), nn.LogSoftmax(dim=-1),
    )  # fmt: skip
    check_export(net, lambda n: _rand(n, 6, 4), tmp_path)


def test_keras_transformer_classifier(tmp_path):
    inp = layers.Input((6, 8))
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([inp, att]))
    ff = layers.Dense(8)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ff]))
    out = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    model = models.Model(inp, out)
    check_export(model, lambda n: _rand(n, 6, 8), tmp_path)


# ----------------------------------------------------------------------------- options, errors
def test_names_static_batch_and_opset(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2))
    path = str(tmp_path / "m.onnx")
    export(net, _rand(4, 3), path, opset=18, dynamic_batch=False, input_names=["x"],
           output_names="y")  # fmt: skip
    proto = onnx.load(path)
    assert proto.opset_import[0].version == 18
    assert [i.name for i in proto.graph.input] == ["x"]
    assert [o.name for o in proto.graph.output] == ["y"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


def test_output_name_equal_to_a_layer_name(tmp_path):
    inp = layers.Input((3,))
    out = layers.Dense(2, name="logits")(layers.Dense(4, name="hidden")(inp))
    model = models.Model(inp, out)
    proto = check_export(model, lambda n: _rand(n, 3), tmp_path)
    assert [o.name for o in proto.graph.output] == ["logits"]
    proto = check_export(model, lambda n: _rand(n, 3), tmp_path, output_names=["hidden"])
    assert [o.name for o in proto.graph.output] == ["hidden"]


def test_overwrites_atomically(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export(nn.Linear(3, 2), _rand(1, 3), path)
    assert onnx.load(str(path)).graph.node
    with pytest.raises(OSError):
        export(nn.Linear(3, 2), _rand(1, 3), tmp_path / "missing" / "m.onnx")
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


def test_custom_module_inside_sequential_is_traced(tmp_path):
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x) * 2

    net = nn.Sequential(nn.Linear(3, 3), Custom())
    check_export(net, lambda n: _rand(n, 3), tmp_path)


def test_unsupported_modules_are_named(tmp_path):
    with pytest.raises(ExportError, match="Bilinear 'bilinear' cannot be exported.*einsum"):
        export(nn.Bilinear(2, 2, 2), (_rand(1, 2), _rand(1, 2)), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="CrossEntropyLoss '1'.*not part of an inference"):
        export(nn.Sequential(nn.Linear(3, 3), nn.CrossEntropyLoss()), _rand(1, 3), tmp_path)
    inp = layers.Input((3,))
    lam = models.Model(inp, layers.Lambda(lambda t: t * 2, name="double")(inp))
    with pytest.raises(ExportError, match="Lambda 'double'.*arbitrary Python"):
        export(lam, _rand(1, 3), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="mask_zero"):
        model = models.Sequential([layers.Input((3,)), layers.Embedding(5, 2, mask_zero=True)])
        export(model, np.ones((1, 3), np.int64), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="divisor_override"):
        export(nn.AvgPool2d(2, divisor_override=3), _rand(1, 1, 4, 4), tmp_path / "m.onnx")
    assert not os.path.exists(tmp_path / "m.onnx")


def test_bad_arguments(tmp_path):
    net = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset"):
        export(net, _rand(1, 3), tmp_path / "m.onnx", opset=11)
    with pytest.raises(ValueError, match="calibration_data"):
        export(net, _rand(1, 3), tmp_path / "m.onnx", quantize="int8")
    with pytest.raises(ValueError, match="quantize"):
        export(net, _rand(1, 3), tmp_path / "m.onnx", quantize="int4")
    with pytest.raises(ValueError, match="output_names"):
        export(net, _rand(1, 3), tmp_path / "m.onnx", output_names=["a", "b"])
    with pytest.raises(ValueError, match="batch axis 3"):
        export(net, _rand(1, 3), tmp_path / "m.onnx", dynamic_batch=3)


def test_training_flags_are_restored(tmp_path):
    net = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    net.train()
    net[0].eval()
    export(net, _rand(2, 3), tmp_path / "m.onnx")
    assert net.training and not net[0].training and net[1].training


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install nerve\[onnx\]"):
        export(nn.Linear(3, 2), _rand(1, 3), tmp_path / "m.onnx")


# ----------------------------------------------------------------------------- int8
def test_int8_export_stays_close_to_float(tmp_path):
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 6 * 6, 10),
    )  # fmt: skip
    _eval_bn(net, _rand(16, 1, 12, 12))
    calibration = _rand(64, 1, 12, 12)
    path = str(tmp_path / "int8.onnx")
    export(net, calibration[:1], path, quantize="int8", calibration_data=calibration)
    proto = onnx.load(path)
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    int8_weights = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8_weights
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = _rand(32, 1, 12, 12)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = net(nerve.Tensor(x))._data
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.9
    assert sorted(os.listdir(tmp_path)) == ["int8.onnx"]


def test_quantized_nerve_models_export_as_qdq(tmp_path):
    from nerve.quantization import quantize

    # 7-bit weights: onnxruntime's fused int8 kernels saturate on full-range weights on x86
    # CPUs without VNNI (the QDQ graph itself is exact, see below). An activation that rounds
    # the other way (int32 accumulation vs nerve's float32) moves an output by about 1e-3.
    step = 2e-3
    net = nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(150, 4),
    )  # fmt: skip
    qnet = quantize(net, _rand(32, 2, 5, 5), reduce_range=True)
    proto = check_export(qnet, lambda n: _rand(n, 2, 5, 5), tmp_path, atol=step)
    assert any(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer)
    model = models.Sequential([
        layers.Input((6, 6, 2)), layers.Conv2D(4, 3, activation="relu"),
        layers.Flatten(), layers.Dense(3, activation="tanh"),
    ])  # fmt: skip
    qmodel = quantize(model, _rand(32, 6, 6, 2), per_channel=False, reduce_range=True)
    check_export(qmodel, lambda n: _rand(n, 6, 6, 2), tmp_path, atol=step)
    seq = models.Sequential([layers.Input((7, 3)), layers.Conv1D(4, 3, padding="same")])
    qseq = quantize(seq, _rand(16, 7, 3), reduce_range=True)
    check_export(qseq, lambda n: _rand(n, 7, 3), tmp_path, atol=step)
    conv1d = nn.Sequential(nn.Conv1d(3, 4, 3, padding="same"))
    qconv1d = quantize(conv1d, _rand(16, 3, 7), reduce_range=True)
    check_export(qconv1d, lambda n: _rand(n, 3, 7), tmp_path, atol=step)
    # full-range weights: the graph, run op by op, is nerve's quantized model exactly
    qnet = quantize(net, _rand(32, 2, 5, 5))
    path = str(tmp_path / "full.onnx")
    export(qnet, _rand(1, 2, 5, 5), path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    x = _rand(6, 2, 5, 5)
    got = session.run(None, {"input": x})[0]
    np.testing.assert_allclose(got, _nerve(qnet, (x,))[0], rtol=RTOL, atol=ATOL)
