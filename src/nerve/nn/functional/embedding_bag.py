"""embedding_bag: sums, means or maxima of bags of embedding rows, without the (bags, length,
dim) intermediate a padded lookup would need.

A composition: one ``embedding`` lookup of every id (its Function scatters the gradient back to
the table), then a (bags x ids) weight matrix times the rows for sum and mean, or a gather of
each bag's arg-max row for max.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.device import check_on_sync
from nerve.nn.functional.embedding import embedding
from nerve.primitives.common import add_at, as_tensor, is_array, ufunc_at

__all__ = ["embedding_bag"]


def _bags(op: str, ids: np.ndarray, offsets, include_last_offset: bool):
    """(flat ids, bag of each id, number of bags); host offsets are checked and turned into
    bags on the host (they are small), device offsets on the device (see _device_bags)."""
    xp = array_module_of(ids)
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError(
                f"{op}: offsets has to be None if input is 2-d (each row is a bag), got "
                f"input {ids.shape}"
            )
        n_bags, length = ids.shape
        return ids.reshape(-1), xp.repeat(xp.arange(n_bags), length), n_bags
    if ids.ndim != 1:
        raise ValueError(f"{op}: input has to be 1-d or 2-d, got shape {ids.shape}")
    if offsets is None:
        raise ValueError(f"{op}: offsets has to be a 1-d tensor when input is 1-d")
    offs = offsets._data if isinstance(offsets, Tensor) else offsets
    offs = offs if is_array(offs) else np.asarray(offs)
    if offs.ndim != 1 or offs.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: offsets must be a 1-d integer tensor, got {offs.dtype} {offs.shape}"
        )
    if type(offs) is not np.ndarray:
        return _device_bags(op, ids, offs, include_last_offset)
    offs = _checked_offsets(op, ids.size, offs, include_last_offset)
    ends = np.append(offs[1:], ids.size)
    bag_of = np.repeat(np.arange(offs.size), ends - offs)
    return ids, xp.asarray(bag_of), offs.size


def _checked_offsets(op: str, n: int, offs: np.ndarray, include_last_offset: bool) -> np.ndarray:
    """Host offsets for ``n`` ids without the closing one of include_last_offset; a ValueError
    naming them when they do not split the ids into bags."""
    if include_last_offset:
        if offs.size < 1 or offs[-1] != n:
            raise ValueError(
                f"{op}: with include_last_offset the last offset must be the input's length "
                f"{n}, got offsets {offs.tolist()}"
            )
        offs = offs[:-1]
    if offs.size and (offs[0] != 0 or np.any(np.diff(offs) < 0) or offs[-1] > n):
        raise ValueError(
            f"{op}: offsets must start at 0, not decrease and stay within the input's length "
            f"{n}, got {offs.tolist()}"
        )
    return offs


def _device_bags(op: str, ids, offs, include_last_offset: bool):
    """:func:`_bags` for offsets on a device: the bag of each id by a search of the offsets, and
    their checks queued as a device-side flag read at the next synchronization (where the
    error is the CPU's, from a host copy of the offsets: the queue holds the offsets, one per
    bag, but not the ids), so a step does not wait here."""
    xp = array_module_of(offs)
    given = offs
    bad = xp.zeros((), dtype=bool)
    if include_last_offset:
        if offs.size < 1:
            raise ValueError(
                f"{op}: with include_last_offset the last offset must be the input's length "
                f"{ids.size}, got offsets []"
            )
        bad = offs[-1] != ids.size
        offs = offs[:-1]
    if offs.size:
        bad = bad | (offs[0] != 0) | (offs[-1] > ids.size) | (offs[1:] < offs[:-1]).any()
    n = ids.size  # the error needs only the count: the queue must not hold the ids
    check_on_sync(bad, lambda host: _checked_offsets(op, n, host, include_last_offset), given)
    bag_of = xp.searchsorted(offs, xp.arange(ids.size), side="right") - 1
    return ids, bag_of, offs.size


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights=None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Reduce bags of embedding rows to one vector each.

    Args:
        input: (B, N) ids, each row a bag; or 1-d ids split into bags by ``offsets``.
        weight: (num_embeddings, embedding_dim).
        offsets: 1-d start of each bag in a 1-d ``input``.
        max_norm, norm_type, scale_grad_by_freq: as in ``embedding``.
        mode: "sum", "mean" or "max" over each bag.
        per_sample_weights: a weight per id (input's shape), for mode "sum" only.
        include_last_offset: ``offsets`` has one more entry, the end of the last bag.
        padding_idx: ids equal to it are left out of their bag (and of the mean's count).

    Returns:
        (B, embedding_dim); an empty bag gives zeros.

    Raises:
        ValueError: an unknown mode, bad offsets, or per_sample_weights with mode != "sum".

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> w = nerve.arange(8.0).reshape(4, 2)
    >>> F.embedding_bag(nerve.tensor([0, 1, 3]), w, nerve.tensor([0, 2]), mode="sum").tolist()
    [[2.0, 4.0], [6.0, 7.0]]
    """
    op = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    idx = as_tensor(input, op)
    w = as_tensor(weight, f"{op} weight")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(
            f"{op}: per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode={mode!r})"
        )
    ids, bag_of, n_bags = _bags(op, idx._data, offsets, include_last_offset)
    xp = array_module_of(ids)
    keep = xp.ones(ids.shape, dtype=bool)
    if padding_idx is not None:
        padding_idx = int(padding_idx) % w.shape[0]
        keep = ids != padding_idx
    rows = embedding(
        Tensor._wrap(ids),
        w,
        max_norm=max_norm,
        norm_type=norm_type,
        scale_grad_by_freq=scale_grad_by_freq,
        sparse=sparse,
    )
    if n_bags == 0:  # empty offsets: no bags, the ids in none of them, as torch gives (0, D)
        return rows[:0]
    dtype = w.dtype
    if mode == "max":
        return _bag_max(rows, bag_of, keep, n_bags)
    coef = keep.astype(dtype)
    if mode == "mean":
        # counted in float32 at least: float16 stops counting at 2048 (float32/64: as before)
        count_dtype = np.promote_types(dtype, np.float32)
        if type(ids) is np.ndarray:
            counts = np.bincount(bag_of[keep], minlength=n_bags).astype(count_dtype)
        else:  # a scatter-add: no mask whose size the host must wait to learn
            counts = xp.zeros(n_bags, dtype=count_dtype)
            add_at(counts, bag_of, keep.astype(count_dtype))
        coef = (coef / np.maximum(counts, 1)[bag_of]).astype(dtype, copy=False)
    if per_sample_weights is not None:
        psw = as_tensor(per_sample_weights, op)
        if tuple(psw.shape) != tuple(idx.shape):
            raise ValueError(
                f"{op}: per_sample_weights {tuple(psw.shape)} must have the input's shape "
                f"{tuple(idx.shape)}"
            )
        rows = rows * psw.reshape((-1, 1))
    matrix = xp.zeros((n_bags, ids.size), dtype=dtype)
    matrix[bag_of, xp.arange(ids.size)] = coef
    return Tensor._wrap(matrix) @ rows


