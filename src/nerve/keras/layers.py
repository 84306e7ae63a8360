"""``keras.layers``: nerve's Keras-style layers under Keras 3's names."""

from nerve import layers as _layers
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _layers)


def __getattr__(name):
    raise _missing("nerve.keras.layers", globals(), name)
