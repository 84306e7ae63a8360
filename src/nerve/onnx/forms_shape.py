"""ONNX forms of the shape and indexing ops (see op_forms)."""

from __future__ import annotations

import numpy as np

from nerve.onnx.emit import INT64_MAX
from nerve.onnx.op_forms import form, squeeze, unsqueeze


def reshape_target(g, n, v, src=None) -> str:
    """``v``'s shape as a Reshape target: static sizes, 0 where a dynamic size stays on the same
    axis of ``src``, -1 for one other dynamic size, and run-time sizes beyond that."""
    target, free = [], []
    for i, (p, q) in enumerate(zip(v.a.shape, v.b.shape)):
        if p == q:
            target.append(int(p))
        elif src is not None and i < src.ndim and (src.a.shape[i], src.b.shape[i]) == (p, q):
            target.append(0)
        else:
            target.append(-1)
            free.append(i)
    if len(free) <= 1:
        return g.ints(target)
    parts = [
        g.ints([t]) if t != -1 else n.dim(v.a.shape[i], v.b.shape[i]) for i, t in enumerate(target)
    ]
    return g.op("Concat", parts, axis=0)


@form("reshape")
def _reshape(g, n):
    return g.op("Reshape", [n.name(0), reshape_target(g, n, n.out, n.x)])


@form("permute")
def _permute(g, n):
    dims = n.params["dims"]
    return g.op("Transpose", [n.name(0)], perm=[int(d) for d in dims] if dims else None)


@form("expand")
def _expand(g, n):
    x, out = n.x, n.out
    shape = []
    lead = out.ndim - x.ndim
    for i, (p, q) in enumerate(zip(out.a.shape, out.b.shape)):
        j = i - lead
        if p == q:
            shape.append(int(p))
        elif j >= 0 and (x.a.shape[j], x.b.shape[j]) == (p, q):
            shape.append(1)  # Expand keeps the input's own (dynamic) size where it asks for 1
        else:
            shape.append(None)  # a run-time size (x.size(0) in the call)
    if None not in shape:
        return g.op("Expand", [n.name(0), g.ints(shape)])
    parts = [
        g.ints([s]) if s is not None else n.dim(out.a.shape[i], out.b.shape[i])
        for i, s in enumerate(shape)
    ]
    return g.op("Expand", [n.name(0), g.op("Concat", parts, axis=0)])


@form("repeat")
def _repeat(g, n):
    reps = [int(r) for r in n.params["repeats"]]
    x = n.name(0)
    extra = len(reps) - n.x.ndim
    if extra > 0:
        x = unsqueeze(g, x, list(range(extra)))
    return g.op("Tile", [x, g.ints(reps)])


@form("cat")
def _cat(g, n):
    dt = n.out.a.dtype
    used = n.params.get("used") or [True] * len(n.inputs)
    parts = [n.name(i, dt) for i, u in enumerate(used) if u]
    return g.op("Concat", parts, axis=int(n.params["dim"]))


@form("stack")
def _stack(g, n):
    dt = n.out.a.dtype
    dim = int(n.params["dim"]) % n.out.ndim
    parts = [unsqueeze(g, n.name(i, dt), [dim]) for i in range(len(n.inputs))]
    return g.op("Concat", parts, axis=dim)


@form("split")
def _split(g, n):
    dim = int(n.params["dim"]) % n.x.ndim
    keep = n.params.get("keepdim", True)
    if not n.outputs:
        return []
    if any(dim in v.dynamic for v in n.outputs) or dim in n.x.dynamic:
        raise n.fail(f"it splits the dynamic axis {dim}")
    sizes = [v.a.shape[dim] if keep else 1 for v in n.outputs]
    outs = g.op("Split", [n.name(0), g.ints(sizes)], outputs=len(sizes), axis=dim)
    outs = [outs] if isinstance(outs, str) else outs
    return outs if keep else [squeeze(g, o, [dim]) for o in outs]


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@form("pad")
def _pad(g, n):
    widths = n.params["widths"]
    mode = _PAD_MODES.get(n.params["mode"])
    if mode is None:
        raise n.fail(f"padding mode {n.params['mode']!r} has no ONNX form")
    if mode == "wrap" and g.opset < 19:
        raise n.fail("circular padding (Pad mode 'wrap') needs opset 19; export with opset 19")
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    inputs = [n.name(0), g.ints(pads)]
    if mode == "constant":
        value = n.params.get("value")
        inputs.append(g.const(np.asarray(0 if value is None else value, n.out.a.dtype), "pad"))
    return g.op("Pad", inputs, mode=mode)


def _axes(dims, ndim: int) -> list:
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return [int(d) % ndim for d in dims]


@form("flip")
def _flip(g, n):
    axes = _axes(n.params["dims"], n.x.ndim)
    k = len(axes)
    return g.op(
        "Slice",
        [n.name(0), g.ints([-1] * k), g.ints([-INT64_MAX] * k), g.ints(axes), g.ints([-1] * k)],
    )


def _roll_axis(g, n, x: str, shift: int, axis: int, size: int) -> str:
    s = shift % size if size else 0
    if not s:
        return x
    tail = g.op("Slice", [x, g.ints([size - s]), g.ints([INT64_MAX]), g.ints([axis])])
    head = g.op("Slice", [x, g.ints([0]), g.ints([size - s]), g.ints([axis])])
    return g.op("Concat", [tail, head], axis=axis)


