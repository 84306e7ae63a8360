"""Accuracy metrics: per-sample functions and the streaming classes that average them.

Each function returns one value per sample (1.0 for a hit, 0.0 for a miss); each class is a
weighted mean of its function, so ``sample_weight`` gives a weighted accuracy as in Keras.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import (
    Mean,
    MeanMetricWrapper,
    as_array,
    check_labels,
    same_shape,
)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """1.0 where ``y_pred > threshold`` agrees with the 0/1 label, per element.

    Args:
        y_true: 0/1 labels.
        y_pred: probabilities, the same shape (a trailing 1 on one side is allowed).
        threshold: predictions above it count as 1.

    >>> binary_accuracy([1, 0, 1], [0.9, 0.6, 0.2])
    array([1., 0., 0.], dtype=float32)
    """
    y_true, y_pred = same_shape("binary_accuracy", y_true, y_pred)
    return (y_true.astype(bool) == (y_pred > threshold)).astype(np.float32)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where the argmax of the one-hot label and of the scores agree, per sample.

    Args:
        y_true: one-hot labels of shape (..., classes).
        y_pred: scores of the same shape.

    >>> categorical_accuracy([[0, 1], [1, 0]], [[0.3, 0.7], [0.4, 0.6]])
    array([1., 0.], dtype=float32)
    """
    y_true, y_pred = same_shape("categorical_accuracy", y_true, y_pred)
    if y_pred.ndim == 0:
        raise ValueError("categorical_accuracy: y_pred must have a class axis, got a scalar")
    hit = np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)
    return hit.astype(np.float32)


