"""Checks shared by the index-taking ops (gather, index_select, scatter, index_add, ...)."""

from __future__ import annotations

import functools

import numpy as np

from nerve.device import check_on_sync
from nerve.primitives.common import as_tensor


def int_index(index, op: str, name: str = "index") -> np.ndarray:
    """An index tensor's array as intp, or a TypeError naming the op when it is not integer."""
    data = as_tensor(index, op)._data
    if data.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer tensor, got dtype {data.dtype}")
    return data.astype(np.intp, copy=False)


def check_range(op: str, index: np.ndarray, low: int, n: int, dim: int, shape: tuple) -> None:
    """An IndexError naming the op, the bad index and the dim's size when one is out of range.

    On the CPU the check runs at once. On a device it is queued as a device-side flag and read
    (its error raised) at the next synchronization (nerve.device.check_on_sync): reading it now
    would make every call wait for the device, which torch's device-side asserts avoid too.
    """
    if index.size == 0:
        return
    lo, hi = index.min(), index.max()
    if type(index) is not np.ndarray:
        report = functools.partial(_range_error, op=op, low=low, n=n, dim=dim, shape=shape)
        check_on_sync((lo < low) | (hi >= n), report, lo, hi)
        return
    _range_error(lo, hi, op, low, n, dim, shape)


def _range_error(lo, hi, op: str, low: int, n: int, dim: int, shape: tuple) -> None:
    if lo < low or hi >= n:
        bad = int(lo) if lo < low else int(hi)
        raise IndexError(
            f"{op}: index {bad} is out of range for dim {dim} of size {n} "
            f"(input shape {shape}, valid indices {low}..{n - 1})"
        )
