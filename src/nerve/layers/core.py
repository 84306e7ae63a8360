"""Keras-style core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Identity.

The math is ops' and nn.functional's (Dense is ``matmul`` + ``add``, Dropout is
``F.dropout``); these classes hold the weights, check what comes in and say what they were
built with (get_config).

Serialization helpers used by every layer family (``serialize_initializer`` and friends) live
here too, so a config stores initializers and regularizers as ``{"class_name", "config"}`` dicts
and activations by name, as Keras does.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from nerve import activations, constraints, initializers, regularizers
from nerve.layers.base import InputSpec, Layer, cast_integers, get_mask
from nerve.nn import functional as F
from nerve.nn.functional.dropout import Dropout as DropoutFunction
from nerve.primitives import shape as shape_ops
from nerve.primitives.common import as_tensor

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "Lambda",
    "Permute",
    "RepeatVector",
    "Reshape",
]


# ----------------------------------------------------------------------------- config helpers
def serialize_initializer(initializer):
    """An initializer as a config dict, or its name when it is a plain function."""
    if isinstance(initializer, initializers.Initializer):
        return initializers.serialize(initializer)
    return _callable_name(initializer)


def serialize_regularizer(regularizer):
    """None, or a regularizer as a config dict (a plain function: its name only)."""
    if regularizer is None:
        return None
    if isinstance(regularizer, regularizers.Regularizer):
        return regularizers.serialize(regularizer)
    return _callable_name(regularizer)


def serialize_activation(activation) -> str:
    """An activation by name ('relu'); a custom function records only its ``__name__``, which
    from_config cannot turn back into code (nerve never deserializes code)."""
    try:
        return activations.serialize(activation)
    except ValueError:
        return _callable_name(activation)


def check_constraint(constraint, owner: str):
    """A weight constraint: None, a callable ``w -> w``, a name ('max_norm') or a config."""
    try:
        return constraints.get(constraint)
    except ValueError as exc:
        raise ValueError(f"{owner}: {exc}") from None


def serialize_constraint(constraint):
    """None, a constraint's config dict if it has get_config, else its name (not restorable)."""
    if constraint is None:
        return None
    if hasattr(constraint, "get_config"):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    return _callable_name(constraint)


def _callable_name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def input_mask(inputs, mask=None):
    """The Keras mask that came with ``inputs`` (for layers that pass their input's mask on).

    Layer.__call__ hands the mask to ``call`` only when ``call`` takes ``mask``; a layer whose
    ``call`` does not still keeps its input's mask through ``compute_mask``.
    """
    if mask is not None:
        return mask
    return get_mask(inputs[0] if isinstance(inputs, (list, tuple)) and inputs else inputs)


