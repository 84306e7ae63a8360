"""Plans: a recording replayed on arrays, without Tensors, autograd bookkeeping or checks.

An inference plan calls each op's ``forward`` on a bare node (``needs_input_grad`` all False,
as ``Function.apply`` does under no_grad), in the recorded order, and drops each intermediate
array after its last use (so the plan holds no more memory than eager). Peepholes cut
allocations and Python where the result stays bit-identical. The only preallocated memory: a
Linear with a 2-D input whose output is an intermediate of at most 64 KiB (not an output, not
shared by a view) writes it into a buffer the plan keeps. The "fused epilogue" is no new
kernel: the bias added in place after the GEMM (as eager does), and a ReLU, tanh or sigmoid run
in place on its input when that input is dead afterwards, is an op's own array (not a view, not
a plan input) and shares no memory with another value, a parameter or a constant; a result in
a kept buffer is never handed out, not even as a view. Each peephole calls the op's own kernel
with an ``out=`` array (``linear_out``, ``relu_out``, ``tanh_out``, ``sigmoid_out``: the
functions the ops' forwards call), never a copy of its math, so it stays bit-identical.
Each step is a closure made once, so a call is a loop over closures.

A train plan keeps the nodes whose inputs want a gradient (``needs_input_grad`` as recorded),
then runs their ``backward`` in the eager engine's order with the engine's accumulation:
gradients from several consumers are summed in the same order, broadcasting is undone the same
way, and each leaf's ``.grad`` is set or added to exactly as ``loss.backward()`` does, so the
gradients equal eager's bit for bit.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from nerve.autograd import engine
from nerve.autograd.engine import unbroadcast
from nerve.autograd.tensor import Tensor
from nerve.nn.functional.linear import linear_out
from nerve.primitives.activation import ReLU, Sigmoid, Tanh, relu_out, sigmoid_out, tanh_out

_NO_GRAD = [[False] * n for n in range(64)]

# source codes of an op input in a compiled step
_VALUE, _STATE, _CONST, _CAST = 0, 1, 2, 3


def _compile_refs(refs) -> tuple:
    out = []
    for r in refs:
        if r[0] == "v":
            out.append((_VALUE, r[1]))
        elif r[0] == "p":
            out.append((_STATE, r[1]))
        elif r[0] == "x":
            out.append((_CAST, r[1:]))
        else:
            out.append((_CONST, r[1]))
    return tuple(out)


def _arg(code, p, vals):
    if code == _VALUE:
        return vals[p]
    if code == _STATE:
        return p._data
    if code == _CONST:
        return p
    k, dtype, shape = p  # an input converted by NumPy in eager: the same conversion
    return np.asarray(vals[k], dtype=dtype).reshape(shape)


def _output_values(structure, found: list) -> list:
    kind, body = structure
    if kind == "T":
        if body[0] == "v":
            found.append(body[1])
    elif kind is dict:
        for s in body.values():
            _output_values(s, found)
    elif kind != "c":
        for s in body:
            _output_values(s, found)
    return found


def _build(structure, vals: list):
    kind, body = structure
    if kind == "T":
        code = body[0]
        if code == "v":
            return Tensor._wrap(vals[body[1]])
        if code == "p":
            return Tensor._wrap(body[1]._data)
        # a tensor made in forward() from shapes alone: a copy, so that a caller who changes
        # it does not change what later calls return
        return Tensor._wrap(np.array(body[1], copy=True))
    if kind == "c":
        return body
    if kind is dict:
        return {k: _build(s, vals) for k, s in body.items()}
    items = [_build(s, vals) for s in body]
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a namedtuple or not


class _Plan:
    """What both plans share: the steps with their input sources and the liveness frees."""

    def __init__(self, recording, keep: set):
        self.n_inputs = recording.n_inputs
        self.n_values = recording.n_values
        self.output_refs = recording.output_refs
        events = recording.events
        last = {}
        for i, ev in enumerate(events):
            for r in ev.refs:
                if r[0] in ("v", "x"):
                    last[r[1]] = i
            for k in ev.dyn_params.values():
                last[k] = i
        keep = set(keep) | set(_output_values(self.output_refs, []))
        frees = [[] for _ in events]
        for k, i in last.items():
            if k not in keep:
                frees[i].append(k)
        # values no op reads and no one returns (an unused output): dropped at once
        for i, ev in enumerate(events):
            for k in ev.outs:
                if k not in last and k not in keep:
                    frees[i].append(k)
        self.events = events
        self.steps = [
            (
                ev.cls,
                _compile_refs(ev.refs),
                ev.params,
                tuple(ev.dyn_params.items()),
                tuple(ev.outs),
                ev.tuple_out,
                tuple(frees[i]),
            )
            for i, ev in enumerate(events)
        ]

    def outputs(self, vals: list):
        return _build(self.output_refs, vals)


def _args(refs, vals):
    return [_arg(code, p, vals) for code, p in refs]


# Op class -> the op's own forward kernel with ``out=`` (nerve.primitives.activation), for the
# elementwise activations a plan may run in place when their input is dead afterwards: the
# function the op's forward calls, never a copy of its math.
_IN_PLACE = {ReLU: relu_out, Tanh: tanh_out, Sigmoid: sigmoid_out}


# Outputs of at most this many bytes get a buffer the plan keeps from call to call: at batch 1
# an allocation is a sizeable share of an op's time; above, NumPy's allocator is cheap enough
# and a kept buffer would hold memory between calls that eager gives back.
_KEPT_BUFFER_BYTES = 64 * 1024


def _linear_buffer(x_shape: tuple, w_shape: tuple, dtype) -> np.ndarray | None:
    """The kept output buffer of a Linear with a 2-d input (None: the output is too large),
    written by Linear's own kernel (``linear_out``), so the result is bit-identical."""
    rows = int(np.prod(x_shape[:-1]))
    if len(x_shape) != 2 or rows * w_shape[0] * np.dtype(dtype).itemsize > _KEPT_BUFFER_BYTES:
        return None
    return np.empty((rows, w_shape[0]), dtype)


