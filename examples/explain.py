"""Which pixels made the CNN decide? Attributions, and a deletion test that checks them.

Trains a small CNN on Fashion-MNIST with the torch door and explains its predictions with
nerve.explain's Captum-style methods (Saliency, InputXGradient, IntegratedGradients, DeepLift,
GuidedBackprop, Occlusion) and shap's DeepExplainer, as the seed article does. One figure shows
a few test images (rows) under each method (columns); a second draws shap's image plot of the
ten classes. The sanity check is the deletion test: remove (set to black) the k% of pixels a
method ranks highest and see how far the predicted class's probability falls, against removing
k% of pixels at random. A method whose ranking means something makes the model lose confidence
much faster than chance.

Run: python examples/explain.py [--quick]
"""

from __future__ import annotations

import numpy as np
from _common import finish, markdown_table, parse_args, pyplot, save_figure, timed
from _deploy import (
    CLASSES,
    blas_threads,
    nchw_data,
    nerve_accuracy,
    nerve_logits,
    threads_option,
    train_cnn,
)

import nerve as torch
from nerve import explain

FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2]


def attributions(name, model, x, target, background, quick) -> np.ndarray:
    """One method's attributions of ``target`` for images x (N, 1, 28, 28), as an array."""
    inputs = torch.from_numpy(x)
    if name == "Saliency":
        a = explain.Saliency(model).attribute(inputs, target=target)
    elif name == "InputXGradient":
        a = explain.InputXGradient(model).attribute(inputs, target=target)
    elif name == "IntegratedGradients":
        a = explain.IntegratedGradients(model).attribute(
            inputs, baselines=0.0, target=target, n_steps=8 if quick else 32
        )
    elif name == "DeepLift":
        a = explain.DeepLift(model).attribute(inputs, baselines=0.0, target=target)
    elif name == "GuidedBackprop":
        a = explain.GuidedBackprop(model).attribute(inputs, target=target)
    elif name == "Occlusion":
        window, stride = ((1, 6, 6), (1, 4, 4)) if quick else ((1, 4, 4), (1, 2, 2))
        a = explain.Occlusion(model).attribute(
            inputs, sliding_window_shapes=window, strides=stride, baselines=0.0, target=target
        )
    elif name == "DeepExplainer":
        # shap's interface; ranked_outputs=1 explains each image's top class only (the
        # predicted one, which is the target here), ten times cheaper than all ten classes
        values, ranks = explain.DeepExplainer(model, background).shap_values(x, ranked_outputs=1)
        if not np.array_equal(ranks[:, 0], target):
            raise RuntimeError("explain.py: DeepExplainer's top class is not the predicted one")
        return values[..., 0].astype(np.float32)
    else:
        raise ValueError(f"explain.py: unknown method {name!r}")
    return np.asarray(a.numpy() if hasattr(a, "numpy") else a, np.float32)


def target_probability(model, x, target) -> np.ndarray:
    """The softmax probability of each image's target class."""
    logits = nerve_logits(model, x).astype(np.float64)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True))[np.arange(len(x)), target]


def deletion(model, x, target, scores, fractions) -> list[float]:
    """Mean target probability after the top ``fraction`` of pixels by ``scores`` are set to 0
    (black, the background of Fashion-MNIST), for each fraction."""
    n = len(x)
    flat = x.reshape(n, -1)
    order = np.argsort(-scores.reshape(n, -1), axis=1, kind="stable")  # highest first
    out = []
    for f in fractions:
        k = int(round(f * flat.shape[1]))
        removed = flat.copy()
        np.put_along_axis(removed, order[:, :k], 0.0, axis=1)
        out.append(float(target_probability(model, removed.reshape(x.shape), target).mean()))
    return out


def main(argv=None) -> dict:
    args = parse_args("explain", __doc__.splitlines()[0], argv, extra=threads_option)
    with blas_threads(args.threads):
        return run(args)


