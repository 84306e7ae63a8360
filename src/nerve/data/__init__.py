"""Data pipeline, PyTorch-style: datasets, the DataLoader, splits and image transforms.

>>> import numpy as np
>>> from nerve.data import DataLoader, TensorDataset
>>> x, y = np.random.default_rng(0).random((100, 1, 8, 8)), np.arange(100) % 10
>>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=0)
>>> data, target = next(iter(loader))
>>> data.shape, data.dtype, target.shape
((32, 1, 8, 8), dtype('float32'), (32,))
"""

from nerve.data import transforms
from nerve.data.dataloader import DataLoader, default_collate
from nerve.data.dataset import (
    ArrayDataset,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
    train_test_split,
)

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
    "train_test_split",
    "transforms",
]
