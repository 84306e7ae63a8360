"""Helpers every op module uses: operand lifting, dtype rules, dim handling, error messages, and
the few array routines whose spelling differs between NumPy and a device's module (CuPy)."""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor, _to_array
from nerve.backend import array_module_of
from nerve.device import to_host


def as_tensor(x, name: str = "input") -> Tensor:
    """``x`` as a Tensor (Tensors pass through; arrays and lists become float32/int tensors)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor._wrap(_to_array(x))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a Tensor or array-like, got {type(x).__name__}") from exc


def memory_order(a: np.ndarray) -> tuple:
    """The axes of ``a`` from outermost to innermost in memory (a C-contiguous array: 0, 1, ...).

    Fused ops allocate their results in this order so that a conv output (an (N, C, H, W) view
    of batch-last memory) or a channels-last tensor flows through without transposing copies.
    """
    return tuple(sorted(range(a.ndim), key=lambda ax: -abs(a.strides[ax])))


def flat_memory(*arrays: np.ndarray) -> list | None:
    """1-d views of the memory of same-shape arrays that share one dense layout, else None.

    Element k of every view is the same logical element, so elementwise work can run over the
    memory in order, in contiguous blocks, whatever the axis order (ReLU does).
    """
    first = arrays[0]
    if all(a.flags.c_contiguous and a.shape == first.shape for a in arrays):
        return [a.reshape(-1) for a in arrays]
    order = memory_order(first)
    views = []
    for a in arrays:
        dense = a.transpose(order)
        if a.shape != first.shape or not dense.flags.c_contiguous:
            return None
        views.append(dense.reshape(-1))
    return views


def lift_scalar(x, like: np.dtype, xp=np):
    """A Python or NumPy scalar as a 0-d array of ``like`` (so 2.0 never upcasts float32), made
    by the array module ``xp`` (the other operand's device).

    An int tensor times a float scalar becomes the default float dtype (float32), as in torch.
    """
    if like.kind == "f":
        return xp.asarray(x, dtype=like)
    if isinstance(x, (float, np.floating)):
        return xp.asarray(x, dtype=backend.DEFAULT_FLOAT)
    if like.kind == "b" and not isinstance(x, (bool, np.bool_)):
        return xp.asarray(x, dtype=np.int64)
    return xp.asarray(x, dtype=like)


def binary_operands(a, b, op: str):
    """Two operands of a binary op as Tensors with one dtype, following torch's promotion.

    Scalars take the tensor's dtype; float wins over int; float32 meets float64 as float64.
    """
    a_is = isinstance(a, Tensor)
    b_is = isinstance(b, Tensor)
    if a_is and b_is:
        da, db = a._data.dtype, b._data.dtype
        if da is db or da == db:
            return a, b
        if da.kind == "f" and db.kind != "f":
            return a, Tensor._wrap(b._data.astype(da))
        if db.kind == "f" and da.kind != "f":
            return Tensor._wrap(a._data.astype(db)), b
        common = np.result_type(da, db)
        return (
            a if da == common else _cast(a, common),
            b if db == common else _cast(b, common),
        )
    if a_is:
        if isinstance(b, (int, float, bool, np.number, np.bool_)):
            d = a._data
            s = lift_scalar(b, d.dtype, np if type(d) is np.ndarray else array_module_of(d))
            return (a if s.dtype == a._data.dtype else _cast(a, s.dtype)), Tensor._wrap(s)
        return binary_operands(a, as_tensor(b, op), op)
    if b_is:
        if isinstance(a, (int, float, bool, np.number, np.bool_)):
            d = b._data
            s = lift_scalar(a, d.dtype, np if type(d) is np.ndarray else array_module_of(d))
            return Tensor._wrap(s), (b if s.dtype == b._data.dtype else _cast(b, s.dtype))
        return binary_operands(as_tensor(a, op), b, op)
    return binary_operands(as_tensor(a, op), as_tensor(b, op), op)


def _cast(t: Tensor, dtype) -> Tensor:
    from nerve.primitives.elementwise import cast

    return cast(t, dtype)


def check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    """Raise a clear error when two shapes do not broadcast (called only after NumPy failed)."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def require_float(op: str, t: Tensor) -> None:
    if t._data.dtype.kind != "f":
        raise TypeError(
            f"{op} needs a floating-point tensor, got dtype {t._data.dtype}; call .float() first"
        )


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    """A dim in [-ndim, ndim) as a non-negative axis, or a clear IndexError."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % n


def reduction_axes(op: str, ndim: int, dim=None, axis=None):
    """torch's ``dim=`` or NumPy's ``axis=`` as None or a tuple of non-negative axes."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: pass dim= or axis=, not both")
        dim = axis
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(normalize_dim(int(d), ndim, op) for d in dim)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: dim {tuple(dim)} names an axis twice")
        return axes
    return (normalize_dim(int(dim), ndim, op),)


