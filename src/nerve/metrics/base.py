"""The Metric base, the weighted Mean and Sum, and the input checks every metric shares.

A metric keeps a few small float64 accumulators (totals and counts), never the predictions
themselves, so feeding the data in one batch or in many gives the same result. float64 because a
running sum over an epoch of float32 values loses digits; the results are reports, not tensors.
"""

from __future__ import annotations

import re

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.initializers import get as get_initializer
from nerve.variables import Variable


def _snake_case(name: str) -> str:
    """'MeanAbsoluteError' -> 'mean_absolute_error', Keras's default metric names."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def as_array(x) -> np.ndarray:
    """The ndarray behind a nerve Tensor, an ndarray, a list or a number (no copy if possible)."""
    if isinstance(x, Tensor):
        return x._data
    return np.asarray(x)


def float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float64 when an input already is, float32 otherwise (no silent widening)."""
    if any(a.dtype == np.float64 for a in arrays):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def match_rank(y_true: np.ndarray, y_pred: np.ndarray):
    """Drop a trailing dimension of 1 so that ranks match, as Keras does: (n, 1) vs (n,)."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


def same_shape(who: str, y_true, y_pred):
    """Both inputs as arrays of one shape (a trailing 1 on either side is allowed), or raise."""
    y_true, y_pred = as_array(y_true), as_array(y_pred)
    yt, yp = match_rank(y_true, y_pred)
    if yt.shape != yp.shape:
        raise ValueError(
            f"{who}: y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must match (a trailing dimension of 1 on one side is allowed)"
        )
    return yt, yp


def check_labels(who: str, labels: np.ndarray, num_classes: int, role: str = "y_true"):
    """Integer class labels in [0, num_classes) as int64, or a ValueError naming the bad one."""
    if labels.dtype.kind == "f":
        bad = labels[labels != np.round(labels)]
        if bad.size:
            raise ValueError(
                f"{who}: {role} must hold integer class labels, found {bad.flat[0].item()!r}; "
                f"pass labels, or scores of shape (..., {num_classes})"
            )
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{who}: {role} must hold integer class labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    out = (labels < 0) | (labels >= num_classes)
    if out.any():
        raise ValueError(
            f"{who}: {role} holds label {labels[out].flat[0]}, outside [0, {num_classes}) "
            f"for {num_classes} classes"
        )
    return labels


def weights_like(who: str, sample_weight, shape: tuple) -> np.ndarray:
    """sample_weight broadcast to ``shape``; (n,) and (n, 1) weights line up with the batch axis."""
    w = as_array(sample_weight).astype(np.float64)
    while w.ndim > len(shape) and w.shape[-1] == 1:
        w = w[..., 0]
    if 0 < w.ndim < len(shape):
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"{who}: sample_weight has shape {as_array(sample_weight).shape}, which does not "
            f"line up with the values of shape {shape}; give one weight per sample"
        ) from None


def divide(num, den):
    """num / den, and 0 where den is 0 (Keras's divide_no_nan), without a warning."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    shape = np.broadcast_shapes(num.shape, den.shape)
    return np.divide(num, den, out=np.zeros(shape), where=den != 0)


def to_result(x):
    """A Python float for a single value, a float64 array otherwise."""
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else x


class Metric:
    """Base of the streaming metrics: accumulate with update_state, read with result.

    Subclasses set their accumulators in ``reset_state`` (called at the end of their
    ``__init__``), add to them in ``update_state`` and combine them in ``result``.

    Args:
        name: the metric's name, the key it gets in a History.

    >>> from nerve.metrics import Mean
    >>> m = Mean()
    >>> m.update_state([1.0, 2.0])
    >>> m([3.0])  # __call__ updates, then returns the result so far
    2.0
    >>> m.reset_state(); m.result()
    0.0
    """

    def __init__(self, name: str | None = None, dtype=None):
        if name is None:
            name = _snake_case(type(self).__name__)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a metric's name must be a non-empty string, got {name!r}")
        self.name = name
        self.dtype = np.dtype(dtype or np.float32)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable of the metric (Keras's API): update it with ``assign_add`` in
        ``update_state``; the default ``reset_state`` sets it back to ``initializer``."""
        shape = () if shape is None else tuple(int(s) for s in shape)
        dt = np.dtype(dtype or getattr(self, "dtype", np.float32))
        init = get_initializer(initializer)
        var = Variable(np.zeros(0, np.float32), requires_grad=False, name=name or "variable")
        var._data = np.array(init(shape, dtype=dt), dtype=dt)
        self.__dict__.setdefault("_variables", []).append((var, init))
        return var

    add_weight = add_variable

    @property
    def variables(self) -> list:
        return [v for v, _ in self.__dict__.get("_variables", ())]

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add a batch to the accumulators."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        """The metric over everything seen since the last reset: a float or an array."""
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self) -> None:
        """Forget every batch seen so far (by default: every add_variable back to its start)."""
        made = self.__dict__.get("_variables")
        if not made:
            raise NotImplementedError(f"{type(self).__name__} must implement reset_state")
        for var, init in made:
            var._data[...] = init(var._data.shape, dtype=var._data.dtype)

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result so far (Keras's behaviour)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        """The constructor arguments as JSON-able values; ``from_config`` rebuilds the metric."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        """A fresh metric from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _Reducer(Metric):
    """Accumulates per-sample values into a total and a count (Keras's Mean and Sum)."""

    _reduce = staticmethod(np.mean)

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def _accumulate(self, values, sample_weight=None) -> None:
        # Keras's reduce_to_samplewise_values: reduce every non-batch axis the weights do not
        # cover, weight, then reduce the rest, so that each sample counts once.
        values = as_array(values).astype(np.float64)
        if sample_weight is not None:
            w = as_array(sample_weight).astype(np.float64)
            while w.ndim > values.ndim and w.shape[-1] == 1:
                w = w[..., 0]
            if w.ndim == 0 and values.ndim:
                # One weight for every sample (Keras would count the whole batch as one sample,
                # which makes the result depend on how the data is split into batches).
                w = np.full(values.shape[:1], float(w))
            if values.ndim > w.ndim:
                values = self._reduce(values, axis=tuple(range(w.ndim, values.ndim)))
            w = weights_like(self.name, w, values.shape)
            values = values * w
            if w.ndim > 1:
                w = self._reduce(w, axis=tuple(range(1, w.ndim)))
            count = w.sum()
        else:
            count = values.shape[0] if values.ndim else 1
        if values.ndim > 1:
            values = self._reduce(values, axis=tuple(range(1, values.ndim)))
        self.total += float(values.sum())
        self.count += float(count)

    def add_scalar(self, value: float, weight: float = 1.0) -> None:
        """Add one number with its weight: the training loop's fast path for its loss trackers."""
        self.total += float(value) * weight
        self.count += weight


class Mean(_Reducer):
    """The (weighted) mean of the values given so far.

    Args:
        name: the metric's name.

    >>> m = Mean()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    2.0
    """

    def __init__(self, name: str = "mean"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, values, sample_weight=None) -> None:
        """Add ``values`` (one per sample; extra axes are averaged first) with their weights."""
        self._accumulate(values, sample_weight)

    def result(self) -> float:
        # total and count are Python floats: divide_no_nan without NumPy's overhead (the
        # training loop reads this every step).
        return self.total / self.count if self.count else 0.0


class Sum(_Reducer):
    """The (weighted) sum of the values given so far.

    Args:
        name: the metric's name.

    >>> m = Sum()
    >>> m.update_state([1.0, 3.0]); m.update_state([[2.0, 2.0]])
    >>> m.result()
    8.0
    """

    _reduce = staticmethod(np.sum)

    def __init__(self, name: str = "sum"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, values, sample_weight=None) -> None:
        """Add the sum of ``values``, each multiplied by its weight."""
        self._accumulate(values, sample_weight)

    def result(self) -> float:
        return float(self.total)


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred, **kwargs)``, a function of per-sample values.

    Args:
        fn: takes ``y_true`` and ``y_pred`` (NumPy arrays) and returns one value per sample
            (or per element; extra axes are averaged within each sample).
        name: the metric's name; defaults to ``fn.__name__``.
        **kwargs: passed on to ``fn`` (and kept in ``get_config``).

    >>> import numpy as np
    >>> m = MeanMetricWrapper(lambda t, p: np.abs(t - p), name="abs_error")
    >>> m([1.0, 2.0], [1.5, 2.5])
    0.5
    """

    def __init__(self, fn, name: str | None = None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a callable fn(y_true, y_pred), got {fn!r}")
        super().__init__(name or getattr(fn, "__name__", "mean_metric_wrapper"))
        self.fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add ``fn(y_true, y_pred)`` for the batch, weighted by ``sample_weight``."""
        values = self.fn(as_array(y_true), as_array(y_pred), **self._fn_kwargs)
        self._accumulate(values, sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, **self._fn_kwargs}
