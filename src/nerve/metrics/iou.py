"""Intersection-over-union metrics (Keras's IoU family): IoU, MeanIoU, BinaryIoU, OneHotIoU and
OneHotMeanIoU, for segmentation maps or class labels.

Each keeps a weighted (num_classes, num_classes) confusion matrix (rows: true class, columns:
predicted class). The IoU of class c is tp / (tp + fp + fn); the result is the mean over the
chosen classes that appear at all (a class with no true and no predicted element is left out of
the mean, as Keras does). As Keras, labels or predictions outside [0, num_classes) and the
``ignore_class`` label are skipped, and float predictions given as class ids are truncated to
integers. Unlike Keras (which casts weights to its int accumulator, with a warning), fractional
sample weights count as given.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import Metric, as_array, divide, weights_like


def _positive_int(value, what: str, who: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{who}: {what} must be a positive integer, got {value!r}")
    return int(value)


class IoU(Metric):
    """The mean IoU over ``target_class_ids``, from a streamed confusion matrix.

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoUs are averaged.
        name: the metric's name (default 'io_u', as Keras).
        ignore_class: a label (e.g. a 'void' class such as 255) whose elements are skipped.
        sparse_y_true: labels are class ids; False: one-hot/scores, argmax over ``axis``.
        sparse_y_pred: predictions are class ids; False: scores, argmax over ``axis``.
        axis: the class axis of non-sparse inputs.

    Raises:
        ValueError: for a target class outside [0, num_classes).

    >>> m = IoU(num_classes=2, target_class_ids=[0])
    >>> round(m([0, 0, 1, 1], [0, 1, 0, 1]), 6)
    0.333333
    """

    _default_name = "io_u"

    def __init__(
        self,
        num_classes: int,
        target_class_ids,
        name: str | None = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        who = type(self).__name__
        super().__init__(name or self._default_name)
        self.num_classes = _positive_int(num_classes, "num_classes", who)
        ids = [int(i) for i in target_class_ids]
        if not ids or min(ids) < 0 or max(ids) >= self.num_classes:
            raise ValueError(
                f"{who}: target_class_ids {list(target_class_ids)} must be class ids in "
                f"[0, {self.num_classes})"
            )
        self.target_class_ids = ids
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = int(axis)
        self.reset_state()

    def reset_state(self) -> None:
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def _ids(self, values, sparse: bool) -> np.ndarray:
        a = as_array(values)
        if not sparse:
            a = np.argmax(a, axis=self.axis)
        return a.astype(np.int64).reshape(-1)  # float ids truncate, as Keras's int cast

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of labels and predictions (any shape; flattened), optional weights."""
        who = type(self).__name__
        t = self._ids(y_true, self.sparse_y_true)
        p = self._ids(y_pred, self.sparse_y_pred)
        if t.shape != p.shape:
            raise ValueError(
                f"{who}: y_true gives {t.size} labels but y_pred gives {p.size} predictions; "
                "they must match element for element"
            )
        if sample_weight is None:
            w = np.ones(t.shape)
        else:
            w = as_array(sample_weight).astype(np.float64)
            w = w.reshape(-1) if w.ndim > 1 else w
            w = weights_like(who, w, t.shape)
        n = self.num_classes
        keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        cells = t[keep] * n + p[keep]
        self.total_cm += np.bincount(cells, weights=w[keep], minlength=n * n).reshape(n, n)

    def result(self) -> float:
        cm = self.total_cm
        tp = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
        ids = self.target_class_ids
        tp, denominator = tp[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = np.where(valid, divide(tp, denominator), 0.0)
        return float(divide(iou.sum(), valid.sum()))

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "target_class_ids": list(self.target_class_ids),
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class MeanIoU(IoU):
    """The mean IoU over every class (Keras's MeanIoU). Arguments as :class:`IoU`, without
    target_class_ids.

    >>> m = MeanIoU(num_classes=2)
    >>> round(m([0, 0, 1, 1], [0, 1, 0, 1]), 6)
    0.333333
    """

    _default_name = "mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        n = _positive_int(num_classes, "num_classes", "MeanIoU")
        super().__init__(n, range(n), name, ignore_class, sparse_y_true, sparse_y_pred, axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of binary labels, predictions thresholded (>= threshold is class 1).

    Args:
        target_class_ids: [0], [1] or [0, 1] (default): the classes averaged.
        threshold: the prediction threshold (default 0.5).
        name: the metric's name (default 'binary_io_u').

    >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> round(m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]), 6)
    0.333333
    """

    _default_name = "binary_io_u"

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name: str | None = None):
        super().__init__(2, target_class_ids, name)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of 0/1 labels and scores (thresholded), optional weights."""
        p = (as_array(y_pred).astype(np.float32) >= np.float32(self.threshold)).astype(np.int64)
        super().update_state(y_true, p, sample_weight)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "target_class_ids": list(self.target_class_ids),
            "threshold": self.threshold,
        }


class OneHotIoU(IoU):
    """IoU over ``target_class_ids`` for one-hot labels and score predictions (argmax over
    ``axis``). Arguments as :class:`IoU`; sparse_y_pred=True takes class-id predictions."""

    _default_name = "one_hot_io_u"

    def __init__(
        self,
        num_classes: int,
        target_class_ids,
        name: str | None = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes, target_class_ids, name, ignore_class, False, sparse_y_pred, axis
        )

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """The mean IoU over every class for one-hot labels and score predictions.

    >>> m = OneHotMeanIoU(num_classes=3)
    >>> round(m([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7]]), 6)
    0.25
    """

    _default_name = "one_hot_mean_io_u"

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(num_classes, name, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
