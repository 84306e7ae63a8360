"""Resizing and center-cropping image batches, with torchvision's sizes and formulas.

Resampling is separable: one weight matrix per axis (output pixels x input pixels), applied
to the whole batch by two matrix products. Bilinear weights are the triangle filter at
half-pixel centers (``align_corners=False``): input pixel j sits at j + 0.5, output pixel i
samples ``(i + 0.5) * in / out``. With ``antialias`` and a shrinking axis the triangle widens
by the shrink factor (so every input pixel contributes), which is what
``torch.nn.functional.interpolate(..., antialias=True)`` and torchvision's default Resize
compute. Rows of the weight matrix are normalized, so the border behaves as torch's clamping.
"""

from __future__ import annotations

import numbers

import numpy as np

from nerve.data.transforms import Transform, _as_batch, _like

__all__ = ["CenterCrop", "Resize", "resize_weights"]

_INTERPOLATIONS = ("bilinear", "nearest", "nearest-exact")


def _size_pair(size, owner: str) -> tuple[int, int]:
    """torchvision's size argument: an int (square) or an (h, w) sequence."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        pair = (int(size), int(size))
    else:
        try:
            values = [int(v) for v in size]
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: size must be an int or an (h, w) pair, got {size!r}"
            ) from None
        if len(values) not in (1, 2):
            raise ValueError(f"{owner}: Please provide only two dimensions (h, w) for size.")
        pair = (values[0], values[-1])
    if min(pair) <= 0:
        raise ValueError(f"{owner}: size must be positive, got {size!r}")
    return pair


def resize_weights(n_in: int, n_out: int, interpolation: str, antialias: bool) -> np.ndarray:
    """The (n_out, n_in) float64 matrix that resamples one axis of length n_in to n_out."""
    scale = n_in / n_out
    out = np.arange(n_out, dtype=np.float64)
    if interpolation != "bilinear":
        # torch's 'nearest' reads floor(i * scale); 'nearest-exact' the pixel under the center
        shift = 0.5 if interpolation == "nearest-exact" else 0.0
        src = np.minimum(np.floor((out + shift) * scale), n_in - 1).astype(np.intp)
        weights = np.zeros((n_out, n_in))
        weights[np.arange(n_out), src] = 1.0
        return weights
    support = max(scale, 1.0) if antialias else 1.0
    center = (out + 0.5) * scale
    distance = (np.arange(n_in, dtype=np.float64) + 0.5)[None, :] - center[:, None]
    weights = np.maximum(0.0, 1.0 - np.abs(distance) / support)
    return weights / weights.sum(axis=1, keepdims=True)


class Resize(Transform):
    """Resize images (H, W), (C, H, W) or batches (N, C, H, W) to ``size``, as torchvision.

    Args:
        size: (h, w), or an int: the smaller edge becomes ``size`` and the other keeps the
            aspect ratio (``int(size * long / short)``).
        interpolation: 'bilinear' (default), 'nearest' or 'nearest-exact' (torch's modes).
        max_size: with an int ``size``, the longer edge is capped at this.
        antialias: widen the bilinear filter when shrinking (torchvision's default True).

    Raises:
        ValueError: a bad size or interpolation, or ``max_size`` with an (h, w) size.

    >>> import numpy as np
    >>> Resize(4)(np.ones((1, 8, 16), np.float32)).shape
    (1, 4, 8)
    """

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        owner = "Resize"
        # an int, or a one-element sequence, means "the smaller edge" (torchvision)
        edge = isinstance(size, numbers.Integral) or (
            not isinstance(size, str) and hasattr(size, "__len__") and len(size) == 1
        )
        pair = _size_pair(size, owner)
        self.size = size
        self._edge = pair[0] if edge else None
        self._pair = None if edge else pair
        interpolation = getattr(interpolation, "value", interpolation)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"{owner}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}"
            )
        if max_size is not None and not edge:
            raise ValueError(
                f"{owner}: max_size should only be passed if size is an int or a sequence of "
                f"length 1, got size={size!r}"
            )
        if max_size is not None and max_size <= pair[0]:
            raise ValueError(
                f"{owner}: max_size = {max_size} must be strictly greater than the requested "
                f"size for the smaller edge size = {pair[0]}"
            )
        self.interpolation, self.max_size, self.antialias = interpolation, max_size, antialias

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        """The (h, w) an image of (h, w) is resized to."""
        if self._pair is not None:
            return self._pair
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = self._edge, int(self._edge * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def apply(self, x: np.ndarray) -> np.ndarray:
        batch, undo = _as_batch(x, "Resize")
        h, w = batch.shape[-2:]
        oh, ow = self.output_size(h, w)
        if (oh, ow) == (h, w):
            return x
        dtype = batch.dtype if batch.dtype.kind == "f" else np.dtype(np.float32)
        wy = resize_weights(h, oh, self.interpolation, self.antialias).astype(dtype)
        wx = resize_weights(w, ow, self.interpolation, self.antialias).astype(dtype)
        out = np.matmul(np.matmul(wy, batch.astype(dtype, copy=False)), wx.T)
        return _like(undo(out), x)


class CenterCrop(Transform):
    """Cut the central ``size`` window, padding with zeros first if the image is smaller.

    The window starts at ``round((H - h) / 2)`` rows and ``round((W - w) / 2)`` columns
    (Python's rounding, as torchvision).

    >>> import numpy as np
    >>> CenterCrop(2)(np.arange(16).reshape(4, 4))
    array([[ 5,  6],
           [ 9, 10]])
    """

    def __init__(self, size):
        self.size = _size_pair(size, "CenterCrop")

    def apply(self, x: np.ndarray) -> np.ndarray:
        batch, undo = _as_batch(x, "CenterCrop")
        ch, cw = self.size
        h, w = batch.shape[-2:]
        if ch > h or cw > w:
            rows = ((ch - h) // 2, (ch - h + 1) // 2) if ch > h else (0, 0)
            cols = ((cw - w) // 2, (cw - w + 1) // 2) if cw > w else (0, 0)
            batch = np.pad(batch, ((0, 0), (0, 0), rows, cols))
            h, w = batch.shape[-2:]
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        return undo(batch[..., top : top + ch, left : left + cw])
