"""max_pool2d's inference path (no gradient wanted: the max alone, no argmax) equals the
training path on every geometry, NaN included."""

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "dilation": 2},
        {"kernel_size": 3, "stride": 2, "ceil_mode": True},
        {"kernel_size": 1},
    ],
)
def test_no_grad_max_pool_equals_the_training_path(kw):
    x = np.random.default_rng(0).normal(size=(2, 3, 9, 8)).astype(np.float32)
    x[0, 1, 4, 4] = np.nan
    trained = F.max_pool2d(nerve.tensor(x, requires_grad=True), **kw).numpy()
    with nerve.no_grad():
        inferred = F.max_pool2d(nerve.tensor(x, requires_grad=True), **kw).numpy()
    np.testing.assert_array_equal(inferred, trained)  # NaN in the same places too
    assert inferred.dtype == np.float32 and inferred.flags.writeable


def test_no_grad_max_pool_on_3d_input_and_non_contiguous_views():
    x = np.random.default_rng(1).normal(size=(3, 10, 10)).astype(np.float32)
    view = nerve.tensor(x).transpose(1, 2)
    with nerve.no_grad():
        out = F.max_pool2d(view, 2).numpy()
    expected = x.transpose(0, 2, 1).reshape(3, 5, 2, 5, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(out, expected)
