"""Dropout: zero elements (or whole channels) at random and scale the rest by 1 / (1 - p).

The mask is drawn from nerve's generator for the input's device (``nerve.backend.rng_for``), so
``nerve.manual_seed`` reproduces it. With ``nerve.set_num_threads(n > 1)`` a large mask is drawn
as n blocks on n threads, each from a copy of the generator advanced to its block's place in the
stream (PCG64's ``advance``): the mask, and the generator's state after it, are bit for bit
those of one thread.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of, rng_for
from nerve.primitives import threads
from nerve.primitives.common import as_tensor, memory_order

__all__ = [
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]


def keep_mask(shape: tuple, p: float, dtype: np.dtype, xp=np) -> np.ndarray:
    """A mask of ``shape``: 1 / (1 - p) with probability 1 - p, else 0 (in ``dtype``), made by
    the array module ``xp`` (the input's device) from its generator.

    One uniform draw in ``dtype`` (float32 draws are half the work of float64), compared with p
    and scaled in place into the draw's own buffer: no float temporary besides the result. With
    ``nerve.set_num_threads(n > 1)`` a large NumPy mask is drawn in blocks on n threads, giving
    the same mask and generator state as one thread (see ``_split_mask``).
    """
    dtype = np.dtype(dtype)
    if p >= 1.0:
        return xp.zeros(shape, dtype=dtype)
    draw = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    gen = rng_for(xp)
    u = _split_mask(gen, shape, draw, p) if xp is np else None
    if u is None:
        u = gen.random(shape, dtype=draw)
        keep = u >= draw.type(p)
        np.multiply(keep, draw.type(1.0 / (1.0 - p)), out=u)
    return u.astype(dtype, copy=False)


# Smallest mask drawn on several threads. One thread draws float32 uniforms at ~2 ns each; the
# split's fixed cost (a hand-off, one generator copy per extra thread) is ~50-100 us.
SPLIT_MIN_MASK = 131072


_copies = threading.local()  # each thread's PCG64 and Generator (seeding one costs ~20 us)


def _copy_generator():
    """This thread's scratch PCG64 and its Generator, made once: a block's state is set on it."""
    pair = getattr(_copies, "pair", None)
    if pair is None:
        bits = np.random.PCG64(0)
        pair = _copies.pair = (bits, np.random.Generator(bits))
    return pair


def _split_mask(gen, shape: tuple, draw: np.dtype, p: float):
    """keep_mask's uniform draw, compare and scale as row blocks on the thread pool, or None.

    Block k is drawn from a PCG64 copy of ``gen`` (a scratch one per thread) advanced past the
    64-bit outputs of the blocks before it (a float32 uniform takes one half of an output, low
    half first, a float64 one a whole output), so the mask and ``gen``'s final state equal one
    whole draw's. Only when the split is on, ``gen`` is a NumPy PCG64 generator with no half
    output pending and, for float32, the size is even (blocks then start on whole outputs).
    """
    if threads.get_num_threads() < 2:
        return None
    size = math.prod(shape)
    if size < SPLIT_MIN_MASK or (draw == np.float32 and size % 2):
        return None
    bits = getattr(gen, "bit_generator", None)
    if type(bits) is not np.random.PCG64:
        return None
    u = np.empty(shape, draw)
    # rows of the values one 64-bit output makes: 2 float32 or 1 float64
    rows = u.reshape(-1, 2) if draw == np.float32 else u.reshape(-1)
    base = rows.__array_interface__["data"][0]
    row_bytes = rows.strides[0]
    t = draw.type
    cut, scale = t(p), t(1.0 / (1.0 - p))
    end = []
    # The generator's own lock, held throughout: another thread drawing from it meanwhile
    # would otherwise be overwritten by the final state (every block draws from a copy).
    with bits.lock:
        start = bits.state
        if start["has_uint32"]:
            return None

        def block(r):
            first = (r.__array_interface__["data"][0] - base) // row_bytes
            flat = r.reshape(-1)
            copy, copy_gen = _copy_generator()
            copy.state = start
            if first:
                copy.advance(first)
            copy_gen.random(out=flat, dtype=draw)
            if first + len(r) == len(rows):
                end.append(copy.state)
            np.multiply(flat >= cut, scale, out=flat)

        if not threads.parallel_rows(block, (rows,), 0):
            return None  # pool busy or too few rows: nothing drawn yet
        # the generator continues after the last block, as after one whole draw
        bits.state = end[0]
    return u


@register("dropout")
class Dropout(Function):
    """out = x * mask, the mask of ``mask_shape`` (x's shape, or 1 on the feature dims)."""

    def forward(self, x, p, mask_shape):
        xp = array_module_of(x)
        if mask_shape == x.shape and not x.flags.c_contiguous:
            # Draw the mask in x's memory order, so the product and its backward run along
            # contiguous rows and the result keeps x's layout.
            order = memory_order(x)
            mask = keep_mask(tuple(x.shape[a] for a in order), p, x.dtype, xp)
            mask = mask.transpose(tuple(np.argsort(order).tolist()))
        else:
            mask = keep_mask(mask_shape, p, x.dtype, xp)
        self.mask = mask if self.needs_input_grad[0] else None
        return x * mask

    def backward(self, g):
        return g * self.mask


def _dropout(op: str, input, p: float, training: bool, inplace: bool, mask_shape=None) -> Tensor:
    x = as_tensor(input, op)
    if not isinstance(p, (int, float, np.number)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability p must be in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point input, got dtype {x._data.dtype}")
    shape = x.shape if mask_shape is None else mask_shape
    if inplace and not (x.requires_grad and _grad_modes.enabled):  # ops record
        # No graph to corrupt: scale the caller's array in place and return the same tensor.
        x._data *= keep_mask(shape, float(p), x._data.dtype, array_module_of(x._data))
        return x
    # Under autograd nerve does not rewrite history in place; the result is a new tensor (use
    # the returned value, as with torch).
    return Dropout.apply(x, p=float(p), mask_shape=tuple(shape))


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Identity when ``training`` is False or ``p == 0``; zeros when ``p == 1``.

    Args:
        input: any shape, floating point.
        p: the probability of zeroing an element, in [0, 1].
        training: apply dropout (False: return the input unchanged).
        inplace: overwrite the input when no gradient is being recorded through it.

    Raises:
        ValueError: for ``p`` outside [0, 1].

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> nerve.manual_seed(0)
    >>> y = F.dropout(nerve.ones(1000), p=0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    return _dropout("dropout", input, p, training, inplace)


def _feature_mask_shape(op: str, x: Tensor, batched_ndim: int) -> tuple:
    """The mask shape of channel-wise dropout: one draw per (sample, channel)."""
    shape = x.shape
    if x.ndim not in (batched_ndim - 1, batched_ndim):
        raise ValueError(
            f"{op}: expected a {batched_ndim - 1}-d (C, ...) or {batched_ndim}-d (N, C, ...) "
            f"input, got shape {shape}"
        )
    lead = 2 if x.ndim == batched_ndim else 1
    return shape[:lead] + (1,) * (x.ndim - lead)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``; scale the rest."""
    x = as_tensor(input, "dropout1d")
    return _dropout("dropout1d", x, p, training, inplace, _feature_mask_shape("dropout1d", x, 3))


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) with probability ``p``; scale the rest.

    A 3-d input is read as (N, C, L), as torch does today (channel-wise 1-d dropout).

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> y = F.dropout2d(nerve.ones(2, 8, 3, 3), p=0.5)
    >>> bool(((y._data == 0).all(axis=(2, 3)) | (y._data == 2).all(axis=(2, 3))).all())
    True
    """
    x = as_tensor(input, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-d or 4-d (N, C, H, W) input, got {x.shape}")
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    return _dropout("dropout2d", x, p, training, inplace, shape)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    x = as_tensor(input, "dropout3d")
    return _dropout("dropout3d", x, p, training, inplace, _feature_mask_shape("dropout3d", x, 5))


# SELU's negative saturation, -scale * alpha: where alpha dropout sends the dropped units
_SELU_SATURATION = -1.0507009873554805 * 1.6732632423543772


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units go to SELU's saturation, then an affine map
    keeps the mean and variance of a standard-normal input.

    ``out = a * (x * keep + alpha' * (1 - keep)) + b`` with ``alpha' = -scale * alpha``,
    ``a = ((1 - p) * (1 + p * alpha'^2)) ** -0.5`` and ``b = -a * alpha' * p``.

    Raises:
        ValueError: for ``p`` outside [0, 1].
    """
    return _alpha_dropout("alpha_dropout", input, p, training, False)


def feature_alpha_dropout(
    input, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """alpha_dropout with one draw per channel (N, C, ...): whole channels go to SELU's
    saturation together.

    Raises:
        ValueError: for ``p`` outside [0, 1].
    """
    return _alpha_dropout("feature_alpha_dropout", input, p, training, True)


def _alpha_dropout(op: str, input, p, training: bool, per_channel: bool) -> Tensor:
    x = as_tensor(input, op)
    if not isinstance(p, (int, float, np.number)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability p must be in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point input, got dtype {x._data.dtype}")
    if p == 1.0:
        return x * 0.0
    shape = x.shape
    if per_channel:
        if x.ndim < 2:
            raise ValueError(f"{op}: expected an input with a channel dim (N, C, ...), got {shape}")
        shape = shape[:2] + (1,) * (x.ndim - 2)
    keep = (rng_for(array_module_of(x._data)).random(shape) >= p).astype(x._data.dtype)
    a = ((1 - p) * (1 + p * _SELU_SATURATION**2)) ** -0.5
    b = -a * _SELU_SATURATION * p
    # a * alpha' * (1 - keep) + b is a constant array; only x * (a * keep) carries the gradient
    shift = (a * _SELU_SATURATION * (1 - keep) + b).astype(x._data.dtype)
    return x * Tensor._wrap(a * keep) + Tensor._wrap(shift)
