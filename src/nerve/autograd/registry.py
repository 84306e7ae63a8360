"""Every differentiable op, registered once by name.

The tests walk this registry to gradcheck and torch-compare every op. ONNX export uses it two
ways: models built from nerve's modules are converted module by module (``nerve.onnx``'s
converters, keyed by class), and a model with its own ``forward()`` is traced: while a trace
hook is set (``TRACE["hook"]``, by ``nerve.onnx.trace`` only), ``Function.apply`` reports each
op call, and the exporter writes each op's ONNX form (``nerve.onnx.op_forms``, keyed by the
names registered here; a coverage test checks every op has a form or a stated reason).
"""

from __future__ import annotations

import threading

OPS: dict[str, type] = {}

# The op tracer: None, or hook(op_class, inputs, params, result, inplace=False) that
# Function.apply calls after each op while an ONNX export traces a forward pass.
TRACE: dict = {"hook": None}

# Held by whoever swaps Function.apply (or Tensor methods) and sets TRACE["hook"] for a run
# (nerve.onnx.trace, nerve.compiler.record), from the patch to the restore: two overlapping
# runs in two threads would otherwise each save the other's wrapper as the original.
PATCH_LOCK = threading.RLock()


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


def trace_inplace(op_name: str, target, other) -> None:
    """Tell the tracer (when one runs) that ``target`` was updated in place by ``op_name``
    with ``other`` (``x += y`` is ``add``): an in-place update made outside ``Function.apply``
    would otherwise be invisible to it."""
    hook = TRACE["hook"]
    if hook is not None:
        hook(OPS[op_name], (target, other), {}, target, inplace=True)
