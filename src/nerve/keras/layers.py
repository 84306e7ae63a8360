"""``keras.layers``: nerve's Keras-style layers under Keras 3's names."""

from nerve import layers as _layers
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _layers)

# Keras's older spellings of the same classes.
Convolution1D, Convolution2D = _layers.Conv1D, _layers.Conv2D
Convolution1DTranspose, Convolution2DTranspose = _layers.Conv1DTranspose, _layers.Conv2DTranspose
SeparableConvolution2D = _layers.SeparableConv2D


def serialize(layer) -> dict:
    """``{"class_name", "config"}`` of a layer (Keras's layers.serialize)."""
    from nerve.saving.model_config import serialize_layer

    return serialize_layer(layer)


def deserialize(config: dict, custom_objects=None):
    """The layer ``config`` describes (Keras's layers.deserialize)."""
    from nerve.saving.model_config import deserialize_layer

    return deserialize_layer(config, custom_objects)


def __getattr__(name):
    raise _missing("nerve.keras.layers", globals(), name)
