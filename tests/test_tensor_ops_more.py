"""The tensor ops tutorials call, beyond the registered-op samples of tests/op_db: the ops that
are compositions (lerp, addmm, masked_select, narrow, repeat_interleave, t, trace, ...), the
non-differentiable ones (comparisons, nonzero, unique, argsort), NumPy's vs torch's max/min
(issue 13), and the activations at the edges of float range (issue 15)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve
import nerve.nn.functional as nF
from nerve.testing import assert_close, gradcheck

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (3, 4))
Y = RNG.uniform(-1, 1, (3, 4))


def _both(torch, fn, *arrays, grad=True, const=(), rtol=1e-5, atol=1e-6):
    """Run ``fn(m, *tensors)`` on nerve and torch (float32); compare values and gradients
    (of every float input but those listed in ``const``)."""
    wants = [
        grad and i not in const and np.asarray(a).dtype.kind == "f" for i, a in enumerate(arrays)
    ]
    xs = [
        nerve.tensor(a, requires_grad=w) if isinstance(a, np.ndarray) else a
        for a, w in zip(arrays, wants)
    ]
    ts = [
        torch.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a, requires_grad=w)
        if isinstance(a, np.ndarray)
        else a
        for a, w in zip(arrays, wants)
    ]
    n, t = fn(nerve, *xs), fn(torch, *ts)
    n_outs = n if isinstance(n, tuple) else (n,)
    t_outs = t if isinstance(t, tuple) else (t,)
    for a, b in zip(n_outs, t_outs):
        assert_close(a._data, b.detach().numpy(), rtol, atol)
    if grad and n_outs[0].dtype.kind == "f" and n_outs[0].requires_grad:
        cot = RNG.standard_normal(n_outs[0].shape).astype(np.float32)
        n_outs[0].backward(nerve.tensor(cot))
        t_outs[0].backward(torch.tensor(cot))
        for a, b in zip(xs, ts):
            if isinstance(a, nerve.Tensor) and a.requires_grad:
                expected = np.zeros(a.shape, np.float32) if b.grad is None else b.grad.numpy()
                got = np.zeros(a.shape, np.float32) if a.grad is None else a.grad._data
                assert_close(got, expected, rtol * 10, atol * 10)


# ----------------------------------------------------------------------------- issue 13
def test_numpy_keywords_give_numpy_max_values():
    a = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    x = nerve.tensor(a)
    for op in ("max", "min"):
        got = getattr(x, op)(axis=-1, keepdims=True)
        assert isinstance(got, nerve.Tensor)
        np.testing.assert_array_equal(got._data, getattr(a, op)(axis=-1, keepdims=True))
        np.testing.assert_array_equal(getattr(x, op)(axis=1)._data, getattr(a, op)(axis=1))
        np.testing.assert_array_equal(
            getattr(nerve, op)(x, axis=(0, 2))._data, getattr(a, op)(axis=(0, 2))
        )
        np.testing.assert_array_equal(
            getattr(x, op)(keepdims=True)._data, getattr(a, op)(keepdims=True)
        )
        assert getattr(x, op)().item() == getattr(a, op)()


def test_numpy_style_softmax_broadcasts_right():
    a = RNG.standard_normal((4, 5)).astype(np.float32)
    x = nerve.tensor(a)
    e = (x - x.max(axis=-1, keepdims=True)).exp()
    s = e / e.sum(axis=-1, keepdims=True)
    ea = np.exp(a - a.max(axis=-1, keepdims=True))
    assert_close(s._data, ea / ea.sum(axis=-1, keepdims=True), 1e-6, 1e-7)


def test_torch_keywords_give_values_and_indices(torch):
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    x, t = nerve.tensor(a), torch.tensor(a)
    for op in ("max", "min"):
        for call in (
            lambda v, op=op: getattr(v, op)(1),
            lambda v, op=op: getattr(v, op)(dim=-1, keepdim=True),
            lambda v, op=op: getattr(v, op)(0, True),
        ):
            n, r = call(x), call(t)
            assert_close(n.values._data, r.values.numpy())
            np.testing.assert_array_equal(n.indices._data, r.indices.numpy())
            values, indices = n  # unpacks like torch.return_types
            assert values is n.values and indices is n.indices


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.max(dim=1, keepdims=True),
        lambda x: x.min(1, keepdims=False),
        lambda x: x.max(dim=0, axis=0),
        lambda x: nerve.max(x, axis=1, keepdim=True),
    ],
)
def test_mixing_torch_and_numpy_keywords_is_refused(call):
    with pytest.raises(TypeError, match=r"(max|min): use torch's dim=/keepdim=|pass dim= or axis"):
        call(nerve.tensor(X))


def test_argmax_argmin_take_numpy_axis():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    x = nerve.tensor(a)
    np.testing.assert_array_equal(x.argmax(axis=-1)._data, a.argmax(axis=-1))
    np.testing.assert_array_equal(x.argmin(axis=0, keepdims=True)._data, a.argmin(0, keepdims=True))


def test_numpy_style_max_gradient_is_shared_between_ties():
    x = nerve.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[0.0, 0.5, 0.5]])


# ----------------------------------------------------------------------------- comparisons, logic
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_and_functions(op, torch):
    b = X.copy()
    b[0] = Y[0]
    _both(torch, lambda m, x, y: getattr(x, op)(y) * 1.0, X, b, grad=False)
    _both(torch, lambda m, x, y: getattr(m, op)(x, y) * 1.0, X, b, grad=False)
    _both(torch, lambda m, x: getattr(x, op)(0.25) * 1.0, X, grad=False)


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical_methods(op, torch):
    a, b = X > 0, Y > 0
    _both(torch, lambda m, x, y: getattr(x, op)(y) * 1.0, a, b, grad=False)
    _both(torch, lambda m, x: x.logical_not() * 1.0, a, grad=False)


def test_isinf_isnan_isfinite_methods(torch):
    a = np.array([np.inf, -np.inf, np.nan, 1.0])
    for op in ("isinf", "isnan", "isfinite"):
        _both(torch, lambda m, x, op=op: getattr(x, op)() * 1.0, a, grad=False)


def test_where_method_and_tensor_clamp_bounds(torch):
    _both(torch, lambda m, x, y: x.where(x > 0, y), X, Y)
    lo, hi = np.full((4,), -0.5), np.linspace(0.1, 0.9, 4)
    _both(torch, lambda m, x, a, b: x.clamp(a, b), X, lo, hi)
    _both(torch, lambda m, x, a: m.clip(x, min=a), X, lo)


def test_any_all_sign(torch):
    _both(torch, lambda m, x: (x > 0.5).any(dim=1) * 1.0, X, grad=False)
    _both(torch, lambda m, x: (x > -0.9).all() * 1.0, X, grad=False)
    _both(torch, lambda m, x: x.sign(), X)


# ----------------------------------------------------------------------------- compositions
def test_lerp(torch):
    w = RNG.uniform(0, 1, (3, 4))
    _both(torch, lambda m, a, b, w: m.lerp(a, b, w), X, Y, w)
    _both(torch, lambda m, a, b: a.lerp(b, 0.3), X, Y)
    gradcheck(lambda a, b, w: nerve.lerp(a, b, w), X, Y, w)


def test_addmm(torch):
    m1, m2 = RNG.uniform(-1, 1, (3, 5)), RNG.uniform(-1, 1, (5, 4))
    _both(torch, lambda m, x, a, b: m.addmm(x, a, b), X, m1, m2)
    _both(torch, lambda m, x, a, b: x.addmm(a, b, beta=0.5, alpha=-2.0), X[0], m1, m2)
    _both(torch, lambda m, x, a, b: m.addmm(x, a, b, beta=0), X, m1, m2)
    gradcheck(lambda x, a, b: nerve.addmm(x, a, b, beta=0.5, alpha=2.0), X, m1, m2)
    with pytest.raises(ValueError, match=r"addmm: input of shape \(2,\) does not broadcast"):
        nerve.addmm(nerve.ones(2), nerve.tensor(m1), nerve.tensor(m2))


def test_t_narrow_masked_select(torch):
    _both(torch, lambda m, x: x.t(), X)
    _both(torch, lambda m, x: m.t(x[0]), X)
    _both(torch, lambda m, x: x.narrow(1, 1, 2), X)
    _both(torch, lambda m, x: m.narrow(x, 0, -2, 2), X)
    _both(torch, lambda m, x: x.masked_select(x > 0), X)
    _both(torch, lambda m, x, k: m.masked_select(x, k), X, np.array([True, False, True, True]))
    gradcheck(lambda x: x.narrow(1, 1, 2), X)
    gradcheck(lambda x: x.masked_select(nerve.tensor(X > 0)), X)


def test_repeat_interleave(torch):
    _both(torch, lambda m, x: x.repeat_interleave(2), X)
    _both(torch, lambda m, x: x.repeat_interleave(3, dim=1), X)
    _both(torch, lambda m, x, r: m.repeat_interleave(x, r, dim=0), X, np.array([2, 0, 1]))
    _both(torch, lambda m, x: x.mT.repeat_interleave(2, dim=-1), X)
    _both(torch, lambda m, r: m.repeat_interleave(r) * 1.0, np.array([1, 0, 3]), grad=False)
    gradcheck(lambda x: nerve.repeat_interleave(x, nerve.tensor([2, 0, 1]), dim=0), X)


def test_trace_diag_methods(torch):
    _both(torch, lambda m, x: x.trace(), X)
    _both(torch, lambda m, x: x.diag(), X)
    _both(torch, lambda m, x: x[0].diag(-1), X)


# ----------------------------------------------------------------------------- no gradient
def test_nonzero(torch):
    a = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    _both(torch, lambda m, x: x.nonzero() * 1.0, a, grad=False)
    _both(torch, lambda m, x: m.nonzero(x, as_tuple=True), a, grad=False)
    _both(torch, lambda m, x: m.nonzero(x[0, 1]) * 1.0, a, grad=False)
    assert nerve.nonzero(nerve.zeros(2, 3)).shape == (0, 2)


def test_unique(torch):
    a = np.array([[3, 1, 3], [2, 1, 1]])
    _both(torch, lambda m, x: m.unique(x), a, grad=False)
    _both(
        torch,
        lambda m, x: x.unique(return_inverse=True, return_counts=True),
        a,
        grad=False,
    )
    _both(torch, lambda m, x: m.unique(x, dim=0, return_counts=True), a[[0, 1, 0]], grad=False)


def test_argsort_is_stable_and_torch_like(torch):
    a = np.array([[2.0, 1.0, 2.0, 1.0], [0.5, 0.5, 0.5, 0.0]])
    for desc in (False, True):
        _both(torch, lambda m, x, d=desc: m.argsort(x, descending=d, stable=True), a, grad=False)


def test_rounding_gradients_are_zero():
    x = nerve.tensor([0.3, 1.7, -2.2], requires_grad=True)
    (x.round() + x.floor() + x.ceil() + x.trunc() + x.frac() * 2).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [2.0, 2.0, 2.0])
    ints = nerve.tensor([1, -2])
    assert x.round().dtype == np.float32 and ints.floor().dtype == ints.dtype


# ----------------------------------------------------------------------------- issue 15 (numerics)
EDGES = np.array([3e38, -3e38, np.inf, -np.inf, 100.0, -100.0, 1e10, -1e10, 0.5, -0.5])

ACTIVATIONS = {
    "relu": lambda fn, x: fn.relu(x),
    "sigmoid": lambda fn, x: fn.sigmoid(x),
    "tanh": lambda fn, x: fn.tanh(x),
    "leaky_relu": lambda fn, x: fn.leaky_relu(x, 0.1),
    "elu": lambda fn, x: fn.elu(x),
    "elu-alpha-neg": lambda fn, x: fn.elu(x, alpha=-0.5),
    "selu": lambda fn, x: fn.selu(x),
    "gelu": lambda fn, x: fn.gelu(x),
    "gelu-tanh": lambda fn, x: fn.gelu(x, approximate="tanh"),
    "silu": lambda fn, x: fn.silu(x),
    "softplus": lambda fn, x: fn.softplus(x),
    "softplus-beta": lambda fn, x: fn.softplus(x, beta=2.0, threshold=30.0),
}


# Squares of |x| > 1.8e19 overflow to inf inside these float32 formulas (x^2 in gelu's erfc
# and tanh forms, beta * x in softplus): the results are right, and NumPy warns. Silencing it
# would cost every call an errstate, for inputs no network produces.
OVERFLOW_WARNINGS = {"gelu", "gelu-tanh", "softplus-beta"}
# torch's float32 exact-gelu kernel gives inf at 3e38 and nan at +inf, where nerve gives 3e38
# and inf (float64 torch agrees with nerve): compared only where torch's result is finite.
TORCH_OVERFLOWS = {("gelu", np.float32)}


@pytest.mark.parametrize("edges", ["finite", "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_at_the_edges_of_float_range(name, dtype, edges, torch):
    """Values and gradients at +-3e38 and +-inf agree with torch's (finite where torch's are).

    Finite inputs must not warn (pytest turns nerve's RuntimeWarnings into errors); at +-inf,
    where torch's result is often nan, NumPy's invalid-value warnings are allowed.
    """
    f = ACTIVATIONS[name]
    a = (EDGES if edges == "inf" else EDGES[np.isfinite(EDGES)]).astype(dtype)
    x = nerve.tensor(a, dtype=dtype, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        if edges == "inf" or name in OVERFLOW_WARNINGS:
            warnings.simplefilter("ignore", RuntimeWarning)
        y = f(nF, x)
        y.backward(nerve.ones_like(y))
    r = f(torch.nn.functional, t)
    r.backward(torch.ones_like(r))
    for got, want in ((y._data, r.detach().numpy()), (x.grad._data, t.grad.numpy())):
        if (name, dtype) in TORCH_OVERFLOWS:
            want = np.where(np.isfinite(want), want, got)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        fin = np.isfinite(want)
        np.testing.assert_allclose(got[fin], want[fin], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- more math
def test_math_aliases_and_closeness(torch):
    b = X + 1e-7
    for op in ("multiply", "subtract", "divide", "true_divide"):
        _both(torch, lambda m, x, y, op=op: getattr(m, op)(x, y), X, Y + 2)
    for op in ("negative", "absolute"):
        _both(torch, lambda m, x, op=op: getattr(m, op)(x), X)
    for op in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
        _both(torch, lambda m, x, y, op=op: getattr(m, op)(x, y) * 1.0, X, Y, grad=False)
    _both(torch, lambda m, x, y: m.isclose(x, y) * 1.0, X, b, grad=False)
    _both(torch, lambda m, x, y: x.isclose(y, rtol=0, atol=1e-9) * 1.0, X, b, grad=False)
    nan = np.array([np.nan, 1.0, np.inf])
    _both(torch, lambda m, x: m.isclose(x, x, equal_nan=True) * 1.0, nan, grad=False)
    _both(torch, lambda m, x: m.isclose(x, x) * 1.0, nan, grad=False)
    x, y = nerve.tensor(X), nerve.tensor(b)
    assert nerve.allclose(x, y) and x.allclose(y) and not nerve.allclose(x, y + 1)
    assert nerve.equal(x, x.clone()) and not x.equal(y) and not nerve.equal(x, x[:1])


def test_clamp_min_max_and_nan_to_num(torch):
    _both(torch, lambda m, x: m.clamp_min(x, 0.1), X)
    _both(torch, lambda m, x: x.clamp_max(-0.1), X)
    a = np.array([np.nan, np.inf, -np.inf, 0.5, -2.0])
    _both(torch, lambda m, x: m.nan_to_num(x), a)
    _both(torch, lambda m, x: x.nan_to_num(nan=1.0, posinf=9.0, neginf=-9.0), a)
    gradcheck(lambda x: nerve.nan_to_num(x), np.array([0.3, -0.2]))


def test_nan_reductions_and_pairs(torch):
    a = X.copy()
    a[0, 1] = a[2, 3] = np.nan
    _both(torch, lambda m, x: m.nansum(x), a)
    _both(torch, lambda m, x: x.nansum(dim=1, keepdim=True), a)
    _both(torch, lambda m, x: m.nanmean(x, 0), a)
    _both(torch, lambda m, x: x.nanmean(), a)
    allnan = np.array([[np.nan, np.nan], [1.0, np.nan]])
    _both(torch, lambda m, x: m.nanmean(x, 1), allnan)
    _both(torch, lambda m, x: m.count_nonzero(x) * 1.0, (X > 0) * X, grad=False)
    _both(torch, lambda m, x: x.count_nonzero(dim=1) * 1.0, (X > 0) * X, grad=False)
    _both(torch, lambda m, x: m.aminmax(x, dim=1), X)
    _both(torch, lambda m, x: tuple(x.aminmax()), X)
    _both(torch, lambda m, x: m.std_mean(x, dim=1), X)
    _both(torch, lambda m, x: m.var_mean(x, 0, keepdim=True, correction=0), X)
    gradcheck(lambda x: nerve.nanmean(x, 1), a)


def test_new_math_methods(torch):
    p = RNG.uniform(0.2, 2.0, (3, 4))
    u = RNG.uniform(-0.9, 0.9, (3, 4))
    for op, a in [
        ("reciprocal", p),
        ("exp2", X),
        ("expm1", X),
        ("log2", p),
        ("log10", p),
        ("tan", X),
        ("asin", u),
        ("acos", u),
        ("atan", X),
        ("sinh", X),
        ("cosh", X),
        ("erf", X),
    ]:
        _both(torch, lambda m, x, op=op: getattr(x, op)(), a)
    _both(torch, lambda m, y, x: y.atan2(x), X, p)
    _both(torch, lambda m, y, x: m.arctan2(y, x), X, -p)
    _both(torch, lambda m, a, b: a.logaddexp(b), X, Y)
    _both(torch, lambda m, a, b: a.fmod(b), X * 3, p)


# ----------------------------------------------------------------------------- reshaping
def _fn(m, name):
    """``name`` from nerve's top level, or from primitives.reshaping until it is exported."""
    from nerve.primitives import reshaping

    if m is nerve:
        return getattr(nerve, name, None) or getattr(reshaping, name)
    return getattr(m, name)


def test_select_unflatten_ravel_take(torch):
    a = RNG.uniform(-1, 1, (2, 3, 4))
    _both(torch, lambda m, x: _fn(m, "select")(x, 1, -1), a)
    _both(torch, lambda m, x: x.select(2, 0), a)
    _both(torch, lambda m, x: _fn(m, "unflatten")(x, -1, (2, -1)), a)
    _both(torch, lambda m, x: x.unflatten(1, (1, 3)), a)
    _both(torch, lambda m, x: _fn(m, "ravel")(x.mT), a)
    _both(torch, lambda m, x: x.ravel(), a)
    idx = np.array([[0, 23], [-1, 5]])
    _both(torch, lambda m, x, i: _fn(m, "take")(x, i), a, idx)
    _both(torch, lambda m, x, i: x.take(i), a, idx)
    with pytest.raises(IndexError, match=r"select: index 3 is out of range for dim 1 of size 3"):
        nerve.tensor(a).select(1, 3)
    with pytest.raises(ValueError, match=r"unflatten: sizes \(5, -1\) do not fit dim 2"):
        nerve.tensor(a).unflatten(2, (5, -1))


def test_stacks_and_atleast(torch):
    v, w = RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, 3)
    m2 = RNG.uniform(-1, 1, (2, 3))
    for name in ("hstack", "vstack", "dstack", "column_stack", "row_stack"):
        _both(torch, lambda m, a, b, name=name: _fn(m, name)([a, b]), v, w)
        _both(torch, lambda m, a, b, name=name: _fn(m, name)((a, b)), m2, m2 * 2)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        for a in (np.array(0.5), v, m2):
            _both(torch, lambda m, x, name=name: _fn(m, name)(x), a)
        _both(torch, lambda m, x, y, name=name: _fn(m, name)(x, y), v, m2)


