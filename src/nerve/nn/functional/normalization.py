"""Normalization: batch_norm, layer_norm, group_norm, instance_norm (fused, closed-form backward).

Each normalizes ``x`` to ``xhat = (x - mean) / sqrt(var + eps)`` over some axes (biased variance),
then applies a per-channel (or per-element) affine ``xhat * weight + bias``. Backward uses the
standard closed form, with ``gxhat = g * weight`` and ``n`` the number of reduced elements:
``gx = invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))``. Only ``xhat`` and ``invstd``
are saved (batch_norm in eval saves nothing big: it is one affine map per channel). Sums go
through ``np.einsum``: about twice as fast as ``(a * b).sum(axes)`` here and it builds no
temporary, with float32 accuracy equal to NumPy's pairwise ``sum``.

These ops are memory-bound and NumPy cannot fuse passes, so they run about 2-4x slower than
torch's fused kernels on large inputs (batch_norm in training about 1-1.3x); the matmuls
around them dominate a training step.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd import amp as _amp
from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.primitives.common import as_tensor, is_array, memory_order

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm"]


# ----------------------------------------------------------------------------- shared row math
def _normalize_rows(x2: np.ndarray, eps: float):
    """xhat (a new array), invstd, mean and biased var (each (R,)) of the rows of ``x2`` (R, D)."""
    d = x2.shape[1]
    inv_d = x2.dtype.type(1.0 / d)
    mean = np.einsum("ij->i", x2)
    mean *= inv_d
    xhat = x2 - mean[:, None]
    var = np.einsum("ij,ij->i", xhat, xhat)
    var *= inv_d
    invstd = _invstd(var, eps)
    xhat *= invstd[:, None]
    return xhat, invstd, mean, var


def _rows_backward(gxhat: np.ndarray, xhat: np.ndarray, invstd: np.ndarray) -> np.ndarray:
    """d loss / d x for rows normalized by _normalize_rows, given d loss / d xhat (R, D)."""
    inv_d = xhat.dtype.type(1.0 / xhat.shape[1])
    c1 = np.einsum("ij->i", gxhat)
    c1 *= inv_d
    c2 = np.einsum("ij,ij->i", gxhat, xhat)
    c2 *= -inv_d
    gx = xhat * c2[:, None]
    gx += gxhat
    gx -= c1[:, None]
    gx *= invstd[:, None]
    return gx


def _invstd(var: np.ndarray, eps: float) -> np.ndarray:
    out = var + var.dtype.type(eps)
    np.sqrt(out, out=out)
    np.reciprocal(out, out=out)
    return out


def _channel_rows(x: np.ndarray):
    """``x`` (N, C, *) as a (lead, C) or (lead, C, trail) view of its own memory, plus the
    (axis order, transposed shape) that maps results back (``_unrows``).

    The axes are taken in memory order, so a conv output (an (N, C, H, W) view of (C, H, W, N)
    memory) or a channels-last tensor is read in place and the result keeps the input's
    layout: a plain reshape to (N, C, H*W) would copy those, and so would every op after it.
    """
    order = memory_order(x)
    xt = x.transpose(order)
    if not xt.flags.c_contiguous:
        xt = xt.copy()  # C order (NumPy's ascontiguousarray does not reach a device)
    p = order.index(1)
    lead, trail = math.prod(xt.shape[:p]), math.prod(xt.shape[p + 1 :])
    c = x.shape[1]
    xv = xt.reshape((lead, c) if trail == 1 else (lead, c, trail))
    return xv, (order, xt.shape)


def _unrows(v: np.ndarray, layout) -> np.ndarray:
    """A (lead, C[, trail]) result of ``_channel_rows`` back in the input's shape and layout."""
    order, tshape = layout
    return v.reshape(tshape).transpose(tuple(np.argsort(order).tolist()))


