"""Regression metrics: mean absolute and squared error, RMSE, and R^2.

Inputs of shape (batch,) hold one value per sample; inputs of shape (batch, outputs) are averaged
over the outputs within each sample first (Keras's per-sample losses). Either way, unweighted,
the result is the mean over every element, as scikit-learn's ``uniform_average``.
"""

from __future__ import annotations

import warnings

import numpy as np

from nerve.metrics.base import (
    Mean,
    MeanMetricWrapper,
    Metric,
    divide,
    float_dtype,
    same_shape,
    to_result,
    weights_like,
)


def _errors(who: str, y_true, y_pred) -> np.ndarray:
    y_true, y_pred = same_shape(who, y_true, y_pred)
    dtype = float_dtype(y_true, y_pred)
    return y_pred.astype(dtype) - y_true.astype(dtype)


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean of |y_pred - y_true| (over the last axis for 2-d or larger inputs).

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.

    >>> mean_absolute_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    array([0.5, 0.5])
    """
    err = np.abs(_errors("mean_absolute_error", y_true, y_pred))
    return err.mean(axis=-1) if err.ndim >= 2 else err


def mean_squared_error(y_true, y_pred) -> np.ndarray:
    """Per-sample mean of (y_pred - y_true)^2 (over the last axis for 2-d or larger inputs).

    Args:
        y_true: targets.
        y_pred: predictions of the same shape.

    >>> mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    array([0.5, 0.5])
    """
    err = np.square(_errors("mean_squared_error", y_true, y_pred))
    return err.mean(axis=-1) if err.ndim >= 2 else err


class MeanAbsoluteError(MeanMetricWrapper):
    """The (weighted) mean absolute error.

    Args:
        name: the metric's name.

    >>> m = MeanAbsoluteError()
    >>> m([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.25
    """

    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name)


class MeanSquaredError(MeanMetricWrapper):
    """The (weighted) mean squared error.

    Args:
        name: the metric's name.

    >>> m = MeanSquaredError()
    >>> m([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.25
    """

    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name=name)


class RootMeanSquaredError(Mean):
    """The square root of the (weighted) mean squared error over everything seen.

    The root is taken of the streamed mean, not averaged per batch. For 2-d targets this is
    the root of the mean over every element (scikit-learn's ``root_mean_squared_error`` instead
    averages one root per output).

    Args:
        name: the metric's name.

    >>> m = RootMeanSquaredError()
    >>> m([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    0.5
    """

    def __init__(self, name: str = "root_mean_squared_error"):
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of targets and predictions, with optional per-sample weights."""
        err = _errors(type(self).__name__, y_true, y_pred)
        self._accumulate(np.square(err), sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination R^2 = 1 - SS_res / SS_tot, per output, streamed.

    The target variance is merged across batches with Chan et al.'s pairwise update (weighted
    count, mean and sum of squared deviations per output), which is exact and does not suffer
    the cancellation of ``sum(y^2) - sum(y)^2 / n``. A constant target gives 1.0 when predicted
    exactly and 0.0 otherwise, as scikit-learn does.

    Args:
        class_aggregation: 'uniform_average' (mean over outputs), 'variance_weighted_average'
            (weighted by each output's variance) or None (one score per output).
        num_regressors: if > 0, the adjusted R^2 for that many regressors,
            1 - (1 - R^2) (n - 1) / (n - p - 1), with n the number of samples seen.
        name: the metric's name.

    >>> m = R2Score()
    >>> round(m([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.2, 3.8]), 6)
    0.98
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(
        self,
        class_aggregation="uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
    ):
        super().__init__(name)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                f"R2Score: class_aggregation must be one of {self._AGGREGATIONS}, "
                f"got {class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or int(num_regressors) != num_regressors:
            raise ValueError(f"R2Score: num_regressors must be an integer, got {num_regressors!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.reset_state()

    def reset_state(self) -> None:
        # Per-output accumulators, sized on the first batch.
        self.weight_sum = self.mean = self.m2 = self.sse = None
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of targets and predictions, (batch,) or (batch, outputs), with weights."""
        y_true, y_pred = same_shape("R2Score", y_true, y_pred)
        if y_true.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_true.ndim != 2:
            raise ValueError(
                "R2Score: expected inputs of shape (batch,) or (batch, outputs), "
                f"got {y_true.shape}"
            )
        y, p = y_true.astype(np.float64), y_pred.astype(np.float64)
        if self.mean is not None and y.shape[1] != len(self.mean):
            raise ValueError(
                f"R2Score: this batch has {y.shape[1]} outputs, earlier ones had {len(self.mean)}"
            )
        w = (
            np.ones(y.shape)
            if sample_weight is None
            else weights_like("R2Score", sample_weight, y.shape)
        )
        w_b = w.sum(axis=0)
        mean_b = divide((w * y).sum(axis=0), w_b)
        m2_b = (w * (y - mean_b) ** 2).sum(axis=0)
        sse_b = (w * (y - p) ** 2).sum(axis=0)
        if self.mean is None:
            self.weight_sum, self.mean, self.m2, self.sse = w_b, mean_b, m2_b, sse_b
        else:
            total = self.weight_sum + w_b
            delta = mean_b - self.mean
            self.mean = self.mean + delta * divide(w_b, total)
            self.m2 = self.m2 + m2_b + delta**2 * divide(self.weight_sum * w_b, total)
            self.weight_sum = total
            self.sse = self.sse + sse_b
        self.num_samples += y.shape[0]

    def result(self):
        if self.mean is None:
            return 0.0
        varies = self.m2 > 0
        raw = np.where(varies, 1.0 - divide(self.sse, self.m2), np.where(self.sse == 0, 1.0, 0.0))
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = divide((raw * self.m2).sum(), self.m2.sum()) if varies.any() else raw.min()
        else:
            score = raw
        p, n = self.num_regressors, self.num_samples
        if p:
            if n - p - 1 <= 0:
                warnings.warn(
                    f"R2Score: adjusted R^2 needs more samples ({n}) than num_regressors + 1 "
                    f"({p + 1}); returning the unadjusted score",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (n - 1) / (n - p - 1)
        return to_result(score)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
