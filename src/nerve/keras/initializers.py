"""``keras.initializers``: nerve's initializers under Keras 3's names (classes and aliases)."""

from nerve import initializers as _initializers
from nerve.keras._door import export as _export
from nerve.keras._door import missing as _missing

_export(globals(), _initializers)
# Keras's lower-case names ("glorot_uniform", ...) for the same classes.
globals().update({name: cls for name, cls in _initializers._ALIASES.items()})
IdentityInitializer, OrthogonalInitializer = _initializers.Identity, _initializers.Orthogonal
Initializer = _initializers.Initializer


def __getattr__(name):
    raise _missing("nerve.keras.initializers", globals(), name)
