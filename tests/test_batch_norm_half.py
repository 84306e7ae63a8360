"""batch_norm on float16 inputs computes its statistics in float32, as torch and Keras do (a
float16 sum of squares overflows past 65504): output and gradients in the inputs' dtypes, the
running statistics in their own.

Run: .venv/bin/python -m pytest tests/test_batch_norm_half.py -q
"""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F


def _batch(shape, scale=20.0):
    return (np.random.default_rng(0).standard_normal(shape) * scale + 3).astype(np.float16)


@pytest.mark.parametrize("shape", [(512, 4), (16, 4, 6, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_float16_batch_norm_matches_torch(torch, shape, affine):
    x, c = _batch(shape), shape[1]
    g = np.random.default_rng(1)
    w = g.uniform(0.5, 1.5, c).astype(np.float16) if affine else None
    b = g.uniform(-1, 1, c).astype(np.float16) if affine else None
    dy = g.standard_normal(shape).astype(np.float16)
    rm, rv = nerve.zeros(c).half(), nerve.ones(c).half()
    t_rm, t_rv = torch.zeros(c, dtype=torch.float16), torch.ones(c, dtype=torch.float16)
    ours = [nerve.from_numpy(x).requires_grad_()]
    theirs = [torch.tensor(x, requires_grad=True)]
    if affine:
        ours += [nerve.from_numpy(w).requires_grad_(), nerve.from_numpy(b).requires_grad_()]
        theirs += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    y = F.batch_norm(ours[0], rm, rv, *ours[1:], training=True, momentum=0.5)
    ty = torch.nn.functional.batch_norm(
        theirs[0], t_rm, t_rv, *theirs[1:], training=True, momentum=0.5
    )
    y.backward(nerve.from_numpy(dy))
    ty.backward(torch.tensor(dy))
    assert y.dtype == nerve.float16 and rv.dtype == nerve.float16
    assert np.isfinite(rv.numpy()).all() and np.abs(y.numpy()).max() > 1  # not inf, not zeros
    tol = {"rtol": 2e-3, "atol": 2e-3}
    np.testing.assert_allclose(rm.numpy(), t_rm.numpy(), **tol)
    np.testing.assert_allclose(rv.numpy(), t_rv.numpy(), **tol)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=2e-3, atol=4e-3)
    for a, t in zip(ours, theirs):
        assert a.grad.dtype == nerve.float16
        scale = float(np.abs(t.grad.numpy()).max())  # summed gradients: float16 steps of it
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=0, atol=2e-3 * scale)
    # eval with the float16 running statistics
    y_eval = F.batch_norm(
        nerve.from_numpy(x), rm, rv, *(None if w is None else nerve.from_numpy(w),)
    )
    ty_eval = torch.nn.functional.batch_norm(
        torch.tensor(x), t_rm, t_rv, *(None if w is None else torch.tensor(w),)
    )
    assert y_eval.dtype == nerve.float16
    np.testing.assert_allclose(y_eval.numpy(), ty_eval.numpy(), rtol=2e-3, atol=4e-3)


def test_float16_batch_normalization_layer_matches_keras(keras):
    from nerve import layers

    x = _batch((512, 4))
    ours = layers.BatchNormalization(dtype="float16", momentum=0.5)
    theirs = keras.layers.BatchNormalization(dtype="float16", momentum=0.5)
    y = ours(nerve.from_numpy(x), training=True)
    ty = theirs(x, training=True)
    assert y.dtype == nerve.float16
    np.testing.assert_allclose(
        ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=2e-3
    )
    np.testing.assert_allclose(
        y.numpy(), ty.detach().cpu().numpy().astype(np.float16), rtol=2e-3, atol=4e-3
    )


def test_float32_batch_norm_is_unchanged():
    """float32 stays float32 all the way (no float16 detour): the statistics' sums in float32."""
    x = _batch((64, 3)).astype(np.float32)
    rm, rv = nerve.zeros(3), nerve.ones(3)
    y = F.batch_norm(nerve.from_numpy(x), rm, rv, training=True, momentum=1.0)
    mean = np.einsum("nc->c", x) * np.float32(1 / 64)
    assert y.dtype == nerve.float32 and rm.numpy().tobytes() == mean.tobytes()
