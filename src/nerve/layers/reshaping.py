"""Keras-style reshaping layers: UpSampling1D/2D/3D, ZeroPadding1D/2D/3D, Cropping1D/2D/3D.

channels_last by default, as Keras. The math is nerve's shape ops: nearest upsampling is a
reshape + broadcast + reshape (each input element repeated ``size`` times along each spatial
axis; the gradient sums the copies), padding is ``pad`` and cropping is slicing. UpSampling2D's
'bilinear' / 'bicubic' interpolation is :func:`nerve.layers.resizing.resize_images`, the
separable resampling Keras's torch backend computes.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import InputSpec, Layer
from nerve.layers.conv import as_input, data_format_of, normalize_tuple
from nerve.layers.resizing import resize_images
from nerve.primitives import shape as shape_ops

__all__ = [
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]


def repeat_axes(x: Tensor, axes: tuple, factors: tuple) -> Tensor:
    """Repeat every element ``factors[i]`` times along ``axes[i]`` (NumPy's ``repeat``).

    One broadcast: a size-1 axis is inserted after each repeated axis, expanded to the factor
    and merged back, so the copy is made once whatever the number of axes.
    """
    grown, expanded, merged = [], [], []
    for i, n in enumerate(x.shape):
        grown.append(n)
        expanded.append(n)
        merged.append(n)
        if i in axes:
            f = factors[axes.index(i)]
            grown.append(1)
            expanded.append(f)
            merged[-1] = n * f
    y = shape_ops.expand(shape_ops.reshape(x, tuple(grown)), tuple(expanded))
    return shape_ops.reshape(y, tuple(merged))


def _spatial_axes(rank: int, data_format: str) -> tuple:
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def _check_rank(layer: Layer, x: Tensor, rank: int) -> None:
    if x.ndim != rank + 2:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r}: expected a {rank + 2}-d input "
            f"(batch, {'spatial, ' * rank}channels), got shape {tuple(x.shape)}"
        )


def pairs_of(value, rank: int, what: str, owner: str) -> tuple:
    """Keras's padding / cropping forms as ``rank`` (before, after) pairs of ints >= 0.

    An int: that on every side; ``rank`` ints: symmetric per axis; ``rank`` pairs: as given.
    For rank 1 a pair is (before, after).
    """

    def bad():
        return ValueError(
            f"{owner}: {what} must be an int, a tuple of {rank} ints or a tuple of {rank} "
            f"(before, after) pairs of ints >= 0, got {value!r}"
        )

    def whole(v) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise bad()
        return int(v)

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return ((whole(value),) * 2,) * rank
    if not isinstance(value, (list, tuple)):
        raise bad()
    if rank == 1:
        if len(value) != 2:
            raise bad()
        return ((whole(value[0]), whole(value[1])),)
    if len(value) != rank:
        raise bad()
    out = []
    for v in value:
        if isinstance(v, (list, tuple)):
            if len(v) != 2:
                raise bad()
            out.append((whole(v[0]), whole(v[1])))
        else:
            out.append((whole(v),) * 2)
    return tuple(out)


# ----------------------------------------------------------------------------- UpSampling
class _UpSampling(Layer):
    rank = 2

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.size = normalize_tuple(size, self.rank, "size", cls)
        self.data_format = data_format_of(data_format, cls)
        interp = str(interpolation).lower()
        allowed = ("nearest",) if self.rank != 2 else ("nearest", "bilinear", "bicubic")
        if interp not in allowed:
            raise ValueError(
                f"{cls}: interpolation must be one of {allowed}, got {interpolation!r}"
            )
        self.interpolation = interp
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        x = as_input(self, inputs)
        _check_rank(self, x, self.rank)
        axes = _spatial_axes(self.rank, self.data_format)
        if self.interpolation == "nearest":
            return repeat_axes(x, axes, self.size)
        size = tuple(x.shape[a] * f for a, f in zip(axes, self.size))
        return resize_images(x, size, self.interpolation, self.data_format, self.name)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "size": list(self.size),
            "data_format": self.data_format,
        }


class UpSampling1D(_UpSampling):
    """Repeat each time step ``size`` times: (batch, steps, features) -> (batch, steps * size,
    features).

    Args:
        size: the upsampling factor (default 2).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.UpSampling1D(2)(nerve.tensor([[[1.0], [2.0]]])).reshape(-1).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    rank = 1

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(size, None, "nearest", **kwargs)

    def get_config(self) -> dict:
        config = Layer.get_config(self)
        config["size"] = self.size[0]
        return config


class UpSampling2D(_UpSampling):
    """Upsample the rows and columns of images by ``size`` (Keras's UpSampling2D).

    Args:
        size: an int or (rows, cols) factors (default (2, 2)).
        data_format: 'channels_last' (default) or 'channels_first'.
        interpolation: 'nearest' (each pixel repeated), 'bilinear' or 'bicubic' (a resize to
            the upsampled size with half-pixel centers and no antialiasing, as Keras on torch).

    Shape:
        (N, H, W, C) -> (N, H * size[0], W * size[1], C) (channels_last).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.UpSampling2D((2, 3))(nerve.ones(1, 4, 5, 2)).shape
    (1, 8, 15, 2)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeat each voxel ``size`` times along depth, height and width.

    Args:
        size: an int or three factors (default (2, 2, 2)).
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.UpSampling3D()(nerve.ones(1, 2, 3, 4, 1)).shape
    (1, 4, 6, 8, 1)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, "nearest", **kwargs)


# ----------------------------------------------------------------------------- ZeroPadding
class _ZeroPadding(Layer):
    rank = 2

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.padding = pairs_of(padding, self.rank, "padding", cls)
        self.data_format = data_format_of(data_format, cls)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        x = as_input(self, inputs)
        _check_rank(self, x, self.rank)
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            widths[axis] = pair
        flat = [w for pair in reversed(widths) for w in pair]  # torch order: last dim first
        return shape_ops.pad(x, flat)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "padding": [list(p) for p in self.padding],
            "data_format": self.data_format,
        }


class ZeroPadding1D(_ZeroPadding):
    """Add zeros at the start and end of the time axis: (batch, steps, features).

    Args:
        padding: an int (both ends) or (before, after) (default 1).
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.ZeroPadding1D((1, 2))(nerve.ones(1, 2, 1)).reshape(-1).tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["padding"] = list(self.padding[0])
        return config


class ZeroPadding2D(_ZeroPadding):
    """Add rows and columns of zeros around images.

    Args:
        padding: an int (every side), (rows, cols) (symmetric) or ((top, bottom), (left,
            right)); default 1.
        data_format: 'channels_last' (default) or 'channels_first'.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.ZeroPadding2D(((1, 0), (2, 1)))(nerve.ones(1, 3, 3, 2)).shape
    (1, 4, 6, 2)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Add zeros around volumes (depth, height, width); padding forms as ZeroPadding2D's.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.ZeroPadding3D()(nerve.ones(1, 2, 2, 2, 1)).shape
    (1, 4, 4, 4, 1)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


# ----------------------------------------------------------------------------- Cropping
class _Cropping(Layer):
    rank = 2

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.cropping = pairs_of(cropping, self.rank, "cropping", cls)
        self.data_format = data_format_of(data_format, cls)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        x = as_input(self, inputs)
        _check_rank(self, x, self.rank)
        index = [slice(None)] * x.ndim
        for axis, (lo, hi) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            n = x.shape[axis]
            if lo + hi >= n:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: cropping {self.cropping} "
                    f"leaves nothing of axis {axis} (size {n}) of the input {tuple(x.shape)}"
                )
            index[axis] = slice(lo, n - hi)
        return x[tuple(index)]

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "cropping": [list(p) for p in self.cropping],
            "data_format": self.data_format,
        }


class Cropping1D(_Cropping):
    """Cut ``cropping`` steps off the start and end of (batch, steps, features).

    Args:
        cropping: an int (both ends) or (start, end) (default (1, 1)).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Cropping1D((1, 2))(nerve.ones(1, 6, 3)).shape
    (1, 3, 3)
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)

    def get_config(self) -> dict:
        config = Layer.get_config(self)
        config["cropping"] = list(self.cropping[0])
        return config


class Cropping2D(_Cropping):
    """Cut rows and columns off the edges of images.

    Args:
        cropping: an int (every side), (rows, cols) (symmetric) or ((top, bottom), (left,
            right)); default ((0, 0), (0, 0)).
        data_format: 'channels_last' (default) or 'channels_first'.

    Raises:
        ValueError: when the cropping leaves an axis empty.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Cropping2D(((1, 0), (2, 1)))(nerve.ones(1, 5, 6, 3)).shape
    (1, 4, 3, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Cut slices off the edges of volumes (depth, height, width); forms as Cropping2D's.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Cropping3D()(nerve.ones(1, 4, 4, 4, 2)).shape
    (1, 2, 2, 2, 2)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
