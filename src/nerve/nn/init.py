"""Parameter initializers with PyTorch's names and formulas, drawing from nerve's generator.

Each fills a Tensor in place and returns it. A tensor on a device is filled with draws made on
that device (from its generator, ``backend.rng_for``); a CPU tensor gets the CPU generator's
draws, as before. fan_in/fan_out follow torch: for a weight of shape
(out, in, *kernel), fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "sigmoid",
)


def _takes_tensor(fn):
    """Check that ``fn``'s first argument is a Tensor (or Parameter) before it is filled: an
    ndarray would otherwise fail deep inside with NumPy's "memoryview: invalid slice key"."""

    @functools.wraps(fn)
    def checked(tensor, *args, **kwargs):
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"nn.init.{fn.__name__} expects a Tensor or Parameter, got "
                f"{type(tensor).__module__}.{type(tensor).__qualname__} (wrap an array with "
                "nerve.tensor(...), or pass the module's weight)"
            )
        return fn(tensor, *args, **kwargs)

    return checked


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


@_takes_tensor
def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dims, got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    if type(values) is not np.ndarray:  # a device array: cast on the device, then copy in
        values = values.astype(tensor._data.dtype, copy=False)
    tensor._data[...] = values  # keeps the tensor's dtype (float32 stays float32)
    return tensor


def _device_module(tensor: Tensor):
    """The array module of ``tensor``'s device, or None on the CPU (whose draws stay NumPy's,
    so CPU results are the same as ever)."""
    xp = backend.array_module_of(tensor._data)
    return None if xp is np else xp


def _normal(xp, mean: float, std: float, size):
    """N(mean, std^2) draws on ``xp``'s device: CuPy's Generator has no ``normal``."""
    return backend.rng_for(xp).standard_normal(size) * std + mean


@_takes_tensor
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    xp = _device_module(tensor)
    if xp is not None:
        return _fill(tensor, backend.rng_for(xp).uniform(a, b, size=tensor.shape))
    return _fill(tensor, backend.rng().uniform(a, b, size=tensor.shape))


@_takes_tensor
def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    xp = _device_module(tensor)
    if xp is not None:
        return _fill(tensor, _normal(xp, mean, std, tensor.shape))
    return _fill(tensor, backend.rng().normal(mean, std, size=tensor.shape))


@_takes_tensor
def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as in torch)."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    xp = _device_module(tensor)
    if xp is None:

        def draw(size):
            return backend.rng().normal(mean, std, size=size)
    else:

        def draw(size):
            return _normal(xp, mean, std, size)

    out = draw(tensor.shape)
    bad = (out < a) | (out > b)
    while bad.any():  # rejection sampling: few rounds, since most of the mass lies inside
        out[bad] = draw(int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out)


@_takes_tensor
def constant_(tensor: Tensor, val: float) -> Tensor:
    tensor._data[...] = val
    return tensor


@_takes_tensor
def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


@_takes_tensor
def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


@_takes_tensor
def eye_(tensor: Tensor) -> Tensor:
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-d tensor, got shape {tensor.shape}")
    xp = _device_module(tensor) or np
    return _fill(tensor, xp.eye(*tensor.shape))


@_takes_tensor
def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


@_takes_tensor
def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


@_takes_tensor
def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan) (He et al., 2015)."""
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


@_takes_tensor
def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)))


@_takes_tensor
def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix (Saxe et al.)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dims, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    xp = _device_module(tensor)
    if xp is None:
        xp, flat = np, backend.rng().standard_normal((rows, cols))
    else:  # drawn and decomposed on the device (CuPy has linalg.qr)
        flat = backend.rng_for(xp).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))  # makes the decomposition unique, hence uniformly distributed
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


@_takes_tensor
def uniform_fan_in_(tensor: Tensor, fan_in: int) -> Tensor:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch's default for Linear/Conv weights and biases.

    torch writes this as kaiming_uniform_(a=sqrt(5)); nerve writes what it means.
    """
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(tensor, -bound, bound)
