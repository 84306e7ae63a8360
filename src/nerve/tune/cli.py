"""``nerve tune``: search a built-in MLP or CNN space on an image dataset, from the shell.

    nerve tune --model mlp|cnn --trials N --max-epochs E [--sampler tpe|random|gp]
               [--pruner hyperband|median|none] [--workers K] [--dataset fashion_mnist]
               [--limit N] [--seed S] [--output DIR]

The run folder gets the Optuna study (``study.journal``), the best model (``best.nerve``), a
table of the trials (``trials.csv``) and plots (``optimization_history.png``,
``param_importances.png``, ``parallel_coordinate.png``); the best configuration is printed.
``--workers K`` starts K processes on the one study. Registered in ``nerve.cli`` through
``add_tune_parser``; runs alone as ``python -m nerve.tune.cli``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time

import numpy as np

DATASETS = ("fashion_mnist", "mnist", "digits")
PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "param_importances.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
}


def add_tune_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``tune`` command to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "tune", help="search hyperparameters and architectures (Optuna) for a built-in model"
    )
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    p.add_argument("--trials", type=int, default=20, help="number of trials (all workers)")
    p.add_argument("--max-epochs", type=int, default=5, help="most epochs of one trial")
    p.add_argument("--sampler", default="tpe", choices=["tpe", "random", "gp"])
    p.add_argument("--pruner", default="hyperband", choices=["hyperband", "median", "none"])
    p.add_argument("--workers", type=int, default=1, help="processes searching the one study")
    p.add_argument("--dataset", default="fashion_mnist", choices=list(DATASETS))
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    p.add_argument("--validation-split", type=float, default=0.1, metavar="FRACTION")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="run folder (default runs/tune-MODEL-DATA)")
    p.add_argument("--overwrite", action="store_true", help="start afresh (default: resume)")
    p.add_argument("--worker-id", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_tune)
    return p


def _check(args) -> None:
    for name in ("trials", "max_epochs", "workers", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.limit is not None and args.limit < 10:
        raise ValueError(f"--limit must be >= 10, got {args.limit}")
    if not 0.0 < args.validation_split < 1.0:
        raise ValueError(f"--validation-split must be in (0, 1), got {args.validation_split}")


def _data(args):
    """Train and validation images (float32 NHWC in [0, 1]) and int64 labels, and the test set."""
    import importlib

    module = importlib.import_module(f"nerve.datasets.{args.dataset}")
    (x, y), (xt, yt) = module.load_data()

    def prep(images):
        images = np.asarray(images, np.float32)
        if images.ndim == 3:
            images = images[..., None]
        top = images.max() if images.size else 1.0
        return images / (255.0 if top > 16.0 else 16.0 if top > 1.0 else 1.0)

    x, xt = prep(x), prep(xt)
    y, yt = np.asarray(y, np.int64), np.asarray(yt, np.int64)
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    n_val = max(1, int(round(len(x) * args.validation_split)))
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (xt, yt)


def _sampler(name, seed):
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            raise ValueError(
                "--sampler gp needs torch and scipy (Optuna's GPSampler); use --sampler tpe"
            ) from None
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(name, max_epochs):
    import optuna

    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_epochs, reduction_factor=3
        )
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def _tuner(args, folder, shape, classes):
    import nerve.tune as kt

    if args.model == "mlp":
        space = kt.mlp_space(shape, num_classes=classes)
    else:
        space = kt.cnn_space(shape, num_classes=classes)
    seed = args.seed if args.workers == 1 else None  # several workers: no repeatable order
    return kt.RandomSearch(
        space,
        objective="val_accuracy",
        max_trials=args.trials,
        seed=seed,
        sampler=_sampler(args.sampler, seed),
        pruner=_pruner(args.pruner, args.max_epochs),
        directory=os.path.dirname(folder) or ".",
        project_name=os.path.basename(folder),
        tuner_id=args.worker_id or "tuner0",
    )


def _worker_argv(args, i) -> list:
    argv = [
        sys.executable, "-m", "nerve.tune.cli",
        "--model", args.model, "--trials", str(args.trials),
        "--max-epochs", str(args.max_epochs), "--sampler", args.sampler,
        "--pruner", args.pruner, "--dataset", args.dataset,
        "--validation-split", str(args.validation_split), "--batch-size", str(args.batch_size),
        "--seed", str(args.seed), "--output", args.output, "--workers", str(args.workers),
        "--worker-id", f"tuner{i}",
    ]  # fmt: skip
    if args.limit:
        argv += ["--limit", str(args.limit)]
    return argv


def cmd_tune(args) -> int:
    """Run the search (and its extra workers), then write the run folder's reports.

    Returns:
        0 on success; 1 when no trial finished.

    Raises:
        ValueError: a bad option value.
        ImportError: optuna is missing (the message names ``pip install 'nerve[tune]'``).
    """
    from nerve.tune._optuna import require_optuna

    require_optuna("nerve tune")
    _check(args)
    args.output = args.output or os.path.join("runs", f"tune-{args.model}-{args.dataset}")
    folder = os.path.abspath(args.output)
    worker = args.worker_id is not None
    if args.overwrite and not worker and os.path.isdir(folder):
        import shutil

        shutil.rmtree(folder)
    (x, y), (xv, yv), test = _data(args)
    shape = x.shape[1:] if args.model == "cnn" else (int(np.prod(x.shape[1:])),)
    if args.model == "mlp":
        x, xv = x.reshape(len(x), -1), xv.reshape(len(xv), -1)
    classes = int(max(y.max(), yv.max())) + 1
    tuner = _tuner(args, folder, shape, classes)
    others = []
    if not worker:
        args.output = folder
        others = [subprocess.Popen(_worker_argv(args, i)) for i in range(1, args.workers)]
    start = time.time()
    try:
        tuner.search(x, y, epochs=args.max_epochs, batch_size=args.batch_size,
                     validation_data=(xv, yv), verbose=0)  # fmt: skip
    finally:
        for i, proc in enumerate(others, 1):
            if proc.wait() != 0:
                print(f"nerve tune: worker tuner{i} exited with status {proc.returncode}",
                      file=sys.stderr)  # fmt: skip
    if worker:
        return 0
    return _report(tuner, folder, args, test, time.time() - start)


def _report(tuner, folder, args, test, seconds) -> int:
    best = tuner.oracle.get_best_trials(1)
    if not best:
        print(f"nerve tune: no trial finished; see {folder}", file=sys.stderr)
        return 1
    trial = best[0]
    model = tuner.load_model(trial)
    model.save(os.path.join(folder, "best.nerve"))
    study = tuner.oracle.study
    _write_csv(study, tuner, os.path.join(folder, "trials.csv"))
    written = _plots(study, folder)
    xt, yt = test
    if args.model == "mlp":
        xt = xt.reshape(len(xt), -1)
    test_acc = model.evaluate(xt, yt, return_dict=True, verbose=0).get("accuracy")
    counted = tuner.oracle.trials.values()
    pruned = sum(t.status == "STOPPED" for t in counted)
    print(f"{len(counted)} trials ({pruned} pruned) in {seconds:.1f}s")
    print(
        f"Best trial {trial.trial_id}: val_accuracy={trial.score:.4f}, test_accuracy={test_acc:.4f}"
    )
    for name, value in trial.hyperparameters.values.items():
        print(f"  {name}: {value}")
    print(f"Wrote {folder}: best.nerve, trials.csv, study.journal, {', '.join(written)}")
    return 0


def _write_csv(study, tuner, path) -> None:
    trials = [t for t in study.get_trials(deepcopy=False) if tuner.oracle._counts(t)]
    names = sorted({k for t in trials for k in t.user_attrs.get("result", {}).get("values", {})})
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["trial", "state", "val_accuracy", "epochs", "seconds", "worker", *names])
        for t in trials:
            result = t.user_attrs.get("result", {})
            seconds = (
                (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else ""
            )
            w.writerow([
                t.number, t.state.name, result.get("score", ""), len(t.intermediate_values),
                seconds, (t.user_attrs.get("owner") or ["", "", ""])[2],
                *(result.get("values", {}).get(n, "") for n in names),
            ])  # fmt: skip
    os.replace(tmp, path)


def _plots(study, folder) -> list:
    """Optuna's matplotlib plots as PNGs; those Optuna cannot draw (too few trials) are skipped."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as ovm

    written = []
    for filename, name in PLOTS.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks these plots experimental
                ax = getattr(ovm, name)(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            print(f"nerve tune: {filename} not drawn ({exc})", file=sys.stderr)
            continue
        fig = ax.figure if hasattr(ax, "figure") else np.ravel(ax)[0].figure
        fig.savefig(os.path.join(folder, filename), dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(filename)
    return written


def main_tune(argv=None) -> int:
    """``nerve tune`` as a program of its own: parse ``argv`` and run it.

    Returns:
        The exit status: 0, 1 (no trial finished) or 2 (a usage error, one line on stderr).
    """
    parser = argparse.ArgumentParser(prog="nerve")
    add_tune_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["tune", *(sys.argv[1:] if argv is None else list(argv))])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("nerve: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"nerve tune: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main_tune())
