"""Keras's UnitNormalization layer: scale each sample to unit L2 norm along some axes."""

from __future__ import annotations

from nerve.layers.base import Layer
from nerve.layers.core import input_mask
from nerve.primitives import elementwise, reduction
from nerve.primitives.common import as_tensor

__all__ = ["UnitNormalization"]

_EPSILON_SQ = 1e-24  # Keras's epsilon 1e-12 on the norm, squared


class UnitNormalization(Layer):
    """``x / max(||x||_2, 1e-12)`` along ``axis``, as Keras (``x * rsqrt(sum(x^2))``, the
    inverse norm capped at 1e12).

    Args:
        axis: an int or a list of ints (default -1).

    Raises:
        TypeError: for an axis that is neither.
        ValueError: for an axis outside the input's rank.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.UnitNormalization()(nerve.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis
        ):
            axis = [int(a) for a in axis]
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(
                f"UnitNormalization: axis must be an int or a list of ints, got {axis!r}"
            )
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        if x.dtype.kind != "f":
            x = elementwise.cast(x, self.dtype)  # Keras computes in the layer's float dtype
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -x.ndim <= a < x.ndim for a in axes):
            raise ValueError(
                f"UnitNormalization layer {self.name!r}: axis {self.axis} is out of range for "
                f"an input of shape {tuple(x.shape)}"
            )
        squares = reduction.sum(x * x, dim=tuple(axes), keepdim=True)
        return x * elementwise.rsqrt(elementwise.clamp(squares, min=_EPSILON_SQ))

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
