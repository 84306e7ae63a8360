"""Every differentiable op, registered once by name.

The tests walk this registry to gradcheck and torch-compare every op. The ONNX exporter converts
whole layers and modules (its converters in ``nerve.onnx`` are keyed by class, and a coverage
test checks every public layer and module has one or a stated reason), not single ops: a graph
of layers maps onto ONNX's own operators far more directly than a trace of primitives would.
"""

from __future__ import annotations

OPS: dict[str, type] = {}


def register(name: str):
    """Class decorator: record a Function subclass under ``name`` and give it that name."""

    def decorate(cls):
        if name in OPS and OPS[name] is not cls:
            raise ValueError(
                f"op {name!r} is registered twice ({OPS[name].__qualname__}, {cls.__qualname__})"
            )
        cls.op_name = name
        OPS[name] = cls
        return cls

    return decorate


def registered_ops() -> dict[str, type]:
    """A copy of the registry: op name -> Function class."""
    return dict(OPS)
