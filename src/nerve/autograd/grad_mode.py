"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``is_grad_enabled``."""

from __future__ import annotations

import functools

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    """True when ops record what backward needs."""
    return _state["enabled"]


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    _mode: bool

    def __enter__(self):
        self._previous = _state["enabled"]
        _state["enabled"] = self._mode
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 - torch's name
    """Run ops without recording the graph (inference, evaluation, optimizer updates)."""

    _mode = False


class enable_grad(_GradMode):  # noqa: N801 - torch's name
    """Record the graph again inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradMode):  # noqa: N801 - torch's name
    """Set grad mode to ``mode`` for a block."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._previous = _state["enabled"]
        _state["enabled"] = self._mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self._mode
        _state["enabled"] = self._previous

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
