"""The rest of keras.ops' NumPy-like names that compose simply: inverse hyperbolic functions,
NaN-ignoring helpers, integer and bitwise ops, window functions, kron, sparsemax and friends.

Integer, bitwise and counting ops carry no gradient (Keras's do not either); the float ones
are compositions of nerve's primitives and differentiable.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.keras.ops import math as kmath
from nerve.keras.ops import numpy_array as arr
from nerve.keras.ops import numpy_linalg as lin
from nerve.keras.ops import numpy_reduce as red
from nerve.keras.ops._common import axis_index, detached, standardize_dtype, to_float, to_tensor
from nerve.keras.ops.numpy_math import _pair
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing
from nerve.primitives import shape as sh

__all__ = [
    "arccosh",
    "arcsinh",
    "arctanh",
    "bartlett",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "blackman",
    "conj",
    "conjugate",
    "diagflat",
    "fabs",
    "fmax",
    "fmin",
    "gcd",
    "geomspace",
    "hamming",
    "hanning",
    "imag",
    "isreal",
    "kaiser",
    "kron",
    "lcm",
    "left_shift",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "real",
    "right_shift",
    "segment_min",
    "segment_prod",
    "sinc",
    "sparse_sigmoid",
    "sparsemax",
    "trapezoid",
    "unravel_index",
]


# ----------------------------------------------------------------------------- float math
def fabs(x) -> Tensor:
    """The absolute value as a float (integers become float32)."""
    return ew.abs(to_float(x, "fabs"))


def arcsinh(x) -> Tensor:
    """The inverse hyperbolic sine, ``sign(x) log1p(|x| + x^2 / (1 + sqrt(x^2 + 1)))``
    (accurate for small and large ``x``)."""
    t = to_float(x, "arcsinh")
    a, sq = ew.abs(t), ew.square(t)
    return ew.mul(
        ew.sign(t), ew.log1p(ew.add(a, ew.div(sq, ew.add(ew.sqrt(ew.add(sq, 1.0)), 1.0))))
    )


def arccosh(x) -> Tensor:
    """The inverse hyperbolic cosine ``log(x + sqrt(x^2 - 1))`` (NaN below 1)."""
    t = to_float(x, "arccosh")
    with np.errstate(invalid="ignore"):
        return ew.log(ew.add(t, ew.sqrt(ew.sub(ew.square(t), 1.0))))


def arctanh(x) -> Tensor:
    """The inverse hyperbolic tangent ``log1p(2x / (1 - x)) / 2``."""
    t = to_float(x, "arctanh")
    with np.errstate(divide="ignore", invalid="ignore"):
        return ew.mul(ew.log1p(ew.div(ew.mul(t, 2.0), ew.sub(1.0, t))), 0.5)


def sinc(x) -> Tensor:
    """``sin(pi x) / (pi x)``, and 1 at 0."""
    t = to_float(x, "sinc")
    zero = ew.eq(t, 0.0)
    px = ew.mul(ew.where(zero, 1.0, t), math.pi)
    return ew.where(zero, 1.0, ew.div(ew.sin(px), px))


def _nan_pick(op: str, x1, x2, pick) -> Tensor:
    a, b = _pair(x1, x2, op)
    a = a if isinstance(a, Tensor) else to_tensor(a, op)
    b = b if isinstance(b, Tensor) else to_tensor(b, op)
    picked = pick(a, b)
    if picked._data.dtype.kind != "f":
        return picked
    # NaN loses to a number: take the other side where one side is NaN
    return ew.where(ew.isnan(a), b, ew.where(ew.isnan(b), a, picked))


def fmax(x1, x2) -> Tensor:
    """The elementwise maximum, ignoring NaNs (NaN only where both are NaN)."""
    return _nan_pick("fmax", x1, x2, ew.maximum)


def fmin(x1, x2) -> Tensor:
    """The elementwise minimum, ignoring NaNs (NaN only where both are NaN)."""
    return _nan_pick("fmin", x1, x2, ew.minimum)


def real(x) -> Tensor:
    """The real part: ``x`` itself (nerve has no complex tensors)."""
    return to_tensor(x, "real")


def imag(x) -> Tensor:
    """The imaginary part: zeros (nerve has no complex tensors)."""
    t = to_tensor(x, "imag")
    return detached(np.zeros_like(t._data))


def conj(x) -> Tensor:
    """The complex conjugate: ``x`` itself (nerve has no complex tensors)."""
    return to_tensor(x, "conj")


conjugate = conj


def isreal(x) -> Tensor:
    """True everywhere (nerve has no complex tensors)."""
    return detached(np.ones(to_tensor(x, "isreal").shape, bool))


def sparse_sigmoid(x) -> Tensor:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return ew.mul(ew.add(ew.clamp(to_float(x, "sparse_sigmoid"), -1.0, 1.0), 1.0), 0.5)


def sparsemax(x, axis: int = -1) -> Tensor:
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis``: like
    softmax, but exact zeros for the low scores (Martins and Astudillo, 2016)."""
    t = to_float(x, "sparsemax")
    ax = axis_index(axis, t.ndim, "sparsemax")
    z = sh.movedim(t, ax, -1)
    zs = sh.flip(red.sort(z, -1), (-1,))  # descending
    cs = red.cumsum(zs, -1)
    n = z.shape[-1]
    k = np.arange(1, n + 1, dtype=z._data.dtype)
    support = (1 + k * zs._data) > cs._data
    kz = support.sum(axis=-1, keepdims=True)  # at least 1
    top = indexing.take_along_dim(cs, detached(kz - 1), -1)
    tau = ew.div(ew.sub(top, 1.0), detached(kz.astype(z._data.dtype)))
    return sh.movedim(ew.relu(ew.sub(z, tau)), -1, ax)


