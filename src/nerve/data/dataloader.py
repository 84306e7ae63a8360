"""DataLoader: batches of nerve Tensors from a dataset, with PyTorch's arguments and semantics.

Batches of an array-backed dataset (TensorDataset, ArrayDataset, their Subsets) are cut with
one fancy-indexing take per array; any other map-style dataset is read sample by sample (or
through its ``__getitems__``, as torch's fetcher does) and stacked by :func:`default_collate`;
an IterableDataset is read in order and batched the same way. ``transform`` runs on each
batch's inputs (vectorized transforms draw per sample). ``prefetch=N`` builds up to N batches
ahead in a background thread, so augmentation overlaps the training step; the thread stops
when the iterator is dropped.

``num_workers > 0`` does not start processes: the batches are built in one background thread
(worker 0 of 1 for :func:`get_worker_info` and ``worker_init_fn``), ``num_workers *
prefetch_factor`` batches ahead. That keeps one copy of the dataset and the same batches as
``num_workers=0``; NumPy releases the GIL in the heavy parts (indexing, resampling).
``pin_memory=True`` puts each batch's arrays in page-locked host memory when a CUDA device
(CuPy) is loaded, so that ``x.to("cuda", non_blocking=True)`` copies them asynchronously; without
one it does nothing (as torch without an accelerator).

Each epoch draws one seed from the loader's ``generator`` (or from nerve's generator, which
``nerve.manual_seed`` seeds); the shuffle, samplers without a generator of their own and every
transform without one draw from it, so an epoch is the same with or without prefetching.
"""

from __future__ import annotations

import collections.abc
import itertools
import numbers
import queue
import threading

import numpy as np

from nerve.autograd.grad_mode import (
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    set_grad_enabled,
)
from nerve.autograd.tensor import Tensor
from nerve.data.dataset import IterableDataset, batch_taker
from nerve.data.random import as_generator, batch_of_samples, current, using
from nerve.data.sampler import BatchSampler, RandomSampler, SequentialSampler, sampler_order
from nerve.device import pinned

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "default_convert", "get_worker_info"]

_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _as_tensor(a) -> Tensor:
    """An array as ``nerve.tensor`` would hold it (float64 -> float32), without a copy else."""
    if isinstance(a, Tensor):
        return a
    a = np.asarray(a)
    return Tensor._wrap(a.astype(np.float32) if a.dtype == np.float64 else a)


