"""Reverse-mode backward: iterative topological order, accumulation, un-broadcasting, freeing."""

from __future__ import annotations

import numpy as np


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


def backward(root, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (d loss / d root) to every leaf that requires a gradient.

    Backward functions never modify the gradients they receive, so the engine may hand a
    freshly computed array straight to a leaf's ``.grad``. It copies only what could be shared:
    the caller's own ``grad``, views, and an array already handed to another input.
    """
    handed = {id(grad)}  # arrays given out in this pass (ids; a reused id only costs a copy)
    lent = set()  # leaves whose .grad is such an array, not yet safe to add into in place
    if root._node is None:
        _accumulate_leaf(root, grad, handed, lent)
        return
    pending = {id(root._node): [None] * root._node.n_outputs}
    pending[id(root._node)][root._index] = grad
    owned = set()  # (node id, output index) of sums the engine made, safe to add into in place
    for node in topological_order(root._node):
        grads = pending.pop(id(node), None)
        if grads is None:
            continue
        if node.freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time ({node!r} was freed); "
                "pass retain_graph=True to the first backward if you need to call it twice."
            )
        input_grads = node.backward(*grads)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for t, g, need in zip(node.inputs, input_grads, node.needs_input_grad):
            if not need or g is None:
                continue
            if type(g) is not np.ndarray:  # NumPy gives 0-d results as scalars
                g = np.asarray(g)
            if g.shape != t.shape:  # t: a leaf Tensor or an Edge (function.py)
                g = unbroadcast(g, t.shape)
            child = t._node
            if child is None:
                _accumulate_leaf(t, g, handed, lent)
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


def _accumulate_leaf(t, g: np.ndarray, handed: set, lent: set) -> None:
    if not t.requires_grad:
        return
    if t.grad is None:
        fresh = g.base is None and id(g) not in handed and g.dtype == t.data.dtype
        if fresh:
            lent.add(id(t))
        else:
            # optimizers and clip_grad_norm_ update .grad in place: it must not share memory
            g = np.array(g, dtype=t.data.dtype, copy=True, order="C")
        handed.add(id(g))
        t.grad = t._wrap(g)  # always a plain Tensor, even for a Parameter
    elif id(t) in lent:
        # the lent array may still be read by a node not yet run: add out of place, once
        t.grad.data = t.grad.data + g
        lent.discard(id(t))
    else:
        t.grad.data += g
