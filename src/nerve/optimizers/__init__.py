"""Keras-style optimizers (Keras's names, defaults and formulas) and learning-rate schedules.

``get('adam')`` and friends give a fresh optimizer with Keras's defaults.
"""

from nerve.optimizers import schedules
from nerve.optimizers.adam import Adam, Adamax, AdamW, Nadam
from nerve.optimizers.base import Optimizer
from nerve.optimizers.sgd import SGD, Adagrad, Lion, RMSprop

_ALIASES = {
    "adam": Adam,
    "adamw": AdamW,
    "adamax": Adamax,
    "nadam": Nadam,
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
    "lion": Lion,
}


def get(identifier) -> Optimizer:
    """An optimizer from a name ('adam'), a config dict, an instance, or a class."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict):
        cls = _ALIASES.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"unknown optimizer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer")


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
