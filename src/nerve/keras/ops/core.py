"""keras.ops' core ops: conversion, dtypes, slicing and scattering, and control flow.

Control flow is plain Python (nerve runs eagerly): ``cond`` calls one branch, the loops run
their bodies, ``vectorized_map`` maps over the first axis and stacks. Scatters are composed from
differentiable ops (a 0/1 placement matrix times the values), so gradients reach the values.
"""

from __future__ import annotations

import builtins

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import (
    axis_index,
    detached,
    shape_tuple,
    standardize_dtype,
    to_tensor,
)
from nerve.layers.input_layer import KerasTensor
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing
from nerve.primitives import shape as sh

__all__ = [
    "cast",
    "cond",
    "convert_to_numpy",
    "convert_to_tensor",
    "dtype",
    "fori_loop",
    "is_tensor",
    "map",
    "scatter",
    "scatter_update",
    "shape",
    "slice",
    "slice_update",
    "stop_gradient",
    "switch",
    "unstack",
    "vectorized_map",
    "while_loop",
]


# ----------------------------------------------------------------------------- conversion
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None) -> Tensor:
    """``x`` as a nerve Tensor, by Keras's rules: a Python int becomes int32, a float float32,
    a NumPy array keeps its dtype; ``dtype`` casts.

    Raises:
        ValueError: ``sparse`` or ``ragged`` is True (nerve has neither), or a bad dtype.
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: nerve has no sparse or ragged tensors")
    return to_tensor(x, "convert_to_tensor", dtype)


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array (a copy, detached from any graph)."""
    return np.array(to_tensor(x, "convert_to_numpy")._data)


def is_tensor(x) -> bool:
    """Whether ``x`` is a nerve Tensor."""
    return isinstance(x, Tensor)


def cast(x, dtype) -> Tensor:
    """``x`` as ``dtype`` (a Keras name such as ``"float32"`` or a NumPy dtype); differentiable
    between float dtypes."""
    t = to_tensor(x, "cast")
    return ew.cast(t, standardize_dtype(dtype, "cast"))


def dtype(x) -> str:
    """The name of ``x``'s dtype, as Keras spells it (e.g. ``"float32"``)."""
    if isinstance(x, KerasTensor):
        return x.dtype.name
    return str(to_tensor(x, "dtype")._data.dtype)


def shape(x) -> tuple:
    """The shape of ``x``, a tuple of ints (None for a symbolic tensor's unknown dims)."""
    if isinstance(x, KerasTensor):
        return x.shape
    return tuple(to_tensor(x, "shape").shape)


def stop_gradient(variable) -> Tensor:
    """``variable``'s value, cut off from the graph (no gradient flows back through it)."""
    return to_tensor(variable, "stop_gradient").detach()


def unstack(x, num=None, axis: int = 0) -> list:
    """``x`` split along ``axis`` into its slices.

    Raises:
        ValueError: ``num`` is given and differs from the axis size.
    """
    t = to_tensor(x, "unstack")
    ax = axis_index(axis, t.ndim, "unstack")
    if num is not None and int(num) != t.shape[ax]:
        raise ValueError(f"unstack: num={num} but axis {ax} has size {t.shape[ax]}")
    return list(sh.unbind(t, ax))


# ----------------------------------------------------------------------------- slicing
def _starts(op: str, t: Tensor, start_indices) -> list:
    starts = [int(s) for s in to_tensor(start_indices, op)._data.reshape(-1)]
    if len(starts) != t.ndim:
        raise ValueError(
            f"{op}: {len(starts)} start indices for a tensor of shape {t.shape}; give one per axis"
        )
    return starts


def slice(inputs, start_indices, shape) -> Tensor:  # noqa: A001 - Keras's name
    """The block of ``inputs`` that starts at ``start_indices`` and has ``shape``.

    Raises:
        ValueError: the block does not fit inside ``inputs``.
    """
    t = to_tensor(inputs, "slice")
    starts = _starts("slice", t, start_indices)
    sizes = [int(s) for s in (shape._data.reshape(-1) if isinstance(shape, Tensor) else shape)]
    if len(sizes) != t.ndim:
        raise ValueError(f"slice: shape {sizes} must have one size per axis of {t.shape}")
    sizes = [n - s if z == -1 else z for z, s, n in zip(sizes, starts, t.shape)]
    for s, z, n in zip(starts, sizes, t.shape):
        if s < 0 or z < 0 or s + z > n:
            raise ValueError(
                f"slice: the block at {starts} of shape {sizes} does not fit inside {t.shape}"
            )
    return t[tuple(builtins.slice(s, s + z) for s, z in zip(starts, sizes))]


