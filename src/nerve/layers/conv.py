"""Keras-style convolution layers: Conv1D, Conv2D and their transposes (depthwise and
separable ones are in conv_depthwise.py, on the _Conv base defined here).

Kernels keep Keras's channels-last layout, so ``get_weights``/``set_weights`` exchange arrays
with Keras unchanged: (kh, kw, in/groups, filters) for Conv2D, (kh, kw, filters, in) for
Conv2DTranspose, (kh, kw, in, depth_multiplier) for DepthwiseConv2D. The math is the NCHW ops of
nn.functional; a call permutes the input and the kernel into that layout (views: the conv op's
batch-last internal layout makes the NHWC <-> NCHW permutes free, see ``_nchw``). 1-d layers run
the 2-d op with a unit height.

Keras's 'same' padding puts the odd unit of padding after (bottom/right), like TensorFlow, for
every stride; for strides > 1 that is asymmetric, which F.conv2d cannot express, so those calls
go to the conv op directly with explicit (before, after) pads.
"""

from __future__ import annotations

import numpy as np

from nerve import activations, initializers, regularizers
from nerve.autograd.tensor import Tensor
from nerve.layers.base import InputSpec, Layer, cast_integers
from nerve.nn import functional as F
from nerve.nn.functional.conv import Conv2d
from nerve.primitives.common import as_tensor

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
]


# ----------------------------------------------------------------------------- shared helpers
def normalize_tuple(value, n: int, name: str, layer: str, minimum: int = 1) -> tuple:
    """An int or ``n`` ints (each >= ``minimum``) as a tuple of ``n`` ints, or a clear error."""
    items = (value,) * n if isinstance(value, (int, np.integer)) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != n
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items)
    ):
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{layer}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def data_format_of(value, layer: str) -> str:
    value = "channels_last" if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer}: data_format must be 'channels_last' or 'channels_first', got {value!r}"
        )
    return value


def padding_of(value, layer: str, allowed=("valid", "same")) -> str:
    v = value.lower() if isinstance(value, str) else value
    if v not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {value!r}")
    return v


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple:
    """TensorFlow's 'same': output ceil(size / stride), the odd unit of padding after."""
    span = dilation * (kernel - 1) + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def serialize_initializer(init):
    return initializers.serialize(init)


def serialize_regularizer(reg):
    return None if reg is None else regularizers.serialize(reg)


def serialize_activation(fn):
    return activations.serialize(fn)


def base_config(layer: Layer) -> dict:
    """Layer's own config plus the activity regularizer every Keras layer takes."""
    config = Layer.get_config(layer)
    config["activity_regularizer"] = serialize_regularizer(layer.activity_regularizer)
    return config


def as_input(layer: Layer, inputs) -> Tensor:
    """``inputs`` as a Tensor, checked against the layer's InputSpec when it was not a Tensor
    (Layer.__call__ checks Tensors)."""
    if isinstance(inputs, Tensor):
        return cast_integers(layer, inputs)
    x = cast_integers(layer, as_tensor(inputs, layer.name))
    if layer.input_spec is not None:
        layer.input_spec.check(layer, x)
    return x


def _conv2d(x, w, b, stride, pads, dilation, groups):
    """F.conv2d on (N, C, H, W), or the conv op itself when the pads are asymmetric."""
    if all(lo == hi for lo, hi in pads):
        return F.conv2d(x, w, b, stride, tuple(lo for lo, _ in pads), dilation, groups)
    return Conv2d.apply(x, w, b, stride=stride, padding=pads, dilation=dilation, groups=groups)


