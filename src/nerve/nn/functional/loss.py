"""Losses with PyTorch's names, arguments and conventions, each one fused op (the losses over
class targets, cross_entropy and nll_loss, are in loss_class.py and importable from here).

Every loss is one Function whose forward computes the loss and its reduction and whose backward
is written by hand (cross-entropy's gradient is softmax minus the weighted, smoothed one-hot
target). Unlike torch, a regression target whose shape differs from the input's is an error,
not a warning followed by broadcasting.
"""

from __future__ import annotations

import warnings

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.device import check_on_sync
from nerve.primitives.common import as_tensor, is_array, require_float

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------- helpers
def _check_reduction(op: str, reduction, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: reduction must be one of {names}, got {reduction!r}")


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def _scale(g: np.ndarray, reduction: str, n: int) -> np.ndarray:
    """The upstream gradient as a factor on each element's derivative ('mean' divides by n)."""
    return g / g.dtype.type(n) if reduction == "mean" else g


def _mean_scale(g: np.ndarray, denom) -> np.ndarray:
    """``g / denom`` for a weighted mean; 0 when every target was ignored (torch's gradient)."""
    if not is_array(denom):  # a count, or NumPy's scalar sum of weights
        return g / g.dtype.type(denom) if denom else g * g.dtype.type(0)
    # a device's sum stays a 0-d array there: no host round trip to test it
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom != 0, g / denom.astype(g.dtype), g.dtype.type(0))


def _mean_of(total, denom, dt):
    """total / denom for a 'mean' reduction (nan when every target was ignored, as torch)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / (denom.astype(dt) if is_array(denom) else dt(denom))


def _float_pair(op: str, input, target):
    """Input and target as float Tensors of one shape (an integer target becomes a constant)."""
    input = as_tensor(input, op)
    target = as_tensor(target, op)
    require_float(op, input)
    if target._data.dtype.kind != "f":
        target = Tensor._wrap(target._data.astype(input._data.dtype))
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target shape {target.shape} does not match input shape {input.shape}; "
            "nerve does not broadcast a loss's target (torch warns and broadcasts), so reshape "
            "one of them"
        )
    return input, target


def _optional_float(op: str, name: str, w, shape: tuple):
    """A weight-like argument as a float Tensor that broadcasts to ``shape`` without growing it."""
    if w is None:
        return None
    w = as_tensor(w, f"{op} {name}")
    if w._data.dtype.kind != "f":
        w = Tensor._wrap(w._data.astype(np.float32))
    try:
        ok = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{op}: {name} of shape {w.shape} does not broadcast to the input shape {shape}"
        )
    return w


def _as(a, dtype):
    return None if a is None else a.astype(dtype, copy=False)


# ----------------------------------------------------------------------------- binary
@register("binary_cross_entropy")
class BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)) on probabilities, each log clamped at -100 like torch."""

    differentiable = (0, 1)

    def forward(self, x, t, weight, reduction):
        dt = x.dtype.type
        t = t.astype(x.dtype, copy=False)
        floor = dt(-100)
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), floor)
            log_1mx = np.maximum(np.log1p(-x), floor)
        loss = -(t * log_x + (1 - t) * log_1mx)
        w = _as(weight, x.dtype)
        if w is not None:
            loss *= w
        self.w, self.reduction, self.n = w, reduction, x.size
        if self.needs_input_grad[0]:
            self.x, self.t = x, t
        if self.needs_input_grad[1]:
            self.dt_ = log_1mx - log_x
        return _reduce(loss, reduction)

    def backward(self, g):
        gi = _scale(g, self.reduction, self.n)
        if self.w is not None:
            gi = gi * self.w
        gx = gt = None
        if self.needs_input_grad[0]:
            x = self.x
            gx = gi * (x - self.t) / np.maximum(x * (1 - x), x.dtype.type(1e-12))
        if self.needs_input_grad[1]:
            gt = gi * self.dt_
        return gx, gt, None


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target`` (both in [0, 1]).

    Each log is clamped at -100, as in torch, so a probability of exactly 0 or 1 gives a finite
    loss. Prefer :func:`binary_cross_entropy_with_logits` on raw scores: it is stabler.

    Args:
        input: probabilities of any shape.
        target: targets in [0, 1] of the same shape (not broadcast: a different shape raises).
        weight: optional rescaling weight that broadcasts to the input's shape.
        reduction: 'none' | 'mean' | 'sum'.

    Raises:
        ValueError: values outside [0, 1], mismatched shapes, a bad weight or reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> round(F.binary_cross_entropy(nerve.tensor([0.5]), nerve.tensor([1.0])).item(), 4)
    0.6931
    """
    op = "binary_cross_entropy"
    input, target = _float_pair(op, input, target)
    _check_reduction(op, reduction)
    weight = _optional_float(op, "weight", weight, input.shape)
    for name, a in (("input", input._data), ("target", target._data)):
        if not a.size:
            continue
        lo, hi = a.min(), a.max()
        if type(a) is np.ndarray:
            _probability_error(op, name, lo, hi)
        else:  # on a device: read at the next synchronization, not once per call
            bad = ~((lo >= 0) & (hi <= 1))  # nan fails both, as on the CPU
            check_on_sync(
                bad, lambda lo, hi, name=name: _probability_error(op, name, lo, hi), lo, hi
            )
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def _probability_error(op: str, name: str, lo, hi) -> None:
    if not (lo >= 0 and hi <= 1):
        raise ValueError(
            f"{op}: every {name} value must lie in [0, 1], found values in "
            f"[{lo:g}, {hi:g}]; for raw scores use binary_cross_entropy_with_logits"
        )


@register("binary_cross_entropy_with_logits")
class BinaryCrossEntropyWithLogits(Function):
    """w [pw t softplus(-x) + (1 - t) softplus(x)], written with exp(-|x|) only (stable)."""

    differentiable = (0, 1)

    def forward(self, x, t, weight, pos_weight, reduction):
        t = t.astype(x.dtype, copy=False)
        e = np.exp(-np.abs(x))
        sp_neg = np.log1p(e) + np.maximum(-x, 0)  # softplus(-x) = -log sigmoid(x)
        pw = _as(pos_weight, x.dtype)
        if pw is None:
            loss = (1 - t) * x + sp_neg
        else:
            lw = (pw - 1) * t + 1
            loss = (1 - t) * x + lw * sp_neg
        w = _as(weight, x.dtype)
        if w is not None:
            loss *= w
        self.w, self.pw, self.reduction, self.n = w, pw, reduction, x.size
        if self.needs_input_grad[0]:
            sig = np.where(x >= 0, 1, e) / (1 + e)
            self.dx = sig - t if pw is None else lw * sig - pw * t
        if self.needs_input_grad[1]:
            self.dt_ = -x if pw is None else (pw - 1) * sp_neg - x
        return _reduce(loss, reduction)

    def backward(self, g):
        gi = _scale(g, self.reduction, self.n)
        if self.w is not None:
            gi = gi * self.w
        gx = gi * self.dx if self.needs_input_grad[0] else None
        gt = gi * self.dt_ if self.needs_input_grad[1] else None
        return gx, gt, None, None


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step, on raw scores (logits).

    Args:
        input: logits of any shape.
        target: targets in [0, 1] of the same shape (not broadcast: a different shape raises).
        weight: optional rescaling weight that broadcasts to the input's shape.
        reduction: 'none' | 'mean' | 'sum'.
        pos_weight: optional weight of the positive term, broadcast along the last dimension
            (one per class for multi-label targets of shape (N, C)).

    Raises:
        ValueError: mismatched shapes, a bad weight, pos_weight or reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> loss = F.binary_cross_entropy_with_logits(nerve.tensor([0.0]), nerve.tensor([1.0]))
    >>> round(loss.item(), 4)
    0.6931
    """
    op = "binary_cross_entropy_with_logits"
    input, target = _float_pair(op, input, target)
    _check_reduction(op, reduction)
    weight = _optional_float(op, "weight", weight, input.shape)
    pos_weight = _optional_float(op, "pos_weight", pos_weight, input.shape)
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight, pos_weight, reduction=reduction
    )


