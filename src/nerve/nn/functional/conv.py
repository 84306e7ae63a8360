"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d (fused forward and backward).

Each is im2col plus one matmul per group. Inside an op the arrays live in a channels-first,
batch-last layout: the padded input is (C, Hp, Wp, N) and the columns are (C, kh, kw, OH, OW, N),
i.e. (groups, C/groups*kh*kw, OH*OW*N) for the GEMM. The batch axis innermost makes every copy
in im2col and every add in col2im (one per kernel offset) run over long contiguous rows
(OW*N elements at stride 1), channels outermost make groups a free reshape, and the result is
returned as an (N, C, H, W) view of (C, H, W, N) memory, so the next conv's transpose is free.

Layouts measured on the benchmark's two convs (batch 128: 1->32 channels 3x3 at 28x28, then
32->64 3x3 at 13x13), forward / backward (input and weight grads) in ms, medians of 15
interleaved runs, 2 threads, on a shared 2-core machine:
  (N*OH*OW, C*kh*kw) NHWC-like columns, one GEMM:      3.6 /  9.3   17.3 / 20.1
  (N, C*kh*kw, OH*OW) per-sample columns, batched:     2.3 /  5.0    9.1 / 23.6
  (C*kh*kw, N*OH*OW) channels-first columns, one GEMM:  1.6 /  4.7    8.2 / 15.9
  (C*kh*kw, OH*OW*N) batch-last columns (this file):   1.7 /  3.0    6.3 / 10.7
  torch 2.13:                                           1.5 / 21.0    8.3 / 18.1

