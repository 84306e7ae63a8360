"""Matrix structure: t, diag, diagonal, diag_embed, block_diag, trace, tril, triu, cross.

diag, diagonal, tril, triu and cross are Functions; t is a transpose and trace the sum of a
diagonal. Their names are re-exported by ``linalg.py``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, binary_operands, normalize_dim
from nerve.primitives.reduction import sum as _sum
from nerve.primitives.shape import transpose

__all__ = [
    "block_diag",
    "cross",
    "diag",
    "diag_embed",
    "diagonal",
    "t",
    "trace",
    "tril",
    "triu",
]


def t(input) -> Tensor:
    """Transpose a matrix; 0-d and 1-d tensors come back as they are (torch.t).

    Raises:
        ValueError: ``input`` has more than 2 dims (use ``transpose`` or ``.mT``).
    """
    x = as_tensor(input, "t")
    if x.ndim > 2:
        raise ValueError(
            f"t: expects a tensor with at most 2 dims, got shape {x.shape}; use "
            "transpose(dim0, dim1) or .mT for batches of matrices"
        )
    return transpose(x, 0, 1) if x.ndim == 2 else x


# ----------------------------------------------------------------------------- diagonals
def _diagonal_cells(rows: int, cols: int, offset: int, xp=np) -> tuple:
    """Row and column positions of diagonal ``offset`` of a rows x cols matrix (arrays of the
    array module ``xp``, to index that device's arrays)."""
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = xp.arange(n)
    return i - min(offset, 0), i + max(offset, 0)


@register("diag")
class Diag(Function):
    """A vector onto diagonal ``offset`` of a square zero matrix."""

    def forward(self, x, offset):
        self.offset = offset
        return np.diag(x, offset)

    def backward(self, g):
        return np.diagonal(g, self.offset).copy()


@register("diagonal")
class Diagonal(Function):
    """Diagonal ``offset`` of the (dim1, dim2) planes, as a new last dim."""

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dims = x.shape, offset, (dim1, dim2)
        return np.diagonal(x, offset, dim1, dim2).copy()  # NumPy's view is read-only

    def backward(self, g):
        xp = array_module_of(g)
        out = xp.zeros(self.shape, g.dtype)
        planes = np.moveaxis(out, self.dims, (-2, -1))  # a writable view of out
        rows, cols = _diagonal_cells(*planes.shape[-2:], self.offset, xp)
        planes[..., rows, cols] = g
        return out


def diag(input, diagonal: int = 0) -> Tensor:
    """A 1-d tensor as a square matrix with it on diagonal ``diagonal``, or a 2-d tensor's
    diagonal ``diagonal`` as a 1-d tensor (``diagonal`` > 0 above the main one, < 0 below).

    Raises:
        ValueError: ``input`` is not 1-d or 2-d.

    >>> import nerve
    >>> nerve.diag(nerve.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    x = as_tensor(input, "diag")
    if x.ndim == 1:
        return Diag.apply(x, offset=int(diagonal))
    if x.ndim == 2:
        return Diagonal.apply(x, offset=int(diagonal), dim1=0, dim2=1)
    raise ValueError(f"diag: expects a 1-d or 2-d tensor, got shape {x.shape}")


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """Diagonal ``offset`` of the matrices in dims (dim1, dim2), as a new last dim.

    Raises:
        ValueError: dim1 and dim2 name the same dim.
        IndexError: a dim is out of range.

    >>> import nerve
    >>> nerve.diagonal(nerve.tensor([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
    [2.0]
    """
    x = as_tensor(input, "diagonal")
    d1 = normalize_dim(dim1, x.ndim, "diagonal")
    d2 = normalize_dim(dim2, x.ndim, "diagonal")
    if x.ndim < 2 or d1 == d2:
        raise ValueError(
            f"diagonal: dim1 ({dim1}) and dim2 ({dim2}) must name two different dims of the "
            f"input of shape {x.shape}"
        )
    return Diagonal.apply(x, offset=int(offset), dim1=d1, dim2=d2)


def trace(input) -> Tensor:
    """The sum of a matrix's main diagonal (ints sum as int64).

    Raises:
        ValueError: ``input`` is not 2-d.
    """
    x = as_tensor(input, "trace")
    if x.ndim != 2:
        raise ValueError(f"trace: expects a 2-d tensor, got shape {x.shape}")
    return _sum(Diagonal.apply(x, offset=0, dim1=0, dim2=1))


# ----------------------------------------------------------------------------- triangles
@register("tril")
class Tril(Function):
    def forward(self, x, diagonal):
        self.diagonal = diagonal
        return np.tril(x, diagonal)

    def backward(self, g):
        return np.tril(g, self.diagonal)


@register("triu")
class Triu(Function):
    def forward(self, x, diagonal):
        self.diagonal = diagonal
        return np.triu(x, diagonal)

    def backward(self, g):
        return np.triu(g, self.diagonal)


def _triangle(op: str, cls, input, diagonal) -> Tensor:
    x = as_tensor(input, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects a tensor with at least 2 dims, got shape {x.shape}")
    return cls.apply(x, diagonal=int(diagonal))


def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries above diagonal ``diagonal`` zeroed).

    >>> import nerve
    >>> nerve.tril(nerve.ones(2, 2)).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    return _triangle("tril", Tril, input, diagonal)


def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries below diagonal ``diagonal`` zeroed).

    >>> import nerve
    >>> nerve.triu(nerve.ones(2, 2), 1).tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """
    return _triangle("triu", Triu, input, diagonal)


# ----------------------------------------------------------------------------- cross
@register("cross")
class Cross(Function):
    def forward(self, a, b, axis):
        need_a, need_b = self.needs_input_grad
        self.a = a if need_b else None
        self.b = b if need_a else None
        self.axis = axis
        return np.cross(a, b, axis=axis)

    def backward(self, g):
        # d(a x b) . g: a gets b x g, b gets g x a.
        ax = self.axis
        ga = np.cross(self.b, g, axis=ax) if self.needs_input_grad[0] else None
        gb = np.cross(g, self.a, axis=ax) if self.needs_input_grad[1] else None
        return ga, gb


def cross(input, other, dim=None) -> Tensor:
    """The cross product of 3-vectors along ``dim``; the inputs have the same number of dims
    and broadcast in the others.

    Without ``dim``: the first dim of size 3, as torch.cross does (torch.linalg.cross uses -1).

    Raises:
        ValueError: the dim does not have size 3 in both, or the shapes do not broadcast.
    """
    a, b = binary_operands(input, other, "cross")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"cross: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    if dim is None:
        found = [d for d, n in enumerate(shape) if n == 3]
        if not found:
            raise ValueError(f"cross: no dim of size 3 in shapes {a.shape} and {b.shape}")
        d = found[0]
    else:
        d = normalize_dim(dim, len(shape), "cross")
    if a.ndim != b.ndim or a.shape[d] != 3 or b.shape[d] != 3:
        raise ValueError(
            f"cross: both inputs need size 3 in dim {d} and the same number of dims, got "
            f"shapes {a.shape} and {b.shape}"
        )
    return Cross.apply(a, b, axis=d)


@register("diag_embed")
class DiagEmbed(Function):
    """The last dim of x onto diagonal ``offset`` of new (dim1, dim2) planes of zeros."""

    def forward(self, x, offset, dim1, dim2):
        m = x.shape[-1] + abs(offset)
        xp = array_module_of(x)
        planes = xp.zeros(x.shape[:-1] + (m, m), x.dtype)
        self.cells = _diagonal_cells(m, m, offset, xp)
        planes[(..., *self.cells)] = x
        self.dims = (dim1, dim2)
        return np.moveaxis(planes, (-2, -1), self.dims)

    def backward(self, g):
        return np.moveaxis(g, self.dims, (-2, -1))[(..., *self.cells)]


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in output dims ``dim1``, ``dim2``) with ``input``'s last dim on their diagonal
    ``offset``; the inverse of :func:`diagonal`.

    Raises:
        ValueError: dim1 and dim2 name the same dim.
    """
    x = as_tensor(input, "diag_embed")
    if x.ndim == 0:
        raise ValueError("diag_embed: expects a tensor with at least 1 dim, got 0-d")
    nd = x.ndim + 1
    d1, d2 = normalize_dim(dim1, nd, "diag_embed"), normalize_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 ({dim1}) and dim2 ({dim2}) name the same dim")
    return DiagEmbed.apply(x, offset=int(offset), dim1=d1, dim2=d2)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the given matrices (0-d and 1-d tensors count as one row).

    >>> import nerve
    >>> nerve.block_diag(nerve.ones(1, 1), nerve.tensor([2.0, 3.0])).tolist()
    [[1.0, 0.0, 0.0], [0.0, 2.0, 3.0]]
    """
    from nerve.primitives.shape import cat, pad, reshape

    mats = []
    for t in tensors:
        x = as_tensor(t, "block_diag")
        if x.ndim > 2:
            raise ValueError(f"block_diag: expects tensors with at most 2 dims, got {x.shape}")
        mats.append(reshape(x, (1, -1)) if x.ndim < 2 else x)
    if not mats:
        raise ValueError("block_diag: give at least one tensor")
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(pad(m, (left, width - left - m.shape[1], 0, 0)))
        left += m.shape[1]
    return cat(rows, 0)
