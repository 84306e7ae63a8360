"""Dropout modules: zero elements (or whole channels) with probability p in training; identity
in eval."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.inplace = float(p), inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1-p)."""

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""

    def forward(self, x):
        return F.dropout3d(x, self.p, self.training)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's self-normalizing mean and variance (see F.alpha_dropout)."""

    def forward(self, x):
        return F.alpha_dropout(x, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (see F.feature_alpha_dropout)."""

    def forward(self, x):
        return F.feature_alpha_dropout(x, self.p, self.training)
