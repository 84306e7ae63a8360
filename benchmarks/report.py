"""Statistics over the timed blocks, and the results written as Markdown and JSON (atomically)."""

from __future__ import annotations

import json
import math
import os
import statistics

from nerve.files import atomic_write_bytes


def summarize(blocks: list[list[float]]) -> dict:
    """Median per-step time over every timed step, and the spread of the blocks' medians.

    >>> s = summarize([[1.0, 3.0], [2.0, 2.0], [10.0, 10.0]])
    >>> s["median_s"], s["block_min_s"], s["block_max_s"]
    (2.5, 2.0, 10.0)
    """
    if not blocks or not all(blocks):
        raise ValueError("summarize: every block needs at least one timed step")
    steps = [t for b in blocks for t in b]
    medians = [statistics.median(b) for b in blocks]
    q = statistics.quantiles(steps, n=4, method="inclusive") if len(steps) > 1 else steps * 3
    return {
        "median_s": statistics.median(steps),
        "steps": len(steps),
        "block_medians_s": medians,
        "block_min_s": min(medians),
        "block_max_s": max(medians),
        "iqr_s": [q[0], q[2]],
    }


def compare(ours: dict, ref: dict) -> dict:
    """nerve/torch: the ratio of the medians, and its range over the interleaved block pairs.

    >>> r = compare(summarize([[2.0], [4.0]]), summarize([[1.0], [4.0]]))
    >>> r["ratio"], r["pair_min"], r["pair_max"]
    (1.2, 1.0, 2.0)
    """
    pairs = [a / b for a, b in zip(ours["block_medians_s"], ref["block_medians_s"])]
    return {
        "ratio": ours["median_s"] / ref["median_s"],
        "pair_ratios": pairs,
        "pair_min": min(pairs),
        "pair_max": max(pairs),
    }


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) atomically with nerve's own writer, creating the directory."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, text.encode("utf-8"))


def _clean(value):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_json(results: dict) -> str:
    return json.dumps(_clean(results), indent=2, sort_keys=False) + "\n"


# ----------------------------------------------------------------------------- Markdown
def _ms(seconds) -> str:
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def _spread(s: dict | None) -> str:
    return "n/a" if s is None else f"{_ms(s['block_min_s'])}–{_ms(s['block_max_s'])}"


def _verdict(value, target: float) -> str:
    if value is None:
        return "n/a"
    return "yes" if value <= target else "**no**"


def _mib(entry: dict, key: str) -> str:
    if not entry:
        return "n/a"
    return "error" if "error" in entry else f"{entry[key]:.1f}"


def _loss(value) -> str:
    return "" if value is None else f"{value:.3f}"


