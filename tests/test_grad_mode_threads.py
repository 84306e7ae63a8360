"""Grad mode and inference mode belong to the thread (as torch's); anomaly mode to the process."""

import threading
import warnings

import numpy as np

import nerve
from nerve import nn


def in_thread(fn):
    """Run ``fn`` in a new thread and return what it returned (or raise what it raised)."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if "error" in box:
        raise box["error"]
    return box["value"]


def modes():
    return (
        nerve.is_grad_enabled(),
        nerve.autograd.is_inference_mode_enabled(),
        nerve.autograd.is_anomaly_enabled(),
    )


def test_a_new_thread_starts_with_grad_on_whatever_the_creator_set(torch):
    def probe_both():
        return modes(), (
            torch.is_grad_enabled(),
            torch.is_inference_mode_enabled(),
            torch.is_anomaly_enabled(),
        )

    with nerve.no_grad(), torch.no_grad():
        got, want = in_thread(probe_both)
    assert got == want == (True, False, False)
    with nerve.inference_mode(), torch.inference_mode():
        got, want = in_thread(probe_both)
    assert got == want == (True, False, False)
    nerve.set_grad_enabled(False)
    try:
        assert in_thread(nerve.is_grad_enabled) is True
        assert nerve.is_grad_enabled() is False
    finally:
        nerve.set_grad_enabled(True)


def test_anomaly_mode_holds_for_every_thread_as_in_torch(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that anomaly mode is slow
        with nerve.autograd.detect_anomaly(), torch.autograd.detect_anomaly():
            got = in_thread(
                lambda: (nerve.autograd.is_anomaly_enabled(), torch.is_anomaly_enabled())
            )
    assert got == (True, True)
    assert not nerve.autograd.is_anomaly_enabled()


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    # Two threads step in lock-step: A enters no_grad, then B records a graph and A runs ops
    # without one, then both leave; each sees only its own mode.
    entered, recorded, left = (threading.Barrier(2, timeout=30) for _ in range(3))
    w = nerve.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    x = nerve.tensor(np.ones((4, 2), dtype=np.float32))

    def thread_a():
        with nerve.no_grad():
            entered.wait()
            recorded.wait()
            y = x @ w
            inside = (nerve.is_grad_enabled(), y.requires_grad, y.grad_fn is None)
            left.wait()
        return inside, nerve.is_grad_enabled()

    def thread_b():
        entered.wait()  # A is inside no_grad now
        y = (x @ w).relu().sum()
        state = (nerve.is_grad_enabled(), y.requires_grad, y.grad_fn is not None)
        recorded.wait()
        left.wait()
        y.backward()
        return state, w.grad.numpy().copy()

    results = {}
    threads = [
        threading.Thread(target=lambda f=f, k=k: results.__setitem__(k, f()))
        for k, f in (("a", thread_a), ("b", thread_b))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert set(results) == {"a", "b"}, "a thread failed; see its traceback above"
    assert results["a"] == ((False, False, True), True)
    state, grad = results["b"]
    assert state == (True, True, True)
    np.testing.assert_array_equal(grad, np.full((2, 3), 4.0, dtype=np.float32))
    assert nerve.is_grad_enabled()


def test_a_thread_trains_while_the_caller_is_under_no_grad():
    net = nn.Linear(3, 2)
    x = nerve.tensor(np.ones((5, 3), dtype=np.float32))

    def step():
        loss = net(x).sum()
        loss.backward()
        return loss.requires_grad

    with nerve.no_grad():
        assert in_thread(step) is True
        assert not net(x).requires_grad
    np.testing.assert_array_equal(net.weight.grad.numpy(), np.full((2, 3), 5.0, np.float32))


def test_decorators_and_set_grad_enabled_set_only_the_calling_thread():
    @nerve.no_grad()
    def off():
        return nerve.is_grad_enabled(), in_thread(nerve.is_grad_enabled)

    assert off() == (False, True)
    with nerve.no_grad():
        assert in_thread(lambda: nerve.enable_grad()(nerve.is_grad_enabled)()) is True
        with nerve.set_grad_enabled(True):
            assert nerve.is_grad_enabled()
        assert not nerve.is_grad_enabled()


def test_in_place_check_still_sees_changes_made_by_another_thread():
    # The in-place clock is the process's: a saved array changed by another thread is caught.
    a = nerve.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = a * 1.0
    y = (b * b).sum()

    def change():
        with nerve.no_grad():
            b.add_(1.0)

    in_thread(change)
    try:
        y.backward()
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc)
    else:
        raise AssertionError("backward used a saved array another thread had changed")


class _ModeProbe(nerve.utils.data.Dataset):
    """Each sample is the modes its ``__getitem__`` ran under: (grad, inference)."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return nerve.tensor([nerve.is_grad_enabled(), nerve.is_inference_mode_enabled()])


def test_data_loader_worker_thread_builds_batches_under_callers_no_grad():
    # torch 2.13's forked workers (Linux's default start method) run __getitem__ under the
    # modes of the code that made the iterator (a fork copies the forking thread's state);
    # nerve's worker thread does the same, with num_workers or prefetch.
    def modes_seen(**options):
        loader = nerve.utils.data.DataLoader(_ModeProbe(), batch_size=2, **options)
        return {tuple(row) for batch in loader for row in batch.numpy().tolist()}

    for options in ({"num_workers": 1}, {"prefetch": 2}, {}):
        assert modes_seen(**options) == {(True, False)}, options
        with nerve.no_grad():
            assert modes_seen(**options) == {(False, False)}, options
        with nerve.inference_mode():
            assert modes_seen(**options) == {(False, True)}, options
        with nerve.inference_mode(), nerve.enable_grad():
            assert modes_seen(**options) == {(True, True)}, options
    assert nerve.is_grad_enabled() and not nerve.is_inference_mode_enabled()


def test_item_assignment_and_out_arguments_follow_the_calling_threads_mode():
    v = nerve.tensor(np.array([5.0], dtype=np.float32), requires_grad=True)

    def assign():
        x = nerve.zeros(3)
        x[0:1] = v  # differentiable only while this thread records
        return x.requires_grad

    with nerve.no_grad():
        assert in_thread(assign) is True
        assert assign() is False
    out = nerve.zeros(1)
    with nerve.no_grad():
        # a gradient-carrying input is refused with out= only where grad mode is on
        assert nerve.add(v, v, out=out) is out
        try:
            in_thread(lambda: nerve.add(v, v, out=out))
        except RuntimeError as exc:
            assert "out=" in str(exc)
        else:
            raise AssertionError("out= with an input that requires grad was allowed")
    np.testing.assert_array_equal(out.numpy(), [10.0])
