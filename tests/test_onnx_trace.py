"""nerve.onnx.export on PyTorch-style models with their own forward(), as torch.onnx.export users
write it: traced op by op, then run by onnxruntime at two batch sizes and compared with nerve."""

import io
import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nerve  # noqa: E402
import nerve.nn.functional as F  # noqa: E402
from nerve import layers, models, nn  # noqa: E402
from nerve.onnx import ExportError, export  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


def _rand(*shape):
    return np.random.randn(*shape).astype(np.float32)


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    if isinstance(out, dict):
        return [a for o in out.values() for a in _flat(o)]
    return [] if out is None else [np.asarray(out._data)]


def run_both(model, path, xs):
    """onnxruntime's and nerve's outputs on the inputs ``xs`` (a tuple of arrays)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, dict(zip(names, xs)))
    model.eval()
    with nerve.no_grad():
        want = _flat(model(*[nerve.Tensor(x) for x in xs]))
    return got, want


def check(model, make_input, tmp_path, batches=(2, 5), atol=ATOL, **kwargs):
    """Export with a batch of ``batches[0]`` (torch's call: a tuple of Tensors), then compare
    onnxruntime and nerve on fresh inputs at every batch size; returns the ONNX model."""
    path = tmp_path / "model.onnx"
    example = make_input(batches[0])
    example = example if isinstance(example, tuple) else (example,)
    export(model, tuple(nerve.Tensor(x) for x in example), str(path), **kwargs)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    for n in batches:
        xs = make_input(n)
        got, want = run_both(model, path, xs if isinstance(xs, tuple) else (xs,))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=atol)
    return proto


# ----------------------------------------------------------------------------- tutorial models
def mnist_forward(F):  # noqa: N803  (the name tutorials give it)
    """The example's forward() over the functional module ``F`` (nerve's or torch's)."""

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)

    return forward


class MnistNet(nn.Module):
    """The PyTorch MNIST example's network, as written there."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    forward = mnist_forward(F)


def test_mnist_net_with_dynamic_axes(tmp_path):
    net = MnistNet()
    net.train()  # exported in eval mode all the same, as torch does; the flag is kept
    export(net, nerve.Tensor(_rand(1, 1, 28, 28)), tmp_path / "first.onnx")
    assert net.training and net.conv2_drop.training
    proto = check(
        net,
        lambda n: _rand(n, 1, 28, 28),
        tmp_path,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}},
    )
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch_size", 1, 28, 28]
    out = proto.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in out] == ["batch_size", 10]
    ops = [node.op_type for node in proto.graph.node]
    assert "Dropout" not in ops and ops.count("Conv") == 2 and "LogSoftmax" in ops


def test_mnist_net_matches_torch_through_onnxruntime(torch, tmp_path):
    """The same source text on both frameworks, torch's weights loaded into nerve: the exported
    file gives torch's numbers."""
    tnn, tF = torch.nn, torch.nn.functional

    class TorchNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = tnn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = tnn.Dropout2d()
            self.fc1 = tnn.Linear(320, 50)
            self.fc2 = tnn.Linear(50, 10)

        forward = mnist_forward(tF)

    torch_net = TorchNet().eval()
    net = MnistNet()
    net.load_state_dict({k: v.detach().numpy() for k, v in torch_net.state_dict().items()})
    x = _rand(3, 1, 28, 28)
    want = torch_net(torch.from_numpy(x)).detach().numpy()
    path = export(net, (nerve.Tensor(x[:1]),), tmp_path / "m.onnx", dynamic_axes={"input": [0]})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": x})[0], want, rtol=1e-4, atol=1e-5)


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block (a projection shortcut when the shape changes)."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        x = self.layer2(self.layer1(F.relu(self.stem(x))))
        x = torch_flatten(self.pool(x))
        return self.fc(x)


def torch_flatten(x):
    return nerve.flatten(x, 1)


