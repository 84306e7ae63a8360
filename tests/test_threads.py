"""nerve.primitives.threads: memory-bound work split over threads, and OpenBLAS's idle spin."""

import os
import threading

import numpy as np
import pytest

import nerve
from nerve.primitives import activation, threads


@pytest.fixture
def two_threads():
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(before)
    threads.shutdown()


@pytest.fixture
def split_calls(monkeypatch):
    """The results of every parallel_rows call ReLU makes (True: it ran split)."""
    seen = []

    def spy(fn, arrays, min_size):
        done = threads.parallel_rows(fn, arrays, min_size)
        seen.append(done)
        return done

    monkeypatch.setattr(activation, "parallel_rows", spy)
    return seen


def _names_of_runners(arrays, min_size):
    names = []

    def fn(*blocks):
        names.append(threading.current_thread().name)
        np.tanh(blocks[0], out=blocks[1])

    done = threads.parallel_rows(fn, arrays, min_size)
    return done, names


def test_split_equals_one_thread_bit_for_bit(two_threads):
    x = np.random.default_rng(0).standard_normal((1001, 37), dtype=np.float32)
    out = np.empty_like(x)
    done, names = _names_of_runners((x, out), 0)
    assert done
    assert len(names) == 2 and any(n.startswith("nerve-split-") for n in names)
    np.testing.assert_array_equal(out, np.tanh(x))  # odd row count: uneven blocks covered


def test_below_threshold_or_off_runs_nothing(two_threads):
    x = np.ones((64, 64), np.float32)
    out = np.empty_like(x)
    assert threads.parallel_rows(lambda *b: pytest.fail("split"), (x, out), x.size + 1) is False
    threads.set_num_threads(1)
    assert threads.parallel_rows(lambda *b: pytest.fail("split"), (x, out), 0) is False


def test_unsplittable_inputs_are_refused(two_threads):
    x = np.ones((8, 4), np.float32)

    def fail(*blocks):
        pytest.fail("split")

    assert threads.parallel_rows(fail, (x, np.ones((7, 4), np.float32)), 0) is False
    assert threads.parallel_rows(fail, (np.ones((1, 9), np.float32),), 0) is False  # 1 row
    assert threads.parallel_rows(fail, (x, [1, 2, 3, 4, 5, 6, 7, 8]), 0) is False
    assert threads.flat_rows(x, np.ones((4, 8), np.float32).T) is None  # not C-contiguous
    assert threads.flat_rows(x, np.ones(31, np.float32)) is None


def test_relu_forward_and_backward_split_bit_for_bit(two_threads, split_calls):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((128, 32, 16, 16), dtype=np.float32)  # 2**20: the threshold
    data[0, 0, 0, :4] = [0.0, -0.0, np.inf, -np.inf]
    grad = rng.standard_normal(data.shape, dtype=np.float32)
    grad[0, 0, 0, 4] = np.inf

    def run():
        x = nerve.tensor(data, requires_grad=True)
        y = nerve.relu(x)
        y.backward(nerve.tensor(grad))
        return y.detach().numpy().copy(), x.grad.numpy().copy()

    y2, g2 = run()
    assert split_calls == [True]  # the backward ran split (the forward never splits)
    threads.set_num_threads(1)
    y1, g1 = run()
    assert split_calls[1:] == [False]
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_array_equal(g2, g1)
    assert np.array_equal(np.signbit(g2), np.signbit(g1))  # -0.0 kept where g < 0, out == 0


def test_relu_backward_split_in_channels_last_memory(two_threads, split_calls):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((64, 32, 24, 24), dtype=np.float32)
    grad = rng.standard_normal(data.shape, dtype=np.float32)

    def channels_last(a):
        return nerve.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2)

    x = channels_last(data).requires_grad_()
    nerve.relu(x).backward(channels_last(grad))  # g laid out as relu's output: split
    assert split_calls == [True]
    np.testing.assert_array_equal(x.grad.numpy(), grad * (data > 0))


def test_small_relu_stays_on_one_thread(two_threads, split_calls):
    x = nerve.tensor(np.ones((128, 256), np.float32), requires_grad=True)  # below the threshold
    nerve.relu(x).sum().backward()
    assert split_calls in ([False], [])  # backward checks the size before asking


