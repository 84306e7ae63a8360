"""``nerve.accelerator``: torch.accelerator's questions, answered for a CPU-only machine.

>>> import nerve
>>> nerve.accelerator.current_accelerator() is None
True
"""

from __future__ import annotations


def is_available() -> bool:
    """Whether an accelerator (CUDA, MPS, XPU...) can be used: False."""
    return False


def current_accelerator(check_available: bool = False):
    """The accelerator device type in use: None, as there is none."""
    return None


def device_count() -> int:
    """The number of accelerator devices: 0."""
    return 0


def current_device_index() -> int:
    """The index of the current accelerator device.

    Raises:
        RuntimeError: always; there is no accelerator.
    """
    raise RuntimeError("nerve.accelerator: cannot access an accelerator device; none is available")


def synchronize(device=None) -> None:
    """Wait for the accelerator to finish its work.

    Raises:
        RuntimeError: always; there is no accelerator.
    """
    raise RuntimeError("nerve.accelerator: cannot access an accelerator device; none is available")
