"""DistributedSampler: each rank reads its own share of a dataset, torch's way."""

from __future__ import annotations

import math
import numbers

import numpy as np

from nerve.data.sampler import Sampler
from nerve.distributed import comm

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of rank ``rank`` out of ``num_replicas``: a disjoint share of each pass.

    As torch's: the pass is a permutation drawn from ``seed + epoch`` (the same on every rank,
    so the shares never overlap; call ``set_epoch`` before each epoch for a new order) or
    ``0, 1, ..., n - 1`` without shuffle. Without ``drop_last`` the pass is padded with its own
    first indices up to a multiple of ``num_replicas``; with it the tail is dropped. Rank ``r``
    takes every ``num_replicas``-th index starting at ``r``. The permutation comes from NumPy
    (``default_rng(seed + epoch)``), so the order differs from torch's; the shares do not.

    Args:
        dataset: the dataset (only its ``len`` is used).
        num_replicas: the number of ranks (default: the world size).
        rank: this rank (default: the process group's rank).
        shuffle: draw a new permutation each epoch.
        seed: the seed shared by all ranks.
        drop_last: drop the tail instead of padding.

    Raises:
        ValueError: ``rank`` is not in ``[0, num_replicas - 1]``, or ``num_replicas`` < 1.
        RuntimeError: ``num_replicas`` / ``rank`` left out and no process group.

    >>> s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    >>> list(s)
    [1, 3, 0]
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if num_replicas is None:
            num_replicas = comm.get_world_size()
        if rank is None:
            rank = comm.get_rank()
        if not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(
                "DistributedSampler: num_replicas should be a positive integer, "
                f"got {num_replicas!r}"
            )
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` in the next pass's seed (call it at the start of every epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def order(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n).astype(np.int64)
        else:
            idx = np.arange(n, dtype=np.int64)
        if self.drop_last:
            idx = idx[: self.total_size]
        elif self.total_size > n and n:
            idx = np.resize(idx, self.total_size)  # repeats the pass from its start, as torch
        return idx[self.rank : self.total_size : self.num_replicas]

    def __iter__(self):
        return iter(self.order().tolist())