def _sparse_labels(who: str, y_true, y_pred):
    """Integer labels of shape y_pred.shape[:-1] checked against the class count, and y_pred."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    if y_pred.ndim == 0:
        raise ValueError(f"{who}: y_pred must have a class axis, got a scalar")
    labels = y_true
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"{who}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            f"expected integer labels of shape {y_pred.shape[:-1]} (or with a trailing 1)"
        )
    return check_labels(who, labels, y_pred.shape[-1]), y_pred


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where the integer label equals the argmax of the scores, per sample.

    Args:
        y_true: integer labels of shape (...,) or (..., 1).
        y_pred: scores of shape (..., classes).

    >>> sparse_categorical_accuracy([1, 0], [[0.3, 0.7], [0.4, 0.6]])
    array([1., 0.], dtype=float32)
    """
    labels, y_pred = _sparse_labels("sparse_categorical_accuracy", y_true, y_pred)
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float32)


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    # A hit when fewer than k classes score strictly higher than the true one: classes tied
    # with it at the boundary count as in the top k (TensorFlow's in_top_k, which Keras uses).
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target).sum(axis=-1) < k).astype(np.float32)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1.0 where the one-hot label's class is among the k highest scores, per sample.

    Args:
        y_true: one-hot labels of shape (..., classes).
        y_pred: scores of the same shape.
        k: how many of the highest scores count as a hit.

    >>> top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.5, 0.3, 0.2], [0.1, 0.5, 0.4]], k=2)
    array([0., 1.], dtype=float32)
    """
    k = _check_k(k)
    y_true, y_pred = same_shape("top_k_categorical_accuracy", y_true, y_pred)
    if y_pred.ndim == 0:
        raise ValueError("top_k_categorical_accuracy: y_pred must have a class axis")
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    """1.0 where the integer label is among the k highest scores, per sample.

    Args:
        y_true: integer labels of shape (...,) or (..., 1).
        y_pred: scores of shape (..., classes).
        k: how many of the highest scores count as a hit.

    >>> sparse_top_k_categorical_accuracy([2, 1], [[0.5, 0.3, 0.2], [0.1, 0.5, 0.4]], k=2)
    array([0., 1.], dtype=float32)
    """
    k = _check_k(k)
    labels, y_pred = _sparse_labels("sparse_top_k_categorical_accuracy", y_true, y_pred)
    return _in_top_k(labels, y_pred, k)


def _exact_accuracy(y_true, y_pred) -> np.ndarray:
    y_true, y_pred = same_shape("accuracy", y_true, y_pred)
    return (y_true == y_pred).astype(np.float32)


_VARIANTS = {
    "binary": binary_accuracy,
    "categorical": categorical_accuracy,
    "sparse_categorical": sparse_categorical_accuracy,
    "exact": _exact_accuracy,
}


def accuracy_variant(y_true_shape: tuple, y_pred_shape: tuple, y_pred_dtype=np.float32) -> str:
    """Which accuracy ``'accuracy'`` means for these shapes, by Keras's rule.

    'binary' when y_pred is 1-d or its last axis is 1 (threshold 0.5), except that integer
    predictions of that shape are labels compared exactly ('exact'); 'sparse_categorical' when
    y_true has one axis fewer, or a last axis of 1 while y_pred has several classes;
    'categorical' otherwise (both one-hot or scores with the same last axis).

    >>> accuracy_variant((32,), (32, 10)), accuracy_variant((32, 10), (32, 10))
    ('sparse_categorical', 'categorical')
    """
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if not y_pred_shape:
        raise ValueError("accuracy: y_pred must have at least one axis (the batch), got a scalar")
    if len(y_pred_shape) == 1 or y_pred_shape[-1] == 1:
        return "exact" if np.dtype(y_pred_dtype).kind in "iu" else "binary"
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape and y_true_shape[-1] == 1):
        return "sparse_categorical"
    return "categorical"


class Accuracy(Mean):
    """Keras's ``'accuracy'``: binary, categorical or sparse, picked from the first batch's shapes.

    The rule is :func:`accuracy_variant`'s; the choice is kept in ``variant`` until
    ``reset_state``. For integer predictions of the labels' shape the labels are compared
    exactly, which is what ``keras.metrics.Accuracy`` does.

    Args:
        name: the metric's name.

    >>> import numpy as np
    >>> m = Accuracy()
    >>> m.update_state([2, 0], np.array([[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]]))
    >>> m.variant, m.result()
    ('sparse_categorical', 0.5)
    """

    def __init__(self, name: str = "accuracy"):
        super().__init__(name)

    def reset_state(self) -> None:
        super().reset_state()
        self.variant = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch: labels or one-hot ``y_true`` and scores ``y_pred``, optional weights."""
        y_true, y_pred = as_array(y_true), as_array(y_pred)
        if self.variant is None:
            self.variant = accuracy_variant(y_true.shape, y_pred.shape, y_pred.dtype)
        self._accumulate(_VARIANTS[self.variant](y_true, y_pred), sample_weight)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label.

    Args:
        threshold: predictions above it count as 1.
        name: the metric's name.

    >>> m = BinaryAccuracy()
    >>> m([[1], [1], [0], [0]], [[0.98], [1.0], [0.0], [0.6]])
    0.75
    """

    def __init__(self, threshold: float = 0.5, name: str = "binary_accuracy"):
        super().__init__(binary_accuracy, name=name, threshold=float(threshold))
        self.threshold = float(threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the scores matches the argmax of the one-hot label.

    Args:
        name: the metric's name.

    >>> m = CategoricalAccuracy()
    >>> m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    0.5
    """

    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the scores matches the integer label.

    Args:
        name: the metric's name.

    >>> m = SparseCategoricalAccuracy()
    >>> m([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name=name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the k highest scores.

    Args:
        k: how many of the highest scores count as a hit.
        name: the metric's name.

    >>> m = TopKCategoricalAccuracy(k=1)
    >>> m([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    0.5
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy"):
        super().__init__(top_k_categorical_accuracy, name=name, k=_check_k(k))
        self.k = int(k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the k highest scores.

    Args:
        k: how many of the highest scores count as a hit.
        name: the metric's name.

    >>> m = SparseTopKCategoricalAccuracy(k=1)
    >>> m([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    0.5
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy"):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, k=_check_k(k))
        self.k = int(k)


__all__ = [
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "accuracy_variant",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]
