"""Samples for the indexing ops: getitem (basic, integer arrays, masks), gather (also through
take_along_dim), index_select, masked_fill, one_hot."""

import numpy as np

from op_db import ErrorSample, Sample, away_from, ints, rand

S = Sample
MASK = np.array(
    [[True, False, True, False], [False, False, True, True], [True, True, False, False]]
)

SAMPLES = {
    "getitem": [
        # basic: ints, slices, None, Ellipsis
        S(lambda m, x: x[1], (rand(3, 4),)),
        S(lambda m, x: x[-1, 1:3], (rand(3, 4),), desc="neg-int-slice"),
        S(lambda m, x: x[:, 1], (rand(3, 4),), desc="column"),
        S(lambda m, x: x[..., 0], (rand(2, 3, 4),), desc="ellipsis"),
        S(lambda m, x: x[None, 1:, ::2], (rand(3, 4),), desc="none-step"),
        S(lambda m, x: x[::2, None, -1], (rand(3, 4),), desc="step-none-neg"),
        S(lambda m, x: x[0:0], (rand(3, 4),), desc="empty-slice"),
        S(lambda m, x: x[...], (rand(),), desc="0d"),
        S(lambda m, x: x.mT[1:, 0], (rand(3, 4),), desc="non-contiguous"),
        S(lambda m, x, i: x[i], (rand(3, 4), np.array(1)), desc="0d-tensor-index"),
        # integer arrays
        S(lambda m, x: x[[0, 2, 2]], (rand(3, 4),), desc="list-dups"),
        S(lambda m, x: x[[-1, 0, -1]], (rand(3, 4),), desc="list-neg"),
        S(lambda m, x, i: x[i], (rand(5, 2), ints(-5, 5, 4, 3)), desc="tensor-2d-index"),
        S(lambda m, x: x[:, [1, 1, 0]], (rand(2, 3, 2),), desc="axis1"),
        S(lambda m, x: x[..., [0, 0, -1]], (rand(2, 3, 2),), desc="ellipsis-array"),
        S(
            lambda m, x, i, j: x[i, j],
            (rand(3, 4, 2), ints(0, 3, 5), ints(-4, 4, 5, seed=1)),
            desc="two-arrays",
        ),
        S(
            lambda m, x, i, j: x[:, i, j],
            (rand(2, 3, 4), ints(0, 3, 2, 1), ints(0, 4, 1, 3)),
            desc="two-arrays-broadcast",
        ),
        S(
            lambda m, x, i, j: x[i, :, j],
            (rand(3, 2, 4), ints(0, 3, 5), ints(0, 4, 5)),
            desc="separated-arrays",
        ),
        S(lambda m, x: x[1:, [0, 0, 3]], (rand(3, 4),), desc="slice-and-array"),
        S(lambda m, x: x[[0, 1, 1], 2], (rand(3, 4),), desc="array-and-int"),
        S(lambda m, x: x[None, [2, 0, 2], ..., 1:], (rand(3, 2, 4),), desc="none-array"),
        S(lambda m, x: x[[]], (rand(3, 4),), desc="empty-list"),
        S(lambda m, x: x.mT[[0, 2, 2]], (rand(3, 4),), desc="array-non-contiguous"),
        # boolean masks
        S(lambda m, x, k: x[k], (rand(3, 4), MASK), desc="mask"),
        S(lambda m, x: x[x > 0], (away_from(rand(3, 4)),), desc="mask-from-data"),
        S(lambda m, x, k: x[:, k], (rand(2, 3), np.array([True, False, True])), desc="mask-dim1"),
        S(lambda m, x, k: x[k], (rand(3, 4, 2), MASK), desc="mask-leading"),
        S(
            lambda m, x, k: x[k, 1:],
            (rand(3, 4), np.array([True, False, True])),
            desc="mask-and-slice",
        ),
        S(lambda m, x, k: x[k], (rand(3, 4), np.zeros((3, 4), bool)), desc="mask-none"),
        S(
            lambda m, x, k: x[k, [1, 1]],
            (rand(3, 4), np.array([False, True, True])),
            desc="mask-and-array",
        ),
    ],
    "gather": [
        S(lambda m, x, i: m.gather(x, 1, i), (rand(3, 4), ints(0, 4, 3, 4)), desc="dups"),
        S(lambda m, x, i: x.gather(0, i), (rand(3, 4), ints(0, 3, 2, 3)), desc="smaller-index"),
        S(lambda m, x, i: x.gather(-1, i), (rand(2, 3, 4), ints(0, 4, 2, 3, 6)), desc="neg-dim"),
        S(lambda m, x, i: x.gather(1, i), (rand(3, 4), ints(0, 4, 3, 0)), desc="empty-index"),
        S(lambda m, x, i: x.mT.gather(1, i), (rand(3, 4), ints(0, 3, 4, 2)), desc="non-contiguous"),
        S(lambda m, x, i: x.gather(0, i), (rand(1, 3), ints(0, 1, 1, 3)), desc="size-1"),
        S(
            lambda m, x, i: m.take_along_dim(x, i, 1),
            (rand(3, 4), ints(-4, 4, 3, 5)),
            desc="take-neg",
        ),
        S(lambda m, x, i: x.take_along_dim(i), (rand(3, 4), ints(0, 12, 2, 3)), desc="take-flat"),
        S(
            lambda m, x, i: m.take_along_dim(x, i, dim=1),
            (rand(1, 4), ints(0, 4, 3, 2)),
            desc="take-input-broadcast",
        ),
        S(
            lambda m, x, i: m.take_along_dim(x, i, dim=-1),
            (rand(3, 4), ints(0, 4, 1, 6)),
            desc="take-index-broadcast",
        ),
    ],
    "index_select": [
        S(lambda m, x, i: x.index_select(0, i), (rand(3, 4), np.array([2, 0, 2, 2]))),
        S(
            lambda m, x, i: m.index_select(x, -1, i),
            (rand(2, 3, 4), np.array([3, 1])),
            desc="neg-dim",
        ),
        S(lambda m, x, i: x.index_select(1, i), (rand(2, 3, 4), np.array(2)), desc="0d-index"),
        S(
            lambda m, x, i: x.index_select(0, i),
            (rand(3, 4), np.zeros(0, np.int64)),
            desc="empty-index",
        ),
        S(
            lambda m, x, i: x.mT.index_select(1, i),
            (rand(3, 4), np.array([1, 1, 0])),
            desc="non-contiguous",
        ),
        S(lambda m, x, i: x.index_select(0, i), (rand(), np.array([0])), desc="0d-input"),
    ],
    "masked_fill": [
        S(lambda m, x, k: x.masked_fill(k, 0.5), (rand(3, 4), MASK)),
        S(lambda m, x, k: m.masked_fill(x, k, -2), (rand(3, 4), MASK[0]), desc="mask-broadcast"),
        S(lambda m, x, k: x.masked_fill(k, 1.0), (rand(4), MASK), desc="input-broadcast"),
        S(
            lambda m, x, k, v: x.masked_fill(k, v),
            (rand(3, 4), MASK, np.array(0.25)),
            desc="tensor-value",
        ),
        S(lambda m, x, k: x.mT.masked_fill(k, 0.0), (rand(4, 3), MASK), desc="non-contiguous"),
        S(
            lambda m, x, k: x.masked_fill(k, 3.0),
            (rand(0, 4), np.zeros((0, 4), bool)),
            desc="empty",
        ),
    ],
    "one_hot": [
        S(lambda m, t: m.F.one_hot(t, 5).float(), (np.array([0, 4, 2, 2]),)),
        S(lambda m, t: m.F.one_hot(t).float(), (ints(0, 4, 2, 3),), desc="inferred"),
        S(lambda m, t: m.F.one_hot(t, 3).float(), (np.zeros(0, np.int64),), desc="empty"),
    ],
}

