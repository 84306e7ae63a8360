"""Shape ops: reshape, flatten, transpose/permute, squeeze/unsqueeze, expand, repeat, cat/stack,
split/chunk, pad, flip, roll."""

from __future__ import annotations

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import as_tensor


@register("reshape")
class Reshape(Function):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


def reshape(x, shape) -> Tensor:
    """``x`` with a new shape of the same size (one dim may be -1)."""
    x = as_tensor(x, "reshape")
    shape = tuple(int(s) for s in shape)
    try:
        return Reshape.apply(x, shape=shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) "
            f"into shape {shape}"
        ) from None
