"""``keras.callbacks``: nerve's callbacks under Keras 3's names."""

from nerve import callbacks as _callbacks
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _callbacks)


def __getattr__(name):
    raise _missing("nerve.keras.callbacks", globals(), name)