# ----------------------------------------------------------------------------- regression
class _Pointwise(Function):
    """A loss f(input - target) element by element; the target's gradient is minus the input's."""

    differentiable = (0, 1)

    def pointwise(self, d, want, **params):  # pragma: no cover - abstract
        """The loss of each difference ``d`` and, when ``want``, its derivative (else None)."""
        raise NotImplementedError

    def forward(self, x, t, reduction, **params):
        d = x - t.astype(x.dtype, copy=False)
        want = self.needs_input_grad[0] or self.needs_input_grad[1]
        loss, self.deriv = self.pointwise(d, want, **params)
        self.reduction, self.n = reduction, d.size
        return _reduce(loss, reduction)

    def backward(self, g):
        gx = self.deriv * _scale(g, self.reduction, self.n)
        return (gx if self.needs_input_grad[0] else None), (
            -gx if self.needs_input_grad[1] else None
        )


@register("mse_loss")
class MSELoss(_Pointwise):
    def pointwise(self, d, want):
        return d * d, (2 * d if want else None)


@register("l1_loss")
class L1Loss(_Pointwise):
    def pointwise(self, d, want):
        return np.abs(d), (np.sign(d) if want else None)


@register("smooth_l1_loss")
class SmoothL1Loss(_Pointwise):
    def pointwise(self, d, want, beta):
        a = np.abs(d)
        if beta == 0:
            return a, (np.sign(d) if want else None)
        b = d.dtype.type(beta)
        small = a < b
        loss = np.where(small, d * d * (d.dtype.type(0.5) / b), a - d.dtype.type(0.5 * beta))
        return loss, (np.where(small, d / b, np.sign(d)) if want else None)


