"""The ONNX forms of nerve's registered ops, for tracing (``nerve.onnx.trace``).

A form is ``fn(g, node)``: it adds the nodes that compute op ``node.op`` on ``node.inputs``
(Values; constants are ``trace.Const``) with ``node.params`` (the op's keyword parameters as
``Function.apply`` got them) to the GraphBuilder ``g`` and returns the ONNX names of the
outputs, one per entry of ``node.outputs`` (nerve's results at both batch sizes, so a form can
read static shapes and see which axes are dynamic). ``@form("add")`` registers one;
``NOT_EXPORTABLE_OPS`` lists the ops that have no ONNX form on purpose, with the reason.
The forms themselves live in ``forms_math.py``, ``forms_shape.py`` and ``forms_nn.py``.
"""

from __future__ import annotations

import numpy as np

FORMS: dict[str, object] = {}
NOT_EXPORTABLE_OPS: dict[str, str] = {}


def form(*names):
    """Decorator: register ``fn`` as the ONNX form of each op in ``names``."""

    def decorate(fn):
        for name in names:
            FORMS[name] = fn
        return fn

    return decorate


# ----------------------------------------------------------------------------- helpers
def onnx_type(g, dtype) -> int:
    return g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def cast(g, name: str, dtype) -> str:
    return g.op("Cast", [name], to=onnx_type(g, dtype))


def axes_list(axes, ndim: int):
    """Reduction axes (None, an int or a tuple) as a sorted list of non-negative ints, or None
    for all axes."""
    if axes is None:
        return None
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    return sorted(int(a) % max(ndim, 1) for a in axes)


def reduce(g, op: str, x: str, axes, keepdims: bool) -> str:
    """A Reduce* node: axes as an input from opset 18 (ReduceSum from 13), an attribute before."""
    keep = int(bool(keepdims))
    if axes is None:
        return g.op(op, [x], keepdims=keep)
    if op == "ReduceSum" or g.opset >= 18:
        return g.op(op, [x, g.ints(axes)], keepdims=keep)
    return g.op(op, [x], axes=list(axes), keepdims=keep)


def unsqueeze(g, x: str, axes) -> str:
    return g.op("Unsqueeze", [x, g.ints(axes)])


def squeeze(g, x: str, axes) -> str:
    return g.op("Squeeze", [x, g.ints(axes)])
