"""Samples for sort (also through topk and argsort), kthvalue (also through median) and cumprod.

Values are distinct within each slice (no ties), so indices and gradients are well defined.
"""

import numpy as np

from op_db import ErrorSample, Sample, rand

S = Sample
E = ErrorSample


def _distinct(*shape, seed=0):
    """Uniform values with every pair at least 0.05 apart (a shuffled grid, jittered)."""
    g = np.random.default_rng(seed)
    n = int(np.prod(shape))
    grid = (np.arange(n) - n / 2) * 0.1 + g.uniform(-0.02, 0.02, n)
    return g.permutation(grid).reshape(shape)


X = _distinct(3, 5, seed=1)
X3 = _distinct(2, 3, 4, seed=2)
WITH_NAN = np.array([[0.5, np.nan, -0.2, 0.9], [0.1, 0.3, -0.4, 0.2]])
# cumprod's gradient with zeros: a row with one zero, one with two, one with none.
ZEROS = np.array([[0.5, 0.0, -1.5, 2.0], [0.0, 1.2, 0.0, -0.7], [1.1, -0.9, 0.6, 1.3]])


def _f(t):
    return t * 1.0  # index results as floats, for the torch comparison


SAMPLES = {
    "sort": [
        S(lambda m, x: m.sort(x).values, (X,)),
        S(lambda m, x: x.sort(0, descending=True).values, (X,), desc="dim0-desc"),
        S(lambda m, x: m.sort(x, dim=-1, stable=True)[0], (X3,), desc="neg-dim-3d"),
        S(lambda m, x: x.mT.sort(1).values, (X,), desc="non-contiguous"),
        S(lambda m, x: _f(m.sort(x, descending=True).indices), (X3,), grad=(), desc="indices"),
        S(lambda m, x: m.sort(x).values, (WITH_NAN,), grad=(), desc="nan-last"),
        S(lambda m, x: x.sort(descending=True).values, (WITH_NAN,), grad=(), desc="nan-first"),
        S(lambda m, x: _f(m.argsort(x, dim=0)), (X,), grad=(), desc="argsort"),
        S(lambda m, x: _f(x.argsort(descending=True)), (X3,), grad=(), desc="argsort-desc"),
        S(lambda m, x: m.topk(x, 2).values, (X,), desc="topk"),
        S(lambda m, x: x.topk(3, dim=0, largest=False).values, (X,), desc="topk-smallest"),
        S(lambda m, x: _f(m.topk(x, 2, dim=-2).indices), (X3,), grad=(), desc="topk-indices"),
        S(lambda m, x: x.mT.topk(1)[0], (X,), desc="topk-non-contiguous"),
        S(lambda m, x: m.topk(x, 0).values, (X,), desc="topk-0"),
        S(lambda m, x: m.sort(x).values, (np.array(0.3),), desc="0d"),
    ],
    "kthvalue": [
        S(lambda m, x: m.kthvalue(x, 2).values, (X,)),
        S(lambda m, x: x.kthvalue(1, dim=0, keepdim=True).values, (X,), desc="dim0-keep"),
        S(lambda m, x: m.kthvalue(x, 4, -1)[0], (X3,), desc="neg-dim-3d"),
        S(lambda m, x: _f(x.kthvalue(3, 1).indices), (X3,), grad=(), desc="indices"),
        S(lambda m, x: x.mT.kthvalue(3).values, (X,), desc="non-contiguous"),
        S(lambda m, x: m.median(x), (X,), desc="median-all"),
        S(lambda m, x: m.median(x), (X3,), desc="median-all-even"),
        S(lambda m, x: x.median(dim=1).values, (X,), desc="median-dim"),
        S(lambda m, x: m.median(x, -1, keepdim=True)[0], (X3,), desc="median-even-keep"),
        S(lambda m, x: _f(x.median(0).indices), (X3,), grad=(), desc="median-indices"),
        S(lambda m, x: m.median(x, 1).values, (WITH_NAN,), grad=(), desc="median-nan"),
        S(lambda m, x: _f(m.median(x, 1).indices), (WITH_NAN,), grad=(), desc="median-nan-idx"),
    ],
    "cumprod": [
        S(lambda m, x: m.cumprod(x, 1), (rand(3, 4, seed=4),)),
        S(lambda m, x: x.cumprod(dim=0), (rand(3, 4, seed=5),), desc="dim0"),
        S(lambda m, x: m.cumprod(x, -1), (rand(2, 3, 4, seed=6),), desc="neg-dim"),
        S(lambda m, x: x.mT.cumprod(1), (rand(3, 4, seed=7),), desc="non-contiguous"),
        S(lambda m, x: m.cumprod(x, 1), (ZEROS,), desc="zeros"),
        S(lambda m, x: m.cumprod(x, 0), (ZEROS.T.copy(),), desc="zeros-dim0"),
        S(lambda m, x: m.cumprod(x, 0), (np.array(0.7),), desc="0d"),
        S(
            lambda m, x: m.cumprod(x, axis=1),
            (rand(3, 4, seed=8),),
            torch_fn=lambda m, x: m.cumprod(x, dim=1),
            desc="numpy-axis",
        ),
    ],
}

