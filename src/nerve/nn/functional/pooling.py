"""Pooling: max, average and adaptive average over 1-d and 2-d inputs (fused forward, backward).

Max and average pooling loop over the kh*kw kernel offsets; each step is one vectorized pass
over a strided slice of the whole batch. Max pooling keeps, per output, the offset of the
winner (int8) and its backward scatters the gradient through those indices. New arrays take the
memory order of their input, so a conv output (an (N, C, H, W) view of batch-last memory) is
read and written along contiguous rows. The 1-d functions run the 2-d ops with H = 1.
"""

from __future__ import annotations

import functools

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.nn.functional.conv import _ints, _plain
from nerve.primitives import threads
from nerve.primitives.common import as_tensor, memory_order
from nerve.primitives.threads import parallel_rows

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
]


# ----------------------------------------------------------------------------- helpers
def _alloc(like, order: tuple, shape: tuple, dtype, fill=None) -> np.ndarray:
    """An array of ``shape`` on the device of ``like`` whose axes lie in memory in ``order``
    (filled, when ``fill`` is given): ufuncs over arrays of one layout run along contiguous
    rows, mixed ones do not."""
    xp = array_module_of(like)
    dims = [shape[a] for a in order]
    if fill is None:
        buf = xp.empty(dims, dtype)
    else:
        buf = xp.zeros(dims, dtype) if fill == 0 else xp.full(dims, fill, dtype)
    return buf.transpose(tuple(np.argsort(order).tolist()))


def _in_layout(a: np.ndarray, order: tuple) -> np.ndarray:
    """``a``, copied into the memory ``order`` if it is not laid out that way already."""
    if memory_order(a) == order:
        return a
    out = _alloc(a, order, a.shape, a.dtype)
    out[...] = a
    return out


def _padded(x: np.ndarray, pads: tuple, size: tuple, fill) -> np.ndarray:
    """``x`` (N, C, H, W) placed at (top, left) = ``pads`` in a ``fill``ed array of ``size``."""
    (pt, pl), (h, w) = pads, x.shape[2:]
    if size == (h, w):
        return x
    buf = _alloc(x, memory_order(x), x.shape[:2] + size, x.dtype, fill)
    buf[:, :, pt : pt + h, pl : pl + w] = x
    return buf


def _windows(xp: np.ndarray, kernel, stride, dilation, out_size):
    """(k, slice of xp) for each kernel offset: the element at that offset of every window."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    for i in range(kh):
        rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
        for j in range(kw):
            yield i * kw + j, xp[:, :, rows, j * dw : j * dw + (ow - 1) * sw + 1 : sw]


def _reach(size, pad, kernel, stride, dilation, out) -> int:
    """Rows the windows span: the padded input, or more when ceil_mode's last window overhangs."""
    return max(size + 2 * pad, (out - 1) * stride + dilation * (kernel - 1) + 1)


# Output elements from which max pooling splits its work (by channels or by samples, the outer
# axis in memory) over the threads of nerve.primitives.threads (when they are on). Measured
# after a GEMM, 1 thread vs 2, 2x2 windows (benchmarks/bench_threads.py, quiet 2-core
# machine), by input elements: forward 1M 1097 vs 1130 us, 4M 6771 vs 3222 us; backward 262k
# 226 vs 249 us, 1M 1456 vs 743 us.
_POOL_SPLIT = 1 << 19  # forward: 2M input elements of 2x2 windows
_POOL_GRAD_SPLIT = 3 << 16  # backward: 786k input elements of 2x2 windows


def _idx_dtype(kernel):
    return np.int8 if kernel[0] * kernel[1] <= 127 else np.int32


def _is_pairs(x, kernel, stride, padding, dilation, out_size) -> bool:
    """True for the common 2x2 window at stride 2 with no padding or overhang, on NumPy arrays:
    the geometry :func:`_max_pairs` computes."""
    return (
        kernel == (2, 2)
        and stride == (2, 2)
        and padding == (0, 0)
        and dilation == (1, 1)
        and type(x) is np.ndarray
        and 2 * out_size[0] <= x.shape[2]
        and 2 * out_size[1] <= x.shape[3]
    )


