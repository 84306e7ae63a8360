"""Hyperparameter search with Keras Tuner's API: random, Bayesian and Hyperband on one budget.

The seed article's Keras Tuner code (an MLP whose width is ``hp.Int('units', 32, 512, step=32)``
and learning rate ``hp.Choice`` of 1e-2, 1e-3, 1e-4; here with a dropout rate too) runs on
``import nerve.tune as kt``. Three tuners search the same space on a Fashion-MNIST subset with
about the same number of training epochs each: RandomSearch and BayesianOptimization (18
trials of 4 epochs) and Hyperband (max_epochs=6, factor=3, two iterations: twenty trials,
short ones first, the best trained on). Each tuner's best model is then scored on held-out
test images, which the search never saw (the seed selects on its test set). Trials live in
``OUT/tuner/``; reruns start afresh.

Run: python examples/search.py [--quick]
"""

from __future__ import annotations

import numpy as np
from _common import fashion_mnist, finish, markdown_table, parse_args, pyplot, save_figure, timed
from _deploy import blas_threads, threads_option

import nerve
import nerve.tune as kt
from nerve import keras
from nerve.keras import layers


def build_model(hp):
    """The seed's hypermodel (Keras Tuner style), with a tuned dropout rate added."""
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28)))
    model.add(layers.Flatten())
    hp_units = hp.Int("units", min_value=32, max_value=512, step=32)
    model.add(layers.Dense(units=hp_units, activation="relu"))
    model.add(layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
    hp_learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_tuners(args):
    """The three tuners, each with its own folder, seeded, started afresh."""
    trials, epochs, max_epochs, iterations = (3, 2, 2, 1) if args.quick else (18, 4, 6, 2)
    factor = 2 if args.quick else 3
    common = {
        "objective": "val_accuracy",
        "seed": args.seed,
        "directory": args.out / "tuner",
        "overwrite": True,
    }
    tuners = {
        "RandomSearch": kt.RandomSearch(
            build_model, max_trials=trials, project_name="random", **common
        ),
        "BayesianOptimization": kt.BayesianOptimization(
            build_model,
            max_trials=trials,
            num_initial_points=2 if args.quick else 4,
            project_name="bayesian",
            **common,
        ),
        "Hyperband": kt.Hyperband(
            build_model,
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=iterations,
            project_name="hyperband",
            **common,
        ),
    }
    return tuners, epochs


def trial_rows(name, tuner, epochs) -> list[dict]:
    """One row per finished trial, in the order they ran."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        if trial.score is None:
            continue
        v = trial.hyperparameters.values
        trained = v.get("tuner/epochs", epochs) - v.get("tuner/initial_epoch", 0)
        rows.append(
            {
                "tuner": name,
                "trial": trial_id,
                "units": v["units"],
                "learning_rate": v["learning_rate"],
                "dropout": round(v["dropout"], 1),
                "epochs": int(trained),
                "promoted_from": v.get("tuner/trial_id", ""),
                "val_accuracy": float(trial.score),
            }
        )
    return rows


def main(argv=None) -> dict:
    args = parse_args("search", __doc__.splitlines()[0], argv, extra=threads_option)
    with blas_threads(args.threads):
        return run(args)


def run(args) -> dict:
    """The lesson, with the parsed arguments; returns the results."""
    n_train, n_val, n_test = (500, 200, 300) if args.quick else (3000, 1000, 2000)
    (x, y), (x_test, y_test) = fashion_mnist(n_train + n_val, n_test, seed=args.seed)
    x, x_test = x[..., 0], x_test[..., 0]  # (N, 28, 28) as keras.datasets gives them
    x_train, y_train, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    nerve.manual_seed(args.seed)
    results: dict = {"n_train": n_train, "n_val": n_val, "n_test": n_test}

    tuners, epochs = make_tuners(args)
    rows, summary = [], []
    for name, tuner in tuners.items():
        timing: dict = {}
        with timed(timing, "search_s"):
            tuner.search(x_train, y_train, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
        trials = trial_rows(name, tuner, epochs)
        best_hp = tuner.get_best_hyperparameters(1)[0]
        best = tuner.get_best_models(1)[0]
        test_loss, test_accuracy = best.evaluate(x_test, y_test, verbose=0)
        summary.append(
            {
                "tuner": name,
                "trials": len(trials),
                "epochs_trained": sum(r["epochs"] for r in trials),
                "search_s": timing["search_s"],
                "best_units": best_hp["units"],
                "best_learning_rate": best_hp["learning_rate"],
                "best_dropout": round(best_hp["dropout"], 1),
                "best_val_accuracy": max(r["val_accuracy"] for r in trials),
                "test_accuracy": float(test_accuracy),
                "test_loss": float(test_loss),
            }
        )
        rows += trials
    results["trials"] = rows
    results["summary"] = summary
    results["chance"] = 0.1
    _figure(args, rows)
    results["figures"] = ["search.png"]
    table = markdown_table(summary)
    table += "\n\n" + markdown_table(rows)
    return finish(args, results, table)


def _figure(args, rows) -> None:
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    # RandomSearch and BayesianOptimization share their first (random) trials: dashes show both
    for (name, marker, dashes), color in zip(
        [("RandomSearch", "o", (4, 2)), ("BayesianOptimization", "s", ()), ("Hyperband", "^", ())],
        ["#4c72b0", "#dd8452", "#55a868"],
    ):
        mine = [r for r in rows if r["tuner"] == name]
        if not mine:
            continue
        scores = np.array([r["val_accuracy"] for r in mine])
        ax1.scatter(range(1, len(mine) + 1), scores, marker=marker, color=color, alpha=0.6)
        best = np.maximum.accumulate(scores)
        ax1.plot(range(1, len(mine) + 1), best, color=color, dashes=dashes, label=name, zorder=3)
        spent = np.cumsum([r["epochs"] for r in mine])
        ax2.step(spent, best, where="post", color=color, dashes=dashes, label=name, zorder=3)
        ax2.scatter(spent, scores, marker=marker, color=color, alpha=0.6)
    ax1.set_xlabel("trial (in the order run)")
    ax1.set_ylabel("validation accuracy (trial's best epoch)")
    ax1.set_title("Objective per trial; line = best so far")
    ax2.set_xlabel("training epochs spent so far")
    ax2.set_ylabel("best validation accuracy so far")
    ax2.set_title("Best found vs budget spent")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Keras Tuner-style search on Fashion-MNIST (units, learning rate, dropout)")
    fig.tight_layout()
    save_figure(args, fig, "search")


if __name__ == "__main__":
    main()
