"""What compile() turns its arguments into: losses and weights per output, metrics per output
and the "compile_metrics" metric that holds them (as Keras's trainers/compile_utils.py).
"""

from __future__ import annotations

import numpy as np

from nerve import metrics as metrics_module
from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import to_host


def flat(structure) -> list:
    """The values of a dict, the items of a list or tuple, or ``[structure]``."""
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


def per_output(value, names: list, what: str, convert) -> list:
    """compile()'s ``value`` (a loss, a loss weight) per output: one for all, a list in output
    order, or a dict by output name, each converted by ``convert``."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(
                f"compile: {what} names unknown outputs {sorted(unknown)}; outputs are {names}"
            )
        return [None if n not in value else convert(value[n]) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"compile: {len(value)} {what} for {len(names)} outputs")
        return [None if v is None else convert(v) for v in value]
    return [convert(value)] * len(names)


def metric_lists(metrics, names: list) -> list:
    """compile()'s ``metrics`` as one list per output (a str, a list for all outputs, a list of
    lists, or a dict by output name)."""
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple, dict)):
        metrics = [metrics]  # compile(metrics="accuracy"): one metric, not its letters
    if isinstance(metrics, dict):
        return [list(flat(metrics.get(n, []))) for n in names]
    metrics = list(metrics)
    if len(names) > 1 and metrics and all(isinstance(m, (list, tuple)) for m in metrics):
        return [list(m) for m in metrics]
    return [list(metrics) for _ in names]


class CompileMetrics(metrics_module.Metric):
    """The metrics given to compile, as one metric (Keras's "compile_metrics")."""

    def __init__(self, entries: list):
        super().__init__(name="compile_metrics")
        self.entries = entries  # (output index, metric)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        targets, preds = flat(y_true), flat(y_pred)
        sample_weight = host_values(sample_weight)
        for k, metric in self.entries:
            metric.update_state(host_values(targets[k]), host_values(preds[k]), sample_weight)

    def result(self) -> dict:
        out = {}
        for _, metric in self.entries:
            value = metric.result()
            out[metric.name] = float(value) if np.ndim(value) == 0 else value
        return out

    def reset_state(self) -> None:
        for _, metric in self.entries:
            metric.reset_state()


def host_values(value):
    """A Tensor's array (or an array) for the metrics, which keep their totals on the host: a
    device array is copied there; anything else passes as it is."""
    data = value._data if isinstance(value, Tensor) else value
    if data is None or type(data) is np.ndarray:
        return data
    return to_host(data) if type(data) in DEVICE_MODULES else data


def as_list(logs: dict):
    """Logs as Keras's train_on_batch/test_on_batch return them without return_dict: the
    single value, or the list of values."""
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
