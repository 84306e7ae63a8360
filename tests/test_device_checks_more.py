"""Deferred device checks (issue 19), second round: which thread raises, what the queue holds,
how a big array is copied with flags pending, integer tensor indexing on a device, and float16
counts and statistics (embedding_bag mean, scale_grad_by_freq, batch norm).

On the strict CuPy stand-in (nerve.testing.strict_cuda), which wraps out-of-range indices as a
GPU does and counts host reads in ``nerve.strict.HOST_READS``.

Run: .venv/bin/python -m pytest tests/test_device_checks_more.py -q
"""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve.testing import strict_cuda

_device = importlib.import_module("nerve.device")  # the module (nerve.device is the class)


@pytest.fixture
def cuda():
    with strict_cuda() as strict:
        yield strict


def _queued_values():
    return [v for check in _device._pending for v in check[2]]


# ----------------------------------------------------------------------------- threads
def test_a_failed_check_is_raised_in_the_thread_that_queued_it(cuda):
    w = nerve.randn(4, 2).cuda()
    other = nerve.ones(3).cuda()
    seen = {}
    queued, read = threading.Event(), threading.Event()

    def worker():  # a logging thread that reads only its own tensor
        queued.wait(10)
        try:
            seen["worker"] = other.sum().item()
        except Exception as exc:  # what the thread got is the test
            seen["worker"] = exc
        read.set()

    thread = threading.Thread(target=worker)
    thread.start()
    out = F.embedding(nerve.tensor([9]).cuda(), w)  # this thread's bad op, queued
    queued.set()
    read.wait(10)
    thread.join()
    assert seen["worker"] == 3.0  # not this thread's error
    assert not _device._pending  # its read took the flags, and kept the failure for its owner
    with pytest.raises(IndexError, match="embedding: index 9 is out of range"):
        out.sum().item()
    assert np.isfinite(out.sum().item())  # raised once


def test_a_failure_found_by_another_thread_is_raised_at_the_owners_check_pending(cuda):
    w = nerve.randn(4, 2).cuda()
    errors = []

    def worker():  # the bad op runs here; the main thread's sync reads its flag
        F.cross_entropy(nerve.randn(2, 3).cuda(), nerve.tensor([0, 5]).cuda())
        ready.set()
        go.wait(10)
        try:
            _device.check_pending()
        except IndexError as exc:
            errors.append(str(exc))
        try:
            _device.check_pending()  # once only
        except IndexError as exc:
            errors.append(str(exc))

    ready, go = threading.Event(), threading.Event()
    thread = threading.Thread(target=worker)
    thread.start()
    assert ready.wait(10)
    F.embedding(nerve.tensor([1]).cuda(), w)
    try:
        nerve.cuda.synchronize()  # reads both flags, raises nothing here
    finally:
        go.set()
        thread.join()
    assert len(errors) == 1 and "cross_entropy: target class 5 is out of range" in errors[0]
    assert not _device._parked


def test_a_finished_threads_failures_are_dropped(cuda):
    def worker():
        F.embedding(nerve.tensor([7]).cuda(), nerve.randn(4, 2).cuda())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    nerve.cuda.synchronize()  # its owner is gone: nobody to raise it in, nothing kept
    assert not _device._parked and not _device._pending


