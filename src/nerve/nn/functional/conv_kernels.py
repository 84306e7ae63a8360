"""The kernels of nerve.nn.functional.conv on arrays: layouts, im2col / col2im and the GEMM
paths Conv2d picks by size (see that module's docstring for the layout and its measurements).

Inside an op the arrays live in a channels-first, batch-last layout: the padded input is
(C, Hp, Wp, N) and the columns are (C, kh, kw, OH, OW, N), i.e. (groups, C/groups*kh*kw,
OH*OW*N) for the GEMM. Each path below holds the numbers that chose it.
"""

from __future__ import annotations

import numpy as np

from nerve.backend import array_module_of
from nerve.primitives import threads


# ----------------------------------------------------------------------------- layout helpers
def _to_cl(x: np.ndarray, pads=((0, 0), (0, 0))) -> np.ndarray:
    """(N, C, H, W) as a contiguous, zero-padded (C, Hp, Wp, N) array (one copy at most)."""
    t = x.transpose(1, 2, 3, 0)
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return t if t.flags.c_contiguous else t.copy()  # copy(): C order, on either device
    c, h, w, n = t.shape
    buf = array_module_of(x).zeros((c, h + pt + pb, w + pl + pr, n), x.dtype)
    buf[:, pt : pt + h, pl : pl + w] = t
    return buf


def _windows(xp: np.ndarray, kh, kw, rows, ow, stride, dilation, y0: int = 0) -> np.ndarray:
    """The (C, kh, kw, rows, OW, N) sliding windows of output rows y0.. of a padded NumPy
    (C, Hp, Wp, N) array, as a strided view (built directly: sliding_window_view's argument
    handling alone costs ~20 us, a third of a batch-1 conv)."""
    (sh, sw), (dh, dw) = stride, dilation
    sc, sy, sx, sn = xp.strides
    return np.ndarray(
        (xp.shape[0], kh, kw, rows, ow, xp.shape[3]), xp.dtype, xp, y0 * sh * sy,
        (sc, sy * dh, sx * dw, sy * sh, sx * sw, sn),
    )  # fmt: skip


def _im2col(xp: np.ndarray, kh, kw, oh, ow, stride, dilation, ones=False) -> np.ndarray:
    """Columns (C, kh, kw, OH, OW, N) of a padded (C, Hp, Wp, N) array, in one copy from a
    sliding-window view (as fast as a copy per kernel offset: the inner rows are OW*N long).

    With ``ones`` (NumPy arrays only) the result is (C*kh*kw + 1, OH*OW*N), its last row all
    ones: the bias's row, so that one GEMM adds the bias (see :data:`_BIAS_IN_GEMM`)."""
    (sh, sw), (dh, dw) = stride, dilation
    c, n = xp.shape[0], xp.shape[3]
    shape = (c, kh, kw, oh, ow, n)
    if type(xp) is not np.ndarray:  # a device array: its module's as_strided (CuPy has one)
        sc, sy, sx, sn = xp.strides
        strides = (sc, sy * dh, sx * dw, sy * sh, sx * sw, sn)
        device = array_module_of(xp)
        return device.lib.stride_tricks.as_strided(xp, shape, strides).copy()
    win = _windows(xp, kh, kw, oh, ow, stride, dilation)
    if not ones:
        cols = np.empty(shape, xp.dtype)
        _copy_split(cols, win)
        return cols
    rows, length = c * kh * kw, oh * ow * n
    cols = np.empty((rows + 1, length), xp.dtype)
    _copy_split(cols[:rows].reshape(shape), win)
    cols[rows] = 1
    return cols


# Column elements from which im2col's copy and col2im's adds are split over the threads of
# nerve.primitives.threads (when they are on), by channels (or, for one channel, by output
# rows). Measured with benchmarks/bench_threads.py (the CNN's second conv, after a GEMM, 1 vs 2
# threads, us, a shared 2-core machine): im2col 2.1M 305-534 vs 349-731, 4.2M 906-958 vs
# 708-845, 8.4M 1584-1699 vs 1083-1320; col2im 2.1M 783-874 vs 676-876, 4.2M 1836-2068 vs
# 1188-1501, 8.4M 4302-5123 vs 2422-2983. The CNN's conv2 at batch 128 has 4.5M.
_IM2COL_SPLIT = 4_000_000
_COL2IM_SPLIT = 3_000_000


def _copy_rows(dst, src) -> None:
    np.copyto(dst, src)


def _copy_split(cols: np.ndarray, win: np.ndarray) -> None:
    """cols[...] = win, over the threads' row blocks when large enough (bit for bit the same)."""
    axis = 0 if cols.shape[0] >= threads.get_num_threads() else 3
    blocks = (cols.swapaxes(0, axis), win.swapaxes(0, axis))
    if not threads.parallel_rows(_copy_rows, blocks, _IM2COL_SPLIT):
        np.copyto(cols, win)


