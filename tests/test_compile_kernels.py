"""The plan's peepholes run the ops' own kernels: ReLU, tanh and sigmoid in place and Linear into
a kept buffer call the very functions the ops' forwards call (``relu_out``, ``tanh_out``,
``sigmoid_out`` in nerve.primitives.activation, ``linear_out`` in nerve.nn.functional.linear),
so a change to an op's math cannot leave the plan behind."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve import nn
from nerve.compiler import compile as nerve_compile
from nerve.compiler import plan as plan_module

# the modules themselves (nerve.nn.functional.linear is also the name of the function)
activation = importlib.import_module("nerve.primitives.activation")
linear_module = importlib.import_module("nerve.nn.functional.linear")

KERNELS = {"relu": "relu_out", "tanh": "tanh_out", "sigmoid": "sigmoid_out"}


def same(a, b) -> bool:
    a = a._data if hasattr(a, "_data") else a
    b = b._data if hasattr(b, "_data") else b
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


# ----------------------------------------------------------------------------- one kernel
def test_the_plans_kernels_are_the_ops_functions():
    assert {
        activation.ReLU: activation.relu_out,
        activation.Tanh: activation.tanh_out,
        activation.Sigmoid: activation.sigmoid_out,
    } == plan_module._IN_PLACE
    assert plan_module.linear_out is linear_module.linear_out


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_the_activation_ops_forward_calls_the_plans_kernel(monkeypatch, name):
    original = getattr(activation, KERNELS[name])
    calls = []

    def spy(x, out=None):
        calls.append(out)
        return original(x, out)

    monkeypatch.setattr(activation, KERNELS[name], spy)
    x = nerve.randn(3, 5)
    got = getattr(nerve, name)(x)
    assert calls == [None]  # the forward ran the kernel, into a new array
    assert same(got, original(x._data))


def test_the_linear_ops_forward_calls_the_plans_kernel(monkeypatch):
    original = linear_module.linear_out
    calls = []

    def spy(x2, weight, bias, out=None):
        calls.append(out)
        return original(x2, weight, bias, out)

    monkeypatch.setattr(linear_module, "linear_out", spy)
    x, w, b = nerve.randn(2, 3, 4), nerve.randn(5, 4), nerve.randn(5)
    got = F.linear(x, w, b)
    assert calls == [None]
    assert same(got, original(x._data.reshape(6, 4), w._data, b._data).reshape(2, 3, 5))


def _layouts(n: int) -> list:
    """Float32 arrays of ``n`` elements (with inf, nan, -0.0 and overflowing values) laid out
    as the ops meet them: contiguous, a dense transpose, a strided (not dense) view."""
    rng = np.random.default_rng(n)
    base = (rng.standard_normal(2 * n) * 30).astype(np.float32)
    base[:6] = [np.inf, -np.inf, np.nan, -0.0, 100.0, -100.0]
    rows = n // 8
    return [
        base[:n].reshape(rows, 8),
        base[:n].reshape(8, rows).T,
        base.reshape(rows, 16)[:, ::2],
    ]


@pytest.mark.parametrize("n", [64, 4096, 8192, 1 << 17])
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_into_any_array_or_in_place_equals_the_op(name, n):
    kernel = getattr(activation, KERNELS[name])
    op = getattr(nerve, name)
    with np.errstate(invalid="ignore"):
        for x in _layouts(n):
            want = op(nerve.Tensor(x))._data
            out = np.empty_like(x)
            assert kernel(x, out) is out and same(out, want)
            own = x.copy()  # a plan's dead intermediate, overwritten
            assert kernel(own, own) is own and same(own, want)


@pytest.mark.parametrize("rows", [1, 3, 64])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_kernel_into_a_buffer_equals_the_op(rows, bias):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 33), dtype=np.float32)
    w = rng.standard_normal((17, 33), dtype=np.float32)
    b = rng.standard_normal(17, dtype=np.float32) if bias else None
    want = F.linear(nerve.Tensor(x), nerve.Tensor(w), None if b is None else nerve.Tensor(b))
    buf = np.empty((rows, 17), np.float32)
    assert linear_module.linear_out(x, w, b, buf) is buf
    assert same(buf, want)


# ----------------------------------------------------------------------------- in a plan
class Net(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.a, self.b = nn.Linear(20, width), nn.Linear(width, width)
        self.c, self.d = nn.Linear(width, width), nn.Linear(width, 3)

    def forward(self, x):
        h = F.relu(self.a(x))
        h = F.tanh(self.b(h))
        h = F.sigmoid(self.c(h))
        return self.d(F.relu(h))


@pytest.mark.parametrize(
    ("batch", "width"),
    [(1, 16), (8, 16), (8, 1024), (64, 1024)],  # kept buffers; blocked ReLU; both, neither
)
def test_compiled_peepholes_equal_eager(batch, width):
    nerve.manual_seed(0)
    net = Net(width).eval()
    fast = nerve_compile(net, mode="inference")
    rng = np.random.default_rng(batch)
    for k in range(3):
        x = nerve.Tensor((rng.standard_normal((batch, 20)) * 3).astype(np.float32))
        got = fast(x)
        with nerve.no_grad():
            want = net(x)
        assert same(got, want), k
    ((plan, _),) = fast._cache.values()
    # the peepholes ran: every activation in place over its dead input
    assert len(plan.in_place) == 4
    kept = batch * width * 4 <= plan_module._KEPT_BUFFER_BYTES
    assert len(plan.kernels) == (3 if kept else 0)  # the last Linear's output is the result
    assert all(kernel is linear_module.linear_out for kernel, _ in plan.kernels.values())
    assert {kernel for kernel, _ in plan.in_place.values()} == {
        activation.relu_out,
        activation.tanh_out,
        activation.sigmoid_out,
    }
    assert fast.cache_info()["hits"] == 2
