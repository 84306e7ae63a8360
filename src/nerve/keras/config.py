"""``keras.config`` / ``keras.backend``: the float type, epsilon, data format, clear_session."""

from __future__ import annotations

import numpy as np

_EPSILON = [1e-7]


def backend() -> str:
    """The name of the array library underneath ("nerve")."""
    return "nerve"


def floatx() -> str:
    """The default float type: "float32" (nerve's layers and ops keep float32)."""
    return "float32"


def set_floatx(value) -> None:
    """Only float32 is supported by nerve's Keras door; other values are an error."""
    if np.dtype(value) != np.float32:
        raise ValueError(
            f"set_floatx({value!r}): nerve's Keras door computes in float32; pass dtype= to a "
            "layer for another type"
        )


def epsilon() -> float:
    """The fuzz factor of the Keras formulas (1e-7)."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    _EPSILON[0] = float(value)


def image_data_format() -> str:
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    if data_format != "channels_last":
        raise ValueError(
            f"set_image_data_format({data_format!r}): the global default stays channels_last; "
            "pass data_format= to the layers that take it"
        )


def clear_session(free_memory: bool = True) -> None:
    """Reset the automatic layer names (dense, dense_1, ...) as Keras does."""
    from nerve.layers.base import _NAME_COUNTS

    _NAME_COUNTS.clear()


def enable_unsafe_deserialization() -> None:
    """Accepted for Keras compatibility: nerve files never hold code, so there is nothing unsafe
    to enable."""
