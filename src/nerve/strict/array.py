"""StrictArray: a NumPy array that behaves as a CuPy array does (see :mod:`nerve.strict`)."""

from __future__ import annotations

import numbers
import weakref

import numpy as _np

_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. "
    "Please use `.get()` to construct a NumPy array explicitly."
)

# The wrapper of each NumPy array that is the root (the owner) of wrapped memory: views keep
# their root's wrapper alive through ``_base``, so ``a.base`` is one object, as in CuPy.
_roots: dict[int, weakref.ref] = {}


def _forget_root(key: int):
    def callback(ref):
        if _roots.get(key) is ref:
            del _roots[key]

    return callback


def _root_wrapper(root: _np.ndarray) -> StrictArray:
    ref = _roots.get(id(root))
    w = ref() if ref is not None else None
    if w is None or w._a is not root:
        w = object.__new__(StrictArray)
        w._a = root
        w._base = None
        _roots[id(root)] = weakref.ref(w, _forget_root(id(root)))
    return w


def _wrap(a: _np.ndarray) -> StrictArray:
    """A StrictArray around ``a`` (no copy); a view keeps the wrapper of the memory's owner."""
    w = object.__new__(StrictArray)
    w._a = a
    base = a.base
    if isinstance(base, _np.ndarray):
        while isinstance(base.base, _np.ndarray):
            base = base.base
        w._base = _root_wrapper(base)
    else:
        w._base = None
        _roots[id(a)] = weakref.ref(w, _forget_root(id(a)))
    return w


def _out(x):
    """A NumPy result as the device would give it: arrays and NumPy scalars as StrictArrays."""
    t = type(x)
    if t is _np.ndarray:
        return _wrap(x)
    if isinstance(x, _np.generic):
        return _wrap(_np.asarray(x))
    if t is tuple or t is list:
        return t(_out(v) for v in x)
    if isinstance(x, tuple) and hasattr(t, "_fields"):  # QRResult, SVDResult, SlogdetResult...
        return t(*(_out(v) for v in x))
    return x


# Keywords NumPy takes and CuPy does not (CuPy's ufuncs: out, dtype, casting; its reductions
# (sum, max, min, prod, mean...): axis, dtype, out, keepdims): code that passes them works on
# the CPU and fails on the GPU, so the stand-in refuses them too.
_NOT_IN_CUPY_UFUNCS = ("where", "initial")
_NOT_IN_CUPY_REDUCTIONS = ("where", "initial")
_REDUCTIONS = frozenset(
    [
        "sum",
        "prod",
        "max",
        "min",
        "amax",
        "amin",
        "mean",
        "std",
        "var",
        "all",
        "any",
        "nansum",
        "nanprod",
        "nanmax",
        "nanmin",
        "nanmean",
    ]
)


# How many times device values were read on the host (item, float, bool, int, index, tolist,
# get/asnumpy): each one waits for the GPU on CuPy. Tests read it to count a step's syncs.
HOST_READS = [0]


def _host_error(where: str) -> TypeError:
    return TypeError(
        f"{where}: a host numpy.ndarray cannot be mixed with device arrays (nerve.strict, as "
        "CuPy); make it on the device with the array module of the inputs (xp.asarray, "
        "xp.zeros...) instead of NumPy"
    )


def _raw(x, where: str):
    """``x`` with StrictArrays unwrapped (inside lists, tuples and dicts too); a host ndarray
    is refused (see the module docstring)."""
    t = type(x)
    if t is StrictArray:
        return x._a
    if t is _np.ndarray:
        raise _host_error(where)
    if t is tuple or t is list:
        return t(_raw(v, where) for v in x)
    if t is dict:
        return {k: _raw(v, where) for k, v in x.items()}
    return x


def _raw_index(index):
    """An index for ``a[index]``: device index arrays unwrapped; host ones (lists, ndarrays)
    are accepted, as CuPy copies them to the device."""
    t = type(index)
    if t is StrictArray:
        return index._a
    if t is tuple:
        return tuple(_raw_index(i) for i in index)
    return index


