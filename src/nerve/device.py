"""Devices, as torch names them: ``nerve.device("cpu")``, ``"cuda:0"``.

Today every tensor lives on the CPU (NumPy). The CUDA device (CuPy) is a later step; until then
asking for it is a clear error, and ``nerve.cuda.is_available()`` says False so that device-agnostic
code (``device = "cuda" if torch.cuda.is_available() else "cpu"``) takes the CPU path.
"""

from __future__ import annotations

import numpy as np

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # noqa: N801 - torch's name
    """A device: a type ("cpu", "cuda") and an optional index.

    >>> device("cuda:1")
    device(type='cuda', index=1)
    >>> device("cpu") == "cpu"
    True
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - torch's keyword
        spec = type
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        elif isinstance(spec, int) and not isinstance(spec, bool):
            spec, index = "cuda", spec  # torch: a bare int means a CUDA ordinal
        if not isinstance(spec, str):
            raise TypeError(f"nerve.device expects a string like 'cpu' or 'cuda:0', got {spec!r}")
        text = spec
        spec = spec.strip()
        if ":" in spec:
            spec, _, ordinal = spec.partition(":")
            if index is not None:
                raise ValueError(f"nerve.device({text!r}, {index}): the index is given twice")
            if not ordinal.isdigit():
                raise ValueError(f"nerve.device: invalid device string {text!r}")
            index = int(ordinal)
        if spec not in _KNOWN_TYPES:
            raise ValueError(
                f"nerve.device: unknown device type {spec!r}; expected one of {list(_KNOWN_TYPES)}"
            )
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"nerve.device: the index must be an int >= 0, got {index!r}")
        object.__setattr__(self, "type", spec)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("nerve.device is immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """``with nerve.device("cpu"):`` makes this the default device inside the block.

        Raises:
            RuntimeError: the device is not available (see :func:`as_device`).
        """
        global _default
        as_device(self)
        _stack.append(_default)
        _default = self
        return self

    def __exit__(self, *exc):
        global _default
        _default = _stack.pop()
        return False


CPU = device("cpu")
_default = CPU
_stack: list = []  # defaults to restore when a ``with device(...)`` block ends


def as_device(spec) -> device:
    """``spec`` ("cpu", "cuda:0", a device, an int, None for the default) as a device that exists.

    This is the one place that decides which devices exist: every constructor's ``device=``,
    ``Tensor.to`` and ``Module.to`` come through here.

    Raises:
        RuntimeError: the device is not available on this machine (only "cpu" is, today).
    """
    d = _default if spec is None else spec if isinstance(spec, device) else device(spec)
    if d.type != "cpu":
        raise RuntimeError(unavailable_message(str(d)))
    return d


def unavailable_message(what: str) -> str:
    """The one sentence nerve says when code asks for a device it does not have."""
    return (
        f"device {what!r} is not available: nerve runs on the CPU here "
        f"(nerve.cuda.is_available() is False). Use device='cpu', or write device-agnostic "
        f"code: device = 'cuda' if nerve.cuda.is_available() else 'cpu'"
    )


def array_module(spec=None):
    """The array module that holds data on device ``spec`` (NumPy for the CPU)."""
    as_device(spec)
    return np


def set_default_device(spec) -> None:
    """Where new tensors are made by default (torch.set_default_device); None resets to CPU.

    Raises:
        RuntimeError: the device is not available (see :func:`as_device`).
    """
    global _default
    _default = CPU if spec is None else as_device(spec)


def get_default_device() -> device:
    """The device new tensors are made on (torch.get_default_device).

    >>> get_default_device()
    device(type='cpu')
    """
    return _default
