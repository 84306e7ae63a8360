"""Distances and similarities between vectors: cosine_similarity, pairwise_distance, normalize.

Compositions of the differentiable primitives (norm, sum, maximum), so each gradient is the
primitives' own.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor
from nerve.primitives.elementwise import maximum
from nerve.primitives.reduction import norm
from nerve.primitives.shape import broadcast_to

__all__ = ["cosine_similarity", "normalize", "pairwise_distance"]


def _float(op: str, x) -> Tensor:
    x = as_tensor(x, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.dtype}")
    return x


def _broadcast(op: str, x1: Tensor, x2: Tensor):
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(
            f"{op}: the shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not broadcast"
        ) from None
    if x1.shape != shape:
        x1 = broadcast_to(x1, shape)
    if x2.shape != shape:
        x2 = broadcast_to(x2, shape)
    return x1, x2


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps))`` after broadcasting.

    Raises:
        ValueError: the shapes do not broadcast, or ``dim`` is out of range.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> sim = F.cosine_similarity(nerve.tensor([[1.0, 0.0]]), nerve.tensor([[1.0, 1.0]]))
    >>> round(sim.item(), 4)
    0.7071
    """
    x1, x2 = _broadcast(
        "cosine_similarity", _float("cosine_similarity", x1), _float("cosine_similarity", x2)
    )
    ndim = max(x1.ndim, 1)
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"cosine_similarity: dim {dim} is out of range for inputs of shape {tuple(x1.shape)}"
        )
    n1 = maximum(norm(x1, 2, dim, keepdim=True), eps)
    n2 = maximum(norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim (eps keeps the gradient finite at x1 == x2).

    Raises:
        ValueError: the shapes do not broadcast.
    """
    x1, x2 = _broadcast(
        "pairwise_distance", _float("pairwise_distance", x1), _float("pairwise_distance", x2)
    )
    if x1.ndim == 0:
        raise ValueError("pairwise_distance: the inputs must have at least 1 dim, got scalars")
    return norm(x1 - x2 + eps, p, -1, keepdim=keepdim)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(||input||_p over dim, eps)``: unit vectors along ``dim``.

    Raises:
        TypeError: ``out`` is given (nerve writes no output arguments).
    """
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    x = _float("normalize", input)
    return x / maximum(norm(x, p, dim, keepdim=True), eps)
