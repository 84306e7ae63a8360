"""Placeholders, constants and random tensors (tf.placeholder, tf.zeros, tf.random_normal, ...).

Random ops draw anew each time they run, from nerve's one generator (``tf.set_random_seed`` is
``nerve.manual_seed``); an op given ``seed=`` draws from its own generator seeded with it, so
its sequence of draws repeats from program to program.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd import Tensor as NerveTensor
from nerve.compat.v1.graph import (
    Const,
    GraphTensor,
    Placeholder,
    TensorShape,
    as_dtype,
    convert_to_tensor,
)

__all__ = [
    "constant",
    "fill",
    "ones",
    "ones_like",
    "placeholder",
    "placeholder_with_default",
    "random_normal",
    "random_uniform",
    "set_random_seed",
    "truncated_normal",
    "zeros",
    "zeros_like",
]


def placeholder(dtype, shape=None, name=None):
    """A value to feed at run time: ``sess.run(..., feed_dict={x: array})``.

    Args:
        dtype: its dtype (tf.float32, ...); fed values are converted to it when their kind
            allows (float64 -> float32, int -> float) and rejected otherwise.
        shape: its static shape, None for unknown dims (``[None, 784]``), or None for any shape.
        name: its name (default ``'Placeholder'``, made unique).

    Returns:
        The placeholder node; running a node that needs it without feeding it raises
        tf.errors.InvalidArgumentError naming it.
    """
    return Placeholder(as_dtype(dtype, "tf.placeholder"), TensorShape(shape), name)


def placeholder_with_default(input, shape, name=None):
    """A placeholder that gives ``input`` when not fed (e.g. a dropout keep_prob of 1.0)."""
    default = convert_to_tensor(input, what="PlaceholderWithDefault")
    shape = TensorShape(shape)
    if not shape.is_compatible_with(default.shape):
        raise ValueError(
            f"PlaceholderWithDefault: the default's shape {default.shape} does not fit {shape}"
        )
    return Placeholder(default.dtype, shape, name or "PlaceholderWithDefault", default=default)


def _static_shape(shape, what: str) -> tuple:
    if isinstance(shape, GraphTensor):
        raise TypeError(f"{what}: shape must be a list of Python ints here, not a tensor")
    dims = tuple(int(d) for d in np.atleast_1d(np.asarray(list(TensorShape(shape)), np.int64)))
    if any(d < 0 for d in dims):
        raise ValueError(f"{what}: shape {list(dims)} has a negative dimension")
    return dims


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A constant from a number, list or array (Python floats -> float32, ints -> int32).

    Args:
        value: the value; a scalar is broadcast to ``shape`` when given.
        dtype: its dtype (default: from the value, as TensorFlow converts it).
        shape: the shape to give it (same element count, or a scalar to fill).
        name: its name.
        verify_shape: require ``value`` to have ``shape`` exactly.

    Raises:
        TypeError: a value that does not fit ``dtype``.
        ValueError: a value that cannot take ``shape``.
    """
    node = convert_to_tensor(value, dtype=dtype, name=name, what="tf.constant")
    if shape is None:
        return node
    dims = _static_shape(shape, "tf.constant")
    arr = node._value._data
    if arr.shape == dims:
        return node
    if verify_shape:
        raise TypeError(f"tf.constant: expected shape {list(dims)}, got {arr.shape}")
    if arr.size == 1:
        return Const(np.full(dims, arr.reshape(()), dtype=arr.dtype), name=name)
    if arr.size == int(np.prod(dims)):
        return Const(arr.reshape(dims), name=name)
    raise ValueError(f"tf.constant: cannot give {arr.size} values the shape {list(dims)}")


def zeros(shape, dtype=np.float32, name=None):
    """A tensor of zeros."""
    dt = as_dtype(dtype, "tf.zeros")
    return Const(np.zeros(_static_shape(shape, "tf.zeros"), dt), name=name or "zeros")


def ones(shape, dtype=np.float32, name=None):
    """A tensor of ones."""
    dt = as_dtype(dtype, "tf.ones")
    return Const(np.ones(_static_shape(shape, "tf.ones"), dt), name=name or "ones")


def fill(dims, value, name=None):
    """A tensor of ``dims`` filled with ``value``."""
    v = convert_to_tensor(value, what="Fill")._value._data
    return Const(np.full(_static_shape(dims, "tf.fill"), v, v.dtype), name=name or "Fill")


def _like(op_type, tensor, dtype, name, filler):
    x = convert_to_tensor(tensor, what=op_type)
    dt = x.dtype if dtype is None else as_dtype(dtype, op_type)
    return GraphTensor(
        op_type,
        lambda t: NerveTensor(filler(t.shape, dt), dtype=dt),
        (x,),
        dt,
        x.shape,
        name,
    )


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Zeros with the run-time shape of ``tensor``."""
    return _like("ZerosLike", tensor, dtype, name, np.zeros)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    """Ones with the run-time shape of ``tensor``."""
    return _like("OnesLike", tensor, dtype, name, np.ones)


def set_random_seed(seed) -> None:
    """Seed every random op without its own seed (``nerve.manual_seed``)."""
    backend.manual_seed(int(seed))


class _Random(GraphTensor):
    """A random draw, made anew each time the node runs."""

    def __init__(self, op_type, draw, shape, dtype, seed, name):
        super().__init__(op_type, None, (), dtype, shape, name)
        self._draw = draw
        self._rng = None if seed is None else np.random.default_rng(int(seed))

    def _compute(self, run, args):
        rng = self._rng if self._rng is not None else backend.rng()
        return NerveTensor(self._draw(rng).astype(self.dtype, copy=False), dtype=self.dtype)


def _float_dtype(dtype, what):
    dt = as_dtype(dtype, what)
    if dt.kind != "f":
        raise TypeError(f"{what}: dtype must be a float type, got {dt}")
    return dt


def random_normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """Samples of N(mean, stddev**2), drawn each time the node runs."""
    dims = _static_shape(shape, "random_normal")
    dt = _float_dtype(dtype, "random_normal")
    mean, stddev = float(mean), float(stddev)

    def draw(rng):
        z = rng.standard_normal(dims, dtype=np.float64 if dt == np.float64 else np.float32)
        return z * dt.type(stddev) + dt.type(mean)

    return _Random("random_normal", draw, dims, dt, seed, name or "random_normal")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """N(mean, stddev**2) samples, those beyond 2 stddev from the mean drawn again."""
    dims = _static_shape(shape, "truncated_normal")
    dt = _float_dtype(dtype, "truncated_normal")
    mean, stddev = float(mean), float(stddev)

    def draw(rng):
        z = rng.standard_normal(dims)
        bad = np.abs(z) > 2.0
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2.0
        return (z * stddev + mean).astype(dt)

    return _Random("truncated_normal", draw, dims, dt, seed, name or "truncated_normal")


def random_uniform(shape, minval=0, maxval=None, dtype=np.float32, seed=None, name=None):
    """Uniform samples in [minval, maxval) (maxval defaults to 1 for floats).

    Raises:
        ValueError: an integer dtype without maxval.
    """
    dims = _static_shape(shape, "random_uniform")
    dt = as_dtype(dtype, "random_uniform")
    if dt.kind in "iu":
        if maxval is None:
            raise ValueError("random_uniform: an integer dtype needs maxval")

        def draw(rng):
            return rng.integers(int(minval), int(maxval), size=dims)

    else:
        lo, hi = float(minval), 1.0 if maxval is None else float(maxval)

        def draw(rng):
            return rng.random(dims) * (hi - lo) + lo

    return _Random("random_uniform", draw, dims, dt, seed, name or "random_uniform")