def test_tensor_split(torch):
    a = RNG.uniform(-1, 1, (7, 3))
    for spec in (3, 7, 9, [2, 5], [1, -2], [4, 2], [0, 9]):
        _both(torch, lambda m, x, s=spec: _fn(m, "tensor_split")(x, s), a)
        _both(torch, lambda m, x, s=spec: tuple(x.mT.tensor_split(s, dim=1)), a)
    gradcheck(lambda x: nerve.cat(x.tensor_split(3), 0) * 2, a)


def test_flips_rot90_diff_argwhere_moveaxis(torch):
    a = RNG.uniform(-1, 1, (2, 3, 4))
    _both(torch, lambda m, x: _fn(m, "fliplr")(x), a)
    _both(torch, lambda m, x: x.flipud(), a)
    for k in (-1, 0, 1, 2, 3, 5):
        _both(torch, lambda m, x, k=k: _fn(m, "rot90")(x, k, (0, 2)), a)
        _both(torch, lambda m, x, k=k: x.rot90(k), a[0])
    _both(torch, lambda m, x: _fn(m, "diff")(x), a)
    _both(torch, lambda m, x: x.diff(n=2, dim=1), a)
    pre = RNG.uniform(-1, 1, (2, 3, 1))
    _both(torch, lambda m, x, p: _fn(m, "diff")(x, dim=-1, prepend=p, append=p), a, pre)
    _both(torch, lambda m, x: x.diff(n=5), a)
    _both(torch, lambda m, x: _fn(m, "argwhere")(x > 0) * 1.0, a, grad=False)
    _both(torch, lambda m, x: x.moveaxis(0, -1), a)
    _both(torch, lambda m, x: _fn(m, "moveaxis")(x, (0, 1), (2, 0)), a)
    _both(torch, lambda m, x: x.swapdims(0, 2), a)
    _both(torch, lambda m, x: _fn(m, "swapdims")(x, 1, 2), a)
    _both(torch, lambda m, x: x.movedim(2, 0), a)
    gradcheck(lambda x: x.diff(n=2, dim=1), a)


