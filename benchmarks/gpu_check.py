"""The GPU check of issue 19: nerve on "cuda" (CuPy) against its CPU results and against
PyTorch-CUDA on the same GPU, in one run of under 8 minutes, writing JSON.

``python benchmarks/gpu_check.py [--out DIR] [--strict] [--only ops,epoch,bench]``

1. ops: the op_db suite on the device against the CPU (tests/test_strict_device.py with
   NERVE_DEVICE_BACKEND=cupy), each test's outcome recorded as it finishes (``ops.json``);
2. epoch: one epoch of the Fashion-MNIST CNN (benchmarks/workloads.py's) trained on "cuda" with
   nerve's PyTorch door, then test accuracy; the same epoch on PyTorch-CUDA (``epoch.json``);
3. bench: the benchmark's training and inference workloads, nerve-cuda and torch-cuda
   interleaved, each step ending in a device synchronize; medians (``bench.json``).

Without a GPU it stops at once with exit status 2 and says what is missing (CuPy, a device,
torch's CUDA build). ``--strict`` dry-runs the same logic on the strict test backend
(nerve.strict on the CPU, torch on the CPU, tiny sizes): its numbers are NOT GPU numbers and its
JSON says so; it exists so that this script is tested code before it meets the GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, ROOT)

import nerve  # noqa: E402
from benchmarks import data as bench_data  # noqa: E402
from benchmarks import workloads  # noqa: E402

SECTIONS = ("ops", "epoch", "bench")
# Seconds each section may take on the GPU (the whole run stays under 8 minutes).
LIMITS = {"ops": 200, "epoch": 120, "bench": 120}


class MissingError(RuntimeError):
    """What the GPU check needs and this machine lacks."""


# ---------------------------------------------------------------------------- the device
def _gpu_backend() -> str:
    """torch's device on the GPU ("cuda"), or MissingError naming what is absent."""
    try:
        import cupy
    except ImportError as exc:
        raise MissingError(f"CuPy is not importable ({exc}); pip install cupy-cuda13x") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy's own CUDA errors: no driver, no device
        raise MissingError(f"CuPy sees no CUDA device ({type(exc).__name__}: {exc})") from None
    if count < 1 or not nerve.cuda.is_available():
        raise MissingError("CuPy sees no CUDA device (nerve.cuda.is_available() is False)")
    import torch

    if not torch.cuda.is_available():
        raise MissingError("torch has no CUDA device (a CPU build of torch?)")
    return "cuda"


def _sync(torch_side: bool) -> None:
    if torch_side:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
    elif nerve.cuda.is_available():
        nerve.cuda.synchronize()


