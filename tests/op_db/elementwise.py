"""Elementwise ops: arithmetic, math, clamp/maximum/minimum/where, comparisons and logic,
copies and casts, activations.

Inputs keep away from kinks and domain edges (abs and relu at 0, clamp at its bounds, log at 0,
remainder where x / y is an integer, softplus at its threshold); ties of maximum/minimum are
sampled on purpose, since central differences there give the half-and-half split torch uses.
Bool and index results are turned into float32 with ``.float()`` so the harness compares them.
"""

from __future__ import annotations

import numpy as np

from op_db import ErrorSample, Sample, away_from, ints, positive, rand, randn

NAN, INF = float("nan"), float("inf")

X34 = randn(3, 4, seed=10)
Y34 = randn(3, 4, seed=11)
X314 = randn(3, 1, 4, seed=12)
Y54 = randn(5, 4, seed=13)
X4 = randn(4, seed=14)
EMPTY = randn(0, 3, seed=15)
ROW3 = randn(3, seed=16)
SCALAR = np.array(0.7)
P34 = positive(3, 4, seed=17)
P54 = positive(5, 4, seed=18)
P314 = positive(3, 1, 4, seed=19)
AWAY34 = away_from(randn(3, 4, seed=20))
AWAY314 = away_from(randn(3, 1, 4, seed=21))
I34 = ints(-9, 10, 3, 4, seed=1)
I4_NONZERO = ints(1, 5, 4, seed=2) * np.array([1, -1, 1, -1])
COND34 = rand(3, 4, seed=22) > 0
COND31 = np.array([[True], [False], [True]])
HALVES = np.round(randn(3, 4, seed=23) * 2) / 2  # many equal values: ties for eq, le, ge
HALVES4 = np.round(randn(4, seed=24) * 2) / 2
SPECIAL = np.array([[1.0, NAN, INF], [-INF, 0.0, -2.5]])
BOOL34 = rand(3, 4, seed=25) > 0.3
BOOL4 = rand(4, seed=26) > -0.3


def _remainder_operands():
    """x = q * y with frac(q) in [0.2, 0.8]: away from the jumps of x % y and floor(x / y)."""
    y = positive(3, 4, seed=30, low=0.5) * np.where(rand(3, 4, seed=31) > 0, 1, -1)
    q = ints(-3, 3, 3, 4, seed=32) + rand(3, 4, seed=33, low=0.2, high=0.8)
    return q * y, y


REM_X, REM_Y = _remainder_operands()


def _clamp_operands():
    """x in clusters around -1, -0.2, 0.2, 1; lo near -0.5 and hi near 0.5: never on a bound."""
    centers = np.array([-1.0, -0.2, 0.2, 1.0])
    x = centers[ints(0, 4, 3, 4, seed=40)] + rand(3, 4, seed=41, low=-0.05, high=0.05)
    lo = -0.5 + rand(4, seed=42, low=-0.1, high=0.1)
    hi = 0.5 + rand(3, 1, seed=43, low=-0.1, high=0.1)
    return x, lo, hi


CL_X, CL_LO, CL_HI = _clamp_operands()


def _binary_common(op):
    """Same shape, broadcasting, a 0-d tensor and an empty dim, through ``m.<op>``."""
    return [
        Sample(lambda m, a, b: getattr(m, op)(a, b), (X34, Y34), desc="same"),
        Sample(lambda m, a, b: getattr(m, op)(a, b), (X314, Y54), desc="bcast-314-54"),
        Sample(lambda m, a, b: getattr(m, op)(a, b), (SCALAR, X34), desc="0d-left"),
        Sample(lambda m, a, b: getattr(m, op)(a, b), (EMPTY, ROW3), desc="empty"),
    ]


def _compare(op, symbol):
    """A comparison through ``m.<op>`` and its operator, on values with ties, as float32."""
    oper = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }[op]
    return [
        Sample(lambda m, a, b: getattr(m, op)(a, b).float(), (HALVES, HALVES4), grad=()),
        Sample(lambda m, a, b: oper(a, b).float(), (HALVES, HALVES4), grad=(), desc=symbol),
        Sample(lambda m, a: oper(a, 0.5).float(), (HALVES,), grad=(), desc="scalar"),
        Sample(lambda m, a, b: oper(a, b).float(), (I34, HALVES4), grad=(), desc="int-float"),
        Sample(lambda m, a, b: oper(a, b).float(), (EMPTY, ROW3), grad=(), desc="empty"),
    ]


