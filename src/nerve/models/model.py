"""Model: a Layer that trains. Subclass it and write ``call``, or build it functionally with
``Model(inputs=Input(...), outputs=...)``; ``compile`` then ``fit``/``evaluate``/``predict``.

The loop itself lives in ``training.py``; this file describes the network, its compiled loss
and metrics, and the per-batch steps users may override (``train_step``, as in Keras). The
functional graph lives in ``functional.py`` and the save / load / config methods in
``model_saving.py``: both are base classes of Model.
"""

from __future__ import annotations

import warnings

from nerve import losses as losses_module
from nerve import metrics as metrics_module
from nerve import optimizers as optimizers_module
from nerve.autograd.tensor import Tensor
from nerve.compiler import CompiledGradients, CompiledModule
from nerve.layers.base import Layer
from nerve.models import training
from nerve.models.compile_utils import (
    CompileMetrics,
    as_list,
    flat,
    host_values,
    metric_lists,
    per_output,
)
from nerve.models.data_adapter import (
    pack_x_y_sample_weight,
    pythonify_logs,
    unpack_x_y_sample_weight,
)
from nerve.models.functional import FunctionalGraph
from nerve.models.model_saving import ModelSaving, register_saving_hooks
from nerve.models.summary import summary_table
from nerve.nn.module import Module
from nerve.primitives import reduction, shape

__all__ = ["Model", "ModuleModel", "register_saving_hooks"]


# Attributes fit and its callbacks set every epoch (History, EarlyStopping, TerminateOnNaN...)
# and a forward never reads: assigning them does not bump nn.module's structure version, which
# would drop the plans jit_compile recorded.
_LOOP_STATE = frozenset({"history", "stop_training"})


