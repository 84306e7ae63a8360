"""EarlyStopping: stop training when a monitored quantity stops improving (Keras 3's rules)."""

from __future__ import annotations

import warnings

from nerve.callbacks.monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Each epoch the wait count grows by one and drops to 0 on an improvement (a value better than
    the best so far by more than ``min_delta`` that also beats ``baseline``, when given). Training
    stops at the end of the first epoch (after epoch 0) whose wait count reaches ``patience``.

    Args:
        monitor: the log name to watch. Default ``"val_loss"``.
        min_delta: the least change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a line when it stops and when it restores weights.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the name: see MonitorCallback).
        baseline: a value the model must beat; while it does not, the wait count keeps growing.
        restore_best_weights: at the end of training, set the weights of the best epoch (even when
            no epoch beat ``baseline``: then the best of those seen).
        start_from_epoch: epochs of warm-up that are not watched at all.

    Attributes:
        stopped_epoch: the epoch training stopped at (0 when it ran to the end).
        best, best_epoch, wait: the best value, its epoch and the current wait count.

    >>> es = EarlyStopping(monitor="loss", patience=1)
    >>> class M:
    ...     stop_training = False
    >>> es.set_model(M())
    >>> es.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.7]):
    ...     es.on_epoch_end(epoch, {"loss": loss})
    ...     if es.model.stop_training:
    ...         break
    >>> es.stopped_epoch
    2
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        if int(patience) < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        if int(start_from_epoch) < 0:
            raise ValueError(
                f"EarlyStopping: start_from_epoch must be >= 0, got {start_from_epoch}"
            )
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        # Reset, so one instance can serve several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing stored yet: this epoch's weights are the best so far.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # The wait restarts only when the value beats the baseline as well as the best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}.",
                    flush=True,
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value
