"""Operand handling shared by the elementwise families (arithmetic, comparisons, rounding,
activations): dtype lifting to float, broadcast errors that name the op, the no-gradient base."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.primitives.common import as_tensor, binary_operands, check_broadcast, require_float

SCALARS = (int, float, bool, np.number, np.bool_)


def binary(fn_cls, a, b, op: str, **params):
    a, b = binary_operands(a, b, op)
    try:
        return fn_cls.apply(a, b, **params)
    except ValueError:
        check_broadcast(op, a._data, b._data)
        raise


def check_shapes(op: str, *arrays) -> None:
    """Raise a clear error when several shapes do not broadcast (called after NumPy failed)."""
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays[:-1])
        raise ValueError(
            f"{op}: shapes {shapes} and {arrays[-1].shape} cannot be broadcast together"
        ) from None


def to_float(x, op: str) -> Tensor:
    """``x`` as a float Tensor: ints and bools become float32, as torch promotes them."""
    x = as_tensor(x, op)
    if x._data.dtype.kind != "f":
        return Tensor._wrap(x._data.astype(DEFAULT_FLOAT))
    return x


def float_only(x, op: str) -> Tensor:
    """``x`` as a Tensor, or a TypeError when it is not floating point (torch refuses too)."""
    x = as_tensor(x, op)
    require_float(op, x)
    return x


def not_bool(x, op: str) -> Tensor:
    x = as_tensor(x, op)
    if x._data.dtype.kind == "b":
        raise TypeError(f"{op} does not support bool tensors; use logical_not or cast with .int()")
    return x


class NoGrad(Function):
    """Base of ops whose result carries no gradient (comparisons, logic, integer quotients)."""

    differentiable = ()

    def backward(self, *grad_outputs):  # pragma: no cover - apply never records these ops
        return (None,) * len(self.inputs)