def positive_int(value, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive integer, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------- Dense
class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)`` over the last axis.

    The kernel has Keras's layout (input_dim, units), so the product is ``matmul(x, kernel)``
    (on the input flattened to 2-d) plus the bias: as fast as ``nn.Linear``'s ``F.linear``,
    where handing F.linear the transposed kernel costs a copy of its gradient. An input of any
    rank >= 2 is accepted: the last axis is contracted, the others are kept.

    Args:
        units: the size of the output's last axis.
        activation: a name ('relu'), a callable, or None for none (linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: names, Initializers or config dicts
            (Keras's defaults: 'glorot_uniform' and 'zeros').
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties (``layer.losses``).
        kernel_constraint, bias_constraint: callables applied by ``apply_constraints``.

    Shape:
        (batch, ..., input_dim) -> (batch, ..., units).

    Raises:
        ValueError: for a non-positive ``units``, or, once built, an input whose last axis is
            not the ``input_dim`` it was built with.

    >>> import nerve
    >>> from nerve import layers
    >>> layer = layers.Dense(4, activation="relu")
    >>> layer(nerve.ones(2, 3)).shape, layer.kernel.shape
    ((2, 4), (3, 4))
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = positive_int(units, "units", "Dense")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = check_constraint(kernel_constraint, "Dense")
        self.bias_constraint = check_constraint(bias_constraint, "Dense")
        self.supports_masking = True

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense layer {self.name!r} needs an input of shape (batch, ..., input_dim) with "
                f"a known input_dim, got {input_shape}"
            )
        in_dim = int(input_shape[-1])
        self.add_weight(
            shape=(in_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        if self.use_bias:
            self.add_weight(
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        # F.dense: one fused op with the kernel in Keras's (in, units) layout, as fast as
        # nn.Linear (matmul + add was ~10% slower per MLP step: an extra op and a bias unbroadcast).
        out = F.dense(cast_integers(self, as_tensor(inputs, self.name)), self.kernel, self.bias)
        return out if self.activation is activations.linear else self.activation(out)

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": serialize_activation(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "kernel_regularizer": serialize_regularizer(self.kernel_regularizer),
            "bias_regularizer": serialize_regularizer(self.bias_regularizer),
            "activity_regularizer": serialize_regularizer(self.activity_regularizer),
            "kernel_constraint": serialize_constraint(self.kernel_constraint),
            "bias_constraint": serialize_constraint(self.bias_constraint),
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, units={self.units}"


# ----------------------------------------------------------------------------- Activation
class Activation(Layer):
    """Apply an activation function (a name from ``nerve.activations`` or a callable).

    Shape:
        Any; the output has the input's shape.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Activation("relu")(nerve.tensor([[-1.0, 2.0]])).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(as_tensor(inputs, self.name))

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": serialize_activation(self.activation)}


# ----------------------------------------------------------------------------- Dropout
class Dropout(Layer):
    """Zero inputs with probability ``rate`` while training; scale the rest by 1 / (1 - rate).

    Only active when called in training mode (``training=True``, or the layer's ``training``
    flag when ``training`` is not given); otherwise the identity.

    Args:
        rate: the fraction of inputs to drop, in [0, 1].
        noise_shape: the shape of the keep mask, broadcast over the input (e.g.
            ``(batch, 1, features)`` drops the same features at every time step); None entries
            take the input's size.
        seed: recorded in the config only: every draw goes through nerve's one generator, which
            ``nerve.manual_seed`` seeds.

    Shape:
        Any; the output has the input's shape.

    >>> import nerve
    >>> from nerve import layers
    >>> y = layers.Dropout(0.5)(nerve.ones(4, 100), training=True)
    >>> sorted(set(y._data.ravel().tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
            raise ValueError(f"Dropout: rate must be a number in [0, 1], got {rate!r}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs, training=None):
        x = as_tensor(inputs, self.name)
        if not training or self.rate == 0.0:
            return x
        if self.noise_shape is None:
            return F.dropout(x, self.rate, training=True)
        if x.dtype.kind != "f":
            raise TypeError(
                f"Dropout layer {self.name!r} needs a floating-point input, got dtype {x.dtype}"
            )
        return DropoutFunction.apply(x, p=self.rate, mask_shape=self._mask_shape(x.shape))

    def _mask_shape(self, shape: tuple) -> tuple:
        noise = self.noise_shape
        ok = len(noise) == len(shape) and all(
            n is None or n == 1 or n == s for n, s in zip(noise, shape)
        )
        if not ok:
            raise ValueError(
                f"Dropout layer {self.name!r}: noise_shape {noise} does not fit an input of "
                f"shape {shape} (one entry per axis, each None, 1 or the input's size)"
            )
        return tuple(s if n is None else int(n) for n, s in zip(noise, shape))

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


# ----------------------------------------------------------------------------- reshaping
def _data_format(value, owner: str) -> str:
    value = "channels_last" if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{owner}: data_format must be 'channels_last' or 'channels_first', got {value!r}"
        )
    return value


class Flatten(Layer):
    """Flatten every axis but the batch axis: (batch, ...) -> (batch, prod(...)).

    Args:
        data_format: 'channels_last' (the default, also for None) or 'channels_first'. With
            'channels_first' the channels are moved last before flattening, as Keras does, so
            the flattened order is the same whichever layout the data came in.

    Shape:
        (batch, ...) -> (batch, n); a 1-d input becomes (batch, 1).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Flatten()(nerve.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, "Flatten")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        if self.data_format == "channels_first" and x.ndim > 2:
            x = shape_ops.permute(x, (0, *range(2, x.ndim), 1))
        return shape_ops.reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (the batch axis is kept; one -1 is inferred).

    Shape:
        (batch, ...) -> (batch, *target_shape).

    Raises:
        ValueError: for a bad target_shape, or an input whose samples do not have the number of
            elements the target shape needs.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Reshape((3, -1))(nerve.zeros(2, 12)).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (target_shape,)
        target = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in target) > 1 or any(s < 1 and s != -1 for s in target):
            raise ValueError(
                f"Reshape: target_shape {target} needs positive sizes and at most one -1"
            )
        self.target_shape = target
        self.input_spec = InputSpec(min_ndim=1)

    def _output_sample_shape(self, sample_shape: tuple) -> tuple:
        n = math.prod(sample_shape)
        known = math.prod(s for s in self.target_shape if s != -1)
        if -1 in self.target_shape:
            if known == 0 or n % known:
                self._raise_size(sample_shape, n)
            return tuple(n // known if s == -1 else s for s in self.target_shape)
        if known != n:
            self._raise_size(sample_shape, n)
        return self.target_shape

    def _raise_size(self, sample_shape: tuple, n: int):
        raise ValueError(
            f"Reshape layer {self.name!r}: cannot reshape samples of shape {sample_shape} "
            f"({n} elements) into target_shape {self.target_shape} (the batch axis is not part "
            "of target_shape)"
        )

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        return shape_ops.reshape(x, (x.shape[0], *self._output_sample_shape(x.shape[1:])))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permute the non-batch axes: ``dims`` is 1-based as in Keras, ``(2, 1)`` swaps the two
    axes after the batch axis.

    Shape:
        (batch, d1, ..., dn) -> (batch, d_dims[0], ..., d_dims[n-1]).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Permute((2, 1))(nerve.zeros(5, 3, 4)).shape
    (5, 4, 3)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"Permute: dims must be a permutation of 1..{len(dims)} (1-based, the batch "
                f"axis 0 excluded), got {dims}"
            )
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return shape_ops.permute(as_tensor(inputs, self.name), (0, *self.dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeat each sample ``n`` times along a new axis 1: (batch, f) -> (batch, n, f).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.RepeatVector(3)(nerve.zeros(2, 5)).shape
    (2, 3, 5)
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(n, "n", "RepeatVector")
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        x = shape_ops.unsqueeze(as_tensor(inputs, self.name), 1)
        # A real copy, not a broadcast view: later layers may write into their inputs' arrays.
        return shape_ops.repeat(x, (1, self.n, 1))

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


# ----------------------------------------------------------------------------- Lambda, Identity
class Lambda(Layer):
    """Wrap a function of tensors as a layer: ``Lambda(lambda x: x * 2)``.

    The function is called as ``function(inputs, **arguments)``, with ``mask=`` and
    ``training=`` added when its signature takes them.

    Args:
        function: the callable.
        output_shape: recorded for the config (nerve runs the function to learn shapes).
        mask: the output's mask: None (no mask), a fixed mask, or ``mask(inputs, input_mask)``.
        arguments: extra keyword arguments for ``function``.

    get_config records only the function's ``__name__`` (and ``'<lambda>'`` for a lambda):
    nerve never serializes or evaluates code, so ``from_config`` needs the function back through
    ``custom_objects={name: function}``.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Lambda(lambda x: x * 2)(nerve.ones(1, 2)).tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        self.function = function
        # not output_shape: the functional API records the inferred shape under that name
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        params = inspect.signature(function).parameters
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params
        self.supports_masking = True

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self) -> dict:
        shape = self._output_shape
        if callable(shape):
            shape = _callable_name(shape)
        elif shape is not None:
            shape = list(shape)
        mask = _callable_name(self.mask) if callable(self.mask) else None
        return {
            **super().get_config(),
            "function": _callable_name(self.function),
            "output_shape": shape,
            "mask": mask,
            "arguments": dict(self.arguments),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        """Rebuild from a config; the function (and a mask function) by name from
        ``custom_objects``, since a config holds only names, never code."""
        config = dict(config)
        objects = dict(custom_objects or {})
        for key in ("function", "mask", "output_shape"):
            value = config.get(key)
            if isinstance(value, str):
                if value not in objects:
                    raise ValueError(
                        f"Lambda.from_config: the config records only the name {value!r} of "
                        f"its {key} (nerve never deserializes code); pass "
                        f"custom_objects={{{value!r}: <the callable>}}"
                    )
                config[key] = objects[value]
        return cls(**config)


class Identity(Layer):
    """Return the input unchanged (and keep its mask).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Identity()(nerve.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)
