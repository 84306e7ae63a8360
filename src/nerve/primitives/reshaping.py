"""More shape functions, each a composition of registered ops (reshape, getitem, cat, split,
flip, permute, sub): select, unflatten, ravel, take, atleast_1d/2d/3d, hstack/vstack/dstack/
column_stack, tensor_split/hsplit/vsplit/dsplit, fliplr/flipud, rot90, diff, argwhere, and
torch's aliases moveaxis/swapdims. Gradients come from the ops they are made of.

Not exported at nerve's top level by a star import yet (nerve/__init__.py lists the modules).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor, normalize_dim
from nerve.primitives.elementwise import sub
from nerve.primitives.indexing import getitem, nonzero
from nerve.primitives.shape import Split, cat, flip, movedim, reshape, swapaxes

__all__ = [
    "argwhere",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "column_stack",
    "diff",
    "dsplit",
    "dstack",
    "fliplr",
    "flipud",
    "hsplit",
    "hstack",
    "moveaxis",
    "ravel",
    "rot90",
    "row_stack",
    "select",
    "swapdims",
    "take",
    "tensor_split",
    "unflatten",
    "vsplit",
    "vstack",
]

moveaxis = movedim
swapdims = swapaxes


def select(input, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (``x[:, index]`` for dim 1).

    Raises:
        IndexError: ``dim`` or ``index`` is out of range.
    """
    x = as_tensor(input, "select")
    if x.ndim == 0:
        raise IndexError("select: cannot select from a 0-d tensor")
    d = normalize_dim(dim, x.ndim, "select")
    n = x.shape[d]
    i = int(index)
    if not -n <= i < n:
        raise IndexError(
            f"select: index {i} is out of range for dim {d} of size {n} (shape {x.shape})"
        )
    return getitem(x, (slice(None),) * d + (i,))


def unflatten(input, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1): the inverse of flatten.

    Raises:
        ValueError: the sizes do not multiply to the dim's size.
    """
    x = as_tensor(input, "unflatten")
    d = normalize_dim(dim, x.ndim, "unflatten")
    sizes = [int(s) for s in sizes]
    n = x.shape[d]
    known = math.prod(s for s in sizes if s != -1)
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != n) or (known and n % known):
        raise ValueError(
            f"unflatten: sizes {tuple(sizes)} do not fit dim {d} of size {n} (shape {x.shape})"
        )
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1 :])


def ravel(input) -> Tensor:
    """The elements as a 1-d tensor, in row-major order."""
    return reshape(as_tensor(input, "ravel"), (-1,))


def take(input, index) -> Tensor:
    """The elements of the flattened ``input`` at ``index`` (any shape; negative counts from
    the end); the result has ``index``'s shape."""
    x = ravel(input)
    idx = as_tensor(index, "take")
    if idx._data.dtype.kind not in "iu":
        raise TypeError(f"take: index must be an integer tensor, got dtype {idx.dtype}")
    n = x.shape[0]
    if idx._data.size and (idx._data.min() < -n or idx._data.max() >= n):
        raise IndexError(f"take: an index is out of range for a tensor of {n} elements")
    return getitem(x, idx)


