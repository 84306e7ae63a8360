"""Resampling: pixel_shuffle / pixel_unshuffle, interpolate (nearest, linear, bilinear,
trilinear, area) and the spatial-transformer pair affine_grid / grid_sample, with torch's
sizes, scales and align_corners.

Compositions of differentiable ops: pixel shuffling is a reshape and a permute; interpolation is
separable, so each spatial dim is one index_select (nearest) or two index_selects blended with
constant weights (linear), and the gradient is those ops' own scatter-add.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from nerve.primitives.common import as_tensor
from nerve.primitives.indexing import index_select

__all__ = [
    "affine_grid",
    "grid_sample",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r): depth to space (Shi et al., 2016).

    Raises:
        ValueError: fewer than 3 dims, or channels not divisible by r^2.
    """
    x = as_tensor(input, "pixel_shuffle")
    r = int(upscale_factor)
    if x.ndim < 3:
        raise ValueError(f"pixel_shuffle expects input to have at least 3 dimensions, got {x.ndim}")
    *lead, c, h, w = x.shape
    if r < 1 or c % (r * r):
        raise ValueError(
            f"pixel_shuffle expects its input's 'channel' dimension ({c}) to be divisible by the "
            f"square of upscale_factor ({r}^2 = {r * r})"
        )
    k = len(lead)
    y = x.reshape((*lead, c // (r * r), r, r, h, w))
    y = y.permute((*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape((*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W): space to depth, pixel_shuffle's inverse.

    Raises:
        ValueError: fewer than 3 dims, or H or W not divisible by r.
    """
    x = as_tensor(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if x.ndim < 3:
        raise ValueError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, got {x.ndim}"
        )
    *lead, c, h, w = x.shape
    if r < 1 or h % r or w % r:
        raise ValueError(
            f"pixel_unshuffle expects height ({h}) and width ({w}) to be divisible by "
            f"downscale_factor ({r})"
        )
    k = len(lead)
    y = x.reshape((*lead, c, h // r, r, w // r, r))
    y = y.permute((*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape((*lead, c * r * r, h // r, w // r))


_MODES = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "trilinear": (5,),
    "area": (3, 4),
}


def output_sizes(shape: tuple, size, scale_factor, recompute: bool):
    """Output spatial sizes and the per-dim scale factors the index math uses (None: from the
    sizes), as torch; ``shape`` is the input's (N, C, ...)."""
    nd = len(shape) - 2
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = [int(size)] * nd if np.isscalar(size) else [int(s) for s in size]
        if len(out) != nd:
            raise ValueError(
                f"interpolate: the input has {nd} spatial dims ({tuple(shape)}) but size has "
                f"{len(out)} ({size!r})"
            )
        scales = [None] * nd
    else:
        factors = [float(scale_factor)] * nd if np.isscalar(scale_factor) else list(scale_factor)
        if len(factors) != nd:
            raise ValueError(
                f"interpolate: the input has {nd} spatial dims ({tuple(shape)}) but "
                f"scale_factor has {len(factors)} ({scale_factor!r})"
            )
        out = [int(math.floor(shape[2 + d] * float(f))) for d, f in enumerate(factors)]
        scales = [None] * nd if recompute else [float(f) for f in factors]
    if any(o < 1 for o in out):
        raise ValueError(f"interpolate: the output size {tuple(out)} must be positive")
    return out, scales


def nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    # torch computes the source index in float32: floor(dst * scale) (+0.5 for nearest-exact)
    s = np.float32(n_in) / np.float32(n_out) if scale is None else np.float32(1.0 / scale)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor(((dst + np.float32(0.5)) if exact else dst) * s).astype(np.int64)
    return np.minimum(src, n_in - 1)


def linear_weights(n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """(i0, i1, lambda): out[j] = (1 - lambda) x[i0] + lambda x[i1]."""
    dst = np.arange(n_out, dtype=np.float32)
    if align_corners:
        s = np.float32(n_in - 1) / np.float32(n_out - 1) if n_out > 1 else np.float32(0)
        src = dst * s
    else:
        s = np.float32(n_in) / np.float32(n_out) if scale is None else np.float32(1.0 / scale)
        src = np.maximum((dst + np.float32(0.5)) * s - np.float32(0.5), np.float32(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = (src - i0).astype(dtype)
    return i0, i1, lam


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W).

    Args:
        input: the batch, channels first.
        size: the output spatial size (an int or one per dim), or
        scale_factor: a multiplier (one, or one per dim); the output size is floor(in * s).
        mode: "nearest", "nearest-exact", "linear" (3-d), "bilinear" (4-d), "trilinear"
            (5-d) or "area" (adaptive average pooling; 3-d and 4-d).
        align_corners: for the linear modes, map corner pixel centres onto each other
            (default False).
        recompute_scale_factor: compute the index scale from the sizes, not ``scale_factor``.
        antialias: not supported (only False).

    Returns:
        The resized tensor, input's dtype.

    Raises:
        ValueError: an unknown mode, a mode for another rank, both or neither of size and
            scale_factor, or align_corners with a non-linear mode.
        NotImplementedError: bicubic or antialias.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.interpolate(nerve.ones(1, 1, 2, 3), scale_factor=2).shape
    (1, 1, 4, 6)
    """
    x = as_tensor(input, "interpolate")
    if mode == "bicubic" or antialias:
        raise NotImplementedError("interpolate: bicubic and antialias are not supported")
    if mode not in _MODES:
        raise ValueError(f"interpolate: unknown mode {mode!r}; expected one of {list(_MODES)}")
    if x.ndim not in _MODES[mode]:
        ranks = " or ".join(f"{r}-d" for r in _MODES[mode])
        raise ValueError(
            f"interpolate: mode {mode!r} expects a {ranks} input (N, C, ...), got shape "
            f"{tuple(x.shape)}"
        )
    linear = mode in ("linear", "bilinear", "trilinear")
    if align_corners is not None and not linear:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if x.dtype.kind != "f" and mode != "nearest":
        raise TypeError(f"interpolate: mode {mode!r} needs a floating-point input, got {x.dtype}")
    out, scales = output_sizes(x.shape, size, scale_factor, bool(recompute_scale_factor))
    if mode == "area":
        fn = adaptive_avg_pool1d if x.ndim == 3 else adaptive_avg_pool2d
        return fn(x, out[0] if x.ndim == 3 else tuple(out))
    y = x
    xp = array_module_of(x._data)  # the indices and weights (made on the host) go there
    for d, (n_out, scale) in enumerate(zip(out, scales)):
        dim, n_in = 2 + d, x.shape[2 + d]
        if linear:
            i0, i1, lam = linear_weights(n_in, n_out, scale, bool(align_corners), x.dtype)
            shape = [1] * x.ndim
            shape[dim] = n_out
            lam_t = Tensor._wrap(xp.asarray(lam.reshape(shape)))
            lo = index_select(y, dim, Tensor._wrap(xp.asarray(i0)))
            hi = index_select(y, dim, Tensor._wrap(xp.asarray(i1)))
            y = lo + (hi - lo) * lam_t
        elif n_in != n_out or scale not in (None, 1.0):
            idx = nearest_index(n_in, n_out, scale, mode == "nearest-exact")
            y = index_select(y, dim, Tensor._wrap(xp.asarray(idx)))
    return y


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None) -> Tensor:
    """The deprecated name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None) -> Tensor:
    """``interpolate(mode="nearest")``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None) -> Tensor:
    """``interpolate(mode="bilinear", align_corners=True)``, as torch's deprecated helper."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ----------------------------------------------------------------------------- spatial transformers
def _base_coords(n: int, align_corners: bool) -> np.ndarray:
    """Normalized pixel-centre coordinates in [-1, 1] along one axis of n pixels."""
    if align_corners:
        return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
    return (np.arange(n) * 2 + 1) / n - 1


def affine_grid(theta, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of 2-d affine maps (Jaderberg et al., 2015).

    Args:
        theta: (N, 2, 3) affine matrices, output coordinates to input coordinates.
        size: the output's (N, C, H, W).
        align_corners: -1 and 1 are the corner pixels' centres (True) or their outer edges
            (False, the default).

    Returns:
        (N, H, W, 2) normalized (x, y) input coordinates, for grid_sample.

    Raises:
        ValueError: theta is not (N, 2, 3) or size is not a 4-d size with theta's N.
    """
    t = as_tensor(theta, "affine_grid")
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(
            f"affine_grid: only 2-d sizes (N, C, H, W) are supported, got {size}"
        )
    if t.ndim != 3 or tuple(t.shape[1:]) != (2, 3) or t.shape[0] != size[0]:
        raise ValueError(
            f"affine_grid: expected theta of shape ({size[0]}, 2, 3) for size {size}, got "
            f"{tuple(t.shape)}"
        )
    _, _, h, w = size
    ys, xs = np.meshgrid(
        _base_coords(h, bool(align_corners)), _base_coords(w, bool(align_corners)), indexing="ij"
    )
    base = np.stack([xs, ys, np.ones_like(xs)], -1).reshape(h * w, 3).astype(t.dtype)
    base = array_module_of(t._data).asarray(base)  # made on the host, moved to theta's device
    return (Tensor._wrap(base) @ t.transpose(1, 2)).reshape((size[0], h, w, 2))


def grid_sample(
    input,
    grid,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample ``input`` at the normalized (x, y) positions of ``grid``.

    Differentiable in both: the input through the gathered values, the grid through the
    bilinear weights.

    Args:
        input: (N, C, H, W).
        grid: (N, H_out, W_out, 2), x then y, in [-1, 1] (outside: padding_mode).
        mode: "bilinear" or "nearest".
        padding_mode: "zeros" or "border".
        align_corners: as in affine_grid (default False).

    Returns:
        (N, C, H_out, W_out).

    Raises:
        ValueError: shapes that do not fit, or an unknown mode.
        NotImplementedError: "bicubic", "reflection", or a 5-d input.
    """
    x = as_tensor(input, "grid_sample")
    g = as_tensor(grid, "grid_sample")
    if mode == "bicubic" or padding_mode == "reflection" or x.ndim == 5:
        raise NotImplementedError(
            "grid_sample: bicubic mode, reflection padding and 5-d inputs are not supported"
        )
    if mode not in ("bilinear", "nearest") or padding_mode not in ("zeros", "border"):
        raise ValueError(
            f"grid_sample: mode must be 'bilinear' or 'nearest' and padding_mode 'zeros' or "
            f"'border', got {mode!r} and {padding_mode!r}"
        )
    if x.ndim != 4 or g.ndim != 4 or g.shape[-1] != 2 or g.shape[0] != x.shape[0]:
        raise ValueError(
            f"grid_sample: expected input (N, C, H, W) and grid (N, H_out, W_out, 2), got "
            f"{tuple(x.shape)} and {tuple(g.shape)}"
        )
    n, c, h, w = x.shape
    ho, wo = g.shape[1:3]

    def unnormalize(coord, size):
        if align_corners:
            coord = (coord + 1) * ((size - 1) / 2)
        else:
            coord = ((coord + 1) * size - 1) / 2
        return coord.clamp(0, size - 1) if padding_mode == "border" else coord

    ix, iy = unnormalize(g[..., 0], w), unnormalize(g[..., 1], h)
    flat = x.reshape((n, c, h * w))

    def gather(xi: np.ndarray, yi: np.ndarray):
        """Values at integer pixels (N, H_out, W_out) -> (N, C, H_out, W_out); 0 outside."""
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        idx = np.where(inside, yi * w + xi, 0).reshape(n, 1, ho * wo)
        vals = flat.gather(2, Tensor._wrap(np.broadcast_to(idx, (n, c, ho * wo)).copy()))
        return vals.reshape((n, c, ho, wo)), inside[:, None].astype(x.dtype)

    if mode == "nearest":
        # torch rounds half to even (nearbyint)
        xi = np.rint(ix._data).astype(np.int64)
        yi = np.rint(iy._data).astype(np.int64)
        vals, inside = gather(xi, yi)
        return vals * Tensor._wrap(inside)
    x0 = np.floor(ix._data).astype(np.int64)
    y0 = np.floor(iy._data).astype(np.int64)
    wx1 = (ix - Tensor._wrap(x0.astype(x.dtype))).unsqueeze(1)  # carries the grid's gradient
    wy1 = (iy - Tensor._wrap(y0.astype(x.dtype))).unsqueeze(1)
    wx0, wy0 = 1 - wx1, 1 - wy1
    out = None
    corners = ((0, 0, wx0 * wy0), (1, 0, wx1 * wy0), (0, 1, wx0 * wy1), (1, 1, wx1 * wy1))
    for dx, dy, weight in corners:
        vals, inside = gather(x0 + dx, y0 + dy)
        term = vals * weight * Tensor._wrap(inside)
        out = term if out is None else out + term
    return out
