"""What a compiled call is keyed and checked on: its inputs (flattened into arrays and a
hashable signature, perturbed for the check), the model state a run may change (buffers, the
random generator, gradients), and the reasons a model is refused a plan."""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.autograd.tensor import Tensor


# ----------------------------------------------------------------------------- inputs
def flatten(obj, leaves: list):
    """The arrays of a nested structure of Tensors/arrays (into ``leaves``) and its shape
    description, hashable, to key the cache and rebuild the structure.

    A leaf is keyed on its shape, dtype, strides (whether an op returns a view or a copy
    depends on them), array type (the device) and ``requires_grad``; a Python value on its
    type and value (``2`` and ``2.0`` are other programs)."""
    if isinstance(obj, Tensor):
        a = obj._data
        leaves.append(a)
        return ("T", a.shape, a.dtype, a.strides, type(a), obj.requires_grad)
    if isinstance(obj, np.ndarray):
        leaves.append(obj)
        return ("T", obj.shape, obj.dtype, obj.strides, type(obj), False)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(flatten(o, leaves) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, flatten(v, leaves)) for k, v in obj.items()))
    try:
        hash(obj)
    except TypeError:
        raise TypeError(
            f"nerve.compile: cannot key a call on an argument of type {type(obj).__name__}; "
            "pass Tensors, arrays, or hashable Python values"
        ) from None
    return ("c", type(obj), obj)


def _wants_grad(spec) -> bool:
    """Whether a leaf of ``spec`` (from :func:`flatten`) is a Tensor that requires grad."""
    kind = spec[0]
    if kind == "T":
        return spec[5]
    if kind == "c":
        return False
    if kind == "dict":
        return any(_wants_grad(s) for _, s in spec[1])
    return any(_wants_grad(s) for s in spec[1])


def unflatten(spec, tensors: list, pos: list):
    """Rebuild the structure ``spec`` from ``tensors`` (consumed from ``pos[0]``)."""
    kind = spec[0]
    if kind == "T":
        t = tensors[pos[0]]
        pos[0] += 1
        return t
    if kind == "c":
        return spec[2]
    if kind == "dict":
        return {k: unflatten(s, tensors, pos) for k, s in spec[1]}
    items = [unflatten(s, tensors, pos) for s in spec[1]]
    return tuple(items) if kind == "tuple" else items


def _perturbed(a: np.ndarray) -> np.ndarray:
    """Other values of the same shape and dtype, in the same range (labels and ids stay valid):
    the elements rolled by one in flat order (so an integer input of one row changes too),
    then, for floats, an affine change. A fresh array, so two inputs that were one array at the
    call are two values in the recording."""
    b = np.roll(a.reshape(-1), 1).reshape(a.shape)
    if a.dtype.kind == "f":
        b = np.asarray(b * a.dtype.type(0.75) + a.dtype.type(0.125), dtype=a.dtype)
    return b


def _leaves(structure, out: list) -> list:
    if isinstance(structure, Tensor):
        out.append(structure._data)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            _leaves(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            _leaves(s, out)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    )


# ----------------------------------------------------------------------------- state
def _buffers(modules) -> list:
    """Buffers and parameters that take no gradient (Keras's non-trainable weights, such as
    BatchNormalization's moving statistics): the state a forward pass may update."""
    seen, found = set(), []
    for m in modules:
        if m is None:
            continue
        state = list(m.buffers()) + [p for p in m.parameters() if not p.requires_grad]
        for b in state:
            if b is not None and id(b) not in seen:
                seen.add(id(b))
                found.append(b)
    return found


def _parameters(modules) -> list:
    seen, found = set(), []
    for m in modules:
        if m is None:
            continue
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                found.append(p)
    return found


