"""``nerve.accelerator``: torch.accelerator's questions, answered by the CUDA backend when there is
one (see :mod:`nerve.cuda`) and as a CPU-only torch does when there is none.

>>> import nerve
>>> (nerve.accelerator.current_accelerator() is None) == (not nerve.accelerator.is_available())
True
"""

from __future__ import annotations

from nerve import cuda
from nerve.device import device

_NONE = "nerve.accelerator: cannot access an accelerator device; none is available"


def is_available() -> bool:
    """Whether an accelerator (a CUDA device) can be used."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """The accelerator device type in use: ``device(type='cuda')``, or None when there is none."""
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    """The number of accelerator devices."""
    return cuda.device_count()


def current_device_index() -> int:
    """The index of the current accelerator device.

    Raises:
        RuntimeError: there is no accelerator.
    """
    if not cuda.is_available():
        raise RuntimeError(_NONE)
    return cuda.current_device()


def synchronize(device=None) -> None:
    """Wait for the accelerator to finish its work.

    Raises:
        RuntimeError: there is no accelerator.
    """
    if not cuda.is_available():
        raise RuntimeError(_NONE)
    cuda.synchronize(device)
