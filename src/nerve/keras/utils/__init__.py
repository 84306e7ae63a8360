"""``keras.utils``: to_categorical, normalize, pad_sequences, split_dataset, set_random_seed,
PyDataset, and the registration helpers for custom objects."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.callbacks import Progbar
from nerve.keras._door import missing as _missing
from nerve.keras.config import clear_session
from nerve.keras.utils import np_utils
from nerve.keras.utils.sequences import pad_sequences
from nerve.keras.utils.timeseries import timeseries_dataset_from_array
from nerve.layers import KerasTensor
from nerve.models.data_adapter import (
    PyDataset,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from nerve.saving import register_serializable as register_keras_serializable
from nerve.saving.registry import registered_name as get_registered_name
from nerve.utils import set_random_seed, to_categorical

Sequence = PyDataset  # Keras 2's name for the same protocol


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (from keras.Input)."""
    return isinstance(x, KerasTensor)


def get_file(
    fname=None,
    origin=None,
    file_hash=None,
    cache_dir=None,
    cache_subdir="datasets",
    md5_hash=None,
    **kwargs,
):
    """Download ``origin`` once into ``cache_dir/cache_subdir/fname`` (default nerve's cache)
    and return the local path, as Keras's get_file (MD5 checked when ``md5_hash`` or a 32-digit
    ``file_hash`` is given; archives are not extracted).

    Raises:
        ValueError: no origin, or ``extract=True`` (not supported).
    """
    import pathlib

    from nerve.datasets.fetch import cache_dir as nerve_cache
    from nerve.datasets.fetch import download

    if kwargs.pop("extract", False):
        raise ValueError("get_file(extract=True) is not supported by nerve; extract it yourself")
    if kwargs:
        raise TypeError(f"get_file: unexpected keyword argument(s) {sorted(kwargs)}")
    if origin is None:
        raise ValueError("get_file: origin= (the URL) is required")
    fname = fname or origin.rstrip("/").rsplit("/", 1)[-1]
    folder = (
        pathlib.Path(cache_dir).expanduser() / cache_subdir
        if cache_dir is not None
        else nerve_cache(cache_subdir)
    )
    path = folder / fname
    if not path.exists():
        md5 = md5_hash or (file_hash if file_hash and len(file_hash) == 32 else None)
        download(origin, path, md5=md5)
    return str(path)


__all__ = [
    "Progbar",
    "PyDataset",
    "clear_session",
    "get_file",
    "get_registered_name",
    "is_keras_tensor",
    "pack_x_y_sample_weight",
    "timeseries_dataset_from_array",
    "unpack_x_y_sample_weight",
    "Sequence",
    "normalize",
    "np_utils",
    "pad_sequences",
    "register_keras_serializable",
    "set_random_seed",
    "split_dataset",
    "to_categorical",
]


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms leave zeros), as Keras's.

    Returns:
        A NumPy array for NumPy input, a Tensor for a Tensor.
    """
    is_tensor = isinstance(x, Tensor)
    arr = x._data if is_tensor else np.asarray(x)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    out = arr / np.expand_dims(norm, axis).astype(arr.dtype)
    return Tensor(out) if is_tensor else out


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split arrays (or a tuple/list/dict of arrays with one first dimension) in two.

    Sizes are fractions in (0, 1) or sample counts, as in Keras; one may be None (the rest).
    Keras returns tf._data Datasets; nerve returns the two parts in the input's structure
    (arrays, tuples of arrays, dicts), ready for ``fit`` or a DataLoader.

    Raises:
        ValueError: sizes that are negative, too large, or do not add up.
    """
    if isinstance(dataset, dict):
        leaves = list(dataset.values())
    elif isinstance(dataset, (list, tuple)):
        leaves = list(dataset)
    else:
        leaves = [dataset]
    arrays = [x._data if isinstance(x, Tensor) else np.asarray(x) for x in leaves]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"split_dataset: the arrays differ in length: {[len(a) for a in arrays]}")
    left, right = _sizes(n, left_size, right_size)
    order = np.arange(n)
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
    parts = []
    for index in (order[:left], order[left : left + right]):
        taken = [a[index] for a in arrays]
        if isinstance(dataset, dict):
            parts.append(dict(zip(dataset, taken)))
        elif isinstance(dataset, (list, tuple)):
            parts.append(type(dataset)(taken))
        else:
            parts.append(taken[0])
    return tuple(parts)


def _sizes(n: int, left, right) -> tuple[int, int]:
    def count(size, what):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0.0 < size < 1.0:
                raise ValueError(f"split_dataset: a float {what} must be in (0, 1), got {size}")
            return round(size * n)
        if isinstance(size, (int, np.integer)) and 0 < size <= n:
            return int(size)
        raise ValueError(f"split_dataset: {what} must be a fraction or 1..{n}, got {size!r}")

    left, right = count(left, "left_size"), count(right, "right_size")
    if left is None and right is None:
        left = round(0.5 * n)
    if left is None:
        left = n - right
    if right is None:
        right = n - left
    if left + right > n or left < 0 or right < 0:
        raise ValueError(
            f"split_dataset: left_size + right_size = {left + right} is more than the {n} samples"
        )
    return left, right


def __getattr__(name):
    raise _missing("nerve.keras.utils", globals(), name)
