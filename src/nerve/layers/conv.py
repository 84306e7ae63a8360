"""Keras-style conv layers."""

__all__: list[str] = []
