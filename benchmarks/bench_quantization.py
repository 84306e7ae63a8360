"""int8 vs float32 on a small Fashion-MNIST CNN: file size, accuracy, onnxruntime latency.

``python benchmarks/bench_quantization.py [--train N] [--epochs E] [--threads T]``

Trains a small CNN with nerve for a short while, then compares
- nerve's float32 model with ``nerve.quantization.quantize`` (int8 weights, calibrated inputs,
  float32 compute): weights payload and test accuracy;
- the ONNX export in float32 with ``nerve.onnx.export(..., quantize='int8')`` (onnxruntime's
  QDQ int8): file size, test accuracy, and latency at batch 1 and 256.
The data are read from the gzip IDX files in /usr/share/datasets/fashion-mnist/ (no loader).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import nerve
from nerve import nn
from nerve.onnx import export
from nerve.quantization import quantize, state_nbytes

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path: str) -> np.ndarray:
    """An IDX file (gzip): big-endian magic (dtype code, ndim), then the dims, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


def load(split: str):
    x = read_idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz"))
    return (x.astype(np.float32) / 255.0)[:, None], y.astype(np.int64)


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def train(model, x, y, epochs: int, batch: int = 64) -> None:
    opt = nerve.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        order = np.random.permutation(len(x))
        start, total = time.perf_counter(), 0.0
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = loss_fn(model(nerve.Tensor(x[idx])), nerve.Tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(idx)
        print(
            f"  epoch {epoch + 1}: loss {total / len(x):.4f} ({time.perf_counter() - start:.0f} s)"
        )
    model.eval()


def nerve_accuracy(model, x, y, batch: int = 500) -> float:
    model.eval()
    with nerve.no_grad():
        pred = np.concatenate(
            [
                model(nerve.Tensor(x[i : i + batch])).numpy().argmax(1)
                for i in range(0, len(x), batch)
            ]
        )
    return float((pred == y).mean())


def session(path: str, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def ort_accuracy(sess, x, y, batch: int = 500) -> float:
    name = sess.get_inputs()[0].name
    pred = np.concatenate(
        [sess.run(None, {name: x[i : i + batch]})[0].argmax(1) for i in range(0, len(x), batch)]
    )
    return float((pred == y).mean())


def latency_ms(sess, x: np.ndarray, repeats: int) -> float:
    """The median of ``repeats`` timed runs, after warm-up runs."""
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(max(3, repeats // 10)):
        sess.run(None, feed)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=20000, help="training samples used")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--calibration", type=int, default=512, help="calibration samples")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    nerve.manual_seed(args.seed)
    np.random.seed(args.seed)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    x_fit, y_fit = x_train[: args.train], y_train[: args.train]
    calibration = x_train[-args.calibration :]  # not among the training samples used

    print(f"training a small CNN on {len(x_fit)} Fashion-MNIST images, {args.epochs} epoch(s)")
    model = make_cnn()
    train(model, x_fit, y_fit, args.epochs)

    qmodel = quantize(model, calibration, per_channel=True)
    fp32_bytes, int8_bytes = state_nbytes(model), state_nbytes(qmodel)
    acc_fp32 = nerve_accuracy(model, x_test, y_test)
    acc_int8 = nerve_accuracy(qmodel, x_test, y_test)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path, int8_path = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        export(model, x_test[:1], fp32_path)
        export(model, x_test[:1], int8_path, quantize="int8", calibration_data=calibration)
        sessions = {
            "fp32": session(fp32_path, args.threads),
            "int8": session(int8_path, args.threads),
        }
        sizes = {"fp32": os.path.getsize(fp32_path), "int8": os.path.getsize(int8_path)}
        for kind, sess in sessions.items():
            acc = ort_accuracy(sess, x_test, y_test)
            lat1 = latency_ms(sess, x_test[:1], repeats=500)
            lat256 = latency_ms(sess, x_test[:256], repeats=30)
            rows.append((kind, sizes[kind], acc, lat1, lat256))

    print()
    print("nerve.quantization.quantize (int8 weights, float32 compute)")
    print(f"  weights payload: fp32 {fp32_bytes / 1024:.1f} KiB, int8 {int8_bytes / 1024:.1f} KiB "
          f"({fp32_bytes / int8_bytes:.2f}x smaller)")  # fmt: skip
    print(f"  test accuracy:   fp32 {acc_fp32:.2%}, int8 {acc_int8:.2%} "
          f"(drop {100 * (acc_fp32 - acc_int8):+.2f} points)")  # fmt: skip
    print()
    print(f"onnxruntime {__import__('onnxruntime').__version__}, {args.threads} thread(s), "
          "QDQ int8 (per-channel weights, reduce_range)")  # fmt: skip
    print(f"  {'model':<6} {'file KiB':>9} {'accuracy':>9} {'batch 1 ms':>11} {'batch 256 ms':>13}")
    for kind, size, acc, lat1, lat256 in rows:
        print(f"  {kind:<6} {size / 1024:>9.1f} {acc:>9.2%} {lat1:>11.3f} {lat256:>13.2f}")
    (_, s32, a32, l1_32, l256_32), (_, s8, a8, l1_8, l256_8) = rows
    drop = 100 * (a32 - a8)
    print(f"  int8 vs fp32: file {s32 / s8:.2f}x smaller, accuracy drop {drop:+.2f} points, "
          f"speed-up batch 1 {l1_32 / l1_8:.2f}x, batch 256 {l256_32 / l256_8:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
