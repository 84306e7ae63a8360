"""Recording: one eager run of a function with every op call written down.

While a recording runs, ``Function.apply`` is swapped for a wrapper (as ``nerve.onnx.trace``
does during an export) that calls the real one and notes the op's class, its parameters, where
each input comes from and which arrays it returned. An input comes from one of:

- ``("in", k)``: the plan's input k;
- ``("v", j)``: value j, an array an earlier op returned (or an input);
- ``("p", tensor)``: a parameter or buffer, read as ``tensor._data`` at replay time, so optimizer
  updates and ``load_state_dict`` are seen;
- ``("x", k, dtype, shape)``: plan input k converted by NumPy outside the ops (a loss making
  its labels int64): the same values at that dtype and shape;
- ``("c", obj)``: a constant (an array made inside the forward from shapes only, a Python
  scalar, None...);
- ``("a", array)``: provisional, during the run only: an array no op made, resolved after the
  run to ``("p", tensor)`` when it is a parameter's or buffer's, else to ``("c", array)``.

The trace hook of ``nerve.autograd.registry`` is set during the run too, so an in-place update
of a Tensor (``out += identity``) runs out of place through the recorded ops.

What the recorder cannot follow makes the recording fail with a reason, and the caller runs
eagerly: a tensor computed from the inputs, or a parameter or buffer, turned into a Python value
(``if x.sum() > 0``, ``.item()``, ``.numpy()``, ``float(temperature)``), a torch-style custom
Function (its forward works on Tensors, not arrays), an in-place update reported to the trace
hook. What it cannot see at all (NumPy on ``._data``, a random tensor made outside the ops) is
caught only when the check against eager (see ``nerve.compiler.api``) takes another path on the
call's values: a one-sample check, not a proof.

Only one recording (or ONNX trace) patches ``Function.apply`` at a time
(``nerve.autograd.registry.PATCH_LOCK``); ops other threads run meanwhile pass through unseen.
"""

from __future__ import annotations

import threading

import numpy as np

from nerve.autograd.function import Edge, Function
from nerve.autograd.grad_mode import _modes
from nerve.autograd.registry import PATCH_LOCK, TRACE
from nerve.autograd.tensor import Tensor

# Tensor methods that turn a tensor into a Python value or hand out its array: on a tensor
# computed from the inputs, each one means the forward's path may depend on the data.
_ESCAPES = ("__bool__", "item", "tolist", "numpy", "__index__", "__float__", "__int__", "__array__")


# The thread ident of the recording that runs now (None: none): a compiled module called inside
# it runs its model eagerly, so that the outer recorder sees the ops (a plan's would not be).
RECORDING: list = [None]


class Event:
    """One op call: its class, parameters, input sources and output value indices.

    ``needs`` is the node's ``needs_input_grad`` (None when eager made no graph node), and
    ``node_id`` the id of the eager node, to map the backward order onto events.
    """

    __slots__ = ("cls", "refs", "params", "dyn_params", "outs", "tuple_out", "needs", "node_id")

    def __init__(self, cls, refs, params, dyn_params, outs, tuple_out, needs, node_id):
        self.cls, self.refs, self.params, self.dyn_params = cls, refs, params, dyn_params
        self.outs, self.tuple_out, self.needs, self.node_id = outs, tuple_out, needs, node_id


class Recording:
    """The result of :func:`record`: the events, the outputs' sources, the eager outputs."""

    def __init__(self):
        self.n_inputs = 0
        self.n_values = 0
        self.events: list[Event] = []
        self.output_refs = None  # the outputs' structure with a source in place of each Tensor
        self.outputs = None  # what the eager run returned
        self.failure: str | None = None
        # values that share memory with another value (views, an op returning its input):
        # never overwritten in place by a plan
        self.aliased: set[int] = set()
        self.shapes: dict[int, tuple] = {}  # value index -> shape and dtype in the recording
        self.dtypes: dict[int, np.dtype] = {}


