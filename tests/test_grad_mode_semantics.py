"""Grad-mode semantics checked against torch: inference_mode(False), enable_grad inside
inference_mode, the mode decorators on generator functions and without parentheses, and the
in-place clock under threads."""

import sys
import threading

import numpy as np
import pytest

import nerve
from nerve.autograd import grad_mode, inplace


def state(lib, x):
    """(grad mode, inference mode, whether ``x * 2`` records) in ``lib`` (nerve or torch)."""
    y = x * 2
    return lib.is_grad_enabled(), lib.is_inference_mode_enabled(), y.requires_grad


def leaves(torch):
    return nerve.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)


@pytest.mark.parametrize("outer", ["no_grad", "inference_mode", "enable_grad"])
def test_inference_mode_false_turns_grad_on_and_inference_off_as_torch(outer, torch):
    xn, xt = leaves(torch)
    seen = {}
    for name, lib, x in (("nerve", nerve, xn), ("torch", torch, xt)):
        with getattr(lib, outer)():
            before = state(lib, x)
            with lib.inference_mode(False):
                inside = state(lib, x)
            seen[name] = (before, inside, state(lib, x))
        seen[name] += (state(lib, x),)
    assert seen["nerve"] == seen["torch"]
    assert seen["torch"][1] == (True, False, True)


def test_inference_mode_sets_the_modes_of_the_thread_that_enters_it(torch):
    # Made under no_grad in this thread, entered in another: torch reads nothing at creation.
    with nerve.no_grad(), torch.no_grad():
        made = nerve.inference_mode(False), torch.inference_mode(False)
        made_on = nerve.inference_mode(), torch.inference_mode()
    out = {}

    def enter():
        for key, (n, t) in (("off", made), ("on", made_on)):
            with n, t:
                out[key] = (
                    (nerve.is_grad_enabled(), nerve.is_inference_mode_enabled()),
                    (
                        torch.is_grad_enabled(),
                        torch.is_inference_mode_enabled(),
                    ),
                )

    with nerve.no_grad(), torch.no_grad():
        thread = threading.Thread(target=enter)
        thread.start()
        thread.join(timeout=60)
    for key, want in (("off", (True, False)), ("on", (False, True))):
        assert out[key] == (want, want), key


def test_enable_grad_inside_inference_mode_records_nothing_as_torch(torch):
    xn, xt = leaves(torch)
    seen = {}
    for name, lib, x in (("nerve", nerve, xn), ("torch", torch, xt)):
        with lib.inference_mode():
            with lib.enable_grad():
                new = lib.ones(2, requires_grad=True)
                y = x * 2
                z = (new * x).sum()
                row = [state(lib, x), y.grad_fn is None, z.requires_grad]
            with lib.set_grad_enabled(True):
                row.append(state(lib, x))
            row.append(state(lib, x))
        row.append(state(lib, x))  # recording again once outside
        seen[name] = row
    assert seen["nerve"] == seen["torch"]
    assert seen["torch"][0] == (True, True, False)
    assert seen["torch"][-1] == (True, False, True)


@pytest.mark.parametrize(
    "make, caller",
    [
        ("no_grad()", None),
        ("enable_grad()", "no_grad"),
        ("inference_mode()", None),
        ("inference_mode(False)", "inference_mode"),
        ("set_grad_enabled(False)", None),
    ],
)
def test_mode_decorators_apply_to_each_resume_of_a_generator_as_torch(make, caller, torch):
    def run(lib):
        decorator = eval(f"lib.{make}")
        x = lib.ones(2, requires_grad=True)
        log = []

        @decorator
        def gen(n):
            try:
                for _ in range(n):
                    got = yield state(lib, x)
                    log.append(got)
            finally:
                log.append(("finally", state(lib, x)))
            return "done"

        def drive():
            it = gen(3)
            first = next(it)
            between = state(lib, x)  # the caller's mode while the generator waits
            second = it.send("a")
            it.close()
            rest = list(gen(2))
            return first, between, second, rest, log

        if caller is None:
            return drive()
        with getattr(lib, caller)():
            return drive()

    got, want = run(nerve), run(torch)
    assert got == want
    assert got[0] != got[1]  # the body ran under the decorator's mode, not the caller's


def test_a_decorated_generator_passes_values_exceptions_and_its_return_value():
    @nerve.no_grad()
    def gen():
        try:
            yield 1
        except KeyError as exc:
            yield ("caught", str(exc), nerve.is_grad_enabled())
        return "result"

    it = gen()
    assert next(it) == 1
    assert it.throw(KeyError("k")) == ("caught", "'k'", False)
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "result"
    assert nerve.is_grad_enabled()


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode"])
def test_mode_decorators_work_without_parentheses_as_torch(name, torch):
    def run(lib):
        @getattr(lib, name)
        def f(a, b=1):
            return a + b, lib.is_grad_enabled(), lib.is_inference_mode_enabled()

        with lib.no_grad():
            return f(1, b=2), f.__name__

    assert run(nerve) == run(torch)


def test_in_place_clock_loses_no_change_under_threads():
    # Every change takes its own tick and counts once. (Under the GIL of CPython 3.11 the
    # old ``clock += 1`` was not seen to lose one; a free-threaded build would.)
    arrays = [np.zeros(1) for _ in range(4)]
    per_thread = 20000
    start = grad_mode._state["inplace"]

    def bump_many(a):
        for _ in range(per_thread):
            inplace.bump(a)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=bump_many, args=(a,)) for a in arrays]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    inplace.bump(arrays[0])
    assert grad_mode._state["inplace"] == start + 4 * per_thread + 1
    assert [inplace.version(a) for a in arrays] == [per_thread + 1] + [per_thread] * 3


def test_in_place_out_and_item_assignment_inside_inference_mode_with_grad_on(torch):
    # The in-place rules follow recording, not grad mode: nothing records here, as in torch.
    def run(lib):
        v, out, x = lib.ones(1, requires_grad=True), lib.zeros(1), lib.zeros(3)
        with lib.inference_mode(), lib.enable_grad():
            v.add_(1.0)  # a leaf that requires grad: allowed, as under no_grad
            lib.add(v, v, out=out)
            x[0:1] = v
        return v.grad_fn is None, out.tolist(), x.requires_grad, x.tolist()

    assert run(nerve) == run(torch) == (True, [4.0], False, [2.0, 0.0, 0.0])


def test_set_grad_enabled_takes_only_a_bool_as_torch(torch):
    for bad in (1, None, np.bool_(True), lambda: None):
        with pytest.raises(TypeError, match="set_grad_enabled: mode must be a bool"):
            nerve.set_grad_enabled(bad)
        with pytest.raises(TypeError):
            torch.set_grad_enabled(bad)
    assert nerve.is_grad_enabled()  # a refused call changed nothing
