"""TerminateOnNaN: stop training at the first NaN or infinite loss."""

from __future__ import annotations

import math

from nerve.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite.

    Args:
        raise_error: raise RuntimeError at once (the other callbacks' ``on_train_end`` does not
            run) instead of setting ``model.stop_training`` and letting the epoch close.

    >>> class M:
    ...     stop_training = False
    >>> cb = TerminateOnNaN()
    >>> cb.set_model(M())
    >>> cb.on_train_batch_end(3, {"loss": float("nan")})
    Batch 3: Invalid loss, terminating training
    >>> cb.model.stop_training
    True
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately."
                )
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
