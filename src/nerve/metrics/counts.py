"""Confusion counts as metrics: TruePositives, FalsePositives, TrueNegatives, FalseNegatives.

Each keeps the weighted count at one or more thresholds (a prediction above the threshold is
a positive), as Keras's; every element counts, multi-label columns pooled.
"""

from __future__ import annotations

import numpy as np

from nerve.metrics.base import Metric, same_shape, weights_like
from nerve.metrics.confusion import check_binary, counts_at_thresholds


class _Count(Metric):
    _which = 0  # index into counts_at_thresholds' (tp, fp, tn, fn)

    def __init__(self, thresholds=None, name: str | None = None):
        super().__init__(name or self._default_name)
        if thresholds is None:
            thr = np.array([0.5])
        else:
            thr = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
            if thr.ndim != 1 or not ((thr >= 0) & (thr <= 1)).all():
                raise ValueError(
                    f"{type(self).__name__}: thresholds must be numbers in [0, 1], "
                    f"got {thresholds!r}"
                )
        self.thresholds = thresholds
        self._single = thresholds is None or np.ndim(thresholds) == 0
        self._order = np.argsort(thr, kind="stable")
        self._sorted = thr[self._order]
        self.reset_state()

    def reset_state(self) -> None:
        self.accumulator = np.zeros(len(self._sorted))

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
        counts = counts_at_thresholds(
            y_true.reshape(-1, 1).astype(bool),
            y_pred.reshape(-1, 1).astype(np.float64),
            np.asarray(w, dtype=np.float64).reshape(-1, 1),
            self._sorted,
        )
        self.accumulator += counts[self._which][:, 0]

    def result(self):
        out = np.empty_like(self.accumulator)
        out[self._order] = self.accumulator
        return float(out[0]) if self._single else out

    def get_config(self) -> dict:
        thr = self.thresholds
        thr = thr.tolist() if isinstance(thr, np.ndarray) else thr
        return {"name": self.name, "thresholds": thr}


class TruePositives(_Count):
    """The weighted number of positive labels predicted above the threshold.

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them (the result is then an
            array, one count per threshold).
        name: the metric's name (default 'true_positives').

    >>> m = TruePositives()
    >>> m([0, 1, 1, 1], [1, 0, 1, 1])
    2.0
    """

    _default_name = "true_positives"
    _which = 0


class FalsePositives(_Count):
    """The weighted number of negative labels predicted above the threshold.

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them.
        name: the metric's name (default 'false_positives').

    >>> m = FalsePositives()
    >>> m([0, 1, 0, 0], [0, 0, 1, 1])
    2.0
    """

    _default_name = "false_positives"
    _which = 1


class TrueNegatives(_Count):
    """The weighted number of negative labels predicted at or below the threshold.

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them.
        name: the metric's name (default 'true_negatives').

    >>> m = TrueNegatives()
    >>> m([0, 1, 0, 0], [0, 0, 1, 0])
    2.0
    """

    _default_name = "true_negatives"
    _which = 2


class FalseNegatives(_Count):
    """The weighted number of positive labels predicted at or below the threshold.

    Args:
        thresholds: a float in [0, 1] (default 0.5) or a list of them.
        name: the metric's name (default 'false_negatives').

    >>> m = FalseNegatives()
    >>> m([0, 1, 1, 1], [0, 1, 0, 0])
    2.0
    """

    _default_name = "false_negatives"
    _which = 3