@register("huber_loss")
class HuberLoss(_Pointwise):
    def pointwise(self, d, want, delta):
        a = np.abs(d)
        c = d.dtype.type(delta)
        small = a <= c
        loss = np.where(small, d.dtype.type(0.5) * d * d, c * (a - d.dtype.type(0.5 * delta)))
        return loss, (np.where(small, d, c * np.sign(d)) if want else None)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``, reduced.

    ``target`` must have the input's shape: torch only warns and broadcasts; nerve raises.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.mse_loss(nerve.tensor([1.0, 2.0]), nerve.tensor([0.0, 0.0])).item()
    2.5
    """
    input, target = _float_pair("mse_loss", input, target)
    _check_reduction("mse_loss", reduction)
    return MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``, reduced (gradient 0 where they are equal).

    ``target`` must have the input's shape: torch only warns and broadcasts; nerve raises.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.l1_loss(nerve.tensor([1.0, -2.0]), nerve.tensor([0.0, 0.0]), reduction="sum").item()
    3.0
    """
    input, target = _float_pair("l1_loss", input, target)
    _check_reduction("l1_loss", reduction)
    return L1Loss.apply(input, target, reduction=reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``).

    ``beta=0`` is the L1 loss. ``target`` must have the input's shape: torch only warns and
    broadcasts; nerve raises.

    Raises:
        ValueError: a negative beta, mismatched shapes or a bad reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.smooth_l1_loss(nerve.tensor([0.5, 3.0]), nerve.tensor([0.0, 0.0])).item()
    1.3125
    """
    op = "smooth_l1_loss"
    input, target = _float_pair(op, input, target)
    _check_reduction(op, reduction)
    if not beta >= 0:
        raise ValueError(f"{op}: beta must be >= 0, got {beta}")
    return SmoothL1Loss.apply(input, target, reduction=reduction, beta=float(beta))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber: ``0.5 d**2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``.

    Here ``d = input - target``; equals ``delta * smooth_l1_loss(..., beta=delta)``.
    ``target`` must have the input's shape: torch only warns and broadcasts; nerve raises.

    Raises:
        ValueError: a delta that is not positive, mismatched shapes or a bad reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.huber_loss(nerve.tensor([0.5, 3.0]), nerve.tensor([0.0, 0.0]), delta=2.0).item()
    2.0625
    """
    op = "huber_loss"
    input, target = _float_pair(op, input, target)
    _check_reduction(op, reduction)
    if not delta > 0:
        raise ValueError(f"{op}: delta must be > 0, got {delta}")
    return HuberLoss.apply(input, target, reduction=reduction, delta=float(delta))


# ----------------------------------------------------------------------------- divergence
@register("kl_div")
class KLDiv(Function):
    """target * (log target - input), with 0 where target is 0 (or exp(t) (t - input) in log)."""

    differentiable = (0, 1)

    def forward(self, x, t, reduction, log_target):
        t = t.astype(x.dtype, copy=False)
        if log_target:
            et = np.exp(t)
            loss = et * (t - x)
        else:
            zero = t == 0
            with np.errstate(invalid="ignore", divide="ignore"):  # negative t: nan, as torch
                log_t = np.log(np.where(zero, 1, t))
            loss = t * (log_t - x)
        if reduction == "batchmean":
            out = loss.sum() / x.dtype.type(x.shape[0] if x.ndim else 1)
            self.n = x.shape[0] if x.ndim else 1
        else:
            out = _reduce(loss, reduction)
            self.n = x.size
        self.reduction = "mean" if reduction == "batchmean" else reduction
        if self.needs_input_grad[0]:
            self.dx = -(et if log_target else t)
        if self.needs_input_grad[1]:
            if log_target:
                self.dt_ = et * (t + 1 - x)
            else:
                self.dt_ = np.where(zero, 0, log_t + 1 - x)
        return out

    def backward(self, g):
        gi = _scale(g, self.reduction, self.n)
        gx = gi * self.dx if self.needs_input_grad[0] else None
        gt = gi * self.dt_ if self.needs_input_grad[1] else None
        return gx, gt


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || p) where ``input`` holds log p (as torch).

    Args:
        input: log-probabilities.
        target: probabilities of the same shape, or log-probabilities when ``log_target``.
        reduction: 'none' | 'mean' | 'sum' | 'batchmean'. 'mean' averages over every element
            (torch's default, which it warns about); 'batchmean' divides the sum by the batch
            size and is the KL divergence proper.

    Raises:
        ValueError: mismatched shapes (nerve does not broadcast) or a bad reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> log_p = nerve.tensor([[-0.5, -1.0]])
    >>> F.kl_div(log_p, nerve.tensor([[1.0, 0.0]]), reduction="batchmean").item()
    0.5
    """
    op = "kl_div"
    input, target = _float_pair(op, input, target)
    _check_reduction(op, reduction, (*_REDUCTIONS, "batchmean"))
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by the number of elements, not by "
            "the batch size; use reduction='batchmean' for the KL divergence proper",
            UserWarning,
            stacklevel=2,
        )
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))


# cross_entropy and nll_loss live in loss_class.py; importable from here as before
from nerve.nn.functional.loss_class import cross_entropy, nll_loss  # noqa: E402
