"""``input_data.read_data_sets``: TensorFlow 1's MNIST tutorial helper, on nerve's loaders.

``mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)`` gives ``mnist.train``
(55,000 images), ``mnist.validation`` (the first 5,000 of the training file) and ``mnist.test``
(10,000), each a DataSet with ``images`` (flattened to 784 floats in [0, 1]), ``labels`` and
``next_batch(n)``, which walks through shuffled epochs as TensorFlow 1's DataSet does.
"""

from __future__ import annotations

import collections
import warnings
from pathlib import Path

import numpy as np

from nerve import backend
from nerve.datasets import fashion_mnist, mnist

__all__ = ["DataSet", "Datasets", "read_data_sets"]

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])

_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


class DataSet:
    """Images and labels with an epoch-aware ``next_batch`` (TensorFlow 1's DataSet).

    Args:
        images: uint8 images (N, 28, 28) or (N, 28, 28, 1), or already-flat (N, 784) arrays.
        labels: (N,) class indices or (N, C) one-hot rows.
        dtype: float32 (scaled to [0, 1]) or uint8 (kept as 0..255).
        reshape: flatten each image to one row.
        seed: shuffle with a generator of its own seeded with this (default: nerve's generator,
            which ``nerve.manual_seed`` / ``tf.set_random_seed`` seed).

    Raises:
        ValueError: images and labels of different lengths, or another dtype.
    """

    def __init__(self, images, labels, dtype=np.float32, reshape=True, seed=None):
        dtype = np.dtype(dtype)
        if dtype not in (np.uint8, np.float32):
            raise ValueError(f"DataSet: dtype must be uint8 or float32, got {dtype}")
        if len(images) != len(labels):
            raise ValueError(
                f"DataSet: images.shape: {images.shape} labels.shape: {labels.shape} differ in "
                "length"
            )
        images = np.asarray(images)
        if reshape and images.ndim > 2:
            images = images.reshape(images.shape[0], -1)
        if dtype == np.float32:
            images = images.astype(np.float32) * np.float32(1.0 / 255.0)
        self._images = images
        self._labels = np.asarray(labels)
        self._num_examples = len(images)
        self._epochs_completed = 0
        self._index_in_epoch = 0
        self._rng = None if seed is None else np.random.default_rng(int(seed))

    @property
    def images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def _shuffle(self) -> None:
        rng = self._rng if self._rng is not None else backend.rng()
        perm = rng.permutation(self._num_examples)
        self._images = self._images[perm]
        self._labels = self._labels[perm]

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """The next ``batch_size`` examples as (images, labels).

        The data are shuffled before the first epoch and at each epoch's end; a batch that
        crosses the end takes the epoch's rest and the new epoch's beginning.

        Raises:
            ValueError: batch_size not in [1, num_examples], or fake_data=True.
        """
        if fake_data:
            raise ValueError("next_batch: fake_data=True is not supported")
        batch_size = int(batch_size)
        if not 1 <= batch_size <= self._num_examples:
            raise ValueError(
                f"next_batch: batch_size must be in [1, {self._num_examples}], got {batch_size}"
            )
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            rest_images = self._images[start:]
            rest_labels = self._labels[start:]
            if shuffle:
                self._shuffle()
            self._index_in_epoch = end = batch_size - len(rest_images)
            return (
                np.concatenate((rest_images, self._images[:end]), axis=0),
                np.concatenate((rest_labels, self._labels[:end]), axis=0),
            )
        self._index_in_epoch += batch_size
        end = self._index_in_epoch
        return self._images[start:end], self._labels[start:end]


def _one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return out


def _load(train_dir, dataset):
    if dataset not in (None, "mnist", "fashion_mnist"):
        raise ValueError(
            f"read_data_sets: dataset must be 'mnist' or 'fashion_mnist', got {dataset!r}"
        )
    if train_dir is not None:
        directory = Path(train_dir).expanduser()
        if all(
            any((directory / f"{stem}{ext}").is_file() for ext in (".gz", "")) for stem in _FILES
        ):
            # The tutorial's own directory of IDX files (MNIST's or Fashion-MNIST's).
            return mnist.load_data(path=str(directory))
    if dataset == "fashion_mnist":
        return fashion_mnist.load_data()
    if dataset == "mnist":
        return mnist.load_data()
    try:
        return mnist.load_data()
    except OSError as exc:
        warnings.warn(
            f"read_data_sets: MNIST is not available ({exc}); using Fashion-MNIST instead, which "
            "has the same shapes and 10 classes. Pass dataset='fashion_mnist' to ask for it, or "
            "put the MNIST files in train_dir.",
            stacklevel=3,
        )
        return fashion_mnist.load_data()


def read_data_sets(
    train_dir=None,
    fake_data=False,
    one_hot=False,
    dtype=np.float32,
    reshape=True,
    validation_size=5000,
    seed=None,
    source_url=None,
    dataset=None,
):
    """Load MNIST (or Fashion-MNIST) as train / validation / test DataSets.

    Args:
        train_dir: a directory holding the four IDX files (gzip or raw) of MNIST or
            Fashion-MNIST; when it does not, nerve's loader looks in its usual places
            ($NERVE_DATA, its cache) and downloads into its cache.
        fake_data: not supported (must be False).
        one_hot: labels as (N, 10) float32 one-hot rows instead of uint8 class indices.
        dtype: float32 (images scaled to [0, 1]) or uint8.
        reshape: flatten the images to (N, 784).
        validation_size: how many of the first training images form the validation set.
        seed: seed for the shuffling of next_batch (default: nerve's generator).
        source_url: ignored (nerve's loaders know their mirrors).
        dataset: 'mnist', 'fashion_mnist', or None: MNIST, falling back to Fashion-MNIST with
            a warning when MNIST is not available.

    Returns:
        ``Datasets(train, validation, test)``.

    Raises:
        ValueError: fake_data, a bad validation_size or dataset.
        OSError: the data cannot be found or downloaded.
    """
    if fake_data:
        raise ValueError("read_data_sets: fake_data=True is not supported")
    (x_train, y_train), (x_test, y_test) = _load(train_dir, dataset)
    if not 0 <= int(validation_size) <= len(x_train):
        raise ValueError(
            f"read_data_sets: validation_size should be between 0 and {len(x_train)}. Received: "
            f"{validation_size}."
        )
    if one_hot:
        y_train, y_test = _one_hot(y_train), _one_hot(y_test)
    v = int(validation_size)

    def make(x, y, offset):
        s = None if seed is None else int(seed) + offset
        return DataSet(x, y, dtype=dtype, reshape=reshape, seed=s)

    return Datasets(
        train=make(x_train[v:], y_train[v:], 0),
        validation=make(x_train[:v], y_train[:v], 1),
        test=make(x_test, y_test, 2),
    )