# ----------------------------------------------------------------------------- counting, bins
def test_bincount_searchsorted_bucketize_histc(torch):
    v = np.array([1, 1, 3, 0, 7])
    w = RNG.uniform(0, 1, 5)
    _both(torch, lambda m, x: m.bincount(x) * 1.0, v, grad=False)
    _both(torch, lambda m, x: x.bincount(minlength=10) * 1.0, v, grad=False)
    _both(torch, lambda m, x, y: m.bincount(x, weights=y), v, w, grad=False)
    seq = np.array([0.5, 1.0, 2.0, 4.0])
    q = np.array([[0.1, 1.0, 3.0], [4.0, 5.0, 2.0]])
    for right in (False, True):
        _both(torch, lambda m, s, x, r=right: m.searchsorted(s, x, right=r) * 1, seq, q, grad=False)
        _both(torch, lambda m, x, s, r=right: m.bucketize(x, s, right=r) * 1, q, seq, grad=False)
    rows = np.sort(RNG.uniform(0, 1, (2, 4)), axis=1)
    _both(torch, lambda m, s, x: m.searchsorted(s, x, side="right") * 1, rows, q / 4, grad=False)
    _both(torch, lambda m, x: m.histc(x, bins=4, min=0, max=4), np.array([1.0, 2, 1, 4, 9]))
    _both(torch, lambda m, x: x.histc(bins=3), RNG.uniform(-1, 1, 50), grad=False)
    with pytest.raises(ValueError, match=r"bincount: values must be non-negative, got -1"):
        nerve.bincount(nerve.tensor([1, -1]))


