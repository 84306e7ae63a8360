"""What every attribution method shares: inputs as tuples of arrays, baselines, targets, gradients.

Captum's conventions, on nerve's autograd: ``inputs`` is a Tensor (or an array) or a tuple of
them, with the batch first; the result has the same form. ``target`` picks, per example, the
output the attribution explains: None (the model returns one value per example), an int (a class
index), a tuple (an index into a multi-dimensional output) or a sequence of those, one per
example. Gradients of the picked outputs come from ``nerve.autograd.grad`` with a one-hot
``grad_outputs``: one forward and one backward for the whole batch.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import Tensor, enable_grad, grad, no_grad


def format_inputs(method: str, inputs) -> tuple[tuple[np.ndarray, ...], bool]:
    """``inputs`` as a tuple of float arrays, and whether the caller passed a tuple."""
    is_tuple = isinstance(inputs, (tuple, list))
    items = tuple(inputs) if is_tuple else (inputs,)
    if not items:
        raise ValueError(f"{method}: inputs is an empty tuple; pass at least one Tensor")
    arrays = []
    for k, x in enumerate(items):
        arr = x._data if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind != "f":
            raise TypeError(
                f"{method}: input {k} has dtype {arr.dtype}; attributions need a floating-point "
                "input (cast it, e.g. x.float())"
            )
        if arr.ndim == 0:
            raise ValueError(f"{method}: input {k} is a scalar; inputs need a batch dimension")
        arrays.append(arr)
    n = arrays[0].shape[0]
    for k, arr in enumerate(arrays):
        if arr.shape[0] != n:
            raise ValueError(
                f"{method}: input {k} has batch size {arr.shape[0]} but input 0 has {n}; "
                "every input needs the same first dimension"
            )
    return tuple(arrays), is_tuple


def format_output(arrays, is_tuple: bool):
    """Arrays back in the form the caller passed: one Tensor or a tuple of Tensors."""
    tensors = tuple(Tensor._wrap(a) for a in arrays)
    return tensors if is_tuple else tensors[0]


def format_args(additional_forward_args) -> tuple:
    """Captum's ``additional_forward_args``: None, one object, or a tuple of them."""
    if additional_forward_args is None:
        return ()
    if isinstance(additional_forward_args, tuple):
        return additional_forward_args
    return (additional_forward_args,)


def expand_args(args: tuple, times: int, interleave: bool = False) -> tuple:
    """Batched extra arguments repeated to follow inputs expanded ``times`` (others as they are)."""
    out = []
    for a in args:
        if isinstance(a, Tensor) or (isinstance(a, np.ndarray) and a.ndim > 0):
            arr = a._data if isinstance(a, Tensor) else a
            arr = np.repeat(arr, times, axis=0) if interleave else np.concatenate([arr] * times)
            out.append(Tensor._wrap(arr) if isinstance(a, Tensor) else arr)
        else:
            out.append(a)
    return tuple(out)


def format_baselines(method: str, baselines, inputs: tuple, allow_batch: bool = True) -> tuple:
    """Baselines as one array (or scalar) per input, checked against the inputs' shapes.

    A baseline is a number, an array of the input's shape, one example ``(1, *features)``, or
    (``allow_batch``: a distribution of baselines) a batch ``(M, *features)``.
    """
    if baselines is None:
        return tuple(np.zeros((1,) + x.shape[1:], x.dtype) for x in inputs)
    items = tuple(baselines) if isinstance(baselines, (tuple, list)) else (baselines,)
    if len(items) != len(inputs):
        raise ValueError(
            f"{method}: {len(items)} baselines given for {len(inputs)} inputs; pass one baseline "
            "per input"
        )
    out = []
    for k, (b, x) in enumerate(zip(items, inputs)):
        if isinstance(b, (int, float)):
            out.append(np.full((1,) + x.shape[1:], b, x.dtype))
            continue
        arr = b._data if isinstance(b, Tensor) else np.asarray(b)
        same = arr.shape == x.shape
        batch_ok = arr.ndim == x.ndim and arr.shape[1:] == x.shape[1:]
        batch_ok = batch_ok and (allow_batch or arr.shape[0] in (1, x.shape[0]))
        if not (same or batch_ok):
            raise ValueError(
                f"{method}: baseline {k} has shape {arr.shape} but input {k} has shape "
                f"{x.shape}; a baseline is a number, an array of the input's shape, or "
                f"(1, {', '.join(map(str, x.shape[1:]))})"
            )
        out.append(arr.astype(x.dtype, copy=False))
    return tuple(out)