def test_worker_error_reaches_the_caller_and_pool_survives(two_threads):
    x = np.ones((10, 3), np.float32)

    def boom(block):
        if threading.current_thread().name.startswith("nerve-split-"):
            raise RuntimeError("from the worker")

    with pytest.raises(RuntimeError, match="from the worker"):
        threads.parallel_rows(boom, (x,), 0)
    out = np.empty_like(x)
    assert threads.parallel_rows(lambda a, o: np.negative(a, out=o), (x, out), 0)
    np.testing.assert_array_equal(out, -x)


def test_concurrent_callers_all_get_right_results(two_threads):
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((256, 1024), dtype=np.float32) for _ in range(4)]
    results = [np.empty_like(a) for a in inputs]
    split = []

    def work(k):
        for _ in range(5):
            done = threads.parallel_rows(lambda a, o: np.tanh(a, out=o), (inputs[k], results[k]), 0)
            if not done:  # another caller held the pool: the caller does the work
                np.tanh(inputs[k], out=results[k])
            split.append(done)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in range(4):
        np.testing.assert_array_equal(results[k], np.tanh(inputs[k]))
    assert any(split)


def test_shutdown_stops_the_workers_and_they_restart(two_threads):
    x = np.ones((16, 16), np.float32)
    out = np.empty_like(x)
    assert threads.parallel_rows(lambda a, o: np.copyto(o, a), (x, out), 0)
    workers = [t for t in threading.enumerate() if t.name.startswith("nerve-split-")]
    assert workers
    threads.shutdown()
    assert not any(t.is_alive() for t in workers)
    assert threads.parallel_rows(lambda a, o: np.copyto(o, a), (x, out), 0)  # a fresh pool


def test_set_num_threads_checks_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads expects an integer n >= 1"):
            threads.set_num_threads(bad)


def test_blas_spin_can_be_changed_and_gemm_stays_right():
    with pytest.raises(ValueError, match="set_blas_spin expects an exponent in 4..30"):
        threads.set_blas_spin(3)
    a = np.random.default_rng(4).standard_normal((300, 200), dtype=np.float32)
    expected = a.astype(np.float64) @ a.T.astype(np.float64)
    try:
        steered = threads.set_blas_spin(4)
        if steered:
            assert threads.blas_spin() == 4
        np.testing.assert_allclose(a @ a.T, expected, rtol=1e-4, atol=1e-3)
    finally:
        threads.set_blas_spin(None)
    assert threads.blas_spin() is None
    np.testing.assert_allclose(a @ a.T, expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),  # overlapping windows, -inf padding
        dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True),
    ],
)
@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool_split_bit_for_bit(two_threads, kwargs, channels_last):
    from nerve.nn import functional as F

    rng = np.random.default_rng(5)
    data = rng.standard_normal((32, 32, 48, 48), dtype=np.float32)  # outputs above thresholds
    data[0, 0, :2, :2] = 1.0  # ties: the first offset wins
    data[1, 1, 5, 5] = np.nan
    grad = None

    def run():
        nonlocal grad
        x = nerve.tensor(data, requires_grad=True)
        if channels_last:
            x_in = nerve.tensor(np.ascontiguousarray(data.transpose(0, 2, 3, 1)))
            x_in = x_in.permute(0, 3, 1, 2).requires_grad_()
            x = x_in
        y, idx = F.max_pool2d(x, return_indices=True, **kwargs)
        if grad is None:
            grad = rng.standard_normal(y.shape, dtype=np.float32)
        y.backward(nerve.tensor(grad))
        with nerve.no_grad():
            y_eval = F.max_pool2d(nerve.tensor(data), **kwargs)
        return [a.numpy().copy() for a in (y, idx, x.grad, y_eval)]

    split = run()
    threads.set_num_threads(1)
    single = run()
    for a, b in zip(split, single, strict=True):
        np.testing.assert_array_equal(a, b)


