"""``keras.preprocessing.sequence.pad_sequences``, as Keras 3 still exposes it."""

from nerve.keras.utils.sequences import pad_sequences

__all__ = ["pad_sequences"]
