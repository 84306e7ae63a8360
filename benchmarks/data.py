"""The batches every workload sees: Fashion-MNIST read from its IDX files, or random data.

Both frameworks get the very same NumPy arrays (float32 images scaled to [0, 1], int64 labels),
so any difference in the timings is the framework's, not the data's.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

_IDX_UBYTE = 0x08


def read_idx(path: str, count: int | None = None) -> np.ndarray:
    """The first ``count`` items (all when None) of a gzipped IDX file of unsigned bytes.

    IDX: two zero bytes, a type byte (0x08 = ubyte), a byte giving the number of dimensions,
    then each dimension as a big-endian uint32, then the data in C order. Only the needed bytes
    are decompressed.

    >>> import gzip, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6)))
    >>> read_idx(path).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0:
            raise ValueError(f"read_idx: {path} is not an IDX file (bad magic {head!r})")
        if head[2] != _IDX_UBYTE:
            raise ValueError(
                f"read_idx: {path} holds type 0x{head[2]:02x}; only unsigned bytes (0x08) are read"
            )
        dims_raw = f.read(4 * head[3])
        if len(dims_raw) != 4 * head[3]:
            raise ValueError(f"read_idx: {path} ends inside its header")
        dims = [int(d) for d in np.frombuffer(dims_raw, dtype=">u4")]
        n = dims[0] if count is None else min(int(count), dims[0])
        item = int(np.prod(dims[1:], dtype=np.int64))
        raw = f.read(n * item)
        if len(raw) != n * item:
            raise ValueError(
                f"read_idx: {path} holds {len(raw)} data bytes, expected {n * item} for "
                f"{n} items of shape {tuple(dims[1:])}"
            )
    return np.frombuffer(raw, dtype=np.uint8).reshape([n, *dims[1:]])


@dataclass
class Data:
    """Training images/labels (``train_x``: (N, 28, 28)) and held-out ones for inference."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    source: str

    def batches(self, batch: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``count`` consecutive training batches of ``batch`` images (views, not copies)."""
        if batch * count > len(self.train_x):
            raise ValueError(
                f"Data.batches: {count} batches of {batch} need {batch * count} images, "
                f"only {len(self.train_x)} were loaded"
            )
        return [
            (self.train_x[i * batch : (i + 1) * batch], self.train_y[i * batch : (i + 1) * batch])
            for i in range(count)
        ]


def load(n_train: int, n_test: int, directory: str | None = DEFAULT_DIR, seed: int = 0) -> Data:
    """Fashion-MNIST when its four IDX files are in ``directory``, else seeded random data."""
    paths = [
        os.path.join(directory or "", name)
        for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
    ]
    if directory and all(os.path.isfile(p) for p in paths):
        train_x = read_idx(paths[0], n_train)
        train_y = read_idx(paths[1], n_train)
        test_x = read_idx(paths[2], n_test)
        if len(train_x) < n_train or len(test_x) < n_test:
            raise ValueError(
                f"load: {directory} holds {len(train_x)} training and {len(test_x)} test images, "
                f"the benchmark needs {n_train} and {n_test}"
            )
        scale = np.float32(1 / 255)
        return Data(
            train_x.astype(np.float32) * scale,
            train_y.astype(np.int64),
            test_x.astype(np.float32) * scale,
            f"Fashion-MNIST ({directory})",
        )
    rng = np.random.default_rng(seed)
    return Data(
        rng.random((n_train, 28, 28), dtype=np.float32),
        rng.integers(0, 10, n_train).astype(np.int64),
        rng.random((n_test, 28, 28), dtype=np.float32),
        f"random data (Fashion-MNIST IDX files not found in {directory!r})",
    )
