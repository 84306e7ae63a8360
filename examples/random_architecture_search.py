"""Random architecture search on Fashion-MNIST: depth, widths, activations and dropout.

The hypermodel is written as Keras Tuner code (``import nerve.tune as kt`` is the only nerve
line): the number of hidden layers is a hyperparameter, and each layer's width, activation and
dropout exist only when the layer does (conditional scopes), so the search never tunes a layer
the model lacks. RandomSearch draws architectures through Optuna; the trials are stored in
``--directory``, so running the script again resumes the search instead of restarting it.

Run: python examples/random_architecture_search.py [--trials 10] [--epochs 3] [--limit 6000]
"""

from __future__ import annotations

import argparse

import numpy as np

import nerve.tune as kt
from nerve import keras

MAX_LAYERS = 4


def build_model(hp):
    """One architecture of the space, compiled."""
    model = keras.Sequential([keras.Input((784,))])
    num_layers = hp.Int("num_layers", 1, MAX_LAYERS)
    for i in range(MAX_LAYERS):
        # Layer i's hyperparameters exist only in architectures with more than i layers.
        with hp.conditional_scope("num_layers", list(range(i + 1, MAX_LAYERS + 1))):
            units = hp.Int(f"units_{i}", 32, 512, step=32)
            activation = hp.Choice(f"activation_{i}", ["relu", "tanh", "elu"])
            dropout = hp.Float(f"dropout_{i}", 0.0, 0.5, step=0.1)
        if i < num_layers:
            model.add(keras.layers.Dense(units, activation=activation))
            if dropout:
                model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=6000, help="training images used")
    parser.add_argument("--directory", default="runs/architecture_search")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    (x, y), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x = x.reshape(len(x), 784).astype("float32") / 255.0
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255.0
    n_val = max(1, args.limit // 5)
    x_train, y_train = x[: args.limit], y[: args.limit]
    x_val, y_val = x[-n_val:], y[-n_val:]

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=args.seed,
        directory=args.directory,
        project_name="fashion_mlp",
    )
    tuner.search_space_summary()
    tuner.search(
        x_train,
        y_train,
        epochs=args.epochs,
        validation_data=(x_val, y_val),
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)],
        verbose=0,
    )
    tuner.results_summary(num_trials=3)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = tuner.get_best_models(1)[0]
    loss, accuracy = best.evaluate(x_test, y_test, verbose=0)
    depth = best_hp["num_layers"]
    widths = [best_hp[f"units_{i}"] for i in range(depth)]
    print(f"\nbest architecture: {depth} hidden layer(s) of {widths} units")
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}); chance is {1 / len(np.unique(y)):.2f}")


if __name__ == "__main__":
    main()
