"""``keras.optimizers`` (and ``keras.optimizers.schedules``): nerve's Keras-style optimizers."""

from nerve import optimizers as _optimizers
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _optimizers, skip=("serialize",))
serialize = _optimizers.serialize
schedules = _optimizers.schedules


def __getattr__(name):
    raise _missing("nerve.keras.optimizers", globals(), name)
