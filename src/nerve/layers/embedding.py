"""Keras-style embedding layers."""

__all__: list[str] = []
