"""Data parallelism for the Keras door, Horovod's way: wrap the optimizer, add two callbacks.

Under ``mpirun -n N``, each rank fits on its own share of the data::

    dist.init_process_group()
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam()), loss=...)
    model.fit(x[rank::N], y[rank::N], batch_size=per_rank_batch,
              callbacks=[dist.BroadcastGlobalVariablesCallback(0), dist.MetricAverageCallback()]
              + ([ModelCheckpoint(...)] if rank == 0 else []),
              verbose=1 if rank == 0 else 0)

The optimizer averages the gradients over the ranks before each update (in one all-reduce per
dtype, after backward); the first callback starts every rank from rank 0's weights; the second
averages the epoch's logs, so History, CSVLogger and checkpoints on rank 0 see global values.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.callbacks.base import Callback
from nerve.distributed import comm
from nerve.optimizers.base import Optimizer

__all__ = ["BroadcastGlobalVariablesCallback", "DistributedOptimizer", "MetricAverageCallback"]


def _average_grads(variables) -> None:
    """Replace each variable's ``.grad`` by its mean over the ranks (one all-reduce per dtype)."""
    world = comm.get_world_size()
    if world == 1:
        return
    by_dtype: dict = {}
    for v in variables:
        by_dtype.setdefault(v._data.dtype, []).append(v)
    for dtype, group in sorted(by_dtype.items(), key=lambda kv: str(kv[0])):
        sizes = [v._data.size for v in group]
        flat = np.zeros(sum(sizes), dtype=dtype)
        offsets = np.cumsum([0] + sizes)
        for v, a, b in zip(group, offsets[:-1], offsets[1:]):
            if v.grad is not None:
                flat[a:b] = v.grad._data.reshape(-1)
        comm.all_reduce(flat)
        flat *= flat.dtype.type(1.0 / world)
        for v, a, b in zip(group, offsets[:-1], offsets[1:]):
            avg = flat[a:b].reshape(v._data.shape).copy()
            if v.grad is None:
                v.grad = Tensor._wrap(avg)
            else:
                v.grad._data = avg


class DistributedOptimizer(Optimizer):
    """A Keras-style optimizer whose updates use the gradients averaged over every rank.

    Everything else (learning rate, iterations, state, config) is the wrapped optimizer's, so
    schedules and callbacks that read or set the learning rate work unchanged.

    Args:
        optimizer: a ``nerve.optimizers`` optimizer (``keras.optimizers.Adam()`` and so on).

    Raises:
        TypeError: ``optimizer`` is not a Keras-style optimizer.
        RuntimeError: at the first update, when the process group is not initialized.
    """

    def __init__(self, optimizer):  # the wrapped optimizer holds all state: no super().__init__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                "DistributedOptimizer wraps a Keras-style optimizer (nerve.optimizers / "
                f"keras.optimizers), got {type(optimizer).__name__}; for a torch-style loop use "
                "DistributedDataParallel"
            )
        self.__dict__["optimizer"] = optimizer

    def __getattr__(self, name):
        return getattr(self.__dict__["optimizer"], name)

    def __setattr__(self, name, value):
        setattr(self.optimizer, name, value)

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.optimizer.learning_rate = value

    lr = learning_rate

    @property
    def unwrapped(self) -> Optimizer:
        """The wrapped optimizer (what saving should record: its class and config)."""
        return self.optimizer

    @property
    def slot_names(self) -> tuple:
        return self.optimizer.slot_names

    @property
    def built(self) -> bool:
        return self.optimizer.built

    @property
    def variables(self) -> list:
        return self.optimizer.variables

    def build(self, variables) -> None:
        self.optimizer.build(variables)

    def step(self) -> None:
        """Average each variable's ``.grad`` over the ranks, then take the wrapped step."""
        _average_grads(self.optimizer.variables_)
        self.optimizer.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def apply(self, grads, trainable_variables=None) -> int:
        """Keras's ``apply``: the given gradients, averaged over the ranks, update the variables."""
        opt = self.optimizer
        variables = opt.variables_ if trainable_variables is None else list(trainable_variables)
        tmp = [
            _Holder(v, None if g is None else Tensor._wrap(np.array(getattr(g, "_data", g))))
            for g, v in zip(grads, variables)
        ]
        _average_grads(tmp)
        return opt.apply([t.grad for t in tmp], variables)

    def apply_gradients(self, grads_and_vars) -> int:
        pairs = list(grads_and_vars)
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)

    def get_config(self) -> dict:
        return self.optimizer.get_config()

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r})"


class _Holder:
    """A variable's data and a gradient to average, for ``apply``'s explicit gradients."""

    __slots__ = ("_data", "grad")

    def __init__(self, var, grad):
        self._data, self.grad = var._data, grad


class BroadcastGlobalVariablesCallback(Callback):
    """Give every rank ``root_rank``'s weights (and optimizer state) when training starts.

    A model built before ``fit`` is synchronized at ``on_train_begin``; one built lazily by its
    first batch right after that batch (its first update used averaged gradients, so the ranks
    then differ only by their initial weights, which the broadcast replaces).

    Args:
        root_rank: the rank whose weights everyone takes.
    """

    def __init__(self, root_rank: int = 0):
        super().__init__()
        self.root_rank = root_rank
        self._done = False

    def _broadcast(self) -> None:
        for t in list(self.model.parameters()) + list(self.model.buffers()):
            comm.broadcast(t, src=self.root_rank)
        opt = getattr(self.model, "optimizer", None)
        for slots in getattr(opt, "slots", None) or []:
            for name in sorted(slots):
                comm.broadcast(slots[name], src=self.root_rank)
        self._done = True

    def on_train_begin(self, logs=None):
        self._done = False
        if any(True for _ in self.model.parameters()):
            self._broadcast()

    def on_train_batch_end(self, batch, logs=None):
        if not self._done:
            self._broadcast()


class MetricAverageCallback(Callback):
    """Average the epoch's logs (loss, metrics, validation ones) over the ranks, in place.

    Put it before the callbacks that read the logs (it is, in ``callbacks=[...]``: History and
    the progress bar come after the user's callbacks). Each rank's value is a mean over its own
    share, so with equal shares the average is the global mean.
    """

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.number)))
        values = np.array([float(logs[k]) for k in keys], dtype=np.float64)
        comm.all_reduce(values, op=comm.ReduceOp.AVG)
        for k, v in zip(keys, values.tolist()):
            logs[k] = v
