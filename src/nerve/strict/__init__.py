"""A strict stand-in for CuPy on the CPU: device-generic code tested without a GPU.

``nerve.strict`` is an array module shaped like ``cupy``: :class:`StrictArray` wraps a NumPy array
and answers the ndarray API (operators, indexing, methods, properties) with StrictArrays, and
NumPy's functions and ufuncs reach it through ``__array_function__`` / ``__array_ufunc__``, as
they reach CuPy. Where NumPy is lenient and CuPy is not, it refuses as CuPy does:

- an implicit conversion to NumPy (``np.asarray(a)``, ``np.array(a)``) raises TypeError; the
  copy to the host is explicit: :func:`asnumpy` or ``a.get()``;
- a host ``numpy.ndarray`` mixed with device arrays in a ufunc or a NumPy function raises
  TypeError (CuPy does not move host arrays onto the device behind the caller's back);
- reductions give 0-d arrays, not NumPy scalars (CuPy never leaves the device for a result);
- creation functions come from the module (``strict.zeros``); ``np.zeros`` makes a host array,
  which then fails the mixing rule above.

:func:`nerve.testing.strict_cuda` makes the "cuda" device exist, backed by this module, so the
whole test suite of an op can run "on the device" on a machine without one.

>>> import numpy as np
>>> a = asarray([1.0, 2.0])
>>> type(np.exp(a)).__name__
'StrictArray'
>>> np.asarray(a)  # doctest: +ELLIPSIS
Traceback (most recent call last):
TypeError: Implicit conversion to a NumPy array is not allowed...
"""

from __future__ import annotations

import numpy as _np

from nerve.strict.array import (
    HOST_READS,
    Device,
    StrictArray,
    _out,
    _raw,
    _wrap,
)
from nerve.strict.runtime import Generator, cuda, get_default_memory_pool, random

# ---------------------------------------------------------------- the module's functions
ndarray = StrictArray


def asnumpy(a, stream=None, order="C", out=None, blocking=True) -> _np.ndarray:
    """``a`` on the host: a copy for a StrictArray, ``np.asarray(a)`` for anything else
    (as ``cupy.asnumpy``)."""
    if type(a) is StrictArray:
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    """This module when any argument is a StrictArray, else NumPy (``cupy.get_array_module``)."""
    import sys

    if any(type(a) is StrictArray for a in args):
        return sys.modules[__name__]
    return _np


