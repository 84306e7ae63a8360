"""SyncBatchNorm: batch normalization whose statistics span every rank's share of the batch.

In training the per-channel mean and variance are those of the whole global batch (the ranks
sum their counts, sums and squared deviations with all-reduce), so N ranks with batch b
normalize exactly as one process with batch N * b. Backward all-reduces the two per-channel
sums the input gradient needs. Outside a process group (or in a world of one) it is BatchNorm.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.backend import array_module_of
from nerve.distributed import comm
from nerve.nn.functional.normalization import (
    _affine_out,
    _channel_rows,
    _invstd,
    _unrows,
    _update_running,
)
from nerve.nn.modules.normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _sum_over_ranks(a: np.ndarray) -> np.ndarray:
    """``a`` summed over the ranks, in place (untouched without a group of two or more)."""
    if comm.is_initialized() and comm.get_world_size() > 1:
        comm.all_reduce(a)
    return a


@register("sync_batch_norm")
class SyncBatchNormFunction(Function):
    """Training-mode batch norm of (N, C, *) with statistics over every rank's batch.

    Inputs: x, weight, bias (differentiable), running_mean, running_var (updated in place).
    """

    differentiable = (0, 1, 2)

    def forward(self, x, weight, bias, running_mean, running_var, momentum, eps):
        c = x.shape[1]
        xv, self.layout = _channel_rows(x)
        spec, pshape = ("nc", (c,)) if xv.ndim == 2 else ("ncm", (c, 1))
        t = x.dtype.type
        # one buffer for the channel sums and the local count: one all-reduce; made where x
        # lives (CuPy for a GPU input)
        stats = array_module_of(x).empty(c + 1, dtype=np.float64)
        stats[:c] = np.einsum(f"{spec}->c", xv)
        stats[c] = x.size // c
        _sum_over_ranks(stats)
        count = int(stats[c])
        if count <= 1:
            raise ValueError(
                f"SyncBatchNorm: expected more than 1 value per channel when training over all "
                f"ranks, got input of shape {x.shape} and {count} value(s) in all"
            )
        mean = (stats[:c] / count).astype(x.dtype)
        xhat = xv - mean.reshape(pshape)
        # the variance from deviations about the global mean (two passes, as BatchNorm does)
        var = np.einsum(f"{spec},{spec}->c", xhat, xhat).astype(np.float64)
        var = (_sum_over_ranks(var) / count).astype(x.dtype)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * t(count / (count - 1)), momentum)
        invstd = _invstd(var, eps)
        xhat *= invstd.reshape(pshape)
        out = _affine_out(xhat, weight, bias, pshape)
        self.spec, self.vshape, self.count, self.xhat = spec, xv.shape, count, xhat
        self.scale = (invstd if weight is None else invstd * weight).reshape(pshape)
        return _unrows(out, self.layout)

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad[:3]
        spec, xhat = self.spec, self.xhat
        gv = g.transpose(self.layout[0]).reshape(self.vshape)
        gsum = np.einsum(f"{spec}->c", gv)
        gxsum = np.einsum(f"{spec},{spec}->c", gv, xhat)
        # weight and bias gradients stay local (DistributedDataParallel averages them); the
        # input gradient needs the sums over the global batch
        gw, gb = (gxsum.copy() if need_w else None), (gsum.copy() if need_b else None)
        gx = None
        if need_x:
            c = gsum.shape[0]
            both = np.concatenate([gsum, gxsum]).astype(np.float64)
            _sum_over_ranks(both)
            inv_n = 1.0 / self.count
            pshape = self.scale.shape
            gx = xhat * (both[c:] * -inv_n).astype(g.dtype).reshape(pshape)
            gx += gv
            gx -= (both[:c] * inv_n).astype(g.dtype).reshape(pshape)
            gx *= self.scale
            gx = _unrows(gx, self.layout)
        return gx, gw, gb


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over (N, C, *) with statistics shared by every rank (torch's name).

    Training uses the mean and variance of the global batch (every rank's share), so the
    result and the gradients equal one process's BatchNorm on the whole batch; eval uses the
    running statistics like BatchNorm. Wrap the model in ``DistributedDataParallel`` so the
    affine gradients are averaged; ``convert_sync_batchnorm`` swaps a model's BatchNorm layers.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance.
        momentum: weight of the new batch statistic in the running average (None: cumulative).
        affine: learn a per-channel weight and bias.
        track_running_stats: keep running statistics for eval.
        process_group: must be None (the world).

    Shape:
        Input (N, C, *); output the same.

    Raises:
        ValueError: an input with a different channel count or fewer than 2 dimensions, or
            one value per channel over all ranks in training.
    """

    _ndims = tuple(range(2, 9))
    _layout = "(N, C, *)"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
    ):
        if process_group is not None:
            raise ValueError(
                "SyncBatchNorm: only the world group is supported (process_group=None)"
            )
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"SyncBatchNorm({self.num_features}) expects input of shape {self._layout} "
                f"with C={self.num_features}, got {tuple(x.shape)}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        track = self.track_running_stats
        if track:
            self.num_batches_tracked._data += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked._data)
        return SyncBatchNormFunction.apply(
            x,
            self.weight,
            self.bias,
            self.running_mean._data if track else None,
            self.running_var._data if track else None,
            momentum=momentum,
            eps=self.eps,
        )

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d (itself or inside) replaced by a
        SyncBatchNorm holding the same parameters and running statistics.

        Args:
            module: a Module.
            process_group: must be None (the world).

        Returns:
            The converted module (``module`` itself, changed in place, unless it is a BatchNorm).
        """
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            for name in ("weight", "bias"):
                if getattr(module, name, None) is not None:
                    setattr(new, name, getattr(module, name))
            if module.track_running_stats:
                new.running_mean = module.running_mean
                new.running_var = module.running_var
                new.num_batches_tracked = module.num_batches_tracked
            new.train(module.training)
            return new
        for name, child in list(module.named_children()):
            setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
