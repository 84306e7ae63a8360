"""ONNX export: ``nerve.onnx.export(model, args, f)``, as ``torch.onnx.export``.

Needs the optional ``onnx`` extra (``pip install nerve[onnx]``: onnx, and onnxruntime for
``quantize='int8'`` and ``verify=True``); both are imported only when an export runs.

Two ways in: models built from nerve's modules and layers are converted module by module
(converters keyed by class in ``CONVERTERS``; ``converter(cls)`` registers one for a custom
module); a module with its own ``forward()`` is traced, and each op it runs is written in its
ONNX form (keyed by op name in ``FORMS``; ``op_form(name)`` registers one for a custom op).
"""

from nerve.onnx.export import export
from nerve.onnx.graph import ExportError
from nerve.onnx.op_forms import FORMS
from nerve.onnx.op_forms import form as op_form
from nerve.onnx.registry import CONVERTERS, Call, converter

__all__ = ["CONVERTERS", "FORMS", "Call", "ExportError", "converter", "export", "op_form"]
