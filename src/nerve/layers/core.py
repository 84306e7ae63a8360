"""Keras-style core layers."""

__all__: list[str] = []