def slice_update(inputs, start_indices, updates) -> Tensor:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates`` (a new tensor;
    gradients reach both).

    Raises:
        ValueError: the block does not fit inside ``inputs``.
    """
    t = to_tensor(inputs, "slice_update")
    u = to_tensor(updates, "slice_update", t._data.dtype)
    starts = _starts("slice_update", t, start_indices)
    if u.ndim != t.ndim or builtins.any(
        s < 0 or s + z > n for s, z, n in zip(starts, u.shape, t.shape)
    ):
        raise ValueError(
            f"slice_update: updates of shape {u.shape} at {starts} do not fit inside {t.shape}"
        )
    widths = [(s, n - s - z) for s, z, n in zip(starts, u.shape, t.shape)]
    placed = sh.pad(u, tuple(v for pair in widths[::-1] for v in pair)) if t.ndim else u
    mask = np.zeros(t.shape, bool)
    mask[tuple(builtins.slice(s, s + z) for s, z in zip(starts, u.shape))] = True
    return ew.where(detached(mask), placed, t)


def _placement(op: str, indices, shape: tuple):
    """The flat positions that ``indices`` (..., k) name in the first k axes of ``shape``."""
    idx = to_tensor(indices, op)._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype}")
    k = idx.shape[-1] if idx.ndim else 0
    if idx.ndim == 0 or k > len(shape):
        raise ValueError(f"{op}: indices of shape {idx.shape} do not index a shape {shape}")
    idx = idx.reshape(-1, k).astype(np.int64)
    lead = shape[:k]
    if idx.size and (idx.min() < 0 or builtins.any(idx.max(axis=0) >= np.array(lead))):
        raise IndexError(f"{op}: an index in {idx.tolist()} is out of range for shape {shape}")
    return np.ravel_multi_index(idx.T, lead) if k else np.zeros(len(idx), np.int64), k


def _place(values: Tensor, rows: np.ndarray, n_rows: int, shape: tuple) -> Tensor:
    """``values`` (one slice per row) added into zeros at ``rows`` of the flat leading axes."""
    zeros = detached(np.zeros((n_rows,) + values.shape[1:], values._data.dtype))
    return sh.reshape(indexing.index_add(zeros, 0, detached(rows), values), shape)


def scatter(indices, values, shape) -> Tensor:
    """A tensor of zeros of ``shape`` with ``values`` added at ``indices`` (repeated indices
    add up).

    Args:
        indices: integers of shape (N, k): positions in the first k axes of ``shape``.
        values: N values (or N slices of ``shape[k:]``).
        shape: the result's shape.

    Raises:
        ValueError: indices or values that do not fit ``shape``.
    """
    shp = shape_tuple(shape, "scatter")
    rows, k = _placement("scatter", indices, shp)
    v = to_tensor(values, "scatter")
    want = (len(rows), *shp[k:])
    if int(np.prod(v.shape)) != int(np.prod(want)):
        raise ValueError(f"scatter: values of shape {v.shape} do not fit {want}")
    return _place(sh.reshape(v, want), rows, int(np.prod(shp[:k])), shp)


def scatter_update(inputs, indices, updates, reduction=None) -> Tensor:
    """``inputs`` with ``updates`` written at ``indices`` (``reduction='add'``: added there).

    A repeated index keeps its last update, as sequential assignment does.

    Raises:
        ValueError: an unsupported reduction, or updates that do not fit.
    """
    t = to_tensor(inputs, "scatter_update")
    rows, k = _placement("scatter_update", indices, t.shape)
    u = to_tensor(updates, "scatter_update", t._data.dtype)
    want = (len(rows), *t.shape[k:])
    if int(np.prod(u.shape)) != int(np.prod(want)):
        raise ValueError(f"scatter_update: updates of shape {u.shape} do not fit {want}")
    u = sh.reshape(u, want)
    n_rows = int(np.prod(t.shape[:k]))
    if reduction == "add":
        flat = sh.reshape(t, (n_rows,) + t.shape[k:])
        return sh.reshape(indexing.index_add(flat, 0, detached(rows), u), t.shape)
    if reduction is not None:
        raise ValueError(f"scatter_update: unsupported reduction {reduction!r}; use None or 'add'")
    # the last occurrence of each row wins: unique over the reversed list
    last = np.sort(len(rows) - 1 - np.unique(rows[::-1], return_index=True)[1])
    if len(last) != len(rows):
        u = indexing.index_select(u, 0, detached(last))
    placed = _place(u, rows[last], n_rows, t.shape)
    hit = np.zeros(n_rows, bool)
    hit[rows] = True
    mask = np.broadcast_to(hit.reshape(t.shape[:k] + (1,) * (t.ndim - k)), t.shape)
    return ew.where(detached(mask), placed, t)


# ----------------------------------------------------------------------------- control flow
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` is true, else ``false_fn()`` (only one branch runs)."""
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, with ``index`` clipped into range as Keras does."""
    i = int(index)
    return branches[builtins.min(builtins.max(i, 0), len(branches) - 1)](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns the last val."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds (at most
    ``maximum_iterations`` times).

    Returns:
        The final loop variables: a tuple when ``loop_vars`` was a tuple or list, else the one
        value.
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    state = tuple(v if isinstance(v, Tensor) else to_tensor(v, "while_loop") for v in state)
    step = 0
    while bool(cond(*state)) and (maximum_iterations is None or step < maximum_iterations):
        state = body(*state)
        state = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        step += 1
    return state if is_tuple else state[0]


def _stack_results(results: list):
    first = results[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_results([r[i] for r in results]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_results([r[k] for r in results]) for k in first}
    return sh.stack([to_tensor(r, "vectorized_map") for r in results], 0)


def vectorized_map(function, elements):
    """``function`` applied to each slice of ``elements`` along the first axis, the results
    stacked (``elements`` may be a tuple of tensors: the function gets a tuple of slices).

    Raises:
        ValueError: the tensors of a tuple differ in their first axis.
    """
    if isinstance(elements, (tuple, list)):
        ts = [to_tensor(e, "vectorized_map") for e in elements]
        n = ts[0].shape[0]
        if builtins.any(t.shape[0] != n for t in ts):
            raise ValueError(
                f"vectorized_map: elements differ in their first axis: {[t.shape for t in ts]}"
            )
        kind = type(elements)
        results = [function(kind(t[i] for t in ts)) for i in range(n)]
    else:
        t = to_tensor(elements, "vectorized_map")
        results = [function(t[i]) for i in range(t.shape[0])]
    if not results:
        raise ValueError("vectorized_map: elements have no slices along the first axis")
    return _stack_results(results)


def map(f, xs):  # noqa: A001 - Keras's name
    """``f`` applied to each slice of ``xs`` along the first axis, the results stacked."""
    return vectorized_map(f, xs)
