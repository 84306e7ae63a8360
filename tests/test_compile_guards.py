"""nerve.compile's guards: each case where a plan once differed from eager without a warning
(or damaged the caller's data) now gives eager's result, or eager with one warning."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.autograd.function import Function
from nerve.compiler import compile as nerve_compile
from nerve.compiler.plan import _IN_PLACE, _in_place_step
from nerve.nn import module as nn_module
from nerve.primitives.activation import ReLU


def same(a, b) -> bool:
    a = a._data if hasattr(a, "_data") else a
    b = b._data if hasattr(b, "_data") else b
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def inference(model, *example):
    return nerve_compile(model, example or None, mode="inference")


def eager(model, *args):
    with nerve.no_grad():
        return model(*args)


# ----------------------------------------------------------------------------- A1-A3: memory
@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Unflatten(1, (2, 4))),
        lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Flatten(0)),
        lambda: nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Unflatten(1, (2, 4))),
    ],
    ids=["relu_unflatten", "tanh_flatten", "sigmoid_unflatten"],
)
def test_returned_view_not_overwritten_by_next_call(make):
    nerve.manual_seed(0)
    m = make().eval()
    x1, x2 = nerve.randn(1, 4), nerve.randn(1, 4)  # batch 1: the kept-buffer path
    c = inference(m, x1)
    r1 = c(x1)
    kept = r1._data.copy()
    r2 = c(x2)
    assert np.array_equal(r1._data, kept)
    assert same(r1, eager(m, x1)) and same(r2, eager(m, x2))
    assert c.cache_info()["hits"] == 2


def test_plan_never_writes_into_callers_input():
    nerve.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(24, 3)).eval()
    c = inference(m, nerve.randn(2, 4, 6).transpose(1, 2))  # recorded on a non-contiguous batch
    x = nerve.randn(2, 6, 4)  # contiguous: Flatten now gives a view of it
    before = x._data.copy()
    got = c(x)
    assert np.array_equal(x._data, before)
    assert same(got, eager(m, x))
    got = c(x)  # the hit path too
    assert np.array_equal(x._data, before)
    assert same(got, eager(m, x))


def test_in_place_step_never_writes_into_an_input_view():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    before = x.copy()

    def forward(vals):
        vals[2] = np.maximum(vals[1], 0)

    step = _in_place_step(_IN_PLACE[ReLU], 1, 2, (1,), forward)
    vals = [None, x.reshape(-1), None, [x]]  # the input's slot already freed; a view of it
    step(vals)
    assert np.array_equal(x, before) and np.array_equal(vals[2], np.maximum(before, 0).ravel())
    own = np.array([-1.0, 2.0], np.float32)
    vals = [x, own, None, [x]]
    step(vals)
    assert vals[2] is own and np.array_equal(own, [0.0, 2.0])  # its own array: in place


def test_inputs_aliased_at_record_time():
    class Sub(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, a, b):
            return self.fc(a) - b

    nerve.manual_seed(0)
    m = Sub().eval()
    x, y = nerve.randn(4, 3), nerve.randn(4, 3)
    c = inference(m, x, x)  # one array twice at record time
    assert same(c(x, y), eager(m, x, y))
    assert c.cache_info()["hits"] == 1


# ----------------------------------------------------------------------------- A6/A9/A10: keys
def test_scalar_type_in_key():
    class Scale(nn.Module):
        def forward(self, x, k):
            return x * k

    m = Scale()
    c = inference(m)
    x = nerve.tensor(np.array([1, 2, 3]))
    assert same(c(x, 2), eager(m, x, 2))
    assert same(c(x, 2.0), eager(m, x, 2.0))
    assert c.cache_info()["misses"] == 2


def test_attribute_change_rerecords():
    nerve.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.5)).train()
    x = nerve.randn(4, 8)
    c = inference(m, x)
    m[1].p = 0.0
    assert same(c(x), eager(m, x))
    bn = nn.BatchNorm1d(3).train()
    xb = nerve.randn(5, 3)
    cb = inference(bn, xb)
    bn.momentum = 0.5
    mean = bn.running_mean._data.copy()
    cb(xb)
    want = 0.5 * mean + 0.5 * xb._data.mean(0)
    np.testing.assert_allclose(bn.running_mean._data, want, rtol=1e-6)


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.s = np.array([1.0, 2.0], np.float32)

    def forward(self, x):
        return x * nerve.tensor(self.s)


def test_an_attribute_changed_in_place_and_assigned_again_rerecords():
    # ``m.s *= 10`` assigns the same (changed) array object: still a change the plan must see
    m = _Scaled()
    x = nerve.ones(2)
    c = inference(m, x)
    m.s *= 10
    assert same(c(x), eager(m, x)) and c.cache_info()["misses"] == 2


def test_structure_version_bumps():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
    x = nerve.randn(1, 2)
    v = nn_module.STRUCTURE_VERSION[0]
    m(x)
    m.eval()
    m[0].bias = m[0].bias  # a Parameter set: counted
    v1 = nn_module.STRUCTURE_VERSION[0]
    assert v1 > v
    m[0].cache = x  # a plain Tensor attribute is data, not structure
    assert nn_module.STRUCTURE_VERSION[0] == v1
    for change in (
        lambda: setattr(m[1], "p", 0.2),
        lambda: m.register_forward_pre_hook(lambda mod, args: None).remove(),
        lambda: m.double(),
        lambda: m.to("cpu"),
    ):
        before = nn_module.STRUCTURE_VERSION[0]
        change()
        assert nn_module.STRUCTURE_VERSION[0] > before


def test_hook_removed_after_compile_gives_plans_back():
    nerve.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).eval()
    x = nerve.randn(2, 4)
    handle = m[0].register_forward_hook(lambda mod, args, out: None)
    with pytest.warns(UserWarning, match="hooks"):
        c = inference(m, x)
    handle.remove()
    assert same(c(x), eager(m, x)) and same(c(x), eager(m, x))
    assert c.cache_info()["hits"] == 1


def test_replaced_parameter_and_submodule():
    nerve.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).eval()
    x = nerve.randn(2, 4)
    c = inference(m, x)
    m[0].weight = nn.Parameter(nerve.randn(4, 4))
    assert same(c(x), eager(m, x))
    m[0] = nn.Linear(4, 4)
    assert same(c(x), eager(m, x))
    m.double()
    with pytest.raises(TypeError, match="dtype"):
        c(x)  # as eager: float32 input, float64 weights


def test_unfreeze_after_recording_trains():
    def make():
        nerve.manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        m[0].requires_grad_(False)
        return m, nerve.optim.SGD(m.parameters(), lr=0.1)

    x, y = nerve.randn(6, 4), nerve.tensor(np.array([0, 1, 0, 1, 1, 0]))
    m1, o1 = make()
    m2, o2 = make()
    step = nerve_compile(m1, (x,), mode="train", loss_fn=nn.CrossEntropyLoss(), optimizer=o1)
    lf = nn.CrossEntropyLoss()

    def eager_step():
        o2.zero_grad()
        lf(m2(x), y).backward()
        o2.step()

    for i in range(5):
        if i == 2:
            m1[0].requires_grad_(True)
            m2[0].requires_grad_(True)
        step(x, y)
        eager_step()
    assert same(m1[0].weight, m2[0].weight)
    assert m1[0].weight.grad is not None


def test_input_requiring_grad_gets_its_gradient():
    nerve.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3))
    y = nerve.tensor(np.array([0, 2]))
    step = nerve_compile(m, mode="train", loss_fn=nn.CrossEntropyLoss())
    step(nerve.randn(2, 4), y)  # a plan exists for this shape
    x = nerve.randn(2, 4).requires_grad_()
    step(x, y)
    x2 = nerve.tensor(x._data.copy(), requires_grad=True)
    nn.CrossEntropyLoss()(m(x2), y).backward()
    assert x.grad is not None and same(x.grad, x2.grad)


# ----------------------------------------------------------------------------- A7/A8/A4/A5
def test_forward_hooks_refused_and_side_effects_from_real_input():
    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            w = self.fc(x).softmax(-1)
            self.last_weights = w
            return w

    nerve.manual_seed(0)
    m = Attn().eval()
    x = nerve.randn(2, 4)
    c = inference(m, x)
    assert same(m.last_weights, eager(m, x))  # the real input's, not the check's
    seen = []
    m.fc.register_forward_hook(lambda mod, args, out: seen.append(out))
    with pytest.warns(UserWarning, match="forward hooks"):
        got = c(x)
    assert len(seen) == 1 and same(got, eager(m, x))


def test_parameter_read_as_python_number_falls_back():
    class Temp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.log_t = nn.Parameter(nerve.zeros(()))

        def forward(self, x):
            return self.fc(x) * float(np.exp(self.log_t.item())) + self.log_t * x[:, :3]

    def make():
        nerve.manual_seed(0)
        m = Temp()
        return m, nerve.optim.SGD(m.parameters(), lr=0.5)

    x, y = nerve.randn(5, 4), nerve.tensor(np.array([0, 1, 2, 0, 1]))
    m1, o1 = make()
    m2, o2 = make()
    step = nerve_compile(m1, (x,), mode="train", loss_fn=nn.CrossEntropyLoss(), optimizer=o1)
    with pytest.warns(UserWarning, match="parameter"):
        for _ in range(3):
            l1 = step(x, y)
            o2.zero_grad()
            l2 = nn.CrossEntropyLoss()(m2(x), y)
            l2.backward()
            o2.step()
    assert same(l1, l2)


def test_constant_positions_not_taken_for_the_input_at_batch_1():
    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(50, 8), nn.Embedding(16, 8)

        def forward(self, ids):
            return self.tok(ids) + self.pos(nerve.arange(ids.shape[1]))

    nerve.manual_seed(0)
    m = TinyGPT().eval()
    c = inference(m, nerve.arange(6).unsqueeze(0))  # the usual dummy prompt 0..5
    ids = nerve.tensor(np.array([[7, 3, 9, 1, 1, 2]]))
    assert same(c(ids), eager(m, ids))


def test_numpy_escape_on_int_input_at_batch_1():
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, ids):
            mask = nerve.tensor((ids._data != 0).astype(np.float32))  # NumPy on the array
            return (self.emb(ids) * mask.unsqueeze(-1)).sum(1)

    nerve.manual_seed(0)
    m = Bag().eval()
    with pytest.warns(UserWarning, match="cannot see"):
        # batch 1 with padding: the flat roll moves the padding, so the check sees the mask
        # (an example without padding cannot show it: a documented limit)
        c = inference(m, nerve.tensor(np.array([[3, 4, 0]])))
    x = nerve.tensor(np.array([[3, 0, 0]]))
    assert same(c(x), eager(m, x))


def test_random_tensor_outside_ops_falls_back():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            h = self.fc(x)
            return h + nerve.randn_like(h)

    nerve.manual_seed(0)
    m = Noisy().eval()
    x = nerve.randn(2, 4)
    with pytest.warns(UserWarning, match="random"):
        c = inference(m, x)
    nerve.manual_seed(3)
    got = c(x)
    nerve.manual_seed(3)
    assert same(got, eager(m, x))


# ----------------------------------------------------------------------------- B1/B2: threads
class _Slow(nn.Module):
    def __init__(self, delay):
        super().__init__()
        self.fc, self.delay = nn.Linear(4, 4), delay

    def forward(self, x):
        y = self.fc(x)
        time.sleep(self.delay)
        return y.relu()


def test_overlapping_recordings_restore_function_apply():
    real = Function.__dict__["apply"].__func__
    a, b = _Slow(0.2).eval(), _Slow(0.3).eval()
    ca, cb = inference(a), inference(b)
    x = nerve.randn(2, 4)
    # the main thread's grad mode is put back by its own context manager, entered first and
    # left last (each recording thread's no_grad is its own: grad mode is per thread)
    with warnings.catch_warnings(), nerve.enable_grad():
        warnings.simplefilter("error")
        ta = threading.Thread(target=lambda: ca(x))
        tb = threading.Thread(target=lambda: cb(x))
        ta.start()
        time.sleep(0.05)
        tb.start()
        ta.join()
        tb.join()
    assert Function.__dict__["apply"].__func__ is real
    assert ca.cache_info()["misses"] == cb.cache_info()["misses"] == 1
    assert same(ca(x), eager(a, x)) and ca.cache_info()["hits"] == 1


def test_other_threads_ops_do_not_break_a_recording():
    stop, running = [], threading.Event()

    def background():
        t = nerve.randn(16, 16)
        # grad mode is process-wide in nerve (torch's is per thread): this thread enters
        # no_grad first and leaves it last, so the main thread's mode comes back intact
        with nerve.no_grad():
            running.set()
            while not stop:
                t.relu()

    th = threading.Thread(target=background)
    th.start()
    running.wait()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            c = inference(_Slow(0.1).eval(), nerve.randn(2, 4))
    finally:
        stop.append(True)
        th.join()
    assert c.cache_info()["fallbacks"] == 0 and not c.fallback_reasons


def test_warm_compiled_module_inside_a_recording():
    nerve.manual_seed(0)
    inner = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).eval()
    cin = inference(inner)
    x = nerve.randn(3, 4)
    cin(x)
    cin(x)  # warm: its plan would bypass the outer recorder

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(cin(x))

    outer = Outer().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cout = inference(outer, x)
    x2 = nerve.randn(3, 4)
    with nerve.no_grad():
        want = outer.head(inner(x2))  # eager throughout
    assert same(cout(x2), want) and cout.cache_info()["hits"] == 1


# ----------------------------------------------------------------------------- D1: torch's door
def test_torch_style_training_loop_and_delegation():
    def make():
        nerve.manual_seed(0)
        m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        return m, nerve.optim.SGD(m.parameters(), lr=0.1)

    x, y = nerve.randn(5, 4), nerve.tensor(np.array([0, 1, 0, 1, 1]))
    m1, o1 = make()
    m2, o2 = make()
    cm = nerve.compile(m1, mode="reduce-overhead", fullgraph=True, dynamic=False, backend="x")
    for _ in range(3):
        for model, opt in ((cm, o1), (m2, o2)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    assert same(m1[0].weight, m2[0].weight)
    assert cm._orig_mod is m1 and len(list(cm.parameters())) == 4
    assert list(cm.state_dict()) == list(m1.state_dict())
    assert cm.eval() is cm and not m1.training
    with nerve.no_grad():
        got = cm(x)
        got = cm(x)
    assert same(got, eager(m2.eval(), x)) and cm.cache_info()["hits"] == 1
    assert nerve.compile(m1, disable=True) is m1
    with pytest.raises(ValueError, match="mode"):
        nerve.compile(m1, mode="fastest")


def test_keyword_arguments_are_keyed():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x, mask=None, scale=1.0):
            h = self.fc(x)
            return h * scale if mask is None else h * mask * scale

    nerve.manual_seed(0)
    m = Masked().eval()
    c = inference(m)
    x, mask = nerve.randn(2, 4), nerve.ones(2, 4)
    assert same(c(x, mask=mask), eager(m, x, mask))
    assert same(c(x, mask=mask, scale=2), eager(m, x, mask, 2))
    assert same(c(x, mask=mask), eager(m, x, mask))
    assert c.cache_info() == {**c.cache_info(), "misses": 2, "hits": 1}


def test_a_plan_is_not_replayed_inside_autocast_nor_spoiled_by_it():
    # Inside a nerve.autocast region the ops cast their inputs: the call runs eagerly (as
    # torch.compile guards on autocast), and the signature keeps its plan outside the region.
    m = nn.Sequential(nn.Linear(8, 4)).eval()
    x = nerve.randn(2, 8)
    c = inference(m, x)
    with nerve.autocast("cpu", dtype=nerve.float16):
        inside = c(x)
        assert same(inside, eager(m, x)) and inside.dtype == np.float16
    c2 = inference(m)
    with nerve.autocast("cpu", dtype=nerve.float16):
        c2(x)
    assert c2(x).dtype == np.float32  # recorded now, outside the region
    c2(x)
    assert c2.cache_info()["hits"] == 1 and c2.cache_info()["misses"] == 1
