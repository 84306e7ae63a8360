"""Initializers (tf.zeros_initializer(), tf.glorot_uniform_initializer(), ...) and get_variable.

An initializer is called with a shape and a dtype and returns the node a Variable starts from;
random ones draw again each time the Variables' initializer runs.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from nerve.compat.v1.creation import constant, random_normal, random_uniform, truncated_normal
from nerve.compat.v1.graph import Const, TensorShape, as_dtype, get_default_graph
from nerve.compat.v1.variables import Variable

__all__ = [
    "constant_initializer",
    "get_variable",
    "glorot_normal_initializer",
    "glorot_uniform_initializer",
    "ones_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
    "truncated_normal_initializer",
    "variable_scope",
    "zeros_initializer",
]


def _dims(shape) -> tuple:
    shape = TensorShape(shape)
    if not shape.is_fully_defined():
        raise ValueError(f"initializer: the shape {shape} must be fully known")
    return tuple(shape)


class zeros_initializer:  # noqa: N801 - TensorFlow's name
    """Zeros."""

    def __init__(self, dtype=np.float32):
        self.dtype = dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        dt = as_dtype(dtype or self.dtype, "zeros_initializer")
        return Const(np.zeros(_dims(shape), dt), name="zeros")


class ones_initializer:  # noqa: N801
    """Ones."""

    def __init__(self, dtype=np.float32):
        self.dtype = dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        dt = as_dtype(dtype or self.dtype, "ones_initializer")
        return Const(np.ones(_dims(shape), dt), name="ones")


class constant_initializer:  # noqa: N801
    """A constant value (a number fills the shape; a list or array must have its size)."""

    def __init__(self, value=0, dtype=np.float32, verify_shape=False):
        self.value, self.dtype, self.verify_shape = value, dtype, verify_shape

    def __call__(self, shape, dtype=None, partition_info=None):
        dt = as_dtype(dtype or self.dtype, "constant_initializer")
        return constant(self.value, dtype=dt, shape=_dims(shape), verify_shape=self.verify_shape)


class random_normal_initializer:  # noqa: N801
    """N(mean, stddev**2) (TensorFlow 1's defaults: mean 0.0, stddev 1.0)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=np.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_normal(_dims(shape), self.mean, self.stddev, dtype or self.dtype, self.seed)


class truncated_normal_initializer:  # noqa: N801
    """N(mean, stddev**2) redrawn beyond 2 stddev (defaults: mean 0.0, stddev 1.0)."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=np.float32):
        self.mean, self.stddev, self.seed, self.dtype = mean, stddev, seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        return truncated_normal(
            _dims(shape), self.mean, self.stddev, dtype or self.dtype, self.seed
        )


class random_uniform_initializer:  # noqa: N801
    """U[minval, maxval) (defaults: 0 and 1 for floats)."""

    def __init__(self, minval=0, maxval=None, seed=None, dtype=np.float32):
        self.minval, self.maxval, self.seed, self.dtype = minval, maxval, seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_uniform(
            _dims(shape), self.minval, self.maxval, dtype or self.dtype, self.seed
        )


def _fans(dims: tuple):
    if len(dims) < 1:
        return 1, 1
    if len(dims) == 1:
        return dims[0], dims[0]
    receptive = int(np.prod(dims[:-2])) if len(dims) > 2 else 1
    return dims[-2] * receptive, dims[-1] * receptive


class glorot_uniform_initializer:  # noqa: N801
    """U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)) (Xavier uniform)."""

    def __init__(self, seed=None, dtype=np.float32):
        self.seed, self.dtype = seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _dims(shape)
        fan_in, fan_out = _fans(dims)
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        return random_uniform(dims, -limit, limit, dtype or self.dtype, self.seed)


class glorot_normal_initializer:  # noqa: N801
    """Truncated normal with stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796 (Xavier normal;
    0.8796 is the stddev of a unit normal truncated at 2)."""

    def __init__(self, seed=None, dtype=np.float32):
        self.seed, self.dtype = seed, dtype

    def __call__(self, shape, dtype=None, partition_info=None):
        dims = _dims(shape)
        fan_in, fan_out = _fans(dims)
        stddev = math.sqrt(2.0 / max(1.0, fan_in + fan_out)) / 0.87962566103423978
        return truncated_normal(dims, 0.0, stddev, dtype or self.dtype, self.seed)


# ------------------------------------------------------------------------------- scopes
_scopes: list = []  # (name, reuse) of the enclosing variable_scope blocks


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, reuse=None, **unused):
    """Prefix the names of get_variable's Variables with ``name/``; ``reuse=True`` (or
    ``tf.AUTO_REUSE``) returns existing Variables instead of making new ones."""
    name = name_or_scope if name_or_scope is not None else default_name
    if name is None:
        raise ValueError("variable_scope: give name_or_scope or default_name")
    inherited = _scopes[-1][1] if _scopes else None
    _scopes.append((str(name), reuse if reuse is not None else inherited))
    try:
        with get_default_graph().name_scope(name):  # ops inside are named under it too
            yield str(name)
    finally:
        _scopes.pop()


AUTO_REUSE = "auto_reuse"


def get_variable(
    name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None, **unused
):
    """The Variable ``scope/name``: made (from ``initializer``, default Glorot uniform for floats
    and zeros otherwise) or, under a reusing variable_scope, the existing one.

    Raises:
        ValueError: it exists and the scope does not reuse, or reuse=True and it is missing,
            or no shape is known.
    """
    full = "/".join([s for s, _ in _scopes] + [name])
    reuse = _scopes[-1][1] if _scopes else None
    existing = next((v for v in get_default_graph()._variables if v.op_name == full), None)
    if existing is not None:
        if reuse in (True, AUTO_REUSE):
            return existing
        raise ValueError(
            f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
            "reuse=tf.AUTO_REUSE in VarScope?"
        )
    if reuse is True:
        raise ValueError(
            f"Variable {full} does not exist, or was not created with tf.get_variable(). Did "
            "you mean to set reuse=tf.AUTO_REUSE in VarScope?"
        )
    dt = as_dtype(dtype or np.float32, "get_variable")
    if initializer is None:
        initializer = glorot_uniform_initializer() if dt.kind == "f" else zeros_initializer()
    if callable(initializer):
        if shape is None:
            raise ValueError(f"get_variable {full}: the shape of a new variable must be known")
        value = initializer(shape, dtype=dt)
    else:
        value = constant(initializer, dtype=dt)
    if regularizer is not None:
        raise ValueError(f"get_variable {full}: regularizer is not supported; add it to the loss")
    graph = get_default_graph()
    prefix, graph._prefix = graph._prefix, ""  # the full name is the variable scopes' path
    try:
        return Variable(value, trainable=trainable, name=full)
    finally:
        graph._prefix = prefix
