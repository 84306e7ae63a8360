"""Keras-style depthwise and separable convolution layers: DepthwiseConv2D, SeparableConv2D.

Both run F.conv2d with groups = input channels (a separate filter per channel); SeparableConv2D
follows it with a 1x1 pointwise conv. Kernels keep Keras's channels-last layouts:
(kh, kw, in, depth_multiplier) depthwise, (1, 1, in * depth_multiplier, filters) pointwise.
The shared machinery (arguments, padding, layouts) is :class:`nerve.layers.conv._Conv`.
"""

from __future__ import annotations

import numpy as np

from nerve import initializers, regularizers
from nerve.layers.conv import (
    _Conv,
    _conv2d,
    as_input,
    serialize_initializer,
    serialize_regularizer,
)
from nerve.nn import functional as F

__all__ = ["DepthwiseConv2D", "SeparableConv2D"]


class DepthwiseConv2D(_Conv):
    """A separate 2-d convolution of each input channel (F.conv2d with groups = channels).

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias:
            as :class:`Conv2D`.
        depth_multiplier: output channels per input channel.
        depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
            activity_regularizer: Keras initializers and regularizers.

    Shape:
        (N, H, W, C) -> (N, H_out, W_out, C * depth_multiplier); output channel
        c * depth_multiplier + m is input channel c under kernel[..., c, m].
        Weights: kernel (kh, kw, C, depth_multiplier), bias (C * depth_multiplier,).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.DepthwiseConv2D(3, depth_multiplier=2)(nerve.ones(1, 6, 6, 4)).shape
    (1, 4, 4, 8)
    """

    rank = 2
    _allows_causal = False

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            None,
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            1,
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            depthwise_regularizer,
            bias_regularizer,
            **kwargs,
        )
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(
                f"DepthwiseConv2D: depth_multiplier must be a positive int, got "
                f"{depth_multiplier!r}"
            )
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            self.kernel_size + (channels, self.depth_multiplier),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (channels * self.depth_multiplier,),
                self.bias_initializer,
                regularizer=self.bias_regularizer,
                name="bias",
            )
        else:
            self.bias = None
        self.built = True

    def call(self, inputs):
        x = as_input(self, inputs)
        spatial = self._spatial(x)
        pads = self._pads(spatial)
        self._check_fits(spatial, pads)
        kh, kw, c, m = self.kernel.shape
        w = self.kernel.reshape(kh, kw, 1, c * m).permute(3, 2, 0, 1)  # (C*M, 1, kh, kw)
        stride, dilation = self._geometry()
        y = _conv2d(self._nchw(x), w, self.bias, stride, pads, dilation, c)
        return self._finish(y)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        return config


class SeparableConv2D(_Conv):
    """A depthwise 2-d convolution followed by a 1x1 (pointwise) convolution, as Keras.

    Args:
        filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
            use_bias: as :class:`Conv2D` (strides, padding and dilation apply to the
            depthwise step).
        depth_multiplier: depthwise output channels per input channel.
        depthwise_initializer, pointwise_initializer, bias_initializer,
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer.

    Shape:
        (N, H, W, C) -> (N, H_out, W_out, filters). Weights: depthwise_kernel
        (kh, kw, C, depth_multiplier), pointwise_kernel (1, 1, C * depth_multiplier, filters),
        bias (filters,).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.SeparableConv2D(5, 3, padding="same")(nerve.ones(1, 6, 6, 4)).shape
    (1, 6, 6, 5)
    """

    rank = 2
    _allows_causal = False

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            1,
            activation,
            use_bias,
            depthwise_initializer,
            bias_initializer,
            depthwise_regularizer,
            bias_regularizer,
            **kwargs,
        )
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(
                f"SeparableConv2D: depth_multiplier must be a positive int, got "
                f"{depth_multiplier!r}"
            )
        self.depth_multiplier = int(depth_multiplier)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            self.kernel_size + (channels, self.depth_multiplier),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            name="pointwise_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                name="bias",
            )  # fmt: skip
        else:
            self.bias = None
        self.built = True

    def call(self, inputs):
        x = as_input(self, inputs)
        spatial = self._spatial(x)
        pads = self._pads(spatial)
        self._check_fits(spatial, pads)
        kh, kw, c, m = self.depthwise_kernel.shape
        dw = self.depthwise_kernel.reshape(kh, kw, 1, c * m).permute(3, 2, 0, 1)
        pw = self.pointwise_kernel.permute(3, 2, 0, 1)  # (filters, C*M, 1, 1)
        stride, dilation = self._geometry()
        y = _conv2d(self._nchw(x), dw, None, stride, pads, dilation, c)
        y = F.conv2d(y, pw, self.bias)
        return self._finish(y)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["groups"]
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        config["pointwise_initializer"] = serialize_initializer(self.pointwise_initializer)
        config["pointwise_regularizer"] = serialize_regularizer(self.pointwise_regularizer)
        return config
