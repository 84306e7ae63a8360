"""nn.utils: gradient clipping and flat parameter vectors equal torch.nn.utils'."""

import math

import numpy as np
import pytest

import nerve
from nerve.nn import Parameter
from nerve.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def pair_with_grads(torch, scale=1.0, seed=0):
    """Parameters with gradients, the same in nerve and torch; one extra parameter has no grad."""
    rng = np.random.default_rng(seed)
    params, tparams = [], []
    for shape in SHAPES:
        value = rng.standard_normal(shape).astype(np.float32)
        grad = (rng.standard_normal(shape) * scale).astype(np.float32)
        p = Parameter(value.copy())
        p.grad = nerve.tensor(grad.copy())
        tp = torch.nn.Parameter(torch.from_numpy(value.copy()))
        tp.grad = torch.from_numpy(grad.copy())
        params.append(p)
        tparams.append(tp)
    params.append(Parameter(np.ones(2)))
    tparams.append(torch.nn.Parameter(torch.ones(2)))
    return params, tparams


def assert_grads_equal(params, tparams, rtol=1e-6, atol=1e-7):
    for p, tp in zip(params, tparams):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad._data, tp.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf", 0.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    params, tparams = pair_with_grads(torch)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    assert isinstance(total, nerve.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total._data, ttotal.numpy(), rtol=1e-6)
    assert_grads_equal(params, tparams)


def test_clip_grad_norm_clips_to_max_norm_in_place():
    params = [Parameter(np.ones(4)), Parameter(np.ones(5))]
    for p in params:
        p.grad = nerve.full(p.shape, 3.0)
    grads = [p.grad._data for p in params]
    total = clip_grad_norm_(params, 1.0)
    assert math.isclose(float(total), 9.0, rel_tol=1e-6)
    assert all(p.grad._data is g for p, g in zip(params, grads))  # in place
    after = math.sqrt(sum(float((p.grad._data**2).sum()) for p in params))
    assert math.isclose(after, 1.0, rel_tol=1e-5)


def test_clip_grad_norm_single_tensor_and_no_grads(torch):
    params, tparams = pair_with_grads(torch, scale=5.0)
    total = clip_grad_norm_(params[0], 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams[0], 1.0)
    np.testing.assert_allclose(total._data, ttotal.numpy(), rtol=1e-6)
    assert_grads_equal(params[:1], tparams[:1])
    assert float(clip_grad_norm_([Parameter(np.ones(2))], 1.0)) == 0.0
    assert float(clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite(torch):
    params, tparams = pair_with_grads(torch)
    params[0].grad._data[0, 0] = np.inf
    tparams[0].grad[0, 0] = math.inf
    with pytest.raises(RuntimeError) as ours:
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.utils.clip_grad_norm_(tparams, 1.0, error_if_nonfinite=True)
    assert str(ours.value) == str(theirs.value)
    # Without the flag both scale by the infinite norm (giving zeros and nans alike).
    total = clip_grad_norm_(params, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, 1.0)
    assert np.isinf(total._data) and np.isinf(ttotal.numpy())
    assert_grads_equal(params, tparams)


@pytest.mark.parametrize("clip_value", [0.1, 0.5, 10.0])
def test_clip_grad_value_matches_torch(torch, clip_value):
    params, tparams = pair_with_grads(torch)
    grads = [p.grad._data for p in params[:-1]]
    assert clip_grad_value_(params, clip_value) is None
    torch.nn.utils.clip_grad_value_(tparams, clip_value)
    assert_grads_equal(params, tparams, rtol=0, atol=0)
    assert all(p.grad._data is g for p, g in zip(params, grads))
    assert max(float(np.abs(g).max()) for g in grads) <= np.float32(clip_value)


def test_parameters_to_vector_and_back_match_torch(torch):
    params, tparams = pair_with_grads(torch)
    vec = parameters_to_vector(params)
    tvec = torch.nn.utils.parameters_to_vector(tparams)
    assert isinstance(vec, nerve.Tensor) and vec.dtype == np.float32
    np.testing.assert_array_equal(vec._data, tvec.detach().numpy())

    new = np.arange(vec.shape[0], dtype=np.float32)
    arrays = [p._data for p in params]
    vector_to_parameters(nerve.tensor(new), params)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(torch.from_numpy(new), tparams)
    for p, tp, a in zip(params, tparams, arrays):
        np.testing.assert_array_equal(p._data, tp.detach().numpy())
        assert p._data is a  # written in place
    new[0] = -1.0  # the parameters do not share memory with the vector
    assert params[0]._data.flat[0] == 0.0


def test_vector_to_parameters_checks_its_input():
    params = [Parameter(np.ones((2, 2))), Parameter(np.ones(3))]
    with pytest.raises(TypeError, match="expected Tensor"):
        vector_to_parameters(np.zeros(7), params)
    with pytest.raises(ValueError, match="6 values for parameters holding 7"):
        vector_to_parameters(nerve.zeros(6), params)
    with pytest.raises(ValueError, match="1-d"):
        vector_to_parameters(nerve.zeros(7, 1), params)
