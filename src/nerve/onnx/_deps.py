"""The optional ``onnx`` extra, imported only when an export runs."""

from __future__ import annotations

_HINT = "pip install nerve[onnx]"


def require_onnx():
    """The ``onnx`` module, or an ImportError that names the install command."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"nerve.onnx needs the onnx package: {_HINT} ({exc})") from None
    return onnx


def require_onnxruntime():
    """The ``onnxruntime`` module, or an ImportError that names the install command."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"this needs the onnxruntime package: {_HINT} ({exc})") from None
    return onnxruntime
