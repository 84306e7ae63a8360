"""Correlation metrics (Keras's PearsonCorrelation and ConcordanceCorrelation): a correlation per
sample along ``axis``, averaged (weighted) over every batch seen, as Keras's MeanMetricWrapper.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import MeanMetricWrapper
from nerve.metrics.from_losses import float_pair

_EPSILON = 1e-7  # keras.backend.epsilon()


def pearson_correlation(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Pearson's r between y_true and y_pred along ``axis`` (population standard deviations).

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.
        axis: the axis the correlation runs along.

    Returns:
        One value per sample (the other axes).

    >>> float(pearson_correlation([1.0, 2.0, 3.0], [2.0, 4.0, 7.0]).round(4))
    0.9934
    """
    t, p = float_pair("pearson_correlation", y_true, y_pred)
    t = t - t.mean(axis=axis, keepdims=True)
    p = p - p.mean(axis=axis, keepdims=True)
    t = t / t.std(axis=axis, keepdims=True)
    p = p / p.std(axis=axis, keepdims=True)
    return (t * p).mean(axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1) -> np.ndarray:
    """Lin's concordance correlation along ``axis``, written exactly as Keras 3 computes it.

    Keras's covariance term is ``(y_true - mean(y_pred)) * (y_pred - mean(y_pred))`` (y_pred's
    mean on both sides) and the denominator gets 1e-7; nerve follows it so that the numbers
    match Keras's.

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.
        axis: the axis the correlation runs along.

    Returns:
        One value per sample (the other axes).
    """
    t, p = float_pair("concordance_correlation", y_true, y_pred)
    t_mean = t.mean(axis=axis, keepdims=True)
    p_mean = p.mean(axis=axis, keepdims=True)
    t_var = (t - t_mean).var(axis=axis, keepdims=True)
    p_var = (p - p_mean).var(axis=axis, keepdims=True)
    covar = (t - p_mean) * (p - p_mean)
    norm = t_var + p_var + np.square(t_mean - p_mean)
    return (2 * covar / (norm + t.dtype.type(_EPSILON))).mean(axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The (weighted) mean of the per-sample Pearson correlation along ``axis``.

    Args:
        name: the metric's name.
        axis: the axis the correlation runs along (default -1).

    >>> m = PearsonCorrelation()
    >>> round(m([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]]), 4)
    0.9934
    """

    def __init__(self, name: str = "pearson_correlation", axis: int = -1):
        super().__init__(pearson_correlation, name=name, axis=int(axis))


class ConcordanceCorrelation(MeanMetricWrapper):
    """The (weighted) mean of the per-sample concordance correlation along ``axis``.

    Args:
        name: the metric's name.
        axis: the axis the correlation runs along (default -1).
    """

    def __init__(self, name: str = "concordance_correlation", axis: int = -1):
        super().__init__(concordance_correlation, name=name, axis=int(axis))
