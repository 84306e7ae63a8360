"""The less common losses of torch.nn.functional, as compositions of differentiable ops.

Each is a few elementwise ops and a reduction, so its gradient comes from those ops; the heavy,
hot losses (cross-entropy, BCE, MSE, ...) are fused Functions in loss.py.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.device import check_on_sync
from nerve.nn.functional.activation import logsigmoid
from nerve.nn.functional.distance import pairwise_distance
from nerve.primitives.common import as_tensor, is_array, to_host
from nerve.primitives.elementwise import minimum, softplus, where
from nerve.primitives.reduction import logsumexp
from nerve.primitives.shape import cat, stack

__all__ = [
    "cosine_embedding_loss",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, size_average, reduce, reduction: str) -> str:
    """torch's reduction, the deprecated size_average / reduce flags overriding it when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
    if reduction not in _REDUCTIONS:
        names = ", ".join(repr(r) for r in _REDUCTIONS)
        raise ValueError(f"{op}: reduction must be one of {names}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float(op: str, x, name: str = "input") -> Tensor:
    x = as_tensor(x, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point, got dtype {x.dtype}")
    return x


def _same_shape(op: str, **tensors) -> None:
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{op}: the shapes must match, got {listed}")


def poisson_nll_loss(
    input,
    target,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood of ``target`` counts with rate ``input``.

    ``exp(input) - target * input`` when ``log_input``, else ``input - target * log(input +
    eps)``; ``full`` adds Stirling's term ``t log t - t + 0.5 log(2 pi t)`` where ``t > 1``.

    Raises:
        ValueError: for an unknown reduction.
    """
    reduction = _reduction("poisson_nll_loss", size_average, reduce, reduction)
    x, t = _float("poisson_nll_loss", input), as_tensor(target, "poisson_nll_loss")
    if log_input:
        loss = x.exp() - t * x
    else:
        loss = x - t * (x + eps).log()
    if full:
        # differentiable in the target too, as torch's; t <= 1 is read as 1 so log stays finite
        big = t > 1
        ts = where(big, t, 1.0) if t.dtype.kind == "f" else where(big, t.astype(x.dtype), 1.0)
        stirling = ts * ts.log() - ts + 0.5 * (ts * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Tensor:
    """Gaussian negative log-likelihood: ``0.5 * (log(var) + (input - target)^2 / var)``.

    ``var`` has input's shape, or one dim fewer, or a last dim of 1 (one variance per sample);
    it is clamped to ``eps`` for stability without blocking its gradient (as torch does).
    ``full`` adds ``0.5 * log(2 pi)``.

    Raises:
        ValueError: ``var`` has a wrong size or a negative entry; an unknown reduction.
    """
    reduction = _reduction("gaussian_nll_loss", None, None, reduction)
    x = _float("gaussian_nll_loss", input)
    t = _float("gaussian_nll_loss", target, "target")
    v = var if isinstance(var, Tensor) else Tensor._wrap(_like(x).asarray(var, dtype=x.dtype))
    if tuple(v.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)
        elif not (tuple(x.shape[:-1]) == tuple(v.shape[:-1]) and v.shape[-1] == 1):
            raise ValueError(
                f"gaussian_nll_loss: var is of incorrect size {tuple(v.shape)} for input "
                f"{tuple(x.shape)}"
            )
    if np.any(v._data < 0):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    # clamp the value, not the graph: the gradient flows to var as if unclamped
    v = v + Tensor._wrap(np.maximum(v._data, eps) - v._data)
    loss = 0.5 * (v.log() + (x - t).square() / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def margin_ranking_loss(
    input1, input2, target, margin: float = 0.0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``; target is 1 or -1.

    Raises:
        ValueError: the three shapes differ; an unknown reduction.
    """
    reduction = _reduction("margin_ranking_loss", size_average, reduce, reduction)
    x1 = _float("margin_ranking_loss", input1, "input1")
    x2 = _float("margin_ranking_loss", input2, "input2")
    y = as_tensor(target, "margin_ranking_loss")
    _same_shape("margin_ranking_loss", input1=x1, input2=x2, target=y)
    return _reduce((-y * (x1 - x2) + margin).clamp(min=0.0), reduction)


def hinge_embedding_loss(
    input, target, margin: float = 1.0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1.

    Raises:
        ValueError: an unknown reduction.
    """
    reduction = _reduction("hinge_embedding_loss", size_average, reduce, reduction)
    x = _float("hinge_embedding_loss", input)
    y = as_tensor(target, "hinge_embedding_loss")
    margin_part = where(y != 1, (margin - x).clamp(min=0.0), 0.0)
    self_part = where(y != -1, x, 0.0)
    return _reduce(margin_part + self_part, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """``log(1 + exp(-target * input))``, the logistic loss for targets 1 / -1.

    Raises:
        ValueError: the shapes differ; an unknown reduction.
    """
    reduction = _reduction("soft_margin_loss", size_average, reduce, reduction)
    x = _float("soft_margin_loss", input)
    y = as_tensor(target, "soft_margin_loss")
    _same_shape("soft_margin_loss", input=x, target=y)
    return _reduce(softplus(-y * x), reduction)


def multilabel_soft_margin_loss(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    """One-vs-all logistic loss over C labels, averaged over the labels of each sample.

    Args:
        input: (N, C) or (C,) logits.
        target: same shape, 0 or 1.
        weight: optional (C,) per-class weights.

    Raises:
        ValueError: the shapes differ; an unknown reduction.
    """
    reduction = _reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    x = _float("multilabel_soft_margin_loss", input)
    y = as_tensor(target, "multilabel_soft_margin_loss")
    _same_shape("multilabel_soft_margin_loss", input=x, target=y)
    loss = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * as_tensor(weight, "multilabel_soft_margin_loss")
    loss = loss.sum(-1) / x.shape[-1]
    return _reduce(loss, reduction)


def _cosine_rows(x1: Tensor, x2: Tensor, dim: int) -> Tensor:
    # torch's cosine_embedding_loss adds 1e-12 to each squared norm (not cosine_similarity's)
    prod = (x1 * x2).sum(dim)
    m1 = (x1 * x1).sum(dim) + 1e-12
    m2 = (x2 * x2).sum(dim) + 1e-12
    return prod / (m1 * m2).sqrt()


def cosine_embedding_loss(
    input1, input2, target, margin: float = 0.0, size_average=None, reduce=None, reduction="mean"
) -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1.

    Args:
        input1, input2: (N, D) or (D,).
        target: (N,) or () of 1 / -1.

    Raises:
        ValueError: the input shapes differ or the target does not match; unknown reduction.
    """
    reduction = _reduction("cosine_embedding_loss", size_average, reduce, reduction)
    x1 = _float("cosine_embedding_loss", input1, "input1")
    x2 = _float("cosine_embedding_loss", input2, "input2")
    y = as_tensor(target, "cosine_embedding_loss")
    _same_shape("cosine_embedding_loss", input1=x1, input2=x2)
    if x1.ndim not in (1, 2) or tuple(y.shape) != tuple(x1.shape[:-1]):
        raise ValueError(
            f"cosine_embedding_loss: expected inputs (N, D) or (D,) and target (N,) or (), got "
            f"inputs {tuple(x1.shape)} and target {tuple(y.shape)}"
        )
    cos = _cosine_rows(x1, x2, -1)
    pos = where(y == 1, 1 - cos, 0.0)
    neg = where(y == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(pos + neg, reduction)


def _class_target(op: str, x: Tensor, target) -> np.ndarray:
    t = target._data if isinstance(target, Tensor) else _like(x).asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    if x.ndim not in (1, 2) or t.shape != x.shape[:-1]:
        raise ValueError(
            f"{op}: expected input (N, C) or (C,) and target (N,) or (), got input "
            f"{tuple(x.shape)} and target {t.shape}"
        )
    if t.size:
        lo, hi = t.min(), t.max()
        c = x.shape[-1]
        check_on_sync((lo < 0) | (hi >= c), functools.partial(_target_error, op, c), lo, hi)
    return t


def _target_error(op: str, c: int, lo, hi) -> None:
    """The error of _class_target; on a device raised at the next sync (check_on_sync)."""
    if lo < 0 or hi >= c:
        raise IndexError(f"{op}: target values must be in [0, {c}), got min {lo} max {hi}")


def multi_margin_loss(
    input,
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: ``sum_{i != y} max(0, margin - x[y] + x[i])^p / C`` per sample.

    Raises:
        ValueError: ``p`` is not 1 or 2, or the shapes do not fit; an unknown reduction.
        IndexError: a target class is out of range.
    """
    reduction = _reduction("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    x = _float("multi_margin_loss", input)
    t = _class_target("multi_margin_loss", x, target)
    xb = x if x.ndim == 2 else x.unsqueeze(0)
    tb = t.reshape(-1)
    rows = _like(x).arange(tb.size)
    x_y = xb[rows, tb].unsqueeze(1)
    z = (margin - x_y + xb).clamp(min=0.0)
    if p == 2:
        z = z.square()
    if weight is not None:
        w = as_tensor(weight, "multi_margin_loss")
        z = z * w[tb].unsqueeze(1)
    others = _like(x).ones(xb.shape, dtype=x.dtype)
    others[rows, tb] = 0  # the target's own term is left out
    loss = (z * Tensor._wrap(others)).sum(1) / x.shape[-1]
    if x.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input, target, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge: ``sum_{j in y} sum_{i not in y} max(0, 1 - (x[j] - x[i])) / C``.

    ``target`` holds each sample's class indices first, padded with -1 (the first -1 ends
    the list), in a tensor of input's shape.

    Raises:
        ValueError: the shapes differ; an unknown reduction.
        IndexError: a class index is out of range.
    """
    reduction = _reduction("multilabel_margin_loss", size_average, reduce, reduction)
    x = _float("multilabel_margin_loss", input)
    t = _host(target)  # ragged lists, read on the host
    if t.shape != tuple(x.shape) or x.ndim not in (1, 2):
        raise ValueError(
            f"multilabel_margin_loss: expected input (N, C) or (C,) and a target of the same "
            f"shape, got {tuple(x.shape)} and {t.shape}"
        )
    xb = x if x.ndim == 2 else x.unsqueeze(0)
    tb = t.reshape(xb.shape).astype(np.int64)
    n, c = xb.shape
    counts = np.zeros((n, c), dtype=x.dtype)  # how often class j is listed for sample k
    for k in range(n):  # the lists are ragged; this loop runs over samples, not elements
        row = tb[k]
        ends = np.flatnonzero(row < 0)
        listed = row[: ends[0] if ends.size else c]
        if listed.size and listed.max() >= c:
            raise IndexError(
                f"multilabel_margin_loss: class index {listed.max()} is out of range for "
                f"{c} classes"
            )
        np.add.at(counts[k], listed, 1)
    is_target = counts > 0
    pair = (1 - xb.unsqueeze(2) + xb.unsqueeze(1)).clamp(min=0.0)  # [k, j, i]
    weights = counts[:, :, None] * (~is_target)[:, None, :]
    loss = (pair * Tensor._wrap(_like(x).asarray(weights.astype(x.dtype)))).sum((1, 2)) / c
    if x.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the pairwise p-norm distance.

    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al., 2016).

    Raises:
        ValueError: the shapes differ, or margin <= 0; an unknown reduction.
    """
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a = _float("triplet_margin_loss", anchor, "anchor")
    pos = _float("triplet_margin_loss", positive, "positive")
    neg = _float("triplet_margin_loss", negative, "negative")
    _same_shape("triplet_margin_loss", anchor=a, positive=pos, negative=neg)
    d_ap = pairwise_distance(a, pos, p, eps)
    d_an = pairwise_distance(a, neg, p, eps)
    if swap:
        d_an = minimum(d_an, pairwise_distance(pos, neg, p, eps))
    return _reduce((margin + d_ap - d_an).clamp(min=0.0), reduction)


def triplet_margin_with_distance_loss(
    anchor,
    positive,
    negative,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with any distance (default pairwise_distance).

    Raises:
        ValueError: margin <= 0; an unknown reduction.
    """
    reduction = _reduction("triplet_margin_with_distance_loss", None, None, reduction)
    if margin <= 0:
        raise ValueError(
            f"triplet_margin_with_distance_loss: expected margin to be greater than 0, got "
            f"{margin} instead"
        )
    dist = pairwise_distance if distance_function is None else distance_function
    d_ap, d_an = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_an = minimum(d_an, dist(positive, negative))
    return _reduce((margin + d_ap - d_an).clamp(min=0.0), reduction)


def _ctc_targets(op: str, targets, target_lengths: np.ndarray, n: int) -> np.ndarray:
    """Targets as a padded (N, S) int array, from (N, S) or the 1-d concatenated form."""
    t = _host(targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must hold integer class indices, got dtype {t.dtype}")
    if t.ndim == 2:
        if t.shape[0] != n or (target_lengths.size and target_lengths.max() > t.shape[1]):
            raise ValueError(
                f"{op}: targets {t.shape} must be (N={n}, S) with S >= every target length "
                f"{target_lengths.tolist()}"
            )
        return t
    if t.ndim != 1 or t.size != target_lengths.sum():
        raise ValueError(
            f"{op}: 1-d targets must hold sum(target_lengths) = {int(target_lengths.sum())} "
            f"labels, got shape {t.shape}"
        )
    padded = np.zeros((n, max(int(target_lengths.max(initial=0)), 1)), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(target_lengths)[:-1]])
    for k in range(n):  # ragged lists: a loop over samples, not elements
        padded[k, : target_lengths[k]] = t[starts[k] : starts[k] + target_lengths[k]]
    return padded


def _lengths(op: str, name: str, value, n: int) -> np.ndarray:
    a = _host(value).astype(np.int64)
    a = np.broadcast_to(a, (n,)) if a.ndim == 0 else a
    if a.shape != (n,):
        raise ValueError(f"{op}: {name} must have one entry per sample ({n}), got {a.shape}")
    return a


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification (Graves et al., 2006): ``-log p(target | input)``
    summed over every alignment, by the forward (alpha) recursion in log space.

    Args:
        log_probs: (T, N, C) log-probabilities (log_softmax over C), or (T, C) unbatched.
        targets: (N, S) padded labels, or all target sequences concatenated (1-d).
        input_lengths: (N,) frames used per sample (<= T).
        target_lengths: (N,) labels per sample.
        blank: the blank class.
        reduction: "mean" (each loss divided by its target length, then the batch mean), "sum"
            or "none".
        zero_infinity: impossible alignments give 0 (and no gradient) instead of inf.

    Returns:
        The loss; (N,) for reduction "none".

    Raises:
        ValueError: shapes or lengths that do not fit, or an input length above T.

    The gradient is the true derivative with respect to ``log_probs``; through the usual
    ``log_softmax`` it equals torch's (whose kernel folds the softmax term into it).
    """
    op = "ctc_loss"
    reduction = _reduction(op, None, None, reduction)
    lp = _float(op, log_probs, "log_probs")
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
    if lp.ndim != 3:
        raise ValueError(f"{op}: log_probs must be (T, N, C) or (T, C), got {tuple(lp.shape)}")
    steps, n, classes = lp.shape
    in_len = _lengths(op, "input_lengths", input_lengths, n)
    tg_len = _lengths(op, "target_lengths", target_lengths, n)
    if unbatched and np.ndim(targets) == 1:
        targets = _host(targets)[None]
    tg = _ctc_targets(op, targets, tg_len, n)
    if in_len.max(initial=0) > steps or in_len.min(initial=1) < 1:
        raise ValueError(f"{op}: input_lengths must be in [1, T={steps}], got {in_len.tolist()}")
    if not 0 <= blank < classes:
        raise ValueError(f"{op}: blank {blank} must be in [0, {classes})")
    # the extended label sequence: blank, l1, blank, l2, ..., blank
    width = 2 * tg.shape[1] + 1
    ext = np.full((n, width), blank, dtype=np.int64)
    ext[:, 1::2] = tg
    skip = np.zeros((n, width), dtype=bool)  # may an alignment jump over the blank before s?
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    # the alignment's bookkeeping is made on the host (small), then moved to lp's device
    xp = _like(lp)

    def dev(a):
        return Tensor._wrap(xp.asarray(a))

    emit = lp.gather(2, dev(np.broadcast_to(ext, (steps, n, width)).copy()))
    # a large finite stand-in for log(0): logsumexp of all -inf has a nan gradient
    neg = float(np.finfo(lp.dtype).min) / 4
    pad1 = Tensor._wrap(xp.full((n, 1), neg, dtype=lp.dtype))
    pad2 = Tensor._wrap(xp.full((n, 2), neg, dtype=lp.dtype))
    start = np.full((n, width), neg, dtype=lp.dtype)
    start[:, :2] = 0
    alpha = emit[0] + dev(start)
    skip_t = dev(skip)
    for t in range(1, steps):
        one = cat([pad1, alpha[:, :-1]], 1)
        two = where(skip_t, cat([pad2, alpha[:, :-2]], 1), neg)
        new = logsumexp(stack([alpha, one, two]), 0) + emit[t]
        active = dev((t < in_len)[:, None])
        alpha = where(active, new, alpha)
    ends = np.stack([2 * tg_len, np.maximum(2 * tg_len - 1, 0)], 1)
    last = alpha.gather(1, dev(ends))
    if np.any(tg_len == 0):  # an empty target ends on the one blank: drop the second read
        last = where(dev(np.stack([tg_len >= 0, tg_len > 0], 1)), last, neg)
    loss = -logsumexp(last, 1)
    impossible = loss._data > -neg / 2
    if type(impossible) is not np.ndarray or impossible.any():  # a device: no read, always
        fill = 0.0 if zero_infinity else np.inf
        loss = where(Tensor._wrap(impossible), fill, loss)
    if reduction == "mean":
        loss = (loss / dev(np.maximum(tg_len, 1).astype(lp.dtype))).mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def _like(t: Tensor):
    """The array module of ``t``'s device, to make arrays that meet ``t`` in an op."""
    return array_module_of(t._data)


def _host(value) -> np.ndarray:
    """Labels or lengths (a Tensor on any device, an array, a list) as a host array: the
    ragged bookkeeping that reads them runs on the host."""
    a = value._data if isinstance(value, Tensor) else value
    return to_host(a) if is_array(a) else np.asarray(a)