def _warm_batch_norms(model, x):
    model.train()
    with nerve.no_grad():
        for _ in range(3):
            model(nerve.Tensor(x * 2 + 0.5))
    model.eval()


def test_residual_network(tmp_path):
    net = TinyResNet()
    _warm_batch_norms(net, _rand(4, 3, 12, 12))
    proto = check(net, lambda n: _rand(n, 3, 12, 12), tmp_path)
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("BatchNormalization") == 5 and ops.count("Add") >= 2


class InplaceBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        out = self.fc(x)
        out += x
        return F.relu(out)


def test_inplace_residual_is_traced_or_refused_clearly(tmp_path):
    """``out += identity`` is exact when tensor.py reports in-place updates to the tracer
    (registry.trace_inplace); until then the export refuses it with a clear message, never a
    wrong graph."""
    net = InplaceBlock()
    try:
        export(net, (nerve.Tensor(_rand(2, 4)),), tmp_path / "m.onnx")
    except ExportError as exc:
        assert "changed in place" in str(exc) and "out = out + identity" in str(exc)
        return
    for n in (2, 3):
        got, want = run_both(net, tmp_path / "m.onnx", (_rand(n, 4),))
        np.testing.assert_allclose(got[0], want[0], rtol=RTOL, atol=ATOL)


