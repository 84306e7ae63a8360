"""DataLoader: batches of nerve Tensors from a map-style dataset, with PyTorch's arguments.

Batches of an array-backed dataset (TensorDataset, ArrayDataset, their Subsets) are cut with
one fancy-indexing take per array; any other dataset is read sample by sample and stacked by
:func:`default_collate`. ``transform`` runs on each batch's inputs (vectorized transforms
draw per sample). ``prefetch=N`` builds up to N batches ahead in a background thread, so
augmentation overlaps the training step; the thread stops when the iterator is dropped.

Each epoch draws one seed from the loader's ``generator`` (or from nerve's generator, which
``nerve.manual_seed`` seeds); the shuffle and every transform without a generator of its own
draw from it, so an epoch is the same with or without prefetching.
"""

from __future__ import annotations

import numbers
import queue
import threading

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.data.dataset import batch_taker
from nerve.data.random import as_generator, current, using

__all__ = ["DataLoader", "default_collate"]


def _stack(samples: list) -> np.ndarray:
    arrays = [s.data if isinstance(s, Tensor) else s for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(
            f"default_collate: samples of one batch must have the same shape, got "
            f"{sorted(shapes, key=str)}"
        )
    return np.stack(arrays)


def _collate(samples: list):
    elem = samples[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        return _stack(samples)
    if isinstance(elem, (bool, np.bool_)):
        return np.array(samples, dtype=bool)
    if isinstance(elem, numbers.Integral):
        return np.array(samples, dtype=np.int64)
    if isinstance(elem, numbers.Real):
        return np.array(samples, dtype=np.float32)
    if isinstance(elem, str):
        return list(samples)
    if isinstance(elem, dict):
        return {key: _collate([s[key] for s in samples]) for key in elem}
    if isinstance(elem, (tuple, list)):
        if len({len(s) for s in samples}) > 1:
            raise ValueError("default_collate: samples of one batch have different lengths")
        fields = [_collate(list(group)) for group in zip(*samples)]
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(elem).__name__} "
        f"(arrays, Tensors, numbers, strings, and tuples/lists/dicts of them)"
    )


def _tensors(batch):
    """ndarrays -> Tensors (float64 -> float32, nerve's default), recursing into containers."""
    if isinstance(batch, np.ndarray):
        return Tensor._wrap(batch.astype(np.float32) if batch.dtype == np.float64 else batch)
    if isinstance(batch, (np.generic, numbers.Number)) and not isinstance(batch, bool):
        return _tensors(np.asarray(batch, dtype=np.float32 if isinstance(batch, float) else None))
    if isinstance(batch, tuple):
        return tuple(_tensors(b) for b in batch)
    if isinstance(batch, list) and not (batch and isinstance(batch[0], str)):
        return [_tensors(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _tensors(v) for k, v in batch.items()}
    return batch


def default_collate(samples: list):
    """Stack a list of samples into a batch of Tensors, recursing into tuples, lists and dicts.

    >>> import numpy as np
    >>> x, y = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
    >>> x.shape, y.tolist()
    ((2, 3), [1, 0])
    """
    if not samples:
        raise ValueError("default_collate: cannot batch an empty list of samples")
    return _tensors(_collate(list(samples)))


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"DataLoader: {name} must be a positive integer, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors.

    Args:
        dataset: a map-style dataset (``len`` and ``[i]``).
        batch_size: samples per batch; None yields single samples (as Tensors), unbatched.
        shuffle: draw a new order every epoch.
        sampler: an iterable of indices (instead of ``shuffle``).
        batch_sampler: an iterable of index lists (instead of batch_size, shuffle, sampler,
            drop_last).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: a ``numpy.random.Generator`` or an int seed for the shuffle and the
            transforms (default: nerve's generator).
        transform: applied to each batch's input (its first element), e.g. a
            :class:`~nerve.data.transforms.Compose` of augmentations.
        prefetch: build up to this many batches ahead in a background thread (0: none).

    >>> import numpy as np
    >>> from nerve.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(np.zeros((10, 3)), np.arange(10)), batch_size=4)
    >>> [tuple(x.shape) for x, y in loader], len(loader)
    ([(4, 3), (4, 3), (2, 3)], 3)
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool = False,
        sampler=None,
        batch_sampler=None,
        collate_fn=None,
        drop_last: bool = False,
        generator=None,
        transform=None,
        prefetch: int = 0,
    ):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must be map-style (define __len__ and __getitem__), "
                f"got {type(dataset).__name__}"
            )
        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                "shuffle, sampler, and drop_last"
            )
        for name, fn in (("collate_fn", collate_fn), ("transform", transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"DataLoader: {name} must be callable, got {fn!r}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, numbers.Integral) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be an integer >= 0, got {prefetch!r}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle, self.sampler, self.batch_sampler = bool(shuffle), sampler, batch_sampler
        self.collate_fn = collate_fn
        self.drop_last = bool(drop_last)
        self.generator = as_generator(generator, "DataLoader")
        self.transform = transform
        self.prefetch = int(prefetch)
        self._unbatched = batch_size is None and batch_sampler is None
        self._take = batch_taker(dataset) if collate_fn is None else None

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self._unbatched:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        epoch = np.random.default_rng(int(current(self.generator).integers(2**63)))
        batches = self._batches(epoch)
        return _prefetched(batches, self.prefetch) if self.prefetch else batches

    # ------------------------------------------------------------------ internals
    def _index_batches(self, rng: np.random.Generator):
        if self.batch_sampler is not None:
            yield from (np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler)
            return
        if self.sampler is not None:
            order = np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = rng.permutation(n) if self.shuffle else np.arange(n)
        size = self.batch_size or 1
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        for start in range(0, stop, size):
            yield order[start : start + size]

    def _batches(self, rng: np.random.Generator):
        for indices in self._index_batches(rng):
            with using(rng):  # transforms without a generator of their own draw from rng
                batch = self._fetch(indices)
            yield batch

    def _fetch(self, indices: np.ndarray):
        if self._unbatched:  # one sample at a time, not stacked
            batch = self.dataset[int(indices[0])]
        elif self._take is not None:
            batch = self._take(indices)
        else:
            samples = [self.dataset[int(i)] for i in indices]
            batch = (self.collate_fn or _collate)(samples)
        if self.transform is not None:
            batch = self._transformed(batch)
        return _tensors(batch)

    def _transformed(self, batch):
        if isinstance(batch, (tuple, list)):
            return type(batch)([self.transform(batch[0]), *batch[1:]])
        if isinstance(batch, dict):
            raise TypeError(
                "DataLoader: transform applies to the first element of a tuple batch or to an "
                "array batch; with dict samples, transform inside the dataset instead"
            )
        return self.transform(batch)


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


_DONE = object()


def _prefetched(batches, depth: int):
    """Run ``batches`` in a thread, ``depth`` items ahead; stop it when this is closed."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))

    thread = threading.Thread(target=work, name="nerve-DataLoader-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
        batches.close()
