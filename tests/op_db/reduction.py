"""Reductions: sum, mean, var/std, max/min/amax/amin (+ argmax/argmin), prod, logsumexp,
softmax/log_softmax, cumsum, norm (+ all/any, which have no gradient)."""

from __future__ import annotations

import numpy as np

from op_db import ErrorSample, Sample, away_from, positive, rand

INF = float("inf")

X34 = rand(3, 4, seed=1)
X234 = rand(2, 3, 4, seed=2)
EMPTY = np.zeros((0, 3))
SCALAR = np.array(0.7)

# Two tied maxima (and minima) in each row: the gradient is shared between them.
TIES = np.array([[0.3, 0.9, 0.9, -0.2], [-0.5, 0.1, -0.5, 0.4]])
# A row with one zero, a row with two, a row with none.
ZEROS = np.array([[0.5, 0.0, -1.5, 2.0], [0.0, 1.2, 0.0, -0.7], [1.1, -0.9, 0.6, 1.3]])
# std's gradient at a constant slice is 0 (torch's choice; central differences agree).
CONST_ROWS = np.array([[0.25, 0.25, 0.25], [0.1, -0.3, 0.6]])
BOOLS = np.array([[True, False, True], [True, True, True]])


def _reduce_samples(op: str) -> list:
    """The dims every reduction must take: all, int, negative int, tuple, keepdim, aliases."""
    return [
        Sample(lambda m, x: getattr(m, op)(x), (X34,), desc="all"),
        Sample(lambda m, x: getattr(m, op)(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: getattr(m, op)(x, dim=-1, keepdim=True), (X234,), desc="neg-keep"),
        Sample(lambda m, x: getattr(m, op)(x, (0, 2)), (X234,), desc="tuple"),
        Sample(lambda m, x: getattr(m, op)(x, dim=(-1, 0), keepdim=True), (X234,), desc="tuple-k"),
        Sample(lambda m, x: getattr(x, op)(0), (X34,), desc="method"),
        Sample(
            lambda m, x: getattr(m, op)(x, axis=1, keepdims=True),
            (X34,),
            torch_fn=lambda m, x: getattr(m, op)(x, dim=1, keepdim=True),
            desc="numpy-names",
        ),
        Sample(lambda m, x: getattr(m, op)(x, 0), (SCALAR,), desc="0d"),
    ]


def _as_float(t):
    # The harness compares float outputs only: multiply index/bool results into float32.
    return t * 1.0


def _max_samples(op: str, arg: str) -> list:
    return [
        Sample(lambda m, x: getattr(m, op)(x), (X34,), desc="all"),
        Sample(lambda m, x: getattr(m, op)(x), (TIES,), desc="all-ties"),
        Sample(lambda m, x: getattr(m, op)(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: getattr(m, op)(x, -1, keepdim=True), (X234,), desc="neg-keep"),
        Sample(lambda m, x: getattr(x, op)(dim=0), (X234,), desc="method"),
        Sample(lambda m, x: getattr(m, op)(x, 1), (EMPTY,), desc="empty-other-dim"),
        Sample(lambda m, x: getattr(m, op)(x, 0), (SCALAR,), desc="0d"),
        Sample(
            lambda m, x: getattr(m, op)(x, axis=0, keepdims=True),
            (X34,),
            torch_fn=lambda m, x: getattr(m, op)(x, dim=0, keepdim=True),
            desc="numpy-names",
        ),
        Sample(
            lambda m, x: _as_float(getattr(m, op)(x, 1).indices),
            (X34,),
            grad=(),
            desc="indices",
        ),
        Sample(lambda m, x: _as_float(getattr(m, arg)(x)), (X234,), grad=(), desc=arg),
        Sample(lambda m, x: _as_float(getattr(m, arg)(x, 1)), (X234,), grad=(), desc=f"{arg}-d"),
        Sample(
            lambda m, x: _as_float(getattr(m, arg)(x, -1, keepdim=True)),
            (X234,),
            grad=(),
            desc=f"{arg}-keep",
        ),
        Sample(
            lambda m, x: _as_float(getattr(m, arg)(x, keepdim=True)),
            (X234,),
            grad=(),
            desc=f"{arg}-all-keep",
        ),
    ]


def _amax_samples(op: str, logical: str) -> list:
    return [
        *_reduce_samples(op),
        Sample(lambda m, x: getattr(m, op)(x, 1), (TIES,), desc="ties"),
        Sample(lambda m, x: getattr(m, op)(x, 1), (EMPTY,), desc="empty-other-dim"),
        Sample(lambda m, b: _as_float(getattr(m, logical)(b)), (BOOLS,), desc=logical),
        Sample(lambda m, b: _as_float(getattr(m, logical)(b, 1)), (BOOLS,), desc=f"{logical}-d"),
        Sample(
            lambda m, x: _as_float(getattr(m, logical)(x, 0, keepdim=True)),
            (ZEROS,),
            grad=(),
            desc=f"{logical}-float",
        ),
    ]


def _var_samples(op: str) -> list:
    return [
        *_reduce_samples(op)[:6],
        Sample(lambda m, x: getattr(m, op)(x, 1, unbiased=False), (X34,), desc="biased"),
        Sample(lambda m, x: getattr(m, op)(x, 0, correction=0), (X34,), desc="correction0"),
        Sample(lambda m, x: getattr(m, op)(x, (0, 1), correction=2), (X234,), desc="correction2"),
        Sample(lambda m, x: getattr(x, op)(1, True, True), (X34,), desc="positional"),
        Sample(lambda m, x: getattr(m, op)(x, False), (X34,), desc="unbiased-overload"),
        Sample(
            lambda m, x: getattr(m, op)(x, axis=1, ddof=0),
            (X34,),
            torch_fn=lambda m, x: getattr(m, op)(x, dim=1, correction=0),
            desc="ddof",
        ),
        Sample(lambda m, x: getattr(m, op)(x, 1), (CONST_ROWS,), desc="constant-rows"),
    ]


SAMPLES = {
    "sum": [
        *_reduce_samples("sum"),
        Sample(lambda m, x: m.sum(x, 0), (EMPTY,), desc="empty"),
        Sample(lambda m, x: m.sum(x), (EMPTY,), desc="empty-all"),
    ],
    "mean": [
        *_reduce_samples("mean"),
        Sample(lambda m, x: m.mean(x, 1), (EMPTY,), desc="empty-other-dim"),
        Sample(lambda m, x: m.mean(x, 0), (EMPTY,), desc="empty-nan"),
    ],
    "var": _var_samples("var"),
    "std": _var_samples("std"),
    "max": _max_samples("max", "argmax"),
    "min": _max_samples("min", "argmin"),
    "amax": _amax_samples("amax", "any"),
    "amin": _amax_samples("amin", "all"),
    "prod": [
        Sample(lambda m, x: m.prod(x), (positive(2, 3, seed=3),), desc="all"),
        Sample(lambda m, x: m.prod(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: m.prod(x, -1, keepdim=True), (X234,), desc="neg-keep"),
        Sample(lambda m, x: x.prod(0), (X34,), desc="method"),
        Sample(lambda m, x: m.prod(x, 1), (ZEROS,), desc="zeros"),
        Sample(lambda m, x: m.prod(x, 0), (ZEROS,), desc="zeros-dim0"),
        Sample(lambda m, x: m.prod(x), (ZEROS[:1],), desc="one-zero-all"),
        Sample(lambda m, x: m.prod(x, 0), (EMPTY,), desc="empty-is-one"),
        Sample(lambda m, x: m.prod(x, 0), (SCALAR,), desc="0d"),
        Sample(
            lambda m, x: m.prod(x, (0, 2)),
            (X234,),
            torch_fn=lambda m, x: m.prod(m.prod(x, 2), 0),
            desc="tuple",
        ),
        Sample(
            lambda m, x: m.prod(x, axis=1, keepdims=True),
            (X34,),
            torch_fn=lambda m, x: m.prod(x, 1, keepdim=True),
            desc="numpy-names",
        ),
    ],
    "logsumexp": [
        Sample(lambda m, x: m.logsumexp(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: m.logsumexp(x, -1, keepdim=True), (X234,), desc="neg-keep"),
        Sample(lambda m, x: m.logsumexp(x, (0, 2)), (X234,), desc="tuple"),
        Sample(lambda m, x: x.logsumexp(0), (X34,), desc="method"),
        Sample(lambda m, x: m.logsumexp(x, 1), (X34 * 1000,), desc="large"),
        Sample(lambda m, x: m.logsumexp(x, 1), (X34 * 1000 - 5000,), desc="very-negative"),
        Sample(lambda m, x: m.logsumexp(x, 0), (EMPTY,), desc="empty-is-neg-inf"),
        Sample(
            lambda m, x: m.logsumexp(x),
            (X34,),
            torch_fn=lambda m, x: m.logsumexp(x, (0, 1)),
            desc="all",
        ),
        Sample(
            lambda m, x: m.logsumexp(x, axis=0, keepdims=True),
            (X34,),
            torch_fn=lambda m, x: m.logsumexp(x, 0, keepdim=True),
            desc="numpy-names",
        ),
    ],
    "softmax": [
        Sample(lambda m, x: m.softmax(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: m.softmax(x, 0), (X34,), desc="dim0"),
        Sample(lambda m, x: m.F.softmax(x, dim=-1), (X234,), desc="F-neg"),
        Sample(lambda m, x: x.softmax(1), (X234 * 500,), desc="large"),
    ],
    "log_softmax": [
        Sample(lambda m, x: m.log_softmax(x, 1), (X34,), desc="dim1"),
        Sample(lambda m, x: m.F.log_softmax(x, dim=-1), (X234,), desc="F-neg"),
        Sample(lambda m, x: x.log_softmax(0), (X234 * 500,), desc="large"),
    ],
    "cumsum": [
        Sample(lambda m, x: m.cumsum(x, 0), (X34,), desc="dim0"),
        Sample(lambda m, x: m.cumsum(x, -1), (X234,), desc="neg"),
        Sample(lambda m, x: x.cumsum(1), (X234,), desc="method"),
        Sample(lambda m, x: m.cumsum(x, 1), (EMPTY,), desc="empty"),
        Sample(lambda m, x: m.cumsum(x, 0), (SCALAR,), desc="0d"),
        Sample(
            lambda m, x: m.cumsum(x, axis=1),
            (X34,),
            torch_fn=lambda m, x: m.cumsum(x, dim=1),
            desc="axis",
        ),
    ],
    "norm": [
        Sample(lambda m, x: m.norm(x), (X234,), desc="fro-all"),
        Sample(lambda m, x: x.norm(), (X34,), desc="method"),
        Sample(lambda m, x: m.norm(x, 2, 1), (X34,), desc="p2-dim1"),
        Sample(lambda m, x: m.norm(x, "fro", (0, 2)), (X234,), desc="fro-tuple"),
        Sample(lambda m, x: m.norm(x, 1, -1, keepdim=True), (X234,), desc="p1-neg-keep"),
        Sample(lambda m, x: m.norm(x, INF, 1), (X34,), desc="inf"),
        Sample(lambda m, x: m.norm(x, -INF, 1), (X34,), desc="neg-inf"),
        Sample(lambda m, x: m.norm(x, 3, 0), (X34,), desc="p3"),
        Sample(lambda m, x: m.norm(x, 1.5, 1), (X34,), desc="p1.5"),
        Sample(lambda m, x: m.norm(x, 0.5, 1), (away_from(X34),), desc="p0.5"),
        Sample(lambda m, x: m.norm(x, 0, 1), (X34,), desc="p0"),
        Sample(lambda m, x: m.norm(x, dim=1), (ZEROS * (ZEROS > 1),), desc="zero-row-p2"),
        Sample(lambda m, x: m.norm(x, 3, 1), (ZEROS * (ZEROS > 1),), desc="zero-row-p3"),
        Sample(lambda m, x: m.norm(x, 0.5, 1), (ZEROS,), desc="zeros-p0.5"),
        Sample(lambda m, x: m.norm(x, INF), (np.array([0.5, -0.5, 0.2]),), desc="inf-ties"),
        Sample(lambda m, x: m.norm(x, dim=0), (EMPTY,), desc="empty"),
        Sample(
            lambda m, x: m.norm(x, axis=0, keepdims=True),
            (X34,),
            torch_fn=lambda m, x: m.norm(x, dim=0, keepdim=True),
            desc="numpy-names",
        ),
    ],
}

_X = rand(2, 3, seed=9)
ERRORS = [
    ErrorSample(
        lambda m, x: m.sum(x, 2), (_X,), IndexError, r"sum: dim 2 .* with 2 dimensions", "sum-dim"
    ),
    ErrorSample(
        lambda m, x: m.mean(x, (0, -2)), (_X,), ValueError, r"mean: dim .* names an axis twice"
    ),
    ErrorSample(
        lambda m, x: m.var(x, -3), (_X,), IndexError, r"var: dim -3 .* with 2 dimensions", "var-dim"
    ),
    ErrorSample(lambda m, x: m.var(x.long()), (_X,), TypeError, r"var needs a floating-point"),
    ErrorSample(
        lambda m, x: m.std(x, 1, unbiased=True, correction=0),
        (_X,),
        TypeError,
        r"std: pass only one of unbiased=, correction= and ddof=",
    ),
    ErrorSample(
        lambda m, x: m.max(x, 0), (EMPTY,), IndexError, r"max\(\): dim 0 .* \(0, 3\) has size 0"
    ),
    ErrorSample(lambda m, x: m.max(x), (EMPTY,), RuntimeError, r"max\(\): .* no elements"),
    ErrorSample(lambda m, x: m.min(x, (0, 1)), (_X,), TypeError, r"min: dim must be one int"),
    ErrorSample(lambda m, x: m.max(x, 5), (_X,), IndexError, r"max: dim 5 .* with 2 dimensions"),
    ErrorSample(lambda m, x: m.amin(x, 0), (EMPTY,), IndexError, r"amin\(\): dim 0 .* size 0"),
    ErrorSample(lambda m, x: m.argmax(x), (EMPTY,), RuntimeError, r"argmax\(\): .* no elements"),
    ErrorSample(lambda m, x: m.cumsum(x), (_X,), TypeError, r"cumsum: pass dim="),
    ErrorSample(lambda m, x: m.cumsum(x, 2), (_X,), IndexError, r"cumsum: dim 2 is out of range"),
    ErrorSample(lambda m, x: m.norm(x, "nuc"), (_X,), NotImplementedError, r"norm: p='nuc'"),
    ErrorSample(lambda m, x: m.norm(x, -1), (_X,), ValueError, r"norm: p must be >= 0"),
    ErrorSample(lambda m, x: m.norm(x, INF, 0), (EMPTY,), IndexError, r"norm\(\): dim 0"),
    ErrorSample(lambda m, x: m.softmax(x, None), (_X,), TypeError, r"softmax: pass dim="),
    ErrorSample(lambda m, x: m.logsumexp(x, 3), (_X,), IndexError, r"logsumexp: dim 3"),
    ErrorSample(lambda m, x: m.all(x, 2), (_X,), IndexError, r"all: dim 2 .* with 2 dimensions"),
]
