"""Dropout: scaling, keep rate, determinism under manual_seed, the identity and in-place cases.

Dropout cannot be compared with torch value by value (the generators differ); its gradient is
gradchecked in tests/op_db/functional_misc.py with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_elements_are_scaled_by_inverse_keep_probability(p):
    x = nerve.randn(200, 50)
    y = F.dropout(x, p=p)
    kept = y._data != 0
    np.testing.assert_allclose(y._data[kept], x._data[kept] / np.float32(1 - p), rtol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_rate_is_one_minus_p(p):
    n = 200_000
    y = F.dropout(nerve.ones(n), p=p)
    rate = float((y._data != 0).mean())
    # 5 standard deviations of a binomial proportion
    assert abs(rate - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    # the mean is kept in expectation (inverted dropout)
    assert abs(float(y._data.mean()) - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_manual_seed_reproduces_the_mask():
    x = nerve.randn(64, 32)
    nerve.manual_seed(123)
    a = F.dropout(x, 0.5)._data
    b = F.dropout(x, 0.5)._data
    nerve.manual_seed(123)
    c = F.dropout(x, 0.5)._data
    assert np.array_equal(a, c)
    assert not np.array_equal(a, b)  # the generator moves on between calls
    nerve.manual_seed(124)
    assert not np.array_equal(a, F.dropout(x, 0.5)._data)


def test_gradient_is_the_mask_times_the_scale():
    x = nerve.randn(40, 30, requires_grad=True)
    y = F.dropout(x, p=0.25)
    y.backward(nerve.ones(40, 30))
    expected = np.where(y._data != 0, np.float32(1 / 0.75), np.float32(0))
    np.testing.assert_allclose(x.grad._data, expected, rtol=1e-6)


def test_identity_when_not_training_or_p_zero():
    x = nerve.randn(5, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(nerve.randn(2, 3, 4, 4), 0.7, training=False).shape == (2, 3, 4, 4)


def test_p_one_gives_zeros_and_zero_gradient():
    x = nerve.randn(6, 7, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y._data.any()
    y.sum().backward()
    assert not x.grad._data.any()


@pytest.mark.parametrize("p", [-0.1, 1.01, float("nan")])
def test_bad_p_is_a_clear_error(p):
    with pytest.raises(ValueError, match=r"dropout: dropout probability p must be in \[0, 1\]"):
        F.dropout(nerve.ones(3), p)


def test_float32_is_kept():
    y = F.dropout(nerve.randn(10, 10), 0.3)
    assert y.dtype == np.float32
    assert F.dropout2d(nerve.randn(2, 3, 4, 4), 0.3).dtype == np.float32


def test_inplace_without_grad_overwrites_the_input():
    x = nerve.ones(100, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x
    assert set(np.unique(x._data).tolist()) <= {0.0, 2.0}


def test_inplace_under_autograd_returns_a_new_tensor_and_keeps_the_graph():
    x = nerve.ones(100, 10, requires_grad=True)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is not x and np.all(x._data == 1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, y._data)


@pytest.mark.parametrize(
    "fn,shape,reduced",
    [
        (F.dropout1d, (8, 16, 5), (2,)),
        (F.dropout1d, (16, 5), (1,)),
        (F.dropout2d, (8, 16, 3, 3), (2, 3)),
        (F.dropout2d, (8, 16, 5), (2,)),  # read as (N, C, L), as torch does
        (F.dropout3d, (4, 8, 2, 2, 2), (2, 3, 4)),
        (F.dropout3d, (8, 2, 2, 2), (1, 2, 3)),
    ],
)
def test_channel_dropout_zeros_whole_channels(fn, shape, reduced):
    y = fn(nerve.ones(*shape), 0.5)._data
    zero = (y == 0).all(axis=reduced)
    scaled = (y == 2).all(axis=reduced)
    assert np.all(zero | scaled)
    assert zero.any() and scaled.any()


def test_attention_dropout_is_reproducible_and_unbiased():
    q, k, v = nerve.randn(2, 4, 6, 8), nerve.randn(2, 4, 7, 8), nerve.randn(2, 4, 7, 5)
    nerve.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)._data
    nerve.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)._data
    assert np.array_equal(a, b)
    plain = F.scaled_dot_product_attention(q, k, v)._data
    assert not np.allclose(a, plain)
    mean = np.mean(
        [F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)._data for _ in range(400)], 0
    )
    assert np.abs(mean - plain).max() < 0.25 * np.abs(plain).max()
