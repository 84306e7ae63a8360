"""keras.ops' attention and layer-wise normalization: dot_product_attention, layer_normalization,
rms_normalization.

Keras's attention layout is ``(batch, length, heads, features)``; nerve's fused attention works
on ``(batch, heads, length, features)``, so the inputs are transposed views. Masked scores get
Keras's large negative value (not -inf), so a query whose keys are all masked averages them,
as in Keras.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.keras import config
from nerve.keras.ops._common import axes_tuple, detached, to_float, to_tensor
from nerve.nn import functional as F
from nerve.primitives import elementwise as ew
from nerve.primitives import reduction
from nerve.primitives import shape as sh

__all__ = ["dot_product_attention", "layer_normalization", "rms_normalization"]


def _heads_first(t: Tensor) -> Tensor:
    return sh.permute(t, (0, 2, 1, 3))


def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    scale=None,
    is_causal: bool = False,
    flash_attention=None,
    attn_logits_soft_cap=None,
) -> Tensor:
    """``softmax(q k^T * scale + bias, masked) v`` with Keras's layout and masking.

    Args:
        query: ``(batch, T, heads, features)``.
        key: ``(batch, S, kv_heads, features)``; ``heads`` must be a multiple of ``kv_heads``
            (grouped-query attention).
        value: ``(batch, S, kv_heads, value_features)``.
        bias: added to the scores, broadcastable to ``(batch, heads, T, S)``.
        mask: bool, broadcastable to ``(batch, heads, T, S)``; True takes part.
        scale: the score scale (``1 / sqrt(features)`` when None).
        is_causal: each query sees only keys at or before its position.
        flash_attention: None or False (nerve has no flash kernel).
        attn_logits_soft_cap: must be None (Keras has it on JAX on TPU only).

    Returns:
        ``(batch, T, heads, value_features)``.

    Raises:
        ValueError: inputs that are not 4-d, both ``bias`` and ``mask``, head counts that do
            not divide, ``flash_attention=True`` or an ``attn_logits_soft_cap``.
    """
    op = "dot_product_attention"
    q, k, v = (to_float(t, op) for t in (query, key, value))
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(
            f"{op}: only 4-d inputs (batch, length, heads, features) are supported, got query "
            f"{q.shape}, key {k.shape}, value {v.shape}"
        )
    if bias is not None and mask is not None:
        raise ValueError(f"{op}: give bias or mask, not both")
    if flash_attention:
        raise ValueError(f"{op}: flash_attention=True is not available in nerve")
    if attn_logits_soft_cap is not None:
        raise ValueError(f"{op}: attn_logits_soft_cap is only supported by JAX on TPU; pass None")
    dt = np.result_type(q._data.dtype, k._data.dtype, v._data.dtype)
    q, k, v = (t if t._data.dtype == dt else ew.cast(t, dt) for t in (q, k, v))
    heads, kv_heads = q.shape[2], k.shape[2]
    if kv_heads == 0 or heads % kv_heads:
        raise ValueError(f"{op}: {heads} query heads are not a multiple of {kv_heads} key heads")
    additive = None
    if mask is not None:
        keep = to_tensor(mask, op)._data.astype(bool)
        if is_causal:
            keep = keep & np.tri(q.shape[1], k.shape[1], dtype=bool)
            is_causal = False
        # Keras's large negative, so an all-masked row averages its keys (no NaN, no zeros)
        additive = detached(np.where(keep, 0.0, -0.7 * float(np.finfo(dt).max)).astype(dt))
    elif bias is not None:
        additive = to_tensor(bias, op, dt)
    out = F.scaled_dot_product_attention(
        _heads_first(q),
        _heads_first(k),
        _heads_first(v),
        attn_mask=additive,
        is_causal=bool(is_causal),
        scale=scale,
        enable_gqa=heads != kv_heads,
    )
    return _heads_first(out)


def _along(t: Tensor, p, axes, op: str) -> Tensor:
    # a 1-d parameter for one normalized axis broadcasts along that axis
    p = to_tensor(p, op, t._data.dtype)
    if p.ndim == 1 and len(axes) == 1 and axes[0] != t.ndim - 1:
        p = sh.reshape(p, tuple(-1 if i == axes[0] else 1 for i in range(t.ndim)))
    return p


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs) -> Tensor:
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axis``.

    Args:
        x: the tensor.
        gamma: an optional scale, broadcastable along ``axis``.
        beta: an optional offset, like ``gamma``.
        axis: the axis or axes normalized over.
        epsilon: added to the variance (``keras.config.epsilon()`` when None).
    """
    if kwargs.pop("rms_scaling", False):
        raise NotImplementedError("layer_normalization: rms_scaling is deprecated in Keras")
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}")
    t = to_float(x, "layer_normalization")
    axes = axes_tuple(axis, t.ndim, "layer_normalization")
    eps = config.epsilon() if epsilon is None else float(epsilon)
    mean = reduction.mean(t, axis=axes, keepdims=True)
    var = reduction.var(t, axis=axes, keepdims=True, correction=0)
    out = ew.mul(ew.sub(t, mean), ew.rsqrt(ew.add(var, eps)))
    if gamma is not None:
        out = ew.mul(out, _along(t, gamma, axes, "layer_normalization"))
    if beta is not None:
        out = ew.add(out, _along(t, beta, axes, "layer_normalization"))
    return out


def rms_normalization(x, scale=None, axis=-1, epsilon=None) -> Tensor:
    """``x / sqrt(mean(x^2) + epsilon) * scale`` over ``axis`` (epsilon: Keras's epsilon when
    None)."""
    t = to_float(x, "rms_normalization")
    axes = axes_tuple(axis, t.ndim, "rms_normalization")
    eps = config.epsilon() if epsilon is None else float(epsilon)
    ms = reduction.mean(ew.square(t), axis=axes, keepdims=True)
    out = ew.mul(t, ew.rsqrt(ew.add(ms, eps)))
    return out if scale is None else ew.mul(out, _along(t, scale, axes, "rms_normalization"))
