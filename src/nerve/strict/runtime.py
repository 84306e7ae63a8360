"""The strict device's runtime, shaped as CuPy's: its random generators (``strict.random``), its
memory pool and ``strict.cuda`` (devices, streams, the runtime's questions)."""

from __future__ import annotations

import time

import numpy as _np

from nerve.strict.array import Device, _out, _raw, _roots


class Generator:
    """A random generator on the device, with ``cupy.random.Generator``'s methods (a subset of
    NumPy's: no ``normal``, ``permutation`` or ``choice``). Draws come from a NumPy generator,
    so a seed gives the same stream each run (not the same numbers as CuPy's)."""

    def __init__(self, seed=None):
        self._rng = _np.random.default_rng(seed)

    def random(self, size=None, dtype=_np.float64, out=None):
        return self._fill(self._rng.random(size, dtype=dtype), out)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        return self._fill(self._rng.standard_normal(size, dtype=dtype), out)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return _out(self._rng.integers(low, high, size, dtype=dtype, endpoint=endpoint))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return _out(self._rng.uniform(low, high, size).astype(dtype, copy=False))

    @staticmethod
    def _fill(draw, out):
        if out is None:
            return _out(draw)
        out._a[...] = draw
        return out


class _Random:
    """``strict.random``: ``default_rng`` and CuPy's legacy global functions."""

    Generator = Generator

    def __init__(self):
        self._state = _np.random.RandomState()

    @staticmethod
    def default_rng(seed=None) -> Generator:
        return Generator(seed)

    def seed(self, seed=None) -> None:
        self._state = _np.random.RandomState(seed)

    def rand(self, *shape):
        return _out(self._state.random_sample(shape))

    def randn(self, *shape):
        return _out(self._state.standard_normal(shape))

    def random(self, size=None):
        return _out(self._state.random_sample(size))

    def uniform(self, low=0.0, high=1.0, size=None):
        return _out(self._state.uniform(low, high, size))

    def normal(self, loc=0.0, scale=1.0, size=None):
        return _out(self._state.normal(_raw(loc, "normal"), _raw(scale, "normal"), size))

    def standard_normal(self, size=None):
        return _out(self._state.standard_normal(size))

    def randint(self, low, high=None, size=None, dtype=int):
        return _out(self._state.randint(low, high, size, dtype=dtype))

    def permutation(self, x):
        return _out(self._state.permutation(_raw(x, "permutation")))

    def shuffle(self, x) -> None:
        self._state.shuffle(_raw(x, "shuffle"))


random = _Random()


class _MemoryPool:
    """``cupy.get_default_memory_pool()``'s questions: bytes held by live device arrays."""

    def used_bytes(self) -> int:
        total = 0
        for ref in list(_roots.values()):
            w = ref()
            if w is not None:
                total += w._a.nbytes
        return total

    def total_bytes(self) -> int:
        return self.used_bytes()

    def free_all_blocks(self, stream=None) -> None:
        """Nothing is cached: freed arrays go back to the host allocator at once."""


_pool = _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    """The strict device's memory pool (``cupy.get_default_memory_pool``)."""
    return _pool


class _Runtime:
    """``cupy.cuda.runtime``'s questions about devices, for the one strict device."""

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
        return 1

    @staticmethod
    def getDeviceProperties(index: int) -> dict:  # noqa: N802 - CuPy's name
        Device(index)
        return {"name": b"nerve strict device (host memory)", "totalGlobalMem": 0, "major": 0,
                "minor": 0, "multiProcessorCount": 1}  # fmt: skip

    @staticmethod
    def deviceSynchronize() -> None:  # noqa: N802 - CuPy's name
        """Nothing to wait for (see Device.synchronize)."""


class _Stream:
    """A stream that is always done: the strict device computes synchronously."""

    def synchronize(self) -> None:
        """Nothing to wait for."""


class _Event:
    """``cupy.cuda.Event`` on a synchronous device: recording notes the host's clock."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._time = None

    def record(self, stream=None) -> None:
        self._time = time.perf_counter()

    def synchronize(self) -> None:
        """Nothing to wait for."""

    @property
    def done(self) -> bool:
        return self._time is not None


def _elapsed_time(start: _Event, end: _Event) -> float:
    if start._time is None or end._time is None:
        raise RuntimeError("both events must be recorded before elapsed_time")
    return (end._time - start._time) * 1e3


class _Cuda:
    """``strict.cuda``: the parts of ``cupy.cuda`` that nerve.cuda asks."""

    Device = Device
    Event = _Event
    runtime = _Runtime()
    get_elapsed_time = staticmethod(_elapsed_time)

    @staticmethod
    def get_current_stream() -> _Stream:
        return _Stream()

    @staticmethod
    def set_allocator(allocator=None) -> None:
        """Accepted and ignored: the strict device has no allocator to replace."""


cuda = _Cuda()
