"""The functional graph of a Model built as ``Model(inputs=Input(...), outputs=...)``: how its
layers are wired and ordered (Keras's ``model.layers`` order), how a call runs through them, and
what describes it (``inputs``, ``outputs``, ``input_shape``, ``output_names``).

``FunctionalGraph`` is a base class of :class:`nerve.models.model.Model`; import Model from there.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import call_training
from nerve.layers.input_layer import InputLayer, KerasTensor, substitute
from nerve.models.compile_utils import flat


class FunctionalGraph:
    """Model's functional graph (a base class of Model, not used alone). ``_graph`` is None for
    a subclassed or Sequential model, else ``(inputs, outputs, flat_in, flat_out, order)``."""

    def _init_graph(self, inputs, outputs) -> None:
        flat_in, flat_out = flat(inputs), flat(outputs)
        for t in flat_in + flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(
                    f"Model: inputs and outputs must be symbolic tensors from layers.Input and "
                    f"layer calls, got {type(t).__name__}"
                )
        for t in flat_in:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(f"Model: input {t!r} does not come from layers.Input")
        order, seen = [], set()
        stack = [(t.node, False) for t in flat_out]
        while stack:  # iterative post-order DFS: each node after the nodes it reads
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((t.node, False) for t in node.inputs if id(t.node) not in seen)
        missing = [
            n.layer.name
            for n in order
            if isinstance(n.layer, InputLayer) and n.outputs[0] not in flat_in
        ]
        if missing:
            raise ValueError(f"Model: the outputs depend on inputs {missing} not in inputs=")
        names = set()
        for node in _keras_layer_order(flat_out, order):
            layer = node.layer
            if layer.name in names and self._modules.get(layer.name) is not layer:
                raise ValueError(f"Model: two different layers are named {layer.name!r}")
            names.add(layer.name)
            self._modules[layer.name] = layer
        self.__dict__["_graph"] = (inputs, outputs, flat_in, flat_out, order)
        self.__dict__["built"] = True

    def _run_graph(self, inputs):
        structure, outputs, flat_in, flat_out, order = self._graph
        if isinstance(inputs, dict):
            try:
                given = [inputs[t.name] for t in flat_in]
            except KeyError as exc:
                raise ValueError(
                    f"model {self.name!r}: missing input {exc.args[0]!r}; the model's inputs are "
                    f"{[t.name for t in flat_in]}"
                ) from None
        else:
            given = flat(inputs)
        if len(given) != len(flat_in):
            raise ValueError(
                f"model {self.name!r} expects {len(flat_in)} input(s), got {len(given)}"
            )
        values = {}
        for kt, x in zip(flat_in, given):
            x = x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x, dtype=np.float32))
            expected = kt.shape[1:]
            if len(x.shape) != len(kt.shape) or any(
                e is not None and e != g for e, g in zip(expected, x.shape[1:])
            ):
                raise ValueError(
                    f"Input {kt.name!r} of model {self.name!r} is incompatible: expected shape "
                    f"{kt.shape}, got {tuple(x.shape)}"
                )
            values[id(kt)] = x
        # As Keras 3: a training flag given to the model's call overrides the one recorded in
        # the graph (base(x, training=False) trains its BatchNormalization once unfrozen).
        training = call_training()
        for node in order:
            if isinstance(node.layer, InputLayer):
                continue
            args = substitute(node.args, values)
            kwargs = substitute(node.kwargs, values)
            if training is not None and "training" in kwargs:
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            outs = out if isinstance(out, (list, tuple)) else [out]
            for kt, value in zip(node.outputs, outs):
                values[id(kt)] = value
        return substitute(outputs, values)

    def call(self, inputs, training=None, mask=None):
        if self._graph is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no call(): subclass Model and write call(), or build "
                "it functionally with Model(inputs=..., outputs=...)"
            )
        return self._run_graph(inputs)

    @property
    def inputs(self) -> list:
        return [] if self._graph is None else self._graph[2]

    @property
    def input_shape(self):
        """The batch input shape, ``(None, ...)``, or a list of them for several inputs."""
        batch_shape = self.__dict__.get("_batch_input_shape")  # Sequential keeps its own
        if batch_shape is not None:
            return tuple(batch_shape)
        if not self.inputs:
            raise AttributeError(
                f"model {self.name!r} has no defined input shape yet: call it on data first"
            )
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def outputs(self) -> list:
        return [] if self._graph is None else self._graph[3]

    @property
    def output_names(self) -> list[str]:
        if self._graph is None:
            return ["output"]
        _, outputs, _, flat_out, _ = self._graph
        if isinstance(outputs, dict):
            return list(outputs)
        return [t.node.layer.name for t in flat_out]


def _keras_layer_order(flat_out: list, order: list) -> list:
    """One node per layer, in the order of Keras's ``model.layers`` (and so of its weights):
    deepest first (longest path to an output), ties in the order a depth-first walk from the
    outputs meets them."""
    discovered: dict[int, int] = {}
    seen: set[int] = set()
    stack = [t.node for t in reversed(flat_out)]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        discovered.setdefault(id(node.layer), len(discovered))
        stack.extend(t.node for t in reversed(node.inputs))
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    first_node: dict[int, object] = {}
    for node in reversed(order):  # outputs first
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        first_node.setdefault(id(node.layer), node)
        for t in node.inputs:
            node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    layers = sorted(first_node, key=lambda k: (-layer_depth[k], discovered.get(k, 0)))
    return [first_node[k] for k in layers]
