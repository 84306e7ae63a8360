"""Samples for the matrix-structure ops: diag, diagonal (also through trace), tril, triu, cross."""

from op_db import ErrorSample, Sample, rand

S = Sample
E = ErrorSample

SAMPLES = {
    "diag": [
        S(lambda m, x: m.diag(x), (rand(3),)),
        S(lambda m, x: x.diag(1), (rand(3),), desc="above"),
        S(lambda m, x: m.diag(x, diagonal=-2), (rand(2),), desc="below"),
        S(lambda m, x: m.diag(x[::2]), (rand(5),), desc="non-contiguous"),
    ],
    "diagonal": [
        S(lambda m, x: m.diag(x), (rand(3, 4),), desc="diag-2d"),
        S(lambda m, x: x.diag(-1), (rand(4, 3),), desc="diag-2d-below"),
        S(lambda m, x: m.diag(x, 5), (rand(3, 4),), desc="diag-2d-empty"),
        S(lambda m, x: m.diagonal(x), (rand(3, 4),)),
        S(lambda m, x: x.diagonal(1, 0, 2), (rand(3, 2, 4),), desc="dims"),
        S(lambda m, x: m.diagonal(x, -1, dim1=-1, dim2=0), (rand(3, 2, 4),), desc="neg-dims"),
        S(lambda m, x: x.mT.diagonal(), (rand(3, 4),), desc="non-contiguous"),
        S(lambda m, x: m.trace(x), (rand(3, 4),), desc="trace"),
        S(lambda m, x: x.mT.trace(), (rand(4, 2),), desc="trace-method"),
    ],
    "tril": [
        S(lambda m, x: m.tril(x), (rand(3, 4),)),
        S(lambda m, x: x.tril(1), (rand(2, 3, 4),), desc="batch-above"),
        S(lambda m, x: m.tril(x, diagonal=-1), (rand(4, 3),), desc="below"),
        S(lambda m, x: x.mT.tril(), (rand(3, 4),), desc="non-contiguous"),
    ],
    "triu": [
        S(lambda m, x: m.triu(x), (rand(3, 4),)),
        S(lambda m, x: x.triu(-1), (rand(2, 3, 4),), desc="batch-below"),
        S(lambda m, x: m.triu(x, diagonal=2), (rand(4, 3),), desc="above"),
        S(lambda m, x: x.mT.triu(), (rand(3, 4),), desc="non-contiguous"),
    ],
    "cross": [
        S(lambda m, a, b: m.cross(a, b, dim=1), (rand(4, 3, seed=1), rand(4, 3, seed=2))),
        S(lambda m, a, b: a.cross(b, dim=0), (rand(3, 2, seed=3), rand(3, 2, seed=4)), desc="d0"),
        S(
            lambda m, a, b: m.cross(a, b, dim=-1),
            (rand(2, 1, 3, seed=5), rand(1, 4, 3, seed=6)),
            torch_fn=lambda m, a, b: m.linalg.cross(a, b, dim=-1),
            desc="broadcast",
        ),
        S(
            lambda m, a, b: m.cross(a.mT, b, dim=1),
            (rand(3, 4, seed=7), rand(4, 3, seed=8)),
            desc="non-contiguous",
        ),
    ],
}

ERRORS = [
    E(
        lambda m, x: m.diag(x),
        (rand(2, 3, 4),),
        ValueError,
        r"diag: expects a 1-d or 2-d tensor, got shape \(2, 3, 4\)",
        desc="diag-3d",
    ),
    E(
        lambda m, x: m.diagonal(x, 0, 1, -1),
        (rand(3, 4),),
        ValueError,
        r"diagonal: dim1 \(1\) and dim2 \(-1\) must name two different dims",
        desc="diagonal-same-dim",
    ),
    E(
        lambda m, x: m.tril(x),
        (rand(4),),
        ValueError,
        r"tril: expects a tensor with at least 2 dims, got shape \(4,\)",
        desc="tril-1d",
    ),
    E(
        lambda m, a, b: m.cross(a, b, dim=1),
        (rand(3, 2), rand(3, 2)),
        ValueError,
        r"cross: both inputs need size 3 in dim 1 and the same number of dims, got shapes "
        r"\(3, 2\) and \(3, 2\)",
        desc="cross-size",
    ),
    E(
        lambda m, x: m.trace(x),
        (rand(2, 3, 4),),
        ValueError,
        r"trace: expects a 2-d tensor, got shape \(2, 3, 4\)",
        desc="trace-3d",
    ),
    E(
        lambda m, x: x.t(),
        (rand(2, 3, 4),),
        ValueError,
        r"t: expects a tensor with at most 2 dims, got shape \(2, 3, 4\)",
        desc="t-3d",
    ),
]

ERRORS += [
    E(
        lambda m, x: m.triu(x, 1),
        (rand(3),),
        ValueError,
        r"triu: expects a tensor with at least 2 dims, got shape \(3,\)",
        desc="triu-1d",
    ),
    E(
        lambda m, x: m.diagonal(x, 0, 0, 3),
        (rand(3, 4),),
        IndexError,
        r"diagonal: dim 3 is out of range",
        desc="diagonal-dim",
    ),
]

SAMPLES["diag_embed"] = [
    S(lambda m, x: m.diag_embed(x), (rand(2, 3),)),
    S(lambda m, x: x.diag_embed(1), (rand(2, 3),), desc="above"),
    S(lambda m, x: m.diag_embed(x, 0, 0, 2), (rand(2, 3),), desc="dims"),
    S(lambda m, x: m.diag_embed(x, -1, dim1=-1, dim2=0), (rand(2, 3),), desc="dims-swapped"),
    S(lambda m, x: m.diag_embed(x.mT), (rand(3, 2),), desc="non-contiguous"),
    S(lambda m, x: m.diag_embed(x), (rand(4),), desc="1d"),
]
ERRORS += [
    E(
        lambda m, x: m.diag_embed(x, 0, 1, -2),
        (rand(2, 3),),
        ValueError,
        r"diag_embed: dim1 \(1\) and dim2 \(-2\) name the same dim",
        desc="diag_embed-dims",
    ),
]
