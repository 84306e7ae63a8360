"""Dropout: zeroes elements with probability p in training, identity in eval."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
