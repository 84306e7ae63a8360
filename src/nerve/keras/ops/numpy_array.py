"""keras.ops' NumPy-like array ops: shape, joining and splitting, rearranging, indexing.

Shapes and axes follow NumPy (Keras's model): ``split`` counts equal sections or takes split
indices, ``repeat`` repeats each element, ``pad`` takes NumPy's ``pad_width``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import (
    axes_tuple,
    axis_index,
    detached,
    shape_tuple,
    to_tensor,
)
from nerve.layers.input_layer import KerasTensor
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing, reshaping
from nerve.primitives import shape as sh

__all__ = [
    "append",
    "bincount",
    "broadcast_to",
    "concatenate",
    "diff",
    "digitize",
    "expand_dims",
    "flip",
    "hstack",
    "moveaxis",
    "ndim",
    "nonzero",
    "pad",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "searchsorted",
    "select",
    "size",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "take",
    "take_along_axis",
    "tile",
    "transpose",
    "vstack",
]


# ----------------------------------------------------------------------------- shape
def ndim(x) -> int:
    """The number of dimensions of ``x`` (a symbolic tensor's too)."""
    if isinstance(x, KerasTensor):
        return len(x.shape)
    return to_tensor(x, "ndim").ndim


def size(x) -> Tensor:
    """The number of elements of ``x`` (a 0-d int64 tensor, as on Keras's torch backend)."""
    return detached(np.asarray(to_tensor(x, "size")._data.size, dtype=np.int64))


def reshape(x, newshape) -> Tensor:
    """``x`` with shape ``newshape`` (one entry may be -1).

    Raises:
        ValueError: the sizes do not match.
    """
    t = to_tensor(x, "reshape")
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(s) for s in newshape)
    try:
        return sh.reshape(t, newshape)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {t.shape} to {newshape}"
        ) from exc


def ravel(x) -> Tensor:
    """``x`` flattened to one dimension."""
    return sh.reshape(to_tensor(x, "ravel"), (-1,))


def expand_dims(x, axis) -> Tensor:
    """``x`` with a new axis of size 1 at ``axis`` (an int or a tuple of ints).

    Raises:
        ValueError: an axis out of range for the result.
    """
    t = to_tensor(x, "expand_dims")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    n = t.ndim + len(axes)
    at = sorted(axis_index(a, n, "expand_dims") for a in axes)
    if len(set(at)) != len(at):
        raise ValueError(f"expand_dims: axis {tuple(axes)} names an axis twice")
    new = list(t.shape)
    for a in at:
        new.insert(a, 1)
    return sh.reshape(t, tuple(new))


def squeeze(x, axis=None) -> Tensor:
    """``x`` without its axes of size 1 (only those in ``axis`` when given).

    Raises:
        ValueError: an axis in ``axis`` whose size is not 1.
    """
    t = to_tensor(x, "squeeze")
    axes = axes_tuple(axis, t.ndim, "squeeze")
    if axes is None:
        axes = tuple(i for i, n in enumerate(t.shape) if n == 1)
    for a in axes:
        if t.shape[a] != 1:
            raise ValueError(
                f"squeeze: cannot squeeze axis {a} of size {t.shape[a]} (shape {t.shape})"
            )
    return sh.reshape(t, tuple(n for i, n in enumerate(t.shape) if i not in axes))


