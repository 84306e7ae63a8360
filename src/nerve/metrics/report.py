"""classification_report: per-class precision, recall, F1 and support, as a dict and a table."""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import as_array, divide

_HEADERS = ("precision", "recall", "f1-score", "support")


class ClassificationReport(dict):
    """scikit-learn's ``output_dict`` layout, whose ``str()`` (and ``text``) is its table.

    Keys are the class names (``str`` of the label, or ``target_names``) mapping to dicts of
    precision, recall, f1-score and support, then 'accuracy' (a float; 'micro avg', a dict,
    when ``labels`` leaves some classes out), 'macro avg' and 'weighted avg'.

    >>> r = classification_report([0, 1, 1], [0, 1, 0])
    >>> r["macro avg"]["support"], str(r).split()[:4]
    (3.0, ['precision', 'recall', 'f1-score', 'support'])
    """

    def __init__(self, rows: dict, text: str):
        super().__init__(rows)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _labels_of(y, other, who: str) -> np.ndarray:
    y = as_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim == 2 and (np.ndim(other) == 1 or y.shape == np.shape(other)):
        return np.argmax(y, axis=1)  # scores or one-hot
    if y.ndim != 1:
        raise ValueError(
            f"classification_report: {who} has shape {y.shape}; expected labels (n,) or "
            "scores / one-hot (n, classes)"
        )
    return y


def _prf(tp, pred, true):
    precision, recall = divide(tp, pred), divide(tp, true)
    return precision, recall, divide(2 * precision * recall, precision + recall)


def classification_report(
    y_true, y_pred, labels=None, target_names=None, digits: int = 2
) -> ClassificationReport:
    """Precision, recall, F1 and support for each class, with accuracy and averages.

    Matches scikit-learn's ``classification_report`` (``zero_division=0``): the result is a
    dict laid out like its ``output_dict=True`` output, and printing it gives its table.

    Args:
        y_true: class labels (n,), or one-hot (n, classes).
        y_pred: class labels (n,), or scores / one-hot (n, classes) whose argmax is taken.
        labels: the labels to report, in order; default: every label in y_true or y_pred.
        target_names: display names for ``labels``, one each.
        digits: decimals in the table.

    Returns:
        A :class:`ClassificationReport` (a dict; ``str()`` is the table).

    Raises:
        ValueError: shapes that do not line up, or target_names of the wrong length.

    >>> r = classification_report([0, 1, 1, 2], [0, 1, 2, 2], target_names=["a", "b", "c"])
    >>> r["b"]["recall"], r["accuracy"]
    (0.5, 0.75)
    >>> print(r)
                  precision    recall  f1-score   support
    <BLANKLINE>
               a       1.00      1.00      1.00         1
               b       1.00      0.50      0.67         2
               c       0.50      1.00      0.67         1
    <BLANKLINE>
        accuracy                           0.75         4
       macro avg       0.83      0.83      0.78         4
    weighted avg       0.88      0.75      0.75         4
    <BLANKLINE>
    """
    t = _labels_of(y_true, as_array(y_pred), "y_true")
    p = _labels_of(y_pred, as_array(y_true), "y_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"classification_report: y_true has shape {as_array(y_true).shape} but y_pred has "
            f"shape {as_array(y_pred).shape}; they must describe the same samples"
        )
    present = np.unique(np.concatenate([t, p]))
    labels = present if labels is None else np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"classification_report: labels must be a non-empty list, got {labels}")
    if target_names is None:
        names = [str(label) for label in labels]
    else:
        names = [str(n) for n in target_names]
        if len(names) != len(labels):
            raise ValueError(
                f"classification_report: {len(names)} target_names for {len(labels)} labels "
                f"({labels.tolist()})"
            )
    is_t = t[:, None] == labels[None, :]
    is_p = p[:, None] == labels[None, :]
    tp = (is_t & is_p).sum(axis=0).astype(np.float64)
    true, pred = is_t.sum(axis=0).astype(np.float64), is_p.sum(axis=0).astype(np.float64)
    precision, recall, f1 = _prf(tp, pred, true)

    rows = {
        name: dict(zip(_HEADERS, (float(a), float(b), float(c), float(s))))
        for name, a, b, c, s in zip(names, precision, recall, f1, true)
    }
    total = float(true.sum())
    micro_is_accuracy = set(present.tolist()) <= set(labels.tolist())
    micro = [float(x) for x in _prf(tp.sum(), pred.sum(), true.sum())]
    weighted = [float(divide((x * true).sum(), total)) for x in (precision, recall, f1)]
    averages = {
        "micro avg": [*micro, total],
        "macro avg": [float(precision.mean()), float(recall.mean()), float(f1.mean()), total],
        "weighted avg": [*weighted, total],
    }

    width = max(len("weighted avg"), digits, *(len(n) for n in names))
    head = "{:>{width}s} " + " {:>9}" * len(_HEADERS)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = head.format("", *_HEADERS, width=width) + "\n\n"
    for name, r in rows.items():
        values = (r["precision"], r["recall"], r["f1-score"], int(r["support"]))
        text += row.format(name, *values, width=width, digits=digits)
    text += "\n"
    for key, (a, b, c, n) in averages.items():
        if key == "micro avg" and micro_is_accuracy:
            rows["accuracy"] = a  # micro precision = recall = F1 = accuracy here
            acc = "{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f} {:>9}\n"
            text += acc.format("accuracy", "", "", c, int(n), width=width, digits=digits)
        else:
            rows[key] = dict(zip(_HEADERS, (a, b, c, n)))
            text += row.format(key, a, b, c, int(n), width=width, digits=digits)
    return ClassificationReport(rows, text)
