"""In-place changes to tensors, with torch's rules, and the version counter that checks them.

Rules (as torch): an in-place op on a leaf that requires grad is an error while grad mode is on;
on any other tensor it is allowed, and when a gradient is wanted the tensor's node becomes the
in-place op's (``out += identity`` in a residual block gets the right gradient). Its data is
changed in place, so views and other holders of the array see the change.

Versions: every in-place change counts one against the memory it wrote (the root ndarray that
owns it, shared by every view) and moves a global clock. A node records the clock when it is made;
backward looks at the arrays a node saved only when the clock moved since, and fails as torch does
when one of them was changed: its gradient would be computed from the wrong values.
"""

from __future__ import annotations

import weakref

import numpy as np

from nerve.autograd.grad_mode import _INPLACE_TICKS, _modes, _state
from nerve.autograd.registry import TRACE
from nerve.backend import DEVICE_MODULES as _DEVICE_MODULES
from nerve.device import device_of

# id(root array) -> [weakref to it, version (in-place changes so far), clock of the latest]
_versions: dict[int, list] = {}


def root_of(array: np.ndarray) -> np.ndarray:
    """The ndarray that owns ``array``'s memory (``array`` itself when it is no view); a device
    array's owner is a device array of the same type."""
    base = array.base
    while isinstance(base, np.ndarray) or (base is not None and type(base) in _DEVICE_MODULES):
        array = base
        base = array.base
    return array


def _forget(key: int):
    def callback(ref):
        entry = _versions.get(key)
        if entry is not None and entry[0] is ref:
            del _versions[key]

    return callback


def bump(array: np.ndarray) -> None:
    """Record one in-place change to ``array``'s memory."""
    root = root_of(array)
    # The tick is taken atomically; stores may land out of order under threads, which only
    # makes backward check for changes it did not need to (never miss one: a change made
    # after a node takes a tick larger than the node's, and stores something else than it).
    tick = _state["inplace"] = next(_INPLACE_TICKS)
    key = id(root)
    entry = _versions.get(key)
    if entry is None or entry[0]() is not root:
        entry = _versions[key] = [weakref.ref(root, _forget(key)), 0, 0]
    entry[1] += 1
    entry[2] = tick


def version(array: np.ndarray) -> int:
    """How many in-place changes ``array``'s memory has had (torch's ``Tensor._version``)."""
    root = root_of(array)
    entry = _versions.get(id(root))
    return entry[1] if entry is not None and entry[0]() is root else 0


def _changed_since(array, clock: int) -> bool:
    root = root_of(array)
    entry = _versions.get(id(root))
    return entry is not None and entry[2] > clock and entry[0]() is root


def saved_arrays(node):
    """The arrays a node's forward kept for backward (its attributes, one level into tuples)."""
    for value in node.__dict__.values():
        t = type(value)
        if t is np.ndarray or t in _DEVICE_MODULES:
            yield value
        elif t in (tuple, list):
            for v in value:
                if type(v) is np.ndarray or type(v) in _DEVICE_MODULES:
                    yield v


def check_saved(node) -> None:
    """Raise torch's error when an array ``node`` saved was changed in place after it was made.

    Called by the engine only for nodes made before the latest in-place change.
    """
    for a in saved_arrays(node):
        if _changed_since(a, node._epoch):
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: an array of shape {list(a.shape)} and dtype {a.dtype} "
                f"saved by {node.name()} is at version {version(a)}, changed after it was "
                "saved. Hint: the in-place operation (add_, mul_, +=, x[...] = ...) ran between "
                "the forward pass and backward(); use its out-of-place form (x = x + y) or "
                ".clone() the tensor first."
            )


def _saves(node, root: np.ndarray) -> bool:
    return any(root_of(a) is root for a in saved_arrays(node))


def check_leaf(t, what: str) -> None:
    """The error for an in-place op on a leaf that requires grad while grad mode is on."""
    if t.requires_grad and t._node is None and _modes.enabled:
        raise RuntimeError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({what}). Do it under nerve.no_grad() (a parameter update), or write the "
            "out-of-place form (x = x + y)."
        )


# ops whose output may share memory with their input (a NumPy view)
_VIEW_OPS = frozenset({"reshape", "permute", "expand", "split", "getitem", "flip"})


def _needs_graph(t, operands) -> bool:
    if not _modes.enabled:
        return False
    return t.requires_grad or any(getattr(o, "requires_grad", False) for o in operands)


