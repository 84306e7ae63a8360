"""Keras 3's JSON for a model, from nerve's and back: the one place the two configs differ.

nerve's ``get_config()`` already uses Keras's names for almost every field (``units``,
``activation``, ``kernel_initializer`` as ``{"class_name", "config"}``). What differs is the
wrapping Keras adds around each object (``module``, ``registered_name``, ``build_config``,
``DTypePolicy`` dicts, the functional graph as per-layer ``inbound_nodes``), a few fields only
Keras has (BatchNormalization's ``renorm``), and Keras 2's spellings (``batch_input_shape``,
``inbound_nodes`` as lists). :data:`KERAS_ONLY_DEFAULTS` lists the Keras-only fields with the
value that means "not used"; any other field nerve's layer does not take is refused by name,
never silently dropped. Reading never imports, unpickles or evaluates anything: classes come
from nerve's registry (:mod:`nerve.saving.registry`) by name.
"""

from __future__ import annotations

import inspect

from nerve.layers import InputLayer, KerasTensor
from nerve.models import Model, Sequential
from nerve.models.model import ModuleModel
from nerve.saving import model_config, registry

# Every nerve layer whose class Keras 3 has under the same name (keras.layers.<Name>).
KERAS_LAYERS = frozenset(
    (
        "Activation",
        "ActivityRegularization",
        "Add",
        "AlphaDropout",
        "Average",
        "AveragePooling1D",
        "AveragePooling2D",
        "BatchNormalization",
        "Bidirectional",
        "CategoryEncoding",
        "CenterCrop",
        "Concatenate",
        "Conv1D",
        "Conv1DTranspose",
        "Conv2D",
        "Conv2DTranspose",
        "Cropping1D",
        "Cropping2D",
        "Cropping3D",
        "Dense",
        "DepthwiseConv2D",
        "Discretization",
        "Dot",
        "Dropout",
        "ELU",
        "Embedding",
        "Flatten",
        "GRU",
        "GaussianDropout",
        "GaussianNoise",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
        "Identity",
        "InputLayer",
        "LSTM",
        "LayerNormalization",
        "LeakyReLU",
        "Masking",
        "MaxPooling1D",
        "MaxPooling2D",
        "Maximum",
        "Minimum",
        "MultiHeadAttention",
        "Multiply",
        "Normalization",
        "PReLU",
        "Permute",
        "RandomBrightness",
        "RandomContrast",
        "RandomCrop",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "ReLU",
        "RepeatVector",
        "Rescaling",
        "Reshape",
        "Resizing",
        "SeparableConv2D",
        "SimpleRNN",
        "Softmax",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "Subtract",
        "UnitNormalization",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
        "ZeroPadding1D",
        "ZeroPadding2D",
        "ZeroPadding3D",
    )
)

# Fields Keras 3 writes that nerve's layers do not take, with the value that means the
# feature is off; a file holding another value needs a feature nerve lacks and is refused.
KERAS_ONLY_DEFAULTS = {
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "sparse": False,
    "ragged": False,
    "optional": False,
    "seed": None,
    "synchronized": False,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
    "recurrent_constraint": None,
    "embeddings_constraint": None,
    "autocast": True,
}

# Nested objects: the field-name ending, and the Keras module that holds the class.
_NESTED_MODULES = (
    ("_initializer", "keras.initializers"),
    ("_regularizer", "keras.regularizers"),
    ("_constraint", "keras.constraints"),
)


def _single_axis(value):
    # Keras 2 wrote BatchNormalization's axis as a one-element list ([3]).
    return value[0] if isinstance(value, list) and len(value) == 1 else value


# Per class, fields whose Keras value nerve takes in another form (reading only).
READ_FIXES = {"BatchNormalization": {"axis": _single_axis}}