def test_index_fill(torch):
    _both(torch, lambda m, x, i: x.index_fill(0, i, -1.0), X, np.array([0, 2]))
    _both(torch, lambda m, x, i: m.index_fill(x, -1, i, 2.5), X, np.array([3, 3, 1]))
    _both(torch, lambda m, x, i, v: x.index_fill(1, i, v), X, np.array([1]), np.array(0.5))
    with pytest.raises(IndexError, match=r"index_fill: index 5 is out of range for dim 1"):
        nerve.tensor(X).index_fill(1, nerve.tensor([5]), 0.0)


# ----------------------------------------------------------------------------- products
def test_products(torch):
    m1, m2 = RNG.uniform(-1, 1, (3, 5)), RNG.uniform(-1, 1, (5, 4))
    v = RNG.uniform(-1, 1, 5)
    b1, b2 = RNG.uniform(-1, 1, (2, 3, 5)), RNG.uniform(-1, 1, (2, 5, 4))
    _both(torch, lambda m, a, b: m.mv(a, b), m1, v)
    _both(torch, lambda m, a, b: a.mv(b), m1, v)
    _both(torch, lambda m, a, b: m.inner(a, b), m1, m2.T.copy())
    _both(torch, lambda m, a, b: a.inner(b), b1, m1)
    _both(torch, lambda m, a, b: m.tensordot(a, b, dims=1), b1, m2)
    _both(torch, lambda m, a, b: m.tensordot(a, b, dims=([1, 2], [2, 1])), b2, b2.mT)
    _both(torch, lambda m, x, a, b: m.addmv(x, a, b, beta=0.5, alpha=2), X[:, 0], m1, v)
    _both(torch, lambda m, x, a, b: x.baddbmm(a, b, alpha=0.5), X, b1, b2)
    _both(torch, lambda m, x, a, b: m.addbmm(x, a, b, beta=2), X, b1, b2)
    _both(torch, lambda m, x, a, b: x.addcmul(a, b, value=-0.5), X, Y, X[0])
    _both(torch, lambda m, x, a, b: m.addcdiv(x, a, b, value=2), X, Y, X[0] + 2)
    gradcheck(lambda a, b: nerve.tensordot(a, b, 1), b1, m2)
    with pytest.raises(ValueError, match=r"mv: needs a 2-d and a 1-d tensor"):
        nerve.mv(nerve.tensor(m1), nerve.tensor(m1))


