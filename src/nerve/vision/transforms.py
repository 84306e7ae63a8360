"""torchvision.transforms' names over nerve's image transforms: per sample, one draw per call.

Each class maps torchvision's signature and defaults onto the one implementation in
:mod:`nerve.data.transforms` (vectorized over a batch there). Here an input is one image, as
in torchvision: every call draws its random parameters once and applies them to the whole
input.

Inputs:

- a Tensor ``(..., H, W)`` is a tensor image, as in torchvision (leading axes are channels
  or a batch, all transformed alike);
- a NumPy array ``(H, W)`` or ``(H, W, C)`` stands where torchvision has a PIL image: what
  :class:`nerve.vision.datasets.MNIST` returns, and what :class:`ToTensor` turns into a
  float32 ``(C, H, W)`` Tensor in [0, 1]. Geometric transforms keep it an array (uint8 stays
  uint8, rounded).

There is no ``ToPILImage``: nerve does not depend on Pillow, and its image type is the array
that ToPILImage would have wrapped, so a pipeline drops that step (and ``PILToTensor`` takes
the array). Interpolation is 'nearest' or 'bilinear' for rotations and affine maps (nerve's
resampler), and 'nearest', 'nearest-exact' or 'bilinear' for Resize.

>>> import numpy as np
>>> from nerve.vision import transforms as T
>>> t = T.Compose([T.RandomRotation(10), T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
>>> x = t(np.zeros((28, 28), np.uint8))
>>> x.shape, x.dtype
((1, 28, 28), dtype('float32'))
"""

from __future__ import annotations

import enum
import numbers

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data import transforms as _t

__all__ = [
    "CenterCrop",
    "Compose",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "RandomAffine",
    "RandomCrop",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToTensor",
]