# ----------------------------------------------------------------------------- base class
class _Conv(Layer):
    """Shared argument handling, layout changes and config of the convolution layers."""

    rank = 2
    _allows_causal = True  # padding='causal' (1-d convolutions only)

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        cls, n = type(self).__name__, self.rank
        if filters is not None and (
            not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1
        ):
            raise ValueError(f"{cls}: filters must be a positive int, got {filters!r}")
        if not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{cls}: groups must be a positive int, got {groups!r}")
        if filters is not None and filters % groups:
            raise ValueError(f"{cls}: filters ({filters}) must be divisible by groups ({groups})")
        self.filters = None if filters is None else int(filters)
        self.groups = int(groups)
        self.kernel_size = normalize_tuple(kernel_size, n, "kernel_size", cls)
        self.strides = normalize_tuple(strides, n, "strides", cls)
        self.dilation_rate = normalize_tuple(dilation_rate, n, "dilation_rate", cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{cls}: strides > 1 ({self.strides}) cannot be combined with dilation_rate > 1 "
                f"({self.dilation_rate}), as in Keras"
            )
        causal = n == 1 and self._allows_causal
        self.padding = padding_of(padding, cls, ("valid", "same", "causal")[: 3 if causal else 2])
        self.data_format = data_format_of(data_format, cls)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    # -- layout
    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape) -> int:
        cls = type(self).__name__
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{cls} {self.name!r}: expected a {self.rank + 2}-d input (batch, "
                f"{'spatial..., channels' if self._channel_axis == -1 else 'channels, spatial...'}"
                f"), got shape {tuple(input_shape)}"
            )
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{cls} {self.name!r}: the channel dim of the input must be known")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        return int(channels)

    def _nchw(self, x: Tensor) -> Tensor:
        """The input as (N, C, H, W) (a view). From NHWC memory the conv op's first step (a
        transpose to (C, H, W, N)) copies either way; its output is an (N, C, H, W) view of
        (C, H, W, N) memory, so NHWC views of it and NCHW views back cost no copy."""
        if self.rank == 1:
            x = x.permute(0, 2, 1) if self.data_format == "channels_last" else x
            return x.unsqueeze(2)
        return x.permute(0, 3, 1, 2) if self.data_format == "channels_last" else x

    def _from_nchw(self, y: Tensor) -> Tensor:
        if self.rank == 1:
            y = y.squeeze(2)
            return y.permute(0, 2, 1) if self.data_format == "channels_last" else y
        return y.permute(0, 2, 3, 1) if self.data_format == "channels_last" else y

    def _spatial(self, x: Tensor) -> tuple:
        return tuple(x.shape[1:-1] if self.data_format == "channels_last" else x.shape[2:])

    def _pads(self, spatial: tuple) -> tuple:
        """(before, after) per spatial dim, 2-d (a leading (0, 0) for the unit height of 1-d)."""
        k, s, d = self.kernel_size, self.strides, self.dilation_rate
        if self.padding == "valid":
            pads = ((0, 0),) * self.rank
        elif self.padding == "causal":
            pads = ((d[0] * (k[0] - 1), 0),)
        else:
            pads = tuple(same_pads(*a) for a in zip(spatial, k, s, d))
        return ((0, 0),) * (2 - self.rank) + pads

    def _geometry(self) -> tuple:
        """strides and dilation as pairs (1-d layers run the 2-d op with a unit height)."""
        one = (1,) * (2 - self.rank)
        return one + self.strides, one + self.dilation_rate

    def _check_fits(self, spatial: tuple, pads: tuple) -> None:
        pads = pads[2 - self.rank :]
        for n, (lo, hi), k, d in zip(spatial, pads, self.kernel_size, self.dilation_rate):
            if n + lo + hi < d * (k - 1) + 1:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: kernel_size {self.kernel_size} "
                    f"(dilation_rate {self.dilation_rate}) is larger than the input's spatial "
                    f"size {spatial} with padding={self.padding!r}"
                )

    def _finish(self, y: Tensor) -> Tensor:
        return self.activation(self._from_nchw(y))

    # -- config
    def get_config(self) -> dict:
        config = base_config(self)
        config.update(
            filters=self.filters,
            kernel_size=list(self.kernel_size),
            strides=list(self.strides),
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=list(self.dilation_rate),
            groups=self.groups,
            activation=serialize_activation(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=serialize_initializer(self.kernel_initializer),
            bias_initializer=serialize_initializer(self.bias_initializer),
            kernel_regularizer=serialize_regularizer(self.kernel_regularizer),
            bias_regularizer=serialize_regularizer(self.bias_regularizer),
        )
        return config

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
            f"strides={self.strides}, padding={self.padding!r}"
        )


