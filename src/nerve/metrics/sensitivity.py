"""The best value of one rate subject to a floor on another, over a grid of thresholds (Keras's
SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision).

Confusion counts are kept at ``num_thresholds`` thresholds evenly spaced over [0, 1] (0 and 1
included; a prediction above a threshold is a positive), as Keras's; the result is the largest
value of the dependent rate among the thresholds where the constrained rate reaches the target
(0.0 when none does).
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import Metric, divide, same_shape, weights_like
from nerve.metrics.confusion import check_binary, counts_at_thresholds


class _AtConstraint(Metric):
    _target_name = "value"  # the constructor argument holding the target rate

    def __init__(self, value, num_thresholds: int = 200, class_id=None, name=None):
        who = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"{who}: {self._target_name} must be a number in [0, 1]")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{who}: {self._target_name} must be in [0, 1], got {value}")
        if isinstance(num_thresholds, bool) or int(num_thresholds) != num_thresholds:
            raise ValueError(f"{who}: num_thresholds must be an integer, got {num_thresholds!r}")
        if num_thresholds < 1:
            raise ValueError(f"{who}: num_thresholds must be > 0, got {num_thresholds}")
        if class_id is not None and (isinstance(class_id, bool) or int(class_id) != class_id):
            raise ValueError(f"{who}: class_id must be an integer, got {class_id!r}")
        super().__init__(name or self._default_name)
        self.value = float(value)
        self.num_thresholds = int(num_thresholds)
        self.class_id = None if class_id is None else int(class_id)
        n = self.num_thresholds
        if n == 1:
            self.thresholds = np.array([0.5])
        else:
            inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
            self.thresholds = np.array([0.0, *inner, 1.0])
        self.reset_state()

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.true_negatives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of 0/1 labels and probabilities of one shape, with optional weights."""
        who = type(self).__name__
        y_true, y_pred = same_shape(who, y_true, y_pred)
        check_binary(who, y_true, y_pred)
        w = (
            np.ones(y_true.shape)
            if sample_weight is None
            else weights_like(who, sample_weight, y_true.shape)
        )
        if self.class_id is not None:
            n_classes = y_pred.shape[-1] if y_pred.ndim else 0
            if not 0 <= self.class_id < n_classes:
                raise ValueError(
                    f"{who}: class_id={self.class_id} but y_pred has shape {y_pred.shape}, "
                    f"so there are {n_classes} classes"
                )
            y_true, y_pred, w = (a[..., self.class_id] for a in (y_true, y_pred, w))
        tp, fp, tn, fn = counts_at_thresholds(
            y_true.reshape(-1, 1).astype(bool),
            y_pred.reshape(-1, 1).astype(np.float64),
            np.asarray(w, dtype=np.float64).reshape(-1, 1),
            self.thresholds,
        )
        self.true_positives += tp[:, 0]
        self.false_positives += fp[:, 0]
        self.true_negatives += tn[:, 0]
        self.false_negatives += fn[:, 0]

    def _rates(self) -> dict:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        return {
            "sensitivity": divide(tp, tp + fn),  # = recall
            "specificity": divide(tn, tn + fp),
            "precision": divide(tp, tp + fp),
        }

    def _best(self, constrained: np.ndarray, dependent: np.ndarray) -> float:
        feasible = constrained >= self.value
        return float(np.max(np.where(feasible, dependent, 0.0), initial=0.0))

    def get_config(self) -> dict:
        return {
            "name": self.name,
            self._target_name: self.value,
            "num_thresholds": self.num_thresholds,
            "class_id": self.class_id,
        }


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) at a specificity of at least ``specificity``.

    Args:
        specificity: the floor on tn / (tn + fp), in [0, 1].
        num_thresholds: the number of thresholds tried (default 200).
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.

    >>> m = SensitivityAtSpecificity(0.5)
    >>> m([0, 0, 0, 1, 1], [0.0, 0.3, 0.8, 0.3, 0.8])
    0.5
    """

    _default_name = "sensitivity_at_specificity"
    _target_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None):
        super().__init__(specificity, num_thresholds, class_id, name)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["specificity"], r["sensitivity"])


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity at a sensitivity (recall) of at least ``sensitivity``.

    Args:
        sensitivity: the floor on tp / (tp + fn), in [0, 1].
        num_thresholds: the number of thresholds tried (default 200).
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.
    """

    _default_name = "specificity_at_sensitivity"
    _target_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None):
        super().__init__(sensitivity, num_thresholds, class_id, name)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["sensitivity"], r["specificity"])


class PrecisionAtRecall(_AtConstraint):
    """The best precision at a recall of at least ``recall``.

    Args:
        recall: the floor on tp / (tp + fn), in [0, 1].
        num_thresholds: the number of thresholds tried (default 200).
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.
    """

    _default_name = "precision_at_recall"
    _target_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None):
        super().__init__(recall, num_thresholds, class_id, name)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["sensitivity"], r["precision"])


class RecallAtPrecision(_AtConstraint):
    """The best recall at a precision of at least ``precision``.

    Args:
        precision: the floor on tp / (tp + fp), in [0, 1].
        num_thresholds: the number of thresholds tried (default 200).
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.
    """

    _default_name = "recall_at_precision"
    _target_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None):
        super().__init__(precision, num_thresholds, class_id, name)

    def result(self) -> float:
        r = self._rates()
        return self._best(r["precision"], r["sensitivity"])
