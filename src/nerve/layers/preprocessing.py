"""Keras preprocessing layers: Rescaling, Normalization, and image augmentation (RandomFlip,
RandomRotation, RandomTranslation, RandomZoom, RandomContrast, RandomBrightness, RandomCrop),
channels_last by default.

Rescaling and Normalization are ordinary differentiable ops. The random layers act only when
training (``Model.fit``, or ``training=True``) and are the identity otherwise; their
geometry is nerve.data's: per-sample 3x3 matrices resampled in one vectorized pass
(:func:`nerve.data.affine.warp`). They sit at a model's input, so they pass no gradient: an
input that requires one is refused while training. ``seed=`` gives a layer its own
generator; without it the layer draws from nerve's (``nerve.manual_seed``).
"""

from __future__ import annotations

import numbers

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data import affine
from nerve.data.random import current
from nerve.layers.base import Layer
from nerve.layers.resizing import crop_box, resize_weights
from nerve.primitives import elementwise
from nerve.primitives.common import as_tensor

__all__ = [
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
]

_EPSILON = 1e-7  # keras.backend.epsilon(), the floor of Normalization's standard deviation


def _float_input(inputs, name: str) -> Tensor:
    x = as_tensor(inputs, name)
    return x if x.dtype.kind == "f" else elementwise.cast(x, np.float32)