class ReportedInplace(nn.Module):
    """What Tensor.__iadd__ / __imul__ do once they report to the tracer
    (registry.trace_inplace), spelled out on the arrays."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        from nerve.autograd.registry import trace_inplace

        out = self.fc(x)
        np.add(out._data, x._data, out=out._data)
        trace_inplace("add", out, x)
        np.multiply(out._data, 3.0, out=out._data, casting="same_kind")
        trace_inplace("mul", out, 3.0)
        return F.relu(out)


def test_inplace_updates_reported_to_the_tracer_are_exact(tmp_path):
    check(ReportedInplace(), lambda n: _rand(n, 4), tmp_path)


class LSTMClassifier(nn.Module):
    def __init__(self, vocab=20, embed=8, hidden=12, classes=3, cell="lstm", **rnn_kwargs):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(embed, hidden, batch_first=True, **rnn_kwargs)
        self.fc = nn.Linear(hidden * (2 if rnn_kwargs.get("bidirectional") else 1), classes)

    def forward(self, tokens):
        out, _ = self.rnn(self.embedding(tokens))
        return self.fc(out[:, -1, :])


def _tokens(n, length=7):
    return np.random.randint(0, 20, size=(n, length)).astype(np.int64)


@pytest.mark.parametrize(
    "cell, kwargs",
    [
        ("lstm", {}),
        ("lstm", {"num_layers": 2, "bidirectional": True}),
        ("gru", {}),
        ("rnn", {"nonlinearity": "relu"}),
    ],
)
def test_recurrent_classifier(cell, kwargs, tmp_path):
    net = LSTMClassifier(cell=cell, **kwargs)
    proto = check(net, _tokens, tmp_path)
    ops = {node.op_type for node in proto.graph.node}
    assert {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell] in ops
    assert "Gather" in ops  # the embedding


def test_dynamic_batch_and_sequence_length(tmp_path):
    net = LSTMClassifier(cell="gru")
    path = tmp_path / "m.onnx"
    export(
        net,
        (nerve.Tensor(_tokens(2, 7)),),
        path,
        input_names=["tokens"],
        dynamic_axes={"tokens": {0: "batch", 1: "seq"}},
    )
    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "seq"]
    for n, length in ((1, 3), (4, 11)):
        got, want = run_both(net, path, (_tokens(n, length),))
        np.testing.assert_allclose(got[0], want[0], rtol=RTOL, atol=ATOL)


class TutorialLSTM(nn.Module):
    """The tutorial pattern: initial states made in forward() from the batch size."""

    def __init__(self, hidden=16, layers=2):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.lstm = nn.LSTM(28, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, 10)

    def forward(self, x):
        h0 = nerve.zeros(self.layers, x.size(0), self.hidden)
        c0 = nerve.zeros(self.layers, x.size(0), self.hidden)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


def test_lstm_with_initial_states_made_in_forward(tmp_path):
    proto = check(TutorialLSTM(), lambda n: _rand(n, 6, 28), tmp_path)
    assert "ConstantOfShape" in {node.op_type for node in proto.graph.node}


class TransformerClassifier(nn.Module):
    def __init__(self, vocab=30, d=16, classes=3, max_len=12):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.register_buffer("pe", nerve.randn(1, max_len, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, 2, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(d, classes)

    def forward(self, tokens):
        x = self.embed(tokens) * math.sqrt(16) + self.pe[:, : tokens.size(1)]
        x = self.encoder(x)
        return self.head(x.mean(dim=1))


def test_transformer_classifier(tmp_path):
    check(TransformerClassifier(), lambda n: _tokens(n, 9), tmp_path, atol=1e-4)


class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(5, 6)
        self.b = nn.Linear(3, 6)
        self.norm = nn.LayerNorm(6)

    def forward(self, x, y):
        h = self.norm(F.gelu(self.a(x)) - torch_sigmoid(self.b(y)) / 2.0)
        both = nerve.cat([h, self.a(x)], dim=1)
        return both.mean(dim=1), nerve.softmax(h, dim=-1)


def torch_sigmoid(x):
    return nerve.sigmoid(x)


def test_two_inputs_and_named_outputs(tmp_path):
    net = TwoTower()
    proto = check(
        net,
        lambda n: (_rand(n, 5), _rand(n, 3)),
        tmp_path,
        input_names=["x", "y"],
        output_names=["score", "probs"],
    )
    assert [i.name for i in proto.graph.input] == ["x", "y"]
    assert [o.name for o in proto.graph.output] == ["score", "probs"]
    proto = export(net, (nerve.Tensor(_rand(2, 5)), nerve.Tensor(_rand(2, 3))), None,
                   input_names=["x"], output_names=["score"])  # fmt: skip
    assert [i.name for i in proto.graph.input] == ["x", "input_1"]
    assert [o.name for o in proto.graph.output] == ["score", "output_1"]


def test_dynamic_shapes_as_torch_dynamo_writes_them(torch, tmp_path):
    from torch.export import Dim

    net = TwoTower()
    batch = Dim("batch")
    example = (nerve.Tensor(_rand(2, 5)), nerve.Tensor(_rand(2, 3)))
    shapes = {"x": {0: batch}, "y": {0: batch}}
    proto = export(net, example, None, dynamic_shapes=shapes, dynamo=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    proto = export(net, example, None, dynamic_shapes=({0: "n"}, {0: "n"}))
    assert proto.graph.input[1].type.tensor_type.shape.dim[0].dim_param == "n"
    proto = export(
        MnistNet(), nerve.Tensor(_rand(1, 1, 28, 28)), None, dynamic_shapes=[{0: Dim.AUTO}]
    )
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "input_dim0"
    with pytest.raises(ExportError, match="fails when the dynamic axes grow.*same name"):
        export(net, example, None, dynamic_shapes=({0: "n"}, {0: Dim.AUTO}))
    with pytest.raises(ValueError, match=r"dynamic_shapes names \['z'\]"):
        export(net, example, None, dynamic_shapes={"z": {0: batch}})


def test_static_batch_and_torch_options(tmp_path):
    net = TwoTower()
    x, y = nerve.Tensor(_rand(3, 5)), nerve.Tensor(_rand(3, 3))
    buf = io.BytesIO()
    assert export(net, (x, y), buf, dynamic_batch=False, opset_version=18, verify=True) is buf
    proto = onnx.load_from_string(buf.getvalue())
    assert proto.opset_import[0].version == 18
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    proto = export(net, (x, y), None, keep_initializers_as_inputs=True, dynamo=False)
    names = [i.name for i in proto.graph.input]
    assert names[:2] == ["input_0", "input_1"] and len(names) == 2 + len(proto.graph.initializer)
    # a dict at the end of args holds keyword inputs, as in torch
    path = export(net, (x, {"y": y}), tmp_path / "kw.onnx", input_names=["x", "y"])
    got, want = run_both(net, path, (_rand(4, 5), _rand(4, 3)))
    np.testing.assert_allclose(got[0], want[0], rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- op coverage
class Functional(nn.Module):
    """A forward() made of functional calls and tensor methods, to cover many op forms."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(nerve.randn(6, 3, 3) * 0.3)
        self.w2 = nn.Parameter(nerve.randn(4, 6, 3, 3) * 0.3)
        self.emb = nn.Parameter(nerve.randn(10, 4))
        self.gamma = nn.Parameter(nerve.ones(4) * 1.5)

    def forward(self, x, ids):
        h = F.conv1d(x, self.w1, padding=1)  # (N, 6, L)
        h = F.avg_pool1d(F.elu(h), 2)  # (N, 6, L/2)
        img = h.unsqueeze(2).expand(-1, -1, 4, -1)  # (N, 6, 4, L/2)
        img = F.conv2d(F.pad(img, (1, 1, 1, 1)), self.w2)  # (N, 4, 4, L/2)
        img = F.adaptive_avg_pool2d(nerve.tanh(img), (2, 3))
        flat = img.permute(0, 2, 3, 1).reshape(img.shape[0], -1)  # (N, 24)
        e = F.embedding(ids, self.emb).sum(dim=1) * self.gamma  # (N, 4)
        left, right = flat.chunk(2, dim=1)
        mixed = nerve.stack([left[:, :4], right[:, 1:5], e], dim=1)  # (N, 3, 4)
        mixed = F.layer_norm(mixed, (4,)).transpose(1, 2)  # (N, 4, 3)
        gate = nerve.where(mixed > 0, mixed, mixed * 0.1).clamp(-2.0, 2.0)
        out = gate.amax(dim=2) + gate.var(dim=2) - gate.abs().max(dim=2).values
        return F.softmax(out.exp() / 3 - 1, dim=-1), nerve.sqrt(flat.square() + 1e-3)


