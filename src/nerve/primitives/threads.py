"""Memory-bound NumPy work split over the machine's cores, coordinated with OpenBLAS's threads.

NumPy runs an elementwise loop on one core but releases the GIL while it runs, so two Python
threads can each run half of a large op at once. A small persistent pool (``n - 1`` workers; the
calling thread does the first share) splits such an op into contiguous row blocks, each written
through ``out=`` slices of one result, so the result equals the one-thread result bit for bit.

Two things decide whether that pays:

- The fixed cost of a hand-off (waking a worker on this 2-vCPU VM: ~30-50 us) and memory
  bandwidth (one core already saturates it for ReLU's forward): only arrays above a per-op
  size take the split path (about 1M elements on the 2-core machine); the call sites pass
  their threshold, measured by ``benchmarks/bench_threads.py``.
- OpenBLAS's own worker threads: after a GEMM they spin for 2**28 cycles (~0.1 s) waiting for
  the next one, on the very core the elementwise worker needs, and the scheduler then shares
  that core between the two (a split op measured ~1.5 ms slower than unsplit). The first op
  that splits therefore shortens that spin with :func:`set_blas_spin` (OpenBLAS's
  ``OPENBLAS_THREAD_TIMEOUT``, normally read once when the library loads), by re-reading the
  environment and restarting OpenBLAS's threads through the library's exported
  ``openblas_read_env`` and ``blas_thread_shutdown_``. Models whose arrays never reach a
  threshold keep OpenBLAS's default: the short spin costs GEMM-heavy steps 2-10%.

The split path is for NumPy arrays only (``type(x) is np.ndarray``): device arrays keep their
own kernels. It is off unless :func:`set_num_threads` asks for more than one thread.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import threading

import numpy as np

from nerve import backend

__all__ = [
    "blas_single_threaded",
    "blas_spin",
    "get_num_threads",
    "parallel_blocks",
    "parallel_rows",
    "set_blas_spin",
    "set_num_threads",
    "shutdown",
    "single_blas_thread",
]

# Spin of OpenBLAS's idle threads once an op has split: 2**18 cycles (~100 us at the machine's
# 2.6 GHz), long enough for the GEMMs of one layer to find their thread awake, short enough
# that it sleeps during the elementwise work around them (2**18 and 2**20 measured alike).
BLAS_SPIN_WHILE_SPLIT = 18


class _Worker:
    """One pool thread: waits on ``start``, runs ``job``, releases ``done``.

    Locks, not Events or queues: a Lock's acquire/release is CPython's cheapest way to park and
    wake a thread (one futex each).
    """

    __slots__ = ("start", "done", "job", "error", "thread")

    def __init__(self, index: int):
        self.start = threading.Lock()
        self.start.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job = None
        self.error = None
        self.thread = threading.Thread(target=self._loop, name=f"nerve-split-{index}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self.start.acquire()
            job = self.job
            if job is None:  # shutdown
                self.done.release()
                return
            try:
                job[0](*job[1])
            except BaseException as exc:  # handed to the caller, raised there
                self.error = exc
            self.job = None
            self.done.release()

    def stop(self) -> None:
        self.job = None
        self.start.release()
        self.done.acquire()
        self.thread.join()


class _Pool:
    """``n - 1`` workers; one caller at a time (others run their work unsplit)."""

    def __init__(self, n: int):
        self.n = n
        self.workers = [_Worker(i) for i in range(1, n)]
        self.busy = threading.Lock()

    def run(self, fn, shares: list) -> None:
        """``fn(*share)`` for every share, the first on the calling thread."""
        workers = self.workers[: len(shares) - 1]
        for w, share in zip(workers, shares[1:], strict=True):
            w.job = (fn, share)
            w.start.release()
        first_error = None
        try:
            fn(*shares[0])
        except BaseException as exc:
            first_error = exc
        for w in workers:  # always wait: a worker must not outlive the arrays it writes
            while True:  # even through Ctrl-C: an unfinished worker would leave its release
                try:  # banked, and the next run would return before its worker is done
                    w.done.acquire()
                    break
                except BaseException as exc:  # KeyboardInterrupt: raised once all are done
                    first_error = first_error or exc
        errors = [first_error] + [w.error for w in workers]
        for w in workers:
            w.error = None
        for exc in errors:
            if exc is not None:
                raise exc

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []


_threads = 1  # threads the split path uses; 1 = off
_spin_for_split = [False]  # whether a split has shortened OpenBLAS's spin (set_num_threads)
_pool: _Pool | None = None
_pool_lock = threading.Lock()


def set_num_threads(n: int) -> None:
    """Let large elementwise, pooling and normalization work run on ``n`` threads (1: off).

    ``nerve.set_num_threads`` calls it together with the BLAS limit. With ``n > 1``, the first
    op that really splits also shortens OpenBLAS's idle spin (:func:`set_blas_spin`) so that
    BLAS's threads and the split work do not fight over the cores; a model whose arrays never
    reach a threshold keeps OpenBLAS's default (the short spin measured 2-10% slower on GEMM-
    heavy steps: the MLP, LSTM and Transformer at batch 128). ``n == 1`` restores the spin.

    Args:
        n: number of threads, at least 1.

    Raises:
        ValueError: ``n`` is not an integer >= 1.
    """
    global _threads, _pool
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads expects an integer n >= 1, got {n!r}")
    n = int(n)
    with _pool_lock:
        if _pool is not None and _pool.n != n:
            _pool.stop()
            _pool = None
        _threads = n
    if n == 1 and _spin_for_split[0] and _no_other_threads(_pool):  # see parallel_rows
        set_blas_spin(None)
        _spin_for_split[0] = False


# Threads known never to call BLAS: tqdm's monitor (started by any progress bar; it sleeps and
# reads clocks) would otherwise keep the spin long for the rest of the process.
_NEVER_IN_BLAS = frozenset({"tqdm_monitor"})


def _no_other_threads(pool) -> bool:
    """Whether the calling thread and the pool's workers are the only Python threads alive
    (besides threads known never to call BLAS)."""
    if threading.active_count() <= 1 + (len(pool.workers) if pool is not None else 0):
        return True
    ours = {w.thread for w in pool.workers} if pool is not None else set()
    me = threading.current_thread()
    return all(t is me or t in ours or t.name in _NEVER_IN_BLAS for t in threading.enumerate())


def get_num_threads() -> int:
    """Threads the split path uses (1 when it is off).

    >>> get_num_threads() >= 1
    True
    """
    return _threads


def shutdown() -> None:
    """Stop the pool's threads (they start again on the next split). Runs at exit too."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.stop()
            _pool = None


