"""The names a .nerve file may use for a class, and the classes they stand for.

A file names every layer, model, loss, metric and optimizer by a string; loading turns the
string back into a class only through this table, never by importing a module or evaluating
text from the file. nerve's own classes are in it from the start; users add theirs with
:func:`register_serializable` (as ``keras.saving.register_keras_serializable``) or pass
``custom_objects=`` to ``load_model``.
"""

from __future__ import annotations

import inspect

from nerve import layers, losses, metrics, optimizers
from nerve.models import Model, Sequential

# Lambda holds Python code, which a file never carries; it is left out on purpose.
NOT_SERIALIZABLE = {"Lambda"}

_USER: dict[str, type | object] = {}  # "package>Name" -> class or function
_USER_NAMES: dict[int, str] = {}  # id(class or function) -> "package>Name"


def _builtin_layers() -> dict[str, type]:
    table = {
        name: obj
        for name, obj in vars(layers).items()
        if inspect.isclass(obj) and issubclass(obj, layers.Layer) and name not in NOT_SERIALIZABLE
    }
    table.update(Model=Model, Sequential=Sequential)
    return table


BUILTIN_LAYERS = _builtin_layers()


def register_serializable(package: str = "Custom", name: str | None = None):
    """Register a class (or a function, e.g. a custom loss) so a saved file can name it.

    Args:
        package: a namespace for the name, so two libraries' ``MyLayer`` do not clash.
        name: the name within the package; the class's or function's ``__name__`` by default.

    Returns:
        A decorator that registers its argument under ``"package>name"`` and returns it unchanged.

    Raises:
        ValueError: the name is already taken by another object, or contains '>'.

    >>> from nerve import layers
    >>> @register_serializable(package="Docs")
    ... class Double(layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
    >>> registered_name(Double)
    'Docs>Double'
    """

    def decorator(obj):
        key_name = name or getattr(obj, "__name__", None)
        if not key_name or ">" in key_name or ">" in package:
            raise ValueError(
                f"register_serializable: cannot register {obj!r} as {package!r}>{key_name!r} "
                "(a name is needed, without '>')"
            )
        key = f"{package}>{key_name}"
        if key in _USER and _USER[key] is not obj:
            # Re-running a notebook cell redefines the class: the newest definition wins.
            _USER_NAMES.pop(id(_USER[key]), None)
        _USER[key] = obj
        _USER_NAMES[id(obj)] = key
        return obj

    return decorator


def registered_name(obj) -> str | None:
    """The ``"package>Name"`` an object was registered under, or None."""
    return _USER_NAMES.get(id(obj))


def describe(obj, table: dict) -> dict:
    """How a file names a class or function: ``{"class_name", "registered_name"}``, plus
    ``"custom": True`` for a user's unregistered one, which loading finds only in
    ``custom_objects`` (never among nerve's own, even under the same name)."""
    name = getattr(obj, "__name__", None) or type(obj).__name__
    reg = registered_name(obj)
    out = {"class_name": name, "registered_name": reg}
    if reg is None and table.get(name) is not obj:
        out["custom"] = True
    return out


def resolve(spec: dict, custom_objects: dict | None, table: dict, what: str):
    """The class (or function) ``spec`` (from :func:`describe`) names, looked up in
    custom_objects, the user registry, then ``table`` (nerve's own); ValueError naming what is
    missing and how to provide it."""
    class_name, registered = spec.get("class_name"), spec.get("registered_name")
    if not isinstance(class_name, str) or not isinstance(registered, (str, type(None))):
        raise ValueError(f"invalid {what} entry {spec!r}")
    custom_objects = custom_objects or {}
    for key in (registered, class_name):
        if key is not None and key in custom_objects:
            return custom_objects[key]
    if registered is not None and registered in _USER:
        return _USER[registered]
    if registered is None and not spec.get("custom") and class_name in table:
        return table[class_name]
    shown = registered or class_name
    raise ValueError(
        f"unknown {what} {shown!r}: register it with @nerve.saving.register_serializable() "
        f"before loading, or pass custom_objects={{{class_name!r}: ...}}"
    )


def loss_table() -> dict:
    return {**losses._FUNCTIONS, **losses._CLASSES}


def metric_table() -> dict:
    return dict(metrics.CLASSES)


def optimizer_table() -> dict:
    return {cls.__name__: cls for cls in optimizers._ALIASES.values()}
