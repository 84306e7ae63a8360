"""The training loop: fit, evaluate, predict, and the per-batch steps. Reads top to bottom.

- ``fit`` resolves the data and callbacks, then runs epochs of ``train_step`` over batches,
  validates through ``evaluate`` at the end of each epoch, and tells the callbacks at each stage.
- ``Model.train_step`` (overridable, as in Keras) does one forward, loss, backward and update,
  and feeds the streaming metrics, which are never computed by a second pass over the data.
- Progress and history are ordinary callbacks.
- The device: as Keras 3 on its torch backend, the loop runs the model on the GPU when there is
  one (see :func:`keras_device`) and copies each batch there; predict hands back NumPy.
"""

from __future__ import annotations

import os

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.callbacks import CallbackList, History, ProgbarLogger
from nerve.device import (
    CPU,
    as_device,
    backend_module,
    get_default_device,
    to_device,
    to_host,
)
from nerve.device import device as Device
from nerve.layers.base import Layer
from nerve.models.data_adapter import (
    ArrayData,
    IterableData,
    is_array_data,
    pack_x_y_sample_weight,
    pythonify_logs,
    structure_map,
)
from nerve.nn.module import evaluating

# ------------------------------------------------------------------ data-parallel hook
# nerve.distributed (L9) sits above this file, so fit talks to a strategy by duck typing: an
# object with ``prepare_fit(model, data, val, callbacks, batch_size, verbose)`` returning the
# (data, val, callbacks, batch_size, verbose) this rank should use. nerve.distributed registers
# its default strategy here when imported, and ``strategy.scope()`` records itself on models
# compiled inside it (see ``current_scope``).
_registry: dict = {"default": None, "scopes": []}


def register_default_strategy(factory) -> None:
    """Make ``fit(distribute=True)`` use ``factory()`` (nerve.distributed calls this)."""
    _registry["default"] = factory


def current_scope():
    """The strategy whose ``scope()`` is active (compile records it on the model), or None."""
    scopes = _registry["scopes"]
    return scopes[-1] if scopes else None


def _strategy(model, distribute):
    """The strategy a fit uses: the one given, the registered default for True, or the one
    the model was compiled under; None for a plain fit."""
    if distribute is None:
        return model.__dict__.get("_distribute_strategy")
    if distribute is False:
        return None
    if distribute is True:
        factory = _registry["default"]
        if factory is None:
            raise RuntimeError(
                "fit(distribute=True): no data-parallel strategy is registered; "
                "`import nerve.distributed` first, or pass distribute=nerve.distributed."
                "DataParallel()"
            )
        return factory()
    if not hasattr(distribute, "prepare_fit"):
        raise TypeError(
            "fit: distribute must be True, False, None or a strategy with a prepare_fit method "
            f"(nerve.distributed.DataParallel()), got {type(distribute).__name__}"
        )
    return distribute


# ------------------------------------------------------------------ the device
def keras_device(model) -> Device:
    """The device fit/evaluate/predict run ``model`` on, chosen as Keras 3 does on its torch
    backend (which puts variables and data on "cuda" whenever a GPU is available):

    1. the device of the model's weights, when the user placed them off the CPU
       (``model.to("cuda:1")``);
    2. else ``NERVE_KERAS_DEVICE`` from the environment, as Keras reads ``KERAS_TORCH_DEVICE``
       ("cpu" keeps the Keras door on the CPU on a GPU machine);
    3. else the default device, when code chose one: ``nerve.set_default_device("cpu")`` or
       a ``with nerve.device("cpu"):`` block opts out (``set_default_device(None)`` resets);
    4. else "cuda" when ``nerve.cuda.is_available()``, the CPU otherwise.

    >>> import nerve
    >>> keras_device(nerve.layers.Dense(2))
    device(type='cpu')

    Raises:
        RuntimeError: ``NERVE_KERAS_DEVICE`` names a device this machine does not have.
    """
    for p in model.parameters():
        if type(p._data) is not np.ndarray and p.device.type != "cpu":
            return p.device
        break
    return default_keras_device()


def default_keras_device() -> Device:
    """The device the Keras door runs a model on that has no device of its own: steps 2-4 of
    :func:`keras_device`.

    Raises:
        RuntimeError: ``NERVE_KERAS_DEVICE`` names a device this machine does not have.
    """
    spec = os.environ.get("NERVE_KERAS_DEVICE", "").strip()
    if spec:
        return as_device(spec)
    chosen = get_default_device()
    if chosen is not CPU:  # set by the user (the unset default is that very object)
        return chosen
    if backend_module("cuda") is not None:
        return as_device("cuda")
    return CPU