def test_cdist(torch):
    a, b = RNG.uniform(-1, 1, (2, 5, 3)), RNG.uniform(-1, 1, (2, 4, 3))
    for p in (1.0, 2.0, 3.0, float("inf")):
        _both(torch, lambda m, x, y, p=p: m.cdist(x, y, p=p), a, b)
    _both(torch, lambda m, x, y: m.cdist(x, y), a[0], b[0])
    gradcheck(lambda x, y: nerve.cdist(x, y), a, b)
    with pytest.raises(ValueError, match=r"cdist: needs \(\.\.\., P, M\) and \(\.\.\., R, M\)"):
        nerve.cdist(nerve.tensor(a), nerve.tensor(b[..., :2]))


def test_method_aliases(torch):
    p = RNG.uniform(0.5, 2.0, (3, 4))
    _both(torch, lambda m, x, y: x.add(y, alpha=2), X, Y)
    _both(torch, lambda m, x, y: x.sub(y, alpha=-1), X, Y)
    _both(torch, lambda m, x, y: x.subtract(y), X, Y)
    _both(torch, lambda m, x, y: x.mul(y), X, Y)
    _both(torch, lambda m, x, y: x.multiply(y), X, Y)
    _both(torch, lambda m, x, y: x.div(y), X, p)
    _both(torch, lambda m, x, y: x.divide(y, rounding_mode="floor"), X * 5, p, grad=False)
    _both(torch, lambda m, x, y: x.true_divide(y), X, p)
    _both(torch, lambda m, x, y: x.remainder(y), X, p)
    _both(torch, lambda m, x, y: x.floor_divide(y), X * 5, p, grad=False)
    _both(torch, lambda m, x: x.absolute() + x.negative() + x.positive(), X)
    _both(torch, lambda m, x: x.sgn() + x.fix(), X * 3)
    _both(torch, lambda m, x: x.arctan() + x.arcsin() + x.arccos() + x.arctan2(x + 2), X * 0.9)
    for op in ("greater", "greater_equal", "less", "less_equal", "not_equal"):
        _both(torch, lambda m, x, y, op=op: getattr(x, op)(y) * 1.0, X, Y, grad=False)
    b1, b2 = RNG.uniform(-1, 1, (2, 3, 5)), RNG.uniform(-1, 1, (2, 5, 4))
    _both(torch, lambda m, a, b: a.bmm(b), b1, b2)
    _both(torch, lambda m, x: x.unbind(1), X)
    _both(torch, lambda m, x, y: x.reshape_as(y), X, Y.reshape(4, 3))
    _both(torch, lambda m, x: x.split_with_sizes([1, 3], dim=1), X)


