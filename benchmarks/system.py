"""The machine around the workloads: threads, float32 GEMM rate, import times, installed sizes."""

from __future__ import annotations

import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

IMPORTS = {
    "nerve": "import nerve",
    # nerve loads its sub-packages lazily; this is what a training script actually pulls in.
    "nerve+nn+optim+models": "import nerve, nerve.nn, nerve.optim, nerve.models",
    "torch": "import torch",
}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def blas_threads() -> int:
    """The number of threads NumPy's BLAS uses now (the CPU count without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else (os.cpu_count() or 1)


def set_threads(n: int, with_torch: bool) -> str | None:
    """The same thread count for NumPy's BLAS (through nerve) and for torch; a note when
    NumPy's BLAS cannot be limited (no threadpoolctl)."""
    import nerve

    note = None
    try:
        nerve.set_num_threads(n)
    except ImportError:
        note = f"threadpoolctl is missing: NumPy's BLAS keeps its own thread count, not {n}"
    if with_torch:
        import torch

        torch.set_num_threads(n)
    return note


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": _load_average(),
    }


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: above the CPU count, others share the machine."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def gemm_gflops(n: int = 1024, reps: int = 10) -> float:
    """The median float32 GFLOP/s of ``np.matmul`` of two n x n matrices (2 n^3 FLOPs each)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def _import_seconds(statement: str) -> float:
    """The time of ``statement`` inside a fresh interpreter (its own start-up not counted)."""
    code = (
        f"import time; t0 = time.perf_counter(); {statement}; print(repr(time.perf_counter() - t0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import timing: {statement!r} failed: {done.stderr.strip()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def import_times(reps: int, with_torch: bool) -> dict[str, list[float]]:
    """Import times in fresh subprocesses, the frameworks alternating, ``reps`` each."""
    names = [n for n in IMPORTS if with_torch or n != "torch"]
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(reps):
        for name in names:
            times[name].append(_import_seconds(IMPORTS[name]))
    return times


def _disk_usage(path: str) -> int:
    """Bytes allocated on disk under ``path`` (what ``du -s`` counts; hard links once)."""
    total, seen = 0, set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def package_dir(name: str) -> str | None:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def installed_sizes(with_torch: bool) -> dict[str, dict]:
    """Disk usage (MiB) of the nerve, numpy and torch package directories."""
    out = {}
    for name in ("nerve", "numpy") + (("torch",) if with_torch else ()):
        path = package_dir(name)
        if path is not None:
            out[name] = {"path": path, "mib": _disk_usage(path) / 2**20}
    return out
