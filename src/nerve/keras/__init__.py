"""The Keras door: Keras 3's public names over nerve's one implementation.

``from nerve import keras`` (or ``import nerve.keras as keras``) and Keras 3 tutorial code runs
with its imports changed and nothing else: ``keras.Sequential``, ``keras.Model``, ``keras.Input``,
``keras.layers``, ``keras.ops``, ``keras.optimizers``, ``keras.callbacks``, ``keras.utils``, ...
Every name here is nerve's own class or function (no second implementation); the semantics are
Keras's (a direct call is inference unless ``training=True``; ``get_weights`` in Keras's order).

>>> from nerve import keras
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
>>> model.count_params()
10
"""

from __future__ import annotations

import importlib

from nerve import __version__
from nerve.keras._door import missing
from nerve.layers import Input, InputSpec, KerasTensor, Layer
from nerve.losses import Loss
from nerve.metrics import Metric
from nerve.models import Model, Sequential
from nerve.optimizers import Optimizer
from nerve.variables import Variable

_SUBMODULES = {
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "random",
    "regularizers",
    "saving",
    "utils",
}


def version() -> str:
    """nerve's version (Keras's ``keras.version()``)."""
    return __version__


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"nerve.keras.{name}")
    raise missing("nerve.keras", {**globals(), **dict.fromkeys(_SUBMODULES)}, name)


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
