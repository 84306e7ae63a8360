"""Does splitting memory-bound NumPy work over 2 threads pay, after a GEMM, as in a training step?

``python benchmarks/bench_threads.py [--sizes 16384,65536,...] [--reps N] [--spins 28,18,4]``

For each op and array size it times, in interleaved rounds (medians, in microseconds):
- ``1t``: the op on the calling thread alone;
- ``2t@S``: the op split over 2 threads by ``nerve.primitives.threads`` with OpenBLAS's idle
  spin set to 2**S cycles (28 is OpenBLAS's default, ~0.1 s),
each right after a 128x784 @ 784x256 GEMM on 2 BLAS threads (the MLP's first layer), so that
OpenBLAS's idle threads are as they are in a step. It also times a GEMM-only sequence (the MLP's
forward and backward matmuls) at each spin, to show what a short spin costs the GEMMs.

Timings on a shared machine mean little: look at ``uptime`` first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from nerve.nn.functional.pooling import _max_grad_rows, _max_rows
from nerve.primitives import threads
from nerve.primitives.activation import _relu_into, sigmoid_out


def _adam_block(p, g, m, v, work):
    # the arithmetic of nerve.optim.Adam._update (step 3, default hyperparameters)
    np.subtract(g, m, out=work)
    work *= 0.1
    m += work
    np.multiply(g, g, out=work)
    work *= 0.001
    v *= 0.999
    v += work
    np.sqrt(v, out=work)
    work /= 0.0547
    work += 1e-8
    np.divide(m, work, out=work)
    work *= 0.00369
    p -= work


def _relu_bwd(g, out, dx):
    np.greater(out, 0, out=dx)  # bool -> float32 through the ufunc's casting
    dx *= g


OPS = {
    # name: (number of input arrays, kernel over flat blocks: inputs..., output)
    "relu": (1, lambda x, o: _relu_into(x, o)),
    "relu_bwd": (2, _relu_bwd),
    "tanh": (1, lambda x, o: np.tanh(x, out=o)),
    "sigmoid": (1, lambda x, o: sigmoid_out(x, o)),
    "add": (2, lambda a, b, o: np.add(a, b, out=o)),
    "adam": (4, lambda p, g, m, v, o: _adam_block(p, g, m, v, o)),
}

_POOL = ((2, 2), (2, 2), (1, 1), (13, 13))  # the CNN's first MaxPool2d(2) over 26x26 maps
POOL_OPS = {
    # (N, 32, 26, 26) input, (N, 32, 13, 13) output; sizes count the input's elements
    "maxpool": lambda x, best, idx, wins: _max_rows(x, best, idx, wins, *_POOL),
    "maxpool_bwd": lambda g, idx, dx: _max_grad_rows(g, idx, dx, *_POOL, overlap=False),
}


def _pool_arrays(name, size, rng):
    n = max(2, size // (32 * 26 * 26))
    x = rng.standard_normal((n, 32, 26, 26), dtype=np.float32)
    out = (n, 32, 13, 13)
    idx = rng.integers(0, 4, out).astype(np.int8)
    if name == "maxpool":
        return (x, np.empty(out, np.float32), idx, np.empty(out, bool))
    return (rng.standard_normal(out, dtype=np.float32), idx, np.zeros_like(x))


def _col2im_block(out, dcols):
    # nerve.nn.functional.conv_kernels._col2im's adds, into the caller's (C, Hp, Wp, N) rows
    for i in range(3):
        for j in range(3):
            out[:, i : i + 11, j : j + 11] += dcols[:, i, j]


CONV_OPS = {
    # the CNN's second conv (32 channels, 13x13 -> 11x11, 3x3) in nerve's (C, H, W, N) layout,
    # split over the channels; sizes count the columns' elements (32*9*11*11 per sample)
    "im2col": lambda cols, win: np.copyto(cols, win),
    "col2im": _col2im_block,
}


def _conv_arrays(name, size, rng):
    n = max(2, size // (32 * 9 * 11 * 11))
    xp = rng.standard_normal((32, 13, 13, n), dtype=np.float32)
    sc, sy, sx, sn = xp.strides
    win = np.lib.stride_tricks.as_strided(xp, (32, 3, 3, 11, 11, n), (sc, sy, sx, sy, sx, sn))
    if name == "im2col":
        return (np.empty(win.shape, np.float32), win)
    return (np.zeros_like(xp), rng.standard_normal(win.shape, dtype=np.float32))


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e6


def measure_ops(sizes, reps, spins, ops):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((128, 784), dtype=np.float32)
    w = rng.standard_normal((784, 256), dtype=np.float32)
    rows = []
    for name in ops:
        for size in sizes:
            if name in POOL_OPS:
                kernel = POOL_OPS[name]
                flat = _pool_arrays(name, size, rng)
                size = flat[0].size if name == "maxpool" else flat[2].size
            elif name in CONV_OPS:
                kernel = CONV_OPS[name]
                flat = _conv_arrays(name, size, rng)
                size = flat[0].size if name == "im2col" else flat[1].size
            else:
                n_in, kernel = OPS[name]
                arrays = [rng.standard_normal(size, dtype=np.float32) for _ in range(n_in)]
                if name == "adam":
                    arrays[3] = np.abs(arrays[3])
                flat = (*arrays, np.empty(size, np.float32))
            modes = ["1t"] + [f"2t@{s}" for s in spins]
            times = {m: [] for m in modes}
            for _ in range(reps):
                for mode in modes:
                    if mode == "1t":
                        threads.set_num_threads(1)
                        threads.set_blas_spin(None)
                    else:
                        threads.set_num_threads(2)
                        threads.set_blas_spin(int(mode[3:]))
                    a @ w  # BLAS's threads as a step leaves them
                    t0 = time.perf_counter()
                    if mode == "1t":
                        kernel(*flat)
                    else:
                        threads.parallel_rows(kernel, flat, 0)
                    times[mode].append((time.perf_counter() - t0) * 1e6)
            med = {m: statistics.median(v) for m, v in times.items()}
            rows.append((name, size, med))
            cells = "  ".join(f"{m} {med[m]:8.1f}" for m in modes)
            best = min(modes, key=med.get)
            print(f"{name:9s} {size:9d}  {cells}   best {best}", flush=True)
    threads.set_num_threads(1)
    return rows


def measure_gemms(reps, spins):
    """The MLP step's six GEMMs at batch 128 with a small elementwise op between them."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 784), dtype=np.float32)
    ws = [rng.standard_normal(s, dtype=np.float32) for s in ((784, 256), (256, 128), (128, 10))]

    def seq():
        h = x
        acts = []
        for w in ws:
            acts.append(h)
            h = np.maximum(h @ w, 0)
        g = h
        for w, a in zip(reversed(ws), reversed(acts), strict=True):
            a.T @ g
            g = g @ w.T
            g = g * (g > 0)

    modes = [None, *spins]
    times = {m: [] for m in modes}
    for _ in range(reps):
        for m in modes:
            threads.set_blas_spin(m)
            seq()
            times[m].append(_time(seq))
    threads.set_blas_spin(None)
    for m in modes:
        label = "default" if m is None else f"spin 2**{m}"
        print(f"MLP GEMM sequence, {label:12s}: {statistics.median(times[m]):8.1f} us", flush=True)


