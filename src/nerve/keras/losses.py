"""``keras.losses``: nerve's losses under Keras 3's names."""

from nerve import losses as _source
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _source)


def __getattr__(name):
    raise _missing("nerve.keras.losses", globals(), name)
