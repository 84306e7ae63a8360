"""Tracing: a module with its own ``forward()`` exported from the ops one forward pass runs.

The module runs twice under the trace hook of ``nerve.autograd.registry`` (``Function.apply``
reports every op: its name, inputs, parameters and outputs): once on the example inputs, once
on the example plus one step along each dynamic axis. Both runs must take the same path; the
sizes that differ between them are the dynamic ones. Each recorded op is then written in its
ONNX form (``nerve.onnx.op_forms``, keyed by op name), in the order the ops ran.

Design: a traced forward is converted op by op throughout, also where it calls one of nerve's
modules that has a module converter: forward hooks do not see keyword arguments (masks,
``need_weights``), and one path is easier to trust than two. Module converters still serve
models built from modules (``nn.Sequential``, Keras ``Sequential`` and functional models).

Tensors an op reads that the trace did not make are constants: parameters and buffers (named
after their ``state_dict`` keys), and tensors built inside ``forward()``. A constant that
differs between the two runs is accepted only when it is one value repeated (``zeros(n, h)``
with ``n`` the batch size): it becomes a ConstantOfShape over the graph inputs' dynamic sizes.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd import function as _function
from nerve.autograd.function import Function
from nerve.autograd.registry import OPS, PATCH_LOCK, TRACE
from nerve.autograd.tensor import Tensor
from nerve.onnx import (  # noqa: F401  (they register forms)
    forms_extra,
    forms_math,
    forms_nn,
    forms_shape,
)
from nerve.onnx.graph import ExportError, GraphBuilder, Value
from nerve.onnx.op_forms import FORMS, NOT_EXPORTABLE_OPS


class Const(Value):
    """A constant input: its initializer is written only when a form asks for its name."""

    __slots__ = ("_g", "_name", "label", "_cache")

    def __init__(self, g: GraphBuilder, a: np.ndarray, label: str, cache: dict):
        self._g, self._name, self.label, self._cache = g, None, label, cache
        Value.__init__(self, None, a, a)

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self.as_dtype(self.a.dtype)
        return self._name

    @name.setter
    def name(self, value) -> None:
        self._name = value

    def as_dtype(self, dtype) -> str:
        """The initializer holding this constant as ``dtype`` (one per parameter and dtype)."""
        dtype = np.dtype(dtype)
        key = (self.label, dtype.str) if self.label != "const" else None
        if key is not None and key in self._cache:
            return self._cache[key]
        name = self._g.const(self.a, self.label, dtype=dtype)
        if key is not None:
            self._cache[key] = name
        return name


class Node:
    """One recorded op call, as its ONNX form sees it."""

    __slots__ = ("op", "params", "params_b", "inputs", "outputs", "where", "g", "graph_inputs")

    def __init__(self, g, op: str, params: dict, params_b: dict, inputs, outputs, where: str):
        self.g, self.op, self.params, self.params_b = g, op, params, params_b
        self.inputs, self.outputs, self.where = inputs, outputs, where
        self.graph_inputs = ()

    def dim(self, p: int, q: int) -> str:
        """A 1-d int64 tensor holding, at run time, the dynamic size that was ``p`` in the
        first run and ``q`` in the second: read from the graph input that has it."""
        name = _dynamic_dim(self.g, self.graph_inputs, p, q)
        if name is None:
            raise self.fail(
                f"a size ({p} at one batch size, {q} at the other) follows the dynamic axes "
                "but no input axis has it"
            )
        return name

    def shape_of(self, v: Value) -> str:
        """``v``'s shape as a 1-d int64 tensor: constants, and run-time sizes where dynamic."""
        parts = [
            self.g.ints([p]) if p == q else self.dim(p, q) for p, q in zip(v.a.shape, v.b.shape)
        ]
        if not parts:
            return self.g.const(np.zeros(0, np.int64), "shape")
        return parts[0] if len(parts) == 1 else self.g.op("Concat", parts, axis=0)

    @property
    def x(self) -> Value:
        return self.inputs[0]

    @property
    def out(self) -> Value:
        return self.outputs[0]

    def name(self, i: int, dtype=None) -> str:
        """The ONNX name of input ``i``, cast to ``dtype`` when given and different."""
        v = self.inputs[i]
        if v is None:
            return ""
        if dtype is None or np.dtype(dtype) == v.a.dtype:
            return v.name
        if isinstance(v, Const):
            return v.as_dtype(dtype)
        return self.g.op("Cast", [v.name], to=_onnx_type(self.g, dtype))

    def const(self, i: int):
        """Input ``i`` as an array when it is a constant (or None), else None."""
        v = self.inputs[i] if i < len(self.inputs) else None
        return v.a if isinstance(v, Const) else None

    def fail(self, why: str) -> ExportError:
        return ExportError(
            f"nerve.onnx.export: op {self.op!r} in {self.where} cannot be exported: {why}"
        )


