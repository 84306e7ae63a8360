"""Test data for every registered op: sample inputs, error inputs and the torch twin.

Each family file (elementwise.py, reduction.py, ...) defines ``SAMPLES: dict[str, list[Sample]]``
keyed by registered op name, and ``ERRORS: list[ErrorSample]``. One gradcheck test and one torch
test walk them all; a coverage test fails when a registered op has no samples.

A sample's ``fn(m, *xs)`` runs on both frameworks: ``m`` is nerve (with ``m.F`` its
nn.functional) or torch (with ``m.F`` torch.nn.functional), and ``xs`` are that framework's
tensors made from ``inputs``. Where the two spell a call differently, give ``torch_fn``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

FAMILIES = [
    "elementwise",
    "reduction",
    "shape",
    "indexing",
    "linalg",
    "rounding",
    "sorting",
    "matrix",
    "unary",
    "functional_conv",
    "functional_norm",
    "functional_loss",
    "functional_misc",
    "functional_recurrent",
    "functional_more",
]


@dataclass
class Sample:
    fn: Callable
    inputs: tuple
    #: indices of inputs that get gradients; default: every float input
    grad: tuple | None = None
    #: a different call for torch, or False when torch has no twin
    torch_fn: Callable | bool | None = None
    rtol: float = 1e-5
    atol: float = 1e-6
    #: gradcheck tolerances (float64 central differences)
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-3
    #: ops with randomness (dropout) cannot be compared value by value with torch
    desc: str = ""

    def grad_indices(self) -> tuple:
        if self.grad is not None:
            return tuple(self.grad)
        return tuple(i for i, x in enumerate(self.inputs) if np.asarray(x).dtype.kind == "f")


@dataclass
class ErrorSample:
    fn: Callable  # fn(nerve, *nerve_tensors) must raise
    inputs: tuple
    error: type
    match: str  # regex the message must match
    desc: str = ""


@dataclass
class OpDB:
    samples: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)


def load() -> OpDB:
    db = OpDB()
    for fam in FAMILIES:
        try:
            mod = importlib.import_module(f"op_db.{fam}")
        except ModuleNotFoundError as exc:
            if exc.name == f"op_db.{fam}":
                continue
            raise
        for name, samples in mod.SAMPLES.items():
            if name in db.samples:
                raise ValueError(f"op {name!r} has samples in two families")
            db.samples[name] = samples
        db.errors.extend(getattr(mod, "ERRORS", []))
    return db


def away_from(x: np.ndarray, points=(0.0,), margin: float = 0.1) -> np.ndarray:
    """Push values within ``margin`` of a kink (relu at 0, abs at 0) away from it."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
    return x


def rand(*shape, low=-1.0, high=1.0, seed=None):
    """Float64 uniform samples (a fixed generator per call site via seed)."""
    g = np.random.default_rng(seed if seed is not None else abs(hash(shape)) % 2**32)
    return g.uniform(low, high, size=shape)


def randn(*shape, seed=None):
    g = np.random.default_rng(seed if seed is not None else abs(hash(shape)) % 2**32 + 1)
    return g.standard_normal(shape)


def positive(*shape, low=0.2, high=2.0, seed=None):
    return rand(*shape, low=low, high=high, seed=seed)


def ints(low, high, *shape, seed=0):
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(np.int64)
