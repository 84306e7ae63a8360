"""Metrics that average a Keras loss per sample: crossentropies, KL divergence, Poisson, the
hinges, log-cosh, and the percentage / logarithmic errors and cosine similarity.

The per-sample values come from ``nerve.losses`` (one formula, shared with training) where it
has them, computed without a graph; MAPE, MSLE and the cosine similarity (a metric: +cos,
unlike the loss) are NumPy here. Each metric is the weighted mean of those values over every
batch seen, as Keras's MeanMetricWrapper.
"""

from __future__ import annotations

import numpy as np

from nerve import losses
from nerve.autograd.grad_mode import no_grad
from nerve.metrics.base import MeanMetricWrapper, as_array, float_dtype, match_rank

_EPSILON = 1e-7  # keras.backend.epsilon()


def float_pair(who: str, y_true, y_pred):
    """Targets and predictions as float arrays of one shape (float32 unless one is float64)."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    dtype = float_dtype(y_true, y_pred)
    yt, yp = match_rank(y_true.astype(dtype), y_pred.astype(dtype))
    if yt.shape != yp.shape:
        raise ValueError(
            f"{who}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must match (a trailing dimension of 1 on one side is allowed)"
        )
    return yt, yp


def _from_loss(loss_fn, who: str, float_target: bool = True):
    """``fn(y_true, y_pred, **kw)`` on arrays: the per-sample values of a nerve loss."""

    def per_sample(y_true, y_pred, **kwargs):
        y_true, y_pred = as_array(y_true), as_array(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(np.float32)
        if float_target and y_true.dtype != y_pred.dtype:
            y_true = y_true.astype(y_pred.dtype)
        with no_grad():
            return np.asarray(loss_fn(y_true, y_pred, **kwargs)._data)

    per_sample.__name__ = who
    return per_sample


def mean_absolute_percentage_error(y_true, y_pred) -> np.ndarray:
    """Per-sample 100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis.

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.

    Returns:
        One value per sample.

    >>> mean_absolute_percentage_error([[1.0, 2.0]], [[1.5, 2.0]])
    array([25.])
    """
    t, p = float_pair("mean_absolute_percentage_error", y_true, y_pred)
    diff = np.abs((t - p) / np.maximum(np.abs(t), t.dtype.type(_EPSILON)))
    return t.dtype.type(100.0) * (diff.mean(axis=-1) if diff.ndim >= 2 else diff)


def mean_squared_logarithmic_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2), eps = 1e-7.

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.

    Returns:
        One value per sample.
    """
    t, p = float_pair("mean_squared_logarithmic_error", y_true, y_pred)
    eps = t.dtype.type(_EPSILON)
    sq = np.square(np.log1p(np.maximum(p, eps)) - np.log1p(np.maximum(t, eps)))
    return sq.mean(axis=-1) if sq.ndim >= 2 else sq


def cosine_similarity(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Per-sample cosine of the angle between y_true and y_pred along ``axis``.

    Each side is scaled by min(1 / ||x||, 1e7) first, as Keras's ``ops.normalize``, so a zero
    vector gives 0.

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.
        axis: the axis of the vectors.

    Returns:
        One value per sample.

    >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).round(6)
    array([0., 1.])
    """
    t, p = float_pair("cosine_similarity", y_true, y_pred)

    def normalize(x):
        sq = np.sum(x * x, axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            inv = np.minimum(1.0 / np.sqrt(sq), x.dtype.type(1.0 / _EPSILON))
        return x * inv

    return np.sum(normalize(t) * normalize(p), axis=axis)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The (weighted) mean absolute percentage error, 100 * |y_true - y_pred| / |y_true|.

    Args:
        name: the metric's name.

    >>> m = MeanAbsolutePercentageError()
    >>> m([[1.0, 2.0]], [[1.5, 2.0]])
    25.0
    """

    def __init__(self, name: str = "mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, name=name)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The (weighted) mean squared logarithmic error.

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, name=name)


