"""Image resizing as Keras 3 does it on its torch backend: the Resizing and CenterCrop layers and
:func:`resize_images`, which UpSampling2D's smooth interpolations also use.

Resampling is separable: along each spatial axis the output is a fixed linear combination of
the input, so 'bilinear' and 'bicubic' are one small (out, in) weight matrix per axis, applied
with ``matmul`` (differentiable through nerve's ops, no new kernel), and 'nearest' is an
``index_select``. The weights follow ``torch.nn.functional.interpolate`` with
``align_corners=False``, which is what Keras calls: half-pixel centers, bilinear source
positions clamped at 0, bicubic with A = -0.75 and edge-replicated taps, Keras's 'nearest' is
torch's 'nearest-exact' (the pixel whose center is nearest), and ``antialias=True`` is torch's
antialiased kernel (a triangle or A = -0.5 cubic filter stretched by the downscale factor,
renormalized at the borders).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer
from nerve.layers.conv import data_format_of
from nerve.primitives import elementwise, indexing, linalg
from nerve.primitives import shape as shape_ops
from nerve.primitives.common import as_tensor

__all__ = ["CenterCrop", "Resizing"]

INTERPOLATIONS = ("bilinear", "nearest", "bicubic")
_CUBIC_A = -0.75  # torch's (and TensorFlow's) bicubic coefficient


def _cubic(t: np.ndarray) -> np.ndarray:
    """The four bicubic tap weights for fractional offsets ``t`` in [0, 1), shape (n, 4)."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _antialias_weights(n_in: int, n_out: int, interpolation: str) -> np.ndarray:
    """torch's antialiased resampling matrix (``interpolate(..., antialias=True)``)."""
    scale = n_in / n_out
    taps = 2 if interpolation == "bilinear" else 4
    support = taps * 0.5 * scale if scale >= 1.0 else taps * 0.5
    inv = 1.0 / scale if scale >= 1.0 else 1.0

    def kernel(x):
        x = np.abs(x)
        if interpolation == "bilinear":
            return np.maximum(0.0, 1.0 - x)
        a = -0.5  # torch's antialiased bicubic uses A = -0.5
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = (((x - 5) * x + 8) * x - 4) * a
        return np.where(x < 1, near, np.where(x < 2, far, 0.0))

    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)  # int() truncates toward 0, as C's cast
        hi = min(int(center + support + 0.5), n_in)
        j = np.arange(lo, hi)
        k = kernel((j - center + 0.5) * inv)
        total = k.sum()
        w[i, lo:hi] = k / total if total != 0 else k
    return w


def resize_weights(n_in: int, n_out: int, interpolation: str, antialias: bool = False):
    """The (n_out, n_in) float64 matrix that resamples one axis (rows sum to 1)."""
    if antialias and interpolation in ("bilinear", "bicubic"):
        return _antialias_weights(n_in, n_out, interpolation)
    scale = n_in / n_out
    out = np.arange(n_out, dtype=np.float64)
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if interpolation == "bilinear":
        src = np.maximum((out + 0.5) * scale - 0.5, 0.0)
        lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        np.add.at(w, (rows, lo), 1.0 - frac)
        np.add.at(w, (rows, hi), frac)
    else:  # bicubic
        src = (out + 0.5) * scale - 0.5
        base = np.floor(src).astype(np.int64)
        taps = _cubic(src - base)
        for k in range(4):
            np.add.at(w, (rows, np.clip(base - 1 + k, 0, n_in - 1)), taps[:, k])
    return w


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output position for 'nearest' (torch's nearest-exact)."""
    src = np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.int64)
    return np.minimum(src, n_in - 1)


def resize_axis(x: Tensor, axis: int, size: int, interpolation: str, antialias=False):
    """``x`` resampled to ``size`` along ``axis`` (differentiable)."""
    n = x.shape[axis]
    if n == size:
        return x  # every interpolation maps an axis onto itself exactly
    if interpolation == "nearest":
        return indexing.index_select(x, axis, nearest_indices(n, size))
    w = Tensor._wrap(resize_weights(n, size, interpolation, antialias).T.astype(x.dtype))
    moved = shape_ops.movedim(x, axis, -1)
    return shape_ops.movedim(linalg.matmul(moved, w), -1, axis)