On NumPy arrays, Conv2d's kernels then differ by size, each path measured where it is chosen
(the constants below hold the numbers): with few rows of columns the bias rides in the GEMM
(a ones row); the weight gradient's long thin GEMM is split by output rows; with BLAS on one
thread, large convolutions build their columns a block of output rows at a time (forward and
backward), so that columns stay in cache between copy and GEMM; with several threads, the
whole columns' copy and col2im's adds split over them (nerve.primitives.threads).
"""

from __future__ import annotations

import functools

import numpy as np

from nerve.autograd import amp
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.nn.functional.conv_kernels import (
    _col2im,
    _folds_bias,
    _from_cl,
    _gemm_by_rows,
    _grads_by_rows,
    _im2col,
    _to_cl,
    _weight_grad,
)
from nerve.primitives.common import as_tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# ----------------------------------------------------------------------------- ops
@register("conv2d")
class Conv2d(Function):
    """Cross-correlation of (N, C, H, W) with (O, C/groups, kh, kw); conv1d runs here with H = 1.

    ``expand`` names the unit axes the public function inserts (a 1-d or unbatched input) so
    the op sees 4-d arrays; ``w_expand`` does the same for a 1-d weight.
    """

    def forward(self, x, weight, b, stride, padding, dilation, groups, expand=(), w_expand=()):
        w_shape = weight.shape
        if expand:
            x = np.expand_dims(x, expand)
        if w_expand:
            weight = np.expand_dims(weight, w_expand)
        n, _, h, w = x.shape
        co, cg, kh, kw = weight.shape
        (pt, pb), (pl, pr) = padding
        oh = (h + pt + pb - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        ow = (w + pl + pr - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        xp = _to_cl(x, padding)
        wg = weight.reshape(groups, co // groups, cg * kh * kw)
        fold = _folds_bias(xp, b, groups, cg * kh * kw)
        w_mat = np.concatenate((wg[0], b[:, None]), axis=1) if fold else wg[0]
        out = _gemm_by_rows(
            xp, w_mat, None if fold else b, groups, (kh, kw, oh, ow), stride, dilation
        )
        if out is None and fold:  # the bias as one more column of the weights, a ones row
            out = np.matmul(w_mat, _im2col(xp, kh, kw, oh, ow, stride, dilation, ones=True))
        elif out is None:
            cols = _im2col(xp, kh, kw, oh, ow, stride, dilation)
            cols = cols.reshape(groups, cg * kh * kw, oh * ow * n)
            out = np.matmul(wg, cols).reshape(co, oh * ow * n)
            del cols
            if b is not None:
                out += b[:, None]  # over 2-d rows: a 4-d broadcast ran 1.5x slower at batch 1
        out = out.reshape(co, oh, ow, n)
        # Backward rebuilds the columns from the padded input rather than keeping them: they
        # are kh*kw times its size (18 of a 70 MiB CNN step's peak at batch 128), and the
        # rebuild costs one copy (1.7 ms of a ~70 ms step).
        self.xp = xp if self.needs_input_grad[1] else None
        self.wg = wg if self.needs_input_grad[0] else None
        self.folded = fold
        self.geometry = ((h, w), (kh, kw), w_shape, padding, stride, dilation, groups, expand)
        return _from_cl(out, expand)

    def backward(self, g):
        (h, w), (kh, kw), w_shape, padding, stride, dilation, groups, expand = self.geometry
        if expand:
            g = np.expand_dims(g, expand)
        gt = _to_cl(g)  # (O, OH, OW, N)
        co, oh, ow, n = gt.shape
        gg = gt.reshape(groups, co // groups, oh * ow * n)
        need_x, need_w, need_b = self.needs_input_grad
        dx = dw = db = None
        fold = self.folded and need_w and need_b
        if need_b and not fold:
            db = gt.reshape(co, -1).sum(axis=1)
        (pt, pb), (pl, pr) = padding
        sizes = (kh, kw, oh, ow, h + pt + pb, w + pl + pr)
        by_rows = _grads_by_rows(
            gt, self.xp, self.wg, w_shape, sizes, stride, dilation, groups, int(fold)
        )
        if by_rows is not None:
            dw, dxp = by_rows
            if fold:
                dw, db = dw[:, :-1], dw[:, -1].copy()
            dw = None if dw is None else dw.reshape(w_shape)
            dx = None if dxp is None else _from_cl(dxp[:, pt : pt + h, pl : pl + w], expand)
            return dx, dw, db
        if need_w:
            # With the ones row, the weight gradient's GEMM gives the bias's too (its last
            # column): one pass over the output gradient fewer.
            cols = _im2col(self.xp, kh, kw, oh, ow, stride, dilation, ones=fold)
            cols = cols.reshape(groups, -1, oh * ow * n)
            dw = _weight_grad(gg, cols, oh)
            if fold:
                dw, db = dw[0, :, :-1], dw[0, :, -1].copy()
            dw = dw.reshape(w_shape)
            del cols  # before the input gradient's columns exist: one set at a time
        if need_x:
            dcols = np.matmul(self.wg.transpose(0, 2, 1), gg).reshape(-1, kh, kw, oh, ow, n)
            dxp = _col2im(dcols, h + pt + pb, w + pl + pr, stride, dilation)
            dx = _from_cl(dxp[:, pt : pt + h, pl : pl + w], expand)
        return dx, dw, db


@register("conv_transpose2d")
class ConvTranspose2d(Function):
    """The gradient of conv2d with respect to its input, as an op: (N, Cin, H, W) with weight
    (Cin, Cout/groups, kh, kw) -> (N, Cout, Hout, Wout); conv_transpose1d runs here with H = 1."""

    def forward(
        self,
        x,
        weight,
        b,
        stride,
        padding,
        output_padding,
        dilation,
        groups,
        expand=(),
        w_expand=(),
    ):
        w_shape = weight.shape
        if expand:
            x = np.expand_dims(x, expand)
        if w_expand:
            weight = np.expand_dims(weight, w_expand)
        n, cin, h, w = x.shape
        _, og, kh, kw = weight.shape
        (sh, sw), (dh, dw) = stride, dilation
        ph, pw = padding
        hfull = (h - 1) * sh + dh * (kh - 1) + output_padding[0] + 1
        wfull = (w - 1) * sw + dw * (kw - 1) + output_padding[1] + 1
        xg = _to_cl(x).reshape(groups, cin // groups, h * w * n)
        wg = weight.reshape(groups, cin // groups, og * kh * kw)
        cols = np.matmul(wg.transpose(0, 2, 1), xg).reshape(groups * og, kh, kw, h, w, n)
        out = _col2im(cols, hfull, wfull, stride, dilation)[:, ph : hfull - ph, pw : wfull - pw]
        if b is not None:
            out += b[:, None, None, None]
        self.xg = xg if self.needs_input_grad[1] else None
        self.wg = wg if self.needs_input_grad[0] else None
        self.geometry = ((h, w), (kh, kw), w_shape, padding, stride, dilation, groups, expand)
        return _from_cl(out, expand)

    def backward(self, g):
        (h, w), (kh, kw), w_shape, padding, stride, dilation, groups, expand = self.geometry
        if expand:
            g = np.expand_dims(g, expand)
        # (Cout, Hout + 2 ph, Wout + 2 pw, N): the rows and columns that padding cropped from
        # the output get no gradient.
        ph, pw = padding
        gt = _to_cl(g, ((ph, ph), (pw, pw)))
        cout, n = gt.shape[0], gt.shape[3]
        need_x, need_w, need_b = self.needs_input_grad
        dx = dw = db = None
        if need_b:
            db = gt.reshape(cout, -1).sum(axis=1)
        if need_x or need_w:
            dcols = _im2col(gt, kh, kw, h, w, stride, dilation)
            dcols = dcols.reshape(groups, cout // groups * kh * kw, h * w * n)
            if need_w:
                dw = np.matmul(self.xg, dcols.transpose(0, 2, 1)).reshape(w_shape)
            if need_x:
                dx = np.matmul(self.wg, dcols).reshape(-1, h, w, n)
                dx = _from_cl(dx, expand)
        return dx, dw, db


# ----------------------------------------------------------------------------- argument checks
def _ints(value, n: int, name: str, op: str, minimum: int) -> tuple:
    """An int or a sequence of ``n`` ints (each >= ``minimum``) as a tuple of ``n`` ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n:
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            raise TypeError(f"{op}: {name} must hold ints, got {value!r}")
        out = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return out


