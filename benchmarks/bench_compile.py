"""``python -m benchmarks.bench_compile``: eager nerve, compiled nerve (``nerve.compile``) and
PyTorch on the models of ``benchmarks/workloads.py``, timed in interleaved blocks.

Each case is built on every side, warmed up (a compiled side records its plan then), then timed
in blocks that alternate eager, compiled, torch, eager ... so that drift in the machine's speed
hits all sides alike. Printed: the median ms per call of each side, compiled/torch and
eager/torch with the range of the per-block ratios, and the issue's target. ``--threads 1``
(the default) limits NumPy's BLAS and torch to one thread each. ``--keras`` adds one epoch of
``fit`` of the keras-io MNIST convnet: nerve's Keras door with ``jit_compile=True`` against
Keras 3 on its torch backend.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from benchmarks import data as data_module
from benchmarks import system, workloads

BATCH = workloads.BATCH
IMG = (1, 28, 28)

# name, title, kind, model builder, input shape, batch, target (compiled/torch), plan
CASES = [
    ("infer_mlp_b1", "MLP inference, batch 1", "infer", workloads.mlp, (784,), 1, 0.4),
    ("infer_cnn_b1", "CNN inference, batch 1", "infer", workloads.cnn, IMG, 1, 0.4),
    ("infer_mlp_b1024", "MLP inference, batch 1024", "infer", workloads.mlp, (784,), 1024, None),
    ("infer_cnn_b1024", "CNN inference, batch 1024", "infer", workloads.cnn, IMG, 1024, 0.6),
    ("mlp", "MLP train step", "train", workloads.mlp, (784,), BATCH, 0.6),
    ("cnn", "CNN train step", "train", workloads.cnn, IMG, BATCH, 0.9),
    (
        "cnn_bn",
        "CNN + BatchNorm + Dropout train step",
        "train",
        lambda nn: workloads.cnn(nn, batch_norm=True),
        IMG,
        BATCH,
        0.9,
    ),
    ("lstm", "LSTM train step", "train", workloads.lstm, (28, 28), BATCH, 0.9),
    ("transformer", "Transformer train step", "train", workloads.transformer, (28, 28), BATCH, 0.8),
]
SIDES = ("eager", "compiled", "torch")
# (steps per block, blocks) by kind and batch size; --quick divides
PLANS = {"infer_1": (200, 15), "infer_1024": (2, 11), "train": (10, 11)}


def _plan(kind: str, batch: int, quick: bool) -> tuple[int, int]:
    key = "train" if kind == "train" else f"infer_{1 if batch == 1 else 1024}"
    steps, blocks = PLANS[key]
    return (max(1, steps // 10), 3) if quick else (steps, blocks)


def build(case: tuple, side: str, data) -> callable:
    """``step(i)``: one call of ``case`` on ``side`` ("eager", "compiled" or "torch")."""
    _, _, kind, model_fn, shape, batch, _ = case
    fw = workloads.framework("torch" if side == "torch" else "nerve")
    fw.mod.manual_seed(0)
    model = model_fn(fw.nn)
    if kind == "infer":
        model.eval()
        count = max(1, min(64, len(data.test_x) // batch))
        inputs = [
            fw.tensor(
                np.ascontiguousarray(data.test_x[k * batch : (k + 1) * batch]).reshape(
                    (batch, *shape)
                )
            )
            for k in range(count)
        ]
        if side == "compiled":
            from nerve.compiler import compile as nerve_compile

            fast = nerve_compile(model, (inputs[0],), mode="inference")

            def compiled_infer(i):
                return fast(inputs[i % count])

            compiled_infer.compiled = fast  # checked by time_case: no call may fall back
            return compiled_infer
        if side == "torch":
            import torch

            def torch_step(i):
                with torch.inference_mode():
                    model(inputs[i % count])

            return torch_step

        def eager_step(i):
            with fw.no_grad():
                model(inputs[i % count])

        return eager_step
    model.train()
    opt = fw.optim.Adam(model.parameters(), lr=workloads.LR)
    loss_fn = fw.nn.CrossEntropyLoss()
    batches = [
        (fw.tensor(x.reshape((len(x), *shape))), fw.tensor(y))
        for x, y in data.batches(batch, workloads.TRAIN_BATCHES)
    ]
    if side == "compiled":
        from nerve.compiler import compile as nerve_compile

        step = nerve_compile(model, (batches[0][0],), mode="train", loss_fn=loss_fn, optimizer=opt)

        def compiled_step(i):
            x, y = batches[i % len(batches)]
            return step(x, y).item()

        compiled_step.compiled = step
        return compiled_step

    def eager_step(i):
        x, y = batches[i % len(batches)]
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return eager_step


def time_case(case: tuple, sides: tuple, data, quick: bool) -> dict:
    """Interleaved blocks; returns per side the per-block medians (seconds per call)."""
    steps_per_block, blocks = _plan(case[2], case[5], quick)
    steps = {side: build(case, side, data) for side in sides}
    calls = dict.fromkeys(sides, 0)
    for side in sides:  # warm-up: the compiled side records its plan here
        for _ in range(3):
            steps[side](calls[side])
            calls[side] += 1
    medians = {side: [] for side in sides}
    for _ in range(blocks):
        for side in sides:
            times = []
            for _ in range(steps_per_block):
                t0 = time.perf_counter()
                steps[side](calls[side])
                times.append(time.perf_counter() - t0)
                calls[side] += 1
            medians[side].append(statistics.median(times))
    _assert_no_fallback(case, steps)
    return medians


def _assert_no_fallback(case: tuple, steps: dict) -> None:
    """A compiled side that fell back to eager would be timed as "compiled": refuse it."""
    compiled = getattr(steps.get("compiled"), "compiled", None)
    if compiled is None:
        return
    info = compiled.cache_info()
    reasons = getattr(compiled, "fallback_reasons", None)
    if reasons is None:  # a train step: its reasons are its gradients'
        reasons = compiled.gradients.fallback_reasons
    if info["fallbacks"] or not info["hits"]:
        raise RuntimeError(
            f"bench_compile: case {case[0]!r}: the compiled side did not replay its plan "
            f"({info}; reasons: {list(reasons.values())})"
        )


def _keras_convnet(keras, width: int = 32):
    """The keras-io "Simple MNIST convnet", written once for either Keras."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(width, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(2 * width, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def time_keras_fit(data, quick: bool) -> dict:
    """One epoch of fit (16 batches of 128) of the keras-io convnet: nerve jit vs Keras 3."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    from nerve import keras as nkeras

    n = workloads.FIT_BATCHES * BATCH
    x = data.train_x[:n].reshape(n, 28, 28, 1)
    y = np.eye(10, dtype=np.float32)[data.train_y[:n]]
    fits = {}
    for side, lib, jit in (
        ("nerve_jit", nkeras, True),
        ("nerve", nkeras, None),
        ("keras", keras, None),
    ):
        model = _keras_convnet(lib)
        kwargs = {"jit_compile": True} if jit else {}
        model.compile(loss="categorical_crossentropy", optimizer="adam", **kwargs)

        def epoch(model=model):
            model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

        epoch()  # warm-up (and recording)
        fits[side] = epoch
    blocks = 2 if quick else 7
    medians = {side: [] for side in fits}
    for _ in range(blocks):
        for side, epoch in fits.items():
            t0 = time.perf_counter()
            epoch()
            medians[side].append(time.perf_counter() - t0)
    return medians


def _row(title: str, medians: dict, target, ratios: tuple, ref: str) -> str:
    """A table row: each side's median ms, then side/ref for ``ratios`` (median and range of
    the per-block ratios), then the target."""
    cells = [title] + [f"{1e3 * statistics.median(v):.3f}" for v in medians.values()]
    for side in ratios:
        r = [a / b for a, b in zip(medians[side], medians[ref])]
        cells.append(f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f})")
    cells.append("" if target is None else f"<= {target}")
    return "| " + " | ".join(cells) + " |"


def select(only: str | None) -> list[str]:
    """Case names chosen by ``--only`` (comma-separated exact names, else prefixes).

    >>> select("infer_mlp_b1,lstm")
    ['infer_mlp_b1', 'lstm']
    >>> select("infer_cnn")
    ['infer_cnn_b1', 'infer_cnn_b1024']
    """
    names = [c[0] for c in CASES]
    if not only:
        return names
    chosen = []
    for want in (w.strip() for w in only.split(",") if w.strip()):
        hits = [n for n in names if n == want] or [n for n in names if n.startswith(want)]
        if not hits:
            raise SystemExit(f"bench_compile: --only {want!r} names no case; choose from {names}")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_compile", description=__doc__)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=None, help="comma-separated case names (prefixes)")
    p.add_argument("--keras", action="store_true", help="also time fit against Keras 3")
    p.add_argument("--data-dir", default=data_module.DEFAULT_DIR)
    args = p.parse_args(argv)
    with_torch = system.torch_available()
    note = system.set_threads(args.threads, with_torch)
    if note:
        print(note)
    data = data_module.load(BATCH * workloads.TRAIN_BATCHES, workloads.TEST_IMAGES, args.data_dir)
    sides = SIDES if with_torch else SIDES[:2]
    print(f"data: {data.source}; threads: {args.threads}; ms per call, medians of block medians")
    ratios = "compiled/torch | eager/torch" if with_torch else "compiled/eager"
    print("| workload | " + " | ".join(sides) + f" | {ratios} | target |")
    print("|---" * (len(sides) + 3 + with_torch) + "|")
    chosen = select(args.only)
    for case in CASES:
        if case[0] not in chosen:
            continue
        medians = time_case(case, sides, data, args.quick)
        if with_torch:
            print(_row(case[1], medians, case[6], ("compiled", "eager"), "torch"))
        else:
            print(_row(case[1], medians, case[6], ("compiled",), "eager"))
        sys.stdout.flush()
    if args.keras:
        medians = time_keras_fit(data, args.quick)
        print(
            "\n| keras-io convnet, fit epoch of 16x128 | nerve jit | nerve eager | Keras 3 | "
            "jit/Keras | eager/Keras | target |"
        )
        print(_row("fit", medians, 0.6, ("nerve_jit", "nerve"), "keras"))


if __name__ == "__main__":
    main()