def _update_running(
    running: np.ndarray, value: np.ndarray, momentum: float, keras: bool = False
) -> None:
    """running = (1 - momentum) * running + momentum * value, in place (torch's convention);
    with ``keras``, Keras's: running * momentum + value * (1 - momentum), the momentum the old
    value's weight and ``1 - momentum`` taken in Python floats as Keras does."""
    t = running.dtype.type
    if running.dtype == np.float16:  # float16 buffers: the update in float32, stored rounded
        wide = running.astype(np.float32)
        _update_running(wide, value.astype(np.float32, copy=False), momentum, keras)
        running[...] = wide
        return
    if keras:
        running *= t(momentum)
        running += value.astype(running.dtype, copy=False) * t(1.0 - momentum)
        return
    running *= t(1.0 - momentum)
    running += t(momentum) * value.astype(running.dtype, copy=False)


# ----------------------------------------------------------------------------- batch norm
@register("batch_norm")
class BatchNorm(Function):
    """Per-channel normalization of (N, C, *) over every axis but C.

    Inputs: x, weight, bias (differentiable), running_mean, running_var (buffers, read in eval and
    updated in place in training: torch's update, or with ``keras_update`` Keras's, whose
    ``momentum`` weighs the old value and whose variance is the biased one).
    """

    differentiable = (0, 1, 2)

    def forward(
        self,
        x,
        weight,
        bias,
        running_mean,
        running_var,
        training,
        momentum,
        eps,
        keras_update=False,
    ):
        need_x, need_w, _ = self.needs_input_grad[:3]
        # float16 in float32, as torch and Keras: a float16 sum of squares overflows at 65504;
        # the output and gradients in their inputs' dtypes, the running stats in their own
        self.in_f16 = x.dtype == np.float16
        if self.in_f16:
            self.f16_dtypes = [None if a is None else a.dtype for a in (x, weight, bias)]
            x, weight, bias = (
                None if a is None else a.astype(np.float32) for a in (x, weight, bias)
            )
        c = x.shape[1]
        xv, self.layout = _channel_rows(x)
        spec, pshape = ("nc", (c,)) if xv.ndim == 2 else ("ncm", (c, 1))
        count = x.size // c
        t = x.dtype.type
        self.training, self.spec, self.vshape, self.count = training, spec, xv.shape, count
        if not training:
            # Eval is an affine map per channel: out = x * scale + shift (as torch computes it),
            # two passes and no xhat.
            mean = running_mean.astype(x.dtype, copy=True)  # a copy: the buffer may change
            invstd = _invstd(running_var.astype(x.dtype, copy=False), eps)
            scale = invstd if weight is None else invstd * weight
            shift = mean * -scale
            if bias is not None:
                shift += bias
            out = xv * scale.reshape(pshape)
            out += shift.reshape(pshape)
            self.scale = scale.reshape(pshape)
            # the weight gradient needs xhat: rebuilt from x in backward, only if asked for
            self.x, self.mean, self.invstd = (xv, mean, invstd) if need_w else (None,) * 3
            return self._out(_unrows(out, self.layout))
        mean = np.einsum(f"{spec}->c", xv)
        mean *= t(1.0 / count)
        xhat = xv - mean.reshape(pshape)
        var = np.einsum(f"{spec},{spec}->c", xhat, xhat)
        var *= t(1.0 / count)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum, keras_update)
        if running_var is not None:
            # torch keeps the unbiased batch variance, Keras the biased one
            stat = var if keras_update else var * t(count / (count - 1))
            _update_running(running_var, stat, momentum, keras_update)
        invstd = _invstd(var, eps)
        xhat *= invstd.reshape(pshape)
        out = _affine_out(xhat, weight, bias, pshape)
        self.xhat = xhat if (need_w or need_x) else None
        self.scale = None
        if need_x:
            self.scale = (invstd if weight is None else invstd * weight).reshape(pshape)
        return self._out(_unrows(out, self.layout))

    def _out(self, out):
        return out.astype(self.f16_dtypes[0]) if self.in_f16 else out

    def backward(self, g):
        if self.in_f16:
            grads = self._backward(g.astype(np.float32))
            return tuple(None if a is None else a.astype(t) for a, t in zip(grads, self.f16_dtypes))
        return self._backward(g)

    def _backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad[:3]
        spec = self.spec
        # a copy only when g's memory layout differs from x's
        gv = g.transpose(self.layout[0]).reshape(self.vshape)
        gsum = np.einsum(f"{spec}->c", gv) if (need_b or (need_x and self.training)) else None
        if not self.training:
            gx = _unrows(gv * self.scale, self.layout) if need_x else None
            gw = None
            if need_w:
                xc = self.x - self.mean.reshape(self.scale.shape)
                gw = np.einsum(f"{spec},{spec}->c", gv, xc)
                gw *= self.invstd
            return gx, gw, gsum
        xhat = self.xhat
        gxsum = np.einsum(f"{spec},{spec}->c", gv, xhat) if (need_w or need_x) else None
        gx = None
        if need_x:
            # gx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)), reusing the sums that the
            # weight and bias gradients need anyway.
            pshape = self.scale.shape
            inv_n = g.dtype.type(1.0 / self.count)
            gx = xhat * (gxsum * -inv_n).reshape(pshape)
            gx += gv
            gx -= (gsum * inv_n).reshape(pshape)
            gx *= self.scale
            gx = _unrows(gx, self.layout)
        return gx, (gxsum if need_w else None), (gsum if need_b else None)


