"""AUC: the area under the ROC or precision-recall curve, streamed over fixed thresholds.

Like Keras, AUC does not keep the predictions: it keeps weighted tp/fp/tn/fn counts at
``num_thresholds`` fixed thresholds (evenly spaced in [0, 1], plus one just below 0 and one just
above 1) and integrates the curve through those points. Memory is O(num_thresholds) whatever the
data size, at the price of an approximation: predictions that fall between the same two
thresholds are treated as tied. With 200 thresholds the ROC area is within about 1/400 of the
exact value on typical data; predictions that the thresholds separate give the exact ROC area.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import Metric, divide, same_shape, weights_like
from nerve.metrics.confusion import check_binary, counts_at_thresholds

_EPSILON = 1e-7  # Keras's: the end thresholds sit just outside [0, 1]
_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC curve (or the precision-recall curve), Keras's approximation.

    Inputs are 0/1 labels and probabilities of one shape (logits with ``from_logits=True``).
    Without ``multi_label`` every element is pooled into one curve; with it each column
    (label) gets its own curve and the areas are averaged (weighted by ``label_weights``).

    Args:
        num_thresholds: number of thresholds, > 1; more is closer to the exact area.
        curve: 'ROC' or 'PR'.
        summation_method: 'interpolation' (trapezoids for ROC; for PR, Davis & Goadrich's
            interpolation of precision between thresholds), 'minoring' or 'majoring' (left or
            right Riemann sums, a lower and an upper bound).
        name: the metric's name.
        thresholds: explicit thresholds in [0, 1] to use instead of evenly spaced ones
            (-1e-7 and 1 + 1e-7 are added); then num_thresholds is len(thresholds) + 2.
        multi_label: one curve per column of the last axis instead of one pooled curve.
        num_labels: the number of labels when multi_label (otherwise taken from the data).
        label_weights: one weight per label: the weights of the per-label average with
            multi_label, else weights of each column's elements in the pooled curve.
        from_logits: apply a sigmoid to y_pred first.

    >>> m = AUC(num_thresholds=3)
    >>> m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str = "auc",
        thresholds=None,
        multi_label: bool = False,
        num_labels=None,
        label_weights=None,
        from_logits: bool = False,
    ):
        super().__init__(name)
        if str(curve).upper() not in _CURVES:
            raise ValueError(f"AUC: curve must be one of {_CURVES}, got {curve!r}")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {_SUMMATIONS}, got {summation_method!r}"
            )
        if thresholds is not None:
            inner = np.sort(np.asarray(thresholds, dtype=np.float64).ravel())
            if not ((inner >= 0) & (inner <= 1)).all():
                raise ValueError(f"AUC: thresholds must lie in [0, 1], got {thresholds!r}")
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or int(num_thresholds) != num_thresholds:
                raise ValueError(f"AUC: num_thresholds must be an integer, got {num_thresholds!r}")
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            num_thresholds = int(num_thresholds)
            inner = np.arange(1, num_thresholds - 1) / (num_thresholds - 1)
        self.num_thresholds = num_thresholds
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        self.multi_label = bool(multi_label)
        self.num_labels = None if num_labels is None else int(num_labels)
        self.label_weights = None
        if label_weights is not None:
            self.label_weights = np.asarray(label_weights, dtype=np.float64).ravel()
            if (self.label_weights < 0).any():
                raise ValueError(f"AUC: label_weights must be >= 0, got {label_weights!r}")
        self.from_logits = bool(from_logits)
        self._thresholds_given = None if thresholds is None else inner.tolist()
        self.thresholds = np.concatenate([[0.0 - _EPSILON], inner, [1.0 + _EPSILON]])
        self.reset_state()

    def reset_state(self) -> None:
        # Shape (num_thresholds, labels); labels = 1 unless multi_label. Made on first update.
        self.true_positives = self.false_positives = None
        self.true_negatives = self.false_negatives = None
        if not self.multi_label or self.num_labels is not None:
            self._allocate(self.num_labels if self.multi_label else 1)

    def _allocate(self, n_labels: int) -> None:
        shape = (self.num_thresholds, n_labels)
        self.true_positives, self.false_positives = np.zeros(shape), np.zeros(shape)
        self.true_negatives, self.false_negatives = np.zeros(shape), np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of 0/1 labels and probabilities (or logits), with optional weights."""
        y_true, y_pred = same_shape("AUC", y_true, y_pred)
        y_pred = y_pred.astype(np.float64)
        if self.from_logits:
            # sigmoid, written so that large |x| does not overflow exp
            y_pred = np.exp(-np.logaddexp(0.0, -y_pred))
        check_binary("AUC", y_true, y_pred)
        w = (
            np.ones(y_true.shape)
            if sample_weight is None
            else weights_like("AUC", sample_weight, y_true.shape)
        )
        if self.label_weights is not None and not self.multi_label:
            w = w * self._label_weights_for(y_pred.shape)
        if self.multi_label:
            if y_pred.ndim < 2:
                raise ValueError(
                    f"AUC(multi_label=True): inputs need a label axis, got shape {y_pred.shape}"
                )
            n_labels = y_pred.shape[-1]
            if self.true_positives is None:
                self._allocate(n_labels)
            if n_labels != self.true_positives.shape[1]:
                raise ValueError(
                    f"AUC: y_pred has {n_labels} labels (shape {y_pred.shape}), expected "
                    f"{self.true_positives.shape[1]}"
                )
        else:
            n_labels = 1
        tp, fp, tn, fn = counts_at_thresholds(
            y_true.reshape(-1, n_labels).astype(bool),
            y_pred.reshape(-1, n_labels),
            w.reshape(-1, n_labels),
            self.thresholds,
        )
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _label_weights_for(self, shape: tuple) -> np.ndarray:
        if not shape or shape[-1] != len(self.label_weights):
            raise ValueError(
                f"AUC: {len(self.label_weights)} label_weights but y_pred has shape {shape}"
            )
        return self.label_weights

    def _interpolate_pr_auc(self) -> np.ndarray:
        # Davis & Goadrich (2006): between two thresholds tp and p = tp + fp vary linearly, so
        # precision = tp / p integrates in closed form (a linear term and a log term).
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        p = tp + fp
        dtp = tp[:-1] - tp[1:]
        dp = p[:-1] - p[1:]
        slope = divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = divide(
            slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)
        )
        return increment.sum(axis=0)

    def _by_label(self) -> np.ndarray:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = (
            self.true_positives,
            self.false_positives,
            self.true_negatives,
            self.false_negatives,
        )
        recall = divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide(fp, fp + tn), recall
        else:
            x, y = recall, divide(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum(axis=0)

    def result(self) -> float:
        if self.true_positives is None:
            return 0.0
        by_label = self._by_label()
        if not self.multi_label:
            return float(by_label[0])
        if self.label_weights is None:
            return float(by_label.mean())
        weights = self._label_weights_for((len(by_label),))
        return float(divide((by_label * weights).sum(), weights.sum()))

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self._thresholds_given is not None:
            config["thresholds"] = self._thresholds_given
            del config["num_thresholds"]
        return config


__all__ = ["AUC"]
