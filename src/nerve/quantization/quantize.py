"""quantize(): post-training int8 quantization of a model's Dense/Linear and Conv layers."""

from __future__ import annotations

import copy

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.backend import DEVICE_MODULES
from nerve.device import to_host
from nerve.nn.module import Module
from nerve.quantization.modules import QUANTIZED


def host_copy(model: Module) -> Module:
    """A copy of ``model`` whose parameters, buffers and gradients are on the host: ``model``
    itself when all are there already. Each device array is copied to the host once, never
    duplicated on the device (a GPU model's weights are read where files are written).

    >>> from nerve import nn
    >>> net = nn.Linear(2, 2)
    >>> host_copy(net) is net
    True
    """
    memo: dict = {}
    for t in (*model.parameters(), *model.buffers()):
        for data in (t._data, None if t.grad is None else t.grad._data):
            if data is not None and type(data) in DEVICE_MODULES:
                memo[id(data)] = to_host(data)
    return copy.deepcopy(model, memo) if memo else model


def _batches(data, batch_size: int) -> list:
    if isinstance(data, (np.ndarray, Tensor)):
        a = to_host(data)
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        return [a[i : i + batch_size] for i in range(0, len(a), batch_size)]
    batches = list(data)
    for b in batches:
        if isinstance(b, (tuple, list)) and len(b) == 2 and not isinstance(b[0], (tuple, list)):
            raise ValueError(
                "quantize: calibration_data must hold input batches only, not (x, y) pairs; "
                "pass [x for x, _ in loader]"
            )
    return batches


def quantize(
    model: Module,
    calibration_data,
    per_channel: bool = True,
    batch_size: int = 64,
    reduce_range: bool = False,
):
    """A post-training int8 copy of ``model`` (the model itself is left unchanged).

    Every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and Keras-style ``Dense``, ``Conv1D``,
    ``Conv2D`` becomes its int8 class (``nerve.quantization.modules``): the weight is stored as
    symmetric int8 with a float32 scale per output channel (``per_channel=True``) or one per
    tensor, and the layer's input range is calibrated as the min/max over
    ``calibration_data``, run through the model in eval mode. Other layers stay float32.

    The compute stays float32: the int8 weight is dequantized (``q * scale``) and the input
    rounded to its calibrated int8 grid on each call, which reproduces int8 inference's
    rounding at float32 speed. The quantized model is for inference: the weights are no longer
    trainable. Its ``state_dict`` holds int8 weights, so its weights file is about 4x smaller
    (``state_nbytes`` measures it); ``nerve.onnx.export(..., quantize='int8')`` gives a model
    that onnxruntime runs with int8 kernels.

    Args:
        model: an nn.Module or Keras-style model.
        calibration_data: an array of inputs (cut into ``batch_size`` batches) or an iterable
            of input batches (arrays, Tensors, or tuples of them for several inputs).
        per_channel: one weight scale per output channel (True) or per tensor.
        batch_size: the batch size when ``calibration_data`` is one array.
        reduce_range: 7-bit weights ([-63, 63]). Only for a model to be exported and run by
            onnxruntime on an x86 CPU without VNNI, whose int8 kernels add pairs of uint8 x
            int8 products in 16 bits and so saturate on full-range weights.

    Returns:
        The quantized copy, in eval mode, on the CPU (a model on a GPU is copied to the host
        first, as torch's int8 modules run on the CPU; calibration batches may be on either).

    Raises:
        ValueError: when the model has no layer to quantize, or calibration_data is empty.

    >>> import numpy as np
    >>> from nerve import nn
    >>> from nerve.quantization import quantize, state_nbytes
    >>> net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    >>> qnet = quantize(net, np.random.randn(32, 64).astype(np.float32))
    >>> qnet[0].weight_int8.dtype
    dtype('int8')
    >>> round(state_nbytes(net) / state_nbytes(qnet), 1)
    3.6
    """
    if not isinstance(model, Module):
        raise TypeError(f"quantize: expected an nn.Module or Model, got {type(model).__name__}")
    # int8 inference runs on the CPU (as torch's quantized modules): a model on a GPU is
    # quantized into a host copy; its weights are copied to the host once, not on the device
    host = host_copy(model)
    qmodel = host if host is not model else copy.deepcopy(model)
    targets = [m for m in qmodel.modules() if type(m) in QUANTIZED]
    if not targets:
        raise ValueError(
            f"quantize: {type(model).__name__} has no layer to quantize (Linear, Conv1d, Conv2d, "
            "Dense, Conv1D, Conv2D)"
        )
    batches = _batches(calibration_data, batch_size)
    if not batches:
        raise ValueError("quantize: calibration_data holds no batches")
    ranges = {id(m): [np.inf, -np.inf] for m in targets}

    def observe(module, args):
        x = args[0]
        data = to_host(x)
        r = ranges[id(module)]
        r[0], r[1] = min(r[0], float(data.min())), max(r[1], float(data.max()))

    hooks = [m.register_forward_pre_hook(observe) for m in targets]
    qmodel.eval()
    try:
        with no_grad():
            for batch in batches:
                inputs = batch if isinstance(batch, (tuple, list)) else (batch,)
                qmodel(*[Tensor._wrap(to_host(b)) for b in inputs])
    finally:
        for h in hooks:
            h.remove()
    for m in targets:
        lo, hi = ranges[id(m)]
        if not np.isfinite(lo):  # never called during calibration: a neutral range
            lo, hi = -1.0, 1.0
        m.__class__ = QUANTIZED[type(m)]
        m._quantize(per_channel, lo, hi, reduce_range)
    return qmodel


def state_nbytes(model: Module) -> int:
    """The bytes of a model's state_dict arrays: the payload of its weights file."""
    values = model.state_dict().values()  # arrays on either device have nbytes
    return int(sum(v.nbytes if hasattr(v, "nbytes") else np.asarray(v).nbytes for v in values))