def _col2im(cols: np.ndarray, hp, wp, stride, dilation) -> np.ndarray:
    """Scatter-add columns (C, kh, kw, OH, OW, N) back onto a zero (C, Hp, Wp, N) array."""
    c, kh, kw, oh, ow, n = cols.shape
    out = array_module_of(cols).zeros((c, hp, wp, n), cols.dtype)

    def add(cols, out):  # over a block of channels: each thread writes its own
        (sh, sw), (dh, dw) = stride, dilation
        for i in range(kh):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            for j in range(kw):
                out[:, rows, j * dw : j * dw + (ow - 1) * sw + 1 : sw] += cols[:, i, j]

    if not threads.parallel_rows(add, (cols, out), _COL2IM_SPLIT):
        add(cols, out)
    return out


# Below this many rows of columns (K = C/groups*kh*kw) the GEMM adds the bias itself, as one
# more column of the weights against a row of ones under the columns, and the weight
# gradient's GEMM gives the bias gradient the same way. With few rows the GEMM is bound by
# writing its output, so a separate pass over that output (the bias add; the gradient's sum)
# costs more than the extra row (conv1 of the benchmark CNN, K = 9, forward GEMM + bias at
# batch 128: 1.22 -> 1.13 ms, at 1024: 36.7 -> 30.8 ms; the bias gradient's sum, 0.48 ms at
# 128, goes). Conv2's K = 288 gains nothing: its GEMM is bound by arithmetic.
_BIAS_IN_GEMM = 64


def _folds_bias(xp, b, groups: int, rows: int) -> bool:
    """Whether the conv's bias rides in its GEMM (see :data:`_BIAS_IN_GEMM`)."""
    return b is not None and groups == 1 and rows < _BIAS_IN_GEMM and type(xp) is np.ndarray


# With BLAS on one thread, a forward whose columns exceed this many bytes builds them and
# runs its GEMM one block of output rows at a time, each block's columns small enough to stay
# in cache between the copy that writes them and the GEMM that reads them (and the bias is
# added while the block's output is in cache). Measured, ms of CPU, whole columns / blocks of
# 256 KiB (64 KiB..2 MiB measured alike), the CNN's convs on a shared 2-core machine: conv1
# at batch 128 1.60-1.88 / 1.52-1.68, at 1024 20.4-20.8 / 14.3-18.3; conv2 at 128 7.7-8.7 /
# 7.0-7.2, at 1024 68-69 / 67. With 2 BLAS threads blocks lost (conv2 at 128: 5.3 whole,
# 9.1 in blocks: small GEMMs split badly over threads, and the whole columns' copy splits).
_ROWS_BYTES = 1 << 18