def markdown(results: dict) -> str:
    """The results as a Markdown report: setup, timings, memory, imports and sizes, FLOP rate."""
    meta = results["meta"]
    lines = [
        f"# nerve vs PyTorch ({meta['mode']} run, {meta['date']})",
        "",
        f"- machine: {meta['machine']['cpu']}, {meta['machine']['cpu_count']} CPUs; "
        f"Python {meta['machine']['python']}, NumPy {meta['machine']['numpy']}, "
        f"torch {meta.get('torch_version') or 'not installed / not measured'}",
        f"- threads: {meta['threads']} for NumPy's BLAS (nerve) and for torch",
        f"- load average (1, 5, 15 min) at start {meta['machine'].get('load_average')}, at end "
        f"{meta.get('load_average_end')}; run took {meta.get('seconds', 0):.0f} s",
        f"- data: {meta['data']}",
        "- method: blocks of steps alternate nerve, torch, nerve, torch ...; time = median "
        "per-step time over all timed steps; spread = min–max of the block medians; ratio "
        "range = min–max of nerve/torch over the interleaved block pairs",
    ]
    lines += [f"- note: {note}" for note in meta.get("notes", [])]
    timed = results.get("workloads", {})
    if timed:
        lines += [
            "",
            "## Time per step (ms)",
            "",
            "| workload | nerve | spread | torch | spread | nerve/torch | ratio range | target "
            "| met | final loss nerve / torch |",
            "|---|---:|---:|---:|---:|---:|---:|---:|:-:|---:|",
        ]
        for w in timed.values():
            if w["kind"] == "fit":
                continue
            n, t, c = w["sides"].get("nerve"), w["sides"].get("torch"), w.get("compare")
            ratio = None if c is None else c["ratio"]
            rng = "n/a" if c is None else f"{c['pair_min']:.2f}–{c['pair_max']:.2f}"
            loss = ""
            if w["kind"] == "train":
                loss = f"{_loss(n and n.get('last_loss'))} / {_loss(t and t.get('last_loss'))}"
            lines.append(
                f"| {w['title']} | {_ms(n and n['median_s'])} | {_spread(n)} "
                f"| {_ms(t and t['median_s'])} | {_spread(t)} "
                f"| {'n/a' if ratio is None else f'{ratio:.2f}'} | {rng} | <= {w['target']:g} "
                f"| {_verdict(ratio, w['target'])} | {loss} |"
            )
        fit = timed.get("fit")
        if fit:
            f, m, c = fit["sides"]["fit"], fit["sides"]["manual"], fit["compare"]
            lines += [
                "",
                f"## {fit['title']}: ms per training step",
                "",
                "| fit | spread | manual loop | spread | fit/manual | ratio range | target | met |",
                "|---:|---:|---:|---:|---:|---:|---:|:-:|",
                f"| {_ms(f['median_s'])} | {_spread(f)} | {_ms(m['median_s'])} | {_spread(m)} "
                f"| {c['ratio']:.3f} | {c['pair_min']:.3f}–{c['pair_max']:.3f} "
                f"| <= {fit['target']:g} | {_verdict(c['ratio'], fit['target'])} |",
            ]
    memory = results.get("memory", {})
    if memory:
        lines += [
            "",
            "## Peak memory added by the workload (MiB)",
            "",
            f"{results['meta']['memory_method']}",
            "",
            "| workload | nerve | torch | nerve/torch | target | met | cold: nerve | torch |",
            "|---|---:|---:|---:|---:|:-:|---:|---:|",
        ]
        for name, m in memory.items():
            n, t = m.get("nerve", {}), m.get("torch", {})
            nv, tv = n.get("added_mib"), t.get("added_mib")
            ratio = nv / tv if nv is not None and tv else None
            # The memory target is for training; inference rows are shown for reference.
            training = timed.get(name, {}).get("kind", "train") == "train"
            target, met = ("<= 1.5", _verdict(ratio, 1.5)) if training else ("(none)", "")
            lines.append(
                f"| {timed.get(name, {}).get('title', name)} | {_mib(n, 'added_mib')} "
                f"| {_mib(t, 'added_mib')} | {'n/a' if ratio is None else f'{ratio:.2f}'} "
                f"| {target} | {met} | {_mib(n, 'cold_added_mib')} "
                f"| {_mib(t, 'cold_added_mib')} |"
            )
    imports = results.get("imports")
    if imports:
        lines += [
            "",
            f"## Import time (fresh interpreter, median of {imports['reps']}) and installed size",
            "",
            "| what | import (ms) | ratio to torch | target | met | installed (MiB) |",
            "|---|---:|---:|---:|:-:|---:|",
        ]
        sizes = imports.get("sizes", {})
        torch_s = imports["median_s"].get("torch")
        for name, s in imports["median_s"].items():
            ratio = s / torch_s if torch_s and name != "torch" else None
            size = sizes.get(name.split("+")[0], {}).get("mib") if "+" not in name else None
            target = "<= 0.3" if name == "nerve" else ""
            met = _verdict(ratio, 0.3) if name == "nerve" else ""
            lines.append(
                f"| `{imports['statements'][name]}` | {s * 1e3:.0f} "
                f"| {'' if ratio is None else f'{ratio:.2f}'} | {target} | {met} "
                f"| {'' if size is None else f'{size:.1f}'} |"
            )
        if "numpy" in sizes:
            mib = sizes["numpy"]["mib"]
            lines.append(f"| numpy (nerve's one heavy dependency) | | | | | {mib:.1f} |")
    if results.get("tune"):
        from benchmarks.bench_tune import markdown_lines

        lines += markdown_lines(results["tune"])
    flops = results.get("flops")
    if flops:
        lines += [
            "",
            "## MLP train step: achieved FLOP rate",
            "",
            f"np.matmul {flops['gemm_n']}x{flops['gemm_n']} float32 at {meta['threads']} "
            f"thread(s): **{flops['gemm_gflops']:.1f} GFLOP/s**. The MLP step counts "
            f"{flops['mlp_step_flops'] / 1e6:.0f} MFLOP (forward matmuls x3).",
            "",
            "| side | GFLOP/s | share of GEMM rate |",
            "|---|---:|---:|",
        ]
        for side, g in flops["mlp_gflops"].items():
            lines.append(f"| {side} | {g:.2f} | {g / flops['gemm_gflops']:.0%} |")
    return "\n".join(lines) + "\n"
