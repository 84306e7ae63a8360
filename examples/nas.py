"""Random architecture search: depth, widths, conv or dense, activation, dropout, with nerve.tune.

The seed article's ``random_architecture_search`` draws a depth, widths from (64, 128, 256),
an activation from (relu, elu, swish) and a dropout rate, and keeps the architecture with the
best validation accuracy. Here the same space, plus the choice between a dense network and a
convolutional one, is a Keras Tuner hypermodel searched by ``kt.RandomSearch`` on Fashion-MNIST
(``import nerve.tune as kt``). Each layer's width exists only when the network has that layer
and is of that kind (conditional scopes), so no trial draws values it does not use. The results:
a table of every trial (kind, depth, widths, parameters, validation accuracy), accuracy by depth
(the seed says 2-3 hidden layers suffice for MNIST-like data), the best architecture's summary
and its test accuracy, and a figure of accuracy against parameter count.

Run: python examples/nas.py [--quick]
"""

from __future__ import annotations

import numpy as np
from _common import fashion_mnist, finish, markdown_table, parse_args, pyplot, save_figure, timed
from _deploy import blas_threads, threads_option

import nerve
import nerve.tune as kt
from nerve import keras
from nerve.keras import layers

MAX_DEPTH = 4  # the seed draws 2 to 4 hidden layers; 1 is added as the baseline


def build_model(hp):
    """One architecture of the space, compiled (Adam, learning rate 1e-3)."""
    kind = hp.Choice("kind", ["dense", "conv"])
    depth = hp.Int("depth", 1, MAX_DEPTH)
    activation = hp.Choice("activation", ["relu", "elu", "swish"])
    dropout = hp.Float("dropout", 0.1, 0.5, step=0.1)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1))])
    if kind == "dense":
        model.add(layers.Flatten())
    for i in range(MAX_DEPTH):
        # layer i's width exists only in networks of this kind with more than i layers
        with hp.conditional_scope("depth", list(range(i + 1, MAX_DEPTH + 1))):
            with hp.conditional_scope("kind", ["conv"]):
                filters = hp.Choice(f"filters_{i}", [8, 16, 32])
            with hp.conditional_scope("kind", ["dense"]):
                units = hp.Choice(f"units_{i}", [64, 128, 256])
        if i >= depth:
            continue
        if kind == "conv":
            model.add(layers.Conv2D(filters, 3, padding="same", activation=activation))
            model.add(layers.MaxPooling2D(2))
        else:
            model.add(layers.Dense(units, activation=activation))
            model.add(layers.Dropout(dropout))
    if kind == "conv":
        model.add(layers.Flatten())
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def describe(values: dict) -> tuple[str, list[int]]:
    """(kind, the widths of its layers) of a trial's values."""
    key = "filters" if values["kind"] == "conv" else "units"
    return values["kind"], [values[f"{key}_{i}"] for i in range(values["depth"])]


def main(argv=None) -> dict:
    args = parse_args("nas", __doc__.splitlines()[0], argv, extra=threads_option)
    with blas_threads(args.threads):
        return run(args)


def run(args) -> dict:
    """The lesson, with the parsed arguments; returns the results."""
    n_train, n_val, n_test = (400, 200, 300) if args.quick else (4000, 1000, 2000)
    trials, epochs = (4, 2) if args.quick else (20, 3)
    (x, y), (x_test, y_test) = fashion_mnist(n_train + n_val, n_test, seed=args.seed)
    x_train, y_train, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    nerve.manual_seed(args.seed)
    results: dict = {"n_train": n_train, "n_val": n_val, "n_test": n_test, "epochs": epochs}

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=trials,
        seed=args.seed,
        directory=args.out / "tuner",
        project_name="architectures",
        overwrite=True,
    )
    with timed(results, "search_s"):
        tuner.search(x_train, y_train, epochs=epochs, validation_data=(x_val, y_val), verbose=0)

    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        if trial.score is None:
            continue
        values = trial.hyperparameters.values
        kind, widths = describe(values)
        frozen = trial.frozen
        rows.append(
            {
                "trial": trial_id,
                "kind": kind,
                "depth": values["depth"],
                "widths": "-".join(map(str, widths)),
                "activation": values["activation"],
                "dropout": round(values["dropout"], 1),
                "params": build_model(trial.hyperparameters).count_params(),
                "val_accuracy": float(trial.score),
                "seconds": round(
                    (frozen.datetime_complete - frozen.datetime_start).total_seconds(), 1
                ),
            }
        )
    results["trials"] = rows

    by_depth = []
    for kind in ("dense", "conv"):
        for depth in range(1, MAX_DEPTH + 1):
            scores = [r["val_accuracy"] for r in rows if r["kind"] == kind and r["depth"] == depth]
            if scores:
                by_depth.append(
                    {
                        "kind": kind,
                        "depth": depth,
                        "trials": len(scores),
                        "mean_val_accuracy": float(np.mean(scores)),
                        "best_val_accuracy": float(np.max(scores)),
                    }
                )
    results["by_depth"] = by_depth

    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = tuner.get_best_models(1)[0]
    test_loss, test_accuracy = best.evaluate(x_test, y_test, verbose=0)
    lines: list[str] = []
    best.summary(print_fn=lines.append)
    kind, widths = describe(best_hp.values)
    results["best"] = {
        "kind": kind,
        "depth": best_hp["depth"],
        "widths": widths,
        "activation": best_hp["activation"],
        "dropout": round(best_hp["dropout"], 1),
        "params": best.count_params(),
        "val_accuracy": max(r["val_accuracy"] for r in rows),
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
    }
    results["best_summary"] = "\n".join(lines)
    results["chance"] = 0.1
    print(results["best_summary"])

    _figure(args, rows)
    results["figures"] = ["nas.png"]
    table = markdown_table(rows) + "\n\n" + markdown_table(by_depth)
    return finish(args, results, table)


def _figure(args, rows) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {1: "#4c72b0", 2: "#dd8452", 3: "#55a868", 4: "#c44e52"}
    for kind, marker in [("dense", "o"), ("conv", "s")]:
        for depth, color in colors.items():
            mine = [r for r in rows if r["kind"] == kind and r["depth"] == depth]
            if mine:
                ax.scatter(
                    [r["params"] for r in mine],
                    [r["val_accuracy"] for r in mine],
                    marker=marker,
                    color=color,
                    s=60,
                    edgecolor="black",
                    label=f"{kind}, {depth} layer{'s' if depth > 1 else ''}",
                )
    best = max(rows, key=lambda r: r["val_accuracy"])
    ax.annotate(
        f"best: {best['kind']} {best['widths']}, {best['activation']}",
        (best["params"], best["val_accuracy"]),
        xytext=(-12, 0),
        textcoords="offset points",
        ha="right",
        va="center",
        fontsize=8,
        arrowprops={"arrowstyle": "-", "color": "gray"},
    )
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log scale)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Random architecture search on Fashion-MNIST: accuracy vs size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(args, fig, "nas")


if __name__ == "__main__":
    main()
