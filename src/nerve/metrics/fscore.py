"""F-scores per class (Keras 3's FBetaScore and F1Score), optionally averaged over classes."""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import Metric, as_array, check_labels, divide, to_result, weights_like


class FBetaScore(Metric):
    """Per-class F-beta score, (1 + b^2) P R / (b^2 P + R), optionally averaged (Keras 3).

    y_pred holds one score per class, shape (batch, classes); y_true is one-hot or multi-hot of
    that shape, or integer labels of shape (batch,) which are one-hot encoded. With
    ``threshold=None`` each sample's highest score is its prediction (ties all count, as in
    Keras); otherwise every score above the threshold is. Divisions by zero give 0 exactly, as
    scikit-learn's ``zero_division=0`` (Keras adds 1e-7 to each denominator instead).

    Args:
        average: None (one score per class), 'micro' (pooled counts), 'macro' (unweighted mean
            over classes) or 'weighted' (mean weighted by each class's support).
        beta: weight of recall relative to precision, > 0.
        threshold: None, or a float in (0, 1].
        name: the metric's name.

    >>> m = FBetaScore(beta=2.0, threshold=0.5)
    >>> m([[1, 0], [1, 1]], [[0.9, 0.2], [0.3, 0.8]])
    array([0.55555556, 1.        ])
    """

    _AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta: float = 1.0, threshold=None, name: str = "fbeta_score"):
        super().__init__(name)
        if average not in self._AVERAGES:
            raise ValueError(
                f"{type(self).__name__}: average must be one of {self._AVERAGES}, got {average!r}"
            )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{type(self).__name__}: beta must be a number > 0, got {beta!r}")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError(
                f"{type(self).__name__}: threshold must be None or in (0, 1], got {threshold!r}"
            )
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        self.reset_state()

    def reset_state(self) -> None:
        # Per-class counts; the number of classes is taken from the first batch.
        self.true_positives = self.false_positives = self.false_negatives = None
        self.support = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch: y_true one-hot (or labels), y_pred scores (batch, classes), weights."""
        who = type(self).__name__
        y_true, y_pred = as_array(y_true), as_array(y_pred).astype(np.float64)
        if y_pred.ndim != 2:
            raise ValueError(f"{who}: y_pred must have shape (batch, classes), got {y_pred.shape}")
        n_classes = y_pred.shape[1]
        if y_true.ndim == 2 and y_true.shape[1] == 1 and n_classes > 1:
            y_true = y_true[:, 0]
        if y_true.ndim == 1 and y_true.shape[0] == y_pred.shape[0]:
            if n_classes > 1:
                y_true = np.eye(n_classes, dtype=bool)[check_labels(who, y_true, n_classes)]
            else:
                y_true = y_true[:, None]
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{who}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
                "expected one-hot labels of y_pred's shape or integer labels of shape (batch,)"
            )
        if self.true_positives is not None and n_classes != len(self.true_positives):
            raise ValueError(
                f"{who}: this batch has {n_classes} classes, earlier ones had "
                f"{len(self.true_positives)}"
            )
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            pred = (y_pred >= top) & (np.abs(y_pred) > 1e-9)  # all-zero rows predict nothing
        else:
            pred = y_pred > self.threshold
        true = y_true.astype(bool)
        masks = (pred & true, pred & ~true, ~pred & true, true)  # tp, fp, fn, support
        if sample_weight is None:
            counts = [m.sum(axis=0, dtype=np.float64) for m in masks]
        else:
            w = weights_like(who, sample_weight, y_true.shape)
            counts = [np.where(m, w, 0.0).sum(axis=0) for m in masks]
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, self.support = counts
        else:
            self.true_positives = self.true_positives + counts[0]
            self.false_positives = self.false_positives + counts[1]
            self.false_negatives = self.false_negatives + counts[2]
            self.support = self.support + counts[3]

    def result(self):
        if self.true_positives is None:
            return 0.0 if self.average is not None else np.zeros(0)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = divide(tp, tp + fp), divide(tp, tp + fn)
        b2 = self.beta**2
        score = (1 + b2) * divide(precision * recall, b2 * precision + recall)
        if self.average == "weighted":
            score = (score * divide(self.support, self.support.sum())).sum()
        elif self.average == "macro":
            score = score.mean()
        return to_result(score)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """Per-class F1 score, 2 P R / (P + R), optionally averaged: FBetaScore with beta = 1.

    Args:
        average: None (one score per class), 'micro', 'macro' or 'weighted'.
        threshold: None (each sample's highest score is its prediction) or a float in (0, 1].
        name: the metric's name.

    >>> m = F1Score(threshold=0.5)
    >>> m([[1, 1, 1], [1, 0, 0], [1, 1, 0]], [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    array([0.5       , 0.8       , 0.66666667])
    """

    def __init__(self, average=None, threshold=None, name: str = "f1_score"):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
