"""Module: the base of every layer, holding parameters, buffers and sub-modules by attribute.

Registration by attribute assignment gives ``state_dict`` keys like PyTorch's
(``layers.0.weight``); ``state_dict`` holds detached Tensors that share memory with the
parameters and buffers, as torch's does.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import as_device, device, to_device
from nerve.nn.parameter import Parameter


@contextlib.contextmanager
def evaluating(module):
    """Run ``module`` in eval mode for a while, then put every sub-module's mode back as it was
    (including whether it was ever set: a Keras layer that was not keeps Keras's defaults)."""
    states = [
        (m, m.__dict__.get("training"), m.__dict__.get("_mode_set")) for m in module.modules()
    ]
    module.eval()
    try:
        yield module
    finally:
        for m, training, mode_set in states:
            m.__dict__["training"] = training
            if mode_set is None:
                m.__dict__.pop("_mode_set", None)
            else:
                m.__dict__["_mode_set"] = mode_set


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


def _check_name(kind: str, owner, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
    # a plain attribute of that name (a None placeholder aside) would be shadowed
    if owner.__dict__.get(name) is not None:
        raise KeyError(f"attribute {name!r} already exists on {type(owner).__name__}")


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


_HOOK_IDS = itertools.count()

# Bumped when a module's structure changes (a non-Tensor attribute, Parameter or sub-Module set
# or deleted, a registration, a dtype or device move, a hook added or removed): nerve.compiler
# drops its plans then. One list item, bumped in place: cheaper than a module global store.
STRUCTURE_VERSION = [0]
_VERSION = STRUCTURE_VERSION


def _bump_structure() -> None:
    _VERSION[0] += 1


class _Hook:
    """Handle returned by register_*_hook; ``remove()`` unregisters it."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)
        _bump_structure()

    def __enter__(self) -> _Hook:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Module:
    """Base class for all neural-network modules (PyTorch's API).

    Subclasses assign Parameters, buffers and Modules as attributes in ``__init__`` and write
    ``forward``. Calling the module runs the pre-hooks, ``forward`` and the post-hooks.

    >>> from nerve import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter(np.ones(3))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> list(Affine().state_dict())
    ['scale']
    """

    training: bool
    # state a loaded dict may leave out without it counting as missing (it keeps its value):
    # torch's BatchNorm fills in num_batches_tracked for dicts without it
    _optional_state: tuple = ()

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if not (d["_forward_pre_hooks"] or d["_forward_hooks"]):
            return self.forward(*args, **kwargs)
        with_kwargs = d.get("_hooks_with_kwargs", ())
        for key, hook in list(d["_forward_pre_hooks"].items()):
            if key in with_kwargs:  # hook(module, args, kwargs) -> None or (args, kwargs)
                changed = hook(self, args, kwargs)
                if changed is not None:
                    args, kwargs = changed
                    args = args if isinstance(args, tuple) else (args,)
                continue
            changed = hook(self, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
        out = self.forward(*args, **kwargs)
        for key, hook in list(d["_forward_hooks"].items()):
            if key in with_kwargs:
                changed = hook(self, args, kwargs, out)
            else:
                changed = hook(self, args, out)
            if changed is not None:
                out = changed
        return out

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            _VERSION[0] += 1  # STRUCTURE_VERSION, inline: __init__ calls this a lot
            buffers.pop(name, None)
            modules.pop(name, None)
            d.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            _VERSION[0] += 1
            params.pop(name, None)
            buffers.pop(name, None)
            d.pop(name, None)
            modules[name] = value
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            buffers[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "parameter" if name in params else "module"
                raise TypeError(
                    f"cannot assign {type(value).__name__} as {kind} {name!r} of "
                    f"{type(self).__name__} (wrap it in nn.Parameter, or del it first)"
                )
            _VERSION[0] += 1
            (params if name in params else modules)[name] = None
        else:
            if type(value) is not Tensor:  # a plain Tensor attribute is data, not structure
                _VERSION[0] += 1
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            t = d.get(table)
            if t is not None and name in t:
                return t[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        _bump_structure()
        for table in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[table]:
                del self.__dict__[table][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder) under ``name``.

        Raises:
            KeyError: ``name`` is empty, has a dot, or is another attribute already.
            TypeError: ``param`` is not a Parameter or None.
        """
        _check_name("parameter", self, name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} object to parameter {name!r} "
                "(nn.Parameter or None required)"
            )
        self.__dict__.pop(name, None)
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param
        _bump_structure()

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not trained (e.g. ``running_mean``).

        Args:
            name: the attribute name.
            tensor: a Tensor (an array is wrapped) or None.
            persistent: whether ``state_dict`` holds it (torch's default True).

        Raises:
            KeyError: ``name`` is empty, has a dot, or is another attribute already.
        """
        _check_name("buffer", self, name)
        if name in self._parameters:
            raise KeyError(f"attribute {name!r} already exists as a parameter")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self.__dict__.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        _bump_structure()
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (``register_module`` is the same).

        Raises:
            TypeError: ``module`` is not a Module or None.
            KeyError: ``name`` is empty, has a dot, or is another attribute already.
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}): {type(module).__name__} is not a Module")
        _check_name("module", self, name)
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module
        _bump_structure()

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` ("" is self), e.g. ``"features.0"``.

        Raises:
            AttributeError: a step of the path is missing or is not a Module.
        """
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules or mod._modules[item] is None:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``, e.g. ``"head.weight"``.

        Raises:
            AttributeError: the path is missing or does not name a Parameter.
        """
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``.

        Raises:
            AttributeError: the path is missing or does not name a buffer.
        """
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer of {type(mod).__name__}")
        return mod._buffers[name]

    def _add_hook(self, table: str, hook, prepend: bool, with_kwargs: bool) -> _Hook:
        hooks = self.__dict__[table]
        key = next(_HOOK_IDS)
        hooks[key] = hook
        _bump_structure()
        if prepend:
            hooks.move_to_end(key, last=False)
        if with_kwargs:
            self.__dict__.setdefault("_hooks_with_kwargs", set()).add(key)
        return _Hook(hooks, key)

    def register_forward_pre_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False
    ) -> _Hook:
        """Run ``hook`` before forward (torch's signature).

        ``hook(module, args)`` may return new args; with ``with_kwargs``,
        ``hook(module, args, kwargs)`` may return ``(args, kwargs)``. ``prepend`` runs it
        before the hooks already registered.

        Returns:
            A handle whose ``remove()`` unregisters the hook.
        """
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook, *, prepend: bool = False, with_kwargs: bool = False, always_call=False
    ) -> _Hook:
        """Run ``hook`` after forward (torch's signature).

        ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) may return a new output. ``prepend`` runs it before the hooks already
        registered. ``always_call`` is accepted for torch's signature.

        Returns:
            A handle whose ``remove()`` unregisters the hook (also a context manager).
        """
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    # ------------------------------------------------------------------ traversal
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Every module of the tree (self first, depth first) with its dotted name.

        Args:
            memo: ids of modules already yielded (shared with a caller's walk).
            prefix: prepended to every name.
            remove_duplicate: yield a module reached twice only once (torch's default).
        """
        if isinstance(memo, str):  # nerve's older order, named_modules(prefix)
            memo, prefix = None, memo
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [
                (f"{name}.{k}" if name else k, m)
                for k, m in module._modules.items()
                if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a shared parameter once unless remove_duplicate=False."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, non-persistent buffers included."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mod_name, module in modules:
            for name, t in module.__dict__[table].items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every sub-module; returns self.

        Raises:
            ValueError: ``mode`` is not a bool.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            d = m.__dict__
            d["training"] = bool(mode)
            d["_mode_set"] = True  # a Keras layer then follows it (see Layer.__call__)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradients on or off for every parameter (freezing); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: None (torch's default) or zeros in place."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn`` on every sub-module (children first) and on self, e.g. to initialize."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

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

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The module's own settings for its repr (override it; one line or several)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        # torch's layout: extra_repr alone on one line; with children, one line per item
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = self._get_name() + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )
