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

The base class the three layers share (checks, weights, masking, states) lives in rnn_base.py.
"""

from __future__ import annotations

import numpy as np

from nerve import activations
from nerve.layers.base import Layer
from nerve.layers.rnn_base import _RNN
from nerve.nn import functional as F
from nerve.primitives import creation, shape

__all__ = ["GRU", "LSTM", "Bidirectional", "SimpleRNN"]


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
