"""Keras-style merge layers."""

__all__: list[str] = []
