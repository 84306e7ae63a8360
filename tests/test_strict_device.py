"""Every op_db sample on the strict "cuda" device (nerve.strict, a CPU stand-in for CuPy) against
the same sample on the CPU: the device-generic contract of issue 19, checked without a GPU.

For each sample (tests/op_db, as tests/test_ops_db.py walks it), in float32:
- the CPU run: inputs as CPU tensors, the op, backward with fixed random cotangents;
- the device run, inside ``nerve.testing.strict_cuda()`` with "cuda" the default device: the same
  inputs on the device, the same seed (the strict generator is NumPy's PCG64, so dropout masks
  agree), the op, backward with the same cotangents on the device.
Every output must live on the device with the CPU's dtype and values, and every input gradient
must live on the device with the CPU's values. An op that leaves the device (``np.asarray`` of a
device array, ``np.zeros`` mixed with device arrays, a NumPy scalar result) fails loudly here.

Run:   .venv/bin/python -m pytest tests/test_strict_device.py -q
One op: .venv/bin/python -m pytest tests/test_strict_device.py -q -k "conv2d"
On a GPU (benchmarks/gpu_check.sh does this): NERVE_DEVICE_BACKEND=cupy runs the same suite on
the real "cuda" device (CuPy) against the CPU; there KNOWN entries are plain xfails (CuPy is more
lenient than the strict backend) and the random ops (dropout) are compared by shape, dtype and
device only, as CuPy's generator is not NumPy's.

``KNOWN`` lists the samples (``op-k`` ids, as in the test ids) not yet device-clean; they are
strict xfails, so a sample that gets fixed fails until its id is removed from the list.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

import nerve
import nerve.nn.functional as nF
from nerve.testing import assert_close, strict_cuda
from op_db import load

DB = load()
REAL = os.environ.get("NERVE_DEVICE_BACKEND", "strict") == "cupy"


@contextlib.contextmanager
def device_backend():
    """The array module behind "cuda" for the device run: nerve.strict, or CuPy on a GPU."""
    if not REAL:
        with strict_cuda() as strict:
            yield strict
        return
    if not nerve.cuda.is_available():
        pytest.fail("NERVE_DEVICE_BACKEND=cupy, but nerve.cuda.is_available() is False")
    from nerve.device import backend_module

    yield backend_module("cuda")


# Samples not yet device-clean (emptied as ops become device-generic). Besides the ops' own
# host-side NumPy calls, samples that make tensors inside (``m.ones(3, 4)``) need the creation
# functions to honour the default device: primitives/creation.py's ``_made`` placing its array
# with ``nerve.device.to_device(arr, as_device(device))`` (or making it with
# ``nerve.device.array_module(device)``).
KNOWN: set[str] = set()


class _Lib:
    """``m`` in a sample: nerve's top level, with ``m.F`` its nn.functional."""

    def __init__(self, top, functional):
        self._top, self.F = top, functional

    def __getattr__(self, name):
        return getattr(self._top, name)


NERVE = _Lib(nerve, nF)


def _case(name: str, k: int, sample):
    case_id = f"{name}-{k}"
    marks = [pytest.mark.xfail(strict=not REAL, reason="not yet device-clean")]
    return pytest.param(
        name,
        sample,
        id=case_id + (f"-{sample.desc}" if sample.desc else ""),
        marks=marks if case_id in KNOWN else [],
    )


CASES = [
    _case(name, k, s) for name, samples in sorted(DB.samples.items()) for k, s in enumerate(samples)
]


def _inputs(sample, place):
    """The sample's inputs as leaf tensors (float ones float32) made by ``place(array)``."""
    grads = sample.grad_indices()
    out = []
    for i, x in enumerate(sample.inputs):
        a = np.asarray(x)
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        t = nerve.Tensor._wrap(place(a))
        if a.dtype.kind == "f" and i in grads:
            t.requires_grad_(True)
        out.append(t)
    return out


def _tensors(out) -> list:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, nerve.Tensor)]


