"""Devices, as torch names them: ``nerve.device("cpu")``, ``"cuda:0"``, and where their data lives.

The CPU holds NumPy arrays. A CUDA device holds the arrays of a device backend: CuPy, found on
first ask when it is installed and sees a GPU, or the strict test backend (:mod:`nerve.strict`)
while :func:`nerve.testing.strict_cuda` is on. Without one, asking for "cuda" is a clear error and
``nerve.cuda.is_available()`` says False, so device-agnostic code
(``device = "cuda" if torch.cuda.is_available() else "cpu"``) takes the CPU path.

The array type of each backend is registered in ``backend.DEVICE_MODULES``; that is how an op
finds its array module from its inputs (:func:`nerve.backend.array_module_of`).

Ops that check device data (indices in range) queue the check (:func:`check_on_sync`) and it is
read with the next copy to the host, as CUDA's device-side asserts: a step waits once.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from nerve import backend

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
    ``Tensor.to`` and ``Module.to`` come through here. "cuda" without an index means the
    current CUDA device (``nerve.cuda.current_device()``), as in torch.

    Raises:
        RuntimeError: the device is not available on this machine.
    """
    d = _default if spec is None else spec if isinstance(spec, device) else device(spec)
    if d.type == "cpu":
        return d
    module = backend_module(d.type)
    if module is None:
        raise RuntimeError(unavailable_message(str(d)))
    if d.index is not None and d.index >= device_count(d.type):
        raise RuntimeError(
            f"device {str(d)!r} is not available: this machine has {device_count(d.type)} "
            f"{d.type} device(s), numbered from 0"
        )
    return d


def unavailable_message(what: str) -> str:
    """The one sentence nerve says when code asks for a device it does not have (with why
    CuPy could not give one, when it was looked for)."""
    why = f" ({_cupy_problem[0]})" if _cupy_problem[0] else ""
    return (
        f"device {what!r} is not available: nerve runs on the CPU here "
        f"(nerve.cuda.is_available() is False; a CUDA device needs a GPU and CuPy: "
        f"pip install nerve[cuda]){why}. Use device='cpu', or write device-agnostic "
        f"code: device = 'cuda' if nerve.cuda.is_available() else 'cpu'"
    )


# Why the last look for CuPy found no CUDA device (None: not looked, or found): the message
# must not say "pip install" to someone whose CuPy is installed but whose driver failed.
_cupy_problem: list = [None]


def array_module(spec=None):
    """The array module that holds data on device ``spec`` (NumPy for the CPU, CuPy for CUDA).

    Raises:
        RuntimeError: the device is not available.
    """
    d = as_device(spec)
    return np if d.type == "cpu" else _backends[d.type]


# ---------------------------------------------------------------- device backends
_backends: dict = {}  # device type ("cuda") -> its array module (cupy, nerve.strict)
_probed: set = set()  # device types whose real backend was looked for already


def use_backend(kind: str, module, array_type) -> None:
    """Back the device type ``kind`` ("cuda") by ``module`` (CuPy, or :mod:`nerve.strict` in
    tests), whose arrays are of ``array_type``. ``nerve.testing.strict_cuda`` calls it.

    Raises:
        ValueError: ``kind`` is "cpu" or not a device type.
    """
    if kind == "cpu" or kind not in _KNOWN_TYPES:
        raise ValueError(f"use_backend: cannot back device type {kind!r}")
    _backends[kind] = module
    backend.DEVICE_MODULES[array_type] = module


def drop_backend(kind: str, array_type) -> None:
    """Undo :func:`use_backend` (tensors made on it keep their arrays)."""
    _backends.pop(kind, None)
    backend.DEVICE_MODULES.pop(array_type, None)
    # the checks of a backend that went away can no longer be read (nor mean anything)
    with _pending_lock:
        _pending[:] = [c for c in _pending if type(c[0]) is not array_type]
        for owner in [o for o, c in _parked.items() if type(c[0]) is array_type]:
            del _parked[owner]


@contextlib.contextmanager
def hidden_backend(kind: str = "cuda"):
    """Inside the block, device type ``kind`` has no backend, as on a machine without a GPU;
    the real one (CuPy), when loaded, comes back afterwards. Tests of what nerve says without
    a device use it, so they hold on GPU machines too.

    >>> import nerve
    >>> with hidden_backend("cuda"):
    ...     nerve.cuda.is_available()
    False
    """
    check_pending()  # its flags could not be read inside the block
    module = backend_module(kind)  # looked for now, so that nothing looks for it inside
    types = [t for t, m in backend.DEVICE_MODULES.items() if m is module]
    problem = _cupy_problem[0]
    if module is not None:
        for t in types:
            drop_backend(kind, t)
    _cupy_problem[0] = None
    try:
        yield
    finally:
        _cupy_problem[0] = problem
        if module is not None:
            for t in types:
                use_backend(kind, module, t)


def backend_module(kind: str = "cuda"):
    """The array module behind device type ``kind``, or None when this machine has none.

    The first ask for "cuda" imports CuPy (when installed) and keeps it when it sees a GPU.
    """
    module = _backends.get(kind)
    if module is None and kind == "cuda" and kind not in _probed:
        _probed.add(kind)
        module = _load_cupy()
    return module