def trapezoid(y, x=None, dx: float = 1.0, axis: int = -1) -> Tensor:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at points ``x`` (or
    spaced ``dx``)."""
    t = to_float(y, "trapezoid")
    ax = axis_index(axis, t.ndim, "trapezoid")
    n = t.shape[ax]
    if n < 2:
        return red.sum(ew.mul(t, 0.0), ax)
    lo = t[(slice(None),) * ax + (slice(0, n - 1),)]
    hi = t[(slice(None),) * ax + (slice(1, n),)]
    mid = ew.mul(ew.add(lo, hi), 0.5)
    if x is None:
        return ew.mul(red.sum(mid, ax), float(dx))
    xs = to_float(x, "trapezoid")
    if xs.ndim == 1:
        if xs.shape[0] != n:
            raise ValueError(f"trapezoid: {xs.shape[0]} sample points for {n} values")
        steps = sh.reshape(arr.diff(xs), tuple(-1 if i == ax else 1 for i in range(t.ndim)))
    else:
        steps = arr.diff(xs, 1, ax)
    return red.sum(ew.mul(mid, steps), ax)


def kron(x1, x2) -> Tensor:
    """The Kronecker product: blocks ``x1[i] * x2`` (the lower-rank input gets leading 1s)."""
    a, b = to_tensor(x1, "kron"), to_tensor(x2, "kron")
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    ia = tuple(v for n in sa for v in (n, 1))
    ib = tuple(v for n in sb for v in (1, n))
    out = ew.mul(sh.reshape(a, ia), sh.reshape(b, ib))
    return sh.reshape(out, tuple(p * q for p, q in zip(sa, sb)))


def diagflat(x, k: int = 0) -> Tensor:
    """A square matrix with the flattened ``x`` on diagonal ``k``."""
    return lin.diag(sh.reshape(to_tensor(x, "diagflat"), (-1,)), k)


def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """``num`` numbers spaced evenly on a log scale from ``start`` to ``stop``."""
    a, b = to_tensor(start, "geomspace")._data, to_tensor(stop, "geomspace")._data
    values = np.geomspace(a, b, int(num), endpoint=bool(endpoint), axis=axis)
    return detached(values.astype(standardize_dtype(dtype, "geomspace") or DEFAULT_FLOAT))


# ----------------------------------------------------------------------------- NaN-ignoring
def _filled(op: str, x, fill: float) -> Tensor:
    t = to_float(x, op)
    nan = np.isnan(t._data)
    return ew.where(detached(nan), fill, t) if nan.any() else t


def nanargmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index (int32) of the largest non-NaN value along ``axis``."""
    return red.argmax(_filled("nanargmax", x, -np.inf), axis, keepdims)


def nanargmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """The index (int32) of the smallest non-NaN value along ``axis``."""
    return red.argmin(_filled("nanargmin", x, np.inf), axis, keepdims)