def _bag_max(rows: Tensor, bag_of: np.ndarray, keep: np.ndarray, n_bags: int) -> Tensor:
    """Each bag's element-wise maximum as a gather of its arg-max rows (empty bag: zeros)."""
    data = rows._data
    dim = data.shape[1]
    xp = array_module_of(data)
    best = xp.full((n_bags, dim), -np.inf, dtype=data.dtype)
    on_host = type(data) is np.ndarray
    # on a device, masks instead of the kept rows' positions, whose count the host would wait for
    valid = np.flatnonzero(keep) if on_host else slice(None)
    vals = data[valid] if on_host else xp.where(keep[:, None], data, data.dtype.type(-np.inf))
    ufunc_at(np.maximum, best, (bag_of[valid][:, None], xp.arange(dim)), vals)
    # the first row of each bag that reaches the maximum gets the gradient, as torch picks one
    pos = xp.arange(data.shape[0])[:, None].repeat(dim, 1)
    hit = keep[:, None] & (data == best[bag_of])
    first = xp.full((n_bags, dim), data.shape[0], dtype=np.int64)
    picks = np.where(hit[valid], pos[valid], data.shape[0])
    ufunc_at(np.minimum, first, (bag_of[valid][:, None], xp.arange(dim)), picks)
    empty = first >= data.shape[0]
    first[empty] = 0
    out = (
        rows.gather(0, Tensor._wrap(first)) if data.shape[0] else Tensor._wrap(np.zeros_like(best))
    )
    if not on_host or empty.any():
        out = out * Tensor._wrap((~empty).astype(data.dtype))
    return out
