"""Post-training int8 quantization of a small CNN: files about 4x smaller, accuracy kept.

Trains a small CNN on Fashion-MNIST with the torch door, then compares five ways to serve it:
nerve in float32, nerve int8 (``nerve.quantization.quantize``), onnxruntime on the float32
export (``nerve.onnx.export``), onnxruntime on a static int8 export (QDQ, calibrated on training
images) and onnxruntime on a dynamically quantized file (``quantize_dynamic``). For each: the
file's size on disk, test accuracy, agreement with the float32 predictions, and latency at
batch 1 and batch 256 (median of repeated timings on one thread, in CPU time; the wall times
are kept too). It also runs the seed article's own 8-bit recipe (an asymmetric uint8 grid
stored in an int8 array) to show what its overflow costs.

Run: python examples/quantization.py [--quick]
"""

from __future__ import annotations

import os

import numpy as np
from _common import finish, markdown_table, parse_args, pyplot, save_figure, timed
from _deploy import (
    blas_threads,
    median_ms,
    nchw_data,
    nerve_accuracy,
    nerve_logits,
    ort_logits,
    ort_session,
    small_cnn,
    threads_option,
    train_cnn,
)

import nerve as torch
import nerve.onnx
from nerve.quantization import quantize


def seed_quantize_model(params: dict, bits: int = 8) -> dict:
    """The seed article's ``quantize_model``, line for line: an asymmetric grid of 2**bits
    steps from min to max, whose codes 0..255 are stored with ``astype(np.int8)``."""
    quantized = {}
    for name, param in params.items():
        min_val, max_val = param.min(), param.max()
        scale = (max_val - min_val) / (2**bits - 1)
        zero_point = np.round(-min_val / scale)
        with np.errstate(invalid="ignore"):  # the cast overflows: that is the lesson
            quantized[name] = np.round(param / scale + zero_point).astype(np.int8)
        quantized[f"{name}_scale"] = scale
        quantized[f"{name}_zp"] = zero_point
    return quantized


def seed_dequantize(quantized: dict, names, wrap: bool) -> dict:
    """Weights back from the seed's codes: ``(q - zero_point) * scale``; ``wrap=False`` reads
    the codes as the uint8 they were meant to be (the fix)."""
    out = {}
    for name in names:
        q = quantized[name].astype(np.int64)
        if not wrap:
            q = q % 256  # int8 bit pattern read back as uint8
        out[name] = ((q - quantized[f"{name}_zp"]) * quantized[f"{name}_scale"]).astype(np.float32)
    return out


def main(argv=None) -> dict:
    args = parse_args("quantization", __doc__.splitlines()[0], argv, extra=threads_option)
    with blas_threads(args.threads):
        return run(args)