# Ties in a running max: torch points at the latest, and the gradient goes there.
CUM_TIES = np.array([[1.0, 3.0, 2.0, 3.0, 0.0], [0.0, -1.0, 5.0, 5.0, 2.0]])


def _cum(op: str) -> list:
    return [
        S(lambda m, x: getattr(m, op)(x, 1).values, (X,)),
        S(lambda m, x: getattr(x, op)(0)[0], (X3,), desc="dim0-3d"),
        S(lambda m, x: getattr(m, op)(x, -1).values, (X3,), desc="neg-dim"),
        S(lambda m, x: getattr(x.mT, op)(1).values, (X,), desc="non-contiguous"),
        S(lambda m, x: _f(getattr(m, op)(x, 1).indices), (X3,), grad=(), desc="indices"),
        S(lambda m, x: _f(getattr(m, op)(x, 1).indices), (CUM_TIES,), grad=(), desc="ties-idx"),
        S(lambda m, x: getattr(m, op)(x, 0).values, (np.array(0.4),), desc="0d"),
    ]


SAMPLES["cummax"] = _cum("cummax")
SAMPLES["cummin"] = _cum("cummin")

ERRORS = [
    E(
        lambda m, x: m.topk(x, 6),
        (rand(3, 5),),
        RuntimeError,
        r"topk: k=6 is out of range for dim -1 of size 5",
        desc="topk-k",
    ),
    E(
        lambda m, x: m.sort(x, 2),
        (rand(3, 5),),
        IndexError,
        r"sort: dim 2 is out of range for a tensor with 2 dimensions",
        desc="sort-dim",
    ),
    E(
        lambda m, x: m.kthvalue(x, 0),
        (rand(3, 5),),
        RuntimeError,
        r"kthvalue: k=0 is out of range for dim -1 of size 5",
        desc="kthvalue-k",
    ),
    E(
        lambda m, x: m.cumprod(x),
        (rand(3, 5),),
        TypeError,
        r"cumprod: pass dim=",
        desc="cumprod-no-dim",
    ),
    E(
        lambda m, x: m.median(x, 0),
        (np.zeros((0, 3)),),
        RuntimeError,
        r"median: dim 0 of the tensor of shape \(0, 3\) is empty",
        desc="median-empty",
    ),
    E(
        lambda m, x: m.cummax(x, 2),
        (rand(3, 5),),
        IndexError,
        r"cummax: dim 2 is out of range for a tensor with 2 dimensions",
        desc="cummax-dim",
    ),
]

SAMPLES["logcumsumexp"] = [
    S(lambda m, x: m.logcumsumexp(x, 1), (X,)),
    S(lambda m, x: x.logcumsumexp(0), (X3 * 20,), desc="dim0-wide"),
    S(lambda m, x: m.logcumsumexp(x, -1), (X3,), desc="neg-dim"),
    S(lambda m, x: x.mT.logcumsumexp(1), (X,), desc="non-contiguous"),
    S(lambda m, x: m.logcumsumexp(x, 0), (np.array(0.3),), desc="0d"),
    S(lambda m, x: m.logcumsumexp(x * 100, 1), (X,), desc="large"),
]

ERRORS += [
    E(
        lambda m, x: m.logcumsumexp(x, 1),
        (rand(3),),
        IndexError,
        r"logcumsumexp: dim 1 is out of range for a tensor with 1 dimensions",
        desc="logcumsumexp-dim",
    ),
    E(
        lambda m, x: m.cummin(x, -3),
        (rand(3, 2),),
        IndexError,
        r"cummin: dim -3 is out of range",
        desc="cummin-dim",
    ),
]

# mode picks through kthvalue's op: integer-valued data, so values repeat. A mode is a tie by
# nature: moving one element changes it, so no central differences (test_tensor_ops_more
# compares its gradient with torch's).
MODE_DATA = np.random.default_rng(45).integers(0, 4, (3, 4, 7)).astype(np.float64)
SAMPLES["kthvalue"] += [
    S(lambda m, x: m.mode(x).values, (MODE_DATA,), grad=(), desc="mode"),
    S(lambda m, x: _f(x.mode(0).indices), (MODE_DATA,), grad=(), desc="mode-indices"),
    S(lambda m, x: m.mode(x, 1, keepdim=True)[0], (MODE_DATA,), grad=(), desc="mode-keep"),
    S(lambda m, x: _f(x.mT.mode(-1)[1]), (MODE_DATA[0],), grad=(), desc="mode-non-contiguous"),
]