# The settings --steps compares: (split threads, OpenBLAS spin exponent, None = OpenBLAS's
# default, "auto" = as nerve leaves it: default until the first op that splits).
STEP_MODES = {"off": (1, None), "off@18": (1, 18), "on": (2, "auto"), "on@20": (2, 20)}


def _step_mode(mode: str, n: int) -> None:
    split, spin = STEP_MODES[mode]
    threads.set_num_threads(1)  # forgets the spin a split set
    threads.set_blas_spin(None if spin == "auto" else spin)
    threads.set_num_threads(n if split > 1 else 1)


def measure_steps(names, blocks, steps_per_block, n):
    """Training steps of benchmarks/workloads.py at ``n`` BLAS threads: nerve with the split
    path off or on, with OpenBLAS's spin as STEP_MODES says, and torch,
    in interleaved blocks whose first 2 steps (after a switch) are not timed; median ms."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import torch

    import nerve
    from benchmarks import data as data_module
    from benchmarks import workloads

    nerve.set_num_threads(n)
    torch.set_num_threads(n)
    data = data_module.load(workloads.BATCH * workloads.TRAIN_BATCHES, workloads.TEST_IMAGES)
    for name in names:
        w = workloads.BY_NAME[name]
        sides = {mode: w.build("nerve", data) for mode in STEP_MODES}
        sides["torch"] = w.build("torch", data)
        times = {k: [] for k in sides}
        calls = 0
        for _ in range(blocks):
            for k, step in sides.items():
                if k in STEP_MODES:
                    _step_mode(k, n)
                for i in range(steps_per_block + 2):
                    calls += 1
                    t0 = time.perf_counter()
                    step(calls)
                    if i >= 2:
                        times[k].append((time.perf_counter() - t0) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        cells = ", ".join(f"{k} {med[k]:6.2f} ms ({med[k] / med['torch']:.2f})" for k in STEP_MODES)
        print(f"{name:12s} {n} threads: torch {med['torch']:6.2f} ms; nerve {cells}", flush=True)
    threads.set_num_threads(1)
    threads.set_blas_spin(None)


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench_threads", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="16384,65536,262144,1048576,4194304")
    p.add_argument("--reps", type=int, default=41)
    p.add_argument("--spins", default="28,18,4")
    p.add_argument("--ops", default=",".join([*OPS, *POOL_OPS, *CONV_OPS]))
    p.add_argument("--steps", default="", help="also time training steps: mlp,cnn,lstm,...")
    p.add_argument("--blocks", type=int, default=10, help="interleaved blocks per workload")
    p.add_argument("--threads", type=int, default=2, help="BLAS and split threads for --steps")
    args = p.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    if args.steps:
        measure_steps(args.steps.split(","), args.blocks, 6, args.threads)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    spins = [int(s) for s in args.spins.split(",")]
    measure_ops(sizes, args.reps, spins, args.ops.split(","))
    measure_gemms(args.reps, spins)


if __name__ == "__main__":
    main()
