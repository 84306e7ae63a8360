"""ONNX forms of the elementwise, logic, reduction and linear-algebra ops (see op_forms)."""

from __future__ import annotations

import numpy as np

from nerve.onnx import emit
from nerve.onnx.op_forms import (
    NOT_EXPORTABLE_OPS,
    axes_list,
    cast,
    form,
    reduce,
    unsqueeze,
)

_LOSS = "a loss is not part of an inference graph; export the model without it"
NOT_EXPORTABLE_OPS.update(
    {
        **{
            op: _LOSS
            for op in (
                "binary_cross_entropy",
                "binary_cross_entropy_with_logits",
                "cross_entropy",
                "cross_entropy_probs",
                "huber_loss",
                "kl_div",
                "l1_loss",
                "mse_loss",
                "nll_loss",
                "smooth_l1_loss",
            )
        },
        "sort": "its order is computed outside the op (by argsort), so a trace cannot follow it",
        "kthvalue": "its position is computed outside the op, so a trace cannot follow it",
    }
)


# ----------------------------------------------------------------------------- elementwise
def _binary(onnx_op: str):
    def emit_binary(g, n):
        dt = n.out.a.dtype
        return g.op(onnx_op, [n.name(0, dt), n.name(1, dt)])

    return emit_binary


for _op, _onnx in {
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "maximum": "Max",
    "minimum": "Min",
}.items():
    form(_op)(_binary(_onnx))


@form("pow")
def _pow(g, n):
    return g.op("Pow", [n.name(0, n.out.a.dtype), n.name(1, n.out.a.dtype)])


@form("floor_divide")
def _floor_divide(g, n):
    dt = n.out.a.dtype
    # integers go through float64: exact for |values| < 2**53
    work = dt if dt.kind == "f" else np.dtype(np.float64)
    q = g.op("Div", [n.name(0, work), n.name(1, work)])
    q = g.op("Floor", [q]) if n.params["rounding_mode"] == "floor" else _trunc(g, q)
    return q if work == dt else cast(g, q, dt)


def _trunc(g, x: str) -> str:
    # trunc(x) = sign(x) * floor(|x|)
    return g.op("Mul", [g.op("Sign", [x]), g.op("Floor", [g.op("Abs", [x])])])


@form("remainder")
def _remainder(g, n):
    dt = n.out.a.dtype
    if dt.kind in "iu":
        return g.op("Mod", [n.name(0, dt), n.name(1, dt)], fmod=0)
    a, b = n.name(0, dt), n.name(1, dt)  # a - floor(a / b) * b: the sign of b, as torch
    return g.op("Sub", [a, g.op("Mul", [g.op("Floor", [g.op("Div", [a, b])]), b])])


def _unary(onnx_op: str):
    def emit_unary(g, n):
        return g.op(onnx_op, [n.name(0, n.out.a.dtype)])

    return emit_unary


for _op, _onnx in {
    "abs": "Abs",
    "neg": "Neg",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "sin": "Sin",
    "cos": "Cos",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
    "clone": "Identity",
    "to_copy": "Identity",  # the copy to another device: a graph holds no devices
    "floor": "Floor",
    "ceil": "Ceil",
    "acos": "Acos",
    "asin": "Asin",
    "atan": "Atan",
    "tan": "Tan",
    "sinh": "Sinh",
    "cosh": "Cosh",
    "erf": "Erf",
    "reciprocal": "Reciprocal",
}.items():
    form(_op)(_unary(_onnx))


def _scalar(g, n, value) -> str:
    return g.const(np.asarray(value, n.out.a.dtype), "scalar")


@form("exp2")
def _exp2(g, n):
    return g.op("Pow", [_scalar(g, n, 2.0), n.name(0, n.out.a.dtype)])


@form("expm1")
def _expm1(g, n):
    return g.op("Sub", [g.op("Exp", [n.name(0)]), _scalar(g, n, 1.0)])


@form("log2", "log10")
def _log_base(g, n):
    base = 2.0 if n.op == "log2" else 10.0
    return g.op("Div", [g.op("Log", [n.name(0)]), _scalar(g, n, np.log(base))])


@form("fmod")
def _fmod(g, n):
    dt = n.out.a.dtype
    return g.op("Mod", [n.name(0, dt), n.name(1, dt)], fmod=1)  # the sign of the dividend


