"""Gradients of nerve.keras.ops against torch's, through Keras's ops on torch tensors.

Each case is one lambda over an ops module, run in float64 on ``keras.ops`` (torch tensors that
require grad) and on ``nerve.keras.ops``; the gradients of a weighted sum of the outputs must
agree. Ops whose Keras reference departs from Keras's documentation are gradchecked numerically.
"""

import numpy as np
import pytest

import nerve
from keras_ops_data import (  # noqa: F401 - some are used by one test file only
    AN,
    BIAS,
    K1,
    K1G,
    K2,
    K2G,
    KD,
    KV,
    KV2,
    MASK,
    NAN,
    S64,
    SQ,
    X1,
    X2,
    A,
    B,
    C,
    I,
    J,
    L,
    M,
    P,
    Q,
    S,
    U,
    V,
)
from nerve.keras import ops as nops
from nerve.testing import gradcheck

# Keras's torch backend itself warns on some calls (x.T on 0-d tensors, torch.cross's default dim)
pytestmark = pytest.mark.filterwarnings(r"ignore:.*(\.T\b|torch\.cross).*:UserWarning")

# ----------------------------------------------------------------------------- gradients
GRAD_CASES = {
    "add_bcast": (lambda o, x, y: o.add(x, y), [C, V]),
    "divide": (lambda o, x, y: o.divide(x, y), [A, P]),
    "power": (lambda o, x, y: o.power(x, y), [P, B]),
    "mod": (lambda o, x: o.mod(x, 0.7), [A]),
    "maximum": (lambda o, x, y: o.maximum(x, y), [A, B]),
    "clip": (lambda o, x: o.clip(x, -0.5, 0.5), [A]),
    "where": (lambda o, x, y: o.where(A > 0, x, y), [A, B]),
    "sqrt": (lambda o, x: o.sqrt(x), [P]),
    "rsqrt": (lambda o, x: o.rsqrt(x), [P]),
    "expm1": (lambda o, x: o.expm1(x), [A]),
    "exp2": (lambda o, x: o.exp2(x), [A]),
    "log2": (lambda o, x: o.log2(x), [P]),
    "log10": (lambda o, x: o.log10(x), [P]),
    "reciprocal": (lambda o, x: o.reciprocal(x), [P]),
    "tan": (lambda o, x: o.tan(x), [A]),
    "sinh": (lambda o, x: o.sinh(x), [A]),
    "cosh": (lambda o, x: o.cosh(x), [A]),
    "abs": (lambda o, x: o.abs(x), [A]),
    "erf": (lambda o, x: o.erf(x), [A]),
    "arctan2": (lambda o, x, y: o.arctan2(x, y), [A, B]),
    "logaddexp": (lambda o, x, y: o.logaddexp(x, y), [A, B]),
    "arcsin": (lambda o, x: o.arcsin(x), [U]),
    "diff": (lambda o, x: o.diff(x, n=2, axis=0), [A]),
    "nan_to_num": (lambda o, x: o.nan_to_num(o.where(x > 0, x, np.inf), posinf=9.0), [A]),
    "sum": (lambda o, x: o.sum(x, axis=(0, 2), keepdims=True), [C]),
    "mean": (lambda o, x: o.mean(x, axis=1), [C]),
    "prod": (lambda o, x: o.prod(x, axis=1), [A]),
    "var": (lambda o, x: o.var(x, axis=0), [A]),
    "std": (lambda o, x: o.std(x), [A]),
    "max": (lambda o, x: o.max(x, axis=1), [A]),
    "min": (lambda o, x: o.min(x, axis=(0, 2)), [C]),
    "cumsum": (lambda o, x: o.cumsum(x, axis=1), [A]),
    "cumprod": (lambda o, x: o.cumprod(x, axis=1), [A]),
    "cumprod_flat": (lambda o, x: o.cumprod(x), [A]),
    "sort": (lambda o, x: o.sort(x, axis=0), [A]),
    "norm": (lambda o, x: o.norm(x, axis=1), [A]),
    "norm_l1": (lambda o, x: o.norm(x, ord=1, axis=0), [A]),
    "norm_mat_inf": (lambda o, x: o.norm(x, ord=np.inf, axis=(1, 2)), [C]),
    "average": (lambda o, x, w: o.average(x, axis=1, weights=w), [A, P[0]]),
    "logsumexp": (lambda o, x: o.logsumexp(x, axis=-1), [A]),
    "top_k": (lambda o, x: o.top_k(x, 2)[0], [A]),
    "expand_squeeze": (lambda o, x: o.squeeze(o.expand_dims(x, 1) * 2.0), [A]),
    "transpose": (lambda o, x: o.transpose(x, (2, 0, 1)), [C]),
    "moveaxis": (lambda o, x: o.moveaxis(x, 0, -1), [C]),
    "broadcast_to": (lambda o, x: o.broadcast_to(x, (2, 3, 4)), [V]),
    "stack": (lambda o, x, y: o.stack([x, y], axis=1), [A, B]),
    "concatenate": (lambda o, x, y: o.concatenate([x, y], axis=1), [A, B]),
    "split": (lambda o, x: o.split(x, [1, 3], axis=1)[1] * 3.0, [A]),
    "tile": (lambda o, x: o.tile(x, (2, 2)), [A]),
    "repeat": (lambda o, x: o.repeat(x, np.array([1, 0, 2]), axis=0), [A]),
    "roll": (lambda o, x: o.roll(x, 2, axis=1), [A]),
    "flip": (lambda o, x: o.flip(x), [A]),
    "pad_reflect": (lambda o, x: o.pad(x, ((1, 1), (2, 2)), mode="reflect"), [A]),
    "take": (lambda o, x: o.take(x, np.array([[0, 3], [1, 1]]), axis=1), [A]),
    "take_along_axis": (lambda o, x: o.take_along_axis(x, np.array([[0, 3, 3]]).T, 1), [A]),
    "diag": (lambda o, x: o.diag(x, k=1), [SQ]),
    "diag_vec": (lambda o, x: o.diag(x, k=-1), [V]),
    "diagonal": (lambda o, x: o.diagonal(x, 1, 1, 2), [C]),
    "tril": (lambda o, x: o.tril(x), [A]),
    "triu": (lambda o, x: o.triu(x, 1), [C]),
    "matmul": (lambda o, x, y: o.matmul(x, y), [C, M]),
    "dot_nd": (lambda o, x, y: o.dot(x, y), [C, M]),
    "tensordot": (lambda o, x, y: o.tensordot(x, y, axes=([1, 2], [0, 1])), [C, A]),
    "einsum": (lambda o, x, y: o.einsum("bij,jk->bik", x, y), [C, M]),
    "outer": (lambda o, x, y: o.outer(x, y), [V, B[0]]),
    "softmax": (lambda o, x: o.softmax(x, axis=0), [A]),
    "softmax_axes": (lambda o, x: o.softmax(x, axis=(1, 2)), [C]),
    "log_softmax": (lambda o, x: o.log_softmax(x), [A]),
    "gelu": (lambda o, x: o.gelu(x), [A]),
    "glu": (lambda o, x: o.glu(x), [A]),
    "celu": (lambda o, x: o.celu(x, 2.0), [A]),
    "hard_silu": (lambda o, x: o.hard_silu(x * 3.0), [A]),
    "log_sigmoid": (lambda o, x: o.log_sigmoid(x), [A]),
    "soft_shrink": (lambda o, x: o.soft_shrink(x), [A]),
    "squareplus": (lambda o, x: o.squareplus(x), [A]),
    "sparse_plus": (lambda o, x: o.sparse_plus(x * 2.0), [A]),
    "softsign": (lambda o, x: o.softsign(x), [A]),
    "binary_crossentropy": (lambda o, x: o.binary_crossentropy(S64, x), [U]),
    "binary_crossentropy_logits": (
        lambda o, x: o.binary_crossentropy(S64, x, from_logits=True),
        [A],
    ),
    "categorical_crossentropy": (lambda o, x: o.categorical_crossentropy(S64, x), [P]),
    "categorical_crossentropy_logits": (
        lambda o, x: o.categorical_crossentropy(S64, x, from_logits=True),
        [A],
    ),
    "sparse_categorical_crossentropy": (
        lambda o, x: o.sparse_categorical_crossentropy(L, x),
        [P],
    ),
    "sparse_categorical_crossentropy_logits": (
        lambda o, x: o.sparse_categorical_crossentropy(L, x, from_logits=True),
        [A],
    ),
    "moments": (lambda o, x: o.add(*o.moments(x, axes=[0, 2])), [C]),
    "normalize": (lambda o, x: o.normalize(x), [A]),
    "normalize_l1": (lambda o, x: o.normalize(x, order=1), [A]),
    "batch_normalization": (
        lambda o, x, m, v, b, s: o.batch_normalization(x, m, v, -1, offset=b, scale=s),
        [C, V, P[0], B[0], B[1]],
    ),
    "slice": (lambda o, x: o.slice(x, (0, 1, 1), (2, 2, 3)), [C]),
    "slice_update": (lambda o, x, u: o.slice_update(x, (1, 1), u), [A, B[:2, :2]]),
    "scatter": (lambda o, v: o.scatter(np.array([[0, 1], [2, 3], [0, 1]]), v, (3, 4)), [V[:3]]),
    "scatter_update": (
        lambda o, x, u: o.scatter_update(x, np.array([[0, 1], [2, 2], [1, 0]]), u),
        [A, V[:3]],
    ),
    "segment_sum": (lambda o, x: o.segment_sum(x, np.array([0, 2, 0])), [A]),
    "segment_max": (lambda o, x: o.segment_max(x, np.array([1, 1, 0]), num_segments=2), [A]),
    "vectorized_map": (lambda o, x: o.vectorized_map(lambda r: o.sum(r * r), x), [A]),
    "cast": (lambda o, x: o.cast(x, "float64"), [A]),
    "arcsinh": (lambda o, x: o.arcsinh(x), [A]),
    "arccosh": (lambda o, x: o.arccosh(x + 1.0), [P]),
    "arctanh": (lambda o, x: o.arctanh(x * 2 - 1), [U]),
    "sinc": (lambda o, x: o.sinc(x), [A]),
    "fmax": (lambda o, x, y: o.fmax(x, y), [A, B]),
    "trapezoid": (lambda o, y, x: o.trapezoid(y, x=x), [A, np.array([0.0, 0.5, 2.0, 2.5])]),
    "kron": (lambda o, x, y: o.kron(x, y), [A[:2, :2], B]),
    "nancumsum": (lambda o, x: o.nancumsum(x, axis=1), [A]),
    "segment_min": (lambda o, x: o.segment_min(x, np.array([1, 1, 0]), num_segments=2), [A]),
    "segment_prod": (lambda o, x: o.segment_prod(x, np.array([1, 1, 0]), num_segments=2), [A]),
    "hypot": (lambda o, x, y: o.hypot(x, y), [A, B]),
    "cbrt": (lambda o, x: o.cbrt(x), [A]),
    "logaddexp2": (lambda o, x, y: o.logaddexp2(x, y), [A, B]),
    "divide_no_nan": (lambda o, x, y: o.divide_no_nan(x, y * o.cast(y > 0, "float64")), [A, B]),
    "nanmean": (lambda o, x: o.nanmean(o.where(o.abs(x) > 1.5, np.nan, x), axis=0), [A]),
    "nanvar": (lambda o, x: o.nanvar(o.where(o.abs(x) > 1.5, np.nan, x), axis=0), [A]),
    "nanmax": (lambda o, x: o.nanmax(o.where(o.abs(x) > 1.5, np.nan, x), axis=1), [A]),
    "ptp": (lambda o, x: o.ptp(x, axis=0), [A]),
    "percentile": (lambda o, x: o.percentile(x, [10, 50], axis=1), [A]),
    "rot90": (lambda o, x: o.rot90(x, k=3, axes=(1, 2)), [C]),
    "dstack": (lambda o, x, y: o.dstack([x, y]), [A, B]),
    "scan": (lambda o, x: o.scan(lambda c, v: (c * v, c + v), o.ones(4), x)[1], [A]),
    "inner": (lambda o, x, y: o.inner(x, y), [C, B]),
    "vdot": (lambda o, x, y: o.vdot(x, y), [V, B[0]]),
    "trace": (lambda o, x: o.trace(x, 1, 1, 2), [C]),
    "cross": (lambda o, x, y: o.cross(x, y), [A[:2, :3], B[:2, :3]]),
    "meshgrid": (lambda o, x, y: o.stack(o.meshgrid(x, y)), [V, B[0, :3]]),
    "quantile": (lambda o, x: o.quantile(x, [0.1, 0.5, 0.8], axis=1), [C]),
    "quantile_midpoint": (lambda o, x: o.quantile(x, 0.3, method="midpoint"), [A]),
    "median": (lambda o, x: o.median(x, axis=0), [A]),
    "select": (lambda o, x, y: o.select([A > 0.5, A < -0.5], [x, y]), [A, B]),
    # Keras computes attention in float32 even for float64 inputs: a float32 tolerance
    "attention": (
        lambda o, q, k, v: o.dot_product_attention(q, k, v, mask=MASK, is_causal=True),
        [Q, KV, KV2],
        1e-4,
    ),
    "attention_bias_gqa": (
        lambda o, q, k, v, b: o.dot_product_attention(q, k, v, bias=b),
        [Q, KV[:, :, :1], KV2[:, :, :1], BIAS],
        1e-4,
    ),
    # (and so do layer_normalization and rms_normalization)
    "layer_normalization": (
        lambda o, x, g, b: o.layer_normalization(x, g, b),
        [C, V, B[0]],
        1e-4,
    ),
    "rms_normalization": (lambda o, x, g: o.rms_normalization(x, g), [C, P[0]], 1e-4),
    "conv2d_same_strided": (
        lambda o, x, k: o.conv(x, k, strides=2, padding="same"),
        [X2, K2],
    ),
    "conv1d_groups": (lambda o, x, k: o.conv(x, k, padding="same"), [X1, K1G]),
    "depthwise_conv": (lambda o, x, k: o.depthwise_conv(x, k), [X2, KD]),
    "max_pool_same": (lambda o, x: o.max_pool(x, 3, strides=2, padding="same"), [X2]),
    "average_pool_same": (lambda o, x: o.average_pool(x, 3, strides=1, padding="same"), [X2]),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_torch(keras, torch, name):
    fn, inputs, *tol = GRAD_CASES[name]
    rtol = tol[0] if tol else 1e-6
    arrays = [np.asarray(a, np.float64) for a in inputs]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = fn(keras.ops, *tin)
    w = np.random.default_rng(1).standard_normal(tuple(tout.shape))
    (tout * torch.tensor(w, dtype=tout.dtype)).sum().backward()
    nin = [nerve.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    nout = fn(nops, *nin)
    assert nout.shape == tuple(tout.shape)
    (nout * nerve.tensor(w, dtype=nout.dtype)).sum().backward()
    for t, n in zip(tin, nin):
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(n.shape) if n.grad is None else n.grad._data
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)


def test_float32_stays_float32():
    x = nerve.tensor(A, requires_grad=True)
    out = nops.sum(nops.softmax(nops.matmul(x, M)) * 2.0 + nops.sqrt(nops.abs(x)).sum())
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


def test_accepts_tensors_arrays_scalars_and_lists():
    t = nerve.tensor([1.0, 2.0])
    for x in (t, np.array([1.0, 2.0], np.float32), [1.0, 2.0]):
        out = nops.add(x, 1)
        assert isinstance(out, nerve.Tensor) and out.tolist() == [2.0, 3.0]
    assert nops.multiply(2, 3).tolist() == 6 and nops.multiply(2, 3).dtype == np.int32
    assert isinstance(nops.convert_to_numpy(t), np.ndarray)


def test_stop_gradient_blocks_the_gradient():
    x = nerve.tensor(A, requires_grad=True)
    (nops.stop_gradient(x) * x).sum().backward()
    np.testing.assert_allclose(x.grad._data, A)


def test_cond_runs_one_branch_and_loops_carry_tensors():
    calls = []
    out = nops.cond(nerve.tensor(False), lambda: calls.append("t"), lambda: "f")
    assert out == "f" and calls == []
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = nops.fori_loop(0, 3, lambda i, v: v * x, nerve.tensor([1.0, 1.0]))
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, [3.0, 12.0])  # d x^3 = 3 x^2
    i, total = nops.while_loop(lambda i, t: i < 4, lambda i, t: (i + 1, t + i), (0, 0))
    assert int(i) == 4 and int(total) == 6
    assert nops.switch(5, [lambda v: v + 1, lambda v: v * 10], 2) == 20


def test_gradients_of_numpy_semantics_ops():

    gradcheck(lambda x: nops.pad(x, ((1, 0), (2, 3), (0, 4)), mode="symmetric"), C)
    gradcheck(lambda x: nops.pad(x, ((1, 2), (0, 1)), mode="edge"), A)
    gradcheck(lambda x: nops.take(x, np.array([2, 0, -1])), A)
    gradcheck(lambda x: nops.sparsemax(x * 2.0), A)
    gradcheck(lambda x: nops.sparsemax(x, axis=0), C)
    gradcheck(lambda x, y: nops.cross(x, y), A[:, :2], B[:, :2])
    gradcheck(lambda w: nops.bincount(np.array([[1, 3], [1, 0]]), weights=w), A[:2, :2])
    gradcheck(lambda x: nops.cumprod(x * nerve.tensor([1.0, 0.0, 1.0, 1.0]), axis=1), A)
