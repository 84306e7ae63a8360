"""Samples and error cases for the losses in nerve.nn.functional.loss."""

from __future__ import annotations

import numpy as np

from op_db import ErrorSample, Sample, away_from, ints, rand, randn


def _softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


# ----------------------------------------------------------------------------- data
N, C = 6, 5
LOGITS = randn(N, C, seed=11) * 2
LABELS = np.array([0, 4, 2, 2, 1, 3])
LABELS_IGN = np.array([0, -100, 2, 4, -100, 3])  # ignore_index (default -100) present
LABELS_IGN2 = np.array([0, 2, 2, 4, 1, 2])  # class 2 ignored via ignore_index=2
ALL_IGNORED = np.full(N, -100)
WEIGHT = rand(C, low=0.2, high=2.0, seed=12)
PROBS = _softmax(randn(N, C, seed=13))

SPATIAL = randn(2, 3, 4, 5, seed=14)
SPATIAL_LABELS = ints(0, 3, 2, 4, 5, seed=15)
SPATIAL_LABELS[0, 1, :2] = -100
SPATIAL_WEIGHT = np.array([0.5, 2.0, 1.2])
SPATIAL_PROBS = _softmax(randn(2, 3, 4, 5, seed=16))

VEC = randn(C, seed=17)
VEC_LABEL = np.array(3)

LOGPROBS = _log_softmax(randn(N, C, seed=18))

P = rand(N, C, low=0.05, high=0.95, seed=19)
T_SOFT = rand(N, C, low=0.02, high=0.98, seed=20)  # the gradcheck steps stay in [0, 1]
T_HARD = (rand(N, C, seed=21) > 0).astype(np.float64)
W_FULL = rand(N, C, low=0.2, high=2.0, seed=22)
SCORES = randn(N, C, seed=23) * 3
SCORES_WIDE = np.array([[-40.0, -5.0, 0.3, 5.0, 40.0], [-15.0, -0.7, 0.0 + 0.2, 2.0, 15.0]])
T_WIDE = np.array([[1.0, 0.0, 1.0, 0.0, 0.0], [0.3, 1.0, 0.0, 0.5, 1.0]])
POS_W = rand(C, low=0.5, high=3.0, seed=24)

X = randn(4, 5, seed=25)
Y = randn(4, 5, seed=26)


def _target_at(diff, x=X):
    """A target whose difference from ``x`` is ``diff`` (so kinks are avoided exactly)."""
    return x - diff


D_L1 = away_from(randn(4, 5, seed=27) * 2, points=(0.0,), margin=0.1)
D_BETA1 = away_from(randn(4, 5, seed=28) * 1.5, points=(-1.0, 1.0), margin=0.1)
D_BETA05 = away_from(randn(4, 5, seed=29), points=(-0.5, 0.0, 0.5), margin=0.05)
D_DELTA2 = away_from(randn(4, 5, seed=30) * 3, points=(-2.0, 2.0), margin=0.1)

KL_IN = _log_softmax(randn(4, 5, seed=31))
KL_T = _softmax(randn(4, 5, seed=32))
KL_T_ZEROS = KL_T.copy()
KL_T_ZEROS[0, 1] = 0.0
KL_T_ZEROS[2, 4] = 0.0
KL_LOGT = _log_softmax(randn(4, 5, seed=33))


def _ce(**kw):
    return lambda m, x, y: m.F.cross_entropy(x, y, **kw)


def _ce_w(**kw):
    return lambda m, x, y, w: m.F.cross_entropy(x, y, weight=w, **kw)


def _nll(**kw):
    return lambda m, x, y: m.F.nll_loss(x, y, **kw)


def _nll_w(**kw):
    return lambda m, x, y, w: m.F.nll_loss(x, y, weight=w, **kw)


def _kl(reduction):
    return lambda m, x, t: m.F.kl_div(x, t, reduction=reduction)


def _by_name(name):
    return lambda m, x, y: getattr(m.F, name)(x, y)


def _reductions(fn_of, inputs, grad=None, **sample_kw):
    return [
        Sample(fn_of(reduction=r), inputs, grad=grad, desc=r, **sample_kw)
        for r in ("mean", "sum", "none")
    ]


