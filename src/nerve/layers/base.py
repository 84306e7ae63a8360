"""Layer: the Keras-style building block, an nn.Module that builds its weights on first call.

Custom layers are written exactly as in Keras::

    class CustomDense(Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            return inputs @ self.w + self.b
"""

from __future__ import annotations

import inspect
import re
import threading
import warnings
import weakref
from collections import defaultdict

import numpy as np

from nerve import regularizers
from nerve.autograd.tensor import Tensor
from nerve.device import to_host
from nerve.initializers import get as get_initializer
from nerve.metrics.base import Metric
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.primitives.common import as_tensor
from nerve.regularizers import get as get_regularizer
from nerve.variables import Variable

_NAME_COUNTS: defaultdict = defaultdict(int)

# Keras's call context: the training flag an outer layer's call resolved, seen by the layers it
# calls (a model called with training=True runs its Dropout and BatchNormalization in training).
_CALL = threading.local()
# Each outermost layer call starts a new generation; add_loss values of older ones are stale.
_LOSS_GENERATION = [0]
# Keras masks ride beside tensors: id(tensor) -> (weak reference, mask). Keyed by id because a
# Tensor's == is elementwise; the weak reference's callback drops the entry with the tensor.
_MASKS: dict = {}


def cast_integers(layer, x: Tensor) -> Tensor:
    """Integer or boolean input to a float layer (Dense, Conv) as the layer's float dtype, as
    Keras computes it (images as uint8, counts as int64)."""
    if x.dtype.kind in "biu" and layer.dtype.kind == "f":
        return Tensor._wrap(x._data.astype(layer.dtype))
    return x


def call_training() -> bool | None:
    """The training flag an enclosing call set explicitly (Keras's call context), else None."""
    return _CALL.training if getattr(_CALL, "given", False) else None


def unique_name(base: str) -> str:
    """'dense', then 'dense_1', 'dense_2', ... as Keras names its layers."""
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def snake_case(name: str) -> str:
    """'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d', as Keras names layers."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def get_mask(t) -> Tensor | None:
    """The Keras mask carried by a tensor (set by Embedding(mask_zero=True) and friends)."""
    entry = _MASKS.get(id(t))
    return entry[1] if entry is not None and entry[0]() is t else None


def set_mask(t, mask) -> None:
    if mask is not None and isinstance(t, Tensor):
        key = id(t)
        _MASKS[key] = (weakref.ref(t, lambda _, key=key: _MASKS.pop(key, None)), mask)


def _set_masks(out, mask) -> None:
    """Attach ``mask`` to ``out``; a layer returning a list gives a list of masks."""
    if isinstance(out, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(out)
        for o, m in zip(out, masks):
            set_mask(o, m)
    else:
        set_mask(out, mask)


class InputSpec:
    """What a built layer accepts: ndim / min_ndim and fixed sizes on some axes."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, layer: Layer, x) -> None:
        shape = tuple(x.shape)
        ok = (self.ndim is None or len(shape) == self.ndim) and (
            self.min_ndim is None or len(shape) >= self.min_ndim
        )
        ok = ok and all(
            -len(shape) <= axis < len(shape) and shape[axis] == size
            for axis, size in self.axes.items()
        )
        if not ok:
            raise ValueError(
                f"Input to layer {layer.name!r} ({type(layer).__name__}) is incompatible: "
                f"expected shape {self.describe()}, got {shape}"
            )

    def describe(self) -> str:
        """The expected shape as text, e.g. '(None, 784)' or '(None, ..., 64)'."""
        n = self.ndim or max(
            self.min_ndim or 1, 1 + max((-a for a in self.axes if a < 0), default=0)
        )
        dims = ["None"] * n
        for axis, size in self.axes.items():
            if -n <= axis < n:
                dims[axis] = str(size)
        if self.ndim is None and n > 1:
            dims.insert(1, "...")
        return f"({', '.join(dims)})"


