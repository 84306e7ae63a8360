"""Peak memory of one workload on one side, measured in a fresh subprocess.

tracemalloc cannot see what BLAS or torch's allocator take, so this reads the kernel's resident
set size (RSS). Each (workload, side) runs in its own process: the framework is imported and the
data loaded; then, twice, the resident size is read (baseline), the kernel's high-water mark is
reset (/proc/self/clear_refs), a fresh model and optimizer are built and a few steps run, and the
high-water mark minus the baseline is recorded. The first (cold) round also counts what the
framework loads lazily on first use (code pages, thread pools: about 80 MiB for torch); the
second (warm, after the first is freed and malloc_trim) is the memory the model, optimizer state,
activations, gradients and allocator caches held at once. The ratio uses the warm round.

Run as ``python -m benchmarks.memory WORKLOAD SIDE [--steps N] [--threads N]``; it prints one
JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import resource
import subprocess
import sys


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _trim() -> None:
    """Give freed heap memory back to the kernel (glibc), so the next baseline is honest."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(workload: str, side: str, steps: int, threads: int, data_dir: str | None) -> dict:
    """Build ``workload`` for ``side`` and run ``steps`` calls; see the module docstring."""
    from benchmarks import data as data_module
    from benchmarks import system, workloads

    w = workloads.BY_NAME[workload]
    fw = "nerve" if side in ("fit", "manual") else side
    system.set_threads(threads, with_torch=fw == "torch")
    workloads.framework(fw)
    data = data_module.load(
        workloads.BATCH * workloads.TRAIN_BATCHES, workloads.TEST_IMAGES, data_dir
    )
    rounds = []
    for _ in range(2):
        gc.collect()
        _trim()
        baseline = _status_kib("VmRSS")
        reset = baseline is not None and _reset_peak()
        if not reset:  # the high-water mark so far stands; a smaller peak later is not seen
            baseline = _max_rss_kib()
        step = w.build(side, data)
        for i in range(steps):
            step(i)
        peak = _status_kib("VmHWM") if reset else _max_rss_kib()
        rounds.append((baseline, peak))
        del step
    (cold_base, cold_peak), (base, peak) = rounds
    return {
        "workload": workload,
        "side": side,
        "steps": steps,
        "baseline_mib": base / 1024,
        "peak_mib": peak / 1024,
        "added_mib": (peak - base) / 1024,
        "cold_added_mib": (cold_peak - cold_base) / 1024,
        "method": "VmHWM after clear_refs minus VmRSS" if reset else "ru_maxrss delta",
    }


def run_child(
    workload: str, side: str, steps: int, threads: int, data_dir: str | None, timeout: float = 300
) -> dict:
    """``measure`` in a fresh interpreter; an ``error`` entry instead when it fails."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "benchmarks.memory", workload, side]
    cmd += ["--steps", str(steps), "--threads", str(threads)]
    if data_dir is not None:
        cmd += ["--data-dir", data_dir]
    try:
        done = subprocess.run(
            cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"workload": workload, "side": side, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0 or not done.stdout.strip():
        return {"workload": workload, "side": side, "error": done.stderr.strip()[-1000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from benchmarks import workloads

    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    p.add_argument("workload", choices=sorted(workloads.BY_NAME))
    p.add_argument("side", choices=["nerve", "torch", "fit", "manual"])
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    from benchmarks import data as data_module

    data_dir = data_module.DEFAULT_DIR if args.data_dir is None else args.data_dir
    result = measure(args.workload, args.side, args.steps, args.threads, data_dir)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
