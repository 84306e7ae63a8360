"""TensorBoard: Keras's callback accepted, so tutorial code runs, but nothing is written.

nerve does not depend on TensorFlow's event-file format; the callback says so once, when
training starts, and points to CSVLogger (one CSV row of logs per epoch), whose file any
plotting tool reads.
"""

from __future__ import annotations

import os
import warnings

from nerve.callbacks.base import Callback


def _non_negative_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"TensorBoard: {what} must be an integer >= 0, got {value!r}")
    return value


class TensorBoard(Callback):
    """Keras's TensorBoard callback, accepted with all its arguments; it writes no event files.

    The first time a model trains with it, it gives one ``UserWarning`` saying that nothing is
    logged and that ``nerve.callbacks.CSVLogger`` records the same epoch logs.

    Args:
        log_dir: where Keras would write the logs (recorded, never created).
        histogram_freq: epochs between weight histograms (>= 0).
        write_graph: write the model graph.
        write_images: write weights as images.
        write_steps_per_second: log the training speed.
        update_freq: 'epoch', 'batch' or a number of batches.
        profile_batch: the batch (or (start, stop) range) to profile; 0 for none.
        embeddings_freq: epochs between embedding visualizations (>= 0).
        embeddings_metadata: a dict of embedding-layer name -> metadata file.

    Raises:
        ValueError: for an update_freq, histogram_freq or embeddings_freq Keras would refuse.

    >>> from nerve import callbacks
    >>> board = callbacks.TensorBoard(log_dir="logs/run1", histogram_freq=1)
    >>> board.log_dir
    'logs/run1'
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        if update_freq not in ("epoch", "batch") and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                "TensorBoard: update_freq must be 'epoch', 'batch' or a positive number of "
                f"batches, got {update_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _non_negative_int(histogram_freq, "histogram_freq")
        self.write_graph = bool(write_graph)
        self.write_images = bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = _non_negative_int(embeddings_freq, "embeddings_freq")
        self.embeddings_metadata = embeddings_metadata
        self._warned = False

    def on_train_begin(self, logs=None):
        if self._warned:
            return
        self._warned = True
        warnings.warn(
            f"TensorBoard: nerve writes no TensorBoard event files (it does not depend on "
            f"TensorFlow's format), so nothing is logged to {self.log_dir!r}; use "
            "nerve.callbacks.CSVLogger('log.csv') to record each epoch's logs",
            UserWarning,
            stacklevel=2,
        )