class _State:
    """The random generator's state and every buffer's values, to put back after a check."""

    def __init__(self, buffers: list):
        self.rng = backend.rng().bit_generator.state
        self.buffers = [(b, b._data.copy()) for b in buffers]

    def restore(self) -> None:
        backend.rng().bit_generator.state = self.rng
        for b, saved in self.buffers:
            if b._data.shape == saved.shape and b._data.dtype == saved.dtype:
                np.copyto(b._data, saved)
            else:
                b._data = saved.copy()


def _side_effects(before: _State, recording) -> tuple[list, str | None]:
    """Buffers the run changed outside nerve's ops: integer counters (BatchNorm's
    ``num_batches_tracked``) are replayed as the same increment; anything else is refused."""
    read_by_ops = set()
    for ev in recording.events:
        for r in ev.refs:
            if r[0] == "p":
                read_by_ops.add(id(r[1]))
    counters = []
    for b, old in before.buffers:
        new = b._data
        if new.shape == old.shape and _same(new, old):
            continue
        if id(b) in read_by_ops and new.dtype.kind == "f":
            continue  # an op updated it in place (running statistics): replayed with the op
        if new.dtype.kind in "iu" and new.shape == old.shape:
            counters.append((b, (new - old).astype(new.dtype)))
            continue
        return [], f"it changes a buffer of shape {old.shape} outside nerve's ops"
    return counters, None


def _refuse_reason(modules, leaves=()) -> str | None:
    for a in leaves:
        if type(a) is not np.ndarray:
            return "its inputs live on a device other than the CPU (plans are NumPy-only)"
    for m in modules:
        if m is None:
            continue
        for sub in m.modules():
            if sub.__dict__.get("_forward_hooks") or sub.__dict__.get("_forward_pre_hooks"):
                return (
                    f"{type(sub).__name__} has forward hooks (a plan runs no module, so hooks "
                    "would not run)"
                )
            if (
                sub.training
                and getattr(sub, "track_running_stats", False)
                and getattr(sub, "momentum", 0.1) is None
            ):
                return (
                    f"{type(sub).__name__}(momentum=None) takes its momentum from the batch "
                    "counter at each step"
                )
    return None


def _call_args(spec, tensors: list) -> tuple[tuple, dict]:
    """The positional and keyword arguments of a call keyed as ``spec`` (see ``_key``)."""
    pos = [0]
    if spec[0] == "kw":
        return unflatten(spec[1], tensors, pos), unflatten(spec[2], tensors, pos)
    return unflatten(spec, tensors, pos), {}


def _random_outside(drawn) -> str | None:
    # The plan, run from the same generator state as the recording, must draw as much: a
    # random tensor made outside nerve's ops (nerve.randn_like in forward) is a constant in the
    # plan, and the check alone cannot see it (eager on the same state draws the same values).
    if backend.rng().bit_generator.state != drawn:
        return (
            "it draws random numbers outside nerve's ops (e.g. nerve.randn_like in forward): "
            "the plan would replay them as constants"
        )
    return None


def _put_grads(params: list, saved: list) -> None:
    """Give each parameter back the gradient (object and values) it had."""
    for p, (g, values) in zip(params, saved):
        p.grad = g
        if g is not None:
            g._data = values


def _grad_values(params: list) -> list:
    return [p.grad._data.copy() for p in params if p.grad is not None]


def _loss_tensor(out) -> Tensor:
    found = []
    _first_tensor(out, found)
    if not found:
        raise TypeError("nerve.compile: the train function returned no Tensor (the loss)")
    return found[0]


def _first_tensor(out, found: list) -> None:
    if found:
        return
    if isinstance(out, Tensor):
        found.append(out)
    elif isinstance(out, (list, tuple)):
        for o in out:
            _first_tensor(o, found)
    elif isinstance(out, dict):
        for o in out.values():
            _first_tensor(o, found)


def _detached(out):
    if isinstance(out, Tensor):
        return Tensor._wrap(out._data)
    if isinstance(out, (list, tuple)):
        return type(out)(_detached(o) for o in out)
    if isinstance(out, dict):
        return {k: _detached(v) for k, v in out.items()}
    return out
