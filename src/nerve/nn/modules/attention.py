"""MultiheadAttention with PyTorch's arguments, parameter names, masks and outputs."""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.module import Module
from nerve.nn.modules._factory import built_on_cpu, place
from nerve.nn.modules.linear import Linear
from nerve.nn.parameter import Parameter
from nerve.primitives import linalg, reduction


def _as_additive(mask: Tensor | None, dtype, what: str) -> np.ndarray | None:
    """torch's MHA masks (bool True = masked out, or float added) as a float mask to add."""
    if mask is None:
        return None
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == np.bool_:
        return np.where(m, dtype.type(-np.inf), dtype.type(0))
    if m.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool or float, got {m.dtype}")
    return m.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Attention over ``num_heads`` subspaces (Vaswani et al., 2017), as torch.nn's.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None). Masks follow
    torch: in ``key_padding_mask`` (N, S) and a bool ``attn_mask`` (L, S) or (N*heads, L, S),
    True means "do not attend"; a float ``attn_mask`` is added to the scores.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        with built_on_cpu(device) as target:  # built on the CPU, then placed
            if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
                raise ValueError(
                    f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                    f"({num_heads})"
                )
            self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
            self.head_dim = embed_dim // num_heads
            self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
            self.batch_first = batch_first
            self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
            if self._qkv_same_embed_dim:
                self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), np.float32))
            else:
                self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), np.float32))
                self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), np.float32))
                self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), np.float32))
            if bias:
                self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, np.float32))
            else:
                self.register_parameter("in_proj_bias", None)
            self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
            if self._qkv_same_embed_dim:
                init.xavier_uniform_(self.in_proj_weight)
            else:
                for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                    init.xavier_uniform_(w)
            if bias:
                init.zeros_(self.out_proj.bias)
        place(self, target, dtype)

    def _projections(self, query, key, value):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one matmul for q, k and v
                return F.linear(query, w, b).chunk(3, dim=-1)
            return (
                F.linear(query, w[:e], bq),
                F.linear(key, w[e : 2 * e], bk),
                F.linear(value, w[2 * e :], bv),
            )
        return (
            F.linear(query, self.q_proj_weight, bq),
            F.linear(key, self.k_proj_weight, bk),
            F.linear(value, self.v_proj_weight, bv),
        )

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if query.ndim != 3 or query.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention(embed_dim={self.embed_dim}) got query of shape "
                f"{tuple(query.shape)}; its last dim must be {self.embed_dim}"
            )
        n, tgt, src = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != n:
            raise ValueError(
                f"MultiheadAttention: key {tuple(key.shape)} and value {tuple(value.shape)} "
                f"do not match the query's batch {n} (batch_first={self.batch_first})"
            )
        h, d = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)
        q = q.reshape(n, tgt, h, d).transpose(1, 2)
        k = k.reshape(n, src, h, d).transpose(1, 2)
        v = v.reshape(n, src, h, d).transpose(1, 2)
        mask = self._merged_mask(attn_mask, key_padding_mask, is_causal, n, tgt, src, q)
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = linalg.matmul(q, k.transpose(-2, -1)) * q.dtype.type(1 / math.sqrt(d))
            if mask is not None:
                scores = scores + Tensor._wrap(mask)
            weights = reduction.softmax(scores, dim=-1)
            out = linalg.matmul(F.dropout(weights, p, True) if p else weights, v)
        else:
            am = None if mask is None else Tensor._wrap(mask)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=am, dropout_p=p)
            weights = None
        out = self.out_proj(out.transpose(1, 2).reshape(n, tgt, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if unbatched:
            out = out.squeeze(0)
            weights = weights.squeeze(0) if weights is not None else None
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _merged_mask(self, attn_mask, key_padding_mask, is_causal, n, tgt, src, q):
        """One additive mask of a shape that broadcasts to (N, heads, L, S), or None; made on
        the device of the query ``q``."""
        dtype = q.dtype
        mask = _as_additive(attn_mask, dtype, "attn_mask")
        if mask is None and is_causal:
            xp = array_module_of(q._data)
            mask = xp.triu(xp.full((tgt, src), -np.inf, dtype=dtype), k=1)
        if mask is not None:
            if mask.shape == (tgt, src):
                mask = mask[None, None]
            elif mask.shape == (n * self.num_heads, tgt, src):
                mask = mask.reshape(n, self.num_heads, tgt, src)
            else:
                raise ValueError(
                    f"MultiheadAttention: attn_mask must have shape ({tgt}, {src}) or "
                    f"({n * self.num_heads}, {tgt}, {src}), got {mask.shape}"
                )
        pad = _as_additive(key_padding_mask, dtype, "key_padding_mask")
        if pad is not None:
            if pad.shape != (n, src):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must have shape ({n}, {src}), "
                    f"got {pad.shape}"
                )
            pad = pad[:, None, None, :]
            mask = pad if mask is None else mask + pad
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
