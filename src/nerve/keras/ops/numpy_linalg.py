"""keras.ops' NumPy-like products and matrix structure: matmul, dot, tensordot, einsum, outer,
inner, vdot, trace, diag, diagonal, tril, triu."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import axis_index, to_tensor
from nerve.primitives import elementwise as ew
from nerve.primitives import linalg, reduction
from nerve.primitives import shape as sh

__all__ = [
    "cross",
    "diag",
    "diagonal",
    "dot",
    "einsum",
    "inner",
    "matmul",
    "outer",
    "tensordot",
    "trace",
    "tril",
    "triu",
    "vdot",
]


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the planes given by ``axis1`` and ``axis2``, as a last axis.

    Raises:
        ValueError: fewer than 2 dims, or ``axis1 == axis2``.
    """
    t = to_tensor(x, "diagonal")
    if t.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dims, got shape {t.shape}")
    a = axis_index(axis1, t.ndim, "diagonal", "axis1")
    b = axis_index(axis2, t.ndim, "diagonal", "axis2")
    if a == b:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, got {axis1} and {axis2}")
    return linalg.diagonal(t, int(offset), a, b)


def diag(x, k: int = 0) -> Tensor:
    """The diagonal ``k`` of a matrix, or a square matrix with the vector ``x`` on diagonal ``k``.

    Raises:
        ValueError: ``x`` is not 1-d or 2-d.
    """
    return linalg.diag(to_tensor(x, "diag"), int(k))


def tril(x, k: int = 0) -> Tensor:
    """``x`` with the elements above diagonal ``k`` of its last two axes set to zero.

    Raises:
        ValueError: fewer than 2 dims.
    """
    return linalg.tril(to_tensor(x, "tril"), int(k))


def triu(x, k: int = 0) -> Tensor:
    """``x`` with the elements below diagonal ``k`` of its last two axes set to zero.

    Raises:
        ValueError: fewer than 2 dims.
    """
    return linalg.triu(to_tensor(x, "triu"), int(k))


# ----------------------------------------------------------------------------- products
def matmul(x1, x2) -> Tensor:
    """The matrix product of two tensors (batched over leading axes, as np.matmul).

    Raises:
        ValueError: the inner dimensions differ.
    """
    a, b = to_tensor(x1, "matmul"), to_tensor(x2, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: inputs must have at least one dim (use multiply for scalars)")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({ka} != {kb})")
    return linalg.matmul(a, b)


def tensordot(x1, x2, axes=2) -> Tensor:
    """The sum of products over ``axes`` (an int N: the last N of ``x1`` with the first N of
    ``x2``; or a pair of axis lists), as np.tensordot.

    Raises:
        ValueError: the summed axes differ in size.
    """
    a, b = to_tensor(x1, "tensordot"), to_tensor(x2, "tensordot")
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a = [axis_index(i, a.ndim, "tensordot") for i in ax_a]
    ax_b = [axis_index(i, b.ndim, "tensordot") for i in ax_b]
    if [a.shape[i] for i in ax_a] != [b.shape[i] for i in ax_b]:
        raise ValueError(
            f"tensordot: shapes {a.shape} and {b.shape} do not match on axes {ax_a} and {ax_b}"
        )
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = int(np.prod([a.shape[i] for i in ax_a]))
    ma = sh.reshape(sh.permute(a, (*free_a, *ax_a)), (-1, k))
    mb = sh.reshape(sh.permute(b, (*ax_b, *free_b)), (k, -1))
    out = linalg.matmul(ma, mb)
    return sh.reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1, x2) -> Tensor:
    """np.dot: a scalar product for 0-d inputs, the inner product of vectors, the matrix product
    of matrices, else a sum over the last axis of ``x1`` and the second-to-last of ``x2``."""
    a, b = to_tensor(x1, "dot"), to_tensor(x2, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return ew.mul(a, b)
    if b.ndim == 1:
        return tensordot(a, b, ([-1], [0]))
    return tensordot(a, b, ([-1], [-2]))


def outer(x1, x2) -> Tensor:
    """The outer product of the flattened ``x1`` and ``x2``."""
    a, b = to_tensor(x1, "outer"), to_tensor(x2, "outer")
    return linalg.outer(sh.reshape(a, (-1,)), sh.reshape(b, (-1,)))


def einsum(subscripts: str, *operands, **kwargs) -> Tensor:
    """Einstein summation over ``operands`` as ``subscripts`` says (e.g. ``"ij,jk->ik"``)."""
    if kwargs:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    return linalg.einsum(subscripts, *(to_tensor(o, "einsum") for o in operands))


def inner(x1, x2) -> Tensor:
    """The sum of products over the last axes of ``x1`` and ``x2`` (a product for 0-d inputs).

    Raises:
        ValueError: the last axes differ in size.
    """
    a, b = to_tensor(x1, "inner"), to_tensor(x2, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return ew.mul(a, b)
    return tensordot(a, b, ([-1], [-1]))


def vdot(x1, x2) -> Tensor:
    """The dot product of the flattened ``x1`` and ``x2``.

    Raises:
        ValueError: the sizes differ.
    """
    a, b = to_tensor(x1, "vdot"), to_tensor(x2, "vdot")
    return tensordot(sh.reshape(a, (-1,)), sh.reshape(b, (-1,)), 1)


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum along diagonal ``offset`` of the planes given by ``axis1`` and ``axis2``."""
    d = diagonal(x, offset, axis1, axis2)
    out = reduction.sum(d, axis=-1)
    if d._data.dtype.kind in "biu" and out._data.dtype != np.int32 and d._data.dtype.itemsize < 8:
        out = ew.cast(out, np.int32)  # Keras sums small ints as int32
    return out


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None) -> Tensor:
    """The cross product of 3-vectors (or the z component for 2-vectors) along the given axes.

    Args:
        x1, x2: tensors whose vector axes hold 2 or 3 components; the rest broadcast.
        axisa, axisb: the vector axis of ``x1`` and of ``x2``.
        axisc: where the vector axis goes in the result.
        axis: overrides all three.

    Raises:
        ValueError: vectors of other lengths.
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = to_tensor(x1, "cross"), to_tensor(x2, "cross")
    a = sh.movedim(a, axis_index(axisa, a.ndim, "cross", "axisa"), -1)
    b = sh.movedim(b, axis_index(axisb, b.ndim, "cross", "axisb"), -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got {na} and {nb}")
    if na == 2 and nb == 2:  # the z component of the 3-d product
        return ew.sub(ew.mul(a[..., 0], b[..., 1]), ew.mul(a[..., 1], b[..., 0]))
    if na == 2:
        a = sh.pad(a, (0, 1))
    if nb == 2:
        b = sh.pad(b, (0, 1))
    a, b = ew.add(a, ew.mul(b, 0)), ew.add(b, ew.mul(a, 0))  # broadcast the leading axes
    out = linalg.cross(a, b, dim=-1)
    return sh.movedim(out, -1, axis_index(axisc, out.ndim, "cross", "axisc"))
