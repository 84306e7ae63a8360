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
    assert t._data[0] == 0 and s._data[0] == 5


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
    assert r == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(x.double()) == "tensor([1., 2.], dtype=nerve.float64, grad_fn=<CastBackward0>)"


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
    assert nerve.ones(4)._data.sum() == 4
    assert nerve.full((2, 2), 7.0)._data.max() == 7.0
    assert nerve.zeros_like(nerve.ones(2, 5)).shape == (2, 5)
    assert nerve.ones_like(np.zeros((3,))).dtype == np.float64
    assert nerve.arange(0, 1, 0.25).dtype == np.float32
    assert nerve.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert nerve.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert_close(nerve.eye(3), np.eye(3))
    assert nerve.rand(3, 4).dtype == np.float32
    r = nerve.randint(0, 10, (100,))
    assert r.dtype == np.int64 and r._data.min() >= 0 and r._data.max() < 10
    with pytest.raises(ValueError, match="non-negative"):
        nerve.zeros(-1)


def test_manual_seed_reproduces_random_ops():
    nerve.manual_seed(123)
    a = (nerve.randn(5), nerve.rand(5), nerve.randint(0, 100, (5,)))
    nerve.manual_seed(123)
    b = (nerve.randn(5), nerve.rand(5), nerve.randint(0, 100, (5,)))
    for x, y in zip(a, b):
        assert np.array_equal(x._data, y._data)


def test_ndarray_on_the_left_gives_a_tensor():
    x = nerve.ones(3, requires_grad=True)
    y = np.ones(3, dtype=np.float32) * x
    assert isinstance(y, nerve.Tensor) and y.requires_grad


# ---------------------------------------------------------------- torch's conversions and printing
def test_to_overloads_like_torch(torch):
    for lib in (torch, nerve):
        x = lib.ones(2, 3)
        assert x.to("cpu") is x and x.to(lib.float32) is x and x.to(x) is x
        assert x.to(lib.float64).dtype == lib.float64
        assert x.to("cpu", lib.float16).dtype == lib.float16
        assert x.to(device="cpu", dtype=lib.float64, non_blocking=True).dtype == lib.float64
        assert x.to(lib.arange(3)).dtype == lib.int64
        c = x.to("cpu", copy=True)
        assert c is not x and c.tolist() == x.tolist()
    with pytest.raises(TypeError, match="expects a device"):
        nerve.ones(2).to(3.5)
    assert nerve.ones(2).astype("float64").dtype == nerve.float64  # NumPy's name still works


def test_to_float64_carries_the_gradient(torch):
    x = nerve.ones(3, requires_grad=True)
    (x.to(nerve.float64) * 2.0).sum().backward()
    assert x.grad.dtype == nerve.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]


def test_dtype_methods_type_names_and_sizes_match_torch(torch):
    for method in ("double", "float", "half", "long", "int", "bool", "short", "byte", "char"):
        a = getattr(torch.tensor([1.5, -2.0]), method)()
        b = getattr(nerve.tensor([1.5, -2.0]), method)()
        assert str(b.dtype) == str(a.dtype).replace("torch.", ""), method
        assert b.type() == a.type().replace("torch.", "nerve."), method
        assert b.element_size() == a.element_size(), method
        assert b.is_floating_point() == a.is_floating_point(), method
        assert b.tolist() == a.tolist(), method
    x = nerve.ones(2)
    assert x.float() is x
    assert x.type("torch.DoubleTensor").dtype == nerve.float64
    assert x.type(nerve.int64).dtype == nerve.int64
    assert x.type_as(nerve.arange(2)).dtype == nerve.int64


def test_repr_matches_torch(torch):
    cases = [
        lambda lib: lib.tensor([1.0, 2.0]),
        lambda lib: lib.tensor([1.0, 1.41421]),
        lambda lib: lib.tensor(3.5),
        lambda lib: lib.tensor([1, 2]),
        lambda lib: lib.tensor([1, 2], dtype=lib.int32),
        lambda lib: lib.tensor([True, False]),
        lambda lib: lib.tensor([True, True]),
        lambda lib: lib.tensor([[False], [True]]),
        lambda lib: lib.zeros(0),
        lambda lib: lib.zeros(0, 3),
        lambda lib: lib.zeros(2, dtype=lib.float64),
        lambda lib: lib.tensor([1e-5, 1.0]),
        lambda lib: lib.tensor([1e10, 1.0]),
        lambda lib: lib.tensor([100.5, 2.25]),
        lambda lib: lib.tensor([0.6931, -499.3069]),
        lambda lib: lib.arange(12.0).reshape(3, 4),
        lambda lib: lib.ones(2, requires_grad=True),
        lambda lib: lib.tensor([-1.0, float("inf"), float("nan")]),
    ]
    for make in cases:
        assert repr(make(nerve)) == repr(make(torch)).replace("torch.", "nerve.")


def test_format_matches_torch(torch):
    assert f"{nerve.tensor(0.5)}" == f"{torch.tensor(0.5)}" == "0.5"
    for lib in (torch, nerve):
        loss = lib.tensor(0.123456)
        assert f"{loss:.4f}" == "0.1235" and f"{loss:>8.2f}" == "    0.12"
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{lib.tensor([1.0, 2.0]):.2f}"
        assert f"{lib.tensor([1.5])}" == "tensor([1.5000])"


def test_numpy_functions_work_on_tensors_like_torch(torch):
    a = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]], dtype=np.float32)
    calls = [
        lambda t: np.concatenate([t, t]),
        lambda t: np.stack([t, t]),
        lambda t: np.argmax(t),
        lambda t: np.asarray(t),
        lambda t: np.exp(t),
        lambda t: np.percentile(t, 50),
        lambda t: np.where(t > 1, t, 0),
    ]
    for call in calls:
        np.testing.assert_allclose(
            np.asarray(call(nerve.tensor(a))), np.asarray(call(torch.tensor(a))), rtol=1e-6
        )
    # torch's own reductions refuse NumPy's keywords here; nerve's give plain arrays
    assert float(np.mean(nerve.tensor(a))) == pytest.approx(a.mean())
    assert np.array_equal(np.argmax(nerve.tensor(a), axis=1), a.argmax(axis=1))


def test_numpy_shares_memory_and_answers_for_grad_tensors_too():
    x = nerve.ones(2, requires_grad=True)
    assert x.numpy() is x._data and x.detach().numpy() is x._data
    # the Keras door returns these Tensors, and Keras code calls model(x).numpy()
    assert (x * 2).numpy().tolist() == [2.0, 2.0]
