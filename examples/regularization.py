"""Regularization against overfitting: none vs L2 vs dropout vs batch norm vs augmentation.

A 784-256-128-10 MLP (the seed tutorial's network) trained with the Keras door on a small
Fashion-MNIST subset (1,000 images), where it overfits: training accuracy runs to 1.0 while
validation accuracy stalls. Each method is trained from the same seed and the same data, and the
script measures the final train/validation accuracy (both in inference mode) and the gap:
  - none: the plain MLP
  - L2: ``kernel_regularizer=keras.regularizers.l2(0.01)`` (the seed's value) and ``l2(0.001)``
  - dropout: ``Dropout(0.5)`` and ``Dropout(0.3)`` after the hidden layers (the seed's rates)
  - batch norm: ``Dense -> BatchNormalization -> Activation("relu")``
  - augmentation: RandomRotation(+-15 degrees), RandomTranslation(+-2 pixels), RandomFlip
  - early stopping: ``keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
    restore_best_weights=True)`` on the plain MLP
  - seed recipe: batch norm + dropout + augmentation, the seed's learning-rate decay
    ``lr = lr0 * 0.95 ** epoch`` (``LearningRateScheduler``) and early stopping
Writes results.json, table.md and regularization.png (train/validation accuracy per epoch,
one panel per method).

Run: python examples/regularization.py [--quick]
"""

from __future__ import annotations

import time

import numpy as np
from _common import (
    accuracy,
    fashion_mnist,
    finish,
    markdown_table,
    parse_args,
    pyplot,
    save_figure,
    timed,
)

import nerve
from nerve import keras
from nerve.keras import layers

LR = 1e-3
BATCH = 32

# name -> what the model uses; every model is the same MLP plus these pieces.
METHODS = {
    "none": {},
    "L2 0.01": {"l2": 0.01},
    "L2 0.001": {"l2": 0.001},
    "dropout": {"dropout": (0.5, 0.3)},
    "batch norm": {"batchnorm": True},
    "augmentation": {"augment": True},
    "early stopping": {"early_stop": True},
    "seed recipe": {
        "batchnorm": True,
        "dropout": (0.5, 0.3),
        "augment": True,
        "early_stop": True,
        "decay": 0.95,
    },
}


def build_model(l2=None, dropout=None, batchnorm=False, augment=False, **_):
    """The seed's 784-256-128-10 MLP with the chosen regularizers, compiled with Adam."""
    reg = keras.regularizers.l2(l2) if l2 else None
    stack = [keras.Input(shape=(28, 28, 1))]
    if augment:
        # As the seed's augment_images: rotate +-15 degrees, shift +-2 pixels (black fill);
        # and a horizontal flip, which keeps a garment a garment.
        stack += [
            layers.RandomRotation(15 / 360, fill_mode="constant"),
            layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
            layers.RandomFlip("horizontal"),
        ]
    stack.append(layers.Flatten())
    for i, units in enumerate((256, 128)):
        if batchnorm:
            # The seed's order: Dense -> BatchNormalization -> ReLU.
            stack += [
                layers.Dense(units, kernel_regularizer=reg),
                layers.BatchNormalization(),
                layers.Activation("relu"),
            ]
        else:
            stack.append(layers.Dense(units, activation="relu", kernel_regularizer=reg))
        if dropout:
            stack.append(layers.Dropout(dropout[i]))
    stack.append(layers.Dense(10, activation="softmax"))
    model = keras.Sequential(stack)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=LR),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(name, spec, data, epochs, seed):
    """Fit one method from ``seed``; returns its history and final numbers."""
    (x_train, y_train), (x_val, y_val) = data
    nerve.manual_seed(seed)  # the same initial weights, shuffles and masks for every method
    model = build_model(**spec)
    callbacks = []
    if spec.get("early_stop"):
        # The seed's settings (monitor val_loss, patience 5, min_delta 0.001), keeping the best.
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=5, min_delta=0.001, restore_best_weights=True
        )
        callbacks.append(stopper)
    if spec.get("decay"):
        rate = spec["decay"]
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda e: LR * rate**e))
    row = {"method": name}
    cpu = time.process_time()  # CPU seconds: steadier than wall time on a shared machine
    with timed(row, "time_s"):
        history = model.fit(
            x_train,
            y_train,
            batch_size=BATCH,
            epochs=epochs,
            validation_data=(x_val, y_val),
            callbacks=callbacks,
            verbose=0,
        ).history
    row["cpu_s"] = round(time.process_time() - cpu, 3)
    # Both accuracies in inference mode (no dropout, no augmentation, BN's running statistics),
    # so the gap compares like with like; with early stopping these are the restored weights.
    row["epochs"] = len(history["loss"])
    p_train, p_val = model.predict(x_train, verbose=0), model.predict(x_val, verbose=0)
    row["train_acc"] = accuracy(p_train, y_train)
    row["val_acc"] = accuracy(p_val, y_val)
    row["gap"] = row["train_acc"] - row["val_acc"]
    row["best_val_acc"] = max(history["val_accuracy"])
    # Cross-entropy alone (the fit's val_loss also holds the L2 penalty).
    row["val_loss"] = float(-np.log(p_val[np.arange(len(y_val)), y_val] + 1e-7).mean())
    return row, {k: [float(v) for v in vs] for k, vs in history.items()}