# ----------------------------------------------------------------------------- convolutions
class _ConvND(_Conv):
    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: the input's {channels} channels are not "
                f"divisible by groups={self.groups} (input shape {tuple(input_shape)})"
            )
        self.kernel = self.add_weight(
            self.kernel_size + (channels // self.groups, self.filters),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self.filters,), self.bias_initializer, regularizer=self.bias_regularizer,
                name="bias",
            )  # fmt: skip
        else:
            self.bias = None
        self.built = True

    def _torch_kernel(self) -> Tensor:
        """The kernel as (filters, in/groups, kh, kw), a view."""
        if self.rank == 1:  # (k, in, out) -> (out, in, 1, k)
            return self.kernel.permute(2, 1, 0).unsqueeze(2)
        return self.kernel.permute(3, 2, 0, 1)

    def call(self, inputs):
        x = as_input(self, inputs)
        spatial = self._spatial(x)
        pads = self._pads(spatial)
        self._check_fits(spatial, pads)
        stride, dilation = self._geometry()
        y = _conv2d(
            self._nchw(x), self._torch_kernel(), self.bias, stride, pads, dilation, self.groups
        )
        return self._finish(y)


class Conv2D(_ConvND):
    """2-d convolution over (batch, height, width, channels) images (channels_last), as Keras.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (kh, kw).
        strides: an int or a pair; strides > 1 cannot be combined with dilation_rate > 1.
        padding: 'valid' (none) or 'same' (output size ceil(input / stride); an odd total of
            padding puts the extra row/column at the bottom/right, as TensorFlow).
        data_format: 'channels_last' (default, (N, H, W, C)) or 'channels_first' (N, C, H, W).
        dilation_rate: an int or a pair.
        groups: split the input channels into this many independent convolutions.
        activation: applied to the output (a name, a callable or None).
        use_bias: add a learned bias per filter.
        kernel_initializer, bias_initializer: Keras initializers (names or objects).
        kernel_regularizer, bias_regularizer, activity_regularizer: Keras regularizers.

    Shape:
        (N, H, W, C) -> (N, H_out, W_out, filters) (channels_last).
        Weights: kernel (kh, kw, C / groups, filters), bias (filters,).

    Raises:
        ValueError: bad arguments; when called, an input whose channels differ from the ones
            the layer was built for, or smaller than the kernel.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Conv2D(8, 3, strides=2, padding="same")(nerve.ones(2, 9, 9, 3)).shape
    (2, 5, 5, 8)
    """

    rank = 2


class Conv1D(_ConvND):
    """1-d convolution over (batch, steps, channels), as Keras; arguments as :class:`Conv2D`
    with ints instead of pairs, and padding also 'causal' (dilation_rate * (kernel_size - 1)
    zeros before the sequence, none after, so output t sees inputs <= t).

    Shape:
        (N, L, C) -> (N, L_out, filters). Weights: kernel (k, C / groups, filters), bias.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Conv1D(4, 3, padding="causal")(nerve.ones(2, 10, 3)).shape
    (2, 10, 4)
    """

    rank = 1


# ----------------------------------------------------------------------------- transposed
def transpose_geometry(size, kernel, stride, dilation, padding, output_padding) -> tuple:
    """(crop at the start, output length) of a Keras transposed convolution along one dim.

    The full transposed convolution is (size - 1) * stride + dilated kernel long; Keras keeps
    ``length`` elements starting at ``crop`` (TensorFlow's convention, which Keras 3's JAX and
    torch backends follow). With
    'same' and no output_padding, that is the input gradient of a 'same' convolution with the
    odd unit of padding at the end (length size * stride).
    """
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        op = max(span, stride) - span if output_padding is None else output_padding
        return 0, (size - 1) * stride + span + op
    pad_len = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, span - 1)
    return span - 1 - left, (size - 1) * stride + 2 + pad_len - span


