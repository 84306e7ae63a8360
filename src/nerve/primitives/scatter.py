"""Scatter family: scatter, scatter_add, scatter_reduce, index_add (each a Function; re-exported by
``indexing.py``). Index inputs never carry gradients; src's gradient is the incoming gradient at
the positions its elements went to."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import add_at, as_tensor, normalize_dim, ufunc_at
from nerve.primitives.index_checks import check_range, int_index
from nerve.primitives.shape import reshape

__all__ = ["index_add", "scatter", "scatter_add", "scatter_reduce"]


# ----------------------------------------------------------------------------- scatter
def _positions(index: np.ndarray, dim: int) -> tuple:
    """The input positions that ``index`` names: ``index`` along ``dim``, its own coordinates in
    the other dims (an open mesh that broadcasts to ``index.shape``)."""
    xp = array_module_of(index)
    pos = []
    for d, m in enumerate(index.shape):
        if d == dim:
            pos.append(index)
        else:
            view = [1] * index.ndim
            view[d] = m
            pos.append(xp.arange(m).reshape(view))
    return tuple(pos)


def _slice_positions(shape: tuple, dim: int, index) -> tuple:
    """``(slice(None),) * dim + (index,)`` as one integer array per dim (an open mesh)."""
    xp = array_module_of(index)
    nd = len(shape)
    pos = []
    for d, n in enumerate(shape):
        view = [1] * nd
        view[d] = -1
        pos.append((index if d == dim else xp.arange(n)).reshape(view))
    return tuple(pos)


def _leading(shape: tuple) -> tuple:
    """The block of an array that a smaller ``shape`` covers (src beyond index is unused)."""
    return tuple(slice(0, n) for n in shape)


def _src_grad(picked: np.ndarray, src_shape: tuple, index_shape: tuple) -> np.ndarray:
    """src's gradient: the picked gradients in src's leading block (a 0-d src sums them)."""
    xp = array_module_of(picked)
    if not src_shape:
        return xp.asarray(picked.sum(), picked.dtype)
    out = xp.zeros(src_shape, picked.dtype)
    out[_leading(index_shape)] = picked
    return out


@register("scatter")
class Scatter(Function):
    """out = x with out[pos(index)] = src (or ``value``); the input's gradient is zero where it
    was overwritten, src's is the gradient at the positions each element went to."""

    differentiable = (0, 2)

    def forward(self, x, index, src, dim):
        pos = _positions(index, dim)
        out = x.copy()
        out[pos] = src[_leading(index.shape)] if src.ndim else src
        self.pos, self.src_shape, self.index_shape = pos, src.shape, index.shape
        return out

    def backward(self, g):
        need_x, _, need_src = self.needs_input_grad
        gx = gsrc = None
        if need_x:
            gx = g.copy()
            gx[self.pos] = 0
        if need_src:
            gsrc = _src_grad(g[self.pos], self.src_shape, self.index_shape)
        return gx, None, gsrc


@register("scatter_add")
class ScatterAdd(Function):
    """out = x with src added at pos(index); repeated positions add up."""

    differentiable = (0, 2)

    def forward(self, x, index, src, dim):
        pos = _positions(index, dim)
        out = x.copy()
        add_at(out, pos, src[_leading(index.shape)])
        self.pos, self.src_shape, self.index_shape = pos, src.shape, index.shape
        return out

    def backward(self, g):
        gsrc = None
        if self.needs_input_grad[2]:
            gsrc = _src_grad(g[self.pos], self.src_shape, self.index_shape)
        return g, None, gsrc


def _scatter_args(op: str, input, dim: int, index, src):
    """Check scatter's operands as torch does; return (x, index, src, dim)."""
    x = as_tensor(input, op)
    idx = int_index(index, op)
    d = normalize_dim(dim, x.ndim, op)
    if isinstance(src, Tensor) and src.ndim:
        s = src
        if s.dtype != x.dtype:
            raise TypeError(
                f"{op}: src has dtype {s.dtype} but the input has dtype {x.dtype}; cast one first"
            )
    else:  # a number (scatter's value=) or a 0-d tensor: broadcast to every picked position
        xp = array_module_of(x._data)
        s = src if isinstance(src, Tensor) else Tensor._wrap(xp.asarray(src, dtype=x.dtype))
        if s.dtype != x.dtype:
            s = s.astype(x.dtype)
    if idx.ndim != x.ndim or (s.ndim and s.ndim != x.ndim):
        src_part = f", src {s.shape}" if s.ndim else ""
        raise ValueError(
            f"{op}: index {idx.shape}{src_part} and the input {x.shape} must have the same "
            "number of dims"
        )
    for a, m in enumerate(idx.shape):
        if (s.ndim and m > s.shape[a]) or (a != d and m > x.shape[a]):
            raise ValueError(
                f"{op}: index of shape {idx.shape} is larger than src {s.shape} or than the "
                f"input {x.shape} (outside dim {d}) in dim {a}"
            )
    if x.ndim:
        check_range(op, idx, 0, x.shape[d], d, x.shape)
    return x, idx, s, d


