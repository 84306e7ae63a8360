"""Keras-style MultiHeadAttention (Vaswani et al., 2017) over F.scaled_dot_product_attention.

Weights keep Keras's shapes (query kernel (dim, num_heads, key_dim), ...), so
``get_weights``/``set_weights`` exchange arrays with Keras unchanged. Each projection is one
F.linear over a reshaped view of its kernel; the attention itself is the fused op, or, when the
scores are asked for, the same math written with matmul and softmax.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.initializers import get as get_initializer
from nerve.layers.base import InputSpec, Layer, get_mask
from nerve.layers.conv import base_config, serialize_initializer, serialize_regularizer
from nerve.nn import functional as F
from nerve.primitives import indexing, linalg, reduction
from nerve.primitives.common import as_tensor
from nerve.regularizers import get as get_regularizer

__all__ = ["MultiHeadAttention"]


def _bool_mask(mask) -> np.ndarray | None:
    if mask is None:
        return None
    return np.asarray(mask._data if isinstance(mask, Tensor) else mask).astype(bool, copy=False)


class MultiHeadAttention(Layer):
    """Multi-head attention, as Keras: ``layer(query, value, key=None, ...)``.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default key_dim).
        dropout: the dropout rate on the attention weights while training.
        use_bias: learn biases for the four projections.
        output_shape: the size (an int or a tuple) of the last output dims; default the
            query's last dim.
        attention_axes: only None (attention over the time axis of (batch, time, features)
            inputs); other values raise NotImplementedError.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer: Keras initializers and regularizers for all four projections.

    Call arguments:
        query: (N, T, dim). value: (N, S, dim_v). key: (N, S, dim_k), default value.
        attention_mask: bool, broadcastable to (N, T, S); True lets a query attend to a key.
        query_mask, value_mask, key_mask: (N, T) / (N, S) bool masks; taken from the inputs
            (e.g. set by Embedding(mask_zero=True)) when not given, and combined with
            attention_mask as Keras does.
        return_attention_scores: also return the attention weights (N, num_heads, T, S).
        training: apply dropout (defaults to the module's training flag).
        use_causal_mask: query i attends to keys 0..i only.

    A query whose keys are all masked gets zero attention weights and a zero attention output
    (the output projection's bias alone), as Keras's masked softmax gives. (Keras 3.15's fused
    path, taken without dropout and scores, gives such a query uniform weights instead.)

    Shape:
        Weights: query kernel (dim, heads, key_dim) and bias (heads, key_dim); key kernel
        (dim_k, heads, key_dim) and bias; value kernel (dim_v, heads, value_dim) and bias;
        output kernel (heads, value_dim, *output_shape) and bias (*output_shape,).
        Output: (N, T, *output_shape).

    >>> import nerve
    >>> from nerve import layers
    >>> mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = nerve.randn(3, 5, 8)
    >>> mha(x, x, use_causal_mask=True).shape
    (3, 5, 8)
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, v in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim)):
            if v is not None and (
                not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1
            ):
                raise ValueError(f"MultiHeadAttention: {name} must be a positive int, got {v!r}")
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1], got {dropout!r}")
        if attention_axes is not None:
            raise NotImplementedError(
                f"MultiHeadAttention: attention_axes={attention_axes!r} is not supported; only "
                f"None (attention over the time axis of 3-d inputs)"
            )
        if output_shape is not None:
            shape = (output_shape,) if isinstance(output_shape, (int, np.integer)) else output_shape
            if not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
                raise ValueError(
                    f"MultiHeadAttention: output_shape must be a positive int or a tuple of "
                    f"them, got {output_shape!r}"
                )
            output_shape = tuple(int(s) for s in shape)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self._output_shape = output_shape  # (Layer's output_shape is the traced one)
        self.attention_axes = None
        self.kernel_initializer = get_initializer(kernel_initializer)
        self.bias_initializer = get_initializer(bias_initializer)
        self.kernel_regularizer = get_regularizer(kernel_regularizer)
        self.bias_regularizer = get_regularizer(bias_regularizer)
        self.supports_masking = True

    # ------------------------------------------------------------------ building
    def build(self, query_shape, value_shape=None, key_shape=None) -> None:
        """Make the weights for these input shapes. Layer.__call__ builds from the query alone;
        then the weights wait for ``call``, which sees the value and key too."""
        if value_shape is None:
            return
        key_shape = value_shape if key_shape is None else key_shape
        for what, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(s) != 3 or s[-1] is None:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: {what} must be 3-d (batch, time, "
                    f"features) with known features, got shape {tuple(s)}"
                )
        h = self.num_heads
        dims = [int(query_shape[-1]), int(key_shape[-1]), int(value_shape[-1])]
        self._dims = dict(zip(("query", "key", "value"), dims))
        out = self._output_shape or (dims[0],)
        heads = {"query": self.key_dim, "key": self.key_dim, "value": self.value_dim}
        for part in ("query", "key", "value"):
            self._projection(part, (self._dims[part], h, heads[part]), (h, heads[part]))
        self._projection("output", (h, self.value_dim, *out), out)
        self.input_spec = InputSpec(ndim=3, axes={-1: dims[0]})
        self.built = True

    def _projection(self, part: str, kernel_shape: tuple, bias_shape: tuple) -> None:
        self.add_weight(
            kernel_shape,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name=f"{part}_kernel",
        )
        if self.use_bias:
            self.add_weight(
                bias_shape,
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                name=f"{part}_bias",
            )

    # ------------------------------------------------------------------ calling
    def _project(self, x: Tensor, part: str) -> Tensor:
        """(N, L, dim) @ kernel (dim, heads, size) + bias -> (N, heads, L, size)."""
        kernel = self._parameters[f"{part}_kernel"]
        dim, heads, size = kernel.shape
        if x.shape[-1] != dim:
            raise ValueError(
                f"Input to layer {self.name!r} (MultiHeadAttention) is incompatible: {part} "
                f"must have {dim} features (expected shape (None, None, {dim})), got "
                f"{tuple(x.shape)}"
            )
        bias = self._parameters.get(f"{part}_bias")
        w = kernel.reshape(dim, heads * size).transpose(0, 1)
        y = F.linear(x, w, None if bias is None else bias.reshape(heads * size))
        return y.reshape(x.shape[0], x.shape[1], heads, size).transpose(1, 2)

    def _attention_mask(self, query, value, key, masks, attention_mask, use_causal_mask):
        """Keras's combination of the masks as one bool (N or 1, 1, T, S) array, or None."""
        t, s = query.shape[1], value.shape[1]
        q_mask, v_mask, k_mask = masks
        mask = None

        def both(a, b):
            return b if a is None else a & b

        if q_mask is not None:
            mask = q_mask[:, :, None]
        for m in (v_mask, k_mask):
            if m is not None:
                mask = both(mask, m[:, None, :])
        if use_causal_mask:
            mask = both(mask, np.tri(t, s, dtype=bool)[None])
        if attention_mask is not None:
            a = _bool_mask(attention_mask)
            try:
                np.broadcast_shapes(a.shape, (query.shape[0], t, s))
            except ValueError:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: attention_mask of shape {a.shape} does "
                    f"not broadcast to (batch, query time, key time) = ({query.shape[0]}, {t}, "
                    f"{s})"
                ) from None
            mask = both(mask, a)
        return None if mask is None else mask[..., None, :, :]  # a heads axis

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores: bool = False,
        training=None,
        use_causal_mask: bool = False,
    ):
        query, value = as_tensor(query, self.name), as_tensor(value, self.name)
        key = value if key is None else as_tensor(key, self.name)
        for what, t in (("query", query), ("value", value), ("key", key)):
            if t.ndim != 3:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: {what} must be 3-d (batch, time, "
                    f"features), got shape {tuple(t.shape)}"
                )
        if key.shape[:2] != value.shape[:2] or query.shape[0] != value.shape[0]:
            raise ValueError(
                f"MultiHeadAttention {self.name!r}: query {tuple(query.shape)}, value "
                f"{tuple(value.shape)} and key {tuple(key.shape)} must share the batch size, and "
                f"key and value the time steps"
            )
        masks = [
            _bool_mask(m if m is not None else get_mask(t))
            for m, t in ((query_mask, query), (value_mask, value), (key_mask, key))
        ]
        if "query_kernel" not in self._parameters:
            self.build(query.shape, value.shape, key.shape)
        mask = self._attention_mask(query, value, key, masks, attention_mask, use_causal_mask)
        q = self._project(query, "query")
        v = self._project(value, "value")
        k = self._project(key, "key")
        p = self.dropout if training else 0.0
        if return_attention_scores:
            scale = q.dtype.type(1 / math.sqrt(self.key_dim))
            scores = linalg.matmul(q * scale, k.transpose(-2, -1))
            if mask is not None:  # Keras's masked softmax: -1e9, then zeros where masked
                hidden = Tensor._wrap(~mask)
                big = q.dtype.type(-3e4 if q.dtype == np.float16 else -1e9)
                scores = indexing.masked_fill(scores, hidden, big)
            weights = reduction.softmax(scores, -1)
            if mask is not None and not mask.any(axis=-1).all():
                weights = indexing.masked_fill(weights, hidden, q.dtype.type(0))
            out = linalg.matmul(F.dropout(weights, p, True) if p else weights, v)
        else:  # a fully masked query gets zeros here too
            attn_mask = None if mask is None else Tensor._wrap(mask)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)
        n, t = query.shape[0], query.shape[1]
        out = out.transpose(1, 2).reshape(n, t, self.num_heads * self.value_dim)
        kernel = self._parameters["output_kernel"]
        out_shape = kernel.shape[2:]
        w = kernel.reshape(self.num_heads * self.value_dim, -1).transpose(0, 1)
        bias = self._parameters.get("output_bias")
        out = F.linear(out, w, None if bias is None else bias.reshape(-1))
        if len(out_shape) > 1:
            out = out.reshape(n, t, *out_shape)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return get_mask(inputs)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        config = base_config(self)
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            value_dim=self.value_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            output_shape=None if self._output_shape is None else list(self._output_shape),
            attention_axes=self.attention_axes,
            kernel_initializer=serialize_initializer(self.kernel_initializer),
            bias_initializer=serialize_initializer(self.bias_initializer),
            kernel_regularizer=serialize_regularizer(self.kernel_regularizer),
            bias_regularizer=serialize_regularizer(self.bias_regularizer),
        )
        return config

    def extra_repr(self) -> str:
        return f"name={self.name!r}, num_heads={self.num_heads}, key_dim={self.key_dim}"
