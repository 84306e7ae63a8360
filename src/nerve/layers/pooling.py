"""Keras-style pooling layers."""

__all__: list[str] = []
