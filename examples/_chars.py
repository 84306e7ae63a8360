"""What the two next-character lessons share: the fortunes corpus cut into a training and a
held-out text, its character vocabulary, and the windows both models are scored on.

Used by char_lstm.py and attention.py, so that their perplexities are measured on the same
characters in the same way (the leading underscore keeps it out of ``nerve examples``).
"""

from __future__ import annotations

import numpy as np
from _common import fortunes_text

SEQ_LEN = 100  # characters per training sequence and per scored window, for both models
KEEP = "\n\t" + "".join(chr(c) for c in range(32, 127))  # printable ASCII, newline, tab


def corpus(quick: bool, seed: int = 0, train_chars: int | None = None):
    """The corpus as (train_text, val_text), printable ASCII only.

    Paragraphs are shuffled (seeded) before the cut, so that the held-out text is not one
    topic of the alphabetically ordered fortune files. Quick mode keeps 60,000 training and
    6,000 held-out characters; full mode holds out 100,000 and trains on the rest (or on the
    first ``train_chars`` of it).
    """
    text = fortunes_text()
    # the few backspaces (overstrike art) and stray non-ASCII bytes go; 97 symbols remain
    text = "".join(ch for ch in text if ch in KEEP)
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    order = np.random.default_rng(seed).permutation(len(paragraphs))
    text = "\n\n".join(paragraphs[i] for i in order)
    n_val = 6_000 if quick else 100_000
    n_train = 60_000 if quick else train_chars
    val, train = text[:n_val], text[n_val:]
    return (train[:n_train] if n_train else train), val


class Vocab:
    """Characters <-> ids; the alphabet is the printable ASCII set of ``KEEP`` (97 symbols)."""

    def __init__(self, alphabet: str = KEEP):
        self.chars = sorted(set(alphabet))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def windows(ids: np.ndarray, length: int = SEQ_LEN):
    """Non-overlapping (input, target) windows: x = ids[s:s+L], y = ids[s+1:s+L+1]; (N, L) each."""
    n = (len(ids) - 1) // length
    x = ids[: n * length].reshape(n, length)
    y = ids[1 : n * length + 1].reshape(n, length)
    return x, y


def show(text: str, width: int = 100) -> str:
    """A sample for printing: tabs as spaces, at most ``width`` characters a line."""
    lines = []
    for line in text.replace("\t", "    ").split("\n"):
        lines += [line[i : i + width] for i in range(0, max(len(line), 1), width)]
    return "\n".join(lines)
