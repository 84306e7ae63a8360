"""Keras-style recurrent layers: SimpleRNN, LSTM, GRU, and the Bidirectional wrapper.

Weights keep Keras's layout and gate order, so ``get_weights``/``set_weights`` exchange arrays
with Keras unchanged: kernel (input_dim, G*units), recurrent_kernel (units, G*units), bias
(G*units,) or, for GRU with reset_after, (2, 3*units) (input bias, recurrent bias). A call
projects every time step at once (one F.linear) and runs one fused sequence op of
nn.functional.recurrent, which takes torch's layout: the kernels are transposed (views) and
GRU's gates reordered from Keras's (z, r, h) to torch's (r, z, n). LSTM's order (i, f, c, o)
is torch's already.

Masks (Keras semantics: a masked step keeps the previous state, and its output repeats the
previous output, zeros before the first unmasked step) have no fused form yet: a masked call runs
the fused op one step at a time and blends with ``where``; numerically identical, slower.
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

__all__ = ["GRU", "LSTM", "Bidirectional", "SimpleRNN"]


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


class SimpleRNN(_RNN):
    """A fully connected RNN: h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias).

    Returns output (N, units) or (N, T, units), and with return_state also h (N, units).
    Weights: kernel (features, units), recurrent_kernel (units, units), bias (units,).

    Args:
        units: the size of the state and of the output.
        activation: 'tanh' (default) or 'relu' (the fused op's two nonlinearities).
        use_bias: learn a bias.
        kernel_initializer: for the input kernel (default 'glorot_uniform').
        recurrent_initializer: for the recurrent kernel (default 'orthogonal').
        bias_initializer: for the bias (default 'zeros').
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Keras regularizers.
        dropout: the fraction of input features dropped while training, one mask per call
            shared by all time steps (as Keras).
        recurrent_dropout: only 0 (NotImplementedError otherwise).
        return_sequences: return the output at every step (N, T, units), not just the last.
        return_state: also return the final state(s).
        go_backwards: process the sequence from its end, and return the output sequence in
            that (reversed) order, as Keras.
        stateful: only False. unroll: accepted for Keras code; no effect.
        zero_output_for_mask: masked steps output zeros instead of repeating the last output
            (Bidirectional sets it when returning sequences, as Keras).

    Call arguments:
        inputs: (N, T, features), batch first.
        mask: (N, T) bool, True for steps to use (taken from the input, e.g. set by
            Embedding(mask_zero=True), when not given).
        training: apply dropout (defaults to the module's training flag).
        initial_state: [h] or h, each (N, units); zeros by default.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.SimpleRNN(4)(nerve.ones(2, 5, 3)).shape
    (2, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._setup(
            units, activation, None, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
            dropout, recurrent_dropout, return_sequences, return_state, go_backwards, stateful,
            unroll, zero_output_for_mask,
        )  # fmt: skip
        self._require("activation", self.activation, (activations.tanh, activations.relu))

    def _cell(self):
        w_hh = self.recurrent_kernel.transpose(0, 1)
        nonlinearity = "relu" if self.activation is activations.relu else "tanh"

        def run(xw, states):
            out, h = F.rnn_sequence(xw, states[0], w_hh, nonlinearity)
            return out, [h]

        return self.kernel.transpose(0, 1), self.bias, run


class LSTM(_RNN):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), as Keras.

    Returns output (N, units) or (N, T, units), and with return_state also h and c.
    Weights: kernel (features, 4*units), recurrent_kernel (units, 4*units), bias (4*units,),
    gates ordered (i, f, c, o).

    Args:
        units: the size of the state and of the output.
        activation: 'tanh' only (NotImplementedError otherwise); recurrent_activation
            'sigmoid' only.
        use_bias: learn a bias.
        kernel_initializer: for the input kernel (default 'glorot_uniform').
        recurrent_initializer: for the recurrent kernel (default 'orthogonal').
        bias_initializer: for the bias (default 'zeros').
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Keras regularizers.
        dropout: the fraction of input features dropped while training, one mask per call
            shared by all time steps (as Keras).
        recurrent_dropout: only 0 (NotImplementedError otherwise).
        return_sequences: return the output at every step (N, T, units), not just the last.
        return_state: also return the final state(s).
        go_backwards: process the sequence from its end, and return the output sequence in
            that (reversed) order, as Keras.
        stateful: only False. unroll: accepted for Keras code; no effect.
        zero_output_for_mask: masked steps output zeros instead of repeating the last output
            (Bidirectional sets it when returning sequences, as Keras).
        unit_forget_bias: start the forget gate's bias at 1 (default True; the
            bias_initializer fills the other gates).

    Call arguments:
        inputs: (N, T, features), batch first.
        mask: (N, T) bool, True for steps to use (taken from the input, e.g. set by
            Embedding(mask_zero=True), when not given).
        training: apply dropout (defaults to the module's training flag).
        initial_state: [h, c], each (N, units); zeros by default.

    >>> import nerve
    >>> from nerve import layers
    >>> lstm = layers.LSTM(4, return_sequences=True, return_state=True)
    >>> out, h, c = lstm(nerve.ones(2, 5, 3))
    >>> out.shape, h.shape, c.shape
    ((2, 5, 4), (2, 4), (2, 4))
    """

    _gates = 4
    _n_states = 2

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._setup(
            units, activation, recurrent_activation, use_bias, kernel_initializer,
            recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
            bias_regularizer, dropout, recurrent_dropout, return_sequences, return_state,
            go_backwards, stateful, unroll, zero_output_for_mask,
        )  # fmt: skip
        self.unit_forget_bias = bool(unit_forget_bias)
        self._require("activation", self.activation, (activations.tanh,))
        self._require("recurrent_activation", self.recurrent_activation, (activations.sigmoid,))

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer

        def forget_one(shape, dtype=None):
            return np.concatenate(
                [init((units,), dtype), np.ones(units, dtype), init((2 * units,), dtype)]
            )

        return forget_one

    def _cell(self):
        w_hh = self.recurrent_kernel.transpose(0, 1)

        def run(xw, states):
            out, h, c = F.lstm_sequence(xw, states[0], states[1], w_hh)
            return out, [h, c]

        return self.kernel.transpose(0, 1), self.bias, run

    def get_config(self) -> dict:
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), as Keras 3 (reset_after=True, whose math is
    torch's GRU: the reset gate multiplies the recurrent projection, bias included).

    Returns output (N, units) or (N, T, units), and with return_state also h.
    Weights: kernel (features, 3*units), recurrent_kernel (units, 3*units), bias (2, 3*units)
    (input bias, recurrent bias), gates ordered (z, r, h) as Keras.

    Args:
        units: the size of the state and of the output.
        activation: 'tanh' only (NotImplementedError otherwise); recurrent_activation
            'sigmoid' only.
        use_bias: learn a bias.
        kernel_initializer: for the input kernel (default 'glorot_uniform').
        recurrent_initializer: for the recurrent kernel (default 'orthogonal').
        bias_initializer: for the bias (default 'zeros').
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Keras regularizers.
        dropout: the fraction of input features dropped while training, one mask per call
            shared by all time steps (as Keras).
        recurrent_dropout: only 0 (NotImplementedError otherwise).
        return_sequences: return the output at every step (N, T, units), not just the last.
        return_state: also return the final state(s).
        go_backwards: process the sequence from its end, and return the output sequence in
            that (reversed) order, as Keras.
        stateful: only False. unroll: accepted for Keras code; no effect.
        zero_output_for_mask: masked steps output zeros instead of repeating the last output
            (Bidirectional sets it when returning sequences, as Keras).
        reset_after: only True (Keras 3's default; False raises NotImplementedError).

    Call arguments:
        inputs: (N, T, features), batch first.
        mask: (N, T) bool, True for steps to use (taken from the input, e.g. set by
            Embedding(mask_zero=True), when not given).
        training: apply dropout (defaults to the module's training flag).
        initial_state: [h] or h, each (N, units); zeros by default.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GRU(4, return_sequences=True)(nerve.ones(2, 5, 3)).shape
    (2, 5, 4)
    """

    _gates = 3

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        reset_after=True,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._setup(
            units, activation, recurrent_activation, use_bias, kernel_initializer,
            recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
            bias_regularizer, dropout, recurrent_dropout, return_sequences, return_state,
            go_backwards, stateful, unroll, zero_output_for_mask,
        )  # fmt: skip
        if not reset_after:
            raise NotImplementedError(
                "GRU: reset_after=False is not supported (the fused GRU op applies the reset "
                "gate after the recurrent projection, as Keras 3's default and torch)"
            )
        self.reset_after = True
        self._require("activation", self.activation, (activations.tanh,))
        self._require("recurrent_activation", self.recurrent_activation, (activations.sigmoid,))

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units)

    def _cell(self):
        # Keras's gate blocks (z, r, h) -> torch's (r, z, n)
        u = self.units
        order = np.concatenate([np.arange(u, 2 * u), np.arange(u), np.arange(2 * u, 3 * u)])
        w_ih = self.kernel.index_select(1, order).transpose(0, 1)
        w_hh = self.recurrent_kernel.index_select(1, order).transpose(0, 1)
        if self.bias is None:
            b_ih, b_hh = None, creation.zeros(3 * u, dtype=self.kernel.dtype)
        else:
            b_ih, b_hh = shape.unbind(self.bias.index_select(1, order), 0)

        def run(xw, states):
            out, h = F.gru_sequence(xw, states[0], w_hh, b_hh)
            return out, [h]

        return w_ih, b_ih, run

    def get_config(self) -> dict:
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


_RECURRENT = {cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU)}


