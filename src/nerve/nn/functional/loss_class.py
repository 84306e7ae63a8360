"""Losses over integer class targets (or class probabilities): cross_entropy and nll_loss, each
one fused op with a hand-written backward (cross-entropy's gradient is softmax minus the
weighted, smoothed one-hot target).

On a device, a class target out of range is found by a device-side check read at the next
synchronization (``nerve.device.check_on_sync``), not by a read per call.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.device import check_on_sync
from nerve.nn.functional.loss import _as, _check_reduction, _mean_of, _mean_scale, _scale
from nerve.primitives.common import as_tensor, require_float

__all__ = ["cross_entropy", "nll_loss"]


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
        if type(y) is np.ndarray:
            _target_error(op, y, bad, n_classes, ignore_index)
        else:  # on a device: read at the next synchronization, not once per call; only
            # 0-d values are queued (the first bad target), not the target or the mask
            first = y.reshape(-1)[bad.reshape(-1).argmax()]
            check_on_sync(
                bad.any(),
                lambda label: _label_error(op, label, n_classes, ignore_index),
                first,
            )
    return weight


def _target_error(op: str, y, bad, n_classes: int, ignore_index: int) -> None:
    if bad.any():
        _label_error(op, y[bad].flat[0], n_classes, ignore_index)


def _label_error(op: str, label, n_classes: int, ignore_index: int) -> None:
    """Raise the IndexError of an out-of-range target ``label`` (the first bad one)."""
    raise IndexError(
        f"{op}: target class {int(label)} is out of range for {n_classes} classes "
        f"(valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})"
    )


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