def _load_cupy():
    try:
        import cupy
    except ImportError as exc:
        _cupy_problem[0] = None if exc.name == "cupy" else f"import cupy failed: {exc}"
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            _cupy_problem[0] = "CuPy is installed but sees no GPU"
            return None
    except Exception as exc:  # no driver, no device: CuPy raises errors of its own
        _cupy_problem[0] = f"CuPy is installed but found no usable GPU: {exc}"
        return None
    _cupy_problem[0] = None
    from nerve.cuda import install_peak_hook  # same level; it imports this module

    use_backend("cuda", cupy, cupy.ndarray)
    install_peak_hook(cupy)
    return cupy


def device_count(kind: str = "cuda") -> int:
    """How many devices of type ``kind`` this machine has (0 without a backend)."""
    if kind == "cpu":
        return 1
    module = backend_module(kind)
    return 0 if module is None else int(module.cuda.runtime.getDeviceCount())


def device_of(array) -> device:
    """The device holding ``array`` (a NumPy array: the CPU)."""
    if type(array) is np.ndarray or backend.DEVICE_MODULES.get(type(array)) is None:
        return CPU
    return device("cuda", int(array.device.id))


def to_device(array, dest: device, non_blocking: bool = False):
    """``array`` on device ``dest`` (a device from :func:`as_device`): itself when it is there
    already, else a copy made there. A copy to the host always waits for the data; a copy to
    a CUDA device may be asynchronous where CuPy makes it so (pinned host memory).
    """
    src = device_of(array)
    if dest.type == "cpu":
        if src.type == "cpu":
            return array
        return host_copy(array)
    index = dest.index if dest.index is not None else _current_index(dest.type)
    if src.type == dest.type and src.index == index:
        return array
    module = _backends[dest.type]
    with module.cuda.Device(index):
        if src.type == "cpu":
            out = module.asarray(array, blocking=not non_blocking)
            if non_blocking and hasattr(module.cuda, "Event"):
                _keep_until_copied(module, array)
            return out
        return module.array(array, copy=True)  # device to device


def to_host(value):
    """A Tensor's or an array's values as a NumPy array: a device array is copied to the host
    (explicitly, as CuPy asks); host data is ``np.asarray`` of it (a Tensor shares memory)."""
    data = getattr(value, "_data", value)  # a Tensor's array
    if backend.DEVICE_MODULES.get(type(data)) is None:
        return np.asarray(data)
    return host_copy(data)


# Host arrays of asynchronous host-to-device copies, with an event recorded after each copy:
# a source must outlive its copy (CuPy leaves that to the caller), so it is kept until then.
_in_flight: list = []


def _keep_until_copied(module, host) -> None:
    event = module.cuda.Event()
    event.record()
    _in_flight[:] = [(e, a) for e, a in _in_flight if not e.done]
    _in_flight.append((event, host))


def pinned(array):
    """``array`` (a host NumPy array) copied into page-locked host memory, from which a copy to
    the GPU can run asynchronously (``Tensor.to("cuda", non_blocking=True)``); ``array`` itself
    when no CUDA backend with pinned memory (CuPy) is loaded."""
    module = _backends.get("cuda")
    if type(array) is not np.ndarray or module is None or module.__name__ != "cupy":
        return array
    import cupyx

    out = cupyx.empty_pinned(array.shape, array.dtype)
    out[...] = array
    return out


def _current_index(kind: str) -> int:
    module = _backends[kind]
    return int(module.cuda.Device().id)


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


# ---------------------------------------------------------------- deferred device checks
# An op that checks its input against values held on a device (an index in range, a class
# target below C) would make the host wait for the device on every call if it read the answer at
# once. As CUDA's device-side asserts in torch, it queues the device-side flag instead, and the
# flags are read together, in the same copy as the data, where the host waits anyway: a copy to
# the host (item, tolist, cpu, numpy(force=True), to_host, printing) and nerve.cuda.synchronize().
# Values computed between a bad op and that point may be garbage, as in torch; the error names
# the op. On the CPU the ops check at once and never come here.
# A read takes every thread's flags (one copy), but a failure is raised only in the thread that
# queued it: one found by another thread's read is parked for its owner (see check_on_sync).
_pending: list = []  # (bad: a 0-d bool device array, raise_error, values, owner Thread)
_parked: dict = {}  # owner Thread -> its first failed check, found by another thread's read
_pending_lock = threading.Lock()  # ops on several threads (the recurrent and data threads)
_MAX_PENDING = 256  # a loop that never syncs still reads its flags once per this many checks
_JOIN_BYTES = 64 * 1024  # arrays up to this size are copied in one buffer with the flags


