"""unfold (im2col: sliding blocks to columns) and fold (col2im: columns summed back into an
image), each a Function whose backward is the other's forward: the two are adjoint.

The loops run over the kernel's positions (kh * kw slices), never over pixels or samples.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.common import as_tensor

__all__ = ["fold", "unfold"]


def _window(i: int, j: int, dilation, stride, out_hw) -> tuple:
    """The strided view of the padded image that kernel offset (i, j) sees."""
    (dh, dw), (sh, sw), (oh, ow) = dilation, stride, out_hw
    rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
    cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
    return (slice(None), slice(None), rows, cols)


def _blocks(xp: np.ndarray, kernel, dilation, stride, out_hw) -> np.ndarray:
    """(N, C, H+2p, W+2p) -> (N, C, kh, kw, oh, ow): every kernel offset's strided view."""
    n, c = xp.shape[:2]
    kh, kw = kernel
    oh, ow = out_hw
    cols = array_module_of(xp).empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[_window(i, j, dilation, stride, out_hw)]
    return cols


def _unblocks(cols: np.ndarray, padded_hw, kernel, dilation, stride) -> np.ndarray:
    """The adjoint of _blocks: add every kernel offset's values back where they came from."""
    n, c, kh, kw, oh, ow = cols.shape
    xp = array_module_of(cols).zeros((n, c) + tuple(padded_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[_window(i, j, dilation, stride, (oh, ow))] += cols[:, :, i, j]
    return xp


def _crop(xp: np.ndarray, padding) -> np.ndarray:
    ph, pw = padding
    h, w = xp.shape[2:]
    return xp[:, :, ph : h - ph, pw : w - pw]


@register("unfold")
class Unfold(Function):
    """(N, C, H, W) -> (N, C*kh*kw, L), L the number of block positions."""

    def forward(self, x, kernel, dilation, padding, stride, out_hw):
        ph, pw = padding
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        self.shape, self.padded_hw = x.shape, xp.shape[2:]
        self.args = (kernel, dilation, stride, out_hw)
        self.padding = padding
        cols = _blocks(xp, kernel, dilation, stride, out_hw)
        n, c = x.shape[:2]
        return cols.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])

    def backward(self, g):
        kernel, dilation, stride, out_hw = self.args
        n, c = self.shape[:2]
        cols = g.reshape(n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
        xp = _unblocks(cols, self.padded_hw, kernel, dilation, stride)
        return _crop(xp, self.padding)


@register("fold")
class Fold(Function):
    """(N, C*kh*kw, L) -> (N, C, H, W): overlapping blocks are summed."""

    def forward(self, cols, output_size, kernel, dilation, padding, stride, out_hw):
        n = cols.shape[0]
        c = cols.shape[1] // (kernel[0] * kernel[1])
        padded_hw = (output_size[0] + 2 * padding[0], output_size[1] + 2 * padding[1])
        self.args = (kernel, dilation, padding, stride, out_hw, padded_hw)
        blocks = cols.reshape(n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
        return _crop(_unblocks(blocks, padded_hw, kernel, dilation, stride), padding).copy()

    def backward(self, g):
        kernel, dilation, padding, stride, out_hw, _ = self.args
        ph, pw = padding
        gp = np.pad(g, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else g
        cols = _blocks(gp, kernel, dilation, stride, out_hw)
        n, c = g.shape[:2]
        return cols.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def _pair(op: str, name: str, value, minimum: int) -> tuple:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in pair)


def _out_hw(op: str, hw, kernel, dilation, padding, stride) -> tuple:
    out = tuple(
        (hw[k] + 2 * padding[k] - dilation[k] * (kernel[k] - 1) - 1) // stride[k] + 1
        for k in range(2)
    )
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: the kernel {kernel} (dilation {dilation}) does not fit the spatial size "
            f"{tuple(hw)} with padding {padding}"
        )
    return out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding blocks: (N, C, H, W) -> (N, C * kh * kw, L) (im2col).

    Args:
        input: (N, C, H, W) or unbatched (C, H, W).
        kernel_size, dilation, padding, stride: ints or pairs, as in conv2d.

    Returns:
        (N, C*kh*kw, L), L = oh * ow block positions; (C*kh*kw, L) when unbatched.

    Raises:
        ValueError: the input is not 3-d or 4-d, or the kernel does not fit.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.unfold(nerve.ones(2, 3, 4, 4), 2).shape
    (2, 12, 9)
    """
    x = as_tensor(input, "unfold")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"unfold: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got {tuple(x.shape)}"
        )
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    kernel = _pair("unfold", "kernel_size", kernel_size, 1)
    dil = _pair("unfold", "dilation", dilation, 1)
    pad = _pair("unfold", "padding", padding, 0)
    st = _pair("unfold", "stride", stride, 1)
    out_hw = _out_hw("unfold", x.shape[2:], kernel, dil, pad, st)
    out = Unfold.apply(x, kernel=kernel, dilation=dil, padding=pad, stride=st, out_hw=out_hw)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding blocks back into an image: (N, C * kh * kw, L) -> (N, C, H, W) (col2im).

    Args:
        input: (N, C*kh*kw, L) or unbatched (C*kh*kw, L).
        output_size: (H, W) of the image.
        kernel_size, dilation, padding, stride: ints or pairs, as in unfold.

    Returns:
        (N, C, H, W), or (C, H, W) when unbatched.

    Raises:
        ValueError: dim 1 is not a multiple of kh*kw, or L is not the number of blocks.
    """
    x = as_tensor(input, "fold")
    if x.ndim not in (2, 3):
        raise ValueError(
            f"fold: expected a 2-d (C*kh*kw, L) or 3-d (N, C*kh*kw, L) input, got {tuple(x.shape)}"
        )
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    size = _pair("fold", "output_size", output_size, 1)
    kernel = _pair("fold", "kernel_size", kernel_size, 1)
    dil = _pair("fold", "dilation", dilation, 1)
    pad = _pair("fold", "padding", padding, 0)
    st = _pair("fold", "stride", stride, 1)
    k = kernel[0] * kernel[1]
    if x.shape[1] % k:
        raise ValueError(
            f"fold: expected size of input's dimension 1 ({x.shape[1]}) to be divisible by the "
            f"product of kernel_size ({k})"
        )
    out_hw = _out_hw("fold", size, kernel, dil, pad, st)
    if x.shape[2] != out_hw[0] * out_hw[1]:
        raise ValueError(
            f"fold: given output_size={size}, kernel_size={kernel}, dilation={dil}, "
            f"padding={pad}, stride={st}, expected size of input's dimension 2 to match the "
            f"calculated number of sliding blocks {out_hw[0]} * {out_hw[1]} = "
            f"{out_hw[0] * out_hw[1]}, but got {x.shape[2]}"
        )
    out = Fold.apply(
        x,
        output_size=size,
        kernel=kernel,
        dilation=dil,
        padding=pad,
        stride=st,
        out_hw=out_hw,
    )
    return out.squeeze(0) if unbatched else out
