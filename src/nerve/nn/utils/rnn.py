"""Variable-length sequences for the recurrent layers: torch's ``torch.nn.utils.rnn``.

A :class:`PackedSequence` holds a batch of sequences of different lengths without padding: the
sequences sorted by length, longest first, and their steps stored time-major, so ``data`` has
one row per real step and ``batch_sizes[t]`` says how many sequences are still running at step
t. Every conversion here is one gather of rows (``x[index]``), so gradients flow back to the
padded or packed tensor it came from; the padding rows get no gradient.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.primitives import creation, shape

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def _int64(values) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.int64))


def _host_int64(values) -> np.ndarray:
    """``values`` (a Tensor on any device, an array or a list) as a host int64 array: the
    index bookkeeping of packing runs on the CPU, as torch keeps batch_sizes there."""
    if isinstance(values, Tensor):
        values = values.detach().cpu()._data
    return np.asarray(values, dtype=np.int64)


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None).

    Args:
        permutation: a 1-d int Tensor holding a permutation of ``range(n)``, or None.

    Returns:
        A 1-d int64 Tensor ``inv`` with ``inv[permutation[i]] = i``, or None.
    """
    if permutation is None:
        return None
    perm = _host_int64(permutation)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=np.int64)
    if isinstance(permutation, Tensor) and permutation.device.type != "cpu":
        return Tensor(inverse).to(permutation.device)  # where the permutation lives, as torch
    return Tensor(inverse)