def run(args) -> dict:
    """The lesson, with the parsed arguments; returns the results."""
    n_train, n_test, epochs, n_explain = (384, 200, 2, 32) if args.quick else (12000, 2000, 3, 200)
    methods = [
        "Saliency",
        "InputXGradient",
        "IntegratedGradients",
        "DeepLift",
        "GuidedBackprop",
        "Occlusion",
        "DeepExplainer",
    ]
    (x, y), (x_test, y_test) = nchw_data(args, n_train, n_test)
    results: dict = {"n_train": n_train, "epochs": epochs, "n_explained": n_explain}
    with timed(results, "train_s"):
        model, losses = train_cnn(args, x, y, epochs)
    results["epoch_loss"] = losses
    results["test_accuracy"] = nerve_accuracy(model, x_test, y_test)

    # explain what the model predicted, on test images it has not seen
    xs = x_test[:n_explain]
    target = nerve_logits(model, xs).argmax(1)
    background = x[np.random.default_rng(args.seed).permutation(len(x))[: 10 if args.quick else 16]]
    maps, seconds = {}, {}
    for name in methods:
        timing: dict = {}
        with timed(timing, "s"):
            maps[name] = attributions(name, model, xs, target, background, args.quick)
        seconds[name] = timing["s"]

    # the deletion test, against random pixel orders
    rng = np.random.default_rng(args.seed)
    base = float(target_probability(model, xs, target).mean())
    curves = {name: deletion(model, xs, target, maps[name], FRACTIONS) for name in methods}
    curves["random"] = deletion(model, xs, target, rng.random(xs.shape), FRACTIONS)
    rows = []
    for name in [*methods, "random"]:
        row = {"method": name, **{f"p@{f:.0%}": v for f, v in zip(FRACTIONS, curves[name])}}
        row["drop@5%"] = base - curves[name][FRACTIONS.index(0.05)]
        row["seconds"] = seconds.get(name, 0.0)
        rows.append(row)
    results["base_probability"] = base
    results["deletion"] = rows
    results["fractions"] = FRACTIONS
    random_drop = rows[-1]["drop@5%"]
    results["drop_ratio_vs_random@5%"] = {
        r["method"]: round(r["drop@5%"] / max(random_drop, 1e-6), 2) for r in rows[:-1]
    }

    # IG and DeepLift are complete: their attributions add up to f(x) - f(0) for the target
    logits = nerve_logits(model, xs)
    zero = nerve_logits(model, np.zeros_like(xs[:1]))
    gap = logits[np.arange(len(xs)), target] - zero[0, target]
    results["completeness_error"] = {
        name: float(np.abs(maps[name].reshape(len(xs), -1).sum(1) - gap).max())
        for name in ("IntegratedGradients", "DeepLift")
    }

    show = _pick_examples(target, y_test[:n_explain], count=4)
    _grid_figure(args, xs, maps, methods, show, y_test[:n_explain])
    _deletion_figure(args, curves, base)
    values = explain.DeepExplainer(model, background).shap_values(xs[show])
    fig = explain.plot.attributions(values, xs[show], labels=CLASSES)
    fig.suptitle("DeepExplainer (shap) values per class; red pushes towards the class", y=0.99)
    save_figure(args, fig, "explain_shap")
    results["figures"] = ["explain.png", "explain_deletion.png", "explain_shap.png"]

    table = markdown_table(rows, ["method", *[f"p@{f:.0%}" for f in FRACTIONS], "drop@5%"])
    table = f"target probability before deletion: {base:.4f}\n\n" + table
    return finish(args, results, table)


def _pick_examples(predicted, labels, count: int) -> list[int]:
    """Indices of correctly classified images of different classes."""
    chosen, seen = [], set()
    for i, (p, t) in enumerate(zip(predicted, labels)):
        if p == t and t not in seen:
            chosen.append(i)
            seen.add(int(t))
        if len(chosen) == count:
            break
    return chosen or list(range(min(count, len(labels))))


def _grid_figure(args, xs, maps, methods, show, labels) -> None:
    plt = pyplot()
    cols = len(methods) + 1
    fig, axes = plt.subplots(len(show), cols, figsize=(1.8 * cols, 1.9 * len(show) + 0.4))
    axes = np.atleast_2d(axes)
    for r, i in enumerate(show):
        ax = axes[r, 0]
        ax.imshow(xs[i, 0], cmap="gray_r")
        ax.set_ylabel(f"{CLASSES[labels[i]]}", fontsize=9)
        for j, name in enumerate(methods):
            a = maps[name][i, 0]
            bound = float(np.abs(a).max()) or 1.0
            ax = axes[r, j + 1]
            ax.imshow(a, cmap="bwr", vmin=-bound, vmax=bound)
            if r == 0:
                ax.set_title(name.replace("Integrated", "Integr."), fontsize=9)
        if r == 0:
            axes[r, 0].set_title("image", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "Attributions of the predicted class (red: for it, blue: against; each map on its own "
        "scale)",
        fontsize=10,
    )
    fig.tight_layout()
    save_figure(args, fig, "explain")


def _deletion_figure(args, curves, base) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [0.0, *FRACTIONS]
    for name, values in curves.items():
        style = {"color": "black", "linestyle": "--", "linewidth": 2} if name == "random" else {}
        ax.plot([100 * f for f in xs], [base, *values], marker="o", label=name, **style)
    ax.set_xlabel("pixels removed, highest attribution first (%)")
    ax.set_ylabel("mean probability of the predicted class")
    ax.set_title("Deletion test: removing the pixels each method ranks highest")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    save_figure(args, fig, "explain_deletion")


if __name__ == "__main__":
    main()
