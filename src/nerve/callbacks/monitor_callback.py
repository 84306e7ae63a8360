"""MonitorCallback: the "is this epoch better?" test that EarlyStopping, ModelCheckpoint and
ReduceLROnPlateau share, with Keras 3's rules for ``mode`` and ``min_delta``."""

from __future__ import annotations

import operator
import re
import warnings

from nerve.callbacks.base import Callback

# Metrics that improve upwards, by the names nerve (and Keras) give them; "auto" mode needs one.
_UP = {
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "auc",
    "precision",
    "recall",
    "f1_score",
    "fbeta_score",
    "r2_score",
    "iou",
    "mean_iou",
    "true_positives",
    "true_negatives",
}
_DOWN = {
    "loss",
    "mae",
    "mse",
    "rmse",
    "mape",
    "msle",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "kl_divergence",
    "poisson",
    "log_cosh_error",
    "false_positives",
    "false_negatives",
}


class MonitorCallback(Callback):
    """Base of the callbacks that watch one logged quantity.

    Args:
        monitor: the log name to watch, e.g. ``"val_loss"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (losses and errors go down, accuracies and the
            like go up, from the name; a metric object with ``_direction`` "up"/"down" on
            ``model.metrics`` decides for its name).
        baseline: the initial "best" value; None starts from the first value seen.
        min_delta: how much better a value must be to count as an improvement.

    Raises:
        ValueError: (at the first epoch's end) ``mode="auto"`` and the direction of the
            monitored name cannot be told.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,  # the line that built the callback
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _direction(self) -> str | None:
        name = self.monitor.removeprefix("val_")
        for m in getattr(self.model, "metrics", None) or ():
            if getattr(m, "name", None) == name and getattr(m, "_direction", None) in (
                "up",
                "down",
            ):
                return m._direction
        # A second metric of a kind is named "auc_1"; an output's metric "out_accuracy".
        name = re.sub(r"_\d+$", "", name)
        if name.endswith("loss") or name.endswith("crossentropy"):
            return "down"
        if "accuracy" in name or any(name == k or name.endswith("_" + k) for k in _UP):
            return "up"
        if any(name == k or name.endswith("_" + k) for k in _DOWN):
            return "down"
        return None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            direction = self._direction()
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but nerve "
                    "isn't able to automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to monitor based on the "
                    "highest metric value, or pass `mode='min'` in order to use the lowest value."
                )
            self.monitor_op = operator.gt if direction == "up" else operator.lt

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        """Whether ``monitor_value`` beats ``reference_value`` by more than ``min_delta``."""
        if self.monitor_op is None:
            self._set_monitor_op()
        if reference_value is None:
            return True
        delta = -self.min_delta if self.monitor_op is operator.lt else self.min_delta
        return bool(self.monitor_op(monitor_value - delta, reference_value))
