"""TensorFlow 1's math and shape functions as graph builders over nerve's Tensor ops.

Each function checks its inputs and works out the static dtype and shape now; the node it
returns calls the nerve op (which holds the math and the gradient) when a Session runs it.
Keyword names and defaults are TensorFlow 1's, old aliases included (``reduction_indices``
for ``axis``, ``keep_dims`` for ``keepdims``, ``dimension`` for argmax's ``axis``).
"""

from __future__ import annotations

import operator

import numpy as np

import nerve
from nerve.compat.v1.graph import (
    GraphTensor,
    TensorShape,
    as_dtype,
    binary,
    broadcast_shape,
    convert_to_tensor,
    matmul,
    unary,
)

__all__ = [
    "abs",
    "add",
    "add_n",
    "argmax",
    "argmin",
    "cast",
    "clip_by_value",
    "concat",
    "cos",
    "divide",
    "equal",
    "exp",
    "expand_dims",
    "greater",
    "greater_equal",
    "identity",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "matmul",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "not_equal",
    "one_hot",
    "pow",
    "reduce_all",
    "reduce_any",
    "reduce_logsumexp",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "reshape",
    "rsqrt",
    "shape",
    "sigmoid",
    "sign",
    "sin",
    "sqrt",
    "square",
    "squared_difference",
    "squeeze",
    "stack",
    "subtract",
    "tanh",
    "to_float",
    "to_int32",
    "to_int64",
    "transpose",
    "truediv",
    "where",
]

_builtin_abs = abs


# ------------------------------------------------------------------------------- elementwise
def add(x, y, name=None):
    """x + y, with broadcasting."""
    return binary("Add", operator.add, x, y, name)


def add_n(inputs, name=None):
    """The elementwise sum of a list of tensors of one dtype and shape."""
    nodes = [convert_to_tensor(t, what="AddN") for t in inputs]
    if not nodes:
        raise ValueError("AddN: needs at least one tensor")
    total = nodes[0]
    for n in nodes[1:]:
        total = binary("AddN", operator.add, total, n)
    return total if len(nodes) > 1 or name is None else identity(total, name)


def subtract(x, y, name=None):
    """x - y, with broadcasting."""
    return binary("Sub", operator.sub, x, y, name)


def multiply(x, y, name=None):
    """x * y, elementwise, with broadcasting."""
    return binary("Mul", operator.mul, x, y, name)


def divide(x, y, name=None):
    """x / y (true division), with broadcasting."""
    return binary("RealDiv", operator.truediv, x, y, name)


truediv = divide
div = divide


def pow(x, y, name=None):
    """x ** y, elementwise."""
    return binary("Pow", operator.pow, x, y, name)


def maximum(x, y, name=None):
    """The elementwise maximum."""
    return binary("Maximum", nerve.maximum, x, y, name)


def minimum(x, y, name=None):
    """The elementwise minimum."""
    return binary("Minimum", nerve.minimum, x, y, name)


def squared_difference(x, y, name=None):
    """(x - y) ** 2, elementwise."""
    return binary("SquaredDifference", lambda a, b: (a - b).square(), x, y, name)


def _float_unary(op_type, fn, x, name):
    x = convert_to_tensor(x, what=op_type)
    if x.dtype.kind != "f":
        raise TypeError(f"{op_type}: {x.name} has dtype {x.dtype}; a float tensor is expected")
    return unary(op_type, fn, x, name)


def negative(x, name=None):
    """-x."""
    return unary("Neg", operator.neg, x, name)


def abs(x, name=None):
    """|x|."""
    return unary("Abs", _builtin_abs, x, name)


def sign(x, name=None):
    """-1, 0 or 1 by the sign of x."""
    return unary("Sign", nerve.sign, x, name)


def square(x, name=None):
    """x * x."""
    return unary("Square", lambda t: t.square(), x, name)


def log(x, name=None):
    """The natural logarithm (log(0) = -inf, as TensorFlow)."""
    return _float_unary("Log", nerve.log, x, name)


def log1p(x, name=None):
    """log(1 + x)."""
    return _float_unary("Log1p", nerve.log1p, x, name)


def exp(x, name=None):
    """e ** x."""
    return _float_unary("Exp", nerve.exp, x, name)


