"""Metrics built on confusion counts: Precision, Recall and the confusion matrix.

Precision, Recall (and AUC, in ``auc.py``) keep weighted true/false positive/negative counts at
each threshold, like Keras; F1Score keeps them per class; ConfusionMatrix keeps the matrix.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import (
    Metric,
    as_array,
    check_labels,
    divide,
    same_shape,
    weights_like,
)

_NEG_INF = -np.inf


def check_binary(who: str, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Raise unless y_true holds 0/1 labels and y_pred probabilities in [0, 1]."""
    if y_pred.size and not ((y_pred >= 0) & (y_pred <= 1)).all():
        raise ValueError(
            f"{who}: y_pred must hold probabilities in [0, 1], found values in "
            f"[{np.nanmin(y_pred)}, {np.nanmax(y_pred)}] (or NaN); apply a sigmoid or softmax "
            "to logits first"
        )
    if y_true.size and not ((y_true == 0) | (y_true == 1)).all():
        bad = y_true[(y_true != 0) & (y_true != 1)].flat[0].item()
        raise ValueError(
            f"{who}: y_true must hold 0/1 labels (one column per class), found {bad!r}; "
            "one-hot encode class labels first"
        )


def filter_top_k(y_pred: np.ndarray, k: int) -> np.ndarray:
    """Keep the k highest scores along the last axis, set the others to -inf (Keras's rule)."""
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    out = np.full(y_pred.shape, _NEG_INF)
    np.put_along_axis(out, top, np.take_along_axis(y_pred, top, axis=-1), axis=-1)
    return out


def counts_at_thresholds(labels, preds, weights, thresholds):
    """Weighted (tp, fp, tn, fn), each of shape (T, L), for ``preds > thresholds[j]``.

    Args:
        labels: bool array (M, L); preds, weights: float arrays (M, L).
        thresholds: ascending array (T,).

    One pass: each prediction falls in the bucket of the thresholds below it (searchsorted),
    bucket sums are histograms, and cumulative sums turn them into counts per threshold, so the
    cost is O(M log T + T) and the memory O(M + T), whatever the number of thresholds.
    """
    n_thr, n_lab = len(thresholds), preds.shape[1]
    below = np.searchsorted(thresholds, preds, side="left")  # thresholds strictly below
    key = (below * n_lab + np.arange(n_lab)).ravel()
    size = (n_thr + 1) * n_lab
    pos = np.bincount(key, weights=(weights * labels).ravel(), minlength=size)
    neg = np.bincount(key, weights=(weights * ~labels).ravel(), minlength=size)
    pos, neg = pos.reshape(n_thr + 1, n_lab), neg.reshape(n_thr + 1, n_lab)
    # preds > thresholds[j] exactly when below > j: the buckets above j are predicted positive.
    tp = np.cumsum(pos[::-1], axis=0)[::-1][1:]
    fp = np.cumsum(neg[::-1], axis=0)[::-1][1:]
    fn = np.cumsum(pos, axis=0)[:n_thr]
    tn = np.cumsum(neg, axis=0)[:n_thr]
    return tp, fp, tn, fn


