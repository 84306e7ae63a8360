"""ReduceLROnPlateau: lower the learning rate when a monitored quantity stops improving."""

from __future__ import annotations

import warnings

import numpy as np

from nerve.callbacks.base import get_learning_rate, set_learning_rate
from nerve.callbacks.monitor_callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Keras 3's rules: ``new_lr = max(lr * factor, min_lr)``, applied only while ``lr > min_lr``;
    after a reduction, ``cooldown`` epochs pass with the wait count held at 0. Each epoch's
    ``logs["learning_rate"]`` is set to the rate that epoch trained with.

    Args:
        monitor: the log name to watch. Default ``"val_loss"``.
        factor: the multiplier, in [0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints a line at each reduction.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (see MonitorCallback).
        min_delta: the least change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the floor of the learning rate.

    Works with both optimizer kinds (see ``set_learning_rate``); a Keras-style optimizer built
    on a LearningRateSchedule cannot be changed and raises TypeError at the first reduction.

    >>> from nerve.optimizers import SGD
    >>> class M:
    ...     optimizer = SGD(learning_rate=1.0)
    >>> cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    >>> cb.set_model(M())
    >>> cb.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 1.0, 1.0]):
    ...     cb.on_epoch_end(epoch, {"loss": loss})
    >>> M.optimizer.learning_rate
    0.25
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        if factor < 0 or min_lr < 0 or patience < 0 or cooldown < 0:
            raise ValueError(
                "ReduceLROnPlateau: factor, min_lr, patience and cooldown must be >= 0, got "
                f"factor={factor}, min_lr={min_lr}, patience={patience}, cooldown={cooldown}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _reduce_lr(self, epoch) -> bool:
        optimizer = self.model.optimizer
        old_lr = get_learning_rate(optimizer)
        if old_lr is None:
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        # Compared in float32, as Keras does, so a float32 rate at min_lr counts as reached.
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            set_learning_rate(optimizer, new_lr)
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                    flush=True,
                )
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        lr = get_learning_rate(getattr(self.model, "optimizer", None))
        if lr is not None:
            logs["learning_rate"] = lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0