def _wrapped(index, shape: tuple):
    """``index`` (raw) with its integer arrays wrapped into their axes' ranges: CuPy's rule for
    out-of-bounds integer array indices (it wraps them around where NumPy raises IndexError;
    a device kernel cannot raise). Python ints out of range still raise, as in CuPy."""
    items = index if type(index) is tuple else (index,)
    used = 0
    for i in items:
        if i is None or i is Ellipsis:
            continue
        used += i.ndim if isinstance(i, _np.ndarray) and i.dtype == bool else 1
    out, axis = [], 0
    for i in items:
        if i is Ellipsis:
            axis += len(shape) - used
        elif isinstance(i, _np.ndarray) and i.dtype == bool:
            axis += i.ndim
        elif i is not None:
            if isinstance(i, (_np.ndarray, list)) and axis < len(shape) and shape[axis]:
                a = _np.asarray(i)
                i = _np.mod(a, shape[axis]) if a.dtype.kind in "iu" else i
            axis += 1
        out.append(i)
    return tuple(out) if type(index) is tuple else out[0]


def _wrap_axis(indices, arr: _np.ndarray, axis):
    """Integer ``indices`` along ``axis`` of ``arr`` (None: the flat array), wrapped (CuPy)."""
    n = arr.size if axis is None else arr.shape[axis]
    return _np.mod(indices, n) if n else indices


# NumPy functions taking integer indices into an axis: CuPy wraps where NumPy raises IndexError.
_WRAPPING = {
    "take": lambda args, kw: (args, {**kw, "mode": "wrap"}),
    "take_along_axis": lambda args, kw: (
        (args[0], _wrap_axis(args[1], args[0], _axis(args, kw, 2)), *args[2:]),
        kw,
    ),
    "put_along_axis": lambda args, kw: (
        (args[0], _wrap_axis(args[1], args[0], _axis(args, kw, 3)), *args[2:]),
        kw,
    ),
}


def _axis(args, kwargs, position: int):
    return args[position] if len(args) > position else kwargs.get("axis", -1)


# ndarray methods CuPy's ndarray has; each takes and gives device arrays.
# fmt: off
_METHODS = (
    "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "choose", "clip",
    "compress", "conj", "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "fill",
    "flatten", "max", "mean", "min", "nonzero", "partition", "prod", "put", "ravel", "repeat",
    "reshape", "round", "searchsorted", "sort", "squeeze", "std", "sum", "swapaxes", "trace",
    "transpose", "var", "view",
)
# fmt: on


# CuPy reads a 0-d host array as a number in these (its workaround for numpy/numpy#12142)
_COMPARISONS = frozenset({"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"})