def nancumsum(x, axis=None, dtype=None) -> Tensor:
    """The running sum along ``axis``, NaNs counted as zero."""
    return red.cumsum(_filled("nancumsum", x, 0.0), axis, dtype)


def nancumprod(x, axis=None, dtype=None) -> Tensor:
    """The running product along ``axis``, NaNs counted as one."""
    return red.cumprod(_filled("nancumprod", x, 1.0), axis, dtype)


# ----------------------------------------------------------------------------- segments
def segment_min(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """The elementwise minima of the rows of ``data`` that share a segment id (+inf for an
    empty segment); see :func:`segment_sum`."""
    return ew.neg(
        kmath.segment_max(ew.neg(to_float(data, "segment_min")), segment_ids, num_segments, sorted)
    )


def segment_prod(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """The products of the rows of ``data`` that share a segment id (1 for an empty segment);
    see :func:`segment_sum`."""
    d, ids, n = kmath._segments("segment_prod", data, segment_ids, num_segments)
    member = ids[None, :] == np.arange(n)[:, None]
    mask = member.reshape(member.shape + (1,) * (d.ndim - 1))
    spread = ew.where(detached(mask), sh.unsqueeze(d, 0), 1)
    return red.prod(spread, axis=1)


# ----------------------------------------------------------------------------- integers
def _ints(op: str, *xs) -> list:
    arrays = [to_tensor(x, op)._data for x in xs]
    for a in arrays:
        if a.dtype.kind not in "iub":
            raise TypeError(f"{op}: expects integer or bool tensors, got dtype {a.dtype}")
    return arrays


def gcd(x1, x2) -> Tensor:
    """The greatest common divisor, elementwise."""
    return detached(np.gcd(*_ints("gcd", x1, x2)))


def lcm(x1, x2) -> Tensor:
    """The least common multiple, elementwise."""
    return detached(np.lcm(*_ints("lcm", x1, x2)))


def bitwise_and(x, y) -> Tensor:
    """The bitwise AND of integers (logical AND of bools)."""
    return detached(np.bitwise_and(*_ints("bitwise_and", x, y)))


def bitwise_or(x, y) -> Tensor:
    """The bitwise OR of integers."""
    return detached(np.bitwise_or(*_ints("bitwise_or", x, y)))


def bitwise_xor(x, y) -> Tensor:
    """The bitwise XOR of integers."""
    return detached(np.bitwise_xor(*_ints("bitwise_xor", x, y)))


def bitwise_invert(x) -> Tensor:
    """The bitwise NOT of integers (logical NOT of bools)."""
    return detached(np.invert(*_ints("bitwise_invert", x)))


bitwise_not = bitwise_invert


def bitwise_left_shift(x, y) -> Tensor:
    """``x << y``, elementwise."""
    return detached(np.left_shift(*_ints("bitwise_left_shift", x, y)))


def bitwise_right_shift(x, y) -> Tensor:
    """``x >> y``, elementwise."""
    return detached(np.right_shift(*_ints("bitwise_right_shift", x, y)))


left_shift = bitwise_left_shift
right_shift = bitwise_right_shift


def unravel_index(indices, shape) -> tuple:
    """The coordinates (int32 tensors, one per axis) of flat ``indices`` into ``shape``."""
    idx = _ints("unravel_index", indices)[0]
    return tuple(detached(c.astype(np.int32)) for c in np.unravel_index(idx, tuple(shape)))


# ----------------------------------------------------------------------------- windows
def _window(op: str, x, fn) -> Tensor:
    n = int(to_tensor(x, op)._data)
    return detached(fn(n).astype(DEFAULT_FLOAT))


def bartlett(x) -> Tensor:
    """The Bartlett (triangular) window of ``x`` points."""
    return _window("bartlett", x, np.bartlett)


def blackman(x) -> Tensor:
    """The Blackman window of ``x`` points."""
    return _window("blackman", x, np.blackman)


def hamming(x) -> Tensor:
    """The Hamming window of ``x`` points."""
    return _window("hamming", x, np.hamming)


def hanning(x) -> Tensor:
    """The Hann window of ``x`` points."""
    return _window("hanning", x, np.hanning)


def kaiser(x, beta) -> Tensor:
    """The Kaiser window of ``x`` points with shape parameter ``beta``."""
    return _window("kaiser", x, lambda n: np.kaiser(n, float(beta)))
