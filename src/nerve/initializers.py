"""Keras-style weight initializers: objects with Keras's names, arguments and string aliases.

An initializer is called as ``init(shape, dtype=None)`` and returns a NumPy array. Fans follow
Keras's channels-last kernels: for a shape (..., fan_in_dim, fan_out_dim) the receptive field is
the product of the leading dims.
"""

from __future__ import annotations

import math

import numpy as np

from nerve import backend


def compute_fans(shape) -> tuple[float, float]:
    shape = tuple(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)``."""

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return backend.rng() if self.seed is None else np.random.default_rng(self.seed)

    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"seed": self.seed} if self.seed is not None else {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _dtype(dtype) -> np.dtype:
    return np.dtype(dtype or backend.DEFAULT_FLOAT)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, _dtype(dtype))


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        super().__init__()
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, _dtype(dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def _truncated_normal(rng, mean: float, stddev: float, shape) -> np.ndarray:
    """Normal samples redrawn until within two standard deviations (as Keras does)."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _truncated_normal(self._rng(), self.mean, self.stddev, shape).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n``, n the fan_in, fan_out or their mean.

    distribution 'truncated_normal' divides the stddev by .87962566103423978 (the stddev of a
    unit normal truncated at two stddevs), so the variance is what the name says.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: invalid mode {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: invalid distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            out = _truncated_normal(rng, 0.0, math.sqrt(variance) / 0.87962566103423978, shape)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            out = rng.uniform(-limit, limit, shape)
        return out.astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


class GlorotUniform(VarianceScaling):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class HeNormal(VarianceScaling):
    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class HeUniform(VarianceScaling):
    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class LecunNormal(VarianceScaling):
    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class LecunUniform(VarianceScaling):
    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self) -> dict:
        return Initializer.get_config(self)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix over the last dim vs the rest, times ``gain``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape with at least 2 dims, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        flat = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain, **super().get_config()}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0):
        super().__init__()
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: needs a 2-d shape, got {tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))


_ALIASES = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
    "identity": Identity,
}
_CLASSES = {cls.__name__: cls for cls in _ALIASES.values()}


def get(identifier):
    """An initializer from a name ('he_normal'), a class name, a config dict, or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown initializer config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an initializer")


def serialize(initializer) -> dict | None:
    if initializer is None:
        return None
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