def run(args) -> dict:
    """The lesson, with the parsed arguments; returns the results."""
    n_train, n_test, epochs = (384, 300, 2) if args.quick else (12000, 2000, 3)
    repeats_1, repeats_256 = (10, 3) if args.quick else (200, 20)
    (x, y), (x_test, y_test) = nchw_data(args, n_train, n_test)
    results: dict = {"n_train": n_train, "n_test": n_test, "epochs": epochs}

    with timed(results, "train_s"):
        model, losses = train_cnn(args, x, y, epochs)
    results["epoch_loss"] = losses
    calibration = x[:256]  # a few hundred training images set the activation ranges
    files = {
        "fp32_weights": args.out / "cnn_fp32.safetensors",
        "int8_weights": args.out / "cnn_int8.safetensors",
        "fp32_onnx": args.out / "cnn_fp32.onnx",
        "int8_static_onnx": args.out / "cnn_int8_static.onnx",
        "int8_dynamic_onnx": args.out / "cnn_int8_dynamic.onnx",
    }

    # nerve: float32 and int8 weights files (state_dicts as safetensors)
    with timed(results, "quantize_s"):
        qmodel = quantize(model, calibration)
    torch.save(model.state_dict(), files["fp32_weights"])
    torch.save(qmodel.state_dict(), files["int8_weights"])

    # onnxruntime: the float32 export, a static int8 export (calibrated QDQ), and a dynamic one
    example = torch.from_numpy(x[:1])
    nerve.onnx.export(model, example, files["fp32_onnx"], input_names=["input"])
    with timed(results, "static_int8_export_s"):
        nerve.onnx.export(
            model,
            example,
            files["int8_static_onnx"],
            input_names=["input"],
            quantize="int8",
            calibration_data=calibration,
        )
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(files["fp32_onnx"], files["int8_dynamic_onnx"], weight_type=QuantType.QInt8)

    reference = nerve_logits(model, x_test).argmax(1)
    batch_1, batch_256 = x_test[:1], x_test[:256]
    rows = []

    def row(variant, file, logits, infer):
        pred = logits.argmax(1)
        b1_cpu, b1_wall = median_ms(lambda: infer(batch_1), repeats_1)
        b256_cpu, b256_wall = median_ms(lambda: infer(batch_256), repeats_256)
        rows.append(
            {
                "variant": variant,
                "file": file.name,
                "size_kb": round(os.path.getsize(file) / 1024, 1),
                "accuracy": float((pred == y_test).mean()),
                "agreement": float((pred == reference).mean()),
                "batch1_ms": b1_cpu,  # CPU time (one thread): see median_ms
                "batch256_ms": b256_cpu,
                "batch1_wall_ms": b1_wall,
                "batch256_wall_ms": b256_wall,
            }
        )

    for variant, net, file in [
        ("nerve fp32", model, files["fp32_weights"]),
        ("nerve int8", qmodel, files["int8_weights"]),
    ]:
        row(variant, file, nerve_logits(net, x_test), lambda b, net=net: nerve_logits(net, b))
    for variant, key in [
        ("onnxruntime fp32", "fp32_onnx"),
        ("onnxruntime int8 static", "int8_static_onnx"),
        ("onnxruntime int8 dynamic", "int8_dynamic_onnx"),
    ]:
        session = ort_session(files[key], threads=args.threads)
        row(variant, files[key], ort_logits(session, x_test), lambda b, s=session: ort_logits(s, b))
    base = rows[0]
    for r in rows:
        r["accuracy_drop_points"] = round(100 * (base["accuracy"] - r["accuracy"]), 2)
        r["size_ratio"] = round(base["size_kb"] / r["size_kb"], 2)

    # the seed's recipe: codes 128..255 do not fit int8 and come back as other numbers
    params = {k: np.asarray(v) for k, v in model.state_dict().items()}
    coded = seed_quantize_model(params)
    seed_rows = []
    for label, wrap in [
        ("seed recipe as written (int8 cast)", True),
        ("seed recipe, uint8", False),
    ]:
        restored = seed_dequantize(coded, params, wrap)
        copy = small_cnn()
        copy.load_state_dict({k: torch.from_numpy(v) for k, v in restored.items()})
        copy.eval()
        err = max(float(np.abs(restored[k] - params[k]).max()) for k in params)
        seed_rows.append(
            {
                "variant": label,
                "accuracy": nerve_accuracy(copy, x_test, y_test),
                "max_weight_error": err,
            }
        )
    # the share of weights whose code (0..255) is above int8's 127: those are the ones corrupted
    over = sum(
        int((np.round(p / coded[f"{k}_scale"] + coded[f"{k}_zp"]) > 127).sum())
        for k, p in params.items()
    )
    results["seed_recipe"] = seed_rows
    results["seed_recipe_wrapped_fraction"] = over / sum(p.size for p in params.values())

    results["rows"] = rows
    results["fp32_accuracy"] = base["accuracy"]
    results["int8_accuracy_drop_points"] = rows[1]["accuracy_drop_points"]
    results["chance"] = 0.1
    _figure(args, rows)
    results["figures"] = ["quantization.png"]
    table = markdown_table(
        rows,
        [
            "variant",
            "size_kb",
            "size_ratio",
            "accuracy",
            "accuracy_drop_points",
            "agreement",
            "batch1_ms",
            "batch256_ms",
        ],
    )
    table += "\n\n" + markdown_table(seed_rows, ["variant", "accuracy", "max_weight_error"])
    return finish(args, results, table)


def _figure(args, rows) -> None:
    plt = pyplot()
    names = [r["variant"].replace("onnxruntime", "ORT") for r in rows]
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2))
    panels = [
        ("size_kb", "file size (KB)", "Size on disk"),
        ("accuracy", "test accuracy", "Accuracy"),
        ("batch1_ms", "CPU milliseconds (median)", "Latency, batch 1"),
        ("batch256_ms", "CPU milliseconds (median)", "Latency, batch 256"),
    ]
    for ax, (key, ylabel, title) in zip(axes, panels):
        values = [r[key] for r in rows]
        bars = ax.bar(range(len(rows)), values, color=colors)
        ax.set_xticks(range(len(rows)), names, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        for bar, v in zip(bars, values):
            ax.annotate(
                f"{v:.3g}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        if key == "accuracy":
            lo = min(values)
            ax.set_ylim(max(0.0, lo - 0.05), min(1.0, max(values) + 0.03))
        else:
            ax.set_ylim(0, max(values) * 1.15)
    fig.suptitle("Small CNN on Fashion-MNIST: float32 vs int8, nerve vs onnxruntime")
    fig.tight_layout()
    save_figure(args, fig, "quantization")


if __name__ == "__main__":
    main()
