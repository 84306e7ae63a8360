"""Transfer learning: a CNN pretrained on 5 Fashion-MNIST classes learns 5 others from 500 images.

The seed's recipe (freeze the pretrained layers, put a new output layer on top) in Keras 3's
words: a convolutional base is pretrained on classes 0-4 (T-shirt/top, trouser, pullover,
dress, coat); then ``base.trainable = False`` and a functional model puts a new Dense head on
it, trained with ``compile``/``fit`` on 500 labelled images of classes 5-9 (sandal, shirt,
sneaker, bag, ankle boot). The same architecture trained from scratch on the same 500 images is
the baseline. Last, the whole model is fine-tuned (``base.trainable = True``, compiled again)
with a low learning rate, and, to see whether it must be low, with a high one. A control
freezes an untrained base of the same shape, so what pretraining adds is measured apart from
what frozen random convolutions give. A sweep over the number of labelled images (20 to 2000,
three draws each) shows where pretraining pays. Every accuracy is measured on all 5,000 test
images of classes 5-9; nothing is chosen on them. Written with the Keras door (``from nerve
import keras``).

Run: python examples/transfer.py [--quick]
"""

from __future__ import annotations

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

from nerve import keras
from nerve.keras import layers

SOURCE, TARGET = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat")
NAMES += ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
BATCH = 32
RANDOM = "untrained, frozen base + new head"
FROZEN = "pretrained, frozen base + new head"


