"""Keras's small utilities (one-hot labels, one call that seeds every generator) and, as
``nerve.utils.data``, torch.utils.data's names."""

from __future__ import annotations

import random

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import manual_seed


def to_categorical(x, num_classes=None) -> np.ndarray:
    """One-hot encode integer class labels, as float32.

    A trailing axis of size 1 is dropped first (labels shaped ``(N, 1)`` give ``(N, C)``).

    Args:
        x: integer labels in ``[0, num_classes)``, any shape (a list, an array or a Tensor).
        num_classes: the number of classes; default ``max(x) + 1``.

    Returns:
        A float32 array of shape ``x.shape + (num_classes,)``.

    Raises:
        ValueError: a label is negative, not a whole number, or not below ``num_classes``.

    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    arr = np.asarray(x._data if isinstance(x, Tensor) else x)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.array_equal(np.floor(arr), arr):
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise ValueError(
            f"to_categorical: labels must be whole numbers, got {arr.dtype} values such as "
            f"{arr.reshape(-1)[:3].tolist()}"
        )
    arr = arr.astype(np.int64, copy=False)
    shape = arr.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = arr.reshape(-1)
    if flat.size and flat.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(flat.min())}")
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and flat.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {int(flat.max())} is out of range for "
            f"num_classes={num_classes} (labels must be in [0, {num_classes}))"
        )
    out = np.zeros((flat.size, num_classes), dtype=np.float32)
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(*shape, num_classes)


def set_random_seed(seed: int) -> None:
    """Seed nerve's generator, Python's ``random`` and NumPy's global generator (as Keras does).

    Args:
        seed: an int.

    Raises:
        ValueError: ``seed`` is not an int.

    >>> import random
    >>> set_random_seed(7); a = random.random(), np.random.rand()
    >>> set_random_seed(7); a == (random.random(), np.random.rand())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed} "
            f"(of type {type(seed)})"
        )
    seed = int(seed)
    manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def __getattr__(name):
    # nerve.utils.data (torch.utils.data's names) loads on first use, so `import nerve` then
    # `nerve.utils.data.DataLoader` works as `torch.utils.data.DataLoader` does
    if name == "data":
        import importlib

        return importlib.import_module("nerve.utils.data")
    raise AttributeError(f"module 'nerve.utils' has no attribute {name!r}")
