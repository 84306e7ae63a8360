"""The tuner's own cost per trial: ``nerve.tune`` against a 1-epoch MLP trial on Fashion-MNIST.

A RandomSearch over the seed tutorial's MLP (Flatten, Dense(units 32..512), Dense(10); Adam with
learning rate 1e-2/1e-3/1e-4) runs ``trials`` trials of one epoch each, with its study journal
and checkpoints in a temporary project folder. The hypermodel times its own ``build`` and
``fit``; everything else the search spends (Optuna's sampling and storage, the bookkeeping,
the space's discovery, the checkpoint writes, the final flush) is the tuner's overhead, reported
per trial and as a share of one trial's fit. Target: under 2%.

Runs inside ``python -m benchmarks`` (``--only tune``); alone as ``python -m benchmarks.bench_tune
[--quick]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time

from benchmarks import data as data_module

TARGET = 0.02  # overhead / fit of one trial
FULL = {"train": 50_000, "val": 10_000, "trials": 5, "batch_size": 128}
QUICK = {"train": 2048, "val": 512, "trials": 2, "batch_size": 128}


def seed_model_builder(hp):
    """The seed tutorial's Keras Tuner hypermodel (Fashion-MNIST MLP)."""
    from nerve import keras

    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=(28, 28)))
    model.add(keras.layers.Dense(hp.Int("units", 32, 512, step=32), activation="relu"))
    model.add(keras.layers.Dense(10))
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def run(quick: bool = False, data_dir: str | None = data_module.DEFAULT_DIR) -> dict:
    """Measure the tuner's cost per trial; returns the numbers (``skipped`` without optuna)."""
    if importlib.util.find_spec("optuna") is None:
        return {"skipped": "optuna is not installed (pip install 'nerve[tune]')"}
    import nerve.tune as kt

    plan = QUICK if quick else FULL
    data = data_module.load(plan["train"] + plan["val"], 1, data_dir)
    x, y = data.train_x, data.train_y
    split = plan["train"]
    spent = {"build": 0.0, "fit": 0.0}
    fits = []

    class Timed(kt.HyperModel):
        def build(self, hp):
            start = time.perf_counter()
            model = seed_model_builder(hp)
            spent["build"] += time.perf_counter() - start
            return model

        def fit(self, hp, model, *args, **kwargs):
            start = time.perf_counter()
            history = model.fit(*args, **kwargs)
            fits.append(time.perf_counter() - start)
            spent["fit"] += fits[-1]
            return history

    with tempfile.TemporaryDirectory(prefix="nerve-bench-tune-") as folder:
        tuner = kt.RandomSearch(
            Timed(),
            objective="val_accuracy",
            max_trials=plan["trials"],
            seed=0,
            directory=folder,
            project_name="tune",
        )
        start = time.perf_counter()
        tuner.search(
            x[:split],
            y[:split],
            epochs=1,
            batch_size=plan["batch_size"],
            validation_data=(x[split:], y[split:]),
            verbose=0,
        )
        total = time.perf_counter() - start
    trials = len(fits)
    overhead = (total - spent["fit"] - spent["build"]) / trials
    fit = spent["fit"] / trials
    return {
        "title": "tuner overhead per trial (RandomSearch, seed MLP, 1 epoch)",
        "data": data.source,
        "train_images": split,
        "val_images": plan["val"],
        "trials": trials,
        "total_s": total,
        "fit_s_per_trial": fit,
        "build_s_per_trial": spent["build"] / trials,
        "overhead_s_per_trial": overhead,
        "ratio": overhead / fit,
        "target": TARGET,
    }


def markdown_lines(tune: dict) -> list[str]:
    """The report's section for :func:`run`'s result."""
    lines = ["", "## Tuner's own cost per trial (nerve.tune)", ""]
    if "skipped" in tune:
        return lines + [f"not measured: {tune['skipped']}"]
    met = "yes" if tune["ratio"] < tune["target"] else "NO"
    return lines + [
        f"{tune['title']}: {tune['trials']} trials, {tune['train_images']} training and "
        f"{tune['val_images']} validation images ({tune['data']}); overhead = search time "
        "minus build and fit (sampling, study storage, bookkeeping, checkpoints).",
        "",
        "| fit (s/trial) | build (ms/trial) | overhead (ms/trial) | overhead/fit | target | met |",
        "|---:|---:|---:|---:|---:|:-:|",
        f"| {tune['fit_s_per_trial']:.3f} | {tune['build_s_per_trial'] * 1e3:.1f} "
        f"| {tune['overhead_s_per_trial'] * 1e3:.1f} | {tune['ratio']:.2%} "
        f"| < {tune['target']:.0%} | {met} |",
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 trials on 2048 images")
    parser.add_argument("--data-dir", default=data_module.DEFAULT_DIR)
    args = parser.parse_args(argv)
    result = run(args.quick, args.data_dir)
    print(json.dumps(result, indent=2))
    print("\n".join(markdown_lines(result)))


if __name__ == "__main__":
    main()
