"""Keras-style pooling layers: max and average pooling (1-d, 2-d) and their global forms (1-d,
2-d, 3-d), with Keras's short aliases (MaxPool2D, GlobalAvgPool2D, ...).

'valid' pooling calls F.max_pool2d / F.avg_pool2d. Keras's 'same' pooling pads like TensorFlow
(output ceil(size / stride), the odd unit of padding after) and its average counts only the
input elements in each window; F's functions cannot say that (symmetric padding of at most half
the window), so 'same' calls the pooling ops directly with that geometry and the per-window
counts as divisors. 1-d layers run the 2-d ops with a unit height. (Keras 3.15 on its torch
backend pads an uneven 'same' average pool by repeating the edge instead, so edge values count
twice there; nerve follows TensorFlow and JAX.)
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer
from nerve.layers.conv import (
    as_input,
    base_config,
    data_format_of,
    normalize_tuple,
    padding_of,
    same_pads,
)
from nerve.nn import functional as F
from nerve.nn.functional.pooling import AvgPool2d, MaxPool2d
from nerve.primitives import reduction

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
]


class _Pooling(Layer):
    rank = 2
    _max = True

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls, n = type(self).__name__, self.rank
        self.pool_size = normalize_tuple(pool_size, n, "pool_size", cls)
        strides = self.pool_size if strides is None else strides
        self.strides = normalize_tuple(strides, n, "strides", cls)
        self.padding = padding_of(padding, cls)
        self.data_format = data_format_of(data_format, cls)

    def _nchw(self, x: Tensor) -> Tensor:
        last = self.data_format == "channels_last"
        if self.rank == 1:
            return (x.permute(0, 2, 1) if last else x).unsqueeze(2)
        return x.permute(0, 3, 1, 2) if last else x

    def _from_nchw(self, y: Tensor) -> Tensor:
        last = self.data_format == "channels_last"
        if self.rank == 1:
            y = y.squeeze(2)
            return y.permute(0, 2, 1) if last else y
        return y.permute(0, 2, 3, 1) if last else y

    def call(self, inputs):
        x = as_input(self, inputs)
        if x.ndim != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-d input, "
                f"got shape {tuple(x.shape)}"
            )
        one = (1,) * (2 - self.rank)
        kernel, stride = one + self.pool_size, one + self.strides
        xc = self._nchw(x)
        size = tuple(xc.shape[2:])
        if self.padding == "valid":
            if any(n < k for n, k in zip(size, kernel)):
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: pool_size {self.pool_size} is larger "
                    f"than the input's spatial size {size[2 - self.rank :]} with padding='valid'"
                )
            pool = F.max_pool2d if self._max else F.avg_pool2d
            return self._from_nchw(pool(xc, kernel, stride))
        pads = [same_pads(n, k, s) for n, k, s in zip(size, kernel, stride)]
        out = tuple(-(-n // s) for n, s in zip(size, stride))
        top_left = tuple(lo for lo, _ in pads)
        if self._max:
            y = MaxPool2d.apply(
                xc,
                kernel=kernel,
                stride=stride,
                padding=top_left,
                dilation=(1, 1),
                out_size=out,
            )
        else:
            counts = []
            for n, k, s, o, p in zip(size, kernel, stride, out, top_left):
                start = np.arange(o) * s - p
                counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
            divisor = np.multiply.outer(counts[0], counts[1])
            y = AvgPool2d.apply(
                xc, kernel=kernel, stride=stride, padding=top_left, out_size=out, divisor=divisor
            )
        return self._from_nchw(y)

    def get_config(self) -> dict:
        config = base_config(self)
        config.update(
            pool_size=list(self.pool_size),
            strides=list(self.strides),
            padding=self.padding,
            data_format=self.data_format,
        )
        return config

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, "
            f"padding={self.padding!r}"
        )


class MaxPooling2D(_Pooling):
    """The maximum over each pool_size window of (batch, height, width, channels), as Keras.

    Args:
        pool_size: an int or a pair (default (2, 2)).
        strides: an int or a pair; None (default) means pool_size.
        padding: 'valid' or 'same' (output ceil(size / stride), padded with -inf, the odd unit
            of padding at the bottom/right as TensorFlow).
        data_format: 'channels_last' (default) or 'channels_first'.

    Shape:
        (N, H, W, C) -> (N, H_out, W_out, C) (channels_last).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.MaxPooling2D()(nerve.ones(2, 7, 7, 3)).shape
    (2, 3, 3, 3)
    >>> layers.MaxPooling2D(padding="same")(nerve.ones(2, 7, 7, 3)).shape
    (2, 4, 4, 3)
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kw):
        super().__init__(pool_size, strides, padding, data_format, **kw)


