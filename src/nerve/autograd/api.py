"""torch.autograd's functions: ``grad``, ``backward``, ``gradcheck`` (torch's signatures)."""

from __future__ import annotations

import numpy as np

from nerve.autograd import engine
from nerve.autograd.tensor import Tensor


def _as_tuple(x, what: str) -> tuple:
    items = (x,) if isinstance(x, Tensor) else tuple(x)
    for k, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: element {k} is a {type(t).__name__}, expected a Tensor")
    return items


def _root_gradient(out: Tensor, g, what: str) -> np.ndarray:
    if g is None:
        if out._data.size != 1:
            raise RuntimeError(
                f"{what}: grad can be implicitly created only for scalar outputs; output of "
                f"shape {out._data.shape} needs a grad_outputs entry of that shape"
            )
        return np.ones_like(out._data)
    arr = g._data if isinstance(g, Tensor) else np.asarray(g)
    if arr.shape != out._data.shape:
        raise RuntimeError(
            f"{what}: Mismatch in shape: grad_output has a shape of {arr.shape} and output "
            f"has a shape of {out._data.shape}"
        )
    return arr.astype(out._data.dtype, copy=False)


def _run(outputs, grad_outputs, retain_graph: bool, capture, what: str) -> None:
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"{what}: grad_outputs has {len(grad_outputs)} entries but there are "
            f"{len(outputs)} outputs"
        )
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(
                f"{what}: element {k} of tensors does not require grad and does not have a grad_fn"
            )
        last = k == len(outputs) - 1
        root = _root_gradient(out, g, what)
        engine.backward(out, root, retain_graph=retain_graph or not last, capture=capture)


def _key(t: Tensor):
    return id(t) if t._node is None else (id(t._node), t._index)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused=None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not put in ``.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors to differentiate.
        inputs: a Tensor or a sequence of Tensors (leaves or not) to differentiate against.
        grad_outputs: d(loss)/d(output) per output (None for a one-element output).
        retain_graph: keep the graph for another backward (default: free it).
        create_graph: not supported (nerve's backward records no graph).
        allow_unused: return None for an input the outputs do not depend on, instead of
            raising.
        materialize_grads: return zeros instead of None for such inputs.

    Returns:
        A tuple with one gradient Tensor (or None) per input.

    Raises:
        RuntimeError: an input was not used (without ``allow_unused``); an output does not
            require grad; a grad_output has the wrong shape.
        NotImplementedError: ``create_graph=True`` or ``is_grads_batched=True``.
    """
    if create_graph:
        raise NotImplementedError(
            "autograd.grad(create_graph=True): nerve's backward records no graph, so "
            "higher-order gradients are not supported"
        )
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    outputs = _as_tuple(outputs, "autograd.grad outputs")
    inputs = _as_tuple(inputs, "autograd.grad inputs")
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(
                f"autograd.grad: input {k} does not require grad (set requires_grad=True)"
            )
    capture = {_key(t): None for t in inputs}
    _run(outputs, grad_outputs, bool(retain_graph), capture, "autograd.grad")
    result = []
    for k, t in enumerate(inputs):
        g = capture[_key(t)]
        if g is None:
            if materialize_grads:
                result.append(Tensor._wrap(np.zeros_like(t._data)))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {k} was not used in the graph of the outputs; "
                    "pass allow_unused=True if this is intended"
                )
            result.append(None)
            continue
        g = g.astype(t._data.dtype, copy=True)  # on its device
        result.append(Tensor._wrap(g.reshape(t._data.shape) if g.shape != t.shape else g))
    return tuple(result)


def backward(
    tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None
) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad`` (torch's function form
    of ``Tensor.backward``, for several outputs at once).

    Raises:
        RuntimeError: as :meth:`Tensor.backward`.
        NotImplementedError: ``create_graph=True``.
    """
    if create_graph:
        raise NotImplementedError(
            "autograd.backward(create_graph=True): nerve's backward records no graph"
        )
    tensors = _as_tuple(tensors, "autograd.backward tensors")
    if inputs is not None:
        inputs = _as_tuple(inputs, "autograd.backward inputs")
        capture = {_key(t): None for t in inputs}
        _run(tensors, grad_tensors, bool(retain_graph), capture, "autograd.backward")
        _store(inputs, capture)
        return
    _run(tensors, grad_tensors, bool(retain_graph), None, "autograd.backward")


def backward_into(root: Tensor, grad: np.ndarray, retain_graph: bool, inputs) -> None:
    """``root.backward(grad, inputs=...)``: only ``inputs`` get their ``.grad``."""
    inputs = _as_tuple(inputs, "backward inputs")
    capture = {_key(t): None for t in inputs}
    engine.backward(root, grad, retain_graph=retain_graph, capture=capture)
    _store(inputs, capture)


def _store(inputs, capture) -> None:
    for t in inputs:
        g = capture[_key(t)]
        if g is None:
            continue
        g = g.astype(t._data.dtype, copy=True)  # on its device
        if t.grad is None:
            t.grad = Tensor._wrap(g)
        else:
            t.grad._data = t.grad._data + g


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    **ignored,
) -> bool:
    """torch.autograd.gradcheck: ``func``'s backward against central differences.

    Args:
        func: takes the inputs, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of them (and other values); those that require grad are
            checked.
        raise_exception: raise on a mismatch (True) or return False.

    Returns:
        True when the gradients agree (False on a mismatch when ``raise_exception=False``).

    Raises:
        nerve.testing.GradcheckError: the gradients disagree (an AssertionError).
    """
    from nerve.testing import GradcheckError
    from nerve.testing import gradcheck as _check

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    # only the Tensors go through the check; other arguments (None, numbers) pass as they are
    where = [k for k, x in enumerate(inputs) if isinstance(x, Tensor)]
    wrt = [i for i, k in enumerate(where) if inputs[k].requires_grad]

    def call(*tensors):
        args = list(inputs)
        for k, t in zip(where, tensors):
            args[k] = t
        return func(*args)

    try:
        return _check(call, *(inputs[k] for k in where), wrt=wrt, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def Variable(data, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """torch's legacy ``Variable(tensor, requires_grad=...)``: the tensor itself (sharing its
    data), requiring grad when asked. Old tutorials wrap every tensor in one.

    Raises:
        TypeError: ``data`` is not a Tensor.
    """
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    t = Tensor._wrap(data._data, data._node, data._index)
    t.requires_grad = data.requires_grad
    return t.requires_grad_(True) if requires_grad else t


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a nerve Tensor (torch.is_tensor)."""
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    """Whether ``t`` has a floating-point dtype (torch.is_floating_point)."""
    return t._data.dtype.kind == "f"


def numel(t: Tensor) -> int:
    """The number of elements of ``t`` (torch.numel)."""
    return t._data.size
