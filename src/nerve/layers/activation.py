"""Keras-style activation layers."""

__all__: list[str] = []
