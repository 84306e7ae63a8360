"""A model's architecture as JSON, and the model rebuilt from it.

Three kinds, as in Keras:

- **Sequential**: the layers' configs in order, plus the input shape.
- **Functional** (``Model(inputs, outputs)``): every layer's config, then the graph as a list of
  nodes in the order they run; each node names its layer and its call arguments, where a
  symbolic tensor is written ``{"__tensor__": [layer name, node index, output index]}`` (the
  node index counts that layer's calls within this model, as Keras's ``inbound_nodes``).
- **Subclassed**: the class's registered name and ``get_config()``, plus the input shape it
  was first called with, so loading can build its weights with one zero batch.

Classes come back only through :mod:`nerve.saving.registry`.
"""

from __future__ import annotations

import inspect
import json
import math

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.layers import InputLayer, KerasTensor, Layer
from nerve.models import Model, Sequential
from nerve.models.model import ModuleModel
from nerve.nn.module import evaluating
from nerve.saving import registry


def serialize_layer(layer) -> dict:
    """``{"class_name", "registered_name", "config"}`` (and the graph for functional models)."""
    cls = type(layer)
    if isinstance(layer, ModuleModel):
        raise TypeError(
            f"cannot save model {layer.name!r} (made by Model.from_module) as a whole: an "
            "nn.Module has no config. Save its weights with model.save_weights(path) or "
            "nerve.save(module.state_dict(), path), and rebuild it in code before loading them"
        )
    if cls.__name__ in registry.NOT_SERIALIZABLE and registry.registered_name(cls) is None:
        raise TypeError(
            f"cannot save layer {layer.name!r}: {cls.__name__} layers hold Python code, which a "
            ".nerve file never stores; write a custom layer class instead"
        )
    if not hasattr(layer, "get_config"):
        raise TypeError(f"cannot save {cls.__name__}: it has no get_config()")
    out = registry.describe(cls, registry.BUILTIN_LAYERS)
    if cls is Sequential:
        out["config"] = _sequential_config(layer)
    elif cls is Model and layer._graph is not None:
        out["config"] = _functional_config(layer)
    else:
        out["config"] = layer.get_config()
        try:
            json.dumps(out["config"], default=_numpy_scalar)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"cannot save layer {getattr(layer, 'name', '?')!r} ({cls.__name__}): its "
                f"get_config() holds a value JSON cannot store ({exc})"
            ) from None
        shape = layer.__dict__.get("_build_input_shape")
        if isinstance(layer, Model) and shape is not None:
            out["build_input_shape"] = _shape_json(shape)
    return out


def _numpy_scalar(value):
    if isinstance(value, (np.generic, np.ndarray)) and value.dtype.kind in "biuf":
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r}")


def _shape_json(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [list(s) for s in shape]
    return list(shape)


def _sequential_config(model: Sequential) -> dict:
    config = {"name": model.name, "trainable": model.trainable}
    if model._batch_input_shape is not None:
        config["batch_input_shape"] = list(model._batch_input_shape)
    elif model.__dict__.get("_build_input_shape") is not None:
        config["build_input_shape"] = _shape_json(model._build_input_shape)
    config["layers"] = [serialize_layer(layer) for layer in model.layers]
    return config


def _functional_config(model: Model) -> dict:
    structure, outputs, flat_in, flat_out, order = model._graph
    calls: dict[str, int] = {}
    node_ref: dict[int, tuple[str, int]] = {}
    for node in order:
        name = node.layer.name
        node_ref[id(node)] = (name, calls.get(name, 0))
        calls[name] = calls.get(name, 0) + 1

    def encode(value):
        if isinstance(value, KerasTensor):
            name, k = node_ref[id(value.node)]
            return {"__tensor__": [name, k, value.index]}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(
            f"cannot save the functional model {model.name!r}: a layer call takes an argument of "
            f"type {type(value).__name__} ({value!r}); only tensors and JSON values can be saved"
        )

    layers, seen = [], set()
    for node in order:
        if id(node.layer) not in seen:
            seen.add(id(node.layer))
            layers.append(serialize_layer(node.layer))
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "nodes": [
            {
                "layer": node.layer.name,
                "args": encode(list(node.args)),
                "kwargs": encode(node.kwargs),
            }
            for node in order
            if not isinstance(node.layer, InputLayer)
        ],
        "inputs": encode(structure),
        "outputs": encode(outputs),
    }


# ---------------------------------------------------------------------------- checks
# Config keys that set a weight's size: each appears as a dimension of some weight.
SIZE_KEYS = ("units", "filters", "input_dim", "output_dim", "key_dim", "value_dim", "num_heads")
SIZE_SLACK = 4096  # smaller claims cost little to build and fail on load_state_dict anyway
MAX_BUILD_ELEMENTS = 1 << 28  # the zero batch that builds a subclassed model: 1 GiB of float32


def check_sizes(config, largest: int, where: str = "the model") -> None:
    """Refuse a config whose layer sizes (``units``, ``filters``, ...) exceed every dimension of
    the saved weights, before anything is built: an edited ``units: 6e7`` would otherwise
    allocate gigabytes before the weights fail to fit."""
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if (
                    key in SIZE_KEYS
                    and isinstance(item, (int, float))
                    and not isinstance(item, bool)
                    and item > max(largest, SIZE_SLACK)
                ):
                    name = value.get("name", "?")
                    raise ValueError(
                        f"layer {name!r} declares {key}={item!r}, but no saved weight has a "
                        f"dimension above {largest}; the config does not match its weights"
                    )
                stack.append(item)


