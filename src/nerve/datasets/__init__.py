"""Datasets as NumPy arrays, Keras-style: ``(x_train, y_train), (x_test, y_test) = load_data()``.

``mnist`` and ``fashion_mnist`` read IDX files (from disk or downloaded once into the cache),
``digits`` is scikit-learn's bundled 8x8 set, ``from_csv`` reads Kaggle-style CSV images.
"""

from nerve.datasets import digits, fashion_mnist, mnist
from nerve.datasets.fetch import cache_dir
from nerve.datasets.idx import parse_idx, read_idx
from nerve.datasets.tabular import from_csv

__all__ = [
    "cache_dir",
    "digits",
    "fashion_mnist",
    "from_csv",
    "mnist",
    "parse_idx",
    "read_idx",
]
