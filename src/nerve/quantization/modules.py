"""The int8 layers: each one is its float layer's class with the weight stored as int8 plus
per-channel float32 scales, and its input rounded to the calibrated int8 grid.

The compute stays float32: the weight is dequantized (``int8 * scale``) and the input
fake-quantized (rounded to its calibrated grid and back) on every call, so the outputs are what
an int8 kernel with float32 accumulation gives, at float32 speed. The quantized weights are
the class's ``weight`` (nn) or ``kernel`` (Keras) property, so the float layer's own forward
runs unchanged on them.
"""

from __future__ import annotations

import numpy as np

from nerve import layers, nn
from nerve.autograd.tensor import Tensor
from nerve.saving import register_serializable

QMIN, QMAX = -128, 127


def quantize_weight(
    w: np.ndarray, axis: int | None, reduce_range: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8: ``w ~= q * scale`` with q in [-127, 127] ([-63, 63] with
    ``reduce_range``) and one scale per slice along ``axis`` (the output channels), or one for
    the whole array when ``axis`` is None."""
    w = np.asarray(w, np.float32)
    qmax = 63.0 if reduce_range else 127.0
    if axis is None:
        amax = np.abs(w).max(keepdims=True).reshape(1)
        shape = (1,) * w.ndim
    else:
        axis = axis % w.ndim
        others = tuple(i for i in range(w.ndim) if i != axis)
        amax = np.abs(w).max(axis=others) if others else np.abs(w)
        shape = tuple(-1 if i == axis else 1 for i in range(w.ndim))
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale.reshape(shape)), -qmax, qmax).astype(np.int8)
    return q, scale


def activation_grid(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero_point) of an affine int8 grid covering [lo, hi] (and 0, exactly)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / (QMAX - QMIN) if hi > lo else 1.0
    zero_point = int(np.clip(round(QMIN - lo / scale), QMIN, QMAX))
    return scale, zero_point


class _Quantized:
    """Mixin of the int8 layers: int8 weight + scales as buffers, fake-quantized inputs."""

    _weight_name = "weight"
    _channel_axis = 0

    def _quantize(self, per_channel: bool, lo: float, hi: float, reduce_range: bool) -> None:
        name = self._weight_name
        w = self._parameters.pop(name)
        axis = self._channel_axis if per_channel else None
        q, scale = quantize_weight(w._data, axis, reduce_range)
        a_scale, zero_point = activation_grid(lo, hi)
        self.__dict__["per_channel"] = bool(per_channel)
        self.register_buffer("weight_int8", Tensor(q))
        self.register_buffer("weight_scale", Tensor(scale))
        self.register_buffer("input_scale", Tensor(np.array(a_scale, np.float32)))
        self.register_buffer("input_zero_point", Tensor(np.array(zero_point, np.int32)))

    def _dequantized(self) -> Tensor:
        q = self.weight_int8._data
        scale = self.weight_scale._data
        if scale.size > 1:
            axis = self._channel_axis % q.ndim
            scale = scale.reshape(tuple(-1 if i == axis else 1 for i in range(q.ndim)))
        return Tensor._wrap(q.astype(np.float32) * scale)

    def _fake_quantize(self, x):
        """``x`` rounded to the calibrated int8 grid (values outside it are clipped)."""
        data = x._data if isinstance(x, Tensor) else np.asarray(x, np.float32)
        s = self.input_scale._data.astype(np.float32)
        zp = np.float32(self.input_zero_point._data)
        q = np.clip(np.rint(data / s) + zp, QMIN, QMAX)
        return Tensor._wrap(((q - zp) * s).astype(np.float32, copy=False))


class _TorchQuantized(_Quantized):
    """The nn int8 layers: ``weight`` is the dequantized int8 weight; inputs are fake-quantized."""

    @property
    def weight(self):
        return self._dequantized()

    def forward(self, x):
        return super().forward(self._fake_quantize(x))


class QuantizedLinear(_TorchQuantized, nn.Linear):
    """nn.Linear with an int8 weight (one scale per output feature)."""


class QuantizedConv1d(_TorchQuantized, nn.Conv1d):
    """nn.Conv1d with an int8 weight (one scale per output channel)."""


class QuantizedConv2d(_TorchQuantized, nn.Conv2d):
    """nn.Conv2d with an int8 weight (one scale per output channel)."""


class _KerasQuantized(_Quantized):
    """The Keras-style int8 layers: ``kernel`` is the dequantized int8 kernel (one scale per
    unit or filter). They also come back from a .nerve file: built from their config, they turn
    their fresh float kernel into int8 buffers of the right shapes at once, which the file's
    weights then fill."""

    _weight_name = "kernel"
    _channel_axis = -1

    def __init__(self, *args, per_channel: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.__dict__["per_channel"] = bool(per_channel)

    def build(self, input_shape):
        super().build(input_shape)
        if self._weight_name in self._parameters:
            self._quantize(self.per_channel, 0.0, 0.0, reduce_range=False)

    def get_config(self) -> dict:
        return {**super().get_config(), "per_channel": self.per_channel}

    @property
    def kernel(self):
        return self._dequantized()

    def call(self, inputs):
        return super().call(self._fake_quantize(inputs))


@register_serializable(package="nerve")
class QuantizedDense(_KerasQuantized, layers.Dense):
    """Keras-style Dense with an int8 kernel (one scale per unit)."""


@register_serializable(package="nerve")
class QuantizedConv1D(_KerasQuantized, layers.Conv1D):
    """Keras-style Conv1D with an int8 kernel (one scale per filter)."""


@register_serializable(package="nerve")
class QuantizedConv2D(_KerasQuantized, layers.Conv2D):
    """Keras-style Conv2D with an int8 kernel (one scale per filter)."""


# float class -> its int8 class
QUANTIZED = {
    nn.Linear: QuantizedLinear,
    nn.Conv1d: QuantizedConv1d,
    nn.Conv2d: QuantizedConv2d,
    layers.Dense: QuantizedDense,
    layers.Conv1D: QuantizedConv1D,
    layers.Conv2D: QuantizedConv2D,
}
