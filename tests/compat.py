"""Run one program's source text on the real framework and on nerve, swapping only its imports.

A compatibility program is plain PyTorch or Keras 3 code. It reports what it computed by filling
a dict named ``RESULTS`` (floats, ints, strings, shapes as tuples, lists or arrays of numbers).
:func:`run_both` executes the text twice, once as written and once with each import line
rewritten by :func:`to_nerve`, and :func:`assert_same_results` compares the two dicts.

Import lines are the only thing rewritten, and only these forms (each also with ``as``):
``import torch``, ``import torch.nn``, ``from torch.x import y``, ``import torchvision...``,
``import keras``, ``from keras.x import y``, ``import tensorflow as tf``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pathlib
import re

import numpy as np

_IMPORT = re.compile(r"^(?P<indent>\s*)import\s+(?P<mod>[\w.]+)(?:\s+as\s+(?P<alias>\w+))?\s*$")
_FROM = re.compile(r"^(?P<indent>\s*)from\s+(?P<mod>[\w.]+)\s+import\s+(?P<rest>.+)$")

# The framework's top-level module -> the nerve module that stands in for it.
_DOORS = {
    "torch": "nerve",
    "torchvision": "nerve.vision",
    "keras": "nerve.keras",
    "tensorflow": "nerve",
}


def _swap(module: str) -> str | None:
    top, _, rest = module.partition(".")
    door = _DOORS.get(top)
    if door is None:
        return None
    return door + ("." + rest if rest else "")


def to_nerve(source: str) -> str:
    """The program with its torch / torchvision / keras / tensorflow imports pointed at nerve."""
    out = []
    for line in source.splitlines():
        m = _IMPORT.match(line)
        if m and _swap(m["mod"]) is not None:
            mod, alias, indent = m["mod"], m["alias"], m["indent"]
            new = _swap(mod)
            if alias:
                line = f"{indent}import {new} as {alias}"
            elif "." in mod:  # `import torch.nn` binds `torch` and loads torch.nn
                top = mod.partition(".")[0]
                line = f"{indent}import {new}; import {_swap(top)} as {top}"
            else:
                head, _, tail = new.rpartition(".")
                line = (
                    f"{indent}from {head} import {tail} as {mod}"
                    if head
                    else f"{indent}import {new} as {mod}"
                )
        else:
            m = _FROM.match(line)
            if m and _swap(m["mod"]) is not None:
                line = f"{m['indent']}from {_swap(m['mod'])} import {m['rest']}"
        out.append(line)
    return "\n".join(out) + "\n"


def run_program(source: str, filename: str, workdir: pathlib.Path | None = None) -> dict:
    """Execute ``source`` as ``__main__`` in a fresh namespace; its RESULTS dict (stdout muted)."""
    namespace = {"__name__": "__main__", "__file__": filename, "RESULTS": {}}
    code = compile(source, filename, "exec")
    cwd = os.getcwd()
    try:
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            os.chdir(workdir)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)
    finally:
        os.chdir(cwd)
    return namespace["RESULTS"]


def run_both(path: pathlib.Path, tmp_path: pathlib.Path) -> tuple[dict, dict]:
    """(results on the real framework, results on nerve) for the program at ``path``."""
    source = path.read_text()
    reference = run_program(source, str(path), tmp_path / "reference")
    ours = run_program(to_nerve(source), str(path), tmp_path / "nerve")
    return reference, ours


def _numeric(value):
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu") and not isinstance(value, np.ndarray):
        with contextlib.suppress(Exception):
            value = value.cpu()
    return np.asarray(value, dtype=np.float64)


def assert_same_results(reference: dict, ours: dict, rtol: float = 1e-4, atol: float = 1e-5):
    """Equal keys; strings, bools, ints and shapes exactly; numbers and arrays within tolerance."""
    assert reference, "the program filled no RESULTS"
    assert sorted(reference) == sorted(ours), (
        f"different RESULTS keys: reference {sorted(reference)}, nerve {sorted(ours)}"
    )
    for key, want in reference.items():
        got = ours[key]
        if isinstance(want, (str, bool)) or want is None:
            assert got == want, f"{key}: reference {want!r}, nerve {got!r}"
        elif isinstance(want, int) and not isinstance(want, bool):
            assert int(got) == want, f"{key}: reference {want}, nerve {got}"
        elif isinstance(want, tuple) and all(isinstance(v, int) for v in want):
            assert tuple(got) == want, f"{key}: reference shape {want}, nerve {tuple(got)}"
        elif isinstance(want, float) and math.isnan(want):
            assert math.isnan(float(got)), f"{key}: reference nan, nerve {got}"
        else:
            w, g = _numeric(want), _numeric(got)
            assert w.shape == g.shape, f"{key}: reference shape {w.shape}, nerve {g.shape}"
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=key)