# ----------------------------------------------------------------------------- queue contents
def test_the_queue_holds_only_0d_values(cuda):
    logits = nerve.randn(4, 3, 8, 8).cuda()
    x = nerve.ones(2, 3).cuda()
    ids = nerve.tensor([0, 1, 2, 3, 1]).cuda()
    calls = [
        lambda: F.cross_entropy(logits, nerve.randint(0, 3, (4, 8, 8)).cuda()),
        lambda: F.nll_loss(logits.log_softmax(1), nerve.randint(0, 3, (4, 8, 8)).cuda()),
        lambda: F.multi_margin_loss(x, nerve.tensor([0, 2]).cuda()),
        lambda: F.embedding(ids, nerve.randn(4, 2).cuda()),
        lambda: F.binary_cross_entropy(x * 0.5, x),
        lambda: F.one_hot(ids, 4),
        lambda: x.gather(1, nerve.tensor([[0, 2]]).cuda()),
        lambda: x[nerve.tensor([1, 0]).cuda()],
    ]
    for call in calls:
        call()
    assert len(_device._pending) >= len(calls)
    assert all(v.ndim == 0 for v in _queued_values())
    nerve.cuda.synchronize()
    # embedding_bag queues its offsets (one per bag, for the CPU's message), never the ids
    F.embedding_bag(ids, nerve.randn(4, 2).cuda(), nerve.tensor([0, 2]).cuda())
    assert len(_device._pending) == 2  # the offsets' check, then the lookup's (0-d min, max)
    raise_error, values = _device._pending[0][1:3]
    assert [v.shape for v in values] == [(2,)]
    held = [c.cell_contents for c in raise_error.__closure__ or ()]
    assert not any(hasattr(v, "shape") and v.shape == (5,) for v in held)
    nerve.cuda.synchronize()


def test_the_first_bad_target_is_named_as_on_the_cpu(cuda):
    target = nerve.tensor([[0, 1], [-7, 9]])
    with pytest.raises(IndexError, match="target class -7 is out of range") as on_cpu:
        F.cross_entropy(nerve.randn(2, 4, 2), target)
    F.cross_entropy(nerve.randn(2, 4, 2).cuda(), target.cuda())
    with pytest.raises(IndexError) as on_device:
        nerve.cuda.synchronize()
    assert str(on_device.value).splitlines()[0] == str(on_cpu.value)
    F.nll_loss(nerve.randn(3, 4).cuda(), nerve.tensor([-100, 2, 4]).cuda())  # ignore_index kept
    with pytest.raises(IndexError, match="nll_loss: target class 4 is out of range"):
        nerve.cuda.synchronize()


# ----------------------------------------------------------------------------- host copies
def test_a_big_array_is_not_joined_with_the_flags(cuda, monkeypatch):
    joined = []
    real = cuda.concatenate
    monkeypatch.setattr(
        cuda, "concatenate", lambda arrays, *a, **k: joined.append(arrays) or real(arrays, *a, **k)
    )
    table = nerve.randn(400, 64).cuda()  # 100 KiB
    small = nerve.randn(16, 64).cuda()  # 4 KiB
    for array, reads, joins in ((small, 1, 1), (table, 2, 0)):
        F.embedding(nerve.tensor([1, 2]).cuda(), table)  # a good lookup: a check is pending
        joined.clear()
        before = cuda.HOST_READS[0]
        host = array.cpu().numpy()
        assert (cuda.HOST_READS[0] - before, len(joined)) == (reads, joins)
        np.testing.assert_array_equal(host, array._data._a)
        assert not _device._pending
    F.embedding(nerve.tensor([6]).cuda(), nerve.randn(4, 2).cuda())
    with pytest.raises(IndexError, match="embedding: index 6"):
        table.cpu()  # the flags first: raised before the big copy


def test_a_failed_read_keeps_the_queued_checks(cuda, monkeypatch):
    F.embedding(nerve.tensor([6]).cuda(), nerve.randn(4, 2).cuda())
    real = cuda.asnumpy

    def broken(a, *args, **kwargs):
        raise RuntimeError("device lost")

    monkeypatch.setattr(cuda, "asnumpy", broken)
    with pytest.raises(RuntimeError, match="device lost"):
        nerve.cuda.synchronize()
    assert len(_device._pending) == 1
    monkeypatch.setattr(cuda, "asnumpy", real)
    with pytest.raises(IndexError, match="embedding: index 6"):
        nerve.cuda.synchronize()
    assert not _device._pending


