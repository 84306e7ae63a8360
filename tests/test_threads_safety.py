"""What a reviewer found unsafe in the split paths of nerve.primitives.threads, and the fixes:
no OpenBLAS restart while another thread may be in BLAS, a pool that survives Ctrl-C, split
optimizer steps that never write one buffer from two threads, a BLAS-count query that a split
elsewhere does not change, and recurrent blocks of at least SPLIT_MIN_ROWS rows."""

import threading
import time

import numpy as np
import pytest

import nerve
from nerve.nn import Parameter
from nerve.nn.functional import recurrent
from nerve.optim import optimizer as optimizer_module
from nerve.primitives import threads


@pytest.fixture
def two_threads():
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(before)
    threads.shutdown()


def test_no_openblas_restart_while_another_python_thread_is_alive(two_threads, monkeypatch):
    # blas_thread_shutdown_ while another thread is inside a GEMM hangs both (8 of 8 runs)
    calls = []
    monkeypatch.setattr(threads, "set_blas_spin", lambda e: calls.append(e) or True)
    monkeypatch.setattr(threads, "_spin_for_split", [False])
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert threads.parallel_rows(lambda a: None, (np.zeros((4, 2)),), 0)
        assert calls == [] and not threads._spin_for_split[0]  # tried again later
    finally:
        stop.set()
        other.join()
    # alone again (threads other tests left behind do not count here)
    pool = threads._get_pool()
    monkeypatch.setattr(threads.threading, "active_count", lambda: 1 + len(pool.workers))
    assert threads.parallel_rows(lambda a: None, (np.zeros((4, 2)),), 0)
    assert calls == [threads.BLAS_SPIN_WHILE_SPLIT]


def test_an_interrupted_wait_still_waits_for_every_worker(two_threads):
    pool = threads._get_pool()
    worker = pool.workers[0]
    real_done = worker.done

    class Interrupted:  # the first acquire is interrupted (Ctrl-C), as in a notebook
        calls = 0

        def acquire(self, *args):
            Interrupted.calls += 1
            if Interrupted.calls == 1:
                raise KeyboardInterrupt
            return real_done.acquire(*args)

        def release(self):
            real_done.release()

    worker.done = Interrupted()
    out = np.zeros(2)
    main = threading.current_thread()

    def fn(row):
        if threading.current_thread() is not main:
            time.sleep(0.2)  # the worker is still busy when the caller's wait is interrupted
        row[...] = 1.0

    try:
        with pytest.raises(KeyboardInterrupt):
            threads.parallel_rows(fn, (out,), 0)
        assert out.tolist() == [1.0, 1.0]  # the worker's row was written before the raise
    finally:
        worker.done = real_done
    out2 = np.zeros(2)
    assert threads.parallel_rows(fn, (out2,), 0) and out2.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("tie", ["twice", "tied"])
def test_a_parameter_listed_twice_or_tied_is_not_split(two_threads, monkeypatch, tie):
    monkeypatch.setattr(optimizer_module, "SPLIT_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(0)
    w = Parameter(nerve.tensor(rng.standard_normal((300, 20), dtype=np.float32)))
    other = w
    if tie == "tied":  # another parameter over the same memory (a view of w's buffer)
        other = Parameter(nerve.zeros(6000))
        other._data = w._data.reshape(-1)
    params = [w, other]
    for p in params:
        p.grad = nerve.ones(p.shape)
    opt = nerve.optim.SGD(params, lr=0.1, momentum=0.9)
    assert not opt._step_split()  # both would write one buffer from two threads


def test_an_update_set_on_the_instance_sees_whole_parameters(two_threads, monkeypatch):
    monkeypatch.setattr(optimizer_module, "SPLIT_MIN_ELEMENTS", 1)
    p = Parameter(nerve.zeros(1000, 100))
    p.grad = nerve.ones(1000, 100)
    opt = nerve.optim.SGD([p], lr=0.1)
    seen = []
    real = opt._update
    opt._update = lambda param, grad, state, group: (
        seen.append(param.shape) or real(param, grad, state, group)
    )
    opt.step()
    assert seen == [(1000, 100)]


def test_blas_query_keeps_the_outside_setting_during_a_split(two_threads):
    calls = threads._openblas_thread_count()
    if calls is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS nerve can steer")
    outside = threads.blas_single_threaded()
    with threads.single_blas_thread():
        assert calls[0]() == 1
        assert threads.blas_single_threaded() == outside  # a conv elsewhere chooses as before
        with threads.single_blas_thread():  # overlapping blocks: the last one restores
            pass
        assert calls[0]() == 1
    assert threads.blas_single_threaded() == outside


def test_small_batches_do_not_split_a_recurrence(two_threads, monkeypatch):
    monkeypatch.setattr(recurrent, "SPLIT_MIN_STEP", 0)
    ran = []
    monkeypatch.setattr(threads, "parallel_blocks", lambda fn, rows: ran.append(rows) or False)
    for batch in (4, 31):
        x = nerve.randn(5, batch, 4 * 8)
        nerve.nn.functional.lstm_sequence(
            x, nerve.zeros(batch, 8), nerve.zeros(batch, 8), nerve.randn(32, 8)
        )
    assert ran == []
    nerve.nn.functional.lstm_sequence(
        nerve.randn(5, 32, 32), nerve.zeros(32, 8), nerve.zeros(32, 8), nerve.randn(32, 8)
    )
    assert ran == [32]


def test_a_progress_bars_monitor_thread_does_not_keep_the_spin_long(two_threads):
    # tqdm's monitor (any progress bar starts it) sleeps and reads clocks, never BLAS
    stop = threading.Event()
    monitor = threading.Thread(target=stop.wait, name="tqdm_monitor")
    other = threading.Thread(target=stop.wait, name="someone-else")
    monitor.start()
    try:
        pool = threads._get_pool()
        assert threads._no_other_threads(pool) or any(
            t.name not in ("tqdm_monitor", "MainThread") and not t.name.startswith("nerve-split")
            for t in threading.enumerate()
        )  # threads other tests left alive may still count
        other.start()
        assert not threads._no_other_threads(pool)
    finally:
        stop.set()
        monitor.join()
        if other.is_alive() or other.ident is not None:
            other.join()
