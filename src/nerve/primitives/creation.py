"""Making tensors: from data, filled, ranges, identity, and random (through backend's generator).

Every function takes torch's keywords: ``dtype=`` (float ones default to
:func:`nerve.get_default_dtype`, float32 unless changed), ``device=`` (checked by
:func:`nerve.device.as_device`, the one place that decides which devices exist; None means the
default device, and for the ``*_like`` functions the device of their tensor, as in torch) and
``requires_grad=``. Arrays are made by the device's own array module (CuPy on "cuda"), not
copied there. The random ones also take ``generator=`` (a ``numpy.random.Generator`` or a
``nerve.Generator``, whose host draws are copied to the device); by default they draw from
nerve's generator for the device (:func:`nerve.backend.rng_for`), seeded by
:func:`nerve.manual_seed`.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.conversion import as_dtype
from nerve.autograd.tensor import Tensor, _to_array
from nerve.device import array_module, as_device, device_of, to_device
from nerve.primitives.common import is_array

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "empty_like",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"sizes must be ints, got {size!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"sizes must be non-negative, got {shape}")
    return shape


def _dtype(dtype, what: str):
    return None if dtype is None else as_dtype(dtype, what)


def _float(dtype, what: str = "creation") -> np.dtype:
    return np.dtype(backend.DEFAULT_FLOAT) if dtype is None else as_dtype(dtype, what)


_OPTIONS = ("layout", "pin_memory", "memory_format")


def _options(what: str, options: dict) -> None:
    """torch's layout keywords: accepted with their CPU meaning, anything else refused."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"{what}() got unexpected keyword arguments {unknown}")
    if options.get("pin_memory"):
        raise RuntimeError(f"{what}(pin_memory=True) needs a CUDA device; nerve runs on the CPU")


def _made(arr, requires_grad: bool, device=None) -> Tensor:
    """A tensor of ``arr`` on ``device`` (the default device when None); ``arr`` made there
    already (by :func:`_module`'s array module) is taken as is, else copied there."""
    d = as_device(device)
    if d.type != "cpu" or type(arr) is not np.ndarray:
        arr = to_device(arr, d)
    t = Tensor._wrap(arr)
    return t.requires_grad_(True) if requires_grad else t


def _module(device):
    """The array module that makes arrays for ``device`` (the default device when None)."""
    d = as_device(device)
    return np if d.type == "cpu" else array_module(d)


def _rng(generator, what: str, xp=np):
    """The generator to draw from: ``generator`` when given (its draws are made on the host
    and copied to the device), else nerve's generator for the array module ``xp``."""
    if generator is None:
        return backend.rng_for(xp)
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, backend.Generator):
        return generator.rng
    raise TypeError(
        f"{what}: generator must be a nerve.Generator, a numpy.random.Generator or None, got "
        f"{type(generator).__name__}"
    )


def _data_device(data):
    """torch's ``device=None``: a Tensor's own device, a device array's (CuPy's) device; None
    (the default device) for anything else, host NumPy arrays included."""
    if isinstance(data, Tensor):
        return device_of(data._data)
    return device_of(data) if is_array(data) and type(data) is not np.ndarray else None


def _like_device(t, device):
    """torch's ``*_like`` default: the device of ``t`` unless ``device`` says."""
    if device is not None:
        return device
    return device_of(t._data) if isinstance(t, Tensor) else "cpu"