def _onnx_type(g: GraphBuilder, dtype) -> int:
    return g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ----------------------------------------------------------------------------- recording
class _Recorder:
    """One forward pass under the hook: the ops, in order, with their inputs resolved."""

    def __init__(self, inputs: list, params: dict):
        self.events: list = []
        self.index: dict = {}  # id(array) -> (value index, snapshot)
        self.snapshots: list = []
        self.keep: list = []  # the live arrays, so that no id is reused during the run
        self.params = params
        self.path = ["<model>"]
        for a in inputs:
            self._add(a)

    def _add(self, array) -> int:
        k = len(self.snapshots)
        snap = np.array(array, copy=True)
        self.snapshots.append(snap)
        self.index[id(array)] = (k, snap)
        self.keep.append(array)
        return k

    def ref(self, x, skip_check: bool = False):
        if x is None:
            return ("n",)
        if isinstance(x, Tensor):
            arr = x._data
            hit = self.index.get(id(arr))
            if hit is not None:
                k, snap = hit
                if not skip_check and not _same(arr, snap):
                    raise ExportError(
                        f"nerve.onnx.export: in {self.path[-1]}, a tensor was changed in place "
                        "(+=, -=, *=, /= or item assignment) where the trace cannot see it; "
                        "write it out of place (out = out + identity)"
                    )
                return ("v", k)
            self.keep.append(arr)
            return self._constant(arr)
        if isinstance(x, np.ndarray):
            return self._constant(x)
        if isinstance(x, (np.generic, bool, int, float)):
            return ("c", np.array(x, copy=True), None)
        return ("o", x)

    def _constant(self, arr):
        param = self.params.get(id(arr))
        if param is None and arr.size > 1:
            # A public function may convert a traced tensor's array before the op sees it
            # (an index made contiguous or int64): the same contents are the same value.
            for k in range(len(self.snapshots) - 1, -1, -1):
                snap = self.snapshots[k]
                if snap.shape == arr.shape and np.array_equal(snap, arr):
                    return ("v", k)
        return ("c", np.array(arr, copy=True), param)

    def hook(self, cls, inputs, params, result, inplace: bool = False):
        outs = result if isinstance(result, tuple) else (result,)
        name = cls.op_name
        if OPS.get(name) is not cls:
            # Not a registered op: a torch-style custom Function, whose forward ran nerve's
            # ops (traced already) on Tensors. Its outputs are theirs; else it cannot be traced.
            found = [self._constant(o._data) for o in outs]
            if all(f[0] == "v" for f in found):
                for o, f in zip(outs, found):
                    self.index[id(o._data)] = (f[1], self.snapshots[f[1]])
                    self.keep.append(o._data)
                return
            name = f"{getattr(params.get('_fn'), '__name__', cls.__qualname__)} (custom Function)"
            params = {}
        refs = [self.ref(x, skip_check=inplace and i == 0) for i, x in enumerate(inputs)]
        if name == "getitem":  # an index array made from a traced tensor is that tensor
            index = params["index"]
            items = index if isinstance(index, tuple) else (index,)
            params = dict(params)
            params["index_refs"] = [
                self._constant(i) if isinstance(i, np.ndarray) else None for i in items
            ]
        out_idx = [self._add(o._data) for o in outs]
        self.events.append((name, refs, dict(params), out_idx, self.path[-1]))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _hooked_apply():
    """Function.apply that reports to the trace hook; installed for the trace only when
    function.py does not call the hook itself."""
    original = Function.__dict__["apply"]

    def apply(cls, *inputs, **params):
        result = original.__func__(cls, *inputs, **params)
        hook = TRACE["hook"]
        if hook is not None:
            hook(cls, inputs, params, result)
        return result

    return original, classmethod(apply)


def _run(module, args, kwargs, which: str, recorder: _Recorder, names: dict):
    handles = []
    for m, path in names.items():
        handles.append(m.register_forward_pre_hook(_enter(recorder, m, path)))
        handles.append(m.register_forward_hook(_leave(recorder)))
    wired = getattr(_function, "_TRACE", None) is TRACE
    original = None
    with PATCH_LOCK:  # one patcher at a time (a compile recording in another thread)
        if not wired:
            original, patched = _hooked_apply()
            Function.apply = patched
        TRACE["hook"] = recorder.hook
        try:
            out = module(*_tensors(args, which), **_tensors(kwargs, which))
        finally:
            TRACE["hook"] = None
            if original is not None:
                Function.apply = original
            for h in handles:
                h.remove()
    return out


def _enter(recorder, module, path):
    label = f"{type(module).__name__} {path or type(module).__name__.lower()!r}"

    def pre(m, args):
        recorder.path.append(label)

    return pre


