"""``nerve.cuda``: torch.cuda's questions, answered by the CUDA backend (CuPy) when there is one.

With CuPy installed (``pip install nerve[cuda]``) and a GPU visible, the answers come from CuPy:
device count, names, synchronization, the memory its pool holds, the device generator. Without
one they are those of a CPU-only torch: ``is_available()`` is False, the calls that only report or
tidy up (``empty_cache``, ``memory_allocated``, ``manual_seed``) answer quietly, and the calls that
need a GPU (``current_device``, ``synchronize``, ``get_device_name``, ``set_device``) raise a
RuntimeError that says so. Under ``nerve.testing.strict_cuda()`` the strict test backend answers
(one device).

>>> import nerve
>>> device = "cuda" if nerve.cuda.is_available() else "cpu"
>>> nerve.ones(2, device=device).device.type == device
True
"""

from __future__ import annotations

from nerve import backend
from nerve.device import as_device, backend_module, check_pending, device, unavailable_message
from nerve.device import device_count as _device_count

# Peak bytes held by the pool (CuPy has no peak counter: nerve's allocator hook keeps it).
_peak = {"allocated": 0}


def _no_cuda(what: str):
    raise RuntimeError(f"nerve.cuda.{what}: " + unavailable_message("cuda"))


def _module(what: str):
    """The CUDA array module, or the error that there is none."""
    module = backend_module("cuda")
    if module is None:
        _no_cuda(what)
    return module


def _index(dev, what: str) -> int:
    """A device argument (None: the current one; an int; "cuda:1"; a device) as an ordinal."""
    module = _module(what)
    if dev is None:
        return int(module.cuda.Device().id)
    if isinstance(dev, int) and not isinstance(dev, bool):
        d = device("cuda", dev)
    else:
        d = device(dev)
    if d.type != "cuda":
        raise ValueError(f"nerve.cuda.{what}: expected a cuda device, got {str(d)!r}")
    if d.index is None:
        return int(module.cuda.Device().id)
    as_device(d)  # checks the ordinal exists
    return d.index


def is_available() -> bool:
    """Whether a CUDA device can be used (CuPy installed and a GPU visible)."""
    return backend_module("cuda") is not None


def device_count() -> int:
    """The number of CUDA devices nerve can use (0 without CuPy or a GPU)."""
    return _device_count("cuda")


def is_initialized() -> bool:
    """Whether CUDA has been initialized (a CUDA backend is loaded)."""
    return is_available()


def current_device() -> int:
    """The index of the current CUDA device.

    Raises:
        RuntimeError: there is no CUDA device.
    """
    return int(_module("current_device()").cuda.Device().id)


def set_device(device) -> None:
    """Select the current CUDA device (where "cuda" without an index puts tensors).

    Raises:
        RuntimeError: there is no CUDA device, or not that one.
    """
    index = _index(device, f"set_device({device!r})")
    _module("set_device()").cuda.Device(index).use()


def synchronize(device=None) -> None:
    """Wait for the CUDA device to finish its queued work, and read the device-side checks the
    ops queued (an index out of range...), as CUDA reports its device-side asserts here.

    Raises:
        RuntimeError: there is no CUDA device.
        Exception: a queued device-side check failed (the error of the op that queued it).
    """
    module = _module("synchronize()")
    module.cuda.Device(_index(device, "synchronize()")).synchronize()
    _sample_peak()
    check_pending()


def _properties(device, what: str) -> dict:
    module = _module(what)
    return module.cuda.runtime.getDeviceProperties(_index(device, what))


