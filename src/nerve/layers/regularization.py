"""Keras-style regularization layers: SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout,
AlphaDropout and ActivityRegularization.

The noise layers act only when called with ``training=True`` (``Model.fit`` passes it); otherwise
they return their input unchanged. Every draw goes through nerve's one generator
(``nerve.manual_seed``); ``seed=`` is recorded in the config only, as nerve's Dropout does. The
noise is a constant array, so the math is nerve's ``mul`` / ``add`` (spatial dropout is the
dropout op with a per-channel mask).
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import rng
from nerve.layers.base import InputSpec, Layer
from nerve.layers.conv import data_format_of
from nerve.layers.core import input_mask
from nerve.nn.functional.dropout import Dropout as DropoutFunction
from nerve.primitives.common import as_tensor
from nerve.regularizers import L1L2

__all__ = [
    "ActivityRegularization",
    "AlphaDropout",
    "GaussianDropout",
    "GaussianNoise",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
]

# SELU's constants: AlphaDropout keeps a SELU network's mean and variance.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _rate(value, owner: str, upper_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{owner}: rate must be a number in [0, 1), got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0 or (upper_open and value == 1.0):
        span = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{owner}: rate must be in {span}, got {value}")
    return value


def _float_input(layer: Layer, inputs) -> Tensor:
    x = as_tensor(inputs, layer.name)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{type(layer).__name__} layer {layer.name!r} needs a floating-point input, "
            f"got dtype {x.dtype}"
        )
    return x


class _Noise(Layer):
    """Shared by the noise layers: masks pass through, the identity outside training."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)


# ----------------------------------------------------------------------------- spatial dropout
class _SpatialDropout(_Noise):
    rank = 1

    def __init__(self, rate: float, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        cls = type(self).__name__
        self.rate = _rate(rate, cls)
        self.data_format = data_format_of(data_format, cls)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs, training=None):
        x = _float_input(self, inputs)
        if x.ndim != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: expected a {self.rank + 2}-d input, "
                f"got shape {tuple(x.shape)}"
            )
        if not training or self.rate == 0.0:
            return x
        # One draw per (sample, channel), shared by every position of that channel.
        c = -1 if self.data_format == "channels_last" else 1
        mask_shape = [1] * x.ndim
        mask_shape[0], mask_shape[c] = x.shape[0], x.shape[c]
        return DropoutFunction.apply(x, p=self.rate, mask_shape=tuple(mask_shape))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "seed": self.seed,
            "data_format": self.data_format,
        }


class SpatialDropout1D(_SpatialDropout):
    """Drop whole feature channels of (batch, steps, features) while training.

    Each (sample, feature) is zeroed with probability ``rate`` at every step at once; the rest
    are scaled by 1 / (1 - rate).

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        seed: recorded in the config (draws use nerve's generator).

    >>> import nerve
    >>> from nerve import layers
    >>> y = layers.SpatialDropout1D(0.5)(nerve.ones(2, 4, 8), training=True)
    >>> bool(((y._data == 0).all(axis=1) | (y._data == 2).all(axis=1)).all())
    True
    """

    rank = 1

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(rate, None, seed, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Drop whole channels (feature maps) of images while training.

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        data_format: 'channels_last' (default) or 'channels_first'.
        seed: recorded in the config (draws use nerve's generator).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.SpatialDropout2D(0.5)(nerve.ones(2, 3, 3, 4)).shape  # not training: identity
    (2, 3, 3, 4)
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Drop whole channels of volumes (batch, depth, height, width, channels) while training.

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        data_format: 'channels_last' (default) or 'channels_first'.
        seed: recorded in the config (draws use nerve's generator).
    """

    rank = 3


# ----------------------------------------------------------------------------- Gaussian noise
class GaussianNoise(_Noise):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` while training.

    Args:
        stddev: the noise's standard deviation (>= 0).
        seed: recorded in the config (draws use nerve's generator).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GaussianNoise(0.1)(nerve.ones(2, 3)).tolist()  # not training: identity
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, stddev: float, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.number)):
            raise ValueError(f"GaussianNoise: stddev must be a number >= 0, got {stddev!r}")
        if stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev}")
        self.stddev = float(stddev)

    def call(self, inputs, training=None):
        x = _float_input(self, inputs)
        if not training or self.stddev == 0.0:
            return x
        noise = rng().standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.stddev)
        return x + Tensor._wrap(noise)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiply by Gaussian noise of mean 1 and variance rate / (1 - rate) while training.

    Args:
        rate: the equivalent drop probability, in [0, 1).
        seed: recorded in the config (draws use nerve's generator).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GaussianDropout(0.2)(nerve.ones(1, 2)).tolist()  # not training: identity
    [[1.0, 1.0]]
    """

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "GaussianDropout", upper_open=True)

    def call(self, inputs, training=None):
        x = _float_input(self, inputs)
        if not training or self.rate == 0.0:
            return x
        noise = rng().standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(math.sqrt(self.rate / (1.0 - self.rate)))
        noise += x.dtype.type(1.0)
        return x * Tensor._wrap(noise)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout that keeps a SELU network's mean and variance (Keras's AlphaDropout).

    While training, dropped inputs are set to SELU's negative saturation value
    ``-alpha * scale`` and the result is passed through the affine map ``a * x + b`` chosen so
    that inputs of mean 0 and variance 1 keep them.

    Args:
        rate: the drop probability, in [0, 1).
        noise_shape: the shape of the keep mask, broadcast over the input; None entries take
            the input's size.
        seed: recorded in the config (draws use nerve's generator).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.AlphaDropout(0.1)(nerve.ones(1, 2)).tolist()  # not training: identity
    [[1.0, 1.0]]
    """

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "AlphaDropout", upper_open=True)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _mask_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        noise = self.noise_shape
        ok = len(noise) == len(shape) and all(
            n is None or n == 1 or n == s for n, s in zip(noise, shape)
        )
        if not ok:
            raise ValueError(
                f"AlphaDropout layer {self.name!r}: noise_shape {noise} does not fit an input "
                f"of shape {shape} (one entry per axis, each None, 1 or the input's size)"
            )
        return tuple(s if n is None else int(n) for n, s in zip(noise, shape))

    def call(self, inputs, training=None):
        x = _float_input(self, inputs)
        if not training or self.rate == 0.0:
            return x
        rate, dt = self.rate, x.dtype.type
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - rate) * (1.0 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        keep = rng().random(self._mask_shape(x.shape), dtype=x.dtype) >= dt(rate)
        # a * (x * keep + alpha_p * (1 - keep)) + b == x * (a * keep) + (a * alpha_p * ~keep + b)
        scale = keep.astype(x.dtype) * dt(a)
        shift = (~keep).astype(x.dtype) * dt(a * alpha_p) + dt(b)
        return x * Tensor._wrap(scale) + Tensor._wrap(shift)

    def get_config(self) -> dict:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {
            **super().get_config(),
            "rate": self.rate,
            "seed": self.seed,
            "noise_shape": noise,
        }


# ----------------------------------------------------------------------------- activity penalty
class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x^2)`` of its output to the model's
    losses (``layer.losses``), as Keras's ActivityRegularization.

    Args:
        l1: the L1 factor (>= 0).
        l2: the L2 factor (>= 0).

    >>> import nerve
    >>> from nerve import layers
    >>> layer = layers.ActivityRegularization(l1=0.1)
    >>> layer(nerve.ones(2, 3)).shape
    (2, 3)
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # a saved config carries none (see get_config)
        super().__init__(activity_regularizer=L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True

    def call(self, inputs):
        return as_tensor(inputs, self.name)

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
