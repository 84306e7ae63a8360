"""``keras.models``: Sequential, Model, load_model, save_model, clone_model."""

from __future__ import annotations

from nerve.keras._door import missing as _missing
from nerve.models import Model, Sequential
from nerve.saving import load_model
from nerve.saving.model_config import deserialize_layer, serialize_layer

__all__ = [
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_config",
    "model_from_json",
    "save_model",
]


def save_model(model, filepath, overwrite: bool = True, **kwargs) -> None:
    """``model.save(filepath)`` (Keras's function form)."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with the same architecture and newly initialized weights, as Keras's
    clone_model (weights are not copied: use ``clone.set_weights(model.get_weights())``).

    Args:
        model: a Sequential or functional Model (a subclassed model has no config to clone).
        input_tensors: not supported (the clone gets new inputs of the same shapes).
        clone_function: called on each layer of a Sequential model to make its clone
            (default: rebuild from ``layer.get_config()``).

    Raises:
        ValueError: the model is subclassed, or ``input_tensors`` is given.
    """
    if input_tensors is not None:
        raise ValueError("clone_model: input_tensors= is not supported by nerve")
    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword argument(s) {sorted(kwargs)}")
    if not isinstance(model, Model) or (
        type(model) is not Sequential and model.__dict__.get("_graph") is None
    ):
        raise ValueError(
            f"clone_model: {type(model).__name__} is a subclassed model, which has no "
            "architecture config to clone; build a new instance instead"
        )
    if clone_function is not None and isinstance(model, Sequential):
        clone = Sequential(name=model.name)
        if model._batch_input_shape is not None:
            from nerve.layers import Input

            clone.add(Input(batch_shape=model._batch_input_shape))
        for layer in model.layers:
            clone.add(clone_function(layer))
        return clone
    return deserialize_layer(serialize_layer(model))


def model_from_config(config: dict, custom_objects=None):
    """The model described by ``{"class_name": ..., "config": ...}`` (Keras's function)."""
    return deserialize_layer(config, custom_objects)


def model_from_json(json_string: str, custom_objects=None):
    """The model ``Model.to_json()`` described (weights are new: load them separately).

    Raises:
        ValueError: the text is not JSON, or does not describe a model.
    """
    import json

    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as exc:
        raise ValueError(f"model_from_json: the text is not valid JSON ({exc})") from None
    return deserialize_layer(config, custom_objects)


def __getattr__(name):
    raise _missing("nerve.keras.models", globals(), name)
