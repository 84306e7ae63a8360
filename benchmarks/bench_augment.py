"""Augmentation cost vs a CNN training step, on one batch of 128 28x28 images.

``python -m benchmarks.bench_augment [--batch 128] [--repeats 30]``

Prints the median milliseconds of
- the augmentation ``Compose([RandomRotation, RandomTranslation, RandomHorizontalFlip,
  RandomZoom])`` from nerve.data.transforms (fused: one resampling for the four), and the same
  four applied one after another (three resamplings), for reference;
- the resampling kernel alone: nerve's NumPy bilinear gather vs scipy.ndimage.map_coordinates
  on the stacked batch (when scipy is installed);
- one training step (forward, cross-entropy, backward, Adam) of the CNN
  Conv2d(1,32,3)-ReLU-MaxPool2-Conv2d(32,64,3)-ReLU-MaxPool2-Flatten-Linear(1600,128)-ReLU-
  Linear(128,10) built with nerve.nn / nerve.optim;
and the ratio augmentation / step (the target: under 10%). Images are Fashion-MNIST when
``nerve.datasets.fashion_mnist`` finds it on disk, random pixels otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import nerve
from benchmarks import workloads
from nerve import nn, optim
from nerve.data import affine
from nerve.data import transforms as T
from nerve.nn import functional as F


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def images(batch: int) -> np.ndarray:
    try:
        from nerve.datasets import fashion_mnist

        (x, _), _ = fashion_mnist.load_data()
        source = "Fashion-MNIST"
    except OSError:
        x = np.random.default_rng(0).integers(0, 256, (batch, 28, 28), dtype=np.uint8)
        source = "random pixels"
    print(f"images: {source}")
    return T.ToFloat(add_channel=True)(x[:batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    nerve.manual_seed(0)
    x = images(args.batch)
    steps = [
        T.RandomRotation(10),
        T.RandomTranslation(0.1),
        T.RandomHorizontalFlip(),
        T.RandomZoom(0.1),
    ]
    fused = T.Compose(steps)

    def one_by_one():
        out = x
        for t in steps:
            out = t(out)
        return out

    aug_ms = median_ms(lambda: fused(x), args.repeats)
    separate_ms = median_ms(one_by_one, args.repeats)

    n = len(x)
    rng = np.random.default_rng(0)
    matrices = affine.rotation(rng.uniform(-0.2, 0.2, n), 28, 28) @ affine.translation(
        rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    )
    gather_ms = median_ms(lambda: affine.warp(x, matrices), args.repeats)
    scipy_ms = None
    try:
        from scipy import ndimage

        rows, cols = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
        sy = matrices[:, 0, :1, None] * rows + matrices[:, 0, 1:2, None] * cols
        sx = matrices[:, 1, :1, None] * rows + matrices[:, 1, 1:2, None] * cols
        sy, sx = sy + matrices[:, 0, 2, None, None], sx + matrices[:, 1, 2, None, None]
        sample = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], sy.shape)
        coords = np.stack([sample, sy, sx])
        scipy_ms = median_ms(
            lambda: ndimage.map_coordinates(x[:, 0], coords, order=1, mode="constant"),
            args.repeats,
        )
    except ImportError:
        pass

    model = workloads.cnn(nn)  # the benchmark suite's CNN
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    inputs = nerve.tensor(fused(x))
    targets = nerve.tensor(np.random.default_rng(1).integers(0, 10, n))

    def train_step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()

    step_ms = median_ms(train_step, max(5, args.repeats // 3))

    print(f"batch {n} x 1 x 28 x 28, median of {args.repeats} runs")
    print(f"augmentation, fused (rotation+translation+flip+zoom): {aug_ms:8.2f} ms")
    print(f"augmentation, one transform after another:            {separate_ms:8.2f} ms")
    print(f"resampling kernel, NumPy bilinear gather:             {gather_ms:8.2f} ms")
    if scipy_ms is not None:
        print(f"resampling kernel, scipy.ndimage.map_coordinates:     {scipy_ms:8.2f} ms")
    print(f"CNN training step (forward+backward+Adam):            {step_ms:8.2f} ms")
    print(f"augmentation / training step: {100 * aug_ms / step_ms:.1f}% (target < 10%)")


if __name__ == "__main__":
    main()
