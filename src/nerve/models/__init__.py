"""Keras-style models: Model (subclassed or functional), Sequential, and the training loop."""

from nerve.layers.input_layer import Input
from nerve.models.model import Model
from nerve.models.sequential import Sequential

__all__ = ["Input", "Model", "Sequential"]
