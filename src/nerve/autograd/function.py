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

import inspect

import numpy as np

from nerve.autograd import amp as _amp
from nerve.autograd import grad_mode
from nerve.autograd.registry import TRACE as _TRACE
from nerve.backend import DEVICE_MODULES as _DEVICE_MODULES
from nerve.device import device_of

_grad_state = grad_mode._state
_modes = grad_mode._modes  # this thread's modes (grad, inference, autocast)


class Edge:
    """Where the gradient of a non-leaf input goes: output ``index`` of ``node`` (and the
    input's shape, to undo broadcasting). It holds no array."""

    __slots__ = ("_node", "_index", "shape")

    def __init__(self, node, index: int, shape: tuple):
        self._node = node
        self._index = index
        self.shape = shape


class Function:
    """Base class of every differentiable op (see the module docstring).

    The same name serves torch-style code: a subclass whose ``forward`` is a ``@staticmethod``
    taking ``(ctx, *inputs)`` works on Tensors, as ``torch.autograd.Function`` does (see
    :mod:`nerve.autograd.custom_function`). The style is read once, when the subclass is made.

    >>> import nerve
    >>> class Square(nerve.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    >>> x = nerve.tensor([1.0, 3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    >>> x.grad
    tensor([2., 6.])
    """

    __slots__ = ("inputs", "needs_input_grad", "n_outputs", "freed", "_epoch", "__dict__")

    op_name = "function"
    #: Indices of the inputs that can carry a gradient; None means every Tensor input.
    differentiable: tuple[int, ...] | None = None
    #: True for torch-style subclasses (staticmethod forward on Tensors); set by __init_subclass__.
    _tensor_level = False
    # Gradient hooks and retain_grad() of this node's outputs, {output index: [...]}; set on the
    # node (in its __dict__) only when a tensor asks, so recording a node costs nothing more.
    _hooks = None
    _retains = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._tensor_level = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward")

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, when a gradient is wanted, record the node."""
        if cls._tensor_level:
            return custom_function.apply(cls, inputs, params)
        self = cls.__new__(cls)
        # One read for both modes: True records the graph, False does not, and a tuple
        # (region, record) means a nerve.autocast region is active (grad_mode._ThreadModes).
        mode = _modes.op
        if mode is not True and mode is not False:  # inputs cast per the op's autocast list
            inputs = _amp.cast_inputs(cls, inputs, mode[0])
            mode = mode[1]
        if _DEVICE_MODULES:  # a device backend is loaded: inputs may live apart
            inputs = _one_device(cls, inputs)
        if not mode:
            # No graph under no_grad: the lean path (inference at batch 1 is mostly this call).
            n = len(inputs)
            self.needs_input_grad = _NO_GRAD[n] if n < len(_NO_GRAD) else [False] * n
            arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
            out = self.forward(*arrays, **params)
            if type(out) is tuple:
                self.n_outputs = len(out)
                result = tuple(Tensor._wrap(_as_array(o)) for o in out)
            else:
                self.n_outputs = 1
                result = Tensor._wrap(_as_array(out))
            if _TRACE["hook"] is not None:  # an ONNX export is tracing (nerve.onnx.trace)
                _TRACE["hook"](cls, inputs, params, result)
            return result
        arrays = []
        needs = []
        links = []  # what the node keeps of each input: see the module docstring
        any_grad = False
        allowed = cls.differentiable
        for i, x in enumerate(inputs):
            if isinstance(x, Tensor):
                arrays.append(x._data)
                need = x.requires_grad and (allowed is None or i in allowed)
                node = x._node
                links.append(x if node is None else Edge(node, x._index, x._data.shape))
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
            self._epoch = _grad_state["inplace"]
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
        self._epoch = _grad_state["inplace"]
        return Tensor._wrap(_as_array(out), self, 0)

    def release(self) -> None:
        """Drop what forward saved and the links to the inputs (the graph is freed)."""
        self.__dict__.clear()
        self.inputs = ()
        self.freed = True

    def name(self) -> str:
        """The node's name as torch prints it in ``grad_fn``: ``MulBackward0``."""
        return f"{type(self).__name__}Backward0"

    @property
    def next_functions(self) -> tuple:
        """``(node, output index)`` per input: the node that made it, an AccumulateGrad for a
        leaf that requires grad, ``(None, 0)`` for an input that takes no gradient."""
        links = []
        for x, need in zip(self.inputs, self.needs_input_grad):
            if not need:
                links.append((None, 0))
            elif x._node is not None:  # an Edge (function.py keeps no non-leaf Tensor)
                links.append((x._node, x._index))
            else:
                links.append((AccumulateGrad(x), 0))
        return tuple(links)

    def register_hook(self, hook):
        raise NotImplementedError(
            f"{self.name()}.register_hook: node hooks are not supported; "
            "use Tensor.register_hook on the tensor instead"
        )

    def __repr__(self):
        return f"<{self.name()}>"


class AccumulateGrad:
    """The node torch shows for a leaf in ``next_functions``: where its gradient lands."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self):
        return "<AccumulateGrad>"


# needs_input_grad under no_grad, by input count (a shared list: ops only read it)
_NO_GRAD = [[False] * n for n in range(32)]


def _as_array(x):
    # NumPy reductions return 0-d results as scalars (np.float32); keep everything an ndarray
    # (or a device array: CuPy gives 0-d arrays already).
    t = type(x)
    return x if t is np.ndarray or t in _DEVICE_MODULES else np.asarray(x)


def _one_device(cls, inputs: tuple) -> tuple:
    """``inputs`` once their Tensors are known to live on one device, as torch wants: a 0-d
    CPU tensor beside device tensors is a number, copied there (differentiably: its gradient
    comes back to the CPU); any other mix is an error naming both devices. Runs only once a
    device backend is loaded."""
    where = None
    for x in inputs:
        if isinstance(x, Tensor) and type(x._data) is not np.ndarray:
            where = device_of(x._data)
            break
    if where is None:
        return inputs  # all on the CPU
    moved = None
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            continue
        here = device_of(x._data)
        if here == where:
            continue
        if here.type == "cpu" and x._data.ndim == 0:
            moved = list(inputs) if moved is None else moved
            moved[i] = device_copy.move(x, where)
            continue
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{where} and {here}! (in {cls.op_name}: input {i} of shape {tuple(x.shape)} is on "
            f"{here}; move it with .to({str(where)!r}))"
        )
    return inputs if moved is None else tuple(moved)


from nerve.autograd import custom_function, device_copy  # noqa: E402  (they subclass Function)
from nerve.autograd.tensor import Tensor  # noqa: E402  (tensor.py imports Function)

# torch.autograd.function's names
FunctionCtx = custom_function.CustomNode
once_differentiable = custom_function.once_differentiable
