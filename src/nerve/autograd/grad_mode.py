"""Whether ops record the graph: ``no_grad``, ``enable_grad``, ``is_grad_enabled``.

Grad mode, inference mode and the autocast region (amp.py) belong to the thread, as in torch:
a ``no_grad()`` block in one thread does not stop another from recording, and a new thread
starts with recording on, inference mode off and no autocast. Anomaly mode and the in-place
clock are one for the whole process (torch's anomaly mode is global too; tensor data is shared
by every thread).

The mode classes are context managers and decorators, with or without the call; on a generator
function the mode holds around each resume of the generator, as in torch.

>>> import nerve
>>> x = nerve.ones(2, requires_grad=True)
>>> with no_grad():
...     (x * 2).requires_grad
False
>>> with inference_mode():
...     with enable_grad():  # grad mode on, but inference mode still records nothing
...         is_grad_enabled(), (x * 2).requires_grad
(True, False)
"""

from __future__ import annotations

import functools
import inspect
import itertools
import sys
import threading


class _ThreadModes(threading.local):
    """This thread's modes. A thread that never set one reads the class defaults below.

    ``grad`` and ``inference`` are what ``is_grad_enabled()`` and
    ``is_inference_mode_enabled()`` say, ``autocast`` the thread's autocast region (amp.py).
    The two derived flags are kept up to date by :func:`_sync` whenever one of those changes,
    so each op reads one attribute: ``enabled`` (ops record the graph: grad on and inference
    off; torch records nothing in inference mode, even under ``enable_grad()``), and ``op``
    (Function.apply's: ``enabled`` itself outside autocast, ``(region, enabled)`` inside).
    """

    grad = True
    inference = False
    autocast = None
    enabled = True
    op = True


# Read by every op: an attribute of a thread-local costs ~30 ns more than a dict item, so hot
# paths read ``_modes.enabled`` / ``_modes.op`` directly rather than calling a function.
_modes = _ThreadModes()


def _sync(m: _ThreadModes = _modes) -> None:
    """Recompute the calling thread's derived flags (see _ThreadModes)."""
    record = m.grad and not m.inference
    m.enabled = record
    region = m.autocast
    m.op = record if region is None else (region, record)


def _set_grad(mode: bool, m: _ThreadModes = _modes) -> None:
    """Set this thread's grad mode; the derived flags directly in the usual case (no autocast
    region, no inference mode), else through _sync: no_grad's enter and exit run in every
    optimizer step."""
    m.grad = mode
    if m.autocast is None and not m.inference:
        m.enabled = m.op = mode
    else:
        _sync(m)


# "inplace" counts in-place changes to tensor data: a node records it when made, and backward
# looks for modified saved arrays only in nodes made before the latest change (inplace.py).
# _INPLACE_TICKS hands out its values: next() on it is atomic, so two threads never take one
# number (``+= 1`` on the dict item could lose one).
_state = {"inplace": 0, "anomaly": False}
_INPLACE_TICKS = itertools.count(1)


def is_grad_enabled() -> bool:
    """True when grad mode is on in the calling thread (ops record what backward needs,
    unless inference mode is on too)."""
    return _modes.grad


def _decorate(fn, make):
    """``fn`` run inside a fresh ``make()`` context; for a generator function, the context
    is entered around each resume of the generator and left at each yield, as torch does."""
    if not inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make():
                return fn(*args, **kwargs)

        return wrapper

    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make():
                value = gen.send(None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with make():
                        gen.close()
                    raise
                except BaseException:
                    with make():
                        value = gen.throw(*sys.exc_info())
                else:
                    with make():
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return generator


class _GradMode:
    """Context manager and decorator that sets this thread's grad mode and restores it on exit.

    As in torch, it decorates with or without the call (``@no_grad()`` and ``@no_grad``).
    """

    _mode: bool

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        m = _modes
        self._previous = m.grad
        _set_grad(self._mode, m)
        return self

    def __exit__(self, *exc):
        _set_grad(self._previous)
        return False

    def _clone(self):
        return type(self)()

    def __call__(self, fn):
        return _decorate(fn, self._clone)


class no_grad(_GradMode):  # noqa: N801 - torch's name
    """Run ops without recording the graph (inference, evaluation, optimizer updates).

    Only the calling thread stops recording, as in torch.
    """

    _mode = False


class enable_grad(_GradMode):  # noqa: N801 - torch's name
    """Record the graph again inside a ``no_grad`` block (in the calling thread).

    Inside ``inference_mode()`` grad mode turns on but ops still record nothing, as in torch.
    """

    _mode = True


class set_grad_enabled(_GradMode):  # noqa: N801 - torch's name
    """Set the calling thread's grad mode to ``mode``: at once when called, for a block when used
    as a context manager, or around each call when used as a decorator.

    Args:
        mode: True to record the graph, False not to.
    """

    def __new__(cls, mode: bool = True):
        return object.__new__(cls)

    def __init__(self, mode: bool = True):
        if not isinstance(mode, bool):  # torch's check: a bare @set_grad_enabled is a mistake
            raise TypeError(f"set_grad_enabled: mode must be a bool, not {type(mode).__name__}")
        self._mode = mode
        self._previous = _modes.grad
        _set_grad(self._mode)

    def __enter__(self):
        return self

    def _clone(self):
        return set_grad_enabled(self._mode)

    def __call__(self, fn):
        _set_grad(self._previous)  # as a decorator it sets nothing now
        return _decorate(fn, self._clone)


class inference_mode(_GradMode):  # noqa: N801 - torch's name
    """Run ops without recording the graph, as ``no_grad`` (torch's faster variant of it).

    As torch's: ``inference_mode()`` turns grad mode off and inference mode on, and
    ``inference_mode(False)`` turns grad mode on and inference mode off; leaving the block
    restores both. The modes are set when the block is entered (in the entering thread), not
    when the object is made. Inside, ``enable_grad()`` turns grad mode on but ops still
    record nothing. Also a decorator, with or without the call.

    Args:
        mode: True to enter inference mode, False to leave it for the block.
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return object.__new__(cls)
        return cls()(mode)  # bare @inference_mode on a function

    def __init__(self, mode: bool = True):
        self._inference = bool(mode)

    def __enter__(self):
        m = _modes
        self._previous = (m.grad, m.inference)
        m.grad = not self._inference
        m.inference = self._inference
        _sync(m)
        return self

    def __exit__(self, *exc):
        m = _modes
        m.grad, m.inference = self._previous
        _sync(m)
        return False

    def _clone(self):
        return inference_mode(self._inference)


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
