"""keras.ops' math family: top_k, in_top_k, logsumexp and the segment reductions."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import axes_tuple, detached, to_float, to_tensor
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing, reduction, sorting
from nerve.primitives import shape as sh

__all__ = ["in_top_k", "logsumexp", "segment_max", "segment_sum", "top_k"]


def top_k(x, k, sorted: bool = True):  # noqa: A002 - Keras's name
    """The ``k`` largest values along the last axis, and their indices.

    Args:
        x: the tensor.
        k: how many values to keep.
        sorted: accepted; the values come largest first either way (ties in index order).

    Returns:
        ``(values, indices)``; the values carry the gradient back to their places, the
        indices are int64 (as on Keras's torch backend).

    Raises:
        ValueError: ``k`` is negative or larger than the last axis.
    """
    t = to_tensor(x, "top_k")
    if t.ndim == 0:
        raise ValueError("top_k: needs at least one dimension, got a 0-d tensor")
    k = int(k)
    n = t.shape[-1]
    if not 0 <= k <= n:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis size {n}")
    values, indices = sorting.topk(t, k, -1)
    return values, indices


def in_top_k(targets, predictions, k) -> Tensor:
    """Whether each target's prediction is among the ``k`` largest of its row (ties count).

    Args:
        targets: integer class ids of shape (batch,).
        predictions: scores of shape (batch, classes).
        k: how many top scores count.

    Returns:
        A bool tensor of shape (batch,).
    """
    p = to_tensor(predictions, "in_top_k")._data
    labels = to_tensor(targets, "in_top_k")._data.astype(np.int64)
    if p.ndim != 2 or labels.shape != p.shape[:1]:
        raise ValueError(
            f"in_top_k: predictions must be (batch, classes) and targets (batch,), got "
            f"{p.shape} and {labels.shape}"
        )
    target_scores = np.take_along_axis(p, labels[:, None], -1)
    kth = -np.sort(-p, axis=-1)[:, int(k) - 1 : int(k)]
    return detached((target_scores >= kth)[:, 0])


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis``, computed stably."""
    t = to_float(x, "logsumexp")
    return reduction.logsumexp(
        t, axis=axes_tuple(axis, t.ndim, "logsumexp"), keepdims=bool(keepdims)
    )


def _segments(op: str, data, segment_ids, num_segments):
    d = to_tensor(data, op)
    ids = to_tensor(segment_ids, op)._data
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: segment_ids must be integers, got dtype {ids.dtype}")
    if d.ndim == 0 or ids.shape != d.shape[:1]:
        raise ValueError(
            f"{op}: segment_ids of shape {ids.shape} must have one id per row of data "
            f"(shape {d.shape})"
        )
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1 if ids.size else 0
    return d, ids.astype(np.int64), n


def segment_sum(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """The sums of the rows of ``data`` that share a segment id.

    Args:
        data: the tensor; its first axis is split into segments.
        segment_ids: one integer id per row; ids outside [0, num_segments) are dropped.
        num_segments: the number of segments (the largest id plus one when None).
        sorted: accepted for Keras's signature (the ids need not be sorted).

    Returns:
        A tensor of shape ``(num_segments,) + data.shape[1:]``.
    """
    d, ids, n = _segments("segment_sum", data, segment_ids, num_segments)
    keep = (ids >= 0) & (ids < n)  # out-of-range ids (negative ones too) are dropped, as Keras
    if not keep.all():
        d = indexing.index_select(d, 0, detached(np.nonzero(keep)[0]))
    out = detached(np.zeros((n,) + d.shape[1:], d._data.dtype))
    return indexing.index_add(out, 0, detached(ids[keep]), d)


def segment_max(data, segment_ids, num_segments=None, sorted: bool = False) -> Tensor:  # noqa: A002
    """The elementwise maxima of the rows of ``data`` that share a segment id (-inf for an
    empty segment); see :func:`segment_sum` for the arguments."""
    d, ids, n = _segments("segment_max", data, segment_ids, num_segments)
    d = to_float(d, "segment_max")
    member = ids[None, :] == np.arange(n)[:, None]  # (segments, rows)
    if member.size == 0:
        return detached(np.full((n,) + d.shape[1:], -np.inf, d._data.dtype))
    mask = member.reshape(member.shape + (1,) * (d.ndim - 1))
    spread = ew.where(detached(mask), sh.unsqueeze(d, 0), -np.inf)
    return reduction.amax(spread, axis=1)