def _logical(op):
    return [
        Sample(lambda m, a, b: getattr(m, op)(a, b).float(), (BOOL34, BOOL4), grad=()),
        Sample(lambda m, a, b: getattr(m, op)(a, b).float(), (HALVES, I34), grad=(), desc="num"),
    ]


SAMPLES = {
    # ------------------------------------------------------------------ arithmetic
    "add": _binary_common("add")
    + [
        Sample(lambda m, a, b: a + b, (X314, Y54), desc="operator"),
        Sample(lambda m, a: a + 2.5, (X34,), desc="scalar"),
        Sample(lambda m, a: 2.5 + a, (X34,), desc="radd"),
        Sample(lambda m, a: a + a, (X34,), desc="same-tensor"),
        Sample(lambda m, a, b: m.add(a, b, alpha=2.0), (X34, X4), desc="alpha"),
        Sample(lambda m, i, b: i + b, (I34, X4), desc="int-float"),
        Sample(lambda m, i: (i + 3).float(), (I34,), desc="int-int"),
    ],
    "sub": _binary_common("sub")
    + [
        Sample(lambda m, a, b: a - b, (X314, Y54), desc="operator"),
        Sample(lambda m, a: 1.5 - a, (X34,), desc="rsub"),
        Sample(lambda m, a, b: m.sub(a, b, alpha=0.5), (X34, X4), desc="alpha"),
    ],
    "mul": _binary_common("mul")
    + [
        Sample(lambda m, a, b: a * b, (X314, Y54), desc="operator"),
        Sample(lambda m, a: a * -3.0, (X34,), desc="scalar"),
        Sample(lambda m, a: a * a, (X34,), desc="square"),
        Sample(lambda m, i, b: i * b, (I34, X4), desc="int-float"),
    ],
    "div": [
        Sample(lambda m, a, b: m.div(a, b), (X34, P34), desc="same"),
        Sample(lambda m, a, b: a / b, (X314, P54), desc="bcast-314-54"),
        Sample(lambda m, a: 2.0 / a, (P34,), desc="rdiv"),
        Sample(lambda m, a: a / 4.0, (X34,), desc="scalar"),
        Sample(lambda m, a, b: a / b, (X34, np.array(1.7)), desc="0d"),
        Sample(lambda m, a, b: a / b, (EMPTY, positive(3)), desc="empty"),
        Sample(lambda m, i, j: m.div(i, j), (I34, I4_NONZERO), desc="int-int-true"),
    ],
    "floor_divide": [
        Sample(lambda m, a, b: m.floor_divide(a, b), (REM_X, REM_Y), grad=(), desc="float"),
        Sample(lambda m, a: a // 0.7, (REM_X,), grad=(), desc="operator"),
        Sample(lambda m, i, j: (i // j).float(), (I34, I4_NONZERO), grad=(), desc="int"),
        Sample(
            lambda m, i, j: m.div(i, j, rounding_mode="floor").float(),
            (I34, I4_NONZERO),
            grad=(),
            desc="div-floor",
        ),
        Sample(
            lambda m, i, j: m.div(i, j, rounding_mode="trunc").float(),
            (I34, I4_NONZERO),
            grad=(),
            desc="div-trunc-int",
        ),
        Sample(
            lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
            (REM_X, REM_Y),
            grad=(),
            desc="div-trunc-float",
        ),
    ],
    "remainder": [
        Sample(lambda m, a, b: m.remainder(a, b), (REM_X, REM_Y), desc="signs"),
        Sample(lambda m, a, b: a % b, (REM_X, REM_Y[0]), desc="bcast"),
        Sample(lambda m, a: a % 1.3, (away_from(X34, (0.0, 1.3, -1.3)),), desc="scalar"),
        Sample(lambda m, i, j: (i % j).float(), (I34, I4_NONZERO), grad=(), desc="int"),
    ],
    "pow": [
        Sample(lambda m, a: a**2, (X34,), desc="square"),
        Sample(lambda m, a: a**3, (X34,), desc="cube-negative-base"),
        Sample(lambda m, a: m.pow(a, 2.5), (P34,), desc="float-exponent"),
        Sample(lambda m, a: a**0.5, (P34,), desc="sqrt"),
        Sample(lambda m, a: a**-1, (P34,), desc="reciprocal"),
        Sample(lambda m, a: a**-2, (P34,), desc="inverse-square"),
        Sample(lambda m, a: a**-0.5, (P314,), desc="rsqrt"),
        Sample(lambda m, a: a**4, (X34,), desc="fourth"),
        Sample(lambda m, a: a**0, (X34,), desc="zero-exponent"),
        Sample(lambda m, a: 2.0**a, (X34,), desc="scalar-base"),
        Sample(lambda m, a: m.pow(1.5, a), (X34,), desc="scalar-base-fn"),
        Sample(lambda m, a, b: a**b, (P314, Y54), desc="tensor-tensor-bcast"),
        Sample(lambda m, a, b: m.pow(a, b), (np.array(1.3), X4), desc="0d-base"),
        Sample(lambda m, a: a.pow(2), (EMPTY,), desc="empty"),
        Sample(lambda m, i: (i**2).float(), (I34,), grad=(), desc="int"),
        Sample(lambda m, i: i**0.5, (np.abs(I34),), grad=(), desc="int-float-exponent"),
    ],
    # ------------------------------------------------------------------ unary math
    "neg": [
        Sample(lambda m, a: -a, (X34,), desc="operator"),
        Sample(lambda m, a: m.neg(a), (X314,)),
        Sample(lambda m, a: m.neg(a), (SCALAR,), desc="0d"),
        Sample(lambda m, a: m.neg(a), (EMPTY,), desc="empty"),
    ],
    "abs": [
        Sample(lambda m, a: m.abs(a), (AWAY34,)),
        Sample(lambda m, a: abs(a), (AWAY314,), desc="builtin"),
        Sample(lambda m, i: m.abs(i).float(), (I34,), grad=(), desc="int"),
        Sample(lambda m, a: m.abs(a), (EMPTY,), desc="empty"),
    ],
    "sign": [
        Sample(lambda m, a: m.sign(a), (AWAY34,)),
        Sample(lambda m, a: a.sign(), (SCALAR,), desc="0d"),
        Sample(lambda m, i: m.sign(i).float(), (I34,), grad=(), desc="int"),
    ],
    "exp": [
        Sample(lambda m, a: m.exp(a), (X34,)),
        Sample(lambda m, a: a.exp(), (SCALAR,), desc="0d"),
        Sample(lambda m, a: m.exp(a), (EMPTY,), desc="empty"),
        Sample(lambda m, i: m.exp(i), (ints(-3, 3, 5),), desc="int-to-float"),
    ],
    "log": [
        Sample(lambda m, a: m.log(a), (P34,)),
        Sample(lambda m, a: a.log(), (P314,), desc="method"),
        Sample(lambda m, i: m.log(i), (ints(1, 9, 5),), desc="int-to-float"),
    ],
    "log1p": [
        Sample(lambda m, a: m.log1p(a), (rand(3, 4, low=-0.5, high=2.0),)),
        Sample(lambda m, a: a.log1p(), (rand(5, low=-1e-3, high=1e-3),), desc="tiny"),
    ],
    "sqrt": [
        Sample(lambda m, a: m.sqrt(a), (P34,)),
        Sample(lambda m, a: a.sqrt(), (np.array(2.0),), desc="0d"),
        Sample(lambda m, i: m.sqrt(i), (ints(0, 9, 5),), desc="int-to-float"),
    ],
    "rsqrt": [
        Sample(lambda m, a: m.rsqrt(a), (P34,)),
        Sample(lambda m, a: a.rsqrt(), (P314,), desc="method"),
    ],
    "square": [
        Sample(lambda m, a: m.square(a), (X34,)),
        Sample(lambda m, a: a.square(), (EMPTY,), desc="empty"),
        Sample(lambda m, i: m.square(i).float(), (I34,), grad=(), desc="int"),
    ],
    "sin": [
        Sample(lambda m, a: m.sin(a), (X34 * 3,)),
        Sample(lambda m, a: a.sin(), (SCALAR,), desc="0d"),
    ],
    "cos": [
        Sample(lambda m, a: m.cos(a), (X34 * 3,)),
        Sample(lambda m, a: a.cos(), (EMPTY,), desc="empty"),
    ],
    # ------------------------------------------------------------------ clamp, max/min, where
    "clamp": [
        Sample(lambda m, a: m.clamp(a, -0.5, 0.5), (CL_X,), desc="both"),
        Sample(lambda m, a: m.clamp(a, min=0.0), (AWAY34,), desc="min"),
        Sample(lambda m, a: m.clamp(a, max=0.5), (CL_X,), desc="max"),
        Sample(lambda m, a: a.clamp(-0.5, max=0.5), (CL_X,), desc="method"),
        Sample(lambda m, a: m.clip(a, -0.5, 0.5), (CL_X,), desc="clip"),
        Sample(lambda m, a, lo, hi: m.clamp(a, lo, hi), (CL_X, CL_LO, CL_HI), desc="tensors"),
        Sample(lambda m, a, lo: m.clamp(a, min=lo), (CL_X, CL_LO), desc="tensor-min"),
        Sample(lambda m, a, hi: m.clamp(a, max=hi), (CL_X, CL_HI), desc="tensor-max"),
        Sample(lambda m, a, lo, hi: m.clamp(a, hi, lo), (CL_X, CL_LO, CL_HI), desc="min>max"),
        Sample(lambda m, a: m.clamp(a, -0.5, 0.5), (EMPTY,), desc="empty"),
        Sample(lambda m, i: m.clamp(i, -3, 4).float(), (I34,), grad=(), desc="int"),
        Sample(lambda m, i: m.clamp(i, min=0.5), (I34,), desc="int-float-bound"),
    ],
    "maximum": [
        Sample(lambda m, a, b: m.maximum(a, b), (X314, Y54), desc="bcast"),
        Sample(lambda m, a, b: m.maximum(a, b), (X34, X34.copy()), desc="all-ties"),
        Sample(lambda m, a, b: a.maximum(b), (HALVES, HALVES4), desc="some-ties"),
        Sample(lambda m, a, b: m.maximum(a, b), (EMPTY, ROW3), desc="empty"),
    ],
    "minimum": [
        Sample(lambda m, a, b: m.minimum(a, b), (X314, Y54), desc="bcast"),
        Sample(lambda m, a, b: m.minimum(a, b), (X34, X34.copy()), desc="all-ties"),
        Sample(lambda m, a, b: a.minimum(b), (HALVES, HALVES4), desc="some-ties"),
        Sample(lambda m, a, b: m.minimum(a, b), (SCALAR, X4), desc="0d"),
    ],
    "where": [
        Sample(lambda m, c, a, b: m.where(c, a, b), (COND34, X34, Y34), desc="same"),
        Sample(lambda m, c, a, b: m.where(c, a, b), (COND31, X4, Y34), desc="bcast"),
        Sample(lambda m, c, a: m.where(c, a, 0.0), (COND34, X34), desc="scalar-y"),
        Sample(lambda m, c, b: m.where(c, -1.0, b), (COND31, X4), desc="scalar-x"),
        Sample(lambda m, c, a, b: m.where(c, a, b), (COND34, SCALAR, X4), desc="0d"),
        Sample(lambda m, c, a, b: m.where(c, a, b), (COND34, X34, X34), desc="same-tensor"),
        Sample(lambda m, c: m.where(c)[1].float(), (COND34,), grad=(), desc="indices"),
    ],
    # ------------------------------------------------------------------ comparisons and logic
    "eq": _compare("eq", "=="),
    "ne": _compare("ne", "!="),
    "lt": _compare("lt", "<"),
    "le": _compare("le", "<="),
    "gt": _compare("gt", ">"),
    "ge": _compare("ge", ">="),
    "logical_not": [
        Sample(lambda m, c: m.logical_not(c).float(), (BOOL34,), grad=()),
        Sample(lambda m, c: (~c).float(), (BOOL34,), grad=(), desc="operator"),
        Sample(lambda m, a: m.logical_not(a).float(), (HALVES,), grad=(), desc="float"),
    ],
    "logical_and": _logical("logical_and")
    + [Sample(lambda m, a, b: (a & b).float(), (BOOL34, BOOL4), grad=(), desc="operator")],
    "logical_or": _logical("logical_or")
    + [Sample(lambda m, a, b: (a | b).float(), (BOOL34, BOOL4), grad=(), desc="operator")],
    "logical_xor": _logical("logical_xor")
    + [Sample(lambda m, a, b: (a ^ b).float(), (BOOL34, BOOL4), grad=(), desc="operator")],
    "isnan": [
        Sample(lambda m, a: m.isnan(a).float(), (SPECIAL,), grad=()),
        Sample(lambda m, a: a.isnan().float(), (I34,), grad=(), desc="int"),
    ],
    "isfinite": [
        Sample(lambda m, a: m.isfinite(a).float(), (SPECIAL,), grad=()),
        Sample(lambda m, a: a.isfinite().float(), (I34,), grad=(), desc="int"),
    ],
    # ------------------------------------------------------------------ copies and casts
    "clone": [
        Sample(lambda m, a: m.clone(a), (X34,)),
        Sample(lambda m, a: a.clone() * a, (X314,), desc="diamond"),
    ],
    "cast": [
        # float32 -> float64 -> float32 under the torch test; no cast at all in float64 gradcheck.
        Sample(lambda m, a: (a.double() * 3.0).to(a.dtype), (X34,), desc="roundtrip"),
        Sample(lambda m, i: i.float() * 0.5, (I34,), desc="int-to-float"),
        Sample(lambda m, a: a.long().float(), (X34 * 5,), grad=(), desc="float-to-int"),
    ],
    # ------------------------------------------------------------------ activations
    "relu": [
        Sample(lambda m, a: m.relu(a), (AWAY34,)),
        Sample(lambda m, a: m.F.relu(a), (AWAY314,), desc="functional"),
        Sample(lambda m, a: a.relu(), (EMPTY,), desc="empty"),
        Sample(lambda m, i: m.relu(i).float(), (I34,), grad=(), desc="int"),
    ],
    "sigmoid": [
        Sample(lambda m, a: m.sigmoid(a), (X34 * 3,)),
        Sample(lambda m, a: m.F.sigmoid(a), (np.array([-120.0, -30.0, 0.0, 30.0, 120.0]),)),
        Sample(lambda m, a: a.sigmoid(), (SCALAR,), desc="0d"),
        Sample(lambda m, i: m.sigmoid(i), (I34,), desc="int-to-float"),
    ],
    "tanh": [
        Sample(lambda m, a: m.tanh(a), (X34 * 2,)),
        Sample(lambda m, a: m.F.tanh(a), (EMPTY,), desc="empty"),
    ],
    "leaky_relu": [
        Sample(lambda m, a: m.F.leaky_relu(a), (AWAY34,)),
        Sample(lambda m, a: m.F.leaky_relu(a, 0.2), (AWAY314,), desc="slope0.2"),
        Sample(lambda m, a: m.F.leaky_relu(a, negative_slope=1.5), (AWAY34,), desc="slope>1"),
        Sample(lambda m, a: m.F.leaky_relu(a, -0.3), (AWAY34,), desc="negative-slope"),
        Sample(lambda m, a: m.F.leaky_relu(a), (SCALAR,), desc="0d"),
    ],
    "elu": [
        Sample(lambda m, a: m.F.elu(a), (AWAY34 * 2,)),
        Sample(lambda m, a: m.F.elu(a, alpha=0.5), (AWAY314,), desc="alpha"),
        Sample(lambda m, a: m.F.elu(a, alpha=-0.7), (AWAY34,), desc="negative-alpha"),
        Sample(lambda m, a: m.F.selu(a), (AWAY34 * 2,), desc="selu"),
        Sample(lambda m, a: m.F.elu(a), (np.array(-0.8),), desc="0d"),
    ],
    "gelu": [
        Sample(lambda m, a: m.F.gelu(a), (X34 * 2,)),
        Sample(lambda m, a: m.F.gelu(a, approximate="tanh"), (X34 * 2,), desc="tanh"),
        Sample(lambda m, a: m.F.gelu(a), (np.linspace(-10.0, 10.0, 41),), desc="tails"),
        Sample(lambda m, a: m.F.gelu(a), (EMPTY,), desc="empty"),
        Sample(lambda m, a: m.F.gelu(a), (SCALAR,), desc="0d"),
        Sample(lambda m, a: m.F.gelu(a, approximate="tanh"), (SCALAR,), desc="0d-tanh"),
    ],
    "silu": [
        Sample(lambda m, a: m.F.silu(a), (X34 * 3,)),
        Sample(lambda m, a: m.F.silu(a), (EMPTY,), desc="empty"),
        Sample(lambda m, a: m.swish(a), (X314,), torch_fn=lambda m, a: m.F.silu(a), desc="swish"),
    ],
    "softplus": [
        Sample(lambda m, a: m.F.softplus(a), (X34 * 3,)),
        Sample(lambda m, a: m.F.softplus(a, beta=2.0), (X34,), desc="beta"),
        # beta * x crosses the threshold (a jump of log1p(e^-1) / beta): keep clear of it.
        Sample(
            lambda m, a: m.F.softplus(a, beta=2.0, threshold=1.0),
            (away_from(X34, (0.5,), margin=0.15),),
            desc="threshold",
        ),
        Sample(lambda m, a: m.F.softplus(a), (np.array([-50.0, 25.0, 100.0]),), desc="far"),
        Sample(lambda m, a: m.F.softplus(a), (SCALAR,), desc="0d"),
    ],
}


ERRORS = [
    ErrorSample(
        lambda m, a, b: m.add(a, b),
        (np.ones((2, 3)), np.ones(4)),
        ValueError,
        r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast",
        desc="add-shapes",
    ),
    ErrorSample(
        lambda m, a, b: a * b,
        (np.ones((3, 1, 4)), np.ones((5, 3))),
        ValueError,
        r"mul: shapes \(3, 1, 4\) and \(5, 3\) cannot be broadcast",
        desc="mul-shapes",
    ),
    ErrorSample(
        lambda m, c, a, b: m.where(c, a, b),
        (np.ones((2, 3), dtype=bool), np.ones(3), np.ones(4)),
        ValueError,
        r"where: shapes \(2, 3\), \(3,\) and \(4,\) cannot be broadcast",
        desc="where-shapes",
    ),
    ErrorSample(
        lambda m, c, a: m.where(c, a, 0.0),
        (np.ones(3, dtype=np.int64), np.ones(3)),
        TypeError,
        r"where: condition must be a bool tensor, got dtype int64",
        desc="where-condition-dtype",
    ),
    ErrorSample(
        lambda m, i: m.F.elu(i),
        (np.arange(3),),
        TypeError,
        r"elu needs a floating-point tensor, got dtype int64",
        desc="elu-int",
    ),
    ErrorSample(
        lambda m, i: m.F.gelu(i),
        (np.arange(3),),
        TypeError,
        r"gelu needs a floating-point tensor, got dtype int64",
        desc="gelu-int",
    ),
    ErrorSample(
        lambda m, a: m.F.gelu(a, approximate="erf"),
        (np.ones(3),),
        ValueError,
        r"gelu: approximate must be 'none' or 'tanh', got 'erf'",
        desc="gelu-approximate",
    ),
    ErrorSample(
        lambda m, a: m.clamp(a),
        (np.ones(3),),
        ValueError,
        r"clamp: at least one of min and max",
        desc="clamp-no-bounds",
    ),
    ErrorSample(
        lambda m, i: i**-1,
        (np.arange(1, 4),),
        ValueError,
        r"pow: integers to negative integer powers are not allowed",
        desc="pow-int-negative",
    ),
    ErrorSample(
        lambda m, i, j: i // j,
        (np.arange(3), np.array([1, 0, 2])),
        ZeroDivisionError,
        r"floor_divide: integer division by zero",
        desc="floor-divide-zero",
    ),
    ErrorSample(
        lambda m, i, j: i % j,
        (np.arange(3), np.array(0)),
        ZeroDivisionError,
        r"remainder: integer division by zero",
        desc="remainder-zero",
    ),
    ErrorSample(
        lambda m, c: -c,
        (np.array([True, False]),),
        TypeError,
        r"neg does not support bool tensors",
        desc="neg-bool",
    ),
    ErrorSample(
        lambda m, a, b: m.div(a, b, rounding_mode="round"),
        (np.ones(3), np.ones(3)),
        ValueError,
        r"div: rounding_mode must be None, 'floor' or 'trunc'",
        desc="div-rounding-mode",
    ),
]
