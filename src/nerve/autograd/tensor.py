"""Tensor: an ndarray, whether it wants a gradient, and the node that made it.

Its methods are thin: each one calls the op in ``nerve.primitives`` that holds the math (forward and
backward in one Function). Tensor and its primitive ops form one level of the package; the ops
modules are imported at the bottom of this file because each side needs the other.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import engine
from nerve.autograd.grad_mode import _state as _grad_state

_FLOAT_KINDS = "f"


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Make one with :func:`nerve.tensor`; float data becomes float32 unless a dtype says otherwise.

    >>> import nerve
    >>> x = nerve.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "_index", "__weakref__")
    __array_priority__ = 1000  # ndarray op Tensor -> Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _to_array(data, dtype)
        if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {arr.dtype}"
            )
        self.data = arr
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._node = None
        self._index = 0

    @classmethod
    def _wrap(cls, array: np.ndarray, node=None, index: int = 0) -> Tensor:
        """Wrap an ndarray without copying or checking (the ops' fast path)."""
        t = object.__new__(Tensor)
        t.data = array
        t.grad = None
        t._node = node
        t._index = index
        t.requires_grad = node is not None
        return t

    # ---------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def grad_fn(self):
        """The Function that made this tensor, or None for a leaf."""
        return self._node

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - the conventional name
        return _shape.permute(self, tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - torch's name
        return _shape.transpose(self, -2, -1)

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ---------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), like torch's ``.numpy()``."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.data.shape}"
            )
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors can be used as an index, got {self.data.dtype}")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data.item())

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def clone(self) -> Tensor:
        """A differentiable copy."""
        return _ew.clone(self)

    def astype(self, dtype) -> Tensor:
        return _ew.cast(self, dtype)

    to = astype

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

    def contiguous(self) -> Tensor:
        return self

    def cpu(self) -> Tensor:
        return self

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is d(loss)/d(self); it may be left out only when self has one element.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad and has no grad_fn: "
                "did you forget requires_grad=True, or run the forward pass under no_grad()?"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    "backward() without a gradient needs a tensor with one element, this one "
                    f"has shape {self.data.shape}; pass gradient= with that shape "
                    "(or call .sum() first)"
                )
            g = np.ones_like(self.data)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if g.shape != self.data.shape:
                raise RuntimeError(
                    f"backward(): gradient has shape {g.shape} but the tensor has shape "
                    f"{self.data.shape}"
                )
            g = g.astype(self.data.dtype, copy=False)
        engine.backward(self, g, retain_graph=retain_graph)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() to cut it from the graph"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def zero_(self) -> Tensor:
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def _check_inplace(self, what: str) -> None:
        if self.requires_grad and _grad_state["enabled"]:
            raise RuntimeError(
                f"in-place {what} on a tensor that requires grad would corrupt its gradient; "
                "write x = x + y instead, or do it under nerve.no_grad()"
            )

    def _inplace(self, what: str, other, op) -> Tensor:
        self._check_inplace(what)
        other = other.data if isinstance(other, Tensor) else other
        op(self.data, other, out=self.data, casting="same_kind")
        return self

    def __iadd__(self, other):
        return self._inplace("+=", other, np.add)

    def __isub__(self, other):
        return self._inplace("-=", other, np.subtract)

    def __imul__(self, other):
        return self._inplace("*=", other, np.multiply)

    def __itruediv__(self, other):
        return self._inplace("/=", other, np.true_divide)

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extra = f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

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
        self._check_inplace("item assignment")
        self.data[_index.as_numpy_index(index)] = value.data if isinstance(value, Tensor) else value

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

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


def _to_array(data, dtype=None) -> np.ndarray:
    """Turn user data into an ndarray: float32 unless told otherwise; ints and bools kept."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    arr = np.array(data)
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    return arr


from nerve.primitives import elementwise as _ew  # noqa: E402
from nerve.primitives import indexing as _index  # noqa: E402
from nerve.primitives import linalg as _linalg  # noqa: E402
from nerve.primitives import reduction as _red  # noqa: E402
from nerve.primitives import shape as _shape  # noqa: E402