def scatter(input, dim: int, index, src=None, *, value=None) -> Tensor:
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``:
    for dim 0, ``out[index[i][j]][j] = src[i][j]``.

    Where ``index`` names one position twice, one of the writes wins (torch leaves it
    undefined too).

    Args:
        input: the tensor written into (its copy).
        dim: the dimension ``index`` points along.
        index: int64, as many dims as ``input``; no larger than ``src`` in any dim nor than
            ``input`` outside ``dim``.
        src: a tensor of ``input``'s dtype, or a number.
        value: a number written everywhere ``index`` points (instead of ``src``).

    Returns:
        A tensor of ``input``'s shape.

    Raises:
        TypeError: index is not integer, or src's dtype differs from the input's.
        ValueError: shapes do not fit (the message gives them).
        IndexError: an index or ``dim`` is out of range.

    >>> import nerve
    >>> nerve.zeros(3).scatter(0, nerve.tensor([2, 0]), nerve.tensor([5.0, 7.0])).tolist()
    [7.0, 0.0, 5.0]
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: pass src (a tensor or number) or value=, exactly one")
    x, idx, s, d = _scatter_args("scatter", input, dim, index, src if value is None else value)
    return Scatter.apply(x, idx, s, dim=d)


def scatter_add(input, dim: int, index, src) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (see :func:`scatter`);
    positions named more than once receive every addition.

    >>> import nerve
    >>> nerve.zeros(3).scatter_add(0, nerve.tensor([2, 2]), nerve.tensor([5.0, 7.0])).tolist()
    [0.0, 0.0, 12.0]
    """
    x, idx, s, d = _scatter_args("scatter_add", input, dim, index, src)
    if not s.ndim:
        raise TypeError("scatter_add: src must be a tensor with the input's number of dims")
    return ScatterAdd.apply(x, idx, s, dim=d)


@register("index_add")
class IndexAdd(Function):
    """out = x with alpha * source[k] added to the slice index[k] along ``dim``."""

    differentiable = (0, 2)

    def forward(self, x, index, source, dim, alpha):
        out = x.copy()
        add = source if alpha == 1 else source * x.dtype.type(alpha)
        where = (slice(None),) * dim + (index,)
        if type(out) is not np.ndarray:  # a device's scatter kernel takes integer arrays alone
            where = _slice_positions(x.shape, dim, index)
        add_at(out, where, add)
        self.index, self.dim, self.alpha = index, dim, alpha
        return out

    def backward(self, g):
        gs = None
        if self.needs_input_grad[2]:
            gs = np.take(g, self.index, axis=self.dim)
            if self.alpha != 1:
                gs *= g.dtype.type(self.alpha)
        return g, None, gs


def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added to the slices ``index`` along ``dim``.

    Args:
        input: the tensor added into (its copy).
        dim: the dimension ``index`` points along.
        index: 1-d integers in [0, input.shape[dim]); repeated slices receive every addition.
        source: ``input``'s shape with ``len(index)`` in ``dim``, and ``input``'s dtype.
        alpha: a scale for ``source``.

    Returns:
        A tensor of ``input``'s shape.

    Raises:
        TypeError, ValueError, IndexError: bad dtypes, shapes, dims or indices (named).

    >>> import nerve
    >>> nerve.zeros(3, 2).index_add(0, nerve.tensor([0, 0]), nerve.ones(2, 2)).tolist()
    [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]
    """
    x = as_tensor(input, "index_add")
    s = as_tensor(source, "index_add")
    idx = int_index(index, "index_add")
    if idx.ndim > 1:
        raise ValueError(f"index_add: index must be 0-d or 1-d, got shape {idx.shape}")
    idx = idx.reshape(-1)
    d = normalize_dim(dim, x.ndim, "index_add")
    if s.dtype != x.dtype:
        raise TypeError(
            f"index_add: source has dtype {s.dtype} but the input has dtype {x.dtype}; cast first"
        )
    if x.ndim == 0:
        x, s, squeeze = reshape(x, (1,)), reshape(s, (-1,)), True
    else:
        squeeze = False
    want = x.shape[:d] + (idx.size,) + x.shape[d + 1 :]
    if s.shape != want:
        raise ValueError(
            f"index_add: source of shape {s.shape} does not fit: the input {x.shape} with "
            f"{idx.size} indices along dim {d} needs {want}"
        )
    check_range("index_add", idx, 0, x.shape[d], d, x.shape)
    out = IndexAdd.apply(x, idx, s, dim=d, alpha=alpha)
    return reshape(out, ()) if squeeze else out