class _Placement:
    """Copies batches to the device the model runs on (None on the CPU: the loop then does no
    per-batch work). On the first batch the model is built (on the host, from one sample, when
    it builds lazily) and moved there, as Keras creates its variables on the device."""

    __slots__ = ("device", "_ready", "_move")

    def __init__(self, model):
        target = keras_device(model)
        self.device = None if target.type == "cpu" else target
        self._ready = False
        self._move = _mover(target)

    def __call__(self, model, xb, yb, sw):
        dest = self.device
        if not self._ready:
            if not model.built:  # inference on one sample: no statistics or state change
                with no_grad(), evaluating(model):
                    model(structure_map(_first_on_host, xb), training=False)
            model.to(dest)
            self._ready = True
        move = self._move
        sw = None if sw is None else to_device(_host_array(sw), dest, non_blocking=True)
        return structure_map(move, xb), structure_map(move, yb), sw


def _mover(dest):
    def move(t):
        data = t._data if isinstance(t, Tensor) else np.asarray(t)
        # a batch is data, not part of a graph: the array is copied, without a ToCopy node
        return Tensor._wrap(to_device(data, dest, non_blocking=True))

    return move


def _first_on_host(t) -> Tensor:
    """The first sample of a batch, on the host (to build a lazily built model there)."""
    data = t._data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor._wrap(to_host(data[:1]))


def _host_array(a):
    return a._data if isinstance(a, Tensor) else a


