"""Device-generic code paths that the op_db samples do not reach, run on the strict "cuda" device
(nerve.strict, a CPU stand-in for CuPy whose arrays refuse to leave the device implicitly) and
compared with the same call on the CPU: creation functions with ``device=``, composed losses and
samplers whose bookkeeping runs on the host, and the generic fallbacks (scatter by rounds, the
log-step scan) that a device without NumPy's ``ufunc.at`` / ``accumulate`` takes.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve.primitives import common
from nerve.testing import assert_close, strict_cuda


def _on_device(t, strict) -> None:
    assert type(t._data) is strict.StrictArray, f"left the device: {type(t._data).__name__}"


def _compare(fn, *arrays, grad=(), rtol=1e-5, atol=1e-6):
    """fn on CPU tensors and on strict-device tensors of ``arrays``: same values, outputs and
    gradients (of the inputs named in ``grad``) on the device."""

    def run(place):
        nerve.manual_seed(0)
        xs = []
        for i, a in enumerate(arrays):
            t = nerve.Tensor._wrap(place(np.asarray(a)))
            if i in grad:
                t.requires_grad_(True)
            xs.append(t)
        out = fn(*xs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        floats = [o for o in outs if o.dtype.kind == "f" and o.requires_grad]
        if floats:
            total = floats[0].sum()
            for o in floats[1:]:
                total = total + o.sum()
            total.backward()
        return outs, [xs[i].grad for i in grad]

    cpu_outs, cpu_grads = run(lambda a: a)
    with strict_cuda() as strict, nerve.device("cuda"):
        dev_outs, dev_grads = run(strict.asarray)
        for d, c in zip(dev_outs, cpu_outs):
            _on_device(d, strict)
            assert d.dtype == c.dtype
            assert_close(d, c, rtol, atol)
        for d, c in zip(dev_grads, cpu_grads):
            _on_device(d, strict)
            assert_close(d, c, rtol * 10, atol * 10)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5)).astype(np.float32)


# ----------------------------------------------------------------------------- creation
@pytest.mark.parametrize(
    "make",
    [
        lambda: nerve.zeros(2, 3),
        lambda: nerve.ones((2, 3), dtype=nerve.float64),
        lambda: nerve.empty(2),
        lambda: nerve.full((2, 2), 7),
        lambda: nerve.arange(5),
        lambda: nerve.arange(0.0, 1.0, 0.25),
        lambda: nerve.linspace(0, 1, 5),
        lambda: nerve.eye(3),
        lambda: nerve.tensor([[1.0, 2.0]]),
        lambda: nerve.as_tensor(np.ones(3)),
        lambda: nerve.rand(3, 4),
        lambda: nerve.randn(3, 4),
        lambda: nerve.randint(0, 10, (5,)),
        lambda: nerve.randperm(6),
        lambda: nerve.normal(0.0, 1.0, (3,)),
    ],
)
def test_creation_follows_the_default_device(make):
    with strict_cuda() as strict, nerve.device("cuda"):
        t = make()
        _on_device(t, strict)
        assert str(t.device) == "cuda:0"


def test_random_creation_draws_from_the_device_generator_and_is_seeded():
    with strict_cuda(), nerve.device("cuda"):
        nerve.manual_seed(3)
        a = nerve.rand(4).tolist()
        nerve.manual_seed(3)
        assert nerve.rand(4).tolist() == a
        p = sorted(nerve.randperm(7).tolist())
        assert p == list(range(7))


def test_like_functions_keep_the_device_of_their_tensor():
    with strict_cuda() as strict:
        x = nerve.ones(2, 3, device="cuda")
        for t in (
            nerve.zeros_like(x),
            nerve.ones_like(x),
            nerve.empty_like(x),
            nerve.full_like(x, 2.0),
            nerve.rand_like(x),
            nerve.randn_like(x),
            nerve.randint_like(x, 5),
        ):
            _on_device(t, strict)
        assert type(nerve.zeros_like(x, device="cpu")._data) is np.ndarray
        m = nerve.normal(x, 1.0)
        _on_device(m, strict)


def test_tensor_of_device_data_stays_on_its_device():
    with strict_cuda() as strict:
        x = nerve.ones(3, device="cuda")
        for t in (nerve.tensor(x), nerve.tensor(x._data), nerve.as_tensor(x._data)):
            _on_device(t, strict)
        assert type(nerve.tensor(x, device="cpu")._data) is np.ndarray
        assert type(nerve.tensor(np.ones(2))._data) is np.ndarray


def test_as_tensor_moves_a_tensor_only_when_asked():
    with strict_cuda() as strict:
        x = nerve.ones(3)
        assert nerve.as_tensor(x) is x
        moved = nerve.as_tensor(x, device="cuda")
        _on_device(moved, strict)
        assert nerve.as_tensor(moved) is moved


# ----------------------------------------------------------------------------- composed ops
def test_ctc_loss_on_the_device():
    lp = np.log(RNG.dirichlet(np.ones(5), size=(6, 2)).astype(np.float32))
    targets = np.array([[1, 2, 2], [3, 1, 0]])
    _compare(
        lambda x, t: F.ctc_loss(x, t, [6, 5], [3, 2]),
        lp,
        targets,
        grad=(0,),
        rtol=1e-4,
        atol=1e-5,
    )


def test_margin_and_gaussian_losses_on_the_device():
    t = np.array([1, 0, 4, 2])
    ml = np.array([[0, 3, -1, 1, 1], [2, -1, 0, 0, 0], [4, 1, 2, -1, 0], [1, -1, 0, 0, 0]])
    var = np.abs(RNG.standard_normal((4, 5))).astype(np.float32) + 0.1
    _compare(lambda x, y: F.multi_margin_loss(x, y), X, t, grad=(0,))
    _compare(lambda x, y: F.multilabel_margin_loss(x, y), X, ml, grad=(0,))
    _compare(lambda x, y, v: F.gaussian_nll_loss(x, y, v), X, X[::-1].copy(), var, grad=(0, 2))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_with_offsets_on_the_device(mode):
    w = RNG.standard_normal((6, 3)).astype(np.float32)
    ids = np.array([0, 2, 2, 5, 1, 3])
    offsets = np.array([0, 2, 2, 5])  # one empty bag
    _compare(lambda i, o, w: F.embedding_bag(i, w, o, mode=mode), ids, offsets, w, grad=(2,))


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "nearest-exact"])
def test_interpolate_on_the_device(mode):
    x = RNG.standard_normal((1, 2, 3, 4)).astype(np.float32)
    _compare(lambda t: F.interpolate(t, size=(5, 7), mode=mode), x, grad=(0,))


def test_affine_grid_and_grid_sample_on_the_device():
    theta = np.array([[[0.9, 0.1, 0.05], [-0.1, 1.1, 0.0]]], np.float32)
    x = RNG.standard_normal((1, 2, 4, 5)).astype(np.float32)

    def sample(t, th):
        return F.grid_sample(t, F.affine_grid(th, (1, 2, 3, 3), align_corners=False))

    _compare(sample, x, theta, grad=(0, 1), rtol=1e-4, atol=1e-5)


def test_alpha_dropout_and_rrelu_draw_on_the_device():
    _compare(lambda t: F.alpha_dropout(t, 0.3, training=True), X, grad=(0,))
    _compare(lambda t: F.rrelu(t, training=True), X, grad=(0,))


def test_index_helpers_on_the_device():
    _compare(lambda t: t.repeat_interleave(nerve.tensor([1, 0, 2, 1, 3]), dim=1), X, grad=(0,))
    _compare(lambda c: nerve.repeat_interleave(c), np.array([2, 0, 3]))
    _compare(lambda t: t[[0, 2], 1:], X, grad=(0,))
    _compare(lambda t: t.masked_fill(t > 0, 1.5), X, grad=(0,))
    _compare(lambda t: F.one_hot(t, 4), np.array([[0, 3], [2, 2]]))
    _compare(lambda t: t.nonzero(), (X > 0).astype(np.float32))


def test_sorting_helpers_on_the_device():
    s = np.sort(RNG.standard_normal(6)).astype(np.float32)
    q = np.array([0.1, 0.5, 0.9], np.float32)
    _compare(lambda a, v: nerve.searchsorted(a, v), s, X)
    _compare(lambda t, qq: nerve.quantile(t, qq, dim=1), X, q, grad=(0,))
    _compare(lambda t: nerve.quantile(t, 0.3, interpolation="midpoint"), X, grad=(0,))
    _compare(lambda t: nerve.mode(t.round(), 1), X, grad=(0,))
    _compare(lambda t: nerve.nanmedian(t, 0), X, grad=(0,))
    _compare(lambda t: nerve.kthvalue(t, 2, 1), X, grad=(0,))


def test_counting_helpers_on_the_device():
    ints = np.array([3, 1, 1, 0, 3, 3])
    _compare(lambda t: nerve.unique(t, return_inverse=True, return_counts=True), ints)
    _compare(lambda t: nerve.unique(t, dim=0), np.array([[1, 2], [0, 1], [1, 2]]))
    _compare(lambda t: nerve.bincount(t, minlength=5), ints)
    _compare(lambda t, w: nerve.bincount(t, w), ints, np.linspace(0, 1, 6).astype(np.float32))
    _compare(lambda t: nerve.histc(t, bins=4), X)
    _compare(lambda t: nerve.count_nonzero(t > 0, dim=1), X)
    with strict_cuda(), nerve.device("cuda"):
        a = nerve.tensor(X)
        assert nerve.equal(a, a.clone()) and nerve.allclose(a, a + 1e-9)


def test_size_dependent_branches_on_the_device():
    big = RNG.standard_normal((70, 80)).astype(np.float32)  # above ReLU's blocked path's 4096
    _compare(lambda t: F.relu(t), big, grad=(0,))
    _compare(lambda t: F.relu(t.T), big, grad=(0,))
    _compare(lambda t: F.dropout(t.T, 0.4), big, grad=(0,))  # mask drawn in memory order
    _compare(lambda t: F.softmax(t, dim=1), big, grad=(0,))
    ids = np.array([1, 1, 1, 1, 1, 1, 2, 0, 1])  # one id more often than embedding's rounds
    w = RNG.standard_normal((3, 4)).astype(np.float32)
    _compare(lambda i, t: F.embedding(i, t, scale_grad_by_freq=True), ids, w, grad=(1,))
    img = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    img[0, 1, 1, 2] = np.nan  # a NaN wins its window
    _compare(lambda t: F.max_pool2d(t, 2, return_indices=True), img, grad=(0,))


def test_logsumexp_of_empty_and_infinite_slices_on_the_device():
    _compare(lambda t: nerve.logsumexp(t, dim=1), np.zeros((3, 0), np.float32))
    _compare(lambda t: nerve.logsumexp(t, dim=0), np.zeros((0, 2), np.float32))
    inf = np.array([[-np.inf, -np.inf], [1.0, -np.inf]], np.float32)
    _compare(lambda t: nerve.logsumexp(t, dim=1), inf, grad=(0,))


# ----------------------------------------------------------------------------- generic fallbacks
def _without_scatter_kernels(strict):
    """A stand-in for a device module whose ufuncs have no ``at`` / ``accumulate`` (as CuPy's
    multiply has no ``at``), so the helpers take their generic paths."""
    module = types.ModuleType("device_without_scatter_kernels")
    for name in ("zeros", "ones", "arange", "argsort", "concatenate", "where", "asarray"):
        setattr(module, name, getattr(strict, name))
    return module


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum])
def test_scatter_by_rounds_matches_numpy_ufunc_at(monkeypatch, ufunc):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((4, 3)).astype(np.float32)
    rows = rng.integers(-4, 4, (10, 1))  # repeats, and negatives that wrap
    cols = np.arange(3)
    vals = rng.standard_normal((10, 3)).astype(np.float32)
    want = base.copy()
    ufunc.at(want, (rows, cols), vals)
    with strict_cuda() as strict:
        module = _without_scatter_kernels(strict)
        monkeypatch.setattr(common, "array_module_of", lambda *a: module)
        out = strict.asarray(base.copy())
        common.ufunc_at(
            ufunc, out, (strict.asarray(rows), strict.asarray(cols)), strict.asarray(vals)
        )
        np.testing.assert_allclose(strict.asnumpy(out), want, rtol=1e-6)
        # a non-contiguous target is updated through a copy and written back
        wide = strict.asarray(np.repeat(base, 2, axis=1))
        view = wide[:, ::2]
        common.ufunc_at(
            ufunc, view, (strict.asarray(rows), strict.asarray(cols)), strict.asarray(vals)
        )
        np.testing.assert_allclose(strict.asnumpy(wide)[:, ::2], want, rtol=1e-6)


def test_scatter_without_a_kernel_names_the_index_it_cannot_take(monkeypatch):
    with strict_cuda() as strict:
        module = _without_scatter_kernels(strict)
        monkeypatch.setattr(common, "array_module_of", lambda *a: module)
        out = strict.zeros((3, 2))
        with pytest.raises(NotImplementedError, match="multiply.at"):
            common.ufunc_at(np.multiply, out, (slice(None), strict.asarray([0, 0])), 2.0)


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.logaddexp, np.add])
@pytest.mark.parametrize("axis", [0, 1])
def test_log_step_scan_matches_numpy_accumulate(monkeypatch, ufunc, axis):
    x = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float64)
    want = ufunc.accumulate(x, axis=axis)
    with strict_cuda() as strict:
        module = _without_scatter_kernels(strict)
        monkeypatch.setattr(common, "array_module_of", lambda *a: module)
        got = common.accumulate(ufunc, strict.asarray(x), axis)
        assert type(got) is strict.StrictArray
        np.testing.assert_allclose(strict.asnumpy(got), want, rtol=1e-12)


def test_divide_where_gives_zero_where_skipped_on_either_device():
    num = np.array([1.0, 2.0, 3.0], np.float32)
    den = np.array([2.0, 0.0, 4.0], np.float32)
    want = np.array([0.5, 0.0, 0.75], np.float32)
    np.testing.assert_array_equal(common.divide_where(num, den, den != 0), want)
    with strict_cuda() as strict:
        n, d = strict.asarray(num), strict.asarray(den)
        got = common.divide_where(n, d, d != 0)
        assert type(got) is strict.StrictArray
        np.testing.assert_array_equal(strict.asnumpy(got), want)


def test_special_functions_reach_the_host_explicitly_without_a_device_namespace():
    from nerve.primitives.activation import erf_array

    x = np.linspace(-2, 2, 9)
    pytest.importorskip("scipy")
    from scipy.special import erf

    with strict_cuda() as strict:
        got = erf_array(strict.asarray(x))
        assert type(got) is strict.StrictArray
        np.testing.assert_allclose(strict.asnumpy(got), erf(x))
