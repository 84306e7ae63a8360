"""CSVLogger: stream each epoch's logs to a CSV file."""

from __future__ import annotations

import csv
import os

import numpy as np

from nerve.callbacks.base import Callback


def _cell(value):
    if isinstance(value, str):
        return value
    if np.ndim(value) > 0:  # per-class metrics: one cell that reads back as a list
        return "[" + ", ".join(str(v) for v in np.asarray(value).ravel().tolist()) + "]"
    return value


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` then every log, in sorted order.

    The columns are the first epoch's log names, sorted; when that epoch has no ``val_`` names,
    a ``val_`` column is added for each (filled with ``NA`` until they appear), so a
    ``validation_freq`` > 1 still gets its columns. The file is flushed after every row.

    Args:
        filename: the CSV file, e.g. ``"run/log.csv"``.
        separator: the field separator.
        append: add to an existing file (continuing a run; the header is written only when the
            file is empty) instead of overwriting it.

    >>> import csv, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> logger = CSVLogger(path)
    >>> logger.on_train_begin()
    >>> logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.75})
    >>> logger.on_train_end()
    >>> with open(path, newline="") as f:
    ...     list(csv.DictReader(f))
    [{'epoch': '0', 'loss': '0.5', 'val_loss': '0.75'}]
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, newline="") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # A log streamed row by row, not a saved state: nothing to replace atomically.
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError("CSVLogger: on_train_begin must run before on_epoch_end")
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:

            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
