"""embedding: rows of a weight matrix picked by integer indices, with a scatter-add backward."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.device import check_on_sync
from nerve.primitives.common import add_at, as_tensor

__all__ = ["embedding"]


_ROUNDS = 4


def scatter_add_rows(index: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """out (n, D) with out[index[i]] += rows[i], for 1-d ``index`` and ``rows`` (len(index), D).

    The k-th occurrence of every index is added in round k by one fancy-indexed ``+=`` (the
    targets of one round are distinct, so it is exact); after ``_ROUNDS`` rounds what is left
    (only indices that repeat more often) goes to ``np.add.at`` on the flat (n * D) view.
    Measured, single thread, in ms, for (indices, num_embeddings, D) = (4096, 1e4, 256),
    (8192, 5e4, 512), (8192 Zipf-distributed, 3e4, 256), (65536, 1e3, 64): this 2.6 / 53 / 22 /
    65; ``np.add.at`` on the flat view alone 9 / 87 / 29 / 55; argsort + ``np.add.reduceat``
    39 / 138 / - / 80; torch 2.6 / 253 / 13 / 19. One ``np.bincount`` per column (7-230) and a
    float64 cumsum of the sorted rows (10-200) were slower still.
    When no index repeats a single assignment is enough. On a device the scatter is one atomic
    scatter-add kernel (CuPy's ``add.at``), which needs no rounds.
    """
    d = rows.shape[1]
    if type(rows) is not np.ndarray:
        out = array_module_of(rows).zeros((n, d), dtype=rows.dtype)
        add_at(out, index, rows)
        return out
    out = np.zeros((n, d), dtype=rows.dtype)
    if index.size == 0:
        return out
    counts = np.bincount(index, minlength=n)
    if counts.max() <= 1:
        out[index] = rows
        return out
    order = np.argsort(index, kind="stable")
    first = np.cumsum(counts) - counts  # where each index's run starts in sorted order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - first[index[order]]
    for k in range(min(int(counts.max()), _ROUNDS)):
        sel = np.flatnonzero(rank == k)
        if k == 0:
            out[index[sel]] = rows[sel]
        else:
            out[index[sel]] += rows[sel]
    sel = np.flatnonzero(rank >= _ROUNDS)
    if sel.size:
        flat = index[sel, None] * d + np.arange(d)
        np.add.at(out.reshape(-1), flat.reshape(-1), rows[sel].reshape(-1))
    return out


@register("embedding")
class Embedding(Function):
    """out[...] = weight[indices[...]]; the indices carry no gradient."""

    differentiable = (1,)

    def forward(self, indices, weight, padding_idx, scale_grad_by_freq):
        self.indices = indices if self.needs_input_grad[1] else None
        self.num, self.padding_idx, self.by_freq = weight.shape[0], padding_idx, scale_grad_by_freq
        return np.take(weight, indices, axis=0)

    def backward(self, g):
        index = self.indices.reshape(-1).astype(np.intp, copy=False)  # bincount wants intp
        rows = g.reshape(index.size, g.shape[-1])
        # float16: each row is scaled by 1 / its count before the sum, as torch does (a float16
        # sum of many rows stops growing at 2048); wider types: the sum, then one division
        scale_rows = self.by_freq and rows.dtype == np.float16
        if self.by_freq:
            if type(index) is np.ndarray:
                counts = np.bincount(index, minlength=self.num)
            else:  # a scatter-add, in float32 at least: a device's bincount would read the
                # largest index first, and float16 stops counting at 2048
                count_dtype = np.promote_types(rows.dtype, np.float32)
                counts = array_module_of(rows).zeros(self.num, dtype=count_dtype)
                add_at(counts, index, count_dtype.type(1))
            if scale_rows:
                share = (1 / counts[index]).astype(np.float32)  # every count here is >= 1
                rows = (rows.astype(np.float32) * share[:, None]).astype(rows.dtype)
        gw = scatter_add_rows(index, rows, self.num)
        if self.by_freq and not scale_rows:
            gw /= np.maximum(counts, 1).astype(gw.dtype)[:, None]
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return None, gw


def embedding(
    input,
    weight,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input`` indices.

    Args:
        input: integer indices of any shape, each in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: that row gets no gradient (it stays as initialized, usually zeros).
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are rescaled to it, in place
            in ``weight`` (as torch does), before the lookup.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs.
        sparse: not supported (nerve's gradients are dense).

    Returns:
        (*input.shape, embedding_dim).

    Raises:
        IndexError: for an index outside [0, num_embeddings), naming it.
        TypeError: for non-integer indices.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> w = nerve.arange(6.0).reshape(3, 2)
    >>> F.embedding(nerve.tensor([[2, 0]]), w).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    idx = as_tensor(input, "embedding")
    w = as_tensor(weight, "embedding weight")
    if w.ndim != 2:
        raise ValueError(
            f"embedding: weight must be 2-d (num_embeddings, embedding_dim), got shape {w.shape}"
        )
    if w._data.dtype.kind != "f":
        raise TypeError(f"embedding: weight must be floating point, got dtype {w._data.dtype}")
    if idx._data.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: input must hold integer indices, got dtype {idx._data.dtype}; "
            "call .long() first"
        )
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported; gradients are dense")
    num = w.shape[0]
    ids = idx._data
    if ids.size:
        _check_ids(ids, num, w.shape)
    if padding_idx is not None:
        padding_idx = int(padding_idx)
        if not -num <= padding_idx < num:
            raise ValueError(
                f"embedding: padding_idx={padding_idx} must be within num_embeddings={num}"
            )
        padding_idx %= num
    if max_norm is not None:
        _renorm_rows(w._data, ids, float(max_norm), float(norm_type))
    return Embedding.apply(
        idx, w, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq)
    )


def _check_ids(ids, num: int, shape: tuple) -> None:
    """IndexError for an index outside [0, num); on a device it is queued and raised at the next
    synchronization (reading it now would make every lookup wait for the device)."""
    lo, hi = ids.min(), ids.max()
    if type(ids) is np.ndarray:
        _range_error(lo, hi, num, shape)
    else:
        check_on_sync((lo < 0) | (hi >= num), lambda a, b: _range_error(a, b, num, shape), lo, hi)


def _range_error(lo, hi, num: int, shape: tuple) -> None:
    if lo < 0 or hi >= num:
        bad = lo if lo < 0 else hi
        raise IndexError(
            f"embedding: index {int(bad)} is out of range for num_embeddings={num} "
            f"(weight of shape {shape}); indices must be in [0, {num})"
        )


def _renorm_rows(weight: np.ndarray, ids: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rescale, in place, the rows named by ``ids`` whose norm exceeds ``max_norm`` (torch's rule:
    scale = max_norm / (norm + 1e-7)); like torch, this is not recorded in the graph."""
    if type(weight) is not np.ndarray:
        # on a device, no read: every looked-up row (repeats write the same value), the rows
        # within max_norm scaled by 1; np.unique and big.any() would wait for the device
        rows = ids.reshape(-1)
        norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1).astype(weight.dtype)
        weight[rows] = weight[rows] * scale[:, None]
        return
    rows = np.unique(ids)
    norms = np.linalg.norm(weight[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype)
        weight[rows[big]] *= scale[:, None]
