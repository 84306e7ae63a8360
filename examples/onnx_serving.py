"""Serving a trained CNN with onnxruntime: export, check it matches nerve, predict, time it.

Trains a small CNN on Fashion-MNIST with the torch door, exports it with ``torch.onnx.export``'s
signature (``nerve.onnx.export``: named input and output, a dynamic batch axis), loads it into
an onnxruntime ``InferenceSession`` as the seed article does (all graph optimizations on),
checks that its outputs equal nerve's (largest absolute difference of the logits, agreement of
the predicted classes), serves raw uint8 images through a small ``predict()`` function, and
measures latency and throughput at batch sizes 1 to 256: nerve, onnxruntime with graph
optimizations, and onnxruntime without them.

Run: python examples/onnx_serving.py [--quick]
"""

from __future__ import annotations

import os
import time

import numpy as np
from _common import finish, markdown_table, parse_args, pyplot, save_figure, timed
from _deploy import (
    CLASSES,
    blas_threads,
    median_ms,
    nchw_data,
    nerve_accuracy,
    nerve_logits,
    ort_logits,
    ort_session,
    threads_option,
    train_cnn,
)

import nerve as torch
import nerve.onnx

BATCH_SIZES = [1, 8, 64, 256]


def convert_to_onnx(model, sample_input, output_path) -> str:
    """The seed's export call: one named input and output, the batch axis left dynamic."""
    return nerve.onnx.export(
        model,
        sample_input,
        output_path,
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
    )


def make_predict(session):
    """A serving function: uint8 images (N, 28, 28) in, (class name, probability) pairs out."""
    input_name = session.get_inputs()[0].name

    def predict(images: np.ndarray) -> list[tuple[str, float]]:
        images = np.asarray(images)
        if images.ndim == 2:
            images = images[None]
        if images.shape[1:] != (28, 28):
            raise ValueError(f"predict: expected (N, 28, 28) images, got shape {images.shape}")
        x = (images.astype(np.float32) / 255.0)[:, None]  # the training scaling and layout
        logits = session.run(None, {input_name: x})[0]
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs = z / z.sum(axis=1, keepdims=True)
        return [(CLASSES[k], float(p[k])) for k, p in zip(probs.argmax(1), probs)]

    return predict


def main(argv=None) -> dict:
    args = parse_args("onnx_serving", __doc__.splitlines()[0], argv, extra=threads_option)
    with blas_threads(args.threads):
        return run(args)