def get_device_name(device=None) -> str:
    """The name of a CUDA device ("NVIDIA H200").

    Raises:
        RuntimeError: there is no CUDA device.
    """
    name = _properties(device, "get_device_name()")["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None) -> tuple:
    """The compute capability of a CUDA device, as (major, minor).

    Raises:
        RuntimeError: there is no CUDA device.
    """
    props = _properties(device, "get_device_capability()")
    return int(props["major"]), int(props["minor"])


class _DeviceProperties:
    """What torch.cuda.get_device_properties answers: name, total_memory, major, minor,
    multi_processor_count."""

    def __init__(self, props: dict):
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.total_memory = int(props["totalGlobalMem"])
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // 2**20}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device=None) -> _DeviceProperties:
    """The properties of a CUDA device.

    Raises:
        RuntimeError: there is no CUDA device.
    """
    return _DeviceProperties(_properties(device, "get_device_properties()"))


def _check_seed(seed, what: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"nerve.cuda.{what} expects an int seed, got {type(seed).__name__}")


def manual_seed(seed: int) -> None:
    """Seed the CUDA generator (the device draws of dropout, ``randn(device="cuda")``...);
    without CUDA there is nothing to seed (as torch on a CPU-only build).

    The CPU generator is seeded by :func:`nerve.manual_seed`, which seeds the devices too.

    Raises:
        TypeError: ``seed`` is not an int.
    """
    _check_seed(seed, "manual_seed")
    backend.seed_devices(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA generator (see :func:`manual_seed`).

    Raises:
        TypeError: ``seed`` is not an int.
    """
    _check_seed(seed, "manual_seed_all")
    backend.seed_devices(seed)


def _pool():
    module = backend_module("cuda")
    return None if module is None else module.get_default_memory_pool()


def _sample_peak() -> int:
    pool = _pool()
    used = 0 if pool is None else int(pool.used_bytes())
    _peak["allocated"] = max(_peak["allocated"], used)
    return used


def empty_cache() -> None:
    """Give the memory CuPy's pool holds but no array uses back to the driver."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of CUDA memory held by arrays (CuPy's pool ``used_bytes``); 0 without CUDA."""
    return _sample_peak()


def max_memory_allocated(device=None) -> int:
    """Peak bytes of CUDA memory held by arrays since the start or the last
    :func:`reset_peak_memory_stats` (kept by nerve's allocation hook on CuPy); 0 without CUDA."""
    if _pool() is None:
        _peak["allocated"] = 0  # a backend that went away (the strict test one) leaves no peak
        return 0
    _sample_peak()
    return _peak["allocated"]


def reset_peak_memory_stats(device=None) -> None:
    """Start the peak of :func:`max_memory_allocated` again from what is held now."""
    _peak["allocated"] = 0
    _sample_peak()


def memory_reserved(device=None) -> int:
    """Bytes of CUDA memory held by the caching allocator (CuPy's pool ``total_bytes``)."""
    pool = _pool()
    return 0 if pool is None else int(pool.total_bytes())


def max_memory_reserved(device=None) -> int:
    """Peak bytes held by the caching allocator: what it holds now (CuPy keeps no peak)."""
    return memory_reserved(device)


def install_peak_hook(module) -> None:
    """Route CuPy's allocations through its default pool with a hook that keeps the peak of
    ``used_bytes`` (``max_memory_allocated``): one Python call per allocation."""
    pool = module.get_default_memory_pool()

    def malloc(size: int):
        memory = pool.malloc(size)
        used = pool.used_bytes()
        if used > _peak["allocated"]:
            _peak["allocated"] = used
        return memory

    module.cuda.set_allocator(malloc)


class Event:
    """A CUDA event, as ``torch.cuda.Event``: ``record()`` marks a point in the device's queue,
    ``elapsed_time(end)`` gives the milliseconds between two recorded events (a GPU timer).

    Args:
        enable_timing: the event can measure time (torch's default False; CuPy times by
            default, so both settings time here).
        blocking: ``synchronize()`` sleeps instead of spinning.
        interprocess: shareable between processes.

    Raises:
        RuntimeError: there is no CUDA device.
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess=False):
        module = _module("Event()")
        self._module = module
        self._event = module.cuda.Event(block=blocking, interprocess=interprocess)

    def record(self, stream=None) -> None:
        """Mark this point of the (current) stream."""
        self._event.record(stream)

    def synchronize(self) -> None:
        """Wait until the device has passed the recorded point."""
        self._event.synchronize()

    def query(self) -> bool:
        """Whether the device has passed the recorded point."""
        return bool(self._event.done)

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds from this event to ``end_event`` (both recorded and done)."""
        return float(self._module.cuda.get_elapsed_time(self._event, end_event._event))
