"""History: every epoch's logs, the object ``fit`` returns."""

from __future__ import annotations

from nerve.callbacks.base import Callback, get_learning_rate


class History(Callback):
    """Records each epoch's logs: ``history["loss"][i]`` is epoch ``epoch[i]``'s loss.

    ``fit`` adds one to every run and returns it (also as ``model.history``). The learning rate
    is recorded once it changes during training (CallbackList puts it in the logs from then on):
    ``history["learning_rate"]`` then starts with the rate of the epochs before the change, so
    it lines up with ``epoch``.

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
        self._lr_start = None

    def on_train_begin(self, logs=None):
        self.epoch = []
        self._lr_start = get_learning_rate(getattr(self.model, "optimizer", None))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if "learning_rate" in logs and "learning_rate" not in self.history:
            # The rate was left out of the logs while it had not changed: fill those epochs in.
            earlier = len(self.epoch)
            if earlier and self._lr_start is not None:
                self.history["learning_rate"] = [self._lr_start] * earlier
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self
