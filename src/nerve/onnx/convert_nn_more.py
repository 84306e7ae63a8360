"""ONNX converters (or NOT_EXPORTABLE reasons) for the modules the torch door adds."""

from __future__ import annotations

from nerve.onnx.registry import NOT_EXPORTABLE, Call, converter  # noqa: F401
