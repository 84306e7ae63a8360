"""Joining and splitting tensors: cat (concat, concatenate), stack, split, chunk, unbind.
Re-exported by ``shape.py``.

cat and stack promote their inputs as torch does (any float wins over ints and bools); split's
forward returns NumPy views and its backward writes each piece's gradient into one array.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor, normalize_dim

__all__ = ["cat", "chunk", "concat", "concatenate", "split", "stack", "unbind"]


def _along(dim: int, index) -> tuple:
    """An index tuple that applies ``index`` to axis ``dim`` and keeps the axes before it."""
    return (slice(None),) * dim + (index,)


# ----------------------------------------------------------------------------- cat, stack
def _common_dtype(arrays) -> np.dtype:
    # torch's promotion between tensors: any float wins over ints and bools (int64 with float32
    # gives float32, where NumPy would give float64); within a kind the wider type wins.
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return np.result_type(*(floats or [a.dtype for a in arrays]))


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    return [as_tensor(t, op) for t in tensors]


@register("cat")
class Cat(Function):
    def forward(self, *arrays, dim, used):
        dtype = _common_dtype([a for a, u in zip(arrays, used) if u])
        self.dtypes = [a.dtype for a in arrays]
        self.dim = dim
        self.spans = []
        start = 0
        for a, u in zip(arrays, used):
            if u:
                self.spans.append((start, start + a.shape[dim]))
                start += a.shape[dim]
            else:
                self.spans.append(None)
        parts = [a for a, u in zip(arrays, used) if u]
        return np.concatenate(parts, axis=dim, dtype=dtype, casting="same_kind")

    def backward(self, g):
        grads = []
        for need, span, dtype in zip(self.needs_input_grad, self.spans, self.dtypes):
            if not need:
                grads.append(None)
            elif span is None:
                grads.append(array_module_of(g).zeros((0,), dtype))  # a legacy empty tensor
            else:
                grads.append(g[_along(self.dim, slice(*span))].astype(dtype, copy=False))
        return tuple(grads)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; their other sizes must match.

    Dtypes are promoted as in torch (float32 with int64 gives float32); 1-d empty tensors are
    skipped, as torch does for legacy code.

    Raises:
        ValueError: the shapes differ outside ``dim`` (the message lists every shape).

    >>> import nerve
    >>> nerve.cat([nerve.zeros(2, 3), nerve.ones(1, 3)]).shape
    (3, 3)
    """
    ts = _tensor_list(tensors, "cat")
    used = [t.shape != (0,) for t in ts]
    if not any(used):
        used = [True] * len(ts)
    live = [(i, t) for i, (t, u) in enumerate(zip(ts, used)) if u]
    i0, ref = live[0]
    if ref.ndim == 0:
        raise ValueError(f"cat: tensor {i0} is zero-dimensional and cannot be concatenated")
    d = normalize_dim(dim, ref.ndim, "cat")
    for i, t in live[1:]:
        if (
            t.ndim != ref.ndim
            or t.shape[:d] + t.shape[d + 1 :] != ref.shape[:d] + ref.shape[d + 1 :]
        ):
            shapes = [tuple(u.shape) for u in ts]
            raise ValueError(
                f"cat: tensors must have the same shape except in dim {d}; tensor {i} has shape "
                f"{t.shape} but tensor {i0} has shape {ref.shape} (all shapes: {shapes})"
            )
    return Cat.apply(*ts, dim=d, used=tuple(used))


concat = cat


def concatenate(tensors, axis: int = 0) -> Tensor:
    """torch.concatenate: :func:`cat` with NumPy's argument name ``axis``."""
    return cat(tensors, axis)


