"""Losses with PyTorch's names, arguments and conventions, each one fused op.

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
from nerve.backend import array_module_of
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


def _rows(x: np.ndarray) -> np.ndarray:
    """Logits (C,), (N, C) or (N, C, d1, ...) as a (rows, C) matrix, classes last."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo ``_rows`` on a gradient of the (rows, C) matrix."""
    if len(shape) <= 2:
        return g.reshape(shape)
    return np.moveaxis(g.reshape((shape[0], *shape[2:], shape[1])), -1, 1)


def _check_class_target(op: str, input, target, weight, ignore_index):
    """Validate logits/log-probabilities against integer class targets; return C and weight."""
    x, y = input._data, target._data
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class indices, got dtype {y.dtype}; call .long() on it"
        )
    n_classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    expected = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
    if y.shape != expected:
        if x.ndim >= 2 and y.ndim >= 1 and y.shape[0] != x.shape[0]:
            raise ValueError(
                f"{op}: input batch size {x.shape[0]} does not match target batch size {y.shape[0]}"
            )
        raise ValueError(
            f"{op}: target shape {y.shape} does not fit input shape {x.shape}; "
            f"expected target shape {expected}"
        )
    if weight is not None:
        weight = as_tensor(weight, f"{op} weight")
        if weight.ndim != 1 or weight.shape[0] != n_classes:
            raise ValueError(
                f"{op}: weight of shape {weight.shape} must have one entry per class "
                f"({n_classes} classes)"
            )
    if y.size:
        bad = (y != ignore_index) & ((y < 0) | (y >= n_classes))
        if bad.any():
            label = int(y[bad].flat[0])
            raise IndexError(
                f"{op}: target class {label} is out of range for {n_classes} classes "
                f"(valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})"
            )
    return weight


# ----------------------------------------------------------------------------- cross-entropy
@register("cross_entropy")
class CrossEntropy(Function):
    """log_softmax + NLL over class indices; gradient: softmax * Q - q (q the weighted target)."""

    differentiable = (0,)

    def forward(self, x, y, weight, ignore_index, reduction, label_smoothing):
        dt = x.dtype.type
        x2 = _rows(x)
        y1 = y.reshape(-1)
        rows, n_classes = x2.shape
        keep = y1 != ignore_index
        # On a device, asking would wait for it every step: take the masked path, same values.
        all_kept = bool(keep.all()) if type(keep) is np.ndarray else False
        yi = y1 if all_kept else np.where(keep, y1, 0)
        w = _as(weight, x.dtype)
        e = np.subtract(x2, x2.max(axis=1, keepdims=True))  # shifted logits, then their exp
        idx = array_module_of(x).arange(rows)
        picked = e[idx, yi]
        eps = label_smoothing
        if eps:
            shifted_sum = e.sum(axis=1) if w is None else e @ w
        np.exp(e, out=e)
        s = e.sum(axis=1)
        lse = np.log(s)
        loss = lse - picked  # -log p of the target class
        if w is not None:
            wy = w[yi] if all_kept else w[yi] * keep
        else:
            wy = None if all_kept else keep.astype(x.dtype)
        if wy is not None:
            loss *= wy
        if eps:
            # eps/C of each row's loss is spread over all classes: -sum_c w_c log p_c.
            wsum = dt(n_classes) if w is None else w.sum()
            smooth = wsum * lse - shifted_sum
            if not all_kept:
                smooth *= keep
            loss = dt(1 - eps) * loss + dt(eps / n_classes) * smooth
        if reduction == "none":
            out = loss.reshape(y.shape)
        elif reduction == "sum":
            out = loss.sum()
        else:
            self.denom = rows if wy is None else wy.sum()
            out = _mean_of(loss.sum(), self.denom, dt)
        if self.needs_input_grad[0]:
            # softmax = e / s; backward folds the division into its per-row factor.
            self.e, self.s, self.idx, self.yi, self.w, self.wy = e, s, idx, yi, w, wy
            self.keep = None if all_kept else keep
            self.shape, self.reduction, self.eps = x.shape, reduction, eps
        return out

    def backward(self, g):
        e, s, idx, yi, w, wy, eps = self.e, self.s, self.idx, self.yi, self.w, self.wy, self.eps
        dt = e.dtype.type
        if self.reduction == "none":
            gi = g.reshape(-1)
        elif self.reduction == "sum":
            gi = g
        else:
            gi = _mean_scale(g, self.denom)
        coef = gi if wy is None else gi * wy  # the one-hot part's factor: a scalar or per row
        if not eps:
            grad = e * (coef / s)[:, None]
            grad[idx, yi] -= coef
            return _unrows(grad, self.shape), None
        n_classes = e.shape[1]
        gk = gi if self.keep is None else gi * self.keep
        wsum = dt(n_classes) if w is None else w.sum()
        total = dt(1 - eps) * coef + dt(eps / n_classes) * wsum * gk  # sum_c q_c, per row
        grad = e * (total / s)[:, None]
        spread = np.reshape(dt(eps / n_classes) * gk, (-1, 1))
        grad -= spread if w is None else spread * w
        grad[idx, yi] -= dt(1 - eps) * coef
        return _unrows(grad, self.shape), None