def _run(sample, place):
    """Forward, then backward of every float output that requires grad, with fixed cotangents.

    Returns (outputs, gradients of the inputs that take one)."""
    nerve.manual_seed(0)
    xs = _inputs(sample, place)
    outs = _tensors(sample.fn(NERVE, *xs))
    rng = np.random.default_rng(0)
    for o in outs:
        if o.dtype.kind == "f" and o.requires_grad:
            v = rng.standard_normal(o.shape).astype(o.dtype)
            o.backward(nerve.Tensor._wrap(place(v)), retain_graph=True)
    return outs, [xs[i].grad for i in sample.grad_indices()]


@pytest.mark.parametrize("name,sample", CASES)
def test_op_on_strict_device_matches_cpu(name, sample):
    cpu_outs, cpu_grads = _run(sample, lambda a: a)
    with device_backend() as xp, nerve.device("cuda"):
        dev_outs, dev_grads = _run(sample, xp.asarray)
        values = not (REAL and "dropout" in f"{name} {sample.desc}")  # see the docstring
        assert len(dev_outs) == len(cpu_outs), f"{name}: {len(dev_outs)} outputs on the device"
        for k, (d, c) in enumerate(zip(dev_outs, cpu_outs)):
            assert type(d._data) is xp.ndarray, (
                f"{name} output {k} left the device: {type(d._data).__name__}"
            )
            assert d.dtype == c.dtype, f"{name} output {k}: {d.dtype} on the device, {c.dtype}"
            assert d.shape == c.shape, f"{name} output {k}: {d.shape} on the device, {c.shape}"
            if values:
                assert_close(d, c, sample.rtol, sample.atol, msg=f"{name} output {k}: ")
        for i, (d, c) in enumerate(zip(dev_grads, cpu_grads)):
            if c is None:
                assert d is None or not np.any(xp.asnumpy(d._data)), f"{name}: grad {i}"
                continue
            assert d is not None, f"{name}: no gradient for input {i} on the device"
            assert type(d._data) is xp.ndarray, (
                f"{name} gradient {i} left the device: {type(d._data).__name__}"
            )
            if values:
                assert_close(d, c, sample.rtol * 10, sample.atol * 10, msg=f"{name} grad {i}: ")


def test_known_list_names_real_samples():
    ids = {f"{name}-{k}" for name, samples in DB.samples.items() for k in range(len(samples))}
    stale = sorted(KNOWN - ids)
    assert not stale, f"KNOWN names samples op_db does not have: {stale}"


# ---------------------------------------------------------------------------- the strict backend
def test_strict_arrays_refuse_what_cupy_refuses():
    from nerve import strict

    a = strict.asarray([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="numpy.add: a host numpy.ndarray"):
        a + np.ones(2)
    with pytest.raises(TypeError, match="numpy.concatenate: a host numpy.ndarray"):
        np.concatenate([a, np.ones((1, 2))])
    with pytest.raises(TypeError, match="ndarray.clip: a host"):
        a.clip(np.zeros(2), 3.0)
    assert type(a + 1) is strict.StrictArray and type(np.exp(a)) is strict.StrictArray
    total = a.sum()
    assert type(total) is strict.StrictArray and total.ndim == 0  # no NumPy scalar
    assert float(total) == 10.0 and a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(strict.asnumpy(a), [[1.0, 2.0], [3.0, 4.0]])
    assert type(a.get()) is np.ndarray
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = np.zeros((2, 2))  # CuPy copies a host array in only through a[:]
    a[:] = np.zeros((2, 2))
    a[0] = np.float64(5.0)
    assert bool((a > np.asarray(4.0)).any())  # a 0-d host array in a comparison is a number


def test_strict_views_know_their_base_and_ufunc_methods_work():
    from nerve import strict

    a = strict.zeros((3, 4))
    row = a[1]
    assert row.base is a and a.T.base is a and a.base is None
    row += 2  # through the view, in place
    assert float(a.sum()) == 8.0
    b = strict.zeros(3)
    np.add.at(b, strict.asarray([0, 0, 2]), 1.0)
    np.testing.assert_array_equal(strict.asnumpy(b), [2.0, 0.0, 1.0])
    assert float(np.add.reduce(strict.arange(4))) == 6
    first = strict.random.default_rng(5).standard_normal(3)
    again = strict.random.default_rng(5).standard_normal(3)
    np.testing.assert_array_equal(strict.asnumpy(first), strict.asnumpy(again))