def sqrt(x, name=None):
    """The square root."""
    return _float_unary("Sqrt", nerve.sqrt, x, name)


def rsqrt(x, name=None):
    """1 / sqrt(x)."""
    return _float_unary("Rsqrt", nerve.rsqrt, x, name)


def sin(x, name=None):
    """The sine."""
    return _float_unary("Sin", nerve.sin, x, name)


def cos(x, name=None):
    """The cosine."""
    return _float_unary("Cos", nerve.cos, x, name)


def sigmoid(x, name=None):
    """1 / (1 + exp(-x))."""
    return _float_unary("Sigmoid", nerve.sigmoid, x, name)


def tanh(x, name=None):
    """The hyperbolic tangent."""
    return _float_unary("Tanh", nerve.tanh, x, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """t clipped to [clip_value_min, clip_value_max] (numbers or nodes)."""
    t = convert_to_tensor(t, what="clip_by_value")
    lo = convert_to_tensor(clip_value_min, dtype=t.dtype, what="clip_by_value")
    hi = convert_to_tensor(clip_value_max, dtype=t.dtype, what="clip_by_value")
    return GraphTensor(
        "clip_by_value",
        lambda a, b, c: nerve.minimum(nerve.maximum(a, b), c),
        (t, lo, hi),
        t.dtype,
        t.shape,
        name,
    )


# ------------------------------------------------------------------------------- comparisons
def equal(x, y, name=None):
    """x == y elementwise (bool)."""
    return binary("Equal", operator.eq, x, y, name, out_dtype=np.bool_)


def not_equal(x, y, name=None):
    """x != y elementwise (bool)."""
    return binary("NotEqual", operator.ne, x, y, name, out_dtype=np.bool_)


def less(x, y, name=None):
    """x < y elementwise (bool)."""
    return binary("Less", operator.lt, x, y, name, out_dtype=np.bool_)


def less_equal(x, y, name=None):
    """x <= y elementwise (bool)."""
    return binary("LessEqual", operator.le, x, y, name, out_dtype=np.bool_)


def greater(x, y, name=None):
    """x > y elementwise (bool)."""
    return binary("Greater", operator.gt, x, y, name, out_dtype=np.bool_)


def greater_equal(x, y, name=None):
    """x >= y elementwise (bool)."""
    return binary("GreaterEqual", operator.ge, x, y, name, out_dtype=np.bool_)


def _bool_binary(op_type, fn, x, y, name):
    node = binary(op_type, fn, x, y, name)
    if node.dtype != np.bool_:
        raise TypeError(f"{op_type}: expects bool tensors, got {node.dtype}")
    return node


def logical_and(x, y, name=None):
    """x and y, elementwise on bool tensors."""
    return _bool_binary("LogicalAnd", nerve.logical_and, x, y, name)


def logical_or(x, y, name=None):
    """x or y, elementwise on bool tensors."""
    return _bool_binary("LogicalOr", nerve.logical_or, x, y, name)


def logical_not(x, name=None):
    """not x, elementwise on a bool tensor."""
    return unary("LogicalNot", nerve.logical_not, x, name)


def where(condition, x=None, y=None, name=None):
    """x where condition is true, else y (both needed: the one-argument form is not built).

    Raises:
        ValueError: x or y missing.
    """
    if x is None or y is None:
        raise ValueError("tf.where: give both x and y (the indices form is not supported)")
    condition = convert_to_tensor(condition, what="Select")
    if condition.dtype != np.bool_:
        raise TypeError(f"Select: condition {condition.name} must be bool, got {condition.dtype}")
    if not isinstance(x, GraphTensor) and isinstance(y, GraphTensor):
        x = convert_to_tensor(x, dtype=y.dtype, what="Select")
    x = convert_to_tensor(x, what="Select")
    y = convert_to_tensor(y, dtype=x.dtype, what="Select")
    shape = broadcast_shape(condition.shape, broadcast_shape(x.shape, y.shape, "Select"), "Select")
    return GraphTensor("Select", nerve.where, (condition, x, y), x.dtype, shape, name)


# ------------------------------------------------------------------------------- reductions
def _axes(op_type, node, axis, reduction_indices):
    if axis is not None and reduction_indices is not None:
        raise ValueError(f"{op_type}: give axis or reduction_indices (its old name), not both")
    axis = reduction_indices if axis is None else axis
    if axis is None:
        return None
    if isinstance(axis, GraphTensor):
        raise TypeError(f"{op_type}: axis must be a Python int or list of ints")
    axes = [int(a) for a in np.atleast_1d(np.asarray(axis))]
    rank = node.shape.ndims
    if rank is not None:
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(
                    f"{op_type}: axis {a} is out of range for {node.name} of rank {rank}"
                )
        axes = sorted({a % rank for a in axes})
    return tuple(axes)


def _reduce(op_type, fn, x, axis, keepdims, name, reduction_indices, keep_dims, out_dtype=None):
    x = convert_to_tensor(x, what=op_type)
    if keepdims is not None and keep_dims is not None:
        raise ValueError(f"{op_type}: give keepdims or keep_dims (its old name), not both")
    keep = bool(keep_dims if keepdims is None else keepdims)
    axes = _axes(op_type, x, axis, reduction_indices)
    shape = TensorShape(None)
    if x.shape.ndims is not None:
        dims = list(x.shape)
        reduced = range(len(dims)) if axes is None else axes
        if keep:
            shape = TensorShape([1 if i in reduced else d for i, d in enumerate(dims)])
        else:
            shape = TensorShape([d for i, d in enumerate(dims) if i not in reduced])
    elif axes is None and not keep:
        shape = TensorShape([])
    return GraphTensor(
        op_type,
        lambda t: fn(t, axes, keep),
        (x,),
        x.dtype if out_dtype is None else out_dtype,
        shape,
        name,
    )


def _mean(t, axes, keep):
    if t.dtype.kind in "iu":  # TensorFlow's integer mean truncates
        return t.astype(np.float64).mean(dim=axes, keepdim=keep).astype(t.dtype)
    return t.mean(dim=axes, keepdim=keep)


def reduce_sum(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """The sum over ``axis`` (all axes when None)."""
    return _reduce(
        "Sum",
        lambda t, a, k: t.sum(dim=a, keepdim=k),
        input_tensor,
        axis,
        keepdims,
        name,
        reduction_indices,
        keep_dims,
    )


def reduce_mean(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """The mean over ``axis`` (all axes when None)."""
    return _reduce("Mean", _mean, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """The maximum over ``axis`` (all axes when None)."""
    return _reduce(
        "Max",
        lambda t, a, k: t.amax(dim=a, keepdim=k),
        input_tensor,
        axis,
        keepdims,
        name,
        reduction_indices,
        keep_dims,
    )


def reduce_min(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """The minimum over ``axis`` (all axes when None)."""
    return _reduce(
        "Min",
        lambda t, a, k: t.amin(dim=a, keepdim=k),
        input_tensor,
        axis,
        keepdims,
        name,
        reduction_indices,
        keep_dims,
    )


def _prod(t, axes, keep):
    if axes is None:
        out = t.reshape(-1).prod(dim=0)
        return out.reshape((1,) * t.ndim) if keep else out
    for a in sorted(axes, reverse=True):
        t = t.prod(dim=a, keepdim=keep)
    return t


def reduce_prod(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """The product over ``axis`` (all axes when None)."""
    return _reduce("Prod", _prod, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """log(sum(exp(x))) over ``axis``, computed stably."""

    def fn(t, axes, keep):
        return t.logsumexp(dim=tuple(range(t.ndim)) if axes is None else axes, keepdim=keep)

    return _reduce(
        "ReduceLogSumExp", fn, input_tensor, axis, keepdims, name, reduction_indices, keep_dims
    )


def reduce_any(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """Logical or over ``axis``."""
    return _reduce(
        "Any",
        lambda t, a, k: t.any(dim=tuple(range(t.ndim)) if a is None else a, keepdim=k),
        input_tensor,
        axis,
        keepdims,
        name,
        reduction_indices,
        keep_dims,
        out_dtype=np.bool_,
    )


def reduce_all(
    input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
):
    """Logical and over ``axis``."""
    return _reduce(
        "All",
        lambda t, a, k: t.all(dim=tuple(range(t.ndim)) if a is None else a, keepdim=k),
        input_tensor,
        axis,
        keepdims,
        name,
        reduction_indices,
        keep_dims,
        out_dtype=np.bool_,
    )


def _arg(op_type, fn, x, axis, name, dimension, output_type):
    x = convert_to_tensor(x, what=op_type)
    if axis is not None and dimension is not None:
        raise ValueError(f"{op_type}: give axis or dimension (its old name), not both")
    axis = 0 if axis is None and dimension is None else (dimension if axis is None else axis)
    axes = _axes(op_type, x, int(axis), None)
    ax = axes[0]
    shape = TensorShape(None)
    if x.shape.ndims is not None:
        shape = TensorShape([d for i, d in enumerate(x.shape) if i != ax])
    out = as_dtype(output_type, op_type)
    return GraphTensor(op_type, lambda t: fn(t, dim=ax).astype(out), (x,), out, shape, name)


def argmax(input, axis=None, name=None, dimension=None, output_type=np.int64):
    """The index of the largest value along ``axis`` (default 0, as TensorFlow 1)."""
    return _arg("ArgMax", nerve.argmax, input, axis, name, dimension, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=np.int64):
    """The index of the smallest value along ``axis`` (default 0)."""
    return _arg("ArgMin", nerve.argmin, input, axis, name, dimension, output_type)


# ------------------------------------------------------------------------------- dtype, shape
def cast(x, dtype, name=None):
    """x converted to ``dtype`` (differentiable between float types; bool -> 0.0 / 1.0)."""
    x = convert_to_tensor(x, what="Cast")
    dt = as_dtype(dtype, "Cast")
    return GraphTensor("Cast", lambda t: nerve.cast(t, dt), (x,), dt, x.shape, name)


def to_float(x, name="ToFloat"):
    """cast(x, float32)."""
    return cast(x, np.float32, name)


def to_int32(x, name="ToInt32"):
    """cast(x, int32)."""
    return cast(x, np.int32, name)


def to_int64(x, name="ToInt64"):
    """cast(x, int64)."""
    return cast(x, np.int64, name)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """Rows of ``depth`` values: on_value (1) at each index, off_value (0) elsewhere.

    Indices outside [0, depth) give a row of off_value, as in TensorFlow.

    Raises:
        TypeError: indices that are not integers.
    """
    idx = convert_to_tensor(indices, what="OneHot")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"OneHot: indices {idx.name} must be integers, got {idx.dtype}")
    dt = as_dtype(dtype if dtype is not None else np.float32, "OneHot")
    depth = int(depth)
    on = dt.type(1 if on_value is None else on_value)
    off = dt.type(0 if off_value is None else off_value)
    ax = -1 if axis is None else int(axis)
    shape = None
    if idx.shape.ndims is not None:
        dims = list(idx.shape)
        pos = ax if ax >= 0 else len(dims) + 1 + ax
        shape = dims[:pos] + [depth] + dims[pos:]

    def fn(t):
        hot = t._data[..., None] == np.arange(depth)
        out = np.where(hot, on, off).astype(dt, copy=False)
        return nerve.tensor(np.moveaxis(out, -1, ax), dtype=dt)

    return GraphTensor("OneHot", fn, (idx,), dt, shape, name)


def identity(input, name=None):
    """The same value, as a new node."""
    return unary("Identity", lambda t: t, input, name)


def shape(input, name=None, out_type=np.int32):
    """The run-time shape of ``input`` as a 1-D integer tensor."""
    x = convert_to_tensor(input, what="Shape")
    out = as_dtype(out_type, "Shape")
    rank = x.shape.ndims
    return GraphTensor(
        "Shape",
        lambda t: nerve.tensor(np.array(t.shape, dtype=out), dtype=out),
        (x,),
        out,
        [rank],
        name,
    )


def reshape(tensor, shape, name=None):
    """``tensor`` with a new shape (a list of ints, one of them may be -1).

    Raises:
        ValueError: the known number of elements does not fit the new shape.
    """
    x = convert_to_tensor(tensor, what="Reshape")
    if isinstance(shape, GraphTensor):
        raise TypeError("Reshape: shape must be a list of Python ints here")
    dims = [int(d) for d in np.atleast_1d(np.asarray(shape, dtype=np.int64))]
    if dims.count(-1) > 1:
        raise ValueError(f"Reshape: at most one -1 in shape {dims}")
    out = [None if d == -1 else d for d in dims]
    total = x.shape.num_elements()
    known = int(np.prod([d for d in dims if d != -1]))
    if -1 in dims and total is not None:
        if known == 0 or total % known:
            raise ValueError(f"Reshape: cannot reshape {x.name} {x.shape} into {dims}")
        out[dims.index(-1)] = total // known
    elif total is not None and total != known:
        raise ValueError(
            f"Reshape: cannot reshape {x.name} with {total} elements to shape {dims} "
            f"({known} elements)"
        )
    return GraphTensor("Reshape", lambda t: t.reshape(tuple(dims)), (x,), x.dtype, out, name)


def transpose(a, perm=None, name="transpose", conjugate=False):
    """``a`` with its axes permuted by ``perm`` (default: reversed)."""
    x = convert_to_tensor(a, what="Transpose")
    rank = x.shape.ndims
    if perm is None and rank is None:
        raise ValueError(f"Transpose: {x.name} has an unknown rank; give perm")
    perm = tuple(range(rank - 1, -1, -1)) if perm is None else tuple(int(p) for p in perm)
    shape = None if rank is None else [x.shape[p] for p in perm]
    return GraphTensor("Transpose", lambda t: t.permute(*perm), (x,), x.dtype, shape, name)


def expand_dims(input, axis=None, name=None, dim=None):
    """``input`` with a new axis of length 1 at ``axis`` (``dim`` is the old name)."""
    x = convert_to_tensor(input, what="ExpandDims")
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("ExpandDims: axis must be given")
    axis = int(axis)
    shape = None
    if x.shape.ndims is not None:
        dims = list(x.shape)
        pos = axis if axis >= 0 else len(dims) + 1 + axis
        shape = dims[:pos] + [1] + dims[pos:]
    return GraphTensor("ExpandDims", lambda t: t.unsqueeze(axis), (x,), x.dtype, shape, name)


def squeeze(input, axis=None, name=None, squeeze_dims=None):
    """``input`` without its axes of length 1 (or only those in ``axis``)."""
    x = convert_to_tensor(input, what="Squeeze")
    axes = _axes("Squeeze", x, axis, squeeze_dims)
    shape = None
    if x.shape.ndims is not None:
        dims = list(x.shape)
        for a in axes or ():
            if dims[a] not in (1, None):
                raise ValueError(f"Squeeze: cannot squeeze axis {a} of {x.name} {x.shape}")
        if axes is None:
            shape = None if None in dims else [d for d in dims if d != 1]
        else:
            shape = [d for i, d in enumerate(dims) if i not in axes]

    def fn(t):
        drop = tuple(i for i, d in enumerate(t.shape) if d == 1) if axes is None else axes
        return t.reshape(tuple(d for i, d in enumerate(t.shape) if i not in drop))

    return GraphTensor("Squeeze", fn, (x,), x.dtype, shape, name)


def _join(op_type, values, axis, name, stacked):
    nodes = [convert_to_tensor(v, what=op_type) for v in values]
    if not nodes:
        raise ValueError(f"{op_type}: needs at least one tensor")
    for n in nodes[1:]:
        if n.dtype != nodes[0].dtype:
            raise TypeError(
                f"{op_type}: {n.name} is {n.dtype}, {nodes[0].name} is {nodes[0].dtype}"
            )
    shape = None
    shapes = [n.shape for n in nodes]
    if all(s.ndims is not None for s in shapes):
        rank = shapes[0].ndims
        ax = axis % (rank + 1 if stacked else rank)
        dims = list(shapes[0])
        for s in shapes[1:]:
            dims = [a if b is None else b if a is None else a for a, b in zip(dims, s)]
        if stacked:
            shape = dims[:ax] + [len(nodes)] + dims[ax:]
        else:
            along = [s[ax] for s in shapes]
            dims[ax] = None if None in along else sum(along)
            shape = dims
    fn = nerve.stack if stacked else nerve.concat
    return GraphTensor(
        op_type, lambda *ts: fn(list(ts), dim=axis), tuple(nodes), nodes[0].dtype, shape, name
    )


def concat(values, axis, name="concat"):
    """The tensors joined along an existing ``axis``."""
    return _join("ConcatV2", values, int(axis), name, stacked=False)


def stack(values, axis=0, name="stack"):
    """The tensors joined along a new ``axis``."""
    return _join("Pack", values, int(axis), name, stacked=True)
