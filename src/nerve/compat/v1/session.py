"""Session: runs the part of a graph that the fetches need, by calling nerve's Tensor ops.

One ``run`` evaluates every needed node once (a cache per run), in topological order, with the
nodes that change state (training steps, assignments) after every node that does not depend on
them, so fetched values are those from before the update, as a TensorFlow 1 step reports them.
Gradients come from nerve's autograd: a training step calls ``backward()`` on the evaluated loss.
"""

from __future__ import annotations

import contextlib

import numpy as np

from nerve.autograd import Tensor as NerveTensor
from nerve.autograd import enable_grad, no_grad
from nerve.compat.v1.errors import FailedPreconditionError, InvalidArgumentError, OpError
from nerve.compat.v1.graph import GraphTensor, Node, get_default_graph

__all__ = ["InteractiveSession", "Session", "get_default_session"]

_session_stack: list = []


def get_default_session():
    """The innermost session of a ``with Session()`` / ``as_default()`` block, or None."""
    return _session_stack[-1] if _session_stack else None


def _session_for(node, session):
    session = session or get_default_session()
    if session is None:
        raise ValueError(
            f"Cannot evaluate {node.name}: no session given and no default session is "
            "registered; use `with tf.Session() as sess:` or pass session="
        )
    return session


class _Run:
    """What one ``Session.run`` call carries: its session and values (the cache)."""

    __slots__ = ("session", "values", "retain")

    def __init__(self, session, values):
        self.session = session
        self.values = values
        self.retain = False


def _flatten(fetches, graph, out: list):
    # Returns a function that rebuilds the fetches' structure from the flat values.
    if isinstance(fetches, Node):
        out.append(fetches)
        i = len(out) - 1
        return lambda vals: vals[i]
    if isinstance(fetches, str):
        return _flatten(_by_name(graph, fetches), graph, out)
    if isinstance(fetches, (list, tuple)):
        parts = [_flatten(f, graph, out) for f in fetches]
        kind = type(fetches)
        if kind in (list, tuple):
            return lambda vals: kind(p(vals) for p in parts)
        return lambda vals: kind(*(p(vals) for p in parts))  # a namedtuple
    if isinstance(fetches, dict):
        parts = {k: _flatten(f, graph, out) for k, f in fetches.items()}
        return lambda vals: {k: p(vals) for k, p in parts.items()}
    raise TypeError(
        f"Fetch argument {fetches!r} has invalid type {type(fetches)}, must be a string or "
        "Tensor. (Can not convert a {} into a Tensor or Operation.)".format(type(fetches).__name__)
    )


def _by_name(graph, name: str):
    try:
        return graph.get_operation_by_name(name[:-2] if name.endswith(":0") else name)
    except KeyError:
        raise KeyError(f"Fetch or feed name {name!r} is not an element of this graph.") from None


def _feed_value(node: GraphTensor, value) -> NerveTensor:
    if isinstance(value, Node):
        raise TypeError(
            f"The value of a feed cannot be a tf.Tensor object ({value.name} fed to "
            f"{node.name}). Acceptable feed values include Python scalars, lists and NumPy "
            "arrays: run it first and feed the result"
        )
    if isinstance(value, NerveTensor):
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype != node.dtype:
        if arr.dtype.kind not in "biuf" or not np.can_cast(arr.dtype, node.dtype, "same_kind"):
            raise TypeError(
                f"Cannot feed a value of dtype {arr.dtype} for Tensor '{node.name}', which has "
                f"dtype {node.dtype}"
            )
        arr = arr.astype(node.dtype)
    if not node.shape.is_compatible_with(arr.shape):
        raise ValueError(
            f"Cannot feed value of shape {arr.shape} for Tensor '{node.name}', which has "
            f"shape '{node.shape}'"
        )
    return NerveTensor(arr, dtype=arr.dtype)


def _plan(fetched: list, values: dict) -> list:
    # Iterative post-order DFS from the fetches, stopping at fed and cached nodes; then the
    # nodes that depend on no state-changing node go first.
    order, state = [], {}
    for root in fetched:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in values or state.get(node) == 2:
                continue
            if expanded:
                state[node] = 2
                order.append(node)
                continue
            if state.get(node) == 1:
                continue
            state[node] = 1
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs))
    after = set()
    for node in order:
        if node.is_effect or any(i in after for i in node.inputs):
            after.add(node)
    return [n for n in order if n not in after] + [n for n in order if n in after]