def _affine_out(xhat: np.ndarray, weight, bias, pshape: tuple) -> np.ndarray:
    """xhat * weight + bias with the parameters broadcast as ``pshape``; xhat itself if neither."""
    if weight is not None:
        out = xhat * weight.reshape(pshape)
        if bias is not None:
            out += bias.reshape(pshape)
        return out
    if bias is not None:
        return xhat + bias.reshape(pshape)
    return xhat


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of (N, C, *) by its batch statistics or its running statistics.

    In training the batch mean and (biased) variance normalize, and ``running_mean`` and
    ``running_var`` (if given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the unbiased batch
    variance for ``running_var``, as torch does. In eval the running statistics normalize.

    Args:
        input: (N, C) or (N, C, *).
        running_mean, running_var: (C,) buffers (Tensors or arrays), or None in training.
        weight, bias: (C,) affine parameters or None.
        training: use batch statistics (and update the running ones).
        momentum: weight of the new batch statistic in the running average.
        eps: added to the variance.

    Returns:
        A tensor of the input's shape.

    Raises:
        ValueError: for a channel count that does not match the buffers or parameters, missing
            running statistics in eval, or one value per channel in training.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> rm, rv = nerve.zeros(3), nerve.ones(3)
    >>> y = F.batch_norm(nerve.randn(8, 3), rm, rv, training=True)
    >>> y.shape, bool((rm._data != 0).all())
    ((8, 3), True)
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def keras_batch_norm(input, moving_mean, moving_variance, gamma, beta, momentum, epsilon):
    """Training-mode batch norm whose moving statistics follow Keras (``layers.
    BatchNormalization`` in training): normalized by the batch mean and biased variance, and
    ``moving = moving * momentum + batch_stat * (1 - momentum)`` in place, both statistics
    biased. The update runs inside the op, so a compiled plan replays it.

    Args:
        input: (N, C) or (N, C, *).
        moving_mean, moving_variance: (C,) Tensors, updated in place.
        gamma, beta: (C,) affine parameters or None.
        momentum: the old moving value's weight (Keras's 0.99).
        epsilon: added to the variance.

    Returns:
        A tensor of the input's shape.

    Raises:
        ValueError: as :func:`batch_norm` in training.

    >>> import nerve
    >>> from nerve.nn.functional.normalization import keras_batch_norm
    >>> mean, var = nerve.zeros(2), nerve.ones(2)
    >>> x = nerve.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> y = keras_batch_norm(x, mean, var, None, None, momentum=0.5, epsilon=1e-3)
    >>> mean.tolist(), var.tolist()  # batch means 1, 2; biased variances 1, 1
    ([0.5, 1.0], [1.0, 1.0])
    """
    return _batch_norm(
        input, moving_mean, moving_variance, gamma, beta, True, momentum, epsilon, True
    )


def _batch_norm(
    input, running_mean, running_var, weight, bias, training, momentum, eps, keras_update=False
) -> Tensor:
    x = as_tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be (N, C) or (N, C, *), got shape {x.shape}")
    _require_float("batch_norm", x)
    c = x.shape[1]
    rm, rv = _buffer(running_mean), _buffer(running_var)
    for name, buf in (("running_mean", rm), ("running_var", rv)):
        if buf is not None and buf.shape != (c,):
            raise ValueError(
                f"batch_norm: input of shape {x.shape} has C={c} channels but {name} has shape "
                f"{buf.shape}"
            )
    if not training and (rm is None or rv is None):
        raise ValueError(
            "batch_norm: eval mode (training=False) needs running_mean and running_var"
        )
    if momentum is None:
        raise ValueError(
            "batch_norm: momentum=None (a cumulative average) needs a batch counter; pass the "
            "factor 1 / num_batches_tracked as momentum"
        )
    if training and x._data.size // max(c, 1) <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input of "
            f"shape {x.shape}"
        )
    w, b, mixed = _affine("batch_norm", x, weight, bias, (c,), f"C={c} channels", (rm, rv))
    out = BatchNorm.apply(
        x.float() if mixed else x,  # float16 with float32 parameters and statistics: in float32
        w,
        b,
        rm,
        rv,
        training=bool(training),
        momentum=float(momentum),
        eps=float(eps),
        keras_update=keras_update,
    )
    return out.half() if mixed else out