class _ThresholdMetric(Metric):
    """Precision and Recall: confusion counts at one or more thresholds."""

    def __init__(self, thresholds, top_k, class_id, name):
        super().__init__(name)
        if top_k is not None and (isinstance(top_k, bool) or int(top_k) != top_k or top_k < 1):
            raise ValueError(
                f"{type(self).__name__}: top_k must be a positive integer, got {top_k}"
            )
        if class_id is not None and (isinstance(class_id, bool) or int(class_id) != class_id):
            raise ValueError(f"{type(self).__name__}: class_id must be an integer, got {class_id}")
        self.thresholds = thresholds
        self.top_k = None if top_k is None else int(top_k)
        self.class_id = None if class_id is None else int(class_id)
        if thresholds is None:
            thr = np.array([0.5 if top_k is None else _NEG_INF])
        else:
            thr = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
            if thr.ndim != 1 or not ((thr >= 0) & (thr <= 1)).all():
                raise ValueError(
                    f"{type(self).__name__}: thresholds must be numbers in [0, 1], "
                    f"got {thresholds!r}"
                )
        self._single = thresholds is None or np.ndim(thresholds) == 0
        self._order = np.argsort(thr, kind="stable")
        self._sorted = thr[self._order]
        self.reset_state()

    def reset_state(self) -> None:
        n = len(self._sorted)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of 0/1 labels and probabilities (one column per class), optional weights."""
        who = type(self).__name__
        y_true, y_pred = same_shape(who, y_true, y_pred)
        check_binary(who, y_true, y_pred)
        w = (
            np.ones(y_true.shape)
            if sample_weight is None
            else weights_like(who, sample_weight, y_true.shape)
        )
        if self.top_k is not None:
            y_pred = filter_top_k(y_pred, self.top_k)
        if self.class_id is not None:
            n_classes = y_pred.shape[-1] if y_pred.ndim else 0
            if not 0 <= self.class_id < n_classes:
                raise ValueError(
                    f"{who}: class_id={self.class_id} but y_pred has shape {y_pred.shape}, "
                    f"so there are {n_classes} classes"
                )
            y_true, y_pred, w = (a[..., self.class_id] for a in (y_true, y_pred, w))
        tp, fp, _, fn = counts_at_thresholds(
            y_true.reshape(-1, 1).astype(bool),
            y_pred.reshape(-1, 1).astype(np.float64),
            w.reshape(-1, 1),
            self._sorted,
        )
        # Counts are kept in sorted-threshold order; result() restores the user's order.
        self.true_positives += tp[:, 0]
        self.false_positives += fp[:, 0]
        self.false_negatives += fn[:, 0]

    def _in_user_order(self, values: np.ndarray):
        out = np.empty_like(values)
        out[self._order] = values
        return float(out[0]) if self._single else out

    def get_config(self) -> dict:
        thr = self.thresholds
        thr = thr.tolist() if isinstance(thr, np.ndarray) else thr
        return {
            "name": self.name,
            "thresholds": thr,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdMetric):
    """tp / (tp + fp): of the predictions above the threshold, the fraction truly positive.

    Inputs are 0/1 labels and probabilities of one shape; every element counts (multi-label
    columns are pooled) unless ``class_id`` picks one column. 0.0 when nothing is predicted
    positive (scikit-learn's ``zero_division=0``).

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them; a list gives an array.
        top_k: only the k highest predictions of each sample can count as positive.
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.

    >>> m = Precision()
    >>> m([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name: str = "precision"):
        super().__init__(thresholds, top_k, class_id, name)

    def result(self):
        tp = self.true_positives
        return self._in_user_order(divide(tp, tp + self.false_positives))


class Recall(_ThresholdMetric):
    """tp / (tp + fn): of the true positives, the fraction predicted above the threshold.

    Inputs and arguments as for :class:`Precision`; 0.0 when there is no positive label.

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them; a list gives an array.
        top_k: only the k highest predictions of each sample can count as positive.
        class_id: the column (class) to score; None pools every element.
        name: the metric's name.

    >>> m = Recall()
    >>> m([0, 1, 1, 1], [1, 0, 1, 1])
    0.6666666666666666
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name: str = "recall"):
        super().__init__(thresholds, top_k, class_id, name)

    def result(self):
        tp = self.true_positives
        return self._in_user_order(divide(tp, tp + self.false_negatives))


def _to_labels(a: np.ndarray, other: np.ndarray, num_classes: int) -> np.ndarray:
    """Labels from a column of labels (..., 1), scores or one-hot (..., C), or labels as is."""
    if a.ndim >= 2 and a.shape[-1] == 1 and num_classes > 1:
        return a[..., 0]
    if a.ndim >= 2 and a.shape[-1] == num_classes and a.ndim >= other.ndim:
        return np.argmax(a, axis=-1)
    return a


class ConfusionMatrix(Metric):
    """The confusion matrix: entry [i, j] counts samples of true class i predicted as class j.

    Rows are true labels and columns predictions, as in scikit-learn. Each of y_true and y_pred
    may be integer labels, or scores / one-hot of shape (..., num_classes) (their argmax is
    taken). With ``sample_weight`` the entries are weighted sums (floats), otherwise ints.

    Args:
        num_classes: the number of classes; labels must lie in [0, num_classes).
        name: the metric's name.

    >>> m = ConfusionMatrix(num_classes=3)
    >>> m([0, 1, 2, 2], [[0.9, 0.1, 0.0], [0.2, 0.1, 0.7], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 1]])
    """

    def __init__(self, num_classes: int, name: str = "confusion_matrix"):
        super().__init__(name)
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(
                f"ConfusionMatrix: num_classes must be an integer >= 1, got {num_classes!r}"
            )
        self.num_classes = int(num_classes)
        self.reset_state()

    def reset_state(self) -> None:
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch of labels (or scores / one-hot) and optional per-sample weights."""
        y_true, y_pred = as_array(y_true), as_array(y_pred)
        c = self.num_classes
        t, p = _to_labels(y_true, y_pred, c), _to_labels(y_pred, y_true, c)
        if t.shape != p.shape:
            raise ValueError(
                f"ConfusionMatrix: y_true has shape {y_true.shape} but y_pred has shape "
                f"{y_pred.shape}; expected labels of one shape, or scores / one-hot of shape "
                f"(..., {c}) on either side"
            )
        t = check_labels("ConfusionMatrix", t, c, "y_true")
        p = check_labels("ConfusionMatrix", p, c, "y_pred")
        if sample_weight is None:
            counts = np.bincount((t * c + p).ravel(), minlength=c * c)
        else:
            w = weights_like("ConfusionMatrix", sample_weight, t.shape)
            counts = np.bincount((t * c + p).ravel(), weights=w.ravel(), minlength=c * c)
            self.matrix = self.matrix.astype(np.float64)
        self.matrix = self.matrix + counts.reshape(c, c)

    def result(self) -> np.ndarray:
        return self.matrix.copy()

    def get_config(self) -> dict:
        return {"name": self.name, "num_classes": self.num_classes}