class CosineSimilarity(MeanMetricWrapper):
    """The (weighted) mean cosine similarity between targets and predictions (1 is best).

    Args:
        name: the metric's name.
        axis: the axis of the vectors (default -1).

    >>> m = CosineSimilarity()
    >>> round(m([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]), 6)
    0.5
    """

    def __init__(self, name: str = "cosine_similarity", axis: int = -1):
        super().__init__(cosine_similarity, name=name, axis=int(axis))


class LogCoshError(MeanMetricWrapper):
    """The (weighted) mean of log(cosh(y_pred - y_true)).

    Args:
        name: the metric's name (Keras's default is 'logcosh').
    """

    def __init__(self, name: str = "logcosh"):
        super().__init__(_from_loss(losses.log_cosh, "logcosh"), name=name)


class KLDivergence(MeanMetricWrapper):
    """The (weighted) mean Kullback-Leibler divergence sum(y_true * log(y_true / y_pred)),
    both clipped to [1e-7, 1].

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "kl_divergence"):
        super().__init__(_from_loss(losses.kl_divergence, "kl_divergence"), name=name)


class Poisson(MeanMetricWrapper):
    """The (weighted) mean Poisson deviance term y_pred - y_true * log(y_pred + 1e-7).

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "poisson"):
        super().__init__(_from_loss(losses.poisson, "poisson"), name=name)


class Hinge(MeanMetricWrapper):
    """The (weighted) mean hinge loss max(1 - y_true * y_pred, 0); 0/1 labels become -1/1.

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "hinge"):
        super().__init__(_from_loss(losses.hinge, "hinge"), name=name)


class SquaredHinge(MeanMetricWrapper):
    """The (weighted) mean squared hinge loss max(1 - y_true * y_pred, 0)^2.

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "squared_hinge"):
        super().__init__(_from_loss(losses.squared_hinge, "squared_hinge"), name=name)


class CategoricalHinge(MeanMetricWrapper):
    """The (weighted) mean of max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0).

    Args:
        name: the metric's name.
    """

    def __init__(self, name: str = "categorical_hinge"):
        super().__init__(_from_loss(losses.categorical_hinge, "categorical_hinge"), name=name)


class BinaryCrossentropy(MeanMetricWrapper):
    """The (weighted) mean binary crossentropy, as Keras's metric.

    Args:
        name: the metric's name.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: squeeze the labels towards 0.5 by this amount.

    >>> m = BinaryCrossentropy()
    >>> round(m([[0.0, 1.0]], [[0.5, 0.5]]), 6)
    0.693147
    """

    def __init__(
        self,
        name: str = "binary_crossentropy",
        from_logits: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__(
            _from_loss(losses.binary_crossentropy, "binary_crossentropy"),
            name=name,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
        )


class CategoricalCrossentropy(MeanMetricWrapper):
    """The (weighted) mean categorical crossentropy of one-hot targets, as Keras's metric.

    Args:
        name: the metric's name.
        from_logits: y_pred holds logits rather than probabilities.
        label_smoothing: mix the one-hot labels with the uniform distribution by this amount.
        axis: the class axis (only -1).
    """

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
    ):
        super().__init__(
            _from_loss(losses.categorical_crossentropy, "categorical_crossentropy"),
            name=name,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=int(axis),
        )


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The (weighted) mean crossentropy of integer class labels, as Keras's metric.

    Args:
        name: the metric's name.
        from_logits: y_pred holds logits rather than probabilities.
        ignore_class: a label value (e.g. padding) whose samples count 0.
        axis: the class axis (only -1).
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        super().__init__(
            _from_loss(
                losses.sparse_categorical_crossentropy,
                "sparse_categorical_crossentropy",
                float_target=False,
            ),
            name=name,
            from_logits=bool(from_logits),
            ignore_class=None if ignore_class is None else int(ignore_class),
            axis=int(axis),
        )
