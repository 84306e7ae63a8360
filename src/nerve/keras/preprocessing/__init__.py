"""``keras.preprocessing``: Keras 2's home of pad_sequences (``preprocessing.sequence``)."""

from nerve.keras.preprocessing import sequence

__all__ = ["sequence"]
