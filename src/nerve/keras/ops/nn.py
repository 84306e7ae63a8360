"""keras.ops' neural-network ops: activations, softmax, one_hot, crossentropies, normalization.

Keras's defaults differ from torch's in places, and these follow Keras: ``gelu`` is the tanh
approximation unless ``approximate=False``, ``leaky_relu``'s slope is 0.2, ``hard_sigmoid`` is
relu6(x + 3) / 6. Crossentropies on probabilities clip them to [eps, 1 - eps] as Keras does
(eps is ``keras.config.epsilon()``, 1e-7) and return one value per element (binary) or per
sample (categorical), unreduced.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import DEFAULT_FLOAT
from nerve.keras import config
from nerve.keras.ops._common import (
    axes_tuple,
    axis_index,
    detached,
    standardize_dtype,
    to_float,
    to_tensor,
)
from nerve.nn import functional as F
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing, reduction
from nerve.primitives import shape as sh

__all__ = [
    "batch_normalization",
    "binary_crossentropy",
    "categorical_crossentropy",
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "moments",
    "multi_hot",
    "normalize",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_categorical_crossentropy",
    "sparse_plus",
    "squareplus",
    "swish",
    "tanh_shrink",
    "threshold",
]


# ----------------------------------------------------------------------------- activations
def relu(x) -> Tensor:
    """``max(x, 0)``, elementwise."""
    return ew.relu(to_float(x, "relu"))


def relu6(x) -> Tensor:
    """``min(max(x, 0), 6)``, elementwise."""
    return ew.clamp(to_float(x, "relu6"), 0.0, 6.0)


def sigmoid(x) -> Tensor:
    """``1 / (1 + exp(-x))``, elementwise."""
    return ew.sigmoid(to_float(x, "sigmoid"))


def softplus(x) -> Tensor:
    """``log(1 + exp(x))``, elementwise (computed stably)."""
    return ew.softplus(to_float(x, "softplus"))


def softsign(x) -> Tensor:
    """``x / (1 + |x|)``, elementwise."""
    t = to_float(x, "softsign")
    return ew.div(t, ew.add(ew.abs(t), 1.0))


def silu(x) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return ew.silu(to_float(x, "silu"))


swish = silu


def log_sigmoid(x) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably."""
    return ew.neg(ew.softplus(ew.neg(to_float(x, "log_sigmoid"))))