def _get_pool() -> _Pool:
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _Pool(_threads)
            pool = _pool
    return pool


def _forget_pool_in_child() -> None:
    # A forked child has none of the parent's threads: start a fresh pool when it needs one.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


def blas_single_threaded() -> bool:
    """Whether NumPy's BLAS runs each GEMM on one thread now.

    Asks OpenBLAS itself (its get_num_threads through ctypes, ~0.3 us), so every way of
    setting it counts: nerve.set_num_threads, threadpoolctl, OPENBLAS_NUM_THREADS (which
    OpenBLAS prefers to OMP_NUM_THREADS), :func:`single_blas_thread`. Without an OpenBLAS
    nerve can reach, the environment decides, else the machine's core count.

    >>> isinstance(blas_single_threaded(), bool)
    True
    """
    if _held[0]:  # a split holds OpenBLAS at one thread for a while: the setting outside it
        return _held[1] == 1  # (ops in other threads choose as they would without the split)
    calls = _openblas_thread_count()
    if calls:
        return calls[0]() == 1
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name)
        if value:
            return value.strip() == "1"
    return (os.cpu_count() or 1) == 1


atexit.register(shutdown)
# nerve.set_num_threads (backend, a level below) governs the split too, through its hooks.
_hooks = getattr(backend, "THREAD_HOOKS", None)
if _hooks is not None and set_num_threads not in _hooks:
    _hooks.append(set_num_threads)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def parallel_rows(fn, arrays: tuple, min_size: int) -> bool:
    """Run ``fn(*blocks)`` over row blocks of ``arrays`` (split along axis 0) on the pool.

    Every array must have the same length along axis 0; block k of each is the same rows, so
    ``fn`` sees matching slices and writes its results through ``out=`` slices of the arrays
    that hold them. Nothing is split (and False is returned, ``fn`` not called) when the split
    path is off, the first array has fewer than ``min_size`` elements or fewer rows than
    threads, an array is not a NumPy ndarray, or another thread is using the pool; the caller
    then runs its ordinary code.

    Args:
        fn: called once per block with one slice per array; its writes must stay in its slices.
        arrays: NumPy arrays with equal ``shape[0]``.
        min_size: the smallest ``arrays[0].size`` worth splitting (the op's measured threshold).

    Returns:
        True when ``fn`` ran over all blocks, False when the caller must do the work.
    """
    n = _threads
    if n < 2:
        return False
    first = arrays[0]
    if first.size < min_size:
        return False
    rows = first.shape[0] if first.ndim else 0
    if rows < n:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.ndim == 0 or a.shape[0] != rows:
            return False
    pool = _get_pool()
    if not pool.busy.acquire(blocking=False):  # a worker or another thread is splitting
        return False
    try:
        # once: OpenBLAS's spinning threads would take the cores. Restarting OpenBLAS's threads
        # while another Python thread is inside a BLAS call hangs both, so only when no thread
        # but the pool's is alive (else a later split tries again).
        if not _spin_for_split[0] and _no_other_threads(pool):
            _spin_for_split[0] = True
            if _blas_spin_now[0] is None:
                set_blas_spin(BLAS_SPIN_WHILE_SPLIT)
        bounds = [rows * k // n for k in range(n + 1)]
        shares = [tuple(a[bounds[k] : bounds[k + 1]] for a in arrays) for k in range(n)]
        pool.run(fn, shares)
    finally:
        pool.busy.release()
    return True


def parallel_blocks(fn, rows: int) -> bool:
    """Run ``fn(r0, r1)`` over the pool's blocks of ``rows`` row indices (one hand-off).

    For ops whose blocks are not slices of one array (a recurrent layer's rows across several
    arrays). Nothing runs (False) under the same conditions as :func:`parallel_rows`.

    >>> parallel_blocks(lambda r0, r1: None, 8) in (True, False)
    True
    """
    if _threads < 2 or rows < _threads:
        return False
    return parallel_rows(lambda idx: fn(int(idx[0]), int(idx[-1]) + 1), (np.arange(rows),), 0)


_blas_count_calls: list = []  # [(get, set)]: OpenBLAS's thread-count ctypes functions, or [None]


def _openblas_thread_count():
    """OpenBLAS's get/set_num_threads as ctypes functions (None without OpenBLAS)."""
    if not _blas_count_calls:
        found = None
        lib = _openblas_library()
        # scipy-openblas (NumPy's wheels) prefixes and suffixes its symbols
        for pre, suf in (("", ""), ("scipy_", "64_"), ("scipy_", ""), ("", "64_")):
            get = getattr(lib, f"{pre}openblas_get_num_threads{suf}", None)
            put = getattr(lib, f"{pre}openblas_set_num_threads{suf}", None)
            if get is not None and put is not None:
                put.argtypes, get.restype = [ctypes.c_int], ctypes.c_int
                found = (get, put)
                break
        _blas_count_calls.append(found)
    return _blas_count_calls[0]


@contextlib.contextmanager
def single_blas_thread():
    """OpenBLAS on one thread inside the block, its thread count back afterwards (also on an
    error). Row blocks that each call GEMMs on the pool's threads run inside it: two callers in
    OpenBLAS's threaded GEMM at once queue on its server (28 GEMMs of 64 x 128 x 512 on each of
    two threads: 3.6 to 440 ms on the shared 2-core machine, against 2.9 to 8 ms with one BLAS
    thread each). The count is process-wide (``openblas_set_num_threads_local`` is too, in
    NumPy's build). Without OpenBLAS (or threadpoolctl to find it) nothing changes.

    >>> with single_blas_thread():
    ...     pass
    """
    calls = _openblas_thread_count()
    with _held_lock:  # overlapping blocks (two threads): the first saves, the last restores
        if _held[0] == 0:
            _held[1] = calls[0]() if calls else 1
        _held[0] += 1
        before = _held[1]
        if before > 1:
            calls[1](1)
    try:
        yield
    finally:
        with _held_lock:
            _held[0] -= 1
            if _held[0] == 0 and before > 1:
                calls[1](before)


_held = [0, 1]  # [open single_blas_thread blocks, OpenBLAS's thread count before the first]
_held_lock = threading.Lock()


def flat_rows(*arrays: np.ndarray) -> tuple | None:
    """1-d views of C-contiguous same-size arrays (for :func:`parallel_rows`), else None."""
    size = arrays[0].size
    for a in arrays:
        if type(a) is not np.ndarray or not a.flags.c_contiguous or a.size != size:
            return None
    return tuple(a.reshape(-1) for a in arrays)


# ----------------------------------------------------------------------------- OpenBLAS
_blas_library: list = []  # [ctypes library] once looked for, [None] without an OpenBLAS
_blas_spin_now: list = [None]


def _openblas_library():
    """NumPy's OpenBLAS as a ctypes library (the first OpenBLAS threadpoolctl lists), or None."""
    if not _blas_library:
        lib = None
        try:
            from threadpoolctl import threadpool_info

            for info in threadpool_info():
                if info.get("internal_api") == "openblas":
                    lib = ctypes.CDLL(info["filepath"])
                    break
        except (ImportError, OSError):
            lib = None
        _blas_library.append(lib)
    return _blas_library[0]


def _openblas():
    """The library when it has the entry points set_blas_spin needs, else None."""
    lib = _openblas_library()
    if lib is None or not all(
        hasattr(lib, f) for f in ("openblas_read_env", "blas_thread_shutdown_")
    ):
        return None
    return lib


def set_blas_spin(exponent: int | None) -> bool:
    """Make OpenBLAS's idle threads spin 2**exponent CPU cycles before sleeping.

    OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` (4..30) once, when its threads start; this sets
    it, has OpenBLAS read its environment again and stops its threads, which start again with
    the new value at the next BLAS call. Call it while no other thread is inside a BLAS call.

    Args:
        exponent: 4..30, or None for the value the process started with (OpenBLAS's default
            2**28 when the variable was unset).

    Returns:
        True when OpenBLAS was found and steered, False otherwise (another BLAS, no
        threadpoolctl, or a build without those entry points): nothing changes then.

    Raises:
        ValueError: ``exponent`` is outside 4..30.
    """
    if exponent is not None and not 4 <= int(exponent) <= 30:
        raise ValueError(f"set_blas_spin expects an exponent in 4..30 or None, got {exponent}")
    if _blas_spin_now[0] == exponent:
        return _openblas() is not None
    lib = _openblas()
    if lib is None:
        return False
    if not _blas_original:
        _blas_original.append(os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
    # OpenBLAS keeps its last timeout when the variable is unset, so "back to the start" is
    # written out: the process's own value, else OpenBLAS's default exponent, 28.
    value = str(int(exponent)) if exponent is not None else (_blas_original[0] or "28")
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = value
    lib.openblas_read_env()
    if exponent is None and _blas_original[0] is None:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    lib.blas_thread_shutdown_()
    _blas_spin_now[0] = exponent
    return True


_blas_original: list = []


def blas_spin() -> int | None:
    """The exponent last set by :func:`set_blas_spin` (None: the process's own setting).

    >>> blas_spin() is None or 4 <= blas_spin() <= 30
    True
    """
    return _blas_spin_now[0]