# ----------------------------------------------------------------------------- tensor indexing
@pytest.mark.parametrize(
    "index",
    [
        lambda i: i,
        lambda i: (slice(None), i),
        lambda i: (Ellipsis, i),
        lambda i: (None, slice(None), i),
        lambda i: (i, nerve.tensor([0, 1])),
    ],
    ids=["rows", "cols", "ellipsis", "newaxis", "pair"],
)
def test_tensor_indexing_on_the_device_checks_its_bounds(cuda, index):
    x = nerve.arange(12.0).reshape(3, 4)
    bad = nerve.tensor([1, 5])
    with pytest.raises(IndexError) as on_cpu:
        x[index(bad)]
    message = str(on_cpu.value).split(": ", 1)[1]  # NumPy's words, after nerve's prefix
    before = cuda.HOST_READS[0]
    out = x.cuda()[index(bad.cuda())]  # wrapped, as a GPU does; queued, not read
    assert cuda.HOST_READS[0] == before
    with pytest.raises(IndexError) as on_device:
        out.cpu()
    assert str(on_device.value) == f"index into a tensor of shape (3, 4): {message}"
    good = nerve.tensor([-3, 2])  # negative indices in range are fine
    np.testing.assert_array_equal(x.cuda()[index(good.cuda())].cpu().numpy(), x[index(good)])


def test_tensor_assignment_on_the_device_checks_its_bounds(cuda):
    y = nerve.zeros(2, 3).cuda()
    y[nerve.tensor([5]).cuda()] = 1.0
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with size 2"):
        y.cpu()
    w = nerve.zeros(2, 3).cuda().requires_grad_()
    v = nerve.ones(3).cuda().requires_grad_()
    z = w * 1
    z[:, nerve.tensor([-4]).cuda()] = v[:1]  # differentiable assignment: same check
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 1 with size 3"):
        nerve.cuda.synchronize()
    y[nerve.tensor([1, -2]).cuda()] = 2.0
    assert y.cpu().tolist() == [[2.0] * 3, [2.0] * 3]


# ----------------------------------------------------------------------------- float16 counts
@pytest.mark.parametrize("dev", ["cpu", "cuda"])
def test_float16_embedding_bag_mean_counts_past_2048(cuda, dev):
    ids = nerve.tensor([0] * 3000 + [1]).to(dev)
    w = (nerve.arange(6.0).reshape(3, 2) + 1).half().to(dev)
    out = F.embedding_bag(ids, w, nerve.tensor([0, 3000]).to(dev), mode="mean")
    assert out.dtype == nerve.float16
    assert out.cpu().tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_float16_scale_grad_by_freq_matches_torch(cuda, torch):
    rng = np.random.default_rng(0)
    ids = np.concatenate([np.zeros(3000, np.int64), rng.integers(0, 5, 200)])
    g = rng.standard_normal((ids.size, 3)).astype(np.float16)
    w = torch.ones(5, 3, dtype=torch.float16, requires_grad=True)
    out = torch.nn.functional.embedding(torch.from_numpy(ids), w, scale_grad_by_freq=True)
    out.backward(torch.from_numpy(g))
    expected = w.grad.numpy().astype(np.float32)
    for dev in ("cpu", "cuda"):
        ours = nerve.ones(5, 3).half().to(dev).requires_grad_()
        F.embedding(nerve.from_numpy(ids).to(dev), ours, scale_grad_by_freq=True).backward(
            nerve.from_numpy(g).to(dev)
        )
        got = ours.grad.numpy(force=True)
        assert got.dtype == np.float16
        # float16 sums in a different order: within a few float16 steps of the largest value
        np.testing.assert_allclose(got.astype(np.float32), expected, rtol=0, atol=2e-3)
        assert abs(float(got[0, 0]) - expected[0, 0]) < 2e-3  # 3000 repeats, not 2048 of them


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("dev", ["cpu", "cuda"])
def test_embedding_bag_with_no_offsets_has_no_bags(cuda, dev, mode):
    w = nerve.randn(4, 2).to(dev).requires_grad_()
    empty = nerve.tensor([], dtype=nerve.int64).to(dev)
    out = F.embedding_bag(nerve.tensor([0, 1, 2]).to(dev), w, empty, mode=mode)
    assert out.shape == (0, 2) and out.requires_grad  # torch's shape (its "max" crashes)
    out.sum().backward()
    assert w.grad.cpu().tolist() == [[0.0, 0.0]] * 4
