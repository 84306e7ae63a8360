"""nerve.keras.ops against keras.ops (Keras 3 on its torch backend) through the same call.

Each case is one lambda over an ops module: it runs on ``keras.ops`` and on ``nerve.keras.ops``
with the same NumPy inputs, and the values, shapes and dtypes must agree. Where Keras's torch
backend departs from Keras's documented (NumPy) semantics, the case is checked against NumPy.
Bad input must raise an error that names the op. Gradients: test_keras_ops_gradients.py.
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

# Keras's torch backend itself warns on some calls (x.T on 0-d tensors, torch.cross's default dim)
pytestmark = pytest.mark.filterwarnings(r"ignore:.*(\.T\b|torch\.cross).*:UserWarning")

CASES = {
    # arithmetic, with broadcasting and Python scalars
    "add": lambda o: o.add(A, B),
    "add_scalar": lambda o: o.add(A, 2),
    "add_int_float": lambda o: o.add(I, 1.5),
    "add_ints": lambda o: o.add(I, J),
    "add_bcast": lambda o: o.add(C, V),
    "subtract": lambda o: o.subtract(A, V),
    "multiply": lambda o: o.multiply(A, B),
    "multiply_int_scalar": lambda o: o.multiply(I, 3),
    "divide": lambda o: o.divide(A, P),
    "divide_ints": lambda o: o.divide(I, J),
    "divide_int_scalar": lambda o: o.divide(I, 2),
    "true_divide": lambda o: o.true_divide(I, J),
    "floor_divide": lambda o: o.floor_divide(I, J),
    "floor_divide_float": lambda o: o.floor_divide(A, 0.3),
    "mod": lambda o: o.mod(I, J),
    "mod_float": lambda o: o.mod(A, 0.7),
    "power": lambda o: o.power(P, 1.7),
    "power_int": lambda o: o.power(J, 2),
    "power_int_float": lambda o: o.power(J, 0.5),
    "power_tensor": lambda o: o.power(P, B),
    "negative": lambda o: o.negative(A),
    "maximum": lambda o: o.maximum(A, B),
    "minimum": lambda o: o.minimum(A, 0.0),
    "clip": lambda o: o.clip(A, -0.5, 0.5),
    "clip_int": lambda o: o.clip(I, 0, 3),
    "clip_int_float": lambda o: o.clip(I, 0.5, 3.5),
    # comparisons and logic
    "equal": lambda o: o.equal(I, J),
    "not_equal": lambda o: o.not_equal(I, 2),
    "greater": lambda o: o.greater(A, B),
    "greater_equal": lambda o: o.greater_equal(I, J),
    "less": lambda o: o.less(A, 0.0),
    "less_equal": lambda o: o.less_equal(I, J),
    "logical_and": lambda o: o.logical_and(A > 0, B > 0),
    "logical_or": lambda o: o.logical_or(I, J > 2),
    "logical_xor": lambda o: o.logical_xor(A > 0, B > 0),
    "logical_not": lambda o: o.logical_not(I),
    "where": lambda o: o.where(A > 0, A, B),
    "where_scalars": lambda o: o.where(A > 0, 1.0, -1.0),
    "where_int_scalars": lambda o: o.where(A > 0, 1, 2),
    "where_nonbool": lambda o: o.where(I, A, 0.0),
    # math functions
    "sqrt": lambda o: o.sqrt(P),
    "sqrt_int": lambda o: o.sqrt(J),
    "rsqrt": lambda o: o.rsqrt(P),
    "exp": lambda o: o.exp(A),
    "exp_int": lambda o: o.exp(I),
    "exp2": lambda o: o.exp2(A),
    "expm1": lambda o: o.expm1(A * 1e-4),
    "log": lambda o: o.log(P),
    "log1p": lambda o: o.log1p(P),
    "log2": lambda o: o.log2(P),
    "log10": lambda o: o.log10(P),
    "square": lambda o: o.square(A),
    "square_int": lambda o: o.square(I),
    "reciprocal": lambda o: o.reciprocal(P),
    "abs": lambda o: o.abs(A),
    "abs_int": lambda o: o.abs(I),
    "absolute": lambda o: o.absolute(A),
    "sign": lambda o: o.sign(A),
    "sign_int": lambda o: o.sign(I),
    "sin": lambda o: o.sin(A),
    "cos": lambda o: o.cos(A),
    "tan": lambda o: o.tan(A),
    "sinh": lambda o: o.sinh(A),
    "cosh": lambda o: o.cosh(A),
    "tanh": lambda o: o.tanh(A),
    "erf": lambda o: o.erf(A),
    "arcsin": lambda o: o.arcsin(U),
    "arccos": lambda o: o.arccos(U),
    "arctan": lambda o: o.arctan(A),
    "arctan2": lambda o: o.arctan2(A, B),
    "logaddexp": lambda o: o.logaddexp(A, B),
    "isclose": lambda o: o.isclose(A, A + 1e-6 * B),
    "diff": lambda o: o.diff(A),
    "diff_2": lambda o: o.diff(C, n=2, axis=1),
    "floor": lambda o: o.floor(A * 3),
    "floor_int": lambda o: o.floor(I),
    "ceil": lambda o: o.ceil(A * 3),
    "round": lambda o: o.round(A * 3),
    "round_decimals": lambda o: o.round(A, 2),
    "trunc": lambda o: o.trunc(A * 3),
    "isnan": lambda o: o.isnan(NAN),
    "isinf": lambda o: o.isinf(NAN),
    "isfinite": lambda o: o.isfinite(NAN),
    "nan_to_num": lambda o: o.nan_to_num(NAN),
    "nan_to_num_values": lambda o: o.nan_to_num(NAN, nan=5.0, posinf=9.0, neginf=-9.0),
    # reductions
    "sum": lambda o: o.sum(A),
    "sum_axis": lambda o: o.sum(C, axis=1),
    "sum_axes_keep": lambda o: o.sum(C, axis=(0, 2), keepdims=True),
    "sum_int": lambda o: o.sum(I, axis=0),
    "sum_bool": lambda o: o.sum(A > 0),
    "mean": lambda o: o.mean(C, axis=-1),
    "mean_int": lambda o: o.mean(I),
    "prod": lambda o: o.prod(A, axis=1),
    "prod_int": lambda o: o.prod(J, axis=1),
    "var": lambda o: o.var(C, axis=(1, 2)),
    "std": lambda o: o.std(A, axis=0, keepdims=True),
    "max": lambda o: o.max(A),
    "max_axis": lambda o: o.max(C, axis=1),
    "max_keep": lambda o: o.max(C, axis=-1, keepdims=True),
    "max_initial": lambda o: o.max(A, axis=0, initial=0.5),
    "max_int": lambda o: o.max(I, axis=1),
    "min": lambda o: o.min(C, axis=(0, 1)),
    "amax": lambda o: o.amax(A, axis=1),
    "amin": lambda o: o.amin(A, axis=0, keepdims=True),
    "argmax": lambda o: o.argmax(A, axis=1),
    "argmax_flat": lambda o: o.argmax(A),
    "argmax_keep": lambda o: o.argmax(C, axis=-1, keepdims=True),
    "argmin": lambda o: o.argmin(C, axis=0),
    "all": lambda o: o.all(I, axis=1),
    "any": lambda o: o.any(A > 1, axis=0, keepdims=True),
    "count_nonzero": lambda o: o.count_nonzero(I),
    "count_nonzero_axis": lambda o: o.count_nonzero(I, axis=0),
    "cumsum": lambda o: o.cumsum(A, axis=1),
    "cumsum_flat": lambda o: o.cumsum(A),
    "cumsum_int": lambda o: o.cumsum(I, axis=0),
    "cumprod": lambda o: o.cumprod(A, axis=0),
    "cumprod_flat": lambda o: o.cumprod(V),
    "sort": lambda o: o.sort(A),
    "sort_axis0": lambda o: o.sort(A, axis=0),
    "argsort": lambda o: o.argsort(A),
    "argsort_axis0": lambda o: o.argsort(A, axis=0),
    "norm": lambda o: o.norm(A),
    "norm_vec": lambda o: o.norm(A, axis=1),
    "norm_l1": lambda o: o.norm(A, ord=1, axis=-1, keepdims=True),
    "norm_inf": lambda o: o.norm(V, ord=np.inf),
    "norm_fro": lambda o: o.norm(C, ord="fro", axis=(1, 2)),
    "norm_mat1": lambda o: o.norm(A, ord=1, axis=(0, 1)),
    "norm_matinf": lambda o: o.norm(C, ord=np.inf, axis=(1, 2)),
    "average": lambda o: o.average(A, axis=1, weights=V),
    "logsumexp": lambda o: o.logsumexp(A, axis=1),
    # creation
    "zeros": lambda o: o.zeros((2, 3)),
    "zeros_int": lambda o: o.zeros((2,), dtype="int32"),
    "ones": lambda o: o.ones(3),
    "zeros_like": lambda o: o.zeros_like(I),
    "ones_like": lambda o: o.ones_like(A, dtype="float64"),
    "full": lambda o: o.full((2, 2), 3),
    "full_dtype": lambda o: o.full((2, 2), 3, dtype="int32"),
    "full_like": lambda o: o.full_like(I, 7),
    "eye": lambda o: o.eye(3),
    "eye_rect": lambda o: o.eye(3, 4, k=1),
    "identity": lambda o: o.identity(3, dtype="int32"),
    "tri": lambda o: o.tri(3, 4, k=-1),
    "arange": lambda o: o.arange(5),
    "arange_range": lambda o: o.arange(2, 11, 3),
    "arange_float": lambda o: o.arange(0.0, 1.0, 0.25),
    "arange_dtype": lambda o: o.arange(4, dtype="float32"),
    "linspace": lambda o: o.linspace(0, 1, 5),
    "linspace_open": lambda o: o.linspace(-1.0, 1.0, num=4, endpoint=False),
    # shape
    "reshape": lambda o: o.reshape(C, (4, -1)),
    "ravel": lambda o: o.ravel(C),
    "expand_dims": lambda o: o.expand_dims(A, 1),
    "expand_dims_neg": lambda o: o.expand_dims(A, -1),
    "squeeze": lambda o: o.squeeze(np.ones((1, 3, 1), np.float32)),
    "squeeze_axis": lambda o: o.squeeze(np.ones((1, 3, 1), np.float32), axis=-1),
    "transpose": lambda o: o.transpose(C),
    "transpose_axes": lambda o: o.transpose(C, (1, 0, 2)),
    "moveaxis": lambda o: o.moveaxis(C, 0, -1),
    "moveaxis_many": lambda o: o.moveaxis(C, (0, 1), (2, 0)),
    "swapaxes": lambda o: o.swapaxes(C, 0, 2),
    "broadcast_to": lambda o: o.broadcast_to(V, (2, 3, 4)),
    "stack": lambda o: o.stack([A, B]),
    "stack_axis": lambda o: o.stack([A, B], axis=-1),
    "concatenate": lambda o: o.concatenate([A, B], axis=1),
    "concatenate_0": lambda o: o.concatenate([A, B]),
    "vstack": lambda o: o.vstack([A, V]),
    "hstack": lambda o: o.hstack([A, B]),
    "split": lambda o: o.split(A, 2, axis=1),
    "split_indices": lambda o: o.split(np.arange(10, dtype=np.float32), [3, 5, 6]),
    "tile": lambda o: o.tile(A, (2, 1)),
    "tile_int": lambda o: o.tile(V, 2),
    "repeat": lambda o: o.repeat(A, 2, axis=0),
    "repeat_flat": lambda o: o.repeat(V, 3),
    "repeat_counts": lambda o: o.repeat(A, np.array([1, 0, 2]), axis=0),
    "roll": lambda o: o.roll(A, 1, axis=1),
    "roll_flat": lambda o: o.roll(A, -3),
    "flip": lambda o: o.flip(A, axis=0),
    "flip_all": lambda o: o.flip(A),
    "pad": lambda o: o.pad(A, ((1, 0), (2, 1))),
    "pad_value": lambda o: o.pad(A, ((0, 1), (1, 1)), constant_values=3.0),
    "pad_reflect": lambda o: o.pad(A, ((1, 1), (2, 2)), mode="reflect"),
    # indexing
    "take": lambda o: o.take(A, np.array([2, 0, 11])),
    "take_negative": lambda o: o.take(A, np.array([[1, -1]]), axis=0),
    "take_axis": lambda o: o.take(A, np.array([[0, 3], [1, 1]]), axis=1),
    "take_along_axis": lambda o: o.take_along_axis(A, np.argsort(A, axis=1), axis=1),
    "take_along_axis_bcast": lambda o: o.take_along_axis(A, np.array([[0, 3]]), axis=1),
    "diag": lambda o: o.diag(SQ),
    "diag_k": lambda o: o.diag(SQ, k=1),
    "diag_vec": lambda o: o.diag(V),
    "diag_vec_k": lambda o: o.diag(V, k=-2),
    "diagonal": lambda o: o.diagonal(C, offset=1, axis1=1, axis2=2),
    "tril": lambda o: o.tril(A),
    "triu": lambda o: o.triu(C, k=1),
    "tril_neg": lambda o: o.tril(A, k=-1),
    # products
    "matmul": lambda o: o.matmul(A, M),
    "matmul_batch": lambda o: o.matmul(C, M),
    "matmul_vec": lambda o: o.matmul(A, V),
    "matmul_int": lambda o: o.matmul(I, J.T),
    "dot": lambda o: o.dot(A, M),
    "dot_vec": lambda o: o.dot(V, V),
    "dot_nd": lambda o: o.dot(C, M),
    "tensordot": lambda o: o.tensordot(C, M, axes=1),
    "tensordot_axes": lambda o: o.tensordot(C, A, axes=([1, 2], [0, 1])),
    "einsum": lambda o: o.einsum("bij,jk->bik", C, M),
    "outer": lambda o: o.outer(V, A[0]),
    "inner": lambda o: o.inner(A, B),
    "vdot": lambda o: o.vdot(V, B[0]),
    "trace": lambda o: o.trace(SQ),
    "trace_offset": lambda o: o.trace(C, offset=1, axis1=1, axis2=2),
    "trace_int": lambda o: o.trace(I),
    "cross": lambda o: o.cross(A[:2, :3], B[:2, :3]),
    "cross_axis": lambda o: o.cross(A[:, :2], B[:, :2], axis=0),
    # more NumPy
    "logspace": lambda o: o.logspace(0, 2, 5),
    "logspace_base": lambda o: o.logspace(0.0, 3.0, 4, base=2, endpoint=False),
    "meshgrid": lambda o: o.meshgrid(V, V[:3]),
    "meshgrid_ij": lambda o: o.meshgrid(V, V[:3], V[:2], indexing="ij"),
    "quantile": lambda o: o.quantile(A, 0.3),
    "quantile_axis": lambda o: o.quantile(C, [0.1, 0.5, 1.0], axis=1),
    "quantile_keep": lambda o: o.quantile(C, 0.75, axis=(0, 2), keepdims=True),
    "quantile_lower": lambda o: o.quantile(A, 0.3, axis=1, method="lower"),
    "quantile_higher": lambda o: o.quantile(A, 0.3, axis=1, method="higher"),
    "quantile_midpoint": lambda o: o.quantile(A, 0.3, axis=1, method="midpoint"),
    "quantile_nearest": lambda o: o.quantile(A, [0.2, 0.7], axis=0, method="nearest"),
    "median": lambda o: o.median(A),
    "median_axis": lambda o: o.median(C, axis=-1, keepdims=True),
    "median_int": lambda o: o.median(I, axis=0),
    "append": lambda o: o.append(A, B),
    "append_axis": lambda o: o.append(A, B, axis=1),
    "searchsorted": lambda o: o.searchsorted(np.sort(V), A),
    "searchsorted_right": lambda o: o.searchsorted(np.array([1, 2, 2, 3]), J, side="right"),
    "digitize": lambda o: o.digitize(A, np.array([-1.0, 0.0, 1.0], np.float32)),
    "bincount": lambda o: o.bincount(np.array([1, 3, 1, 0], np.int32)),
    "bincount_weights": lambda o: o.bincount(np.array([1, 3, 1, 0]), weights=V, minlength=6),
    "bincount_2d": lambda o: o.bincount(np.array([[1, 2], [0, 0]]), minlength=3),
    "select": lambda o: o.select([A > 0.5, A < -0.5], [A, B], default=0.0),
    # numpy_more
    "array": lambda o: o.array([[1, 2], [3, 4]]),
    "array_dtype": lambda o: o.array(A, dtype="float64"),
    "copy": lambda o: o.copy(A),
    "saturate_cast": lambda o: o.saturate_cast(A * 300, "uint8"),
    "saturate_cast_narrow": lambda o: o.saturate_cast(I * 50, "int8"),
    "get_item": lambda o: o.get_item(o.convert_to_tensor(C), (slice(None), 1)),
    "fmod": lambda o: o.fmod(A, 0.3),
    "fmod_int": lambda o: o.fmod(I, J),
    "hypot": lambda o: o.hypot(A, B),
    "cbrt": lambda o: o.cbrt(A),
    "deg2rad": lambda o: o.deg2rad(A),
    "rad2deg": lambda o: o.rad2deg(A),
    "logaddexp2": lambda o: o.logaddexp2(A, B),
    "divide_no_nan": lambda o: o.divide_no_nan(A, np.where(B > 0, B, 0).astype(np.float32)),
    "heaviside": lambda o: o.heaviside(np.round(A), 0.5),
    "signbit": lambda o: o.signbit(A),
    "isneginf": lambda o: o.isneginf(NAN),
    "isposinf": lambda o: o.isposinf(NAN),
    "isin": lambda o: o.isin(I, J),
    "isin_invert": lambda o: o.isin(I, J, invert=True),
    "allclose": lambda o: o.allclose(A, A + 1e-7),
    "nansum": lambda o: o.nansum(AN, axis=1),
    "nanprod": lambda o: o.nanprod(AN),
    "nanmean": lambda o: o.nanmean(AN, axis=0, keepdims=True),
    "nanvar": lambda o: o.nanvar(AN, axis=0),
    "nanstd": lambda o: o.nanstd(AN),
    "nanmax": lambda o: o.nanmax(AN, axis=1),
    "nanmin": lambda o: o.nanmin(AN, axis=0),
    "ptp": lambda o: o.ptp(C, axis=1),
    "percentile": lambda o: o.percentile(A, [10, 50], axis=1),
    "array_split": lambda o: o.array_split(np.arange(10, dtype=np.float32), 3),
    "hsplit": lambda o: o.hsplit(A, 2),
    "vsplit": lambda o: o.vsplit(A, [1]),
    "dsplit": lambda o: o.dsplit(C, 2),
    "dstack": lambda o: o.dstack([A, B]),
    "fliplr": lambda o: o.fliplr(A),
    "flipud": lambda o: o.flipud(A),
    "rot90": lambda o: o.rot90(A),
    "rot90_k": lambda o: o.rot90(C, k=3, axes=(1, 2)),
    "rot90_2": lambda o: o.rot90(C, k=2, axes=(0, 2)),
    "scan": lambda o: o.scan(lambda c, x: (c + x, c * x), o.zeros(4), o.convert_to_tensor(A)),
    "scan_reverse": lambda o: o.scan(
        lambda c, x: (c * 2.0, c), o.ones(()), None, length=3, reverse=True
    ),
    # numpy_extra
    "fabs": lambda o: o.fabs(I),
    "arcsinh": lambda o: o.arcsinh(A * 100),
    "arcsinh_small": lambda o: o.arcsinh(A * 1e-4),
    "arccosh": lambda o: o.arccosh(P + 1.0),
    "arctanh": lambda o: o.arctanh(U * 2 - 1),
    "sinc": lambda o: o.sinc(np.round(A * 2) / 2),
    "fmax": lambda o: o.fmax(AN, B),
    "fmin": lambda o: o.fmin(B, AN),
    "fmax_int": lambda o: o.fmax(I, J),
    "real": lambda o: o.real(A),
    "conj": lambda o: o.conj(A),
    "isreal": lambda o: o.isreal(A),
    "sparse_sigmoid": lambda o: o.sparse_sigmoid(A * 2),
    "trapezoid": lambda o: o.trapezoid(A),
    "trapezoid_dx": lambda o: o.trapezoid(A, dx=0.5, axis=0),
    "trapezoid_x": lambda o: o.trapezoid(A, x=np.array([0.0, 0.5, 2.0, 2.5], np.float32)),
    "kron": lambda o: o.kron(A[:2, :2], B),
    "kron_vec": lambda o: o.kron(V, A),
    "diagflat": lambda o: o.diagflat(A[:2, :2], k=1),
    "geomspace": lambda o: o.geomspace(1, 1000, 4),
    "nanargmax": lambda o: o.nanargmax(AN[[0, 2]], axis=1),
    "nanargmin": lambda o: o.nanargmin(AN[[0, 2]], axis=0),
    "nancumsum": lambda o: o.nancumsum(AN, axis=1),
    "nancumprod": lambda o: o.nancumprod(AN, axis=0),
    "segment_min": lambda o: o.segment_min(A, np.array([1, 1, 0]), num_segments=2),
    "segment_prod": lambda o: o.segment_prod(A, np.array([1, 1, 0]), num_segments=2),
    "gcd": lambda o: o.gcd(I, J),
    "lcm": lambda o: o.lcm(I, J),
    "bitwise_and": lambda o: o.bitwise_and(I, J),
    "bitwise_or": lambda o: o.bitwise_or(I, J),
    "bitwise_xor": lambda o: o.bitwise_xor(I, J),
    "bitwise_invert": lambda o: o.bitwise_invert(I),
    "bitwise_not": lambda o: o.bitwise_not(I > 2),
    "left_shift": lambda o: o.left_shift(J, 2),
    "right_shift": lambda o: o.bitwise_right_shift(I * 8, J),
    "unravel_index": lambda o: o.unravel_index(np.array([1, 7, 11]), (3, 4)),
    "bartlett": lambda o: o.bartlett(5),
    "blackman": lambda o: o.blackman(6),
    "hamming": lambda o: o.hamming(5),
    "hanning": lambda o: o.hanning(4),
    "kaiser": lambda o: o.kaiser(5, 2.5),
    # nn
    "relu": lambda o: o.relu(A),
    "relu6": lambda o: o.relu6(A * 5),
    "sigmoid": lambda o: o.sigmoid(A),
    "softplus": lambda o: o.softplus(A),
    "softsign": lambda o: o.softsign(A),
    "silu": lambda o: o.silu(A),
    "swish": lambda o: o.swish(A),
    "log_sigmoid": lambda o: o.log_sigmoid(A),
    "leaky_relu": lambda o: o.leaky_relu(A),
    "leaky_relu_slope": lambda o: o.leaky_relu(A, negative_slope=0.1),
    "hard_sigmoid": lambda o: o.hard_sigmoid(A * 3),
    "hard_silu": lambda o: o.hard_silu(A * 3),
    "elu": lambda o: o.elu(A, alpha=0.5),
    "selu": lambda o: o.selu(A),
    "celu": lambda o: o.celu(A, alpha=2.0),
    "gelu": lambda o: o.gelu(A),
    "gelu_exact": lambda o: o.gelu(A, approximate=False),
    "glu": lambda o: o.glu(A),
    "hard_tanh": lambda o: o.hard_tanh(A * 2),
    "soft_shrink": lambda o: o.soft_shrink(A),
    "hard_shrink": lambda o: o.hard_shrink(A),
    "tanh_shrink": lambda o: o.tanh_shrink(A),
    "squareplus": lambda o: o.squareplus(A),
    "sparse_plus": lambda o: o.sparse_plus(A * 2),
    "threshold": lambda o: o.threshold(A, 0.1, -5.0),
    "softmax": lambda o: o.softmax(A),
    "softmax_axis0": lambda o: o.softmax(C, axis=0),
    "softmax_axes": lambda o: o.softmax(C, axis=(1, 2)),
    "log_softmax": lambda o: o.log_softmax(A, axis=-1),
    "one_hot": lambda o: o.one_hot(L, 4),
    "one_hot_neg": lambda o: o.one_hot(np.array([0, -1, 2]), 3),
    "one_hot_float": lambda o: o.one_hot(np.array([1.0, 2.0]), 3),
    "one_hot_axis": lambda o: o.one_hot(np.array([[0, 1], [2, 0]]), 3, axis=0),
    "one_hot_dtype": lambda o: o.one_hot(L, 4, dtype="int32"),
    "multi_hot": lambda o: o.multi_hot(np.array([[0, 2], [1, 1]]), 4),
    "binary_crossentropy": lambda o: o.binary_crossentropy((U > 0.5).astype(np.float32), U),
    "binary_crossentropy_soft": lambda o: o.binary_crossentropy(S, U),
    "binary_crossentropy_logits": lambda o: o.binary_crossentropy(S, A, from_logits=True),
    "categorical_crossentropy": lambda o: o.categorical_crossentropy(S, P),
    "categorical_crossentropy_logits": lambda o: o.categorical_crossentropy(S, A, from_logits=True),
    "categorical_crossentropy_axis0": lambda o: o.categorical_crossentropy(S.T, P.T, axis=0),
    "sparse_categorical_crossentropy": lambda o: o.sparse_categorical_crossentropy(L, P),
    "sparse_categorical_crossentropy_logits": lambda o: o.sparse_categorical_crossentropy(
        L[:, None], A, from_logits=True
    ),
    "moments": lambda o: o.moments(C, axes=[0, 1]),
    "moments_keep": lambda o: o.moments(C, axes=-1, keepdims=True),
    "normalize": lambda o: o.normalize(A),
    "normalize_l1": lambda o: o.normalize(A, axis=0, order=1),
    "batch_normalization": lambda o: o.batch_normalization(
        C, V, P[0], axis=-1, offset=B[0], scale=B[1]
    ),
    "batch_normalization_axis1": lambda o: o.batch_normalization(
        C, np.zeros(3, np.float32), np.ones(3, np.float32), axis=1, epsilon=0.1
    ),
    # convolution and pooling (channels last)
    "conv1d": lambda o: o.conv(X1, K1),
    "conv1d_same_strided": lambda o: o.conv(X1, K1, strides=2, padding="same"),
    "conv2d": lambda o: o.conv(X2, K2),
    "conv2d_same": lambda o: o.conv(X2, K2, padding="same"),
    "conv2d_same_strided": lambda o: o.conv(X2, K2, strides=2, padding="same"),
    "conv2d_dilated": lambda o: o.conv(X2, K2, dilation_rate=2),
    "conv2d_groups": lambda o: o.conv(X2, K2G),
    "conv2d_channels_first": lambda o: o.conv(
        np.moveaxis(X2, -1, 1), K2, padding="same", data_format="channels_first"
    ),
    "depthwise_conv": lambda o: o.depthwise_conv(X2, KD, padding="same"),
    "max_pool1d": lambda o: o.max_pool(X1, 2),
    "max_pool2d": lambda o: o.max_pool(X2, 2),
    "max_pool2d_same": lambda o: o.max_pool(X2, 3, strides=2, padding="same"),
    "average_pool2d": lambda o: o.average_pool(X2, (2, 3), strides=1),
    "average_pool2d_same": lambda o: o.average_pool(X2, 3, strides=1, padding="same"),
    "average_pool1d_same": lambda o: o.average_pool(X1, 2, padding="same"),
    # attention and layer-wise normalization
    "attention": lambda o: o.dot_product_attention(Q, KV, KV2),
    "attention_causal": lambda o: o.dot_product_attention(Q, KV, KV2, is_causal=True),
    "attention_mask": lambda o: o.dot_product_attention(Q, KV, KV2, mask=MASK),
    "attention_mask_causal": lambda o: o.dot_product_attention(
        Q, KV, KV2, mask=MASK, is_causal=True
    ),
    "attention_bias_scale": lambda o: o.dot_product_attention(Q, KV, KV2, bias=BIAS, scale=0.3),
    "attention_gqa": lambda o: o.dot_product_attention(Q, KV[:, :, :1], KV2[:, :, :1]),
    "layer_normalization": lambda o: o.layer_normalization(C, V, P[0]),
    "layer_normalization_axes": lambda o: o.layer_normalization(C, axis=(1, 2), epsilon=0.1),
    "rms_normalization": lambda o: o.rms_normalization(C, V),
    "rms_normalization_axes": lambda o: o.rms_normalization(C, axis=(1, 2)),
    # core and math
    "cast": lambda o: o.cast(A * 3, "int32"),
    "cast_float64": lambda o: o.cast(I, "float64"),
    "convert_list_int": lambda o: o.convert_to_tensor([1, 2, 3]),
    "convert_list_float": lambda o: o.convert_to_tensor([1.0, 2.0]),
    "convert_float64": lambda o: o.convert_to_tensor(np.ones(2)),
    "convert_dtype": lambda o: o.convert_to_tensor(I, dtype="float32"),
    "convert_numpy_dtype": lambda o: o.convert_to_tensor(A, dtype=np.float64),
    "convert_python_dtype": lambda o: o.convert_to_tensor(I, dtype=float),
    "shape": lambda o: o.shape(C),
    "ndim": lambda o: o.ndim(C),
    "size": lambda o: o.size(C),
    "stop_gradient": lambda o: o.stop_gradient(o.convert_to_tensor(A)),
    "slice": lambda o: o.slice(C, (0, 1, 1), (2, 2, 3)),
    "slice_update": lambda o: o.slice_update(A, (1, 1), np.ones((2, 2), np.float32)),
    "scatter": lambda o: o.scatter(np.array([[0, 1], [2, 3], [0, 1]]), V[:3], (3, 4)),
    "scatter_rows": lambda o: o.scatter(np.array([[1]]), V[None], (3, 4)),
    "scatter_update": lambda o: o.scatter_update(A, np.array([[0, 1], [2, 2]]), V[:2]),
    "scatter_update_rows": lambda o: o.scatter_update(A, np.array([[1]]), V[None]),
    "scatter_update_repeated": lambda o: o.scatter_update(A, np.array([[0, 1], [0, 1]]), V[:2]),
    "scatter_update_add": lambda o: o.scatter_update(
        A, np.array([[0, 1], [0, 1]]), V[:2], reduction="add"
    ),
    "unstack": lambda o: o.unstack(o.convert_to_tensor(A), axis=1),
    "top_k": lambda o: o.top_k(A, 2),
    "top_k_all": lambda o: o.top_k(C, 4),
    "in_top_k": lambda o: o.in_top_k(L, S, 2),
    "segment_sum": lambda o: o.segment_sum(A, np.array([0, 2, 0])),
    "segment_sum_n": lambda o: o.segment_sum(V, np.array([1, 1, 0, 3]), num_segments=5),
    "segment_max": lambda o: o.segment_max(A, np.array([1, 1, 0]), num_segments=2),
    "cond": lambda o: o.cond(True, lambda: o.add(A, 1), lambda: o.add(A, 2)),
    "fori_loop": lambda o: o.fori_loop(0, 3, lambda i, v: o.multiply(v, 2.0), o.ones(2)),
    "while_loop": lambda o: o.while_loop(lambda x: o.sum(x) < 10, lambda x: (o.add(x, 1),), [A]),
    "while_loop_max": lambda o: o.while_loop(lambda i: True, lambda i: i + 1, 0, 5),
    "vectorized_map": lambda o: o.vectorized_map(lambda r: o.sum(r * r), o.convert_to_tensor(A)),
    "vectorized_map_tuple": lambda o: o.vectorized_map(
        lambda ab: ab[0] * ab[1], (o.convert_to_tensor(A), o.convert_to_tensor(B))
    ),
}


def _tree(x, framework):
    """A result as nested lists of NumPy arrays (or Python values), and its dtypes."""
    if isinstance(x, (tuple, list)):
        return [_tree(v, framework) for v in x]
    if isinstance(x, (int, float, bool)):
        return x
    if framework == "nerve":
        assert isinstance(x, nerve.Tensor), f"nerve.keras.ops returned {type(x).__name__}"
        return x._data
    return x.detach().cpu().numpy()


def _compare(got, want, rtol=1e-5, atol=1e-6):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            _compare(g, w, rtol, atol)
        return
    if not isinstance(want, np.ndarray):
        assert got == want
        return
    assert got.shape == want.shape, f"shape {got.shape} != keras {want.shape}"
    assert got.dtype == want.dtype, f"dtype {got.dtype} != keras {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras(keras, name):
    fn = CASES[name]
    want = _tree(fn(keras.ops), "keras")
    got = _tree(fn(nops), "nerve")
    _compare(got, want)


def test_every_case_op_exists_in_keras(keras):
    # the names nerve exports are Keras's names (a typo would pass unnoticed otherwise)
    missing = [n for n in nops.__all__ if not hasattr(keras.ops, n)]
    assert missing == []


# ----------------------------------------------------------------------------- errors
ERRORS = [
    (lambda: nops.sum(A, axis=2), ValueError, "sum: axis 2 is out of bounds"),
    (lambda: nops.max(A, axis=(0, 0)), ValueError, "max: axis"),
    (lambda: nops.argmax(np.zeros((0, 3)), axis=0), ValueError, "argmax: cannot reduce"),
    (lambda: nops.add(A, C[:, :2]), ValueError, "add: shapes"),
    (lambda: nops.matmul(A, A), ValueError, r"matmul: shapes \(3, 4\) and \(3, 4\)"),
    (lambda: nops.split(A, 3, axis=1), ValueError, "split: cannot split axis 1 of size 4"),
    (lambda: nops.split(A, 2, axis=5), ValueError, "split: axis 5"),
    (lambda: nops.concatenate([A, M]), ValueError, "concatenate: all tensors"),
    (lambda: nops.stack([A, V]), ValueError, "stack: all tensors"),
    (lambda: nops.reshape(A, (5, -1)), ValueError, r"reshape: cannot reshape .* \(3, 4\)"),
    (lambda: nops.squeeze(A, axis=0), ValueError, "squeeze: cannot squeeze axis 0"),
    (lambda: nops.transpose(C, (0, 1)), ValueError, "transpose: axes"),
    (lambda: nops.broadcast_to(A, (4, 4)), ValueError, "broadcast_to: cannot broadcast"),
    (lambda: nops.expand_dims(A, 4), ValueError, "expand_dims: axis 4"),
    (lambda: nops.take(A, [0, 9], axis=1), IndexError, "take: an index"),
    (lambda: nops.pad(A, ((1, 1),) * 3), ValueError, "pad: pad_width"),
    (lambda: nops.pad(A, 1, mode="median"), ValueError, "pad: unsupported mode"),
    (lambda: nops.one_hot([0, 4], 3), ValueError, "one_hot: label 4"),
    (lambda: nops.where(A > 0, A), ValueError, "where: give both"),
    (lambda: nops.top_k(A, 5), ValueError, "top_k: k=5"),
    (lambda: nops.binary_crossentropy(S[:2], U), ValueError, "binary_crossentropy: target"),
    (lambda: nops.categorical_crossentropy(S, A[:, :3]), ValueError, "categorical_crossentropy"),
    (lambda: nops.sparse_categorical_crossentropy(L[:2], P), ValueError, "sparse_categorical"),
    (lambda: nops.sparse_categorical_crossentropy([0, 1, 4], P), ValueError, "label 4"),
    (lambda: nops.normalize(A, order=0), ValueError, "normalize: order"),
    (lambda: nops.cast(A, "complex64"), ValueError, "cast: unsupported dtype"),
    (lambda: nops.slice(A, (2, 0), (2, 4)), ValueError, "slice: the block"),
    (lambda: nops.scatter([[5, 0]], [1.0], (3, 4)), IndexError, "scatter: an index"),
    (lambda: nops.glu(np.ones((2, 3))), ValueError, "glu: axis 1 of size 3"),
    (lambda: nops.norm(A, ord=2, axis=(0, 1)), NotImplementedError, "norm: the matrix norm"),
    (lambda: nops.convert_to_tensor(["a"]), TypeError, "convert_to_tensor"),
    (lambda: nops.batch_normalization(C, V[:3], V, -1), ValueError, "batch_normalization: mean"),
    (lambda: nops.vectorized_map(lambda t: t, (A, M)), ValueError, "vectorized_map"),
    (lambda: nops.vsplit(V, 2), ValueError, "vsplit: needs at least 2 dims"),
    (lambda: nops.rot90(A, axes=(0, 0)), ValueError, "rot90: axes must differ"),
    (lambda: nops.scan(lambda c, x: (c, x), 0.0), ValueError, "scan: give xs or length"),
    (lambda: nops.array_split(A, 0), ValueError, "array_split: the number of sections"),
    (lambda: nops.quantile(A, 1.5), ValueError, "quantile: q must be"),
    (lambda: nops.quantile(A, 0.5, method="cubic"), ValueError, "quantile: method"),
    (lambda: nops.cross(A, B), ValueError, "cross: vectors must have 2 or 3"),
    (lambda: nops.meshgrid(A), ValueError, "meshgrid: inputs must be 1-d"),
    (lambda: nops.bincount(np.array([-1, 2])), ValueError, "bincount: x must be"),
    (lambda: nops.searchsorted(A, V), ValueError, "searchsorted: sorted_sequence"),
    (lambda: nops.select([A > 0], [A, B]), ValueError, "select: 1 conditions but 2"),
    (lambda: nops.inner(A, M), ValueError, "tensordot: shapes"),
    (lambda: nops.conv(X2, K1), ValueError, "conv: kernel of shape"),
    (lambda: nops.conv(X2, K2[:, :, :3]), ValueError, "conv: inputs with 4 channels"),
    (lambda: nops.conv(X2, K2, padding="full"), ValueError, "conv: padding"),
    (lambda: nops.max_pool(A, 2), ValueError, "max_pool: inputs must be"),
    (lambda: nops.average_pool(X2, 0), ValueError, "average_pool: pool_size"),
]


@pytest.mark.parametrize("call, kind, message", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_bad_input_names_the_op(call, kind, message):
    with pytest.raises(kind, match=message):
        call()


def _sparsemax_reference(z):
    # the Euclidean projection of each row onto the simplex, row by row (Keras's torch backend
    # returns rows that do not sum to one here)
    out = np.zeros_like(z)
    for idx in np.ndindex(z.shape[:-1]):
        row = z[idx]
        srt = np.sort(row)[::-1]
        k = np.arange(1, len(row) + 1)
        kz = k[1 + k * srt > np.cumsum(srt)].max()
        out[idx] = np.maximum(row - (srt[:kz].sum() - 1) / kz, 0)
    return out


# Where Keras's torch backend departs from Keras's documented (NumPy) semantics, nerve follows
# the documentation: these are checked against NumPy itself.
NUMPY_CASES = {
    "pad_int": (lambda: nops.pad(A, 1), lambda: np.pad(A, 1)),
    "pad_edge": (
        lambda: nops.pad(A, ((1, 2), (0, 1)), mode="edge"),
        lambda: np.pad(A, ((1, 2), (0, 1)), mode="edge"),
    ),
    "pad_wrap": (
        lambda: nops.pad(A, ((1, 1), (2, 1)), mode="wrap"),
        lambda: np.pad(A, ((1, 1), (2, 1)), mode="wrap"),
    ),
    "pad_symmetric_3d": (
        lambda: nops.pad(C, ((1, 0), (2, 3), (0, 4)), mode="symmetric"),
        lambda: np.pad(C, ((1, 0), (2, 3), (0, 4)), mode="symmetric"),
    ),
    "take_negative_flat": (
        lambda: nops.take(A, np.array([2, 0, -1])),
        lambda: np.take(A, [2, 0, -1]),
    ),
    "saturate_cast_int": (
        lambda: nops.saturate_cast(np.array([3e9, -3e9, 5.5], np.float32), "int32"),
        lambda: np.array([2**31 - 128, -(2**31), 5], np.int32),  # float32's largest below 2**31
    ),
    "imag": (lambda: nops.imag(A), lambda: np.zeros_like(A)),
    "sparsemax": (lambda: nops.sparsemax(A * 2), lambda: _sparsemax_reference(A * 2)),
    "sparsemax_axis0": (
        lambda: nops.sparsemax(C, axis=0),
        lambda: np.moveaxis(_sparsemax_reference(np.moveaxis(C, 0, -1)), -1, 0),
    ),
    "where_indices": (lambda: list(nops.where(I > 2)), lambda: list(np.nonzero(I > 2))),
    "nonzero": (lambda: list(nops.nonzero(C > 0)), lambda: list(np.nonzero(C > 0))),
    "cross_2d": (
        lambda: nops.cross(A[:, :2], B[:, :2]),
        lambda: A[:, 0] * B[:, 1] - A[:, 1] * B[:, 0],
    ),
    "cross_square": (lambda: nops.cross(A[:, :3], B[:, :3]), lambda: np.cross(A[:, :3], B[:, :3])),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CASES))
def test_matches_numpy_semantics(name):
    ours, theirs = NUMPY_CASES[name]
    got, want = ours(), theirs()
    if isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g._data, w)
    else:
        _compare(got._data, want)


def _average_pool_reference(x, k, s):
    # Keras's documented 'same' pooling (TensorFlow's): ceil(size / stride) windows, the odd
    # padding unit after, each window averaged over its real elements only
    n, h, w, c = x.shape
    oh, ow = -(-h // s), -(-w // s)
    ph, pw = max((oh - 1) * s + k - h, 0) // 2, max((ow - 1) * s + k - w, 0) // 2
    out = np.zeros((n, oh, ow, c), x.dtype)
    for i in range(oh):
        for j in range(ow):
            r, q = i * s - ph, j * s - pw
            window = x[:, max(r, 0) : min(r + k, h), max(q, 0) : min(q + k, w)]
            out[:, i, j] = window.mean(axis=(1, 2))
    return out


def test_strided_same_average_pool_follows_keras_documentation():
    # Keras's torch backend pads strided 2-d 'same' average pooling differently from its other
    # backends; nerve follows the documented (TensorFlow / JAX) result
    from nerve.testing import gradcheck

    got = nops.average_pool(X2, 3, strides=2, padding="same")
    np.testing.assert_allclose(got._data, _average_pool_reference(X2, 3, 2), rtol=1e-5, atol=1e-6)
    gradcheck(lambda x: nops.average_pool(x, 3, strides=2, padding="same"), X2[:1, :5, :4, :2])
