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


# ----------------------------------------------------------------------------- scatter family
# Distinct positions along dim 0 in every column: scatter's result is then defined.
PERM_ROWS = np.array([[2, 0, 1, 3], [0, 3, 2, 1], [1, 2, 0, 0]])

SAMPLES.update(
    {
        "scatter": [
            S(lambda m, x, i, s: x.scatter(0, i, s), (rand(4, 4), PERM_ROWS[:2], rand(2, 4))),
            S(
                lambda m, x, i, s: m.scatter(x, 1, i, s),
                (rand(3, 5), np.array([[4], [1], [2]]), rand(3, 2)),
                grad=(0,),  # torch's backward fails for a src larger than index (torch bug)
                desc="src-larger",
            ),
            S(
                lambda m, x, i, s: x.scatter(-1, i, s),
                (rand(2, 3, 4), ints(0, 4, 2, 3, 1), rand(2, 3, 1)),
                desc="neg-dim",
            ),
            S(
                lambda m, x, i: x.scatter(0, i, value=2.5),
                (rand(4, 3), PERM_ROWS[:2, :3]),
                desc="value",
            ),
            S(
                lambda m, x, i, s: x.mT.scatter(1, i, s.mT),
                (rand(4, 3), PERM_ROWS[:2, :3].T.copy(), rand(2, 3)),
                desc="non-contiguous",
            ),
        ],
        "scatter_add": [
            S(lambda m, x, i, s: x.scatter_add(0, i, s), (rand(4, 4), PERM_ROWS, rand(3, 4))),
            S(
                lambda m, x, i, s: m.scatter_add(x, 1, i, s),
                (rand(2, 3), ints(0, 3, 2, 5), rand(2, 6)),
                grad=(0,),  # torch's backward fails for a src larger than index (torch bug)
                desc="dups-src-larger",
            ),
            S(
                lambda m, x, i, s: x.scatter_add(-1, i, s),
                (rand(2, 3, 4), ints(0, 4, 2, 3, 4, seed=3), rand(2, 3, 4)),
                desc="neg-dim",
            ),
            S(
                lambda m, x, i, s: x.mT.scatter_add(0, i, s.mT),
                (rand(3, 4), PERM_ROWS[:2, :3].copy(), rand(3, 2)),
                desc="non-contiguous",
            ),
        ],
        "index_add": [
            S(
                lambda m, x, i, s: x.index_add(0, i, s),
                (rand(4, 3), np.array([3, 0, 3]), rand(3, 3)),
                desc="dups",
            ),
            S(
                lambda m, x, i, s: m.index_add(x, -1, i, s, alpha=-2.0),
                (rand(2, 3, 4), np.array([1, 2]), rand(2, 3, 2)),
                desc="neg-dim-alpha",
            ),
            S(
                lambda m, x, i, s: x.mT.index_add(1, i, s),
                (rand(3, 4), np.array([2]), rand(4, 1)),
                desc="non-contiguous",
            ),
        ],
    }
)

ERRORS += [
    E(
        lambda m, x, i, s: x.scatter(0, i, s),
        (rand(3, 4), np.array([[0, 3, 1, 1]]), rand(1, 4)),
        IndexError,
        r"scatter: index 3 is out of range for dim 0 of size 3",
        desc="scatter-range",
    ),
    E(
        lambda m, x, i, s: x.scatter(0, i, s),
        (rand(3, 4), np.array([[0.0, 1.0]]), rand(1, 2)),
        TypeError,
        r"scatter: index must be an integer tensor",
        desc="scatter-index-dtype",
    ),
    E(
        lambda m, x, i, s: x.scatter_add(1, i, s),
        (rand(3, 4), np.array([0, 1]), rand(2)),
        ValueError,
        r"scatter_add: index \(2,\), src \(2,\) and the input \(3, 4\) must have the same",
        desc="scatter_add-ndim",
    ),
    E(
        lambda m, x, i, s: x.scatter_add(5, i, s),
        (rand(3, 4), np.array([[0]]), rand(1, 1)),
        IndexError,
        r"scatter_add: dim 5 is out of range",
        desc="scatter_add-dim",
    ),
    E(
        lambda m, x, i, s: x.index_add(0, i, s),
        (rand(3, 4), np.array([0, 1]), rand(3, 4)),
        ValueError,
        r"index_add: source of shape \(3, 4\) does not fit",
        desc="index_add-shape",
    ),
    E(
        lambda m, x, i: x.narrow(1, 2, 3),
        (rand(3, 4), np.array(0)),
        IndexError,
        r"narrow: start \(2\) \+ length \(3\) exceeds dim 1 of size 4",
        desc="narrow-range",
    ),
    E(
        lambda m, x, k: x.masked_select(k),
        (rand(3, 4), np.ones((3, 4))),
        TypeError,
        r"masked_select: mask must be a bool tensor",
        desc="masked_select-dtype",
    ),
    E(
        lambda m, x, r: x.repeat_interleave(r, dim=0),
        (rand(3, 4), np.array([1, 2])),
        ValueError,
        r"repeat_interleave: repeats of shape \(2,\) must be one count or 3 counts",
        desc="repeat_interleave-counts",
    ),
]

# scatter_reduce: repeated positions, distinct values (no ties) except in the "ties" samples.
_SR_INDEX = np.array([[0, 1, 1, 2, 0, 3], [2, 2, 0, 0, 1, 1]])
_SR_SRC = away_from(rand(2, 6, seed=41), margin=0.15)


def _sr(reduce: str) -> list:
    return [
        S(
            lambda m, x, i, s: x.scatter_reduce(1, i, s, reduce),
            (rand(2, 4, seed=42), _SR_INDEX, _SR_SRC),
            desc=reduce,
        ),
        S(
            lambda m, x, i, s: m.scatter_reduce(x, 1, i, s, reduce, include_self=False),
            (rand(2, 4, seed=43), _SR_INDEX, _SR_SRC),
            desc=f"{reduce}-no-self",
        ),
        S(
            lambda m, x, i, s: x.mT.scatter_reduce(1, i, s, reduce),
            (rand(4, 2, seed=44), _SR_INDEX, _SR_SRC),
            desc=f"{reduce}-non-contiguous",
        ),
    ]


SAMPLES["scatter_reduce"] = [s for r in ("sum", "prod", "mean", "amax", "amin") for s in _sr(r)] + [
    S(
        lambda m, x, i, s: x.scatter_reduce(0, i, s, "amax"),
        (np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1, 2]), np.array([1.0, 0.5, 2.0, 0.0])),
        desc="amax-ties-with-self",
    ),
    S(
        lambda m, x, i, s: x.scatter_reduce(0, i, s, "prod"),
        (np.array([1.5, 0.0, 3.0]), np.array([0, 0, 1, 2, 2]), np.array([2.0, 0.0, 3.0, 0.0, 0.5])),
        desc="prod-zeros",
    ),
]
ERRORS += [
    E(
        lambda m, x, i, s: x.scatter_reduce(0, i, s, "max"),
        (rand(3), np.array([0, 1]), rand(2)),
        ValueError,
        r"scatter_reduce: reduce must be one of \('sum', 'prod', 'mean', 'amax', 'amin'\)",
        desc="scatter_reduce-reduce",
    ),
    E(
        lambda m, x, i, s: x.scatter_reduce(0, i, s, "sum"),
        (rand(3), np.array([0, 3]), rand(2)),
        IndexError,
        r"scatter_reduce: index 3 is out of range for dim 0 of size 3",
        desc="scatter_reduce-range",
    ),
]