def leaky_relu(x, negative_slope: float = 0.2) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere (Keras's slope: 0.2)."""
    return ew.leaky_relu(to_float(x, "leaky_relu"), float(negative_slope))


def hard_sigmoid(x) -> Tensor:
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid."""
    t = to_float(x, "hard_sigmoid")
    return ew.div(ew.clamp(ew.add(t, 3.0), 0.0, 6.0), 6.0)


def hard_silu(x) -> Tensor:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    t = to_float(x, "hard_silu")
    return ew.mul(t, hard_sigmoid(t))


hard_swish = hard_silu


def elu(x, alpha: float = 1.0) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return ew.elu(to_float(x, "elu"), float(alpha))


def selu(x) -> Tensor:
    """The self-normalizing ELU: ``scale * elu(x, alpha)`` with the constants of Klambauer et al."""
    return ew.selu(to_float(x, "selu"))


def celu(x, alpha: float = 1.0) -> Tensor:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    t = to_float(x, "celu")
    neg = ew.mul(ew.sub(ew.exp(ew.div(ew.minimum(t, 0.0), float(alpha))), 1.0), float(alpha))
    return ew.add(ew.relu(t), neg)


def gelu(x, approximate: bool = True) -> Tensor:
    """The Gaussian error linear unit ``x * Phi(x)``; Keras's default is the tanh approximation.

    Args:
        x: the tensor.
        approximate: True (the default): the tanh formula; False: the exact erf form.
    """
    return ew.gelu(to_float(x, "gelu"), "tanh" if approximate else "none")


def glu(x, axis: int = -1) -> Tensor:
    """The gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``axis``.

    Raises:
        ValueError: the axis has an odd size.
    """
    t = to_float(x, "glu")
    ax = axis_index(axis, t.ndim, "glu")
    if t.shape[ax] % 2:
        raise ValueError(f"glu: axis {ax} of size {t.shape[ax]} must have an even size")
    a, b = sh.split(t, t.shape[ax] // 2, ax)
    return ew.mul(a, ew.sigmoid(b))


def hard_tanh(x) -> Tensor:
    """``x`` clipped to [-1, 1]."""
    return ew.clamp(to_float(x, "hard_tanh"), -1.0, 1.0)


def soft_shrink(x, threshold: float = 0.5) -> Tensor:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    t = to_float(x, "soft_shrink")
    th = float(threshold)
    return ew.where(ew.gt(t, th), ew.sub(t, th), ew.where(ew.lt(t, -th), ew.add(t, th), 0.0))


def hard_shrink(x, threshold: float = 0.5) -> Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    t = to_float(x, "hard_shrink")
    return ew.where(ew.gt(ew.abs(t), float(threshold)), t, 0.0)


def tanh_shrink(x) -> Tensor:
    """``x - tanh(x)``."""
    t = to_float(x, "tanh_shrink")
    return ew.sub(t, ew.tanh(t))


def squareplus(x, b: float = 4) -> Tensor:
    """``(x + sqrt(x^2 + b)) / 2``: a smooth relu."""
    t = to_float(x, "squareplus")
    return ew.mul(ew.add(t, ew.sqrt(ew.add(ew.square(t), float(b)))), 0.5)


def sparse_plus(x) -> Tensor:
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)^2 / 4`` between."""
    t = to_float(x, "sparse_plus")
    mid = ew.mul(ew.square(ew.add(t, 1.0)), 0.25)
    return ew.where(ew.le(t, -1.0), 0.0, ew.where(ew.ge(t, 1.0), t, mid))


def threshold(x, threshold, default_value) -> Tensor:
    """``x`` where ``x > threshold``, else ``default_value``."""
    t = to_tensor(x, "threshold")
    return ew.where(ew.gt(t, threshold), t, default_value)


def softmax(x, axis=-1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int or a tuple), computed stably."""
    t = to_float(x, "softmax")
    axes = axes_tuple(axis, t.ndim, "softmax")
    if axes is not None and len(axes) == 1:
        return reduction.softmax(t, axes[0])
    shifted = ew.sub(t, detached(np.max(t._data, axis=axes, keepdims=True)))
    e = ew.exp(shifted)
    return ew.div(e, reduction.sum(e, axis=axes, keepdims=True))


def log_softmax(x, axis=-1) -> Tensor:
    """``log(softmax(x))`` along ``axis``, computed stably."""
    t = to_float(x, "log_softmax")
    axes = axes_tuple(axis, t.ndim, "log_softmax")
    if axes is not None and len(axes) == 1:
        return reduction.log_softmax(t, axes[0])
    return ew.sub(t, reduction.logsumexp(t, axis=axes, keepdims=True))


# ----------------------------------------------------------------------------- encodings
def _labels(x, op: str) -> np.ndarray:
    labels = to_tensor(x, op)._data
    if labels.dtype.kind == "f":
        labels = labels.astype(np.int64)  # Keras casts float labels to int
    elif labels.dtype.kind == "b":
        raise TypeError(f"{op}: labels must be integers, got bool")
    return labels.astype(np.int64)


def one_hot(x, num_classes, axis: int = -1, dtype=None, sparse: bool = False) -> Tensor:
    """One-hot encoding of integer labels: a new axis of size ``num_classes`` at ``axis``.

    Args:
        x: integer class ids (float ids are truncated to ints, as Keras does).
        num_classes: the number of classes.
        axis: where the class axis goes in the result (-1: last).
        dtype: the result's dtype (float32 when None).
        sparse: must be False (nerve has no sparse tensors).

    Returns:
        A tensor of rank ``x.ndim + 1``; negative labels give rows of zeros.

    Raises:
        ValueError: a label not below ``num_classes``.
    """
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported (nerve has no sparse tensors)")
    labels = _labels(x, "one_hot")
    n = int(num_classes)
    if labels.size and labels.max() >= n:
        raise ValueError(f"one_hot: label {int(labels.max())} is out of range for num_classes={n}")
    dt = standardize_dtype(dtype, "one_hot") or np.dtype(DEFAULT_FLOAT)
    out = (labels[..., None] == np.arange(n)).astype(dt)
    ax = axis_index(axis, out.ndim, "one_hot")
    return detached(np.moveaxis(out, -1, ax))


def multi_hot(
    inputs, num_classes=None, axis: int = -1, dtype=None, sparse: bool = False, **kwargs
) -> Tensor:
    """Multi-hot encoding: 1 at every class id that occurs in a sample (the last axis of a
    batched ``inputs``, or all of a 1-d one).

    Raises:
        ValueError: no ``num_classes``, or a label out of range.
    """
    num_classes = kwargs.pop("num_tokens", num_classes)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required")
    hot = one_hot(inputs, num_classes, -1, dtype, sparse)._data
    out = hot.max(axis=-2) if hot.ndim > 1 else hot
    return detached(np.moveaxis(out, -1, axis_index(axis, out.ndim, "multi_hot")))


# ----------------------------------------------------------------------------- crossentropies
def _same_shape(op: str, target: Tensor, output: Tensor) -> None:
    if target.shape != output.shape:
        raise ValueError(
            f"{op}: target and output must have the same shape, got target.shape="
            f"{target.shape} and output.shape={output.shape}"
        )


def binary_crossentropy(target, output, from_logits: bool = False) -> Tensor:
    """``-(t log p + (1 - t) log(1 - p))`` for each element (not reduced).

    Args:
        target: the labels in [0, 1], of ``output``'s shape.
        output: probabilities (clipped to [1e-7, 1 - 1e-7]) or, with ``from_logits``, logits.
        from_logits: whether ``output`` holds logits.

    Raises:
        ValueError: the shapes differ.
    """
    out = to_float(output, "binary_crossentropy")
    t = to_tensor(target, "binary_crossentropy", out._data.dtype)
    _same_shape("binary_crossentropy", t, out)
    if from_logits:
        return F.binary_cross_entropy_with_logits(out, t, reduction="none")
    p = ew.clamp(out, config.epsilon(), 1.0 - config.epsilon())
    return F.binary_cross_entropy(p, t, reduction="none")


def _log_probs(out: Tensor, ax: int, from_logits: bool) -> Tensor:
    if from_logits:
        return reduction.log_softmax(out, ax)
    p = ew.div(out, reduction.sum(out, axis=ax, keepdims=True))
    return ew.log(ew.clamp(p, config.epsilon(), 1.0 - config.epsilon()))


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1) -> Tensor:
    """``-sum(t * log p)`` over the class ``axis``: one value per sample.

    Args:
        target: one-hot labels (or class probabilities), of ``output``'s shape.
        output: probabilities (normalised to sum to one, then clipped) or logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis.

    Raises:
        ValueError: the shapes differ, or a rank below 1.
    """
    out = to_float(output, "categorical_crossentropy")
    t = to_tensor(target, "categorical_crossentropy", out._data.dtype)
    _same_shape("categorical_crossentropy", t, out)
    if out.ndim < 1:
        raise ValueError("categorical_crossentropy: target and output must be at least rank 1")
    ax = axis_index(axis, out.ndim, "categorical_crossentropy")
    return ew.neg(reduction.sum(ew.mul(t, _log_probs(out, ax, from_logits)), axis=ax))


def sparse_categorical_crossentropy(
    target, output, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """``-log p[label]``: the crossentropy of integer labels, one value per sample.

    Args:
        target: integer class ids of ``output``'s shape without the class axis (a trailing
            axis of size 1 is squeezed).
        output: probabilities or, with ``from_logits``, logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis of ``output``.

    Raises:
        ValueError: the shapes do not match, or a label is out of range.
    """
    op = "sparse_categorical_crossentropy"
    out = to_float(output, op)
    if out.ndim < 1:
        raise ValueError(f"{op}: output must be at least rank 1, got shape {out.shape}")
    ax = axis_index(axis, out.ndim, op)
    labels = _labels(target, op)
    if labels.ndim == out.ndim and labels.shape[ax] == 1:
        labels = np.squeeze(labels, ax)
    expected = out.shape[:ax] + out.shape[ax + 1 :]
    if labels.shape != expected:
        raise ValueError(
            f"{op}: target of shape {labels.shape} does not fit output of shape {out.shape} "
            f"(expected {expected}, the output's shape without the class axis)"
        )
    n = out.shape[ax]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        bad = labels[(labels < 0) | (labels >= n)][0]
        raise ValueError(f"{op}: label {int(bad)} is out of range for {n} classes")
    logp = _log_probs(out, ax, from_logits)
    picked = indexing.take_along_dim(logp, detached(np.expand_dims(labels, ax)), ax)
    return ew.neg(sh.squeeze(picked, ax))


# ----------------------------------------------------------------------------- normalization
def moments(x, axes, keepdims: bool = False, synchronized: bool = False):
    """The mean and the (population) variance of ``x`` over ``axes``.

    Returns:
        ``(mean, variance)``.

    Raises:
        NotImplementedError: ``synchronized=True`` (there are no replicas to sync).
    """
    if synchronized:
        raise NotImplementedError("moments: synchronized=True is not supported")
    t = to_float(x, "moments")
    ax = axes_tuple(axes, t.ndim, "moments")
    mean = reduction.mean(t, axis=ax, keepdims=bool(keepdims))
    var = reduction.var(t, axis=ax, keepdims=bool(keepdims), correction=0)
    return mean, var


def normalize(x, axis=-1, order: int = 2, epsilon=None) -> Tensor:
    """``x / max(norm(x, order, axis), epsilon)``: unit norm along ``axis``.

    Raises:
        ValueError: ``order`` is not an int >= 1.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, got {order!r}")
    t = to_float(x, "normalize")
    if t.ndim == 0:
        t = sh.reshape(t, (1,))
    eps = config.epsilon() if epsilon is None else float(epsilon)
    axes = axes_tuple(axis, t.ndim, "normalize")
    if order == 2:
        inv = ew.rsqrt(reduction.sum(ew.square(t), axis=axes, keepdims=True))
        return ew.mul(t, ew.minimum(inv, 1.0 / eps))
    norm = reduction.norm(t, float(order), axis=axes, keepdims=True)
    return ew.div(t, ew.maximum(norm, eps))


