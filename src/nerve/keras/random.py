"""keras.random for nerve: random tensors with Keras 3's names, arguments and seeding.

Seeds mean what they mean in Keras:

- ``seed=None`` draws from nerve's global generator (``nerve.backend.rng()``), which
  ``nerve.manual_seed`` (and ``keras.utils.set_random_seed``) reseed;
- an int seed gives the same numbers at every call;
- a :class:`SeedGenerator` advances its state at every call, so successive calls differ while
  a whole sequence is reproducible from its seed.

The numbers differ from Keras's (another generator); their distributions are the same.

>>> from nerve.keras import random
>>> random.normal((2, 3), seed=1).shape
(2, 3)
>>> bool((random.uniform((4,), seed=7) == random.uniform((4,), seed=7)).all())
True
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor
from nerve.keras.ops._common import axis_index, detached, shape_tuple, standardize_dtype, to_tensor
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]


class SeedGenerator:
    """A seed whose state advances at every draw: reproducible sequences of different numbers.

    Args:
        seed: an int; None draws one from nerve's global generator (so ``nerve.manual_seed``
            makes it reproducible too).
        name: a name, kept for Keras's signature.

    Raises:
        TypeError: a seed that is not an int.

    >>> from nerve.keras import random
    >>> gen = random.SeedGenerator(42)
    >>> a, b = random.uniform((3,), seed=gen), random.uniform((3,), seed=gen)
    >>> bool((a == b).all())
    False
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected keyword arguments {sorted(kwargs)}")
        if seed is None:
            seed = int(backend.rng().integers(0, 2**31 - 1))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self.name = name
        self._seed = int(seed)
        self._counter = 0

    @property
    def state(self) -> Tensor:
        """The current state: ``[seed, number of draws so far]``."""
        return detached(np.array([self._seed, self._counter], np.int64))

    def next(self, ordered: bool = True) -> tuple:
        """The seed material of the next draw (and advance the state)."""
        self._counter += 1
        return (self._seed, self._counter)

    def get_config(self) -> dict:
        return {"seed": self._seed}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        return cls(**config)


def _rng(seed, op: str) -> np.random.Generator:
    if seed is None:
        return backend.rng()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{op}: seed must be an int, a SeedGenerator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def _float_dtype(dtype, op: str) -> np.dtype:
    dt = standardize_dtype(dtype, op) or np.dtype(backend.DEFAULT_FLOAT)
    if dt.kind != "f":
        raise ValueError(f"{op}: dtype must be a float dtype, got {dt}")
    return dt


def _value(x, op: str):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


# ----------------------------------------------------------------------------- distributions
def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of a normal distribution.

    Args:
        shape: the result's shape.
        mean: the mean.
        stddev: the standard deviation.
        dtype: a float dtype (float32 when None).
        seed: None, an int or a :class:`SeedGenerator` (see the module docstring).

    Returns:
        A tensor of ``shape``.
    """
    dt = _float_dtype(dtype, "normal")
    shp = shape_tuple(shape, "normal")
    z = _rng(seed, "normal").standard_normal(shp, dtype=np.float64)
    return detached((z * _value(stddev, "normal") + _value(mean, "normal")).astype(dt))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of a normal distribution cut at two standard deviations (values further out
    are drawn again); see :func:`normal` for the arguments."""
    dt = _float_dtype(dtype, "truncated_normal")
    shp = shape_tuple(shape, "truncated_normal")
    rng = _rng(seed, "truncated_normal")
    z = rng.standard_normal(shp)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return detached((z * _value(stddev, "") + _value(mean, "")).astype(dt))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> Tensor:
    """Samples of the uniform distribution on ``[minval, maxval)``.

    Raises:
        ValueError: an integer dtype (use :func:`randint`).
    """
    dt = _float_dtype(dtype, "uniform")
    shp = shape_tuple(shape, "uniform")
    u = _rng(seed, "uniform").random(shp)
    lo, hi = _value(minval, "uniform"), _value(maxval, "uniform")
    return detached((lo + u * (hi - lo)).astype(dt))


def randint(shape, minval, maxval, dtype="int32", seed=None) -> Tensor:
    """Integers drawn uniformly from ``[minval, maxval)``.

    Raises:
        ValueError: ``maxval <= minval`` or a non-integer dtype.
    """
    dt = standardize_dtype(dtype, "randint")
    if dt.kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer dtype, got {dt}")
    if np.any(np.asarray(maxval) <= np.asarray(minval)):
        raise ValueError(f"randint: maxval ({maxval}) must be greater than minval ({minval})")
    shp = shape_tuple(shape, "randint")
    return detached(_rng(seed, "randint").integers(minval, maxval, shp).astype(dt))


