"""Tensor's torch-door methods: devices and dtypes (``to``, ``cuda``, ``type``, ``new_*``),
gradient hooks, and the in-place ops (their rules live in :mod:`nerve.autograd.inplace`).

A base class of :class:`nerve.autograd.tensor.Tensor`, apart only to keep each file short; the
methods are thin and call the ops of ``nerve.primitives`` through tensor.py's own imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nerve import backend
from nerve.autograd import conversion as _conv
from nerve.autograd import hooks as _hooks
from nerve.autograd import inplace as _inplace
from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.device import CPU as _CPU
from nerve.device import array_module as _array_module
from nerve.device import as_device as _as_device
from nerve.device import device as _device
from nerve.device import pinned as _pinned
from nerve.device import to_device as _to_device

if TYPE_CHECKING:
    from nerve.autograd.tensor import Tensor


class TensorMethods:
    """torch's Tensor methods beyond the arithmetic (see the module docstring)."""

    __slots__ = ()

    # ---------------------------------------------------------------- device and dtype
    def to(self, *args, **kwargs) -> Tensor:
        """``self`` on a device and/or as a dtype, torch's overloads: ``to(device)``,
        ``to(dtype)``, ``to(device, dtype)``, ``to(other)``; keywords ``device=``, ``dtype=``,
        ``non_blocking=``, ``copy=``. Returns ``self`` when nothing changes (unless ``copy``).

        The copy to another device is differentiable (the gradient goes back to ``self``'s
        device); ``non_blocking=True`` lets a copy to a GPU run asynchronously where CuPy can.

        Raises:
            RuntimeError: the device is not available.
            TypeError: an argument is neither a device, a dtype nor a tensor.
        """
        non_blocking = bool(kwargs.get("non_blocking", False))
        dev, dtype, copy = _conv.parse_to(args, kwargs)
        out = self if dev is None else _t._device_copy.move(self, dev, non_blocking)
        if dtype is not None:
            out = _t._ew.cast(out, dtype)
        return out.clone() if copy and out is self else out

    def cpu(self, memory_format=None) -> Tensor:
        """The tensor on the CPU: ``self`` where it already is, else a copy (differentiable)."""
        if type(self._data) is np.ndarray:
            return self
        return _t._device_copy.move(self, _CPU)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        """The tensor on a CUDA device (the current one unless ``device`` says).

        Raises:
            RuntimeError: no CUDA device is available, or ``device`` is not a CUDA device.
        """
        dev = _device("cuda" if device is None else device)
        if dev.type != "cuda":
            raise RuntimeError(f"Tensor.cuda: invalid device {str(dev)!r}, must be a cuda device")
        return _t._device_copy.move(self, _as_device(dev), non_blocking)

    def pin_memory(self, device=None) -> Tensor:
        """A copy in page-locked host memory, from which ``.to("cuda", non_blocking=True)``
        copies asynchronously (CuPy); the tensor itself when no CUDA backend can pin.

        Raises:
            RuntimeError: the tensor is not on the CPU (as torch).
        """
        if type(self._data) is not np.ndarray:
            raise RuntimeError(f"cannot pin a tensor on {self.device}: only CPU tensors can be")
        arr = _pinned(self._data)
        return self if arr is self._data else _t.Tensor._wrap(arr)

    def half(self) -> Tensor:
        return _t._ew.cast(self, np.float16)

    def short(self) -> Tensor:
        return _t._ew.cast(self, np.int16)

    def char(self) -> Tensor:
        return _t._ew.cast(self, np.int8)

    def byte(self) -> Tensor:
        return _t._ew.cast(self, np.uint8)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without ``dtype``, torch's type name (``'nerve.FloatTensor'``); with one (a dtype or
        a name such as ``'torch.DoubleTensor'``), ``self`` cast to it."""
        if dtype is None:
            return _conv.type_name(self._data.dtype)
        return _t._ew.cast(self, _conv.as_dtype(dtype, "Tensor.type"))

    def type_as(self, other) -> Tensor:
        """``self`` cast to ``other``'s dtype."""
        return _t._ew.cast(self, other.dtype)

    # ---------------------------------------------------------------- new_* (self's dtype)
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A new tensor from ``data`` (a copy), with ``self``'s dtype and device unless
        ``dtype`` / ``device`` say."""
        dev = self._device_or_mine(device)
        if isinstance(data, _t.Tensor):
            data = data._data
        dt = self._dtype_or_mine(dtype)
        if type(data) is np.ndarray or type(data) in backend.DEVICE_MODULES:
            arr = _to_device(data, dev).astype(dt, copy=True)
        else:
            arr = _array_module(dev).array(data, dtype=dt)
        t = _t.Tensor._wrap(arr)
        return t.requires_grad_(True) if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new("zeros", size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new("ones", size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new("empty", size, dtype, device, requires_grad)

    def new_full(
        self, size, fill_value, dtype=None, device=None, requires_grad: bool = False
    ) -> Tensor:
        xp = _array_module(self._device_or_mine(device))
        arr = xp.full(_t._sizes((size,)), fill_value, dtype=self._dtype_or_mine(dtype))
        t = _t.Tensor._wrap(arr)
        return t.requires_grad_(True) if requires_grad else t

    def _new(self, make: str, size, dtype, device, requires_grad) -> Tensor:
        xp = _array_module(self._device_or_mine(device))
        shape = tuple(int(n) for n in _t._sizes(size))
        t = _t.Tensor._wrap(getattr(xp, make)(shape, dtype=self._dtype_or_mine(dtype)))
        return t.requires_grad_(True) if requires_grad else t

    def _device_or_mine(self, device):
        # torch: new_* make their tensor on self's device unless told otherwise
        return self.device if device is None else _as_device(device)

    def _dtype_or_mine(self, dtype) -> np.dtype:
        return self._data.dtype if dtype is None else _conv.as_dtype(dtype, "new_*")

    # ---------------------------------------------------------------- memory layout
    def stride(self, dim=None):
        """The step, in elements (not bytes, unlike NumPy), between neighbours along each dim.

        Args:
            dim: one dim (negative counts from the end), or None for all of them.

        Returns:
            A tuple of ints, or one int when ``dim`` is given.

        Raises:
            IndexError: ``dim`` is out of range.
        """
        steps = tuple(s // self._data.itemsize for s in self._data.strides)
        if dim is None:
            return steps
        ndim = self._data.ndim
        if not -max(ndim, 1) <= dim < max(ndim, 1) or ndim == 0:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {dim})"
            )
        return steps[dim]

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements lie in memory in row-major order with no gaps (a transposed
        view is not; size-1 dims do not count, as in torch)."""
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        """The memory address of the first element (views of one tensor share the memory)."""
        return _address(self._data)

    def storage_offset(self) -> int:
        """How many elements from the start of the memory the tensor owns (or is a view of)
        its first element lies."""
        start = _address(_inplace.root_of(self._data))
        return (self.data_ptr() - start) // self._data.itemsize

    # ---------------------------------------------------------------- autograd
    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (it becomes a leaf)."""
        self._node = None
        self._index = 0
        self.requires_grad = False
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it.

        Raises:
            RuntimeError: the tensor does not require grad.
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return _hooks.register(self, hook)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (leaves always do).

        Raises:
            RuntimeError: the tensor does not require grad.
        """
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        _hooks.retain(self)

    @property
    def retains_grad(self) -> bool:
        return _hooks.retains(self)

    # ---------------------------------------------------------------- in place (inplace.py)
    def zero_(self) -> Tensor:
        _inplace.overwrite(self, "zero_", 0)
        return self

    def fill_(self, value) -> Tensor:
        if isinstance(value, _t.Tensor):
            if value._data.size != 1:
                raise RuntimeError(
                    f"fill_ only supports 0-dimension value tensor but got tensor with "
                    f"{value._data.ndim} dimensions"
                )
            if value.requires_grad and _grad_modes.enabled:
                return _inplace.update(
                    self, "fill_", lambda s: s * 0.0 + value.reshape(()), (value,)
                )
            value = value._data.reshape(())
        _inplace.overwrite(self, "fill_", value)
        return self

    def copy_(self, src, non_blocking: bool = False) -> Tensor:
        """Copy ``src`` (broadcast to self's shape, cast to self's dtype) into self."""
        if isinstance(src, _t.Tensor) and src.requires_grad and _grad_modes.enabled:
            src = src.to(self.device)  # differentiable across devices, as in torch
            shape = self._data.shape
            return _inplace.update(
                self, "copy_", lambda s: s * 0.0 + _t._ew.cast(src, s.dtype).expand(shape), (src,)
            )
        if isinstance(src, _t.Tensor):
            values = _to_device(src._data, self.device)  # torch copies across devices
        elif type(src) in backend.DEVICE_MODULES or type(self._data) is not np.ndarray:
            values = _to_device(_host_or_device(src), self.device)
        else:
            values = np.asarray(src)
        try:
            np.broadcast_to(values, self._data.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: the source of shape {values.shape} cannot be broadcast to "
                f"{self._data.shape}"
            ) from None
        _inplace.overwrite(self, "copy_", values)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
        """Fill with samples from U(a, b) drawn from nerve's generator (see manual_seed)."""
        draw = self._rng().random(self._data.shape)
        _inplace.overwrite(self, "uniform_", a + (b - a) * draw)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
        """Fill with samples from N(mean, std**2) drawn from nerve's generator."""
        draw = self._rng().standard_normal(self._data.shape)
        _inplace.overwrite(self, "normal_", mean + std * draw)
        return self

    def _rng(self):
        # draws are made where the data lives (the device's generator, seeded by manual_seed)
        return backend.rng_for(backend.array_module_of(self._data))

    def add_(self, other, alpha=1) -> Tensor:
        """``self += alpha * other`` in place."""
        if alpha != 1:
            other = other * alpha
        return self._update("add_", other, lambda s: s + other, np.add)

    def sub_(self, other, alpha=1) -> Tensor:
        """``self -= alpha * other`` in place."""
        if alpha != 1:
            other = other * alpha
        return self._update("sub_", other, lambda s: s - other, np.subtract)

    def mul_(self, other) -> Tensor:
        return self._update("mul_", other, lambda s: s * other, np.multiply)

    def div_(self, other, rounding_mode=None) -> Tensor:
        if rounding_mode is not None:
            return _inplace.update(
                self, "div_", lambda s: _t._ew.div(s, other, rounding_mode=rounding_mode), (other,)
            )
        return self._update("div_", other, lambda s: s / other, np.true_divide)

    def pow_(self, exponent) -> Tensor:
        return self._update("pow_", exponent, lambda s: s**exponent, np.power)

    def clamp_(self, min=None, max=None) -> Tensor:
        return _inplace.update(self, "clamp_", lambda s: s.clamp(min, max), (min, max))

    clip_ = clamp_

    def neg_(self) -> Tensor:
        return _inplace.update(self, "neg_", lambda s: -s)

    def abs_(self) -> Tensor:
        return _inplace.update(self, "abs_", lambda s: s.abs())

    def exp_(self) -> Tensor:
        return _inplace.update(self, "exp_", lambda s: s.exp())

    def log_(self) -> Tensor:
        return _inplace.update(self, "log_", lambda s: s.log())

    def sqrt_(self) -> Tensor:
        return _inplace.update(self, "sqrt_", lambda s: s.sqrt())

    def sigmoid_(self) -> Tensor:
        return _inplace.update(self, "sigmoid_", lambda s: s.sigmoid())

    def tanh_(self) -> Tensor:
        return _inplace.update(self, "tanh_", lambda s: s.tanh())

    def relu_(self) -> Tensor:
        return _inplace.update(self, "relu_", lambda s: s.relu())

    def addcmul_(self, tensor1, tensor2, value=1) -> Tensor:
        """``self += value * tensor1 * tensor2`` in place (optimizer code uses it)."""
        ops = (tensor1, tensor2)
        return _inplace.update(self, "addcmul_", lambda s: s + tensor1 * tensor2 * value, ops)

    def addcdiv_(self, tensor1, tensor2, value=1) -> Tensor:
        """``self += value * tensor1 / tensor2`` in place (optimizer code uses it)."""
        ops = (tensor1, tensor2)
        return _inplace.update(self, "addcdiv_", lambda s: s + tensor1 / tensor2 * value, ops)

    def lerp_(self, end, weight) -> Tensor:
        """``self += weight * (end - self)`` in place."""
        return _inplace.update(self, "lerp_", lambda s: s + (end - s) * weight, (end, weight))

    def bernoulli_(self, p=0.5, generator=None) -> Tensor:
        """Fill with 1 (probability ``p``) or 0, drawn from nerve's generator."""
        prob = p._data if isinstance(p, _t.Tensor) else p
        draw = self._rng().random(self._data.shape) < prob
        _inplace.overwrite(self, "bernoulli_", draw)
        return self

    def _assign(self, index, value) -> None:
        """``self[index] = value`` with a gradient: every element ``index`` picks is one flat
        position, and ``scatter`` writes ``value`` there (its gradient goes to ``value``; the
        overwritten elements give none back to the old ``self``)."""
        from nerve.primitives.scatter import scatter

        xp = backend.array_module_of(self._data)
        where = _t._index.as_numpy_index(index, self._data)
        picked = xp.arange(self._data.size).reshape(self._data.shape)[where]

        def compute(s):
            v = value if isinstance(value, _t.Tensor) else _t.Tensor._wrap(xp.asarray(value))
            if v._data.dtype != s._data.dtype:
                v = _t._ew.cast(v, s._data.dtype)
            try:
                v = v.broadcast_to(picked.shape)
            except ValueError:
                raise ValueError(
                    f"item assignment: a value of shape {v.shape} cannot fill the "
                    f"{picked.shape} elements the index picks"
                ) from None
            positions = _t.Tensor._wrap(picked.reshape(-1))
            return scatter(s.reshape(-1), 0, positions, v.reshape(-1)).reshape(s.shape)

        _inplace.update(self, "item assignment", compute, (value,))

    def masked_fill_(self, mask, value) -> Tensor:
        return _inplace.update(self, "masked_fill_", lambda s: s.masked_fill(mask, value), (value,))

    def scatter_(self, dim, index, src=None, value=None, **kwargs) -> Tensor:
        """In place ``scatter`` (the one-hot idiom ``zeros(n, c).scatter_(1, labels, 1)``)."""
        src = kwargs.pop("source", src)  # old spelling
        if src is not None and not isinstance(src, _t.Tensor):  # scatter_(1, idx, 1.0)
            src, value = None, src
        update = lambda s: s.scatter(dim, index, src, value=value, **kwargs)  # noqa: E731
        return _inplace.update(self, "scatter_", update, (src,))

    def scatter_add_(self, dim, index, src) -> Tensor:
        return _inplace.update(
            self, "scatter_add_", lambda s: s.scatter_add(dim, index, src), (src,)
        )

    def index_add_(self, dim, index, source, alpha=1) -> Tensor:
        update = lambda s: s.index_add(dim, index, source, alpha=alpha)  # noqa: E731
        return _inplace.update(self, "index_add_", update, (source,))

    def index_fill_(self, dim, index, value) -> Tensor:
        return _inplace.update(self, "index_fill_", lambda s: s.index_fill(dim, index, value), ())

    def clamp_min_(self, min) -> Tensor:
        return _inplace.update(self, "clamp_min_", lambda s: s.clamp_min(min), (min,))

    def clamp_max_(self, max) -> Tensor:
        return _inplace.update(self, "clamp_max_", lambda s: s.clamp_max(max), (max,))

    def _update(self, what: str, other, compute, ufunc) -> Tensor:
        # ufunc: the NumPy in-place form, for when no gradient is wanted (optimizer updates)
        arr = other._data if isinstance(other, _t.Tensor) else other

        def fast(data):
            ufunc(data, arr, out=data, casting="same_kind")

        return _inplace.update(self, what, compute, (other,), fast)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


def _address(array) -> int:
    if type(array) is np.ndarray:
        return int(array.__array_interface__["data"][0])
    return int(array.data.ptr)  # CuPy's MemoryPointer


def _host_or_device(value):
    return value if type(value) in backend.DEVICE_MODULES else np.asarray(value)


from nerve.autograd import tensor as _t  # noqa: E402  (tensor.py subclasses TensorMethods)
