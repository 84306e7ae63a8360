"""Samples for rounding (round with decimals, floor, ceil, trunc, frac) and isinf.

round/floor/ceil/trunc have zero gradient (as torch); gradcheck needs the inputs away from the
jumps, so the samples sit at least 0.1 from every integer (and half-integer for round).
"""

import numpy as np

from op_db import ErrorSample, Sample, rand

S = Sample
E = ErrorSample


def _off_grid(*shape, seed=0, step=1.0):
    """Values in (-3, 3) kept at least 0.1 * step away from multiples of ``step / 2``."""
    x = rand(*shape, low=-3.0, high=3.0, seed=seed)
    frac = np.mod(x, step / 2) / step
    return np.where(np.abs(frac - 0.25) > 0.15, x - (frac - 0.25) * step * 0.5, x)


X = _off_grid(3, 4, seed=1)
X3 = _off_grid(2, 3, 4, seed=2)
HALVES = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, -0.75])
SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, 1.5, -2.0])


def _rounding(op: str) -> list:
    return [
        S(lambda m, x: getattr(m, op)(x), (X,)),
        S(lambda m, x: getattr(x, op)(), (X3,), desc="method"),
        S(lambda m, x: getattr(x.mT, op)(), (X,), desc="non-contiguous"),
        S(lambda m, x: getattr(m, op)(x), (np.array(1.37),), desc="0d"),
        S(lambda m, x: getattr(m, op)(x), (SPECIAL,), grad=(), desc="inf-nan"),
    ]


SAMPLES = {
    "round": _rounding("round")
    + [
        S(lambda m, x: m.round(x), (HALVES,), grad=(), desc="half-to-even"),
        S(lambda m, x: x.round(decimals=2), (_off_grid(3, 4, step=0.01, seed=3),), desc="dec2"),
        S(lambda m, x: m.round(x * 100, decimals=-1), (X,), desc="dec-neg"),
    ],
    "floor": _rounding("floor"),
    "ceil": _rounding("ceil"),
    "trunc": _rounding("trunc"),
    "frac": _rounding("frac"),
    "isinf": [
        S(lambda m, x: m.isinf(x) * 1.0, (SPECIAL,), grad=()),
        S(lambda m, x: x.mT.isinf() * 1.0, (np.array([[np.inf, 1.0], [2.0, -np.inf]]),), grad=()),
    ],
}

ERRORS = [
    E(
        lambda m, x: m.frac(x),
        (np.array([1, 2]),),
        TypeError,
        r"frac needs a floating-point tensor, got dtype int64",
        desc="frac-int",
    ),
    E(
        lambda m, x: m.round(x, decimals=0.5),
        (rand(3),),
        TypeError,
        r"round: decimals must be an int",
        desc="round-decimals",
    ),
]

ERRORS += [
    E(
        lambda m, x, op=op: getattr(m, op)("abc"),
        (rand(2),),
        TypeError,
        rf"{op}: expected a Tensor or array-like, got str",
        desc=f"{op}-str",
    )
    for op in ("round", "floor", "ceil", "trunc", "isinf")
]