class Rescaling(Layer):
    """``inputs * scale + offset``, e.g. ``Rescaling(1 / 255)`` for [0, 255] -> [0, 1].

    Args:
        scale: a number, or one per channel (broadcast against the last axis).
        offset: a number, or one per channel.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Rescaling(1 / 127.5, offset=-1)(nerve.tensor([0, 255])).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self._scale = np.asarray(scale, dtype=np.float32)
        self._offset = np.asarray(offset, dtype=np.float32)

    def call(self, inputs):
        x = _float_input(inputs, self.name)
        return x * Tensor._wrap(self._scale) + Tensor._wrap(self._offset)

    def get_config(self) -> dict:
        scale, offset = (
            v.tolist() if isinstance(v, np.ndarray) else v for v in (self.scale, self.offset)
        )
        return {**super().get_config(), "scale": scale, "offset": offset}


class Normalization(Layer):
    """``(inputs - mean) / sqrt(variance)``, per position of ``axis``, as Keras's layer.

    Give ``mean`` and ``variance``, or call :meth:`adapt` on data to compute them. The standard
    deviation is floored at 1e-7. ``invert=True`` maps normalized values back.

    Args:
        axis: the axis (or axes) that keep their own statistics; -1: one per channel (last
            axis); None: one mean and variance for everything.
        mean, variance: the statistics, broadcast against the kept axes.
        invert: apply the inverse map, ``mean + inputs * sqrt(variance)``.

    >>> import numpy as np
    >>> from nerve import layers
    >>> norm = layers.Normalization()
    >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> norm(np.array([[1.0, 20.0]])).tolist()
    [[0.0, 0.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization {self.name!r}: give both mean and variance, or neither (and "
                f"call adapt), got mean={mean!r}, variance={variance!r}"
            )
        if axis is None:
            self.axis = ()
        elif isinstance(axis, numbers.Integral):
            self.axis = (int(axis),)
        else:
            self.axis = tuple(int(a) for a in axis)
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.adapted = False

    def build(self, input_shape) -> None:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(
                f"Normalization {self.name!r}: axis {self.axis} is out of range for inputs of "
                f"shape {tuple(input_shape)}"
            )
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[a] is None for a in self._keep):
            raise ValueError(
                f"Normalization {self.name!r}: the kept axes {self._keep} need known sizes, "
                f"got input shape {tuple(input_shape)}"
            )
        self._ndim = ndim
        self._build_shape = tuple(input_shape)
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.mean = self.add_weight(shape=shape, initializer="zeros", trainable=False)
            self.variance = self.add_weight(shape=shape, initializer="ones", trainable=False)
            # Keras keeps an unused int count weight (for old files): kept so that the weights
            # line up with Keras's, e.g. in set_weights(keras_model.get_weights()).
            self.count = self.add_weight(
                shape=(), initializer="zeros", dtype="int32", trainable=False
            )
        else:
            self._stats = tuple(
                self._fixed(v, input_shape) for v in (self.input_mean, self.input_variance)
            )
        self.built = True

    def _fixed(self, value, input_shape) -> np.ndarray:
        v = np.asarray(value._data if isinstance(value, Tensor) else value, dtype=np.float32)
        if v.ndim == 0:
            return np.broadcast_to(v, self._broadcast).copy()
        expanded = [1] * self._ndim  # align the statistics' axes with the kept axes, from the right
        if v.ndim > len(self._keep):
            raise ValueError(
                f"Normalization {self.name!r}: mean/variance of shape {v.shape} do not fit the "
                f"kept axes {self._keep} of inputs shaped {tuple(input_shape)}"
            )
        for i in range(1, v.ndim + 1):
            expanded[self._keep[-i]] = v.shape[-i]
        try:
            return np.broadcast_to(v.reshape(expanded), self._broadcast).copy()
        except ValueError:
            raise ValueError(
                f"Normalization {self.name!r}: mean/variance of shape {v.shape} do not "
                f"broadcast to {self._broadcast}"
            ) from None

    def adapt(self, data) -> None:
        """Compute the mean and variance over every axis but ``axis``.

        ``data``: an array or Tensor, or an iterable of batches (arrays, or ``(x, y)`` pairs
        such as a DataLoader yields).
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization {self.name!r} was given mean and variance; adapt would "
                f"overwrite them"
            )
        if isinstance(data, (np.ndarray, Tensor)):
            batches = [data]
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(
                f"Normalization.adapt expects an array, a Tensor or an iterable of batches, got "
                f"{type(data).__name__}"
            )
        count, total, total_sq = 0, 0.0, 0.0
        for batch in batches:
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            x = np.asarray(batch._data if isinstance(batch, Tensor) else batch, dtype=np.float64)
            if not self.built:
                self.build(x.shape)
                self.built = True
            elif x.ndim != self._ndim or any(
                x.shape[d] != self._build_shape[d] for d in self._keep
            ):
                raise ValueError(
                    f"Normalization {self.name!r}: adapt got a batch of shape {x.shape}, the "
                    f"layer was built for {self._build_shape} (axis {self.axis})"
                )
            reduce = tuple(d for d in range(x.ndim) if d not in self._keep)
            count += int(np.prod([x.shape[d] for d in reduce]))
            total = total + x.sum(axis=reduce)
            total_sq = total_sq + np.square(x).sum(axis=reduce)
        if count == 0:
            raise ValueError(f"Normalization {self.name!r}: adapt received no data")
        mean = total / count
        variance = np.maximum(total_sq / count - np.square(mean), 0.0)
        self.mean._data[...] = mean.astype(np.float32)
        self.variance._data[...] = variance.astype(np.float32)
        self.adapted = True

    def _statistics(self) -> tuple[np.ndarray, np.ndarray]:
        if self.input_mean is not None:
            return self._stats
        return (
            self.mean._data.reshape(self._broadcast),
            self.variance._data.reshape(self._broadcast),
        )

    def call(self, inputs):
        x = _float_input(inputs, self.name)
        mean, variance = self._statistics()
        std = np.maximum(np.sqrt(variance), np.float32(_EPSILON))
        if self.invert:
            return x * Tensor._wrap(std) + Tensor._wrap(mean)
        return (x - Tensor._wrap(mean)) / Tensor._wrap(std)

    def get_config(self) -> dict:
        axis = None if not self.axis else (self.axis[0] if len(self.axis) == 1 else list(self.axis))
        mean, variance = (
            np.asarray(v).tolist() if v is not None else None
            for v in (self.input_mean, self.input_variance)
        )
        return {
            **super().get_config(),
            "axis": axis,
            "mean": mean,
            "variance": variance,
            "invert": self.invert,
        }


# ----------------------------------------------------------------------------- augmentation
def _factor_range(factor, owner: str, name: str, low: float = -1.0) -> tuple[float, float]:
    """Keras's factor: a number f -> (-f, f); a pair -> (lower, upper)."""
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        lo, hi = -abs(float(factor)), abs(float(factor))
    else:
        try:
            lo, hi = (float(v) for v in factor)
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: {name} must be a number or a (lower, upper) pair, got {factor!r}"
            ) from None
    if lo > hi or lo < low:
        raise ValueError(f"{owner}: {name} {factor!r} must give lower <= upper, lower >= {low}")
    return lo, hi


