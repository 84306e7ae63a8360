"""Keras 3's ``compile_config`` (optimizer, loss, metrics) from a compiled nerve model and back.

Keras names losses and metrics by string where it can (``"mse"``, ``"accuracy"``) and writes
other objects as ``{"module", "class_name", "config", "registered_name"}``; the optimizer always
as such a dict. Only Keras-style optimizers (``nerve.optimizers``) have a Keras counterpart.
"""

from __future__ import annotations

from nerve import losses, metrics, optimizers
from nerve.saving import registry
from nerve.saving.keras_config import KerasConfigError, _accepted, _plain

# Optimizer fields Keras 3 writes that nerve's optimizers do not take, with the value that
# means the feature is off.
OPTIMIZER_DEFAULTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "is_legacy_optimizer": False,
    "jit_compile": False,
}


class NotKerasError(TypeError):
    """A compiled object that a Keras file cannot name."""


def _wrap(module: str, obj, config: dict) -> dict:
    return {
        "module": module,
        "class_name": type(obj).__name__,
        "config": config,
        "registered_name": registry.registered_name(type(obj)),
    }


def _loss(fn):
    if fn is None or isinstance(fn, str):
        return fn
    if isinstance(fn, losses.Loss) and type(fn) is not losses.LossFunctionWrapper:
        if losses._CLASSES.get(type(fn).__name__) is not type(fn):
            raise NotKerasError(f"the loss {type(fn).__name__} is not one of Keras's")
        return _wrap("keras.losses", fn, fn.get_config())
    inner = getattr(fn, "fn", fn)
    name = getattr(inner, "__name__", None)
    if name in losses._FUNCTIONS and losses._FUNCTIONS[name] is inner:
        return name
    raise NotKerasError(f"the loss {fn!r} is not one of Keras's")


# nerve metrics Keras 3 has no class for.
NOT_KERAS_METRICS = frozenset({"ConfusionMatrix"})


def _metric(metric, prefix: str):
    name = metric.name[len(prefix) :] if prefix and metric.name.startswith(prefix) else metric.name
    if type(metric) is metrics.MeanMetricWrapper:
        fn = getattr(metric.fn, "__name__", None)
        if fn in losses._FUNCTIONS:
            return fn
        raise NotKerasError(f"the metric {metric.name!r} wraps a function Keras does not have")
    if name in ("accuracy", "acc"):
        return name  # Keras picks the accuracy that fits the loss, as nerve does
    cls = type(metric).__name__
    if metrics.CLASSES.get(cls) is not type(metric) or cls in NOT_KERAS_METRICS:
        raise NotKerasError(f"the metric {cls} is not one of Keras's")
    return _wrap("keras.metrics", metric, {**metric.get_config(), "name": name})


def compile_to_keras(model) -> dict:
    """Keras's ``compile_config`` for a compiled nerve model (NotKerasError if it cannot)."""
    optimizer = model.optimizer
    if not isinstance(optimizer, optimizers.Optimizer):
        raise NotKerasError(
            f"the optimizer {type(optimizer).__name__} is PyTorch-style; Keras files hold "
            "Keras-style optimizers (nerve.optimizers / nerve.keras.optimizers)"
        )
    if registry.optimizer_table().get(type(optimizer).__name__) is not type(optimizer):
        raise NotKerasError(f"the optimizer {type(optimizer).__name__} is not one of Keras's")
    spec = _wrap("keras.optimizers", optimizer, optimizer.get_config())
    spec["registered_name"] = None
    lr = spec["config"].get("learning_rate")
    if isinstance(lr, dict):
        spec["config"]["learning_rate"] = {
            "module": "keras.optimizers.schedules",
            **lr,
            "registered_name": None,
        }
    names = model.output_names
    multi = len(names) > 1
    loss = [_loss(fn) for fn in model._losses]
    groups = [[] for _ in names]
    for k, metric in model._metrics:
        groups[k].append(_metric(metric, f"{names[k]}_" if multi else ""))
    return {
        "optimizer": spec,
        "loss": loss if multi else loss[0],
        "loss_weights": list(model._loss_weights) if multi else None,
        "metrics": (groups if any(groups) else None) if multi else (groups[0] or None),
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


# ---------------------------------------------------------------------------- Keras -> nerve
def _filtered(cls, config: dict, defaults: dict, what: str) -> dict:
    accepted = _accepted(cls)
    config = dict(config)
    if accepted is None:
        return config
    for key in list(config):
        if key in accepted:
            continue
        value = config.pop(key)
        if (key in defaults and value == defaults[key]) or value is None or value is False:
            continue
        raise KerasConfigError(f"{what} sets {key}={value!r}, which nerve does not support")
    return config


def _object(value, table: dict, what: str, custom_objects):
    if isinstance(value, str) or value is None:
        return value
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        raise KerasConfigError(f"invalid {what} entry {value!r}"[:300])
    spec = {"class_name": value["class_name"], "registered_name": value.get("registered_name")}
    if spec["registered_name"] == spec["class_name"]:
        spec["registered_name"] = None
    cls = registry.resolve(spec, custom_objects, table, what)
    plain = _plain(value).get("config") or {}
    config = _filtered(cls, plain, {"reduction": "sum_over_batch_size"}, f"{what} {cls.__name__}")
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)


def compile_from_keras(model, config: dict, custom_objects) -> None:
    """``model.compile`` as Keras's ``compile_config`` describes it."""
    spec = config.get("optimizer")
    if isinstance(spec, str):
        optimizer = optimizers.get(spec)
    elif isinstance(spec, dict) and isinstance(spec.get("config"), dict):
        table = registry.optimizer_table()
        name = spec.get("class_name")
        cls = registry.resolve(
            {"class_name": name, "registered_name": None}, None, table, "optimizer"
        )
        plain = _plain(spec)["config"]
        options = _filtered(cls, plain, OPTIMIZER_DEFAULTS, f"optimizer {name}")
        optimizer = cls.from_config(options)
    else:
        raise KerasConfigError(f"invalid optimizer entry {spec!r}"[:300])
    loss = config.get("loss")
    loss_table = registry.loss_table()
    if isinstance(loss, list):
        loss = [_object(v, loss_table, "loss", custom_objects) for v in loss]
    elif isinstance(loss, dict) and "class_name" not in loss:
        loss = {k: _object(v, loss_table, "loss", custom_objects) for k, v in loss.items()}
    else:
        loss = _object(loss, loss_table, "loss", custom_objects)

    def metric_list(value):
        if value is None:
            return None
        if isinstance(value, list):
            return [metric_list(v) if isinstance(v, list) else one(v) for v in value]
        if isinstance(value, dict) and "class_name" not in value:
            return {k: metric_list(v) if isinstance(v, list) else one(v) for k, v in value.items()}
        return one(value)

    def one(value):
        return _object(value, registry.metric_table(), "metric", custom_objects)

    model.compile(
        optimizer=optimizer,
        loss=loss,
        loss_weights=config.get("loss_weights"),
        metrics=metric_list(config.get("metrics")),
    )
