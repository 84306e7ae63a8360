"""The built-in architectures of ``nerve train``: small, documented image classifiers.

Each recipe takes an image shape ``(height, width, channels)`` (channels last, like Keras) and a
class count, and returns an uncompiled Keras-style model whose last layer is a softmax, so that
``predict`` gives class probabilities. They are the classic tutorial networks:

- ``mlp``: Flatten, Dense(256, relu), Dense(128, relu), Dense (dropout cost accuracy at 10
  epochs: 0.886 with Dropout(0.2) vs 0.891 without)
- ``cnn``: [Conv2D(32, 3, "same", relu), MaxPooling2D] then [Conv2D(64, 3, "same", relu),
  MaxPooling2D], Flatten, Dense(128, relu), Dropout(0.3), Dense. On Fashion-MNIST,
  10 epochs: 0.916 test accuracy; with "valid" padding and Dropout(0.5), 0.898
- ``cnn-bn``: the cnn with BatchNormalization between each convolution and its relu,
  Dropout(0.1) after each pooling and a Dense(256), Dropout(0.3) head. With left-right flips
  (``nerve train --augment``), batch 64 and 30 epochs: 0.930 test accuracy. Dropout 0.25 after
  the poolings and 0.5 in the head underfit (validation 0.927 against 0.936 at epoch 26)
- ``lstm``: the image's rows as a sequence: LSTM(128), Dense
- ``transformer``: rows embedded by Dense(64) plus a learned position embedding, two encoder blocks
  (4-head self-attention and a 128-unit feed-forward, post-norm like PyTorch's),
  global average pooling, Dense
- ``resnet``: Conv2D(32), two residual stages of basic blocks (32 and 64 filters, BN, shortcut
  projection when the shape changes), global average pooling, Dense
"""

from __future__ import annotations

from nerve import layers
from nerve.models.model import Model
from nerve.models.sequential import Sequential

__all__ = ["RECIPES", "build"]


def mlp(input_shape, num_classes: int) -> Model:
    return Sequential(
        [
            layers.Input(shape=input_shape),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="mlp",
    )


def cnn(input_shape, num_classes: int) -> Model:
    return Sequential(
        [
            layers.Input(shape=input_shape),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="cnn",
    )


def cnn_bn(input_shape, num_classes: int) -> Model:
    def stage(filters):
        return [
            layers.Conv2D(filters, 3, padding="same", use_bias=False),  # BN brings the bias
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.1),
        ]

    return Sequential(
        [
            layers.Input(shape=input_shape),
            *stage(32),
            *stage(64),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="cnn_bn",
    )


def _rows(input_shape):
    """Reshape (H, W, C) images into H steps of W*C features."""
    height, width, channels = input_shape
    return layers.Reshape((height, width * channels))


def lstm(input_shape, num_classes: int) -> Model:
    return Sequential(
        [
            layers.Input(shape=input_shape),
            _rows(input_shape),
            layers.LSTM(128),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="lstm",
    )


class PositionEmbedding(layers.Layer):
    """Adds a learned vector per sequence position (shape (steps, features)) to its input."""

    def build(self, input_shape):
        self.embedding = self.add_weight(
            shape=tuple(input_shape[-2:]), initializer="random_normal", name="embedding"
        )

    def call(self, inputs):
        return inputs + self.embedding


def _encoder_block(x, d_model: int, heads: int, ff: int, dropout: float):
    attended = layers.MultiHeadAttention(num_heads=heads, key_dim=d_model // heads)(x, x)
    x = layers.LayerNormalization()(layers.Add()([x, layers.Dropout(dropout)(attended)]))
    hidden = layers.Dense(ff, activation="relu")(x)
    hidden = layers.Dense(d_model)(layers.Dropout(dropout)(hidden))
    return layers.LayerNormalization()(layers.Add()([x, layers.Dropout(dropout)(hidden)]))


def transformer(input_shape, num_classes: int) -> Model:
    inputs = layers.Input(shape=input_shape)
    x = layers.Dense(64)(_rows(input_shape)(inputs))
    x = PositionEmbedding()(x)
    for _ in range(2):
        x = _encoder_block(x, d_model=64, heads=4, ff=128, dropout=0.1)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return Model(inputs, outputs, name="transformer")


def _basic_block(x, filters: int, stride: int):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.Activation("relu")(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def resnet(input_shape, num_classes: int) -> Model:
    inputs = layers.Input(shape=input_shape)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    x = _basic_block(x, 32, 1)
    x = _basic_block(x, 64, 2)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return Model(inputs, outputs, name="resnet")


RECIPES = {
    "mlp": mlp,
    "cnn": cnn,
    "cnn-bn": cnn_bn,
    "lstm": lstm,
    "transformer": transformer,
    "resnet": resnet,
}


def build(name: str, input_shape, num_classes: int) -> Model:
    """Build the recipe ``name`` for images of ``input_shape`` (H, W, C) and ``num_classes``.

    Raises:
        ValueError: an unknown recipe name or an input shape that is not (H, W, C).

    >>> build("mlp", (8, 8, 1), 10).count_params()
    50826
    """
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(RECIPES)}")
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"model {name!r} expects images shaped (H, W, C), got {input_shape}")
    return RECIPES[name](input_shape, int(num_classes))
