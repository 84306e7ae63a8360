"""Differentiable primitives: elementwise, reduction, shape, indexing, linalg, creation."""
