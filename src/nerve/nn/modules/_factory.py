"""torch's factory keywords for modules (``nn.Linear(4, 2, device="cuda", dtype=...)``) and the
default device (``nerve.set_default_device`` / ``with nerve.device(...)``)."""

from __future__ import annotations

from contextlib import contextmanager

from nerve.device import as_device, get_default_device
from nerve.device import device as _device


def place(module, device=None, dtype=None):
    """Finish building ``module`` as torch's ``device=`` and ``dtype=`` keywords ask.

    Its floating parameters and buffers are cast to ``dtype`` (when given; integer buffers keep
    theirs) and everything moves to ``device`` (None: the default device). Parameters are
    initialized on the CPU first, from the CPU generator, so their values are a CPU module's.

    Args:
        module: the module, its parameters and buffers made.
        device: a device spec ("cuda", "cuda:0", a device) or None for the default device.
        dtype: a floating dtype, or None to keep the module's.

    Returns:
        ``module``.

    Raises:
        RuntimeError: the device is not available on this machine.
        TypeError: ``dtype`` is not a floating dtype.
    """
    if dtype is not None:
        module.to(dtype=dtype)
    d = as_device(device)
    if d.type != "cpu":
        module.to(d)
    return module


@contextmanager
def built_on_cpu(device=None):
    """``with built_on_cpu(device) as target:`` builds a module made of other modules (their
    parameters drawn on the CPU whatever the default device), then ``place(self, target,
    dtype)`` after the block puts the whole at ``target``: ``device``, resolved before the
    block, or the default device.

    Raises:
        RuntimeError: the device is not available on this machine.
    """
    target = as_device(device)
    if target.type == "cpu" and get_default_device().type == "cpu":
        yield target  # the common case: nothing to switch
        return
    with _device("cpu"):
        yield target
