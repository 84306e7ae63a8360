"""Recurrent layers RNN, LSTM, GRU with PyTorch's arguments, parameter names and outputs.

Each layer-direction is one input projection (a single matmul over all time steps) followed by
one fused sequence op from nn.functional.recurrent.

A PackedSequence input runs padded (T, B, *) in its sorted order with the fused ops'
``batch_sizes``: a sequence's state stops at its own last step, and the reverse direction reads
each sequence backwards from its own end (a per-sequence reversal, one gather).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.module import Module
from nerve.nn.modules._factory import place
from nerve.nn.parameter import Parameter
from nerve.nn.utils.rnn import PackedSequence, lengths_of, packed_positions, padded_positions
from nerve.primitives import creation, shape


class _RNNBase(Module):
    _gates = 1
    _mode = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        device=None,
        dtype=None,
    ):
        super().__init__()
        cls = type(self).__name__
        if hidden_size <= 0 or input_size <= 0 or num_layers <= 0:
            raise ValueError(
                f"{cls}: input_size, hidden_size and num_layers must be positive, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(f"{cls}: dropout must be in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        gh = self._gates * hidden_size
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                name = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{name}", Parameter(np.empty((gh, layer_in), np.float32)))
                setattr(
                    self, f"weight_hh_{name}", Parameter(np.empty((gh, hidden_size), np.float32))
                )
                if bias:
                    setattr(self, f"bias_ih_{name}", Parameter(np.empty(gh, np.float32)))
                    setattr(self, f"bias_hh_{name}", Parameter(np.empty(gh, np.float32)))
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)  # torch: every weight U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """torch's cuDNN weight-packing call: a no-op here (the weights are used as they are)."""

    def _state_shape(self, batch: int) -> tuple:
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def _check_state(self, h, batch: int, what: str):
        expected = self._state_shape(batch)
        if tuple(h.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {expected}, got {tuple(h.shape)}"
            )

    def forward(self, x, hx=None):
        """Run the layers over a sequence.

        Args:
            x: (L, N, H_in) (batch first: (N, L, H_in)), unbatched (L, H_in), or a
                PackedSequence.
            hx: the initial states ((h_0, c_0) for LSTM), zeros when None.

        Returns:
            (output, h_n) (LSTM: (output, (h_n, c_n))); output is a PackedSequence when x is.

        Raises:
            ValueError: the input or state shapes do not fit the layer.
        """
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, hx)
        cls = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{cls}(input_size={self.input_size}) expects input of shape "
                f"({'N, L' if self.batch_first else 'L, N'}, {self.input_size}) or "
                f"(L, {self.input_size}), got {tuple(x.shape)}"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        batch = x.shape[1]
        h0, c0 = self._initial_states(hx, batch, unbatched, x)
        output, h_n, c_n = self._layers(x, h0, c0)
        if unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (h_n if c_n is None else (h_n, c_n))

    def _layers(self, x, h0, c0, packing=None):
        """Every layer and direction over time-major ``x``; returns (output, h_n, c_n)."""
        h_n, c_n = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                c = None if c0 is None else c0[k]
                out, h, c = self._run(layer_input, layer, d, h0[k], c, packing)
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if len(outputs) == 1 else shape.cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        c_n = shape.stack(c_n) if c0 is not None else None
        return layer_input, shape.stack(h_n), c_n

    def _forward_packed(self, packed: PackedSequence, hx):
        """forward() of a PackedSequence: pad (sorted order), run, pack the output again."""
        data = packed.data
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}(input_size={self.input_size}) expects packed data of "
                f"shape (steps, {self.input_size}), got {tuple(data.shape)}"
            )
        sizes = np.asarray(packed.batch_sizes._data, dtype=np.int64)
        batch = int(sizes[0])
        lengths = lengths_of(sizes)
        # per-sequence time reversal: step t of sequence b reads step len_b - 1 - t (its own
        # end first); padding steps stay where they are, after the real ones
        t = np.arange(sizes.size)[:, None]
        reverse = np.where(t < lengths[None], lengths[None] - 1 - t, t)
        packing = (sizes, reverse, np.arange(batch)[None])
        zero = creation.zeros((1, self.input_size), dtype=data.dtype, device=data.device)
        x = shape.cat([data, zero], dim=0)[padded_positions(sizes)]
        sorted_idx, unsorted_idx = packed.sorted_indices, packed.unsorted_indices
        if hx is not None and sorted_idx is not None:  # hx is in the caller's batch order
            hx = (
                tuple(h.index_select(1, sorted_idx) for h in hx)
                if self._mode == "LSTM"
                else (hx.index_select(1, sorted_idx))
            )
        h0, c0 = self._initial_states(hx, batch, False, x)
        output, h_n, c_n = self._layers(x, h0, c0, packing)
        out_data = output[packed_positions(sizes)]
        if unsorted_idx is not None:
            h_n = h_n.index_select(1, unsorted_idx)
            c_n = c_n.index_select(1, unsorted_idx) if c_n is not None else None
        out = PackedSequence(out_data, packed.batch_sizes, sorted_idx, unsorted_idx)
        return out, (h_n if c_n is None else (h_n, c_n))

    def _initial_states(self, hx, batch, unbatched, x):
        if hx is None:  # zeros of x's dtype, made where x lives
            zeros = creation.zeros(self._state_shape(batch), dtype=x.dtype, device=x.device)
            return (zeros, zeros) if self._mode == "LSTM" else (zeros, None)
        if self._mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError("LSTM: hx must be a tuple (h_0, c_0)")
            h0, c0 = hx
            if unbatched:
                h0, c0 = h0.unsqueeze(1), c0.unsqueeze(1)
            self._check_state(h0, batch, "h_0")
            self._check_state(c0, batch, "c_0")
            return h0, c0
        if unbatched:
            hx = hx.unsqueeze(1)
        self._check_state(hx, batch, "h_0")
        return hx, None

    def _weights(self, layer: int, direction: int):
        name = f"l{layer}{'_reverse' if direction else ''}"
        w_ih = getattr(self, f"weight_ih_{name}")
        w_hh = getattr(self, f"weight_hh_{name}")
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, f"bias_ih_{name}"), getattr(self, f"bias_hh_{name}")

    def _run(self, x: Tensor, layer: int, direction: int, h0, c0, packing=None):
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