class _Recorder:
    def __init__(self, input_arrays, params_by_id: dict):
        self.rec = Recording()
        self.index: dict[int, int] = {}  # id(array) -> value index
        self.keep: list = []  # every array seen, so that no id is reused during the run
        self.params_by_id = params_by_id
        self.depth = 0
        self.thread = threading.get_ident()  # ops other threads run meanwhile are not ours
        self.roots: dict[int, list] = {}  # id(root ndarray) -> the values in its memory
        self.inputs = list(input_arrays)
        for a in input_arrays:
            self._new_value(a)
        self.rec.n_inputs = len(input_arrays)

    def _new_value(self, array) -> int:
        k = self.rec.n_values
        self.rec.n_values += 1
        old = self.index.get(id(array))
        if old is not None:  # an op returned an array another value is
            self.rec.aliased.update((old, k))
        self._claim(array, k)
        self.index[id(array)] = k
        self.keep.append(array)
        self.rec.shapes[k] = array.shape
        self.rec.dtypes[k] = array.dtype
        return k

    def _claim(self, array, k: int) -> None:
        """Note that value ``k`` (-1: a parameter or constant) lives in ``array``'s memory;
        values that share memory with another value or with a parameter or constant are
        aliased (a plan never overwrites them in place)."""
        root = array
        while isinstance(root.base, np.ndarray):
            root = root.base
        sharing = self.roots.setdefault(id(root), [])
        if sharing:
            self.rec.aliased.update(v for v in sharing if v >= 0)
            if k >= 0:
                self.rec.aliased.add(k)
        sharing.append(k)
        if root is not array:
            self.keep.append(root)

    def fail(self, why: str) -> None:
        if self.rec.failure is None:
            self.rec.failure = why

    def source(self, x):
        """Where an op input comes from (see the module docstring)."""
        arr = x._data if isinstance(x, Tensor) else x
        if isinstance(arr, np.ndarray):
            k = self.index.get(id(arr))
            if k is not None:
                return ("v", k)
            self.keep.append(arr)
            self._claim(arr, -1)
            k = self._converted_input(arr)
            if k is not None:
                return ("x", k, arr.dtype, arr.shape)
            return ("a", arr)  # a parameter or a constant: resolved after the run
        return ("c", x)

    def _converted_input(self, arr):
        """The plan input that ``arr`` is a NumPy conversion of (a loss turning its int32
        labels into int64, a contiguous copy), or None. Only inputs of the same size (over one
        element) and equal values count. A wrong guess (a constant that happens to equal the
        input, e.g. ``arange(T)`` for a prompt ``0..T-1``) is caught by the check, whose inputs
        are the call's and the recording's a rolled copy of them (other values), unless the
        two happen to be equal too (an input of one repeated value)."""
        if arr.size <= 1 or arr.dtype.kind not in "biuf":
            return None
        if id(arr) in self.params_by_id:
            return None
        for k, a in enumerate(self.inputs):
            same_size = a.size == arr.size and a.dtype.kind in "biuf"
            if same_size and np.array_equal(a.reshape(arr.shape), arr):
                return k
        return None

    def apply_hook(self, original, cls, inputs, params):
        if self.depth or self.rec.failure is not None or threading.get_ident() != self.thread:
            return original(cls, *inputs, **params)
        if cls._tensor_level:
            self.fail(f"it calls the torch-style custom Function {cls.__qualname__}")
            return original(cls, *inputs, **params)
        refs = [self.source(x) for x in inputs]
        dyn = {}
        for name, p in params.items():
            if isinstance(p, np.ndarray):
                if id(p) in self.index:
                    dyn[name] = self.index[id(p)]  # an index array an op computed
                else:
                    self.keep.append(p)
                    self._claim(p, -1)
        self.depth += 1
        TRACE["hook"] = None  # function.py reports no_grad ops to the hook itself
        try:
            result = original(cls, *inputs, **params)
        finally:
            TRACE["hook"] = self.inplace_hook
            self.depth -= 1
        tuple_out = type(result) is tuple
        outs = result if tuple_out else (result,)
        node = None
        for o in outs:
            if o._node is not None:
                node = o._node
                break
        needs = list(node.needs_input_grad) if node is not None else None
        self.keep.append(node)  # alive until the end, so that its id names it alone
        out_idx = [self._new_value(o._data) for o in outs]
        self.rec.events.append(
            Event(
                cls, refs, dict(params), dyn, out_idx, tuple_out, needs, id(node) if node else None
            )
        )
        return result

    def inplace_hook(self, cls, inputs, params, result, inplace: bool = False):
        # Called only by registry.trace_inplace (Function.apply's own report is switched off
        # around each op above): an in-place update the plan cannot replay.
        if self.depth == 0 and threading.get_ident() == self.thread:  # not another thread's op
            self.fail(f"it updates a tensor in place with {cls.op_name!r} outside nerve's ops")

    def escape(self, t: Tensor, what: str) -> None:
        if self.depth or threading.get_ident() != self.thread:
            return
        if id(t._data) in self.index:
            self.fail(
                f"its forward reads the values of a tensor computed from the inputs ({what}): "
                "data-dependent control flow"
            )
        elif id(t._data) in self.params_by_id:
            # a learnable scalar read as a Python number would be frozen into the plan
            self.fail(
                f"its forward reads a parameter's or buffer's value as a Python value ({what})"
            )

    def resolve(self, ref, params_by_id: dict):
        """Turn a provisional ``("a", array)`` source into a parameter or a constant."""
        if ref[0] != "a":
            return ref
        arr = ref[1]
        t = params_by_id.get(id(arr))
        return ("p", t) if t is not None else ("c", arr)

    def output_structure(self, out, params_by_id: dict):
        if isinstance(out, Tensor):
            src = self.source(out)
            if src[0] == "a":
                src = self.resolve(src, params_by_id)
            return ("T", src)
        if isinstance(out, (list, tuple)):
            return (type(out), [self.output_structure(o, params_by_id) for o in out])
        if isinstance(out, dict):
            return (dict, {k: self.output_structure(v, params_by_id) for k, v in out.items()})
        return ("c", out)


