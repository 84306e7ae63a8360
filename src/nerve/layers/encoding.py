"""Keras's numeric encoding layers: CategoryEncoding (integer ids -> one-hot, multi-hot or
counts) and Discretization (numbers -> bucket ids, with boundaries given or learned by
``adapt``).

Their outputs are integer or 0/1 data, so they pass no gradient: they belong at a model's input
(or in the data pipeline), as in Keras. Output shapes follow Keras's rules, including its
multi-hot and count reduction over axis 1 of a batched input.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer

__all__ = ["CategoryEncoding", "Discretization"]

_MODES = ("one_hot", "multi_hot", "count")


def _ids_array(inputs) -> np.ndarray:
    return np.asarray(inputs._data if isinstance(inputs, Tensor) else inputs)


def encode(ids: np.ndarray, mode: str, depth: int, dtype, owner: str, weights=None):
    """Keras's ``encode_categorical_inputs`` for the one_hot / multi_hot / count modes.

    Args:
        ids: integer ids in [0, depth) (negative ids encode to all zeros, as Keras on torch).
        mode: 'one_hot', 'multi_hot' or 'count'.
        depth: the number of tokens.
        dtype: the output dtype.
        owner: the layer's name, for errors.
        weights: per-id weights of ids' shape ('count' only).

    Returns:
        A NumPy array: one_hot appends an axis of ``depth`` (replacing a trailing axis of 1);
        multi_hot and count reduce axis 1 of a batched input (axis 0 of a 1-d one).

    Raises:
        ValueError: for an id >= depth.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind == "f":
        ids = ids.astype(np.int64)  # Keras casts to int (truncation) before encoding
    if ids.ndim == 0:
        ids = ids[None]
    if ids.size and ids.max() >= depth:
        raise ValueError(
            f"{owner}: id {int(ids.max())} is out of range for num_tokens={depth} (ids must be "
            f"in [0, {depth}))"
        )
    if mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
        if weights is not None:
            weights = np.asarray(weights)[..., 0]
    onehot = (ids[..., None] == np.arange(depth)).astype(dtype)
    if mode == "one_hot":
        return onehot
    axis = 1 if ids.ndim > 1 else 0
    if mode == "multi_hot":
        return onehot.max(axis=axis)
    if weights is not None:
        w = np.asarray(weights)
        onehot = onehot.astype(w.dtype if w.dtype.kind == "f" else dtype) * w[..., None]
    return onehot.sum(axis=axis)