def environment(strict: bool) -> dict:
    info = {
        "backend": "strict (CPU stand-in: NOT GPU numbers)" if strict else "cupy",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "nerve": nerve.__version__,
        "machine": platform.node(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        info["torch"] = None
    if not strict:
        import cupy

        info["cupy"] = cupy.__version__
        info["device"] = nerve.cuda.get_device_name(0)
        info["device_count"] = nerve.cuda.device_count()
    return info


# ---------------------------------------------------------------------------- 1. ops
class _Recorder:
    """A pytest plugin writing each test's outcome to a JSON-lines file as it finishes, so a
    run stopped by its time limit still leaves what it did."""

    def __init__(self, path: str):
        self.file = open(path, "w")  # noqa: SIM115 - closed at the session's end

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            line = {"id": report.nodeid.split("::")[-1], "when": report.when, "outcome": outcome}
            if report.outcome == "failed" and not hasattr(report, "wasxfail"):
                line["error"] = str(report.longrepr).splitlines()[-1][:400]
            self.file.write(json.dumps(line) + "\n")
            self.file.flush()

    def pytest_sessionfinish(self):
        self.file.close()


def ops_worker(path: str, strict: bool, quick: bool) -> int:
    """Run the op_db device suite in this process (``--ops-worker``), recording outcomes."""
    import pytest

    os.environ["NERVE_DEVICE_BACKEND"] = "strict" if strict else "cupy"
    args = [os.path.join(ROOT, "tests", "test_strict_device.py"), "-q", "-p", "no:cacheprovider"]
    args += ["-W", "ignore", "--rootdir", ROOT]
    if quick:
        args += ["-k", "add or matmul or conv2d or cross_entropy"]
    return pytest.main(args, plugins=[_Recorder(path)])


def run_ops(out: str, strict: bool, quick: bool) -> dict:
    path = os.path.join(out, "ops.jsonl")
    command = [sys.executable, os.path.abspath(__file__), "--ops-worker", path]
    command += ["--strict"] if strict else []
    command += ["--quick"] if quick else []
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, timeout=LIMITS["ops"], capture_output=True, text=True)
        status, tail = proc.returncode, (proc.stdout + proc.stderr)[-2000:]
    except subprocess.TimeoutExpired as exc:
        status, tail = "timeout", str(exc)[-500:]
    lines = []
    if os.path.exists(path):
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    counts: dict = {}
    for line in lines:
        counts[line["outcome"]] = counts.get(line["outcome"], 0) + 1
    return {
        "exit_status": status,
        "seconds": round(time.perf_counter() - start, 1),
        "counts": counts,
        "failures": [line for line in lines if line["outcome"] == "failed"][:200],
        "pytest_tail": tail if status not in (0, "0") else "",
    }


# ---------------------------------------------------------------------------- 2. epoch
def _epoch(side: str, dev: str, data, n_train: int) -> dict:
    fw = workloads.framework(side)
    fw.mod.manual_seed(0)
    model = workloads.cnn(fw.nn).to(dev)
    opt = fw.optim.Adam(model.parameters(), lr=workloads.LR)
    loss_fn = fw.nn.CrossEntropyLoss()
    x = data.train_x[:n_train].reshape(-1, 1, 28, 28)
    y = data.train_y[:n_train]
    batch = workloads.BATCH
    _sync(side == "torch")
    start = time.perf_counter()
    model.train()
    loss = None
    for k in range(0, len(x), batch):
        xb = fw.tensor(np.ascontiguousarray(x[k : k + batch])).to(dev, non_blocking=True)
        yb = fw.tensor(np.ascontiguousarray(y[k : k + batch])).to(dev, non_blocking=True)
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    last_loss = float(loss.item())
    _sync(side == "torch")
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    test_x = data.test_x.reshape(-1, 1, 28, 28)
    test_y = data.test_y
    with fw.no_grad():
        for k in range(0, len(test_x), 1000):
            xb = fw.tensor(np.ascontiguousarray(test_x[k : k + 1000])).to(dev)
            pred = model(xb).argmax(1).cpu().numpy()
            correct += int((pred == test_y[k : k + 1000]).sum())
    return {
        "seconds": round(seconds, 3),
        "images": len(x),
        "last_loss": round(last_loss, 4),
        "test_accuracy": round(correct / len(test_x), 4),
    }


def run_epoch(dev: str, torch_dev: str, n_train: int, n_test: int) -> dict:
    data = _labelled(n_train, n_test)
    result = {"data": data.source, "nerve": _epoch("nerve", dev, data, n_train)}
    result["torch"] = _epoch("torch", torch_dev, data, n_train)
    result["torch_device"] = torch_dev
    return result


def _labelled(n_train: int, n_test: int):
    """The benchmark's data plus test labels (read here; benchmarks.data keeps none)."""
    data = bench_data.load(n_train, n_test)
    labels = os.path.join(bench_data.DEFAULT_DIR, bench_data.TEST_LABELS)
    if os.path.isfile(labels) and data.source.startswith("Fashion-MNIST"):
        data.test_y = bench_data.read_idx(labels, n_test).astype(np.int64)
    else:
        data.test_y = np.random.default_rng(1).integers(0, 10, n_test)
    return data


# ---------------------------------------------------------------------------- 3. bench
def _cnn_bn(nn):
    return workloads.cnn(nn, batch_norm=True)


# The benchmark's workloads (benchmarks/workloads.py's models), as (model, input shape, batch,
# train or infer): the models come from there; the steps here put model and batches on a device.
BENCH = {
    "mlp": (workloads.mlp, (784,), workloads.BATCH, "train"),
    "cnn": (workloads.cnn, (1, 28, 28), workloads.BATCH, "train"),
    "cnn_bn": (
        lambda nn: workloads.cnn(nn, batch_norm=True),
        (1, 28, 28),
        workloads.BATCH,
        "train",
    ),
    "lstm": (workloads.lstm, (28, 28), workloads.BATCH, "train"),
    "transformer": (workloads.transformer, (28, 28), workloads.BATCH, "train"),
    "infer_mlp_b1024": (workloads.mlp, (784,), 1024, "infer"),
    "infer_cnn_b1024": (workloads.cnn, (1, 28, 28), 1024, "infer"),
}


def _device_step(name: str, side: str, dev: str, data):
    """One training step (forward, cross-entropy, backward, Adam) or one inference call of
    workload ``name`` for ``side``, with its model and its batches on ``dev``."""
    model_fn, shape, batch, kind = BENCH[name]
    fw = workloads.framework(side)
    fw.mod.manual_seed(0)
    model = model_fn(fw.nn).to(dev)
    if kind == "infer":
        model.eval()
        count = max(1, len(data.test_x) // batch)
        xs = data.test_x[: count * batch].reshape(count, batch, *shape)
        inputs = [fw.tensor(np.ascontiguousarray(x)).to(dev) for x in xs]

        def infer(i: int) -> None:
            with fw.no_grad():
                model(inputs[i % count])

        return infer
    model.train()
    opt = fw.optim.Adam(model.parameters(), lr=workloads.LR)
    loss_fn = fw.nn.CrossEntropyLoss()
    batches = [
        (fw.tensor(x.reshape((len(x), *shape))).to(dev), fw.tensor(y).to(dev))
        for x, y in data.batches(batch, workloads.TRAIN_BATCHES)
    ]

    def train(i: int) -> None:
        x, y = batches[i % len(batches)]
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return train


def run_bench(dev: str, torch_dev: str, steps: int, names=tuple(BENCH)) -> dict:
    data = bench_data.load(workloads.BATCH * workloads.TRAIN_BATCHES, workloads.TEST_IMAGES)
    rows = {}
    for name in names:
        sides = {"nerve": _device_step(name, "nerve", dev, data)}
        sides["torch"] = _device_step(name, "torch", torch_dev, data)
        times: dict = {"nerve": [], "torch": []}
        for side in ("nerve", "torch"):  # warm-up: CUDA kernels compile on first use
            for i in range(3):
                sides[side](i)
            _sync(side == "torch")
        for i in range(steps):
            for side in ("nerve", "torch"):  # interleaved, as benchmarks/runner.py does
                start = time.perf_counter()
                sides[side](i)
                _sync(side == "torch")
                times[side].append(time.perf_counter() - start)
        med = {s: statistics.median(t) * 1e3 for s, t in times.items()}
        rows[name] = {
            "nerve_ms": round(med["nerve"], 3),
            "torch_ms": round(med["torch"], 3),
            "nerve_over_torch": round(med["nerve"] / med["torch"], 2),
            "steps": steps,
        }
    return {"data": data.source, "rows": rows, "torch_device": torch_dev}


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT") or "benchmarks/results/gpu")
    parser.add_argument("--strict", action="store_true", help="dry run on the strict backend")
    parser.add_argument("--quick", action="store_true", help="a few ops, small epoch and bench")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--ops-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ops_worker:  # the test file itself switches the strict backend on
        return ops_worker(args.ops_worker, args.strict, args.quick)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {list(SECTIONS)}")
    os.makedirs(args.out, exist_ok=True)
    stack = contextlib.ExitStack()
    if args.strict:
        from nerve.testing import strict_cuda

        stack.enter_context(strict_cuda())
        torch_dev = "cpu"
    else:
        try:
            torch_dev = _gpu_backend()
        except MissingError as exc:
            print(f"gpu_check: cannot run on this machine: {exc}", file=sys.stderr)
            return 2
    small = args.strict or args.quick
    results = {"environment": environment(args.strict), "sections": {}}
    with stack:
        for section in only:
            start = time.perf_counter()
            print(f"gpu_check: {section} ...", flush=True)
            try:
                if section == "ops":
                    result = run_ops(args.out, args.strict, args.quick)
                elif section == "epoch":
                    n = (256, 128) if small else (60000, 10000)
                    result = run_epoch("cuda", torch_dev, *n)
                else:
                    names = ("mlp", "infer_mlp_b1024") if small else tuple(BENCH)
                    result = run_bench("cuda", torch_dev, 3 if small else 30, names)
            except Exception as exc:  # one section failing must not lose the others' results
                result = {"error": f"{type(exc).__name__}: {exc}"}
            result["section_seconds"] = round(time.perf_counter() - start, 1)
            results["sections"][section] = result
            with open(os.path.join(args.out, f"{section}.json"), "w") as f:
                json.dump(result, f, indent=2)
            print(f"gpu_check: {section}: {json.dumps(_summary(result))}", flush=True)
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(results, f, indent=2)
    failed = [s for s, r in results["sections"].items() if "error" in r]
    return 1 if failed else 0


def _summary(result: dict) -> dict:
    keep = ("counts", "seconds", "error", "nerve", "torch", "rows", "exit_status")
    return {k: v for k, v in result.items() if k in keep}


if __name__ == "__main__":
    sys.exit(main())