def run(args) -> dict:
    """The lesson, with the parsed arguments; returns the results."""
    n_train, n_test, epochs = (384, 300, 2) if args.quick else (12000, 2000, 3)
    repeats = (lambda b: 3) if args.quick else (lambda b: 200 if b == 1 else 20)
    (x, y), (x_test, y_test) = nchw_data(args, n_train, n_test)
    results: dict = {"n_train": n_train, "n_test": n_test, "epochs": epochs}

    with timed(results, "train_s"):
        model, losses = train_cnn(args, x, y, epochs)
    results["epoch_loss"] = losses
    results["nerve_accuracy"] = nerve_accuracy(model, x_test, y_test)

    # export, as the seed writes it (its opset_version=11 is below nerve's minimum, 13)
    path = args.out / "cnn.onnx"
    with timed(results, "export_s"):
        convert_to_onnx(model, torch.from_numpy(x[:1]), path)
    results["onnx_kb"] = round(os.path.getsize(path) / 1024, 1)
    try:
        nerve.onnx.export(model, torch.from_numpy(x[:1]), None, opset_version=11)
        results["opset_11"] = "exported"
    except ValueError as exc:
        results["opset_11"] = f"refused: {exc}"

    start = time.perf_counter()
    session = ort_session(path, threads=args.threads)
    results["session_load_ms"] = round((time.perf_counter() - start) * 1e3, 1)
    plain = ort_session(path, optimize=False, threads=args.threads)

    # the same numbers? logits of the whole test set, and one image alone (batch 1)
    ours, theirs = nerve_logits(model, x_test), ort_logits(session, x_test)
    one_ours, one_theirs = nerve_logits(model, x_test[:1]), ort_logits(session, x_test[:1])
    results["max_abs_diff"] = float(np.abs(ours - theirs).max())
    results["max_abs_diff_batch1"] = float(np.abs(one_ours - one_theirs).max())
    results["max_abs_logit"] = float(np.abs(ours).max())
    results["class_agreement"] = float((ours.argmax(1) == theirs.argmax(1)).mean())
    results["onnx_accuracy"] = float((theirs.argmax(1) == y_test).mean())

    # serving: raw uint8 images, as a client would send them
    predict = make_predict(session)
    raw = np.rint(x_test[:8, 0] * 255).astype(np.uint8)
    served = predict(raw)
    results["served"] = [
        {"predicted": name, "probability": round(p, 4), "label": CLASSES[t]}
        for (name, p), t in zip(served, y_test[:8])
    ]
    with timed(results, "predict_100_images_s"):
        predict(np.rint(x_test[:100, 0] * 255).astype(np.uint8))

    rows = []
    for b in BATCH_SIZES:
        batch = np.ascontiguousarray(np.resize(x_test, (b, 1, 28, 28)))
        # CPU time of one thread (see median_ms); the wall times are kept beside
        both = {
            "nerve": median_ms(lambda b_=batch: nerve_logits(model, b_), repeats(b)),
            "ort_optimized": median_ms(lambda b_=batch: ort_logits(session, b_), repeats(b)),
            "ort_no_optimization": median_ms(lambda b_=batch: ort_logits(plain, b_), repeats(b)),
        }
        timings = {k: cpu for k, (cpu, _) in both.items()}
        row = {"batch": b, **{f"{k}_ms": v for k, v in timings.items()}}
        row.update({f"{k}_wall_ms": wall for k, (_, wall) in both.items()})
        row.update({f"{k}_img_per_s": round(b / (v / 1e3)) for k, v in timings.items()})
        row["ort_speedup"] = round(timings["nerve"] / timings["ort_optimized"], 2)
        rows.append(row)
    results["latency"] = rows

    _figures(args, rows, raw, served, y_test[:8])
    results["figures"] = ["onnx_serving.png", "onnx_serving_predictions.png"]
    table = markdown_table(
        rows,
        [
            "batch",
            "nerve_ms",
            "ort_optimized_ms",
            "ort_no_optimization_ms",
            "ort_speedup",
            "nerve_img_per_s",
            "ort_optimized_img_per_s",
        ],
    )
    return finish(args, results, table)


def _figures(args, rows, raw, served, labels) -> None:
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    sizes = [r["batch"] for r in rows]
    for key, label, marker in [
        ("nerve", "nerve (NumPy)", "o"),
        ("ort_optimized", "onnxruntime, ORT_ENABLE_ALL", "s"),
        ("ort_no_optimization", "onnxruntime, ORT_DISABLE_ALL", "^"),
    ]:
        ax1.plot(sizes, [r[f"{key}_ms"] for r in rows], marker=marker, label=label)
        ax2.plot(sizes, [r[f"{key}_img_per_s"] for r in rows], marker=marker, label=label)
    for ax, ylabel, title in [
        (ax1, "CPU ms per call (median, one thread)", "Latency"),
        (ax2, "images per CPU second", "Throughput"),
    ]:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("batch size")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Serving the Fashion-MNIST CNN: nerve vs onnxruntime (CPU)")
    fig.tight_layout()
    save_figure(args, fig, "onnx_serving")

    fig, axes = plt.subplots(1, len(raw), figsize=(1.6 * len(raw), 2.3))
    for ax, image, (name, p), t in zip(axes, raw, served, labels):
        ax.imshow(image, cmap="gray_r")
        ok = name == CLASSES[t]
        ax.set_title(f"{name}\n{p:.0%}", fontsize=9, color="green" if ok else "red")
        ax.set_xlabel(f"true: {CLASSES[t]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("predict() on raw uint8 images (onnxruntime); red = wrong", fontsize=10)
    fig.tight_layout()
    save_figure(args, fig, "onnx_serving_predictions")


if __name__ == "__main__":
    main()
