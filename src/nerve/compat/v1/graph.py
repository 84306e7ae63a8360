"""The graph: nodes that describe a computation now and are run later by a Session.

A node holds its inputs (other nodes) and a function on nerve Tensors; nothing is computed when
it is built, only its dtype and static shape (TensorShape, ``None`` where unknown) are worked out,
so that mistakes (mismatched dtypes, matmul dimensions) are reported where the line was written,
as TensorFlow 1 does. ``Session.run`` then calls the functions in topological order.
"""

from __future__ import annotations

import contextlib
import operator

import numpy as np

from nerve.autograd import Tensor as NerveTensor

__all__ = [
    "Graph",
    "GraphTensor",
    "Operation",
    "TensorShape",
    "as_dtype",
    "convert_to_tensor",
    "get_default_graph",
    "name_scope",
    "reset_default_graph",
]


_TF_NAMES = {"float": np.float32, "double": np.float64, "half": np.float16, float: np.float32}
_TF_NAMES[int] = np.int32


def as_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` (tf.float32, np.float32, 'float32', ...) as a NumPy dtype, or a TypeError."""
    # TensorFlow's spellings: "float" and Python's float are float32, int is int32
    dtype = _TF_NAMES.get(dtype, dtype) if isinstance(dtype, (str, type)) else dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a dtype (use e.g. tf.float32)") from None
    if dt.kind not in "biuf":
        raise TypeError(f"{what}: dtype {dt} is not supported (bool, integer or float only)")
    return dt


# ------------------------------------------------------------------------------- shapes
class TensorShape:
    """A static shape: a tuple of dims, each an int or None (unknown), or an unknown rank.

    Args:
        dims: a list/tuple of ints or None, an int (rank 1), another TensorShape, or None for
            an unknown rank.

    Raises:
        ValueError: a negative dimension.
    """

    __slots__ = ("_dims",)

    def __init__(self, dims):
        if isinstance(dims, TensorShape):
            dims = dims._dims
        elif isinstance(dims, (int, np.integer)):
            dims = (int(dims),)
        if dims is None:
            self._dims = None
            return
        out = []
        for d in dims:
            if d is not None and int(d) < 0:
                raise ValueError(f"TensorShape: dimension {d} must be >= 0 or None, in {dims!r}")
            out.append(None if d is None else int(d))
        self._dims = tuple(out)

    @property
    def ndims(self):
        """The rank, or None when unknown."""
        return None if self._dims is None else len(self._dims)

    rank = ndims

    @property
    def dims(self):
        return None if self._dims is None else list(self._dims)

    def as_list(self) -> list:
        """The dims as a list (None for unknown ones); a ValueError for an unknown rank."""
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def is_fully_defined(self) -> bool:
        return self._dims is not None and None not in self._dims

    def num_elements(self):
        """The number of elements, or None when any dim is unknown."""
        return int(np.prod(self._dims)) if self.is_fully_defined() else None

    def is_compatible_with(self, other) -> bool:
        """Whether some concrete shape fits both (None matches anything)."""
        other = TensorShape(other)
        if self._dims is None or other._dims is None:
            return True
        if len(self._dims) != len(other._dims):
            return False
        return all(a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def __len__(self):
        if self._dims is None:
            raise ValueError("Cannot take the length of shape with unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(self._dims)

    def __getitem__(self, key):
        if self._dims is None:
            return None if not isinstance(key, slice) else TensorShape(None)
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        return self._dims[key]

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            other = TensorShape(other)
        if not isinstance(other, TensorShape):
            return NotImplemented
        return self._dims == other._dims

    def __hash__(self):
        return hash(self._dims)

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join("?" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"

    def __repr__(self):
        return f"TensorShape({self.dims!r})"


def broadcast_shape(a: TensorShape, b: TensorShape, what: str) -> TensorShape:
    """NumPy broadcasting on static shapes; a ValueError naming ``what`` when they clash."""
    if a.ndims is None or b.ndims is None:
        return TensorShape(None)
    da, db = list(a), list(b)
    n = max(len(da), len(db))
    da = [1] * (n - len(da)) + da
    db = [1] * (n - len(db)) + db
    out = []
    for x, y in zip(da, db):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"{what}: shapes {a} and {b} are incompatible (cannot broadcast)")
    return TensorShape(out)


# ------------------------------------------------------------------------------- graphs
class Graph:
    """A TensorFlow 1 graph: the nodes and Variables built while it is the default graph."""

    def __init__(self):
        self._used_names: dict = {}
        self._by_name: dict = {}
        self._variables: list = []
        self._prefix = ""  # the enclosing name scopes, "outer/inner/"

    def unique_name(self, name: str) -> str:
        """``name``, or ``name_1``, ``name_2``... when taken (TensorFlow's naming)."""
        if name not in self._used_names:
            self._used_names[name] = 0
            return name
        while True:
            self._used_names[name] += 1
            candidate = f"{name}_{self._used_names[name]}"
            if candidate not in self._used_names:
                self._used_names[candidate] = 0
                return candidate

    def _add(self, node) -> None:
        self._by_name[node.op_name] = node

    def get_tensor_by_name(self, name: str):
        """The tensor called ``name`` (``'op_name:0'``)."""
        node = self._by_name.get(name[:-2] if name.endswith(":0") else name)
        if not isinstance(node, GraphTensor):
            raise KeyError(f"The name {name!r} refers to a Tensor which does not exist.")
        return node

    def get_operation_by_name(self, name: str):
        """The node whose operation is called ``name``."""
        if name not in self._by_name:
            raise KeyError(f"The name {name!r} refers to an Operation not in the graph.")
        return self._by_name[name]

    @contextlib.contextmanager
    def name_scope(self, name):
        """Prefix the names of the nodes built inside a ``with`` block with ``name/``."""
        outer = self._prefix
        if name:
            self._prefix = outer + str(name).rstrip("/") + "/"
        try:
            yield self._prefix
        finally:
            self._prefix = outer

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default graph inside a ``with`` block."""
        _graph_stack.append(self)
        try:
            yield self
        finally:
            _graph_stack.remove(self)


_graph_stack: list = [Graph()]


def get_default_graph() -> Graph:
    """The graph new nodes go into."""
    return _graph_stack[-1]


def name_scope(name, default_name=None, values=None):
    """A ``with`` block whose nodes get names under ``name/`` (in the default graph)."""
    return get_default_graph().name_scope(name if name is not None else default_name)


def reset_default_graph() -> None:
    """Start a fresh default graph (old nodes and Variables are forgotten).

    Raises:
        AssertionError: inside a ``with graph.as_default()`` block, as TensorFlow.
    """
    if len(_graph_stack) > 1:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
    _graph_stack[0] = Graph()


# ------------------------------------------------------------------------------- nodes
class Node:
    """Anything a Session can run: a GraphTensor (has a value) or an Operation (has none)."""

    is_effect = False  # changes state (Variables, optimizer slots) when run

    def __init__(self, op_type: str, inputs, name=None):
        inputs = tuple(inputs)
        graph = inputs[0].graph if inputs else get_default_graph()
        for node in inputs:
            if node.graph is not graph:
                raise ValueError(
                    f"{op_type}: {node.name} is from another graph than {inputs[0].name}; "
                    "all inputs of an op must be from the same graph"
                )
        self.graph = graph
        self.type = op_type
        self.inputs = inputs
        self.op_name = graph.unique_name(graph._prefix + (name or op_type))
        graph._add(self)

    @property
    def name(self) -> str:
        return self.op_name

    def _compute(self, run, args):
        raise NotImplementedError(f"{type(self).__name__} {self.op_name} cannot be evaluated")

    def run(self, feed_dict=None, session=None):
        """Run this node in ``session`` (default: the default session)."""
        from nerve.compat.v1.session import _session_for

        return _session_for(self, session).run(self, feed_dict=feed_dict)


class Operation(Node):
    """A node without a value (an initializer, a training step, tf.group); running gives None."""

    def __init__(self, op_type: str, inputs, fn=None, name=None, effect: bool = False):
        super().__init__(op_type, inputs, name)
        self._fn = fn
        self.is_effect = effect

    @property
    def name(self) -> str:
        return self.op_name

    def _compute(self, run, args):
        if self._fn is not None:
            self._fn(run, *args)
        return None

    def __repr__(self):
        return f"<tf.Operation '{self.op_name}' type={self.type}>"


class GraphTensor(Node):
    """A symbolic value: the output of an op, with a dtype and a static shape (tf.Tensor).

    Arithmetic (``+ - * / @ ** -x``, comparisons ``< <= > >=``) and ``[...]`` build new nodes.
    ``==`` is object identity, as in TensorFlow 1, so tensors can key a feed_dict.
    """

    __array_ufunc__ = None  # ndarray (op) node -> the node's reflected operator

    def __init__(self, op_type, fn, inputs, dtype, shape, name=None):
        super().__init__(op_type, inputs, name)
        self._fn = fn
        self.dtype = np.dtype(dtype)
        self._shape = TensorShape(shape)

    @property
    def name(self) -> str:
        return f"{self.op_name}:0"

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        """The static shape (TensorShape)."""
        return self._shape

    def set_shape(self, shape) -> None:
        """Refine the static shape; a ValueError when it contradicts what is known."""
        shape = TensorShape(shape)
        if not self._shape.is_compatible_with(shape):
            raise ValueError(f"{self.name}: shape {self._shape} is not compatible with {shape}")
        if self._shape.ndims is None:
            self._shape = shape
        elif shape.ndims is not None:
            self._shape = TensorShape(
                [a if a is not None else b for a, b in zip(self._shape, shape)]
            )

    def eval(self, feed_dict=None, session=None):
        """This tensor's value in ``session`` (default: the default session), a NumPy array."""
        from nerve.compat.v1.session import _session_for

        return _session_for(self, session).run(self, feed_dict=feed_dict)

    def _compute(self, run, args):
        return self._fn(*args)

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self.dtype}>"

    def __bool__(self):
        raise TypeError(
            f"Using a tf.Tensor ({self.name}) as a Python bool is not allowed: its value exists "
            "only when a Session runs it"
        )

    def __iter__(self):
        raise TypeError(f"Tensor objects ({self.name}) are not iterable in graph mode.")

    def __getitem__(self, key):
        return getitem(self, key)

    __hash__ = object.__hash__

    # arithmetic builds nodes
    def __add__(self, other):
        return binary("add", operator.add, self, other)

    def __radd__(self, other):
        return binary("add", operator.add, other, self)

    def __sub__(self, other):
        return binary("sub", operator.sub, self, other)

    def __rsub__(self, other):
        return binary("sub", operator.sub, other, self)

    def __mul__(self, other):
        return binary("mul", operator.mul, self, other)

    def __rmul__(self, other):
        return binary("mul", operator.mul, other, self)

    def __truediv__(self, other):
        return binary("truediv", operator.truediv, self, other)

    def __rtruediv__(self, other):
        return binary("truediv", operator.truediv, other, self)

    def __pow__(self, other):
        return binary("pow", operator.pow, self, other)

    def __rpow__(self, other):
        return binary("pow", operator.pow, other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return unary("Neg", operator.neg, self)

    def __abs__(self):
        return unary("Abs", operator.abs, self)

    def __lt__(self, other):
        return binary("Less", operator.lt, self, other, out_dtype=np.bool_)

    def __le__(self, other):
        return binary("LessEqual", operator.le, self, other, out_dtype=np.bool_)

    def __gt__(self, other):
        return binary("Greater", operator.gt, self, other, out_dtype=np.bool_)

    def __ge__(self, other):
        return binary("GreaterEqual", operator.ge, self, other, out_dtype=np.bool_)


class Const(GraphTensor):
    """A constant: a nerve Tensor made once, when the graph is built."""

    def __init__(self, array: np.ndarray, name=None):
        super().__init__("Const", None, (), array.dtype, array.shape, name)
        self._value = NerveTensor(array, dtype=array.dtype)

    def _compute(self, run, args):
        return self._value


class Placeholder(GraphTensor):
    """A value fed at run time (tf.placeholder); ``default`` makes feeding optional."""

    def __init__(self, dtype, shape, name=None, default=None):
        inputs = () if default is None else (default,)
        super().__init__("Placeholder", None, inputs, dtype, shape, name)

    def _compute(self, run, args):
        if args:
            return args[0]
        from nerve.compat.v1.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"You must feed a value for placeholder tensor '{self.op_name}' with dtype "
            f"{self.dtype} and shape {self._shape} (feed_dict={{{self.op_name}: ...}})",
            node=self,
        )


# ------------------------------------------------------------------------------- builders
def _python_dtype(value) -> np.dtype:
    # TensorFlow's conversion: Python floats -> float32, ints -> int32, NumPy keeps its dtype.
    arr = np.asarray(value)
    if isinstance(value, np.ndarray | np.generic):
        return arr.dtype
    if arr.dtype.kind == "f":
        return np.dtype(np.float32)
    if arr.dtype.kind in "iu":
        return np.dtype(np.int32)
    return arr.dtype


def convert_to_tensor(value, dtype=None, name=None, what: str = "convert_to_tensor"):
    """``value`` as a graph node: nodes pass through; numbers, lists and arrays become Consts.

    Args:
        value: a node, a Python number or list, or a NumPy array.
        dtype: the dtype wanted (a value of another kind is a TypeError, as in TensorFlow).
        name: the Const's name.
        what: the op asking, for messages.

    Raises:
        TypeError: a node of another dtype, or a value that does not fit ``dtype``.
    """
    if isinstance(value, GraphTensor):
        if dtype is not None and value.dtype != np.dtype(dtype):
            raise TypeError(
                f"{what}: {value.name} has dtype {value.dtype}, expected {np.dtype(dtype)}"
            )
        return value
    if isinstance(value, Node):
        raise TypeError(f"{what}: {value.name} is an Operation, which has no value")
    if isinstance(value, NerveTensor):
        value = value.numpy()
    try:
        arr = np.array(value)  # a copy: later changes to the caller's array do not leak in
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{what}: cannot convert {value!r} to a tensor ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: cannot convert {value!r} (dtype {arr.dtype}) to a tensor")
    target = _python_dtype(value) if dtype is None else np.dtype(dtype)
    if arr.dtype != target:
        converted = arr.astype(target)
        if arr.dtype.kind == "f" and target.kind in "iub" and not np.array_equal(converted, arr):
            raise TypeError(f"{what}: {value!r} is not compatible with dtype {target}")
        arr = converted
    return Const(arr, name=name)


def unary(op_type: str, fn, x, name=None, out_dtype=None):
    """A node computing ``fn(x)`` elementwise (same shape)."""
    x = convert_to_tensor(x, what=op_type)
    dtype = x.dtype if out_dtype is None else out_dtype
    return GraphTensor(op_type, fn, (x,), dtype, x.shape, name)


def binary(op_type: str, fn, x, y, name=None, out_dtype=None):
    """A node computing ``fn(x, y)`` with broadcasting; x and y must share a dtype (no promotion).

    A Python number or array takes the dtype of the node beside it, as TensorFlow converts it.
    """
    if isinstance(x, GraphTensor) and not isinstance(y, GraphTensor):
        y = convert_to_tensor(y, dtype=x.dtype, what=op_type)
    elif isinstance(y, GraphTensor) and not isinstance(x, GraphTensor):
        x = convert_to_tensor(x, dtype=y.dtype, what=op_type)
    else:
        x = convert_to_tensor(x, what=op_type)
        y = convert_to_tensor(y, what=op_type)
    if x.dtype != y.dtype:
        raise TypeError(
            f"{op_type}: x ({x.name}) has dtype {x.dtype} but y ({y.name}) has dtype {y.dtype}; "
            "TensorFlow 1 does not promote: tf.cast one of them"
        )
    shape = broadcast_shape(x.shape, y.shape, f"{op_type} of {x.name} and {y.name}")
    return GraphTensor(
        op_type, fn, (x, y), x.dtype if out_dtype is None else out_dtype, shape, name
    )


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """``a @ b`` (optionally transposing the last two axes of either); shapes checked now.

    Raises:
        ValueError: the inner dimensions are known and differ, or an input has rank < 2.
        TypeError: a and b have different dtypes.
    """
    a = convert_to_tensor(a, what="MatMul")
    b = convert_to_tensor(b, dtype=a.dtype, what="MatMul")
    sa, sb = a.shape, b.shape
    for t, s in ((a, sa), (b, sb)):
        if s.ndims is not None and s.ndims < 2:
            raise ValueError(f"MatMul: {t.name} must have rank >= 2, got shape {s}")
    shape = TensorShape(None)
    if sa.ndims is not None and sb.ndims is not None:
        n, ka = (sa[-1], sa[-2]) if transpose_a else (sa[-2], sa[-1])
        kb, m = (sb[-1], sb[-2]) if transpose_b else (sb[-2], sb[-1])
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(
                f"MatMul: dimensions must be equal, but are {ka} and {kb} for '{a.name}' "
                f"{sa} @ '{b.name}' {sb}"
            )
        batch = broadcast_shape(sa[:-2], sb[:-2], "MatMul")
        shape = TensorShape([*batch, n, m])

    def fn(x, y):
        return (x.mT if transpose_a else x) @ (y.mT if transpose_b else y)

    return GraphTensor("MatMul", fn, (a, b), a.dtype, shape, name)


def _probe_shape(shape: TensorShape, key):
    # Index zero-stride arrays (no memory) with the unknown dims set to 2 and to 3: dims that
    # differ between the two are unknown in the result.
    if shape.ndims is None:
        return None
    outs = []
    for k in (2, 3):
        probe = np.broadcast_to(np.float32(0), [k if d is None else d for d in shape])
        try:
            outs.append(probe[key].shape)
        except (IndexError, TypeError, ValueError):
            return None
    a, b = outs
    return [x if x == y else None for x, y in zip(a, b)] if len(a) == len(b) else None


def getitem(x, key, name=None):
    """``x[key]`` with ints, slices, None and Ellipsis (the tf.Tensor slicing)."""
    x = convert_to_tensor(x, what="strided_slice")
    if isinstance(key, GraphTensor) or (
        isinstance(key, tuple) and any(isinstance(k, Node) for k in key)
    ):
        raise TypeError(f"strided_slice: {x.name} can be indexed by Python ints and slices only")
    return GraphTensor(
        "strided_slice", lambda t: t[key], (x,), x.dtype, _probe_shape(x.shape, key), name
    )