class InputsOnly:
    """Within: the model's parameters do not require grad, so backward skips their gradients
    (attributions need the inputs' only, as torch.autograd.grad computes only what it returns)."""

    def __init__(self, forward_func) -> None:
        params = getattr(forward_func, "parameters", None)
        self.params = [p for p in params() if p.requires_grad] if callable(params) else []

    def __enter__(self):
        for p in self.params:
            p.requires_grad = False
        return self

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad = True


def forward(method: str, forward_func, arrays: tuple, args: tuple, requires_grad: bool):
    """Run the model on arrays; returns (the leaf Tensors, the output Tensor)."""
    leaves = tuple(Tensor(a, requires_grad=requires_grad) for a in arrays)
    ctx = enable_grad() if requires_grad else no_grad()
    with ctx, InputsOnly(forward_func):
        out = forward_func(*leaves, *args)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{method}: the model returned a {type(out).__name__}, expected a Tensor (the "
            "forward function must be differentiable by nerve)"
        )
    return leaves, out


def target_mask(method: str, shape: tuple, target, dtype) -> np.ndarray:
    """The one-hot array over the output that ``target`` picks (ones for target=None)."""
    n = shape[0]
    mask = np.zeros(shape, dtype)
    rows = np.arange(n)
    if target is None:
        if int(np.prod(shape[1:], dtype=np.int64)) != 1:
            raise ValueError(
                f"{method}: target is None but the model's output has shape {shape}; pass "
                "target= (a class index, or one per example) to pick the output to explain"
            )
        mask[...] = 1
        return mask
    if isinstance(target, Tensor):
        target = target._data
    if isinstance(target, np.ndarray):
        target = target.tolist() if target.ndim else int(target)
    if isinstance(target, (int, np.integer, tuple)):
        target = [target] * n
    if not isinstance(target, list) or len(target) != n:
        size = len(target) if isinstance(target, list) else type(target).__name__
        raise ValueError(
            f"{method}: target has {size} entries but the batch has {n} examples; pass an int, "
            "a tuple, or one target per example"
        )
    for i, t in enumerate(target):
        idx = tuple(t) if isinstance(t, (tuple, list)) else (t,)
        if len(idx) != len(shape) - 1 or any(
            not isinstance(j, (int, np.integer)) or not -s <= j < s for j, s in zip(idx, shape[1:])
        ):
            raise IndexError(
                f"{method}: target {t!r} (example {i}) is out of range for the model's "
                f"output of shape {shape}"
            )
        mask[(rows[i],) + idx] = 1
    return mask


def select(method: str, out: np.ndarray, target) -> np.ndarray:
    """The picked output value per example, shape (N,)."""
    mask = target_mask(method, out.shape, target, out.dtype)
    # the mask has one 1 per row: a product and a sum pick it exactly
    return (out * mask).reshape(out.shape[0], -1).sum(1)


def gradients(method: str, forward_func, arrays: tuple, target, args: tuple) -> tuple:
    """d(picked outputs)/d(inputs) for a batch, one array per input."""
    leaves, out = forward(method, forward_func, arrays, args, requires_grad=True)
    mask = target_mask(method, out.shape, target, out._data.dtype)
    grads = grad(out, leaves, grad_outputs=Tensor._wrap(mask), materialize_grads=True)
    return tuple(g._data for g in grads)


def evaluate(method: str, forward_func, arrays: tuple, target, args: tuple) -> np.ndarray:
    """The picked output value per example of the model on ``arrays``, without a graph."""
    _, out = forward(method, forward_func, arrays, args, requires_grad=False)
    return select(method, out._data, target)


def convergence_delta(method, forward_func, attributions, starts, ends, target, args):
    """sum(attributions) - (f(end) - f(start)) per example (Captum's convergence delta)."""
    n = ends[0].shape[0]
    starts = tuple(np.broadcast_to(s, e.shape) for s, e in zip(starts, ends))
    end_out = evaluate(method, forward_func, ends, target, args)
    start_out = evaluate(method, forward_func, starts, target, args)
    total = sum(a.reshape(n, -1).sum(1) for a in attributions)
    return Tensor._wrap(total - (end_out - start_out))


def expand_target(target, times: int, interleave: bool = False):
    """A per-example target repeated to follow inputs expanded ``times``."""
    if isinstance(target, Tensor):
        target = target._data
    if isinstance(target, np.ndarray) and target.ndim:
        target = target.tolist()
    if isinstance(target, list):
        return [t for t in target for _ in range(times)] if interleave else target * times
    return target


def check_module(method: str, model) -> None:
    """Methods that hook layers need a Module (nn.Module or a Keras-door model)."""
    from nerve.nn import Module

    if not isinstance(model, Module):
        raise TypeError(
            f"{method}: model must be a nerve Module (nn.Module or a Keras-door Model), got "
            f"{type(model).__name__}"
        )
