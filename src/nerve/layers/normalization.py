"""Keras-style normalization layers: BatchNormalization, LayerNormalization.

The math is ``F.batch_norm`` and ``F.layer_norm``; these classes hold the weights, move the
normalized axis where the fused op wants it (a reshape, never a copy, for BatchNormalization),
and keep Keras's semantics for the moving statistics.
"""

from __future__ import annotations

import numpy as np

from nerve import initializers, regularizers
from nerve.layers.base import InputSpec, Layer
from nerve.layers.core import (
    check_constraint,
    input_mask,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
)
from nerve.nn import functional as F
from nerve.nn.functional.normalization import keras_batch_norm
from nerve.primitives import shape as shape_ops
from nerve.primitives.common import as_tensor

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axis_index(axis: int, ndim: int, layer: Layer, shape: tuple) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r}: axis {axis} is out of range for an "
            f"input of shape {shape}"
        )
    return axis % ndim


class BatchNormalization(Layer):
    """Normalize each feature (channel) by batch statistics in training, moving ones otherwise.

    In training (``training=True`` and ``layer.trainable``) the output is
    ``gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta`` over every axis but ``axis``, and
    the moving statistics follow Keras::

        moving_mean = moving_mean * momentum + mean(x) * (1 - momentum)
        moving_variance = moving_variance * momentum + var(x) * (1 - momentum)

    with the biased (population) batch variance, as Keras 3 does (torch stores the unbiased one).
    Otherwise the moving statistics normalize. As in Keras, ``trainable = False`` puts the
    layer in inference mode: it then uses and keeps its moving statistics even in training.

    Args:
        axis: the feature axis (channels_last: -1; after a channels_first conv: 1).
        momentum: weight of the old moving value (0.99; torch's momentum is 1 - this).
        epsilon: added to the variance (1e-3; torch's default is 1e-5).
        center, scale: learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: Keras's 'zeros', 'ones', 'zeros', 'ones'.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as for any weight.
        synchronized: only False (there is no distributed training to synchronize across).

    Shape:
        Any input with the feature axis; the output has the input's shape.

    The moving statistics are non-trainable weights (``non_trainable_weights``), in Keras's
    order gamma, beta, moving_mean, moving_variance. A mask is passed on but, unlike Keras,
    does not weight the batch statistics.

    >>> import nerve
    >>> from nerve import layers
    >>> bn = layers.BatchNormalization()
    >>> y = bn(nerve.randn(8, 3), training=True)
    >>> [tuple(w.shape) for w in bn.weights]
    [(3,), (3,), (3,), (3,)]
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        synchronized: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            raise ValueError(
                f"BatchNormalization: axis must be one int (the feature axis), got {axis!r}"
            )
        if synchronized:
            raise ValueError(
                "BatchNormalization: synchronized=True needs distributed training, which nerve "
                "does not have"
            )
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if self.epsilon <= 0.0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = check_constraint(beta_constraint, "BatchNormalization")
        self.gamma_constraint = check_constraint(gamma_constraint, "BatchNormalization")
        self.synchronized = False
        self.supports_masking = True

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        axis = _axis_index(self.axis, len(input_shape), self, input_shape)
        c = input_shape[axis]
        if c is None:
            raise ValueError(
                f"BatchNormalization layer {self.name!r}: the feature axis {self.axis} of input "
                f"shape {input_shape} must have a known size"
            )
        shape = (int(c),)
        if self.scale:
            self.add_weight(
                shape,
                self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        else:
            self.gamma = None
        if self.center:
            self.add_weight(
                shape,
                self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        else:
            self.beta = None
        self.add_weight(shape, self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.add_weight(
            shape, self.moving_variance_initializer, trainable=False, name="moving_variance"
        )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: int(c)})
        self.built = True

    def call(self, inputs, training=None, mask=None):
        x = as_tensor(inputs, self.name)
        axis = self.axis % x.ndim
        c = x.shape[axis]
        # F.batch_norm reads (N, C, *): the feature axis moves to position 1 as a view (a
        # permute), and batch_norm works in the memory order it finds, so no layout is copied.
        if x.ndim == 1:
            perm, xv = None, shape_ops.reshape(x, (1, c))
        elif axis == 1:
            perm, xv = None, x
        else:
            perm = [a for a in range(x.ndim) if a != axis]
            perm.insert(1, axis)
            xv = shape_ops.permute(x, perm)
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if training and self.trainable:
            if x._data.size <= c:
                raise ValueError(
                    f"BatchNormalization layer {self.name!r}: training needs more than one value "
                    f"per feature to take batch statistics, got input of shape {x.shape}"
                )
            # the moving statistics are updated inside the op (Keras's formula), where a
            # compiled plan (jit_compile=True) replays the update
            out = keras_batch_norm(
                xv, self.moving_mean, self.moving_variance, gamma, beta, self.momentum, self.epsilon
            )
        else:
            out = F.batch_norm(
                xv, self.moving_mean, self.moving_variance, gamma, beta, False, eps=self.epsilon
            )
        if perm is not None:
            return shape_ops.permute(out, np.argsort(perm).tolist())
        return shape_ops.reshape(out, x.shape)

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "moving_mean_initializer": serialize_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": serialize_initializer(self.moving_variance_initializer),
            "beta_regularizer": serialize_regularizer(self.beta_regularizer),
            "gamma_regularizer": serialize_regularizer(self.gamma_regularizer),
            "beta_constraint": serialize_constraint(self.beta_constraint),
            "gamma_constraint": serialize_constraint(self.gamma_constraint),
            "synchronized": self.synchronized,
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, axis={self.axis}, momentum={self.momentum}"


class LayerNormalization(Layer):
    """Normalize each sample over ``axis`` (an int or a list of ints), then scale and shift.

    ``gamma * (x - mean) / sqrt(var + epsilon) + beta`` with the mean and (biased) variance
    taken over ``axis``; ``gamma`` and ``beta`` have the shape of those axes (in increasing
    axis order). Trailing axes go straight to ``F.layer_norm``; others are moved last first.

    Args:
        axis: the axis or axes to normalize over (-1: the features).
        epsilon: added to the variance (1e-3 as in Keras; torch's default is 1e-5).
        center, scale: learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as for any weight.

    >>> import nerve
    >>> from nerve import layers
    >>> y = layers.LayerNormalization()(nerve.randn(2, 5, 8))
    >>> bool(abs(y._data.mean(-1)).max() < 1e-5)
    True
    """

    def __init__(
        self,
        axis=-1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis:
                raise ValueError("LayerNormalization: axis must be an int or a non-empty list")
            self.axis = [int(a) for a in axis]
        else:
            self.axis = int(axis)
        self.epsilon = float(epsilon)
        if self.epsilon <= 0.0:
            raise ValueError(f"LayerNormalization: epsilon must be positive, got {epsilon}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = check_constraint(beta_constraint, "LayerNormalization")
        self.gamma_constraint = check_constraint(gamma_constraint, "LayerNormalization")
        self.supports_masking = True

    def _axes(self, shape: tuple) -> tuple:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        positions = sorted({_axis_index(a, len(shape), self, shape) for a in axes})
        if len(positions) != len(axes):
            raise ValueError(
                f"LayerNormalization layer {self.name!r}: axis {self.axis} names an axis twice "
                f"for an input of shape {shape}"
            )
        return tuple(positions)

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        axes = self._axes(input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if any(s is None for s in shape):
            raise ValueError(
                f"LayerNormalization layer {self.name!r}: the normalized axes {axes} of input "
                f"shape {input_shape} must have known sizes"
            )
        if self.scale:
            self.add_weight(
                shape,
                self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        else:
            self.gamma = None
        if self.center:
            self.add_weight(
                shape,
                self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        else:
            self.beta = None
        given = self.axis if isinstance(self.axis, list) else [self.axis]
        spec_axes = {a: int(input_shape[a]) for a in given}
        min_ndim = max(a + 1 if a >= 0 else -a for a in given)
        self.input_spec = InputSpec(min_ndim=min_ndim, axes=spec_axes)
        self.built = True

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        axes = self._axes(x.shape)
        norm_shape = tuple(x.shape[a] for a in axes)
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        k = len(axes)
        if axes == tuple(range(x.ndim - k, x.ndim)):
            return F.layer_norm(x, norm_shape, gamma, beta, self.epsilon)
        order = [a for a in range(x.ndim) if a not in axes] + list(axes)
        moved = shape_ops.permute(x, order)
        out = F.layer_norm(moved, norm_shape, gamma, beta, self.epsilon)
        return shape_ops.permute(out, tuple(np.argsort(order)))

    def compute_mask(self, inputs, mask=None):
        return input_mask(inputs, mask)

    def get_config(self) -> dict:
        axis = list(self.axis) if isinstance(self.axis, list) else self.axis
        return {
            **super().get_config(),
            "axis": axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "beta_regularizer": serialize_regularizer(self.beta_regularizer),
            "gamma_regularizer": serialize_regularizer(self.gamma_regularizer),
            "beta_constraint": serialize_constraint(self.beta_constraint),
            "gamma_constraint": serialize_constraint(self.gamma_constraint),
        }
