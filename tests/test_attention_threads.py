"""scaled_dot_product_attention split over its leading dim, and dropout masks drawn in blocks, on
two threads: bit for bit the one-thread results, with the same random stream."""

import importlib

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.backend import rng
from nerve.nn import functional as F
from nerve.nn.functional import attention
from nerve.primitives import threads

# the module (nerve.nn.functional.dropout is also the function's name there)
dropout_module = importlib.import_module("nerve.nn.functional.dropout")


@pytest.fixture
def split_calls(monkeypatch):
    """The results of every parallel_rows call (True: it ran split); any size splits."""
    monkeypatch.setattr(attention, "SPLIT_MIN_SCORES", 0)
    monkeypatch.setattr(attention, "SPLIT_MIN_SCORES_BACKWARD", 0)
    seen = []
    real = threads.parallel_rows

    def spy(fn, arrays, min_size):
        done = real(fn, arrays, min_size)
        seen.append(done)
        return done

    monkeypatch.setattr(threads, "parallel_rows", spy)
    before = threads.get_num_threads()
    yield seen
    nerve.set_num_threads(before)
    threads.shutdown()


def _run(n_threads, mask=None, dropout_p=0.0, is_causal=False, batch=5, seed=0):
    """Output and input gradients of one call at ``n_threads``, from fixed inputs and seed."""
    nerve.set_num_threads(n_threads)
    rng = np.random.default_rng(seed)
    q, k, v = (
        nerve.tensor(rng.standard_normal((batch, 3, *s)).astype(np.float32), requires_grad=True)
        for s in ((7, 8), (9, 8), (9, 6))
    )
    nerve.manual_seed(3)
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal
    )
    out.backward(nerve.tensor(rng.standard_normal(out.shape).astype(np.float32)))
    return [t.numpy().copy() for t in (out, q.grad, k.grad, v.grad)]


def _masks(batch=5):
    rng = np.random.default_rng(1)
    keep = rng.random((batch, 3, 7, 9)) > 0.3
    keep[0, 0, 2] = False  # a fully masked row: zeros, on both paths
    return {
        "none": None,
        "bool_full": nerve.tensor(keep),
        "bool_shared": nerve.tensor(keep[:1, :1]),
        "float_2d": nerve.tensor(np.where(keep[0, 0], 0.0, -np.inf).astype(np.float32)),
    }


@pytest.mark.parametrize("mask_kind", ["none", "bool_full", "bool_shared", "float_2d"])
@pytest.mark.parametrize("dropout_p", [0.0, 0.25])
def test_split_equals_one_thread_bit_for_bit(split_calls, mask_kind, dropout_p):
    mask = _masks()[mask_kind]
    one = _run(1, mask, dropout_p)
    assert not any(split_calls)
    two = _run(2, mask, dropout_p)
    assert split_calls.count(True) == 2  # forward and backward, one hand-off each
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_causal_split_equals_one_thread(split_calls):
    one = _run(1, is_causal=True, batch=4)
    two = _run(2, is_causal=True, batch=4)
    assert split_calls.count(True) == 2
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_forward_split_with_backward_below_its_threshold(monkeypatch, split_calls):
    monkeypatch.setattr(attention, "SPLIT_MIN_SCORES_BACKWARD", 10**9)
    one = _run(1, dropout_p=0.25)
    two = _run(2, dropout_p=0.25)
    assert split_calls == [True]  # the forward only
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_small_or_broadcast_inputs_stay_on_one_thread(monkeypatch, split_calls):
    monkeypatch.setattr(attention, "SPLIT_MIN_SCORES", 10**9)
    _run(2)
    nerve.set_num_threads(2)
    monkeypatch.setattr(attention, "SPLIT_MIN_SCORES", 0)
    q = nerve.randn(4, 3, 7, 8, requires_grad=True)
    kv = nerve.randn(1, 3, 7, 8, requires_grad=True)  # broadcast batch: not split
    F.scaled_dot_product_attention(q, kv, kv).sum().backward()
    assert split_calls == []
    assert kv.grad.shape == kv.shape


def test_encoder_layer_train_step_same_at_one_and_two_threads(split_calls):
    def step(n):
        nerve.set_num_threads(n)
        nerve.manual_seed(0)
        layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        x = nerve.tensor(np.random.default_rng(2).standard_normal((6, 5, 16)).astype(np.float32))
        loss = layer(x).square().mean()
        loss.backward()
        return [loss.numpy()] + [p.grad.numpy().copy() for p in layer.parameters()]

    one, two = step(1), step(2)
    assert True in split_calls
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_matches_torch_with_threads_on(torch, split_calls):
    nerve.set_num_threads(2)
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((4, 2, 5, 8)).astype(np.float32) for _ in range(3)]
    ours = [nerve.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*ours, is_causal=True)
    ref = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True)
    out.sum().backward()
    ref.sum().backward()
    assert split_calls.count(True) == 2
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- dropout masks
@pytest.fixture
def mask_split(monkeypatch, split_calls):
    monkeypatch.setattr(dropout_module, "SPLIT_MIN_MASK", 0)
    return split_calls


@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((6, 4, 7, 7), np.float32),
        ((37, 8), np.float64),
        ((50, 3), np.float16),  # drawn in float32
        ((5, 2, 3), np.float32),
    ],
)
def test_mask_split_equals_one_thread_stream(mask_split, shape, dtype):
    results = []
    for n in (1, 2):
        nerve.set_num_threads(n)
        nerve.manual_seed(11)
        first = dropout_module.keep_mask(shape, 0.2, dtype)
        second = dropout_module.keep_mask(shape, 0.6, dtype)
        after = nerve.rand(5).numpy()  # the generator continues where one thread leaves it
        results.append((first, second, after))
    assert mask_split.count(True) == 2
    for a, b in zip(*results, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    keep = results[1][0] != 0
    assert 0.5 < keep.mean() < 0.95
    np.testing.assert_array_equal(results[1][0][keep], np.asarray(1 / 0.8, dtype))


def test_mask_with_half_output_pending_or_odd_size_stays_whole(mask_split):
    nerve.set_num_threads(2)
    nerve.manual_seed(0)
    rng().random(1, dtype=np.float32)  # one float32 leaves half of a 64-bit output pending
    assert rng().bit_generator.state["has_uint32"]
    dropout_module.keep_mask((40, 4), 0.5, np.float32)
    rng().random(1, dtype=np.float32)  # pending half used: whole outputs again
    dropout_module.keep_mask((41, 3), 0.5, np.float32)  # odd float32 size
    assert mask_split == []


def test_dropout_module_same_at_one_and_two_threads(mask_split):
    x = nerve.tensor(np.random.default_rng(0).standard_normal((64, 30)).astype(np.float32))
    outs = []
    for n in (1, 2):
        nerve.set_num_threads(n)
        nerve.manual_seed(2)
        outs.append(F.dropout(x, 0.3, training=True).numpy())
    assert True in mask_split
    np.testing.assert_array_equal(outs[0], outs[1])
