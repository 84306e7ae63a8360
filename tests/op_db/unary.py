"""Samples for the math functions of primitives/unary.py: reciprocal, exp2, expm1, log2, log10,
tan, asin, acos, atan, sinh, cosh, erf, atan2, logaddexp, fmod."""

import numpy as np

from op_db import ErrorSample, Sample, away_from, positive, rand

S = Sample
E = ErrorSample

X = rand(3, 4, seed=11)
X3 = rand(2, 3, 4, seed=12)
POS = positive(3, 4, seed=13)
UNIT = rand(3, 4, low=-0.9, high=0.9, seed=14)  # inside asin/acos's domain, away from +-1


def _unary(op: str, x=X, x3=X3) -> list:
    return [
        S(lambda m, a: getattr(m, op)(a), (x,)),
        S(lambda m, a: getattr(a, op)(), (x3,), desc="method"),
        S(lambda m, a: getattr(a.mT, op)(), (x,), desc="non-contiguous"),
        S(lambda m, a: getattr(m, op)(a), (np.asarray(x).reshape(-1)[0],), desc="0d"),
    ]


# fmod's gradient jumps where input / other is an integer: quotients at least 0.1 from one.
_QUOT = np.random.default_rng(27).integers(-3, 4, (6, 4)) + rand(6, 4, low=0.1, high=0.9, seed=28)
_B1 = away_from(rand(3, 4, seed=25) * 2, margin=0.3)
_B3 = rand(3, 1, seed=26) + 2

SAMPLES = {
    "reciprocal": _unary("reciprocal", away_from(X, margin=0.2), away_from(X3, margin=0.2))
    + [S(lambda m, a: m.reciprocal(a) * 1.0, (np.array([1, 2, 4]),), desc="int")],
    "exp2": _unary("exp2"),
    "expm1": _unary("expm1") + [S(lambda m, a: m.expm1(a), (np.array([1e-7, -1e-6]),))],
    "log2": _unary("log2", POS, positive(2, 3, 4, seed=15)),
    "log10": _unary("log10", POS, positive(2, 3, 4, seed=16)),
    "tan": _unary("tan"),
    "asin": _unary("asin", UNIT, rand(2, 3, 4, low=-0.9, high=0.9, seed=17)),
    "acos": _unary("acos", UNIT, rand(2, 3, 4, low=-0.9, high=0.9, seed=18)),
    "atan": _unary("atan", X * 3, X3 * 3),
    "sinh": _unary("sinh", X * 2, X3 * 2),
    "cosh": _unary("cosh", X * 2, X3 * 2),
    "erf": _unary("erf", X * 2, X3 * 2),
    "atan2": [
        S(lambda m, y, x: m.atan2(y, x), (X, away_from(rand(3, 4, seed=19), margin=0.2))),
        S(lambda m, y, x: y.atan2(x), (X3, rand(4, seed=20) + 2), desc="broadcast"),
        S(lambda m, y, x: m.atan2(y.mT, x), (X, rand(4, 3, seed=21) - 2), desc="non-contiguous"),
        S(lambda m, y: m.atan2(y, m.ones(3, 4) * -1.0), (X,), desc="second-quadrants"),
    ],
    "logaddexp": [
        S(lambda m, a, b: m.logaddexp(a, b), (X, rand(3, 4, seed=22))),
        S(lambda m, a, b: a.logaddexp(b), (X3 * 50, rand(4, seed=23) * 50), desc="broadcast"),
        S(lambda m, a, b: m.logaddexp(a.mT, b), (X, rand(4, 3, seed=24)), desc="non-contiguous"),
        S(lambda m, a, b: m.logaddexp(a, b), (X, np.array(-1e4)), desc="0d-other"),
    ],
    "fmod": [
        S(lambda m, a, b: m.fmod(a, b), (_QUOT[:3] * _B1, _B1)),
        S(lambda m, a: a.fmod(1.5), (_QUOT.reshape(2, 3, 4) * 1.5,), desc="scalar"),
        S(lambda m, a, b: m.fmod(a.mT, b), ((_QUOT[3:] * _B3).T.copy(), _B3), desc="broadcast"),
        S(
            lambda m, a, b: m.fmod(a, b) * 1.0,
            (np.array([-7, 7, -3]), np.array([2, -2, 2])),
            desc="int",
        ),
    ],
}