@form("logaddexp")
def _logaddexp(g, n):
    dt = n.out.a.dtype
    a, b = n.name(0, dt), n.name(1, dt)
    top = g.op("Max", [a, b])
    total = g.op(
        "Add",
        [g.op("Exp", [g.op("Sub", [a, top])]), g.op("Exp", [g.op("Sub", [b, top])])],
    )
    return g.op("Add", [top, g.op("Log", [total])])


@form("atan2")
def _atan2(g, n):
    dt = n.out.a.dtype
    y, x = n.name(0, dt), n.name(1, dt)
    zero = _scalar(g, n, 0.0)
    base = g.op("Atan", [g.op("Div", [y, x])])
    # x < 0: shift by pi toward the sign of y; x == 0: +-pi/2 by the sign of y (0 at 0, 0)
    pi = g.op(
        "Mul",
        [
            _scalar(g, n, np.pi),
            g.op("Where", [g.op("Less", [y, zero]), _scalar(g, n, -1.0), _scalar(g, n, 1.0)]),
        ],
    )
    left = g.op("Add", [base, pi])
    half = g.op("Mul", [g.op("Sign", [y]), _scalar(g, n, np.pi / 2)])
    out = g.op("Where", [g.op("Less", [x, zero]), left, base])
    return g.op("Where", [g.op("Equal", [x, zero]), half, out])


@form("sign")
def _sign(g, n):
    if n.out.a.dtype.kind == "b":
        return g.op("Identity", [n.name(0)])
    return g.op("Sign", [n.name(0)])


@form("trunc")
def _trunc_form(g, n):
    return _trunc(g, n.name(0))


@form("frac")
def _frac(g, n):
    x = n.name(0)
    return g.op("Sub", [x, _trunc(g, x)])


@form("round")
def _round(g, n):
    d = int(n.params.get("decimals") or 0)
    if not d:
        return g.op("Round", [n.name(0)])  # halves to even, as NumPy
    s = g.const(np.asarray(10.0**d, n.out.a.dtype), "scale")
    return g.op("Div", [g.op("Round", [g.op("Mul", [n.name(0), s])]), s])


@form("square")
def _square(g, n):
    x = n.name(0)
    return g.op("Mul", [x, x])


@form("log1p")
def _log1p(g, n):
    one = g.const(np.asarray(1, n.out.a.dtype), "one")
    return g.op("Log", [g.op("Add", [n.name(0), one])])


@form("rsqrt")
def _rsqrt(g, n):
    return g.op("Reciprocal", [g.op("Sqrt", [n.name(0)])])


@form("cast")
def _cast(g, n):
    return cast(g, n.name(0), n.out.a.dtype)


@form("clamp")
def _clamp(g, n):
    dt = n.out.a.dtype
    x = n.name(0, dt)
    # Clip wants scalar bounds; tensor bounds broadcast through Max/Min
    for i, op in ((1, "Max"), (2, "Min")):
        if n.inputs[i] is not None:
            x = g.op(op, [x, n.name(i, dt)])
    return x


@form("where")
def _where(g, n):
    dt = n.out.a.dtype
    return g.op("Where", [n.name(0, np.bool_), n.name(1, dt), n.name(2, dt)])


@form("leaky_relu")
def _leaky_relu(g, n):
    return g.op("LeakyRelu", [n.name(0)], alpha=float(n.params["negative_slope"]))


@form("elu")
def _elu(g, n):
    y = g.op("Elu", [n.name(0)], alpha=float(n.params["alpha"]))
    scale = float(n.params.get("scale", 1.0))
    if scale == 1.0:
        return y
    return g.op("Mul", [y, g.const(np.asarray(scale, n.out.a.dtype), "scale")])


@form("gelu")
def _gelu(g, n):
    return emit.gelu(g, n.name(0), n.params.get("approximate", "none"))


@form("silu")
def _silu(g, n):
    return emit.silu(g, n.name(0))


@form("softplus")
def _softplus(g, n):
    p = n.params
    return emit.softplus(g, n.name(0), float(p["beta"]), float(p["threshold"]))


# ----------------------------------------------------------------------------- logic
def _compare(onnx_op: str, negate: bool = False):
    def emit_compare(g, n):
        dt = np.result_type(n.inputs[0].a, n.inputs[1].a)
        y = g.op(onnx_op, [n.name(0, dt), n.name(1, dt)])
        return g.op("Not", [y]) if negate else y

    return emit_compare