class InterpolationMode(enum.Enum):
    """torchvision's interpolation names (nerve resamples with the first three)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _interpolation(value, owner: str, allowed: tuple) -> str:
    mode = value.value if isinstance(value, InterpolationMode) else value
    if mode not in allowed:
        raise ValueError(
            f"{owner}: interpolation {mode!r} is not supported by nerve; use one of {allowed}"
        )
    return mode


def _fill(fill, owner: str) -> float:
    """A number, or a per-channel sequence whose values agree (nerve fills with one value)."""
    if fill is None:
        return 0.0
    if isinstance(fill, numbers.Real):
        return float(fill)
    values = {float(v) for v in fill}
    if len(values) != 1:
        raise NotImplementedError(
            f"{owner}: a different fill per channel ({list(fill)}) is not supported; pass one "
            f"number"
        )
    return values.pop()


def _planes(img, owner: str):
    """One image -> a (1, K, H, W) array and the function that gives the result its form."""
    if isinstance(img, Tensor):
        arr = img._data
        if arr.ndim < 2:
            raise ValueError(f"{owner}: a tensor image needs shape (..., H, W), got {arr.shape}")
        lead = arr.shape[:-2]
        return arr.reshape((1, -1) + arr.shape[-2:]), lambda out: Tensor._wrap(
            out.reshape(lead + out.shape[-2:])
        )
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img[None, None], lambda out: out[0, 0]
        if img.ndim == 3:  # (H, W, C), as a PIL image's array
            return img.transpose(2, 0, 1)[None], lambda out: np.ascontiguousarray(
                out[0].transpose(1, 2, 0)
            )
        raise ValueError(f"{owner}: an image array must be (H, W) or (H, W, C), got {img.shape}")
    raise TypeError(
        f"{owner}: img should be a Tensor (..., H, W) or an image array (H, W[, C]), got "
        f"{type(img).__name__}"
    )


class _PerImage:
    """A torchvision-style transform run by a nerve.data transform on one image per call."""

    _inner: _t.Transform

    def __call__(self, img):
        planes, restore = _planes(img, type(self).__name__)
        return restore(self._inner.apply(planes))

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class Compose:
    """Apply ``transforms`` one after the other.

    >>> import numpy as np
    >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])(3)
    8
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {t!r}")

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda:
    """Apply a user function as a transform.

    Raises:
        TypeError: ``lambd`` is not callable.
    """

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _image_array(pic, owner: str) -> np.ndarray:
    if isinstance(pic, Tensor) or not isinstance(pic, np.ndarray):
        raise TypeError(
            f"{owner}: pic should be an image array (H, W) or (H, W, C) (nerve's stand-in for "
            f"a PIL Image) or ndarray. Got {type(pic).__name__}"
        )
    if pic.ndim not in (2, 3):
        raise ValueError(f"{owner}: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
    return pic[:, :, None] if pic.ndim == 2 else pic


class ToTensor:
    """An image array ``(H, W[, C])`` -> a Tensor ``(C, H, W)``; uint8 becomes float32 / 255.

    Other dtypes are kept as they are, unscaled (as torchvision does for an ndarray).

    Raises:
        TypeError: ``pic`` is not an array (a Tensor is already converted).
        ValueError: ``pic`` is not 2-D or 3-D.

    >>> import numpy as np
    >>> ToTensor()(np.full((2, 2), 255, np.uint8)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """

    def __call__(self, pic):
        arr = np.ascontiguousarray(_image_array(pic, "ToTensor").transpose(2, 0, 1))
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255)
        return Tensor._wrap(arr)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """An image array ``(H, W[, C])`` -> a Tensor ``(C, H, W)`` of the same dtype, unscaled."""

    def __call__(self, pic):
        arr = _image_array(pic, "PILToTensor")
        return Tensor._wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "PILToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float tensor image ``(..., C, H, W)``.

    Raises:
        TypeError: the input is not a float Tensor.
        ValueError: it has fewer than 3 axes, or a std is zero.

    >>> import nerve
    >>> Normalize((0.5,), (0.25,))(nerve.ones(1, 2, 2)).tolist()
    [[[2.0, 2.0], [2.0, 2.0]]]
    """

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace
        if np.any(np.asarray(std, dtype=np.float64) == 0):
            raise ValueError(
                f"Normalize: std evaluated to zero, leading to division by zero (std={std})"
            )
        self._inner = _t.Normalize(mean, std)

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor).__name__}")
        if tensor.dtype.kind != "f":
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(
                f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                f"tensor.size() = {tensor.shape}."
            )
        out = self._inner.apply(tensor._data).astype(tensor.dtype, copy=False)
        if self.inplace:
            tensor._data[...] = out
            return tensor
        return Tensor._wrap(out)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Resize(_PerImage):
    """Resize to ``size`` ((h, w), or an int for the smaller edge), as torchvision.

    See :class:`nerve.data.transforms.Resize` for the formulas (bilinear with antialiasing
    when shrinking, torchvision's default).
    """

    def __init__(
        self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True
    ):
        self.size, self.max_size, self.antialias = size, max_size, antialias
        modes = ("bilinear", "nearest", "nearest-exact")
        self.interpolation = _interpolation(interpolation, "Resize", modes)
        self._inner = _t.Resize(size, self.interpolation, max_size, bool(antialias))


class CenterCrop(_PerImage):
    """Cut the central ``size`` window (zero-padded first if the image is smaller)."""

    def __init__(self, size):
        self.size = size
        self._inner = _t.CenterCrop(size)


def _padding_ltrb(padding, owner: str):
    """torchvision's padding: int, (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * 4
    values = [int(v) for v in padding]
    if len(values) == 1:
        return (values[0],) * 4
    if len(values) == 2:
        return values[0], values[1], values[0], values[1]
    if len(values) == 4:
        return tuple(values)
    raise ValueError(
        f"{owner}: Padding must be an int or a 1, 2, or 4 element tuple, not a "
        f"{len(values)} element tuple"
    )


class RandomCrop(_PerImage):
    """Pad by ``padding``, then cut a ``size`` window at a random place, as torchvision.

    ``padding`` is an int, (left/right, top/bottom) or (left, top, right, bottom);
    ``pad_if_needed`` pads an image smaller than ``size``; ``padding_mode`` is 'constant'
    (with ``fill``), 'edge', 'reflect' or 'symmetric'.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size, self.padding, self.pad_if_needed = size, padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode
        size = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
        if len(size) == 1:
            size = (size[0], size[0])
        inner = _t.RandomCrop(
            size,
            fill=_fill(fill, "RandomCrop"),
            padding_mode=padding_mode,
            pad_if_needed=pad_if_needed,
        )
        if padding is not None:
            left, top, right, bottom = _padding_ltrb(padding, "RandomCrop")
            if min(left, top, right, bottom) < 0:
                raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
            inner.pad_width = ((top, bottom), (left, right))
        self._inner = inner


class RandomHorizontalFlip(_PerImage):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p
        self._inner = _t.RandomHorizontalFlip(p)


class RandomVerticalFlip(_PerImage):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p
        self._inner = _t.RandomVerticalFlip(p)


def _degrees(degrees, owner: str):
    if isinstance(degrees, numbers.Real):
        if degrees < 0:
            raise ValueError(f"{owner}: If degrees is a single number, it must be positive.")
        return (-float(degrees), float(degrees))
    values = [float(v) for v in degrees]
    if len(values) != 2:
        raise ValueError(f"{owner}: If degrees is a sequence, it must be of len 2.")
    return tuple(values)


class RandomRotation(_PerImage):
    """Rotate by an angle from ``(-degrees, degrees)`` (or a (min, max) pair), counter-clockwise.

    Args:
        degrees: a number d for (-d, d), or a (min, max) pair.
        interpolation: NEAREST (torchvision's default) or BILINEAR.
        expand: must be False (nerve keeps the input size).
        center: (x, y) to turn about (default: the image's center).
        fill: the value of pixels from outside the image.

    Raises:
        NotImplementedError: ``expand=True``.
    """

    def __init__(
        self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0
    ):
        self.degrees = _degrees(degrees, "RandomRotation")
        modes = ("nearest", "bilinear")
        self.interpolation = _interpolation(interpolation, "RandomRotation", modes)
        if expand:
            raise NotImplementedError(
                "RandomRotation: expand=True is not supported by nerve (the output keeps the "
                "input's size)"
            )
        self.expand, self.center, self.fill = expand, center, fill
        self._inner = _t.RandomRotation(
            self.degrees,
            interpolation=self.interpolation,
            fill=_fill(fill, "RandomRotation"),
            center=center,
        )


class RandomAffine(_PerImage):
    """Random rotation, translation, scale and shear about the center, as torchvision.

    As in torchvision, a positive angle turns clockwise here (RandomRotation's turns
    counter-clockwise); translations are drawn within ``translate`` fractions of the width
    and height and rounded to whole pixels. See :class:`nerve.data.transforms.RandomAffine`.
    """

    def __init__(
        self,
        degrees,
        translate=None,
        scale=None,
        shear=None,
        interpolation=InterpolationMode.NEAREST,
        fill=0,
        center=None,
    ):
        self.degrees = _degrees(degrees, "RandomAffine")
        self.translate, self.scale, self.shear = translate, scale, shear
        modes = ("nearest", "bilinear")
        self.interpolation = _interpolation(interpolation, "RandomAffine", modes)
        self.fill, self.center = fill, center
        if shear is not None and isinstance(shear, numbers.Real) and shear < 0:
            raise ValueError("RandomAffine: If shear is a single number, it must be positive.")
        self._inner = _t.RandomAffine(
            self.degrees,
            translate=translate,
            scale=scale,
            shear=shear,
            interpolation=self.interpolation,
            fill=_fill(fill, "RandomAffine"),
            center=center,
        )


class RandomErasing(_PerImage):
    """Blank a random rectangle of a tensor image with probability ``p`` (Zhong et al.).

    ``value`` is a number or 'random'; a box that would not fit is clipped to the image
    (torchvision retries instead).

    Raises:
        TypeError: the input is not a Tensor (torchvision erases tensor images only).
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace
        self._inner = _t.RandomErasing(p, scale, ratio, value)

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(f"RandomErasing: img should be a Tensor. Got {type(img).__name__}")
        return super().__call__(img)


def __getattr__(name):
    if name == "ToPILImage":
        raise AttributeError(
            "nerve.vision.transforms has no ToPILImage: nerve does not use Pillow, and its image "
            "type is the NumPy array (H, W[, C]) that ToPILImage would wrap; drop that step"
        )
    raise AttributeError(
        f"module 'nerve.vision.transforms' has no attribute {name!r} (nerve has "
        f"{', '.join(__all__)})"
    )