ERRORS = [
    E(
        lambda m, a, b: m.fmod(a, b),
        (np.array([1, 2]), np.array([1, 0])),
        ZeroDivisionError,
        r"fmod: integer division by zero",
        desc="fmod-int-zero",
    ),
    E(
        lambda m, a, b: m.atan2(a, b),
        (rand(3, 4), rand(3, 5)),
        ValueError,
        r"atan2: shapes \(3, 4\) and \(3, 5\) cannot be broadcast together",
        desc="atan2-shapes",
    ),
]


HALF_OPEN = rand(3, 4, low=0.05, high=0.95, seed=30)  # logit's domain, away from 0 and 1
WITH_NAN = np.array([[1.0, np.nan, 2.0, -1.0], [np.nan, 0.5, -3.0, 4.0]])
OTHER_NAN = np.array([[0.5, 2.0, np.nan, -2.0], [np.nan, -0.5, 1.0, 3.0]])

SAMPLES.update(
    {
        "erfc": _unary("erfc", X * 2, X3 * 2),
        "erfinv": _unary("erfinv", UNIT, rand(2, 3, 4, low=-0.9, high=0.9, seed=31)),
        "logit": _unary("logit", HALF_OPEN, rand(2, 3, 4, low=0.05, high=0.95, seed=32))
        + [
            S(
                lambda m, a: m.logit(a, eps=0.2),
                (away_from(HALF_OPEN, (0.2, 0.8), margin=0.03),),
                desc="eps",
            )
        ],
        "sinc": _unary("sinc", X * 3, X3 * 3) + [S(lambda m, a: m.sinc(a), (np.array([0.0]),))],
        "fmax": [
            S(lambda m, a, b: m.fmax(a, b), (X, rand(3, 4, seed=33))),
            S(lambda m, a, b: a.fmax(b), (WITH_NAN, OTHER_NAN), desc="nan"),
            S(lambda m, a, b: m.fmax(a.mT, b), (X, rand(4, 1, seed=34)), desc="broadcast"),
        ],
        "fmin": [
            S(lambda m, a, b: m.fmin(a, b), (X, rand(3, 4, seed=35))),
            S(lambda m, a, b: a.fmin(b), (WITH_NAN, OTHER_NAN), desc="nan"),
            S(lambda m, a, b: m.fmin(a.mT, b), (X, rand(4, 1, seed=36)), desc="broadcast"),
        ],
        "hypot": [
            S(lambda m, a, b: m.hypot(a, b), (X, rand(3, 4, seed=37))),
            S(lambda m, a, b: a.hypot(b), (X3, rand(4, seed=38)), desc="broadcast"),
            S(lambda m, a, b: m.hypot(a.mT, b), (X, rand(4, 3, seed=39)), desc="non-contiguous"),
        ],
        "xlogy": [
            S(lambda m, a, b: m.xlogy(a, b), (X, POS)),
            S(lambda m, a, b: a.xlogy(b), (X3, positive(4, seed=40)), desc="broadcast"),
            S(
                lambda m, a, b: m.xlogy(a, b),
                (np.array([0.0, 0.0, 1.5]), np.array([0.5, 2.0, 3.0])),
                desc="zeros",
            ),
        ],
    }
)

_UNARY = ["reciprocal", "exp2", "expm1", "log2", "log10", "tan", "asin", "acos", "atan"]
_UNARY += ["sinh", "cosh", "erf", "erfc", "erfinv", "logit", "sinc"]
ERRORS += [
    E(
        lambda m, x, op=op: getattr(m, op)("abc"),
        (rand(2),),
        TypeError,
        rf"{op}: expected a Tensor or array-like, got str",
        desc=f"{op}-str",
    )
    for op in _UNARY
]
ERRORS += [
    E(
        lambda m, a, b, op=op: getattr(m, op)(a, b),
        (rand(3, 4), rand(3, 5)),
        ValueError,
        rf"{op}: shapes \(3, 4\) and \(3, 5\) cannot be broadcast together",
        desc=f"{op}-shapes",
    )
    for op in ("fmax", "fmin", "hypot", "xlogy", "logaddexp")
]