for _op, (_onnx, _neg) in {
    "eq": ("Equal", False),
    "ne": ("Equal", True),
    "lt": ("Less", False),
    "le": ("LessOrEqual", False),
    "gt": ("Greater", False),
    "ge": ("GreaterOrEqual", False),
}.items():
    form(_op)(_compare(_onnx, _neg))


for _op, _onnx in {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}.items():
    form(_op)(lambda g, n, _o=_onnx: g.op(_o, [n.name(0, np.bool_), n.name(1, np.bool_)]))


@form("logical_not")
def _logical_not(g, n):
    return g.op("Not", [n.name(0, np.bool_)])


@form("isnan")
def _isnan(g, n):
    return g.op("IsNaN", [n.name(0)])


@form("isinf")
def _isinf(g, n):
    return g.op("IsInf", [n.name(0)])


@form("isfinite")
def _isfinite(g, n):
    x = n.name(0)
    return g.op("Not", [g.op("Or", [g.op("IsNaN", [x]), g.op("IsInf", [x])])])


# ----------------------------------------------------------------------------- reductions
def _axes(n, key: str = "axes"):
    return axes_list(n.params.get(key), n.x.ndim)


def _reduction(onnx_op: str):
    def emit_reduce(g, n):
        dt = n.out.a.dtype
        return reduce(g, onnx_op, n.name(0, dt), _axes(n), n.params["keepdims"])

    return emit_reduce


for _op, _onnx in {
    "sum": "ReduceSum",
    "mean": "ReduceMean",
    "amax": "ReduceMax",
    "amin": "ReduceMin",
    "prod": "ReduceProd",
    "logsumexp": "ReduceLogSumExp",
}.items():
    form(_op)(_reduction(_onnx))


@form("max", "min")
def _max_at(g, n):
    # The values at argmax/argmin are the max/min; the indices input is not needed.
    op = "ReduceMax" if n.op == "max" else "ReduceMin"
    return reduce(g, op, n.name(0), [int(n.params["axis"]) % n.x.ndim], n.params["keepdims"])


def _count(n, axes) -> int:
    shape = n.x.shape
    axes = range(len(shape)) if axes is None else axes
    if any(a in n.x.dynamic for a in axes):
        raise n.fail("a variance over a dynamic axis needs its size at run time")
    return int(np.prod([shape[a] for a in axes]))


@form("var", "std")
def _var(g, n):
    axes, keep = _axes(n), n.params["keepdims"]
    x = n.name(0)
    centered = g.op("Sub", [x, reduce(g, "ReduceMean", x, axes, True)])
    total = reduce(g, "ReduceSum", g.op("Mul", [centered, centered]), axes, keep)
    count = _count(n, axes) - float(n.params.get("correction", 1))
    div = g.const(np.asarray(max(count, 0.0), n.out.a.dtype), "count")
    var = g.op("Div", [total, div])
    return var if n.op == "var" else g.op("Sqrt", [var])


@form("norm")
def _norm(g, n):
    p = n.params["p"]
    axes, keep = _axes(n), n.params["keepdims"]
    x = n.name(0)
    if p in (2, 2.0, "fro"):
        return reduce(g, "ReduceL2", x, axes, keep)
    if p in (1, 1.0):
        return reduce(g, "ReduceL1", x, axes, keep)
    if p in (float("inf"),):
        return reduce(g, "ReduceMax", g.op("Abs", [x]), axes, keep)
    if isinstance(p, (int, float)) and p > 0:
        pw = g.const(np.asarray(p, n.out.a.dtype), "p")
        s = reduce(g, "ReduceSum", g.op("Pow", [g.op("Abs", [x]), pw]), axes, keep)
        inv = g.const(np.asarray(1.0 / p, n.out.a.dtype), "inv_p")
        return g.op("Pow", [s, inv])
    raise n.fail(f"norm with p={p!r} has no ONNX form")


@form("softmax")
def _softmax(g, n):
    return g.op("Softmax", [n.name(0)], axis=int(n.params["axis"]))


@form("log_softmax")
def _log_softmax(g, n):
    return g.op("LogSoftmax", [n.name(0)], axis=int(n.params["axis"]))


@form("cumsum")
def _cumsum(g, n):
    axis = g.const(np.asarray(int(n.params["axis"]), np.int64), "axis")
    return g.op("CumSum", [n.name(0, n.out.a.dtype), axis])