SAMPLES = {
    "cross_entropy": [
        *_reductions(_ce, (LOGITS, LABELS)),
        *[
            Sample(_ce_w(reduction=r), (LOGITS, LABELS, WEIGHT), grad=(0,), desc=f"weight-{r}")
            for r in ("mean", "sum", "none")
        ],
        Sample(_ce(), (LOGITS, LABELS_IGN), desc="ignore_index"),
        Sample(_ce(reduction="none"), (LOGITS, LABELS_IGN), desc="ignore_index-none"),
        Sample(_ce_w(), (LOGITS, LABELS_IGN, WEIGHT), grad=(0,), desc="ignore_index-weight"),
        Sample(_ce(ignore_index=2), (LOGITS, LABELS_IGN2), desc="ignore_index-2"),
        Sample(_ce(), (LOGITS, ALL_IGNORED), desc="all-ignored-nan"),
        Sample(
            _ce_w(label_smoothing=0.1),
            (LOGITS, ALL_IGNORED, WEIGHT),
            grad=(0,),
            desc="all-ignored-smoothing-weight",
        ),
        Sample(_ce(label_smoothing=0.1), (LOGITS, LABELS), desc="smoothing"),
        Sample(_ce(label_smoothing=0.2, reduction="none"), (LOGITS, LABELS), desc="smoothing-none"),
        Sample(_ce_w(label_smoothing=0.1), (LOGITS, LABELS, WEIGHT), grad=(0,), desc="smoothing-w"),
        *[
            Sample(
                _ce_w(label_smoothing=0.3, reduction=r),
                (LOGITS, LABELS_IGN, WEIGHT),
                grad=(0,),
                desc=f"smoothing-weight-ignore-{r}",
            )
            for r in ("mean", "sum", "none")
        ],
        Sample(_ce(label_smoothing=0.1), (LOGITS, LABELS_IGN), desc="smoothing-ignore"),
        Sample(_ce(), (SPATIAL, SPATIAL_LABELS), desc="spatial"),
        Sample(_ce(reduction="none"), (SPATIAL, SPATIAL_LABELS), desc="spatial-none"),
        Sample(
            _ce_w(label_smoothing=0.15),
            (SPATIAL, SPATIAL_LABELS, SPATIAL_WEIGHT),
            grad=(0,),
            desc="spatial-weight-smoothing",
        ),
        Sample(_ce(), (VEC, VEC_LABEL), desc="unbatched"),
        Sample(_ce(reduction="none", label_smoothing=0.1), (VEC, VEC_LABEL), desc="unbatched-none"),
        Sample(_ce(reduction="sum"), (LOGITS * 40, LABELS), desc="large-logits"),
    ],
    "cross_entropy_probs": [
        *_reductions(_ce, (LOGITS, PROBS)),
        Sample(_ce(), (LOGITS, PROBS), grad=(0,), desc="input-only"),
        Sample(_ce(), (LOGITS, PROBS), grad=(1,), desc="target-only"),
        Sample(_ce_w(), (LOGITS, PROBS, WEIGHT), grad=(0, 1), desc="weight"),
        Sample(_ce(label_smoothing=0.1), (LOGITS, PROBS), desc="smoothing"),
        Sample(
            _ce_w(label_smoothing=0.2, reduction="none"),
            (LOGITS, PROBS, WEIGHT),
            grad=(0, 1),
            desc="smoothing-weight-none",
        ),
        Sample(_ce(), (SPATIAL, SPATIAL_PROBS), desc="spatial"),
        Sample(
            _ce_w(reduction="none"),
            (SPATIAL, SPATIAL_PROBS, SPATIAL_WEIGHT),
            grad=(0, 1),
            desc="spatial-weight-none",
        ),
        Sample(_ce(), (VEC, _softmax(VEC[None] * 0.5)[0]), desc="unbatched"),
    ],
    "nll_loss": [
        *_reductions(_nll, (LOGPROBS, LABELS)),
        Sample(_nll_w(), (LOGPROBS, LABELS, WEIGHT), grad=(0,), desc="weight"),
        Sample(_nll_w(reduction="none"), (LOGPROBS, LABELS, WEIGHT), grad=(0,), desc="w-none"),
        Sample(_nll(), (LOGPROBS, LABELS_IGN), desc="ignore_index"),
        Sample(_nll(), (LOGPROBS, ALL_IGNORED), desc="all-ignored-nan"),
        Sample(_nll_w(), (LOGPROBS, LABELS_IGN, WEIGHT), grad=(0,), desc="ignore_index-weight"),
        Sample(
            _nll_w(reduction="sum", ignore_index=2),
            (LOGPROBS, LABELS_IGN2, WEIGHT),
            grad=(0,),
            desc="ignore_index-2-sum",
        ),
        Sample(_nll(), (_log_softmax(SPATIAL), SPATIAL_LABELS), desc="spatial"),
        Sample(
            _nll_w(reduction="none"),
            (_log_softmax(SPATIAL), SPATIAL_LABELS, SPATIAL_WEIGHT),
            grad=(0,),
            desc="spatial-weight-none",
        ),
        Sample(_nll(), (_log_softmax(VEC, 0), VEC_LABEL), desc="unbatched"),
    ],
    "binary_cross_entropy": [
        *_reductions(
            lambda **kw: lambda m, p, t: m.F.binary_cross_entropy(p, t, **kw), (P, T_SOFT)
        ),
        Sample(lambda m, p, t: m.F.binary_cross_entropy(p, t), (P, T_HARD), grad=(0,), desc="hard"),
        Sample(
            lambda m, p, t: m.F.binary_cross_entropy(p, t), (P, T_SOFT), grad=(0,), desc="input"
        ),
        Sample(
            lambda m, p, t, w: m.F.binary_cross_entropy(p, t, weight=w),
            (P, T_SOFT, W_FULL),
            grad=(0, 1),
            desc="weight",
        ),
        Sample(
            lambda m, p, t, w: m.F.binary_cross_entropy(p, t, weight=w, reduction="none"),
            (P, T_SOFT, WEIGHT),
            grad=(0, 1),
            desc="weight-broadcast-none",
        ),
    ],
    "binary_cross_entropy_with_logits": [
        *_reductions(
            lambda **kw: lambda m, x, t: m.F.binary_cross_entropy_with_logits(x, t, **kw),
            (SCORES, T_SOFT),
        ),
        Sample(
            lambda m, x, t: m.F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
            (SCORES_WIDE, T_WIDE),
            desc="wide-logits",
        ),
        Sample(
            lambda m, x, t, w: m.F.binary_cross_entropy_with_logits(x, t, weight=w),
            (SCORES, T_HARD, W_FULL),
            grad=(0, 1),
            desc="weight",
        ),
        Sample(
            lambda m, x, t, pw: m.F.binary_cross_entropy_with_logits(x, t, pos_weight=pw),
            (SCORES, T_SOFT, POS_W),
            grad=(0, 1),
            desc="pos_weight",
        ),
        Sample(
            lambda m, x, t, w, pw: m.F.binary_cross_entropy_with_logits(
                x, t, weight=w, pos_weight=pw, reduction="none"
            ),
            (SCORES, T_SOFT, WEIGHT, POS_W),
            grad=(0, 1),
            desc="weight-pos_weight-none",
        ),
        Sample(
            lambda m, x, t, pw: m.F.binary_cross_entropy_with_logits(
                x, t, pos_weight=pw, reduction="sum"
            ),
            (SCORES_WIDE, T_WIDE, POS_W),
            grad=(0, 1),
            desc="wide-pos_weight",
        ),
    ],
    "mse_loss": [
        *_reductions(lambda **kw: lambda m, x, y: m.F.mse_loss(x, y, **kw), (X, Y)),
        Sample(lambda m, x, y: m.F.mse_loss(x, y), (X, Y), grad=(0,), desc="input-only"),
    ],
    "l1_loss": [
        *_reductions(lambda **kw: lambda m, x, y: m.F.l1_loss(x, y, **kw), (X, _target_at(D_L1))),
    ],
    "smooth_l1_loss": [
        *_reductions(
            lambda **kw: lambda m, x, y: m.F.smooth_l1_loss(x, y, **kw), (X, _target_at(D_BETA1))
        ),
        Sample(
            lambda m, x, y: m.F.smooth_l1_loss(x, y, beta=0.5, reduction="none"),
            (X, _target_at(D_BETA05)),
            desc="beta-0.5",
        ),
        Sample(
            lambda m, x, y: m.F.smooth_l1_loss(x, y, beta=0.0),
            (X, _target_at(D_L1)),
            desc="beta-0",
        ),
    ],
    "huber_loss": [
        *_reductions(
            lambda **kw: lambda m, x, y: m.F.huber_loss(x, y, **kw), (X, _target_at(D_BETA1))
        ),
        Sample(
            lambda m, x, y: m.F.huber_loss(x, y, delta=2.0, reduction="none"),
            (X, _target_at(D_DELTA2)),
            desc="delta-2",
        ),
    ],
    "kl_div": [
        *[
            Sample(
                _kl(r),
                (KL_IN, KL_T),
                desc=r,
            )
            for r in ("mean", "batchmean", "sum", "none")
        ],
        Sample(
            lambda m, x, t: m.F.kl_div(x, t, reduction="batchmean"),
            (KL_IN, KL_T_ZEROS),
            grad=(0,),
            desc="target-zeros",
        ),
        Sample(
            lambda m, x, t: m.F.kl_div(x, t, reduction="none"),
            (KL_IN, KL_T_ZEROS),
            grad=(0,),
            desc="target-zeros-none",
        ),
        Sample(
            lambda m, x, t: m.F.kl_div(x, t, reduction="batchmean", log_target=True),
            (KL_IN, KL_LOGT),
            desc="log_target",
        ),
        Sample(
            lambda m, x, t: m.F.kl_div(x, t, reduction="none", log_target=True),
            (KL_IN, KL_LOGT),
            desc="log_target-none",
        ),
    ],
}


