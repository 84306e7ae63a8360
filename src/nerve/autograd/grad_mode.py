"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``is_grad_enabled``.

Grad mode and inference mode belong to the thread, as in torch: a ``no_grad()`` block in one
thread does not stop another from recording, and a new thread starts with recording on and
inference mode off. Anomaly mode and the in-place clock are one for the whole process (torch's
anomaly mode is global too; tensor data is shared by every thread).
"""

from __future__ import annotations

import functools
import threading


class _ThreadModes(threading.local):
    """This thread's modes. A thread that never set one reads the class defaults below."""

    enabled = True  # ops record what backward needs
    inference = False  # inside an inference_mode() block


# Read by every op (Function.apply): an attribute of a thread-local costs ~30 ns more than a
# dict item, so hot paths read ``_modes.enabled`` directly rather than calling a function.
_modes = _ThreadModes()


# "inplace" counts in-place changes to tensor data: a node records it when made, and backward
# looks for modified saved arrays only in nodes made before the latest change (inplace.py).
_state = {"inplace": 0, "anomaly": False}


def is_grad_enabled() -> bool:
    """True when ops record what backward needs (in the calling thread)."""
    return _modes.enabled


class _GradMode:
    """Context manager and decorator that sets this thread's grad mode and restores it on exit."""

    _mode: bool

    def __enter__(self):
        self._previous = _modes.enabled
        _modes.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _modes.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 - torch's name
    """Run ops without recording the graph (inference, evaluation, optimizer updates).

    Only the calling thread stops recording, as in torch.
    """

    _mode = False


class enable_grad(_GradMode):  # noqa: N801 - torch's name
    """Record the graph again inside a ``no_grad`` block (in the calling thread)."""

    _mode = True


class set_grad_enabled(_GradMode):  # noqa: N801 - torch's name
    """Set the calling thread's grad mode to ``mode``: at once when called, for a block when used
    as a context manager, or around each call when used as a decorator.

    Args:
        mode: True to record the graph, False not to.
    """

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._previous = _modes.enabled
        _modes.enabled = self._mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self._mode
        _modes.enabled = self._previous

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class inference_mode(_GradMode):  # noqa: N801 - torch's name
    """Run ops without recording the graph, as ``no_grad`` (torch's faster variant of it).

    ``inference_mode(False)`` leaves grad mode as it is. Like grad mode, it is the calling
    thread's.

    Args:
        mode: True to enter inference mode, False to leave the modes as they are.
    """

    def __init__(self, mode: bool = True):
        self._inference = bool(mode)
        self._mode = False if mode else _modes.enabled

    def __enter__(self):
        self._previous_inference = _modes.inference
        _modes.inference = self._inference or self._previous_inference
        return super().__enter__()

    def __exit__(self, *exc):
        _modes.inference = self._previous_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        inference = self._inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block (in the calling thread)."""
    return _modes.inference


class set_detect_anomaly:  # noqa: N801 - torch's name
    """Check every backward result for NaN and name the node that made it (slower; for
    debugging). Works as a call or a context manager, as in torch (neither torch's nor this one
    is a decorator). Anomaly mode holds for every thread, as torch's does.

    Args:
        mode: True to check, False to stop.
        check_nan: accepted for torch's signature; the NaN check is what anomaly mode does.
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self._previous = _state["anomaly"]
        _state["anomaly"] = bool(mode) and bool(check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["anomaly"] = self._previous
        return False


class detect_anomaly(set_detect_anomaly):  # noqa: N801 - torch's name
    """``with detect_anomaly():`` turns anomaly mode on for a block."""

    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on."""
    return _state["anomaly"]
