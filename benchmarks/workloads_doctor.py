"""The Doctor workload: what the Doctor callback adds to a Keras-style ``fit`` epoch.

Both sides run ``Model.fit(epochs=1)`` over the same 16 batches of 128 Fashion-MNIST images with
the suite's CNN written with nerve.layers (Conv2D 32 - MaxPool - Conv2D 64 - MaxPool - Dense 128 -
Dense 10, Adam); the ``doctor`` side passes ``callbacks=[Doctor(verbose=0)]`` (its default two
sampled batches per epoch), the ``fit`` side none. Each call is a whole ``fit``, so the ratio
doctor/fit also holds the Doctor's once-per-fit work (data checks, the final diagnosis): an upper
bound for a real, longer epoch. Registered at the end of ``benchmarks.workloads`` (import that
module, not this one, first).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.data import Data
from benchmarks.workloads import BATCH, FIT_BATCHES, LR, Plan, Workload


class DoctorWorkload(Workload):
    """fit with the Doctor vs fit without: both sides are nerve."""

    def sides(self, with_torch: bool) -> tuple[str, ...]:
        return ("doctor", "fit")


def _keras_cnn():
    from nerve import layers, models

    return models.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )


def _fit_epoch(side: str, data: Data) -> Callable[[int], float]:
    import nerve
    from nerve import callbacks, losses, optimizers

    if side not in ("doctor", "fit"):
        raise ValueError(f"doctor workload: side must be 'doctor' or 'fit', got {side!r}")
    nerve.manual_seed(0)
    x = data.train_x[: FIT_BATCHES * BATCH].reshape(-1, 28, 28, 1)
    y = data.train_y[: FIT_BATCHES * BATCH]
    model = _keras_cnn()
    model.compile(
        optimizer=optimizers.Adam(LR), loss=losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    extra = [callbacks.Doctor(verbose=0)] if side == "doctor" else []

    def epoch(i: int) -> float:
        history = model.fit(
            x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False, callbacks=extra
        )
        return history.history["loss"][-1]

    return epoch


DOCTOR = DoctorWorkload(
    "doctor",
    f"Doctor callback: fit epoch with / without (CNN, {FIT_BATCHES} batches of {BATCH})",
    "doctor",
    1.05,
    _fit_epoch,
    Plan(1, 11, 1),
    Plan(0, 2, 1),
    per_call=FIT_BATCHES,
)
