"""Every registered op: gradcheck (float64), parity with PyTorch (float32), dtype kept, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nerve
import nerve.nn.functional as nF
from nerve.autograd.registry import registered_ops
from nerve.testing import assert_close, gradcheck
from op_db import load

DB = load()
CASES = [
    pytest.param(name, s, id=f"{name}-{k}" + (f"-{s.desc}" if s.desc else ""))
    for name, samples in sorted(DB.samples.items())
    for k, s in enumerate(samples)
]


class _Lib:
    """``m`` in a sample: the framework's top level, with ``m.F`` its nn.functional."""

    def __init__(self, top, functional):
        self._top, self.F = top, functional

    def __getattr__(self, name):
        return getattr(self._top, name)


NERVE = _Lib(nerve, nF)


def _nerve_inputs(sample, dtype):
    out = []
    for i, x in enumerate(sample.inputs):
        a = np.asarray(x)
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        out.append(
            nerve.Tensor(a, requires_grad=a.dtype.kind == "f" and i in sample.grad_indices())
        )
    return out


def _floats(out):
    """The floating-point tensors among an op's outputs (nerve or torch)."""
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if _is_float(o)]


def _is_float(t) -> bool:
    if hasattr(t, "is_floating_point"):  # torch
        return t.is_floating_point()
    return isinstance(t, nerve.Tensor) and t.dtype.kind == "f"


def test_every_registered_op_has_samples():
    missing = sorted(set(registered_ops()) - set(DB.samples))
    assert not missing, f"registered ops without samples in tests/op_db: {missing}"
    unknown = sorted(set(DB.samples) - set(registered_ops()))
    assert not unknown, f"op_db names ops that are not registered: {unknown}"


@pytest.mark.parametrize("name,sample", CASES)
def test_gradcheck(name, sample):
    if not sample.grad_indices():
        pytest.skip("no differentiable input")
    gradcheck(
        lambda *xs: sample.fn(NERVE, *xs),
        *[np.asarray(x) for x in sample.inputs],
        wrt=list(sample.grad_indices()),
        atol=sample.grad_atol,
        rtol=sample.grad_rtol,
    )


@pytest.mark.parametrize("name,sample", CASES)
def test_float32_is_kept(name, sample):
    out = sample.fn(NERVE, *_nerve_inputs(sample, np.float32))
    outs = out if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if isinstance(o, nerve.Tensor) and o.dtype.kind == "f":
            assert o.dtype == np.float32, f"{name} returned {o.dtype} for float32 inputs"


@pytest.mark.parametrize("name,sample", CASES)
def test_matches_torch(name, sample, torch):
    if sample.torch_fn is False:
        pytest.skip("no torch twin")
    tfn = sample.torch_fn or sample.fn
    T = _Lib(torch, torch.nn.functional)
    grads = sample.grad_indices()

    xs = _nerve_inputs(sample, np.float32)
    ts = []
    for i, x in enumerate(sample.inputs):
        a = np.asarray(x)
        if a.dtype.kind == "f":
            ts.append(torch.tensor(a.astype(np.float32), requires_grad=i in grads))
        else:
            ts.append(torch.tensor(a))
    n_out = _floats(sample.fn(NERVE, *xs))
    t_out = _floats(tfn(T, *ts))
    assert len(n_out) == len(t_out)
    rng = np.random.default_rng(0)
    cot = [rng.standard_normal(o.shape).astype(np.float32) for o in n_out]
    for k, (n, t) in enumerate(zip(n_out, t_out)):
        assert_close(
            n._data, t.detach().numpy(), sample.rtol, sample.atol, msg=f"{name} output {k}: "
        )
    if not grads:
        return
    for n, v in zip(n_out, cot):
        if n.requires_grad:
            n.backward(nerve.Tensor(v), retain_graph=True)
    live = [(t, v) for t, v in zip(t_out, cot) if t.requires_grad]
    if live:
        torch.autograd.backward([t for t, _ in live], [torch.tensor(v) for _, v in live])
    for i in grads:
        ng = xs[i].grad
        tg = ts[i].grad
        if tg is None:
            assert ng is None or not np.any(ng._data), f"{name}: torch gives no grad for input {i}"
            continue
        assert ng is not None, f"{name}: nerve gave no gradient for input {i}"
        assert_close(
            ng._data, tg.numpy(), sample.rtol * 10, sample.atol * 10, msg=f"{name} grad {i}: "
        )


ERRORS = [pytest.param(e, id=e.desc or e.match[:30]) for e in DB.errors]


@pytest.mark.parametrize("case", ERRORS)
def test_error_messages(case):
    xs = [nerve.Tensor(np.asarray(x)) for x in case.inputs]
    with pytest.raises(case.error, match=case.match):
        case.fn(NERVE, *xs)
    assert re.compile(case.match)
