"""Module: the base of every layer, holding parameters, buffers and sub-modules by attribute.

Registration by attribute assignment gives ``state_dict`` keys like PyTorch's
(``layers.0.weight``); ``state_dict`` holds detached Tensors that share memory with the
parameters and buffers, as torch's does.

This file holds the core (registration by attribute, the call with its hooks, traversal, modes,
printing); ``state_dict`` / ``load_state_dict`` and the dtype and device moves live in
:mod:`nerve.nn.module_state`, a base class of Module.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.nn.module_state import (
    STRUCTURE_VERSION,
    IncompatibleKeys,
    ModuleState,
    StateDictKeyError,
    StateDictShapeError,
    _bump_structure,
)
from nerve.nn.parameter import Parameter

# Module's public names; state_dict, dtype and device moves live in module_state.py (ModuleState)
__all__ = [
    "STRUCTURE_VERSION",
    "IncompatibleKeys",
    "Module",
    "StateDictKeyError",
    "StateDictShapeError",
    "evaluating",
]

_VERSION = STRUCTURE_VERSION  # one list, bumped in place by Module.__setattr__


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


_HOOK_IDS = itertools.count()


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


class Module(ModuleState):
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