class Session:
    """Runs graph nodes; holds the Variables' values and the optimizers' state (tf.Session).

    Args:
        target: ignored (there is one local device), as a local TensorFlow session.
        graph: the graph to run (default: the default graph when the session is made).
        config: accepted and ignored (tf.ConfigProto settings have no meaning here).

    ``with Session() as sess:`` makes it the default session (for ``tensor.eval()``) and closes
    it at the end.
    """

    def __init__(self, target: str = "", graph=None, config=None):
        self.graph = graph if graph is not None else get_default_graph()
        self._variables: dict = {}  # Variable node -> nerve Tensor holding its value
        self._slots: dict = {}  # training op -> its nerve optimizer (momentum, Adam moments)
        self._closed = False

    # ---------------------------------------------------------------- Variables' values
    def _variable(self, var) -> NerveTensor:
        t = self._variables.get(var)
        if t is None:
            raise FailedPreconditionError(
                f"Attempting to use uninitialized value {var.op_name}: run "
                "tf.global_variables_initializer() (or its initializer) first",
                node=var,
            )
        return t

    def _assign(self, var, value: np.ndarray) -> NerveTensor:
        t = self._variables.get(var)
        if t is None:
            floating = var.dtype.kind == "f"
            # a copy: the initial value may be a Const's array, which updates must not touch
            t = NerveTensor(np.array(value, dtype=var.dtype), floating, dtype=var.dtype)
            self._variables[var] = t
        else:
            t._data = np.array(value, dtype=var.dtype)  # a fresh array: earlier fetches keep theirs
        return t

    # ---------------------------------------------------------------- running
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Evaluate ``fetches`` (a node, a name, or a list/tuple/dict of them, nested).

        Args:
            fetches: what to compute; Operations give None.
            feed_dict: values for placeholders (or any other tensor), keyed by node or name;
                converted to the node's dtype when the kind allows (float64 -> float32) and
                checked against its static shape.
            options, run_metadata: accepted and ignored.

        Returns:
            The fetched values in the fetches' structure: NumPy arrays (a NumPy scalar for a
            0-d value), None for Operations.

        Raises:
            RuntimeError: the session is closed.
            TypeError: a fetch is not a node or name; a feed value of an incompatible dtype.
            ValueError: a feed value of the wrong shape; a node of another graph.
            tf.errors.InvalidArgumentError: a placeholder needed but not fed, or an op failing
                on the values it got (the message names the node).
            tf.errors.FailedPreconditionError: an uninitialized Variable is needed.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        flat: list = []
        rebuild = _flatten(fetches, self.graph, flat)
        for node in flat:
            if node.graph is not self.graph:
                raise ValueError(f"Tensor {node.name} is not an element of this graph.")
        values: dict = {}
        for key, value in (feed_dict or {}).items():
            node = _by_name(self.graph, key) if isinstance(key, str) else key
            if not isinstance(node, GraphTensor):
                raise TypeError(
                    f"feed_dict key {key!r} is not a tf.Tensor (it is a {type(key).__name__})"
                )
            if node.graph is not self.graph:
                raise ValueError(f"Tensor {node.name} fed in feed_dict is not of this graph.")
            values[node] = _feed_value(node, value)
        plan = _plan(flat, values)
        run = _Run(self, values)
        wanted = set(flat)
        snapshots = {}
        backwards = [n for n in plan if getattr(n, "needs_grad", False)]
        run.retain = len(backwards) > 1
        wrt = {x for n in backwards for x in n.wrt}
        for node in wrt & values.keys():  # a gradient with respect to a fed value
            if values[node].dtype.kind == "f":
                values[node].requires_grad_(True)
        with enable_grad() if backwards else no_grad():
            for node in plan:
                value = _evaluate(node, run, [values[i] for i in node.inputs])
                if node in wrt:
                    value = _tracked(value)
                values[node] = value
                if node in wanted:
                    snapshots[node] = _to_numpy(value)
        for node in wanted:
            if node not in snapshots:  # a fed node
                snapshots[node] = _to_numpy(values[node])
        return rebuild([snapshots[n] for n in flat])

    def close(self) -> None:
        """Release the Variables' values; the session cannot run afterwards."""
        self._closed = True
        self._variables.clear()
        self._slots.clear()

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default session inside a ``with`` block (without closing it)."""
        _session_stack.append(self)
        try:
            yield self
        finally:
            _session_stack.remove(self)

    def __enter__(self):
        _session_stack.append(self)
        return self

    def __exit__(self, *exc):
        if self in _session_stack:
            _session_stack.remove(self)
        self.close()

    def __repr__(self):
        return f"<Session ({len(self._variables)} Variables initialized)>"


class InteractiveSession(Session):
    """A Session that makes itself the default on creation (for ``.eval()`` in notebooks)."""

    def __init__(self, target: str = "", graph=None, config=None):
        super().__init__(target, graph, config)
        _session_stack.append(self)

    def close(self) -> None:
        if self in _session_stack:
            _session_stack.remove(self)
        super().close()


def _evaluate(node, run, args):
    try:
        return node._compute(run, args)
    except OpError:
        raise
    except (ValueError, TypeError, IndexError, RuntimeError, ArithmeticError) as exc:
        raise InvalidArgumentError(
            f"{node.op_name} ({node.type}) failed on inputs of shapes "
            f"{[tuple(a.shape) if isinstance(a, NerveTensor) else a for a in args]}: {exc}",
            node=node,
        ) from exc


def _tracked(value: NerveTensor) -> NerveTensor:
    # A value whose gradient a tf.gradients node wants: keep it (non-leaf), or make it a leaf
    # that requires grad (a Const's or a random op's value).
    if value.requires_grad:
        if not value.is_leaf:
            value.retain_grad()
        return value
    if value.dtype.kind != "f":
        return value
    return NerveTensor(value._data, requires_grad=True, dtype=value.dtype)


def _to_numpy(value):
    if value is None:
        return None
    arr = value._data if isinstance(value, NerveTensor) else np.asarray(value)
    return arr[()].copy() if arr.ndim == 0 else arr.copy()
