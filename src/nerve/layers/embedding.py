"""Keras-style Embedding: integer ids to dense vectors, through ``F.embedding``."""

from __future__ import annotations

import numpy as np

from nerve import initializers, regularizers
from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer
from nerve.layers.core import (
    check_constraint,
    positive_int,
    serialize_constraint,
    serialize_initializer,
    serialize_regularizer,
)
from nerve.nn import functional as F
from nerve.primitives.common import as_tensor

__all__ = ["Embedding"]


class Embedding(Layer):
    """Turn integer ids in [0, input_dim) into vectors of size ``output_dim``.

    Args:
        input_dim: the vocabulary size (with ``mask_zero``, the largest id + 1, 0 included).
        output_dim: the size of each vector.
        embeddings_initializer: Keras's 'uniform', i.e. RandomUniform(-0.05, 0.05).
        embeddings_regularizer, activity_regularizer, embeddings_constraint: as for any weight.
        mask_zero: id 0 is padding: the output carries a mask ``ids != 0`` that the layers
            after it receive (``nerve.layers.base.get_mask(output)``).
        input_length: Keras 2's argument, accepted: it sets the input shape
            ``(input_length,)`` of a first layer.

    Shape:
        (batch, ...) integer ids -> (batch, ..., output_dim). Float ids are cast to int64, as
        Keras casts them to int32.

    Raises:
        IndexError: for an id outside [0, input_dim) (from ``F.embedding``, naming the id).

    >>> import nerve
    >>> from nerve import layers
    >>> emb = layers.Embedding(10, 4, mask_zero=True)
    >>> ids = nerve.tensor([[3, 1, 0]])
    >>> emb(ids).shape, emb.compute_mask(ids).tolist()
    ((1, 3, 4), [[True, True, False]])
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        input_length: int | None = None,
        **kwargs,
    ):
        no_shape = kwargs.get("input_shape") is None and kwargs.get("batch_input_shape") is None
        if input_length is not None and no_shape:
            kwargs["input_shape"] = (int(input_length),)
        super().__init__(**kwargs)
        self.input_dim = positive_int(input_dim, "input_dim", "Embedding")
        self.output_dim = positive_int(output_dim, "output_dim", "Embedding")
        if embeddings_initializer == "uniform":  # Keras's alias of RandomUniform(-0.05, 0.05)
            embeddings_initializer = initializers.RandomUniform(-0.05, 0.05)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = check_constraint(embeddings_constraint, "Embedding")
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def build(self, input_shape=None) -> None:
        self.add_weight(
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            name="embeddings",
        )
        self.built = True

    def call(self, inputs):
        ids = as_tensor(inputs, self.name)
        if ids.dtype.kind == "f":
            ids = Tensor(ids._data.astype(np.int64))
        elif ids.dtype.kind not in "iu":
            raise TypeError(
                f"Embedding layer {self.name!r} needs integer ids, got dtype {ids.dtype}"
            )
        return F.embedding(ids, self.embeddings)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        ids = inputs._data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return Tensor(ids != 0)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": serialize_initializer(self.embeddings_initializer),
            "embeddings_regularizer": serialize_regularizer(self.embeddings_regularizer),
            "activity_regularizer": serialize_regularizer(self.activity_regularizer),
            "embeddings_constraint": serialize_constraint(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}"
