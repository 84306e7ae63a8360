"""Transformer encoder (and decoder) layers with PyTorch's arguments and parameter names."""

from __future__ import annotations

import copy

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.device import as_device
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.module import Module
from nerve.nn.modules._factory import built_on_cpu, place
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.container import ModuleList
from nerve.nn.modules.dropout import Dropout
from nerve.nn.modules.linear import Linear
from nerve.nn.modules.normalization import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation):
    if callable(activation):
        return activation
    try:
        return _ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(
            f"activation must be 'relu', 'gelu' or a callable, got {activation!r}"
        ) from None


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual and LayerNorm.

    ``norm_first=False`` (the default, as in torch and the original paper) normalizes after
    each residual; ``norm_first=True`` before each block.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        with built_on_cpu(device) as target:  # built on the CPU, then placed
            self.self_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
            )
            self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
            self.dropout = Dropout(dropout)
            self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
            self.norm_first = norm_first
            self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.dropout1 = Dropout(dropout)
            self.dropout2 = Dropout(dropout)
            self.activation = _activation(activation)
        place(self, target, dtype)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(out)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer``, with an optional final norm."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm=None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool | None = None):
        x = src
        for layer in self.layers:
            x = layer(
                x,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )
        return x if self.norm is None else self.norm(x)


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention over ``memory``, then feed-forward (torch's layout)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        with built_on_cpu(device) as target:  # built on the CPU, then placed
            self.self_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
            )
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
            )
            self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
            self.dropout = Dropout(dropout)
            self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
            self.norm_first = norm_first
            self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.dropout1 = Dropout(dropout)
            self.dropout2 = Dropout(dropout)
            self.dropout3 = Dropout(dropout)
            self.activation = _activation(activation)
        place(self, target, dtype)

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ):
        x = tgt
        if self.norm_first:
            x = x + self._sa(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff(self.norm3(x))
        else:
            x = self.norm1(x + self._sa(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff(x))
        return x

    def _sa(self, x, mask, pad, causal):
        out = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=pad, need_weights=False, is_causal=causal
        )[0]
        return self.dropout1(out)

    def _mha(self, x, mem, mask, pad, causal):
        out = self.multihead_attn(
            x, mem, mem, attn_mask=mask, key_padding_mask=pad, need_weights=False, is_causal=causal
        )[0]
        return self.dropout2(out)

    def _ff(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, with an optional final norm.

    forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False) runs every layer
    on the same ``memory`` (the encoder's output).
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm=None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerDecoder: num_layers must be >= 1, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ):
        x = tgt
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder Transformer (Vaswani et al., 2017) with torch's defaults and layout.

    Args:
        d_model: the embedding size (512).
        nhead: attention heads (8).
        num_encoder_layers, num_decoder_layers: stack depths (6 and 6).
        dim_feedforward: the feed-forward width (2048).
        dropout: the dropout rate everywhere (0.1).
        activation: "relu", "gelu" or a callable.
        custom_encoder, custom_decoder: modules used instead of the default stacks.
        layer_norm_eps: LayerNorm's eps (1e-5).
        batch_first: inputs are (N, S, E) instead of (S, N, E).
        norm_first: pre-norm layers instead of post-norm.
        bias: biases in the linear and norm layers.

    Shape:
        src (S, N, E), tgt (T, N, E) (batch first when asked); output like tgt.

    Raises:
        ValueError: src and tgt differ in batch size, or their feature size is not d_model.

    >>> import nerve
    >>> from nerve import nn
    >>> model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
    ...                        dim_feedforward=32)
    >>> model(nerve.randn(5, 3, 16), nerve.randn(4, 3, 16)).shape
    (4, 3, 16)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        custom_encoder=None,
        custom_decoder=None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        with built_on_cpu(device) as target:  # built on the CPU, then placed
            layer_args = dict(
                dim_feedforward=dim_feedforward,
                dropout=dropout,
                activation=activation,
                layer_norm_eps=layer_norm_eps,
                batch_first=batch_first,
                norm_first=norm_first,
                bias=bias,
            )
            if custom_encoder is not None:
                self.encoder = custom_encoder
            else:
                layer = TransformerEncoderLayer(d_model, nhead, **layer_args)
                norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
                self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
            if custom_decoder is not None:
                self.decoder = custom_decoder
            else:
                layer = TransformerDecoderLayer(d_model, nhead, **layer_args)
                norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
                self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
            self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
            self._reset_parameters()
        place(self, target, dtype)

    def _reset_parameters(self) -> None:
        # torch re-draws every matrix of the whole model with Xavier-uniform
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ):
        batched = src.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise ValueError(
                f"Transformer: the batch number of src and tgt must be equal, got src "
                f"{tuple(src.shape)} and tgt {tuple(tgt.shape)} (batch_first={self.batch_first})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(
                f"Transformer: the feature number of src and tgt must be equal to d_model "
                f"({self.d_model}), got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """A (sz, sz) float mask: 0 on and below the diagonal, -inf above (no peeking ahead).

        >>> Transformer.generate_square_subsequent_mask(3).tolist()
        [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
        """
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
        d = as_device(device)  # None: the default device, as torch
        return Tensor(mask) if d.type == "cpu" else Tensor(mask).to(d)
