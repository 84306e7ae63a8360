"""``python -m benchmarks``: time nerve and PyTorch side by side and write the table.

Each workload is built on both sides, warmed up, then timed in blocks that alternate nerve,
torch, nerve, torch ... so that drift in the machine's speed (large on shared machines) hits
both alike. Memory is measured afterwards, one fresh subprocess per workload and side.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import pstats
import statistics
import sys
import time

from benchmarks import bench_tune, memory, report, system, workloads
from benchmarks import data as data_module

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
EXTRA = ("tune", "import")  # selectable names that are not timed workloads
MEMORY_KINDS = ("train", "infer")


def select(only: list[str] | None) -> list[str]:
    """Workload names chosen by ``--only`` (exact names or prefixes, e.g. 'infer'); all if none.

    >>> select(["infer_mlp", "import"])
    ['infer_mlp_b1', 'infer_mlp_b1024', 'import']
    """
    names = [w.name for w in workloads.WORKLOADS] + list(EXTRA)
    if not only:
        return names
    wanted = [part.strip() for item in only for part in item.split(",") if part.strip()]
    chosen = []
    for want in wanted:
        hits = [n for n in names if n == want] or [n for n in names if n.startswith(want)]
        if not hits:
            raise SystemExit(
                f"python -m benchmarks: --only {want!r} names no workload; choose from "
                f"{', '.join(names)}"
            )
        chosen += [h for h in hits if h not in chosen]
    return [n for n in names if n in chosen]


def time_workload(w: workloads.Workload, sides: tuple, plan: workloads.Plan, data) -> dict:
    """Warm up each side, then ``plan.blocks`` rounds of ``plan.steps`` timed calls per side."""
    steps = {side: w.build(side, data) for side in sides}
    calls = dict.fromkeys(sides, 0)
    first_loss = {}
    for side in sides:
        for _ in range(plan.warmup):
            loss = steps[side](calls[side])
            first_loss.setdefault(side, loss)
            calls[side] += 1
    blocks = {side: [] for side in sides}
    last_losses = {side: [] for side in sides}
    for _ in range(plan.blocks):
        for side in sides:
            times, losses = [], []
            for _ in range(plan.steps):
                t0 = time.perf_counter()
                loss = steps[side](calls[side])
                times.append((time.perf_counter() - t0) / w.per_call)
                first_loss.setdefault(side, loss)
                losses.append(loss)
                calls[side] += 1
            blocks[side].append(times)
            last_losses[side] = losses
    del steps
    gc.collect()
    out = {}
    for side in sides:
        s = report.summarize(blocks[side])
        s["first_loss"] = first_loss.get(side)
        finite = [v for v in last_losses[side] if v is not None]
        s["last_loss"] = statistics.mean(finite) if finite else None
        s["block_times_s"] = blocks[side]
        out[side] = s
    return out


def profile_workload(w: workloads.Workload, side: str, steps: int, data, path: str) -> None:
    """cProfile of ``steps`` calls (after one warm-up), top 15 functions by own time."""
    step = w.build(side, data)
    step(0)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(1, steps + 1):
        step(i)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
    report.write_atomic(path, f"# {w.title}: {side}, {steps} calls\n{buf.getvalue()}")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Time nerve and PyTorch side by side."
    )
    p.add_argument("--quick", action="store_true", help="a few steps per workload (for CI)")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="workload names or prefixes, comma-separated or repeated: "
        + ", ".join([w.name for w in workloads.WORKLOADS] + list(EXTRA)),
    )
    p.add_argument("--out", default=DEFAULT_OUT, help="directory for benchmarks.md/.json")
    p.add_argument("--threads", type=int, default=None, help="default: NumPy's BLAS threads")
    p.add_argument("--no-torch", action="store_true", help="time nerve alone")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--data-dir", default=data_module.DEFAULT_DIR)
    p.add_argument(
        "--profile", action="store_true", help="also write a cProfile of each nerve workload"
    )
    args = p.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv=None) -> dict:
    """Run the benchmark; returns the results also written to ``--out``."""
    args = parse_args(argv)
    names = select(args.only)
    started = time.perf_counter()
    notes = []
    with_torch = not args.no_torch and system.torch_available()
    if not with_torch:
        notes.append(
            "PyTorch was not measured ("
            + ("--no-torch" if args.no_torch else "torch is not installed")
            + "): nerve alone, no ratios"
        )
    threads = args.threads or system.blas_threads()
    note = system.set_threads(threads, with_torch)
    if note:
        notes.append(note)
    torch_version = None
    if with_torch:
        import torch

        torch_version = torch.__version__
    data = data_module.load(
        workloads.BATCH * workloads.TRAIN_BATCHES, workloads.TEST_IMAGES, args.data_dir
    )
    if data.source.startswith("random"):
        notes.append("Fashion-MNIST not found: random images and labels (timings unaffected)")
    if args.quick:
        notes.append("quick run: a few steps per workload, a smoke test, not a measurement")
    notes.append(
        "the machine may be shared and its speed drifts: read ratios with their ranges, and "
        "compare runs only on the same machine"
    )
    results = {
        "meta": {
            "mode": "quick" if args.quick else "full",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": system.machine(),
            "torch_version": torch_version,
            "threads": threads,
            "data": data.source,
            "batch": workloads.BATCH,
            "notes": notes,
            "memory_method": memory.__doc__.split("\n\n")[1].replace("\n", " "),
        },
        "workloads": {},
    }

    def log(msg):
        print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    for w in workloads.WORKLOADS:
        if w.name not in names:
            continue
        plan = w.quick if args.quick else w.full
        sides = w.sides(with_torch)
        log(f"{w.name}: {plan.blocks} blocks x {plan.steps} calls on {', '.join(sides)}")
        timed = time_workload(w, sides, plan, data)
        entry = {"title": w.title, "kind": w.kind, "target": w.target, "plan": vars(plan)}
        entry["sides"] = timed
        if len(sides) == 2:
            entry["compare"] = report.compare(timed[sides[0]], timed[sides[1]])
        results["workloads"][w.name] = entry
        if args.profile:
            side = sides[0]  # nerve, or fit for the fit workload
            path = os.path.join(args.out, f"profile_{w.name}.txt")
            profile_workload(w, side, max(plan.steps, 2), data, path)

    if "mlp" in results["workloads"]:
        log("GEMM rate")
        gemm_n = 1024
        gflops = system.gemm_gflops(gemm_n, reps=3 if args.quick else 15)
        sides = results["workloads"]["mlp"]["sides"]
        results["flops"] = {
            "gemm_n": gemm_n,
            "gemm_gflops": gflops,
            "mlp_step_flops": workloads.MLP_TRAIN_FLOPS,
            "mlp_gflops": {
                side: workloads.MLP_TRAIN_FLOPS / s["median_s"] / 1e9 for side, s in sides.items()
            },
        }

    if "import" in names:
        reps = 1 if args.quick else 7
        log(f"import times ({reps} fresh interpreters each)")
        times = system.import_times(reps, with_torch)
        results["imports"] = {
            "reps": reps,
            "statements": dict(system.IMPORTS),
            "times_s": times,
            "median_s": {k: statistics.median(v) for k, v in times.items()},
            "sizes": system.installed_sizes(with_torch),
        }

    if "tune" in names:
        log("tune: the tuner's own cost per trial")
        results["tune"] = bench_tune.run(args.quick, args.data_dir)

    if not args.no_memory:
        mem_names = [
            w.name
            for w in workloads.WORKLOADS
            if w.name in names and w.kind in MEMORY_KINDS and (not args.quick or w.name == "mlp")
        ]
        results["memory"] = {}
        for name in mem_names:
            log(f"memory: {name}")
            steps = 1 if args.quick else 3 if workloads.BY_NAME[name].kind == "train" else 2
            results["memory"][name] = {
                side: memory.run_child(name, side, steps, threads, args.data_dir)
                for side in workloads.BY_NAME[name].sides(with_torch)
            }
        if args.quick and mem_names:
            notes.append("quick run: memory measured for the MLP only")

    results["meta"]["seconds"] = time.perf_counter() - started
    results["meta"]["load_average_end"] = system.machine()["load_average"]
    os.makedirs(args.out, exist_ok=True)
    report.write_atomic(os.path.join(args.out, "benchmarks.json"), report.to_json(results))
    text = report.markdown(results)
    report.write_atomic(os.path.join(args.out, "benchmarks.md"), text)
    log(f"done; wrote {os.path.join(args.out, 'benchmarks.md')} and benchmarks.json")
    print(text)
    return results
