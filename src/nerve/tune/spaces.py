"""Ready architecture-search spaces: ``mlp_space`` for tabular data, ``cnn_space`` for images.

Each returns a HyperModel whose depth is a hyperparameter and whose per-layer widths,
activations and dropout rates are conditional on it (``units_2`` exists only when
``num_layers >= 3``), so the samplers never tune a layer the model does not have.
"""

from __future__ import annotations

from nerve.tune.tuner import HyperModel

ACTIVATIONS = ["relu", "tanh", "gelu", "elu"]


def _head(model, layers, num_classes):
    if num_classes is None:
        model.add(layers.Dense(1))
        return "mse", ["mae"]
    if num_classes == 2:
        model.add(layers.Dense(1, activation="sigmoid"))
        return "binary_crossentropy", ["accuracy"]
    model.add(layers.Dense(num_classes, activation="softmax"))
    return "sparse_categorical_crossentropy", ["accuracy"]


def _compile(model, hp, loss, metrics, learning_rate):
    from nerve import optimizers

    lr = learning_rate or hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
    model.compile(optimizer=optimizers.Adam(learning_rate=lr), loss=loss, metrics=metrics)
    return model


class _MLPSpace(HyperModel):
    def __init__(self, input_shape, num_classes, max_layers, units, activations, dropout, lr):
        super().__init__(name="mlp_space")
        if max_layers < 1:
            raise ValueError(f"mlp_space: max_layers must be >= 1, got {max_layers}")
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.max_layers, self.units = int(max_layers), tuple(units)
        self.activations, self.dropout, self.learning_rate = list(activations), dropout, lr

    def build(self, hp):
        from nerve import layers, models

        model = models.Sequential([layers.Input(self.input_shape)])
        if len(self.input_shape) > 1:
            model.add(layers.Flatten())
        depth = hp.Int("num_layers", 1, self.max_layers)
        lo, hi, step = self.units
        for i in range(self.max_layers):
            with hp.conditional_scope("num_layers", list(range(i + 1, self.max_layers + 1))):
                units = hp.Int(f"units_{i}", lo, hi, step=step)
                activation = hp.Choice(f"activation_{i}", self.activations)
                rate = hp.Float(f"dropout_{i}", 0.0, self.dropout, step=0.1) if self.dropout else 0
            if i < depth:
                model.add(layers.Dense(units, activation=activation))
                if rate:
                    model.add(layers.Dropout(rate))
        loss, metrics = _head(model, layers, self.num_classes)
        return _compile(model, hp, loss, metrics, self.learning_rate)


def mlp_space(
    input_shape,
    num_classes=None,
    max_layers=3,
    units=(32, 512, 32),
    activations=ACTIVATIONS,
    max_dropout=0.5,
    learning_rate=None,
):
    """A HyperModel of MLPs: ``num_layers`` in ``1..max_layers``, and for each layer
    ``units_i``, ``activation_i`` and ``dropout_i`` (active only when the layer exists), plus
    ``learning_rate`` (log-uniform in [1e-4, 1e-2], Adam).

    Args:
        input_shape: one sample's shape, e.g. ``(20,)`` (images are flattened).
        num_classes: the classes (softmax head, sparse categorical cross-entropy; 2: one
            sigmoid unit), or None for regression (one linear unit, MSE).
        max_layers: the deepest network.
        units: ``(min, max, step)`` of each layer's width.
        activations: the activations to choose from.
        max_dropout: the largest dropout rate (0: no dropout).
        learning_rate: a fixed rate instead of a tuned one.

    Returns:
        A HyperModel for any tuner: ``kt.RandomSearch(mlp_space((784,), 10), ...)``.

    Raises:
        ValueError: max_layers < 1.
    """
    return _MLPSpace(
        input_shape, num_classes, max_layers, units, activations, max_dropout, learning_rate
    )


class _CNNSpace(HyperModel):
    def __init__(self, input_shape, num_classes, max_blocks, filters, dense_units, dropout, lr):
        super().__init__(name="cnn_space")
        if len(input_shape) != 3:
            raise ValueError(
                f"cnn_space: input_shape must be (height, width, channels), got {input_shape}"
            )
        if max_blocks < 1:
            raise ValueError(f"cnn_space: max_blocks must be >= 1, got {max_blocks}")
        self.input_shape = tuple(input_shape)
        self.num_classes, self.max_blocks = num_classes, int(max_blocks)
        self.filters, self.dense_units = list(filters), list(dense_units)
        self.dropout, self.learning_rate = dropout, lr

    def build(self, hp):
        from nerve import layers, models

        model = models.Sequential([layers.Input(self.input_shape)])
        depth = hp.Int("num_blocks", 1, self.max_blocks)
        size = min(self.input_shape[:2])
        for i in range(self.max_blocks):
            with hp.conditional_scope("num_blocks", list(range(i + 1, self.max_blocks + 1))):
                filters = hp.Choice(f"filters_{i}", self.filters)
                kernel = hp.Choice(f"kernel_size_{i}", [3, 5])
            if i < depth:
                model.add(layers.Conv2D(filters, kernel, padding="same", activation="relu"))
                if size >= 2:
                    model.add(layers.MaxPooling2D(2))
                    size //= 2
        model.add(layers.Flatten())
        model.add(layers.Dense(hp.Choice("dense_units", self.dense_units), activation="relu"))
        if self.dropout:
            rate = hp.Float("dropout", 0.0, self.dropout, step=0.1)
            if rate:
                model.add(layers.Dropout(rate))
        loss, metrics = _head(model, layers, self.num_classes)
        return _compile(model, hp, loss, metrics, self.learning_rate)


def cnn_space(
    input_shape,
    num_classes,
    max_blocks=3,
    filters=(16, 32, 64),
    dense_units=(64, 128, 256),
    max_dropout=0.5,
    learning_rate=None,
):
    """A HyperModel of CNNs: ``num_blocks`` conv-ReLU-maxpool blocks in ``1..max_blocks``, each
    with ``filters_i`` and ``kernel_size_i`` (active only when the block exists), then a Dense
    layer of ``dense_units``, ``dropout`` and the softmax head; ``learning_rate`` as mlp_space.

    Args:
        input_shape: ``(height, width, channels)`` of one image.
        num_classes: the classes.
        max_blocks: the most conv blocks.
        filters, dense_units: the widths to choose from.
        max_dropout: the largest dropout rate (0: no dropout).
        learning_rate: a fixed rate instead of a tuned one.

    Returns:
        A HyperModel.

    Raises:
        ValueError: an input_shape that is not (H, W, C), or max_blocks < 1.
    """
    return _CNNSpace(
        input_shape, num_classes, max_blocks, filters, dense_units, max_dropout, learning_rate
    )