@register("cross_entropy_probs")
class CrossEntropyProbs(Function):
    """Cross-entropy against class probabilities: -sum_c w_c t_c log softmax(x)_c per row."""

    differentiable = (0, 1)

    def forward(self, x, t, weight, reduction, label_smoothing):
        dt = x.dtype.type
        x2 = _rows(x)
        t2 = _rows(t.astype(x.dtype, copy=False))
        rows, n_classes = x2.shape
        logp = np.subtract(x2, x2.max(axis=1, keepdims=True))
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        eps = label_smoothing
        q = t2 * dt(1 - eps) + dt(eps / n_classes) if eps else t2
        w = _as(weight, x.dtype)
        if w is not None:
            q = q * w
        loss = -np.einsum("ij,ij->i", q, logp)
        if reduction == "none":
            out = loss.reshape(x.shape[:1] + x.shape[2:] if x.ndim > 1 else ())
        else:
            out = loss.sum() if reduction == "sum" else loss.sum() / dt(rows)
        self.logp, self.shape, self.reduction = logp, x.shape, reduction
        self.q = q if self.needs_input_grad[0] else None
        if self.needs_input_grad[1]:
            self.tscale = (w if w is not None else dt(1)) * dt(1 - eps)
        return out

    def backward(self, g):
        logp = self.logp
        rows = logp.shape[0]
        gi = g.reshape(-1, 1) if self.reduction == "none" else _scale(g, self.reduction, rows)
        gx = gt = None
        if self.needs_input_grad[0]:
            q = self.q
            gx = _unrows((np.exp(logp) * q.sum(axis=1, keepdims=True) - q) * gi, self.shape)
        if self.needs_input_grad[1]:
            gt = _unrows(-(logp * self.tscale) * gi, self.shape)
        return gx, gt, None


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and targets: log_softmax and negative log-likelihood, fused.

    Args:
        input: logits of shape (C,), (N, C) or (N, C, d1, ...).
        target: integer class indices of shape (), (N,) or (N, d1, ...), or class
            probabilities with the input's shape.
        weight: optional (C,) rescaling weight per class.
        ignore_index: a class-index target equal to it adds nothing to the loss or the
            denominator of 'mean' (class-index targets only).
        reduction: 'none' | 'mean' | 'sum'. With class indices 'mean' divides by the summed
            weights of the non-ignored targets (their count without ``weight``); with
            probabilities it divides by the number of rows N * d1 * ....
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution, as torch.

    Returns:
        The loss: a scalar, or one value per target with reduction='none'.

    Raises:
        IndexError: a class index outside [0, C) that is not ``ignore_index``.
        ValueError: mismatched shapes or batch sizes, a weight that is not one per class,
            a bad reduction or label_smoothing.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> x = nerve.zeros(2, 4, requires_grad=True)
    >>> loss = F.cross_entropy(x, nerve.tensor([1, 3]))
    >>> round(loss.item(), 4)
    1.3863
    >>> loss.backward()
    >>> x.grad.shape
    (2, 4)
    """
    op = "cross_entropy"
    input = as_tensor(input, op)
    target = as_tensor(target, op)
    require_float(op, input)
    _check_reduction(op, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target._data.dtype.kind == "f":
        if input.ndim == 0 or target.shape != input.shape:
            raise ValueError(
                f"{op}: a probability target must have the input's shape {input.shape}, "
                f"got {target.shape}"
            )
        if ignore_index >= 0:
            raise ValueError(
                f"{op}: ignore_index={ignore_index} is not supported for probability targets"
            )
        n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
        if weight is not None:
            weight = as_tensor(weight, f"{op} weight")
            if weight.ndim != 1 or weight.shape[0] != n_classes:
                raise ValueError(
                    f"{op}: weight of shape {weight.shape} must have one entry per class "
                    f"({n_classes} classes)"
                )
        return CrossEntropyProbs.apply(
            input, target, weight, reduction=reduction, label_smoothing=float(label_smoothing)
        )
    weight = _check_class_target(op, input, target, weight, ignore_index)
    return CrossEntropy.apply(
        input,
        target,
        weight,
        ignore_index=int(ignore_index),
        reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


@register("nll_loss")
class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities at integer class targets."""

    differentiable = (0,)

    def forward(self, x, y, weight, ignore_index, reduction):
        dt = x.dtype.type
        x2 = _rows(x)
        y1 = y.reshape(-1)
        rows = x2.shape[0]
        keep = y1 != ignore_index
        # On a device, asking would wait for it every step: take the masked path, same values.
        all_kept = bool(keep.all()) if type(keep) is np.ndarray else False
        yi = y1 if all_kept else np.where(keep, y1, 0)
        w = _as(weight, x.dtype)
        if w is not None:
            wy = w[yi] if all_kept else w[yi] * keep
        else:
            wy = None if all_kept else keep.astype(x.dtype)
        idx = array_module_of(x).arange(rows)
        loss = -x2[idx, yi]
        if wy is not None:
            loss *= wy
        if reduction == "none":
            out = loss.reshape(y.shape)
        elif reduction == "sum":
            out = loss.sum()
        else:
            self.denom = rows if wy is None else wy.sum()
            out = _mean_of(loss.sum(), self.denom, dt)
        self.yi, self.wy, self.shape, self.reduction = yi, wy, x.shape, reduction
        self.dtype, self.n_classes = x.dtype, x2.shape[1]
        return out

    def backward(self, g):
        rows = self.yi.shape[0]
        if self.reduction == "none":
            gi = g.reshape(-1)
        elif self.reduction == "sum":
            gi = g
        else:
            gi = _mean_scale(g, self.denom)
        coef = gi if self.wy is None else gi * self.wy
        xp = array_module_of(g)
        grad = xp.zeros((rows, self.n_classes), dtype=self.dtype)
        grad[xp.arange(rows), self.yi] = -coef
        return _unrows(grad, self.shape), None


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood: ``-weight[t] * input[t]`` averaged like :func:`cross_entropy`.

    Args:
        input: log-probabilities of shape (C,), (N, C) or (N, C, d1, ...).
        target: integer class indices of shape (), (N,) or (N, d1, ...).
        weight: optional (C,) rescaling weight per class.
        ignore_index: targets equal to it add nothing to the loss or to the denominator.
        reduction: 'none' | 'mean' | 'sum'; 'mean' divides by the summed weights of the
            non-ignored targets.

    Raises:
        IndexError: a class index outside [0, C) that is not ``ignore_index``.
        ValueError: mismatched shapes, a weight that is not one per class, a bad reduction.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.nll_loss(nerve.tensor([[-1.0, -2.0], [-3.0, -0.5]]), nerve.tensor([0, 1])).item()
    0.75
    """
    op = "nll_loss"
    input = as_tensor(input, op)
    target = as_tensor(target, op)
    require_float(op, input)
    _check_reduction(op, reduction)
    weight = _check_class_target(op, input, target, weight, ignore_index)
    return NLLLoss.apply(input, target, weight, ignore_index=int(ignore_index), reduction=reduction)


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
        if a.size and not (a.min() >= 0 and a.max() <= 1):
            raise ValueError(
                f"{op}: every {name} value must lie in [0, 1], found values in "
                f"[{a.min():g}, {a.max():g}]; for raw scores use "
                "binary_cross_entropy_with_logits"
            )
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


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
