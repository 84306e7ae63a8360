"""Static int8 quantization of an exported graph with onnxruntime's quantizer (QDQ format)."""

from __future__ import annotations

import os
import tempfile

from nerve.onnx._deps import require_onnxruntime


def quantize_file(proto, path: str, batches: list) -> None:
    """Quantize the float ``proto`` with ``batches`` (tuples of input arrays) for calibration,
    and write the int8 model to ``path`` atomically.

    Weights are symmetric per-channel int8 and activations uint8 with ranges from the
    calibration batches (min/max). ``reduce_range`` keeps the weights to 7 bits: on x86 CPUs
    without VNNI, onnxruntime's u8s8 kernels add pairs of products in 16 bits, which full-range
    weights can saturate.
    """
    require_onnxruntime()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    names = [i.name for i in proto.graph.input]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter(batches)

        def get_next(self):
            batch = next(self._it, None)
            return None if batch is None else dict(zip(names, batch))

    directory = os.path.dirname(os.path.abspath(path))
    tmp = tempfile.mkdtemp(dir=directory, prefix=".tmp-quant-")
    try:
        float_path = os.path.join(tmp, "float.onnx")
        prepared_path = os.path.join(tmp, "prepared.onnx")
        int8_path = os.path.join(tmp, "int8.onnx")
        with open(float_path, "wb") as f:
            f.write(proto.SerializeToString())
        # shape inference and graph fusions first (a BatchNormalization folded into the Conv
        # before it), so that every Conv / Gemm becomes one int8 kernel, not a chain of
        # quantize / dequantize pairs around unfused ops
        quant_pre_process(float_path, prepared_path)
        quantize_static(
            prepared_path,
            int8_path,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        os.replace(int8_path, path)
    finally:
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)