def _max_pairs(x, out_size, best=None, idx=None, argmax=True):
    """(best, idx) of 2x2 windows at stride 2 as a tree of pairwise maxima: max(a, b) and
    max(c, d) of the four corner views, then the max of the two (3 passes over the output
    instead of the generic loop's 3 offsets x 4 ops; 0.7x its time at batch 128 and at 1).

    Strict > at every comparison keeps torch's first-maximum rule (a, b, c, d is row-major
    order); the argmax w3 ? 2 + (d > c) : (b > a) is built with int8 bit operations, which
    measured 40x faster than a masked copy on random masks. A NaN propagates to ``best``
    through np.maximum; its argmax is fixed by the caller, as for the generic loop. ``best``
    and ``idx`` (int8) are written in place when given. idx is None unless ``argmax``.
    """
    oh, ow = out_size
    a = x[:, :, 0 : 2 * oh : 2, 0 : 2 * ow : 2]
    b = x[:, :, 0 : 2 * oh : 2, 1 : 2 * ow : 2]
    c = x[:, :, 1 : 2 * oh : 2, 0 : 2 * ow : 2]
    d = x[:, :, 1 : 2 * oh : 2, 1 : 2 * ow : 2]
    best = np.maximum(a, b, out=best)
    lower = np.maximum(c, d)
    if not argmax:
        return np.maximum(best, lower, out=best), None
    top = np.greater(b, a, out=None if idx is None else idx.view(bool)).view(np.int8)
    right = np.greater(d, c).view(np.int8)
    down = np.greater(lower, best).view(np.int8)
    np.maximum(best, lower, out=best)
    np.bitwise_xor(right, top, out=right)  # top = down ? right : top, as bits
    right &= down
    top ^= right
    down <<= 1
    top |= down
    return best, top


def _max_rows(xp, best, idx, wins, kernel, stride, dilation, out_size) -> None:
    """best (and idx, the winning offset, unless None) over row blocks of the padded input:
    the same steps as MaxPool2d.forward's loop, written into the given arrays."""
    if _is_pairs(xp, kernel, stride, (0, 0), dilation, out_size):
        _max_pairs(xp, out_size, best, idx, argmax=idx is not None)
        return
    for k, s in _windows(xp, kernel, stride, dilation, out_size):
        if k == 0:
            np.copyto(best, s)
        elif idx is None:
            np.maximum(best, s, out=best)
        else:
            np.greater(s, best, out=wins)
            if k == 1:
                np.copyto(idx, wins)
            else:
                np.maximum(idx, wins.astype(idx.dtype) * idx.dtype.type(k), out=idx)
            np.maximum(best, s, out=best)


def _split_max(x, xp, kernel, stride, dilation, out_size):
    """A function giving (best, idx) computed over row blocks on the pool's threads, or None
    when the split path is off or the output is too small to pay (the caller's loop runs)."""
    shape = x.shape[:2] + tuple(out_size)
    if (
        threads.get_num_threads() < 2
        or type(x) is not np.ndarray
        or kernel == (1, 1)
        or shape[0] * shape[1] * shape[2] * shape[3] < _POOL_SPLIT
    ):
        return None

    def run(with_argmax: bool):
        order = memory_order(x)
        best = _alloc(x, order, shape, x.dtype)
        idx = _alloc(x, order, shape, _idx_dtype(kernel)) if with_argmax else None
        wins = _alloc(x, order, shape, bool) if with_argmax else None
        geometry = (kernel, stride, dilation, out_size)
        axis = _split_axis(order)

        def block(xp_rows, best_rows, *rest):
            blocks = [a.swapaxes(0, axis) for a in (xp_rows, best_rows, *rest)]
            if len(blocks) == 2:
                blocks += [None, None]
            _max_rows(*blocks, *geometry)

        arrays = (xp, best, idx, wins) if with_argmax else (xp, best)
        if not threads.parallel_rows(block, tuple(a.swapaxes(0, axis) for a in arrays), 0):
            _max_rows(*arrays, *((None, None) if len(arrays) == 2 else ()), *geometry)
        return best, idx

    return run