def keep(keepdim: bool, keepdims) -> bool:
    """torch's ``keepdim=`` or NumPy's ``keepdims=``."""
    return bool(keepdim if keepdims is None else keepdims)


# ----------------------------------------------------------------------------- either device
# NumPy's ufuncs and array functions reach a device's module through __array_ufunc__ /
# __array_function__, so ops write ``np.exp(x)`` for both. These few routines do not: ufunc.at
# (NumPy's unbuffered scatter), SciPy's special functions, and host values an op must read.


def is_array(a) -> bool:
    """True for an array of any device (a NumPy or a device module's ndarray)."""
    return isinstance(a, np.ndarray) or type(a) in backend.DEVICE_MODULES


def add_at(out, index, values) -> None:
    """``out[index] += values`` with repeated indices all counted (NumPy's ``np.add.at``); on a
    device, its module's ``add.at`` (CuPy: an atomic scatter-add kernel)."""
    if type(out) is np.ndarray:
        np.add.at(out, index, values)
    else:
        ufunc_at(np.add, out, index, values)


# What a device's ufunc.at may raise for a ufunc or dtype it has no kernel for (CuPy scatters
# with atomics: add, subtract, maximum, minimum on some dtypes only).
_NO_AT = (AttributeError, NotImplementedError, TypeError, ValueError)


def ufunc_at(ufunc: np.ufunc, out, index, values) -> None:
    """``ufunc.at(out, index, values)`` (add, maximum, minimum, multiply...) on either device.

    A device module without ``at`` for this ufunc or dtype gets :func:`at_by_rounds`, when the
    index is a tuple of integer arrays (every scatter op's).
    """
    if type(out) is np.ndarray:
        ufunc.at(out, index, values)
        return
    xp = array_module_of(out)
    device_ufunc = getattr(xp, ufunc.__name__, None)
    try:
        device_ufunc.at(out, index, values)
    except _NO_AT as exc:
        if _cupyx_scatter(xp, ufunc, out, index, values):
            return
        parts = index if isinstance(index, tuple) else (index,)
        if len(parts) != out.ndim or not all(is_array(p) for p in parts):
            raise NotImplementedError(
                f"{ufunc.__name__}.at on a {type(out).__name__} with the index {index!r}: "
                f"the device has no kernel for it ({exc})"
            ) from None
        at_by_rounds(ufunc, out, parts, values)


_CUPYX_SCATTER = {"add": "scatter_add", "maximum": "scatter_max", "minimum": "scatter_min"}


def _cupyx_scatter(xp, ufunc: np.ufunc, out, index, values) -> bool:
    """CuPy before ``ufunc.at``: its ``cupyx.scatter_*`` kernels (same semantics as NumPy's
    add/maximum/minimum ``.at``); False when there is none for this ufunc or dtype."""
    name = _CUPYX_SCATTER.get(ufunc.__name__)
    if name is None or xp.__name__.partition(".")[0] != "cupy":
        return False
    import cupyx

    try:
        getattr(cupyx, name)(out, index, values)
    except _NO_AT:
        return False
    return True