def _leave(recorder):
    def post(m, args, out):
        if len(recorder.path) > 1:
            recorder.path.pop()

    return post


def _tensors(structure, which: str):
    if isinstance(structure, Value):
        return Tensor._wrap(getattr(structure, which))
    if isinstance(structure, (list, tuple)):
        return type(structure)(_tensors(s, which) for s in structure)
    if isinstance(structure, dict):
        return {k: _tensors(v, which) for k, v in structure.items()}
    return structure


def _values(structure, out: list) -> list:
    if isinstance(structure, Value):
        out.append(structure)
    elif isinstance(structure, (list, tuple)):
        for s in structure:
            _values(s, out)
    elif isinstance(structure, dict):
        for s in structure.values():
            _values(s, out)
    return out


# ----------------------------------------------------------------------------- emission
def trace(g: GraphBuilder, module, args: tuple, kwargs: dict, prefix: str, graph_inputs):
    """Run ``module`` on the Values ``args`` / ``kwargs`` at both sizes, write the ONNX nodes
    of the ops it ran into ``g``, and return its outputs with Values in place of Tensors.

    ``graph_inputs`` are the graph's input Values: constants whose shape follows the batch
    size take that size from them.
    """
    given = _values((args, kwargs), [])
    label = f"{type(module).__name__} {prefix or type(module).__name__.lower()!r}"
    names = {}
    for path, m in module.named_modules():
        names.setdefault(m, f"{prefix}.{path}" if prefix and path else (path or prefix))
    params = {}
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        if t is not None:
            params.setdefault(id(t._data), f"{prefix}.{name}" if prefix else name)
    rec_a = _Recorder([v.a for v in given], params)
    rec_b = _Recorder([v.b for v in given], params)
    rec_a.path[0] = rec_b.path[0] = label
    out_a = _run(module, args, kwargs, "a", rec_a, names)
    try:
        out_b = _run(module, args, kwargs, "b", rec_b, names)
    except ExportError:
        raise
    except Exception as exc:
        raise grown_run_failed(label, exc) from exc
    ops_a = [e[0] for e in rec_a.events]
    ops_b = [e[0] for e in rec_b.events]
    if ops_a != ops_b:
        at = next((i for i, (p, q) in enumerate(zip(ops_a, ops_b)) if p != q), len(ops_a))
        raise ExportError(
            f"nerve.onnx.export: {label} runs different ops at two batch sizes (from op {at}: "
            f"{ops_a[at : at + 3]} vs {ops_b[at : at + 3]}); a forward() that branches on a "
            "size cannot be exported with a dynamic axis (pass dynamic_batch=False)"
        )
    values: list = list(given)
    for snap_a, snap_b in zip(rec_a.snapshots[len(given) :], rec_b.snapshots[len(given) :]):
        values.append(Value(None, snap_a, snap_b))
    cache: dict = {}
    for ev_a, ev_b in zip(rec_a.events, rec_b.events):
        op, refs_a, params_a, outs, path = ev_a
        refs_b = ev_b[1]
        where = path
        inputs = [
            _input(g, ra, rb, values, graph_inputs, cache, op, where)
            for ra, rb in zip(refs_a, refs_b)
        ]
        if "index_refs" in params_a:
            params_a = dict(params_a)
            refs = params_a.pop("index_refs")
            refs_b_index = ev_b[2].get("index_refs") or [None] * len(refs)
            params_a["index_values"] = [
                values[r[1]] if _same_value(r, rb) else None for r, rb in zip(refs, refs_b_index)
            ]
        node = Node(g, op, params_a, ev_b[2], inputs, [values[k] for k in outs], where)
        node.graph_inputs = graph_inputs
        form = FORMS.get(op)
        if form is None:
            why = NOT_EXPORTABLE_OPS.get(
                op, "it has no ONNX form (nerve.onnx.op_form registers one)"
            )
            raise node.fail(why)
        try:
            names_out = form(g, node)
        except ExportError as exc:  # the GraphBuilder's (an op that needs a later opset)
            if str(exc).startswith("nerve.onnx"):
                raise
            raise node.fail(str(exc)) from None
        names_out = [names_out] if isinstance(names_out, str) else list(names_out)
        if len(names_out) != len(node.outputs):  # pragma: no cover - a form's bug
            raise node.fail(f"its form gave {len(names_out)} outputs for {len(node.outputs)}")
        for v, n in zip(node.outputs, names_out):
            v.name = n
    return _outputs(g, out_a, out_b, rec_a, values, graph_inputs, cache, label)


def grown_run_failed(label: str, exc: Exception) -> ExportError:
    """The error for a model that ran on the example but not on it grown along the dynamic
    axes (the second run that finds which sizes follow them)."""
    return ExportError(
        f"nerve.onnx.export: {label} runs on the example but fails when the dynamic axes grow "
        f"({type(exc).__name__}: {exc}); axes that must stay equal need the same name in "
        "dynamic_axes / dynamic_shapes, and a model that needs a fixed size exports with "
        "dynamic_batch=False"
    )


