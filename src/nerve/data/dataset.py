"""Map-style datasets (``len`` and ``[i]``), subsets and splits, with PyTorch's names.

Array-backed datasets (:class:`TensorDataset`, :class:`ArrayDataset` and subsets of them)
expose their arrays, so a DataLoader builds each batch with one fancy-indexing ``take`` per
array instead of one ``__getitem__`` per sample.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data.random import as_generator, current

__all__ = [
    "ArrayDataset",
    "Dataset",
    "Subset",
    "TensorDataset",
    "random_split",
    "train_test_split",
]


class Dataset:
    """A map-style dataset: subclasses define ``__len__`` and ``__getitem__(index)``.

    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i, i * i
    >>> Squares()[3]
    (3, 9)
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _array(a, owner: str) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.data
    arr = np.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"{owner}: cannot hold {type(a).__name__} data (ragged or mixed types)")
    if arr.ndim == 0:
        raise ValueError(f"{owner}: every array needs a first (sample) axis, got a scalar")
    return arr


class TensorDataset(Dataset):
    """Samples are the i-th rows of arrays or Tensors that share their first dimension.

    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), int(ds[2][1])
    (5, 2)
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError(f"{type(self).__name__}: needs at least one array")
        owner = type(self).__name__
        self.arrays = tuple(_array(a, owner) for a in arrays)
        sizes = [len(a) for a in self.arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(
                f"{owner}: all arrays must have the same number of samples, got shapes {shapes}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def take(self, indices: np.ndarray) -> tuple:
        """The samples at ``indices`` as whole arrays (one fancy index per array)."""
        return tuple(a[indices] for a in self.arrays)


class ArrayDataset(TensorDataset):
    """``(x, y)`` arrays with optional transforms of the input and of the target.

    ``transform`` sees one sample through ``ds[i]`` and a whole batch through a DataLoader
    (nerve's transforms take both), so random augmentation is drawn per sample either way.

    >>> import numpy as np
    >>> from nerve.data.transforms import ToFloat
    >>> ds = ArrayDataset(np.full((4, 2, 2), 255, np.uint8), np.arange(4), transform=ToFloat())
    >>> ds[0][0].dtype
    dtype('float32')
    """

    def __init__(self, x, y=None, transform=None, target_transform=None):
        super().__init__(*((x,) if y is None else (x, y)))
        for name, t in (("transform", transform), ("target_transform", target_transform)):
            if t is not None and not callable(t):
                raise TypeError(f"ArrayDataset: {name} must be callable, got {t!r}")
        if y is None and target_transform is not None:
            raise ValueError("ArrayDataset: target_transform given but no targets (y)")
        self.transform, self.target_transform = transform, target_transform

    def __getitem__(self, index):
        return self._transformed(super().__getitem__(index))

    def take(self, indices: np.ndarray) -> tuple:
        return self._transformed(super().take(indices))

    def _transformed(self, items: tuple) -> tuple:
        x = items[0] if self.transform is None else self.transform(items[0])
        if len(items) == 1:
            return (x,)
        y = items[1] if self.target_transform is None else self.target_transform(items[1])
        return x, y


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if len(self.indices) and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]


def batch_taker(dataset):
    """``indices -> batch`` by whole-array indexing when ``dataset`` is array-backed, else None."""
    if isinstance(dataset, TensorDataset):
        return dataset.take
    if isinstance(dataset, Subset):
        inner = batch_taker(dataset.dataset)
        if inner is not None:
            return lambda indices: inner(dataset.indices[indices])
    return None


def _split_sizes(n: int, lengths, owner: str) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError(f"{owner}: lengths must not be empty")
    if all(isinstance(v, numbers.Integral) for v in lengths):
        sizes = [int(v) for v in lengths]
        if any(v < 0 for v in sizes) or sum(sizes) != n:
            raise ValueError(
                f"{owner}: lengths {sizes} must be non-negative and sum to the dataset's "
                f"{n} samples (they sum to {sum(sizes)})"
            )
        return sizes
    fractions = [float(v) for v in lengths]
    if any(f < 0 or f > 1 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"{owner}: fractions {fractions} must lie in [0, 1] and sum to 1 "
            f"(they sum to {sum(fractions):g})"
        )
    sizes = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(sizes)):  # the remainder, one each, round-robin (as torch)
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset, lengths, generator=None) -> list[Subset]:
    """Split ``dataset`` at random into subsets of ``lengths`` (counts, or fractions of 1).

    >>> import numpy as np
    >>> parts = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], generator=0)
    >>> [len(p) for p in parts]
    [8, 2]
    """
    sizes = _split_sizes(len(dataset), lengths, "random_split")
    order = current(as_generator(generator, "random_split")).permutation(len(dataset))
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def train_test_split(x, y=None, test_size=0.25, seed=None, stratify=None, shuffle=True):
    """Split arrays into train and test parts, as scikit-learn's function of that name.

    Returns ``x_train, x_test`` or, with ``y``, ``x_train, x_test, y_train, y_test``.
    ``test_size`` is a fraction (the test count rounds up) or a count; ``stratify`` (labels,
    usually ``y``) keeps each class's share in both parts.

    >>> import numpy as np
    >>> x, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.4, seed=0, stratify=y)
    >>> x_tr.shape, np.bincount(y_te).tolist()
    ((6, 2), [2, 2])
    """
    owner = "train_test_split"
    xa = _array(x, owner)
    ya = None if y is None else _array(y, owner)
    n = len(xa)
    if ya is not None and len(ya) != n:
        raise ValueError(f"{owner}: x has {n} samples but y has {len(ya)}")
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(
            f"{owner}: test_size must be a fraction in (0, 1) or a count, got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise ValueError(f"{owner}: test_size={test_size!r} leaves an empty part of {n} samples")
    rng = np.random.default_rng(seed) if seed is not None else current()
    if stratify is None:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test, train = order[:n_test], order[n_test:]
    else:
        if not shuffle:
            raise ValueError(f"{owner}: stratify needs shuffle=True")
        test, train = _stratified(np.asarray(_array(stratify, owner)), n, n_test, rng, owner)
    parts = [xa[train], xa[test]]
    if ya is not None:
        parts += [ya[train], ya[test]]
    return parts


def _stratified(labels, n, n_test, rng, owner):
    if len(labels) != n:
        raise ValueError(f"{owner}: stratify has {len(labels)} labels for {n} samples")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            f"{owner}: class {classes[counts.argmin()]!r} has only 1 sample; stratifying needs "
            f"at least 2 per class"
        )
    # test count per class: the proportional share, remainders to the largest fractions
    share = counts * (n_test / n)
    per_class = np.floor(share).astype(np.int64)
    rest = n_test - per_class.sum()
    per_class[np.argsort(-(share - per_class), kind="stable")[:rest]] += 1
    test, train = [], []
    for k in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == k))
        test.append(members[: per_class[k]])
        train.append(members[per_class[k] :])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
