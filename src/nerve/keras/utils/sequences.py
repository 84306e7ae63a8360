"""pad_sequences: lists of token ids as one padded array (Keras's function and semantics)."""

from __future__ import annotations

import numpy as np


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pad (and cut) sequences to one length, as ``keras.utils.pad_sequences``.

    Args:
        sequences: a list of sequences (lists or arrays of numbers, or of equal-shape arrays).
        maxlen: the output length; default the longest sequence's.
        dtype: the output dtype ("int32" by default, as Keras).
        padding: "pre" (pad before) or "post".
        truncating: "pre" (drop the start of long sequences) or "post" (drop the end).
        value: the padding value.

    Returns:
        An array of shape ``(len(sequences), maxlen, *item_shape)``.

    Raises:
        ValueError: a bad padding or truncating mode, a non-iterable sequence, items of
            different shapes, or a string value with a numeric dtype.

    >>> pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2)
    array([[2, 3],
           [4, 5],
           [0, 6]], dtype=int32)
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating must be "pre" or "post", got {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be iterable (a list of sequences)")
    lengths, item_shape = [], None
    for k, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(
                f"pad_sequences: `sequences` must be a list of iterables; found non-iterable "
                f"{s!r} at index {k}"
            )
        lengths.append(len(s))
        if item_shape is None and len(s):
            item_shape = np.asarray(s).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and not is_text:
        raise ValueError(
            f"pad_sequences: dtype {dtype!r} cannot hold the string padding value {value!r}"
        )
    out = np.full((len(lengths), maxlen, *item_shape), value, dtype=dtype)
    for k, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        s = np.asarray(s, dtype=dtype)
        if s.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences: sequence {k} has items of shape {s.shape[1:]}, the others "
                f"{item_shape}"
            )
        cut = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[k, : len(cut)] = cut
        else:
            out[k, maxlen - len(cut) :] = cut
    return out
