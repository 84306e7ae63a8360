"""Tensor construction, attributes, conversion, printing and creation functions."""

import numpy as np
import pytest

import nerve
from nerve.testing import assert_close


def test_tensor_defaults_float32_and_keeps_ints_and_bools():
    assert nerve.tensor([1.0, 2.0]).dtype == np.float32
    assert nerve.tensor(np.zeros(3, dtype=np.float64)).dtype == np.float32
    assert nerve.tensor([1, 2]).dtype == np.int64
    assert nerve.tensor([True, False]).dtype == np.bool_
    assert nerve.tensor([1, 2], dtype=nerve.float64).dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t = nerve.tensor(a)
    s = nerve.from_numpy(a)
    a[0] = 5
    assert t.data[0] == 0 and s.data[0] == 5


def test_attributes_and_conversions():
    t = nerve.arange(6).reshape(2, 3).float()
    assert t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.size(1) == 3
    assert t.numel() == 6 and t.dim() == 2 and len(t) == 2
    assert t.T.shape == (3, 2)
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert t[1, 2].item() == 5.0 and float(t[0, 1]) == 1.0
    assert isinstance(t.numpy(), np.ndarray)
    assert t.long().dtype == np.int64 and t.double().dtype == np.float64
    assert np.asarray(t).shape == (2, 3)


def test_item_on_many_elements_says_so():
    with pytest.raises(ValueError, match="one element"):
        nerve.ones(2).item()


def test_bool_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(nerve.ones(2))


def test_repr_shows_values_dtype_and_grad_fn():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    r = repr(x * 2.0)
    assert "dtype=float32" in r and "grad_fn=<MulBackward>" in r and "2." in r


def test_clone_is_differentiable_and_detach_is_not():
    x = nerve.randn(3, requires_grad=True)
    (x.clone() * 2.0).sum().backward()
    assert_close(x.grad, [2.0] * 3)


def test_astype_float64_carries_gradient_back_as_float32():
    x = nerve.randn(3, requires_grad=True)
    (x.double() * 2.0).sum().backward()
    assert x.grad.dtype == np.float32


def test_requires_grad_and_zero():
    x = nerve.ones(3)
    x.requires_grad_()
    assert x.requires_grad
    x.requires_grad_(False)
    x.zero_()
    assert_close(x, [0.0, 0.0, 0.0])


def test_comparisons_return_bool_tensors():
    x = nerve.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).dtype == np.bool_
    assert (x == 2.0).tolist() == [False, True, False]


def test_creation_functions():
    assert nerve.zeros(2, 3).shape == (2, 3) and nerve.zeros((2, 3)).dtype == np.float32
    assert nerve.ones(4).data.sum() == 4
    assert nerve.full((2, 2), 7.0).data.max() == 7.0
    assert nerve.zeros_like(nerve.ones(2, 5)).shape == (2, 5)
    assert nerve.ones_like(np.zeros((3,))).dtype == np.float64
    assert nerve.arange(0, 1, 0.25).dtype == np.float32
    assert nerve.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert nerve.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert_close(nerve.eye(3), np.eye(3))
    assert nerve.rand(3, 4).dtype == np.float32
    r = nerve.randint(0, 10, (100,))
    assert r.dtype == np.int64 and r.data.min() >= 0 and r.data.max() < 10
    with pytest.raises(ValueError, match="non-negative"):
        nerve.zeros(-1)


def test_manual_seed_reproduces_random_ops():
    nerve.manual_seed(123)
    a = (nerve.randn(5), nerve.rand(5), nerve.randint(0, 100, (5,)))
    nerve.manual_seed(123)
    b = (nerve.randn(5), nerve.rand(5), nerve.randint(0, 100, (5,)))
    for x, y in zip(a, b):
        assert np.array_equal(x.data, y.data)


def test_ndarray_on_the_left_gives_a_tensor():
    x = nerve.ones(3, requires_grad=True)
    y = np.ones(3, dtype=np.float32) * x
    assert isinstance(y, nerve.Tensor) and y.requires_grad
