"""Single-step recurrent cells RNNCell, LSTMCell, GRUCell with PyTorch's arguments, parameter
names (weight_ih, weight_hh, bias_ih, bias_hh), gate orders and outputs.

One step is the layers' fused sequence op run over a sequence of length 1, so a cell and a
one-step RNN/LSTM/GRU share their math and their hand-written backward.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.module import Module
from nerve.nn.modules._factory import place
from nerve.nn.parameter import Parameter
from nerve.primitives import creation


class _CellBase(Module):
    _gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        cls = type(self).__name__
        if input_size <= 0 or hidden_size <= 0:
            raise ValueError(
                f"{cls}: input_size and hidden_size must be positive, got {input_size}, "
                f"{hidden_size}"
            )
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gh = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((gh, input_size), np.float32))
        self.weight_hh = Parameter(np.empty((gh, hidden_size), np.float32))
        if bias:
            self.bias_ih = Parameter(np.empty(gh, np.float32))
            self.bias_hh = Parameter(np.empty(gh, np.float32))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)  # torch: every weight U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _input(self, x):
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}(input_size={self.input_size}) expects input of shape "
                f"(N, {self.input_size}) or ({self.input_size},), got {tuple(x.shape)}"
            )
        return x.unsqueeze(0) if x.ndim == 1 else x

    def _state(self, h, batch: int, unbatched: bool, what: str, x):
        if h is None:  # zeros of x's dtype, made where x lives
            return creation.zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
        expected = (self.hidden_size,) if unbatched else (batch, self.hidden_size)
        if tuple(h.shape) != expected:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {expected}, got {tuple(h.shape)}"
            )
        return h.unsqueeze(0) if unbatched else h

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    """One Elman step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    Shape:
        input (N, input_size) or (input_size,); hx like the output, zeros when None;
        output (N, hidden_size) or (hidden_size,).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        unbatched = input.ndim == 1
        x = self._input(input)
        h = self._state(hx, x.shape[0], unbatched, "hx", x)
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        xw = F.linear(x, self.weight_ih, b).unsqueeze(0)
        _, h = F.rnn_sequence(xw, h, self.weight_hh, self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step, gates in torch's order (input, forget, cell, output).

    Shape:
        input (N, input_size) or (input_size,); hx a tuple (h, c), zeros when None;
        returns (h', c'), each (N, hidden_size) or (hidden_size,).

    >>> import nerve
    >>> from nerve import nn
    >>> h, c = nn.LSTMCell(10, 20)(nerve.randn(3, 10))
    >>> h.shape, c.shape
    ((3, 20), (3, 20))
    """

    _gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        unbatched = input.ndim == 1
        x = self._input(input)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise ValueError("LSTMCell: hx must be a tuple (h_0, c_0)")
        h0, c0 = (None, None) if hx is None else hx
        h = self._state(h0, x.shape[0], unbatched, "h_0", x)
        c = self._state(c0, x.shape[0], unbatched, "c_0", x)
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        xw = F.linear(x, self.weight_ih, b).unsqueeze(0)
        _, h, c = F.lstm_sequence(xw, h, c, self.weight_hh)
        if unbatched:
            return h.squeeze(0), c.squeeze(0)
        return h, c


class GRUCell(_CellBase):
    """One GRU step, torch's formulation and gate order (reset, update, new).

    Shape:
        input (N, input_size) or (input_size,); hx (N, hidden_size), zeros when None;
        output like hx.
    """

    _gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        unbatched = input.ndim == 1
        x = self._input(input)
        h = self._state(hx, x.shape[0], unbatched, "hx", x)
        xw = F.linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)
        b_hh = self.bias_hh
        if b_hh is None:
            b_hh = creation.zeros(3 * self.hidden_size, dtype=x.dtype, device=x.device)
        _, h = F.gru_sequence(xw, h, self.weight_hh, b_hh)
        return h.squeeze(0) if unbatched else h
