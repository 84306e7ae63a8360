"""Indexing: getitem (basic, integer-array, boolean mask), gather, take_along_dim, index_select,
masked_fill, one_hot."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.ops.common import as_tensor


def as_numpy_index(index):
    """A Tensor index (or a tuple holding Tensors) as the equivalent NumPy index."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


@register("getitem")
class GetItem(Function):
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(grad, self.index, g)
        return grad


def getitem(x, index) -> Tensor:
    x = as_tensor(x, "getitem")
    index = as_numpy_index(index)
    try:
        out = GetItem.apply(x, index=index)
    except IndexError as exc:
        raise IndexError(f"index {index!r} into a tensor of shape {x.shape}: {exc}") from None
    return out
