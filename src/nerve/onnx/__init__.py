"""ONNX export: ``nerve.onnx.export(model, example_input, path)``.

Needs the optional ``onnx`` extra (``pip install nerve[onnx]``: onnx, and onnxruntime for
``quantize='int8'``); both are imported only when an export runs. Converters are keyed by
module and layer class in ``CONVERTERS``; ``converter(cls)`` registers one for a custom module.
"""

from nerve.onnx.export import export
from nerve.onnx.graph import ExportError
from nerve.onnx.registry import CONVERTERS, Call, converter

__all__ = ["CONVERTERS", "Call", "ExportError", "converter", "export"]