def _same_value(r, rb) -> bool:
    return r is not None and rb is not None and r[0] == rb[0] == "v" and r[1] == rb[1]


def _input(g, ra, rb, values, graph_inputs, cache, op, where):
    kind = ra[0]
    if kind == "n":
        return None
    if kind == "v" and rb[0] == "v" and rb[1] == ra[1]:
        return values[ra[1]]
    if "v" in (kind, rb[0]):
        # a constant whose contents equal a traced tensor's in one run only: a coincidence,
        # so it is a constant after all (when both runs agree on it)
        a = values[ra[1]].a if kind == "v" else ra[1] if kind == "c" else None
        b = values[rb[1]].b if rb[0] == "v" else rb[1] if rb[0] == "c" else None
        if a is None or b is None or not _same(a, b):
            raise ExportError(
                f"nerve.onnx.export: op {op!r} in {where} reads different tensors at two batch "
                "sizes"
            )
        return Const(g, a, "const", cache)
    if kind == "o":
        raise ExportError(
            f"nerve.onnx.export: op {op!r} in {where} takes a {type(ra[1]).__name__} input, "
            "which has no ONNX form"
        )
    a, b = ra[1], rb[1] if rb[0] == "c" else None
    if b is not None and _same(a, b):
        return Const(g, a, ra[2] or "const", cache)
    return _filled(g, a, b, graph_inputs, op, where)


def _filled(g, a, b, graph_inputs, op, where) -> Value:
    """A constant made inside forward() whose shape follows a dynamic size: one value repeated
    (zeros(n, hidden)) becomes ConstantOfShape over the graph inputs' sizes."""
    bad = ExportError(
        f"nerve.onnx.export: op {op!r} in {where} reads a tensor made inside forward() that "
        f"changes with the batch size (shape {a.shape} vs "
        f"{None if b is None else b.shape}); build it from the input (e.g. zeros_like) or "
        "export with dynamic_batch=False"
    )
    if b is None or a.ndim != b.ndim or a.size == 0 or b.size == 0:
        raise bad
    fill = a.flat[0]
    if not ((a == fill).all() and (b == fill).all()):
        raise bad
    parts = []
    for p, q in zip(a.shape, b.shape):
        part = g.ints([p]) if p == q else _dynamic_dim(g, graph_inputs, p, q)
        if part is None:
            raise bad
        parts.append(part)
    shape = g.op("Concat", parts, axis=0) if len(parts) > 1 else parts[0]
    value = g.onnx.numpy_helper.from_array(np.asarray([fill], dtype=a.dtype), "value")
    return Value(g.op("ConstantOfShape", [shape], value=value, name="filled"), a, b)


def _dynamic_dim(g, graph_inputs, p: int, q: int):
    """Shape(input)[axis] for the graph input axis whose sizes were (p, q), or None."""
    for v in graph_inputs:
        for axis in v.dynamic:
            if (v.a.shape[axis], v.b.shape[axis]) == (p, q):
                return g.op("Shape", [v.name], start=axis, end=axis + 1)
    return None


def _outputs(g, out_a, out_b, rec_a, values, graph_inputs, cache, label):
    if isinstance(out_a, Tensor):
        hit = rec_a.index.get(id(out_a._data))
        if hit is None:
            ref = rec_a.ref(out_a)
            if ref[0] == "v":
                return values[ref[1]]
            if ref[2] is not None:  # a parameter or buffer, returned as it is
                return Const(g, ref[1], ref[2], cache)
            raise ExportError(
                f"nerve.onnx.export: {label} returns a tensor that nerve's ops did not compute "
                "(argmax/argmin, .item(), NumPy on ._data, or a new tensor): the trace cannot "
                "follow it; return the logits and take argmax after running the ONNX model"
            )
        k, snap = hit
        if not _same(out_a._data, snap):
            raise ExportError(
                f"nerve.onnx.export: {label} changes its output in place (+=, -=, *=, /= or "
                "item assignment) where the trace cannot see it; write it out of place "
                "(out = out + identity)"
            )
        return values[k]
    if isinstance(out_a, (list, tuple)):
        return type(out_a)(
            _outputs(g, a, b, rec_a, values, graph_inputs, cache, label)
            for a, b in zip(out_a, out_b)
        )
    if isinstance(out_a, dict):
        return {
            k: _outputs(g, out_a[k], out_b[k], rec_a, values, graph_inputs, cache, label)
            for k in out_a
        }
    if out_a is None:
        return None
    raise ExportError(
        f"nerve.onnx.export: {label} returns a {type(out_a).__name__}; an exported forward() "
        "returns tensors (or tuples, lists, dicts of them)"
    )
