"""ONNX forms of the matrix, scatter and im2col ops (see op_forms)."""

from __future__ import annotations

import numpy as np

from nerve.onnx.op_forms import NOT_EXPORTABLE_OPS, form, unsqueeze

NOT_EXPORTABLE_OPS.update(
    {
        "sync_batch_norm": "training-only; an exported (eval) SyncBatchNorm runs batch_norm",
        "cumprod": "ONNX has no cumulative product (CumSum only), and log-space loses signs "
        "and zeros",
        "cummax": "ONNX has no cumulative maximum (CumSum only)",
        "cummin": "ONNX has no cumulative minimum (CumSum only)",
    }
)


# ----------------------------------------------------------------------------- matrix
@form("tril", "triu")
def _trilu(g, n):
    k = g.const(np.asarray(int(n.params["diagonal"]), np.int64), "k")
    return g.op("Trilu", [n.name(0), k], upper=int(n.op == "triu"))


@form("cross")
def _cross(g, n):
    dt = n.out.a.dtype
    axis = int(n.params["axis"]) % n.out.ndim
    a, b = n.name(0, dt), n.name(1, dt)

    def pick(x, order):
        return g.op("Gather", [x, g.ints(order)], axis=axis)

    first = g.op("Mul", [pick(a, [1, 2, 0]), pick(b, [2, 0, 1])])
    second = g.op("Mul", [pick(a, [2, 0, 1]), pick(b, [1, 2, 0])])
    return g.op("Sub", [first, second])


def _diagonal(g, n, x: str, shape, offset: int, dim1: int, dim2: int) -> str:
    """The diagonal of dims (dim1, dim2) at the end, as NumPy: a Gather of flat positions."""
    ndim = len(shape)
    rest = [d for d in range(ndim) if d not in (dim1, dim2)]
    rows, cols = shape[dim1], shape[dim2]
    i = np.arange(max(0, -offset), min(rows, cols - offset))
    flat = i * cols + i + offset
    y = g.op("Transpose", [x], perm=rest + [dim1, dim2])
    y = g.op("Reshape", [y, g.ints([0] * len(rest) + [rows * cols])])
    return g.op("Gather", [y, g.ints(flat)], axis=len(rest))


@form("diagonal")
def _diagonal_form(g, n):
    d1, d2 = (int(n.params[k]) % n.x.ndim for k in ("dim1", "dim2"))
    if d1 in n.x.dynamic or d2 in n.x.dynamic:
        raise n.fail("it takes the diagonal of a dynamic axis")
    return _diagonal(g, n, n.name(0), n.x.shape, int(n.params["offset"]), d1, d2)


@form("diag")
def _diag(g, n):
    if n.x.dynamic:
        raise n.fail("its sizes must be static")
    offset = int(n.params["offset"])
    if n.x.ndim == 2:
        return _diagonal(g, n, n.name(0), n.x.shape, offset, 0, 1)
    size = n.out.shape[0]  # a vector on the diagonal of a square matrix: x @ E, reshaped
    length = n.x.shape[0]
    spread = np.zeros((length, size * size), n.out.a.dtype)
    i = np.arange(length)
    spread[i, (i + max(0, -offset)) * size + i + max(0, offset)] = 1
    y = g.op("MatMul", [unsqueeze(g, n.name(0), [0]), g.const(spread, "diag")])
    return g.op("Reshape", [y, g.ints([size, size])])


# ----------------------------------------------------------------------------- scatter
def _updates(g, n, i: int, index) -> str:
    """Input ``i`` (the source) cut or broadcast to the index's shape, as the op reads it."""
    src = n.inputs[i]
    dt = n.out.a.dtype
    if src.ndim == 0:
        return g.op("Expand", [n.name(i, dt), g.op("Shape", [index])])
    if src.shape == n.inputs[1].shape and src.dynamic == n.inputs[1].dynamic:
        return n.name(i, dt)
    if src.dynamic or n.inputs[1].dynamic:
        raise n.fail("a source larger than the index along a dynamic axis is not exported")
    k = len(src.shape)
    ends = list(n.inputs[1].shape)
    return g.op("Slice", [n.name(i, dt), g.ints([0] * k), g.ints(ends), g.ints(range(k))])


