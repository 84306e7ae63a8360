"""What the Transformer train step gains from nerve's thread splits (attention, dropout masks).

``python -m benchmarks.bench_transformer_threads [--rounds 4] [--steps 30]``

The model and batch of ``benchmarks/workloads.py``'s ``transformer`` (random inputs of the same
shape: the timing does not depend on the data), Adam. Each round runs, each in a fresh process
so that no thread setting leaks into the next (OpenBLAS's spin, the pool), one block of steps
per configuration:

- ``1t``: ``nerve.set_num_threads(1)``;
- ``2t``: ``nerve.set_num_threads(2)`` with every split on;
- ``2t-none``: 2 threads, attention and dropout-mask splits off (thresholds out of reach);
- ``2t-attn``: 2 threads, only the attention split;
- ``2t-mask``: 2 threads, only the dropout-mask split.

Printed: each configuration's per-round median ms per step, then the median over rounds.
Timings on a shared machine mean little: look at ``uptime`` and the spread between rounds.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import time

import numpy as np

CONFIGS = {
    "1t": (1, True, True),
    "2t": (2, True, True),
    "2t-none": (2, False, False),
    "2t-attn": (2, True, False),
    "2t-mask": (2, False, True),
}


def _child(config: str, steps: int) -> float:
    """Median ms per train step of one configuration (run in its own process)."""
    import nerve
    from benchmarks.workloads import transformer
    from nerve import nn, optim

    n_threads, attn_split, mask_split = CONFIGS[config]
    nerve.set_num_threads(n_threads)
    attention = importlib.import_module("nerve.nn.functional.attention")
    dropout = importlib.import_module("nerve.nn.functional.dropout")
    if not attn_split:
        attention.SPLIT_MIN_SCORES = attention.SPLIT_MIN_SCORES_BACKWARD = 1 << 62
    if not mask_split:
        dropout.SPLIT_MIN_MASK = 1 << 62
    nerve.manual_seed(0)
    model = transformer(nn)
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.random((128, 28, 28), dtype=np.float32))
    y = nerve.tensor(rng.integers(0, 10, 128))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--child", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f"{_child(args.child, args.steps):.3f}")
        return
    results = {c: [] for c in CONFIGS}
    for _ in range(args.rounds):
        for config in CONFIGS:  # interleaved: drift in the machine's speed hits all alike
            cmd = [sys.executable, "-m", "benchmarks.bench_transformer_threads"]
            cmd += ["--child", config, "--steps", str(args.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            results[config].append(float(out.split()[-1]))
    print("| config | rounds (ms per step) | median |")
    print("|---|---|---|")
    for config, values in results.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {config} | {rounds} | {statistics.median(values):.1f} |")


if __name__ == "__main__":
    main()
