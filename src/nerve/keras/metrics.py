"""``keras.metrics``: nerve's streaming metrics under Keras 3's names."""

from nerve import losses as _losses
from nerve import metrics as _metrics
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _metrics)
# Keras 3's metric module also exposes the loss functions by name (e.g. metrics.mean_squared_error).
_export(globals(), _losses, skip=("Loss", "get", "serialize", "EPSILON"))


def __getattr__(name):
    raise _missing("nerve.keras.metrics", globals(), name)
