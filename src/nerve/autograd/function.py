"""Function: one differentiable op, its forward and its backward, on raw arrays.

A subclass writes ``forward(self, *arrays, **params)`` returning an array (or a tuple of arrays)
and ``backward(self, *grad_outputs)`` returning one gradient per input (``None`` where there is
none). The instance itself is the graph node and the context: forward stores on ``self`` exactly
what backward reads, and ``self.needs_input_grad`` says which inputs want a gradient, so forward
can skip saving for the others. Broadcasting is undone once, in the engine, not in every op.

backward must not modify the arrays it receives (the engine may hand one array to several
places); it may modify arrays it creates itself, and it may return a received array as is.

A recorded node keeps its leaf inputs (their ``.grad`` is where gradients land) but only an
:class:`Edge` for an input another op made: the graph holds what backward saved, never an
intermediate result as such, so each activation is freed once no op needs it (as in torch).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import grad_mode

_grad_state = grad_mode._state


class Edge:
    """Where the gradient of a non-leaf input goes: output ``index`` of ``node`` (and the
    input's shape, to undo broadcasting). It holds no array."""

    __slots__ = ("_node", "_index", "shape")

    def __init__(self, node, index: int, shape: tuple):
        self._node = node
        self._index = index
        self.shape = shape


class Function:
    """Base class of every differentiable op (see the module docstring)."""

    __slots__ = ("inputs", "needs_input_grad", "n_outputs", "freed", "__dict__")

    op_name = "function"
    #: Indices of the inputs that can carry a gradient; None means every Tensor input.
    differentiable: tuple[int, ...] | None = None

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, when a gradient is wanted, record the node."""
        self = cls.__new__(cls)
        if not _grad_state["enabled"]:
            # No graph under no_grad: the lean path (inference at batch 1 is mostly this call).
            n = len(inputs)
            self.needs_input_grad = _NO_GRAD[n] if n < len(_NO_GRAD) else [False] * n
            out = self.forward(*[x.data if isinstance(x, Tensor) else x for x in inputs], **params)
            if type(out) is tuple:
                self.n_outputs = len(out)
                return tuple(Tensor._wrap(_as_array(o)) for o in out)
            self.n_outputs = 1
            return Tensor._wrap(_as_array(out))
        arrays = []
        needs = []
        links = []  # what the node keeps of each input: see the module docstring
        any_grad = False
        allowed = cls.differentiable
        for i, x in enumerate(inputs):
            if isinstance(x, Tensor):
                arrays.append(x.data)
                need = x.requires_grad and (allowed is None or i in allowed)
                node = x._node
                links.append(x if node is None else Edge(node, x._index, x.data.shape))
            else:
                arrays.append(x)
                need = False
                links.append(None)
            needs.append(need)
            any_grad |= need
        self.needs_input_grad = needs
        out = self.forward(*arrays, **params)
        if type(out) is tuple:
            self.n_outputs = len(out)
            if not any_grad:
                return tuple(Tensor._wrap(_as_array(o)) for o in out)
            self.inputs = tuple(links)
            self.freed = False
            # integer outputs (indices) are not differentiable: they stay out of the graph
            return tuple(
                Tensor._wrap(a, self, k) if a.dtype.kind == "f" else Tensor._wrap(a)
                for k, a in enumerate(map(_as_array, out))
            )
        self.n_outputs = 1
        if not any_grad:
            return Tensor._wrap(_as_array(out))
        self.inputs = tuple(links)
        self.freed = False
        return Tensor._wrap(_as_array(out), self, 0)

    def release(self) -> None:
        """Drop what forward saved and the links to the inputs (the graph is freed)."""
        self.__dict__.clear()
        self.inputs = ()
        self.freed = True

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


# needs_input_grad under no_grad, by input count (a shared list: ops only read it)
_NO_GRAD = [[False] * n for n in range(32)]


def _as_array(x):
    # NumPy reductions return 0-d results as scalars (np.float32); keep everything an ndarray.
    return x if type(x) is np.ndarray else np.asarray(x)


from nerve.autograd.tensor import Tensor  # noqa: E402  (tensor.py imports Function)
