"""Map-style datasets (``len`` and ``[i]``), subsets and splits, with PyTorch's names.

Array-backed datasets (:class:`TensorDataset`, :class:`ArrayDataset` and subsets of them)
expose their arrays, so a DataLoader builds each batch with one fancy-indexing ``take`` per
array instead of one ``__getitem__`` per sample.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from typing import Generic, TypeVar

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data.random import as_generator, batch_of_samples, current

__all__ = [
    "ArrayDataset",
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "SizeMismatchError",
    "Subset",
    "TensorDataset",
    "random_split",
    "train_test_split",
]


T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__len__`` and ``__getitem__(index)``.

    ``a + b`` concatenates two datasets (a :class:`ConcatDataset`); ``Dataset[T]`` may be
    written in annotations and base lists, as in torch.

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

    def __add__(self, other) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: subclasses define ``__iter__`` (``__len__`` is optional).

    A DataLoader batches what ``__iter__`` yields, in order; ``a + b`` chains two streams
    (a :class:`ChainDataset`).

    >>> class Count(IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(3))
    >>> list(Count() + Count())
    [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, not index it")

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} is an IterableDataset without a __len__")

    def __add__(self, other) -> ChainDataset:
        return ChainDataset([self, other])


def _array(a, owner: str) -> np.ndarray:
    if isinstance(a, Tensor):
        return a._data
    arr = np.asarray(a)
    if arr.dtype == object:
        raise TypeError(f"{owner}: cannot hold {type(a).__name__} data (ragged or mixed types)")
    if arr.ndim == 0:
        raise ValueError(f"{owner}: every array needs a first (sample) axis, got a scalar")
    return arr


def _tensor_data(a, owner: str) -> np.ndarray:
    """A Tensor's array as it is; other data as ``nerve.tensor`` makes it (float64 -> float32)."""
    arr = _array(a, owner)
    if not isinstance(a, Tensor) and arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr


class SizeMismatchError(ValueError, AssertionError):
    """TensorDataset's arrays differ in their first dimension.

    An AssertionError too, because that is what torch raises ("Size mismatch between
    tensors"), so code written against either catches it.
    """


class TensorDataset(Dataset):
    """Samples are the i-th rows of Tensors (or arrays) that share their first dimension.

    ``ds[i]`` is a tuple of Tensors, one row of each. Arrays become Tensors as
    ``nerve.tensor`` makes them (float64 data becomes float32; Tensors are kept as they are).

    Args:
        *tensors: Tensors or arrays with the same first dimension.

    Raises:
        SizeMismatchError: (a ValueError and an AssertionError, as torch's) the first
            dimensions differ.

    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), ds[2][0].shape, int(ds[2][1])
    (5, (3,), 2)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError(f"{type(self).__name__}: needs at least one tensor")
        owner = type(self).__name__
        self.arrays = tuple(_tensor_data(a, owner) for a in tensors)
        sizes = [len(a) for a in self.arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise SizeMismatchError(
                f"{owner}: Size mismatch between tensors: they must share their first "
                f"dimension, got shapes {shapes}"
            )

    @property
    def tensors(self) -> tuple:
        """The data as Tensors (sharing memory with the dataset)."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index._data
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def take(self, indices: np.ndarray) -> list:
        """The samples at ``indices`` as whole arrays (one fancy index per array)."""
        return [a[indices] for a in self.arrays]

    def _taker(self):
        return self.take


class ArrayDataset(TensorDataset):
    """``(x, y)`` arrays with optional transforms of the input and of the target.

    ``transform`` sees one sample through ``ds[i]`` and a whole batch through a DataLoader
    (nerve's transforms take both, and draw their random parameters per sample either way).

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

    def take(self, indices: np.ndarray) -> list:
        with batch_of_samples():  # a 3-D batch is N grayscale images, not one (C, H, W)
            return list(self._transformed(super().take(indices)))

    def _transformed(self, items) -> tuple:
        x = items[0] if self.transform is None else self.transform(items[0])
        if len(items) == 1:
            return (x,)
        y = items[1] if self.target_transform is None else self.target_transform(items[1])
        return x, y


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    ``subset[[i, j]]`` gives ``dataset[[indices[i], indices[j]]]`` (as torch).
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if len(self.indices) and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[int(self.indices[i]) for i in index]]
        return self.dataset[int(self.indices[index])]


class ConcatDataset(Dataset):
    """Map-style datasets one after the other: index ``len(a)`` is ``b[0]``.

    Args:
        datasets: map-style datasets (not IterableDatasets).

    Raises:
        ValueError: ``datasets`` is empty.
        TypeError: one of them is an IterableDataset.

    >>> import numpy as np
    >>> ds = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
    >>> len(ds), int(ds[3][0]), ds.cumulative_sizes
    (5, 10, [3, 5])
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = int(index)
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]


class ChainDataset(IterableDataset):
    """IterableDatasets read one after the other.

    >>> list(ChainDataset([range(2), range(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _defining_class(cls: type, name: str) -> type | None:
    return next((c for c in cls.__mro__ if name in vars(c)), None)


def batch_taker(dataset):
    """``indices -> batch`` by whole-array indexing when ``dataset`` is array-backed, else None.

    A dataset offers this through ``_taker()`` (TensorDataset, ArrayDataset, the vision
    datasets without transforms). A subclass that overrides ``__getitem__`` without a matching
    ``take`` is read sample by sample, so its ``__getitem__`` runs as it would in torch.
    """
    cls = type(dataset)
    if isinstance(dataset, Subset):
        inner = (
            batch_taker(dataset.dataset) if _defining_class(cls, "__getitem__") is Subset else None
        )
        return None if inner is None else (lambda indices: inner(dataset.indices[indices]))
    if getattr(cls, "_taker", None) is None:
        return None
    getitem, take = _defining_class(cls, "__getitem__"), _defining_class(cls, "take")
    return dataset._taker() if take is not None and issubclass(take, getitem) else None


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
    """Split ``dataset`` at random into non-overlapping subsets of ``lengths``.

    Args:
        dataset: a map-style dataset.
        lengths: counts that sum to ``len(dataset)``, or fractions that sum to 1 (each part
            gets ``floor(n * fraction)`` samples, the remainder one each from the first part
            on, as torch).
        generator: a ``numpy.random.Generator``, an int seed, or an object with torch's
            ``initial_seed()`` (default: nerve's generator, seeded by ``nerve.manual_seed``).

    Returns:
        A list of :class:`Subset`, one per length.

    Raises:
        ValueError: the counts do not sum to the dataset's length, or the fractions to 1.

    >>> import numpy as np
    >>> parts = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], generator=0)
    >>> [len(p) for p in parts]
    [8, 2]
    """
    sizes = _split_sizes(len(dataset), lengths, "random_split")
    for i, size in enumerate(sizes):
        if size == 0:
            warnings.warn(
                f"Length of split at index {i} is 0. This might result in an empty dataset.",
                stacklevel=2,
            )
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