class InferencePlan(_Plan):
    """Replays the recorded forward on arrays (see the module docstring)."""

    def __init__(self, recording):
        super().__init__(recording, keep=())
        # Linear ops whose output is a small intermediate that no view shares: a kept buffer,
        # written by Linear's own kernel (see _linear_buffer).
        outputs = set(_output_values(self.output_refs, []))
        self.kernels = {}
        kept = set()  # values that live in a kept buffer
        for i, ev in enumerate(recording.events):
            if getattr(ev.cls, "op_name", None) != "linear" or len(ev.refs) != 3 or ev.params:
                continue
            (xk, xs), (wk, w), (bk, b) = ev.refs
            out = ev.outs[0]
            if xk != "v" or wk != "p" or out in outputs or out in recording.aliased:
                continue
            if not (bk == "p" or (bk == "c" and b is None)):
                continue
            shape, dtype = recording.shapes.get(xs), recording.dtypes.get(xs)
            if shape is None or w._data.dtype != dtype:
                continue
            buf = _linear_buffer(shape, w._data.shape, dtype)
            if buf is not None:
                self.kernels[i] = (linear_out, buf)
                kept.add(out)
        # Peephole: an activation whose input is an op's own array (no view, no alias, not a
        # plan input) that no later op reads writes its result over that input; never where
        # that would hand a kept buffer out as a result.
        self.in_place = {}
        for i, (_cls, refs, params, _dyn, outs, _tup, frees) in enumerate(self.steps):
            kernel = _IN_PLACE.get(_cls)
            if kernel is None or len(refs) != 1 or params or refs[0][0] != _VALUE:
                continue
            k = refs[0][1]
            if k < self.n_inputs or k not in frees or k in recording.aliased:
                continue
            if k in kept:
                # the result lives in the kept buffer: never hand it out, not even as a view
                if outs[0] in outputs or outs[0] in recording.aliased:
                    continue
                kept.add(outs[0])
            self.in_place[i] = (kernel, k)
        self._lock = threading.Lock()

        self._program = self._compile_steps()
        self._safe_program = [_forward_step(*step) for step in self.steps]

    def _compile_steps(self) -> list:
        program = []
        for i, step in enumerate(self.steps):
            _cls, refs, _params, _dyn, outs, _tup, frees = step
            if i in self.kernels:
                kernel, buf = self.kernels[i]
                program.append(_kernel_step(kernel, buf, refs, outs[0], frees))
            elif i in self.in_place:
                kernel, k = self.in_place[i]
                program.append(_in_place_step(kernel, k, outs[0], frees, _forward_step(*step)))
            else:
                program.append(_forward_step(*step))
        return program

    def run(self, arrays: list) -> list:
        """Run the plan on the input arrays; returns the list of values (outputs kept)."""
        vals = [None] * self.n_values
        vals[: self.n_inputs] = arrays
        vals.append(arrays)  # after the values: what in-place steps must never write into
        if not self._lock.acquire(blocking=False):
            # kept buffers serve one call at a time: a plan called again from inside a call,
            # or from another thread meanwhile, runs the ops' own forward
            for step in self._safe_program:
                step(vals)
            return vals
        try:
            for step in self._program:
                step(vals)
        finally:
            self._lock.release()
        return vals


