"""The converters, keyed by module or layer class: ``@converter(nn.Linear)`` registers one.

A converter is ``fn(g, call)``: it adds the nodes that compute ``call.module`` on
``call.args`` / ``call.kwargs`` (Values for tensors; ``call.inputs`` lists them) to the
GraphBuilder ``g`` and returns the ONNX names of the outputs, one per entry of
``call.outputs`` (nerve's own outputs, flattened; None where nerve gave None).

Converters are keyed by class: a converter sees a layer's arguments (padding, gate order,
layout) rather than the ops that its forward happens to run. A module with its own forward()
and no converter is traced instead (``nerve.onnx.trace``): its ops are written one by one.
"""

from __future__ import annotations

from nerve.onnx.graph import ExportError, Value

CONVERTERS: dict[type, object] = {}
# classes that have no ONNX form on purpose -> why (the export error says it)
NOT_EXPORTABLE: dict[type, str] = {}
# base classes whose subclasses without a converter are traced: their forward()/call() runs
# under the op tracer (nerve.onnx.trace) and each op is written in its ONNX form
TRACED: set = set()


class Call:
    """One module call being converted: the module, its inputs, nerve's outputs, a name."""

    __slots__ = ("module", "args", "kwargs", "inputs", "outputs", "prefix")

    def __init__(self, module, args: tuple, kwargs: dict, outputs: list, prefix: str):
        self.module, self.args, self.kwargs = module, tuple(args), dict(kwargs)
        self.inputs = values_in((self.args, self.kwargs))
        self.outputs, self.prefix = outputs, prefix

    @property
    def x(self) -> Value:
        return self.inputs[0]

    @property
    def out(self) -> Value:
        return self.outputs[0]

    @property
    def what(self) -> str:
        """How errors name the module: its class and its place in the model."""
        return f"{type(self.module).__name__} {self.prefix!r}"

    def fail(self, why: str) -> ExportError:
        return ExportError(f"nerve.onnx.export: {self.what} cannot be exported: {why}")


def values_in(structure, out: list | None = None) -> list:
    """The Values in a nested structure of lists, tuples and dicts, in order."""
    out = [] if out is None else out
    if isinstance(structure, Value):
        out.append(structure)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            values_in(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            values_in(s, out)
    return out


def converter(*classes):
    """Class decorator: register ``fn`` as the converter of each of ``classes``."""

    def decorate(fn):
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return decorate


def find_converter(module):
    """The converter of ``module``'s class, or of its nearest registered base class (only when
    the subclass keeps the base's forward/call, so that the conversion still holds)."""
    cls = type(module)
    if cls in CONVERTERS:
        return CONVERTERS[cls]
    for base in cls.__mro__[1:]:
        if base in CONVERTERS:
            same = all(
                getattr(cls, meth, None) is getattr(base, meth, None)
                for meth in ("forward", "call")
            )
            return CONVERTERS[base] if same else None
    return None