_X43 = np.zeros((4, 3))
_Y4 = np.array([0, 1, 2, 1])

ERRORS = [
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y),
        (_X43, np.array([0, 3, 1, 2])),
        IndexError,
        r"cross_entropy: target class 3 is out of range for 3 classes",
        desc="ce-label-too-big",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y),
        (_X43, np.array([0, -1, 1, 2])),
        IndexError,
        r"cross_entropy: target class -1 is out of range .*ignore_index=-100",
        desc="ce-label-negative",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y, ignore_index=1),
        (_X43, np.array([0, -100, 1, 2])),
        IndexError,
        r"target class -100 is out of range for 3 classes",
        desc="ce-default-ignore-not-set",
    ),
    ErrorSample(
        lambda m, x, y: m.F.nll_loss(x, y),
        (np.zeros((2, 3, 2)), np.array([[0, 5], [1, 2]])),
        IndexError,
        r"nll_loss: target class 5 is out of range for 3 classes",
        desc="nll-label-too-big",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y),
        (_X43, np.array([0, 1, 2])),
        ValueError,
        r"cross_entropy: input batch size 4 does not match target batch size 3",
        desc="ce-batch",
    ),
    ErrorSample(
        lambda m, x, y: m.F.nll_loss(x, y),
        (_X43, np.array([0, 1])),
        ValueError,
        r"nll_loss: input batch size 4 does not match target batch size 2",
        desc="nll-batch",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y),
        (np.zeros((2, 3, 4, 4)), np.zeros((2, 4, 5), dtype=np.int64)),
        ValueError,
        r"cross_entropy: target shape \(2, 4, 5\) does not fit input shape \(2, 3, 4, 4\); "
        r"expected target shape \(2, 4, 4\)",
        desc="ce-spatial-shape",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y),
        (_X43, np.zeros((4, 2))),
        ValueError,
        r"cross_entropy: a probability target must have the input's shape \(4, 3\)",
        desc="ce-prob-shape",
    ),
    ErrorSample(
        lambda m, x, y: m.F.nll_loss(x, y),
        (_X43, np.zeros(4)),
        TypeError,
        r"nll_loss: target must hold integer class indices, got dtype float",
        desc="nll-float-target",
    ),
    ErrorSample(
        lambda m, x, y, w: m.F.cross_entropy(x, y, weight=w),
        (_X43, _Y4, np.ones(4)),
        ValueError,
        r"cross_entropy: weight of shape \(4,\) must have one entry per class \(3 classes\)",
        desc="ce-weight-length",
    ),
    ErrorSample(
        lambda m, x, y, w: m.F.nll_loss(x, y, weight=w),
        (_X43, _Y4, np.ones(2)),
        ValueError,
        r"nll_loss: weight of shape \(2,\) must have one entry per class \(3 classes\)",
        desc="nll-weight-length",
    ),
    ErrorSample(
        lambda m, x, y, w: m.F.cross_entropy(x, y, weight=w),
        (_X43, np.full((4, 3), 1 / 3), np.ones(2)),
        ValueError,
        r"cross_entropy: weight of shape \(2,\) must have one entry per class",
        desc="ce-prob-weight-length",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y, label_smoothing=1.5),
        (_X43, _Y4),
        ValueError,
        r"cross_entropy: label_smoothing must be in \[0, 1\], got 1.5",
        desc="ce-smoothing",
    ),
    ErrorSample(
        lambda m, x, y: m.F.cross_entropy(x, y, reduction="avg"),
        (_X43, _Y4),
        ValueError,
        r"cross_entropy: reduction must be one of 'none', 'mean', 'sum', got 'avg'",
        desc="ce-reduction",
    ),
    ErrorSample(
        lambda m, x, y: m.F.nll_loss(x, y, reduction="batchmean"),
        (_X43, _Y4),
        ValueError,
        r"nll_loss: reduction must be one of 'none', 'mean', 'sum', got 'batchmean'",
        desc="nll-reduction",
    ),
    ErrorSample(
        lambda m, x, y: m.F.mse_loss(x, y, reduction="elementwise_mean"),
        (_X43, _X43),
        ValueError,
        r"mse_loss: reduction must be one of",
        desc="mse-reduction",
    ),
    ErrorSample(
        lambda m, x, y: m.F.kl_div(x, y, reduction="avg"),
        (_X43, _X43),
        ValueError,
        r"kl_div: reduction must be one of 'none', 'mean', 'sum', 'batchmean', got 'avg'",
        desc="kl-reduction",
    ),
    ErrorSample(
        lambda m, x, y: m.F.binary_cross_entropy_with_logits(x, y, reduction=None),
        (_X43, _X43),
        ValueError,
        r"binary_cross_entropy_with_logits: reduction must be one of .* got None",
        desc="bcel-reduction",
    ),
    *[
        ErrorSample(
            _by_name(f),
            (_X43, np.zeros(3)),
            ValueError,
            rf"{f}: target shape \(3,\) does not match input shape \(4, 3\); "
            r"nerve does not broadcast",
            desc=f"{f}-shape",
        )
        for f in (
            "mse_loss",
            "l1_loss",
            "smooth_l1_loss",
            "huber_loss",
            "kl_div",
            "binary_cross_entropy",
            "binary_cross_entropy_with_logits",
        )
    ],
    ErrorSample(
        lambda m, x, y: m.F.binary_cross_entropy(x, y),
        (np.array([0.2, 1.3, -0.1]), np.array([0.0, 1.0, 1.0])),
        ValueError,
        r"binary_cross_entropy: every input value must lie in \[0, 1\], found values in "
        r"\[-0.1, 1.3\]; for raw scores use binary_cross_entropy_with_logits",
        desc="bce-input-range",
    ),
    ErrorSample(
        lambda m, x, y: m.F.binary_cross_entropy(x, y),
        (np.array([0.2, 0.5]), np.array([0.0, 2.0])),
        ValueError,
        r"binary_cross_entropy: every target value must lie in \[0, 1\]",
        desc="bce-target-range",
    ),
    ErrorSample(
        lambda m, x, y, w: m.F.binary_cross_entropy(x, y, weight=w),
        (np.full((4, 3), 0.5), np.full((4, 3), 0.5), np.ones(4)),
        ValueError,
        r"binary_cross_entropy: weight of shape \(4,\) does not broadcast to the input shape "
        r"\(4, 3\)",
        desc="bce-weight-shape",
    ),
    ErrorSample(
        lambda m, x, y, pw: m.F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
        (_X43, _X43, np.ones((2, 4, 3))),
        ValueError,
        r"binary_cross_entropy_with_logits: pos_weight of shape \(2, 4, 3\) does not broadcast",
        desc="bcel-pos_weight-shape",
    ),
    ErrorSample(
        lambda m, x, y: m.F.smooth_l1_loss(x, y, beta=-1.0),
        (_X43, _X43),
        ValueError,
        r"smooth_l1_loss: beta must be >= 0, got -1.0",
        desc="smooth_l1-beta",
    ),
    ErrorSample(
        lambda m, x, y: m.F.huber_loss(x, y, delta=0.0),
        (_X43, _X43),
        ValueError,
        r"huber_loss: delta must be > 0, got 0.0",
        desc="huber-delta",
    ),
]
