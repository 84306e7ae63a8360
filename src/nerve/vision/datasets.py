"""torchvision.datasets' MNIST and FashionMNIST over nerve's IDX loaders (nerve.datasets).

``MNIST(root, train=True, transform=None, target_transform=None, download=False)`` gives
``(image, label)`` pairs: the image a uint8 (28, 28) NumPy array (where torchvision has a PIL
image; :class:`nerve.vision.transforms.ToTensor` takes either role) or what ``transform``
makes of it, the label an int. ``.data`` (uint8 Tensor (N, 28, 28)), ``.targets`` (int64
Tensor (N,)), ``.classes`` and ``.class_to_idx`` are torchvision's.

Where the files are looked up, in order: torchvision's layout ``root/MNIST/raw`` (or
``root/FashionMNIST/raw``), then ``root/<name>`` and ``root`` itself, then nerve's own places
(``$NERVE_DATA/<name>``, the download cache, and for Fashion-MNIST the Debian package
dataset-fashion-mnist's ``/usr/share/datasets/fashion-mnist``), so an installed copy is used
before anything is downloaded. Files may be gzip-compressed or raw. ``download=True``
downloads into nerve's cache (MD5-checked), where every later run finds them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data.dataset import Dataset
from nerve.datasets import fashion_mnist, mnist
from nerve.datasets.fetch import IdxSpec, cache_dir, load_idx_dataset

__all__ = ["MNIST", "FashionMNIST"]


class MNIST(Dataset):
    """The MNIST digits, torchvision-style.

    Args:
        root: the dataset root directory (str or path).
        train: the 60,000 training images (True) or the 10,000 test images.
        transform: applied to each image (a uint8 (28, 28) array).
        target_transform: applied to each label (an int).
        download: download the files when they are nowhere on disk.

    Raises:
        RuntimeError: the files are not found and ``download`` is False.
        ValueError: a file is corrupt or of the wrong shape (from the IDX reader).

    >>> import numpy as np
    >>> from nerve.vision.datasets import MNIST
    >>> MNIST.classes[:2]
    ['0 - zero', '1 - one']
    """

    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    _name = "mnist"  # nerve.datasets' directory name

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        owner = type(self).__name__
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{owner}: {name} must be callable, got {fn!r}")
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.train, self.transform, self.target_transform = bool(train), transform, target_transform
        (x_train, y_train), (x_test, y_test) = _load(self._spec(), self._places(), download)
        images, labels = (x_train, y_train) if self.train else (x_test, y_test)
        self.data = Tensor._wrap(images)
        self.targets = Tensor._wrap(labels.astype(np.int64))

    @classmethod
    def _spec(cls) -> IdxSpec:
        return IdxSpec(cls._name, cls.__name__, mnist.MD5, mnist.MIRRORS)

    def _places(self) -> list[Path]:
        root = Path(self.root) if self.root is not None else None
        places = [] if root is None else [root / type(self).__name__ / "raw"]
        places += [] if root is None else [root / type(self).__name__, root]
        spec = self._spec()
        if os.environ.get("NERVE_DATA"):
            places.append(Path(os.environ["NERVE_DATA"]).expanduser() / spec.name)
        places.append(cache_dir(spec.name))
        if spec.system_dir:
            places.append(Path(spec.system_dir))
        return places

    @property
    def raw_folder(self) -> str:
        return os.path.join(str(self.root), type(self).__name__, "raw")

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data._data)

    def __getitem__(self, index):
        # a copy, as torchvision's fresh PIL image: a transform may change it in place
        img, target = self.data._data[index].copy(), int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def take(self, indices: np.ndarray) -> list:
        """Images and labels at ``indices`` as two arrays (the DataLoader's fast path, used
        when no transform is set)."""
        return [self.data._data[indices], self.targets._data[indices]]

    def _taker(self):
        plain = self.transform is None and self.target_transform is None
        return self.take if plain else None

    def __repr__(self) -> str:
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
            f"    Split: {'Train' if self.train else 'Test'}",
        ]
        if self.transform is not None:
            lines.append(f"    StandardTransform\n    Transform: {self.transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST, torchvision-style (same arguments as :class:`MNIST`).

    >>> from nerve.vision.datasets import FashionMNIST
    >>> FashionMNIST.classes[9]
    'Ankle boot'
    """

    classes = list(fashion_mnist.CLASS_NAMES)
    _name = "fashion-mnist"

    @classmethod
    def _spec(cls) -> IdxSpec:
        return IdxSpec(
            cls._name,
            cls.__name__,
            fashion_mnist.MD5,
            fashion_mnist.MIRRORS,
            fashion_mnist.DEBIAN_DIR,
            fashion_mnist.DEBIAN_PACKAGE,
        )


def _load(spec: IdxSpec, places: list[Path], download: bool):
    for place in places:
        if not place.is_dir():
            continue
        try:
            return load_idx_dataset(spec, place)
        except FileNotFoundError:  # not all four files here: try the next place
            continue
    if download:
        return load_idx_dataset(spec, None)  # nerve's lookup, then the mirrors, into the cache
    raise RuntimeError(
        f"{spec.owner}: Dataset not found. You can use download=True to download it (looked "
        f"in {', '.join(str(p) for p in places)})"
    )


def __getattr__(name):
    raise AttributeError(
        f"module 'nerve.vision.datasets' has no attribute {name!r} (nerve has MNIST and "
        f"FashionMNIST; other data can be wrapped in nerve.utils.data.TensorDataset)"
    )