def _atleast(op: str, ndim: int, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        x = as_tensor(t, op)
        if x.ndim == 0:
            x = reshape(x, (1,) * ndim)
        elif x.ndim == 1 and ndim > 1:  # (n,) as a row: (1, n), or (1, n, 1) for 3 dims
            x = reshape(x, (1, x.shape[0]) + (1,) * (ndim - 2))
        elif x.ndim == 2 and ndim == 3:  # (m, n) as (m, n, 1)
            x = reshape(x, x.shape + (1,))
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes shape (1,))."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims ((n,) becomes (1, n))."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims ((n,) becomes (1, n, 1), (m, n) becomes (m, n, 1))."""
    return _atleast("atleast_3d", 3, tensors)


def _listed(op: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)) or not tensors:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors")
    return list(tensors)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (along dim 0 when the tensors are 1-d)."""
    ts = [atleast_1d(t) for t in _listed("hstack", tensors)]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, 1-d tensors taken as rows.

    >>> import nerve
    >>> vstack([nerve.ones(2), nerve.zeros(2)]).shape
    (2, 2)
    """
    return cat([atleast_2d(t) for t in _listed("vstack", tensors)], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2 (depth), after :func:`atleast_3d`."""
    return cat([atleast_3d(t) for t in _listed("dstack", tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Join as columns: 0-d and 1-d tensors become (n, 1) columns, then join along dim 1."""
    ts = []
    for t in _listed("column_stack", tensors):
        x = as_tensor(t, "column_stack")
        ts.append(reshape(x, (-1, 1)) if x.ndim < 2 else x)
    return cat(ts, 1)


def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` split along ``dim``: into n nearly equal parts (the first
    ``size % n`` one longer), or at the listed indices.

    Raises:
        ValueError: sections is not positive.
    """
    x = as_tensor(input, "tensor_split")
    if x.ndim == 0:
        raise ValueError("tensor_split: expected a tensor with at least one dim, got 0-d")
    d = normalize_dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor) and spec.ndim == 0:
        spec = int(spec.item())
    if isinstance(spec, (int, np.integer)):
        k = int(spec)
        if k <= 0:
            raise ValueError(f"tensor_split: sections must be positive, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        points = [int(i) for i in (spec.tolist() if isinstance(spec, Tensor) else spec)]
        # Python slicing at each point, as NumPy's array_split: a point past the end, or before
        # the previous one, gives an empty piece.
        bounds = [0] + [min(max(p + n if p < 0 else p, 0), n) for p in points] + [n]
        return tuple(
            getitem(x, (slice(None),) * d + (slice(a, max(a, b)),))
            for a, b in zip(bounds[:-1], bounds[1:])
        )
    return Split.apply(x, sizes=tuple(sizes), dim=d, keepdim=True)


def fliplr(input) -> Tensor:
    """Reverse dim 1 (left/right); needs at least 2 dims."""
    x = as_tensor(input, "fliplr")
    if x.ndim < 2:
        raise ValueError(f"fliplr: expects at least 2 dims, got shape {x.shape}")
    return flip(x, 1)


def flipud(input) -> Tensor:
    """Reverse dim 0 (up/down); needs at least 1 dim."""
    x = as_tensor(input, "flipud")
    if x.ndim < 1:
        raise ValueError("flipud: expects at least 1 dim, got a 0-d tensor")
    return flip(x, 0)


def rot90(input, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second (as torch and NumPy).

    Raises:
        ValueError: ``dims`` is not two different dims of a tensor with at least 2.
    """
    x = as_tensor(input, "rot90")
    dims = tuple(dims)
    if len(dims) != 2 or x.ndim < 2:
        raise ValueError(f"rot90: needs two dims of a tensor with at least 2, got {dims}")
    a, b = (normalize_dim(int(d), x.ndim, "rot90") for d in dims)
    if a == b:
        raise ValueError(f"rot90: dims {dims} name the same dim twice")
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (a, b))
    if k == 1:
        return swapaxes(flip(x, b), a, b)
    return flip(swapaxes(x, a, b), b)


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] - x[i]``, after
    joining ``prepend`` and ``append`` to ``x`` along ``dim``."""
    x = as_tensor(input, "diff")
    if x.ndim == 0:
        raise ValueError("diff: expects a tensor with at least 1 dim, got 0-d")
    d = normalize_dim(dim, x.ndim, "diff")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        parts = [as_tensor(p, "diff") for p in parts]
        x = cat([p if p.ndim == x.ndim else reshape(p, x.shape[:d] + (-1,)) for p in parts], d)
    before = (slice(None),) * d
    for _ in range(int(n)):
        if x.shape[d] == 0:
            break
        later, earlier = getitem(x, before + (slice(1, None),)), getitem(x, before + (slice(-1),))
        x = sub(later, earlier) if x.dtype != np.bool_ else later ^ earlier
    return x


def argwhere(input) -> Tensor:
    """The indices of the non-zero elements, one row each: ``nonzero(input)``."""
    return nonzero(input)


def _split_along(op: str, input, sections, dim: int, min_ndim: int) -> tuple:
    x = as_tensor(input, op)
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expects at least {min_ndim} dims, got shape {x.shape}")
    if isinstance(sections, (int, np.integer)):
        n = x.shape[dim]
        if sections <= 0 or n % sections:
            raise RuntimeError(
                f"{op}: the size {n} of dim {dim} is not divisible by {sections} sections"
            )
    return tensor_split(x, sections, dim)


def hsplit(input, sections) -> tuple:
    """:func:`tensor_split` along dim 1 (dim 0 for 1-d); an int must divide the size."""
    x = as_tensor(input, "hsplit")
    return _split_along("hsplit", x, sections, 0 if x.ndim == 1 else 1, 1)


def vsplit(input, sections) -> tuple:
    """:func:`tensor_split` along dim 0 of a tensor with at least 2 dims."""
    return _split_along("vsplit", input, sections, 0, 2)


def dsplit(input, sections) -> tuple:
    """:func:`tensor_split` along dim 2 of a tensor with at least 3 dims."""
    return _split_along("dsplit", input, sections, 2, 3)
