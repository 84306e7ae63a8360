"""Post-training int8 quantization: ``quantize(model, calibration_data)``.

For int8 kernels at inference, export the float model with
``nerve.onnx.export(model, x, path, quantize='int8', calibration_data=...)``.
"""

from nerve.quantization.modules import (
    QUANTIZED,
    QuantizedConv1D,
    QuantizedConv1d,
    QuantizedConv2D,
    QuantizedConv2d,
    QuantizedDense,
    QuantizedLinear,
    activation_grid,
    quantize_weight,
)
from nerve.quantization.quantize import quantize, state_nbytes

__all__ = [
    "QUANTIZED",
    "QuantizedConv1D",
    "QuantizedConv1d",
    "QuantizedConv2D",
    "QuantizedConv2d",
    "QuantizedDense",
    "QuantizedLinear",
    "activation_grid",
    "quantize",
    "quantize_weight",
    "state_nbytes",
]