def make_base() -> keras.Model:
    """The convolutional feature extractor: 28x28x1 images to 5x5x64 = 1600 features."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    outputs = layers.Flatten()(x)
    return keras.Model(inputs, outputs, name="base")


def with_head(base: keras.Model, name: str) -> keras.Model:
    """``base`` with a new 5-way softmax head, as a functional model.

    ``training=False`` keeps the base in inference mode even when it is later unfrozen for
    fine-tuning (Keras's advice; it matters for BatchNormalization, harmless here).
    """
    inputs = keras.Input(shape=(28, 28, 1))
    x = base(inputs, training=False)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(5, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def compiled(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def subset(x, y, classes, n=None, rng=None):
    """The images of ``classes`` (labels renumbered 0..4); ``n`` of them, class-balanced."""
    if n is None:
        keep = np.flatnonzero(np.isin(y, classes))
    else:
        per_class = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
        keep = np.concatenate(
            [idx[: n // len(classes) + (i < n % len(classes))] for i, idx in enumerate(per_class)]
        )
        keep = rng.permutation(keep)
    return x[keep], y[keep] - classes[0]


class TestAccuracy(keras.callbacks.Callback):
    """Accuracy on held-out images after every epoch, from ``predict`` (inference mode).

    Written while a second ``compile`` (the fine-tuning step) left the first compile's
    metrics in nerve's logs (fixed since); counting argmax hits on the test images also keeps
    the curve independent of fit's validation bookkeeping.
    """

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.accuracy = x, y, []

    def on_epoch_end(self, epoch, logs=None):
        self.accuracy.append(accuracy(self.model.predict(self.x, verbose=0), self.y))


def steps_epochs(n: int, steps: int) -> int:
    """Epochs that give about ``steps`` batches on ``n`` images (small sets get more epochs)."""
    return max(1, round(steps / -(-n // BATCH)))


def main(argv=None) -> dict:
    def extra(parser):
        parser.add_argument("--labelled", type=int, default=500, help="target images (500)")

    args = parse_args("transfer", __doc__.splitlines()[0], argv, extra)
    quick, seed = args.quick, args.seed
    if args.labelled < len(TARGET):
        raise SystemExit(
            f"examples/transfer.py: --labelled {args.labelled} is fewer than one image per "
            f"target class (at least {len(TARGET)})"
        )
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    n_labelled = min(args.labelled, 200) if quick else args.labelled
    n_source = 1500 if quick else None  # None: all 30,000 source-class training images
    pretrain_epochs = 1 if quick else 2
    head_steps = 40 if quick else 320  # gradient steps of each small-data run
    finetune_epochs = 2 if quick else 10
    n_curve = 300 if quick else 1000  # test images scored after every epoch
    sweep = [50, n_labelled] if quick else [20, 50, 200, 500, 2000]
    repeats = 1 if quick else 3
    results: dict = {"settings": {"labelled": n_labelled, "pretrain_epochs": pretrain_epochs}}

    (x_train, y_train), (x_test, y_test) = fashion_mnist(seed=seed)
    xs, ys = subset(x_train, y_train, SOURCE)
    if n_source is not None:
        pick = rng.permutation(len(xs))[:n_source]
        xs, ys = xs[pick], ys[pick]
    xs_test, ys_test = subset(x_test, y_test, SOURCE)
    xt_test, yt_test = subset(x_test, y_test, TARGET)
    xt, yt = subset(x_train, y_train, TARGET, n_labelled, rng)
    if quick:  # a quick run scores on 1,000 of the 5,000 target test images
        xt_test, yt_test = xt_test[:1000], yt_test[:1000]
    x_curve, y_curve = xt_test[:n_curve], yt_test[:n_curve]
    results["settings"].update(
        source_images=len(xs), target_test_images=len(xt_test), curve_test_images=n_curve
    )

    def test_accuracy(model, x=xt_test, y=yt_test) -> float:
        return accuracy(model.predict(x, batch_size=500, verbose=0), y)

    # 1. Pretrain base + head on the source classes.
    base = make_base()
    source_model = compiled(with_head(base, "source"), 1e-3)
    with timed(results, "pretrain_s"):
        source_model.fit(xs, ys, batch_size=128, epochs=pretrain_epochs, verbose=0)
    results["source_test_accuracy"] = test_accuracy(source_model, xs_test, ys_test)
    pretrained = base.get_weights()

    def pretrained_base(trainable: bool) -> keras.Model:
        b = make_base()
        b.set_weights(pretrained)
        b.trainable = trainable
        return b

    epochs = steps_epochs(n_labelled, head_steps)
    rows, curves = [], {}

    def run(name, model, n_epochs, first_epoch=0):
        """fit on the labelled images, then one row of the table and one curve."""
        curve, t = TestAccuracy(x_curve, y_curve), {}
        with timed(t, "s"):
            model.fit(xt, yt, batch_size=BATCH, epochs=n_epochs, callbacks=[curve], verbose=0)
        curves[name] = (first_epoch, curve.accuracy)
        rows.append(
            {
                "model": name,
                "trainable params": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                "epochs": n_epochs,
                "train accuracy": round(test_accuracy(model, xt, yt), 4),
                "test accuracy": round(test_accuracy(model), 4),
                "seconds": t["s"],
            }
        )

    # 2. From scratch: the same architecture, random weights, only the labelled images.
    keras.utils.set_random_seed(seed + 1)
    run("from scratch", compiled(with_head(make_base(), "scratch"), 1e-3), epochs)

    # 3. The control: the same frozen base with random weights. Whatever a frozen base gives
    #    beyond this comes from pretraining, not from having convolutions at all.
    keras.utils.set_random_seed(seed + 2)
    random_base = make_base()
    random_base.trainable = False
    run(RANDOM, compiled(with_head(random_base, "random"), 1e-3), epochs)

    # 4. Frozen pretrained base, new head: only the head's weights learn.
    keras.utils.set_random_seed(seed + 2)
    frozen_base = pretrained_base(trainable=False)
    model = compiled(with_head(frozen_base, "transfer"), 1e-3)
    run(FROZEN, model, epochs)
    after_head = model.get_weights()

    # 5. Fine-tune from there: unfreeze, compile again (the trainable set changed), a low
    #    learning rate; then the same from the same start with a high one.
    for lr, label in ((1e-5, "low"), (1e-3, "high")):
        keras.utils.set_random_seed(seed + 3)
        model.set_weights(after_head)
        frozen_base.trainable = True
        compiled(model, lr)
        run(f"then fine-tuned, all layers, lr {lr:g} ({label})", model, finetune_epochs, epochs)
        frozen_base.trainable = False

    # 6. How many labelled images make pretraining unnecessary? Each size is repeated on
    #    other draws of the labelled images (and other initial heads): the spread says which
    #    differences are noise.
    sweep_rows = []
    with timed(results, "sweep_s"):
        for n in sweep:
            row = {"labelled images": n}
            for name, make in (
                ("from scratch", make_base),
                ("frozen pretrained", lambda: pretrained_base(trainable=False)),
            ):
                accs = []
                for r in range(repeats):
                    xn, yn = subset(
                        x_train, y_train, TARGET, n, np.random.default_rng([seed, n, r])
                    )
                    keras.utils.set_random_seed(seed + 4 + r)
                    model = compiled(with_head(make(), name.replace(" ", "_")), 1e-3)
                    epochs_n = steps_epochs(n, head_steps)
                    model.fit(xn, yn, batch_size=BATCH, epochs=epochs_n, verbose=0)
                    accs.append(test_accuracy(model))
                row[name] = round(float(np.mean(accs)), 4)
                row[f"{name} sd"] = round(float(np.std(accs)), 4)
            sweep_rows.append(row)

    results.update(comparison=rows, sweep=sweep_rows, chance=0.2)
    results["curves"] = {name: acc for name, (_, acc) in curves.items()}
    table = (
        f"Pretrained on classes 0-4 ({len(xs)} images, {pretrain_epochs} epochs): test "
        f"accuracy {results['source_test_accuracy']:.4f} on those classes.\n\n"
        f"{n_labelled} labelled images of classes 5-9, accuracy on {len(xt_test)} test "
        "images of classes 5-9 (chance 0.2):\n\n"
        + markdown_table(rows)
        + f"\n\nThe labelled-set sweep (about {head_steps} gradient steps for each size; mean and"
        f" standard deviation over {repeats} draws of the labelled images):\n\n"
        + markdown_table(sweep_rows)
    )
    plot(args, rows, curves, sweep_rows, n_labelled, n_curve)
    return finish(args, results, table)


def plot(args, rows, curves, sweep_rows, n_labelled, n_curve):
    """Bars of the final accuracies, test-accuracy curves per epoch, and the sweep."""
    plt = pyplot()
    colors = ["C7", "C1", "C0", "C2", "C3"]
    fig, (ax_bar, ax_curve, ax_sweep) = plt.subplots(1, 3, figsize=(17, 5))
    labels = [r["model"].replace(", ", ",\n").replace(" (", "\n(") for r in rows]
    accs = [r["test accuracy"] for r in rows]
    bars = ax_bar.barh(range(len(rows)), accs, color=colors[: len(rows)])
    ax_bar.bar_label(bars, [f"{a:.3f}" for a in accs], padding=3)
    ax_bar.set_yticks(range(len(rows)), labels, fontsize=8)
    ax_bar.invert_yaxis()
    ax_bar.axvline(0.2, color="gray", linestyle=":", label="chance (0.2)")
    ax_bar.set(xlim=(0, 1.15), xlabel="test accuracy, classes 5-9")
    ax_bar.set_title(f"{n_labelled} labelled images: after training")
    ax_bar.legend(loc="lower right", fontsize=8)

    # The curves and the sweep are zoomed in (chance, 0.2, is far below).
    frozen_last = curves[FROZEN][1][-1]
    for (name, (start, acc)), color in zip(curves.items(), colors):
        epochs = np.arange(start + 1, start + len(acc) + 1)
        if start:  # fine-tuning continues the frozen run's curve from its last point
            epochs, acc = np.insert(epochs, 0, start), [frozen_last, *acc]
        ax_curve.plot(epochs, acc, color=color, label=name)
    ax_curve.set(
        xlabel="epoch",
        ylabel=f"accuracy on {n_curve} test images (classes 5-9)",
        title="After each epoch",
    )
    ax_curve.legend(fontsize=7, loc="lower right")

    ns = [r["labelled images"] for r in sweep_rows]
    for name, color in (("from scratch", "C7"), ("frozen pretrained", "C0")):
        ax_sweep.errorbar(
            ns,
            [r[name] for r in sweep_rows],
            yerr=[r[f"{name} sd"] for r in sweep_rows],
            fmt="o-",
            capsize=3,
            color=color,
            label=f"{name} (mean and sd)",
        )
    ax_sweep.set_xscale("log")
    ax_sweep.set_xticks(ns, [str(n) for n in ns])
    ax_sweep.minorticks_off()
    ax_sweep.set(
        xlabel="labelled images of classes 5-9 (log scale)",
        ylabel="test accuracy, classes 5-9",
        title="Pretraining vs the amount of labelled data",
    )
    ax_sweep.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save_figure(args, fig, "transfer")


if __name__ == "__main__":
    main()
