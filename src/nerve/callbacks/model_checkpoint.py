"""ModelCheckpoint: save the model or its weights during training, every epoch or every N
batches, optionally only when a monitored quantity improves."""

from __future__ import annotations

import os
import warnings

import numpy as np

from nerve.callbacks.monitor_callback import MonitorCallback

# nerve's own formats first; Keras's (written through nerve.saving.keras_format, h5py needed).
_MODEL_SUFFIXES = (".nerve", ".keras", ".h5")
_WEIGHTS_SUFFIXES = (".weights.safetensors", ".weights.h5")


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) as it trains.

    Each file is written atomically by the model's own save (a temp file beside it, then a
    rename), so a crash mid-save leaves the previous checkpoint whole.

    Args:
        filepath: where to save, ending in ``.nerve`` (the whole model; or Keras's ``.keras``
            or legacy ``.h5``) or, with ``save_weights_only``, in ``.weights.safetensors`` (or
            Keras's ``.weights.h5``). It may hold ``str.format`` placeholders filled from ``epoch``
            (counted from 1), ``batch`` (from 1, when saving by batches) and the logs, e.g.
            ``"ckpt/{epoch:02d}-{val_loss:.2f}.nerve"``. Missing directories are made.
        monitor: the log name ``save_best_only`` compares. Default ``"val_loss"``.
        verbose: 1 prints a line at each save (and each skipped one with save_best_only).
        save_best_only: save only when ``monitor`` improves on the best value so far.
        save_weights_only: save the weights alone (``model.save_weights``).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (see MonitorCallback).
        save_freq: ``"epoch"``, or an int: save after every that many training batches,
            counted across epochs.
        initial_value_threshold: the "best" value to beat before the first save.

    Raises:
        ValueError: ``save_freq`` is neither ``"epoch"`` nor a positive int, or ``filepath``
            does not end in the suffix of what is saved.
        IsADirectoryError: the formatted path is an existing directory.
        KeyError: a placeholder names a value that is not in the logs.

    >>> cb = ModelCheckpoint("ckpt/{epoch:02d}-{val_loss:.2f}.nerve", save_best_only=True)
    >>> cb._get_file_path(epoch=2, batch=None, logs={"val_loss": 0.4567})  # epochs count from 1
    'ckpt/03-0.46.nerve'
    >>> ModelCheckpoint("ckpt.npz")
    Traceback (most recent call last):
    ...
    ValueError: The filepath provided must end in `.nerve` (nerve's model format), `.keras` or ...
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq}. "
                "Expected save_freq are 'epoch' or integer values"
            )
        self.filepath = os.fspath(filepath)
        if save_weights_only and not self.filepath.endswith(_WEIGHTS_SUFFIXES):
            raise ValueError(
                "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided "
                "must end in `.weights.safetensors` (nerve's weights format) or `.weights.h5` "
                f"(Keras's). Received: filepath={self.filepath}"
            )
        if not save_weights_only and (
            not self.filepath.endswith(_MODEL_SUFFIXES) or self.filepath.endswith(".weights.h5")
        ):
            raise ValueError(
                "The filepath provided must end in `.nerve` (nerve's model format), `.keras` or "
                "`.h5` (Keras's), or in `.weights.safetensors` / `.weights.h5` with "
                f"save_weights_only=True. Received: filepath={self.filepath}"
            )
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add_batches = batch + 1  # a new epoch: batches count from 0
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}."
                " Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                    f"{current:.5f}, saving model to {filepath}",
                    flush=True,
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}", flush=True
            )
        return False

    def _get_file_path(self, epoch, batch, logs) -> str:
        logs = dict(logs or {})
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from None

    def _save_model(self, epoch, batch, logs) -> None:
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)
