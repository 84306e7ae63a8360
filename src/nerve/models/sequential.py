"""Sequential: a plain stack of layers, each called on the previous one's output."""

from __future__ import annotations

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer
from nerve.layers.input_layer import InputLayer, KerasTensor
from nerve.models.model import Model
from nerve.models.model_saving import _saving_hook
from nerve.nn.module import Module


class Sequential(Model):
    """Layers in order, as ``keras.Sequential``.

    The input shape comes from an ``Input(shape=...)`` first, or ``input_shape=`` on the first
    layer; then the model is built at once (and ``summary()`` works). Otherwise it is built on
    the first batch it sees.

    >>> from nerve import layers, models
    >>> model = models.Sequential([layers.Input(shape=(784,)), layers.Dense(64, activation="relu"),
    ...                            layers.Dense(10, activation="softmax")])
    >>> model.count_params()
    50890
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        super().__init__(name=name, trainable=trainable)
        self.__dict__["_batch_input_shape"] = None
        for layer in layers or ():
            self.add(layer)

    @property
    def layers(self) -> list:
        return list(self._modules.values())

    def add(self, layer) -> None:
        """Append a layer (or set the input shape with an Input tensor or InputLayer)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._modules:
                raise ValueError("Sequential: an Input can only come first")
            self.__dict__["_batch_input_shape"] = layer.batch_shape
            self._build_now()
            return
        if not isinstance(layer, Module):
            raise TypeError(
                f"Sequential.add: expected a layer, got {type(layer).__name__} ({layer!r})"
            )
        name = getattr(layer, "name", None) or f"module_{len(self._modules)}"
        if name in self._modules:
            raise ValueError(
                f"Sequential: all layers must have unique names; {name!r} is already used"
            )
        self._modules[name] = layer
        if not self._batch_input_shape:
            shape = layer.__dict__.get("_batch_input_shape")
            if len(self._modules) == 1 and shape is not None:
                self.__dict__["_batch_input_shape"] = shape
        self.__dict__["built"] = False
        self._build_now()

    def pop(self):
        if not self._modules:
            raise TypeError("There are no layers in the model.")
        name = next(reversed(self._modules))
        layer = self._modules.pop(name)
        self.__dict__["built"] = False
        self._build_now()
        return layer

    def _build_now(self) -> None:
        if self._batch_input_shape is not None and self._modules:
            self.build(self._batch_input_shape)

    def build(self, input_shape) -> None:
        """Build every layer by calling the stack on a symbolic input of ``input_shape``, as
        Keras does: the layers' weights exist afterwards, and ``model.inputs``/``outputs`` and
        each ``layer.output`` make a functional graph (for feature extractors)."""
        for layer, node in self.__dict__.get("_graph_nodes", ()):
            nodes = layer.__dict__.get("_inbound_nodes", [])
            if node in nodes:  # this model's earlier graph (before add/pop) is replaced
                nodes.remove(node)
        batch_shape = tuple(input_shape)
        first = InputLayer(batch_shape=batch_shape, name=f"{self.name}_input")
        x = first.output
        made = []
        for layer in self._modules.values():
            if not isinstance(layer, Layer):
                x = self._build_module(layer, x)
                continue
            x = layer(x)
            if not isinstance(x, KerasTensor):
                raise TypeError(
                    f"Sequential: layer {layer.name!r} returned {type(x).__name__}; each layer "
                    "of a Sequential model must return one tensor"
                )
            made.append((layer, x.node))
            layer.__dict__["output_shape"] = x.shape
        self.__dict__["_graph_nodes"] = made
        self.__dict__["_symbolic"] = (first.output, x)
        self.__dict__["built"] = True

    @staticmethod
    def _build_module(module: Module, x: KerasTensor) -> KerasTensor:
        """A plain nn.Module in the stack: run it on a zero batch to learn its output shape."""
        shape = tuple(2 if s is None else s for s in x.shape)
        with no_grad():
            out = module(Tensor._wrap(np.zeros(shape, x.dtype)))
        return KerasTensor((None, *out.shape[1:]), out.dtype)

    @property
    def inputs(self) -> list:
        symbolic = self.__dict__.get("_symbolic")
        return [] if symbolic is None else [symbolic[0]]

    @property
    def outputs(self) -> list:
        symbolic = self.__dict__.get("_symbolic")
        return [] if symbolic is None else [symbolic[1]]

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._modules.values():
            x = layer(x)
        return x

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """The model ``get_config`` describes: its layers rebuilt from their configs, in order,
        and built when the config has the input shape (as Keras's ``Sequential.from_config``)."""
        return _saving_hook("sequential_from_config")(config, custom_objects)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "layers": []}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        for layer in self._modules.values():
            if not hasattr(layer, "get_config"):
                raise TypeError(f"layer {layer!r} has no get_config()")
            config["layers"].append(
                {"class_name": type(layer).__name__, "config": layer.get_config()}
            )
        return config