def _castable(t, result_dtype, what: str) -> None:
    if result_dtype != t._data.dtype and not np.can_cast(result_dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(
            f"{what}: result type {result_dtype} can't be cast to the desired output type "
            f"{t._data.dtype} (the tensor changed in place keeps its dtype)"
        )


def update(t, what: str, compute, operands=(), fast=None):
    """Change ``t`` in place to ``compute(t)`` and return ``t``.

    Args:
        t: the Tensor to change.
        what: the op's name, for errors.
        compute: Tensor -> Tensor, the out-of-place op (differentiable, from nerve.primitives).
        operands: the other Tensors the result depends on (to see whether a graph is wanted).
        fast: ndarray -> None, the same change done by NumPy in place, used when no gradient is
            wanted (the optimizer-update path); None means compute and copy.

    Raises:
        RuntimeError: ``t`` is a leaf that requires grad and grad mode is on; the result's dtype
            cannot be stored in ``t``.
    """
    from nerve.autograd.tensor import Tensor  # tensor.py imports this module

    check_leaf(t, what)
    if _DEVICE_MODULES and operands and _apart(t, what, operands, Tensor):
        fast = None  # a 0-d CPU operand: the out-of-place op copies it to t's device
    if TRACE["hook"] is not None:
        return _traced(t, what, compute)
    if not _needs_graph(t, operands):
        if fast is not None:
            try:
                fast(t._data)
            except TypeError as exc:  # NumPy's UFuncTypeError: same_kind casting refused
                raise RuntimeError(f"{what}: {exc}") from None
        else:
            result = compute(Tensor._wrap(t._data))._data
            _castable(t, result.dtype, what)
            np.copyto(t._data, np.broadcast_to(result, t._data.shape), casting="unsafe")
        bump(t._data)
        return t
    if t._node is not None and t._node.op_name in _VIEW_OPS and t._data.base is not None:
        # torch would rewrite the base tensor's graph too (CopySlices); nerve does not, and
        # changing the base's memory behind its graph would give it a wrong gradient
        raise RuntimeError(
            f"{what} on a view (the output of {t._node.op_name}) of a tensor in the graph is "
            "not supported: call .clone() on it first, or use the out-of-place form"
        )
    src = Tensor._wrap(t._data, t._node, t._index)
    src.requires_grad = t.requires_grad
    result = compute(src)
    root = root_of(t._data)
    if result._node is not None and _saves(result._node, root):
        # the op kept the old values for its backward (mul_, pow_...): give it its own copy
        src = Tensor._wrap(t._data.copy(), t._node, t._index)
        src.requires_grad = t.requires_grad
        result = compute(src)
    _castable(t, result._data.dtype, what)
    if result._data.dtype != t._data.dtype:
        result = result.to(t._data.dtype)
    if result._data.shape != t._data.shape:
        raise RuntimeError(
            f"{what}: the result has shape {result._data.shape}, which cannot be stored in a "
            f"tensor of shape {t._data.shape} in place"
        )
    np.copyto(t._data, result._data)
    bump(t._data)
    t._node = result._node
    t._index = result._index
    t.requires_grad = result.requires_grad
    if t._node is not None:
        # the values now live in t._data: nodes made from here on see the new clock
        t._node._epoch = _state["inplace"]
    return t


def _apart(t, what: str, operands, tensor_type) -> bool:
    """Check that the Tensors among ``operands`` live on ``t``'s device, as the out-of-place
    ops do (torch's rule): a 0-d CPU tensor is a number and may sit beside a device tensor
    (returns True: it must be copied there); any other mix is an error naming both devices.
    Runs only once a device backend is loaded."""
    where = device_of(t._data)
    scalar = False
    for i, x in enumerate(operands):
        if not isinstance(x, tensor_type):
            continue
        here = device_of(x._data)
        if here == where:
            continue
        if here.type == "cpu" and x._data.ndim == 0:
            scalar = True
            continue
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{where} and {here}! (in {what}: the tensor changed in place is on {where}, "
            f"operand {i} of shape {tuple(x.shape)} is on {here}; move it with "
            f".to({str(where)!r}))"
        )
    return scalar


def _traced(t, what: str, compute):
    """update() while nerve.onnx traces a forward pass: the op runs out of place (so the trace
    records it) and ``t`` takes the result's array; the old array keeps its values."""
    from nerve.autograd.tensor import Tensor

    src = Tensor._wrap(t._data, t._node, t._index)
    src.requires_grad = t.requires_grad
    result = compute(src)
    _castable(t, result._data.dtype, what)
    if result._data.dtype != t._data.dtype:
        result = result.to(t._data.dtype)
    if result._data.shape != t._data.shape:
        raise RuntimeError(
            f"{what}: the result has shape {result._data.shape}, which cannot be stored in a "
            f"tensor of shape {t._data.shape} in place"
        )
    t._data = result._data
    if _modes.enabled and result.requires_grad:
        t._node, t._index, t.requires_grad = result._node, result._index, True
    return t


def overwrite(t, what: str, values) -> None:
    """Set every element of ``t`` from ``values`` (an ndarray or scalar), cutting the old graph.

    The new values do not depend on the old ones, so no gradient flows back through ``t``.
    """
    check_leaf(t, what)
    np.copyto(t._data, values, casting="unsafe")
    bump(t._data)
    if t._node is not None:
        t._node = None
        t._index = 0
        t.requires_grad = False