def _forward_step(cls, refs, params, dyn, outs, tuple_out, frees):
    """One op's forward on a bare node (needs_input_grad all False), as a closure over vals."""
    new, forward = cls.__new__, cls.forward
    n = len(refs)
    no_grad = _NO_GRAD[n] if n < len(_NO_GRAD) else [False] * n
    out0 = outs[0]
    ndarray, asarray = np.ndarray, np.asarray
    if not dyn and not tuple_out and all(code == _VALUE for code, _ in refs):
        index = [p for _, p in refs]  # the common case: every input an earlier value

        def step(vals):
            node = new(cls)
            node.needs_input_grad = no_grad
            out = forward(node, *[vals[k] for k in index], **params)
            vals[out0] = out if type(out) is ndarray else asarray(out)
            for k in frees:
                vals[k] = None

        return step

    def step(vals):
        node = new(cls)
        node.needs_input_grad = no_grad
        args = [
            vals[p]
            if code == _VALUE
            else p._data
            if code == _STATE
            else p
            if code == _CONST
            else _arg(code, p, vals)
            for code, p in refs
        ]
        kwargs = params
        if dyn:
            kwargs = dict(params)
            for name, k in dyn:
                kwargs[name] = vals[k]
        out = forward(node, *args, **kwargs)
        if tuple_out:
            for k, o in zip(outs, out):
                vals[k] = o if type(o) is ndarray else asarray(o)
        else:
            vals[out0] = out if type(out) is ndarray else asarray(out)
        for k in frees:
            vals[k] = None

    return step


def _kernel_step(kernel, buf, refs, out, frees):
    """A Linear into its kept buffer: ``kernel(x, weight, bias, buf)``."""
    (_, xk), (_, w), (_, b) = refs

    def step(vals):
        vals[out] = kernel(vals[xk], w._data, None if b is None else b._data, buf)
        for k in frees:
            vals[k] = None

    return step


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _in_place_step(kernel, k, out, frees, fallback):
    def step(vals):
        a = vals[k]
        # A read-only array (np.broadcast_to...), or a view of a plan input (an op may return
        # a view where the recorded layout gave a copy: Flatten on a contiguous batch): the
        # op's own forward, never a write into the caller's memory.
        if not a.flags.writeable:
            fallback(vals)
            return
        if a.base is not None:
            root = _root(a)
            # vals[-1]: the call's input arrays (their slots may be freed already)
            if any(_root(x) is root for x in vals[-1] if isinstance(x, np.ndarray)):
                fallback(vals)
                return
        vals[out] = kernel(a, a)
        for f in frees:
            vals[f] = None

    return step