def batch_normalization(
    x, mean, variance, axis, offset=None, scale=None, epsilon: float = 1e-3
) -> Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with statistics along ``axis``.

    Args:
        x: the tensor.
        mean: the mean, 1-d along ``axis`` (or broadcastable to ``x``).
        variance: the variance, like ``mean``.
        axis: the feature axis of ``x``.
        offset: an optional shift (beta), like ``mean``.
        scale: an optional factor (gamma), like ``mean``.
        epsilon: added to the variance.
    """
    t = to_float(x, "batch_normalization")
    ax = axis_index(axis, t.ndim, "batch_normalization")

    def along(v, name):
        v = to_tensor(v, "batch_normalization", t._data.dtype)
        if v.ndim == 1 and t.ndim > 1:
            if v.shape[0] != t.shape[ax]:
                raise ValueError(
                    f"batch_normalization: {name} of length {v.shape[0]} for axis {ax} of "
                    f"size {t.shape[ax]} (x shape {t.shape})"
                )
            v = sh.reshape(v, tuple(-1 if i == ax else 1 for i in range(t.ndim)))
        return v

    centered = ew.sub(t, along(mean, "mean"))
    inv = ew.rsqrt(ew.add(along(variance, "variance"), float(epsilon)))
    if scale is not None:
        inv = ew.mul(inv, along(scale, "scale"))
    out = ew.mul(centered, inv)
    return out if offset is None else ew.add(out, along(offset, "offset"))
