"""Turning what fit/evaluate/predict receive into batches of Tensors.

Arrays (NumPy or nerve Tensors, a list of them for several inputs, a dict for named inputs) are
batched by fancy indexing whole arrays, shuffled per epoch with nerve's generator. Any other
iterable (a DataLoader, a generator) is taken to yield ``(x, y)`` or ``(x, y, sample_weight)``.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor


def _as_array(x, what: str):
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{what}: cannot use {type(x).__name__} as data") from exc
    if arr.dtype == object:
        raise TypeError(f"{what}: cannot use {type(x).__name__} as data (ragged or mixed types)")
    return arr


def _float32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32) if a.dtype == np.float64 else a


def structure_map(fn, structure):
    if isinstance(structure, dict):
        return {k: fn(v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [fn(v) for v in structure]
    return None if structure is None else fn(structure)


def leaves(structure) -> list:
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [] if structure is None else [structure]


def _is_number_list(x) -> bool:
    """A (nested) list of numbers, such as [[.1, .2], [.3, .4]]: one array, not several inputs."""
    if not isinstance(x, (list, tuple)) or not x:
        return False
    first = x[0]
    if isinstance(first, (list, tuple)):
        return _is_number_list(first)
    return isinstance(first, (int, float, np.number)) and not isinstance(first, bool)


def is_array_data(x) -> bool:
    if isinstance(x, (np.ndarray, Tensor)) or _is_number_list(x):
        return True
    if isinstance(x, dict):
        return all(isinstance(v, (np.ndarray, Tensor, list)) for v in x.values())
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(isinstance(v, (np.ndarray, Tensor)) for v in x)
    return False


def _labels(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype.kind in "USO":
        raise TypeError(
            f"{what}: y holds {a.dtype} values ({str(a.flat[0])!r}, ...); losses need numbers: "
            "map class names to integers first (e.g. with np.unique(y, return_inverse=True))"
        )
    return a


class ArrayData:
    """x, y and sample weights as arrays, with a common first dimension."""

    def __init__(self, x, y=None, sample_weight=None, what: str = "fit"):
        if _is_number_list(x):
            x = np.asarray(x)
        if _is_number_list(y):
            y = np.asarray(y)
        self.x = structure_map(lambda a: _float32(_as_array(a, what)), x)
        self.y = structure_map(lambda a: _labels(_float32(_as_array(a, what)), what), y)
        self.sample_weight = (
            None if sample_weight is None else _as_array(sample_weight, what).astype(np.float32)
        )
        sizes = {len(a) for a in leaves(self.x) + leaves(self.y)}
        if self.sample_weight is not None:
            sizes.add(len(self.sample_weight))
        if len(sizes) > 1:
            shapes = ", ".join(
                f"{name} has {len(a)}"
                for name, group in (("x", leaves(self.x)), ("y", leaves(self.y)))
                for a in group
            )
            raise ValueError(
                f"{what}: x and y must have the same number of samples, but {shapes}"
                + (
                    f", sample_weight has {len(self.sample_weight)}"
                    if self.sample_weight is not None
                    else ""
                )
            )
        self.size = sizes.pop() if sizes else 0

    def split(self, fraction: float) -> tuple[ArrayData, ArrayData]:
        """The first (1 - fraction) and the last ``fraction`` of the samples (Keras's order)."""
        cut = int(self.size * (1.0 - fraction))
        return self._take(slice(0, cut)), self._take(slice(cut, self.size))

    def _take(self, index) -> ArrayData:
        out = ArrayData.__new__(ArrayData)
        out.x = structure_map(lambda a: a[index], self.x)
        out.y = structure_map(lambda a: a[index], self.y)
        out.sample_weight = None if self.sample_weight is None else self.sample_weight[index]
        out.size = len(leaves(out.x)[0]) if leaves(out.x) else 0
        return out

    def batches(self, batch_size: int, shuffle: bool = False, steps: int | None = None):
        """(x, y, sample_weight) batches as Tensors; the order redrawn per call when shuffling."""
        order = backend.rng().permutation(self.size) if shuffle else None
        n_batches = -(-self.size // batch_size)
        if steps is not None:
            n_batches = min(n_batches, steps)
        wrap = Tensor._wrap
        for b in range(n_batches):
            index = (
                order[b * batch_size : (b + 1) * batch_size]
                if order is not None
                else slice(b * batch_size, (b + 1) * batch_size)
            )
            x = structure_map(lambda a, i=index: wrap(a[i]), self.x)
            y = structure_map(lambda a, i=index: wrap(a[i]), self.y)
            sw = None if self.sample_weight is None else self.sample_weight[index]
            yield x, y, sw

    def num_batches(self, batch_size: int) -> int:
        return -(-self.size // batch_size)


class PyDataset:
    """A dataset of batches for fit/evaluate/predict, as ``keras.utils.PyDataset``.

    Subclass it and define ``__len__`` (the number of batches) and ``__getitem__(index)`` (batch
    ``index`` as x, (x, y) or (x, y, sample_weight)); ``on_epoch_end`` runs after each epoch.
    ``workers``/``use_multiprocessing``/``max_queue_size`` are accepted; batches are made in
    the calling thread.

    >>> import numpy as np
    >>> class Batches(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, index):
    ...         return np.full((2, 4), index, np.float32), np.zeros(2)
    >>> len(Batches()), Batches()[2][0][0, 0]
    (3, np.float32(2.0))
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size=10):
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_end(self) -> None:
        """Called after each epoch (e.g. to reshuffle)."""


def _is_batch_sequence(source) -> bool:
    """A sequence of batches read by index (PyDataset, keras.utils.Sequence or any class with
    __len__ and __getitem__ but no __iter__): iterating it the old way never ends if
    __getitem__ does not raise IndexError, so it is read by index up to len()."""
    return isinstance(source, PyDataset) or (
        hasattr(type(source), "__getitem__")
        and hasattr(type(source), "__len__")
        and not hasattr(type(source), "__iter__")
    )


class IterableData:
    """Batches from a DataLoader, a generator or a PyDataset: each item is x, (x, y) or
    (x, y, sample_weight)."""

    def __init__(self, source, what: str = "fit"):
        self.source, self.what = source, what
        try:
            self.length = len(source)
        except TypeError:
            self.length = None
        self.by_index = _is_batch_sequence(source)

    def _items(self, shuffle: bool):
        if not self.by_index:
            return iter(self.source)
        order = range(len(self.source))
        if shuffle:
            order = backend.rng().permutation(len(self.source)).tolist()
        return (self.source[i] for i in order)

    def end_epoch(self) -> None:
        on_epoch_end = getattr(self.source, "on_epoch_end", None)
        if self.by_index and callable(on_epoch_end):
            on_epoch_end()

    def batches(self, batch_size=None, shuffle=False, steps: int | None = None):
        for k, item in enumerate(self._items(shuffle)):
            if steps is not None and k >= steps:
                return
            if isinstance(item, (tuple, list)) and len(item) in (2, 3):
                x, y, sw = (*item, None) if len(item) == 2 else item
            else:
                x, y, sw = item, None, None
            to_tensor = self._tensor
            yield (
                structure_map(to_tensor, x),
                structure_map(to_tensor, y),
                (None if sw is None else np.asarray(sw._data if isinstance(sw, Tensor) else sw)),
            )

    def _tensor(self, a):
        return a if isinstance(a, Tensor) else Tensor._wrap(_float32(_as_array(a, self.what)))

    def num_batches(self, batch_size=None) -> int | None:
        return self.length


def unpack_x_y_sample_weight(data):
    """x, y, sample_weight from a batch given as x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
        raise ValueError(
            f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)}"
        )
    return data, None, None


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch as train_step receives it in Keras: (x,), (x, y) or (x, y, sample_weight)."""
    if y is None and sample_weight is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def pythonify_logs(logs: dict) -> dict:
    """Logs with nested dicts merged and one-value Tensors/arrays turned into Python floats."""
    out = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
            continue
        if isinstance(value, Tensor):
            value = value._data
        if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
            value = float(value)
        out[key] = value
    return out