def check_on_sync(bad, raise_error, *values) -> None:
    """Queue a check of data on a device, to be read at the next synchronization point.

    The queue holds ``bad`` and ``values`` until then (up to ``_MAX_PENDING`` checks): pass 0-d
    arrays only (a reduction such as ``bad_mask.any()``, the offending value), never an input.

    A failed check is raised in the thread that queued it, once: the flags of all threads are
    read together, and a failure that another thread's read finds is kept for its owner, which
    raises it at its own next synchronization. (Torch's device-side asserts are sticky for the
    whole process instead; per owner, an unrelated thread, a logger say, is not handed an
    error it cannot act on, and the thread whose op was bad never goes on with garbage.)

    Args:
        bad: a 0-d boolean array on the device, True when the op was given bad input.
        raise_error: called with host (NumPy) copies of ``values`` when ``bad`` is read True;
            it raises the op's error, the same one the op raises at once on the CPU.
        *values: 0-d device arrays the error message needs (the offending min, max).
    """
    if type(bad) not in backend.DEVICE_MODULES:  # host values: nothing to wait for
        if bad:
            raise_error(*values)
        return
    with _pending_lock:
        _pending.append((bad, raise_error, values, threading.current_thread()))
        full = len(_pending) >= _MAX_PENDING
    if full:
        check_pending()


def check_pending() -> None:
    """Read the flags of the queued device checks (one copy per device) and raise the error of
    this thread's first failing one; the checks read leave the queue.

    Raises:
        Exception: the error of this thread's first queued op whose device-side check failed
            (found now, or earlier by another thread's read).
    """
    if _pending or _parked:
        _read_checked(None)


def host_copy(array) -> np.ndarray:
    """A device array copied to the host (NumPy), the queued checks' flags read with it.

    An array up to 64 KiB and the flags go in one copy: one wait for the device, as the copy
    alone. A bigger one is copied after the flags are read (two reads), rather than joined with
    them in a temporary device copy of the whole array.

    Raises:
        Exception: a device check this thread queued failed (the error of the op that queued it).
    """
    if not _pending and not _parked:
        return backend.DEVICE_MODULES[type(array)].asnumpy(array)
    return _read_checked(array)


def _read_checked(array):
    me = threading.current_thread()
    with _pending_lock:
        parked = _parked.pop(me, None)
        checks = _pending[:]
    if parked is not None:
        _raise_deferred(parked)
    by_device: dict = {}
    for check in checks:
        by_device.setdefault((type(check[0]), device_of(check[0]).index), []).append(check)
    host = None
    read = []  # (checks, their flags on the host)
    if array is not None:
        key = (type(array), device_of(array).index)
        if key in by_device and array.nbytes <= _JOIN_BYTES:
            group = by_device.pop(key)
            host, flags = _read_with(array, group)
            read.append((group, flags))
    for group in by_device.values():
        read.append((group, _read_with(None, group)[1]))
    # the checks leave the queue only now that their flags were read (a failed read keeps them);
    # one that a concurrent read already took out is that read's to report
    position = {id(c): k for k, c in enumerate(checks)}
    flagged = sorted(
        (c for group, flags in read for c, flag in zip(group, flags) if flag),
        key=lambda c: position[id(c)],
    )  # in queue order: each thread's first failure is the one reported
    failed = None
    with _pending_lock:
        queued = {id(c) for c in _pending}
        _pending[:] = [c for c in _pending if id(c) not in position]
        for check in flagged:
            if id(check) not in queued:
                continue
            if check[3] is me:
                failed = check if failed is None else failed
            else:
                _park(check)
    if failed is not None:
        _raise_deferred(failed)
    if array is not None and host is None:
        host = backend.DEVICE_MODULES[type(array)].asnumpy(array)
    return host


def _park(check) -> None:
    """Keep ``check`` (failed) for its owner thread, which raises it at its next sync; only the
    first failure per thread is kept, as a thread's own read reports only its first. Call with
    _pending_lock held."""
    for owner in [o for o in _parked if not o.is_alive()]:
        del _parked[owner]  # a thread that ended can no longer raise anything
    if check[3].is_alive():
        _parked.setdefault(check[3], check)


def _read_with(array, checks: list):
    """(host copy of ``array`` or None, host flags of ``checks``), all on one device, in one
    copy."""
    module = backend.DEVICE_MODULES[type(checks[0][0])]
    flags = module.stack([c[0].reshape(()) for c in checks]).astype(np.uint8)
    if array is None:
        return None, module.asnumpy(flags)
    # the data's bytes and the flags in one buffer: one copy, then split on the host
    raw = module.ascontiguousarray(array).reshape(-1).view(np.uint8)
    both = module.asnumpy(module.concatenate([raw, flags]))
    return both[: raw.size].view(array.dtype).reshape(array.shape), both[raw.size :]


def _raise_deferred(check) -> None:
    bad, raise_error, values, _ = check
    module = backend.DEVICE_MODULES.get(type(bad))
    try:
        raise_error(*(module.asnumpy(v) if module is not None else v for v in values))
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(
                "(checked on the device and reported at the next synchronization, as CUDA "
                "reports device-side errors: the traceback shows where the host waited, not "
                "the op; values computed after the op are not valid)"
            )
        raise
    raise RuntimeError(f"a device-side check failed ({raise_error!r} raised nothing)")
