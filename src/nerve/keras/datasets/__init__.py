"""``keras.datasets``: ``mnist`` and ``fashion_mnist`` (``load_data()``) on nerve's loaders."""

from nerve.datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