def transpose(x, axes=None) -> Tensor:
    """``x`` with its axes permuted by ``axes`` (reversed when None).

    Raises:
        ValueError: ``axes`` is not a permutation of ``x``'s axes.
    """
    t = to_tensor(x, "transpose")
    if axes is None:
        perm = tuple(range(t.ndim))[::-1]
    else:
        perm = tuple(axis_index(a, t.ndim, "transpose") for a in axes)
        if sorted(perm) != list(range(t.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} do not permute the shape {t.shape}")
    return sh.permute(t, perm)


def moveaxis(x, source, destination) -> Tensor:
    """``x`` with axes ``source`` moved to ``destination`` (ints or sequences)."""
    t = to_tensor(x, "moveaxis")
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} differ in length"
        )
    src = [axis_index(a, t.ndim, "moveaxis", "source") for a in src]
    dst = [axis_index(a, t.ndim, "moveaxis", "destination") for a in dst]
    order = [a for a in range(t.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return sh.permute(t, tuple(order))


def swapaxes(x, axis1, axis2) -> Tensor:
    """``x`` with ``axis1`` and ``axis2`` exchanged."""
    t = to_tensor(x, "swapaxes")
    a = axis_index(axis1, t.ndim, "swapaxes", "axis1")
    b = axis_index(axis2, t.ndim, "swapaxes", "axis2")
    perm = list(range(t.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return sh.permute(t, tuple(perm))


def broadcast_to(x, shape) -> Tensor:
    """``x`` broadcast to ``shape`` (a view; the gradient sums back).

    Raises:
        ValueError: ``x``'s shape does not broadcast to ``shape``.
    """
    t = to_tensor(x, "broadcast_to")
    target = shape_tuple(shape, "broadcast_to")
    try:
        if np.broadcast_shapes(t.shape, target) != target:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {t.shape} to {target}") from None
    return sh.broadcast_to(t, target)


# ----------------------------------------------------------------------------- join, split
def _tensors(xs, op: str) -> list:
    if isinstance(xs, Tensor) or not isinstance(xs, (list, tuple)):
        t = to_tensor(xs, op)
        return list(sh.unbind(t, 0)) if t.ndim else [t]
    if not xs:
        raise ValueError(f"{op}: needs at least one tensor")
    return [to_tensor(x, op) for x in xs]


def _same_shapes(op: str, ts: list, skip=None) -> None:
    first = ts[0].shape
    for t in ts[1:]:
        a = [n for i, n in enumerate(first) if i != skip]
        b = [n for i, n in enumerate(t.shape) if i != skip]
        if len(t.shape) != len(first) or a != b:
            where = "" if skip is None else f" except along axis {skip}"
            raise ValueError(
                f"{op}: all tensors must have the same shape{where}; got "
                f"{', '.join(str(u.shape) for u in ts)}"
            )


def stack(x, axis: int = 0) -> Tensor:
    """The tensors of ``x`` (of one shape) stacked along a new ``axis``.

    Raises:
        ValueError: the shapes differ, or the axis is out of range.
    """
    ts = _tensors(x, "stack")
    _same_shapes("stack", ts)
    return sh.stack(ts, axis_index(axis, ts[0].ndim + 1, "stack"))


def concatenate(xs, axis: int = 0) -> Tensor:
    """The tensors of ``xs`` joined along ``axis`` (None: flattened first).

    Raises:
        ValueError: the shapes differ off ``axis``, or the axis is out of range.
    """
    ts = _tensors(xs, "concatenate")
    if axis is None:
        return sh.cat([sh.reshape(t, (-1,)) for t in ts], 0)
    ax = axis_index(axis, ts[0].ndim, "concatenate")
    _same_shapes("concatenate", ts, ax)
    return sh.cat(ts, ax)


def vstack(xs) -> Tensor:
    """The tensors joined along axis 0 (1-d ones become rows)."""
    ts = [t if t.ndim >= 2 else sh.reshape(t, (1, -1)) for t in _tensors(xs, "vstack")]
    _same_shapes("vstack", ts, 0)
    return sh.cat(ts, 0)


def hstack(xs) -> Tensor:
    """The tensors joined along axis 1 (along axis 0 when they are 1-d)."""
    ts = [t if t.ndim else sh.reshape(t, (1,)) for t in _tensors(xs, "hstack")]
    ax = 0 if ts[0].ndim == 1 else 1
    _same_shapes("hstack", ts, ax)
    return sh.cat(ts, ax)


def split(x, indices_or_sections, axis: int = 0) -> list:
    """``x`` cut along ``axis``, as NumPy's split.

    Args:
        x: the tensor.
        indices_or_sections: an int N (N equal pieces) or a sorted list of split indices.
        axis: the axis to cut.

    Returns:
        A list of tensors (views; gradients flow back to ``x``).

    Raises:
        ValueError: N does not divide the axis size, or the axis is out of range.
    """
    t = to_tensor(x, "split")
    ax = axis_index(axis, t.ndim, "split")
    n = t.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(
                f"split: cannot split axis {ax} of size {n} into {k} equal sections "
                f"(tensor shape {t.shape}); pass split indices for unequal pieces"
            )
        sizes = [n // k] * k
    else:
        cuts = [min(max(int(i) if int(i) >= 0 else int(i) + n, 0), n) for i in indices_or_sections]
        bounds = [0, *cuts, n]
        sizes = [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
        if sum(sizes) != n:
            raise ValueError(f"split: indices {list(indices_or_sections)} must be sorted")
    return list(sh.split(t, sizes, ax))


# ----------------------------------------------------------------------------- rearranging
def tile(x, repeats) -> Tensor:
    """``x`` repeated ``repeats`` times (an int or one count per trailing axis), as np.tile."""
    t = to_tensor(x, "tile")
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(map(int, repeats))
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats {reps} must be non-negative")
    return sh.tile(t, reps)


def repeat(x, repeats, axis=None) -> Tensor:
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (flattened when None).

    Args:
        x: the tensor.
        repeats: an int, or one count per element along ``axis``.
        axis: the axis (None: work on the flattened tensor).

    Raises:
        ValueError: negative repeats, or a count list of the wrong length.
    """
    t = to_tensor(x, "repeat")
    if axis is None:
        t, ax = sh.reshape(t, (-1,)), 0
    else:
        ax = axis_index(axis, t.ndim, "repeat")
    n = t.shape[ax]
    reps = np.asarray(to_tensor(repeats, "repeat")._data, dtype=np.int64)
    if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, n)):
        raise ValueError(f"repeat: {reps.size} repeats for axis {ax} of size {n}")
    if np.any(reps < 0):
        raise ValueError("repeat: repeats must be non-negative")
    picks = np.repeat(np.arange(n), reps)
    return indexing.index_select(t, ax, detached(picks))


def roll(x, shift, axis=None) -> Tensor:
    """Elements shifted cyclically by ``shift`` along ``axis`` (the flattened tensor when None)."""
    t = to_tensor(x, "roll")
    if axis is None:
        return sh.roll(t, int(shift))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(axis_index(a, t.ndim, "roll") for a in axes)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,) * len(axes)
    return sh.roll(t, tuple(int(s) for s in shifts), axes)


def flip(x, axis=None) -> Tensor:
    """``x`` reversed along ``axis`` (an int, a tuple, or every axis when None)."""
    t = to_tensor(x, "flip")
    axes = axes_tuple(axis, t.ndim, "flip")
    return sh.flip(t, tuple(range(t.ndim)) if axes is None else axes)


_PAD_MODES = {
    "constant": "constant",
    "reflect": "reflect",
    "edge": "replicate",
    "wrap": "circular",
    "circular": "circular",
}


def _symmetric(t: Tensor, widths) -> Tensor:
    # NumPy's 'symmetric': mirror including the edge element, one axis at a time
    for ax, (lo, hi) in enumerate(widths):
        n = t.shape[ax]
        if max(lo, hi) > n:
            raise ValueError(
                f"pad: symmetric padding ({lo}, {hi}) must not exceed the size {n} of axis {ax}"
            )
        parts = []
        at = (slice(None),) * ax
        if lo:
            parts.append(sh.flip(t[(*at, slice(0, lo))], (ax,)))
        parts.append(t)
        if hi:
            parts.append(sh.flip(t[(*at, slice(n - hi, n))], (ax,)))
        if len(parts) > 1:
            t = sh.cat(parts, ax)
    return t


def pad(x, pad_width, mode: str = "constant", constant_values=None) -> Tensor:
    """``x`` padded as NumPy's pad.

    Args:
        x: the tensor.
        pad_width: an int, one ``(before, after)`` pair for every axis, or a pair per axis.
        mode: ``'constant'``, ``'reflect'``, ``'symmetric'``, ``'edge'`` or ``'wrap'``
            (``'circular'``).
        constant_values: the fill value of constant mode (0 when None).

    Raises:
        ValueError: a pad_width that does not fit the rank, an unknown mode, or
            constant_values with another mode.
    """
    t = to_tensor(x, "pad")
    modes = sorted([*_PAD_MODES, "symmetric"])
    if mode not in modes:
        raise ValueError(f"pad: unsupported mode {mode!r}; use one of {modes}")
    if mode != "constant" and constant_values is not None:
        raise ValueError(f"pad: constant_values is only used by mode='constant', not {mode!r}")
    widths = np.asarray(pad_width, dtype=np.int64)
    try:
        pairs = widths.reshape(-1, 2) if widths.size == 2 else widths.reshape(widths.shape)
        widths = np.broadcast_to(pairs, (t.ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width {np.asarray(pad_width).tolist()} does not fit a tensor of shape "
            f"{t.shape} (give one (before, after) pair per axis)"
        ) from None
    if np.any(widths < 0):
        raise ValueError(f"pad: pad_width {widths.tolist()} must be non-negative")
    if mode == "symmetric":
        return _symmetric(t, [(int(lo), int(hi)) for lo, hi in widths])
    flat = tuple(int(v) for pair in widths[::-1] for v in pair)
    value = constant_values if mode == "constant" else None
    return sh.pad(t, flat, mode=_PAD_MODES[mode], value=value)


# ----------------------------------------------------------------------------- indexing
def _indices(indices, op: str) -> np.ndarray:
    idx = to_tensor(indices, op)._data
    if idx.dtype.kind == "f" and np.array_equal(idx, np.round(idx)):
        idx = idx.astype(np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype}")
    return idx.astype(np.int64)


def take(x, indices, axis=None) -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when None);
    negative indices count from the end; the result has ``indices``' shape in ``axis``'s place.

    Raises:
        IndexError: an index out of range.
    """
    t = to_tensor(x, "take")
    idx = _indices(indices, "take")
    if axis is None:
        t, ax = sh.reshape(t, (-1,)), 0
    else:
        ax = axis_index(axis, t.ndim, "take")
    n = t.shape[ax]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(
            f"take: an index in {idx.min()}..{idx.max()} is out of range for axis {ax} of size {n}"
        )
    idx = np.where(idx < 0, idx + n, idx)
    picked = indexing.index_select(t, ax, detached(idx.reshape(-1)))
    return sh.reshape(picked, t.shape[:ax] + idx.shape + t.shape[ax + 1 :])


def take_along_axis(x, indices, axis=None) -> Tensor:
    """Values of ``x`` at ``indices`` along ``axis``, as np.take_along_axis (the other axes
    broadcast; negative indices count from the end)."""
    t = to_tensor(x, "take_along_axis")
    idx = _indices(indices, "take_along_axis")
    if axis is None:
        return indexing.take_along_dim(t, detached(idx), None)
    ax = axis_index(axis, t.ndim, "take_along_axis")
    if idx.ndim != t.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} need {t.ndim} dims "
            f"like x of shape {t.shape}"
        )
    # broadcast the other axes both ways (Keras does), then gather
    shp = list(
        np.broadcast_shapes(
            tuple(n for i, n in enumerate(t.shape) if i != ax),
            tuple(n for i, n in enumerate(idx.shape) if i != ax),
        )
    )
    xs, ids = list(shp), list(shp)
    xs.insert(ax, t.shape[ax])
    ids.insert(ax, idx.shape[ax])
    if tuple(xs) != t.shape:
        t = sh.broadcast_to(t, tuple(xs))
    return indexing.take_along_dim(t, detached(np.broadcast_to(idx, tuple(ids))), ax)


def diff(a, n: int = 1, axis: int = -1) -> Tensor:
    """The ``n``-th discrete difference along ``axis``: ``a[1:] - a[:-1]``, ``n`` times.

    Raises:
        ValueError: a negative ``n`` or a bad axis.
    """
    t = to_tensor(a, "diff")
    if int(n) < 0:
        raise ValueError(f"diff: n must be non-negative, got {n}")
    return reshaping.diff(t, int(n), axis_index(axis, t.ndim, "diff"))


def append(x1, x2, axis=None) -> Tensor:
    """``x2`` joined after ``x1`` along ``axis`` (both flattened when None)."""
    return concatenate([x1, x2], axis=axis)


def nonzero(x) -> tuple:
    """The indices of the non-zero elements: one int64 tensor per axis, as np.nonzero."""
    t = to_tensor(x, "nonzero")
    return tuple(detached(i.astype(np.int64)) for i in np.nonzero(t._data))


def searchsorted(sorted_sequence, values, side: str = "left") -> Tensor:
    """Where ``values`` would go in the 1-d ``sorted_sequence`` to keep it sorted (int32).

    Raises:
        ValueError: a sequence that is not 1-d, or a side other than 'left'/'right'.
    """
    seq = to_tensor(sorted_sequence, "searchsorted")._data
    if seq.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-d, got shape {seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    v = to_tensor(values, "searchsorted")._data
    return detached(np.searchsorted(seq, v, side=side).astype(np.int32))


def digitize(x, bins) -> Tensor:
    """The index (int32) of the bin of ``bins`` (increasing edges) each element falls into."""
    edges = to_tensor(bins, "digitize")._data
    if edges.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {edges.shape}")
    return detached(np.digitize(to_tensor(x, "digitize")._data, edges).astype(np.int32))


def bincount(x, weights=None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """How often each non-negative integer occurs in ``x`` (1-d), or the sums of ``weights``
    per value; a 2-d ``x`` counts each row.

    Raises:
        ValueError: negative values, ``sparse=True``, or weights of another shape.
    """
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (nerve has no sparse tensors)")
    v = to_tensor(x, "bincount")._data
    if v.dtype.kind not in "iu" or v.ndim not in (1, 2) or (v.size and v.min() < 0):
        raise ValueError("bincount: x must be a 1-d or 2-d tensor of non-negative integers")
    n = max(int(minlength), int(v.max()) + 1 if v.size else 0)
    rows = v if v.ndim == 2 else v[None]
    offset = (np.arange(rows.shape[0])[:, None] * n + rows).reshape(-1)
    if weights is None:
        counts = np.bincount(offset, minlength=rows.shape[0] * n).reshape(rows.shape[0], n)
        out = detached(counts.astype(np.int32))
    else:
        w = to_tensor(weights, "bincount")
        if w.shape != v.shape:
            raise ValueError(f"bincount: weights of shape {w.shape} for x of shape {v.shape}")
        zeros = detached(np.zeros(rows.shape[0] * n, w._data.dtype))
        flat = indexing.index_add(zeros, 0, detached(offset), sh.reshape(w, (-1,)))
        out = sh.reshape(flat, (rows.shape[0], n))
    return out if v.ndim == 2 else sh.reshape(out, (n,))


def select(condlist, choicelist, default=0) -> Tensor:
    """Elementwise, the choice of the first true condition (``default`` where none holds).

    Raises:
        ValueError: the two lists differ in length.
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: {len(condlist)} conditions but {len(choicelist)} choices; give one each"
        )
    if not condlist:
        raise ValueError("select: needs at least one condition")
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        c = to_tensor(cond, "select")
        c = c if c._data.dtype.kind == "b" else detached(c._data.astype(bool))
        out = ew.where(c, to_tensor(choice, "select"), out)
    return out
