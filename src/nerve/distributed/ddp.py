"""DistributedDataParallel: one model per rank, gradients averaged in buckets during backward.

At construction rank 0's parameters and buffers are broadcast, so every rank starts equal. Each
forward through the wrapper walks the graph it just recorded and counts, per parameter, how many
gradient contributions backward will bring (a parameter used twice gets two). A hook on each
parameter counts them down; when a parameter's last one arrives its summed gradient goes into its
bucket (a flat buffer of about ``bucket_cap_mb``), and when a bucket is full it is reduced with a
non-blocking ``Iallreduce`` while backward goes on. Buckets are launched in a fixed order, so every
rank issues the same collectives in the same order. The last parameter's hook waits for all of
them and writes the averaged gradients into ``.grad``, so ``loss.backward(); optimizer.step()``
needs no extra call.
"""

from __future__ import annotations

import contextlib

import numpy as np

from nerve.autograd.engine import topological_order
from nerve.autograd.function import Edge
from nerve.autograd.tensor import Tensor
from nerve.distributed import comm
from nerve.nn.module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """A flat buffer for some parameters of one dtype, and its in-flight request."""

    __slots__ = ("params", "offsets", "buf", "pending", "request")

    def __init__(self, params: list, dtype):
        self.params = params
        self.offsets = np.cumsum([0] + [p._data.size for p in params]).tolist()
        self.buf = np.zeros(self.offsets[-1], dtype=dtype)
        self.pending = 0
        self.request = None

    def slot(self, i: int) -> np.ndarray:
        return self.buf[self.offsets[i] : self.offsets[i + 1]]