def _serialize(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _deserialize(config: dict) -> Layer:
    cls = _RECURRENT.get(config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"Bidirectional: cannot rebuild a {config.get('class_name')!r} layer; known: "
            f"{sorted(_RECURRENT)}"
        )
    return cls.from_config(dict(config["config"]))


def _removeprefix(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Run a recurrent layer forwards and a copy of it backwards, and merge the two outputs.

    Args:
        layer: a SimpleRNN, LSTM or GRU; the wrapper builds fresh copies of it from its config
            (named 'forward_<name>' and 'backward_<name>'), as Keras does.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None (return both outputs).
        backward_layer: an optional layer to use for the backward direction; it must have the
            opposite go_backwards and the same return_sequences / return_state.

    Call arguments: as the wrapped layer; initial_state lists the forward layer's states, then
    the backward layer's.

    Returns:
        The merged output (the backward sequence flipped back into input order), or a list of
        both with merge_mode None; with return_state, followed by the forward states, then the
        backward states.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Bidirectional(layers.LSTM(4, return_sequences=True))(nerve.ones(2, 5, 3)).shape
    (2, 5, 8)
    """

    _MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        if not isinstance(layer, _RNN):
            raise ValueError(
                f"Bidirectional: layer must be a SimpleRNN, LSTM or GRU instance, got {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, _RNN):
            raise ValueError(
                f"Bidirectional: backward_layer must be a SimpleRNN, LSTM or GRU instance, got "
                f"{backward_layer!r}"
            )
        if merge_mode not in self._MODES:
            raise ValueError(
                f"Bidirectional: merge_mode must be one of {self._MODES}, got {merge_mode!r}"
            )
        super().__init__(**kwargs)
        config = layer.get_config()
        config["name"] = "forward_" + _removeprefix(layer.name, "forward_")
        self.forward_layer = type(layer).from_config(config)
        if backward_layer is None:
            config = layer.get_config()
            config["go_backwards"] = not layer.go_backwards
            config["name"] = "backward_" + _removeprefix(layer.name, "backward_")
            backward_layer = type(layer).from_config(config)
        self.backward_layer = backward_layer
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(
                f"Bidirectional: the forward and backward layers need different go_backwards, "
                f"both have {f.go_backwards}"
            )
        for attr in ("return_sequences", "return_state"):
            if getattr(f, attr) != getattr(b, attr):
                raise ValueError(
                    f"Bidirectional: the forward and backward layers need the same {attr}, got "
                    f"{getattr(f, attr)} and {getattr(b, attr)}"
                )
        for sub in (f, b):  # a masked step of a returned sequence outputs zeros, as Keras
            sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = f.return_sequences
        self.return_state = f.return_state
        self.supports_masking = True

    def build(self, input_shape) -> None:
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(tuple(input_shape))
        self.input_spec = self.forward_layer.input_spec
        self.built = True

    def call(self, inputs, mask=None, training=None, initial_state=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(inputs, mask=mask, training=training, initial_state=forward_state)
        y_rev = self.backward_layer(
            inputs, mask=mask, training=training, initial_state=backward_state
        )
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            out = shape.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            return [y, y_rev, *states]
        return (out, *states) if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self) -> dict:
        config = Layer.get_config(self)
        config.update(
            layer=_serialize(self.forward_layer),
            merge_mode=self.merge_mode,
            backward_layer=_serialize(self.backward_layer),
        )
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"
