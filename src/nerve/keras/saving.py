"""``keras.saving``: load_model, save_model and the registry of custom objects."""

from nerve.keras.models import save_model
from nerve.saving import load_model, load_weights, register_serializable

register_keras_serializable = register_serializable

__all__ = ["load_model", "load_weights", "register_keras_serializable", "save_model"]