class _RandomImageLayer(Layer):
    """Shared by the augmentation layers: seed, data_format, the training switch."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        fmt = "channels_last" if data_format is None else str(data_format).lower()
        if fmt not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__}: data_format must be 'channels_last' or "
                f"'channels_first', got {data_format!r}"
            )
        self.seed, self.data_format = seed, fmt
        self._generator = None if seed is None else np.random.default_rng(int(seed))

    def call(self, inputs, training=True):
        x = as_tensor(inputs, self.name)
        if not training:
            return x
        if x.requires_grad:
            raise NotImplementedError(
                f"{type(self).__name__} {self.name!r} passes no gradient: put augmentation "
                f"layers at the model's input, before any trainable layer"
            )
        arr = x._data if x.dtype.kind == "f" else x._data.astype(np.float32)
        if arr.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects images (H, W, C) or (N, H, W, C) "
                f"({self.data_format}), got shape {arr.shape}"
            )
        batch = arr if arr.ndim == 4 else arr[None]
        if self.data_format == "channels_last":
            batch = np.moveaxis(batch, -1, 1)  # (N, C, H, W) for the kernel
        out = self._augment(batch, current(self._generator))
        if self.data_format == "channels_last":
            out = np.moveaxis(out, 1, -1)
        return Tensor._wrap(np.ascontiguousarray(out if arr.ndim == 4 else out[0]))

    def _augment(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class RandomFlip(_RandomImageLayer):
    """Flip each image left-right and/or top-bottom with probability 1/2, while training.

    Args:
        mode: 'horizontal', 'vertical' or 'horizontal_and_vertical'.
        seed: an int for a generator of the layer's own.

    >>> import numpy as np
    >>> from nerve import layers
    >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
    >>> bool((layers.RandomFlip()(x, training=False)._data == x).all())
    True
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip: mode must be one of {self._MODES}, got {mode!r}")
        self.mode = mode

    def _augment(self, batch, rng):
        n = len(batch)
        if self.mode != "vertical":
            flip = (rng.random(n) < 0.5).reshape(-1, 1, 1, 1)
            batch = np.where(flip, batch[..., ::-1], batch)
        if self.mode != "horizontal":
            flip = (rng.random(n) < 0.5).reshape(-1, 1, 1, 1)
            batch = np.where(flip, batch[..., ::-1, :], batch)
        return batch

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(_RandomImageLayer):
    def __init__(self, fill_mode, interpolation, seed, fill_value, data_format, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        owner = type(self).__name__
        self.fill_mode = affine.check_fill_mode(fill_mode, owner)
        self.interpolation = affine.check_interpolation(interpolation, owner)
        self.fill_value = float(fill_value)

    def _augment(self, batch, rng):
        n, _, h, w = batch.shape
        m = self._matrices(n, h, w, rng)
        return affine.warp(batch, m, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


class RandomRotation(_AffineLayer):
    """Rotate each image by ``factor * 2 pi`` radians at most, while training.

    Args:
        factor: a number f (angles in [-f, f] x 2 pi) or a (lower, upper) pair; positive turns
            counter-clockwise.
        fill_mode: 'reflect' (d c b a | a b c d | d c b a), 'wrap', 'constant' or 'nearest'.
        interpolation: 'bilinear' or 'nearest'.
        fill_value: the value 'constant' fills with.
        seed: an int for a generator of the layer's own.

    Shape:
        (N, H, W, C) or (H, W, C) (channels_last); the output has the input's shape.
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor
        self._range = _factor_range(factor, "RandomRotation", "factor", low=-np.inf)

    def _matrices(self, n, h, w, rng):
        return affine.rotation(rng.uniform(*self._range, size=n) * 2 * np.pi, h, w)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_AffineLayer):
    """Shift each image by a fraction of its height and width, while training.

    Args:
        height_factor: a number f (shift in [-f, f] x height) or a (lower, upper) pair;
            positive shifts down.
        width_factor: the same for the width; positive shifts right.
        fill_mode, interpolation, fill_value, seed: as for RandomRotation.
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(height_factor, "RandomTranslation", "height_factor")
        self._w = _factor_range(width_factor, "RandomTranslation", "width_factor")

    def _matrices(self, n, h, w, rng):
        dy = rng.uniform(*self._h, size=n) * h
        dx = rng.uniform(*self._w, size=n) * w
        return affine.translation(dy, dx)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomZoom(_AffineLayer):
    """Zoom each image by ``1 + factor``, while training: positive factors zoom out.

    Args:
        height_factor: a number f (factor in [-f, f]) or a (lower, upper) pair, lower >= -1.
        width_factor: the same for the width; None keeps the aspect (one zoom for both).
        fill_mode, interpolation, fill_value, seed: as for RandomRotation.
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_range(height_factor, "RandomZoom", "height_factor")
        self._w = None
        if width_factor is not None:
            self._w = _factor_range(width_factor, "RandomZoom", "width_factor")

    def _matrices(self, n, h, w, rng):
        zy = 1.0 + rng.uniform(*self._h, size=n)
        zx = zy if self._w is None else 1.0 + rng.uniform(*self._w, size=n)
        return affine.scaling(zy, zx, h, w)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


# ----------------------------------------------------------------------------- color, crop
def _keras_factor(factor, owner: str, bounds: tuple) -> tuple[float, float]:
    """Keras's ``_set_factor``: a number f -> (max(-f, low), f); a pair -> sorted."""
    low, high = bounds
    msg = (
        f"{owner}: factor must be a number (or a list of two numbers) in the range "
        f"[{low}, {high}], got {factor!r}"
    )
    if isinstance(factor, (list, tuple)):
        if len(factor) != 2 or not all(isinstance(v, numbers.Real) for v in factor):
            raise ValueError(msg)
        if factor[0] > high or factor[1] < low:
            raise ValueError(msg)
        lo, hi = sorted(float(v) for v in factor)
        return lo, hi
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        if not low <= factor <= high:
            raise ValueError(msg)
        f = abs(float(factor))
        return max(-f, float(low)), f
    raise ValueError(msg)


def _value_range(value_range, owner: str) -> list:
    if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
        raise ValueError(f"{owner}: value_range must be a list of two numbers, got {value_range!r}")
    return sorted(float(v) for v in value_range)


class RandomContrast(_RandomImageLayer):
    """Scale each image's deviation from its per-channel mean by a random factor, while
    training, then clip to ``value_range`` (Keras's RandomContrast).

    The factor is drawn per image from U(1 - lower, 1 + upper). As in Keras 3, a single number
    f gives (lower, upper) = (0, f): the contrast is only ever increased; pass a pair
    ``(lower, upper)`` for both ways.

    Args:
        factor: a number in [0, 1], or a (lower, upper) pair.
        value_range: the (min, max) of the pixel values (default (0, 255)).
        seed: an int for a generator of the layer's own.
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import numpy as np
    >>> from nerve import layers
    >>> x = np.full((1, 2, 2, 1), 7.0)
    >>> layers.RandomContrast(0.5)(x, training=True)._data.ravel().tolist()  # flat stays flat
    [7.0, 7.0, 7.0, 7.0]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _keras_factor(factor, "RandomContrast", (0, 1))
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise ValueError(
                f"RandomContrast: value_range must be a (min, max) pair, got {value_range!r}"
            )
        self.value_range = tuple(float(v) for v in value_range)

    def _augment(self, batch, rng):
        lo, hi = self.factor
        f = rng.uniform(1.0 - lo, 1.0 + hi, size=(len(batch), 1, 1, 1)).astype(batch.dtype)
        mean = batch.mean(axis=(2, 3), keepdims=True)
        return np.clip((batch - mean) * f + mean, *self.value_range).astype(batch.dtype)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class RandomBrightness(_RandomImageLayer):
    """Add a random brightness offset to each image, while training, then clip to
    ``value_range`` (Keras's RandomBrightness).

    The offset is drawn per image from U(lower, upper) times the width of ``value_range``.

    Args:
        factor: a number f in [-1, 1] (offsets in [-f, f]) or a (lower, upper) pair.
        value_range: the (min, max) of the pixel values (default (0, 255)).
        seed: an int for a generator of the layer's own.
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import numpy as np
    >>> from nerve import layers
    >>> layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))(
    ...     np.full((1, 1, 2, 1), 0.25), training=True)._data.ravel().tolist()
    [0.75, 0.75]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _keras_factor(factor, "RandomBrightness", (-1, 1))
        self.value_range = _value_range(value_range, "RandomBrightness")

    def _augment(self, batch, rng):
        lo, hi = self.value_range
        delta = rng.uniform(*self.factor, size=(len(batch), 1, 1, 1)) * (hi - lo)
        return np.clip(batch + delta.astype(batch.dtype), lo, hi).astype(batch.dtype)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": list(self.factor),
            "value_range": list(self.value_range),
        }