def _to_leaf(t, g: np.ndarray, handed: dict, lent: set) -> None:
    """The engine's leaf accumulation (``engine._accumulate_leaf``), with the arrays handed out
    told apart by identity, not by id alone: an id that a freed array had and a new one got
    does not make the engine copy a fresh gradient."""
    if not t.requires_grad:
        return
    if engine._leaf_hooks and id(t) in engine._leaf_hooks:  # a hook: the engine's own path
        engine._accumulate_leaf(t, g, {k for k, r in handed.items() if r() is not None}, lent)
        if t.grad is not None:
            handed[id(t.grad._data)] = weakref.ref(t.grad._data)
        return
    if t.grad is None:
        ref = handed.get(id(g))
        if g.base is None and (ref is None or ref() is not g) and g.dtype == t._data.dtype:
            lent.add(id(t))
        else:
            # optimizers and clip_grad_norm_ update .grad in place: it must not share memory
            g = np.array(g, dtype=t._data.dtype, copy=True, order="C")
        handed[id(g)] = weakref.ref(g)
        t.grad = Tensor._wrap(g)
    elif id(t) in lent:
        # the lent array may still be read by a node not yet run: add out of place, once
        t.grad._data = t.grad._data + g
        lent.discard(id(t))
    else:
        t.grad._data += g


class TrainPlan(_Plan):
    """Replays forward and backward; gradients land in the leaves' ``.grad`` as eager's do.

    Args:
        recording: the recording of a function whose value ``loss_value`` is the loss.
        schedule: :func:`nerve.compiler.record.backward_schedule` of that recording.
        loss_value: the value index of the loss.
    """

    def __init__(self, recording, schedule: list, loss_value: int):
        super().__init__(recording, keep=(loss_value,))
        self.loss_value = loss_value
        self.schedule = [
            (i, tuple(t if t is None or t[0] == "leaf" else (t[1], t[2], t[3]) for t in targets))
            for i, targets in schedule
        ]
        self.kept = {i for i, _ in schedule}
        self.needs = [ev.needs for ev in recording.events]

    def run(self, arrays: list) -> list:
        """Forward, then backward into the leaves' ``.grad``; returns the values."""
        vals = [None] * self.n_values
        vals[: self.n_inputs] = arrays
        nodes = {}
        kept = self.kept
        for i, (cls, refs, params, dyn, outs, tuple_out, frees) in enumerate(self.steps):
            node = cls.__new__(cls)
            args = _args(refs, vals)
            needs = self.needs[i]
            n = len(args)
            node.needs_input_grad = needs if needs is not None else [False] * n
            if dyn:
                params = dict(params)
                for name, k in dyn:
                    params[name] = vals[k]
            out = node.forward(*args, **params)
            if tuple_out:
                node.n_outputs = len(out)
                for k, o in zip(outs, out):
                    vals[k] = o if type(o) is np.ndarray else np.asarray(o)
            else:
                node.n_outputs = 1
                vals[outs[0]] = out if type(out) is np.ndarray else np.asarray(out)
            if i in kept:
                nodes[i] = node
            for k in frees:
                vals[k] = None
        self._backward(nodes, vals[self.loss_value])
        return vals

    def _backward(self, nodes: dict, loss: np.ndarray) -> None:
        # The engine's loop (nerve.autograd.engine.backward) over a fixed order.
        seed = np.ones_like(loss)
        handed = {id(seed): weakref.ref(seed)}  # id -> the array given out (see _to_leaf)
        lent: set = set()
        first = self.schedule[0][0] if self.schedule else None
        pending = {first: [None] * nodes[first].n_outputs} if first is not None else {}
        if first is not None:
            pending[first][self.events[first].outs.index(self.loss_value)] = seed
        owned = set()
        for i, targets in self.schedule:
            grads = pending.pop(i, None)
            node = nodes.pop(i)
            if grads is None:
                continue
            input_grads = node.backward(*grads)
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            for t, g in zip(targets, input_grads):
                if t is None or g is None:
                    continue
                if type(g) is not np.ndarray:
                    g = np.asarray(g)
                if t[0] == "leaf":
                    leaf = t[1]
                    if g.shape != leaf._data.shape:
                        g = unbroadcast(g, leaf._data.shape)
                    _to_leaf(leaf, g, handed, lent)
                    continue
                j, k, shape = t
                if g.shape != shape:
                    g = unbroadcast(g, shape)
                handed[id(g)] = weakref.ref(g)
                slots = pending.get(j)
                if slots is None:
                    slots = pending[j] = [None] * len(self.events[j].outs)
                if slots[k] is None:
                    slots[k] = g
                elif (j, k) in owned:
                    slots[k] += g
                else:
                    slots[k] = slots[k] + g
                    owned.add((j, k))
            node.__dict__.clear()  # what forward saved is freed here, as the engine's release()
