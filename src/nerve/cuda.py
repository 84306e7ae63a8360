"""``nerve.cuda``: torch.cuda's questions, answered for a machine without a CUDA device.

Device-agnostic code asks ``nerve.cuda.is_available()`` and takes the CPU path. The calls that
only report or tidy up (``empty_cache``, ``memory_allocated``, ``manual_seed``) answer as torch
does on a CPU-only build; the calls that need a GPU (``current_device``, ``synchronize``,
``get_device_name``, ``set_device``) raise a RuntimeError that says so.

>>> import nerve
>>> "cuda" if nerve.cuda.is_available() else "cpu"
'cpu'
"""

from __future__ import annotations

from nerve.device import unavailable_message


def _no_cuda(what: str):
    raise RuntimeError(f"nerve.cuda.{what}: " + unavailable_message("cuda"))


def is_available() -> bool:
    """Whether a CUDA device can be used: False (nerve runs on the CPU)."""
    return False


def device_count() -> int:
    """The number of CUDA devices nerve can use: 0."""
    return 0


def is_initialized() -> bool:
    """Whether CUDA has been initialized: False."""
    return False


def current_device() -> int:
    """The index of the current CUDA device.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda("current_device()")


def set_device(device) -> None:
    """Select the current CUDA device.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda(f"set_device({device!r})")


def synchronize(device=None) -> None:
    """Wait for the CUDA device to finish its work.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda("synchronize()")


def get_device_name(device=None) -> str:
    """The name of a CUDA device.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda("get_device_name()")


def get_device_capability(device=None) -> tuple:
    """The compute capability of a CUDA device.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda("get_device_capability()")


def get_device_properties(device=None):
    """The properties of a CUDA device.

    Raises:
        RuntimeError: always; there is no CUDA device.
    """
    _no_cuda("get_device_properties()")


def _check_seed(seed, what: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"nerve.cuda.{what} expects an int seed, got {type(seed).__name__}")


def manual_seed(seed: int) -> None:
    """Seed the CUDA generator: nothing to seed without CUDA (as torch on a CPU-only build).

    The CPU generator is seeded by :func:`nerve.manual_seed`, which torch code calls too.

    Raises:
        TypeError: ``seed`` is not an int.
    """
    _check_seed(seed, "manual_seed")


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA generator: nothing to seed without CUDA (see :func:`manual_seed`).

    Raises:
        TypeError: ``seed`` is not an int.
    """
    _check_seed(seed, "manual_seed_all")


def empty_cache() -> None:
    """Release cached CUDA memory: there is none, so this does nothing."""


def memory_allocated(device=None) -> int:
    """Bytes of CUDA memory held by tensors: 0."""
    return 0


def max_memory_allocated(device=None) -> int:
    """Peak bytes of CUDA memory held by tensors: 0."""
    return 0


def memory_reserved(device=None) -> int:
    """Bytes of CUDA memory held by the caching allocator: 0."""
    return 0


def max_memory_reserved(device=None) -> int:
    """Peak bytes of CUDA memory held by the caching allocator: 0."""
    return 0