def gamma(shape, alpha, dtype=None, seed=None) -> Tensor:
    """Samples of the gamma distribution with concentration ``alpha`` (and scale 1)."""
    dt = _float_dtype(dtype, "gamma")
    shp = shape_tuple(shape, "gamma")
    return detached(_rng(seed, "gamma").standard_gamma(_value(alpha, "gamma"), shp).astype(dt))


def beta(shape, alpha, beta, dtype=None, seed=None) -> Tensor:
    """Samples of the beta distribution with concentrations ``alpha`` and ``beta``."""
    dt = _float_dtype(dtype, "beta")
    shp = shape_tuple(shape, "beta")
    a, b = _value(alpha, "beta"), _value(beta, "beta")
    return detached(_rng(seed, "beta").beta(a, b, shp).astype(dt))


def binomial(shape, counts, probabilities, dtype=None, seed=None) -> Tensor:
    """Samples of the binomial distribution: successes in ``counts`` trials of chance
    ``probabilities`` (as floats unless ``dtype`` says)."""
    dt = standardize_dtype(dtype, "binomial") or np.dtype(backend.DEFAULT_FLOAT)
    shp = shape_tuple(shape, "binomial")
    n = np.asarray(_value(counts, "binomial")).astype(np.int64)
    p = _value(probabilities, "binomial")
    return detached(_rng(seed, "binomial").binomial(n, p, shp).astype(dt))


def categorical(logits, num_samples, dtype="int32", seed=None) -> Tensor:
    """Class ids drawn from the categorical distributions given by each row of ``logits``.

    Args:
        logits: unnormalised log-probabilities of shape (batch, classes).
        num_samples: draws per row.
        dtype: an integer dtype (int32 by default).
        seed: None, an int or a :class:`SeedGenerator`.

    Returns:
        A tensor of shape (batch, num_samples).

    Raises:
        ValueError: ``logits`` is not 2-d.
    """
    lg = to_tensor(logits, "categorical")._data.astype(np.float64)
    if lg.ndim != 2:
        raise ValueError(f"categorical: logits must be (batch, classes), got shape {lg.shape}")
    dt = standardize_dtype(dtype, "categorical")
    n = int(num_samples)
    # the Gumbel-max trick: argmax(logits + Gumbel noise) is a draw from softmax(logits)
    u = _rng(seed, "categorical").random((lg.shape[0], n, lg.shape[1]))
    gumbel = -np.log(-np.log(np.clip(u, 1e-300, 1.0)))
    return detached(np.argmax(lg[:, None, :] + gumbel, axis=-1).astype(dt))


# ----------------------------------------------------------------------------- tensor ops
def shuffle(x, axis: int = 0, seed=None) -> Tensor:
    """``x`` with its slices along ``axis`` in a random order."""
    t = to_tensor(x, "shuffle")
    ax = axis_index(axis, t.ndim, "shuffle")
    order = _rng(seed, "shuffle").permutation(t.shape[ax])
    return indexing.index_select(t, ax, detached(order))


def dropout(inputs, rate, noise_shape=None, seed=None) -> Tensor:
    """``inputs`` with each element zeroed with probability ``rate`` and the rest scaled by
    ``1 / (1 - rate)``; differentiable through the kept elements.

    Args:
        inputs: the tensor.
        rate: the drop probability, in [0, 1).
        noise_shape: the shape of the mask, broadcast over ``inputs`` (None: ``inputs``'s).
        seed: None, an int or a :class:`SeedGenerator`.

    Raises:
        ValueError: a rate outside [0, 1), or a noise_shape that does not broadcast.
    """
    t = to_tensor(inputs, "dropout")
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if noise_shape is None:
        mshape = t.shape
    else:
        mshape = tuple(n if s is None else int(s) for s, n in zip(noise_shape, t.shape))
        try:
            if np.broadcast_shapes(mshape, t.shape) != t.shape:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to {t.shape}"
            ) from None
    keep = _rng(seed, "dropout").random(mshape) >= rate
    dt = t._data.dtype if t._data.dtype.kind == "f" else np.dtype(backend.DEFAULT_FLOAT)
    scale = (keep / (1.0 - rate)).astype(dt)
    return ew.mul(t, detached(scale))
