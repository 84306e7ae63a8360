"""Tensor gradient hooks and ``retain_grad``, as torch has them.

A leaf's hooks live in the engine's table (keyed by the tensor), and run before its gradient is
added into ``.grad``. A non-leaf's hooks live on the node that made it, under the output index,
and run on its summed gradient before that node's backward; ``retain_grad`` stores that gradient
into the tensor's ``.grad`` after the hooks (torch runs it last too).
"""

from __future__ import annotations

import weakref

from nerve.autograd import engine


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    __slots__ = ("_remove",)

    def __init__(self, remove):
        self._remove = remove

    def remove(self) -> None:
        self._remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def register(t, hook) -> RemovableHandle:
    """Register ``hook(grad) -> grad or None`` on tensor ``t`` (see the module docstring)."""
    if not callable(hook):
        raise TypeError(f"register_hook expects a callable, got {type(hook).__name__}")
    if t._node is None:
        key = engine.add_leaf_hook(t, hook)
        ref = weakref.ref(t)

        def remove_leaf():
            leaf = ref()
            if leaf is not None:
                engine.remove_leaf_hook(leaf, key)

        return RemovableHandle(remove_leaf)
    node, index = t._node, t._index
    if node._hooks is None:
        node._hooks = {}
    hooks = node._hooks.setdefault(index, {})
    key = engine._next_handle()
    hooks[key] = hook
    return RemovableHandle(lambda: hooks.pop(key, None))


def retain(t) -> None:
    """Keep the gradient of the non-leaf ``t`` in ``t.grad`` (nothing to do for a leaf)."""
    if t._node is None:
        return
    node = t._node
    if node._retains is None:
        node._retains = {}
    node._retains[t._index] = weakref.ref(t)


def retains(t) -> bool:
    """Whether ``retain_grad()`` was called on the non-leaf ``t``."""
    node = t._node
    if node is None or node._retains is None:
        return False
    ref = node._retains.get(t._index)
    return ref is not None and ref() is t
