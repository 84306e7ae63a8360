"""``keras.utils.np_utils``: Keras 2's home of to_categorical (deprecated)."""

from __future__ import annotations

import warnings

from nerve.utils import to_categorical as _to_categorical


def to_categorical(y, num_classes=None, dtype="float32"):
    """Deprecated spelling of ``keras.utils.to_categorical``."""
    warnings.warn(
        "keras.utils.np_utils.to_categorical is Keras 2's name; use keras.utils.to_categorical",
        DeprecationWarning,
        stacklevel=2,
    )
    return _to_categorical(y, num_classes).astype(dtype, copy=False)
