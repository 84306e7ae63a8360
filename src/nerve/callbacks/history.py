"""History: every epoch's logs, the object ``fit`` returns."""

from __future__ import annotations

from nerve.callbacks.base import Callback


class History(Callback):
    """Records each epoch's logs: ``history["loss"][i]`` is epoch ``epoch[i]``'s loss.

    ``fit`` adds one to every run and returns it (also as ``model.history``). As in Keras 3.15,
    ``history["learning_rate"]`` is there when a callback logs the rate (LearningRateScheduler,
    ReduceLROnPlateau: every epoch, the rate the epoch trained with).

    Attributes:
        history: a dict from each log name to its list of per-epoch values. Like Keras's, it is
            not cleared when the History is reused for another ``fit``.
        epoch: the epoch indices recorded by the latest ``fit``.
        params: the loop's ``{"epochs", "steps", "verbose"}``.

    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"loss": 0.5})
    >>> h.on_epoch_end(1, {"loss": 0.25})
    >>> h.history, h.epoch
    ({'loss': [0.5, 0.25]}, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self
