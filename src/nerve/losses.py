"""Keras-style losses: functions ``loss(y_true, y_pred)`` giving one value per sample, and
``Loss`` objects that weight and reduce them. Note Keras's argument order: targets first.

Crossentropies on probabilities (after a 'softmax' or 'sigmoid' layer) clip the predictions to
[1e-7, 1 - 1e-7] as Keras does, so log(0) never happens; with ``from_logits=True`` they call the
fused, stable nn.functional ops. A NaN in the predictions gives a NaN loss (no error is raised
here); ``callbacks.TerminateOnNaN`` stops training on it.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import as_device_array
from nerve.nn import functional as F
from nerve.primitives import elementwise as ew
from nerve.primitives import indexing, reduction
from nerve.primitives.common import as_tensor

EPSILON = 1e-7


def _pair(name: str, y_true, y_pred, float_target: bool = True) -> tuple[Tensor, Tensor]:
    """Targets and predictions as Tensors of one rank (a trailing 1 is squeezed, as Keras)."""
    y_pred = as_tensor(y_pred, name)
    y_true = as_tensor(y_true, name)
    if y_pred._data.dtype.kind != "f":
        raise TypeError(f"{name}: predictions must be floating point, got {y_pred.dtype}")
    if float_target and y_true._data.dtype != y_pred._data.dtype:
        y_true = Tensor._wrap(y_true._data.astype(y_pred._data.dtype))
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{name}: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
            f"{tuple(y_pred.shape)}; they must match"
        )
    return y_true, y_pred


def _last_axis(name: str, axis: int, y_pred: Tensor) -> None:
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"{name}: only axis=-1 (the class axis last) is supported, got {axis}")


def _clip_probabilities(p: Tensor) -> Tensor:
    return ew.clamp(p, EPSILON, 1.0 - EPSILON)


# ----------------------------------------------------------------------------- crossentropies
def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Tensor:
    """-log p[label] per sample; labels are integer class ids of shape y_pred.shape[:-1]."""
    name = "sparse_categorical_crossentropy"
    y_pred = as_tensor(y_pred, name)
    _last_axis(name, axis, y_pred)
    labels = as_tensor(y_true, name)._data
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"{name}: y_true has shape {labels.shape} but y_pred has shape {tuple(y_pred.shape)}; "
            f"expected labels of shape {tuple(y_pred.shape[:-1])}"
        )
    if labels.dtype.kind == "f":
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"{name}: y_true must hold integer class ids, got fractions")
        labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    valid = labels != ignore_class if ignore_class is not None else None
    checked = labels[valid] if valid is not None else labels
    if checked.size and (checked.min() < 0 or checked.max() >= classes):
        bad = checked[(checked < 0) | (checked >= classes)][0]
        raise ValueError(
            f"{name}: label {int(bad)} is out of range for {classes} classes "
            f"(labels must be in [0, {classes - 1}])"
        )
    safe = np.where(valid, labels, 0) if valid is not None else labels
    flat_pred = y_pred.reshape(-1, classes)
    if from_logits:
        loss = F.cross_entropy(flat_pred, Tensor._wrap(safe.reshape(-1)), reduction="none")
    else:
        p = flat_pred / reduction.sum(flat_pred, dim=-1, keepdim=True)
        logp = ew.log(_clip_probabilities(p))
        index = Tensor._wrap(safe.reshape(-1, 1))
        loss = -indexing.gather(logp, 1, index).reshape(-1)
    loss = loss.reshape(labels.shape)
    if valid is not None:
        loss = loss * Tensor._wrap(valid.astype(loss.dtype))
    return loss


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """-sum(y_true * log p) per sample; y_true one-hot (or probabilities)."""
    name = "categorical_crossentropy"
    y_true, y_pred = _pair(name, y_true, y_pred)
    _last_axis(name, axis, y_pred)
    classes = y_pred.shape[-1]
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        logp = reduction.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / reduction.sum(y_pred, dim=-1, keepdim=True)
        logp = ew.log(_clip_probabilities(p))
    return -reduction.sum(y_true * logp, dim=-1)


def binary_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Mean over the last axis of -(y log p + (1 - y) log(1 - p))."""
    name = "binary_crossentropy"
    y_true, y_pred = _pair(name, y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        loss = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        loss = F.binary_cross_entropy(_clip_probabilities(y_pred), y_true, reduction="none")
    return loss.mean(dim=-1) if loss.ndim else loss


# ----------------------------------------------------------------------------- regression
def mean_squared_error(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("mean_squared_error", y_true, y_pred)
    loss = F.mse_loss(y_pred, y_true, reduction="none")
    return loss.mean(dim=-1) if loss.ndim else loss


def mean_absolute_error(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("mean_absolute_error", y_true, y_pred)
    loss = F.l1_loss(y_pred, y_true, reduction="none")
    return loss.mean(dim=-1) if loss.ndim else loss


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis."""
    y_true, y_pred = _pair("mean_absolute_percentage_error", y_true, y_pred)
    scale = ew.clamp(ew.abs(y_true), EPSILON, None)
    loss = ew.abs((y_true - y_pred) / scale) * 100.0
    return loss.mean(dim=-1) if loss.ndim else loss


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = _pair("mean_squared_logarithmic_error", y_true, y_pred)
    diff = ew.log(ew.clamp(y_pred, EPSILON, None) + 1.0) - ew.log(
        ew.clamp(y_true, EPSILON, None) + 1.0
    )
    loss = diff * diff
    return loss.mean(dim=-1) if loss.ndim else loss


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary crossentropy scaled by ``(1 - p_t) ** gamma`` (and by ``alpha`` for positives,
    ``1 - alpha`` for negatives with class balancing), averaged over the last axis."""
    name = "binary_focal_crossentropy"
    y_true, y_pred = _pair(name, y_true, y_pred)
    if y_pred.ndim:
        _last_axis(name, axis, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = ew.sigmoid(y_pred) if from_logits else y_pred
    clipped = _clip_probabilities(p)
    bce = -(y_true * ew.log(clipped) + (1.0 - y_true) * ew.log(1.0 - clipped))
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    loss = ew.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        loss = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * loss
    return loss.mean(dim=-1) if loss.ndim else loss


def categorical_focal_crossentropy(
    y_true,
    y_pred,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """sum(-alpha * (1 - p) ** gamma * y_true * log p) over the classes (last axis)."""
    name = "categorical_focal_crossentropy"
    y_true, y_pred = _pair(name, y_true, y_pred)
    _last_axis(name, axis, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    p = reduction.softmax(y_pred, dim=-1) if from_logits else y_pred
    p = _clip_probabilities(p / reduction.sum(p, dim=-1, keepdim=True))
    focal = ew.pow(1.0 - p, gamma) * (-y_true * ew.log(p)) * alpha
    return reduction.sum(focal, dim=-1)


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """0.5 x^2 where |x| <= delta, else delta (|x| - 0.5 delta); x = y_pred - y_true."""
    y_true, y_pred = _pair("huber", y_true, y_pred)
    loss = F.huber_loss(y_pred, y_true, reduction="none", delta=delta)
    return loss.mean(dim=-1) if loss.ndim else loss


def log_cosh(y_true, y_pred) -> Tensor:
    """log(cosh(x)) = x + softplus(-2x) - log 2, which never overflows."""
    y_true, y_pred = _pair("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    loss = x + ew.softplus(x * -2.0) - float(np.log(2.0))
    return loss.mean(dim=-1) if loss.ndim else loss


def poisson(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("poisson", y_true, y_pred)
    loss = y_pred - y_true * ew.log(y_pred + EPSILON)
    return loss.mean(dim=-1) if loss.ndim else loss


def kl_divergence(y_true, y_pred) -> Tensor:
    """sum(y_true * log(y_true / y_pred)), both clipped to [1e-7, 1] as in Keras."""
    y_true, y_pred = _pair("kl_divergence", y_true, y_pred)
    t = ew.clamp(y_true, EPSILON, 1.0)
    p = ew.clamp(y_pred, EPSILON, 1.0)
    return reduction.sum(t * ew.log(t / p), dim=-1)


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """-cos(y_true, y_pred) along ``axis`` (a loss: -1 is best), as Keras's loss."""
    y_true, y_pred = _pair("cosine_similarity", y_true, y_pred)

    def normalize(x):
        return x * ew.rsqrt(ew.maximum(reduction.sum(x * x, dim=axis, keepdim=True), 1e-12))

    return -reduction.sum(normalize(y_true) * normalize(y_pred), dim=axis)


def _hinge_labels(y_true: Tensor) -> Tensor:
    """Keras converts 0/1 labels to -1/1 for the hinge losses."""
    d = y_true._data
    if d.size and np.all((d == 0) | (d == 1)):
        return y_true * 2.0 - 1.0
    return y_true


def hinge(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("hinge", y_true, y_pred)
    loss = ew.relu(1.0 - _hinge_labels(y_true) * y_pred)
    return loss.mean(dim=-1) if loss.ndim else loss


def squared_hinge(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("squared_hinge", y_true, y_pred)
    loss = ew.square(ew.relu(1.0 - _hinge_labels(y_true) * y_pred))
    return loss.mean(dim=-1) if loss.ndim else loss


def categorical_hinge(y_true, y_pred) -> Tensor:
    y_true, y_pred = _pair("categorical_hinge", y_true, y_pred)
    pos = reduction.sum(y_true * y_pred, dim=-1)
    neg = reduction.amax((1.0 - y_true) * y_pred, dim=-1)
    return ew.relu(neg - pos + 1.0)


# ----------------------------------------------------------------------------- Loss objects
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


class Loss:
    """Base of the loss objects: ``loss(y_true, y_pred, sample_weight=None)``.

    Args:
        reduction: 'sum_over_batch_size' (the default: the mean over all per-sample values),
            'sum', 'mean' (weighted mean), or 'none'/None (the per-sample values).
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size"):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
            )
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            w = as_device_array(
                sample_weight._data if isinstance(sample_weight, Tensor) else sample_weight
            )
            w = w.astype(losses.dtype)
            while w.ndim > losses.ndim and w.shape[-1] == 1:
                w = w[..., 0]
            if w.ndim and w.shape != tuple(losses.shape[: w.ndim]):
                raise ValueError(
                    f"{self.name}: sample_weight of shape {w.shape} does not match the "
                    f"per-sample losses of shape {tuple(losses.shape)}"
                )
            w = w.reshape(w.shape + (1,) * (losses.ndim - w.ndim))
            losses = losses * Tensor._wrap(w)
        if self.reduction in ("none", None):
            return losses
        total = reduction.sum(losses)
        if self.reduction == "sum":
            return total
        if self.reduction == "mean" and sample_weight is not None:
            return total / float(max(np.sum(np.broadcast_to(w, losses.shape)), 1e-12))
        return total / float(max(losses.numel(), 1))

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class LossFunctionWrapper(Loss):
    """A Loss object around a per-sample function and its keyword arguments."""

    def __init__(self, fn, name: str | None = None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name or fn.__name__, reduction)
        self.fn, self.fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred) -> Tensor:
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}


class _NamedLoss(LossFunctionWrapper):
    """A Loss class for one function; ``options`` are its arguments (Keras's names, defaults
    and positional order)."""

    fn = staticmethod(mean_squared_error)
    options: dict = {}

    def __init__(self, *args, reduction="sum_over_batch_size", name=None, **kwargs):
        cls = type(self).__name__
        names = list(self.options)
        if len(args) > len(names):
            raise TypeError(f"{cls} takes at most {len(names)} positional options")
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{cls}: unexpected argument(s) {sorted(unknown)}")
        chosen = {**self.options, **dict(zip(names, args)), **kwargs}
        super().__init__(self.fn, name or self.fn.__name__, reduction, **chosen)


class SparseCategoricalCrossentropy(_NamedLoss):
    fn = staticmethod(sparse_categorical_crossentropy)
    options = {"from_logits": False, "ignore_class": None, "axis": -1}

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        ignore = self.fn_kwargs["ignore_class"]
        if ignore is None:
            return super().__call__(y_true, y_pred, sample_weight)
        # As Keras: ignored targets are masked out, and the batch mean counts only the others.
        labels = as_tensor(y_true)._data
        labels = labels[..., 0] if labels.ndim == as_tensor(y_pred).ndim else labels
        valid = (labels != ignore).astype(np.float32)
        if self.reduction == "sum_over_batch_size":
            valid *= valid.size / max(float(valid.sum()), 1.0)
        if sample_weight is not None:
            sw = as_device_array(
                sample_weight._data if isinstance(sample_weight, Tensor) else sample_weight
            )
            valid = valid * sw.reshape(sw.shape + (1,) * (valid.ndim - sw.ndim))
        return super().__call__(y_true, y_pred, valid)


class CategoricalCrossentropy(_NamedLoss):
    fn = staticmethod(categorical_crossentropy)
    options = {"from_logits": False, "label_smoothing": 0.0, "axis": -1}


class BinaryCrossentropy(_NamedLoss):
    fn = staticmethod(binary_crossentropy)
    options = {"from_logits": False, "label_smoothing": 0.0, "axis": -1}


class MeanSquaredError(_NamedLoss):
    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(_NamedLoss):
    fn = staticmethod(mean_absolute_error)


class Huber(_NamedLoss):
    fn = staticmethod(huber)
    options = {"delta": 1.0}


class LogCosh(_NamedLoss):
    fn = staticmethod(log_cosh)


class Poisson(_NamedLoss):
    fn = staticmethod(poisson)


class KLDivergence(_NamedLoss):
    fn = staticmethod(kl_divergence)


class CosineSimilarity(_NamedLoss):
    fn = staticmethod(cosine_similarity)
    options = {"axis": -1}


class Hinge(_NamedLoss):
    fn = staticmethod(hinge)


class SquaredHinge(_NamedLoss):
    fn = staticmethod(squared_hinge)


class CategoricalHinge(_NamedLoss):
    fn = staticmethod(categorical_hinge)


class MeanAbsolutePercentageError(_NamedLoss):
    fn = staticmethod(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(_NamedLoss):
    fn = staticmethod(mean_squared_logarithmic_error)


class BinaryFocalCrossentropy(_NamedLoss):
    fn = staticmethod(binary_focal_crossentropy)
    options = {
        "apply_class_balancing": False,
        "alpha": 0.25,
        "gamma": 2.0,
        "from_logits": False,
        "label_smoothing": 0.0,
        "axis": -1,
    }


class CategoricalFocalCrossentropy(_NamedLoss):
    fn = staticmethod(categorical_focal_crossentropy)
    options = {
        "alpha": 0.25,
        "gamma": 2.0,
        "from_logits": False,
        "label_smoothing": 0.0,
        "axis": -1,
    }


# Keras's short names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = KLD = kl_divergence
logcosh = log_cosh
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

_FUNCTIONS = {
    f.__name__: f
    for f in (
        sparse_categorical_crossentropy,
        categorical_crossentropy,
        binary_crossentropy,
        mean_squared_error,
        mean_absolute_error,
        huber,
        log_cosh,
        poisson,
        kl_divergence,
        cosine_similarity,
        hinge,
        squared_hinge,
        categorical_hinge,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        binary_focal_crossentropy,
        categorical_focal_crossentropy,
    )
}
_FUNCTIONS.update(
    mape=mean_absolute_percentage_error,
    msle=mean_squared_logarithmic_error,
    mse=mean_squared_error,
    mae=mean_absolute_error,
    kld=kl_divergence,
    logcosh=log_cosh,
    huber_loss=huber,
)
_CLASSES = {
    c.__name__: c
    for c in (
        SparseCategoricalCrossentropy,
        CategoricalCrossentropy,
        BinaryCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        LogCosh,
        Poisson,
        KLDivergence,
        CosineSimilarity,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
    )
}


def get(identifier):
    """A loss from a name ('sparse_categorical_crossentropy', 'mse', ...), a class name, a
    config dict, a Loss object or a callable ``fn(y_true, y_pred)``."""
    if isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise ValueError(
            f"unknown loss {identifier!r}; known: {sorted(_FUNCTIONS) + sorted(_CLASSES)}"
        )
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown loss config {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    raise ValueError(f"cannot interpret {identifier!r} as a loss")
