"""Pictures of training: learning curves, a confusion matrix, and a text graph of a model.

matplotlib is an optional extra (``pip install 'nerve[plot]'``): it is imported inside the
functions that draw, which use the Agg backend through ``matplotlib.figure.Figure`` and never
touch pyplot's global state, so they work on a server and in a notebook alike (a returned
Figure shows itself in Jupyter). ``model`` needs nothing but nerve.
"""

from __future__ import annotations

import math
import os

import numpy as np

from nerve.files import atomic_write


def _figure(**kwargs):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "nerve.plot needs matplotlib to draw: pip install 'nerve[plot]' (or matplotlib)"
        ) from exc
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save_figure(fig, path) -> None:
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100))


def history(history, path=None):
    """Learning curves: one panel per metric, loss first, with train and validation lines.

    Args:
        history: a History (what ``fit`` returns) or its ``history`` dict of lists.
        path: save the picture there too (PNG unless the suffix names another format).

    Returns:
        The matplotlib Figure.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: the history holds nothing to draw.
    """
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not any(len(v) for v in data.values()):
        raise ValueError("plot.history: expected a History or a dict of lists with values in it")
    names = [k for k in data if not k.startswith("val_")]
    names += [k[4:] for k in data if k.startswith("val_") and k[4:] not in data]
    names.sort(key=lambda k: (k != "loss", k == "learning_rate"))  # loss first, rate last
    longest = max(len(v) for v in data.values())
    epochs = list(getattr(history, "epoch", None) or [])
    x_all = [e + 1 for e in epochs] if len(epochs) == longest else list(range(1, longest + 1))

    def x_for(values):
        if len(values) == len(x_all):
            return x_all
        # fewer points (validation_freq > 1): spread over the epochs at even steps
        step = len(x_all) / max(len(values), 1)
        return [x_all[min(round((i + 1) * step) - 1, len(x_all) - 1)] for i in range(len(values))]

    def scalars(values):
        return [float(np.mean(v)) for v in values]  # per-class metrics: their mean

    cols = min(len(names), 3)
    rows = math.ceil(len(names) / cols)
    fig = _figure(figsize=(4.5 * cols, 3.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        for key, label, style in ((name, "train", "-o"), ("val_" + name, "validation", "-s")):
            values = data.get(key)
            if values:
                ax.plot(x_for(values), scalars(values), style, markersize=3, label=label)
        if name == "learning_rate":
            rates = scalars(data.get(name) or [])
            if rates and min(rates) > 0:
                ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0] and name != "learning_rate":
            ax.legend()
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if path is not None:
        _save_figure(fig, path)
    return fig


def _labels(y, what: str) -> np.ndarray:
    y = np.asarray(getattr(y, "data", y))
    if y.ndim > 1 and y.shape[-1] > 1:  # one-hot or class probabilities
        return y.argmax(axis=-1).reshape(-1)
    y = y.reshape(-1)
    if y.dtype.kind == "f" and y.size and not np.array_equal(np.floor(y), y):
        if y.min() < 0 or y.max() > 1:
            raise ValueError(f"plot.confusion_matrix: {what} holds values that are not labels")
        return (y > 0.5).astype(np.int64)  # binary probabilities
    if y.dtype.kind not in "iubf":
        raise ValueError(f"plot.confusion_matrix: {what} must be numeric labels, got {y.dtype}")
    return y.astype(np.int64)


def confusion_matrix(y_true, y_pred, class_names=None, path=None):
    """Draw the confusion matrix: rows are the true classes, columns the predicted ones.

    Args:
        y_true: labels, shape (N,), or one-hot rows, shape (N, C).
        y_pred: labels, class probabilities (N, C) (their argmax is taken), or binary
            probabilities (N,) or (N, 1) (thresholded at 0.5).
        class_names: a name per class; default ``0 .. C-1``.
        path: save the picture there too.

    Returns:
        The matplotlib Figure; the counts are on it as ``fig.matrix`` (an int64 array).

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: different lengths, negative labels, or a label with no class name.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"plot.confusion_matrix: y_true has {t.size} labels and y_pred {p.size}; "
            "they must match"
        )
    if t.size and min(t.min(), p.min()) < 0:
        raise ValueError("plot.confusion_matrix: labels must be >= 0")
    n = int(max(t.max(), p.max())) + 1 if t.size else 0
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if n > len(class_names):
            raise ValueError(
                f"plot.confusion_matrix: label {n - 1} has no name in class_names "
                f"({len(class_names)} given)"
            )
        n = len(class_names)
    names = class_names or [str(i) for i in range(n)]
    matrix = np.bincount(t * n + p, minlength=n * n).reshape(n, n)

    size = max(4.0, 0.55 * n + 2.5)
    fig = _figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({int(matrix.sum())} samples)")
    if n <= 30:  # numbers in the cells while they still fit
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(n):
            for j in range(n):
                color = "white" if matrix[i, j] > threshold else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    fig.matrix = matrix
    if path is not None:
        _save_figure(fig, path)
    return fig


def _output_shape(layer) -> str:
    try:
        shape = getattr(layer, "output_shape", None)
    except (AttributeError, ValueError, RuntimeError):  # a property that needs a built layer
        return ""
    if shape is None:
        return ""
    if isinstance(shape, list):
        return ", ".join(str(tuple(s)) for s in shape)
    return str(tuple(shape))


def _params(layer) -> str:
    if not getattr(layer, "built", True):
        return "unbuilt"
    if hasattr(layer, "count_params"):
        try:
            return f"{int(layer.count_params()):,}"
        except ValueError:
            return "unbuilt"
    if hasattr(layer, "parameters"):
        return f"{sum(int(p.numel()) for p in layer.parameters()):,}"
    return ""


def _inbound(model) -> dict:
    """For a functional model: each layer's id -> the names of the layers feeding it."""
    outputs = getattr(model, "outputs", None) or []
    if not outputs or getattr(outputs[0], "node", None) is None:
        return {}
    inbound, seen, stack = {}, set(), [t.node for t in outputs]
    while stack:  # iterative walk back from the outputs
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        parents = [t.node for t in getattr(node, "inputs", ())]
        inbound.setdefault(id(node.layer), []).extend(p.layer.name for p in parents)
        stack.extend(parents)
    return inbound


def model(model, path=None) -> str:
    """A text graph of a model's layers: one line each with its name, class, output shape (when
    known) and parameter count (when built); a functional model's lines name the layers feeding
    each one (``<- a, b``).

    Args:
        model: a Model, a Sequential, or any nn.Module (its children are listed).
        path: write the text there too.

    Returns:
        The text.

    >>> from nerve import nn
    >>> print(model(nn.Sequential(nn.Linear(4, 3), nn.ReLU())))
    sequential (Sequential)
      0  linear (Linear)  15
      1  relu (ReLU)       0
    Total params: 15
    """
    layers = getattr(model, "layers", None)
    if layers is None:
        layers = list(model.children()) if hasattr(model, "children") else []
    inbound = _inbound(model)
    rows = []
    for i, layer in enumerate(layers):
        name = getattr(layer, "name", None) or type(layer).__name__.lower()
        feeds = inbound.get(id(layer))
        rows.append(
            (
                str(i),
                f"{name} ({type(layer).__name__})",
                _output_shape(layer),
                _params(layer),
                f"<- {', '.join(dict.fromkeys(feeds))}" if feeds else "",
            )
        )
    widths = [max((len(r[k]) for r in rows), default=0) for k in range(4)]
    title = getattr(model, "name", None) or type(model).__name__.lower()
    lines = [f"{title} ({type(model).__name__})"]
    for index, label, shape, params, feeds in rows:
        cells = [f"{index:>{widths[0]}}", f"{label:<{widths[1]}}"]
        if widths[2]:
            cells.append(f"{shape:<{widths[2]}}")
        cells.append(f"{params:>{widths[3]}}")
        if feeds:
            cells.append(feeds)
        lines.append(("  " + "  ".join(cells)).rstrip())
    total = _params(model)
    if total and total != "unbuilt":
        lines.append(f"Total params: {total}")
    text = "\n".join(lines)
    if path is not None:
        atomic_write(path, lambda f: f.write((text + "\n").encode("utf-8")))
    return text