def _to_host(out):
    """A predict_step output (an array, or a list/dict of them) as NumPy arrays."""
    if isinstance(out, dict):
        return {k: to_host(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [to_host(v) for v in out]
    return to_host(out)


def _data(x, y, sample_weight, what: str, model=None):
    if is_array_data(x):
        data = ArrayData(x, y, sample_weight, what)
        if data.size == 0:
            raise ValueError(f"{what}: the data holds no samples (x has 0 rows)")
        _check_input_count(model, data.x, what)
        return data
    if y is not None:
        raise ValueError(f"{what}: y must not be given when x is a DataLoader or generator")
    if x is None:
        raise ValueError(f"{what}: no data given")
    return IterableData(x, what)


def _check_input_count(model, x, what: str) -> None:
    """A list of input arrays must match the model's inputs (a one-input model given [X, X]
    would otherwise stack them)."""
    inputs = getattr(model, "inputs", None) if model is not None else None
    if not inputs or isinstance(x, dict):
        return
    given = len(x) if isinstance(x, (list, tuple)) else 1
    if given != len(inputs):
        raise ValueError(
            f"{what}: model {model.name!r} has {len(inputs)} input(s) but x holds {given} "
            "arrays; pass one array per input"
        )


def _positive_int(value, name: str, what: str, default=None):
    """``value`` as a positive int (None gives ``default``), or a ValueError naming it."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _set_module_modes(model, training: bool) -> None:
    """The train/eval flag of the plain nn.Modules inside ``model`` (a Keras layer gets its
    training flag from the call, as in Keras, and keeps its own defaults for direct calls)."""
    for m in model.modules():
        if not isinstance(m, Layer):
            m.__dict__["training"] = training


def _verbose(verbose) -> int:
    return 1 if verbose == "auto" else int(verbose)


def _callbacks(model, callbacks, verbose: int, epochs: int, steps, add_history: bool):
    cbs = list(callbacks or [])
    if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger())
    history = None
    if add_history:
        history = History()
        cbs.append(history)
    cb = CallbackList(cbs)
    cb.set_model(model)
    cb.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
    return cb, history


def _class_weights(class_weight: dict, y) -> np.ndarray:
    labels = np.asarray(y._data)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    bad = [k for k in class_weight if not isinstance(k, (int, np.integer)) or k < 0]
    if bad:
        raise ValueError(f"fit: class_weight keys must be class indices >= 0, got {bad[0]!r}")
    table = np.ones(max(max(class_weight) + 1, int(labels.max()) + 1), np.float32)
    for k, w in class_weight.items():
        table[int(k)] = w
    return table[labels]


def fit(
    model,
    x=None,
    y=None,
    batch_size=None,
    epochs: int = 1,
    verbose="auto",
    callbacks=None,
    validation_split: float = 0.0,
    validation_data=None,
    shuffle: bool = True,
    class_weight=None,
    sample_weight=None,
    initial_epoch: int = 0,
    steps_per_epoch=None,
    validation_steps=None,
    validation_batch_size=None,
    validation_freq: int = 1,
    distribute=None,
):
    model._check_compiled("fit")
    batch_size = _positive_int(batch_size, "batch_size", "fit", 32)
    steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch", "fit")
    validation_steps = _positive_int(validation_steps, "validation_steps", "fit")
    data = _data(x, y, sample_weight, "fit", model)
    if validation_split:
        if not isinstance(data, ArrayData):
            raise ValueError("fit: validation_split needs array data; pass validation_data")
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
        data, val = data.split(validation_split)
        if data.size == 0 or val.size == 0:
            raise ValueError(
                f"fit: validation_split={validation_split} of {data.size + val.size} samples "
                f"leaves {data.size} for training and {val.size} for validation; both need one"
            )
    elif validation_data is not None:
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            extra = [None] if len(validation_data) == 2 else []
            val = _data(*validation_data, *extra, "fit (validation_data)", model)
        else:
            val = _data(validation_data, None, None, "fit (validation_data)", model)
    else:
        val = None

    verbose = _verbose(verbose)
    strategy = _strategy(model, distribute)
    if strategy is not None:  # this rank's share of the data, callbacks and batch size
        data, val, callbacks, batch_size, verbose = strategy.prepare_fit(
            model, data, val, callbacks, batch_size, verbose
        )
    steps = steps_per_epoch or data.num_batches(batch_size)
    cb, history = _callbacks(model, callbacks, verbose, epochs, steps, add_history=True)
    model.history = history
    model.stop_training = False
    logs: dict = {}
    if isinstance(data, ArrayData):  # callbacks that check the data (Doctor) get the arrays
        val_arrays = (val.x, val.y) if isinstance(val, ArrayData) else None
        for c in cb.callbacks:
            if hasattr(c, "on_fit_data"):
                c.on_fit_data(data.x, data.y, val_arrays)
    place = _Placement(model)
    cb.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        _set_module_modes(model, True)
        cb.on_epoch_begin(epoch)
        for step, (xb, yb, sw) in enumerate(data.batches(batch_size, shuffle, steps_per_epoch)):
            cb.on_train_batch_begin(step)
            if class_weight is not None:
                cw = _class_weights(class_weight, yb)
                sw = cw if sw is None else sw * cw
            if place.device is not None:
                xb, yb, sw = place(model, xb, yb, sw)
            logs = pythonify_logs(model.train_step(pack_x_y_sample_weight(xb, yb, sw)))
            cb.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        if isinstance(data, IterableData):
            data.end_epoch()
        epoch_logs = dict(logs)
        if val is not None and (epoch + 1) % validation_freq == 0:
            val_logs = evaluate(
                model,
                val,
                batch_size=validation_batch_size or batch_size,
                verbose=0,
                steps=validation_steps,
                return_dict=True,
                callback_list=cb,
            )
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        cb.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cb.on_train_end(epoch_logs if epochs > initial_epoch else {})
    _set_module_modes(model, False)
    return history


def evaluate(
    model,
    x=None,
    y=None,
    batch_size=None,
    verbose="auto",
    sample_weight=None,
    steps=None,
    callbacks=None,
    return_dict: bool = False,
    callback_list=None,
):
    model._check_compiled("evaluate")
    if isinstance(x, (ArrayData, IterableData)):
        data = x
    else:
        data = _data(x, y, sample_weight, "evaluate", model)
    batch_size = _positive_int(batch_size, "batch_size", "evaluate", 32)
    steps = _positive_int(steps, "steps", "evaluate")
    cb = callback_list
    if cb is None:
        n = steps if steps is not None else data.num_batches(batch_size)
        cb, _ = _callbacks(model, callbacks, _verbose(verbose), 1, n, add_history=False)
    model.reset_metrics()
    _set_module_modes(model, False)
    place = _Placement(model)
    logs: dict = {}
    cb.on_test_begin()
    with no_grad():
        for step, (xb, yb, sw) in enumerate(data.batches(batch_size, False, steps)):
            cb.on_test_batch_begin(step)
            if place.device is not None:
                xb, yb, sw = place(model, xb, yb, sw)
            logs = pythonify_logs(model.test_step(pack_x_y_sample_weight(xb, yb, sw)))
            cb.on_test_batch_end(step, logs)
    if not logs:
        logs = model.get_metrics_result()
    cb.on_test_end(logs)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    data = _data(x, None, None, "predict", model)
    batch_size = _positive_int(batch_size, "batch_size", "predict", 32)
    steps = _positive_int(steps, "steps", "predict")
    n = steps if steps is not None else data.num_batches(batch_size)
    cb, _ = _callbacks(model, callbacks, _verbose(verbose), 1, n, False)
    _set_module_modes(model, False)
    place = _Placement(model)
    outputs = []
    cb.on_predict_begin()
    with no_grad():
        for step, (xb, _, _) in enumerate(data.batches(batch_size, False, steps)):
            cb.on_predict_batch_begin(step)
            if place.device is None:
                out = model.predict_step((xb,))
            else:  # the user gets NumPy, as from Keras's predict
                out = _to_host(model.predict_step((place(model, xb, None, None)[0],)))
            outputs.append(out)
            cb.on_predict_batch_end(step, {"outputs": out})
    cb.on_predict_end()
    if not outputs:
        raise ValueError("predict: the data yielded no batch")
    if isinstance(outputs[0], (list, tuple)):
        return [np.concatenate([o[k] for o in outputs]) for k in range(len(outputs[0]))]
    if isinstance(outputs[0], dict):
        return {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
    return np.concatenate(outputs)
