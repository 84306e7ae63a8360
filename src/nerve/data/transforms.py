"""Image transforms for one sample ``(C, H, W)`` / ``(H, W)`` or a batch ``(N, C, H, W)``.

Every transform is vectorized over the batch: random parameters are drawn once per sample as
arrays, and the geometric ones (rotation, translation, zoom, flips) become per-sample 3x3
matrices resampled in one pass by :func:`nerve.data.affine.warp` (a pure-NumPy bilinear
gather; the measurement that chose it over ``scipy.ndimage.map_coordinates`` is in that
module's docstring). :class:`Compose` multiplies the matrices of consecutive geometric
transforms, so ``Compose([RandomRotation(10), RandomTranslation(2), RandomZoom(0.1),
RandomHorizontalFlip()])`` resamples each image once, not three times.
:class:`RandomAffine`, :class:`Resize` and :class:`CenterCrop` follow torchvision's formulas
(``nerve.vision.transforms`` gives them torchvision's per-sample signatures).

Randomness: a transform given ``generator=`` (a ``numpy.random.Generator`` or an int seed)
draws from it; otherwise from the DataLoader that runs it, or from nerve's generator
(``nerve.manual_seed``). A Tensor goes in, a Tensor comes out (without a gradient: transforms
are input pipeline, not model); an ndarray gives an ndarray. Integer images stay integer
(resampled values are rounded), so ``ToFloat`` may come first or last. Called directly, a
3-D array is one (C, H, W) image; inside a DataLoader (or ``ArrayDataset.take``), which hands
the transform a whole batch, a 3-D array is a batch of N grayscale (H, W) images, so each
image gets its own draw there too.

>>> import numpy as np
>>> from nerve.data import transforms as T
>>> x = np.random.default_rng(0).integers(0, 256, (8, 28, 28), dtype=np.uint8)
>>> t = T.Compose([T.ToFloat(add_channel=True), T.RandomRotation(15, generator=0),
...                T.Normalize(0.1307, 0.3081)])
>>> t(x).shape, t(x).dtype
((8, 1, 28, 28), dtype('float32'))
"""

from __future__ import annotations

import numbers

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data import affine
from nerve.data.random import as_generator, batched, current

__all__ = [
    "Compose",
    "GaussianNoise",
    "Normalize",
    "CenterCrop",
    "RandomAffine",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomShift",
    "RandomTranslation",
    "RandomVerticalFlip",
    "RandomZoom",
    "Resize",
    "ToFloat",
    "Transform",
]


def _as_batch(x: np.ndarray, owner: str):
    """(H, W), (C, H, W) or (N, C, H, W) -> (N, C, H, W) and the function that undoes it."""
    if x.ndim == 4:
        return x, lambda y: y
    if x.ndim == 3 and batched():  # a loader's batch of grayscale images (N, H, W)
        return x[:, None], lambda y: y[:, 0]
    if x.ndim in (2, 3):
        lead = x.shape[:-2]
        return x.reshape((1,) * (4 - x.ndim) + x.shape), lambda y: y.reshape(lead + y.shape[-2:])
    raise ValueError(
        f"{owner}: expected an image (H, W) or (C, H, W), or a batch (N, C, H, W); "
        f"got shape {x.shape}"
    )