def test_more_unary_methods(torch):
    a = np.array([np.inf, -np.inf, -0.0, 0.0, -1.5, np.nan])
    for op in ("isposinf", "isneginf", "signbit"):
        _both(torch, lambda m, x, op=op: getattr(m, op)(x) * 1.0, a, grad=False)
        _both(torch, lambda m, x, op=op: getattr(x, op)() * 1.0, a, grad=False)
    _both(torch, lambda m, x: m.deg2rad(x) + x.rad2deg(), X * 90)
    _both(torch, lambda m, x: x.erfc() + x.erfinv() + x.sinc(), X * 0.9)
    _both(torch, lambda m, x: x.logit(eps=1e-3), RNG.uniform(0.01, 0.99, (3, 4)))
    _both(torch, lambda m, x, y: x.fmax(y) + x.fmin(y) + x.hypot(y), X, Y)
    _both(torch, lambda m, x, y: x.xlogy(y), X, RNG.uniform(0.5, 2, (3, 4)))
    x = nerve.tensor(RNG.uniform(0.5, 2, (3, 4)))  # nerve also takes numbers (torch: tensors)
    assert_close(nerve.hypot(x, 2)._data, nerve.hypot(x, nerve.full((3, 4), 2.0))._data)


# ----------------------------------------------------------------------------- statistics
def test_quantile_nanquantile_nanmedian_msort(torch):
    a = RNG.uniform(-1, 1, (3, 7))
    qs = np.array([0.0, 0.1, 0.5, 0.75, 1.0])
    for how in ("linear", "lower", "higher", "nearest", "midpoint"):
        _both(torch, lambda m, x, h=how: m.quantile(x, 0.3, dim=1, interpolation=h), a)
        _both(
            torch, lambda m, x, q, h=how: x.quantile(q, dim=0, interpolation=h), a, qs, const=(1,)
        )
    _both(torch, lambda m, x: m.quantile(x, 0.6), a)
    _both(torch, lambda m, x, q: m.quantile(x, q, dim=-1, keepdim=True), a, qs, const=(1,))
    _both(torch, lambda m, x, q: x.quantile(q, keepdim=True), a, qs, const=(1,))
    _both(torch, lambda m, x: x.mT.quantile(0.9, dim=0), a)
    b = a.copy()
    b[0, 2] = b[1, :] = np.nan
    _both(torch, lambda m, x: m.quantile(x, 0.5, dim=1), b, grad=False)
    _both(torch, lambda m, x, q: m.nanquantile(x, q, dim=1), b, qs, grad=False)
    _both(torch, lambda m, x: x.nanquantile(0.2), b, grad=False)
    # (the index of an all-nan slice's nanmedian differs: torch's is not documented)
    _both(torch, lambda m, x: m.nanmedian(x, 1).values, b, grad=False)
    _both(torch, lambda m, x: m.nanmedian(x, 1).indices[::2] * 1, b, grad=False)
    _both(torch, lambda m, x: x.nanmedian(), b, grad=False)
    _both(torch, lambda m, x: m.nanmedian(x, dim=0, keepdim=True), a)
    _both(torch, lambda m, x: m.msort(x) + x.msort(), a)
    gradcheck(lambda x: nerve.quantile(x, nerve.tensor([0.1, 0.5]), dim=1), a)
    with pytest.raises(ValueError, match=r"quantile: q must be a number or a 1-d tensor"):
        nerve.quantile(nerve.tensor(a), 1.5)