def _host_data(obj):
    """Data for the device from anywhere: StrictArrays (also inside lists), host arrays,
    lists, scalars; the host-to-device copy is explicit here, as in ``cupy.asarray``."""
    t = type(obj)
    if t is StrictArray:
        return obj._a
    if t is list or t is tuple:
        return [_host_data(v) for v in obj]
    return obj


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, blocking=False):
    """A new device array holding ``obj`` (host data is copied to the device)."""
    return _wrap(_np.array(_host_data(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))


def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` on the device, without a copy when it already is a device array of ``dtype``."""
    if type(a) is StrictArray and (dtype is None or a.dtype == _np.dtype(dtype)):
        return a
    return _wrap(_np.asarray(_host_data(a), dtype=dtype, order=order))


def ascontiguousarray(a, dtype=None):
    """``a`` on the device, C-contiguous."""
    return _wrap(_np.ascontiguousarray(_host_data(a), dtype=dtype))


asanyarray = asarray


def _creation(func):
    """A NumPy creation function (zeros, arange...) whose result lives on the device."""

    def make(*args, **kwargs):
        where = f"nerve.strict.{func.__name__}"
        return _out(func(*_raw(args, where), **_raw(kwargs, where)))

    make.__name__ = func.__name__
    make.__doc__ = f"``numpy.{func.__name__}`` on the strict device."
    return make


def _function(func, prefix: str = "numpy"):
    """A NumPy function taking device arrays (host arrays refused) and giving device arrays."""

    def call(*args, **kwargs):
        where = f"{prefix}.{func.__name__}"
        return _out(func(*_raw(args, where), **_raw(kwargs, where)))

    call.__name__ = func.__name__
    call.__doc__ = f"``{prefix}.{func.__name__}`` on the strict device."
    return call


class _Ufunc:
    """A NumPy ufunc called through the module (``xp.exp(x)``): device arrays in and out."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout, self.nargs = ufunc.nin, ufunc.nout, ufunc.nargs

    def _run(self, method: str, args, kwargs):
        where = f"nerve.strict.{self.__name__}"
        raw = _raw(args, where)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _raw(out if type(out) is tuple else (out,), where)
        result = getattr(self._ufunc, method)(*raw, **_raw(kwargs, where))
        if out is not None:
            return out
        return _out(result)

    def __call__(self, *args, **kwargs):
        return self._run("__call__", args, kwargs)

    def reduce(self, *args, **kwargs):
        return self._run("reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return self._run("accumulate", args, kwargs)

    def outer(self, *args, **kwargs):
        return self._run("outer", args, kwargs)

    def at(self, a, indices, b=None) -> None:
        # a StrictArray operand sends it through __array_ufunc__ (method "at")
        if b is None:
            self._ufunc.at(a, indices)
        else:
            self._ufunc.at(a, indices, b)

    def __repr__(self) -> str:
        return f"<strict ufunc {self.__name__!r}>"


_CREATION = {
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "eye",
    "identity",
    "linspace",
    "logspace",
    "tri",
    "indices",
}
# NumPy names whose value is used as is (dtypes, constants, dtype queries)
_PLAIN = {
    "dtype",
    "finfo",
    "iinfo",
    "newaxis",
    "pi",
    "e",
    "inf",
    "nan",
    "euler_gamma",
    "result_type",
    "promote_types",
    "can_cast",
    "issubdtype",
    "isscalar",
    "ndim",
    "shape",
    "size",
    "broadcast_shapes",
    "errstate",
    "float16",
}
_cache: dict = {}


def __getattr__(name: str):
    """The rest of NumPy's namespace, on the device: ``strict.exp``, ``strict.concatenate``..."""
    if name.startswith("__"):
        raise AttributeError(name)
    hit = _cache.get(name)
    if hit is not None:
        return hit
    try:
        value = getattr(_np, name)
    except AttributeError:
        raise AttributeError(f"module 'nerve.strict' has no attribute {name!r}") from None
    if isinstance(value, _np.ufunc):
        made = _Ufunc(value)
    elif name in _PLAIN or isinstance(value, type) or not callable(value):
        made = value
    elif name in _CREATION:
        made = _creation(value)
    else:
        made = _function(value)
    _cache[name] = made
    return made


class _Namespace:
    """A NumPy submodule (linalg, fft) whose functions take and give device arrays."""

    def __init__(self, module, prefix: str):
        self._module, self._prefix = module, prefix

    def __getattr__(self, name: str):
        value = getattr(self._module, name)
        if callable(value) and not isinstance(value, type):
            value = _function(value, self._prefix)
        setattr(self, name, value)
        return value


linalg = _Namespace(_np.linalg, "numpy.linalg")
fft = _Namespace(_np.fft, "numpy.fft")


class _StrideTricks:
    @staticmethod
    def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
        """``cupy.lib.stride_tricks.as_strided``: a view with the given shape and strides."""
        raw = _raw(x, "as_strided")
        view = _np.lib.stride_tricks.as_strided(raw, shape, strides, writeable=writeable)
        return _out(view)

    @staticmethod
    def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
        """``cupy.lib.stride_tricks.sliding_window_view``."""
        raw = _raw(x, "sliding_window_view")
        view = _np.lib.stride_tricks.sliding_window_view(
            raw, window_shape, axis, writeable=writeable
        )
        return _out(view)


class _Lib:
    stride_tricks = _StrideTricks()


lib = _Lib()