def _row_block(a: np.ndarray, groups: int, rows: int, ow: int, oh: int) -> int | None:
    """Output rows per block of (C*kh*kw = ``rows``)-row columns over ``a``'s batch, or None
    when the conv takes its whole columns (see :data:`_ROWS_BYTES`)."""
    if groups != 1 or type(a) is not np.ndarray or not threads.blas_single_threaded():
        return None
    block = max(1, _ROWS_BYTES // (rows * ow * a.shape[3] * a.itemsize))
    return None if block >= oh else block


def _gemm_by_rows(xp, w_mat, bias, groups: int, sizes: tuple, stride, dilation):
    """out = w_mat @ columns (+ bias), (O, OH*OW*N), built a block of output rows at a time
    (see :data:`_ROWS_BYTES`); None when the columns are small (or grouped, or on a device):
    the caller builds them whole. ``w_mat`` has one more column than the columns have rows
    when it carries the bias (the block then gets a ones row)."""
    kh, kw, oh, ow = sizes
    c, n = xp.shape[0], xp.shape[3]
    rows = c * kh * kw
    block = _row_block(xp, groups, rows, ow, oh)
    if block is None:
        return None
    ones = w_mat.shape[1] - rows
    width = ow * n
    out = np.empty((w_mat.shape[0], oh * width), xp.dtype)
    buf = np.empty((rows + ones, block * width), xp.dtype)
    if ones:
        buf[rows] = 1
    for y0 in range(0, oh, block):
        r = min(block, oh - y0)
        cols = buf[:, : r * width]
        win = _windows(xp, kh, kw, r, ow, stride, dilation, y0)
        np.copyto(cols[:rows].reshape(c, kh, kw, r, ow, n), win)
        part = out[:, y0 * width : (y0 + r) * width]
        np.matmul(w_mat, cols, out=part)
        if bias is not None:
            part += bias[:, None]
    return out


def _grads_by_rows(gt, xp, wg, w_shape, sizes, stride, dilation, groups, fold):
    """Conv2d's weight gradient (O, M) (M = C*kh*kw, + 1 with the bias's ones row) and padded
    input gradient (C, Hp, Wp, N), each None when not wanted (``xp`` / ``wg`` None), computed a
    block of output rows at a time as the forward's :func:`_gemm_by_rows` does: per block,
    the block's columns and the weight gradient's GEMM over them, then the input gradient's
    columns and their col2im adds, all in cache. None when the forward would not take blocks.
    """
    kh, kw, oh, ow, hp, wp = sizes
    co, n = gt.shape[0], gt.shape[3]
    rows = int(np.prod(w_shape[1:]))  # C*kh*kw
    c = rows // (kh * kw)
    block = _row_block(gt, groups, rows, ow, oh)
    if block is None:
        return None
    (sh, sw), (dh, dw_), width = stride, dilation, ow * n
    g2 = gt.reshape(co, oh * width)
    dw = dxp = None
    if xp is not None:
        buf = np.empty((rows + fold, block * width), gt.dtype)
        if fold:
            buf[rows] = 1
        dw = np.zeros((rows + fold, co), gt.dtype)
        part = np.empty_like(dw)
    if wg is not None:
        w_t = wg[0].T  # (M, O)
        dxp = np.zeros((c, hp, wp, n), gt.dtype)
        dbuf = np.empty((rows, block * width), gt.dtype)
    for y0 in range(0, oh, block):
        r = min(block, oh - y0)
        gb = g2[:, y0 * width : (y0 + r) * width]
        if dw is not None:
            win = _windows(xp, kh, kw, r, ow, stride, dilation, y0)
            cols = buf[:, : r * width]
            np.copyto(cols[:rows].reshape(c, kh, kw, r, ow, n), win)
            np.matmul(cols, gb.T, out=part)
            dw += part
        if dxp is not None:
            dcols = np.matmul(w_t, gb, out=dbuf[:, : r * width]).reshape(c, kh, kw, r, ow, n)
            for i in range(kh):
                top = y0 * sh + i * dh
                out_rows = dxp[:, top : top + (r - 1) * sh + 1 : sh]
                for j in range(kw):
                    out_rows[:, :, j * dw_ : j * dw_ + (ow - 1) * sw + 1 : sw] += dcols[:, i, j]
    return (None if dw is None else dw.T), dxp


# The weight gradient's GEMM sums over K = OH*OW*N: with few weights (M*O small: the first
# conv, 9 x 32) BLAS runs such a long, thin product at a third of its speed, so it is split
# into OH products of OW*N columns, summed after (conv1 of the benchmark CNN, M*O = 9*32, at
# batch 128: 1.9 -> 0.7 ms; at 32: 0.42 -> 0.14 ms). Otherwise (M, K) @ (K, O) then a
# transpose measured faster than (O, K) @ (K, M) when M >= O (conv2, 288 x 64, at batch 128:
# 8.1 -> 7.3 ms; at 16: 1.05 -> 0.83 ms) and slower when M < O (conv1 at 128: 2.1 vs 1.9).
_BLOCKED_DW_MAX_WEIGHTS = 4096  # M*O at most
_BLOCKED_DW_MIN_COLUMNS = 256  # OW*N at least


def _weight_grad(gg: np.ndarray, cols: np.ndarray, oh: int) -> np.ndarray:
    """sum_k gg[g, o, k] * cols[g, m, k] as (groups, O, M), for K = OH*OW*N columns."""
    groups, o, k = gg.shape
    m = cols.shape[1]
    kb = k // oh
    if m * o <= _BLOCKED_DW_MAX_WEIGHTS and kb >= _BLOCKED_DW_MIN_COLUMNS and oh > 1:
        parts = np.matmul(
            cols.reshape(groups, m, oh, kb).transpose(0, 2, 1, 3),
            gg.reshape(groups, o, oh, kb).transpose(0, 2, 3, 1),
        )  # (groups, OH, M, O)
        return parts.sum(axis=1).transpose(0, 2, 1)
    if m >= o:
        return np.matmul(cols, gg.transpose(0, 2, 1)).transpose(0, 2, 1)
    return np.matmul(gg, cols.transpose(0, 2, 1))


def _from_cl(t: np.ndarray, squeeze: tuple) -> np.ndarray:
    """A (C, H, W, N) array as an (N, C, H, W) view, minus the unit axes the caller added."""
    out = t.transpose(3, 0, 1, 2)
    return out.squeeze(squeeze) if squeeze else out
