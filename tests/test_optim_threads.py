"""Optimizer steps split over two threads give the same bits as one thread.

``Optimizer.step`` runs an elementwise optimizer's whole step as shares of about equal element
count when ``nerve.set_num_threads(n > 1)`` is on, cutting the parameter that straddles a share
boundary into flat ranges. Each test runs the same parameters, gradients and options once on one
thread and once split, and compares parameters and every state entry bit for bit after each step
(the split threshold is lowered so that small problems split; a spy checks that they did).
"""

import numpy as np
import pytest

import nerve
from nerve import optim
from nerve.nn import Parameter
from nerve.optim import optimizer as optimizer_module
from nerve.primitives import threads

STEPS = 4
SHAPES = [(37, 11), (5,), (64, 9), (3, 4), (101,)]  # 407 + 5 + 576 + 12 + 101 elements


@pytest.fixture
def split(monkeypatch):
    """Two threads, a split threshold every test problem passes, and a log of the splits."""
    monkeypatch.setattr(optimizer_module, "SPLIT_MIN_ELEMENTS", 1)
    calls = []
    real = optimizer_module.parallel_blocks

    def spy(fn, rows):
        done = real(fn, rows)
        calls.append(done)
        return done

    monkeypatch.setattr(optimizer_module, "parallel_blocks", spy)
    before = threads.get_num_threads()
    yield calls
    threads.set_num_threads(before)


def make_params(dtype=np.float32, seed=0, shapes=SHAPES, transpose_first=False):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if transpose_first:
        arrays[0] = arrays[0].T  # a non-contiguous parameter: updated whole, never cut
    return [Parameter(a.copy() if not transpose_first else a) for a in arrays]


def set_grads(params, step, none_at=None):
    rng = np.random.default_rng(100 + step)
    for i, p in enumerate(params):
        g = rng.standard_normal(p.shape).astype(p._data.dtype)
        p.grad = None if none_at is not None and i == none_at(step) else nerve.tensor(g)


def run(make_opt, n_threads, dtype=np.float32, groups=None, none_at=None, transpose=False):
    """Parameters and state after each step, with ``n_threads`` threads."""
    threads.set_num_threads(n_threads)
    params = make_params(dtype, transpose_first=transpose)
    opt = make_opt(params if groups is None else groups(params))
    history = []
    for step in range(STEPS):
        set_grads(params, step, none_at)
        opt.step()
        history.append(
            (
                [p._data.copy() for p in params],
                [{k: np.copy(v) for k, v in opt.state[p].items()} for p in params],
            )
        )
    threads.set_num_threads(1)
    return history


