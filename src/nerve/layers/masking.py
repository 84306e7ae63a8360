"""Keras's Masking layer: mark the time steps whose features all equal ``mask_value``.

The mask rides beside the output (``nerve.layers.base.set_mask``), as Embedding(mask_zero=True)
sets it, and the layers that support masking (RNNs, GlobalAveragePooling1D, attention, ...)
read it.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer
from nerve.primitives.common import as_tensor

__all__ = ["Masking"]


class Masking(Layer):
    """Mask the steps of (batch, steps, features) whose every feature equals ``mask_value``.

    The output is the input with the masked steps set to 0, and carries the mask
    ``any(inputs != mask_value, axis=-1)`` of shape (batch, steps) for the layers after it.

    Args:
        mask_value: the padding value (default 0.0).

    >>> import nerve
    >>> from nerve import layers
    >>> x = nerve.tensor([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    >>> layers.Masking().compute_mask(x).tolist()
    [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise ValueError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = float(mask_value)
        self.supports_masking = True

    def _keep(self, x: Tensor) -> np.ndarray:
        if x.ndim < 1:
            raise ValueError(
                f"Masking layer {self.name!r}: expected an input with a feature axis, got a scalar"
            )
        return np.any(x._data != x.dtype.type(self.mask_value), axis=-1)

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        keep = self._keep(x)
        # A constant 0/1 factor: the masked steps pass no gradient, as Keras's where().
        return x * Tensor._wrap(keep[..., None].astype(x.dtype))

    def compute_mask(self, inputs, mask=None):
        return Tensor(self._keep(as_tensor(inputs, self.name)))

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