def _require_float(op: str, x: Tensor) -> None:
    if x._data.dtype.kind != "f":
        raise TypeError(f"{op} needs a floating-point input, got dtype {x._data.dtype}")


def _buffer(t):
    """A running-statistics buffer as the array to update in place (a Tensor shares its data)."""
    if t is None or is_array(t):
        return t
    if isinstance(t, Tensor):
        return t._data
    raise TypeError(f"running statistics must be Tensors or arrays, got {type(t).__name__}")


def _mixed(x: Tensor, params) -> bool:
    """True for a float16 input with float32 parameters: torch takes it (what autocast gives a
    norm layer after a float16 conv or linear), computes in float32 and returns float16."""
    if x._data.dtype != np.float16:
        return False
    dts = {p._data.dtype for p in params if p is not None}
    return bool(dts) and dts <= {np.dtype(np.float32)}


def _affine(op: str, x: Tensor, weight, bias, shape: tuple, what: str, buffers=()):
    """weight and bias as Tensors of ``shape`` (or None), checked against the input; and
    whether the op runs in float32 on a float16 input (see :func:`_mixed`)."""
    out = []
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            out.append(None)
            continue
        p = as_tensor(p, f"{op} {name}")
        if p.shape != shape:
            raise ValueError(
                f"{op}: input of shape {x.shape} has {what}, so {name} must have shape {shape}, "
                f"got {p.shape}"
            )
        out.append(p)
    mixed = _mixed(x, out) or (
        x._data.dtype == np.float16
        and all(p is None for p in out)
        and any(b is not None and b.dtype == np.float32 for b in buffers)
    )
    if not mixed:
        for name, p in zip(("weight", "bias"), out):
            if p is not None and p._data.dtype != x._data.dtype:
                raise TypeError(
                    f"{op}: {name} has dtype {p._data.dtype} but input has dtype {x._data.dtype}"
                )
    return out[0], out[1], mixed