def test_cov_corrcoef(torch):
    a = RNG.uniform(-1, 1, (3, 6))
    _both(torch, lambda m, x: m.cov(x), a)
    _both(torch, lambda m, x: x.cov(correction=0), a)
    _both(torch, lambda m, x: m.cov(x[0]), a)
    fw, aw = np.array([1, 2, 1, 3, 1, 1]), RNG.uniform(0.2, 1, 6)
    # aweights carry no gradient in nerve (torch's reaches them)
    _both(torch, lambda m, x, f, w: m.cov(x, fweights=f, aweights=w), a, fw, aw, const=(2,))
    _both(torch, lambda m, x, w: m.cov(x, correction=2, aweights=w), a, aw, const=(1,))
    _both(torch, lambda m, x: m.corrcoef(x), a)
    _both(torch, lambda m, x: x.corrcoef(), a[:1])
    gradcheck(lambda x: nerve.corrcoef(x), a)


def test_kron_dist_vdot_logcumsumexp(torch):
    a, b = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(-1, 1, (3, 1, 2))
    _both(torch, lambda m, x, y: m.kron(x, y), a, b)
    _both(torch, lambda m, x, y: x.kron(y), a[0], a)
    _both(torch, lambda m, x, y: m.dist(x, y), X, Y)
    _both(torch, lambda m, x, y: x.dist(y, p=1), X, Y[0])
    _both(torch, lambda m, x, y: m.vdot(x, y) + x.vdot(y), X[0], Y[0])
    _both(torch, lambda m, x: m.logcumsumexp(x, 1), X * 10)