def state_tensors(modules) -> dict:
    """id(array) -> Tensor for every parameter and buffer of ``modules``."""
    found = {}
    for m in modules:
        if m is None:
            continue
        for t in list(m.parameters()) + list(m.buffers()):
            if t is not None:
                found.setdefault(id(t._data), t)
    return found


def record(fn, input_tensors: list, modules) -> Recording:
    """Run ``fn(*input_tensors)`` eagerly and write down every op it calls.

    Args:
        fn: the function to record (a model call, or a model plus its loss).
        input_tensors: its inputs, as Tensors.
        modules: the modules whose parameters and buffers ``fn`` reads (read again after the
            run, so that weights a lazily built layer makes during it are found).

    Returns:
        A :class:`Recording`; its ``failure`` says why it cannot be replayed, or is None.
    """
    rec = _Recorder([t._data for t in input_tensors], state_tensors(modules))
    if any(type(t._data) is not np.ndarray for t in input_tensors):
        rec.fail("its inputs live on a device other than the CPU (plans are NumPy-only)")
    if _modes.autocast is not None:  # the calling thread's region (the recording runs here)
        rec.fail("it runs inside a nerve.autocast region (the op inputs' casts are not recorded)")

    def apply(cls, *inputs, **params):
        return rec.apply_hook(original, cls, inputs, params)

    def watch(name, method):
        def wrapper(self, *args, **kwargs):
            rec.escape(self, name)
            return method(self, *args, **kwargs)

        return wrapper

    with PATCH_LOCK:  # patch, run and restore as one (another thread's recording, an export)
        original = Function.__dict__["apply"].__func__
        own = {name: Tensor.__dict__.get(name) for name in _ESCAPES}  # None: inherited
        saved_escapes = {name: getattr(Tensor, name) for name in _ESCAPES}
        previous_hook = TRACE["hook"]
        Function.apply = classmethod(apply)
        for name, method in saved_escapes.items():
            setattr(Tensor, name, watch(name, method))
        TRACE["hook"] = rec.inplace_hook
        outer = RECORDING[0]
        RECORDING[0] = rec.thread
        try:
            out = fn(*input_tensors)
        finally:
            RECORDING[0] = outer
            TRACE["hook"] = previous_hook
            Function.apply = classmethod(original)
            for name, method in own.items():
                if method is None:
                    delattr(Tensor, name)
                else:
                    setattr(Tensor, name, method)
    result = rec.rec
    result.outputs = out
    params_by_id = state_tensors(modules)
    params_by_id.update(rec.params_by_id)
    for ev in result.events:
        ev.refs = [rec.resolve(r, params_by_id) for r in ev.refs]
    result.output_refs = rec.output_structure(out, params_by_id)
    return result


def backward_schedule(recording: Recording, loss: Tensor) -> list | None:
    """The eager engine's backward order over the recorded events, taken from the graph that
    the recording run built (before its backward frees it).

    Returns a list of ``(event index, targets)`` in the engine's order, where ``targets`` has one
    entry per op input: None (no gradient), ``("leaf", tensor)`` or
    ``("edge", event index, output index, shape)``. Returns None when the graph holds a node the
    recording did not make (the loss depends on a graph built before the call).
    """
    from nerve.autograd.engine import topological_order

    if loss._node is None:
        return []
    by_node = {ev.node_id: i for i, ev in enumerate(recording.events) if ev.node_id is not None}
    schedule = []
    for node in topological_order(loss._node):
        i = by_node.get(id(node))
        if i is None:
            return None
        targets = []
        for link, need in zip(node.inputs, node.needs_input_grad):
            if not need:
                targets.append(None)
            elif isinstance(link, Edge):
                j = by_node.get(id(link._node))
                if j is None:
                    return None
                targets.append(("edge", j, link._index, link.shape))
            else:
                targets.append(("leaf", link))
        schedule.append((i, targets))
    return schedule