def test_functional_forward_covers_many_ops(tmp_path):
    net = Functional()
    check(
        net,
        lambda n: (_rand(n, 3, 12), np.random.randint(0, 10, (n, 5)).astype(np.int64)),
        tmp_path,
    )


class Misc(nn.Module):
    """Pooling with padding and ceil_mode, transposed conv, group norm, attention, indexing,
    logic and rounding ops."""

    def __init__(self):
        super().__init__()
        self.wt = nn.Parameter(nerve.randn(4, 3, 3, 3) * 0.3)
        self.gn_w = nn.Parameter(nerve.randn(3))
        self.gn_b = nn.Parameter(nerve.randn(3))

    def forward(self, img, seq):
        # img (N, 4, 7, 7), seq (N, 5, 8)
        a = F.max_pool2d(img, 3, stride=2, padding=1, ceil_mode=True)  # (N, 4, 4, 4)
        b = F.avg_pool2d(img, 2, padding=1, ceil_mode=True, count_include_pad=False)
        t = F.conv_transpose2d(a, self.wt, stride=2, padding=1, output_padding=1)
        t = F.group_norm(F.silu(t), 1, self.gn_w, self.gn_b)  # (N, 3, 8, 8)
        q, k, v = seq.chunk(3, dim=2) if False else (seq, seq.flip(1), seq.roll(1, dims=2))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (N, 5, 8)
        picked = att.index_select(1, nerve.tensor([4, 0, 2]))  # (N, 3, 8)
        ranks = nerve.argsort(nerve.arange(8.0)).expand(seq.shape[0], 3, 8)
        g = nerve.gather(picked, 2, ranks)
        masked = g.masked_fill(g < 0, -1.0)
        e = nerve.einsum("nij,nkj->nik", masked, picked)  # (N, 3, 3)
        logic = nerve.logical_and(e > 0, nerve.logical_not(nerve.isnan(e))).float()
        r = nerve.cumsum(e, dim=2)
        r = r + nerve.maximum(e, 0.5) - nerve.minimum(e, -0.5) + nerve.pow(e.abs() + 1, 1.5)
        r = r + nerve.rsqrt(e.abs() + 1) + nerve.log1p(e.abs()) + F.softplus(e, beta=2.0)
        r = r + F.leaky_relu(e, 0.2) + F.elu(e) + e.repeat(1, 1, 1) * logic
        pooled = nerve.cat([a.sum(dim=(2, 3)), b.mean(dim=(2, 3)), t.norm(dim=(2, 3))], dim=1)
        return r, pooled, e.norm(p=1, dim=-1) + picked[:, 1:, ::2].sum(dim=(1, 2)).unsqueeze(1)