# Fields nerve writes that Keras's constructor does not take (its SpatialDropout and
# Discretization layers take no ``trainable``); batch_input_shape becomes an InputLayer in
# front of the model instead.
_DROP_ON_WRITE = ("batch_input_shape",)
WRITE_DROPS = {
    "Discretization": ("trainable",),
    "SpatialDropout1D": ("trainable",),
    "SpatialDropout2D": ("trainable",),
    "SpatialDropout3D": ("trainable",),
}
# Fields holding a whole layer (a wrapper's inner layer), written in Keras's layer form.
_LAYER_FIELDS = ("layer", "backward_layer")


class KerasConfigError(ValueError):
    """A config that cannot be translated (the message names the layer and field)."""


# ---------------------------------------------------------------------------- nerve -> Keras
def _keras_nested(key: str, value):
    """An initializer/regularizer/constraint dict with Keras's ``module``/``registered_name``;
    a wrapped layer in Keras's layer form."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    if key in _LAYER_FIELDS and isinstance(value.get("config"), dict):
        name = value["class_name"]
        if name not in KERAS_LAYERS or value.get("registered_name"):
            raise TypeError(f"cannot save a wrapped {name} layer to a Keras file")
        config = {k: _keras_nested(k, v) for k, v in value["config"].items()}
        for drop in _DROP_ON_WRITE + WRITE_DROPS.get(name, ()):
            config.pop(drop, None)
        return {
            "module": "keras.layers",
            "class_name": name,
            "config": config,
            "registered_name": None,
        }
    module = next((m for end, m in _NESTED_MODULES if key.endswith(end)), None)
    if module is None:
        return value
    return {
        "module": module,
        "class_name": value["class_name"],
        "config": dict(value.get("config") or {}),
        "registered_name": None,
    }


def _layer_head(layer) -> dict:
    """``{"module", "class_name", "registered_name"}`` for a layer Keras can name."""
    cls = type(layer)
    name = cls.__name__
    reg = registry.registered_name(cls)
    if reg is not None:
        return {"module": cls.__module__, "class_name": name, "registered_name": reg}
    if name in registry.NOT_SERIALIZABLE:
        raise TypeError(
            f"cannot save layer {layer.name!r} to a Keras file: {name} layers hold Python "
            "code, which nerve never writes to a file; write a registered custom layer instead"
        )
    if registry.BUILTIN_LAYERS.get(name) is not cls or name not in KERAS_LAYERS:
        raise TypeError(
            f"cannot save layer {layer.name!r} to a Keras file: {name} is not a Keras layer; "
            "register it on both sides (@nerve.saving.register_serializable here, "
            "@keras.saving.register_keras_serializable in Keras) or save to .nerve"
        )
    return {"module": "keras.layers", "class_name": name, "registered_name": None}


def layer_to_keras(layer) -> dict:
    """Keras 3's serialized form of one (non-model) layer."""
    if isinstance(layer, Model):
        raise TypeError(
            f"cannot save model {layer.name!r} nested inside another model to a Keras file; "
            "flatten it into one Sequential or functional model, or save to .nerve"
        )
    head = _layer_head(layer)
    config = model_config.serialize_layer(layer)["config"]
    out = {}
    drops = _DROP_ON_WRITE + WRITE_DROPS.get(head["class_name"], ())
    for key, value in config.items():
        if key in drops:
            continue
        out[key] = _keras_nested(key, value)
    return {**head, "config": out}


def _shape(shape) -> list:
    return [None if s is None else int(s) for s in shape]


