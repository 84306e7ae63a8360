"""Sequential: a plain stack of layers, each called on the previous one's output."""

from __future__ import annotations

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.layers.input_layer import InputLayer, KerasTensor
from nerve.models.model import Model
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
        """Build every layer by running a zero batch through the stack (in eval mode)."""
        shape = tuple(2 if s is None else s for s in input_shape)
        x = Tensor._wrap(np.zeros(shape, np.float32))
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for layer in self._modules.values():
                    x = layer(x)
                    layer.__dict__["output_shape"] = (None, *x.shape[1:])
        finally:
            self.train(was_training)
        self.__dict__["built"] = True

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._modules.values():
            x = layer(x)
        return x

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
