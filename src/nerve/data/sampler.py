"""Samplers: the order in which a DataLoader reads a map-style dataset, with PyTorch's names.

A sampler is an iterable of indices (a batch sampler, of lists of indices). nerve's samplers
draw their whole order at once, vectorized, when iteration starts: from their own
``generator`` if given, else from the generator of the DataLoader running them, else from
nerve's generator (``nerve.manual_seed``). The DataLoader reads that order as one array
(``order()``) and cuts batches from it without a Python loop per index.
"""

from __future__ import annotations

import numbers
from typing import Generic, TypeVar

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data.random import as_generator, current

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class of index samplers: subclasses define ``__iter__`` (and usually ``__len__``).

    ``Sampler[int]`` may be written in annotations and base lists, as in torch.

    Args:
        data_source: ignored (accepted as torch's base class accepts it).
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def order(self) -> np.ndarray:
        """The indices of one pass, drawn now, as an int64 array."""
        return np.fromiter((int(i) for i in self), dtype=np.int64)


def _defining_class(cls: type, name: str) -> type | None:
    return next((c for c in cls.__mro__ if name in vars(c)), None)


def sampler_order(sampler) -> np.ndarray:
    """One pass of ``sampler`` (any iterable of indices) as an int64 array.

    nerve's samplers give it in one vectorized draw; a subclass that overrides ``__iter__``
    (and not ``order``) is iterated, so its own ``__iter__`` decides.
    """
    if isinstance(sampler, Sampler):
        cls = type(sampler)
        if issubclass(_defining_class(cls, "order"), _defining_class(cls, "__iter__")):
            return sampler.order()
    return np.fromiter((int(i) for i in sampler), dtype=np.int64)


def _check_bool(value, owner: str, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


def _check_count(value, owner: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{owner}: {name} should be a positive integer value, but got {name}={value!r}"
        )
    return int(value)


class _Ordered(Sampler):
    """A sampler whose pass is one vectorized draw (``order``); iteration walks that array."""

    def __iter__(self):
        return iter(self.order().tolist())


class SequentialSampler(_Ordered):
    """Indices ``0, 1, ..., len(data_source) - 1``, in order.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def order(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(_Ordered):
    """Indices in a random order: a permutation, or ``num_samples`` draws with replacement.

    Without replacement, ``num_samples`` larger than the dataset gives whole permutations
    followed by part of one (as torch).

    Args:
        data_source: the dataset (only its ``len`` is used).
        replacement: draw with replacement.
        num_samples: indices per pass (default ``len(data_source)``).
        generator: a ``numpy.random.Generator`` or an int seed (default: the running
            DataLoader's generator, else nerve's).

    Raises:
        TypeError: ``replacement`` is not a bool.
        ValueError: ``num_samples`` is not a positive integer.

    >>> sorted(RandomSampler(range(4), generator=0))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _check_bool(replacement, "RandomSampler", "replacement")
        self._num_samples = num_samples
        self.generator = as_generator(generator, "RandomSampler")
        _check_count(self.num_samples, "RandomSampler", "num_samples")

    @property
    def num_samples(self) -> int:
        # the dataset may change size after the sampler is made (as torch reads it lazily)
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    def order(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = current(self.generator)
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[: k % n])
        return np.concatenate(parts).astype(np.int64, copy=False)


class SubsetRandomSampler(_Ordered):
    """The given ``indices`` in a random order, without replacement.

    >>> sorted(SubsetRandomSampler([7, 3, 5], generator=0))
    [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __len__(self) -> int:
        return len(self.indices)

    def order(self) -> np.ndarray:
        indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return indices[current(self.generator).permutation(len(indices))]


class WeightedRandomSampler(_Ordered):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probability ``weights[i]``.

    Args:
        weights: non-negative weights (need not sum to 1), one per sample.
        num_samples: indices per pass.
        replacement: draw with replacement (default); without it no index repeats.
        generator: as for :class:`RandomSampler`.

    Raises:
        ValueError: ``num_samples`` is not a positive integer, ``weights`` is not 1-D, has a
            negative or non-finite entry or sums to 0, or (without replacement) has fewer
            positive weights than ``num_samples``.
        TypeError: ``replacement`` is not a bool.

    >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=0))
    [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        owner = "WeightedRandomSampler"
        self.num_samples = _check_count(num_samples, owner, "num_samples")
        self.replacement = _check_bool(replacement, owner, "replacement")
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"{owner}: weights should be a 1d sequence but given weights have shape "
                f"{tuple(w.shape)}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(
                f"{owner}: weights must be finite, non-negative and not all zero, got "
                f"{w[:5].tolist()}{'...' if len(w) > 5 else ''}"
            )
        if not self.replacement and np.count_nonzero(w) < self.num_samples:
            raise ValueError(
                f"{owner}: cannot draw {self.num_samples} samples without replacement from "
                f"{np.count_nonzero(w)} positive weights"
            )
        self.weights = w
        self.generator = as_generator(generator, owner)

    def __len__(self) -> int:
        return self.num_samples

    def order(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        rng = current(self.generator)
        return rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)


class BatchSampler(Sampler[list]):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: an iterable of indices (a Sampler, a range, a list).
        batch_size: indices per batch.
        drop_last: drop the last list when it is shorter than ``batch_size``.

    Raises:
        ValueError: ``batch_size`` is not a positive integer or ``drop_last`` not a bool.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        owner = "BatchSampler"
        self.batch_size = _check_count(batch_size, owner, "batch_size")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(
                f"{owner}: drop_last should be a boolean value, but got drop_last={drop_last!r}"
            )
        self.sampler, self.drop_last = sampler, bool(drop_last)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batches(self):
        """One pass as int64 arrays of indices, cut from the sampler's whole order at once."""
        order = sampler_order(self.sampler)
        size = self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        return (order[start : start + size] for start in range(0, stop, size))

    def __iter__(self):
        return (b.tolist() for b in self.batches())
