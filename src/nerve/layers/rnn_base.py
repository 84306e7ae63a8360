"""What SimpleRNN, LSTM and GRU share (their base class ``_RNN``): argument checks, Keras's weight
layout, masking (a masked step keeps the previous state), initial states, outputs and config.

Each subclass in ``recurrent.py`` gives its gate count and its fused cell op.
"""

from __future__ import annotations

import numpy as np

from nerve import activations, initializers, regularizers
from nerve.autograd.tensor import Tensor
from nerve.layers.base import InputSpec, Layer
from nerve.layers.conv import (
    as_input,
    base_config,
    serialize_activation,
    serialize_initializer,
    serialize_regularizer,
)
from nerve.nn import functional as F
from nerve.primitives import creation, elementwise, shape


class _RNN(Layer):
    """Argument checks, weights, masking and outputs shared by SimpleRNN, LSTM and GRU."""

    _gates = 1
    _n_states = 1

    def _setup(
        self,
        units,
        activation,
        recurrent_activation,
        use_bias,
        kernel_initializer,
        recurrent_initializer,
        bias_initializer,
        kernel_regularizer,
        recurrent_regularizer,
        bias_regularizer,
        dropout,
        recurrent_dropout,
        return_sequences,
        return_state,
        go_backwards,
        stateful,
        unroll,
        zero_output_for_mask,
    ) -> None:
        cls = type(self).__name__
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"{cls}: units must be a positive int, got {units!r}")
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{cls}: dropout must be in [0, 1], got {dropout!r}")
        if recurrent_dropout:
            raise NotImplementedError(
                f"{cls}: recurrent_dropout={recurrent_dropout} is not supported (the fused "
                f"recurrent ops have no dropout on the state); use recurrent_dropout=0"
            )
        if stateful:
            raise NotImplementedError(f"{cls}: stateful=True is not supported")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = (
            None if recurrent_activation is None else activations.get(recurrent_activation)
        )
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = float(dropout)
        self.recurrent_dropout = 0.0
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # a speed hint in Keras; the fused op gives the same numbers
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    def _require(self, what: str, fn, allowed) -> None:
        if all(fn is not a for a in allowed):
            names = " or ".join(repr(a.__name__) for a in allowed)
            raise NotImplementedError(
                f"{type(self).__name__}: {what}={getattr(fn, '__name__', fn)!r} is not "
                f"supported; the fused recurrent op computes {what} {names} only"
            )

    # ------------------------------------------------------------------ weights
    def build(self, input_shape) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a 3-d input (batch, timesteps, "
                f"features) with known features, got shape {tuple(input_shape)}"
            )
        features, gh = int(input_shape[-1]), self._gates * self.units
        self.input_spec = InputSpec(ndim=3, axes={-1: features})
        self.kernel = self.add_weight(
            (features, gh),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            (self.units, gh),
            self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            name="recurrent_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                self._bias_shape(),
                self._bias_init(),
                regularizer=self.bias_regularizer,
                name="bias",
            )
        else:
            self.bias = None
        self.built = True

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    # ------------------------------------------------------------------ calling
    def call(self, inputs, mask=None, training=None, initial_state=None):
        x = as_input(self, inputs)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a 3-d input (batch, timesteps, "
                f"features), got shape {tuple(x.shape)}"
            )
        batch, steps = x.shape[0], x.shape[1]
        states = self._initial_states(initial_state, batch, x.dtype)
        if training and self.dropout > 0:
            # Keras draws one input mask per call and uses it at every time step.
            x = F.dropout1d(x.transpose(1, 2), self.dropout, True).transpose(1, 2)
        m = self._mask(mask, batch, steps)
        xt = x.transpose(0, 1)  # (T, N, F): the fused ops are time-major
        if self.go_backwards:
            xt = xt.flip(0)
            m = None if m is None else m[:, ::-1]
        w_ih, b, run = self._cell()
        xw = F.linear(xt, w_ih, b)
        if m is None:
            outputs, states = run(xw, states)
            last = states[0]
        else:
            outputs, last, states = self._masked(run, xw, states, m)
        out = outputs.transpose(0, 1) if self.return_sequences else last
        return (out, *states) if self.return_state else out

    def _masked(self, run, xw, states, m: np.ndarray):
        """Step by step: a masked step keeps the states, and its output is the previous output
        (zeros before the first unmasked step, or always zeros with zero_output_for_mask)."""
        zeros = creation.zeros(xw.shape[1], self.units, dtype=xw.dtype)
        prev, outs = zeros, []
        for t, xw_t in enumerate(xw.split(1, dim=0)):
            keep = Tensor._wrap(np.ascontiguousarray(m[:, t, None]))
            _, new = run(xw_t, states)
            states = [elementwise.where(keep, a, b) for a, b in zip(new, states)]
            prev = elementwise.where(keep, new[0], zeros if self.zero_output_for_mask else prev)
            outs.append(prev)
        return shape.stack(outs), prev, states

    def _mask(self, mask, batch: int, steps: int):
        """The mask as a (N, T) bool array, or None when there is none or nothing is masked."""
        if mask is None:
            return None
        m = np.asarray(mask._data if isinstance(mask, Tensor) else mask)
        if m.shape != (batch, steps):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: mask of shape {m.shape} does not match "
                f"the input's (batch, timesteps) = ({batch}, {steps})"
            )
        m = m.astype(bool, copy=False)
        return None if m.all() else m

    def _initial_states(self, initial_state, batch: int, dtype) -> list:
        if initial_state is None:
            return [creation.zeros(batch, self.units, dtype=dtype)] * self._n_states
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        cls = type(self).__name__
        if len(given) != self._n_states:
            raise ValueError(
                f"{cls} {self.name!r}: initial_state must hold {self._n_states} tensor(s) "
                f"({'[h, c]' if self._n_states == 2 else '[h]'}), got {len(given)}"
            )
        out = []
        for s in given:
            s = s if isinstance(s, Tensor) else Tensor._wrap(np.asarray(s, dtype=dtype))
            if tuple(s.shape) != (batch, self.units):
                raise ValueError(
                    f"{cls} {self.name!r}: each initial state must have shape "
                    f"(batch, units) = ({batch}, {self.units}), got {tuple(s.shape)}"
                )
            out.append(s)
        return out

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        config = base_config(self)
        config.update(
            units=self.units,
            activation=serialize_activation(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=serialize_initializer(self.kernel_initializer),
            recurrent_initializer=serialize_initializer(self.recurrent_initializer),
            bias_initializer=serialize_initializer(self.bias_initializer),
            kernel_regularizer=serialize_regularizer(self.kernel_regularizer),
            recurrent_regularizer=serialize_regularizer(self.recurrent_regularizer),
            bias_regularizer=serialize_regularizer(self.bias_regularizer),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = serialize_activation(self.recurrent_activation)
        return config

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, units={self.units}, return_sequences={self.return_sequences}"
            + (", go_backwards=True" if self.go_backwards else "")
        )
