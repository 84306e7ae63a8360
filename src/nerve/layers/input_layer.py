"""Input, InputLayer and KerasTensor: the symbolic side of the functional API.

Calling a layer on a KerasTensor does not compute: it records a node (the layer, its arguments
and its symbolic outputs) and returns KerasTensors whose shapes come from running the layer once
on a small zero batch. ``models.Model(inputs, outputs)`` replays the nodes on real tensors.
"""

from __future__ import annotations

import operator

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer, unique_name
from nerve.nn.module import evaluating


class KerasTensor:
    """A placeholder with a shape (batch dim None), a dtype and the node that made it."""

    __slots__ = ("shape", "dtype", "name", "node", "index", "__weakref__")

    def __init__(self, shape, dtype="float32", name: str | None = None, node=None, index=0):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.name, self.node, self.index = name, node, index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"

    def __hash__(self):
        return id(self)


class Node:
    """One call of ``layer`` on symbolic arguments, with its symbolic outputs."""

    __slots__ = ("layer", "args", "kwargs", "inputs", "outputs")

    def __init__(self, layer, args, kwargs, inputs, outputs):
        self.layer, self.args, self.kwargs = layer, args, kwargs
        self.inputs, self.outputs = inputs, outputs


def _flatten(structure, out: list) -> list:
    if isinstance(structure, KerasTensor):
        out.append(structure)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            _flatten(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            _flatten(s, out)
    return out


def has_symbolic(structure) -> bool:
    return bool(_flatten(structure, []))


def substitute(structure, values: dict):
    """``structure`` with every KerasTensor replaced by ``values[id(kt)]``."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, list):
        return [substitute(s, values) for s in structure]
    if isinstance(structure, tuple):
        return tuple(substitute(s, values) for s in structure)
    if isinstance(structure, dict):
        return {k: substitute(v, values) for k, v in structure.items()}
    return structure


def _dummy(kt: KerasTensor, size: int) -> Tensor:
    # batch dim: 2 or 3; other unknown dims (sequence length, image size): 32 or 33, large
    # enough for kernels and pools to fit
    shape = tuple(
        (size if i == 0 else 30 + size) if s is None else s for i, s in enumerate(kt.shape)
    )
    kind = kt.dtype.kind
    data = np.zeros(shape, kt.dtype) if kind == "f" else np.ones(shape, kt.dtype)
    return Tensor._wrap(data)


def symbolic_call(layer: Layer, args: tuple, kwargs: dict):
    """Record ``layer(*args, **kwargs)`` on KerasTensors and return symbolic outputs.

    Output shapes come from running the layer in eval mode on zero batches of size 2 and 3
    (unknown non-batch dims 32 and 33); dims that differ between the two runs are None.
    """
    inputs = _flatten((args, kwargs), [])
    # Shapes come from inference runs: a recorded training=True (e.g. a BatchNormalization
    # called with it) must not update statistics with the zero batches.
    shape_kwargs = {**kwargs, "training": False} if "training" in kwargs else kwargs
    runs = []
    with evaluating(layer), no_grad():
        for size in (2, 3):
            values = {id(kt): _dummy(kt, size) for kt in inputs}
            out = Layer.__call__(
                layer, *substitute(args, values), **substitute(shape_kwargs, values)
            )
            runs.append(out)
    outs_a = runs[0] if isinstance(runs[0], (list, tuple)) else [runs[0]]
    outs_b = runs[1] if isinstance(runs[1], (list, tuple)) else [runs[1]]
    node = Node(layer, args, kwargs, inputs, [])
    for k, (a, b) in enumerate(zip(outs_a, outs_b)):
        shape = tuple(None if da != db else da for da, db in zip(a.shape, b.shape))
        node.outputs.append(
            KerasTensor(shape, a.dtype, name=f"{layer.name}_{k}", node=node, index=k)
        )
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)
    layer.__dict__["output_shape"] = (
        node.outputs[0].shape if len(node.outputs) == 1 else [o.shape for o in node.outputs]
    )
    if isinstance(runs[0], (list, tuple)):
        return type(runs[0])(node.outputs)
    return node.outputs[0]


class OperationLayer(Layer):
    """A function of tensors recorded in a functional graph: a ``keras.ops`` call or a Python
    operator on symbolic tensors (``x * 2``, ``x[:, -1]``). No weights; not serializable.

    Args:
        op: the function; the layer's call runs ``op(*args, **kwargs)`` on the real tensors.
    """

    def __init__(self, op, **kwargs):
        name = kwargs.pop("name", None) or unique_name(f"{op.__name__.strip('_')}_op")
        super().__init__(name=name, **kwargs)
        self.__dict__["op"] = op
        self.__dict__["built"] = True  # nothing to build

    def call(self, packed):
        args, kwargs = packed
        return self.op(*args, **kwargs)

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"{self.name}: a model that applies {self.op.__name__} to symbolic tensors cannot "
            "be saved as a config; wrap the computation in a layer instead"
        )


def _reflected(fn):
    def reflected(a, b):
        return fn(b, a)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _symbolic_operator(fn):
    def method(self, *others):
        return OperationLayer(fn)([[self, *others], {}])

    method.__name__ = fn.__name__
    return method


# Keras 3 lets Python operators and indexing build graph nodes: inputs / 255, x[:, 0], -x.
for _name, _fn in {
    "__add__": operator.add,
    "__sub__": operator.sub,
    "__mul__": operator.mul,
    "__truediv__": operator.truediv,
    "__floordiv__": operator.floordiv,
    "__mod__": operator.mod,
    "__pow__": operator.pow,
    "__matmul__": operator.matmul,
    "__radd__": _reflected(operator.add),
    "__rsub__": _reflected(operator.sub),
    "__rmul__": _reflected(operator.mul),
    "__rtruediv__": _reflected(operator.truediv),
    "__rpow__": _reflected(operator.pow),
    "__rmatmul__": _reflected(operator.matmul),
    "__neg__": operator.neg,
    "__abs__": operator.abs,
    "__getitem__": operator.getitem,
}.items():
    setattr(KerasTensor, _name, _symbolic_operator(_fn))


class InputLayer(Layer):
    """The entry of a functional model; ``Input(...)`` makes one and returns its tensor."""

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        name=None,
        sparse=None,
        batch_shape=None,
        **kwargs,
    ):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs shape= (without the batch dimension)")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        self.batch_shape = tuple(batch_shape)
        tensor = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        tensor.node = Node(self, (), {}, [], [tensor])
        self.__dict__["_inbound_nodes"] = [tensor.node]
        self.output_shape = self.batch_shape
        self.built = True

    @property
    def output(self) -> KerasTensor:
        return self._inbound_nodes[0].outputs[0]

    @property
    def input(self) -> KerasTensor:
        return self.output

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype.name, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):  # noqa: N802
    """A symbolic input of ``shape`` (batch dim excluded), as ``keras.Input``.

    >>> from nerve import layers
    >>> x = layers.Input(shape=(784,), name="digits")
    >>> x.shape
    (None, 784)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        name=name,
        batch_shape=batch_shape,
        **kwargs,
    )
    return layer.output