class StrictArray:
    """A NumPy array that behaves as a CuPy array does (see the module docstring).

    Operators, indexing, methods and NumPy functions give StrictArrays; ``get()`` (or
    :func:`asnumpy`) copies to the host; ``np.asarray(a)`` raises TypeError.
    """

    __slots__ = ("_a", "_base", "__weakref__")
    # CuPy's own priority: a Tensor (1000) wins the reflected operators, as with CuPy
    __array_priority__ = 100

    def __init__(self, *args, **kwargs):
        raise TypeError("make a StrictArray with nerve.strict.asarray / zeros / empty ...")

    # ------------------------------------------------------------ leaving the device
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True) -> _np.ndarray:
        """A host copy (NumPy), as ``cupy.ndarray.get``."""
        HOST_READS[0] += 1
        if out is not None:
            out[...] = self._a
            return out
        return _np.array(self._a, order=order, copy=True)

    def item(self, *args):
        HOST_READS[0] += 1
        return self._a.item(*args)

    def tolist(self):
        HOST_READS[0] += 1
        return self._a.tolist()

    def tobytes(self, order="C") -> bytes:
        return self._a.tobytes(order)

    def __float__(self):
        HOST_READS[0] += 1
        return float(self._a)

    def __int__(self):
        HOST_READS[0] += 1
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        HOST_READS[0] += 1
        return bool(self._a)

    def __index__(self):
        HOST_READS[0] += 1
        return self._a.__index__()

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __format__(self, spec: str) -> str:
        return format(self._a, spec) if self._a.ndim == 0 else str(self)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    @property
    def strides(self) -> tuple:
        return self._a.strides

    @property
    def flags(self):
        return self._a.flags

    @property
    def base(self):
        return self._base

    @property
    def T(self) -> StrictArray:  # noqa: N802 - NumPy's name
        return _wrap(self._a.T)

    @property
    def mT(self) -> StrictArray:  # noqa: N802 - NumPy's name
        return _wrap(self._a.mT)

    @property
    def real(self) -> StrictArray:
        return _wrap(self._a.real)

    @property
    def imag(self) -> StrictArray:
        return _wrap(self._a.imag)

    @property
    def data(self) -> _Pointer:
        """The memory, as CuPy's ``MemoryPointer`` (its address is ``.ptr``)."""
        return _Pointer(self._a.__array_interface__["data"][0])

    @property
    def device(self) -> Device:
        return Device(0)

    # ------------------------------------------------------------ NumPy's protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        args = []
        for k, x in enumerate(inputs):
            t = type(x)
            if t is StrictArray:
                args.append(x._a)
            elif method == "at" and k == 1:  # the index of ufunc.at(a, index, b)
                args.append(_raw_index(x))
            elif t is _np.ndarray:
                if x.ndim == 0 and ufunc.__name__ in _COMPARISONS:
                    args.append(x.item())  # CuPy takes a 0-d host array as a number here
                    continue
                raise _host_error(where)
            elif isinstance(x, (numbers.Number, _np.generic)) or x is None:
                args.append(x)
            else:
                return NotImplemented  # a Tensor, a list...: not an operand CuPy takes
        for keyword in _NOT_IN_CUPY_UFUNCS:
            if keyword in kwargs:
                raise TypeError(f"{where}: CuPy's ufuncs take no {keyword}= (nerve.strict)")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_raw(o, where) for o in out)
        try:
            result = getattr(ufunc, method)(*args, **kwargs)
        except IndexError:
            if method != "at":
                raise
            args[1] = _wrapped(args[1], args[0].shape)  # CuPy's scatter wraps around
            result = ufunc.at(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else tuple(out)
        return _out(result)

    def __array_function__(self, func, types, args, kwargs):
        if any(not issubclass(t, (StrictArray, _np.ndarray)) for t in types):
            return NotImplemented  # let a Tensor unwrap itself first
        where = f"numpy.{func.__name__}"
        for keyword in _NOT_IN_CUPY_REDUCTIONS if func.__name__ in _REDUCTIONS else ():
            if keyword in kwargs:
                raise TypeError(f"{where}: CuPy's version takes no {keyword}= (nerve.strict)")
        args, kwargs = _raw(args, where), _raw(kwargs, where)
        try:
            return _out(func(*args, **kwargs))
        except IndexError:
            retry = _WRAPPING.get(func.__name__)
            if retry is None:
                raise
            args, kwargs = retry(args, kwargs)
            return _out(func(*args, **kwargs))

    # ------------------------------------------------------------ containers
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_wrap(self._a[i]) for i in range(self._a.shape[0]))

    def __getitem__(self, index):
        index = _raw_index(index)
        try:
            return _out(self._a[index])
        except IndexError:
            return _out(self._a[_wrapped(index, self._a.shape)])  # CuPy wraps around

    def __setitem__(self, index, value):
        # CuPy's rules: device arrays and numbers go anywhere; a host array only through the
        # empty slice ``a[:] = host`` with the same shape and dtype (a copy to the device), or
        # as a 0-d value; anything else is its "non-scalar numpy.ndarray cannot be used for fill"
        t = type(value)
        if t is StrictArray:
            value = value._a
        elif t is _np.ndarray and value.ndim:
            whole = type(index) is slice and index == slice(None)
            if not (whole and value.shape == self._a.shape and value.dtype == self._a.dtype):
                raise ValueError(
                    "non-scalar numpy.ndarray cannot be used for fill (nerve.strict, as CuPy: a "
                    "host array goes into a device array only as a[:] = host with the same "
                    f"shape and dtype; got index {index!r}, value {value.dtype} {value.shape} "
                    f"for a {self._a.dtype} {self._a.shape} array): copy it to the device first"
                )
        elif t is not _np.ndarray and not isinstance(value, (numbers.Number, _np.generic)):
            raise TypeError(f"cannot assign a {t.__name__} into a device array")
        index = _raw_index(index)
        try:
            self._a[index] = value
        except IndexError:
            self._a[_wrapped(index, self._a.shape)] = value  # CuPy wraps around

    def take(self, indices, axis=None, out=None):
        """``ndarray.take``; out-of-bounds indices wrap around, as on CuPy."""
        raw = _raw(indices, "ndarray.take")
        return _out(self._a.take(raw, axis=axis, out=_raw(out, "ndarray.take"), mode="wrap"))

    def __copy__(self):
        return _wrap(self._a.copy())

    def __deepcopy__(self, memo):
        return _wrap(self._a.copy())


