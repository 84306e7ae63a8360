"""Argument checks that read device values are deferred to the next synchronization (issue 19).

An op that checks its input against values on a device (an index in range, a class target below
C) queues a device-side flag instead of reading it (nerve.device.check_on_sync); the flags are
read in the same copy as the data at the next point where the host waits anyway (item, tolist,
cpu, numpy(force=True), printing, nerve.cuda.synchronize), as torch's device-side asserts. On
the strict test backend ``nerve.strict.HOST_READS`` counts every device-to-host read, so these
tests count a training step's waits. On the CPU the checks stay immediate.

Run: .venv/bin/python -m pytest tests/test_device_checks.py -q
"""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve import nn
from nerve.testing import strict_cuda


@pytest.fixture
def cuda():
    with strict_cuda() as strict:
        yield strict


class _Net(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.emb = nn.Embedding(50, 16)
        self.body = nn.LSTM(16, 32, batch_first=True) if kind == "lstm" else nn.Linear(16, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        h = self.emb(x)
        h = self.body(h)[0] if self.kind == "lstm" else self.body(h).relu()
        return self.out(h[:, -1])


@pytest.mark.parametrize("kind", ["linear", "lstm"])
def test_a_training_step_on_the_device_reads_the_host_once(cuda, kind):
    nerve.manual_seed(0)
    net = _Net(kind).to("cuda")
    opt = nerve.optim.Adam(net.parameters(), lr=1e-3)
    x = nerve.randint(0, 50, (8, 5)).cuda()
    y = nerve.randint(0, 10, (8,)).cuda()
    losses = []
    for _ in range(3):
        before = cuda.HOST_READS[0]
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        assert cuda.HOST_READS[0] - before == 1  # loss.item(), as in torch
    assert losses[-1] < losses[0]


def test_the_one_read_carries_the_value_and_the_flags(cuda):
    w = nerve.randn(10, 3).cuda()
    rows = F.embedding(nerve.tensor([[1, 2], [3, 9]]).cuda(), w)
    before = cuda.HOST_READS[0]
    values = rows.cpu().numpy()  # the data and the queued flag in one copy
    assert cuda.HOST_READS[0] - before == 1
    np.testing.assert_array_equal(values, w.cpu().numpy()[[[1, 2], [3, 9]]])
    for dtype in (nerve.float64, nerve.int32, nerve.bool):  # any dtype, a view not contiguous
        x = nerve.arange(12).reshape(3, 4).to(dtype).cuda()
        F.embedding(nerve.tensor([0]).cuda(), w)
        np.testing.assert_array_equal(
            x.T.cpu().numpy(), np.arange(12).reshape(3, 4).T.astype(x.dtype)
        )
        assert x[1, 2].item() == x.dtype.type(6)


@pytest.mark.parametrize(
    "sync",
    [
        lambda t: t.sum().item(),
        lambda t: t.tolist(),
        lambda t: t.cpu(),
        lambda t: t.numpy(force=True),
        lambda t: repr(t),
        lambda t: float(t.sum()),
        lambda t: nerve.cuda.synchronize(),
    ],
    ids=["item", "tolist", "cpu", "numpy", "repr", "float", "synchronize"],
)
def test_a_bad_index_on_the_device_raises_at_the_next_sync_point(cuda, sync):
    emb = nn.Embedding(10, 4).cuda()
    out = emb(nerve.tensor([[1, 12]]).cuda())  # queued: no read, no error yet
    loss = out.sum()
    loss.backward()  # the step goes on, as on a GPU
    with pytest.raises(IndexError, match=r"embedding: index 12 is out of range.*\[0, 10\)"):
        sync(loss)
    assert np.isfinite(loss.item())  # reported once; the queue is empty again


def test_deferred_errors_name_the_op_and_the_bad_value(cuda):
    logits, target = nerve.randn(3, 5).cuda(), nerve.tensor([0, 7, 1]).cuda()
    F.cross_entropy(logits, target)
    with pytest.raises(IndexError, match="cross_entropy: target class 7 is out of range for 5"):
        nerve.cuda.synchronize()
    F.nll_loss(logits, nerve.tensor([0, -3, 1]).cuda())
    with pytest.raises(IndexError, match="nll_loss: target class -3 is out of range"):
        nerve.cuda.synchronize()
    x = nerve.ones(2, 3).cuda()
    for call, pattern in [
        (lambda: x.gather(1, nerve.tensor([[0, 9]]).cuda()), "gather: index 9 is out of range"),
        (lambda: x.index_select(0, nerve.tensor([-1]).cuda()), "index_select: index -1 is out"),
        (
            lambda: x.take_along_dim(nerve.tensor([[4], [0]]).cuda(), 1),
            "take_along_dim: index 4 is out of range",
        ),
        (lambda: x.index_fill(1, nerve.tensor([5]).cuda(), 0.0), "index_fill: index 5"),
        (
            lambda: x.scatter(1, nerve.tensor([[3]]).cuda(), 1.0),
            "scatter: index 3 is out of range",
        ),
        (
            lambda: x.scatter_add(0, nerve.tensor([[2, 0, 0]]).cuda(), x[:1]),
            "scatter_add: index 2 is out of range",
        ),
        (
            lambda: x.index_add(0, nerve.tensor([0, 2]).cuda(), x),
            "index_add: index 2 is out of range",
        ),
    ]:
        before = cuda.HOST_READS[0]
        call()
        assert cuda.HOST_READS[0] == before  # queued, not read
        with pytest.raises(IndexError, match=pattern):
            nerve.cuda.synchronize()
    F.one_hot(nerve.tensor([1, 4]).cuda(), 3)
    with pytest.raises(ValueError, match="one_hot: class value 4 is out of range"):
        nerve.cuda.synchronize()
    with np.errstate(invalid="ignore"):  # the log of 1 - 1.5: garbage until the sync, as on a GPU
        F.binary_cross_entropy(nerve.tensor([0.5, 1.5]).cuda(), nerve.tensor([1.0, 0.0]).cuda())
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input value.*1\.5"):
        nerve.cuda.synchronize()
    bag = F.embedding_bag(
        nerve.tensor([0, 1, 2]).cuda(), nerve.randn(4, 2).cuda(), nerve.tensor([0, 2, 1]).cuda()
    )
    with pytest.raises(ValueError, match="embedding_bag: offsets must start at 0, not decrease"):
        bag.cpu()


def test_the_first_failing_op_is_reported(cuda):
    w = nerve.randn(4, 2).cuda()
    F.embedding(nerve.tensor([5]).cuda(), w)
    F.cross_entropy(nerve.randn(2, 3).cuda(), nerve.tensor([0, 3]).cuda())
    with pytest.raises(IndexError, match="embedding: index 5"):
        nerve.cuda.synchronize()
    nerve.cuda.synchronize()  # nothing left


def test_good_input_on_the_device_matches_the_cpu_without_reads(cuda):
    w = nerve.randn(6, 3)
    offsets = nerve.tensor([0, 2, 2, 5])
    ids = nerve.tensor([0, 5, 1, 1, 3, 2])
    for mode in ("sum", "mean", "max"):
        for last in (False, True):
            offs = nerve.tensor([0, 2, 2, 5, 6]) if last else offsets
            kw = dict(mode=mode, include_last_offset=last, padding_idx=1)
            cpu = F.embedding_bag(ids, w, offs, **kw)
            before = cuda.HOST_READS[0]
            dev = F.embedding_bag(ids.cuda(), w.cuda(), offs.cuda(), **kw)
            assert cuda.HOST_READS[0] == before, (mode, last)
            np.testing.assert_allclose(dev.cpu().numpy(), cpu.numpy(), rtol=1e-6)
    ids = nerve.tensor([[0, 3, 3], [5, 0, 1]])
    for kw in ({"max_norm": 1.0}, {"scale_grad_by_freq": True, "padding_idx": 1}):
        results = []
        for dev in ("cpu", "cuda"):
            table = (w * 3).to(dev).requires_grad_()
            before = cuda.HOST_READS[0]
            out = F.embedding(ids.to(dev), table, **kw)
            (out * out).sum().backward()
            assert cuda.HOST_READS[0] == before, kw
            results.append([t.numpy(force=True) for t in (out, table, table.grad)])
        for d, c in zip(*results):
            np.testing.assert_allclose(d, c, rtol=1e-6)
    x = nerve.randn(3, 4)
    idx = nerve.tensor([[-1, 0], [3, -4], [2, 2]])
    before = cuda.HOST_READS[0]
    dev = x.cuda().take_along_dim(idx.cuda(), 1)
    q = nerve.quantile(x.cuda(), 0.5, dim=1)
    assert cuda.HOST_READS[0] == before
    np.testing.assert_array_equal(dev.cpu().numpy(), x.take_along_dim(idx, 1).numpy())
    np.testing.assert_allclose(q.cpu().numpy(), nerve.quantile(x, 0.5, dim=1).numpy())


def test_a_loop_that_never_syncs_reads_its_flags_now_and_then(cuda):
    from nerve.device import _MAX_PENDING, _pending

    w = nerve.randn(4, 2).cuda()
    ids = nerve.tensor([1, 2]).cuda()
    before = cuda.HOST_READS[0]
    for _ in range(_MAX_PENDING + 1):
        F.embedding(ids, w)
    assert cuda.HOST_READS[0] - before == 1 and len(_pending) == 1
    nerve.cuda.synchronize()
    assert not _pending


def test_leaving_the_strict_backend_drops_its_checks():
    from nerve.device import _pending

    with strict_cuda():
        F.embedding(nerve.tensor([7]).cuda(), nerve.randn(4, 2).cuda())
        assert len(_pending) == 1
    assert not _pending


def test_on_the_cpu_the_errors_are_immediate():
    w = nerve.randn(10, 4)
    with pytest.raises(IndexError, match=r"embedding: index 12 is out of range.*\[0, 10\)"):
        F.embedding(nerve.tensor([1, 12]), w)
    with pytest.raises(IndexError, match="cross_entropy: target class 7 is out of range"):
        F.cross_entropy(nerve.randn(3, 5), nerve.tensor([0, 7, 1]))
    with pytest.raises(IndexError, match="cross_entropy: target class 9"):
        F.cross_entropy(nerve.randn(5), nerve.tensor(9))  # 0-d target: NumPy gives a scalar
    with pytest.raises(IndexError, match="gather: index 9 is out of range"):
        nerve.ones(2, 3).gather(1, nerve.tensor([[0, 9]]))
    with pytest.raises(ValueError, match="one_hot: class value 4 is out of range"):
        F.one_hot(nerve.tensor([1, 4]), 3)
    with pytest.raises(ValueError, match="one_hot: class values must be non-negative, got -1"):
        F.one_hot(nerve.tensor([-1, 2]))
    with pytest.raises(ValueError, match="binary_cross_entropy: every target value"):
        F.binary_cross_entropy(nerve.tensor([0.5]), nerve.tensor([2.0]))
    with pytest.raises(ValueError, match="offsets must start at 0"):
        F.embedding_bag(nerve.tensor([0, 1, 2]), nerve.randn(4, 2), nerve.tensor([0, 2, 1]))
    assert F.one_hot(nerve.tensor([0, 2])).shape == (2, 3)


def test_strict_wraps_out_of_bounds_indices_as_cupy():
    """CuPy wraps integer-array indices that are out of bounds (a kernel cannot raise), where
    NumPy raises; the strict stand-in does the same, so deferred checks are tested honestly."""
    from nerve import strict

    a = strict.arange(3)
    assert a[strict.asarray([1, 3])].tolist() == [1, 0]
    assert np.take(a, strict.asarray([4]), axis=0).tolist() == [1]
    assert a.take(strict.asarray([-4])).tolist() == [2]
    m = strict.arange(6).reshape(2, 3)
    assert np.take_along_axis(m, strict.asarray([[3], [5]]), 1).tolist() == [[0], [5]]
    assert m[..., strict.asarray([4])].tolist() == [[1], [4]]
    b = strict.zeros(3)
    b[strict.asarray([5])] = 1.0
    np.add.at(b, strict.asarray([3, 4]), 1.0)
    assert b.tolist() == [1.0, 1.0, 1.0]  # 5 -> 2; 3, 4 -> 0, 1
    with pytest.raises(IndexError):
        a[5]  # a plain int out of range raises, as in CuPy
