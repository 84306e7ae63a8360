"""timeseries_dataset_from_array: sliding windows over a series, as batches for fit."""

from __future__ import annotations

import numpy as np

from nerve.models.data_adapter import PyDataset


class TimeseriesDataset(PyDataset):
    """Batches of windows ``data[i : i + sequence_length * sampling_rate : sampling_rate]``
    (with ``targets[i]`` when targets are given); what timeseries_dataset_from_array returns."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        super().__init__()
        self._data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self) -> int:
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        starts = self.starts[index * self.batch_size : (index + 1) * self.batch_size]
        windows = self._data[starts[:, None] + self.offsets]
        if self.targets is None:
            return windows
        return windows, self.targets[starts]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """Sliding windows over ``data`` as batches, with Keras's arguments and window arithmetic.

    Window ``k`` starts at ``start_index + k * sequence_stride`` and holds ``sequence_length``
    rows taken every ``sampling_rate``; its target is ``targets[start]``. Keras returns a
    tf._data.Dataset; nerve returns a PyDataset of the same batches (iterate it, or pass it to
    fit / evaluate / predict).

    Raises:
        ValueError: a non-positive length, stride, rate or batch size; targets of another
            length than data; start/end indices outside the data.

    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    >>> [batch.tolist() for batch in ds][0]
    [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    """
    data = np.asarray(data)
    for name, value in (
        ("sequence_length", sequence_length),
        ("sequence_stride", sequence_stride),
        ("sampling_rate", sampling_rate),
        ("batch_size", batch_size),
    ):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"timeseries_dataset_from_array: {name} must be >= 1, got {value!r}")
    if targets is not None:
        targets = np.asarray(targets)
        if len(targets) != len(data):
            raise ValueError(
                f"timeseries_dataset_from_array: data and targets differ in length "
                f"({len(data)} and {len(targets)})"
            )
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < len(data) or not start < end <= len(data):
        raise ValueError(
            f"timeseries_dataset_from_array: start_index {start_index!r} and end_index "
            f"{end_index!r} must satisfy 0 <= start < end <= {len(data)}"
        )
    span = (sequence_length - 1) * sampling_rate
    starts = np.arange(start, end - span, sequence_stride)
    if shuffle:
        starts = np.random.default_rng(seed).permutation(starts)
    return TimeseriesDataset(data, targets, starts, sequence_length, sampling_rate, batch_size)
