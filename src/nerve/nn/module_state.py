"""What a Module holds, as data: ``state_dict`` / ``load_state_dict``, moves between dtypes and
devices, and the structure version that nerve.compiler watches.

``ModuleState`` is a base of :class:`nerve.nn.module.Module` (import Module, IncompatibleKeys and
STRUCTURE_VERSION from there); it relies on Module's ``modules()``, ``named_modules()`` and its
``_parameters`` / ``_buffers`` / ``_non_persistent`` tables.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import as_device, device, to_device

if TYPE_CHECKING:  # for annotations only: module.py imports this file
    from nerve.nn.module import Module


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match, by name."""

    missing_keys: list
    unexpected_keys: list


class StateDictKeyError(RuntimeError, KeyError):
    """``load_state_dict(strict=True)`` found missing or unexpected keys.

    A RuntimeError as torch raises it, and a KeyError as nerve raised it before.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StateDictShapeError(RuntimeError, ValueError):
    """``load_state_dict`` found a value whose shape differs from the model's (torch: a
    RuntimeError; nerve before: a ValueError)."""


def _is_dtype(arg) -> bool:
    return isinstance(arg, np.dtype) or (isinstance(arg, type) and issubclass(arg, np.generic))


def _parse_to(args: tuple, kwargs: dict):
    """(device, dtype) from torch's ``to`` overloads: to(device, dtype), to(dtype), to(tensor)."""
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"Module.to() got unexpected keyword arguments {sorted(kwargs)}")
    rest = list(args)
    if rest and isinstance(rest[-1], bool):  # the positional non_blocking flag
        rest.pop()
    if len(rest) > 2:
        raise TypeError(f"Module.to() takes a device and/or a dtype, got {len(args)} arguments")
    for arg in rest:
        if isinstance(arg, Tensor):
            dev, dtype = arg.device, arg.dtype
        elif _is_dtype(arg):
            dtype = arg
        elif arg is None or isinstance(arg, (str, int, device)):
            dev = arg if arg is not None else dev
        else:
            raise TypeError(
                f"Module.to() expects a device ('cpu'), a dtype (nerve.float64) or a tensor, "
                f"got {arg!r}"
            )
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(
                f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
    return (None if dev is None else as_device(dev)), dtype


def _cuda_device(spec):
    if spec is None:
        return "cuda"
    if isinstance(spec, int) and not isinstance(spec, bool):
        return device("cuda", spec)
    return spec


def _array_of(value):
    """An array (host or device) from a state-dict value that is not a Tensor."""
    return value if type(value) in DEVICE_MODULES else np.asarray(value)


# Bumped when a module's structure changes (a non-Tensor attribute, Parameter or sub-Module set
# or deleted, a registration, a dtype or device move, a hook added or removed): nerve.compiler
# drops its plans then. One list item, bumped in place: cheaper than a module global store.
STRUCTURE_VERSION = [0]
_VERSION = STRUCTURE_VERSION


def _bump_structure() -> None:
    _VERSION[0] += 1


class ModuleState:
    """Module's state and its dtype and device moves (a base class of Module; not used alone)."""

    # ------------------------------------------------------------------ devices and dtypes
    def _apply_dtype(self, dtype: np.dtype) -> Module:
        """Cast every floating parameter, gradient and buffer in place (objects keep identity,
        so an optimizer built before still holds them)."""
        _bump_structure()
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None or t._data.dtype.kind not in "fc" or t._data.dtype == dtype:
                        continue
                    t._data = t._data.astype(dtype)
                    if t.grad is not None:
                        t.grad._data = t.grad._data.astype(dtype)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers in place; returns self.

        Takes torch's overloads: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(tensor)`` and the keywords ``device=``, ``dtype=``, ``non_blocking=``. A dtype casts
        the floating parameters and buffers only (integer buffers such as
        ``num_batches_tracked`` keep theirs).

        Raises:
            RuntimeError: the device is not available ("cuda" without a GPU).
            TypeError: the dtype is not floating, or an argument is neither device nor dtype.
        """
        non_blocking = bool(kwargs.get("non_blocking", False))
        dev, dtype = _parse_to(args, dict(kwargs))  # as_device checks the device
        if dev is not None:
            self._apply_device(dev, non_blocking)
        if dtype is not None:
            self._apply_dtype(dtype)
        return self

    def _apply_device(self, dev, non_blocking: bool = False) -> Module:
        """Move every parameter, gradient and buffer to ``dev`` in place (objects keep their
        identity, as in torch, so an optimizer built before still holds them)."""
        _bump_structure()
        for m in self.modules():
            for table in (m._parameters, m._buffers):
                for t in table.values():
                    if t is None:
                        continue
                    t._data = to_device(t._data, dev, non_blocking)
                    if t.grad is not None:
                        t.grad._data = to_device(t.grad._data, dev, non_blocking)
        return self

    def cpu(self) -> Module:
        """Move parameters, gradients and buffers to the CPU; returns self."""
        return self._apply_device(as_device("cpu"))

    def cuda(self, device=None) -> Module:
        """Move parameters, gradients and buffers to a CUDA device (the current one unless
        ``device``, an int or "cuda:1", says); returns self.

        Raises:
            RuntimeError: no CUDA device is available.
        """
        dev = as_device(_cuda_device(device))
        if dev.type != "cuda":
            raise RuntimeError(f"Module.cuda: invalid device {str(dev)!r}, must be a cuda device")
        return self._apply_device(dev)

    def type(self, dst_type) -> Module:
        """Cast every floating parameter and buffer to ``dst_type``; returns self."""
        return self.to(np.dtype(dst_type))

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32; returns self."""
        return self._apply_dtype(np.dtype(np.float32))

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64; returns self."""
        return self._apply_dtype(np.dtype(np.float64))

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16; returns self."""
        return self._apply_dtype(np.dtype(np.float16))

    # ------------------------------------------------------------------ state
    def _own_state(self) -> OrderedDict:
        out = OrderedDict()
        for mod_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is None or (table is module._buffers and name in module._non_persistent):
                        continue
                    out[f"{mod_name}.{name}" if mod_name else name] = t
        return out

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers keyed like PyTorch's (``layers.0.weight``).

        Args:
            destination: a dict to fill (a new OrderedDict by default).
            prefix: prepended to every key.
            keep_vars: hand out the Parameters themselves instead of detached views.

        Returns:
            The dict of name -> Tensor; each shares memory with its parameter or buffer, so
            ``sd[k].clone()`` snapshots it and loading writes through to the model.
        """
        if args:  # torch's legacy positional order (destination, prefix, keep_vars)
            destination, *rest = args
            if rest:
                prefix = rest[0]
            if len(rest) > 1:
                keep_vars = rest[1]
        out = OrderedDict() if destination is None else destination
        for key, t in self._own_state().items():
            out[prefix + key] = t if keep_vars else Tensor._wrap(t._data)
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values (Tensors or arrays) into parameters and buffers by name.

        Values are copied (cast to each parameter's dtype), not shared.

        Args:
            state_dict: name -> Tensor or array.
            strict: any missing or unexpected key is an error (the default), else reported.
            assign: accepted for torch's signature; values are always copied in place.

        Returns:
            IncompatibleKeys(missing_keys, unexpected_keys).

        Raises:
            StateDictKeyError: ``strict`` and keys differ (a RuntimeError and a KeyError).
            StateDictShapeError: a value's shape differs (a RuntimeError and a ValueError).
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a dict of name -> "
                f"tensor, got {type(state_dict).__name__}"
            )
        own = self._own_state()
        optional = {
            f"{mod_name}.{name}" if mod_name else name
            for mod_name, module in self.named_modules()
            for name in type(module)._optional_state
        }
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise StateDictKeyError(
                f"Error(s) in loading state_dict for {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        values = {}
        for key, t in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value._data if isinstance(value, Tensor) else value
            if type(value) is not type(t._data):  # another device: copy it where t lives
                value = to_device(_array_of(value), t.device)
            if value.shape != t._data.shape:
                raise StateDictShapeError(
                    f"load_state_dict for {type(self).__name__}: size mismatch for {key!r}: "
                    f"shape {value.shape} in the state dict but {t._data.shape} in the model"
                )
            values[key] = value
        for key, value in values.items():  # copy only once every shape is known to fit
            own[key]._data[...] = value
        return IncompatibleKeys(missing, unexpected)
