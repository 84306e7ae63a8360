"""Data pipeline, PyTorch-style: datasets, samplers, the DataLoader, splits and image transforms.

``nerve.utils.data`` is the same set under torch.utils.data's module name.

>>> import numpy as np
>>> from nerve.data import DataLoader, TensorDataset
>>> x, y = np.random.default_rng(0).random((100, 1, 8, 8)), np.arange(100) % 10
>>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=0)
>>> data, target = next(iter(loader))
>>> data.shape, data.dtype, target.shape
((32, 1, 8, 8), dtype('float32'), (32,))
"""

from nerve.data import transforms
from nerve.data.dataloader import (
    DataLoader,
    WorkerInfo,
    default_collate,
    default_convert,
    get_worker_info,
)
from nerve.data.dataset import (
    ArrayDataset,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    SizeMismatchError,
    Subset,
    TensorDataset,
    random_split,
    train_test_split,
)
from nerve.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "ArrayDataset",
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SizeMismatchError",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
    "train_test_split",
    "transforms",
]
