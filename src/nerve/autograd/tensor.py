"""Tensor: an ndarray, whether it wants a gradient, and the node that made it.

Its methods are thin: each one calls the op in ``nerve.primitives`` that holds the math (forward and
backward in one Function). Tensor and its primitive ops form one level of the package; the ops
modules are imported at the bottom of this file because each side needs the other.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd import conversion as _conv
from nerve.autograd import engine
from nerve.autograd import inplace as _inplace
from nerve.autograd import printing as _printing
from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.autograd.tensor_methods import TensorMethods
from nerve.autograd.tensor_ops import TensorOps
from nerve.device import CPU as _CPU
from nerve.device import device_of as _device_of
from nerve.device import host_copy as _host_copy

_FLOAT_KINDS = "f"


def _host(data):
    """``data`` where the host can read it: a device array is copied, with the device-side
    checks queued by ops read in the same copy (nerve.device.check_on_sync)."""
    return _host_copy(data) if type(data) in backend.DEVICE_MODULES else data


class Tensor(TensorMethods, TensorOps):
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Make one with :func:`nerve.tensor`; float data becomes float32 unless a dtype says otherwise.

    >>> import nerve
    >>> x = nerve.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # _data is the ndarray itself (the ops read it directly); .data is torch's view of it.
    __slots__ = ("_data", "requires_grad", "grad", "_node", "_index", "__weakref__")
    __array_priority__ = 1000  # ndarray op Tensor -> Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {arr.dtype}"
            )
        self._data = arr
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._node = None
        self._index = 0

    @classmethod
    def _wrap(cls, array: np.ndarray, node=None, index: int = 0) -> Tensor:
        """Wrap an ndarray without copying or checking (the ops' fast path)."""
        t = object.__new__(Tensor)
        t._data = array
        t.grad = None
        t._node = node
        t._index = index
        t.requires_grad = node is not None
        return t

    # ---------------------------------------------------------------- attributes
    @property
    def data(self) -> Tensor:
        """The same memory as a Tensor with no history, as torch's ``.data``: changing it in
        place (``p.data.add_(...)``, ``m.weight.data.normal_(0, 0.02)``) changes this tensor
        without autograd seeing it; assigning ``t.data = other`` replaces the values."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        if isinstance(value, Tensor):
            array = value._data
        elif type(value) in backend.DEVICE_MODULES:
            array = value
        else:
            array = np.asarray(value)
        if self.requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"cannot assign data of dtype {array.dtype} to a tensor that requires grad"
            )
        self._data = array

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self):
        """The device holding the data: ``nerve.device("cpu")`` (equal to the string "cpu"), or
        ``device(type='cuda', index=0)`` for a tensor on a GPU."""
        if type(self._data) is np.ndarray:
            return _CPU
        return _device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return type(self._data) is not np.ndarray and self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return type(self._data) is np.ndarray

    def get_device(self) -> int:
        """The CUDA ordinal of the device, -1 for the CPU (as torch)."""
        if type(self._data) is np.ndarray:
            return -1
        return self.device.index

    @property
    def grad_fn(self):
        """The node that made this tensor (``.name()``, ``.next_functions``), None for a leaf."""
        return self._node

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (torch's counter)."""
        return _inplace.version(self._data)

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def element_size(self) -> int:
        """Bytes per element (4 for float32)."""
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - the conventional name
        return _shape.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - torch's name
        return _shape.transpose(self, -2, -1)

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return self._data.size

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---------------------------------------------------------------- conversion
    def numpy(self, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied), like torch's ``.numpy()``.

        Unlike torch it also answers for a tensor that requires grad: the Keras door returns
        these same Tensors, and Keras code calls ``model(x).numpy()`` and ``weight.numpy()``.

        Args:
            force: for a tensor on a GPU, copy it to the host (torch's ``numpy(force=True)``).

        Raises:
            TypeError: the tensor lives on a GPU and ``force`` is False (as torch).
        """
        if type(self._data) is np.ndarray:
            return self._data
        if force:
            return self.cpu()._data
        raise TypeError(_device_copy.host_message(self))

    def __array__(self, dtype=None, copy=None):
        if type(self._data) is not np.ndarray:
            raise TypeError(_device_copy.host_message(self))
        return self._data if dtype is None else self._data.astype(dtype)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy functions (np.mean, np.concatenate, np.argmax...) see the arrays and return
        # arrays, as they do on torch tensors: their results leave the graph.
        return func(*_unwrap(args), **_unwrap(kwargs))

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self._data.shape}"
            )
        return _host(self._data).item()

    def tolist(self):
        return _host(self._data).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self._data.dtype}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(_host(self._data).item())

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._wrap(self._data)

    def clone(self) -> Tensor:
        """A differentiable copy."""
        return _ew.clone(self)

    def astype(self, dtype) -> Tensor:
        """``self`` as ``dtype`` (NumPy's name; differentiable between float dtypes)."""
        return _ew.cast(self, _conv.as_dtype(dtype, "astype"))

    def float(self) -> Tensor:
        return _ew.cast(self, np.float32)

    def double(self) -> Tensor:
        return _ew.cast(self, np.float64)

    def long(self) -> Tensor:
        return _ew.cast(self, np.int64)

    def int(self) -> Tensor:
        return _ew.cast(self, np.int32)

    def bool(self) -> Tensor:
        return _ew.cast(self, np.bool_)

    def contiguous(self, memory_format=None) -> Tensor:
        return self

    # ---------------------------------------------------------------- autograd
    def backward(
        self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self); may be left out only when self has one element.
            retain_graph: keep the graph for another backward (frees it by default).
            create_graph: not supported (backward records no graph).
            inputs: only these tensors get their ``.grad`` (others are left alone).

        Raises:
            RuntimeError: self does not require grad; the gradient's shape is wrong; the graph
                was freed; a saved tensor was changed in place.
            NotImplementedError: ``create_graph=True``.
        """
        if create_graph:
            raise NotImplementedError(
                "backward(create_graph=True): nerve's backward records no graph, so "
                "higher-order gradients are not supported"
            )
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad and has no grad_fn: "
                "did you forget requires_grad=True, or run the forward pass under no_grad()?"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs: backward() "
                    f"without a gradient needs one element, this tensor has shape "
                    f"{self._data.shape}; pass gradient= with that shape (or call .sum() first)"
                )
            g = np.ones_like(self._data)
        else:
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if type(g) is not type(self._data) and (
                type(self._data) is not np.ndarray or type(g) in backend.DEVICE_MODULES
            ):
                g = _device_copy.gradient_on(g, self)
            if g.shape != self._data.shape:
                raise RuntimeError(
                    f"backward(): gradient has shape {g.shape} but the tensor has shape "
                    f"{self._data.shape}"
                )
            g = g.astype(self._data.dtype, copy=False)
        if inputs is not None:
            from nerve.autograd.api import backward_into

            backward_into(self, g, bool(retain_graph), inputs)
            return
        engine.backward(self, g, retain_graph=bool(retain_graph))

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self._data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() to cut it from the graph"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        return _printing.tensor_repr(self)

    def __format__(self, spec: str) -> str:
        # torch: a 0-d tensor formats as its number (f"{loss:.4f}"); others only with no spec
        if self._data.ndim == 0:
            return format(_host(self._data).item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return _ew.add(self, other)

    def __radd__(self, other):
        return _ew.add(other, self)

    def __sub__(self, other):
        return _ew.sub(self, other)

    def __rsub__(self, other):
        return _ew.sub(other, self)

    def __mul__(self, other):
        return _ew.mul(self, other)

    def __rmul__(self, other):
        return _ew.mul(other, self)

    def __truediv__(self, other):
        return _ew.div(self, other)

    def __rtruediv__(self, other):
        return _ew.div(other, self)

    def __floordiv__(self, other):
        return _ew.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ew.floor_divide(other, self)

    def __mod__(self, other):
        return _ew.remainder(self, other)

    def __rmod__(self, other):
        return _ew.remainder(other, self)

    def __pow__(self, other):
        return _ew.pow(self, other)

    def __rpow__(self, other):
        return _ew.pow(other, self)

    def __matmul__(self, other):
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(other, self)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __eq__(self, other):  # type: ignore[override]
        return _ew.eq(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _ew.ne(self, other)

    def __lt__(self, other):
        return _ew.lt(self, other)

    def __le__(self, other):
        return _ew.le(self, other)

    def __gt__(self, other):
        return _ew.gt(self, other)

    def __ge__(self, other):
        return _ew.ge(self, other)

    def __invert__(self):
        return _ew.logical_not(self)

    def __and__(self, other):
        return _ew.logical_and(self, other)

    def __or__(self, other):
        return _ew.logical_or(self, other)

    def __xor__(self, other):
        return _ew.logical_xor(self, other)

    # ---------------------------------------------------------------- elementwise
    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def log1p(self):
        return _ew.log1p(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def rsqrt(self):
        return _ew.rsqrt(self)

    def square(self):
        return _ew.square(self)

    def sin(self):
        return _ew.sin(self)

    def cos(self):
        return _ew.cos(self)

    def tanh(self):
        return _ew.tanh(self)

    def sigmoid(self):
        return _ew.sigmoid(self)

    def relu(self):
        return _ew.relu(self)

    def abs(self):
        return _ew.abs(self)

    def neg(self):
        return _ew.neg(self)

    def sign(self):
        return _ew.sign(self)

    def pow(self, exponent):
        return _ew.pow(self, exponent)

    def clamp(self, min=None, max=None):
        return _ew.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def isnan(self):
        return _ew.isnan(self)

    def isfinite(self):
        return _ew.isfinite(self)

    def softmax(self, dim: int = -1):
        return _red.softmax(self, dim)

    def log_softmax(self, dim: int = -1):
        return _red.log_softmax(self, dim)

    # ---------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim=False, **numpy_names):
        return _red.sum(self, dim, keepdim, **numpy_names)

    def mean(self, dim=None, keepdim=False, **numpy_names):
        return _red.mean(self, dim, keepdim, **numpy_names)

    def var(self, dim=None, unbiased=None, keepdim=False, **kw):
        return _red.var(self, dim, unbiased, keepdim, **kw)

    def std(self, dim=None, unbiased=None, keepdim=False, **kw):
        return _red.std(self, dim, unbiased, keepdim, **kw)

    def max(self, dim=None, keepdim=False, **numpy_names):
        return _red.max(self, dim, keepdim, **numpy_names)

    def min(self, dim=None, keepdim=False, **numpy_names):
        return _red.min(self, dim, keepdim, **numpy_names)

    def amax(self, dim=None, keepdim=False, **numpy_names):
        return _red.amax(self, dim, keepdim, **numpy_names)

    def amin(self, dim=None, keepdim=False, **numpy_names):
        return _red.amin(self, dim, keepdim, **numpy_names)

    def prod(self, dim=None, keepdim=False, **numpy_names):
        return _red.prod(self, dim, keepdim, **numpy_names)

    def logsumexp(self, dim=None, keepdim=False, **numpy_names):
        return _red.logsumexp(self, dim, keepdim, **numpy_names)

    def argmax(self, dim=None, keepdim=False, **numpy_names):
        return _red.argmax(self, dim, keepdim, **numpy_names)

    def argmin(self, dim=None, keepdim=False, **numpy_names):
        return _red.argmin(self, dim, keepdim, **numpy_names)

    def cumsum(self, dim=None, **numpy_names):
        return _red.cumsum(self, dim, **numpy_names)

    def norm(self, p=2, dim=None, keepdim=False, **numpy_names):
        return _red.norm(self, p, dim, keepdim, **numpy_names)

    def all(self, dim=None, keepdim=False, **numpy_names):
        return _red.all(self, dim, keepdim, **numpy_names)

    def any(self, dim=None, keepdim=False, **numpy_names):
        return _red.any(self, dim, keepdim, **numpy_names)

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape):
        return _shape.reshape(self, _sizes(shape))

    view = reshape

    def view_as(self, other):
        return _shape.reshape(self, other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int = -2, dim1: int = -1):
        return _shape.transpose(self, dim0, dim1)

    swapaxes = transpose

    def permute(self, *dims):
        return _shape.permute(self, _sizes(dims))

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return _shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        return _shape.expand(self, _sizes(sizes))

    def expand_as(self, other):
        return _shape.expand(self, other.shape)

    def broadcast_to(self, shape):
        return _shape.broadcast_to(self, shape)

    def repeat(self, *repeats):
        return _shape.repeat(self, _sizes(repeats))

    def tile(self, *reps):
        return _shape.tile(self, _sizes(reps))

    def split(self, split_size_or_sections, dim: int = 0):
        return _shape.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return _shape.chunk(self, chunks, dim)

    def flip(self, dims):
        return _shape.flip(self, dims)

    def roll(self, shifts, dims=None):
        return _shape.roll(self, shifts, dims)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, index):
        return _index.getitem(self, index)

    def __setitem__(self, index, value):
        if isinstance(value, Tensor) and type(value._data) is not type(self._data):
            value = value.to(_device_of(self._data))  # torch copies a value across devices
        grad_wanted = self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
        if grad_wanted and _grad_modes.enabled:
            # differentiable: a scatter into a copy, written back in place
            self._assign(index, value)
            return
        _inplace.check_leaf(self, "item assignment")
        self._data[_index.as_numpy_index(index, self._data)] = (
            value._data if isinstance(value, Tensor) else value
        )
        _inplace.bump(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def gather(self, dim: int, index):
        return _index.gather(self, dim, index)

    def take_along_dim(self, indices, dim=None):
        return _index.take_along_dim(self, indices, dim)

    def index_select(self, dim: int, index):
        return _index.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return _index.masked_fill(self, mask, value)

    # ---------------------------------------------------------------- linear algebra
    def matmul(self, other):
        return _linalg.matmul(self, other)

    mm = matmul

    def dot(self, other):
        return _linalg.dot(self, other)

    def outer(self, other):
        return _linalg.outer(self, other)


def _sizes(args: tuple) -> tuple:
    """Accept both f(2, 3) and f((2, 3)), as torch does."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


def _unwrap(x):
    """Tensors inside NumPy-function arguments (lists, tuples, dicts) as their arrays."""
    if isinstance(x, Tensor):
        return x._data
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    if type(x) is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _to_array(data, dtype=None) -> np.ndarray:
    """Turn user data into an ndarray: float data as the default float dtype (float32) unless
    told otherwise; ints and bools kept. Data already on a device (a CuPy array, a device
    Tensor) is copied on that device."""
    if isinstance(data, Tensor):
        data = data._data
    if type(data) in backend.DEVICE_MODULES:
        if dtype is not None:
            return data.astype(dtype)
        if data.dtype.kind == "f" and data.dtype != backend.DEFAULT_FLOAT:
            return data.astype(backend.DEFAULT_FLOAT)
        return data.copy()
    if dtype is not None:
        return np.array(data, dtype=dtype)
    arr = np.array(data)
    if arr.dtype.kind == "f" and arr.dtype != backend.DEFAULT_FLOAT:
        arr = arr.astype(backend.DEFAULT_FLOAT)
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    return arr


from nerve.autograd import device_copy as _device_copy  # noqa: E402
from nerve.primitives import elementwise as _ew  # noqa: E402
from nerve.primitives import indexing as _index  # noqa: E402
from nerve.primitives import linalg as _linalg  # noqa: E402
from nerve.primitives import reduction as _red  # noqa: E402
from nerve.primitives import shape as _shape  # noqa: E402
