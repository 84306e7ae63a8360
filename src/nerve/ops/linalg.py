"""Linear algebra: matmul (batch broadcasting), dot, outer, einsum."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import binary_operands


@register("matmul")
class MatMul(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.a = a if need_b else None
        self.b = b if need_a else None
        self.a_vec, self.b_vec = a.ndim == 1, b.ndim == 1
        return a @ b

    def backward(self, g):
        # Promote 1-d operands as matmul does (a to a row, b to a column), then squeeze back.
        a, b = self.a, self.b
        if self.a_vec:
            g = g[..., None, :]
            a = None if a is None else a[None, :]
        if self.b_vec:
            g = g[..., None]
            b = None if b is None else b[:, None]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = np.matmul(g, np.swapaxes(b, -1, -2))
            if self.a_vec:
                ga = ga[..., 0, :]
        if self.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a, -1, -2), g)
            if self.b_vec:
                gb = gb[..., 0]
        return ga, gb


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/torch semantics (batch dims broadcast; 1-d operands allowed)."""
    a, b = binary_operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}"
        )
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not match "
            f"({a.shape[-1]} columns vs {b.shape[-2 if b.ndim > 1 else 0]} rows)"
        )
    return MatMul.apply(a, b)