class Layer(Module):
    """Base class of Keras-style layers (see the module docstring for a custom layer).

    Args (keywords, as in Keras): name, trainable, dtype, input_shape / input_dim (for the
    first layer of a Sequential model), activity_regularizer.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype=None,
        input_shape=None,
        input_dim=None,
        batch_input_shape=None,
        batch_size=None,
        activity_regularizer=None,
        **kwargs,
    ):
        super().__init__()
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}"
            )
        d = self.__dict__
        d["name"] = name or unique_name(snake_case(type(self).__name__))
        d["dtype"] = np.dtype(dtype or np.float32)
        d["built"] = False
        d["input_spec"] = None
        d["_trainable"] = bool(trainable)
        d["_regularized"] = []  # (weight, regularizer)
        d["_activity_losses"] = []
        d["activity_regularizer"] = get_regularizer(activity_regularizer)
        d["supports_masking"] = False
        # A Keras layer called directly is in inference mode unless training=True is passed
        # (fit passes it); train()/eval() still switch it as for any nn.Module.
        d["training"] = False
        d["_added_losses"] = []
        d["_loss_generation"] = -1
        if input_dim is not None:
            warnings.warn(
                f"{type(self).__name__}(input_dim={input_dim}) is Keras 2's spelling; start "
                f"the model with keras.Input(shape=({input_dim},)) instead",
                DeprecationWarning,
                stacklevel=3,
            )
            if input_shape is None:
                input_shape = (input_dim,)
        if batch_input_shape is not None:
            d["_batch_input_shape"] = tuple(batch_input_shape)
        elif input_shape is not None:
            shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
            d["_batch_input_shape"] = (batch_size, *shape)
        else:
            d["_batch_input_shape"] = None
        call = type(self).call
        params = inspect.signature(call).parameters
        d["_call_takes_training"] = "training" in params
        d["_call_takes_mask"] = "mask" in params
        default = params["training"].default if "training" in params else None
        d["_training_default"] = None if default is inspect.Parameter.empty else default

    # ------------------------------------------------------------------ building
    def build(self, input_shape) -> None:
        """Create the weights, given the input shape (batch dim included, possibly None)."""
        self.built = True

    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        regularizer=None,
        constraint=None,
        name: str | None = None,
    ) -> Variable:
        """Create a weight of ``shape`` filled by ``initializer`` ('glorot_uniform' by default
        for floats, as in Keras) and register it (and its regularizer) with the layer."""
        dt = np.dtype(dtype or self.dtype)
        shape = () if shape is None else tuple(int(s) for s in shape)
        if initializer is None:
            initializer = "glorot_uniform" if dt.kind == "f" else "zeros"
        values = get_initializer(initializer)(shape, dtype=dt)
        if name is None:  # renamed to the attribute it is assigned to, if any (see __setattr__)
            name = f"weight_{len(self._parameters)}"
            self.__dict__.setdefault("_auto_named", set()).add(name)
        p = Variable(np.zeros(0, np.float32), name=name)
        p._data = np.array(values, dtype=dt)  # Parameter() would make float64 float32
        p.requires_grad_(trainable and self._trainable and dt.kind == "f")
        self.register_parameter(name, p)
        self.__dict__.setdefault("_declared_trainable", {})[name] = bool(trainable)
        reg = get_regularizer(regularizer)
        if reg is not None:
            self._regularized.append((p, reg))
        if constraint is not None:
            self.__dict__.setdefault("_constraints", []).append((p, constraint))
        return p

    def __setattr__(self, name: str, value) -> None:
        previous = self.__dict__.get(name)
        if isinstance(previous, Metric) and previous is not value:
            # a reassigned attribute stops tracking its old metric (compile() called again)
            tracked = self.__dict__.get("_tracked_metrics", [])
            tracked[:] = [m for m in tracked if m is not previous]
        if isinstance(value, Metric):  # Keras tracks metrics assigned as attributes
            tracked = self.__dict__.setdefault("_tracked_metrics", [])
            if all(m is not value for m in tracked):
                tracked.append(value)
        # Keras tracks lists of layers assigned as attributes; register each as a sub-module.
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
            for i, v in enumerate(value):
                self._modules[f"{name}.{i}"] = v
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Parameter):
            auto = self.__dict__.get("_auto_named", ())
            for key, p in list(self._parameters.items()):
                if p is value and key in auto and key != name:
                    del self._parameters[key]
                    if isinstance(value, Variable):
                        value.name = name
                    declared = self.__dict__.get("_declared_trainable", {})
                    if key in declared:
                        declared[name] = declared.pop(key)
        super().__setattr__(name, value)

    def __getattr__(self, name: str):
        params = self.__dict__.get("_parameters")
        if params is not None and name in params:  # weights made by add_weight(name=...)
            return params[name]
        if name in ("input", "output"):  # the property raised: say why, not "no attribute"
            return self._node_attribute(name)
        return super().__getattr__(name)

    # ------------------------------------------------------------------ calling
    def call(self, inputs, *args, **kwargs):
        return inputs

    def forward(self, inputs, *args, **kwargs):
        return self.call(inputs, *args, **kwargs)

    def __call__(self, inputs, *args, **kwargs):
        if _symbolic.has_symbolic((inputs, args, kwargs)):
            return _symbolic.symbolic_call(self, (inputs, *args), kwargs)
        if not self.built:
            self._build_from(inputs)
        if self.input_spec is not None and hasattr(inputs, "shape"):
            self.input_spec.check(self, inputs)
        # training: as passed, else the enclosing call's (Keras's call context), else the module
        # mode if train()/eval() set it, else the call signature's default, else False. "given"
        # is Keras's "training is not None", which overrides the flags recorded in a graph.
        outer = getattr(_CALL, "training", None)
        outer_given = getattr(_CALL, "given", False)
        training = kwargs.pop("training", None)
        if training is None and outer_given:
            training = outer
        given = training is not None
        if training is None:
            if self.__dict__.get("_mode_set"):
                training = self.training
            else:
                training = self._training_default
                given = training is not None
                if training is None:
                    training = False
        if self._call_takes_training:
            kwargs["training"] = training
        mask = kwargs.pop("mask", None)
        if mask is None and (self._call_takes_mask or self.supports_masking):
            mask = get_mask(inputs[0] if isinstance(inputs, (list, tuple)) else inputs)
        if self._call_takes_mask:
            kwargs["mask"] = mask
        if self.activity_regularizer is not None:
            self._activity_losses.clear()
        if outer is None:
            _LOSS_GENERATION[0] += 1
        _CALL.training, _CALL.given = bool(training), given
        try:
            out = super().__call__(inputs, *args, **kwargs)
        finally:
            _CALL.training, _CALL.given = outer, outer_given
        if self.activity_regularizer is not None:
            for o in out if isinstance(out, (list, tuple)) else (out,):
                self._activity_losses.append(self.activity_regularizer(o) / o.shape[0])
        if self.supports_masking:
            _set_masks(out, self.compute_mask(inputs, mask))
        return out

    # ------------------------------------------------------------------ functional graph
    def _node_attribute(self, what: str):
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(
                f"The layer {self.name!r} has never been called on a symbolic input "
                f"(layers.Input or a layer's output) and thus has no defined {what}."
            )
        values = nodes[0].inputs if what == "input" else nodes[0].outputs
        return values[0] if len(values) == 1 else list(values)

    @property
    def input(self):
        """The symbolic input of the layer's first call in a functional graph."""
        return self._node_attribute("input")

    @property
    def output(self):
        """The symbolic output of the layer's first call in a functional graph (feature
        extractors: ``Model(model.inputs, [layer.output for layer in model.layers])``)."""
        return self._node_attribute("output")

    @property
    def input_shape(self):
        nodes = self.__dict__.get("_inbound_nodes")
        if nodes:
            shapes = [t.shape for t in nodes[0].inputs]
            return shapes[0] if len(shapes) == 1 else shapes
        if self._batch_input_shape is not None:
            return tuple(self._batch_input_shape)
        raise AttributeError(f"The layer {self.name!r} has no defined input shape yet.")

    def _build_from(self, inputs) -> None:
        if isinstance(inputs, (list, tuple)):
            shapes = [tuple(as_tensor(x).shape) for x in inputs]
        else:
            shapes = tuple(as_tensor(inputs).shape)
        self.build(shapes)
        self.__dict__["built"] = True

    def compute_mask(self, inputs, mask=None):
        return mask if self.supports_masking else None

    # ------------------------------------------------------------------ weights
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze this layer and every layer inside it, as Keras does."""
        for m in self.modules():
            if isinstance(m, Layer):
                m.__dict__["_trainable"] = bool(value)
            declared = m.__dict__.get("_declared_trainable", {})
            for name, p in m._parameters.items():
                if p is not None:
                    p.requires_grad_(bool(value) and declared.get(name, True))

    @property
    def weights(self) -> list:
        """Every weight, in Keras's order: layer by layer (depth first), each layer's declared
        trainable weights, then its non-trainable ones and float buffers. Freezing a layer does
        not change the order, so get_weights/set_weights stay aligned."""
        out, seen = [], set()
        for m in self.modules():
            declared = m.__dict__.get("_declared_trainable", {})
            own = [(n, p) for n, p in m._parameters.items() if p is not None]
            ordered = [p for n, p in own if declared.get(n, True)]
            ordered += [p for n, p in own if not declared.get(n, True)]
            ordered += [b for b in m._buffers.values() if b is not None and b.dtype.kind == "f"]
            for w in ordered:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self) -> list:
        return [p for p in self.weights if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list:
        return [p for p in self.weights if not p.requires_grad]

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        return self.non_trainable_weights

    def get_weights(self) -> list:
        """The weights as NumPy arrays (copies, on the host), in the order of ``weights``."""
        return [
            w._data.copy() if type(w._data) is np.ndarray else to_host(w._data)
            for w in self.weights
        ]

    def set_weights(self, weights) -> None:
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"set_weights on layer {self.name!r}: expected {len(own)} arrays, "
                f"got {len(weights)}"
            )
        for w, v in zip(own, weights):
            v = np.asarray(v)
            if v.shape != w.shape:
                raise ValueError(
                    f"set_weights on layer {self.name!r}: shape {v.shape} does not match "
                    f"the weight's {w.shape}"
                )
            if type(w._data) is np.ndarray:
                w._data[...] = v
            else:  # a device weight takes a host array of its own dtype (as CuPy asks)
                host = v.astype(w._data.dtype, copy=False)
                if w._data.ndim:
                    w._data[:] = host
                else:
                    w._data[...] = host

    @property
    def metrics(self) -> list:
        """Metric objects assigned as attributes of this layer and of the layers inside it."""
        out = []
        for m in self.modules():
            out.extend(m.__dict__.get("_tracked_metrics", ()))
        return out

    def add_loss(self, loss) -> None:
        """Add a scalar loss term computed in ``call`` (Keras's add_loss): it is collected in
        ``model.losses`` and added to the training loss by fit. Terms from earlier calls are
        dropped when the layer's model is called again."""
        if not isinstance(loss, Tensor):
            loss = as_tensor(loss)
        if loss._data.size != 1:
            raise ValueError(
                f"add_loss on layer {self.name!r}: expected a scalar loss, got shape "
                f"{tuple(loss.shape)} (reduce it, e.g. with ops.mean)"
            )
        d = self.__dict__
        if d["_loss_generation"] != _LOSS_GENERATION[0]:
            d["_added_losses"] = []
            d["_loss_generation"] = _LOSS_GENERATION[0]
        d["_added_losses"].append(loss.reshape(()))

    @property
    def losses(self) -> list:
        """Loss terms of this layer and the layers inside it (Tensors): weight regularization
        penalties, activity regularization and add_loss terms of the latest call."""
        out = []
        generation = _LOSS_GENERATION[0]
        for m in self.modules():
            if isinstance(m, Layer):
                out.extend(reg(p) for p, reg in m._regularized)
                out.extend(m._activity_losses)
                if m._loss_generation == generation:
                    out.extend(m._added_losses)
        return out

    def apply_constraints(self) -> None:
        """Project weights onto their constraints (called after each optimizer step)."""
        for m in self.modules():
            for p, constraint in m.__dict__.get("_constraints", ()):
                p._data[...] = np.asarray(constraint(p._data))

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"layer {self.name!r} is not built yet: call it on data, or build(input_shape)"
            )
        return int(sum(p.numel() for p in self.parameters()))

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """JSON-able constructor arguments; subclasses add their own to this dict."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


from nerve.layers import input_layer as _symbolic  # noqa: E402  (it subclasses Layer)
