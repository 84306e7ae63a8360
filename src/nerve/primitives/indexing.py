"""Indexing: getitem (basic, integer-array, boolean mask), gather, take_along_dim, index_select,
masked_fill, one_hot; masked_select, nonzero, narrow, repeat_interleave, index_fill (these five
are getitem / index_select / masked_fill underneath). The scatter family (scatter, scatter_add,
scatter_reduce, index_add) lives in scatter.py and is re-exported here.

Index and mask inputs never carry gradients. The backward passes scatter into a zero gradient:
by plain assignment where no element can be picked twice (basic indexing, boolean masks), else
through flat positions and a 1-d ``np.add.at``, which NumPy 2 runs on a fast path (see
``_scatter_rows`` for the measurements).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.engine import unbroadcast
from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.device import check_on_sync
from nerve.primitives.common import add_at, as_tensor, is_array, normalize_dim, to_host
from nerve.primitives.index_checks import check_range as _check_range
from nerve.primitives.index_checks import int_index as _int_index
from nerve.primitives.scatter import index_add, scatter, scatter_add, scatter_reduce
from nerve.primitives.shape import expand, reshape

__all__ = [
    "gather",
    "getitem",
    "index_add",
    "index_fill",
    "index_select",
    "masked_fill",
    "masked_select",
    "narrow",
    "nonzero",
    "one_hot",
    "repeat_interleave",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "take_along_dim",
]


def as_numpy_index(index, like=None):
    """A Tensor index (or a tuple or list holding Tensors) as the equivalent array index; lists
    become arrays on the device of ``like`` (the indexed array; the host when None).

    On a device, whose kernels wrap an out-of-range integer index where NumPy raises, the bounds
    of its integer arrays are checked at the next synchronization (check_on_sync), with NumPy's
    IndexError."""
    xp = np if like is None else array_module_of(like)
    if isinstance(index, tuple):
        out = tuple(_numpy_part(i, xp) for i in index)
    else:
        out = _numpy_part(index, xp)
    if xp is not np:
        _check_device_index(out, like.shape)
    return out


def _check_device_index(index, shape: tuple) -> None:
    """Queue the bounds check of the integer arrays of a device index (check_on_sync): a device
    wraps an out-of-range index silently, where NumPy raises; the error is NumPy's, with the
    offending value (the smallest or largest) and its axis."""
    items = index if isinstance(index, tuple) else (index,)
    # the axis each item starts at: None adds one, a k-d mask takes k, Ellipsis the rest
    taken = [
        0
        if i is None or isinstance(i, (bool, np.bool_))
        else (i.ndim if is_array(i) and i.dtype.kind == "b" else 1)
        for i in items
    ]
    rest = len(shape) - sum(t for t, i in zip(taken, items) if i is not Ellipsis)
    axis, checks = 0, []
    for item, t in zip(items, taken):
        if item is Ellipsis:
            axis += max(rest, 0)
            continue
        device = is_array(item) and type(item) is not np.ndarray
        if device and item.dtype.kind in "iu" and item.size and axis < len(shape):
            checks.append((axis, shape[axis], item.min(), item.max()))
        axis += t
    if not checks:
        return
    bad = None
    for _, n, lo, hi in checks:
        out = (lo < -n) | (hi >= n)
        bad = out if bad is None else bad | out
    axes = [(a, n) for a, n, _, _ in checks]
    values = [v for _, _, lo, hi in checks for v in (lo, hi)]
    check_on_sync(bad, lambda *v: _index_error(axes, v, shape), *values)


def _index_error(axes: list, values: tuple, shape: tuple) -> None:
    for k, (axis, n) in enumerate(axes):
        lo, hi = int(values[2 * k]), int(values[2 * k + 1])
        if lo < -n or hi >= n:
            raise IndexError(
                f"index into a tensor of shape {shape}: index {lo if lo < -n else hi} is out "
                f"of bounds for axis {axis} with size {n}"
            )


def _numpy_part(i, xp):
    if isinstance(i, Tensor):
        i = i._data
    elif isinstance(i, list):
        parts = [e._data if isinstance(e, Tensor) else e for e in i]
        if any(is_array(e) and type(e) is not np.ndarray for e in parts):
            parts = [to_host(e) for e in parts]  # device tensors inside a list: their values
        i = xp.asarray(np.asarray(parts) if xp is not np else parts)
        if i.size == 0:
            i = i.astype(np.int64)  # x[[]] selects nothing, as in torch
    if is_array(i) and i.ndim == 0 and i.dtype.kind in "iu":
        return int(i)  # a 0-d integer tensor indexes like an int (a view), as in torch
    return i


# ----------------------------------------------------------------------------- scatter helpers
def _scatter_rows(g: np.ndarray, rows: np.ndarray, shape: tuple, axis: int) -> np.ndarray:
    """zeros(shape) with g's slices along ``axis`` added at positions ``rows`` (non-negative,
    duplicates accumulate); g has shape ``shape[:axis] + rows.shape + shape[axis + 1:]``."""
    pre, n, post = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    xp = array_module_of(g)
    flat = (xp.arange(pre)[:, None, None] * n + rows.reshape(1, -1, 1)) * post + xp.arange(post)
    out = xp.zeros(pre * n * post, g.dtype)
    # 1-d add.at on flat positions beat n-d add.at 2.5-4x, bincount 1.7-3.5x (rows (10000,128)
    # x20000: 12.8 / 31.6 / 21.8 ms; cols (512,1000) x300: 0.8 / 3.0 / 0.9 ms; numpy 2.4).
    add_at(out, flat.reshape(-1), g.reshape(-1))
    return out.reshape(shape)


def _int_block(ndim: int, items: tuple):
    """(axis, arrays) when the index is full slices around one run of integer arrays (x[idx],
    x[:, i, j], x[..., idx]); None for any other index."""
    full = slice(None)
    expanded = []
    for i in items:
        if i is Ellipsis:
            expanded.extend([full] * (ndim - len(items) + 1))
        elif is_array(i) and i.dtype.kind in "iu":
            expanded.append(i)
        elif isinstance(i, slice) and i == full:
            expanded.append(full)
        else:
            return None
    pos = [k for k, i in enumerate(expanded) if is_array(i)]
    if pos[-1] - pos[0] + 1 != len(pos):
        return None
    return pos[0], [expanded[k] for k in pos]


# ----------------------------------------------------------------------------- getitem
@register("getitem")
class GetItem(Function):
    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, g):
        shape, index = self.shape, self.index
        items = index if isinstance(index, tuple) else (index,)
        arrays = [i for i in items if is_array(i)]
        xp = array_module_of(g)
        if all(a.dtype.kind == "b" for a in arrays):
            # Basic indexing and boolean masks pick each element at most once: assign.
            # (Masks: assignment 3.7 ms vs add.at 9.1 ms on a (512, 1000) half-true mask.)
            grad = xp.zeros(shape, g.dtype)
            grad[index] = g
            return grad
        block = _int_block(len(shape), items)
        if block is not None and g.size:
            axis, arrays = block
            sub = shape[axis : axis + len(arrays)]
            rows = np.ravel_multi_index(tuple(arrays), sub, mode="wrap")  # wrap: negatives
            merged = shape[:axis] + (math.prod(sub),) + shape[axis + len(arrays) :]
            return _scatter_rows(g, rows, merged, axis).reshape(shape)
        # Mixed indices (ints or partial slices beside arrays): n-d add.at was fastest here,
        # 0.07 ms vs 0.13-0.45 ms for flat positions (x[arange(512), labels] on (512, 1000)).
        grad = xp.zeros(shape, g.dtype)
        add_at(grad, index, g)
        return grad


def getitem(x, index) -> Tensor:
    """``x[index]`` with NumPy's (and torch's) rules: ints, slices, None, Ellipsis, integer
    arrays, boolean masks, and tuples mixing them; Tensors and lists work as arrays.

    Basic indexing returns a view. In the backward, elements picked more than once add up.

    >>> import nerve
    >>> x = nerve.arange(12).reshape(3, 4)
    >>> x[1:, [0, 0, 3]].tolist()
    [[4, 4, 7], [8, 8, 11]]
    """
    x = as_tensor(x, "getitem")
    index = as_numpy_index(index, x._data)
    try:
        return GetItem.apply(x, index=index)
    except IndexError as exc:
        raise IndexError(f"index {index!r} into a tensor of shape {x.shape}: {exc}") from None


# ----------------------------------------------------------------------------- gather
@register("gather")
class Gather(Function):
    """out[i, j, k] = x[i, index[i, j, k], k] for dim 1; x broadcasts where its size is 1."""

    differentiable = (0,)

    def forward(self, x, index, dim, out_shape):
        xp = array_module_of(x)
        pos = []
        for d, (n, m) in enumerate(zip(x.shape, out_shape)):
            view = [1] * x.ndim
            view[d] = -1
            if d == dim:
                pos.append(index)
            elif n == 1:
                pos.append(xp.zeros(1, np.intp).reshape(view))  # x broadcast along d
            else:
                pos.append(xp.arange(m).reshape(view))
        self.x_shape, self.pos = x.shape, pos
        return x[tuple(pos)]

    def backward(self, g):
        strides = [math.prod(self.x_shape[d + 1 :]) for d in range(len(self.x_shape))]
        flat = sum(p * s for p, s in zip(self.pos, strides))
        out = array_module_of(g).zeros(math.prod(self.x_shape), g.dtype)
        # 1-d add.at on flat positions: 1.9 ms vs bincount 2.0 ms for 512k picks, 16 vs 50 ms for
        # 2.5M, and 0.06 vs 0.25 ms for 512 picks into 512k (numpy 2.4).
        add_at(out, np.broadcast_to(flat, g.shape).reshape(-1), g.reshape(-1))
        return out.reshape(self.x_shape)


def gather(input, dim: int, index) -> Tensor:
    """Pick values of ``input`` along ``dim`` at ``index``: for dim 1,
    ``out[i][j][k] = input[i][index[i][j][k]][k]``. ``index`` has input's number of dims, sizes
    no larger than input's in the other dims, and values in [0, size of dim).

    Raises:
        IndexError: an index is out of range (the message names it and the dim's size).

    >>> import nerve
    >>> x = nerve.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.gather(1, nerve.tensor([[0, 0], [1, 0]])).tolist()
    [[1.0, 1.0], [4.0, 3.0]]
    """
    x = as_tensor(input, "gather")
    idx = _int_index(index, "gather")
    if idx.ndim != x.ndim and x.ndim + idx.ndim > 1:
        raise ValueError(
            f"gather: index of shape {idx.shape} must have as many dims as the input of shape "
            f"{x.shape}"
        )
    d = normalize_dim(dim, x.ndim, "gather")
    if x.ndim == 0:
        _check_range("gather", idx, 0, 1, d, x.shape)
        return expand(reshape(x, (1,) * idx.ndim), idx.shape)
    for a, (n, m) in enumerate(zip(x.shape, idx.shape)):
        if a != d and m > n:
            raise ValueError(
                f"gather: index of shape {idx.shape} is larger than the input of shape {x.shape} "
                f"in dim {a}"
            )
    _check_range("gather", idx, 0, x.shape[d], d, x.shape)
    return Gather.apply(x, idx, dim=d, out_shape=idx.shape)


def take_along_dim(input, indices, dim=None) -> Tensor:
    """Pick values of ``input`` at ``indices`` along ``dim``; the other dims broadcast.
    With ``dim=None`` both are flattened. Negative indices count from the end.

    >>> import nerve
    >>> x = nerve.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> x.take_along_dim(x.argmax(dim=1, keepdim=True), dim=1).tolist()
    [[30.0], [60.0]]
    """
    x = as_tensor(input, "take_along_dim")
    idx = _int_index(indices, "take_along_dim", "indices")
    if dim is None:
        x = reshape(x, (-1,))
        idx = idx.reshape(-1)
        d = 0
    else:
        if idx.ndim != x.ndim:
            raise ValueError(
                f"take_along_dim: indices of shape {idx.shape} must have as many dims as the "
                f"input of shape {x.shape}"
            )
        d = normalize_dim(dim, x.ndim, "take_along_dim")
    n = x.shape[d]
    _check_range("take_along_dim", idx, -n, n, d, x.shape)
    if type(idx) is not np.ndarray or (idx.size and idx.min() < 0):  # a device: no read
        idx = np.where(idx < 0, idx + n, idx)
    out_shape = []
    for a, (p, q) in enumerate(zip(x.shape, idx.shape)):
        if a == d:
            out_shape.append(q)
        elif p == q or p == 1 or q == 1:
            out_shape.append(q if p == 1 else p)
        else:
            raise ValueError(
                f"take_along_dim: input of shape {x.shape} and indices of shape {idx.shape} do "
                f"not broadcast in dim {a}"
            )
    return Gather.apply(x, idx, dim=d, out_shape=tuple(out_shape))


# ----------------------------------------------------------------------------- index_select
@register("index_select")
class IndexSelect(Function):
    differentiable = (0,)

    def forward(self, x, index, dim):
        self.shape, self.index, self.dim = x.shape, index, dim
        return np.take(x, index, axis=dim)

    def backward(self, g):
        return _scatter_rows(g, self.index, self.shape, self.dim)


def index_select(input, dim: int, index) -> Tensor:
    """The entries of ``input`` at positions ``index`` (1-d, in [0, size)) along ``dim``;
    repeated positions are copied again and their gradients add up.

    >>> import nerve
    >>> nerve.arange(6).reshape(2, 3).index_select(1, nerve.tensor([2, 0, 2])).tolist()
    [[2, 0, 2], [5, 3, 5]]
    """
    x = as_tensor(input, "index_select")
    idx = _int_index(index, "index_select")
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-d, got shape {idx.shape}")
    d = normalize_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        _check_range("index_select", idx, 0, 1, d, x.shape)
        if idx.size != 1:
            raise ValueError(
                f"index_select: a 0-d input takes one index, got {idx.size} (shape {idx.shape})"
            )
        return getitem(x, ())
    _check_range("index_select", idx, 0, x.shape[d], d, x.shape)
    return IndexSelect.apply(x, idx.reshape(-1), dim=d)


# ----------------------------------------------------------------------------- masked_fill
@register("masked_fill")
class MaskedFill(Function):
    differentiable = (0, 2)

    def forward(self, x, mask, value):
        self.mask = mask
        self.x_shape, self.value_dtype = x.shape, value.dtype
        return np.where(mask, value.astype(x.dtype), x)

    def backward(self, g):
        need_x, _, need_value = self.needs_input_grad
        gx = unbroadcast(np.where(self.mask, 0, g), self.x_shape) if need_x else None
        gv = None
        if need_value:
            picked = np.where(self.mask, g, 0).sum()  # sum(where=) is NumPy's alone
            gv = array_module_of(g).asarray(picked, dtype=self.value_dtype)
        return gx, None, gv


def masked_fill(input, mask, value) -> Tensor:
    """``input`` with ``value`` where the boolean ``mask`` (broadcast against it) is True.

    ``value`` is a number or a 0-d tensor (which then gets a gradient).

    >>> import nerve
    >>> x = nerve.tensor([1.0, 2.0, 3.0])
    >>> x.masked_fill(x > 1.5, 0.0).tolist()
    [1.0, 0.0, 0.0]
    """
    x = as_tensor(input, "masked_fill")
    m = as_tensor(mask, "masked_fill")
    if m.dtype != np.bool_:
        raise TypeError(
            f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}; compare first "
            "(e.g. mask = x > 0)"
        )
    try:
        np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise ValueError(
            f"masked_fill: mask of shape {m.shape} does not broadcast with the input of shape "
            f"{x.shape}"
        ) from None
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(
                f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}"
            )
    else:
        value = array_module_of(x._data).asarray(value)
        if value.ndim != 0:
            raise ValueError(
                f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}"
            )
    return MaskedFill.apply(x, m, value)


# ----------------------------------------------------------------------------- one_hot
@register("one_hot")
class OneHot(Function):
    differentiable = ()  # integer in, integer out

    def forward(self, labels, num_classes):
        classes = array_module_of(labels).arange(num_classes)
        return (labels[..., None] == classes).astype(np.int64)

    def backward(self, g):  # pragma: no cover - never recorded: no input is differentiable
        return None


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``.

    With ``num_classes=-1`` the count is the largest label plus one. Not differentiable.

    Raises:
        TypeError: the labels are not integers.
        ValueError: a label is negative or not below ``num_classes``.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.one_hot(nerve.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    t = as_tensor(tensor, "one_hot")
    labels = t._data
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: expected an integer tensor of class indices, got dtype {labels.dtype}"
        )
    num_classes = int(num_classes)
    if labels.size == 0:
        if num_classes < 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        return OneHot.apply(t, num_classes=num_classes)
    if num_classes >= 0 and type(labels) is not np.ndarray:  # on a device: checked at the sync
        lo, hi = labels.min(), labels.max()
        check_on_sync(
            (lo < 0) | (hi >= num_classes),
            lambda lo, hi: _one_hot_error(int(lo), int(hi), num_classes),
            lo,
            hi,
        )
        return OneHot.apply(t, num_classes=num_classes)
    lo, hi = int(labels.min()), int(labels.max())
    if num_classes < 0 and lo >= 0:
        num_classes = hi + 1
    _one_hot_error(lo, hi, num_classes)
    return OneHot.apply(t, num_classes=num_classes)


def _one_hot_error(lo: int, hi: int, num_classes: int) -> None:
    if lo < 0:
        raise ValueError(
            f"one_hot: class values must be non-negative, got {lo} (num_classes={num_classes})"
        )
    if hi >= num_classes:
        raise ValueError(
            f"one_hot: class value {hi} is out of range for num_classes={num_classes} "
            "(values must be smaller than num_classes)"
        )


# ----------------------------------------------------------------------------- select by mask
def masked_select(input, mask) -> Tensor:
    """The elements of ``input`` where the bool ``mask`` is True (the two broadcast), as a 1-d
    tensor in row-major order; the gradient goes back to the selected elements.

    Raises:
        TypeError: ``mask`` is not bool.
        ValueError: the shapes do not broadcast.

    >>> import nerve
    >>> x = nerve.tensor([[1.0, -2.0], [3.0, -4.0]])
    >>> x.masked_select(x > 0).tolist()
    [1.0, 3.0]
    """
    x = as_tensor(input, "masked_select")
    m = as_tensor(mask, "masked_select")
    if m.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise ValueError(
            f"masked_select: mask of shape {m.shape} does not broadcast with the input of shape "
            f"{x.shape}"
        ) from None
    if x.shape != shape:
        x = expand(x, shape)
    keep = np.broadcast_to(m._data, shape)
    return getitem(x, Tensor._wrap(keep) if keep.ndim else keep.item())


def nonzero(input, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an int64 (count, ndim) tensor, or with
    ``as_tuple=True`` one 1-d int64 tensor per dim (for indexing). No gradient.

    >>> import nerve
    >>> nerve.tensor([0.0, 2.0, 0.0, 3.0]).nonzero().tolist()
    [[1], [3]]
    """
    x = as_tensor(input, "nonzero")
    a = x._data if x.ndim else x._data.reshape(1)
    found = [i.astype(np.int64, copy=False) for i in np.nonzero(a)]
    if as_tuple:
        return tuple(Tensor._wrap(i) for i in found)
    if not x.ndim:
        return Tensor._wrap(array_module_of(a).zeros((found[0].size, 0), np.int64))
    return Tensor._wrap(np.stack(found, axis=1))


# ----------------------------------------------------------------------------- narrow, repeats
def narrow(input, dim: int, start, length: int) -> Tensor:
    """The ``length`` entries of ``input`` from ``start`` along ``dim`` (a view, as a slice).

    Raises:
        IndexError: ``dim`` or ``start`` is out of range, or start + length passes the end.

    >>> import nerve
    >>> nerve.arange(6).narrow(0, 2, 3).tolist()
    [2, 3, 4]
    """
    x = as_tensor(input, "narrow")
    if x.ndim == 0:
        raise IndexError("narrow: cannot narrow a 0-d tensor")
    d = normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dim {d} of size {n}")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element (or each slice along ``dim``) ``repeats`` times in place:
    ``[a, b]`` with 2 becomes ``[a, a, b, b]``. ``repeats`` is an int or one count per entry.
    Without ``dim`` the input is flattened first. ``repeat_interleave(counts)`` alone repeats
    0, 1, 2, ... by the counts. Gradients of the copies add up.

    Raises:
        ValueError: negative counts, or as many counts as entries are not given.

    >>> import nerve
    >>> nerve.tensor([1, 2]).repeat_interleave(2).tolist()
    [1, 1, 2, 2]
    """
    x = as_tensor(input, "repeat_interleave")
    if repeats is None:  # torch.repeat_interleave(counts)
        counts = _int_index(x, "repeat_interleave", "repeats").reshape(-1)
        # the result's size is the counts' sum: they are read on the host
        rows = np.repeat(np.arange(counts.size, dtype=np.int64), to_host(counts))
        return Tensor._wrap(array_module_of(counts).asarray(rows))
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = normalize_dim(dim, x.ndim, "repeat_interleave")
        if x.ndim == 0:
            x = reshape(x, (1,))
    if isinstance(repeats, (int, np.integer)):
        counts = np.asarray(int(repeats))
    else:
        counts = _int_index(repeats, "repeat_interleave", "repeats")
    n = x.shape[d]
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, n)):
        raise ValueError(
            f"repeat_interleave: repeats of shape {counts.shape} must be one count or {n} "
            f"counts (dim {d} of the input {x.shape})"
        )
    if counts.size and counts.min() < 0:
        raise ValueError(f"repeat_interleave: repeats must be >= 0, got {int(counts.min())}")
    rows = np.repeat(np.arange(n), to_host(counts).reshape(-1) if counts.ndim else int(counts))
    if output_size is not None and rows.size != output_size:
        raise ValueError(
            f"repeat_interleave: output_size {output_size} differs from the {rows.size} "
            "entries the repeats give"
        )
    if rows.size == 0:
        return getitem(x, (slice(None),) * d + (slice(0, 0),))
    return IndexSelect.apply(x, array_module_of(x._data).asarray(rows), dim=d)


def index_fill(input, dim: int, index, value) -> Tensor:
    """A copy of ``input`` with the slices at ``index`` (1-d) along ``dim`` set to ``value`` (a
    number or a 0-d tensor); a masked_fill underneath, with its gradients.

    >>> import nerve
    >>> nerve.zeros(3, 2).index_fill(0, nerve.tensor([0, 2]), -1.0).tolist()
    [[-1.0, -1.0], [0.0, 0.0], [-1.0, -1.0]]
    """
    x = as_tensor(input, "index_fill")
    idx = _int_index(index, "index_fill")
    if idx.ndim > 1:
        raise ValueError(f"index_fill: index must be 0-d or 1-d, got shape {idx.shape}")
    d = normalize_dim(dim, x.ndim, "index_fill")
    n = x.shape[d] if x.ndim else 1
    _check_range("index_fill", idx, -n, n, d, x.shape)
    hit = array_module_of(x._data).zeros(n, bool)
    hit[idx.reshape(-1)] = True
    mask = hit.reshape((n,) + (1,) * (x.ndim - d - 1)) if x.ndim else hit.reshape(())
    return masked_fill(x, Tensor._wrap(mask), value)
