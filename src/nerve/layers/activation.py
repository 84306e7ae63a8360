"""Keras-style activation layers: ReLU, LeakyReLU, Softmax, ELU, PReLU.

The math is ``nerve.activations`` and ``nerve.primitives`` (one place); these classes hold the
arguments, check them, and say what they were built with.
"""

from __future__ import annotations

import numpy as np

from nerve import activations, initializers, regularizers
from nerve.autograd.tensor import Tensor
from nerve.layers.base import InputSpec, Layer
from nerve.layers.core import (
    check_constraint,
    input_mask,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
)
from nerve.primitives import elementwise as ew
from nerve.primitives import reduction
from nerve.primitives.common import as_tensor

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _number(value, what: str, owner: str, minimum: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{owner}: {what} must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {what} must be >= {minimum}, got {value}")
    return float(value)


class _Elementwise(Layer):
    """An activation layer: keeps its input's shape and mask."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)


class ReLU(_Elementwise):
    """Rectified linear unit with Keras's options.

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold < x < max_value``,
    ``negative_slope * (x - threshold)`` otherwise.

    Args:
        max_value: a cap on the output (None: no cap); >= 0.
        negative_slope: the slope below the threshold; >= 0.
        threshold: where the unit switches on; >= 0.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.ReLU(max_value=1.0)(nerve.tensor([-1.0, 0.5, 3.0])).tolist()
    [0.0, 0.5, 1.0]
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_value is not None:
            max_value = _number(max_value, "max_value", "ReLU")
        self.max_value = max_value
        self.negative_slope = _number(negative_slope, "negative_slope", "ReLU")
        self.threshold = _number(threshold, "threshold", "ReLU")

    def call(self, inputs):
        return activations.relu(
            as_tensor(inputs, self.name),
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    The default slope is Keras 3's 0.3 (torch's is 0.01, ``nerve.activations.leaky_relu``'s
    0.2). ``alpha``, Keras 2's name for the slope, is accepted too.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.LeakyReLU()(nerve.tensor([-10.0, 5.0])).tolist()
    [-3.0, 5.0]
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number(negative_slope, "negative_slope", "LeakyReLU")

    def call(self, inputs):
        return activations.leaky_relu(as_tensor(inputs, self.name), self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.ELU()(nerve.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha", "ELU", minimum=None)

    def call(self, inputs):
        return activations.elu(as_tensor(inputs, self.name), self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """Softmax over ``axis`` (an int, or a tuple of ints for a joint softmax).

    A mask (the one carried by the input, or ``mask=`` in the call) of the input's shape or of
    its leading axes: masked-out positions get probability 0, as in Keras.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Softmax()(nerve.zeros(1, 4)).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axis = tuple(int(a) for a in axis)
            if not axis:
                raise ValueError("Softmax: axis must be an int or a non-empty tuple of ints")
        else:
            axis = int(axis)
        self.axis = axis

    def call(self, inputs, mask=None):
        x = as_tensor(inputs, self.name)
        keep = None
        if mask is not None:
            keep = np.asarray(mask._data if isinstance(mask, Tensor) else mask, dtype=bool)
            keep = keep.reshape(keep.shape + (1,) * (x.ndim - keep.ndim))
            # Masked positions get a large negative logit (Keras's -1e9; -3e4 in float16) ...
            big = -3e4 if x.dtype == np.float16 else -1e9
            x = x + Tensor(np.where(keep, 0.0, big), dtype=x.dtype)
        if isinstance(self.axis, tuple):
            out = ew.exp(x - reduction.logsumexp(x, dim=self.axis, keepdim=True))
        else:
            out = reduction.softmax(x, self.axis)
        if keep is not None:  # ... and exactly 0 afterwards (fully masked rows too).
            out = out * Tensor(keep, dtype=x.dtype)
        return out

    def get_config(self) -> dict:
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, ``alpha`` learned.

    ``alpha`` has the input's shape without the batch axis, with size 1 on ``shared_axes``
    (1-based, e.g. ``shared_axes=(1, 2)`` shares one slope per channel of (batch, H, W, C)).

    Args:
        alpha_initializer: 'zeros' as in Keras (torch starts at 0.25).
        alpha_regularizer, alpha_constraint: as for any weight.
        shared_axes: axes along which one slope is shared.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.PReLU(alpha_initializer="ones")(nerve.tensor([[-2.0, 3.0]])).tolist()
    [[-2.0, 3.0]]
    """

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = check_constraint(alpha_constraint, "PReLU")
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (int, np.integer)):
            self.shared_axes = (int(shared_axes),)
        else:
            self.shared_axes = tuple(int(a) for a in shared_axes)
        self.supports_masking = True

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(
                    f"PReLU layer {self.name!r}: shared axis {axis} is not a non-batch axis of "
                    f"an input of shape {input_shape} (axes are 1-based)"
                )
            shape[axis - 1] = 1
        self.add_weight(
            shape=shape,
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
            name="alpha",
        )
        shared = self.shared_axes or ()
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        # relu(x) - alpha * relu(-x), as Keras writes it: the slope's gradient is -relu(-x).
        return ew.relu(x) - self.alpha * ew.relu(-x)

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        shared = None if self.shared_axes is None else list(self.shared_axes)
        return {
            **super().get_config(),
            "alpha_initializer": serialize_initializer(self.alpha_initializer),
            "alpha_regularizer": serialize_regularizer(self.alpha_regularizer),
            "alpha_constraint": serialize_constraint(self.alpha_constraint),
            "shared_axes": shared,
        }
