"""Saving and loading: whole models in ``.nerve`` files, weights and state_dicts in safetensors.

``model.save('m.nerve')`` / ``nerve.load_model('m.nerve')`` keep the architecture, weights,
compile and optimizer state; ``model.save_weights('m.weights.safetensors')`` the weights;
``nerve.save(module.state_dict(), path)`` / ``nerve.load(path)`` any state_dict. Nothing is
pickled and loading never runs code from a file: custom classes come back only by registered
name (:func:`register_serializable`) or through ``custom_objects=``.

Keras's own files go through the same functions, chosen by the name's ending: ``.keras`` (Keras
3), ``.weights.h5`` (Keras 3's weights) and ``.h5`` (the legacy whole-model file), written so
that Keras 3 loads them and read from files Keras 3 or Keras 2 wrote
(:mod:`nerve.saving.keras_format`; they need h5py: ``pip install 'nerve[keras-files]'``).

Importing this package installs ``Model.save``, ``save_weights`` and ``load_weights`` (models sit
below saving in nerve's levels, so they reach it through this registration, never by import).
"""

from nerve.models import model as _model
from nerve.saving import model_config as _model_config
from nerve.saving.api import load, load_model, load_weights, save, save_model, save_weights
from nerve.saving.archive import FORMAT_VERSION
from nerve.saving.registry import register_serializable, registered_name
from nerve.saving.safetensors_io import NerveFileError

_model.register_saving_hooks(
    save_model=save_model,
    save_weights=save_weights,
    load_weights=load_weights,
    functional_config=_model_config._functional_config,
    functional_from_config=_model_config._functional_from_config,
    sequential_from_config=_model_config._sequential_from_config,
)

__all__ = [
    "FORMAT_VERSION",
    "NerveFileError",
    "load",
    "load_model",
    "load_weights",
    "register_serializable",
    "registered_name",
    "save",
    "save_model",
    "save_weights",
]