class RandomCrop(_RandomImageLayer):
    """Crop a random (height, width) box while training, one offset per batch, as Keras 3.

    When the input is not larger than the box on both sides, Keras's fallback is used: up to
    (height, width) pixels are taken from where a centered crop to the box's aspect ratio
    would start, and resized (bilinear) to the box. Outside training the layer is the identity
    (Keras 3 leaves the image uncropped there, so shapes differ between fit and predict).

    Args:
        height, width: the crop size.
        seed: an int for a generator of the layer's own.
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import numpy as np
    >>> from nerve import layers
    >>> layers.RandomCrop(2, 3)(np.zeros((4, 5, 6, 3)), training=True).shape
    (4, 2, 3, 3)
    """

    def __init__(self, height: int, width: int, seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        for what, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"RandomCrop: {what} must be a positive integer, got {v!r}")
        self.height, self.width = int(height), int(width)

    def _augment(self, batch, rng):
        h, w = batch.shape[2:]
        if h > self.height and w > self.width:
            top = int(rng.uniform(0, h - self.height + 1))
            left = int(rng.uniform(0, w - self.width + 1))
            return batch[:, :, top : top + self.height, left : left + self.width]
        # Keras starts the box where a centered crop to the target's aspect ratio would, takes
        # up to (height, width) from there, and resizes what it got.
        top, left, _, _ = crop_box(h, w, self.height, self.width)
        batch = batch[:, :, top : top + self.height, left : left + self.width]
        ch, cw = batch.shape[2:]
        if (ch, cw) == (self.height, self.width):
            return batch
        rows = resize_weights(ch, self.height, "bilinear").astype(batch.dtype)
        cols = resize_weights(cw, self.width, "bilinear").astype(batch.dtype)
        return np.einsum("oh,nchw,pw->ncop", rows, batch, cols, optimize=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}