# ----------------------------------------------------------------------------- linear algebra
@form("matmul")
def _matmul(g, n):
    dt = n.out.a.dtype
    return g.op("MatMul", [n.name(0, dt), n.name(1, dt)])


def _transposed_weight(g, n, i: int, dtype) -> str:
    """Input ``i`` (a (out, in) weight) as (in, out): folded when it is a constant."""
    w = n.const(i)
    if w is not None:
        w = np.ascontiguousarray(np.swapaxes(w, -1, -2)).astype(dtype, copy=False)
        return g.const(w, f"{n.inputs[i].label}.T", dtype=dtype)
    return g.op("Transpose", [n.name(i, dtype)], perm=[1, 0])


@form("linear")
def _linear(g, n):
    dt = n.out.a.dtype  # the inputs' common type, as NumPy promoted them
    if n.inputs[1].ndim == 1:  # a vector weight: a dot product
        y = g.op("MatMul", [n.name(0, dt), n.name(1, dt)])
    else:
        y = g.op("MatMul", [n.name(0, dt), _transposed_weight(g, n, 1, dt)])
    if n.inputs[2] is not None:
        y = g.op("Add", [y, n.name(2, dt)])
    return y


@form("dense")
def _dense(g, n):
    dt = n.out.a.dtype
    y = g.op("MatMul", [n.name(0, dt), n.name(1, dt)])
    if n.inputs[2] is not None:
        y = g.op("Add", [y, n.name(2, dt)])
    return y


@form("outer")
def _outer(g, n):
    dt = n.out.a.dtype
    return g.op("Mul", [unsqueeze(g, n.name(0, dt), [1]), unsqueeze(g, n.name(1, dt), [0])])


@form("einsum")
def _einsum(g, n):
    eq = f"{','.join(n.params['inputs'])}->{n.params['output']}"
    dt = n.out.a.dtype
    return g.op("Einsum", [n.name(i, dt) for i in range(len(n.inputs))], equation=eq)


# ----------------------------------------------------------------------------- special functions
@form("erfc")
def _erfc(g, n):
    return g.op("Sub", [_scalar(g, n, 1.0), g.op("Erf", [n.name(0)])])


@form("hypot")
def _hypot(g, n):
    dt = n.out.a.dtype
    a, b = n.name(0, dt), n.name(1, dt)
    return g.op("Sqrt", [g.op("Add", [g.op("Mul", [a, a]), g.op("Mul", [b, b])])])


@form("fmax", "fmin")
def _fmax_fmin(g, n):
    # ONNX's Max/Min propagate NaN; fmax/fmin take the other operand where one is NaN
    dt = n.out.a.dtype
    a, b = n.name(0, dt), n.name(1, dt)
    both = g.op("Max" if n.op == "fmax" else "Min", [a, b])
    out = g.op("Where", [g.op("IsNaN", [b]), a, both])
    return g.op("Where", [g.op("IsNaN", [a]), b, out])


@form("sinc")
def _sinc(g, n):
    x = n.name(0)
    pix = g.op("Mul", [x, _scalar(g, n, np.pi)])
    zero = g.op("Equal", [x, _scalar(g, n, 0.0)])
    safe = g.op("Where", [zero, _scalar(g, n, 1.0), pix])
    return g.op("Where", [zero, _scalar(g, n, 1.0), g.op("Div", [g.op("Sin", [safe]), safe])])


@form("xlogy")
def _xlogy(g, n):
    dt = n.out.a.dtype
    x, y = n.name(0, dt), n.name(1, dt)
    product = g.op("Mul", [x, g.op("Log", [y])])
    zero = g.op("And", [g.op("Equal", [x, _scalar(g, n, 0.0)]), g.op("Not", [g.op("IsNaN", [y])])])
    return g.op("Where", [zero, _scalar(g, n, 0.0), product])


NOT_EXPORTABLE_OPS.update(
    {
        "erfinv": "ONNX has no inverse error function",
        "logcumsumexp": "ONNX has no cumulative log-sum-exp (CumSum only)",
        "logit": "logit's eps clamp is not traced yet; write log(p / (1 - p)) in forward",
        "diag_embed": "diag_embed has no ONNX form yet; build the matrix with eye * x",
        "scatter_reduce": "ONNX ScatterElements reductions do not follow torch's include_self "
        "and 'mean'",
    }
)
