"""The Doctor's report on disk: read it, print it, draw it, and the ``nerve doctor`` command.

``Doctor(path=...)`` writes ``diagnosis.json``: the findings, the epochs, the epoch logs and per
layer, per epoch: ``grad_norm``, ``update_ratio``, ``dead_fraction``, ``saturated_fraction``,
``activation_mean`` and ``activation_std``. ``nerve doctor RUN_FOLDER`` prints its findings and
draws two pictures beside it: ``doctor_gradients.png`` (each layer's gradient norm per epoch, log
scale) and ``doctor_dead_units.png`` (each ReLU layer's dead fraction, each sigmoid/tanh layer's
saturated fraction). matplotlib is the optional extra ``pip install 'nerve[plot]'``.
"""

from __future__ import annotations

import json
import os

from nerve.callbacks.doctor import format_findings
from nerve.files import atomic_write

__all__ = ["REPORT_NAME", "add_doctor_parser", "cmd_doctor", "load_report", "plot_report"]

REPORT_NAME = "diagnosis.json"


def load_report(path) -> dict:
    """Read a Doctor report: ``path`` is the JSON file or a run folder holding diagnosis.json.

    Returns:
        The report dict (``findings``, ``epochs``, ``logs``, ``layers``, ``activations``).

    Raises:
        FileNotFoundError: there is no report there.
        ValueError: the file is not a Doctor report.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, REPORT_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no Doctor report at {path}: train with callbacks=[Doctor(path=...)] to write one"
        )
    with open(path, encoding="utf-8") as f:
        try:
            report = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(report, dict) or not {"findings", "layers"} <= set(report):
        raise ValueError(f"{path} is not a Doctor report (it needs 'findings' and 'layers')")
    return report


def _figure(**kwargs):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "nerve doctor needs matplotlib to draw: pip install 'nerve[plot]' (or matplotlib)"
        ) from exc
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _lines(ax, report: dict, key: str, names: list[str]) -> int:
    epochs = [e + 1 for e in report.get("epochs", [])]
    drawn = 0
    for name in names:
        values = report["layers"].get(name, {}).get(key) or []
        points = [(e, v) for e, v in zip(epochs, values) if v is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=name)
            drawn += 1
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    return drawn


def plot_report(report: dict, folder) -> list[str]:
    """Draw the per-layer pictures of a report into ``folder``.

    Returns:
        The paths written: doctor_gradients.png, and doctor_dead_units.png when the model has
        ReLU, sigmoid or tanh layers.

    Raises:
        ImportError: matplotlib is not installed.
    """
    written = []
    layers = report.get("layers", {})
    with_grads = [n for n, h in layers.items() if any(v for v in h.get("grad_norm") or [])]
    if with_grads:
        fig = _figure(figsize=(7, 4))
        ax = fig.add_subplot()
        _lines(ax, report, "grad_norm", with_grads)
        ax.set(
            yscale="log", xlabel="epoch", ylabel="gradient norm", title="Gradient norm per layer"
        )
        ax.legend(fontsize="small", ncol=2)
        written.append(_save(fig, folder, "doctor_gradients.png"))
    kinds = report.get("activations", {})
    relu = [n for n, k in kinds.items() if k == "relu"]
    squash = [n for n, k in kinds.items() if k in ("sigmoid", "tanh")]
    if relu or squash:
        fig = _figure(figsize=(7, 4))
        ax = fig.add_subplot()
        _lines(ax, report, "dead_fraction", relu)
        _lines(ax, report, "saturated_fraction", squash)
        ax.set(
            ylim=(-0.02, 1.02),
            xlabel="epoch",
            ylabel="fraction",
            title="Dead ReLU units / saturated sigmoid-tanh outputs per layer",
        )
        ax.legend(fontsize="small", ncol=2)
        written.append(_save(fig, folder, "doctor_dead_units.png"))
    return written


def _save(fig, folder, name: str) -> str:
    path = os.path.join(os.fspath(folder), name)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    return path


def cmd_doctor(args) -> int:
    """``nerve doctor RUN_FOLDER``: print the findings and draw the per-layer pictures."""
    report = load_report(args.run_folder)
    print(format_findings(report["findings"]))
    if not args.no_plots:
        folder = (
            args.run_folder
            if os.path.isdir(args.run_folder)
            else os.path.dirname(os.path.abspath(args.run_folder))
        )
        for path in plot_report(report, folder):
            print(f"wrote {path}")
    return 0


def add_doctor_parser(sub) -> None:
    """Add the ``doctor`` subcommand to the ``nerve`` command's subparsers."""
    doctor = sub.add_parser(
        "doctor", help="print a run's training diagnosis and draw per-layer pictures"
    )
    doctor.add_argument("run_folder", help="the run folder (with diagnosis.json) or the JSON file")
    doctor.add_argument("--no-plots", action="store_true", help="print the findings only")
    doctor.set_defaults(func=cmd_doctor)
