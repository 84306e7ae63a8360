"""How the Keras door's modules re-export nerve's names, and say which name was meant."""

from __future__ import annotations

import difflib
import inspect


def export(namespace: dict, *modules, skip=()) -> None:
    """Copy the public, non-module names of ``modules`` into ``namespace`` (a module's globals)."""
    for module in modules:
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[:1] != "_"]
        for name in names:
            value = getattr(module, name)
            if name not in skip and not inspect.ismodule(value) and name != "annotations":
                namespace.setdefault(name, value)


def missing(module_name: str, namespace: dict, name: str) -> AttributeError:
    """An AttributeError for ``module_name.name`` that suggests the nearest existing names."""
    if name.startswith("__"):
        return AttributeError(f"module {module_name!r} has no attribute {name!r}")
    public = [n for n in namespace if not n.startswith("_")]
    close = difflib.get_close_matches(name, public, n=3, cutoff=0.6)
    lower = [n for n in public if n.lower() == name.lower() and n not in close]
    hint = close + lower
    text = f"module {module_name!r} has no attribute {name!r}"
    if hint:
        text += f"; did you mean {' or '.join(repr(h) for h in hint)}?"
    else:
        text += " (nerve's Keras door does not have it; see the README's list of what is missing)"
    return AttributeError(text)