def test_misc_ops(tmp_path):
    check(Misc(), lambda n: (_rand(n, 4, 7, 7), _rand(n, 5, 8)), tmp_path)


class Rounding(nn.Module):
    def forward(self, x):
        r = nerve.floor_divide(x, 0.5) + nerve.remainder(x, 0.5) + nerve.round(x * 3)
        r = r + nerve.fmod(x, 0.5)
        r = r + nerve.sign(x) * nerve.frac(x) + nerve.trunc(x) + nerve.floor(x) * nerve.ceil(x)
        ints = nerve.floor_divide(x.long(), 3) + nerve.remainder(x.long(), 3)
        return r, ints


class Unary(nn.Module):
    def forward(self, x, y):
        u = x.tanh() * 0.9  # in (-1, 1) for acos / asin
        r = nerve.acos(u) + nerve.asin(u) + nerve.atan(x) + nerve.tan(u) + nerve.sinh(u)
        r = r + nerve.cosh(u) + nerve.erf(x) + nerve.reciprocal(x.abs() + 1) + nerve.exp2(u)
        r = r + nerve.expm1(u) + nerve.log2(x.abs() + 1) + nerve.log10(x.abs() + 1)
        return r + nerve.logaddexp(x, y) + nerve.atan2(y, x)


class TracedIndex(nn.Module):
    """An index tensor computed from the input (x[idx]): a Gather on the traced value."""

    def forward(self, x, ids):
        rows = x[ids % 4]  # (N, 3) ids index x's rows
        cols = x[:, nerve.tensor([2, 0])]
        return rows * 2, cols


def test_index_tensors_computed_in_forward(tmp_path):
    check(
        TracedIndex(),
        lambda n: (_rand(4, 3), np.random.randint(0, 9, size=(n,)).astype(np.int64)),
        tmp_path,
        dynamic_axes={"input_1": [0]},
        input_names=["input_0", "input_1"],
    )


def test_unary_ops(tmp_path):
    check(Unary(), lambda n: (_rand(n, 6), _rand(n, 6)), tmp_path)


def test_rounding_ops(tmp_path):
    # values k + 0.25 or k + 0.75: every rounding decision is far from a tie
    def make(n):
        k = np.random.randint(-8, 8, size=(n, 6))
        return (k + np.random.choice([0.25, 0.75], size=(n, 6))).astype(np.float32)

    check(Rounding(), make, tmp_path)


class Matrices(nn.Module):
    """Matrix, scatter and im2col ops (the newer ones in the registry)."""

    def forward(self, x, v):
        # x (N, 2, 4, 4), v (N, 5, 3)
        t = nerve.tril(x, -1) + nerve.triu(x, 1) * 2
        d = nerve.diagonal(t, offset=1, dim1=2, dim2=3)  # (N, 2, 3)
        c = nerve.cross(v[:, :2], v[:, 2:4], dim=-1)  # (N, 2, 3)
        index = nerve.tensor([[0, 2, 1], [1, 0, 2]])
        s = nerve.scatter_add(d, 2, index.expand(x.shape[0], 2, 3), c)
        s = nerve.index_add(s, 1, nerve.tensor([1, 0]), c, alpha=0.5)
        cols = F.unfold(x, kernel_size=2, stride=2)  # (N, 8, 4)
        back = F.fold(cols * 1.5, output_size=(4, 4), kernel_size=2, stride=2)
        return s, back, nerve.diag(v[0, 0]).sum() + x.sum(dim=(1, 2, 3))