def _like(result: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Back to an integer input's dtype (rounded, clipped); float results as they are."""
    if original.dtype.kind in "iu" and result.dtype != original.dtype:
        info = np.iinfo(original.dtype)
        return np.clip(np.rint(result), info.min, info.max).astype(original.dtype)
    return result


def _range(value, owner: str, name: str, symmetric_about: float = 0.0) -> tuple[float, float]:
    """A number v -> (center - v, center + v); a pair -> itself, checked for order."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{owner}: {name} must be non-negative, got {value}")
        return symmetric_about - float(value), symmetric_about + float(value)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: {name} must be a number or a (min, max) pair, got {value!r}"
        ) from None
    if lo > hi:
        raise ValueError(f"{owner}: {name} range ({lo}, {hi}) has min > max")
    return lo, hi


def _probability(p, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{owner}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


class Transform:
    """Base class: subclasses implement ``apply`` on an ndarray."""

    def __call__(self, x):
        if isinstance(x, Tensor):
            return Tensor._wrap(self.apply(x._data))
        return self.apply(np.asarray(x))

    def apply(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k not in ("generator", "pad_width")
        )
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply ``transforms`` in order, resampling consecutive geometric ones in one pass.

    >>> import numpy as np
    >>> t = Compose([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)])
    >>> t(np.arange(4.0).reshape(2, 2))
    array([[3., 2.],
           [1., 0.]])
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")

    def apply(self, x: np.ndarray) -> np.ndarray:
        for group in self._groups():
            if len(group) == 1:
                x = group[0](x)
            else:
                x = _warp_chain(group, x)
        return x

    def _groups(self) -> list[list]:
        """Runs of geometric transforms that can share one resampling; others alone."""
        groups: list[list] = []
        for t in self.transforms:
            last = groups[-1] if groups else None
            fusable = isinstance(t, _Affine) and last and isinstance(last[0], _Affine)
            if fusable and _compatible(last + [t]):
                last.append(t)
                continue
            groups.append([t])
        return groups

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


# ----------------------------------------------------------------------------- value transforms
class ToFloat(Transform):
    """Integer images -> float32 in [0, 1] (divided by the dtype's max, 255 for uint8).

    Float images are only cast to float32.

    Args:
        add_channel: insert a channel axis into grayscale images: (H, W) -> (1, H, W),
            (N, H, W) -> (N, 1, H, W).

    >>> import numpy as np
    >>> ToFloat(add_channel=True)(np.full((2, 3, 3), 255, np.uint8)).shape
    (2, 1, 3, 3)
    """

    def __init__(self, add_channel: bool = False):
        self.add_channel = bool(add_channel)

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind in "iu":
            out = x.astype(np.float32) * np.float32(1.0 / np.iinfo(x.dtype).max)
        elif x.dtype.kind in "fb":
            out = x.astype(np.float32)
        else:
            raise TypeError(f"ToFloat: cannot convert an array of dtype {x.dtype}")
        if self.add_channel:
            if x.ndim not in (2, 3):
                raise ValueError(
                    f"ToFloat(add_channel=True) expects grayscale (H, W) or (N, H, W), "
                    f"got shape {x.shape}"
                )
            out = out[None] if x.ndim == 2 else out[:, None]
        return out


class Normalize(Transform):
    """``(x - mean) / std`` per channel (the axis -3 of (C, H, W) / (N, C, H, W)).

    >>> import numpy as np
    >>> Normalize([0.5, 1.0], [0.5, 2.0])(np.ones((2, 1, 1), np.float32)).ravel()
    array([1., 0.], dtype=float32)
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if len(self.mean) != len(self.std) and 1 not in (len(self.mean), len(self.std)):
            raise ValueError(
                f"Normalize: mean has {len(self.mean)} values but std has {len(self.std)}"
            )
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32, copy=False)
        channels = max(len(self.mean), len(self.std))
        if channels == 1:
            return (x - self.mean[0]) / self.std[0]
        if x.ndim < 3 or x.shape[-3] != channels:
            raise ValueError(
                f"Normalize: {channels} channel statistics for an input of shape {x.shape} "
                f"(channels on axis -3 expected)"
            )
        shape = (channels, 1, 1)
        return (x - self.mean.reshape(shape)) / self.std.reshape(shape)


class GaussianNoise(Transform):
    """Add N(mean, std^2) noise to float images; ``clip=(lo, hi)`` bounds the result."""

    def __init__(self, std: float = 0.1, mean: float = 0.0, clip=None, generator=None):
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be non-negative, got {std}")
        self.std, self.mean, self.clip = float(std), float(mean), clip
        self.generator = as_generator(generator, "GaussianNoise")

    def apply(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(
                f"GaussianNoise expects float images, got dtype {x.dtype}: apply ToFloat first"
            )
        noise = current(self.generator).standard_normal(x.shape, dtype=np.float32)
        out = x + (noise * self.std + self.mean).astype(x.dtype, copy=False)
        return out if self.clip is None else np.clip(out, *self.clip)


# ----------------------------------------------------------------------------- geometry
class _Affine(Transform):
    """A geometric transform: per-sample inverse matrices, resampled by affine.warp."""

    def __init__(self, interpolation, fill_mode, fill, generator):
        owner = type(self).__name__
        self.interpolation = affine.check_interpolation(interpolation, owner)
        self.fill_mode = affine.check_fill_mode(fill_mode, owner)
        self.fill = float(fill)
        self.generator = as_generator(generator, owner)

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        raise NotImplementedError

    def apply(self, x: np.ndarray) -> np.ndarray:
        return _warp_chain([self], x)


def _compatible(group: list) -> bool:
    """Flips resample exactly, so they join any run; the others must agree on resampling."""
    settings = {(t.interpolation, t.fill_mode, t.fill) for t in group if not isinstance(t, _Flip)}
    return len(settings) <= 1


def _warp_chain(group: list, x: np.ndarray) -> np.ndarray:
    batch, undo = _as_batch(x, type(group[0]).__name__)
    n, _, h, w = batch.shape
    m = affine.identity(n)
    for t in group:  # output -> input: the first transform's inverse is applied last
        m = m @ t.matrices(n, h, w)
    ref = next((t for t in group if not isinstance(t, _Flip)), group[0])
    out = affine.warp(batch, m, ref.interpolation, ref.fill_mode, ref.fill)
    return undo(_like(out, x))


class RandomRotation(_Affine):
    """Rotate by an angle drawn uniformly from ``(-degrees, degrees)`` (or a (min, max) pair).

    Positive angles turn counter-clockwise as displayed, about ``center`` ((x, y) in
    torchvision's convention: pixel (row i, col j) covers [j, j + 1) x [i, i + 1); default the
    image's center). ``fill_mode`` 'constant' (with ``fill``), 'nearest', 'reflect' or 'wrap'
    says what comes in from outside the image.

    >>> import numpy as np
    >>> x = np.zeros((1, 5, 5), np.float32); x[0, 2, :] = 1.0
    >>> RandomRotation((90, 90))(x)[0].astype(int)
    array([[0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0]])
    """

    def __init__(
        self,
        degrees,
        interpolation: str = "bilinear",
        fill_mode: str = "constant",
        fill: float = 0.0,
        generator=None,
        center=None,
    ):
        super().__init__(interpolation, fill_mode, fill, generator)
        self.degrees = _range(degrees, "RandomRotation", "degrees")
        self.center = _center(center, "RandomRotation")

    def matrices(self, n, h, w):
        angles = current(self.generator).uniform(*self.degrees, size=n)
        return affine.rotation(np.deg2rad(angles), h, w, _pixel_center(self.center))


def _center(center, owner: str):
    if center is None:
        return None
    try:
        cx, cy = (float(v) for v in center)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: center must be an (x, y) pair, got {center!r}") from None
    return cx, cy


def _pixel_center(center):
    """torchvision's (x, y), where pixel centers sit at +0.5, -> nerve's (row, col) indices."""
    return None if center is None else (center[1] - 0.5, center[0] - 0.5)


class RandomAffine(_Affine):
    """torchvision's RandomAffine, drawn per sample: rotate, translate, scale and shear.

    Args:
        degrees: angle range in degrees, a number d for (-d, d) or a (min, max) pair. As in
            torchvision's RandomAffine, positive angles turn clockwise (RandomRotation's turn
            counter-clockwise).
        translate: (a, b): shifts of up to ``a * width`` columns and ``b * height`` rows,
            drawn uniformly and rounded to whole pixels (as torchvision).
        scale: a (min, max) range of scale factors (default: none).
        shear: degrees of shear: a number s for x-shear in (-s, s), a pair for an x range, or
            four numbers for x and y ranges.
        interpolation, fill_mode, fill, generator: as for :class:`RandomRotation`.
        center: (x, y) in torchvision's convention (default: the image's center).

    Raises:
        ValueError: a range is reversed or out of bounds (translate in [0, 1], scale > 0).

    >>> import numpy as np
    >>> RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1))(np.ones((4, 1, 8, 8))).shape
    (4, 1, 8, 8)
    """

    def __init__(
        self,
        degrees,
        translate=None,
        scale=None,
        shear=None,
        interpolation: str = "bilinear",
        fill_mode: str = "constant",
        fill: float = 0.0,
        center=None,
        generator=None,
    ):
        owner = "RandomAffine"
        super().__init__(interpolation, fill_mode, fill, generator)
        self.degrees = _range(degrees, owner, "degrees")
        self.translate = None if translate is None else _pair(translate, owner, "translate")
        if self.translate is not None and not all(0.0 <= t <= 1.0 for t in self.translate):
            raise ValueError(
                f"{owner}: translation values should be between 0 and 1, got {translate}"
            )
        self.scale = None if scale is None else _range(scale, owner, "scale")
        if self.scale is not None and self.scale[0] <= 0:
            raise ValueError(f"{owner}: scale values should be positive, got {scale}")
        self.shear = _shear(shear, owner)
        self.center = _center(center, owner)

    def matrices(self, n, h, w):
        rng = current(self.generator)
        rot = np.deg2rad(rng.uniform(*self.degrees, size=n))
        ty = tx = np.zeros(n)
        if self.translate is not None:
            mx, my = self.translate[0] * w, self.translate[1] * h
            tx = np.rint(rng.uniform(-mx, mx, size=n))
            ty = np.rint(rng.uniform(-my, my, size=n))
        s = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        sx = sy = np.zeros(n)
        if self.shear is not None:
            sx = np.deg2rad(rng.uniform(*self.shear[:2], size=n))
            if len(self.shear) == 4:
                sy = np.deg2rad(rng.uniform(*self.shear[2:], size=n))
        # torchvision's rotation-scale-shear R(a) S(s) SHy SHx on (x, y); its inverse, written
        # on (row, col) = (y, x)
        a = np.cos(rot - sy) / np.cos(sy)
        b = -(a * np.tan(sx) + np.sin(rot))
        c = np.sin(rot - sy) / np.cos(sy)
        d = np.cos(rot) - c * np.tan(sx)
        inverse = np.stack([np.stack([a, -c], -1), np.stack([-b, d], -1)], -2) / s[:, None, None]
        return affine.linear(inverse, h, w, _pixel_center(self.center)) @ affine.translation(ty, tx)


def _pair(value, owner: str, name: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {name} must be a pair of numbers, got {value!r}") from None
    return a, b


def _shear(shear, owner: str):
    if shear is None:
        return None
    if isinstance(shear, numbers.Real) and not isinstance(shear, bool):
        return _range(shear, owner, "shear")
    values = tuple(float(v) for v in shear)
    if len(values) not in (2, 4):
        raise ValueError(f"{owner}: shear should be a number or 2 or 4 numbers, got {shear!r}")
    return _range(values[:2], owner, "shear") + (
        _range(values[2:], owner, "shear") if len(values) == 4 else ()
    )


def _shift_limit(value, size: int, owner: str, name: str) -> float:
    """An int is pixels; a float in [0, 1] is a fraction of the size."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative number, got {value!r}")
    if isinstance(value, numbers.Integral):
        return float(value)
    if value > 1.0:
        raise ValueError(
            f"{owner}: a float {name} is a fraction of the image size and must be <= 1, got "
            f"{value} (pass an int for pixels)"
        )
    return float(value) * size


class RandomTranslation(_Affine):
    """Shift by up to ``height`` rows and ``width`` columns, each drawn uniformly per sample.

    An int is a number of pixels, a float in [0, 1] a fraction of the image size; ``width``
    defaults to ``height``. ``RandomShift`` is the same class.
    """

    def __init__(
        self,
        height,
        width=None,
        interpolation: str = "bilinear",
        fill_mode: str = "constant",
        fill: float = 0.0,
        generator=None,
    ):
        super().__init__(interpolation, fill_mode, fill, generator)
        self.height, self.width = height, height if width is None else width
        _shift_limit(self.height, 1, "RandomTranslation", "height")
        _shift_limit(self.width, 1, "RandomTranslation", "width")

    def matrices(self, n, h, w):
        rng = current(self.generator)
        dy = _shift_limit(self.height, h, "RandomTranslation", "height")
        dx = _shift_limit(self.width, w, "RandomTranslation", "width")
        return affine.translation(rng.uniform(-dy, dy, size=n), rng.uniform(-dx, dx, size=n))


RandomShift = RandomTranslation


class RandomZoom(_Affine):
    """Scale the content by a factor drawn from ``(1 - scale, 1 + scale)`` (or a (min, max)
    pair of factors): above 1 enlarges (zooms in), below 1 shrinks; the aspect is kept."""

    def __init__(
        self,
        scale=0.1,
        interpolation: str = "bilinear",
        fill_mode: str = "constant",
        fill: float = 0.0,
        generator=None,
    ):
        super().__init__(interpolation, fill_mode, fill, generator)
        self.scale = _range(scale, "RandomZoom", "scale", symmetric_about=1.0)
        if self.scale[0] <= 0:
            raise ValueError(f"RandomZoom: zoom factors must be positive, got {self.scale}")

    def matrices(self, n, h, w):
        s = 1.0 / current(self.generator).uniform(*self.scale, size=n)
        return affine.scaling(s, s, h, w)


class _Flip(_Affine):
    axis = -1

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__("nearest", "nearest", 0.0, generator)
        self.p = _probability(p, type(self).__name__)

    def _draw(self, n: int) -> np.ndarray:
        return current(self.generator).random(n) < self.p

    def matrices(self, n, h, w):
        mask, none = self._draw(n), np.zeros(n, dtype=bool)
        return affine.flips(none, mask, h, w) if self.axis == -1 else affine.flips(mask, none, h, w)

    def apply(self, x: np.ndarray) -> np.ndarray:  # exact and cheaper than resampling
        batch, undo = _as_batch(x, type(self).__name__)
        mask = self._draw(len(batch)).reshape(-1, 1, 1, 1)
        return undo(np.where(mask, np.flip(batch, axis=self.axis), batch))


class RandomHorizontalFlip(_Flip):
    """Mirror left-right with probability ``p``, per sample."""

    axis = -1


class RandomVerticalFlip(_Flip):
    """Mirror top-bottom with probability ``p``, per sample."""

    axis = -2


# ----------------------------------------------------------------------------- crops, erasing
class RandomCrop(Transform):
    """Pad by ``padding`` (int or (rows, cols)), then cut a ``size`` window at a random place.

    ``padding_mode`` is 'constant' (with ``fill``), 'edge', 'reflect' or 'symmetric', as in
    torchvision; ``pad_if_needed`` pads an image smaller than ``size`` on both sides by the
    difference, as torchvision does.

    >>> import numpy as np
    >>> RandomCrop(28, padding=4)(np.zeros((16, 1, 28, 28), np.float32)).shape
    (16, 1, 28, 28)
    """

    _MODES = ("constant", "edge", "reflect", "symmetric")

    def __init__(
        self,
        size,
        padding=None,
        fill: float = 0.0,
        padding_mode="constant",
        generator=None,
        pad_if_needed: bool = False,
    ):
        self.size = (int(size), int(size)) if isinstance(size, numbers.Integral) else tuple(size)
        pad = 0 if padding is None else padding
        self.padding = (int(pad), int(pad)) if isinstance(pad, numbers.Integral) else tuple(pad)
        if len(self.size) != 2 or min(self.size) <= 0 or len(self.padding) != 2:
            raise ValueError(
                f"RandomCrop: size must be positive (h, w) and padding (rows, cols), got "
                f"size={size!r}, padding={padding!r}"
            )
        if min(self.padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        if padding_mode not in self._MODES:
            raise ValueError(
                f"RandomCrop: padding_mode must be one of {self._MODES}, got {padding_mode!r}"
            )
        self.fill, self.padding_mode = fill, padding_mode
        self.pad_if_needed = bool(pad_if_needed)
        # ((top, bottom), (left, right)); the torch door sets uneven ones
        self.pad_width = ((self.padding[0],) * 2, (self.padding[1],) * 2)
        self.generator = as_generator(generator, "RandomCrop")

    def _pad(self, batch: np.ndarray, rows, cols) -> np.ndarray:
        if not any(rows + cols):
            return batch
        kw = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
        return np.pad(batch, ((0, 0), (0, 0), rows, cols), self.padding_mode, **kw)

    def apply(self, x: np.ndarray) -> np.ndarray:
        batch, _ = _as_batch(x, "RandomCrop")
        batch = self._pad(batch, *self.pad_width)
        ch, cw = self.size
        if self.pad_if_needed:
            dw, dh = max(cw - batch.shape[3], 0), max(ch - batch.shape[2], 0)
            batch = self._pad(batch, (0, 0), (dw, dw))
            batch = self._pad(batch, (dh, dh), (0, 0))
        n, _, h, w = batch.shape
        if ch > h or cw > w:
            raise ValueError(
                f"RandomCrop: crop size {self.size} is larger than the padded image ({h}, {w})"
            )
        rng = current(self.generator)
        top = rng.integers(0, h - ch + 1, size=n)
        left = rng.integers(0, w - cw + 1, size=n)
        rows = (top[:, None] + np.arange(ch))[:, None, :, None]
        cols = (left[:, None] + np.arange(cw))[:, None, None, :]
        out = batch[
            np.arange(n)[:, None, None, None], np.arange(batch.shape[1])[:, None, None], rows, cols
        ]
        return out if x.ndim == 4 else out.reshape(x.shape[:-2] + self.size)


class RandomErasing(Transform):
    """Blank a random rectangle with probability ``p`` (Zhong et al. 2017, as torchvision).

    The area is a ``scale`` fraction of the image, the aspect ratio (h / w) drawn
    log-uniformly from ``ratio``; a box that would not fit is clipped to the image (torchvision
    retries instead). ``value`` is a number or 'random' (standard normal noise).
    """

    def __init__(
        self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, generator=None
    ):
        self.p = _probability(p, "RandomErasing")
        self.scale = _range(scale, "RandomErasing", "scale")
        self.ratio = _range(ratio, "RandomErasing", "ratio")
        if not (self.scale[0] > 0 and self.scale[1] <= 1) or self.ratio[0] <= 0:
            raise ValueError(
                f"RandomErasing: scale must lie in (0, 1] and ratio be positive, got "
                f"scale={scale!r}, ratio={ratio!r}"
            )
        if not (value == "random" or isinstance(value, numbers.Real)):
            raise ValueError(f"RandomErasing: value must be a number or 'random', got {value!r}")
        self.value = value
        self.generator = as_generator(generator, "RandomErasing")

    def apply(self, x: np.ndarray) -> np.ndarray:
        batch, undo = _as_batch(x, "RandomErasing")
        n, _, h, w = batch.shape
        rng = current(self.generator)
        chosen = rng.random(n) < self.p
        area = rng.uniform(*self.scale, size=n) * h * w
        ratio = np.exp(rng.uniform(*np.log(self.ratio), size=n))
        eh = np.clip(np.rint(np.sqrt(area * ratio)), 1, h).astype(np.int64)
        ew = np.clip(np.rint(np.sqrt(area / ratio)), 1, w).astype(np.int64)
        top = (rng.random(n) * (h - eh + 1)).astype(np.int64)
        left = (rng.random(n) * (w - ew + 1)).astype(np.int64)
        r, c = np.arange(h), np.arange(w)
        in_rows = (r >= top[:, None]) & (r < (top + eh)[:, None])
        in_cols = (c >= left[:, None]) & (c < (left + ew)[:, None])
        mask = (in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None])[:, None]
        if self.value == "random":
            fill = rng.standard_normal(batch.shape, dtype=np.float32).astype(batch.dtype)
        else:
            fill = np.asarray(self.value, dtype=batch.dtype)
        return undo(np.where(mask, fill, batch))


from nerve.data.resize import CenterCrop, Resize  # noqa: E402 - they build on the helpers above