def assert_same_bits(one, two):
    for step, ((p1, s1), (p2, s2)) in enumerate(zip(one, two, strict=True)):
        for i, (a, b) in enumerate(zip(p1, p2, strict=True)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"param {i}, step {step}"
        for i, (a, b) in enumerate(zip(s1, s2, strict=True)):
            assert a.keys() == b.keys(), f"state keys of param {i}, step {step}"
            for k in a:
                assert type(a[k]) is type(b[k]), f"state {k} of param {i}, step {step}"
                assert np.asarray(a[k]).tobytes() == np.asarray(b[k]).tobytes(), (
                    f"state {k} of param {i} differs at step {step}"
                )


CASES = {
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
    "adam_wd": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
    "adam_amsgrad_maximize": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, maximize=True),
    "adam_decoupled": lambda ps: optim.Adam(
        ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True
    ),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "adamw_amsgrad": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.3, amsgrad=True),
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1),
    "sgd_nesterov_wd": lambda ps: optim.SGD(
        ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "sgd_maximize": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5, maximize=True),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01),
    "rmsprop_centered_momentum": lambda ps: optim.RMSprop(
        ps, lr=0.01, centered=True, momentum=0.9, weight_decay=0.1
    ),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.1),
    "adamax": lambda ps: optim.Adamax(ps, lr=0.01, weight_decay=0.1),
    "adadelta": lambda ps: optim.Adadelta(ps, lr=1.0, maximize=True),
    "nadam": lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.1),
    "nadam_decoupled": lambda ps: optim.NAdam(
        ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True
    ),
    "lion": lambda ps: optim.Lion(ps, lr=0.001, weight_decay=0.1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_split_step_is_bit_identical(split, name):
    one = run(CASES[name], 1)
    assert split == []  # one thread: the split path is off
    two = run(CASES[name], 2)
    assert split == [True] * STEPS
    assert_same_bits(one, two)


@pytest.mark.parametrize("name", ["adam", "sgd_momentum", "rmsprop", "adagrad"])
def test_split_in_float64_with_groups_none_grads_and_a_transposed_param(split, name):
    def groups(ps):
        return [{"params": ps[:2], "lr": 0.05}, {"params": ps[2:]}]

    def none_at(step):
        return step % len(SHAPES)  # a different parameter has no gradient each step

    kwargs = dict(groups=groups, none_at=none_at, transpose=True)
    one = run(CASES[name], 1, np.float64, **kwargs)
    two = run(CASES[name], 2, np.float64, **kwargs)
    assert split == [True] * STEPS
    assert_same_bits(one, two)


def test_split_cuts_a_parameter_and_advances_its_step_once(split, monkeypatch):
    """The big first parameter straddles the boundary: its two ranges both run _update, its
    ``step`` counts each step once, and its state arrays keep the parameter's shape."""
    seen = []
    real = optim.Adam._update

    def counting(self, param, grad, state, group):
        seen.append(param.shape)
        real(self, param, grad, state, group)

    monkeypatch.setattr(optim.Adam, "_update", counting)
    monkeypatch.setattr(optim.Adam, "_elementwise_update", counting)
    threads.set_num_threads(2)
    params = make_params(shapes=[(200, 10), (7,), (30,)])
    opt = optim.Adam(params, lr=0.01)
    for step in range(3):
        set_grads(params, step)
        seen.clear()
        opt.step()
    assert len(seen) == 4  # the first parameter in two flat ranges, the others whole
    # 2037 elements: the first share takes 1018 of the first parameter's 2000
    assert sorted(seen) == sorted([(1018,), (982,), (7,), (30,)])
    assert opt.state[params[0]]["step"] == 3
    assert opt.state[params[0]]["exp_avg"].shape == (200, 10)
    saved = opt.state_dict()
    assert saved["state"][0]["step"] == 3


def test_first_step_updates_whole_parameters(split, monkeypatch):
    """Adam's state does not exist before the first step: nothing is cut then."""
    shapes = []
    real = optim.Adam._update

    def counting(self, param, grad, state, group):
        shapes.append(param.shape)
        real(self, param, grad, state, group)

    monkeypatch.setattr(optim.Adam, "_update", counting)
    monkeypatch.setattr(optim.Adam, "_elementwise_update", counting)
    threads.set_num_threads(2)
    params = make_params()
    opt = optim.Adam(params, lr=0.01)
    set_grads(params, 0)
    opt.step()
    assert sorted(shapes) == sorted(SHAPES)


def test_one_thread_below_the_threshold_or_pool_busy(split, monkeypatch):
    threads.set_num_threads(2)
    params = make_params()
    opt = optim.Adam(params, lr=0.01)
    monkeypatch.setattr(optimizer_module, "SPLIT_MIN_ELEMENTS", 10**6)
    set_grads(params, 0)
    opt.step()
    assert split == []  # too small: not even tried
    monkeypatch.setattr(optimizer_module, "SPLIT_MIN_ELEMENTS", 1)
    pool = threads._get_pool()
    assert pool.busy.acquire(blocking=False)
    try:
        set_grads(params, 1)
        opt.step()  # the pool is taken: the step runs on this thread
    finally:
        pool.busy.release()
    assert split == [False]
    assert opt.state[params[0]]["step"] == 2


def test_overridden_update_and_lbfgs_stay_on_one_thread(split):
    class Custom(optim.SGD):
        def _update(self, param, grad, state, group):  # reads across elements: must not cut
            param -= group["lr"] * grad / np.abs(grad).max()

    threads.set_num_threads(2)
    params = make_params()
    opt = Custom(params, lr=0.1)
    set_grads(params, 0)
    opt.step()
    lbfgs = optim.LBFGS(make_params(shapes=[(50,)]), lr=0.1, max_iter=2)
    w = lbfgs.param_groups[0]["params"][0]
    lbfgs.step(lambda: (lbfgs.zero_grad(), (w * w).sum().backward(), (w * w).sum())[2])
    assert split == []


def test_device_parameters_are_not_split(split):
    from nerve.testing import strict_cuda

    threads.set_num_threads(2)
    with strict_cuda():
        w = nerve.tensor(np.ones((50, 4), np.float32), device="cuda", requires_grad=True)
        opt = optim.Adam([w], lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        assert type(w._data) is not np.ndarray
        assert opt.state[w]["step"] == 2
    assert split == []


def test_default_threshold_splits_a_large_step_bit_identically(monkeypatch):
    """At the measured threshold: a 560K-element step splits (and is exact), the MLP's 235K not."""
    calls = []
    real = optimizer_module.parallel_blocks

    def spy(fn, rows):
        calls.append(real(fn, rows))
        return calls[-1]

    monkeypatch.setattr(optimizer_module, "parallel_blocks", spy)
    before = threads.get_num_threads()
    shapes = [(784, 700), (700,), (700, 10)]
    results = []
    try:
        for n in (1, 2):
            threads.set_num_threads(n)
            rng = np.random.default_rng(0)
            params = [Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]
            opt = optim.AdamW(params, lr=0.01, amsgrad=True)
            for step in range(3):
                set_grads(params, step)
                opt.step()
            results.append([p._data.tobytes() for p in params])
        assert calls == [True, True, True]
        small = make_params(shapes=[(784, 256), (256,), (256, 128), (128,), (128, 10), (10,)])
        opt = optim.Adam(small, lr=0.01)
        set_grads(small, 0)
        opt.step()
        assert len(calls) == 3  # below SPLIT_MIN_ELEMENTS: not even tried
    finally:
        threads.set_num_threads(before)
    assert results[0] == results[1]
