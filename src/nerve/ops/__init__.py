"""Differentiable primitives on Tensor: elementwise, reduction, shape, indexing, linalg, creation."""
