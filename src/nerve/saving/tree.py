"""Nested checkpoints (``{"epoch": 3, "model": state_dict, "optimizer": opt.state_dict()}``)
as safetensors arrays plus a JSON description of the structure: what ``torch.save`` pickles,
kept as data.

The structure is a tree of nodes, each a one-key JSON object:

- ``{"t": name}``: an array, stored as the safetensors tensor ``name``;
- ``{"v": value}``: None, a bool, an int, a float or a string;
- ``{"d": [[key, node], ...]}`` (``"o": true`` for an OrderedDict): a dict, whose keys are
  ``{"v": ...}`` nodes, so the integer keys of an optimizer's state come back as integers;
- ``{"l": [node, ...]}`` / ``{"u": [node, ...]}``: a list / a tuple.

Loading accepts nothing else: an unknown node, a key that is not a plain value or a name
that is not among the tensors is a :class:`NerveFileError`.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import to_host
from nerve.saving.safetensors_io import NerveFileError

MAX_DEPTH = 64
_SCALARS = (bool, int, float, str, type(None))


def encode(obj, what: str) -> tuple[dict, dict]:
    """``(structure, {name: array})`` for a nested ``obj``.

    Raises:
        TypeError: ``obj`` holds something other than arrays, Tensors, plain values, dicts,
            lists and tuples (the message names where), or nests deeper than MAX_DEPTH.
    """
    arrays: dict[str, np.ndarray] = {}

    def walk(value, path: list, depth: int):
        where = "/".join(map(str, path)) or "the object"
        if depth > MAX_DEPTH:
            raise TypeError(f"{what}: {where} nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, (Tensor, np.ndarray, np.generic)) or type(value) in DEVICE_MODULES:
            name = where
            if name in arrays:
                name = f"{where}#{len(arrays)}"
            arr = to_host(value)  # a GPU array is written from a host copy
            if arr.dtype == object:
                raise TypeError(f"{what}: {where} is an array of Python objects")
            arrays[name] = arr
            return {"t": name}
        if isinstance(value, _SCALARS):
            return {"v": value}
        if isinstance(value, dict):
            items = []
            for k, v in value.items():
                if not isinstance(k, _SCALARS):
                    raise TypeError(
                        f"{what}: {where} has a key of type {type(k).__name__}; keys must be "
                        "strings, numbers, booleans or None"
                    )
                items.append([{"v": k}, walk(v, [*path, k], depth + 1)])
            node = {"d": items}
            if isinstance(value, OrderedDict):
                node["o"] = True
            return node
        if isinstance(value, (list, tuple)):
            kind = "u" if isinstance(value, tuple) else "l"
            return {kind: [walk(v, [*path, i], depth + 1) for i, v in enumerate(value)]}
        raise TypeError(
            f"{what}: {where} holds a value of type {type(value).__name__}; nerve saves arrays, "
            "Tensors, numbers, strings, None, and dicts, lists and tuples of them (never pickled "
            "objects)"
        )

    return walk(obj, [], 0), arrays


def decode(node, arrays: dict, where: str):
    """The object a structure from :func:`encode` describes; NerveFileError when it is not
    one."""

    def walk(n, depth: int):
        if depth > MAX_DEPTH or not isinstance(n, dict) or not 1 <= len(n) <= 2:
            raise NerveFileError(f"{where}: its structure holds an invalid entry {n!r:.80}")
        if "t" in n and len(n) == 1:
            name = n["t"]
            if not isinstance(name, str) or name not in arrays:
                raise NerveFileError(f"{where}: its structure names a missing tensor {name!r:.80}")
            return arrays[name]
        if "v" in n and len(n) == 1:
            if not isinstance(n["v"], _SCALARS):
                raise NerveFileError(f"{where}: its structure holds a value {n['v']!r:.80}")
            return n["v"]
        if "d" in n and isinstance(n["d"], list) and set(n) <= {"d", "o"}:
            out = OrderedDict() if n.get("o") is True else {}
            for pair in n["d"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise NerveFileError(f"{where}: its structure holds a dict entry {pair!r:.80}")
                key = walk(pair[0], depth + 1)
                if not isinstance(key, _SCALARS):
                    raise NerveFileError(f"{where}: its structure holds a dict key {key!r:.80}")
                out[key] = walk(pair[1], depth + 1)
            return out
        for kind, make in (("l", list), ("u", tuple)):
            if kind in n and len(n) == 1 and isinstance(n[kind], list):
                return make(walk(v, depth + 1) for v in n[kind])
        raise NerveFileError(f"{where}: its structure holds an invalid entry {n!r:.80}")

    return walk(node, 0)
