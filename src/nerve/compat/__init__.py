"""Doors for code written against other frameworks' older APIs.

``nerve.compat.v1`` runs TensorFlow 1 graph-and-session programs: ``import nerve.compat.v1 as tf``
in place of ``import tensorflow as tf`` (or ``import tensorflow.compat.v1 as tf``).
"""


def __getattr__(name):
    # nerve.compat.v1 loads on first use (it pulls in nerve.nn.functional and nerve.optim).
    if name == "v1":
        import importlib

        return importlib.import_module("nerve.compat.v1")
    raise AttributeError(f"module 'nerve.compat' has no attribute {name!r}")
