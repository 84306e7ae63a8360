"""Callback, the hooks the training loop calls, and CallbackList, which calls many of them.

A callback talks to the model only through Keras's duck-typed interface: ``model.stop_training``,
``model.optimizer``, ``get_weights``/``set_weights``, ``save_weights``/``save`` and
``model.history``; it never imports ``nerve.models``. The learning-rate helpers read and write the
rate of either kind of optimizer: Keras-style (``nerve.optimizers``, a ``learning_rate``
property) and torch-style (``nerve.optim``, ``param_groups[i]["lr"]``).
"""

from __future__ import annotations

import numpy as np


def get_learning_rate(optimizer) -> float | None:
    """The learning rate of the next step as a float, or None when there is none to read.

    Args:
        optimizer: a Keras-style optimizer (its ``learning_rate``, a schedule evaluated at the
            current step) or a torch-style one (the first param group's ``"lr"``).

    >>> from nerve.optimizers import SGD
    >>> get_learning_rate(SGD(learning_rate=0.5))
    0.5
    """
    if optimizer is None:
        return None
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        return float(groups[0]["lr"])
    lr = getattr(optimizer, "learning_rate", None)
    if lr is None:
        return None
    return float(np.asarray(lr))


def set_learning_rate(optimizer, value) -> None:
    """Set the learning rate of either kind of optimizer.

    A torch-style optimizer's first group gets ``value``; the other groups are scaled by the same
    factor, so groups with their own rates keep their ratios to the first.

    Raises:
        ValueError: the optimizer has no learning rate, or ``value`` is negative or not finite.
        TypeError: a Keras-style optimizer whose rate is a LearningRateSchedule.
    """
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"a learning rate must be a finite number >= 0, got {value}")
    groups = getattr(optimizer, "param_groups", None)
    if groups:
        first = float(groups[0]["lr"])
        for group in groups:
            same = float(group["lr"]) == first or first == 0.0
            group["lr"] = value if same else float(group["lr"]) * (value / first)
        return
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError('Optimizer must have a "learning_rate" attribute.')
    optimizer.learning_rate = value


class Callback:
    """Base class of the callbacks: every hook is a no-op that subclasses override.

    Attributes:
        model: the model being trained (set by ``set_model``).
        params: ``{"epochs": E, "steps": S or None, "verbose": v}`` (set by ``set_params``).

    >>> class Count(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, logs["loss"])
    >>> Count().on_epoch_end(0, {"loss": 0.5})
    0 0.5
    """

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    # Keras's older names for the training-batch hooks; the train hooks call them.
    def on_batch_begin(self, batch, logs=None):
        """Called at the start of a training batch (the alias of on_train_batch_begin)."""

    def on_batch_end(self, batch, logs=None):
        """Called at the end of a training batch (the alias of on_train_batch_end)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; ``logs`` holds the metrics, ``val_`` ones included."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        """``logs`` holds the running means of the loss and metrics so far in the epoch."""
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in ``evaluate`` (also validation inside ``fit``)."""

    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``evaluate``."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the start of a batch in ``predict``."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in ``predict``; ``logs["outputs"]`` holds its output."""

    def on_train_begin(self, logs=None):
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called once at the end of ``fit``, after an early stop too."""

    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate``."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate`` with its final metrics."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""


def _logs(logs) -> dict:
    """The logs every callback sees: a new dict, sorted by name, as Keras's ``pythonify_logs``.

    Sorting makes History, CSVLogger and the progress bar list ``accuracy`` before ``loss`` as
    Keras 3 does; the copy is shared by the callbacks of one call, so a value one callback adds
    (ReduceLROnPlateau's ``learning_rate``) reaches those after it.
    """
    return dict(sorted(logs.items())) if logs else {}


class CallbackList(Callback):
    """Many callbacks behind one: every hook is passed on to each, in order.

    Each hook gets the logs as a dict sorted by name (an empty one for ``None``), as Keras 3's
    CallbackList passes them. ``learning_rate`` is in the epoch logs only when a callback puts
    it there (LearningRateScheduler and ReduceLROnPlateau do, every epoch), as in Keras 3.15.

    Args:
        callbacks: the callbacks, in the order they are called.
        add_history: append a History when there is none (as Keras's CallbackList).
        add_progbar: append a ProgbarLogger when there is none.
        model: set it on every callback now.
        **params: passed to ``set_params`` when given.

    >>> class Show(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(list(logs))
    >>> CallbackList([Show()]).on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    ['accuracy', 'loss']
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks) if callbacks else []
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"CallbackList: every callback must be a nerve.callbacks.Callback, got "
                    f"{type(cb).__name__}"
                )
        # Same level: imported here because history.py and progbar.py import this module.
        from nerve.callbacks.history import History
        from nerve.callbacks.progbar import ProgbarLogger

        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_model(self, model) -> None:
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    # ------------------------------------------------------------------ training
    def on_train_begin(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    def on_train_end(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_batch_begin(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs)

    # ------------------------------------------------------------------ evaluate and predict
    def on_test_begin(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_test_end(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)

    def on_predict_end(self, logs=None):
        logs = _logs(logs)
        for cb in self.callbacks:
            cb.on_predict_end(logs)