def sequential_to_keras(model: Sequential) -> dict:
    layers = []
    shape = model._batch_input_shape
    if shape is None:
        shape = model.__dict__.get("_build_input_shape")
    if shape is not None:
        layers.append(
            {
                "module": "keras.layers",
                "class_name": "InputLayer",
                "config": {"batch_shape": _shape(shape), "dtype": "float32", "name": "input_layer"},
                "registered_name": None,
            }
        )
    layers += [layer_to_keras(layer) for layer in model.layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": "float32"}
    config["layers"] = layers
    spec = {"module": "keras", "class_name": "Sequential", "config": config}
    spec["registered_name"] = None
    if shape is not None:
        config["build_input_shape"] = _shape(shape)
        spec["build_config"] = {"input_shape": _shape(shape)}
    return spec


def functional_to_keras(model: Model) -> dict:
    """Keras's functional config: each layer with its ``inbound_nodes``, in model.layers order."""
    structure, outputs, flat_in, flat_out, order = model._graph
    node_ref: dict[int, tuple[str, int]] = {}
    calls: dict[str, int] = {}
    for node in order:
        name = node.layer.name
        node_ref[id(node)] = (name, calls.get(name, 0))
        calls[name] = calls.get(name, 0) + 1

    def encode(value):
        if isinstance(value, KerasTensor):
            name, k = node_ref[id(value.node)]
            history = [name, k, value.index]
            config = {"shape": _shape(value.shape), "dtype": value.dtype.name}
            return {
                "class_name": "__keras_tensor__",
                "config": {**config, "keras_history": history},
            }
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise TypeError(
            f"cannot save the functional model {model.name!r}: a layer call takes an argument "
            f"of type {type(value).__name__}; only tensors and JSON values can be saved"
        )

    def refer(value):
        if isinstance(value, KerasTensor):
            name, k = node_ref[id(value.node)]
            return [name, k, value.index]
        if isinstance(value, (list, tuple)):
            return [refer(v) for v in value]
        return {str(k): refer(v) for k, v in value.items()}

    nodes_of: dict[str, list] = {}
    for node in order:
        if not isinstance(node.layer, InputLayer):
            entry = {"args": encode(list(node.args)), "kwargs": encode(node.kwargs)}
            nodes_of.setdefault(node.layer.name, []).append(entry)
    layers = []
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            spec = {
                "module": "keras.layers",
                "class_name": "InputLayer",
                "config": {
                    "batch_shape": _shape(layer.batch_shape),
                    "dtype": layer.dtype.name,
                    "name": layer.name,
                },
                "registered_name": None,
            }
        else:
            spec = layer_to_keras(layer)
        spec["name"] = layer.name
        spec["inbound_nodes"] = nodes_of.get(layer.name, [])
        layers.append(spec)
    config = {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": refer(structure),
        "output_layers": refer(outputs),
    }
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": config,
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def model_to_keras(model) -> dict:
    """Keras 3's ``config.json`` for a Sequential or functional model (without compile)."""
    if isinstance(model, ModuleModel):
        raise TypeError(
            f"cannot save model {model.name!r} (made by Model.from_module) to a Keras file: an "
            "nn.Module has no Keras config; save its weights instead"
        )
    if type(model) is Sequential:
        return sequential_to_keras(model)
    if type(model) is Model and model._graph is not None:
        return functional_to_keras(model)
    raise TypeError(
        f"cannot save {type(model).__name__} {getattr(model, 'name', '')!r} to a Keras file: "
        "only Sequential and functional models have a config Keras can rebuild (save a "
        "subclassed model's weights with save_weights('x.weights.h5'), or save to .nerve)"
    )


# ---------------------------------------------------------------------------- Keras -> nerve
def find_code(config, where: str = "") -> str | None:
    """Where ``config`` holds Python code (a Lambda layer, a serialized lambda), or None."""
    stack = [(config, where or "config")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            name = value.get("class_name")
            if name in ("Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda"):
                return f"{path} ({name})"
            stack.extend((v, f"{path}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
    return None


def _plain(value):
    """A nested Keras object dict without the Keras wrapping, or a dtype policy as its name."""
    if isinstance(value, dict):
        if value.get("class_name") in ("DTypePolicy", "Policy", "FloatDTypePolicy"):
            name = (value.get("config") or {}).get("name")
            if not isinstance(name, str) or name.startswith("mixed_"):
                raise KerasConfigError(f"dtype policy {name!r} is not supported by nerve")
            return name
        if value.get("class_name") == "__tuple__":
            return [_plain(v) for v in (value.get("config") or {}).get("value", [])]
        if "class_name" in value and "config" in value:
            config = value["config"]
            if isinstance(config, dict):
                config = {k: _plain(v) for k, v in config.items() if v is not None}
            return {"class_name": value["class_name"], "config": config}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _accepted(cls) -> set | None:
    """The keyword arguments ``cls`` takes: its constructor's, and where it passes
    ``**kwargs`` on, its bases' (nerve's base classes refuse unknown ones)."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        try:
            params = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):
            return None
        names.update(
            n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return names
    return names


def _layer_class(spec: dict, custom_objects):
    name, reg = spec.get("class_name"), spec.get("registered_name")
    module = spec.get("module") or ""
    if not isinstance(name, str):
        raise KerasConfigError(f"a layer entry has no class_name: {spec!r}"[:300])
    if reg in (None, name, "Functional") and (not module or module.startswith("keras")):
        nerve_spec = {"class_name": name, "registered_name": None}
    else:
        nerve_spec = {"class_name": name, "registered_name": reg, "custom": reg is None}
    return registry.resolve(nerve_spec, custom_objects, registry.BUILTIN_LAYERS, "layer class")


def layer_from_keras(spec: dict, custom_objects) -> dict:
    """nerve's ``{"class_name", "registered_name", "config"}`` for one Keras layer entry."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise KerasConfigError(f"a layer entry must hold a config object: {spec!r}"[:300])
    cls = _layer_class(spec, custom_objects)
    if isinstance(cls, type) and issubclass(cls, Model):
        raise KerasConfigError(
            f"layer {spec['config'].get('name')!r} is a whole {spec['class_name']} model inside "
            "the model; nerve reads Keras files of one Sequential or functional model"
        )
    config = {k: _plain(v) for k, v in spec["config"].items()}
    for key, fix in READ_FIXES.get(spec["class_name"], {}).items():
        if key in config:
            config[key] = fix(config[key])
    if cls is InputLayer and "batch_input_shape" in config and "batch_shape" not in config:
        config["batch_shape"] = config.pop("batch_input_shape")
    accepted = _accepted(cls)
    name = config.get("name", spec.get("class_name"))
    if accepted is not None:
        for key in list(config):
            if key in accepted:
                continue
            value = config.pop(key)
            if key in KERAS_ONLY_DEFAULTS and value == KERAS_ONLY_DEFAULTS[key]:
                continue
            if value is None or value is False:
                continue
            raise KerasConfigError(
                f"layer {name!r} ({spec['class_name']}) sets {key}={value!r}, which nerve's "
                f"{cls.__name__} does not support"
            )
    out = registry.describe(cls, registry.BUILTIN_LAYERS)
    out["config"] = config
    return out


def sequential_from_keras(config: dict, custom_objects) -> dict:
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise KerasConfigError("the Sequential config has no layers list")
    specs, shape = [], None
    for entry in layers:
        spec = layer_from_keras(entry, custom_objects)
        if spec["class_name"] == "InputLayer" and not spec.get("registered_name") and not specs:
            shape = spec["config"].get("batch_shape")
            continue
        specs.append(spec)
    if shape is None:
        shape = config.get("build_input_shape")
    out = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    out["layers"] = specs
    if shape is not None:
        out["batch_input_shape"] = shape
    return {"class_name": "Sequential", "registered_name": None, "config": out}


def _history(value) -> list | None:
    """A Keras tensor reference's ``[layer, node index, tensor index]``, or None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        if isinstance(history, list) and len(history) == 3:
            return history
        raise KerasConfigError(f"a tensor reference without keras_history: {value!r}"[:300])
    return None


def _decode_args(value):
    history = _history(value)
    if history is not None:
        return {"__tensor__": history}
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__":
            return [_decode_args(v) for v in (value.get("config") or {}).get("value", [])]
        return {k: _decode_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_args(v) for v in value]
    return value


def _node_inputs(value, out: list) -> list:
    if isinstance(value, dict) and "__tensor__" in value:
        out.append((value["__tensor__"][0], value["__tensor__"][1]))
    elif isinstance(value, dict):
        for v in value.values():
            _node_inputs(v, out)
    elif isinstance(value, list):
        for v in value:
            _node_inputs(v, out)
    return out


def _legacy_node(node: list) -> dict:
    """Keras 2's ``[[layer, node, tensor, kwargs], ...]`` as Keras 3's ``{"args", "kwargs"}``."""
    tensors, kwargs = [], {}
    for item in node:
        if not isinstance(item, list) or len(item) not in (3, 4):
            raise KerasConfigError(f"invalid inbound node {node!r}"[:300])
        tensors.append({"__tensor__": list(item[:3])})
        if len(item) == 4 and isinstance(item[3], dict):
            kwargs.update(item[3])
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def functional_from_keras(config: dict, custom_objects) -> dict:
    """nerve's functional config (nodes in an order that runs) from Keras's."""
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise KerasConfigError("the functional config has no layers list")
    layers, pending = [], []
    for entry in entries:
        spec = layer_from_keras(entry, custom_objects)
        layers.append(spec)
        lname = entry.get("name", spec["config"].get("name"))
        spec["config"]["name"] = lname
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise KerasConfigError(f"layer {lname!r}: inbound_nodes is not a list")
        for node in nodes:
            if isinstance(node, list):
                node = _legacy_node(node)
            elif isinstance(node, dict):
                node = {
                    "args": _decode_args(node.get("args", [])),
                    "kwargs": _decode_args(node.get("kwargs", {})),
                }
            else:
                raise KerasConfigError(f"layer {lname!r}: invalid inbound node {node!r}"[:300])
            pending.append((lname, node))
    # Keras lists each layer's calls under the layer; nerve needs them in an order that runs:
    # a node waits until every tensor it reads has been made.
    made = {(s["config"]["name"], 0) for s in layers if s["class_name"] == "InputLayer"}
    calls: dict[str, int] = {}
    ordered = []
    while pending:
        rest = []
        for lname, node in pending:
            needs = _node_inputs([node["args"], node["kwargs"]], [])
            if all((n, k) in made for n, k in needs):
                ordered.append({"layer": lname, **node})
                made.add((lname, calls.get(lname, 0)))
                calls[lname] = calls.get(lname, 0) + 1
            else:
                rest.append((lname, node))
        if len(rest) == len(pending):
            raise KerasConfigError(
                f"the graph cannot run: layer {rest[0][0]!r} reads a tensor no node makes"
            )
        pending = rest

    def refs(value):
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            return {"__tensor__": value}
        if isinstance(value, list):
            return [refs(v) for v in value]
        if isinstance(value, dict):
            return {k: refs(v) for k, v in value.items()}
        raise KerasConfigError(f"invalid input_layers/output_layers entry {value!r}"[:300])

    inputs, outputs = refs(config.get("input_layers")), refs(config.get("output_layers"))
    # As Keras: a list of one input or output (Keras 2 always wrote lists) is that tensor.
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]
    out = {
        "name": config.get("name"),
        "trainable": config.get("trainable", True),
        "layers": layers,
        "nodes": ordered,
        "inputs": inputs,
        "outputs": outputs,
    }
    return {"class_name": "Model", "registered_name": None, "config": out}


def model_from_keras(spec: dict, custom_objects) -> dict:
    """nerve's model spec (for :func:`model_config.deserialize_layer`) from Keras's JSON."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise KerasConfigError("config.json does not describe a model")
    name = spec.get("class_name")
    if name == "Sequential":
        return sequential_from_keras(spec["config"], custom_objects)
    if name in ("Functional", "Model") and "layers" in spec["config"]:
        return functional_from_keras(spec["config"], custom_objects)
    raise KerasConfigError(
        f"the model is a {name!r}: nerve reads Sequential and functional Keras models (a "
        "subclassed model has no config nerve can rebuild; build it in code and use "
        "load_weights)"
    )