def _reverse(x: Tensor, direction: int, packing) -> Tensor:
    """``x`` reversed in time for the backward direction (each sequence within its own length
    when packed); the same call undoes it."""
    if not direction:
        return x
    if packing is None:
        return x.flip(0)
    _, steps, cols = packing
    return x[steps, cols]


def _project(x: Tensor, w_ih, bias, direction: int, packing) -> Tensor:
    """x W_ih^T + bias for every step at once, reversed in time for the backward direction."""
    return F.linear(_reverse(x, direction, packing), w_ih, bias)


def _sizes(packing):
    return None if packing is None else packing[0]


class RNN(_RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    Returns (output, h_n): output (L, N, D*H) (batch first if asked), h_n (D*num_layers, N, H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def _run(self, x, layer, direction, h0, c0, packing=None):
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
        xw = _project(x, w_ih, None if b_ih is None else b_ih + b_hh, direction, packing)
        out, h = F.rnn_sequence(xw, h0, w_hh, self.nonlinearity, batch_sizes=_sizes(packing))
        return _reverse(out, direction, packing), h, None


class LSTM(_RNNBase):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), torch's gate order i, f, g, o.

    Returns (output, (h_n, c_n)).

    >>> import nerve
    >>> from nerve import nn
    >>> out, (h, c) = nn.LSTM(28, 64, batch_first=True)(nerve.randn(8, 28, 28))
    >>> out.shape, h.shape
    ((8, 28, 64), (1, 8, 64))
    """

    _gates = 4
    _mode = "LSTM"

    def _run(self, x, layer, direction, h0, c0, packing=None):
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
        xw = _project(x, w_ih, None if b_ih is None else b_ih + b_hh, direction, packing)
        out, h, c = F.lstm_sequence(xw, h0, c0, w_hh, batch_sizes=_sizes(packing))
        return _reverse(out, direction, packing), h, c


class GRU(_RNNBase):
    """Gated recurrent unit (Cho et al., 2014), torch's formulation and gate order r, z, n.

    Returns (output, h_n).
    """

    _gates = 3
    _mode = "GRU"

    def _run(self, x, layer, direction, h0, c0, packing=None):
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, direction)
        xw = _project(x, w_ih, b_ih, direction, packing)
        if b_hh is None:
            b_hh = creation.zeros(3 * self.hidden_size, dtype=x.dtype, device=x.device)
        out, h = F.gru_sequence(xw, h0, w_hh, b_hh, batch_sizes=_sizes(packing))
        return _reverse(out, direction, packing), h, None
