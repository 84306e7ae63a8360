"""torch.utils.data's names over nerve's data pipeline (:mod:`nerve.data`): one implementation.

Port a PyTorch input pipeline by changing its imports::

    from nerve.utils.data import DataLoader, Dataset, TensorDataset, random_split

Datasets yield Tensors, DataLoader batches are Tensors, shuffling and samplers draw from
nerve's generator (``nerve.manual_seed``) unless given a ``generator``. Where nerve differs from
torch, and why:

- ``num_workers > 0`` builds batches in one background thread, not in worker processes
  (:func:`get_worker_info` reports worker 0 of 1 there, None in the main thread).
- :func:`default_collate` gives float32 for Python floats and float64 arrays (nerve's default
  float; torch gives float64); Tensors keep their dtype, ints give int64 as in torch.
- ``pin_memory`` is accepted and does nothing (NumPy arrays live in host memory already).
- ``DataLoader`` also takes nerve's ``transform=`` (per-batch, vectorized augmentation) and
  ``prefetch=``; ``TensorDataset`` also takes NumPy arrays.

>>> import numpy as np
>>> from nerve.utils.data import DataLoader, TensorDataset
>>> x, y = np.ones((10, 3), np.float32), np.arange(10)
>>> [tuple(xb.shape) for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4)]
[(4, 3), (4, 3), (2, 3)]
"""

from nerve.data.dataloader import (
    DataLoader,
    WorkerInfo,
    default_collate,
    default_convert,
    get_worker_info,
)
from nerve.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from nerve.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from nerve.utils.data import dataloader, dataset, sampler

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "dataloader",
    "dataset",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
    "sampler",
]
