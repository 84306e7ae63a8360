"""nn modules, nn.init, nn.utils and the norm functionals on the "cuda" device, run on the strict
stand-in for CuPy (nerve.testing.strict_cuda): recurrent layers' default states, packed and
padded sequences, initializers on device tensors, gradient clipping, autocast through the norm
layers (checked against torch), and the device check of in-place ops. Results equal the CPU's.

Run: .venv/bin/python -m pytest tests/test_device_modules.py -q
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.nn.utils import clip_grad_norm_, clip_grad_value_
from nerve.nn.utils.rnn import (
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
)
from nerve.testing import assert_close, strict_cuda


@pytest.fixture
def cuda():
    with strict_cuda() as strict:
        yield strict


def _on_device(t, strict) -> bool:
    return type(t._data) is strict.StrictArray


def _first(out):
    return out[0] if isinstance(out, tuple) else out


# ----------------------------------------------------------------------------- H1: RNNs
@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_layers_make_their_default_state_on_the_input_device(cuda, cls, bias):
    nerve.manual_seed(0)
    m = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, bias=bias)
    x = nerve.randn(2, 5, 3)
    out, state = m(x)
    m.to("cuda")
    out_d, state_d = m(x.cuda())
    assert _on_device(out_d, cuda)
    assert_close(out_d.cpu(), out.detach(), rtol=1e-6, atol=1e-6)
    for a, b in zip(
        state_d if isinstance(state_d, tuple) else (state_d,),
        (state if isinstance(state, tuple) else (state,)),
    ):
        assert _on_device(a, cuda)
        assert_close(a.cpu(), b.detach(), rtol=1e-6, atol=1e-6)
    # unbatched input too
    assert_close(m(x[0].cuda())[0].cpu(), out[0].detach(), rtol=1e-6, atol=1e-6)
    # gradients reach the parameters on the device
    out_d.sum().backward()
    assert all(_on_device(p.grad, cuda) for p in m.parameters())


@pytest.mark.parametrize("cls", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_cells_make_their_default_state_on_the_input_device(cuda, cls, bias):
    nerve.manual_seed(1)
    m = cls(3, 4, bias=bias)
    x = nerve.randn(2, 3)
    ref = _first(m(x))
    m.to("cuda")
    got = _first(m(x.cuda()))
    assert _on_device(got, cuda)
    assert_close(got.cpu(), ref.detach(), rtol=1e-6, atol=1e-6)
    assert_close(_first(m(x[0].cuda())).cpu(), ref[0].detach(), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- H2: sequences
def test_pad_sequence_on_the_device(cuda):
    seqs = [nerve.randn(n, 3) for n in (2, 5, 3)]
    for side in ("right", "left"):
        ref = pad_sequence(seqs, batch_first=True, padding_value=-1.0, padding_side=side)
        got = pad_sequence([s.cuda() for s in seqs], True, -1.0, side)
        assert _on_device(got, cuda)
        assert_close(got.cpu(), ref)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_through_an_lstm_on_the_device(cuda, enforce_sorted):
    nerve.manual_seed(2)
    lengths = [5, 3, 2] if enforce_sorted else [2, 5, 3]
    padded = pad_sequence([nerve.randn(n, 3) for n in lengths], batch_first=True)
    lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    h0 = nerve.randn(2, 3, 4)
    c0 = nerve.randn(2, 3, 4)

    def run(x, h, c):
        packed = pack_padded_sequence(x, lengths, True, enforce_sorted)
        out, (h_n, c_n) = lstm(packed, (h, c))
        return pad_packed_sequence(out, batch_first=True), h_n, c_n

    (ref, ref_lens), ref_h, ref_c = run(padded, h0, c0)
    lstm.to("cuda")
    packed = pack_padded_sequence(padded.cuda(), lengths, True, enforce_sorted)
    assert _on_device(packed.data, cuda) and packed.batch_sizes.device == "cpu"
    if not enforce_sorted:  # the sorting indices live with the data, as torch
        assert packed.sorted_indices.device == "cuda:0"
        assert packed.unsorted_indices.device == "cuda:0"
    (got, got_lens), got_h, got_c = run(padded.cuda(), h0.cuda(), c0.cuda())
    assert _on_device(got, cuda) and _on_device(got_h, cuda)
    assert_close(got.cpu(), ref.detach(), rtol=1e-6, atol=1e-6)
    assert_close(got_h.cpu(), ref_h.detach(), rtol=1e-6, atol=1e-6)
    assert_close(got_c.cpu(), ref_c.detach(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got_lens.numpy(), ref_lens.numpy())


def test_pack_sequence_round_trip_and_moves_on_the_device(cuda):
    seqs = [nerve.randn(n, 2) for n in (3, 4, 1)]
    packed = pack_sequence([s.cuda() for s in seqs], enforce_sorted=False)
    back = unpack_sequence(packed)
    for a, b in zip(back, seqs):
        assert _on_device(a, cuda)
        assert_close(a.cpu(), b)
    host = packed.cpu()
    assert host.data.device == "cpu" and host.sorted_indices.device == "cpu"
    again = host.to("cuda")
    assert again.data.device == "cuda:0" and again.unsorted_indices.device == "cuda:0"
    assert again.batch_sizes.device == "cpu"


# ----------------------------------------------------------------------------- H3: nn.init
_INITS = [
    (nn.init.uniform_, (-0.5, 0.5)),
    (nn.init.normal_, (0.1, 0.02)),
    (nn.init.trunc_normal_, (0.0, 1.0, -0.5, 0.5)),
    (nn.init.xavier_uniform_, ()),
    (nn.init.xavier_normal_, ()),
    (nn.init.kaiming_uniform_, ()),
    (nn.init.kaiming_normal_, ()),
    (nn.init.uniform_fan_in_, (6,)),
]


@pytest.mark.parametrize("fn, args", _INITS, ids=[f.__name__ for f, _ in _INITS])
def test_init_draws_on_the_device_with_the_device_generator(cuda, fn, args):
    shape = (64, 48)
    w = nerve.empty(*shape).cuda()
    nerve.manual_seed(5)
    assert fn(w, *args) is w
    assert _on_device(w, cuda) and w.dtype == np.float32
    first = w.cpu().numpy()
    assert np.isfinite(first).all() and first.std() > 0
    nerve.manual_seed(5)  # reseeds the device generator too: the same draws
    fn(w, *args)
    np.testing.assert_array_equal(w.cpu().numpy(), first)
    # the same distribution as on the CPU (its mean and spread)
    nerve.manual_seed(5)
    cpu = fn(nerve.empty(*shape), *args).numpy()
    assert abs(first.mean() - cpu.mean()) < 4 * cpu.std() / math.sqrt(first.size) + 1e-3
    assert abs(first.std() / cpu.std() - 1) < 0.1
    if fn is nn.init.trunc_normal_:
        assert first.min() >= -0.5 and first.max() <= 0.5


def test_init_on_the_cpu_still_draws_from_the_cpu_generator(cuda):
    # bit-identical to the same NumPy draws from the same seed (the CPU path is unchanged)
    for fn, args, draw in (
        (nn.init.uniform_, (-1.0, 2.0), lambda g: g.uniform(-1.0, 2.0, size=(5, 4))),
        (nn.init.normal_, (0.5, 3.0), lambda g: g.normal(0.5, 3.0, size=(5, 4))),
    ):
        nerve.manual_seed(11)
        w = fn(nerve.empty(5, 4), *args)
        expected = draw(np.random.default_rng(11)).astype(np.float32)
        np.testing.assert_array_equal(w.numpy(), expected)


def test_deterministic_inits_on_the_device(cuda):
    w = nerve.empty(3, 5).cuda()
    nn.init.eye_(w)
    assert _on_device(w, cuda)
    np.testing.assert_array_equal(w.cpu().numpy(), np.eye(3, 5, dtype=np.float32))
    nn.init.constant_(w, 0.25)
    np.testing.assert_array_equal(w.cpu().numpy(), np.full((3, 5), 0.25, np.float32))
    nn.init.zeros_(w)
    assert not w.cpu().numpy().any()
    nn.init.ones_(w)
    assert (w.cpu().numpy() == 1).all()


def test_orthogonal_init_on_the_device(cuda):
    w = nerve.empty(4, 6).cuda()
    nn.init.orthogonal_(w, gain=2.0)
    assert _on_device(w, cuda)
    a = w.cpu().numpy().astype(np.float64)
    np.testing.assert_allclose(a @ a.T, 4.0 * np.eye(4), atol=1e-5)


def test_model_to_device_then_apply_weights_init(cuda):
    # the DCGAN tutorial pattern: model.to(device); model.apply(weights_init)
    def weights_init(m):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten())
    model.to("cuda")
    model.apply(weights_init)
    for p in model.parameters():
        assert _on_device(p, cuda)
    w = model[0].weight.cpu().numpy()
    assert abs(w.std() - 0.02) < 0.005
    np.testing.assert_array_equal(model[1].bias.cpu().numpy(), np.zeros(8, np.float32))
    assert _on_device(model(nerve.randn(2, 3, 5, 5).cuda()), cuda)


# ----------------------------------------------------------------------------- H4: clipping
def _grads_on(device: str, seed: int = 3):
    nerve.manual_seed(seed)
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = nerve.randn(5, 3)
    m.to(device)
    (m(x.to(device)) ** 2).sum().backward()
    return m


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, -math.inf, 0.0])
def test_clip_grad_norm_on_device_gradients(cuda, norm_type):
    ref = _grads_on("cpu")
    ref_total = clip_grad_norm_(ref.parameters(), 0.5, norm_type)
    got = _grads_on("cuda")
    total = clip_grad_norm_(got.parameters(), 0.5, norm_type)
    assert _on_device(total, cuda) and total.ndim == 0
    assert_close(total.cpu(), ref_total, rtol=1e-6)
    for a, b in zip(got.parameters(), ref.parameters()):
        assert _on_device(a.grad, cuda)
        assert_close(a.grad.cpu(), b.grad, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_error_if_nonfinite_on_the_device(cuda):
    m = _grads_on("cuda")
    m[0].weight.grad.fill_(float("inf"))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(m.parameters(), 1.0, error_if_nonfinite=True)


def test_clip_grad_value_on_device_gradients(cuda):
    ref = _grads_on("cpu")
    clip_grad_value_(ref.parameters(), 0.1)
    got = _grads_on("cuda")
    clip_grad_value_(got.parameters(), 0.1)
    for a, b in zip(got.parameters(), ref.parameters()):
        assert _on_device(a.grad, cuda)
        assert_close(a.grad.cpu(), b.grad)


# ----------------------------------------------------------------------------- H5: autocast
def _stacks(nerve_nn, seed=0):
    nerve.manual_seed(seed)
    return {
        "conv_bn": nerve_nn.Sequential(nerve_nn.Conv2d(3, 6, 3), nerve_nn.BatchNorm2d(6)),
        "linear_ln": nerve_nn.Sequential(nerve_nn.Linear(8, 6), nerve_nn.LayerNorm(6)),
        "linear_gn": nerve_nn.Sequential(nerve_nn.Linear(8, 6), nerve_nn.GroupNorm(2, 6)),
        "conv_in": nerve_nn.Sequential(
            nerve_nn.Conv2d(3, 6, 3), nerve_nn.InstanceNorm2d(6, affine=True)
        ),
    }


def _inputs(name):
    rng = np.random.default_rng(7)
    shape = (4, 3, 6, 6) if name.startswith("conv") else (4, 8)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name", ["conv_bn", "linear_ln", "linear_gn", "conv_in"])
@pytest.mark.parametrize("training", [True, False])
def test_autocast_cpu_through_norm_layers_matches_torch(torch, name, training):
    ours = _stacks(nn)[name]
    theirs = _stacks(torch.nn)[name]
    theirs.load_state_dict(
        {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}, strict=True
    )
    ours.train(training)
    theirs.train(training)
    x = _inputs(name)
    w = np.random.default_rng(8).standard_normal(
        (4, 6, 4, 4) if name.startswith("conv") else (4, 6)
    )
    with torch.autocast("cpu", dtype=torch.float16):
        t_out = theirs(torch.tensor(x))
    with nerve.autocast("cpu", dtype=nerve.float16):
        out = ours(nerve.tensor(x))
    assert str(out.dtype) == str(t_out.dtype).removeprefix("torch.")
    assert_close(out.float(), t_out.float().detach().numpy(), rtol=2e-3, atol=4e-3)
    (t_out.float() * torch.tensor(w, dtype=torch.float32)).sum().backward()
    (out.float() * nerve.tensor(w, dtype=nerve.float32)).sum().backward()
    # float16 rounding noise is measured against the largest gradient (a bias before a norm
    # has a gradient of 0 up to rounding: its relative error means nothing)
    scale = max(float(np.abs(tp.grad.numpy()).max()) for tp in theirs.parameters())
    for (k, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert p.grad.dtype == np.float32, k
        assert_close(p.grad, tp.grad.numpy(), rtol=2e-2, atol=1e-2 * scale, msg=f"{k}: ")
    for k, buf in ours.named_buffers():
        if buf.dtype.kind == "f":
            assert buf.dtype == np.float32
            assert_close(buf, theirs.get_buffer(k).numpy(), rtol=1e-3, atol=1e-3, msg=f"{k}: ")


@pytest.mark.parametrize(
    "name, out_dtype",
    # torch's CUDA autocast: layer_norm and group_norm run in float32; batch_norm and
    # instance_norm keep the float16 of the conv before them
    [("conv_bn", "float16"), ("linear_ln", "float32"), ("linear_gn", "float32")],
)
def test_autocast_cuda_through_norm_layers(cuda, name, out_dtype):
    m = _stacks(nn)[name]
    x = _inputs(name)
    ref = m(nerve.tensor(x))
    m.to("cuda")
    with nerve.autocast("cuda"):
        out = m(nerve.tensor(x).cuda())
    assert _on_device(out, cuda) and str(out.dtype) == out_dtype
    assert_close(out.float().cpu(), ref.detach(), rtol=5e-3, atol=5e-3)
    out.float().sum().backward()
    assert all(p.grad.dtype == np.float32 and _on_device(p.grad, cuda) for p in m.parameters())


def test_norm_functionals_take_float16_input_with_float32_parameters(torch):
    import nerve.nn.functional as F

    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 6, 3)).astype(np.float16)
    w = rng.standard_normal(6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    tx, tw, tb = (torch.tensor(a) for a in (x, w, b))
    tf = torch.nn.functional
    cases = (
        (F.layer_norm(nerve.from_numpy(x), (3,)), tf.layer_norm(tx, (3,))),
        (
            F.group_norm(nerve.from_numpy(x), 2, nerve.tensor(w), nerve.tensor(b)),
            tf.group_norm(tx, 2, tw, tb),
        ),
        (
            F.batch_norm(
                nerve.from_numpy(x),
                nerve.zeros(6),
                nerve.ones(6),
                nerve.tensor(w),
                nerve.tensor(b),
                training=True,
            ),
            tf.batch_norm(tx, torch.zeros(6), torch.ones(6), tw, tb, training=True),
        ),
    )
    for ours, theirs in cases:
        assert ours.dtype == np.float16 and theirs.dtype == torch.float16
        assert_close(ours.float(), theirs.float().numpy(), rtol=2e-3, atol=4e-3)
    # float16 throughout (float32 running statistics) stays as it was: float16 math
    half = nerve.from_numpy(x)
    w16 = nerve.from_numpy(w.astype(np.float16))
    out = F.batch_norm(half, nerve.zeros(6), nerve.ones(6), w16, w16, training=True)
    assert out.dtype == np.float16
    # other mixes are still refused, naming the op and both dtypes
    with pytest.raises(TypeError, match=r"layer_norm: weight has dtype float16 but input has"):
        F.layer_norm(nerve.randn(2, 3), (3,), nerve.ones(3, dtype=nerve.float16))


# ----------------------------------------------------------------------------- M3: in place
@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a.add_(b),
        lambda a, b: a.sub_(b),
        lambda a, b: a.mul_(b),
        lambda a, b: a.div_(b),
        lambda a, b: a.addcmul_(b, b),
        lambda a, b: a.__iadd__(b),
    ],
)
def test_inplace_ops_refuse_mixed_devices_naming_both(cuda, op):
    on_device, host = nerve.ones(3).cuda(), nerve.ones(3)
    with pytest.raises(RuntimeError, match=r"cuda:0 and cpu!.*_"):
        op(on_device, host)
    with pytest.raises(RuntimeError, match=r"cpu and cuda:0!"):
        op(host, on_device)
    np.testing.assert_array_equal(on_device.cpu().numpy(), np.ones(3, np.float32))


def test_inplace_ops_take_a_0d_cpu_tensor_as_a_number(cuda):
    a = nerve.ones(3).cuda()
    a.add_(nerve.tensor(2.0))
    a.mul_(nerve.tensor(2.0))
    assert _on_device(a, cuda)
    np.testing.assert_array_equal(a.cpu().numpy(), np.full(3, 6.0, np.float32))
    # with a gradient wanted, through the graph
    w = nerve.ones(3, requires_grad=True)
    y = w.cuda() * 1.0
    s = nerve.tensor(2.0, requires_grad=True)
    y.mul_(s)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 2.0, np.float32))
    assert float(s.grad) == 3.0 and s.grad.device == "cpu"


# ----------------------------------------------------------------------------- M4: factory kw
def _built(**kw):
    return [
        nn.Linear(3, 4, **kw),
        nn.Bilinear(2, 3, 4, **kw),
        nn.Conv1d(2, 3, 3, **kw),
        nn.Conv2d(2, 3, 3, **kw),
        nn.ConvTranspose1d(2, 3, 3, **kw),
        nn.ConvTranspose2d(2, 3, 3, **kw),
        nn.BatchNorm1d(3, **kw),
        nn.BatchNorm2d(3, **kw),
        nn.InstanceNorm2d(3, affine=True, track_running_stats=True, **kw),
        nn.LayerNorm(4, **kw),
        nn.GroupNorm(2, 4, **kw),
        nn.PReLU(3, **kw),
        nn.Embedding(5, 3, padding_idx=0, **kw),
        nn.EmbeddingBag(5, 3, **kw),
        nn.LSTM(3, 4, **kw),
        nn.GRU(3, 4, **kw),
        nn.RNN(3, 4, **kw),
        nn.LSTMCell(3, 4, **kw),
        nn.GRUCell(3, 4, **kw),
        nn.RNNCell(3, 4, **kw),
        nn.MultiheadAttention(4, 2, **kw),
        nn.TransformerEncoderLayer(4, 2, 8, **kw),
        nn.TransformerDecoderLayer(4, 2, 8, **kw),
        nn.Transformer(4, 2, 1, 1, 8, **kw),
    ]


def _same_state(device_module, cpu_module, cuda):
    state = device_module.state_dict()
    assert state.keys() == cpu_module.state_dict().keys()
    for k, v in cpu_module.state_dict().items():
        assert _on_device(state[k], cuda), f"{type(device_module).__name__}.{k}"
        np.testing.assert_array_equal(state[k].cpu().numpy(), v.numpy())


def test_modules_take_torchs_device_keyword(cuda):
    nerve.manual_seed(0)
    cpu = _built()
    nerve.manual_seed(0)
    on_device = _built(device="cuda")
    for a, b in zip(on_device, cpu):
        _same_state(a, b, cuda)  # the same values: drawn on the CPU, then moved


@pytest.mark.parametrize("how", ["with", "set_default_device"])
def test_modules_follow_the_default_device(cuda, how):
    nerve.manual_seed(0)
    cpu = _built()
    nerve.manual_seed(0)
    if how == "with":
        with nerve.device("cuda"):
            made = _built()
    else:
        nerve.set_default_device("cuda")
        try:
            made = _built()
        finally:
            nerve.set_default_device(None)
    for a, b in zip(made, cpu):
        _same_state(a, b, cuda)
    assert nerve.Tensor is not None and nerve.zeros(1).device == "cpu"  # restored after


def test_modules_take_torchs_dtype_keyword(torch):
    for m, t in (
        (nn.Linear(3, 4, dtype=nerve.float64), torch.nn.Linear(3, 4, dtype=torch.float64)),
        (nn.BatchNorm1d(3, dtype=nerve.float64), torch.nn.BatchNorm1d(3, dtype=torch.float64)),
        (nn.LSTM(3, 4, dtype=nerve.float64), torch.nn.LSTM(3, 4, dtype=torch.float64)),
    ):
        ours = {k: str(v.dtype) for k, v in m.state_dict().items()}
        theirs = {k: str(v.dtype).removeprefix("torch.") for k, v in t.state_dict().items()}
        assert ours == theirs
    for m in _built(dtype=nerve.float64):
        dtypes = {str(v.dtype) for v in m.state_dict().values()}
        assert dtypes <= {"float64", "int64"}, type(m).__name__
    x = nerve.randn(2, 3, dtype=nerve.float64)
    assert nn.Linear(3, 4, dtype=nerve.float64)(x).dtype == np.float64


def test_device_modules_run_on_the_device(cuda):
    nerve.manual_seed(4)
    emb = nn.Embedding(5, 3, device="cuda")
    assert _on_device(emb(nerve.tensor([1, 2]).cuda()), cuda)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    q = nerve.randn(2, 3, 4)
    ref = mha(q, q, q, is_causal=True, attn_mask=nn.Transformer.generate_square_subsequent_mask(3))
    mha.to("cuda")
    mask = nn.Transformer.generate_square_subsequent_mask(3, device="cuda")
    assert _on_device(mask, cuda)
    got = mha(q.cuda(), q.cuda(), q.cuda(), is_causal=True, attn_mask=mask)
    assert _on_device(got[0], cuda)
    assert_close(got[0].cpu(), ref[0].detach(), rtol=1e-6, atol=1e-6)
    assert_close(got[1].cpu(), ref[1].detach(), rtol=1e-6, atol=1e-6)


def test_a_device_that_is_not_there_is_a_clear_error():
    if nerve.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(RuntimeError, match="not available"):
        nn.Linear(2, 2, device="cuda")
    with pytest.raises(RuntimeError, match="not available"):
        nn.Embedding(5, 3, device="cuda")
