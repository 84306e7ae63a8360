"""Reverse-mode backward: iterative topological order, accumulation, un-broadcasting, freeing."""

from __future__ import annotations

import weakref

import numpy as np

from nerve.autograd.grad_mode import _state
from nerve.autograd.inplace import check_saved
from nerve.backend import DEVICE_MODULES as _DEVICE_MODULES

# Gradient hooks of leaf tensors: id(tensor) -> [weakref to it, {handle id: hook}]. Kept here,
# not on the tensor, so a Tensor stays a few slots (most tensors never have a hook).
_leaf_hooks: dict[int, list] = {}


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` back to ``shape`` (the shape of an input that NumPy broadcast)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return np.broadcast_to(grad, shape)  # a 0-d grad for a size-1 input
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def topological_order(root_node) -> list:
    """Nodes reachable from ``root_node``, each after every node that consumes its output."""
    order = []
    visited = set()
    stack = [(root_node, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for t in node.inputs:
            child = getattr(t, "_node", None)
            if child is not None and id(child) not in visited:
                stack.append((child, False))
    order.reverse()
    return order


def backward(root, grad: np.ndarray, retain_graph: bool = False, capture=None) -> None:
    """Propagate ``grad`` (d loss / d root) to every leaf that requires a gradient.

    Backward functions never modify the gradients they receive, so the engine may hand a
    freshly computed array straight to a leaf's ``.grad``. It copies only what could be shared:
    the caller's own ``grad``, views, and an array already handed to another input.

    With ``capture`` (a dict whose keys are ``id(leaf)`` or ``(id(node), output index)``), the
    gradients reaching those places are added into it instead, and no ``.grad`` is touched
    (``autograd.grad``).
    """
    handed = {id(grad)}  # arrays given out in this pass (ids; a reused id only costs a copy)
    lent = set()  # leaves whose .grad is such an array, not yet safe to add into in place
    if root._node is None:
        _accumulate_leaf(root, grad, handed, lent, capture)
        return
    pending = {id(root._node): [None] * root._node.n_outputs}
    pending[id(root._node)][root._index] = grad
    owned = set()  # (node id, output index) of sums the engine made, safe to add into in place
    anomaly = _state.get("anomaly", False)
    for node in topological_order(root._node):
        grads = pending.pop(id(node), None)
        if grads is None:
            continue
        if node.freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({node!r} was freed); "
                "pass retain_graph=True to the first backward if you need to call it twice."
            )
        if node._epoch != _state["inplace"]:  # something changed in place since it was made
            check_saved(node)
        if node._hooks is not None or node._retains is not None:
            _run_node_hooks(node, grads)
        if capture is not None:
            for k, g in enumerate(grads):
                key = (id(node), k)
                if g is not None and key in capture:
                    capture[key] = g if capture[key] is None else capture[key] + g
        input_grads = node.backward(*grads)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if anomaly:
            _check_nan(node, input_grads)
        for t, g, need in zip(node.inputs, input_grads, node.needs_input_grad):
            if not need or g is None:
                continue
            if type(g) is not np.ndarray and type(g) not in _DEVICE_MODULES:
                g = np.asarray(g)  # NumPy gives 0-d results as scalars
            if g.shape != t.shape:  # t: a leaf Tensor or an Edge (function.py)
                g = unbroadcast(g, t.shape)
            child = t._node
            if child is None:
                _accumulate_leaf(t, g, handed, lent, capture)
                continue
            handed.add(id(g))
            slots = pending.get(id(child))
            if slots is None:
                slots = pending[id(child)] = [None] * child.n_outputs
            k = t._index
            if slots[k] is None:
                slots[k] = g
            elif (id(child), k) in owned:
                slots[k] += g
            else:
                slots[k] = slots[k] + g
                owned.add((id(child), k))
        if not retain_graph:
            node.release()


def _check_nan(node, input_grads) -> None:
    """Anomaly mode (``autograd.set_detect_anomaly(True)``): name the node that made a NaN."""
    for k, g in enumerate(input_grads):
        if g is None:
            continue
        kind = g.dtype.kind if hasattr(g, "dtype") else np.asarray(g).dtype.kind
        if kind == "f" and np.isnan(g).any():
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {k}th output.")


def _run_node_hooks(node, grads: list) -> None:
    """Run the hooks of a node's outputs on their summed gradients, then keep retained ones."""
    for k, hooks in (node._hooks or {}).items():
        for hook in list(hooks.values()):
            if grads[k] is None:
                break
            new = hook(_wrap(grads[k]))
            if new is not None:
                grads[k] = _hook_result(new, grads[k], node.name())
    for k, ref in (node._retains or {}).items():
        t = ref()
        if t is not None and grads[k] is not None:
            g = grads[k].copy()
            if t.grad is None:
                t.grad = _wrap(g)
            else:
                t.grad._data = t.grad._data + g


def _hook_result(new, old: np.ndarray, where: str) -> np.ndarray:
    arr = new._data if _is_tensor(new) else _as_array_like(new, old)
    if arr.shape != old.shape:
        raise RuntimeError(
            f"a gradient hook on a tensor of {where} returned a gradient of shape "
            f"{arr.shape}, expected {old.shape}"
        )
    # a hook's result may be the caller's own array: never let the engine add into it
    return arr.astype(old.dtype, copy=True)


def _as_array_like(value, like):
    """``value`` (an array or array-like a hook returned) as an array on ``like``'s device."""
    module = _DEVICE_MODULES.get(type(like))
    return np.asarray(value) if module is None else module.asarray(value)


def _wrap(a):
    from nerve.autograd.tensor import Tensor

    return Tensor._wrap(a)


def _is_tensor(x) -> bool:
    from nerve.autograd.tensor import Tensor

    return isinstance(x, Tensor)


def _accumulate_leaf(t, g: np.ndarray, handed: set, lent: set, capture=None) -> None:
    if not t.requires_grad:
        return
    if _leaf_hooks:
        entry = _leaf_hooks.get(id(t))
        if entry is not None and entry[0]() is t:
            for hook in list(entry[1].values()):
                new = hook(_wrap(g))
                if new is not None:
                    g = _hook_result(new, g, "a leaf")
                    handed.discard(id(g))
    if capture is not None:
        if id(t) in capture:
            prev = capture[id(t)]
            capture[id(t)] = g if prev is None else prev + g
        return
    if t.grad is None:
        fresh = g.base is None and id(g) not in handed and g.dtype == t._data.dtype
        if fresh:
            lent.add(id(t))
        else:
            # optimizers and clip_grad_norm_ update .grad in place: it must not share memory
            g = g.astype(t._data.dtype, order="C", copy=True)
        handed.add(id(g))
        t.grad = t._wrap(g)  # always a plain Tensor, even for a Parameter
    elif id(t) in lent:
        # the lent array may still be read by a node not yet run: add out of place, once
        t.grad._data = t.grad._data + g
        lent.discard(id(t))
    else:
        t.grad._data += g


def add_leaf_hook(t, hook) -> int:
    """Register ``hook`` on the leaf ``t``; returns the key that removes it."""
    entry = _leaf_hooks.get(id(t))
    if entry is None or entry[0]() is not t:
        key = id(t)

        def forget(ref, key=key):
            e = _leaf_hooks.get(key)
            if e is not None and e[0] is ref:
                del _leaf_hooks[key]

        entry = _leaf_hooks[key] = [weakref.ref(t, forget), {}]
    handle = _next_handle()
    entry[1][handle] = hook
    return handle


def remove_leaf_hook(t, handle: int) -> None:
    entry = _leaf_hooks.get(id(t))
    if entry is not None and entry[0]() is t:
        entry[1].pop(handle, None)


_handles = [0]


def _next_handle() -> int:
    _handles[0] += 1
    return _handles[0]