# ----------------------------------------------------------------------------- layer norm
@register("layer_norm")
class LayerNorm(Function):
    """Normalize over the trailing dims (D elements per row); affine per element of those dims."""

    def forward(self, x, weight, bias, normalized_shape, eps):
        d = int(np.prod(normalized_shape))
        xhat, invstd, _, _ = _normalize_rows(x.reshape(-1, d), eps)
        out = _affine_out(xhat, weight, bias, (d,))
        need_x, need_w, _ = self.needs_input_grad
        self.xhat = xhat if (need_x or need_w) else None
        self.invstd = invstd
        self.weight = None if weight is None else weight.reshape(d)
        self.d, self.pshape = d, normalized_shape
        return out.reshape(x.shape)

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        xhat = self.xhat
        g2 = g.reshape(-1, self.d)
        gx = gw = gb = None
        if need_x:
            gxhat = g2 if self.weight is None else g2 * self.weight
            gx = _rows_backward(gxhat, xhat, self.invstd).reshape(g.shape)
        if need_w:
            gw = np.einsum("ij,ij->j", g2, xhat).reshape(self.pshape)
        if need_b:
            gb = np.einsum("ij->j", g2).reshape(self.pshape)
        return gx, gw, gb


def layer_norm(
    input,
    normalized_shape,
    weight=None,
    bias=None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims of each sample.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: an int or a tuple, the shape of the trailing dims to normalize over.
        weight, bias: elementwise affine parameters of shape ``normalized_shape``, or None.
        eps: added to the variance.

    Returns:
        A tensor of the input's shape.

    Raises:
        ValueError: when the input's trailing dims are not ``normalized_shape``.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> y = F.layer_norm(nerve.randn(4, 10), (10,))
    >>> bool(abs(y._data.mean(-1)).max() < 1e-5)
    True
    """
    x = as_tensor(input, "layer_norm")
    # autocast first: on "cuda" it runs layer_norm in float32, as torch (the dtype check after
    # would otherwise refuse a float16 input with float32 parameters)
    x, weight, bias = _amp.autocast_inputs("layer_norm", x, weight, bias)
    _require_float("layer_norm", x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shape = tuple(int(s) for s in shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must match the trailing dims of the input, "
            f"got input of shape {x.shape}"
        )
    w, b, mixed = _affine("layer_norm", x, weight, bias, shape, f"normalized_shape {shape}")
    if mixed:  # float16 input, float32 parameters: computed in float32, as torch
        out = LayerNorm.apply(x.float(), w, b, normalized_shape=shape, eps=float(eps))
        return out.half()
    return LayerNorm.apply(x, w, b, normalized_shape=shape, eps=float(eps))


# ----------------------------------------------------------------------------- group norm
@register("group_norm")
class GroupNorm(Function):
    """Normalize (N, C, *) over each group of C // G channels and all spatial positions.

    With ``running_mean``/``running_var`` arrays (instance_norm, where G == C) the per-instance
    statistics, averaged over the batch, also update them in place.
    """

    def forward(
        self, x, weight, bias, num_groups, eps, running_mean=None, running_var=None, momentum=0.1
    ):
        n, c = x.shape[0], x.shape[1]
        xhat, invstd, mean, var = _normalize_rows(x.reshape(n * num_groups, -1), eps)
        if running_mean is not None:
            _update_running(running_mean, mean.reshape(n, c).mean(axis=0), momentum)
        if running_var is not None:
            k = xhat.shape[1]
            unbiased = var.reshape(n, c).mean(axis=0) * var.dtype.type(k / (k - 1))
            _update_running(running_var, unbiased, momentum)
        xv = xhat.reshape(n, c, -1)
        out = _affine_out(xv, weight, bias, (c, 1))
        need_x, need_w, _ = self.needs_input_grad
        self.xhat = xhat if (need_x or need_w) else None
        self.invstd, self.weight, self.vshape = invstd, weight, xv.shape
        return out.reshape(x.shape)

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        gv = g.reshape(self.vshape)
        gx = gw = gb = None
        if need_x:
            gxhat = gv if self.weight is None else gv * self.weight[:, None]
            xhat = self.xhat
            gx = _rows_backward(gxhat.reshape(xhat.shape), xhat, self.invstd).reshape(g.shape)
        if need_w:
            gw = np.einsum("ncm,ncm->c", gv, self.xhat.reshape(self.vshape))
        if need_b:
            gb = np.einsum("ncm->c", gv)
        return gx, gw, gb


def group_norm(
    input,
    num_groups: int,
    weight=None,
    bias=None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize (N, C, *) over groups of ``C // num_groups`` channels, per sample.

    Args:
        input: (N, C, *).
        num_groups: how many groups the C channels form; must divide C.
        weight, bias: per-channel (C,) affine parameters or None.
        eps: added to the variance.

    Returns:
        A tensor of the input's shape.

    Raises:
        ValueError: when ``num_groups`` does not divide C or a parameter has the wrong shape.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.group_norm(nerve.randn(2, 6, 4, 4), 3).shape
    (2, 6, 4, 4)
    """
    x = as_tensor(input, "group_norm")
    x, weight, bias = _amp.autocast_inputs("group_norm", x, weight, bias)  # as layer_norm
    _require_float("group_norm", x)
    if x.ndim < 2:
        raise ValueError(f"group_norm: input must be (N, C, *), got shape {x.shape}")
    c = x.shape[1]
    if int(num_groups) < 1 or c % int(num_groups):
        raise ValueError(
            f"group_norm: num_groups={num_groups} must divide the C={c} channels of input "
            f"of shape {x.shape}"
        )
    w, b, mixed = _affine("group_norm", x, weight, bias, (c,), f"C={c} channels")
    if mixed:  # float16 input, float32 parameters: computed in float32, as torch
        out = GroupNorm.apply(x.float(), w, b, num_groups=int(num_groups), eps=float(eps))
        return out.half()
    return GroupNorm.apply(x, w, b, num_groups=int(num_groups), eps=float(eps))


def instance_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample of (N, C, *) over its spatial positions.

    With ``use_input_stats`` (the default) each instance's own statistics normalize, and the
    running statistics, if given, are updated in place with their batch average; otherwise the
    running statistics normalize (as batch_norm in eval). It is group_norm with C groups.

    Args:
        input: (N, C, *) with at least one spatial dim.
        running_mean, running_var: (C,) buffers or None.
        weight, bias: (C,) affine parameters or None.

    Raises:
        ValueError: for mismatched channel counts, or a single spatial element with
            ``use_input_stats``.

    >>> import nerve
    >>> import nerve.nn.functional as F
    >>> F.instance_norm(nerve.randn(2, 3, 5)).shape
    (2, 3, 5)
    """
    x = as_tensor(input, "instance_norm")
    _require_float("instance_norm", x)
    if x.ndim < 3:
        raise ValueError(
            f"instance_norm: input must be (N, C, *) with a spatial dim, got shape {x.shape}"
        )
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    c = x.shape[1]
    rm, rv = _buffer(running_mean), _buffer(running_var)
    for name, buf in (("running_mean", rm), ("running_var", rv)):
        if buf is not None and buf.shape != (c,):
            raise ValueError(
                f"instance_norm: input of shape {x.shape} has C={c} channels but {name} has "
                f"shape {buf.shape}"
            )
    if x._data.size // max(x.shape[0] * c, 1) <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input of "
            f"shape {x.shape}"
        )
    w, b, mixed = _affine("instance_norm", x, weight, bias, (c,), f"C={c} channels", (rm, rv))
    out = GroupNorm.apply(
        x.float() if mixed else x,  # float16 input, float32 parameters: as batch_norm
        w,
        b,
        num_groups=c,
        eps=float(eps),
        running_mean=rm,
        running_var=rv,
        momentum=float(momentum),
    )
    return out.half() if mixed else out