class AveragePooling2D(_Pooling):
    """The mean over each pool_size window, as Keras: with 'same' padding a window's mean counts
    only the input elements inside it (the padding is excluded). Arguments and shapes as
    :class:`MaxPooling2D`.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.AveragePooling2D(padding="same")(nerve.ones(1, 3, 3, 1)).reshape(-1).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    _max = False

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kw):
        super().__init__(pool_size, strides, padding, data_format, **kw)


class MaxPooling1D(_Pooling):
    """Max pooling over (batch, steps, features); pool_size (default 2) and strides are ints.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.MaxPooling1D()(nerve.ones(2, 9, 3)).shape
    (2, 4, 3)
    """

    rank = 1


class AveragePooling1D(_Pooling):
    """Average pooling over (batch, steps, features), the padding excluded from the means.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.AveragePooling1D(padding="same")(nerve.ones(2, 9, 3)).shape
    (2, 5, 3)
    """

    rank = 1
    _max = False


# ----------------------------------------------------------------------------- global pooling
class _GlobalPooling(Layer):
    rank = 2
    _max = True

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _axes(self) -> tuple:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def _check(self, x: Tensor) -> None:
        if x.ndim != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-d input, "
                f"got shape {tuple(x.shape)}"
            )

    def call(self, inputs):
        x = as_input(self, inputs)
        self._check(x)
        if self._max:
            return reduction.amax(x, dim=self._axes(), keepdim=self.keepdims)
        return reduction.mean(x, dim=self._axes(), keepdim=self.keepdims)

    def get_config(self) -> dict:
        config = base_config(self)
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GlobalAveragePooling2D()(nerve.ones(2, 5, 5, 3)).shape
    (2, 3)
    """

    _max = False


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over height and width: (N, H, W, C) -> (N, C) (ties share the gradient).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GlobalMaxPooling2D(keepdims=True)(nerve.ones(2, 5, 5, 3)).shape
    (2, 1, 1, 3)
    """


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over the steps: (N, L, C) -> (N, C).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GlobalMaxPooling1D()(nerve.ones(2, 5, 3)).shape
    (2, 3)
    """

    rank = 1


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps, (N, L, C) -> (N, C); with a mask (e.g. from
    Embedding(mask_zero=True)) only the unmasked steps are averaged, as Keras.

    >>> import nerve
    >>> from nerve import layers
    >>> x = nerve.tensor([[[1.0], [3.0], [5.0]]])
    >>> layers.GlobalAveragePooling1D()(x, mask=nerve.tensor([[True, True, False]])).tolist()
    [[2.0]]
    """

    rank = 1
    _max = False

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        x = as_input(self, inputs)
        self._check(x)
        m = np.asarray(mask._data if isinstance(mask, Tensor) else mask, dtype=bool)
        if m.shape != (x.shape[0], x.shape[1 if self.data_format == "channels_last" else 2]):
            raise ValueError(
                f"GlobalAveragePooling1D {self.name!r}: mask of shape {m.shape} does not match "
                f"the input {tuple(x.shape)} (expected (batch, steps))"
            )
        m = m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]
        weights = m.astype(x.dtype)
        axis = self._axes()
        count = weights.sum(axis=axis, keepdims=self.keepdims)
        return reduction.sum(x * Tensor._wrap(weights), dim=axis, keepdim=self.keepdims) / (
            Tensor._wrap(count)
        )

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling3D(_GlobalPooling):
    """The maximum over depth, height and width: (N, D, H, W, C) -> (N, C).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GlobalMaxPooling3D()(nerve.ones(2, 3, 4, 5, 6)).shape
    (2, 6)
    """

    rank = 3


class GlobalAveragePooling3D(_GlobalPooling):
    """The mean over depth, height and width: (N, D, H, W, C) -> (N, C), or (N, 1, 1, 1, C)
    with keepdims.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.GlobalAveragePooling3D(keepdims=True)(nerve.ones(2, 3, 4, 5, 6)).shape
    (2, 1, 1, 1, 6)
    """

    rank = 3
    _max = False


# Keras's short names: the same classes (a saved config names the long one).
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