class Model(ModelSaving, FunctionalGraph, Layer):
    """A trainable network with Keras's API.

    >>> import numpy as np
    >>> from nerve import layers, models
    >>> inputs = layers.Input(shape=(4,))
    >>> outputs = layers.Dense(3, activation="softmax")(layers.Dense(8, activation="relu")(inputs))
    >>> model = models.Model(inputs, outputs)
    >>> model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> history = model.fit(np.zeros((8, 4)), np.zeros(8), epochs=2, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        d = self.__dict__
        d["compiled"] = False
        d["optimizer"] = None
        d["stop_training"] = False
        d["history"] = None
        d["_graph"] = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: pass both inputs= and outputs= for a functional model")
            self._init_graph(inputs, outputs)

    def __setattr__(self, name: str, value) -> None:
        if name in _LOOP_STATE:  # fit's bookkeeping, not structure: keeps jit_compile's plans
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @classmethod
    def from_module(cls, module: Module, name: str | None = None) -> Model:
        """A Model around any nn.Module, so a PyTorch-style network trains through fit."""
        if not isinstance(module, Module):
            raise TypeError(
                f"Model.from_module: expected an nn.Module, got {type(module).__name__}"
            )
        return ModuleModel(module, name=name)

    # ------------------------------------------------------------------ layers
    @property
    def layers(self) -> list:
        return [m for m in self._modules.values() if isinstance(m, Module)]

    def get_layer(self, name: str | None = None, index: int | None = None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if getattr(layer, "name", None) == name:
                return layer
        raise ValueError(
            f"No such layer: {name!r}. Existing layers are: "
            f"{[getattr(layer, 'name', type(layer).__name__) for layer in self.layers]}"
        )

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range=None,
    ) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does
        (``show_trainable=True`` adds a column saying which layers are trainable)."""
        if not self.built:
            raise ValueError(
                f"This model ({self.name!r}) has not yet been built. Build the model first by "
                "calling build() or by calling the model on a batch of data."
            )
        (print_fn or print)(summary_table(self, show_trainable=show_trainable))

    # ------------------------------------------------------------------ compiling
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=None,
        steps_per_execution=1,
        jit_compile=None,
        auto_scale_loss=None,
    ):
        """Choose the optimizer, the loss (per output for several) and the metrics.

        ``loss`` may be left out when the model adds its own terms with ``add_loss`` (or
        overrides ``compute_loss``/``train_step``), as in Keras.

        ``jit_compile=True`` makes the default train, test and predict steps replay recorded
        plans (``nerve.compile``): the same numbers, less Python per batch. Keras's default
        ("auto" on the torch backend) and False stay eager; a model the recorder cannot follow
        runs eagerly with a one-time warning.
        """
        if isinstance(optimizer, (str, dict, optimizers_module.Optimizer)):
            optimizer = optimizers_module.get(optimizer)
        elif not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
            raise TypeError(f"compile: cannot use {optimizer!r} as an optimizer")
        names = self.output_names
        self.optimizer = optimizer
        self.loss = loss  # as given, like Keras's model.loss
        self._losses = (
            [None] * len(names)
            if loss is None
            else per_output(loss, names, "loss", losses_module.get)
        )
        self._loss_fns = [
            None
            if fn is None
            else (
                fn if isinstance(fn, losses_module.Loss) else losses_module.LossFunctionWrapper(fn)
            )
            for fn in self._losses
        ]
        if loss_weights is None:
            self._loss_weights = [1.0] * len(names)
        else:
            self._loss_weights = [
                1.0 if w is None else float(w)
                for w in per_output(loss_weights, names, "loss_weights", float)
            ]
        per_output_metrics = metric_lists(metrics, names)
        self._metrics = []
        for k, group in enumerate(per_output_metrics):
            for m in group:
                metric = metrics_module.get(m)
                if len(names) > 1:
                    metric.name = f"{names[k]}_{metric.name}"
                self._metrics.append((k, metric))
        self._loss_trackers = [metrics_module.Mean(name="loss")] + (
            [metrics_module.Mean(name=f"{n}_loss") for n in names] if len(names) > 1 else []
        )
        self._compile_metrics = CompileMetrics(self._metrics) if self._metrics else None
        # compiled inside a strategy's scope(): every fit of this model is data-parallel
        self.__dict__["_distribute_strategy"] = training.current_scope()
        self.jit_compile = jit_compile is True
        self.__dict__["_jit_plans"] = {} if self.jit_compile else None
        self.compiled = True

    def _check_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {what}() (model {self.name!r} is not compiled)"
            )

    # ------------------------------------------------------------------ steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss (Keras 3's signature): the compiled losses of the outputs, weighted,
        plus ``self.losses`` (regularization and add_loss terms). Override it to change the
        loss while keeping the default train_step."""
        return self._compute_losses(y, y_pred, sample_weight)[0]

    def _compute_losses(self, y, y_pred, sample_weight=None) -> tuple[Tensor, list]:
        """(total loss, the per-output compiled losses) for the default steps."""
        preds = flat(y_pred)
        targets = [None] * len(preds) if y is None else flat(y)
        if len(targets) != len(preds):
            raise ValueError(
                f"model {self.name!r} has {len(preds)} output(s) but y holds {len(targets)} "
                "target array(s)"
            )
        total, parts = None, []
        for fn, w, target, pred in zip(self._loss_fns, self._loss_weights, targets, preds):
            if fn is None:
                parts.append(None)
                continue
            if target is None:
                raise ValueError(
                    f"model {self.name!r}: compile() gave a loss but fit received no targets (y)"
                )
            value = fn(target, pred, sample_weight)
            parts.append(value)
            term = value if w == 1.0 else value * w
            total = term if total is None else total + term
        penalties = self.losses
        if penalties:
            extra = reduction.sum(_stack_scalars(penalties))
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(
                "No loss to compute. Provide a `loss` argument in `compile()`, or add loss "
                "terms with `add_loss` in a layer's call."
            )
        return total, parts

    def train_step(self, data) -> dict:
        """One update on a batch ``data`` = x, (x, y) or (x, y, sample_weight), as in Keras 3:
        forward in training mode, loss, backward, optimizer step; returns the running logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        jit = self._jit_plan("train")
        if jit is None:
            y_pred = self(x, training=True)
            loss, parts = self._step_loss(x, y, y_pred, sample_weight, training=True)
        if jit is not None or self._has_trainable_weights():
            optimizer = self.optimizer
            optimizer.zero_grad()
            if jit is None:
                loss.backward()
            else:  # forward, loss and backward replayed from a recorded plan
                loss, parts, y_pred = jit(x, y, sample_weight)
            optimizer.step()
            if self.__dict__.get("_has_constraints") is None:
                self.__dict__["_has_constraints"] = any(
                    m.__dict__.get("_constraints") for m in self.modules()
                )
            if self._has_constraints:
                self.apply_constraints()
        elif not self.__dict__.get("_warned_untrainable"):
            self.__dict__["_warned_untrainable"] = True
            warnings.warn(
                f"model {self.name!r} does not have any trainable weights: fit computes the "
                "loss and metrics but changes nothing",
                UserWarning,
                stacklevel=2,
            )
        self._update_metrics(loss, parts, x, y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _has_trainable_weights(self) -> bool:
        """Whether the optimizer has weights to update (a Keras-style optimizer is bound to the
        trainable weights on the first step; walking the layers every step would cost time)."""
        optimizer = self.optimizer
        if not isinstance(optimizer, optimizers_module.Optimizer):
            return any(p.requires_grad for p in self.parameters())
        if not optimizer.built:
            trainable = self.trainable_weights
            if not trainable:
                return False
            optimizer.build(trainable)
        return bool(optimizer.variables_)

    def _step_loss(self, x, y, y_pred, sample_weight, training: bool) -> tuple[Tensor, list]:
        """(loss, per-output losses): the compiled losses, or an overridden compute_loss."""
        if type(self).compute_loss is Model.compute_loss:
            return self._compute_losses(y, y_pred, sample_weight)
        return self.compute_loss(x, y, y_pred, sample_weight, training=training), []

    def test_step(self, data) -> dict:
        """The loss and metrics of a batch, in inference mode (Keras 3's signature)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        jit = self._jit_plan("test")
        if jit is None:
            y_pred = self(x, training=False)
            loss, parts = self._step_loss(x, y, y_pred, sample_weight, training=False)
        else:
            loss, parts, y_pred = jit(x, y, sample_weight)
        self._update_metrics(loss, parts, x, y, y_pred, sample_weight)
        return self.get_metrics_result()

    def predict_step(self, data):
        """The model's outputs on a batch, as NumPy arrays (Keras 3's signature)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        jit = self._jit_plan("predict")
        out = self(x, training=False) if jit is None else jit(x)
        if isinstance(out, dict):
            return {k: v._data for k, v in out.items()}
        if isinstance(out, (list, tuple)):
            return [o._data for o in out]
        return out._data

    def _jit_plan(self, kind: str):
        """The compiled ``kind`` step ("train", "test", "predict") under ``jit_compile=True``,
        made on first use once the model is built; None runs the step eagerly."""
        plans = self.__dict__.get("_jit_plans")
        if plans is None or not self.built:
            return None
        if kind == "train" and not self._has_trainable_weights():
            return None
        plan = plans.get(kind)
        if plan is None:
            if kind == "predict":
                plan = CompiledModule(self, forward=lambda x: self(x, training=False))
            else:
                is_train = kind == "train"

                def step(x, y, sample_weight):
                    y_pred = self(x, training=is_train)
                    loss, parts = self._step_loss(x, y, y_pred, sample_weight, training=is_train)
                    return loss, parts, y_pred

                plan = (CompiledGradients if is_train else CompiledModule)(self, step)
            plans[kind] = plan
        return plan

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Update the compiled metrics with a batch and return every metric's result."""
        if self._compile_metrics is not None and y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _update_metrics(self, loss, parts, x, y, y_pred, sample_weight) -> None:
        n = len(flat(x)[0]) if flat(x) else 1
        self._loss_trackers[0].add_scalar(loss._data, n)
        for tracker, part in zip(self._loss_trackers[1:], parts):
            if part is not None:
                tracker.add_scalar(part._data, n)
        if y is not None:
            targets, preds = flat(y), flat(y_pred)
            sample_weight = host_values(sample_weight)
            for k, metric in self._metrics:
                metric.update_state(host_values(targets[k]), host_values(preds[k]), sample_weight)

    @property
    def metrics(self) -> list:
        """Keras 3's list: the loss tracker, the compiled metrics (one container whose result
        is a dict), per-output loss trackers, then metrics tracked as attributes."""
        out = []
        if self.compiled:
            out.append(self._loss_trackers[0])
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            out.extend(self._loss_trackers[1:])
        for m in self.modules():
            out.extend(t for t in m.__dict__.get("_tracked_metrics", ()) if t not in out)
        return out

    def get_metrics_result(self) -> dict:
        """Every metric's result by name (a container's dict merged in), as Python numbers."""
        logs = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                logs.update(value)
            else:
                logs[metric.name] = value
        return pythonify_logs(logs)

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    @property
    def metrics_names(self) -> list[str]:
        return list(self.get_metrics_result()) if self.compiled else []

    # ------------------------------------------------------------------ training API
    def fit(
        self,
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
        **kwargs,
    ):
        """Train for ``epochs`` epochs; returns a History (see nerve.models.training).

        ``distribute`` (nerve's addition): True trains data-parallel over the MPI ranks with
        ``nerve.distributed``'s default strategy, a strategy object uses that one, False never,
        None (the default) the strategy whose ``scope()`` the model was compiled in, if any.

        Keras 1's ``nb_epoch=`` is accepted for ``epochs=`` with a DeprecationWarning.
        """
        if "nb_epoch" in kwargs:
            warnings.warn(
                "fit(nb_epoch=...) is Keras 1's spelling; use fit(epochs=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword argument(s) {sorted(kwargs)}")
        return training.fit(
            self,
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            class_weight,
            sample_weight,
            initial_epoch,
            steps_per_epoch,
            validation_steps,
            validation_batch_size,
            validation_freq,
            distribute,
        )

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict: bool = False,
    ):
        """The loss and metrics on the data: a float, a list [loss, *metrics], or a dict."""
        return training.evaluate(
            self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict
        )

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs on ``x`` as NumPy arrays, computed batch by batch."""
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(
        self, x, y=None, sample_weight=None, class_weight=None, return_dict: bool = False
    ):
        self._check_compiled("train_on_batch")
        data = training.ArrayData(x, y, sample_weight, "train_on_batch")
        xb, yb, sw = next(data.batches(max(data.size, 1)))
        if class_weight is not None:
            cw = training._class_weights(class_weight, yb)
            sw = cw if sw is None else sw * cw
        place = training._Placement(self)
        if place.device is not None:  # the model's device, as fit (see training.keras_device)
            xb, yb, sw = place(self, xb, yb, sw)
        self.reset_metrics()
        training._set_module_modes(self, True)
        try:
            logs = self.train_step(pack_x_y_sample_weight(xb, yb, sw))
        finally:
            training._set_module_modes(self, False)
        return logs if return_dict else as_list(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        logs = self.evaluate(
            x,
            y,
            batch_size=len(flat(x)[0]),
            verbose=0,
            sample_weight=sample_weight,
            return_dict=True,
        )
        return logs if return_dict else as_list(logs)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(flat(x)[0]), verbose=0)


class ModuleModel(Model):
    """The Model made by ``Model.from_module``: its call is the module's forward."""

    def __init__(self, module: Module, name: str | None = None):
        super().__init__(name=name or f"{type(module).__name__.lower()}_model")
        self.module = module
        self.__dict__["built"] = True

    def call(self, inputs):
        return self.module(inputs)


def _stack_scalars(values: list) -> Tensor:
    return shape.stack([v.reshape(()) for v in values])