E = ErrorSample

ERRORS = [
    E(
        lambda m, x, i: m.gather(x, 1, i),
        (rand(2, 3), np.array([[0, 3]])),
        IndexError,
        r"gather: index 3 is out of range for dim 1 of size 3",
        desc="gather-range",
    ),
    E(
        lambda m, x, i: m.gather(x, 1, i),
        (rand(2, 3), np.array([[-1]])),
        IndexError,
        r"gather: index -1 is out of range",
        desc="gather-negative",
    ),
    E(
        lambda m, x, i: m.gather(x, 1, i),
        (rand(2, 3), np.array([0])),
        ValueError,
        r"as many dims",
        desc="gather-ndim",
    ),
    E(
        lambda m, x, i: m.gather(x, 1, i),
        (rand(2, 3), np.zeros((2, 1))),
        TypeError,
        r"gather: index must be an integer tensor",
        desc="gather-float-index",
    ),
    E(
        lambda m, x, i: x.index_select(0, i),
        (rand(2, 3), np.array([2])),
        IndexError,
        r"index_select: index 2 is out of range for dim 0 of size 2",
        desc="index_select-range",
    ),
    E(
        lambda m, x, i: m.take_along_dim(x, i, 1),
        (rand(2, 3), np.array([[-4]])),
        IndexError,
        r"take_along_dim: index -4",
        desc="take-range",
    ),
    E(
        lambda m, t: m.F.one_hot(t, 3),
        (np.array([0, 5, 1]),),
        ValueError,
        r"one_hot: class value 5 is out of range for num_classes=3",
        desc="one_hot-range",
    ),
    E(
        lambda m, t: m.F.one_hot(t, 3),
        (np.array([0, -2]),),
        ValueError,
        r"one_hot: class values must be non-negative, got -2",
        desc="one_hot-negative",
    ),
    E(
        lambda m, t: m.F.one_hot(t),
        (np.array([0.5]),),
        TypeError,
        "integer tensor",
        desc="one_hot-float",
    ),
    E(
        lambda m, x, k: x.masked_fill(k, 1.0),
        (rand(2, 3), np.ones((2, 3), np.int64)),
        TypeError,
        "mask must be a bool tensor",
        desc="masked_fill-int-mask",
    ),
    E(
        lambda m, x, k: x.masked_fill(k, 1.0),
        (rand(2, 3), np.ones(2, bool)),
        ValueError,
        r"mask of shape \(2,\) does not broadcast",
        desc="masked_fill-shape",
    ),
    E(lambda m, x: x[3], (rand(2, 3),), IndexError, r"shape \(2, 3\)", desc="getitem-range"),
    E(
        lambda m, x: x[:, [0, 5]],
        (rand(2, 3),),
        IndexError,
        r"shape \(2, 3\)",
        desc="getitem-array-range",
    ),
]