OPTIONAL_NUMBERS = ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay")


def _is_number(value) -> bool:
    if isinstance(value, list):
        return all(_is_number(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_values(config: dict, what: str, cls=None) -> None:
    """Refuse non-finite numbers anywhere in a config, and a non-number where ``cls``'s
    constructor has a float as the default (``epsilon: "x"``, ``momentum: null``).

    Raises:
        ValueError: naming ``what``, the key and the value.
    """
    numeric = {}
    if cls is not None:
        for klass in getattr(cls, "__mro__", (cls,)):
            try:
                parameters = inspect.signature(klass.__init__).parameters
            except (TypeError, ValueError):
                continue
            for name, p in parameters.items():
                if isinstance(p.default, float):
                    numeric.setdefault(name, p.default)
    for key, value in config.items():
        if key == "learning_rate" and isinstance(value, dict):
            continue  # a schedule, checked when it is rebuilt
        wrong = (key in numeric and not _is_number(value)) or (
            key in OPTIONAL_NUMBERS and value is not None and not _is_number(value)
        )
        if wrong:
            raise ValueError(
                f"{what}: {key}={value!r} is not a number (the default is {numeric.get(key)!r})"
            )
    stack = [(k, v) for k, v in config.items()]
    while stack:
        key, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{what}: {key}={value!r}; a saved config holds finite numbers only")
        if isinstance(value, dict):
            stack.extend(value.items())
        elif isinstance(value, list):
            stack.extend((key, v) for v in value)


# ---------------------------------------------------------------------------- loading
def deserialize_layer(spec: dict, custom_objects: dict | None = None):
    """The layer or model that :func:`serialize_layer` described."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ValueError(f"a layer entry must be {{'class_name', 'config'}}, got {spec!r}")
    cls = registry.resolve(spec, custom_objects, registry.BUILTIN_LAYERS, "layer class")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{spec['class_name']!r} does not name a Layer class (got {cls!r})")
    config = dict(spec["config"])
    check_values(config, f"layer {config.get('name', spec.get('class_name'))!r}", cls)
    if cls is Sequential:
        return _sequential_from_config(config, custom_objects)
    if cls is Model and "nodes" in config:
        return _functional_from_config(config, custom_objects)
    layer = cls.from_config(config)
    shape = spec.get("build_input_shape")
    if isinstance(layer, Model) and not layer.built and shape is not None:
        _build_with_zeros(layer, shape)
    return layer


def _sequential_from_config(config: dict, custom_objects) -> Sequential:
    model = Sequential(name=config.get("name"), trainable=config.get("trainable", True))
    for spec in config.get("layers", []):
        model.add(deserialize_layer(spec, custom_objects))
    if config.get("batch_input_shape") is not None:
        model.__dict__["_batch_input_shape"] = tuple(config["batch_input_shape"])
        model._build_now()
    elif config.get("build_input_shape") is not None:
        model.build(tuple(config["build_input_shape"]))
    return model


def _functional_from_config(config: dict, custom_objects) -> Model:
    layers = {}
    for spec in config.get("layers", []):
        layer = deserialize_layer(spec, custom_objects)
        layers[layer.name] = layer
    produced: dict[tuple[str, int], list] = {}
    calls: dict[str, int] = {}
    for name, layer in layers.items():
        if isinstance(layer, InputLayer):
            produced[(name, 0)] = [layer.output]

    def decode(value):
        if isinstance(value, dict) and "__tensor__" in value:
            ref = value["__tensor__"]
            try:
                name, k, index = ref
                return produced[(name, k)][index]
            except (KeyError, IndexError, TypeError, ValueError):
                raise ValueError(
                    f"the graph refers to tensor {ref!r}, made by no earlier node"
                ) from None
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        return value

    for node in config.get("nodes", []):
        name = node.get("layer")
        if name not in layers:
            raise ValueError(f"the graph calls layer {name!r}, which the config does not define")
        out = layers[name](*decode(node.get("args", [])), **decode(node.get("kwargs", {})))
        produced[(name, calls.get(name, 0))] = (
            list(out) if isinstance(out, (list, tuple)) else [out]
        )
        calls[name] = calls.get(name, 0) + 1
    model = Model(decode(config["inputs"]), decode(config["outputs"]), name=config.get("name"))
    if not config.get("trainable", True):
        model.trainable = False
    return model


def _build_with_zeros(model: Model, shape) -> None:
    """Create a subclassed model's weights by running one zero batch through it (eval mode)."""
    shapes = shape if shape and isinstance(shape[0], list) else [shape]
    for sh in shapes:
        if not isinstance(sh, list) or not all(
            s is None or (isinstance(s, int) and not isinstance(s, bool) and s >= 0) for s in sh
        ):
            raise ValueError(f"model {model.name!r}: invalid build_input_shape {shape!r}")
        if math.prod(1 if s is None else s for s in sh) > MAX_BUILD_ELEMENTS:
            raise ValueError(
                f"model {model.name!r}: build_input_shape {sh} is too large to build with "
                f"(over {MAX_BUILD_ELEMENTS} elements)"
            )
    batch = [
        Tensor._wrap(np.zeros([1 if s is None else s for s in sh], np.float32)) for sh in shapes
    ]
    with evaluating(model), no_grad():
        model(batch if len(batch) > 1 else batch[0])