@register("stack")
class Stack(Function):
    def forward(self, *arrays, dim):
        self.dtypes = [a.dtype for a in arrays]
        self.dim = dim
        return np.stack(arrays, axis=dim, dtype=_common_dtype(arrays), casting="same_kind")

    def backward(self, g):
        return tuple(
            g[_along(self.dim, i)].astype(dtype, copy=False) if need else None
            for i, (need, dtype) in enumerate(zip(self.needs_input_grad, self.dtypes))
        )


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim ``dim`` (in [-ndim - 1, ndim]).

    >>> import nerve
    >>> nerve.stack([nerve.zeros(2, 3), nerve.ones(2, 3)], dim=1).shape
    (2, 2, 3)
    """
    ts = _tensor_list(tensors, "stack")
    ref = ts[0].shape
    for i, t in enumerate(ts[1:], start=1):
        if t.shape != ref:
            raise ValueError(
                f"stack: every tensor must have the same shape; tensor 0 has shape {ref} but "
                f"tensor {i} has shape {t.shape}"
            )
    d = normalize_dim(dim, len(ref) + 1, "stack")
    return Stack.apply(*ts, dim=d)


# ----------------------------------------------------------------------------- split
@register("split")
class Split(Function):
    """Pieces of ``x`` along ``dim`` (views); ``keepdim=False`` drops the dim (unbind)."""

    def forward(self, x, sizes, dim, keepdim):
        self.shape, self.dtype, self.dim, self.keepdim = x.shape, x.dtype, dim, keepdim
        if not keepdim:
            return tuple(x[_along(dim, i)] for i in range(x.shape[dim]))
        bounds = np.cumsum((0,) + sizes).tolist()
        self.bounds = bounds
        return tuple(x[_along(dim, slice(a, b))] for a, b in zip(bounds[:-1], bounds[1:]))

    def backward(self, *grads):
        if grads and all(g is not None for g in grads):
            join = np.concatenate if self.keepdim else np.stack
            return join(grads, axis=self.dim)
        xp = array_module_of(*grads)
        out = xp.zeros(self.shape, self.dtype)  # outputs that got no gradient contribute zeros
        for k, g in enumerate(grads):
            if g is not None:
                piece = slice(*self.bounds[k : k + 2]) if self.keepdim else k
                out[_along(self.dim, piece)] = g
        return out


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``x`` along ``dim``: of size ``split_size`` (the last may be smaller), or of the
    sizes listed in ``sections`` (which must add up to the dim's size). Returns a tuple of views.

    >>> import nerve
    >>> [p.shape for p in nerve.arange(5).split(2)]
    [(2,), (2,), (1,)]
    >>> [p.shape for p in nerve.zeros(2, 5).split([1, 4], dim=1)]
    [(2, 1), (2, 4)]
    """
    x = as_tensor(tensor, "split")
    if x.ndim == 0:
        raise ValueError("split: expected a tensor with at least one dim, got a 0-d tensor")
    d = normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise ValueError(
                f"split: split_size must be positive (0 only for an empty dim), got {size} "
                f"for dim {d} of size {n}"
            )
        sizes = [size] * (n // size) if size else []
        if size == 0 or n % size or n == 0:
            sizes.append(n - sum(sizes))
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(
                f"split: sections {sizes} must be non-negative and add up to {n}, the size of "
                f"dim {d} of the tensor of shape {x.shape}"
            )
    return Split.apply(x, sizes=tuple(sizes), dim=d, keepdim=True)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """Split ``x`` into ``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer pieces when
    the size does not fill them, as in torch).

    >>> import nerve
    >>> [p.shape for p in nerve.arange(6).chunk(4)]
    [(2,), (2,), (2,)]
    """
    x = as_tensor(input, "chunk")
    chunks = int(chunks)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise ValueError("chunk: expected a tensor with at least one dim, got a 0-d tensor")
    d = normalize_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    if n == 0:
        return Split.apply(x, sizes=(0,) * chunks, dim=d, keepdim=True)
    return split(x, -(-n // chunks), d)


def unbind(input, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, with that dim removed (a tuple of views).

    >>> import nerve
    >>> [p.shape for p in nerve.unbind(nerve.zeros(2, 3), dim=1)]
    [(2,), (2,), (2,)]
    """
    x = as_tensor(input, "unbind")
    if x.ndim == 0:
        raise ValueError("unbind: expected a tensor with at least one dim, got a 0-d tensor")
    d = normalize_dim(dim, x.ndim, "unbind")
    return Split.apply(x, sizes=(1,) * x.shape[d], dim=d, keepdim=False)