def _operands(op: str, nd: int, input, weight, bias):
    x, w = as_tensor(input, op), as_tensor(weight, op)
    b = None if bias is None else as_tensor(bias, op)
    if _grad_modes.autocast is not None:  # cast before the one-dtype check, as apply would
        x, w, b = amp.autocast_inputs("conv2d", x, w, b)  # every conv is on the lower list
    for name, t in (("input", x), ("weight", w), ("bias", b)):
        if t is not None and t.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be floating point, got dtype {t.dtype}")
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"{op}: {name} has dtype {t.dtype} but input has {x.dtype}; cast one to match"
            )
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{op}: expected a {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, "
            f"got shape {x.shape}"
        )
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-d, got shape {w.shape}")
    return x, w, b


def _groups(op: str, groups) -> int:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _conv_padding(op: str, padding, kernel, stride, dilation) -> tuple:
    """``padding`` as one (before, after) pair per spatial dim."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride}); give the padding as numbers"
                )
            # The odd unit of an even total goes after (bottom/right), as in torch.
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(
            f"{op}: padding must be 'same', 'valid', an int or a tuple of {n} ints, got {padding!r}"
        )
    return tuple((p, p) for p in _ints(padding, n, "padding", op, 0))


def _layout(nd: int, batched: bool) -> tuple:
    """Axes to insert so that the op sees (N, C, H, W): the batch, and H for 1-d."""
    return (() if batched else (0,)) + ((2,) if nd == 1 else ())


def _plain(*values) -> bool:
    """True when every value is None, a str, an int or a tuple of ints (not bools, lists or
    NumPy ints): such arguments can key a cache without True == 1 or a list's mutability
    leaking in."""
    for v in values:
        t = type(v)
        if t is tuple:
            if not all(type(i) is int for i in v):
                return False
        elif t is not int and t is not str and v is not None:
            return False
    return True


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    x, w, b = _operands(op, nd, input, weight, bias)
    args = (op, nd, x.shape, w.shape, None if b is None else b.shape)
    args += (stride, padding, dilation, groups)
    # A module calls with the same arguments every step: its geometry is checked once.
    params = _conv_params(*args) if _plain(*args[5:]) else _conv_params.__wrapped__(*args)
    return Conv2d.apply(x, w, b, **params)


@functools.lru_cache(maxsize=512)
def _conv_params(op, nd, x_shape, w_shape, b_shape, stride, padding, dilation, groups) -> dict:
    """Conv2d's keyword arguments for these shapes and options, after every check."""
    groups = _groups(op, groups)
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    channels, (out_ch, per_group), kernel = x_shape[-nd - 1], w_shape[:2], w_shape[2:]
    if channels != per_group * groups:
        raise ValueError(
            f"{op}: input has {channels} channels but weight expects {per_group * groups} "
            f"(weight shape {w_shape}, groups={groups})"
        )
    if out_ch % groups:
        raise ValueError(
            f"{op}: out_channels {out_ch} (weight shape {w_shape}) is not divisible by "
            f"groups={groups}"
        )
    if b_shape is not None and b_shape != (out_ch,):
        raise ValueError(f"{op}: bias must have shape ({out_ch},), got {b_shape}")
    pads = _conv_padding(op, padding, kernel, stride, dilation)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x_shape[-nd:], pads))
    dilated = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < k for p, k in zip(padded, dilated)):
        raise ValueError(
            f"{op}: kernel size {kernel} (dilated {dilated}) is larger than the padded input "
            f"{padded} (input shape {x_shape}, padding {padding!r})"
        )
    if nd == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    return {
        "stride": stride,
        "padding": pads,
        "dilation": dilation,
        "groups": groups,
        "expand": _layout(nd, len(x_shape) == nd + 2),
        "w_expand": (2,) if nd == 1 else (),
    }