def _split_axis(order: tuple) -> int:
    """The axis (batch 0 or channel 1) to split over threads: the outer one in memory, so that
    each thread reads and writes whole contiguous runs (a conv output is channel-outermost)."""
    return 1 if order[0] == 1 else 0


def _max_grad_rows(g, idx, dx, kernel, stride, dilation, out_size, overlap) -> None:
    """Max pooling's backward over row blocks: g sent to each window's winner in dx."""
    # Multiplying by the mask measured 6x faster than copyto/add with where= (the price: an
    # inf gradient becomes NaN at its window's other inputs).
    for k, s in _windows(dx, kernel, stride, dilation, out_size):
        if overlap:
            s += g * (idx == k)
        else:  # the offsets' slices are disjoint: assign
            np.multiply(g, idx == k, out=s)


# ----------------------------------------------------------------------------- ops
def _neg_inf_windows_take_first_inside(best, idx, kernel, stride, padding, dilation, out_size):
    """A window whose max is -inf (all its input values -inf) gets torch's index, the first
    in-bounds offset, not a padding cell (the -inf padding ties with it and comes first)."""
    neg = np.isneginf(best)
    if type(neg) is np.ndarray and not neg.any():  # the usual case; a device skips the read
        return idx
    xp = array_module_of(idx)

    def first(p, s, d, o):  # per output position: the first kernel offset inside the input
        start = p - xp.arange(o) * s
        return xp.maximum(0, -(-start // d))

    i0 = first(padding[0], stride[0], dilation[0], out_size[0])
    j0 = first(padding[1], stride[1], dilation[1], out_size[1])
    inside = (i0[:, None] * kernel[1] + j0[None, :]).astype(idx.dtype)
    return xp.where(neg, inside, idx)


@register("max_pool2d")
class MaxPool2d(Function):
    """Max over each window of (N, C, H, W), padding with -inf; optionally torch's flat indices."""

    differentiable = (0,)

    def forward(
        self, x, kernel, stride, padding, dilation, out_size, return_indices=False, expand=()
    ):
        if expand:
            x = np.expand_dims(x, expand)
        h, w = x.shape[2:]
        full = tuple(_reach(*a) for a in zip((h, w), padding, kernel, stride, dilation, out_size))
        xp = _padded(x, padding, full, -np.inf)
        split = _split_max(x, xp, kernel, stride, dilation, out_size)
        if not self.needs_input_grad[0] and not return_indices:
            # Inference: the max alone (NaN propagates through np.maximum, as torch's does);
            # no argmax to keep for a backward that will not run.
            if split is not None:
                best = split(with_argmax=False)[0]
                return best.squeeze(expand) if expand else best
            if _is_pairs(x, kernel, stride, padding, dilation, out_size):
                best = _max_pairs(x, out_size, argmax=False)[0]
                return best.squeeze(expand) if expand else best
            best = None
            for _, s in _windows(xp, kernel, stride, dilation, out_size):
                best = s.copy(order="K") if best is None else np.maximum(best, s, out=best)
            return best.squeeze(expand) if expand else best
        idx_dtype = _idx_dtype(kernel)
        # Running max and argmax, one kernel offset at a time. Strict >: the first of equal
        # maxima wins, as in torch. Offsets only grow, so the argmax update is a max with
        # k * (s > best): cheaper than masked assignment (measured 0.1 vs 4 ms per offset).
        # _max_rows does the same over row blocks when the work is split over threads.
        if split is not None:
            best, idx = split(with_argmax=True)
        elif _is_pairs(x, kernel, stride, padding, dilation, out_size):
            best, idx = _max_pairs(x, out_size)
        else:
            for k, s in _windows(xp, kernel, stride, dilation, out_size):
                if k == 0:
                    first = s
                elif k == 1:
                    wins = np.greater(s, first)
                    idx = wins.astype(idx_dtype)
                    best = np.maximum(first, s)
                else:
                    np.greater(s, best, out=wins)
                    np.maximum(idx, wins.astype(idx_dtype) * idx_dtype(k), out=idx)
                    np.maximum(best, s, out=best)
        if kernel == (1, 1):
            best = first.copy(order="K")
            idx = np.zeros_like(best, dtype=idx_dtype)
        if np.isnan(best).any():  # a NaN wins its window; rare, so fixed after
            # torch's rule: the last NaN in the window's row-major order (each NaN it meets
            # replaces the max), in both of its memory layouts.
            for k, s in _windows(xp, kernel, stride, dilation, out_size):
                idx[np.isnan(s)] = k
        if padding != (0, 0):
            idx = _neg_inf_windows_take_first_inside(
                best, idx, kernel, stride, padding, dilation, out_size
            )
        self.idx = idx
        self.geometry = ((h, w), full, kernel, stride, padding, dilation, out_size, expand)
        out = best.squeeze(expand) if expand else best
        if not return_indices:
            return out
        return out, self._flat_indices(idx, (h, w), kernel, stride, padding, dilation, expand)

    @staticmethod
    def _flat_indices(idx, size, kernel, stride, padding, dilation, expand):
        """torch's ``return_indices``: the winner's position in its (H * W) input plane."""
        oh, ow = idx.shape[2:]
        xp = array_module_of(idx)
        rows = (xp.arange(oh) * stride[0] - padding[0])[:, None]
        cols = xp.arange(ow) * stride[1] - padding[1]
        i, j = np.divmod(idx.astype(np.int64), kernel[1])
        flat = (rows + i * dilation[0]) * size[1] + cols + j * dilation[1]
        return flat.squeeze(expand) if expand else flat

    def backward(self, g, *_):
        size, full, kernel, stride, padding, dilation, out_size, expand = self.geometry
        if expand:
            g = np.expand_dims(g, expand)
        idx = self.idx
        order = memory_order(idx)
        g = _in_layout(g, order)
        overlap = any(s < d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
        # Windows that tile the padded input exactly assign every element of dx once: no
        # zero fill first (2.3 -> 1.4 ms for the CNN's first pool at batch 128).
        tiled = dilation == (1, 1) and stride == kernel
        tiled = tiled and full == (out_size[0] * kernel[0], out_size[1] * kernel[1])
        dx = _alloc(g, order, g.shape[:2] + full, g.dtype, None if tiled else 0)
        scatter = functools.partial(
            _max_grad_rows, kernel=kernel, stride=stride, dilation=dilation, out_size=out_size,
            overlap=overlap,
        )  # fmt: skip
        axis = _split_axis(order)
        swapped = tuple(a.swapaxes(0, axis) for a in (g, idx, dx))
        if not parallel_rows(
            lambda *rows: scatter(*(a.swapaxes(0, axis) for a in rows)), swapped, _POOL_GRAD_SPLIT
        ):
            scatter(g, idx, dx)
        dx = dx[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]
        return dx.squeeze(expand) if expand else dx


@register("avg_pool2d")
class AvgPool2d(Function):
    """Mean over each window of (N, C, H, W), with torch's divisors (padding, ceil_mode)."""

    def forward(self, x, kernel, stride, padding, out_size, divisor, expand=()):
        if expand:
            x = np.expand_dims(x, expand)
        h, w = x.shape[2:]
        full = tuple(_reach(*a) for a in zip((h, w), padding, kernel, stride, (1, 1), out_size))
        xp = _padded(x, padding, full, 0)
        for k, s in _windows(xp, kernel, stride, (1, 1), out_size):
            if k == 0:
                out = s.copy(order="K")
            else:
                out += s
        inv = array_module_of(x).asarray(1 / divisor.astype(x.dtype))  # divisors: host-made
        out *= inv
        self.inv = inv
        self.geometry = ((h, w), full, kernel, stride, padding, out_size, expand)
        return out.squeeze(expand) if expand else out

    def backward(self, g):
        size, full, kernel, stride, padding, out_size, expand = self.geometry
        if expand:
            g = np.expand_dims(g, expand)
        gd = g * self.inv
        dx = _alloc(gd, memory_order(gd), gd.shape[:2] + full, gd.dtype, 0)
        for _, s in _windows(dx, kernel, stride, (1, 1), out_size):
            s += gd
        dx = dx[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]
        return dx.squeeze(expand) if expand else dx


def _bins(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) averaging matrix: row i averages [floor(i*size/out), ceil((i+1)*size/out))."""
    i = np.arange(out)
    start, end = i * size // out, -(-(i + 1) * size // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return inside.astype(dtype) / (end - start).astype(dtype)[:, None]


@register("adaptive_avg_pool2d")
class AdaptiveAvgPool2d(Function):
    """Average pooling to a fixed output size; bins may overlap and differ in size.

    The mean over a bin is separable, so the op is two matmuls with averaging matrices.
    """

    def forward(self, x, out_size, expand=()):
        if expand:
            x = np.expand_dims(x, expand)
        xp = array_module_of(x)
        ah = xp.asarray(_bins(x.shape[2], out_size[0], x.dtype))  # made on the host: small
        aw = xp.asarray(_bins(x.shape[3], out_size[1], x.dtype))
        t = np.tensordot(x, aw, axes=(3, 1))  # (N, C, H, OW)
        out = np.tensordot(t, ah, axes=(2, 1)).transpose(0, 1, 3, 2)  # (N, C, OH, OW)
        self.ah, self.aw, self.expand = ah, aw, expand
        return out.squeeze(expand) if expand else out

    def backward(self, g):
        if self.expand:
            g = np.expand_dims(g, self.expand)
        t = np.tensordot(g, self.ah, axes=(2, 0))  # (N, C, OW, H)
        dx = np.tensordot(t, self.aw, axes=(2, 0))  # (N, C, H, W)
        return dx.squeeze(self.expand) if self.expand else dx


# ----------------------------------------------------------------------------- argument checks
def _input(op: str, nd: int, input) -> Tensor:
    x = as_tensor(input, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected a {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, "
            f"got shape {x.shape}"
        )
    return x


def _layout(nd: int, ndim: int) -> tuple:
    """Axes to insert so that the op sees (N, C, H, W): the batch, and H for 1-d."""
    return (() if ndim == nd + 2 else (0,)) + ((2,) if nd == 1 else ())


def _out_size(op, shape, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """torch's pooling output size, or a clear error when the window does not fit."""
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    out = []
    for n, k, s, p, d in zip(shape[-len(kernel) :], kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        size = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (size - 1) * s >= n + p:
            size -= 1  # the last window must start inside the input or its left padding
        out.append(size)
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: kernel size {kernel} (dilation {dilation}) is larger than the padded input "
            f"(input shape {shape}, padding {padding})"
        )
    return tuple(out)


def _window_args(op, nd, kernel_size, stride, padding, dilation):
    kernel = _ints(kernel_size, nd, "kernel_size", op, 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _ints(stride, nd, "stride", op, 1)
    return (
        kernel,
        stride,
        _ints(padding, nd, "padding", op, 0),
        _ints(dilation, nd, "dilation", op, 1),
    )


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x = _input(op, nd, input)
    args = (op, nd, x.shape, kernel_size, stride, padding, dilation, bool(ceil_mode))
    # A module pools with the same arguments every step: its geometry is checked once.
    params = _max_pool_params(*args) if _plain(*args[3:7]) else _max_pool_params.__wrapped__(*args)
    return MaxPool2d.apply(x, return_indices=bool(return_indices), **params)


@functools.lru_cache(maxsize=512)
def _max_pool_params(op, nd, x_shape, kernel_size, stride, padding, dilation, ceil_mode) -> dict:
    """MaxPool2d's keyword arguments for this input shape and these options, after every check."""
    kernel, stride, padding, dilation = _window_args(op, nd, kernel_size, stride, padding, dilation)
    out_size = _out_size(op, x_shape, kernel, stride, padding, dilation, ceil_mode)
    if nd == 1:
        kernel, stride, dilation = (1,) + kernel, (1,) + stride, (1,) + dilation
        padding, out_size = (0,) + padding, (1,) + out_size
    return {
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "out_size": out_size,
        "expand": _layout(nd, len(x_shape)),
    }


def _avg_pool(
    op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    x = _input(op, nd, input)
    kernel, stride, padding, _ = _window_args(op, nd, kernel_size, stride, padding, 1)
    out_size = _out_size(op, x.shape, kernel, stride, padding, (1,) * nd, ceil_mode)
    if divisor_override is not None:
        if not isinstance(divisor_override, (int, np.integer)) or divisor_override == 0:
            raise ValueError(
                f"{op}: divisor_override must be a nonzero int, got {divisor_override!r}"
            )
        divisor = np.asarray(divisor_override)
    else:
        # torch's rule, per axis: a window counts the padding it covers (unless
        # count_include_pad=False) but not the overhang of a ceil_mode window.
        counts = []
        for n, k, s, p, o in zip(x.shape[-nd:], kernel, stride, padding, out_size):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            counts.append(end - start)
        divisor = counts[0] if nd == 1 else np.multiply.outer(counts[0], counts[1])
    if nd == 1:
        kernel, stride = (1,) + kernel, (1,) + stride
        padding, out_size = (0,) + padding, (1,) + out_size
    return AvgPool2d.apply(
        x,
        kernel=kernel,
        stride=stride,
        padding=padding,
        out_size=out_size,
        divisor=divisor,
        expand=_layout(nd, x.ndim),
    )


def _adaptive_size(op, nd, x, output_size) -> tuple:
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or {nd} ints, got {output_size!r}")
    out = []
    for s, n in zip(sizes, x.shape[-nd:]):
        if s is None:
            s = n
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1:
            raise ValueError(
                f"{op}: output_size entries must be positive ints or None, got {output_size!r}"
            )
        out.append(int(s))
    return tuple(out)


# ----------------------------------------------------------------------------- public functions
def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """2-d max pooling over (N, C, H, W), as ``torch.nn.functional.max_pool2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, stride, padding, dilation: an int or a pair; stride defaults to the
            kernel size; padding (at most half the kernel) is -inf, so it never wins.
        ceil_mode: round the output size up (a last, partial window), as torch does.
        return_indices: also return, per output, the flat position of the maximum in its
            input (H * W) plane (int64), as torch does.

    Returns:
        (N, C, H_out, W_out), or (output, indices) with ``return_indices``.

    The gradient of each window goes to its first maximum; a window holding NaN outputs NaN
    and its gradient goes to its last NaN, as in torch.

    >>> import nerve, nerve.nn.functional as F
    >>> F.max_pool2d(nerve.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """1-d max pooling over (N, C, L) or (C, L); arguments as :func:`max_pool2d`.

    >>> import nerve, nerve.nn.functional as F
    >>> F.max_pool1d(nerve.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[3.0, 2.0]]]
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Tensor:
    """2-d average pooling over (N, C, H, W), as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, stride, padding: an int or a pair; stride defaults to the kernel size;
            padding (zeros, at most half the kernel).
        ceil_mode: round the output size up (a last, partial window).
        count_include_pad: divide by the window size including the zero padding it covers
            (True) or by the number of input elements in it (False).
        divisor_override: divide every sum by this instead.

    Returns:
        (N, C, H_out, W_out).

    >>> import nerve, nerve.nn.functional as F
    >>> F.avg_pool2d(nerve.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool1d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L); arguments as :func:`avg_pool2d`.

    >>> import nerve, nerve.nn.functional as F
    >>> F.avg_pool1d(nerve.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling of (N, C, H, W) to (N, C, *output_size), for any input size.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        output_size: an int or a pair; a None entry keeps that input size. Output row i
            averages input rows floor(i*H/out) .. ceil((i+1)*H/out) - 1 (torch's bins).

    >>> import nerve, nerve.nn.functional as F
    >>> F.adaptive_avg_pool2d(nerve.ones(2, 3, 7, 5), (3, None)).shape
    (2, 3, 3, 5)
    """
    x = _input("adaptive_avg_pool2d", 2, input)
    size = _adaptive_size("adaptive_avg_pool2d", 2, x, output_size)
    return AdaptiveAvgPool2d.apply(x, out_size=size, expand=_layout(2, x.ndim))


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) to ``output_size`` (an int), torch's bins.

    >>> import nerve, nerve.nn.functional as F
    >>> F.adaptive_avg_pool1d(nerve.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    x = _input("adaptive_avg_pool1d", 1, input)
    size = _adaptive_size("adaptive_avg_pool1d", 1, x, output_size)
    return AdaptiveAvgPool2d.apply(x, out_size=(1,) + size, expand=_layout(1, x.ndim))
