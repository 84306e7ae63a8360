"""nn.utils.rnn (PackedSequence, pad/pack) and packed input to nn.RNN/LSTM/GRU equal torch's."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

LENGTHS = [3, 5, 1, 4]


def _seqs(rng, lengths=LENGTHS, features=3):
    return [rng.standard_normal((n, features)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(torch, batch_first, side):
    arrays = _seqs(np.random.default_rng(0))
    ours = pad_sequence(
        [nerve.tensor(a) for a in arrays], batch_first, padding_value=-1.5, padding_side=side
    )
    ref = torch.nn.utils.rnn.pad_sequence(
        [torch.from_numpy(a) for a in arrays], batch_first, -1.5, side
    )
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    assert ours.dtype == nerve.float32


def test_pad_sequence_keeps_int_dtype_and_gradients_flow(torch):
    ints = pad_sequence([nerve.tensor([1, 2, 3]), nerve.tensor([4])], batch_first=True)
    assert ints.dtype == nerve.int64 and ints.tolist() == [[1, 2, 3], [4, 0, 0]]
    a = nerve.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    b = nerve.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    (pad_sequence([a, b]) * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 2), 2.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((3, 2), 2.0))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_round_trip_match_torch(torch, batch_first, enforce_sorted):
    rng = np.random.default_rng(1)
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    arrays = _seqs(rng, lengths)
    padded = pad_sequence([nerve.tensor(a) for a in arrays], batch_first)
    tpadded = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(a) for a in arrays], batch_first)
    packed = pack_padded_sequence(padded, nerve.tensor(lengths), batch_first, enforce_sorted)
    tpacked = torch.nn.utils.rnn.pack_padded_sequence(
        tpadded, torch.tensor(lengths), batch_first, enforce_sorted
    )
    assert isinstance(packed, PackedSequence) and isinstance(packed, tuple)
    np.testing.assert_array_equal(packed.data.numpy(), tpacked.data.numpy())
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), tpacked.batch_sizes.numpy())
    for name in ("sorted_indices", "unsorted_indices"):
        ours, ref = getattr(packed, name), getattr(tpacked, name)
        assert (ours is None) == (ref is None)
        if ref is not None:
            np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    out, lens = pad_packed_sequence(packed, batch_first, padding_value=9.0, total_length=7)
    tout, tlens = torch.nn.utils.rnn.pad_packed_sequence(tpacked, batch_first, 9.0, 7)
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    np.testing.assert_array_equal(lens.numpy(), tlens.numpy())
    assert lens.dtype == nerve.int64


def test_pack_sequence_unpack_and_unpad():
    arrays = _seqs(np.random.default_rng(2), [2, 4, 3])
    seqs = [nerve.tensor(a) for a in arrays]
    for got in (
        unpack_sequence(pack_sequence(seqs, enforce_sorted=False)),
        unpad_sequence(pad_sequence(seqs), nerve.tensor([2, 4, 3])),
    ):
        assert [tuple(s.shape) for s in got] == [(2, 3), (4, 3), (3, 3)]
        for s, a in zip(got, arrays):
            np.testing.assert_array_equal(s.numpy(), a)


def test_packing_gradient_reaches_only_real_steps():
    x = nerve.tensor(np.ones((3, 2, 1), np.float32), requires_grad=True)
    packed = pack_padded_sequence(x, [3, 1])
    out, _ = pad_packed_sequence(packed)
    (out * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, :, 0], [[3, 3], [3, 0], [3, 0]])


def test_packing_errors_match_torch():
    x = nerve.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(RuntimeError, match=r"equal to batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [3, 0, 0])
    with pytest.raises(RuntimeError, match="1D CPU int64 tensor"):
        pack_padded_sequence(x, nerve.tensor([[3, 2, 1]]))
    with pytest.raises(ValueError, match="longer than the 4 steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2, 1]), total_length=2)
    with pytest.raises(RuntimeError, match="padding_side to be one of left or right"):
        pad_sequence([nerve.zeros(2)], padding_side="up")
    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match="same trailing dims"):
        pad_sequence([nerve.zeros(2, 3), nerve.zeros(3, 2)])


def _copy_params(module, tmodule, torch):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(module.named_parameters(), tmodule.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(p.numpy().copy()))


CASES = [
    ("GRU", dict(bidirectional=True, batch_first=True)),
    ("GRU", dict(num_layers=2)),
    ("LSTM", dict(bidirectional=True, batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(bidirectional=True)),
    ("RNN", dict(nonlinearity="relu", batch_first=True)),
]


@pytest.mark.parametrize("kind,kwargs", CASES)
@pytest.mark.parametrize("with_hx", [False, True])
def test_rnn_on_packed_input_matches_torch(torch, kind, kwargs, with_hx):
    rng = np.random.default_rng(3)
    batch_first = kwargs.get("batch_first", False)
    module = getattr(nn, kind)(3, 4, **kwargs)
    tmodule = getattr(torch.nn, kind)(3, 4, **kwargs)
    _copy_params(module, tmodule, torch)
    arrays = _seqs(rng)
    padded = pad_sequence([nerve.tensor(a) for a in arrays], batch_first)
    tpadded = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(a) for a in arrays], batch_first)
    padded.requires_grad = True
    tpadded.requires_grad_(True)
    packed = pack_padded_sequence(padded, LENGTHS, batch_first, enforce_sorted=False)
    tpacked = torch.nn.utils.rnn.pack_padded_sequence(
        tpadded, LENGTHS, batch_first, enforce_sorted=False
    )
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    hx = thx = None
    if with_hx:
        states = [rng.standard_normal((layers, 4, 4)).astype(np.float32) for _ in range(2)]
        hx, thx = nerve.tensor(states[0]), torch.from_numpy(states[0])
        if kind == "LSTM":
            hx = (hx, nerve.tensor(states[1]))
            thx = (thx, torch.from_numpy(states[1]))
    out, state = module(packed, hx)
    tout, tstate = tmodule(tpacked, thx)
    assert isinstance(out, PackedSequence)
    np.testing.assert_array_equal(out.batch_sizes.numpy(), tout.batch_sizes.numpy())
    np.testing.assert_allclose(out.data.numpy(), tout.data.detach().numpy(), rtol=1e-5, atol=1e-6)
    states, tstates = (state, tstate) if kind == "LSTM" else ((state,), (tstate,))
    for s, ts in zip(states, tstates):
        np.testing.assert_allclose(s.numpy(), ts.detach().numpy(), rtol=1e-5, atol=1e-6)
    # a loss on the padded output and on every final state
    weights = rng.standard_normal((7, 4, 8 if kwargs.get("bidirectional") else 4))
    unpacked, _ = pad_packed_sequence(out, total_length=7)
    tunpacked, _ = torch.nn.utils.rnn.pad_packed_sequence(tout, total_length=7)
    loss = (unpacked * nerve.tensor(weights.astype(np.float32))).sum()
    tloss = (tunpacked * torch.from_numpy(weights.astype(np.float32))).sum()
    for k, (s, ts) in enumerate(zip(states, tstates)):
        loss = loss + (s * (k + 2.0)).sum()
        tloss = tloss + (ts * (k + 2.0)).sum()
    loss.backward()
    tloss.backward()
    for (name, p), (_, tp) in zip(module.named_parameters(), tmodule.named_parameters()):
        np.testing.assert_allclose(
            p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )
    np.testing.assert_allclose(padded.grad.numpy(), tpadded.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_packed_sequence_alone_equals_padded_batch():
    """A sequence run alone gives the same output and state as inside a padded batch."""
    rng = np.random.default_rng(4)
    gru = nn.GRU(3, 4, bidirectional=True)
    arrays = _seqs(rng)
    batch_out, batch_h = gru(pack_sequence([nerve.tensor(a) for a in arrays], False))
    alone_out, alone_h = gru(nerve.tensor(arrays[2])[:, None])
    padded, _ = pad_packed_sequence(batch_out)
    np.testing.assert_allclose(padded.numpy()[: LENGTHS[2], 2], alone_out.numpy()[:, 0], atol=1e-6)
    np.testing.assert_allclose(batch_h.numpy()[:, 2], alone_h.numpy()[:, 0], atol=1e-6)


def test_packed_input_of_wrong_width_is_rejected():
    packed = pack_sequence([nerve.zeros(3, 5)])
    with pytest.raises(ValueError, match=r"expects packed data of shape \(steps, 3\)"):
        nn.LSTM(3, 4)(packed)


def test_nn_utils_rnn_import_paths():
    import nerve.nn.utils.rnn as rnn_module

    assert nn.utils.rnn is rnn_module
    assert nn.utils.clip_grad_norm_ is nerve.nn.utils.clip_grad_norm_


@pytest.mark.parametrize("op", ["rnn_sequence", "lstm_sequence", "gru_sequence"])
def test_fused_ops_with_batch_sizes_gradcheck(op):
    """float64 central differences through the carried (padded) rows, h_T and c_T included."""
    from nerve.testing import gradcheck

    rng = np.random.default_rng(5)
    steps, batch, hidden = 4, 3, 2
    gates = {"rnn_sequence": 1, "lstm_sequence": 4, "gru_sequence": 3}[op]
    sizes = np.array([3, 2, 2, 1])
    xw = rng.standard_normal((steps, batch, gates * hidden))
    h0 = rng.standard_normal((batch, hidden))
    w = rng.standard_normal((gates * hidden, hidden)) * 0.5
    fn = getattr(nn.functional, op)
    if op == "lstm_sequence":
        c0 = rng.standard_normal((batch, hidden))
        assert gradcheck(lambda x, h, c, w_: fn(x, h, c, w_, batch_sizes=sizes), xw, h0, c0, w)
        out, h, c = fn(*(nerve.tensor(a) for a in (xw, h0, c0, w)), batch_sizes=sizes)
        # row 2 lives one step: its c_T is the cell state after that step, run alone
        _, _, c_alone = fn(*(nerve.tensor(a) for a in (xw[:1, 2:], h0[2:], c0[2:], w)))
        np.testing.assert_array_equal(c.numpy()[2:], c_alone.numpy())
    elif op == "gru_sequence":
        b = rng.standard_normal(gates * hidden)
        assert gradcheck(lambda x, h, w_, b_: fn(x, h, w_, b_, batch_sizes=sizes), xw, h0, w, b)
        out, h = fn(*(nerve.tensor(a) for a in (xw, h0, w, b)), batch_sizes=sizes)
    else:
        assert gradcheck(lambda x, h, w_: fn(x, h, w_, batch_sizes=sizes), xw, h0, w)
        out, h = fn(*(nerve.tensor(a) for a in (xw, h0, w)), batch_sizes=sizes)
    # each row's final state is its output at its own last step
    last = (sizes[None] > np.arange(batch)[:, None]).sum(1) - 1
    np.testing.assert_array_equal(h.numpy(), out.numpy()[last, np.arange(batch)])


def test_fused_op_rejects_bad_batch_sizes():
    xw, h0, w = nerve.zeros(3, 2, 2), nerve.zeros(2, 2), nerve.zeros(2, 2)
    with pytest.raises(ValueError, match="rnn_sequence: batch_sizes must be 3 integers"):
        nn.functional.rnn_sequence(xw, h0, w, batch_sizes=[2, 1])
    with pytest.raises(ValueError, match=r"non-increasing and within \[0, 2\]"):
        nn.functional.rnn_sequence(xw, h0, w, batch_sizes=[1, 2, 1])
