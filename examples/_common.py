"""What every example in the gallery shares: arguments, data, timing, results and pictures.

Each example is a script (``python examples/NAME.py [--quick]``) with a ``main(argv=None)`` that
returns its results as a dict and writes them, with its pictures, into ``runs/examples/NAME/``
(or ``--out``). ``--quick`` runs in seconds on a few hundred samples; the test suite runs every
example that way and checks that it learned.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

FORTUNES_DIR = Path("/usr/share/games/fortunes")


def parse_args(name: str, description: str, argv=None, extra=None) -> argparse.Namespace:
    """The arguments every example takes; ``extra(parser)`` adds an example's own.

    ``--quick``: seconds, a few hundred samples (what the tests run). ``--out``: where results
    and pictures go (default ``runs/examples/NAME``). ``--seed``: the base seed.
    """
    parser = argparse.ArgumentParser(prog=f"examples/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true", help="a few seconds on a small subset")
    parser.add_argument("--out", default=None, help=f"output folder (default runs/examples/{name})")
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.out = Path(args.out or Path("runs") / "examples" / name)
    args.out.mkdir(parents=True, exist_ok=True)
    args.name = name
    return args


# --------------------------------------------------------------------------- data


def fashion_mnist(n_train=None, n_test=None, seed=0, flat=False):
    """Fashion-MNIST as float32 in [0, 1]: ``(x_train, y_train), (x_test, y_test)``.

    Images are (N, 28, 28, 1) (channels last, as Keras has them), or (N, 784) with ``flat``;
    labels int64. ``n_train``/``n_test`` take a random, class-mixed subset (seeded).
    Reads the Debian package ``dataset-fashion-mnist`` (``make fashion-mnist`` installs it).
    """
    from nerve.datasets import fashion_mnist as fm

    (x_train, y_train), (x_test, y_test) = fm.load_data()
    rng = np.random.default_rng(seed)

    def take(x, y, n):
        if n is not None and n < len(x):
            idx = rng.permutation(len(x))[:n]
            x, y = x[idx], y[idx]
        x = x.astype(np.float32) / 255.0
        x = x.reshape(len(x), -1) if flat else x[..., None]
        return x, y.astype(np.int64)

    return take(x_train, y_train, n_train), take(x_test, y_test, n_test)


def digits(seed=0, test_fraction=0.2):
    """scikit-learn's 8x8 digits as float32 in [0, 1], (N, 64), split train/test (seeded)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise SystemExit("this example needs scikit-learn: pip install 'nerve[tune]'") from exc
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order].astype(np.int64)
    n_test = int(len(x) * test_fraction)
    return (x[n_test:], y[n_test:]), (x[:n_test], y[:n_test])


def fortunes_text(max_chars=None) -> str:
    """The English sayings of Debian's ``fortunes`` package as one text, entries joined by
    blank lines (the ``%`` separators dropped). ``max_chars`` keeps the first that many.

    Raises:
        SystemExit: the package is not installed (the message says how to install it).
    """
    if not FORTUNES_DIR.is_dir():
        raise SystemExit(
            f"no text corpus at {FORTUNES_DIR}: install the Debian package 'fortunes' "
            "(sudo apt-get install fortunes, or make fortunes)"
        )
    entries = []
    for path in sorted(FORTUNES_DIR.iterdir()):
        if path.suffix or not path.is_file() or path.name.startswith("."):
            continue  # skip the .dat indexes and .u8 links
        text = path.read_text(encoding="utf-8", errors="replace")
        entries += [e.strip() for e in text.split("\n%\n") if e.strip()]
    corpus = "\n\n".join(entries)
    return corpus[:max_chars] if max_chars else corpus


# --------------------------------------------------------------------------- measuring


@contextmanager
def timed(into: dict, key: str):
    """``with timed(results, "train_s"):`` stores the block's wall time in seconds."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = round(time.perf_counter() - start, 3)


def accuracy(logits, labels) -> float:
    """The share of rows whose largest logit is the label (arrays or Tensors)."""
    logits = np.asarray(logits.numpy() if hasattr(logits, "numpy") else logits)
    return float((logits.argmax(axis=1) == np.asarray(labels)).mean())


# --------------------------------------------------------------------------- writing


def save_json(args, data: dict, name="results.json") -> Path:
    """Write ``data`` as JSON into the example's folder, atomically; returns the path."""
    path = args.out / name
    fd, tmp = tempfile.mkstemp(dir=args.out, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(_plain(data), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return x


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend.

    Raises:
        SystemExit: matplotlib is missing (names the extra that installs it).
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit("this example draws with matplotlib: pip install 'nerve[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(args, fig, name: str) -> Path:
    """Save ``fig`` as ``NAME.png`` (small: 100 dpi, tight) in the example's folder and close it."""
    path = args.out / f"{name}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows of dicts as a Markdown table (floats to 4 significant digits)."""
    columns = columns or list(rows[0])

    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def finish(args, results: dict, table: str | None = None) -> dict:
    """Write results.json (and table.md when given), print where, and return the results."""
    results = _plain({"example": args.name, "quick": bool(args.quick), **results})
    save_json(args, results)
    if table is not None:
        (args.out / "table.md").write_text(table + "\n")
        print(table)
    print(f"results in {args.out}/", file=sys.stderr)
    return results