def test_matrix_scatter_and_im2col_ops(tmp_path):
    check(Matrices(), lambda n: (_rand(n, 2, 4, 4), _rand(n, 5, 3)), tmp_path)


class ScaledTanh(nerve.autograd.Function):
    """A torch-style custom Function whose forward uses nerve's ops."""

    @staticmethod
    def forward(ctx, x):
        y = nerve.tanh(x) * 2.0
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (2.0 - y * y / 2.0)


class WithCustomFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return ScaledTanh.apply(self.fc(x)) + 1.0


class NumpyTanh(nerve.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return nerve.Tensor(np.tanh(x.numpy()))

    @staticmethod
    def backward(ctx, g):
        return g


def test_custom_function_built_from_ops_is_traced(tmp_path):
    check(WithCustomFunction(), lambda n: _rand(n, 4), tmp_path)

    class WithNumpy(nn.Module):
        def forward(self, x):
            return NumpyTanh.apply(x) * 2

    with pytest.raises(ExportError, match=r"op 'NumpyTanh \(custom Function\)'.*no ONNX form"):
        export(WithNumpy(), (nerve.Tensor(_rand(2, 4)),), tmp_path / "m.onnx")


class KerasSubclass(models.Model):
    def __init__(self):
        super().__init__()
        self.d1 = layers.Dense(8, activation="relu")
        self.d2 = layers.Dense(3)

    def call(self, x):
        return nerve.softmax(self.d2(self.d1(x) * 2.0), dim=-1)


def test_subclassed_keras_model_is_traced(tmp_path):
    model = KerasSubclass()
    model(nerve.Tensor(_rand(2, 4)))  # builds the layers
    check(model, lambda n: _rand(n, 4), tmp_path)


# ----------------------------------------------------------------------------- refusals
class WithSort(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return nerve.sort(self.fc(x), dim=1).values


class Branchy(nn.Module):
    def forward(self, x):
        return x * 2 if x.shape[0] % 2 else x + 1


class WithLayerNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        return self.norm(x) * 2


class WithArgmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x).argmax(dim=1)


class WithLoss(nn.Module):
    def forward(self, x):
        return F.mse_loss(x, x * 0)


def test_refusals_name_the_op_and_the_module(tmp_path):
    f = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match=r"op 'sort' in WithSort .*cannot be exported.*argsort"):
        export(WithSort(), (nerve.Tensor(_rand(2, 4)),), f)
    with pytest.raises(ExportError, match=r"WithArgmax 'withargmax' returns a tensor .*argmax"):
        export(WithArgmax(), (nerve.Tensor(_rand(2, 4)),), f)
    with pytest.raises(ExportError, match=r"op 'mse_loss'.*not part of an inference graph"):
        export(WithLoss(), (nerve.Tensor(_rand(2, 4)),), f)
    with pytest.raises(
        ExportError,
        match=r"op 'layer_norm' in LayerNorm 'norm' .*LayerNormalization needs opset 17",
    ):
        export(WithLayerNorm(), (nerve.Tensor(_rand(2, 4)),), f, opset_version=16)
    with pytest.raises(ExportError, match="runs different ops at two batch sizes"):
        export(Branchy(), (nerve.Tensor(_rand(2, 4)),), f)
    export(Branchy(), (nerve.Tensor(_rand(2, 4)),), f, dynamic_batch=False)  # fixed: fine
    with pytest.raises(ValueError, match="training=.*inference graphs only"):
        export(MnistNet(), (nerve.Tensor(_rand(1, 1, 28, 28)),), f, training="TRAINING")
    with pytest.raises(ValueError, match="export_params=False is not supported"):
        export(MnistNet(), (nerve.Tensor(_rand(1, 1, 28, 28)),), f, export_params=False)
    with pytest.raises(ValueError, match="dynamic_axes names.*'z'"):
        export(MnistNet(), (nerve.Tensor(_rand(1, 1, 28, 28)),), f, dynamic_axes={"z": [0]})
    with pytest.raises(TypeError, match="unexpected keyword.*'bogus'"):
        export(MnistNet(), (nerve.Tensor(_rand(1, 1, 28, 28)),), f, bogus=1)