def test_hsplit_vsplit_dsplit(torch):
    a = RNG.uniform(-1, 1, (2, 6, 4))
    _both(torch, lambda m, x: _fn(m, "hsplit")(x, 3), a)
    _both(torch, lambda m, x: x.hsplit([1, 4]), a)
    _both(torch, lambda m, x: _fn(m, "vsplit")(x, 2), a)
    _both(torch, lambda m, x: x.dsplit([3]), a)
    _both(torch, lambda m, x: _fn(m, "hsplit")(x, 2), a[0, 0])
    with pytest.raises(RuntimeError, match=r"hsplit: the size 6 of dim 1 is not divisible by 4"):
        nerve.tensor(a).hsplit(4)


def test_block_diag(torch):
    a, b = RNG.uniform(-1, 1, (2, 2)), RNG.uniform(-1, 1, (1, 3))
    _both(torch, lambda m, x, y: m.block_diag(x, y, y[0, 0], y[0]), a, b)
    gradcheck(lambda x, y: nerve.block_diag(x, y), a, b)


def test_scatter_reduce_ties_share_the_whole_gradient():
    """amax with include_self=False: the two tied src elements get g/2 each (torch also counts
    the left-out input among the ties and hands out only 2g/3)."""
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    src = nerve.tensor([2.0, 2.0, 5.0], requires_grad=True)
    y = x.scatter_reduce(0, nerve.tensor([1, 1, 0]), src, "amax", include_self=False)
    y.backward(nerve.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(y._data, [5.0, 2.0])
    np.testing.assert_array_equal(src.grad._data, [5.0, 5.0, 1.0])
    np.testing.assert_array_equal(x.grad._data, [0.0, 0.0])


def test_mode_gradient_goes_where_torch_sends_it(torch):
    a = np.random.default_rng(45).integers(0, 4, (3, 4, 7)).astype(np.float64)
    _both(torch, lambda m, x: m.mode(x, 1).values, a)
    _both(torch, lambda m, x: x.mode(keepdim=True).values, a)


def test_inplace_scatter_family_matches_torch(torch):
    labels = np.array([[2], [0], [1]])
    ours = nerve.zeros(3, 4).scatter_(1, nerve.tensor(labels), 1)
    theirs = torch.zeros(3, 4).scatter_(1, torch.tensor(labels), 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x, xt = nerve.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    y, yt = x * 2, xt * 2
    y.scatter_add_(0, nerve.tensor([0, 0, 1]), x)
    yt.scatter_add_(0, torch.tensor([0, 0, 1]), xt)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    a, at = nerve.zeros(3, 2), torch.zeros(3, 2)
    a.index_add_(0, nerve.tensor([0, 2]), nerve.ones(2, 2), alpha=2)
    at.index_add_(0, torch.tensor([0, 2]), torch.ones(2, 2), alpha=2)
    a.index_fill_(1, nerve.tensor([1]), 7.0)
    at.index_fill_(1, torch.tensor([1]), 7.0)
    a.clamp_max_(5.0)
    at.clamp_max_(5.0)
    a.clamp_min_(1.0)
    at.clamp_min_(1.0)
    np.testing.assert_array_equal(a.numpy(), at.numpy())