def plot(args, histories, rows):
    """One panel per method: training and validation accuracy per epoch."""
    plt = pyplot()
    n = len(histories)
    cols = 4
    fig, axes = plt.subplots(
        (n + cols - 1) // cols, cols, figsize=(14, 6.4), sharex=True, sharey=True, squeeze=False
    )
    for ax, (name, h), row in zip(axes.flat, histories.items(), rows):
        epochs = range(1, len(h["accuracy"]) + 1)
        ax.plot(epochs, h["accuracy"], color="tab:blue", label="train (while training)")
        ax.plot(epochs, h["val_accuracy"], color="tab:orange", label="validation")
        ax.set_title(f"{name}: val {row['val_acc']:.3f}, gap {row['gap']:.3f}", fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
        ax.tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    axes.flat[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"MLP on {args.n_train} Fashion-MNIST images: train vs validation accuracy by method"
    )
    fig.tight_layout()
    save_figure(args, fig, "regularization")

    # Overfitting shows most in the validation loss: it climbs while the accuracy stays flat.
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, h in histories.items():
        ax.plot(range(1, len(h["val_loss"]) + 1), h["val_loss"], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (cross-entropy + L2 penalty)")
    ax.set_yscale("log")
    ax.set_title(f"Validation loss by method ({args.n_train} training images)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    save_figure(args, fig, "regularization_val_loss")


def main(argv=None) -> dict:
    args = parse_args("regularization", __doc__.splitlines()[0], argv)
    args.n_train, n_val, epochs = (300, 500, 6) if args.quick else (1000, 5000, 60)
    data = fashion_mnist(n_train=args.n_train, n_test=n_val, seed=args.seed)
    rows, histories = [], {}
    for name, spec in METHODS.items():
        row, history = train(name, spec, data, epochs, args.seed)
        rows.append(row)
        histories[name] = history
        print(
            f"{name:15s} epochs {row['epochs']:3d}  train {row['train_acc']:.3f}  "
            f"val {row['val_acc']:.3f}  gap {row['gap']:.3f}  ({row['time_s']:.1f} s)"
        )
    plot(args, histories, rows)
    columns = ["method", "epochs", "train_acc", "val_acc", "gap", "val_loss", "best_val_acc"]
    columns += ["time_s", "cpu_s"]
    results = {
        "n_train": args.n_train,
        "n_val": n_val,
        "max_epochs": epochs,
        "methods": rows,
        "history": histories,
        "figures": ["regularization.png", "regularization_val_loss.png"],
    }
    return finish(args, results, markdown_table(rows, columns))


if __name__ == "__main__":
    main()
