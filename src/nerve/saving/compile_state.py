"""What ``compile`` set up, as JSON plus named arrays, so training resumes where it stopped.

The losses and metrics are written per output as ``{"class_name", "config"}`` or
``{"function": name}``; the optimizer as its config plus its state. Keras-style optimizers
(``nerve.optimizers``) keep ``iterations`` and per-variable slots; PyTorch-style ones
(``nerve.optim``) keep param groups and per-parameter state. Either way each variable is named
by its state_dict key, not by position, so the state finds its weight again in the rebuilt
model. Arrays go to ``optimizer.safetensors``; scalars stay in JSON, NumPy scalars tagged with
their dtype so a float32 counter comes back float32 and the arithmetic is unchanged.
"""

from __future__ import annotations

import numpy as np

from nerve import losses, metrics, optim, optimizers
from nerve.saving import registry
from nerve.saving.model_config import check_values


class UnserializableError(TypeError):
    """A compiled object (loss, metric, optimizer) that a file cannot name."""


# ---------------------------------------------------------------------------- scalars
def encode_scalar(value):
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"__numpy__": value.dtype.name, "value": value.item()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(
        v is None or isinstance(v, (bool, int, float, str)) for v in value
    ):
        return list(value)
    raise UnserializableError(f"cannot save a value of type {type(value).__name__} ({value!r})")


def decode_scalar(value):
    if isinstance(value, dict) and "__numpy__" in value:
        dtype = np.dtype(str(value["__numpy__"]))
        if dtype.kind not in "biuf":
            raise ValueError(f"a scalar of dtype {dtype} cannot be loaded")
        return dtype.type(value["value"])
    return value


# ---------------------------------------------------------------------------- losses, metrics
def _named_function(fn, table: dict) -> dict:
    if not callable(fn) or getattr(fn, "__name__", "<lambda>") == "<lambda>":
        raise UnserializableError(
            f"cannot save {fn!r}: a file names functions, so use a def (registered with "
            "@nerve.saving.register_serializable() or passed in custom_objects when loading)"
        )
    spec = registry.describe(fn, table)
    return {"function": spec.pop("class_name"), **spec}


def _named_class(obj, table: dict) -> dict:
    return {**registry.describe(type(obj), table), "config": obj.get_config()}


def _resolve_function(spec: dict, custom_objects, table: dict, what: str):
    return registry.resolve(
        {**spec, "class_name": spec["function"]}, custom_objects, table, f"{what} function"
    )


def serialize_loss(fn):
    if fn is None:
        return None
    table = registry.loss_table()
    if type(fn) is losses.LossFunctionWrapper:
        config = fn.get_config()
        return {**_named_function(fn.fn, table), "config": config}
    if isinstance(fn, losses.Loss):
        return _named_class(fn, table)
    return _named_function(fn, table)


def deserialize_loss(spec, custom_objects):
    if spec is None:
        return None
    table = registry.loss_table()
    if "function" in spec:
        fn = _resolve_function(spec, custom_objects, table, "loss")
        if "config" in spec:
            return losses.LossFunctionWrapper(fn, **spec["config"])
        return fn
    cls = registry.resolve(spec, custom_objects, table, "loss")
    return cls.from_config(dict(spec.get("config", {})))


def serialize_metric(metric, prefix: str):
    if type(metric) is metrics.MeanMetricWrapper:
        spec = {**_named_function(metric.fn, {}), "config": metric.get_config()}
    else:
        spec = _named_class(metric, registry.metric_table())
    name = spec["config"].get("name")
    if prefix and isinstance(name, str) and name.startswith(prefix):
        spec["config"] = {**spec["config"], "name": name[len(prefix) :]}  # compile re-adds it
    return spec


def deserialize_metric(spec, custom_objects):
    config = dict(spec.get("config", {}))
    if "function" in spec:
        fn = _resolve_function(spec, custom_objects, {}, "metric")
        return metrics.MeanMetricWrapper(fn, **config)
    table = registry.metric_table()
    cls = registry.resolve(spec, custom_objects, table, "metric")
    return cls.from_config(config)


# ---------------------------------------------------------------------------- optimizers
def _names_of(model) -> dict[int, str]:
    return {id(p): name for name, p in model.named_parameters()}


