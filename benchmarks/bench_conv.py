"""``python -m benchmarks.bench_conv``: the CNN's conv and max-pool kernels, nerve against torch.

The shapes of ``benchmarks/workloads.py``'s CNN (Conv2d(1, 32, 3) on 28x28, MaxPool2d(2),
Conv2d(32, 64, 3) on 13x13, MaxPool2d(2)) at batch 1, 128 and 1024: each layer's forward
without a graph (inference) and its forward + backward (a training step's share), timed in
interleaved rounds (nerve, torch, nerve, ...) so that the shared machine's drift hits both.
Printed per kernel: the median microseconds of each side, nerve/torch and the range of the
per-round ratios. ``--threads`` limits NumPy's BLAS and torch alike (nerve's split path follows
nerve.set_num_threads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from benchmarks import system

# name, input shape without the batch, layer ("conv", out_channels) or ("pool",)
LAYERS = [
    ("conv1", (1, 28, 28), ("conv", 32)),
    ("pool1", (32, 26, 26), ("pool",)),
    ("conv2", (32, 13, 13), ("conv", 64)),
    ("pool2", (64, 11, 11), ("pool",)),
]
BATCHES = (1, 128, 1024)
ROUNDS = {1: (200, 15), 128: (10, 11), 1024: (2, 7)}  # calls per round, rounds


def _kernel(side: str, layer, shape, batch: int, train: bool):
    """A zero-argument call of one layer on ``side`` ("nerve" or "torch")."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    if side == "torch":
        import torch

        mod, fn, grad_mode = torch, torch.nn.functional, torch.inference_mode
    else:
        import nerve
        import nerve.nn.functional as fn

        mod, grad_mode = nerve, nerve.no_grad
    # The batch-last layout nerve's conv returns (and torch's own NCHW for torch), so that
    # each side's pooling sees what its conv hands it.
    if side == "nerve" and shape[0] > 1:
        x = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    # The first conv's input is data: no gradient wanted, as in the model.
    xt = mod.tensor(x, requires_grad=train and shape[0] > 1)
    leaves = [xt]
    if layer[0] == "conv":
        w = mod.tensor(rng.standard_normal((layer[1], shape[0], 3, 3), dtype=np.float32) * 0.1)
        b = mod.tensor(rng.standard_normal(layer[1], dtype=np.float32))
        if train:
            w.requires_grad_()
            b.requires_grad_()
        leaves += [w, b]

        def op():
            return fn.conv2d(xt, w, b)
    else:

        def op():
            return fn.max_pool2d(xt, 2)

    if not train:

        def infer():
            with grad_mode():
                op()

        return infer
    # The output gradient in the output's memory layout, as the next layer's backward
    # hands it over in a model (nerve's: batch-last).
    y = op()
    grad = mod.tensor(np.ones_like(y.detach().numpy() if side == "torch" else y.numpy()))

    leaves = [t for t in leaves if t.requires_grad]

    def step():
        for t in leaves:  # a fresh gradient each call, as after zero_grad(set_to_none=True)
            t.grad = None
        op().backward(grad)

    return step


def time_kernel(layer, shape, batch: int, train: bool, sides) -> dict:
    calls, rounds = ROUNDS[batch]
    fns = {side: _kernel(side, layer, shape, batch, train) for side in sides}
    for fn in fns.values():
        fn()
    out = {side: [] for side in sides}
    for _ in range(rounds):
        for side, fn in fns.items():
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            out[side].append(statistics.median(times))
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_conv", description=__doc__)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", default=",".join(map(str, BATCHES)))
    args = p.parse_args(argv)
    with_torch = system.torch_available()
    note = system.set_threads(args.threads, with_torch)
    if note:
        print(note)
    sides = ("nerve", "torch") if with_torch else ("nerve",)
    print(f"threads: {args.threads}; load average: {os.getloadavg()}; us per call, medians")
    print("| kernel | batch | " + " | ".join(sides) + (" | nerve/torch |" if with_torch else " |"))
    print("|---" * (len(sides) + 2 + with_torch) + "|")
    for batch in (int(b) for b in args.batches.split(",")):
        for name, shape, layer in LAYERS:
            for train in (False, True):
                med = time_kernel(layer, shape, batch, train, sides)
                label = f"{name} {'fwd+bwd' if train else 'fwd'}"
                cells = [f"{1e6 * statistics.median(v):.1f}" for v in med.values()]
                if with_torch:
                    r = [a / b for a, b in zip(med["nerve"], med["torch"], strict=True)]
                    cells.append(f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f})")
                print(f"| {label} | {batch} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