class CategoryEncoding(Layer):
    """Encode integer ids as one-hot, multi-hot or count vectors (Keras's CategoryEncoding).

    Args:
        num_tokens: the number of distinct ids (ids are in [0, num_tokens)).
        output_mode: 'multi_hot' (default; 'binary' is its old name), 'one_hot' or 'count'.
        sparse: must be False (nerve has no sparse tensors, nor has Keras on torch).

    Call arguments:
        inputs: integer ids, e.g. (batch, k).
        count_weights: weights of the ids' shape, summed instead of 1s ('count' only).

    Raises:
        ValueError: for a bad output_mode, num_tokens < 1, sparse=True, count_weights with
            another mode, or an id >= num_tokens.

    >>> from nerve import layers
    >>> layers.CategoryEncoding(4)([[0, 1], [3, 3]]).tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    >>> layers.CategoryEncoding(3, output_mode="count")([[0, 2, 2]]).tolist()
    [[1.0, 0.0, 2.0]]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(
                f"CategoryEncoding: output_mode must be one of {_MODES}, got {output_mode!r}"
            )
        if num_tokens is None or isinstance(num_tokens, bool) or int(num_tokens) != num_tokens:
            raise ValueError(
                f"CategoryEncoding: num_tokens must be an integer >= 1, got {num_tokens!r} "
                "(without a known number of tokens, map them to ids first)"
            )
        if num_tokens < 1:
            raise ValueError(f"CategoryEncoding: num_tokens must be >= 1, got {num_tokens}")
        if sparse:
            raise ValueError("CategoryEncoding: sparse=True is not supported (no sparse tensors)")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True  # no weights; ids need no shape to build from

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                f"CategoryEncoding {self.name!r}: count_weights is only used with "
                f"output_mode='count', not {self.output_mode!r}"
            )
        weights = None if count_weights is None else _ids_array(count_weights)
        out = encode(
            _ids_array(inputs), self.output_mode, self.num_tokens, self.dtype, self.name, weights
        )
        return Tensor._wrap(out)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


# ----------------------------------------------------------------------------- Discretization
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """A (2, k) quantile sketch of ``values``: every step-th sorted value, weighted by step."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)
    picked = values[int(step - 1) :: int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """At most 1 / epsilon points of the sketch, at evenly spaced cumulative weights."""
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    share = cum / cum[-1]
    points = np.interp(targets, share, summary[0])
    cum_at = np.interp(targets, share, cum)
    weights = cum_at - np.concatenate(([0.0], cum_at[:-1]))
    return np.stack((points, weights)).astype(np.float32)


def _merge(a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate((a, b), axis=1)
    return _compress(both[:, np.argsort(both[0])], epsilon)


class Discretization(Layer):
    """Bucket numbers by boundaries (Keras's Discretization).

    Bucket i holds ``bin_boundaries[i-1] <= x < bin_boundaries[i]`` (NumPy's ``digitize``).
    With ``num_bins`` instead, :meth:`adapt` learns ``num_bins - 1`` boundaries at evenly
    spaced quantiles of the data, with Keras's streaming sketch (so the boundaries equal
    Keras's, approximate quantiles within ``epsilon``).

    Args:
        bin_boundaries: sorted boundaries, or None to learn them.
        num_bins: the number of buckets to learn with adapt (exclusive with bin_boundaries).
        epsilon: the sketch's error tolerance (default 0.01).
        output_mode: 'int' (bucket ids, int32; default), 'one_hot', 'multi_hot' or 'count'.
        sparse: must be False.

    Raises:
        ValueError: for both or neither of bin_boundaries and num_bins, a bad output_mode,
            sparse=True, or a call before the boundaries are known.

    >>> from nerve import layers
    >>> layers.Discretization(bin_boundaries=[0.0, 1.0])([[-1.5, 0.0, 0.5, 2.0]]).tolist()
    [[0, 1, 1, 2]]
    """

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_mode not in ("int", *_MODES):
            raise ValueError(
                "Discretization: output_mode must be one of ('int', 'one_hot', 'multi_hot', "
                f"'count'), got {output_mode!r}"
            )
        if sparse:
            raise ValueError("Discretization: sparse=True is not supported (no sparse tensors)")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                "Discretization: give bin_boundaries or num_bins, not both (got "
                f"bin_boundaries={bin_boundaries}, num_bins={num_bins})"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: give bin_boundaries, or num_bins and call adapt")
        if num_bins is not None and (isinstance(num_bins, bool) or num_bins < 0):
            raise ValueError(f"Discretization: num_bins must be >= 0, got {num_bins!r}")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if self.bin_boundaries else np.zeros((2, 0), np.float32)
        self.built = True

    def adapt(self, data, steps=None) -> None:
        """Learn the boundaries from ``data``: an array or Tensor, or an iterable of batches
        (arrays, or ``(x, y)`` pairs such as a DataLoader yields); ``steps`` caps the batches.

        Raises:
            ValueError: when the layer was given bin_boundaries.
        """
        if self.num_bins is None:
            raise ValueError(
                f"Discretization {self.name!r} was given bin_boundaries; build it with "
                "num_bins to adapt it"
            )
        batches = [data] if isinstance(data, (np.ndarray, Tensor)) else data
        if not hasattr(batches, "__iter__"):
            raise TypeError(
                "Discretization.adapt expects an array, a Tensor or an iterable of batches, got "
                f"{type(data).__name__}"
            )
        self.summary = np.zeros((2, 0), np.float32)
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, (tuple, list)) and not np.isscalar(batch[0]):
                batch = batch[0]
            values = np.asarray(_ids_array(batch), dtype=np.float32)
            self.summary = _merge(_summarize(values, self.epsilon), self.summary, self.epsilon)
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f"Discretization {self.name!r} has no boundaries yet: pass bin_boundaries, or "
                "call adapt(data) first"
            )
        x = np.asarray(_ids_array(inputs), dtype=np.float32)
        ids = np.digitize(x, np.asarray(self.bin_boundaries, dtype=np.float32))
        if self.output_mode == "int":
            return Tensor._wrap(ids.astype(np.int32))
        depth = len(self.bin_boundaries) + 1
        return Tensor._wrap(encode(ids, self.output_mode, depth, self.dtype, self.name))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild, keeping learned boundaries (an adapted layer has both entries set)."""
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)
