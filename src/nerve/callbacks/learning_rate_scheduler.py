"""LearningRateScheduler: set the learning rate at each epoch's start from a function."""

from __future__ import annotations

import inspect
import numbers

from nerve.callbacks.base import Callback, get_learning_rate, set_learning_rate


def _takes_two(schedule) -> bool:
    try:
        inspect.signature(schedule).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins): assume the current API
        return True
    return True


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate to ``schedule(epoch, lr)`` at the start of every epoch.

    Args:
        schedule: a function of the epoch index (from 0) and the current rate (a float) that
            returns the new rate; a function of the epoch alone is accepted too (Keras's old API).
        verbose: 1 prints the rate it sets.

    Raises:
        ValueError: the schedule returns something that is not a real number.

    >>> from nerve.optimizers import SGD
    >>> class M:
    ...     optimizer = SGD(learning_rate=0.1)
    >>> cb = LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch else lr)
    >>> cb.set_model(M())
    >>> for epoch in range(3):
    ...     cb.on_epoch_begin(epoch)
    >>> M.optimizer.learning_rate
    0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: schedule must be a function (epoch, lr) -> lr, got "
                f"{type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._two_args = _takes_two(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        lr = get_learning_rate(optimizer)
        if lr is None:
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        new_lr = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        if isinstance(new_lr, bool) or not isinstance(new_lr, numbers.Real):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {new_lr}"
            )
        set_learning_rate(optimizer, new_lr)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{float(new_lr)}.",
                flush=True,
            )

    def on_epoch_end(self, epoch, logs=None):
        lr = get_learning_rate(getattr(self.model, "optimizer", None))
        if logs is not None and lr is not None:
            logs["learning_rate"] = lr