class DistributedDataParallel(Module):
    """Data parallelism over MPI: ``module`` runs on every rank, gradients are averaged.

    Each rank feeds its own shard of the data (see ``DistributedSampler``); after
    ``loss.backward()`` every rank holds the mean of all ranks' gradients, so the same optimizer
    step keeps the replicas equal. With per-rank batch ``b`` on ``N`` ranks and a loss that is a
    mean over the batch, the step equals one process's step on the ``N * b`` batch.

    Args:
        module: the model (a ``nerve.nn.Module``); its parameters are the ones averaged.
        device_ids: accepted for torch's signature; must be None or one device.
        output_device: accepted for torch's signature (unused).
        broadcast_buffers: broadcast rank 0's buffers (BatchNorm statistics) at each forward.
        bucket_cap_mb: the size of a gradient bucket in MiB (torch's default 25).
        find_unused_parameters: accepted for torch's signature; nerve always finds them (a
            parameter outside this forward's graph is reduced with a zero gradient).
        gradient_as_bucket_view: accepted for torch's signature (gradients are always copies).

    Raises:
        RuntimeError: the process group is not initialized.
        TypeError: ``module`` is not a Module.
        ValueError: ``bucket_cap_mb`` is not positive.

    >>> # under `mpirun -n 2 python train.py`:
    >>> # nerve.distributed.init_process_group()
    >>> # model = nerve.distributed.DistributedDataParallel(MyNet())
    """

    def __init__(
        self,
        module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        bucket_cap_mb: float = 25,
        find_unused_parameters: bool = False,
        gradient_as_bucket_view: bool = False,
        **kwargs,
    ):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel expects a nerve.nn.Module, got {type(module).__name__}"
            )
        if not bucket_cap_mb or bucket_cap_mb <= 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb should be positive, got {bucket_cap_mb!r}"
            )
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError(
                "DistributedDataParallel: one device per process; got device_ids="
                f"{device_ids!r} (start one rank per device instead)"
            )
        self.module = module
        d = self.__dict__
        d["broadcast_buffers"] = bool(broadcast_buffers)
        d["bucket_cap_mb"] = bucket_cap_mb
        d["_world"] = comm.get_world_size()
        d["_sync"] = True
        d["_armed"] = False  # a forward recorded a graph whose backward must be reduced
        d["_names"] = {}
        self._sync_start()
        d["_params"] = [p for p in module.parameters() if p.requires_grad]
        d["_buckets"] = self._make_buckets(int(bucket_cap_mb * 1024 * 1024))
        d["_where"] = {}  # id(param) -> (bucket index, slot index)
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        names = {id(p): n for n, p in module.named_parameters()}
        d["_names"] = {id(p): names.get(id(p), "?") for p in self._params}
        d["_left"] = {}  # id(param) -> contributions still to come in this backward
        d["_next"] = 0  # the next bucket to launch
        d["_handles"] = [p.register_hook(self._hook_for(p)) for p in self._params]

    # ------------------------------------------------------------------ setup
    def _sync_start(self) -> None:
        """Every rank takes rank 0's parameters and buffers."""
        for p in self.module.parameters():
            comm.broadcast(p, src=0)
        self._broadcast_buffers()

    def _broadcast_buffers(self) -> None:
        for b in self.module.buffers():
            comm.broadcast(b, src=0)

    def _make_buckets(self, cap: int) -> list:
        # reverse registration order: backward reaches the last layers first, so the first
        # bucket fills first (torch orders them the same way)
        buckets, current, size, dtype = [], [], 0, None
        for p in reversed(self._params):
            nbytes = p._data.nbytes
            if current and (p._data.dtype != dtype or size + nbytes > cap):
                buckets.append(_Bucket(current, dtype))
                current, size = [], 0
            current.append(p)
            size += nbytes
            dtype = p._data.dtype
        if current:
            buckets.append(_Bucket(current, dtype))
        return buckets

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if self._armed:
            missing = [self._names[k] for k, n in self._left.items() if n > 0]
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not finish reducing: "
                f"parameters {missing[:8]} got no gradient. Call backward on a loss that uses "
                "every output of the forward, or call finish_gradient_synchronization() after it"
            )
        if self.training and self.broadcast_buffers and self._world > 1:
            self._broadcast_buffers()
        out = self.module(*args, **kwargs)
        if self._sync and self._params:
            self._arm(out)
        return out

    def _arm(self, out) -> None:
        """Count, per parameter, the gradient contributions the graph of ``out`` will bring."""
        roots = [t._node for t in _tensors(out) if t._node is not None]
        if not roots:
            return  # no graph (no_grad, or eval): nothing will be reduced
        counts = dict.fromkeys(map(id, self._params), 0)
        seen = set()
        for root in roots:
            for node in topological_order(root):
                if id(node) in seen:
                    continue
                seen.add(id(node))
                for x, need in zip(node.inputs, node.needs_input_grad):
                    if need and type(x) is not Edge and id(x) in counts:
                        counts[id(x)] += 1
        self._left.clear()
        self._left.update(counts)
        self._next = 0
        for bucket in self._buckets:
            bucket.pending = len(bucket.params)
            bucket.request = None
        self.__dict__["_armed"] = True
        # parameters outside this graph contribute zeros (or their accumulated .grad)
        for p in self._params:
            if counts[id(p)] == 0:
                self._ready(p, None)

    # ------------------------------------------------------------------ backward
    def _hook_for(self, p):
        key = id(p)

        def hook(grad):
            if not self._armed:
                return None
            left = self._left.get(key, 0)
            if left <= 0:
                raise RuntimeError(
                    f"DistributedDataParallel: parameter {self._names[key]!r} received a "
                    "gradient after its bucket was reduced: a parameter may only be used "
                    "inside the wrapped module's forward"
                )
            self._left[key] = left - 1
            if left > 1:
                return None
            if self._ready(p, grad._data):
                # backward is done with the parameters: .grad now holds the averages; the
                # engine adds this last contribution next, so hand it zeros
                return Tensor._wrap(np.zeros_like(grad._data))
            return None

        return hook

    def _ready(self, p, last) -> bool:
        """Put ``p``'s whole gradient in its bucket; launch full buckets in order. Returns
        True when this finished the step (every bucket reduced and written back)."""
        b, i = self._where[id(p)]
        bucket = self._buckets[b]
        slot = bucket.slot(i)
        g = None if p.grad is None else p.grad._data.reshape(-1)
        if g is None and last is None:
            slot.fill(0)
        elif g is None:
            slot[...] = last.reshape(-1)
        elif last is None:
            slot[...] = g
        else:
            np.add(g, last.reshape(-1), out=slot)
        bucket.pending -= 1
        mpi = comm._mpi()
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            nxt = self._buckets[self._next]
            nxt.request = comm._comm().Iallreduce(mpi.IN_PLACE, nxt.buf, op=mpi.SUM)
            self._next += 1
        if self._next == len(self._buckets):
            self._finish()
            return True
        return False

    def _finish(self) -> None:
        """Wait for the buckets and write the averaged gradients into ``.grad``."""
        for bucket in self._buckets:
            comm.wait(bucket.request, "DistributedDataParallel gradient all-reduce")
            bucket.request = None
            bucket.buf *= bucket.buf.dtype.type(1.0 / self._world)
            for i, p in enumerate(bucket.params):
                avg = bucket.slot(i).reshape(p._data.shape).copy()
                if p.grad is None:
                    p.grad = Tensor._wrap(avg)
                else:
                    p.grad._data = avg
        self.__dict__["_armed"] = False

    def finish_gradient_synchronization(self) -> None:
        """Reduce now what backward left unreduced: parameters of this forward that got no
        gradient count as zero. Needed only when the loss leaves some outputs unused."""
        if not self._armed:
            return
        for p in self._params:
            n = self._left.get(id(p), 0)
            if n > 0:
                self._left[id(p)] = 0
                self._ready(p, None)

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context, forward/backward accumulate local gradients without reducing
        (gradient accumulation); the first forward outside it reduces the accumulated sum."""
        old = self._sync
        self.__dict__["_sync"] = False
        try:
            yield
        finally:
            self.__dict__["_sync"] = old


def _tensors(out):
    """The Tensors in a forward's output (a Tensor, or tuples / lists / dicts of them)."""
    stack, found = [out], []
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return found
