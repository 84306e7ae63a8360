"""scaled_dot_product_attention: softmax(q @ k.T * scale + mask) @ v as one fused op.

Forward computes the scores in one buffer and runs the softmax in place on it; backward goes
through the softmax in closed form, using ``rowsum(dP * P) == rowsum(g * out)`` (true with
dropout too), which reads an (L, Ev) array instead of another (L, S) one.

With ``nerve.set_num_threads(n > 1)`` and NumPy arrays whose (batch, head) dims do not broadcast,
forward and backward each run as n blocks of the leading dim on the pool of
``nerve.primitives.threads`` (one hand-off per call): every (L, S) matrix is independent, so the
blocks give the same bits as one thread. The dropout mask is drawn by ``keep_mask`` before the
split (in blocks of its own, with one thread's stream): masks do not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd import amp
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _modes
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.nn.functional.dropout import keep_mask
from nerve.primitives import threads
from nerve.primitives.common import as_tensor

__all__ = ["scaled_dot_product_attention"]

# Smallest score arrays (B * H * L * S elements) whose forward / backward split over threads:
# per call (fwd, bwd ms; one thread -> two, L = S = 28, E = 16, dropout 0.1, shared 2-core
# machine) B*H = 64: 0.41 -> 0.39, 0.22 -> 0.32; 128: 0.77 -> 0.63, 0.42 -> 0.45; 256: 1.50 ->
# 1.12, 0.78 -> 0.67; 512: 3.0 -> 2.1, 1.7 -> 1.2. The backward does less per element.
SPLIT_MIN_SCORES = 65536
SPLIT_MIN_SCORES_BACKWARD = 150_000


@register("scaled_dot_product_attention")
class ScaledDotProductAttention(Function):
    """Inputs: query, key, value, attn_mask (a float mask is differentiable; a bool one is not)."""

    differentiable = (0, 1, 2, 3)

    def forward(self, q, k, v, mask, scale, is_causal, dropout_p):
        need_q, need_k, need_v, need_m = self.needs_input_grad
        need_s = need_q or need_k or need_m
        self.scale = q.dtype.type(scale)
        split = _split_forward(q, k, v, mask, self.scale, is_causal, dropout_p)
        self.split = split is not None
        if split is not None:
            p, dmask, out = split
        else:
            p, dmask, out = _forward_whole(q, k, v, mask, scale, is_causal, dropout_p)
        self.p = p if (need_s or need_v) else None
        self.dmask = dmask
        self.q = q if need_k else None
        self.k = k if need_q else None
        self.v = v if need_s else None
        self.out = out if need_s else None
        return out

    def backward(self, g):
        need_q, need_k, need_v, need_m = self.needs_input_grad
        if not need_m:
            split = _split_backward(self, g)
            if split is not None:
                return split
        p, dmask = self.p, self.dmask
        gq = gk = gv = gm = None
        if need_v:
            pd = p if dmask is None else p * dmask
            gv = np.matmul(np.swapaxes(pd, -1, -2), g)
        if need_q or need_k or need_m:
            ds = _scores_grad(g, p, dmask, self.v, self.out)
            if need_q:
                gq = np.matmul(ds, self.k)
                gq *= self.scale
            if need_k:
                gk = np.matmul(np.swapaxes(ds, -1, -2), self.q)
                gk *= self.scale
            if need_m:
                gm = ds
        return gq, gk, gv, gm


def _weights(q, k, mask, scale, is_causal, s=None):
    """softmax(q @ k.T * scale + mask) over the last dim, computed in place in ``s`` (a new
    array when None; a given ``s`` must already have the masked scores' full shape)."""
    t = q.dtype.type
    if s is None:
        s = np.matmul(q, np.swapaxes(k, -1, -2))
    else:
        np.matmul(q, np.swapaxes(k, -1, -2), out=s)
    s *= t(scale)
    masked = mask is not None
    if masked:
        full = np.broadcast_shapes(s.shape, mask.shape)
        if full != s.shape:
            s = np.broadcast_to(s, full).copy()
        if mask.dtype == np.bool_:
            np.copyto(s, t(-np.inf), where=~mask)
        else:
            s += mask
    if is_causal:
        # top-left aligned, as torch: query i sees keys 0..i (never a fully masked row)
        seen = array_module_of(s).tri(s.shape[-2], s.shape[-1], dtype=bool)
        np.copyto(s, t(-np.inf), where=~seen)
    rowmax = s.max(axis=-1, keepdims=True)
    if masked:
        # A fully masked row (all -inf) would give 0/0. torch 2.13 returns zeros for it
        # (output and gradients); so do we: shift by 0, exp gives 0, divide by 1.
        rowmax[rowmax == -np.inf] = 0
    s -= rowmax
    np.exp(s, out=s)
    denom = s.sum(axis=-1, keepdims=True)
    if masked:
        denom[denom == 0] = 1
    np.reciprocal(denom, out=denom)
    s *= denom
    return s


def _scores_grad(g, p, dmask, v, out):
    """d loss / d scores (after scale and mask) from the output gradient ``g``."""
    ds = np.matmul(g, np.swapaxes(v, -1, -2))  # d loss / d (dropped) weights
    if dmask is not None:
        ds *= dmask
    ds -= np.einsum("...i,...i->...", g, out)[..., None]
    ds *= p
    return ds


def _forward_whole(q, k, v, mask, scale, is_causal, dropout_p):
    """The forward on one thread: (weights, dropout mask or None, output)."""
    p = _weights(q, k, mask, scale, is_causal)
    dmask = keep_mask(p.shape, dropout_p, p.dtype, array_module_of(p)) if dropout_p > 0 else None
    pd = p if dmask is None else p * dmask
    return p, dmask, np.matmul(pd, v)


def _split_shape(q, k, v, mask):
    """The scores' shape when the split path applies (threads on, NumPy arrays, one shared
    leading shape with a first dim of at least 2, enough elements), else None."""
    if threads.get_num_threads() < 2:
        return None
    lead = q.shape[:-2]
    if not lead or lead[0] < 2 or k.shape[:-2] != lead or v.shape[:-2] != lead:
        return None
    shape = lead + (q.shape[-2], k.shape[-2])
    if math.prod(shape) < SPLIT_MIN_SCORES:
        return None
    if not type(q) is type(k) is type(v) is np.ndarray:
        return None
    if mask is not None and (
        type(mask) is not np.ndarray or np.broadcast_shapes(mask.shape, shape) != shape
    ):
        return None
    return shape


def _split_forward(q, k, v, mask, scale, is_causal, dropout_p):
    """The forward as row blocks of the leading dim on the thread pool, or None (not split)."""
    shape = _split_shape(q, k, v, mask)
    if shape is None:
        return None
    dt = q.dtype
    p = np.empty(shape, dt)
    out = np.empty(shape[:-1] + (v.shape[-1],), dt)
    # drawn whole before the split: the same stream (and mask) as on one thread
    dmask = keep_mask(shape, dropout_p, dt) if dropout_p > 0 else None
    arrays = [q, k, v, p, out]
    if dmask is not None:
        arrays.append(dmask)
    # a mask with the full leading dim is cut with the rest; a broadcast one is shared
    cut_mask = mask is not None and mask.ndim == len(shape) and mask.shape[0] == shape[0]
    if cut_mask:
        arrays.append(mask)

    def block(qb, kb, vb, pb, ob, *rest):
        db = rest[0] if dmask is not None else None
        mb = rest[-1] if cut_mask else mask
        _weights(qb, kb, mb, scale, is_causal, s=pb)
        np.matmul(pb if db is None else pb * db, vb, out=ob)

    if not threads.parallel_rows(block, tuple(arrays), 0):  # pool busy: one block, same bits
        block(*arrays)
    return p, dmask, out


def _split_backward(fn, g):
    """The backward as row blocks on the thread pool, or None when the forward did not split."""
    if not fn.split or type(g) is not np.ndarray or fn.p.size < SPLIT_MIN_SCORES_BACKWARD:
        return None
    need_q, need_k, need_v, _ = fn.needs_input_grad
    need_s = need_q or need_k
    p, dmask, dt = fn.p, fn.dmask, fn.p.dtype
    names, arrays = ["g", "p"], [g, p]
    if dmask is not None:
        names.append("d")
        arrays.append(dmask)
    if need_s:
        names += ["v", "out"]
        arrays += [fn.v, fn.out]
    grads = {}
    if need_v:
        grads["gv"] = np.empty(p.shape[:-2] + (p.shape[-1], g.shape[-1]), dt)
    if need_q:
        names.append("k")
        arrays.append(fn.k)
        grads["gq"] = np.empty(g.shape[:-1] + (fn.k.shape[-1],), dt)
    if need_k:
        names.append("q")
        arrays.append(fn.q)
        grads["gk"] = np.empty(p.shape[:-2] + (p.shape[-1], fn.q.shape[-1]), dt)
    names += list(grads)
    arrays += list(grads.values())
    scale = fn.scale

    def block(*blocks):
        b = dict(zip(names, blocks, strict=True))
        d = b.get("d")
        if need_v:
            pd = b["p"] if d is None else b["p"] * d
            np.matmul(np.swapaxes(pd, -1, -2), b["g"], out=b["gv"])
        if need_s:
            ds = _scores_grad(b["g"], b["p"], d, b["v"], b["out"])
            if need_q:
                np.matmul(ds, b["k"], out=b["gq"])
                b["gq"] *= scale
            if need_k:
                np.matmul(np.swapaxes(ds, -1, -2), b["q"], out=b["gk"])
                b["gk"] *= scale

    if not threads.parallel_rows(block, tuple(arrays), 0):
        block(*arrays)
    return grads.get("gq"), grads.get("gk"), grads.get("gv"), None


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query @ key.T * scale + mask) @ value over the last two dims.

    Args:
        query: (..., L, E).
        key: (..., S, E).
        value: (..., S, Ev). Leading (batch, head) dims broadcast.
        attn_mask: broadcastable to (..., L, S); bool (True = take part, as torch) or float
            (added to the scores, so -inf masks). A query whose keys are all masked gets zeros,
            as torch 2.13 gives.
        dropout_p: dropout probability on the attention weights (drawn from nerve's generator).
        is_causal: mask out keys after each query (top-left aligned); not with ``attn_mask``.
        scale: the score scale; default 1 / sqrt(E).
        enable_gqa: grouped-query attention: query has Hq heads in dim -3, key and value Hkv,
            and each key head serves Hq // Hkv consecutive query heads.

    Returns:
        (..., L, Ev).

    Raises:
        ValueError: for mismatched shapes (named), both a mask and ``is_causal``, or a bad
            ``dropout_p``.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> q = k = v = nerve.randn(2, 4, 5, 8)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (2, 4, 5, 8)
    """
    op = "scaled_dot_product_attention"
    q, k, v = as_tensor(query, op), as_tensor(key, op), as_tensor(value, op)
    if _modes.autocast is not None:  # autocast: cast before the one-dtype checks, as apply would
        q, k, v, attn_mask = amp.autocast_inputs(op, q, k, v, attn_mask)
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must be (..., length, features), got shape {t.shape}")
        if t._data.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be floating point, got dtype {t._data.dtype}")
    if not q._data.dtype == k._data.dtype == v._data.dtype:
        raise TypeError(
            f"{op}: query, key and value need one dtype, got {q._data.dtype}, {k._data.dtype}, "
            f"{v._data.dtype}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{op}: query {q.shape} and key {k.shape} must have the same last dim (E)")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{op}: key {k.shape} and value {v.shape} must have the same length dim (S, dim -2)"
        )
    if not isinstance(dropout_p, (int, float)) or not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p!r}")
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{op}: pass attn_mask or is_causal=True, not both")
        mask = as_tensor(attn_mask, f"{op} attn_mask")
        kind = mask._data.dtype.kind
        if kind != "b" and mask._data.dtype != q._data.dtype:
            raise TypeError(
                f"{op}: attn_mask must be bool or have the query's dtype {q._data.dtype}, "
                f"got {mask._data.dtype}"
            )
    length, keys = q.shape[-2], k.shape[-2]
    if enable_gqa:
        q, k, v, mask = _group_heads(op, q, k, v, mask)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        if mask is not None:
            np.broadcast_shapes(mask.shape, batch + (length, keys))
    except ValueError:
        raise ValueError(
            f"{op}: shapes do not broadcast: query {q.shape}, key {k.shape}, value {v.shape}"
            + ("" if mask is None else f", attn_mask {mask.shape} (against (..., L, S))")
        ) from None
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    out = ScaledDotProductAttention.apply(
        q,
        k,
        v,
        mask,
        scale=float(scale),
        is_causal=bool(is_causal),
        dropout_p=float(dropout_p),
    )
    if enable_gqa:  # (..., Hkv, G, L, Ev) back to (..., Hq, L, Ev)
        out = out.reshape(*out.shape[:-4], out.shape[-4] * out.shape[-3], *out.shape[-2:])
    return out


def _group_heads(op: str, q: Tensor, k: Tensor, v: Tensor, mask):
    """Reshape for grouped-query attention: q (..., Hkv, G, L, E), k and v (..., Hkv, 1, S, *).

    Broadcasting then pairs each key head with its G query heads, and the engine sums the key and
    value gradients over the group.
    """
    if q.ndim < 3 or k.ndim < 3 or v.ndim < 3:
        raise ValueError(f"{op}: enable_gqa needs a heads dim (-3) in query, key and value")
    hq, hk = q.shape[-3], k.shape[-3]
    if v.shape[-3] != hk or hq % hk:
        raise ValueError(
            f"{op}: enable_gqa needs the query heads ({hq}) to be a multiple of the key/value "
            f"heads (key {k.shape}, value {v.shape})"
        )
    groups = hq // hk
    q = q.reshape(*q.shape[:-3], hk, groups, *q.shape[-2:])
    k = k.unsqueeze(-3)
    v = v.unsqueeze(-3)
    if mask is not None and mask.ndim >= 3:
        if mask.shape[-3] == hq and hq != 1:
            mask = mask.reshape(*mask.shape[:-3], hk, groups, *mask.shape[-2:])
        else:
            mask = mask.unsqueeze(-3)
    return q, k, v, mask