def serialize_optimizer(optimizer, model) -> tuple[dict, dict]:
    """``(json, arrays)`` for a Keras-style or PyTorch-style optimizer bound to ``model``."""
    # a wrapper (nerve.distributed's DistributedOptimizer) is saved as the optimizer it wraps
    optimizer = getattr(optimizer, "unwrapped", optimizer)
    names = _names_of(model)

    def name_of(p) -> str:
        if id(p) not in names:
            raise UnserializableError(
                f"the optimizer updates a tensor of shape {p.shape} that is not a parameter of "
                f"model {model.name!r}"
            )
        return names[id(p)]

    arrays = {}
    if isinstance(optimizer, optimizers.Optimizer):
        spec = _named_class(optimizer, registry.optimizer_table())
        spec["kind"] = "keras"
        if optimizer.built:
            state = optimizer.state_dict()
            variables = [name_of(v) for v in optimizer.variables_]
            for name, slots in zip(variables, state["slots"]):
                for slot, value in slots.items():
                    arrays[f"{name}/{slot}"] = value
            spec["state"] = {
                "iterations": encode_scalar(state["iterations"]),
                "variables": variables,
                "extra": {k: encode_scalar(v) for k, v in state["extra"].items()},
            }
        return spec, arrays
    if isinstance(optimizer, optim.Optimizer):
        groups, state = [], {}
        for group in optimizer.param_groups:
            options = {k: encode_scalar(v) for k, v in group.items() if k != "params"}
            groups.append({"options": options, "params": [name_of(p) for p in group["params"]]})
            for p in group["params"]:
                for key, value in optimizer.state.get(p, {}).items():
                    if isinstance(value, np.ndarray):
                        arrays[f"{name_of(p)}/{key}"] = value
                    else:
                        state.setdefault(name_of(p), {})[key] = encode_scalar(value)
        spec = {"kind": "torch", **registry.describe(type(optimizer), _torch_table())}
        spec["param_groups"], spec["scalars"] = groups, state
        return spec, arrays
    raise UnserializableError(f"cannot save an optimizer of type {type(optimizer).__name__}")


def _torch_table() -> dict:
    return {n: getattr(optim, n) for n in optim.__all__ if n not in ("Optimizer", "lr_scheduler")}


def deserialize_optimizer(spec, arrays: dict, model, custom_objects):
    params = dict(model.named_parameters())

    def param(name):
        if name not in params:
            raise ValueError(f"the optimizer state names {name!r}, which is not a model parameter")
        return params[name]

    by_name: dict[str, dict] = {}  # "dense.kernel/m" -> by_name["dense.kernel"]["m"]
    for key, value in arrays.items():
        name, _, slot = key.rpartition("/")
        by_name.setdefault(name, {})[slot] = value
    if spec.get("kind") == "keras":
        cls = registry.resolve(spec, custom_objects, registry.optimizer_table(), "optimizer")
        config = spec["config"]
        if not isinstance(config, dict):
            raise ValueError(f"the optimizer's config is not an object: {config!r}")
        check_values(config, f"optimizer {cls.__name__}", cls)
        optimizer = cls.from_config(dict(config))
        state = spec.get("state")
        if state is not None:
            optimizer.build([param(n) for n in state["variables"]])
            optimizer.load_state_dict(
                {
                    "iterations": decode_scalar(state["iterations"]),
                    "slots": [by_name.get(n, {}) for n in state["variables"]],
                    "extra": {k: decode_scalar(v) for k, v in state.get("extra", {}).items()},
                }
            )
        return optimizer
    if spec.get("kind") == "torch":
        cls = registry.resolve(spec, custom_objects, _torch_table(), "optimizer")
        groups = []
        for g in spec["param_groups"]:
            options = {k: decode_scalar(v) for k, v in g["options"].items()}
            check_values(
                {k: v for k, v in options.items() if not isinstance(v, np.generic)},
                f"optimizer {cls.__name__}",
                cls,
            )
            if isinstance(options.get("betas"), list):
                options["betas"] = tuple(options["betas"])
            groups.append({"params": [param(n) for n in g["params"]], **options})
        optimizer = cls(groups)
        for name, scalars in spec.get("scalars", {}).items():
            by_name.setdefault(name, {}).update({k: decode_scalar(v) for k, v in scalars.items()})
        for name, values in by_name.items():
            optimizer.state[param(name)] = values
        return optimizer
    raise ValueError(f"unknown optimizer kind {spec.get('kind')!r}")


# ---------------------------------------------------------------------------- compile
def serialize_compile(model) -> tuple[dict, dict]:
    """``(json, optimizer arrays)`` describing ``model.compile(...)`` and the optimizer state."""
    names = model.output_names
    multi = len(names) > 1
    groups = [[] for _ in names]
    for k, metric in model._metrics:
        groups[k].append(serialize_metric(metric, f"{names[k]}_" if multi else ""))
    optimizer, arrays = serialize_optimizer(model.optimizer, model)
    spec = {
        "output_names": names,
        "loss": [serialize_loss(fn) for fn in model._losses],
        "loss_weights": list(model._loss_weights),
        "metrics": groups,
        "optimizer": optimizer,
    }
    return spec, arrays


def compile_from(model, spec: dict, arrays: dict, custom_objects) -> None:
    """``model.compile`` as the file recorded it, then the optimizer's state."""
    loss = [deserialize_loss(s, custom_objects) for s in spec["loss"]]
    groups = [[deserialize_metric(s, custom_objects) for s in g] for g in spec["metrics"]]
    multi = len(spec["output_names"]) > 1
    optimizer = deserialize_optimizer(spec["optimizer"], arrays, model, custom_objects)
    model.compile(
        optimizer=optimizer,
        loss=loss if multi else loss[0],
        loss_weights=spec["loss_weights"] if multi else spec["loss_weights"][0],
        metrics=(groups if any(groups) else None) if multi else groups[0],
    )