_PackedSequenceBase = namedtuple(
    "PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


class PackedSequence(_PackedSequenceBase):
    """A batch of variable-length sequences, packed (torch's ``PackedSequence``).

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`, not directly.

    Attributes:
        data: (total steps, *) the steps of all sequences, time-major, longest sequence first.
        batch_sizes: 1-d int64 Tensor, how many sequences are running at each time step.
        sorted_indices: 1-d int64 Tensor, the original batch position of each sorted sequence,
            or None when the batch was already sorted.
        unsorted_indices: the inverse of ``sorted_indices``, or None.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # torch's legacy form PackedSequence((data, batch_sizes))
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise TypeError(
                    "PackedSequence: give data and batch_sizes (use pack_padded_sequence or "
                    "pack_sequence to make one)"
                )
            data, batch_sizes = data
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> PackedSequence:
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def _moved(self, data: Tensor) -> PackedSequence:
        """``data`` with the sorting indices on its device (batch_sizes stays on the CPU), as
        torch's PackedSequence.to."""
        if data is self.data:
            return self
        sorted_idx, unsorted_idx = self.sorted_indices, self.unsorted_indices
        if sorted_idx is not None and sorted_idx.device != data.device:
            sorted_idx, unsorted_idx = sorted_idx.to(data.device), unsorted_idx.to(data.device)
        return type(self)(data, self.batch_sizes, sorted_idx, unsorted_idx)

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequences with ``data`` moved or cast as ``Tensor.to`` does."""
        return self._moved(self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self._moved(self.data.cpu())

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self._moved(self.data.cuda(*args, **kwargs))

    def pin_memory(self) -> PackedSequence:
        return self

    def is_pinned(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def half(self) -> PackedSequence:
        return self._with_data(self.data.half())

    def long(self) -> PackedSequence:
        return self._with_data(self.data.long())

    def int(self) -> PackedSequence:
        return self._with_data(self.data.int())

    def short(self) -> PackedSequence:
        return self._with_data(self.data.short())

    def char(self) -> PackedSequence:
        return self._with_data(self.data.char())

    def byte(self) -> PackedSequence:
        return self._with_data(self.data.byte())


# ----------------------------------------------------------------------------- index helpers
def lengths_of(batch_sizes: np.ndarray) -> np.ndarray:
    """The sorted (longest first) sequence lengths behind a ``batch_sizes`` array."""
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)


def padded_positions(batch_sizes: np.ndarray, steps: int | None = None) -> np.ndarray:
    """(T, B) row numbers into packed ``data`` for each (step, sorted sequence); the padding
    positions hold ``len(data)``, the row a caller appends for padding."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    total = int(sizes.sum())
    batch = int(sizes[0]) if sizes.size else 0
    steps = sizes.size if steps is None else steps
    offsets = np.cumsum(sizes) - sizes
    cols = np.arange(batch)
    pos = np.full((steps, batch), total, dtype=np.int64)
    pos[: sizes.size] = np.where(cols[None] < sizes[:, None], offsets[:, None] + cols[None], total)
    return pos


def packed_positions(batch_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(step, sorted sequence) of every row of packed ``data``, in order."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    steps = np.repeat(np.arange(sizes.size), sizes)
    offsets = np.cumsum(sizes) - sizes
    cols = np.arange(int(sizes.sum())) - np.repeat(offsets, sizes)
    return steps, cols


def _with_pad_row(data: Tensor, value) -> Tensor:
    """``data`` with one more row, all ``value``, at the end."""
    pad = creation.full((1, *data.shape[1:]), value, dtype=data.dtype, device=data.device)
    return shape.cat([data, pad], dim=0)


# ----------------------------------------------------------------------------- padding
def pad_sequence(sequences, batch_first: bool = False, padding_value=0.0, padding_side="right"):
    """Stack sequences of different lengths into one tensor, padding the short ones.

    Args:
        sequences: Tensors of shape (L_i, *) with the same trailing dims (or one Tensor, whose
            rows are the sequences).
        batch_first: the result is (B, T, *) instead of (T, B, *).
        padding_value: the value of the padding positions.
        padding_side: ``"right"`` (padding after each sequence) or ``"left"``.

    Returns:
        A Tensor (T, B, *) or (B, T, *), T the longest length, of the first sequence's dtype.

    Raises:
        RuntimeError: no sequences, or a bad ``padding_side``.
        ValueError: the trailing dims differ, or a sequence is 0-d.
    """
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if not all(isinstance(s, Tensor) for s in seqs):
        kinds = sorted({type(s).__name__ for s in seqs})
        raise TypeError(f"pad_sequence: expected a sequence of Tensors, got {kinds}")
    trailing = seqs[0].shape[1:]
    if any(s.ndim == 0 or s.shape[1:] != trailing for s in seqs):
        raise ValueError(
            "pad_sequence: every sequence needs at least 1 dim and the same trailing dims, got "
            f"shapes {[tuple(s.shape) for s in seqs]}"
        )
    dtype = seqs[0].dtype
    seqs = [s if s.dtype == dtype else s.to(dtype) for s in seqs]
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    longest = int(lengths.max())
    starts = np.cumsum(lengths) - lengths
    t = np.arange(longest)[None, :]
    if padding_side == "right":
        step = t
    else:  # left padding: each sequence ends at the last step
        step = t - (longest - lengths[:, None])
    valid = (step >= 0) & (step < lengths[:, None])
    pos = np.where(valid, starts[:, None] + step, int(lengths.sum()))  # (B, T)
    flat = _with_pad_row(shape.cat(seqs, dim=0), padding_value)
    return flat[pos if batch_first else pos.T]


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into its sequences (the inverse of :func:`pad_sequence`).

    Args:
        padded_sequences: (T, B, *) or, with ``batch_first``, (B, T, *).
        lengths: the B lengths (a list or a 1-d Tensor).
        batch_first: the layout of ``padded_sequences``.

    Returns:
        A list of B Tensors of shape (L_i, *).
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _host_int64(lengths).reshape(-1)
    return [seq[: int(n)] for seq, n in zip(padded_sequences, lens)]


# ----------------------------------------------------------------------------- packing
def _check_lengths(lengths, batch: int, steps: int) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.device.type != "cpu":
            raise RuntimeError(
                "'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.ndim}D {lengths.device} {lengths.dtype} tensor"
            )
        lens = lengths._data.astype(np.int64)
    else:
        lens = np.asarray(lengths)
        if lens.ndim != 1 or not (lens.dtype.kind in "iuf" or lens.size == 0):
            raise RuntimeError(f"'lengths' argument should be a 1D list of ints, got {lengths!r}")
        lens = lens.astype(np.int64)
    if lens.shape[0] != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.shape[0]} "
            f"(batch_size={batch})"
        )
    if lens.size and lens.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if lens.size and lens.max() > steps:
        raise ValueError(
            f"pack_padded_sequence: a length of {int(lens.max())} is longer than the "
            f"{steps} steps of the padded input"
        )
    return lens


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """Pack a padded batch of variable-length sequences for a recurrent layer.

    Args:
        input: (T, B, *) padded sequences, or (B, T, *) with ``batch_first``.
        lengths: the B sequence lengths: a list or a 1-d CPU Tensor.
        batch_first: the layout of ``input``.
        enforce_sorted: the lengths must be sorted longest first (otherwise they are sorted
            here and the order is remembered in ``sorted_indices``).

    Returns:
        A :class:`PackedSequence`.

    Raises:
        RuntimeError: ``lengths`` is not 1-d, its size is not the batch size, a length is not
            positive, or the lengths are not sorted while ``enforce_sorted`` is set.
        ValueError: a length exceeds the padded input's number of steps.
    """
    if input.ndim < 2:
        raise ValueError(
            f"pack_padded_sequence: input must have a time and a batch dim, got shape "
            f"{tuple(input.shape)}"
        )
    batch_dim, time_dim = (0, 1) if batch_first else (1, 0)
    lens = _check_lengths(lengths, input.shape[batch_dim], input.shape[time_dim])
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
    sizes = (lens[None, :] > np.arange(int(lens[0]) if lens.size else 0)[:, None]).sum(axis=1)
    steps, cols = packed_positions(sizes)
    rows = cols if order is None else order[cols]
    data = input[(rows, steps) if batch_first else (steps, rows)]
    # the sorting indices live with the data, batch_sizes on the CPU (as torch)
    sorted_indices = None if order is None else _int64(order).to(input.device)
    return PackedSequence(data, _int64(sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value=0.0, total_length=None
):
    """Unpack a :class:`PackedSequence` into a padded batch (the inverse of packing).

    Args:
        sequence: the packed batch.
        batch_first: return (B, T, *) instead of (T, B, *).
        padding_value: the value of the padding positions.
        total_length: pad to this many steps instead of the longest length.

    Returns:
        (padded, lengths): the padded Tensor, in the original batch order, and the lengths as a
        1-d int64 Tensor.

    Raises:
        ValueError: ``total_length`` is shorter than the longest sequence.
    """
    sizes = _host_int64(sequence.batch_sizes)
    longest = sizes.size
    if total_length is not None:
        if total_length < longest:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{longest}"
            )
        longest = int(total_length)
    pos = padded_positions(sizes, longest)
    lengths = lengths_of(sizes)
    if sequence.unsorted_indices is not None:
        unsorted = _host_int64(sequence.unsorted_indices)
        pos, lengths = pos[:, unsorted], lengths[unsorted]
    padded = _with_pad_row(sequence.data, padding_value)[pos.T if batch_first else pos]
    return padded, _int64(lengths)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (pad, then pack).

    Args:
        sequences: Tensors of shape (L_i, *), longest first when ``enforce_sorted``.
        enforce_sorted: as for :func:`pack_padded_sequence`.

    Returns:
        A :class:`PackedSequence`.
    """
    seqs = list(sequences)
    lengths = [s.shape[0] if s.ndim else 0 for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences a :class:`PackedSequence` holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