def test_trace_leaves_function_apply_as_it_was(tmp_path):
    from nerve.autograd.function import Function
    from nerve.autograd.registry import TRACE

    apply = Function.__dict__["apply"]
    with pytest.raises(ExportError):
        export(WithSort(), (nerve.Tensor(_rand(2, 4)),), tmp_path / "m.onnx")
    export(MnistNet(), (nerve.Tensor(_rand(1, 1, 28, 28)),), tmp_path / "m.onnx")
    assert Function.__dict__["apply"] is apply and TRACE["hook"] is None


class Reductions(nn.Module):
    def forward(self, x):
        a = x.mean(dim=(1, 2), keepdim=True) + x.amax(dim=2, keepdim=True)
        b = nerve.logsumexp(x, dim=1) * x.std(dim=1) - x.prod(dim=1) / 4
        return F.log_softmax(b + x.sum(dim=1), dim=-1), (x - a).norm(dim=-1)


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_reductions_at_several_opsets(opset, tmp_path):
    proto = check(Reductions(), lambda n: _rand(n, 3, 4), tmp_path, opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_nerve_onnx_is_reachable_after_import_nerve():
    if "onnx" not in nerve._SUBMODULES:
        pytest.skip("needs 'onnx' in nerve._SUBMODULES (src/nerve/__init__.py)")
    import importlib

    assert importlib.import_module("nerve").onnx.export is export


# ----------------------------------------------------------------------------- registry
# Ops other engineers are adding now, without an ONNX form yet: each name here must be a
# registered op that lacks a form (the test fails when one gets a form or disappears, so the
# list only shrinks).
PENDING_FORMS: set = set()


def test_every_registered_op_has_an_onnx_form_or_a_reason():
    import nerve.layers  # noqa: F401  (their ops register on import)
    from nerve.autograd.registry import registered_ops
    from nerve.onnx import trace  # noqa: F401  (registers the forms)
    from nerve.onnx.op_forms import FORMS, NOT_EXPORTABLE_OPS

    ops = registered_ops()
    missing = sorted(op for op in ops if op not in FORMS and op not in NOT_EXPORTABLE_OPS)
    assert [op for op in missing if op not in PENDING_FORMS] == []
    assert sorted(PENDING_FORMS - set(missing)) == []
    assert not set(FORMS) & set(NOT_EXPORTABLE_OPS)
    assert sorted(set(FORMS) - set(ops)) == []  # no form for an op that does not exist
    assert all(isinstance(why, str) and why for why in NOT_EXPORTABLE_OPS.values())


class Special(nn.Module):
    """erfc, hypot, fmax/fmin (NaN-aware), sinc (its 0) and xlogy (its 0)."""

    def forward(self, x, y):
        a = nerve.erfc(x) + nerve.hypot(x, y) + nerve.sinc(x * 0.0) + nerve.sinc(y)
        b = nerve.fmax(x, y) - nerve.fmin(x, y) + nerve.xlogy(x * 0.0, y.abs() + 1)
        return a, b + nerve.xlogy(x.abs(), y.abs() + 1)


def test_special_function_ops(tmp_path):
    check(Special(), lambda n: (_rand(n, 6), _rand(n, 6)), tmp_path)
