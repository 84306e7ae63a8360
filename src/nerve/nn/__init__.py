"""PyTorch-style neural-network API (modules arrive with the layers issue)."""

from nerve.nn import functional
from nerve.nn.parameter import Parameter

__all__ = ["Parameter", "functional"]