def _conv_transpose(
    op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation
) -> Tensor:
    x, w, b = _operands(op, nd, input, weight, bias)
    groups = _groups(op, groups)
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    padding = _ints(padding, nd, "padding", op, 0)
    output_padding = _ints(output_padding, nd, "output_padding", op, 0)
    channels, kernel = x.shape[-nd - 1], w.shape[2:]
    if channels != w.shape[0]:
        raise ValueError(
            f"{op}: input has {channels} channels but weight expects {w.shape[0]} "
            f"(weight shape {w.shape}, groups={groups})"
        )
    if channels % groups:
        raise ValueError(
            f"{op}: in_channels {channels} (weight shape {w.shape}) is not divisible by "
            f"groups={groups}"
        )
    out_ch = w.shape[1] * groups
    if b is not None and b.shape != (out_ch,):
        raise ValueError(f"{op}: bias must have shape ({out_ch},), got {b.shape}")
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {output_padding} must be smaller than the stride {stride} "
            f"or the dilation {dilation}"
        )
    size = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(
            x.shape[-nd:], stride, padding, dilation, kernel, output_padding
        )
    )
    if any(n < 1 for n in size):
        raise ValueError(
            f"{op}: the output size {size} is not positive (input shape {x.shape}, weight "
            f"shape {w.shape}, stride {stride}, padding {padding}); reduce the padding"
        )
    if nd == 1:
        stride, dilation = (1,) + stride, (1,) + dilation
        padding, output_padding = (0,) + padding, (0,) + output_padding
    return ConvTranspose2d.apply(
        x,
        w,
        b,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        expand=_layout(nd, x.ndim == nd + 2),
        w_expand=(2,) if nd == 1 else (),
    )


# ----------------------------------------------------------------------------- public functions
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-d cross-correlation over (N, C, H, W), as ``torch.nn.functional.conv2d``.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: an int or a pair.
        padding: an int, a pair, 'valid' (none) or 'same' (output size = input size; stride 1
            only; an odd total puts the extra row/column at the bottom/right, as torch does).
        groups: split the channels into this many independent convolutions
            (groups = C_in is depthwise).

    Returns:
        (N, C_out, H_out, W_out) with H_out = (H + pads - dilation*(kH-1) - 1) // stride + 1.

    Raises:
        ValueError: channels that do not match the weight and groups, a kernel larger than the
            padded input, a bad padding string or a bias of the wrong shape.

    >>> import nerve, nerve.nn.functional as F
    >>> F.conv2d(nerve.ones(2, 3, 8, 8), nerve.ones(4, 3, 3, 3), padding=1).shape
    (2, 4, 8, 8)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-d cross-correlation over (N, C, L), as ``torch.nn.functional.conv1d``.

    Arguments as :func:`conv2d` with one spatial dim: input (N, C_in, L) or (C_in, L), weight
    (C_out, C_in / groups, k).

    >>> import nerve, nerve.nn.functional as F
    >>> F.conv1d(nerve.ones(2, 3, 10), nerve.ones(4, 3, 5), padding="same").shape
    (2, 4, 10)
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 2-d convolution (the gradient of conv2d), as ``torch`` spells it.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW) (note: in-channels first, as in torch).
        bias: (C_out,) or None.
        stride, padding, dilation: an int or a pair; padding removes rows/columns from the
            output's borders.
        output_padding: extra rows/columns at the bottom/right; smaller than stride or dilation.
        groups: independent channel groups.

    Returns:
        (N, C_out, H_out, W_out) with
        H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.

    >>> import nerve, nerve.nn.functional as F
    >>> F.conv_transpose2d(nerve.ones(1, 4, 5, 5), nerve.ones(4, 2, 3, 3), stride=2).shape
    (1, 2, 11, 11)
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """Transposed 1-d convolution: :func:`conv_transpose2d` with one spatial dim.

    >>> import nerve, nerve.nn.functional as F
    >>> F.conv_transpose1d(nerve.ones(1, 4, 5), nerve.ones(4, 2, 3), stride=2).shape
    (1, 2, 11)
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
