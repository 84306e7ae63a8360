"""batch_norm and instance_norm update their running statistics in place exactly as torch does."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve.testing import assert_close


def _stats(c, seed=0):
    g = np.random.default_rng(seed)
    return g.uniform(-1, 1, c).astype(np.float32), g.uniform(0.5, 2, c).astype(np.float32)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 5, 6), (2, 3, 2, 3, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_running_stats_match_torch(torch, shape, momentum, affine):
    c = shape[1]
    rm, rv = _stats(c)
    n_rm, n_rv = nerve.tensor(rm), nerve.tensor(rv)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    g = np.random.default_rng(1)
    w = g.uniform(0.5, 1.5, c).astype(np.float32) if affine else None
    b = g.uniform(-1, 1, c).astype(np.float32) if affine else None
    for step in range(3):  # several steps: the averages compound
        x = (g.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        y = F.batch_norm(
            nerve.tensor(x),
            n_rm,
            n_rv,
            None if w is None else nerve.tensor(w),
            None if b is None else nerve.tensor(b),
            training=True,
            momentum=momentum,
        )
        ty = torch.nn.functional.batch_norm(
            torch.tensor(x),
            t_rm,
            t_rv,
            None if w is None else torch.tensor(w),
            None if b is None else torch.tensor(b),
            training=True,
            momentum=momentum,
        )
        assert_close(y._data, ty.numpy(), 1e-5, 1e-5, msg=f"output at step {step}: ")
        assert_close(n_rm._data, t_rm.numpy(), 1e-6, 1e-6, msg=f"running_mean at step {step}: ")
        assert_close(n_rv._data, t_rv.numpy(), 1e-6, 1e-6, msg=f"running_var at step {step}: ")
    assert n_rm.dtype == np.float32 and n_rv.dtype == np.float32


def test_batch_norm_eval_reads_and_keeps_running_stats(torch):
    rm, rv = _stats(4, seed=2)
    n_rm, n_rv = nerve.tensor(rm), nerve.tensor(rv)
    x = np.random.default_rng(3).standard_normal((5, 4, 3)).astype(np.float32)
    y = F.batch_norm(nerve.tensor(x), n_rm, n_rv, training=False)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv))
    assert_close(y._data, ty.numpy(), 1e-5, 1e-6)
    assert np.array_equal(n_rm._data, rm) and np.array_equal(n_rv._data, rv)


def test_batch_norm_updates_plain_arrays_in_place():
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    x = nerve.randn(16, 3) * 2 + 5
    F.batch_norm(x, rm, rv, training=True, momentum=1.0)
    np.testing.assert_allclose(rm, x._data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(rv, x._data.var(0, ddof=1), rtol=1e-4)


def test_batch_norm_stats_update_under_no_grad_and_with_grad():
    rm, rv = nerve.zeros(2), nerve.ones(2)
    x = nerve.randn(8, 2, requires_grad=True)
    with nerve.no_grad():
        F.batch_norm(x, rm, rv, training=True)
    first = rm._data.copy()
    F.batch_norm(x, rm, rv, training=True).sum().backward()
    np.testing.assert_allclose(rm._data, 0.9 * first + 0.1 * x._data.mean(0), rtol=1e-5)
    assert rm.grad is None and rv.grad is None


@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 4, 4)])
def test_instance_norm_running_stats_match_torch(torch, shape):
    rm, rv = _stats(shape[1], seed=4)
    n_rm, n_rv = nerve.tensor(rm), nerve.tensor(rv)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    g = np.random.default_rng(5)
    for _ in range(2):
        x = (g.standard_normal(shape) * 3 + 1).astype(np.float32)
        y = F.instance_norm(nerve.tensor(x), n_rm, n_rv, momentum=0.3)
        ty = torch.nn.functional.instance_norm(torch.tensor(x), t_rm, t_rv, momentum=0.3)
        assert_close(y._data, ty.numpy(), 1e-5, 1e-5)
        assert_close(n_rm._data, t_rm.numpy(), 1e-6, 1e-6, msg="running_mean: ")
        assert_close(n_rv._data, t_rv.numpy(), 1e-5, 1e-6, msg="running_var: ")
