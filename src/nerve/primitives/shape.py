"""Shape ops: reshape, flatten, transpose/permute, squeeze/unsqueeze, expand, repeat, pad, flip,
roll; and, re-exported from ``join_split.py``, cat/stack and split/chunk/unbind.

Forwards return NumPy views wherever NumPy gives one (reshape, permute, expand, split, flip);
backwards return arrays of each input's shape. flatten, squeeze and unsqueeze are reshapes,
transpose and movedim are permutes, tile is a repeat, chunk and unbind are splits.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.engine import unbroadcast
from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, normalize_dim
from nerve.primitives.join_split import (  # joining and splitting: re-exported, same objects
    Cat,  # noqa: F401
    Split,  # noqa: F401
    Stack,  # noqa: F401
    _along,
    cat,
    chunk,
    concat,
    concatenate,
    split,
    stack,
    unbind,
)

__all__ = [
    "broadcast_to",
    "cat",
    "chunk",
    "concat",
    "concatenate",
    "expand",
    "flatten",
    "flip",
    "movedim",
    "pad",
    "permute",
    "repeat",
    "reshape",
    "roll",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "unbind",
    "unsqueeze",
]


def _dims(dims, ndim: int, op: str) -> tuple:
    """An int or a sequence of dims as distinct non-negative axes."""
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    axes = tuple(normalize_dim(int(d), ndim, op) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dims {tuple(dims)} name a dimension twice")
    return axes


# ----------------------------------------------------------------------------- reshape
@register("reshape")
class Reshape(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


def reshape(input, shape) -> Tensor:
    """``input`` with a new shape of the same size (one dim may be -1); a view when possible.

    Raises:
        ValueError: the sizes differ (the message names both shapes).

    >>> import nerve
    >>> nerve.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    x = as_tensor(input, "reshape")
    shape = tuple(int(s) for s in shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
            f"into shape {shape}"
        ) from None


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` .. ``end_dim`` (inclusive) into one; a 0-d tensor becomes 1-d.

    >>> import nerve
    >>> nerve.zeros(2, 3, 4).flatten(1).shape
    (2, 12)
    """
    x = as_tensor(input, "flatten")
    shape = x.shape
    start = normalize_dim(start_dim, len(shape), "flatten")
    end = normalize_dim(end_dim, len(shape), "flatten")
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
            f"for a tensor of shape {shape}"
        )
    if not shape:
        return Reshape.apply(x, shape=(1,))
    new = shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :]
    return Reshape.apply(x, shape=new)


def squeeze(input, dim=None) -> Tensor:
    """Drop size-1 dims: all of them, or those among ``dim`` (an int or a tuple).

    Naming a dim whose size is not 1 leaves it in place, as in torch.

    >>> import nerve
    >>> nerve.zeros(2, 1, 3, 1).squeeze().shape
    (2, 3)
    >>> nerve.zeros(2, 1, 3).squeeze(0).shape
    (2, 1, 3)
    """
    x = as_tensor(input, "squeeze")
    shape = x.shape
    if dim is None:
        drop = {a for a, n in enumerate(shape) if n == 1}
    else:
        drop = {a for a in _dims(dim, len(shape), "squeeze") if a < len(shape) and shape[a] == 1}
    return Reshape.apply(x, shape=tuple(n for a, n in enumerate(shape) if a not in drop))


def unsqueeze(input, dim: int) -> Tensor:
    """Insert a size-1 dim at position ``dim`` (in [-ndim - 1, ndim]).

    >>> import nerve
    >>> nerve.zeros(2, 3).unsqueeze(-1).shape
    (2, 3, 1)
    """
    x = as_tensor(input, "unsqueeze")
    shape = x.shape
    d = normalize_dim(dim, len(shape) + 1, "unsqueeze")
    return Reshape.apply(x, shape=shape[:d] + (1,) + shape[d:])


# ----------------------------------------------------------------------------- permute
@register("permute")
class Permute(Function):
    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims)) if dims else ()
        return x.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inverse)


def permute(input, dims) -> Tensor:
    """Reorder the dims of ``x``: output dim i is input dim ``dims[i]`` (a view).

    >>> import nerve
    >>> nerve.zeros(2, 3, 4).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    x = as_tensor(input, "permute")
    ndim = x.ndim
    dims = tuple(int(d) for d in dims)
    if len(dims) != ndim:
        raise ValueError(
            f"permute: dims {dims} has {len(dims)} entries but the tensor of shape {x.shape} "
            f"has {ndim} dimensions"
        )
    axes = _dims(dims, ndim, "permute") if ndim else ()
    return Permute.apply(x, dims=axes)


def transpose(input, dim0: int, dim1: int) -> Tensor:
    """Swap dims ``dim0`` and ``dim1`` (a view).

    >>> import nerve
    >>> nerve.zeros(2, 3, 4).transpose(0, -1).shape
    (4, 3, 2)
    """
    x = as_tensor(input, "transpose")
    ndim = x.ndim
    a = normalize_dim(dim0, ndim, "transpose")
    b = normalize_dim(dim1, ndim, "transpose")
    perm = list(range(ndim))
    if ndim:
        perm[a], perm[b] = perm[b], perm[a]
    return Permute.apply(x, dims=tuple(perm))


def swapaxes(input, axis0: int, axis1: int) -> Tensor:
    """torch.swapaxes: :func:`transpose` with NumPy's argument names."""
    return transpose(input, axis0, axis1)


def movedim(input, source, destination) -> Tensor:
    """Move dims ``source`` (int or tuple) to positions ``destination``; the others keep order.

    >>> import nerve
    >>> nerve.movedim(nerve.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    x = as_tensor(input, "movedim")
    ndim = x.ndim
    src = _dims(source, ndim, "movedim")
    dst = _dims(destination, ndim, "movedim")
    if len(src) != len(dst):
        raise ValueError(
            f"movedim: source {source} and destination {destination} name different numbers of dims"
        )
    rest = iter(a for a in range(ndim) if a not in src)
    placed = dict(zip(dst, src))
    perm = tuple(placed[d] if d in placed else next(rest) for d in range(ndim))
    return Permute.apply(x, dims=perm)


# ----------------------------------------------------------------------------- expand, repeat
@register("expand")
class Expand(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        if shape == x.shape:
            return x.view()
        return np.broadcast_to(x, shape)  # a read-only view: its elements share memory

    def backward(self, g):
        return unbroadcast(g, self.in_shape)


def expand(input, size) -> Tensor:
    """``x`` broadcast to ``shape`` without copying; -1 keeps a size, new dims go in front.

    >>> import nerve
    >>> nerve.zeros(3, 1).expand(2, -1, 4).shape
    (2, 3, 4)
    """
    x = as_tensor(input, "expand")
    shape = tuple(int(s) for s in size)
    have = x.shape
    lead = len(shape) - len(have)
    if lead < 0:
        raise ValueError(
            f"expand: the target shape {shape} has fewer dims than the tensor's shape {have}"
        )
    out = []
    for i, s in enumerate(shape):
        if i < lead:
            if s < 0:
                raise ValueError(
                    f"expand: size {s} is not allowed in the new leading dim {i} "
                    f"(target {shape}, tensor {have})"
                )
            out.append(s)
            continue
        n = have[i - lead]
        if s == -1:
            s = n
        if s != n and n != 1:
            raise ValueError(
                f"expand: the expanded size {s} must match the existing size {n} at "
                f"non-singleton dim {i}; target shape {shape}, tensor shape {have}"
            )
        out.append(s)
    return Expand.apply(x, shape=tuple(out))


def broadcast_to(input, size) -> Tensor:
    """torch.broadcast_to: the same as :func:`expand`.

    >>> import nerve
    >>> nerve.zeros(3).broadcast_to((2, 3)).shape
    (2, 3)
    """
    return expand(input, size)


@register("repeat")
class Repeat(Function):
    def forward(self, x, repeats):
        self.in_shape, self.repeats = x.shape, repeats
        return np.tile(x, repeats)

    def backward(self, g):
        # Output dim i is (repeats[i], size[i]) row-major: sum the repeat halves away.
        sizes = (1,) * (len(self.repeats) - len(self.in_shape)) + self.in_shape
        pairs = g.reshape(tuple(v for pair in zip(self.repeats, sizes) for v in pair))
        return pairs.sum(axis=tuple(range(0, pairs.ndim, 2))).reshape(self.in_shape)


def repeat(input, repeats) -> Tensor:
    """torch's ``Tensor.repeat`` (NumPy's tile): repeat ``x`` ``repeats[i]`` times along dim i.

    ``repeats`` needs at least ``x.ndim`` entries; extra ones add leading dims.

    >>> import nerve
    >>> nerve.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = as_tensor(input, "repeat")
    repeats = tuple(int(r) for r in repeats)
    if len(repeats) < x.ndim:
        raise ValueError(
            f"repeat: {len(repeats)} repeats {repeats} for a tensor of shape {x.shape}; "
            "give at least one per dim (use tile to repeat only the trailing dims)"
        )
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeat: repeats {repeats} must be non-negative")
    return Repeat.apply(x, repeats=repeats)


def tile(input, dims) -> Tensor:
    """torch.tile: like :func:`repeat`, but fewer entries than dims repeat the trailing dims.

    >>> import nerve
    >>> nerve.zeros(2, 3).tile(2).shape
    (2, 6)
    """
    x = as_tensor(input, "tile")
    dims = tuple(int(r) for r in dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


# ----------------------------------------------------------------------------- pad
_NUMPY_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@register("pad")
class Pad(Function):
    """``widths`` holds one (before, after) pair per dim; negative widths crop."""

    def forward(self, x, widths, mode, value):
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, widths))
        grow = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
        self.in_shape, self.crop, self.grow, self.mode = x.shape, crop, grow, mode
        xc = x[crop]
        if mode != "constant":
            return np.pad(xc, grow, mode=_NUMPY_PAD_MODES[mode])
        out = array_module_of(x).full(
            tuple(n + lo + hi for n, (lo, hi) in zip(xc.shape, grow)), value, dtype=x.dtype
        )
        out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(xc.shape, grow))] = xc
        return out

    def backward(self, g):
        cropped = tuple(s.stop - s.start for s in self.crop)
        if self.mode == "constant":
            gc = g[tuple(slice(lo, lo + n) for n, (lo, _) in zip(cropped, self.grow))]
        else:
            gc = g
            for axis, (n, (lo, hi)) in enumerate(zip(cropped, self.grow)):
                if lo or hi:
                    gc = _fold(gc, axis, n, lo, hi, self.mode)
        if cropped == self.in_shape:
            return gc
        grad = array_module_of(g).zeros(self.in_shape, g.dtype)
        grad[self.crop] = gc
        return grad


def _fold(g, axis: int, n: int, lo: int, hi: int, mode: str):
    """Add the padded border of ``g`` along ``axis`` back onto the ``n`` elements it copied."""

    def at(s):
        return _along(axis, s)

    core = g[at(slice(lo, lo + n))].copy()
    left, right = g[at(slice(0, lo))], g[at(slice(lo + n, lo + n + hi))]
    if mode == "replicate":
        if lo:
            core[at(slice(0, 1))] += left.sum(axis=axis, keepdims=True)
        if hi:
            core[at(slice(n - 1, n))] += right.sum(axis=axis, keepdims=True)
    elif mode == "reflect":  # out[i] = x[lo - i] on the left, x[n - 2 - j] on the right
        if lo:
            core[at(slice(1, lo + 1))] += np.flip(left, axis)
        if hi:
            core[at(slice(n - 1 - hi, n - 1))] += np.flip(right, axis)
    else:  # circular: the left border copies the last lo elements, the right the first hi
        if lo:
            core[at(slice(n - lo, n))] += left
        if hi:
            core[at(slice(0, hi))] += right
    return core


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:
    """torch.nn.functional.pad: ``pad`` lists (before, after) pairs starting from the LAST dim.

    Args:
        input: the tensor to pad.
        pad: ``(last_before, last_after, second_last_before, ...)``; negative widths crop.
        mode: ``'constant'`` (fill with ``value``, default 0), ``'reflect'`` (mirror without
            repeating the edge), ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap).
        value: the fill value of constant mode.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.pad(nerve.ones(2, 3), (1, 2)).shape
    (2, 6)
    >>> F.pad(nerve.tensor([[1.0, 2.0, 3.0]]), (2, 0), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0]]
    """
    x = as_tensor(input, "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"pad: the pad {pad} must hold (before, after) pairs; its length is odd")
    k = len(pad) // 2
    if k > x.ndim:
        raise ValueError(
            f"pad: {k} (before, after) pairs in {pad} but the tensor of shape {x.shape} has "
            f"only {x.ndim} dims"
        )
    if mode not in ("constant", *_NUMPY_PAD_MODES):
        raise ValueError(
            f"pad: unknown mode {mode!r}; use 'constant', 'reflect', 'replicate' or 'circular'"
        )
    if mode != "constant" and value:
        raise ValueError(f"pad: value= is only used by mode='constant', not {mode!r}")
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]
    for axis, (n, (lo, hi)) in enumerate(zip(x.shape, widths)):
        kept = n + min(lo, 0) + min(hi, 0)
        if kept < 0 or n + lo + hi < 0:
            raise ValueError(
                f"pad: the pad ({lo}, {hi}) crops dim {axis} of size {n} below zero "
                f"(tensor shape {x.shape})"
            )
        if mode in ("reflect", "circular") and min(lo, hi) < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative pads, got {pad}")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(
                f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of dim "
                f"{axis} (tensor shape {x.shape})"
            )
        if mode in ("replicate", "circular") and (lo > 0 or hi > 0) and kept == 0:
            raise ValueError(f"pad: mode {mode!r} cannot pad the empty dim {axis}")
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(
                f"pad: circular padding ({lo}, {hi}) must not exceed the size {n} of dim {axis} "
                f"(tensor shape {x.shape})"
            )
    fill = 0 if value is None else value
    return Pad.apply(x, widths=tuple(widths), mode=mode, value=fill)


# ----------------------------------------------------------------------------- flip, roll
@register("flip")
class Flip(Function):
    def forward(self, x, dims):
        self.reverse = tuple(
            slice(None, None, -1) if a in dims else slice(None) for a in range(x.ndim)
        )
        return x[self.reverse]

    def backward(self, g):
        return g[self.reverse]


def flip(input, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (an int or a tuple); a view.

    >>> import nerve
    >>> nerve.tensor([[1, 2], [3, 4]]).flip(1).tolist()
    [[2, 1], [4, 3]]
    """
    x = as_tensor(input, "flip")
    axes = _dims(dims, x.ndim, "flip") if x.ndim else ()
    return Flip.apply(x, dims=axes)


@register("roll")
class Roll(Function):
    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return np.roll(x, shifts, axis=dims)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if self.dims is not None else -self.shifts
        return np.roll(g, back, axis=self.dims)


def roll(input, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims``; with ``dims=None`` the tensor is
    rolled as if flattened.

    >>> import nerve
    >>> nerve.tensor([1, 2, 3, 4]).roll(1).tolist()
    [4, 1, 2, 3]
    """
    x = as_tensor(input, "roll")
    shift_t = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(map(int, shifts))
    if dims is None:
        if len(shift_t) != 1:
            raise ValueError(f"roll: shifts {shift_t} needs dims with {len(shift_t)} entries")
        return Roll.apply(x, shifts=shift_t[0], dims=None)
    dim_t = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shift_t) != len(dim_t):
        raise ValueError(f"roll: shifts {shift_t} and dims {dim_t} must have the same length")
    axes = tuple(normalize_dim(int(d), x.ndim, "roll") for d in dim_t)
    if x.ndim == 0:
        return Roll.apply(x, shifts=0, dims=None)
    return Roll.apply(x, shifts=shift_t, dims=axes)
