"""Pictures of attributions: image maps in shap.image_plot's style, and feature-importance bars.

matplotlib is an optional extra (``pip install 'nerve[plot]'``), imported inside the functions;
they draw on a ``matplotlib.figure.Figure`` with the Agg canvas and never touch pyplot's state.
Attributions come as shap returns them (outputs on the last axis, or a list with one array per
output) or as Captum-style Tensors of the input's shape (one output).
"""

from __future__ import annotations

import os

import numpy as np

from nerve.files import atomic_write

# shap's colours: blue for negative, red for positive, transparent at zero
_BLUE = (30 / 255, 136 / 255, 229 / 255)
_RED = (1.0, 13 / 255, 87 / 255)


def _figure(what: str, **kwargs):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"{what} needs matplotlib to draw: pip install 'nerve[plot]' (or matplotlib)"
        ) from exc
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> None:
    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=100))


def _array(x) -> np.ndarray:
    data = getattr(x, "_data", None)
    if data is None and hasattr(x, "detach"):  # a torch Tensor
        data = x.detach().cpu().numpy()
    return np.asarray(x if data is None else data)


def _by_output(values, like_shape: tuple, what: str) -> np.ndarray:
    """Attributions as one array with the outputs on the last axis."""
    if isinstance(values, (list, tuple)):
        values = np.stack([_array(v) for v in values], axis=-1)
    else:
        values = _array(values)
    if values.shape == like_shape:
        values = values[..., None]  # one output
    if values.shape[:-1] != like_shape:
        raise ValueError(
            f"{what}: attributions of shape {values.shape} do not fit inputs of shape "
            f"{like_shape}; expected {like_shape} or {like_shape} + (n_outputs,)"
        )
    return values.astype(np.float64)


def _red_transparent_blue():
    from matplotlib.colors import LinearSegmentedColormap

    ramp = [(*_BLUE, a) for a in np.linspace(1, 0, 100)] + [
        (*_RED, a) for a in np.linspace(0, 1, 100)
    ]
    return LinearSegmentedColormap.from_list("red_transparent_blue", ramp)


def attributions(values, images, labels=None, path=None, vmax=None, width: float = 2.0):
    """Attribution maps over the images, one row per image, one column per output.

    The first column shows the image; each other column shows the image in grey with the
    attributions over it, red positive and blue negative (shap.image_plot's look), on one
    symmetric scale shown by a colour bar. Colour images' attributions are summed over channels.

    Args:
        values: attributions: ``images.shape + (n_outputs,)`` (shap's layout), a list of
            arrays of the images' shape (one per output), or one array of the images' shape.
        images: (N, H, W), (N, C, H, W) (channels first, C in 1, 3) or (N, H, W, C).
        labels: column titles, one per output (default "output k").
        path: save the picture there too (PNG unless the suffix names another format).
        vmax: the colour scale's bound (default: the 99.9th percentile of |values|).
        width: inches per column.

    Returns:
        The matplotlib Figure.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: values that do not fit the images; labels of the wrong length.
    """
    what = "plot.attributions"
    imgs = _array(images).astype(np.float64)
    vals = _by_output(values, imgs.shape, what)
    if imgs.ndim == 4:
        first = imgs.shape[1] in (1, 3) and imgs.shape[-1] not in (1, 3)
        axis = 1 if first else 3
        grey, maps = imgs.mean(axis), vals.sum(axis)
    elif imgs.ndim == 3:
        grey, maps = imgs, vals
    else:
        raise ValueError(f"{what}: images of shape {imgs.shape}; expected (N, H, W) or 4-d")
    n, k = grey.shape[0], maps.shape[-1]
    labels = [f"output {j}" for j in range(k)] if labels is None else list(labels)
    if len(labels) != k:
        raise ValueError(f"{what}: {len(labels)} labels for {k} outputs")
    span = grey.max() - grey.min()
    grey = (grey - grey.min()) / (span if span > 0 else 1)
    bound = float(np.nanpercentile(np.abs(maps), 99.9)) if vmax is None else float(vmax)
    bound = bound if bound > 0 else 1.0
    fig = _figure(what, figsize=(width * (k + 1), width * n + 0.8))
    grid = fig.add_gridspec(n + 1, k + 1, height_ratios=[1] * n + [0.08], hspace=0.25)
    cmap = _red_transparent_blue()
    shown = None
    for i in range(n):
        ax = fig.add_subplot(grid[i, 0])
        ax.imshow(grey[i], cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
        for j in range(k):
            ax = fig.add_subplot(grid[i, j + 1])
            ax.imshow(grey[i], cmap="gray", alpha=0.15, vmin=0, vmax=1)
            shown = ax.imshow(maps[i, ..., j], cmap=cmap, vmin=-bound, vmax=bound)
            ax.axis("off")
            if i == 0:
                ax.set_title(str(labels[j]), fontsize=10)
    bar = fig.colorbar(shown, cax=fig.add_subplot(grid[n, 1:]), orientation="horizontal")
    bar.set_label("attribution (SHAP value)")
    bar.outline.set_visible(False)
    if path is not None:
        _save(fig, path)
    return fig


def feature_importance(values, feature_names=None, max_display: int = 20, path=None):
    """Mean |attribution| per feature as horizontal bars, largest first (tabular inputs).

    With several outputs the bars are stacked, one colour per output (shap's bar summary).

    Args:
        values: attributions (N, F), (N, F, n_outputs) (shap's layout) or a list of (N, F).
        feature_names: one name per feature (default "feature k").
        max_display: how many features to show.
        path: save the picture there too.

    Returns:
        The matplotlib Figure.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: values that are not (N, F[, n_outputs]); names of the wrong length.
    """
    what = "plot.feature_importance"
    if isinstance(values, (list, tuple)):
        vals = np.stack([_array(v) for v in values], axis=-1)
    else:
        vals = _array(values)
        vals = vals[..., None] if vals.ndim == 2 else vals
    if vals.ndim != 3:
        raise ValueError(f"{what}: attributions of shape {vals.shape}; expected (N, F[, outputs])")
    f, k = vals.shape[1], vals.shape[2]
    names = [f"feature {j}" for j in range(f)] if feature_names is None else list(feature_names)
    if len(names) != f:
        raise ValueError(f"{what}: {len(names)} feature names for {f} features")
    importance = np.abs(vals).mean(0)  # (F, outputs)
    order = np.argsort(-importance.sum(1), kind="stable")[:max_display]
    fig = _figure(what, figsize=(7, 0.4 * len(order) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    rows = np.arange(len(order))[::-1]
    left = np.zeros(len(order))
    for j in range(k):
        part = importance[order, j]
        label = f"output {j}" if k > 1 else None
        ax.barh(rows, part, left=left, label=label, color=_RED if k == 1 else None)
        left += part
    ax.set_yticks(rows)
    ax.set_yticklabels([names[i] for i in order])
    ax.set_xlabel("mean |attribution|")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if k > 1:
        ax.legend(frameon=False)
    fig.tight_layout()
    if path is not None:
        _save(fig, path)
    return fig
