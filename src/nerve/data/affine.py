"""Affine resampling of image batches: the kernel behind the geometric transforms and layers.

A transform is a batch of 3x3 matrices in pixel coordinates ``(row, col, 1)`` that map each
*output* pixel to the point of the *input* it samples (the inverse map, as
``scipy.ndimage.affine_transform`` and Keras's ``affine_transform`` take it). Composing
transforms is multiplying their matrices, so a chain of rotation, shift, zoom and flip costs one
resampling for the whole batch.

The resampling is a pure-NumPy bilinear gather: four ``np.take`` calls on the flattened batch
with per-sample coordinates, and a weighted sum. It was chosen over
``scipy.ndimage.map_coordinates`` on the stacked (N, H, W) array (the sample index as a third,
integer coordinate) because it is faster and keeps scipy optional: for 128 images of 28x28 on
the shared 2-core development machine, the gather took 8 ms and map_coordinates 8 to 27 ms
(``benchmarks/bench_augment.py`` prints both). scipy evaluates its spline weights point by
point through all three axes; the gather is four vectorized reads.
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def check_fill_mode(fill_mode: str, owner: str) -> str:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{owner}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    return fill_mode


def check_interpolation(interpolation: str, owner: str) -> str:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"{owner}: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}"
        )
    return interpolation


# ----------------------------------------------------------------------------- matrices
def identity(n: int) -> np.ndarray:
    out = np.zeros((n, 3, 3))
    out[:, 0, 0] = out[:, 1, 1] = out[:, 2, 2] = 1.0
    return out


def _about_center(m: np.ndarray, h: int, w: int, center=None) -> np.ndarray:
    """Conjugate linear maps ``m`` (n, 2, 2) by a move of ``center`` (row, col) to the origin.

    The default center is the image's, ``((h - 1) / 2, (w - 1) / 2)`` in pixel indices.
    """
    if center is None:
        center = ((h - 1) / 2.0, (w - 1) / 2.0)
    center = np.asarray(center, dtype=np.float64)
    out = identity(len(m))
    out[:, :2, :2] = m
    out[:, :2, 2] = center - m @ center
    return out


def rotation(angles: np.ndarray, h: int, w: int, center=None) -> np.ndarray:
    """Rotate the content by ``angles`` radians, counter-clockwise as displayed (row axis down).

    ``center`` is the (row, col) pixel position the content turns about (default: the image's
    center).
    """
    c, s = np.cos(angles), np.sin(angles)
    # output -> input is the inverse rotation, a clockwise turn on screen (rows point down)
    m = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)
    return _about_center(m, h, w, center)


def linear(inverse: np.ndarray, h: int, w: int, center=None) -> np.ndarray:
    """A general linear map about ``center`` (row, col), given by its inverse (n, 2, 2) on
    (row, col) coordinates."""
    return _about_center(np.asarray(inverse, dtype=np.float64), h, w, center)


def translation(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Shift the content by ``dy`` rows (down) and ``dx`` columns (right)."""
    out = identity(len(dy))
    out[:, 0, 2] = -np.asarray(dy, dtype=np.float64)
    out[:, 1, 2] = -np.asarray(dx, dtype=np.float64)
    return out


def scaling(sy: np.ndarray, sx: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sample the input at ``center + (p - center) * s``: s > 1 zooms out, s < 1 zooms in."""
    m = np.zeros((len(sy), 2, 2))
    m[:, 0, 0], m[:, 1, 1] = sy, sx
    return _about_center(m, h, w)


def flips(vertical: np.ndarray, horizontal: np.ndarray, h: int, w: int) -> np.ndarray:
    """Mirror the samples where the boolean masks say so (exact at integer coordinates)."""
    out = identity(len(vertical))
    out[vertical, 0, 0], out[vertical, 0, 2] = -1.0, h - 1
    out[horizontal, 1, 1], out[horizontal, 1, 2] = -1.0, w - 1
    return out


# ----------------------------------------------------------------------------- resampling
def _indices(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Integer sample positions folded into [0, n) by the fill mode (constant: see warp)."""
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":  # d c b a | a b c d | d c b a
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)
    return np.clip(i, 0, n - 1)  # nearest


def warp(
    images: np.ndarray,
    matrices: np.ndarray,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
) -> np.ndarray:
    """Resample a batch ``(N, C, H, W)`` through per-sample inverse matrices ``(N, 3, 3)``.

    Float input stays in its dtype; integer input is resampled in float32 and returned as
    float32 (bilinear weights make fractions).

    >>> import numpy as np
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    >>> warp(x, translation(np.array([0.0]), np.array([1.0])))[0, 0]
    array([[0., 0., 1.],
           [0., 3., 4.],
           [0., 6., 7.]], dtype=float32)
    """
    n, c, h, w = images.shape
    dtype = images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)
    src = images.astype(dtype, copy=False)
    oy, ox = 0, 0
    if fill_mode == "constant":
        # one ring of fill around every image: any neighbour outside lands on it (after clipping)
        # (filled by hand: np.pad's generality costs more than the copy for one small image)
        ring = np.full((n, c, h + 2, w + 2), fill_value, dtype=dtype)
        ring[:, :, 1:-1, 1:-1] = src
        src = ring
        oy = ox = 1
        mode = "nearest"
    else:
        mode = fill_mode
    hp, wp = src.shape[2], src.shape[3]
    m = matrices.astype(np.float32)
    rows = np.arange(h, dtype=np.float32)[None, :, None]
    cols = np.arange(w, dtype=np.float32)[None, None, :]
    sy = m[:, 0, 0, None, None] * rows + m[:, 0, 1, None, None] * cols
    sy += m[:, 0, 2, None, None] + oy  # + oy, ox: coordinates in the padded image
    sx = m[:, 1, 0, None, None] * rows + m[:, 1, 1, None, None] * cols
    sx += m[:, 1, 2, None, None] + ox
    if fill_mode == "constant":  # far-away points stay on the fill ring, without overflow
        np.clip(sy, -1.0, hp, out=sy)
        np.clip(sx, -1.0, wp, out=sx)
    # flat offset of each (sample, channel) plane in the (padded) batch
    base = (np.arange(n * c, dtype=np.intp) * (hp * wp)).reshape(n, c, 1)
    flat = src.reshape(-1)
    size = h * w

    if interpolation == "nearest":
        iy = _indices(np.rint(sy).astype(np.intp), hp, mode)  # ties to even, as torch and Keras
        ix = _indices(np.rint(sx).astype(np.intp), wp, mode)
        index = base + (iy * wp + ix).reshape(n, 1, size)
        return np.take(flat, index).reshape(n, c, h, w)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy = (sy - y0).reshape(n, 1, size).astype(dtype, copy=False)
    fx = (sx - x0).reshape(n, 1, size).astype(dtype, copy=False)
    y0, x0 = y0.astype(np.intp), x0.astype(np.intp)
    r0 = (_indices(y0, hp, mode) * wp).reshape(n, 1, size)
    r1 = (_indices(y0 + 1, hp, mode) * wp).reshape(n, 1, size)
    c0 = _indices(x0, wp, mode).reshape(n, 1, size)
    c1 = _indices(x0 + 1, wp, mode).reshape(n, 1, size)
    if c > 1:
        r0, r1 = r0 + base, r1 + base
    else:
        r0 += base
        r1 += base
    top = np.take(flat, r0 + c0)
    top += (np.take(flat, r0 + c1) - top) * fx
    bottom = np.take(flat, r1 + c0)
    bottom += (np.take(flat, r1 + c1) - bottom) * fx
    top += (bottom - top) * fy
    return top.reshape(n, c, h, w)