# ----------------------------------------------------------------------------- scatter_reduce
_REDUCES = ("sum", "prod", "mean", "amax", "amin")


@register("scatter_reduce")
class ScatterReduce(Function):
    """out = x with src's elements reduced into pos(index) by ``reduce``; with
    ``include_self=False`` the positions src reaches start from the reduction's identity.

    Gradients as torch's: sum and mean share g (mean divided by the count); amax/amin split g
    evenly among the elements equal to the result; prod gives each factor the product of the
    others (exact with zeros). One deviation: with include_self=False, torch still counts an
    input equal to the result among the ties (its shares then add up to less than g); here only
    the elements that took part share it.
    """

    differentiable = (0, 2)

    def forward(self, x, index, src, dim, reduce, include_self):
        pos = _positions(index, dim)
        s = src[_leading(index.shape)]
        xp = array_module_of(x)
        hit = xp.zeros(x.shape, bool)
        hit[pos] = True
        own = xp.ones(x.shape, bool) if include_self else ~hit  # where x takes part
        t = x.dtype.type
        if reduce in ("sum", "mean"):
            out = np.where(own, x, t(0))
            add_at(out, pos, s)
            if reduce == "mean":
                count = own.astype(x.dtype)
                add_at(count, pos, t(1))
                self.count = count
                out = out / count if x.dtype.kind == "f" else out // count.astype(x.dtype)
        elif reduce == "prod":
            out = np.where(own, x, t(1))
            ufunc_at(np.multiply, out, pos, s)
        else:
            big = np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max
            start = t(-big) if reduce == "amax" else t(big)
            out = np.where(own, x, start)
            ufunc_at(np.maximum if reduce == "amax" else np.minimum, out, pos, s)
        self.x, self.s, self.out, self.pos, self.own = x, s, out, pos, own
        self.reduce, self.src_shape, self.index_shape = reduce, src.shape, index.shape
        return out

    def backward(self, g):
        x, s, out, pos, own = self.x, self.s, self.out, self.pos, self.own
        t = g.dtype.type
        if self.reduce == "sum":
            gx, gs = g * own, g[pos]
        elif self.reduce == "mean":
            share = g / self.count
            gx, gs = share * own, share[pos]
        elif self.reduce == "prod":
            # the product of the other factors at each position: nonzero product and zero count
            zx = own & (x == 0)
            nonzero = np.where(own & ~zx, x, t(1))
            ufunc_at(np.multiply, nonzero, pos, np.where(s == 0, t(1), s))
            zeros = zx.astype(np.int64)
            add_at(zeros, pos, (s == 0).astype(np.int64))

            def others(f, nz, z):
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(
                        f == 0, np.where(z == 1, nz, t(0)), np.where(z == 0, nz / f, t(0))
                    )

            gx = g * np.where(own, others(x, nonzero, zeros), t(0))
            gs = g[pos] * others(s, nonzero[pos], zeros[pos])
        else:  # amax, amin: ties share
            ex = own & (x == out)
            es = s == out[pos]
            n = ex.astype(g.dtype)
            add_at(n, pos, es.astype(g.dtype))
            share = g / np.maximum(n, t(1))
            gx, gs = share * ex, share[pos] * es
        need_x, _, need_src = self.needs_input_grad
        gsrc = _src_grad(gs, self.src_shape, self.index_shape) if need_src else None
        return (gx if need_x else None), None, gsrc


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """A copy of ``input`` with ``src`` reduced into the positions ``index`` names along
    ``dim`` (as :func:`scatter`): ``reduce`` is 'sum', 'prod', 'mean', 'amax' or 'amin'. With
    ``include_self=False`` the input's own values at those positions are left out.

    Raises:
        ValueError: an unknown reduce, or shapes that do not fit (see :func:`scatter`).

    >>> import nerve
    >>> x = nerve.zeros(2)
    >>> x.scatter_reduce(0, nerve.tensor([0, 0, 1]), nerve.tensor([1.0, 3.0, 5.0]), "amax").tolist()
    [3.0, 5.0]
    """
    if reduce not in _REDUCES:
        raise ValueError(f"scatter_reduce: reduce must be one of {_REDUCES}, got {reduce!r}")
    x, idx, s, d = _scatter_args("scatter_reduce", input, dim, index, src)
    if not s.ndim:
        raise TypeError("scatter_reduce: src must be a tensor with the input's number of dims")
    return ScatterReduce.apply(x, idx, s, dim=d, reduce=reduce, include_self=bool(include_self))