def _like_array(t) -> np.ndarray:
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def tensor(
    data, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A new Tensor holding a copy of ``data``; float data becomes the default float dtype
    (float32) unless ``dtype`` says otherwise; ints stay int64 and bools bool.

    Raises:
        RuntimeError: ``device`` is not available.
        TypeError: ``requires_grad`` on a non-float dtype, or data nerve cannot hold.

    >>> tensor([[1, 2], [3, 4]]).dtype
    dtype('int64')
    >>> tensor([0.5]).dtype
    dtype('float32')
    """
    d = as_device(_data_device(data) if device is None else device)
    t = Tensor(data, dtype=_dtype(dtype, "tensor"))
    if d.type != "cpu" or type(t._data) is not np.ndarray:
        t._data = to_device(t._data, d)
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor, sharing memory when it already is an array of the right dtype on
    ``device`` (a Tensor's own device when None; else the default device), as torch."""
    d = as_device(_data_device(data) if device is None else device)
    dtype = _dtype(dtype, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        if device_of(data._data) == d:
            return data
        return Tensor._wrap(to_device(data._data, d))
    if isinstance(data, Tensor):
        data = data._data
    if not is_array(data):
        data = _to_array(data, dtype)
    elif dtype is not None and data.dtype != dtype:
        data = data.astype(dtype)
    if d.type != "cpu" or type(data) is not np.ndarray:
        data = to_device(data, d)
    return Tensor._wrap(data)


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor sharing ``array``'s memory and keeping its dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """A tensor of zeros of shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``)."""
    _options("zeros", options)
    xp = _module(device)
    return _made(xp.zeros(_shape(size), dtype=_float(dtype, "zeros")), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """A tensor of ones of shape ``size``."""
    _options("ones", options)
    xp = _module(device)
    return _made(xp.ones(_shape(size), dtype=_float(dtype, "ones")), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """An uninitialized tensor of shape ``size``."""
    _options("empty", options)
    xp = _module(device)
    return _made(xp.empty(_shape(size), dtype=_float(dtype, "empty")), requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``; its dtype follows the value as in
    torch (bool, int64, or the default float) unless ``dtype`` says."""
    dtype = _dtype(dtype, "full")
    if dtype is None:
        value = fill_value._data if isinstance(fill_value, Tensor) else fill_value
        kind = value.dtype.kind if hasattr(value, "dtype") else np.asarray(value).dtype.kind
        dtype = {"b": np.dtype(np.bool_), "i": np.dtype(np.int64), "u": np.dtype(np.int64)}.get(
            kind, np.dtype(backend.DEFAULT_FLOAT)
        )
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    xp = _module(device)
    return _made(xp.full(_shape((size,)), fill_value, dtype=dtype), requires_grad, device)


def _like(t, make: str, dtype, device, requires_grad: bool, what: str) -> Tensor:
    a = _like_array(t)
    dt = a.dtype if dtype is None else as_dtype(dtype, what)
    device = _like_device(t, device)
    return _made(getattr(_module(device), make)(a.shape, dtype=dt), requires_grad, device)


def zeros_like(t, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """Zeros with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("zeros_like", options)
    return _like(t, "zeros", dtype, device, requires_grad, "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """Ones with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("ones_like", options)
    return _like(t, "ones", dtype, device, requires_grad, "ones_like")


def empty_like(t, dtype=None, device=None, requires_grad: bool = False, **options) -> Tensor:
    """An uninitialized tensor with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("empty_like", options)
    return _like(t, "empty", dtype, device, requires_grad, "empty_like")


def full_like(
    t, fill_value, dtype=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """``fill_value`` with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("full_like", options)
    a = _like_array(t)
    dt = a.dtype if dtype is None else as_dtype(dtype, "full_like")
    device = _like_device(t, device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _made(_module(device).full(a.shape, fill_value, dtype=dt), requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values in [start, end) by step; int64 for integer arguments, the default float otherwise.

    Raises:
        ValueError: ``step`` is zero.
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dtype = _dtype(dtype, "arange")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.dtype(np.int64) if ints else np.dtype(backend.DEFAULT_FLOAT)
    return _made(_module(device).arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(
    start, end, steps: int, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    arr = _module(device).linspace(start, end, int(steps), dtype=_float(dtype, "linspace"))
    return _made(arr, requires_grad, device)


def eye(
    n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    """The identity matrix of shape (n, m or n)."""
    return _made(_module(device).eye(n, m, dtype=_float(dtype, "eye")), requires_grad, device)


def _random_float(dtype, what: str) -> np.dtype:
    dt = _float(dtype, what)
    if dt.kind != "f":
        raise TypeError(f"{what} makes floating-point tensors, got dtype {dt}")
    return dt


def rand(
    *size, generator=None, dtype=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """Uniform samples on [0, 1) from nerve's generator (see manual_seed)."""
    _options("rand", options)
    dt = _random_float(dtype, "rand")
    arr = _rng(generator, "rand", _module(device)).random(_shape(size), dtype=np.float64)
    arr = arr.astype(dt)
    return _made(arr, requires_grad, device)


def randn(
    *size, generator=None, dtype=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """Standard normal samples from nerve's generator (see manual_seed)."""
    _options("randn", options)
    dt = _random_float(dtype, "randn")
    arr = _rng(generator, "randn", _module(device)).standard_normal(
        _shape(size), dtype=dt if dt in (np.float32, np.float64) else np.float64
    )
    return _made(arr.astype(dt, copy=False), requires_grad, device)


def randint(
    *args,
    size=None,
    low=None,
    high=None,
    generator=None,
    dtype=None,
    device=None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in [low, high), int64 by default: ``randint(high, size)`` or
    ``randint(low, high, size)``, as torch.

    Raises:
        ValueError: ``high`` is not greater than ``low``.
        TypeError: the arguments do not match either form.
    """
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        else:
            low = args[0]
    elif args:
        raise TypeError(f"randint expects (high, size) or (low, high, size), got {args!r}")
    if size is None:
        size = ()  # nerve's older form: randint(low, high) gives one number
    low = 0 if low is None else low
    if high is None:
        raise TypeError("randint: high is missing")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    dt = np.dtype(np.int64) if dtype is None else as_dtype(dtype, "randint")
    draw = _rng(generator, "randint", _module(device)).integers(
        low, high, size=_shape((size,)), dtype=np.int64
    )
    return _made(draw.astype(dt, copy=False), requires_grad, device)


def randperm(
    n: int, generator=None, dtype=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """A random permutation of 0..n-1 (int64 unless ``dtype`` says)."""
    _options("randperm", options)
    dt = np.dtype(np.int64) if dtype is None else as_dtype(dtype, "randperm")
    g = _rng(generator, "randperm", _module(device))
    if hasattr(g, "permutation"):
        perm = g.permutation(int(n))
    else:  # a device generator (CuPy's) has none: the order of uniform keys is a permutation
        perm = g.random(int(n)).argsort()
    perm = perm.astype(dt, copy=False)
    return _made(perm, requires_grad, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Samples from N(mean, std**2), torch's overloads: ``normal(mean_tensor, std_tensor)``,
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``, and
    ``normal(mean, std, size)`` for Python numbers. The samples carry no gradient.

    Raises:
        ValueError: a std is negative.
    """
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if device is None and tensors:
        device = device_of(tensors[0]._data)  # torch: the samples live with mean and std
    xp = _module(device)
    m = _like_array(mean) if isinstance(mean, Tensor) else xp.asarray(mean)
    s = _like_array(std) if isinstance(std, Tensor) else xp.asarray(std)
    if np.any(s < 0):
        raise ValueError("normal expects all elements of std >= 0.0")
    if size is not None:
        shape = _shape((size,))
    else:
        shape = np.broadcast_shapes(m.shape, s.shape)
    dt = as_dtype(dtype, "normal") if dtype is not None else (
        np.result_type(*(t.dtype for t in tensors)) if tensors else np.dtype(backend.DEFAULT_FLOAT)
    )  # fmt: skip
    draw = _rng(generator, "normal", xp).standard_normal(shape)
    if type(draw) is not type(m):
        draw = xp.asarray(draw)  # a given generator draws on the host
    return _made((m + s * draw).astype(dt, copy=False), requires_grad, device)


def _random_like(t, make, dtype, generator, device, requires_grad, what) -> Tensor:
    a = _like_array(t)
    dt = a.dtype if dtype is None else as_dtype(dtype, what)
    if dt.kind != "f":
        raise TypeError(f"{what}: needs a floating-point dtype, got {dt} (pass dtype=)")
    device = _like_device(t, device)
    return make(a.shape, generator=generator, dtype=dt, device=device, requires_grad=requires_grad)


def rand_like(
    t, dtype=None, generator=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """Uniform samples on [0, 1) with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("rand_like", options)
    return _random_like(t, rand, dtype, generator, device, requires_grad, "rand_like")


def randn_like(
    t, dtype=None, generator=None, device=None, requires_grad: bool = False, **options
) -> Tensor:
    """Standard normal samples with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("randn_like", options)
    return _random_like(t, randn, dtype, generator, device, requires_grad, "randn_like")


def randint_like(
    t, low=0, high=None, dtype=None, generator=None, device=None, requires_grad=False, **options
) -> Tensor:
    """Integers in [low, high) with ``t``'s shape and (unless ``dtype`` says) dtype."""
    _options("randint_like", options)
    if high is None:
        low, high = 0, low
    a = _like_array(t)
    device = _like_device(t, device)
    return randint(
        low, high, a.shape, generator=generator, device=device, requires_grad=requires_grad,
        dtype=a.dtype if dtype is None else dtype,
    )  # fmt: skip