def test_max_pool_split_is_taken_above_the_threshold(two_threads, monkeypatch):
    from nerve.nn import functional as F
    from nerve.nn.functional import pooling

    calls = []
    real = threads.parallel_rows

    def spy(fn, arrays, min_size):
        done = real(fn, arrays, min_size)
        calls.append(done)
        return done

    monkeypatch.setattr(threads, "parallel_rows", spy)
    monkeypatch.setattr(pooling, "parallel_rows", spy)
    x = nerve.tensor(np.ones((128, 32, 26, 26), np.float32), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert calls == [True, True]  # forward and backward
    calls.clear()
    with nerve.no_grad():
        F.max_pool2d(x, 2)
    assert calls == [True]  # inference too
    calls.clear()
    x = nerve.tensor(np.ones((4, 8, 26, 26), np.float32), requires_grad=True)  # small
    F.max_pool2d(x, 2).sum().backward()
    assert calls == [False]  # the backward asks; the forward checks the size itself


def test_training_steps_equal_with_and_without_the_split(two_threads, monkeypatch):
    from nerve import nn, optim
    from nerve.nn.functional import pooling

    splits = []
    real = threads.parallel_rows

    def spy(fn, arrays, min_size):
        done = real(fn, arrays, min_size)
        splits.append(done)
        return done

    for module in (threads, pooling, activation):
        monkeypatch.setattr(module, "parallel_rows", spy)

    rng = np.random.default_rng(6)
    x = nerve.tensor(rng.standard_normal((128, 1, 28, 28), dtype=np.float32))
    y = nerve.tensor(rng.integers(0, 10, 128))

    def train(n):
        threads.set_num_threads(n)
        nerve.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5408, 10)
        )
        opt = optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(2):
            opt.zero_grad()
            nn.CrossEntropyLoss()(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    split_params = train(2)
    assert splits.count(True) == 6  # per step: relu's and the pool's backward, the pool's forward
    for a, b in zip(split_params, train(1), strict=True):
        np.testing.assert_array_equal(a, b)


def test_nerve_set_num_threads_governs_the_split():
    from nerve import backend

    if threads.set_num_threads not in getattr(backend, "THREAD_HOOKS", []):
        pytest.skip("backend.set_num_threads has no hooks yet")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    try:
        nerve.set_num_threads(2)
        assert threads.get_num_threads() == 2
        nerve.set_num_threads(1)
        assert threads.get_num_threads() == 1
    finally:
        nerve.set_num_threads(max(blas, default=1))  # the session's BLAS threads, as before
        threads.set_num_threads(1)
        threads.shutdown()


def test_the_first_split_shortens_blas_spin_and_one_thread_restores_it(monkeypatch):
    # as if no other Python thread were alive (threads left by other tests would stop the
    # restart: tests/test_threads_safety.py checks that rule)
    monkeypatch.setattr(threads, "_no_other_threads", lambda pool: True)
    if not threads.set_blas_spin(None):
        pytest.skip("NumPy's BLAS is not an OpenBLAS that can be steered")
    x = np.ones((8, 8), np.float32)
    out = np.empty_like(x)
    try:
        threads.set_num_threads(2)
        assert threads.parallel_rows(np.copyto, (out, x), x.size + 1) is False
        assert threads.blas_spin() is None  # nothing split yet: OpenBLAS keeps its default
        assert threads.parallel_rows(np.copyto, (out, x), 0)
        assert threads.blas_spin() == threads.BLAS_SPIN_WHILE_SPLIT
    finally:
        threads.set_num_threads(1)
        threads.shutdown()
    assert threads.blas_spin() is None


def _split_in_child(queue):
    x = np.arange(64, dtype=np.float32).reshape(16, 4)
    out = np.empty_like(x)
    done = threads.parallel_rows(lambda a, o: np.negative(a, out=o), (x, out), 0)
    queue.put((done, bool(np.array_equal(out, -x))))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_pool(two_threads):
    import multiprocessing

    x = np.ones((4, 4), np.float32)
    assert threads.parallel_rows(lambda a, o: np.copyto(o, a), (x, np.empty_like(x)), 0)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_split_in_child, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == (True, True)  # the parent's workers do not exist there: fresh ones did it