def at_by_rounds(ufunc: np.ufunc, out, index: tuple, values) -> None:
    """``ufunc.at(out, index, values)`` from plain fancy-index updates, for a device that lacks
    the scatter kernel: the picks are grouped by target and applied in rounds, the k-th pick of
    every target in round k, so that no round names a target twice. ``index`` is one integer
    array per dim of ``out`` (they broadcast); rounds = the most picks of one target.
    """
    xp = array_module_of(out)
    if not is_array(values):
        values = xp.asarray(values, dtype=out.dtype)
    parts = np.broadcast_arrays(*index, values)
    values = parts[-1].reshape(-1)
    dims = tuple(p.reshape(-1) % n for p, n in zip(parts[:-1], out.shape))  # negatives wrap
    if values.size == 0:
        return
    flat = xp.zeros(values.size, np.int64)
    for d, n in zip(dims, out.shape):
        flat = flat * n + d
    order = xp.argsort(flat, kind="stable")  # stable: a target's picks keep their order
    flat, values = flat[order], values[order]
    positions = xp.arange(flat.size)
    first = xp.concatenate([xp.ones(1, bool), flat[1:] != flat[:-1]])
    rank = positions - accumulate(np.maximum, xp.where(first, positions, 0), 0)
    target = out.reshape(-1) if out.flags.c_contiguous else out.copy().reshape(-1)
    for r in range(int(rank.max()) + 1):
        pick = rank == r
        where = flat[pick]
        target[where] = ufunc(target[where], values[pick])
    if not out.flags.c_contiguous:
        out[...] = target.reshape(out.shape)


def accumulate(ufunc: np.ufunc, x, axis: int):
    """``ufunc.accumulate(x, axis=axis)`` (a running maximum, minimum...) on either device.

    A device module without ``accumulate`` for this ufunc gets a log-step scan (Hillis-Steele:
    ceil(log2 n) vectorized passes), right for any associative ufunc.
    """
    if type(x) is np.ndarray:
        return ufunc.accumulate(x, axis=axis)
    device_ufunc = getattr(array_module_of(x), ufunc.__name__, None)
    try:
        return device_ufunc.accumulate(x, axis=axis)
    except _NO_AT:
        pass
    out = np.moveaxis(x, axis, -1).copy()
    shift = 1
    while shift < out.shape[-1]:
        out[..., shift:] = ufunc(out[..., shift:], out[..., :-shift])  # from the old values
        shift *= 2
    return np.moveaxis(out, -1, axis)


def divide_where(num, den, where):
    """``num / den`` where ``where`` holds, 0 elsewhere (no warnings for the skipped cells).

    NumPy skips them through ``out=``/``where=``; a device's ufuncs may lack ``where=``, so
    there the quotient is taken everywhere and the skipped cells replaced.
    """
    if type(num) is np.ndarray and type(den) is np.ndarray:
        shape = np.broadcast_shapes(num.shape, den.shape)
        return np.divide(num, den, out=np.zeros(shape, num.dtype), where=where)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(where, num / den, num.dtype.type(0))


def device_special(x, name: str):
    """SciPy's special function ``name`` (erf, erfinv, gammaln, ...) for the device array ``x``.

    CuPy brings its own (``cupyx.scipy.special``); another device module may carry a ``special``
    namespace; failing both, the values make an explicit round trip through the host.
    """
    xp = array_module_of(x)
    if xp.__name__.partition(".")[0] == "cupy":
        import cupyx.scipy.special as special

        return getattr(special, name)
    special = getattr(xp, "special", None)
    if special is not None:
        return getattr(special, name)
    from scipy import special as host

    fn = getattr(host, name)
    return lambda *args: xp.asarray(fn(*(to_host(a) for a in args)))