def _stack(samples: list) -> Tensor:
    arrays = [s._data if isinstance(s, Tensor) else s for s in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(
            f"default_collate: samples of one batch must have the same shape (stack expects "
            f"each tensor to be equal size), got {sorted(shapes, key=str)}"
        )
    stacked = np.stack(arrays)
    return Tensor._wrap(stacked) if isinstance(samples[0], Tensor) else _as_tensor(stacked)


def _numpy_strings(a) -> bool:
    return a.dtype.kind in "USO"


def default_collate(batch):
    """Stack a list of samples into a batch, as torch's ``default_collate``.

    Tensors and arrays are stacked (a Tensor keeps its dtype; arrays become Tensors as
    ``nerve.tensor`` makes them), Python ints give int64, bools bool and floats float32
    (nerve's default float; torch gives float64), strings stay a list; dicts, named tuples,
    tuples and lists are collated field by field (a tuple of fields comes back as a list, as
    in torch).

    Raises:
        ValueError: the batch is empty, or its samples differ in shape or length.
        TypeError: a sample holds something that cannot be batched.

    >>> import numpy as np
    >>> x, y = default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
    >>> x.shape, y.tolist()
    ((2, 3), [1, 0])
    """
    batch = list(batch)
    if not batch:
        raise ValueError("default_collate: cannot batch an empty list of samples")
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        if isinstance(elem, np.ndarray) and _numpy_strings(elem):
            raise TypeError(_ERROR.format(elem.dtype))
        return _stack(batch)
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return _as_tensor(np.array(batch))
    if isinstance(elem, (bool, np.bool_)):
        return Tensor._wrap(np.array(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._wrap(np.array(batch, dtype=np.float32))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple keeps its type
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(s) for s in batch}) > 1:
            raise ValueError(
                "default_collate: each element in list of batch should be of equal size, got "
                f"lengths {sorted({len(s) for s in batch})}"
            )
        return [default_collate(list(f)) for f in zip(*batch)]
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """Arrays (and NumPy scalars) in ``data`` -> Tensors, recursing into containers.

    The collate function of an unbatched DataLoader (``batch_size=None``), as torch's: Python
    numbers and strings are left as they are; tuples come back as lists.

    >>> import numpy as np
    >>> x, n = default_convert((np.array([0, 1]), 2))
    >>> type(x).__name__, x.tolist(), n
    ('Tensor', [0, 1], 2)
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _numpy_strings(data) else _as_tensor(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return _as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        fields = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(fields)
        except TypeError:
            return fields
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data


class WorkerInfo:
    """What :func:`get_worker_info` says inside a loader's background thread."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset):  # noqa: A002 - torch's name
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


_worker = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the loader thread calling this, or None in the main thread.

    With ``num_workers > 0`` nerve builds batches in one thread, so an IterableDataset that
    shards by ``worker_info.num_workers`` sees one worker and yields everything once.
    """
    return getattr(_worker, "info", None)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"DataLoader: {name} must be a positive integer, got {value!r}")
    return int(value)


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers, context):
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
        raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
    if num_workers < 0:
        raise ValueError(
            "DataLoader: num_workers option should be non-negative; use num_workers=0 to "
            "disable multiprocessing."
        )
    if timeout < 0:
        raise ValueError("DataLoader: timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            "DataLoader: prefetch_factor option could only be specified in multiprocessing. "
            "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
        )
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("DataLoader: prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if context is not None and num_workers == 0:
        raise ValueError(
            "DataLoader: multiprocessing_context can only be used with multi-process loading "
            f"(num_workers > 0), but got num_workers={num_workers}"
        )


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``len`` and ``[i]``) or an :class:`IterableDataset`.
        batch_size: samples per batch; None yields single samples (through
            :func:`default_convert`), unbatched.
        shuffle: draw a new order every epoch (map-style datasets only).
        sampler: an iterable of indices (instead of ``shuffle``).
        batch_sampler: an iterable of index lists (instead of batch_size, shuffle, sampler,
            drop_last).
        num_workers: 0 builds batches in the iterating thread; more builds them in one
            background thread (see the module docstring), not in processes.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        pin_memory: batches in page-locked host memory when CuPy drives a GPU (see the module
            docstring); nothing to pin otherwise.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        timeout: with ``num_workers > 0``, seconds to wait for a batch before RuntimeError.
        worker_init_fn: called with the worker id (0) in the background thread.
        multiprocessing_context: accepted with ``num_workers > 0``; unused.
        generator: a ``numpy.random.Generator``, an int seed or an object with torch's
            ``initial_seed()`` for the shuffle and the transforms (default: nerve's generator).
        prefetch_factor: batches per worker built ahead (default 2 with workers).
        persistent_workers: accepted with ``num_workers > 0`` (the thread is per epoch).
        pin_memory_device, in_order: accepted (batches always come in order).
        transform: nerve's extension: applied to each batch's input (its first element), e.g.
            a :class:`~nerve.data.transforms.Compose` of augmentations.
        prefetch: nerve's extension: build up to this many batches ahead in a background
            thread (0: none).

    Raises:
        ValueError: torch's argument conflicts (sampler with shuffle, batch_sampler with
            batch options, shuffle or samplers with an IterableDataset, worker options
            without workers) or a non-positive batch_size.
        TypeError: the dataset is neither map-style nor iterable, or a callable argument is
            not callable.

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
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        transform=None,
        prefetch: int = 0,
    ):
        iterable = isinstance(dataset, IterableDataset)
        if not iterable and not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must be map-style (define __len__ and __getitem__) or an "
                f"IterableDataset, got {type(dataset).__name__}"
            )
        _check_worker_options(
            num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context
        )
        if batch_size is not None:
            batch_size = _positive_int(batch_size, "batch_size")
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler)):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value}"
                    )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                "shuffle, sampler, and drop_last"
            )
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        for name, fn in (
            ("collate_fn", collate_fn),
            ("transform", transform),
            ("worker_init_fn", worker_init_fn),
        ):
            if fn is not None and not callable(fn):
                raise TypeError(f"DataLoader: {name} must be callable, got {fn!r}")
        if isinstance(prefetch, bool) or not isinstance(prefetch, numbers.Integral) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be an integer >= 0, got {prefetch!r}")

        self.dataset = dataset
        self.num_workers, self.timeout = int(num_workers), float(timeout)
        self.prefetch_factor = prefetch_factor if num_workers == 0 else (prefetch_factor or 2)
        self.pin_memory, self.persistent_workers = bool(pin_memory), bool(persistent_workers)
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.generator = as_generator(generator, "DataLoader")
        self.drop_last = bool(drop_last)
        self._iterable = iterable
        if iterable:
            sampler = None
        elif sampler is None:
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(self.sampler, batch_size, self.drop_last)
        self.batch_size = batch_size
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else None)
        self.transform = transform
        self.prefetch = int(prefetch)
        if self.num_workers:
            self.prefetch = max(self.prefetch, self.num_workers * self.prefetch_factor, 1)
        default = collate_fn in (None, default_collate)
        use_take = default and self._auto_collation and not iterable
        self._take = batch_taker(dataset) if use_take else None

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length, as torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        epoch_seed = int(current(self.generator).integers(2**63))
        epoch = np.random.default_rng(epoch_seed)
        batches = self._batches(epoch)
        if self.num_workers:
            batches = self._in_worker(batches, epoch_seed)
        if not self.prefetch:
            return batches
        # The thread builds batches under the modes of the code that made the iterator, as
        # torch's forked workers inherit them (a new thread would start with grad mode on).
        modes = (is_grad_enabled(), is_inference_mode_enabled())
        return _prefetched(batches, self.prefetch, self.timeout if self.num_workers else 0, modes)

    # ------------------------------------------------------------------ internals
    def _in_worker(self, batches, seed: int):
        """Run inside the loader thread as worker 0 of 1 (torch's view of a worker)."""
        _worker.info = WorkerInfo(0, 1, seed, self.dataset)
        try:
            if self.worker_init_fn is not None:
                self.worker_init_fn(0)
            yield from batches
        finally:
            _worker.info = None

    def _index_batches(self, rng: np.random.Generator):
        with using(rng):  # samplers without a generator draw from the epoch's
            if self.batch_sampler is None:
                return iter(sampler_order(self.sampler)[:, None])
            if type(self.batch_sampler).__iter__ is BatchSampler.__iter__:  # not overridden
                return self.batch_sampler.batches()
            return (np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler)

    def _batches(self, rng: np.random.Generator):
        if self._iterable:
            yield from self._stream(rng)
            return
        for indices in self._index_batches(rng):
            with using(rng):  # transforms without a generator of their own draw from rng
                batch = self._fetch(indices)
            yield batch

    def _stream(self, rng: np.random.Generator):
        samples = iter(self.dataset)
        size = self.batch_size
        while True:
            with using(rng):
                if size is None:
                    sample = next(samples, _DONE)
                    if sample is _DONE:
                        return
                    batch = self._finish(self._convert(sample))
                else:
                    chunk = list(itertools.islice(samples, size))
                    if not chunk or (self.drop_last and len(chunk) < size):
                        return
                    batch = self._finish(self.collate_fn(chunk))
            yield batch

    def _convert(self, sample):
        return default_convert(sample) if self.collate_fn is None else self.collate_fn(sample)

    def _fetch(self, indices: np.ndarray):
        if not self._auto_collation:  # one sample at a time, not stacked
            return self._finish(self._convert(self.dataset[int(indices[0])]))
        if self._take is not None:
            return self._finish([_as_tensor(a) for a in self._take(indices)])
        if hasattr(self.dataset, "__getitems__"):  # torch's batched-fetch hook
            samples = self.dataset.__getitems__(indices.tolist())
        else:
            samples = [self.dataset[int(i)] for i in indices]
        return self._finish(self.collate_fn(samples))

    def _finish(self, batch):
        if self.transform is not None:
            batch = self._transformed(batch)
        return _pinned(batch) if self.pin_memory else batch

    def _transformed(self, batch):
        with batch_of_samples():
            if isinstance(batch, (tuple, list)):
                return type(batch)([_as_tensor(self.transform(batch[0])), *batch[1:]])
            if isinstance(batch, dict):
                raise TypeError(
                    "DataLoader: transform applies to the first element of a tuple batch or to "
                    "an array batch; with dict samples, transform inside the dataset instead"
                )
            return _as_tensor(self.transform(batch))


def _pinned(batch):
    """The batch with its tensors' arrays in page-locked memory (see ``pin_memory``)."""
    if isinstance(batch, Tensor):
        return Tensor._wrap(pinned(batch._data))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_pinned(b) for b in batch)
    if isinstance(batch, dict):
        return {k: _pinned(v) for k, v in batch.items()}
    return batch


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


_DONE = object()


def _prefetched(batches, depth: int, timeout: float = 0, modes: tuple = (True, False)):
    """Run ``batches`` in a thread, ``depth`` items ahead; stop it when this is closed.

    ``timeout`` > 0: RuntimeError when no batch arrives within that many seconds. ``modes``:
    the thread's (grad mode, inference mode).
    """
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
        grad, inference = modes
        try:
            with inference_mode(inference), set_grad_enabled(grad):
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
            try:
                item = items.get(timeout=timeout or None)
            except queue.Empty:
                raise RuntimeError(f"DataLoader timed out after {timeout:g} seconds") from None
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
        batches.close()
