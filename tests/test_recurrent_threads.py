"""LSTM and GRU split over batch rows on two threads: bit for bit the one-thread result."""

import warnings

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.compiler import compile as nerve_compile
from nerve.nn import functional as F
from nerve.nn.functional import recurrent
from nerve.primitives import threads
from nerve.testing import assert_close

BATCH = 45  # odd: the two blocks differ in size


@pytest.fixture
def split_calls(monkeypatch):
    """The results of every parallel_rows call (True: it ran split); any step size splits."""
    monkeypatch.setattr(recurrent, "SPLIT_MIN_STEP", 0)
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


def _inputs(kind: str, steps: int = 7, hidden: int = 16, batch: int = BATCH, seed: int = 0):
    gates = {"lstm": 4, "gru": 3}[kind]
    rng = np.random.default_rng(seed)
    # (N, T, G*H) transposed to (T, N, G*H): the strided xw a batch_first layer passes
    xw = rng.standard_normal((batch, steps, gates * hidden), dtype=np.float32).transpose(1, 0, 2)
    return dict(
        xw=xw,
        h0=rng.standard_normal((batch, hidden), dtype=np.float32),
        c0=rng.standard_normal((batch, hidden), dtype=np.float32),
        w_hh=rng.standard_normal((gates * hidden, hidden), dtype=np.float32) * 0.3,
        b_hh=rng.standard_normal(gates * hidden, dtype=np.float32),
        g_out=rng.standard_normal((steps, batch, hidden), dtype=np.float32),
        g_h=rng.standard_normal((batch, hidden), dtype=np.float32),
    )


def _run(kind: str, arrays: dict, batch_sizes, with_g_out: bool):
    """Outputs and every input's gradient, as NumPy arrays."""
    names = ["xw", "h0", "c0", "w_hh"] if kind == "lstm" else ["xw", "h0", "w_hh", "b_hh"]
    leaves = [nerve.tensor(arrays[k], requires_grad=True) for k in names]
    if kind == "lstm":
        outs = F.lstm_sequence(*leaves, batch_sizes=batch_sizes)
    else:
        outs = F.gru_sequence(*leaves, batch_sizes=batch_sizes)
    loss = (outs[1] * nerve.tensor(arrays["g_h"])).sum()
    if with_g_out:
        loss = loss + (outs[0] * nerve.tensor(arrays["g_out"])).sum()
    loss.backward()
    return [o.numpy() for o in outs] + [leaf.grad.numpy() for leaf in leaves]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("with_g_out", [False, True])
def test_split_equals_one_thread_bit_for_bit(split_calls, kind, packed, with_g_out):
    arrays = _inputs(kind)
    # packed: lengths that end inside the first block, inside the second and at 0
    sizes = [BATCH, BATCH, BATCH - 5, BATCH // 2 + 1, BATCH // 2 - 4, 3, 0] if packed else None
    nerve.set_num_threads(1)
    want = _run(kind, arrays, sizes, with_g_out)
    assert split_calls == []  # off at one thread: the pool is not even asked
    nerve.set_num_threads(2)
    got = _run(kind, arrays, sizes, with_g_out)
    assert split_calls == [True, True]  # forward and backward each ran split
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_split_at_the_benchmark_shape_equals_one_thread(split_calls, kind):
    """Batch 128, hidden 128 (benchmarks/bench_compile.py's LSTM): blocks of 64 rows give
    OpenBLAS's GEMMs the same sums per row as all 128 rows (not so for every shape: hidden 50
    rounds differently, see the module docstring)."""
    arrays = _inputs(kind, steps=4, hidden=128, batch=128)
    nerve.set_num_threads(1)
    want = _run(kind, arrays, None, True)
    nerve.set_num_threads(2)
    got = _run(kind, arrays, None, True)
    assert split_calls == [True, True]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("batch,split", [(63, False), (64, True)])
def test_small_steps_do_not_split(split_calls, monkeypatch, batch, split):
    monkeypatch.setattr(recurrent, "SPLIT_MIN_STEP", 64 * 32)  # the (N, 4H) step block
    nerve.set_num_threads(2)
    rng = np.random.default_rng(0)
    xw = nerve.tensor(rng.standard_normal((5, batch, 32), dtype=np.float32), requires_grad=True)
    h0 = c0 = nerve.zeros(batch, 8)
    w = nerve.tensor(rng.standard_normal((32, 8), dtype=np.float32), requires_grad=True)
    F.lstm_sequence(xw, h0, c0, w)[0].sum().backward()
    assert split_calls == ([True, True] if split else [])
    assert xw.grad is not None and w.grad is not None


def _blas_threads():
    calls = threads._openblas_thread_count()
    if calls is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS nerve can steer")
    return calls[0]()


def test_blas_runs_one_thread_inside_the_split_and_gets_its_count_back(split_calls, monkeypatch):
    nerve.set_num_threads(2)
    before = _blas_threads()
    assert before == 2
    inside = []
    real = recurrent._lstm_forward_rows

    def spy(*args):
        inside.append(_blas_threads())
        real(*args)

    monkeypatch.setattr(recurrent, "_lstm_forward_rows", spy)
    arrays = _inputs("lstm")
    _run("lstm", arrays, None, True)
    assert split_calls == [True, True]
    assert inside == [1, 1]  # one call per block, both with BLAS on one thread
    assert _blas_threads() == before


def test_error_in_a_block_reaches_the_caller_and_restores_blas(split_calls, monkeypatch):
    nerve.set_num_threads(2)
    before = _blas_threads()

    def broken(*args):
        raise FloatingPointError("block failed")

    monkeypatch.setattr(recurrent, "_gru_forward_rows", broken)
    arrays = _inputs("gru")
    with pytest.raises(FloatingPointError, match="block failed"):
        _run("gru", arrays, None, False)
    assert _blas_threads() == before


class _RowModel(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = getattr(nn, kind)(12, 16, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        return self.head(h[-1])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_compiled_train_step_equals_eager_at_two_threads(split_calls, kind):
    nerve.set_num_threads(2)
    models = []
    for _ in range(2):
        nerve.manual_seed(4)
        models.append(_RowModel(kind))
    fast, slow = models
    loss_fn = nn.CrossEntropyLoss()
    opt_f = nerve.optim.Adam(fast.parameters())
    opt_s = nerve.optim.Adam(slow.parameters())
    rng = np.random.default_rng(2)
    xs = [nerve.tensor(rng.standard_normal((BATCH, 9, 12), dtype=np.float32)) for _ in range(3)]
    y = nerve.tensor(np.arange(BATCH) % 10)
    step = nerve_compile(fast, (xs[0],), mode="train", loss_fn=loss_fn, optimizer=opt_f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in xs:
            got = step(x, y)
            opt_s.zero_grad()
            want = loss_fn(slow(x), y)
            want.backward()
            opt_s.step()
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert True in split_calls
    for (name, a), (_, b) in zip(fast.state_dict().items(), slow.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_split_matches_torch(torch, split_calls, kind):
    nerve.set_num_threads(2)
    t = getattr(torch.nn, kind)(12, 16, batch_first=True)
    n = getattr(nn, kind)(12, 16, batch_first=True)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((BATCH, 9, 12)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_n, out_t = n(xn)[0], t(xt)[0]
    out_n.sum().backward()
    out_t.sum().backward()
    assert split_calls and all(split_calls)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in n.named_parameters():
        assert_close(p.grad, dict(t.named_parameters())[name].grad.numpy(), rtol=1e-4, atol=1e-5)
