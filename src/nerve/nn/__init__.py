"""PyTorch-style neural-network API (modules arrive with the layers issue)."""

from nerve.nn import functional

__all__ = ["functional"]
