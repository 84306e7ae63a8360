"""OptunaPruning: report each epoch's metric to an Optuna trial and stop the trial when pruned.

Optuna is imported inside the constructor, so ``nerve.callbacks`` imports without it.
"""

from __future__ import annotations

import math
import warnings

from nerve.callbacks.base import Callback

_HINT = "pip install 'nerve[tune]'  (or: pip install optuna)"


def _optuna(what: str):
    try:
        import optuna
    except ImportError:
        raise ImportError(f"{what} needs optuna: {_HINT}") from None
    return optuna


def report(trial, value, step: int) -> None:
    """Report ``value`` at ``step`` to an Optuna trial; raise ``optuna.TrialPruned`` if the
    study's pruner says stop. The one-line pruning hook for hand-written training loops.

    Args:
        trial: an ``optuna.Trial``.
        value: the metric (a float, or a 0-d Tensor / array).
        step: the epoch (or step) number.

    Raises:
        optuna.TrialPruned: the pruner stops the trial.
        ImportError: optuna is not installed.

    >>> import optuna  # doctest: +SKIP
    >>> for epoch in range(10):  # doctest: +SKIP
    ...     report(trial, validate(model), epoch)
    """
    optuna = _optuna("nerve.tune.report")
    value = float(value.item() if hasattr(value, "item") else value)
    trial.report(value, int(step))
    if trial.should_prune():
        raise optuna.TrialPruned(f"Trial was pruned at epoch {step} ({value}).")


class OptunaPruning(Callback):
    """Report ``monitor`` to an Optuna trial at each epoch's end, and prune through it.

    When the study's pruner says stop, training stops and ``optuna.TrialPruned`` is raised out
    of ``fit`` (Optuna's convention: ``study.optimize`` records the trial as pruned).

    Args:
        trial: the ``optuna.Trial`` of the objective function.
        monitor: the log name to report, e.g. ``"val_loss"`` or ``"val_accuracy"``; the
            study's direction says whether lower or higher is better.

    Raises:
        ImportError: optuna is not installed.
        TypeError: ``trial`` is not an Optuna trial.

    >>> def objective(trial):  # doctest: +SKIP
    ...     model = build(trial)
    ...     model.fit(x, y, validation_data=(xv, yv), epochs=10,
    ...               callbacks=[OptunaPruning(trial, monitor="val_accuracy")])
    ...     return model.evaluate(xv, yv, return_dict=True)["accuracy"]
    """

    def __init__(self, trial, monitor: str = "val_loss"):
        super().__init__()
        self._optuna = _optuna("OptunaPruning")
        if not hasattr(trial, "report") or not hasattr(trial, "should_prune"):
            raise TypeError(
                f"OptunaPruning: trial must be an optuna.Trial, got {type(trial).__name__}"
            )
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"OptunaPruning: the metric {self.monitor!r} is not in the epoch logs "
                f"({', '.join(logs)}); nothing reported. Is the name right (val_ metrics need "
                f"validation_data)?",
                stacklevel=2,
            )
            return
        value = float(value)
        if not math.isfinite(value):
            # A diverged trial: Optuna's pruners cannot rank NaN; stop it as pruned.
            self.model.stop_training = True
            raise self._optuna.TrialPruned(f"Trial was pruned at epoch {epoch}: {value}.")
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.model.stop_training = True
            raise self._optuna.TrialPruned(f"Trial was pruned at epoch {epoch}.")