def resize_images(
    x: Tensor, size: tuple, interpolation: str, data_format: str, owner: str, antialias=False
):
    """Images (N, H, W, C) (or channels_first, or unbatched) resized to ``size`` = (h, w).

    Args:
        x: a floating-point Tensor of rank 3 or 4.
        size: the output (height, width).
        interpolation: 'bilinear', 'nearest' or 'bicubic'.
        data_format: 'channels_last' or 'channels_first'.
        owner: the layer's name, for errors.
        antialias: torch's antialiased kernel (bilinear and bicubic only).

    Returns:
        The resized Tensor, in ``x``'s dtype.

    Raises:
        ValueError: for another rank or interpolation.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"{owner}: interpolation must be one of {INTERPOLATIONS} (Keras's torch backend has "
            f"no lanczos), got {interpolation!r}"
        )
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{owner}: expected images of rank 4 (batch, height, width, channels) or 3 (one "
            f"image), got shape {tuple(x.shape)}"
        )
    h_axis = x.ndim - 3 if data_format == "channels_last" else x.ndim - 2
    x = resize_axis(x, h_axis, int(size[0]), interpolation, antialias)
    return resize_axis(x, h_axis + 1, int(size[1]), interpolation, antialias)


def _spatial(x: Tensor, data_format: str) -> tuple:
    """(height axis, height, width) of images in either layout, batched or not."""
    h_axis = x.ndim - 3 if data_format == "channels_last" else x.ndim - 2
    return h_axis, x.shape[h_axis], x.shape[h_axis + 1]


def crop_box(height: int, width: int, target_h: int, target_w: int) -> tuple:
    """(top, left, crop height, crop width) of the largest centered box with the target's
    aspect ratio (Keras's crop_to_aspect_ratio and smart_resize)."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def _crop(x: Tensor, h_axis: int, top: int, left: int, h: int, w: int) -> Tensor:
    index = [slice(None)] * x.ndim
    index[h_axis] = slice(top, top + h)
    index[h_axis + 1] = slice(left, left + w)
    return x[tuple(index)]


def _check_size(value, what: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Resizing(Layer):
    """Resize images to (height, width), as Keras's Resizing on its torch backend.

    Args:
        height, width: the output size.
        interpolation: 'bilinear' (default), 'nearest' or 'bicubic' (no lanczos, as Keras on
            torch).
        crop_to_aspect_ratio: first crop the largest centered box with the target's aspect
            ratio, so the image is not distorted.
        pad_to_aspect_ratio: first pad (with ``fill_value``) to the target's aspect ratio.
        fill_mode: 'constant' (the only mode, as Keras on torch).
        fill_value: the padding value of ``pad_to_aspect_ratio``.
        antialias: filter while downscaling (bilinear and bicubic), as torch's
            ``interpolate(antialias=True)``, which Keras on torch calls.
        data_format: 'channels_last' (default) or 'channels_first'.

    Integer images come back in their dtype, rounded and clipped to its range (as Keras);
    floating images keep theirs. The resize is differentiable.

    Shape:
        (N, H, W, C) or (H, W, C) -> (N, height, width, C) or (height, width, C).

    Raises:
        ValueError: for bad sizes, both aspect-ratio options at once, another fill_mode, or
            input of another rank.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Resizing(2, 3)(nerve.ones(1, 4, 6, 3)).shape
    (1, 2, 3, 3)
    """

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.height = _check_size(height, "height", "Resizing")
        self.width = _check_size(width, "width", "Resizing")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"Resizing: interpolation must be one of {INTERPOLATIONS} (Keras's torch "
                f"backend has no lanczos), got {interpolation!r}"
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                "Resizing: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True"
            )
        if fill_mode != "constant":
            raise ValueError(f"Resizing: fill_mode must be 'constant', got {fill_mode!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)
        self.data_format = data_format_of(data_format, "Resizing")

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        dtype = x.dtype
        if dtype.kind != "f":
            x = elementwise.cast(x, np.float32)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"Resizing layer {self.name!r}: expected images of rank 4 (batch, height, "
                f"width, channels) or 3, got shape {tuple(x.shape)}"
            )
        h_axis, h, w = _spatial(x, self.data_format)
        if self.crop_to_aspect_ratio:
            top, left, ch, cw = crop_box(h, w, self.height, self.width)
            x = _crop(x, h_axis, top, left, ch, cw)
        elif self.pad_to_aspect_ratio:
            x = self._pad_to_aspect(x, h_axis, h, w)
        size = (self.height, self.width)
        y = resize_images(x, size, self.interpolation, self.data_format, self.name, self.antialias)
        if dtype.kind in "iu":
            # Back to the input's integer dtype, rounded and saturated (an integer output has
            # no gradient, so this is plain NumPy).
            info = np.iinfo(dtype)
            return Tensor._wrap(np.clip(np.rint(y._data), info.min, info.max).astype(dtype))
        return y

    def _pad_to_aspect(self, x: Tensor, h_axis: int, h: int, w: int) -> Tensor:
        pad_h = max(h, int(float(w * self.height) / self.width))
        pad_w = max(w, int(float(h * self.width) / self.height))
        top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
        # Keras pads the same amount on both sides (pad_h - h may be odd: the result is then
        # one row short of pad_h, as Keras's).
        widths = [(0, 0)] * x.ndim
        widths[h_axis], widths[h_axis + 1] = (top, top), (left, left)
        flat = [v for pair in reversed(widths) for v in pair]
        return shape_ops.pad(x, flat, value=self.fill_value)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": self.data_format,
        }


class CenterCrop(Layer):
    """Crop the central (height, width) box of images, as Keras's CenterCrop.

    An image smaller than the box on either side is instead cropped to the box's aspect ratio
    and resized (bilinear) to it, as Keras does. Integer images become float32.

    Args:
        height, width: the output size.
        data_format: 'channels_last' (default) or 'channels_first'.

    Shape:
        (N, H, W, C) or (H, W, C) -> (N, height, width, C) or (height, width, C).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.CenterCrop(2, 2)(nerve.arange(16.0).reshape(1, 4, 4, 1)).reshape(-1).tolist()
    [5.0, 6.0, 9.0, 10.0]
    """

    def __init__(self, height: int, width: int, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _check_size(height, "height", "CenterCrop")
        self.width = _check_size(width, "width", "CenterCrop")
        self.data_format = data_format_of(data_format, "CenterCrop")

    def call(self, inputs):
        x = as_tensor(inputs, self.name)
        if x.dtype.kind != "f":
            x = elementwise.cast(x, np.float32)
        if x.ndim not in (3, 4):
            raise ValueError(
                f"CenterCrop layer {self.name!r}: expected images of rank 4 (batch, height, "
                f"width, channels) or 3, got shape {tuple(x.shape)}"
            )
        h_axis, h, w = _spatial(x, self.data_format)
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return _crop(x, h_axis, top, left, self.height, self.width)
        top, left, ch, cw = crop_box(h, w, self.height, self.width)
        x = _crop(x, h_axis, top, left, ch, cw)
        return resize_images(x, (self.height, self.width), "bilinear", self.data_format, self.name)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "data_format": self.data_format,
        }