def _method(name: str):
    def method(self, *args, **kwargs):
        where = f"ndarray.{name}"
        return _out(getattr(self._a, name)(*_raw(args, where), **_raw(kwargs, where)))

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(StrictArray, _name, _method(_name))


def _operator(ufunc, reflected: bool = False, inplace: bool = False):
    def op(self, other):
        if not isinstance(other, (StrictArray, _np.ndarray, numbers.Number, _np.generic)):
            return NotImplemented
        if inplace:
            return ufunc(self, other, out=(self,))
        return ufunc(other, self) if reflected else ufunc(self, other)

    return op


_OPERATORS = {
    "add": _np.add,
    "sub": _np.subtract,
    "mul": _np.multiply,
    "truediv": _np.true_divide,
    "floordiv": _np.floor_divide,
    "mod": _np.remainder,
    "pow": _np.power,
    "matmul": _np.matmul,
    "and": _np.bitwise_and,
    "or": _np.bitwise_or,
    "xor": _np.bitwise_xor,
    "lshift": _np.left_shift,
    "rshift": _np.right_shift,
}
for _name, _ufunc in _OPERATORS.items():
    setattr(StrictArray, f"__{_name}__", _operator(_ufunc))
    setattr(StrictArray, f"__r{_name}__", _operator(_ufunc, reflected=True))
    setattr(StrictArray, f"__i{_name}__", _operator(_ufunc, inplace=True))
for _name, _ufunc in {
    "eq": _np.equal,
    "ne": _np.not_equal,
    "lt": _np.less,
    "le": _np.less_equal,
    "gt": _np.greater,
    "ge": _np.greater_equal,
}.items():
    setattr(StrictArray, f"__{_name}__", _operator(_ufunc))
StrictArray.__neg__ = lambda self: _np.negative(self)
StrictArray.__pos__ = lambda self: _np.positive(self)
StrictArray.__abs__ = lambda self: _np.absolute(self)
StrictArray.__invert__ = lambda self: _np.invert(self)
StrictArray.__divmod__ = _operator(_np.divmod)


class _Pointer:
    """The address of an array's memory, as CuPy's ``MemoryPointer.ptr``."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: int):
        self.ptr = ptr


class Device:
    """The one strict device, as ``cupy.cuda.Device``: ``id`` 0, a context manager."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise ValueError(f"nerve.strict has one device (0), got {self.id}")

    def synchronize(self) -> None:
        """Nothing to wait for: the strict device computes on the host, synchronously."""

    def use(self) -> None:
        """Make this the current device (it always is)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"