@form("roll")
def _roll(g, n):
    shifts, dims = n.params["shifts"], n.params["dims"]
    if dims is None:
        if n.x.dynamic:
            raise n.fail("rolling the flattened tensor mixes the dynamic axis")
        flat = g.op("Reshape", [n.name(0), g.ints([-1])])
        rolled = _roll_axis(g, n, flat, int(shifts), 0, int(n.x.a.size))
        return g.op("Reshape", [rolled, g.ints(list(n.x.shape))])
    x = n.name(0)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else shifts
    for s, d in zip(shifts, _axes(dims, n.x.ndim)):
        if d in n.x.dynamic:
            raise n.fail(f"it rolls the dynamic axis {d}")
        x = _roll_axis(g, n, x, int(s), d, n.x.shape[d])
    return x


# ----------------------------------------------------------------------------- indexing
def _index_items(n, index, traced) -> list:
    """(item, traced Value or None) per index item, the Ellipsis spelled out as slices."""
    items = list(index) if isinstance(index, tuple) else [index]
    pairs = list(zip(items, traced or [None] * len(items)))
    if any(isinstance(i, np.ndarray) and i.dtype.kind == "b" for i in items):
        raise n.fail("a boolean mask index gives a data-dependent shape; use where() instead")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    at = [j for j, i in enumerate(items) if not isinstance(i, np.ndarray) and i is Ellipsis]
    if at:
        pairs[at[0] : at[0] + 1] = [(slice(None), None)] * (n.x.ndim - used)
    rest = n.x.ndim - sum(1 for i, _ in pairs if i is not None)
    return pairs + [(slice(None), None)] * rest


@form("getitem")
def _getitem(g, n):
    traced = n.params.get("index_values")
    batch_dependent = any(v is not None for v in traced or ())
    if not batch_dependent and not _same_index(n.params["index"], n.params_b["index"]):
        raise n.fail("its index changes with the batch size")
    pairs = _index_items(n, n.params["index"], traced)
    starts, ends, axes, steps = [], [], [], []
    arrays = []
    axis = 0
    for item, value in pairs:
        if item is None:
            continue
        if isinstance(item, (np.ndarray, list)):
            index = n.g.const(np.asarray(item).astype(np.int64), "index")
            if value is not None:  # the index is a tensor the trace computed
                index = value.name if value.a.dtype == np.int64 else _int64(g, value.name)
            arrays.append((axis, index))
        elif isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                lo = item.start if item.start is not None else (0 if step > 0 else -1)
                hi = item.stop
                if hi is None:
                    hi = INT64_MAX if step > 0 else -INT64_MAX
                starts.append(int(lo))
                ends.append(int(hi))
                axes.append(axis)
                steps.append(step)
        else:  # an int: a slice of one, squeezed by the final Reshape
            i = int(item)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
        axis += 1
    y = n.name(0)
    if axes:
        y = g.op("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if arrays:
        ints = [i for i, _ in pairs if isinstance(i, (int, np.integer))]
        if len(arrays) > 1 or ints or any(i is None for i, _ in pairs):
            raise n.fail("only one integer-array index (beside slices) has an ONNX form")
        ((ax, index),) = arrays
        return g.op("Gather", [y, index], axis=ax)
    return g.op("Reshape", [y, reshape_target(g, n, n.out)])


def _int64(g, name: str) -> str:
    return g.op("Cast", [name], to=g.helper.np_dtype_to_tensor_dtype(np.dtype(np.int64)))


def _same_index(a, b) -> bool:
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    if len(a) != len(b):
        return False
    for p, q in zip(a, b):
        if isinstance(p, np.ndarray) or isinstance(q, np.ndarray):
            if not (isinstance(p, np.ndarray) and isinstance(q, np.ndarray)):
                return False
            if p.shape != q.shape or not np.array_equal(p, q):
                return False
        elif p != q:
            return False
    return True


@form("index_select")
def _index_select(g, n):
    return g.op("Gather", [n.name(0), n.name(1, np.int64)], axis=int(n.params["dim"]))


@form("gather")
def _gather(g, n):
    dim = int(n.params["dim"]) % n.x.ndim
    x, idx = n.x, n.inputs[1]
    name = n.name(0)
    if any(p != q and i != dim for i, (p, q) in enumerate(zip(x.shape, idx.shape))):
        if any(p < q and i != dim for i, (p, q) in enumerate(zip(x.shape, idx.shape))):
            raise n.fail(f"its input {x.shape} broadcasts to the index {idx.shape}")
        axes = [i for i in range(x.ndim) if i != dim]
        ends = [idx.shape[i] for i in axes]
        name = g.op("Slice", [name, g.ints([0] * len(axes)), g.ints(ends), g.ints(axes)])
    return g.op("GatherElements", [name, n.name(1, np.int64)], axis=dim)


@form("masked_fill")
def _masked_fill(g, n):
    dt = n.out.a.dtype
    return g.op("Where", [n.name(1, np.bool_), n.name(2, dt), n.name(0, dt)])


@form("one_hot")
def _one_hot(g, n):
    depth = g.const(np.asarray(int(n.params["num_classes"]), np.int64), "depth")
    values = g.const(np.asarray([0, 1], n.out.a.dtype), "on_off")
    return g.op("OneHot", [n.name(0, np.int64), depth, values], axis=-1)