@form("scatter", "scatter_add")
def _scatter(g, n):
    index = n.name(1, np.int64)
    dim = int(n.params["dim"]) % n.x.ndim
    reduction = "add" if n.op == "scatter_add" else None
    if reduction and g.opset < 16:
        raise n.fail("ScatterElements with reduction='add' needs opset 16")
    updates = _updates(g, n, 2, index)
    return g.op("ScatterElements", [n.name(0), index, updates], axis=dim, reduction=reduction)


@form("index_add")
def _index_add(g, n):
    if g.opset < 16:
        raise n.fail("ScatterElements with reduction='add' needs opset 16")
    dt = n.out.a.dtype
    dim = int(n.params["dim"]) % n.x.ndim
    src = n.name(2, dt)
    alpha = n.params.get("alpha", 1)
    if alpha != 1:
        src = g.op("Mul", [src, g.const(np.asarray(alpha, dt), "alpha")])
    # the 1-d index along ``dim``, broadcast to the source's shape
    view = [1] * n.x.ndim
    view[dim] = -1
    index = g.op("Reshape", [n.name(1, np.int64), g.ints(view)])
    index = g.op("Expand", [index, g.op("Shape", [src])])
    return g.op("ScatterElements", [n.name(0), index, src], axis=dim, reduction="add")


# ----------------------------------------------------------------------------- im2col
def _one_hot_kernels(channels: int, kernel, dtype) -> np.ndarray:
    """(C*kh*kw, 1, kh, kw): output channel c*K + i*kw + j picks offset (i, j) of channel c."""
    kh, kw = kernel
    k = kh * kw
    w = np.zeros((channels * k, 1, kh, kw), dtype)
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                w[c * k + i * kw + j, 0, i, j] = 1
    return w


@form("unfold")
def _unfold(g, n):
    p = n.params
    if any(a >= 1 for a in n.x.dynamic):
        raise n.fail("its channel and spatial sizes must be static")
    c = n.x.shape[1]
    ph, pw = (int(v) for v in p["padding"])
    y = g.op(
        "Conv",
        [n.name(0), g.const(_one_hot_kernels(c, p["kernel"], n.out.a.dtype), "unfold")],
        kernel_shape=[int(k) for k in p["kernel"]],
        strides=[int(s) for s in p["stride"]],
        dilations=[int(d) for d in p["dilation"]],
        pads=[ph, pw, ph, pw],
        group=c,
    )
    return g.op("Reshape", [y, g.ints([0, n.out.shape[1], -1])])


@form("fold")
def _fold(g, n):
    p = n.params
    if any(a >= 1 for a in n.x.dynamic):
        raise n.fail("its channel and block sizes must be static")
    (kh, kw), (oh, ow) = p["kernel"], p["out_hw"]
    c = n.x.shape[1] // (kh * kw)
    cols = g.op("Reshape", [n.name(0), g.ints([0, n.x.shape[1], oh, ow])])
    y = g.op(
        "ConvTranspose",
        [cols, g.const(_one_hot_kernels(c, (kh, kw), n.out.a.dtype), "fold")],
        kernel_shape=[int(kh), int(kw)],
        strides=[int(s) for s in p["stride"]],
        dilations=[int(d) for d in p["dilation"]],
        group=c,
    )
    # the blocks reach (o - 1) * s + d * (k - 1) + 1 rows: zeros beyond, then the padding cut
    (ph, pw), (h, w) = p["padding"], p["output_size"]
    reach = [
        (o - 1) * s + d * (k - 1) + 1
        for o, s, d, k in zip((oh, ow), p["stride"], p["dilation"], (kh, kw))
    ]
    extra = [max(0, h + 2 * ph - reach[0]), max(0, w + 2 * pw - reach[1])]
    if any(extra):
        zero = g.const(np.asarray(0, n.out.a.dtype), "zero")
        y = g.op("Pad", [y, g.ints([0, 0, 0, 0, 0, 0, *extra]), zero])
    return g.op("Slice", [y, g.ints([ph, pw]), g.ints([ph + h, pw + w]), g.ints([2, 3])])