class _ConvTranspose(_Conv):
    _allows_causal = False

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
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
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            **kwargs,
        )
        cls = type(self).__name__
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, self.rank, "output_padding", cls, 0)
            if any(o >= s for o, s in zip(output_padding, self.strides)):
                raise ValueError(
                    f"{cls}: output_padding {output_padding} must be smaller than the strides "
                    f"{self.strides}"
                )
        self.output_padding = output_padding

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            self.kernel_size + (self.filters, channels),
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="kernel",
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
        ops = self.output_padding or (None,) * self.rank
        geo = [
            transpose_geometry(*a, self.padding, o)
            for a, o in zip(
                zip(self._spatial(x), self.kernel_size, self.strides, self.dilation_rate), ops
            )
        ]
        # conv_transpose2d crops ``pad`` from both ends of the full output (extended at the end
        # by ``extra``); an unequal crop is finished by slicing.
        pads, extras, slices = [], [], []
        for (crop, length), n, k, s, d in zip(
            geo, self._spatial(x), self.kernel_size, self.strides, self.dilation_rate
        ):
            full = (n - 1) * s + d * (k - 1) + 1
            after = full - crop - length  # negative: zeros needed past the end
            extra = max(-after, 0)
            pad = min(crop, max(after, 0))
            pads.append(pad)
            extras.append(extra)
            slices.append(slice(crop - pad, crop - pad + length))
        if self.rank == 1:  # (k, out, in) -> (in, out, 1, k)
            w = self.kernel.permute(2, 1, 0).unsqueeze(2)
            pads, extras, slices = [0] + pads, [0] + extras, [slice(None)] + slices
        else:  # (kh, kw, out, in) -> (in, out, kh, kw)
            w = self.kernel.permute(3, 2, 0, 1)
        stride, dilation = self._geometry()
        y = F.conv_transpose2d(
            self._nchw(x), w, self.bias, stride, tuple(pads), tuple(extras), 1, dilation
        )
        if any(sl != slice(0, size) for sl, size in zip(slices, y.shape[2:])):
            y = y[(slice(None), slice(None), *slices)]
        return self._finish(y)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = (
            None if self.output_padding is None else list(self.output_padding)
        )
        return config


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-d convolution (the gradient of Conv2D with respect to its input), as Keras.

    Args:
        filters, kernel_size, strides, padding ('valid' | 'same'), data_format, dilation_rate,
        activation, use_bias, initializers and regularizers: as :class:`Conv2D`.
        output_padding: None, or an int / pair (smaller than the strides) of extra rows and
            columns.

    Shape:
        (N, H, W, C) -> (N, H_out, W_out, filters); with output_padding None, H_out is
        H * stride ('same') or H * stride + max(kh - stride, 0) ('valid').
        Weights: kernel (kh, kw, filters, C) (Keras's layout), bias (filters,).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Conv2DTranspose(4, 3, strides=2, padding="same")(nerve.ones(1, 5, 5, 2)).shape
    (1, 10, 10, 4)
    """

    rank = 2


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-d convolution over (batch, steps, channels); see :class:`Conv2DTranspose`.

    Weights: kernel (k, filters, C), bias (filters,).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Conv1DTranspose(4, 3, strides=2)(nerve.ones(2, 5, 3)).shape
    (2, 11, 4)
    """

    rank = 1


# ----------------------------------------------------------------------------- depthwise
