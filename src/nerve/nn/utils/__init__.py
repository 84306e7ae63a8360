"""Gradient clipping and flat parameter vectors (PyTorch's ``torch.nn.utils`` functions);
variable-length sequences in :mod:`nerve.nn.utils.rnn`."""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd import Tensor
from nerve.backend import array_module_of
from nerve.device import device_of, to_device
from nerve.nn.utils import rnn

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "rnn",
    "vector_to_parameters",
]


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _vector_norm(x, p: float):
    """The p-norm of ``x`` (a NumPy or device array) seen as one vector, a 0-d array of x's
    dtype on x's device."""
    x = x.ravel()
    if p == 2:
        return np.sqrt(np.dot(x, x))
    if p == math.inf:
        return np.max(np.abs(x)) if x.size else array_module_of(x).zeros((), x.dtype)
    if p == -math.inf:
        return np.min(np.abs(x)) if x.size else array_module_of(x).full((), math.inf, x.dtype)
    if p == 0:
        return (x != 0).sum().astype(x.dtype)
    if p == 1:
        return np.sum(np.abs(x))
    return np.sum(np.abs(x) ** p) ** (1.0 / p)


def _stack_on(arrays: list, dtype):
    """The 0-d ``arrays`` as one 1-d array of ``dtype``, on the device of the first (torch
    gathers per-device norms on the first gradient's device too)."""
    xp = array_module_of(arrays[0])
    if xp is not np or any(type(a) is not np.ndarray for a in arrays):
        dest = device_of(arrays[0])
        return xp.stack([to_device(a, dest) for a in arrays]).astype(dtype, copy=False)
    return np.array(arrays, dtype=dtype)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together, in place, so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients concatenated into one vector;
    every gradient is then multiplied by ``min(1, max_norm / (total_norm + 1e-6))``. Parameters
    whose ``.grad`` is None are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors whose gradients are clipped.
        max_norm: the largest allowed total norm.
        norm_type: the order of the norm: a positive number, ``inf`` (largest absolute value),
            ``-inf`` or 0 (default 2).
        error_if_nonfinite: raise if the total norm is nan or inf instead of scaling the
            gradients by it (default False).

    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.

    Raises:
        RuntimeError: the total norm is not finite and ``error_if_nonfinite`` is set.

    >>> import nerve
    >>> w = nerve.tensor([1.0, 1.0], requires_grad=True)
    >>> (w * nerve.tensor([3.0, 4.0])).sum().backward()
    >>> float(clip_grad_norm_([w], max_norm=1.0))
    5.0
    >>> w.grad._data.round(4)
    array([0.6, 0.8], dtype=float32)
    """
    norm_type = float(norm_type)
    grads = [p.grad._data for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return Tensor(np.zeros((), dtype=np.float32))
    dtype = np.result_type(*grads)
    # inf and nan gradients give an inf or nan norm, and scaling by it gives zeros and nans,
    # as in torch: that is what error_if_nonfinite=False asks for, so NumPy need not warn.
    with np.errstate(over="ignore", invalid="ignore"):
        norms = _stack_on([_vector_norm(g, norm_type) for g in grads], dtype)
        total = _vector_norm(norms, norm_type).astype(dtype)
        if error_if_nonfinite and not np.isfinite(total):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        coef = np.minimum(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
        if all(type(g) is np.ndarray for g in grads):
            for g in grads:
                g *= coef
            return Tensor(total)
        # device gradients: coef stays a 0-d array on each gradient's device (no host read)
        coefs = {device_of(norms): coef}
        for g in grads:
            d = device_of(g)
            if d not in coefs:
                coefs[d] = to_device(coef, d)
            g *= coefs[d]
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient, in place, to ``[-clip_value, clip_value]``.

    Args:
        parameters: a Tensor or an iterable of Tensors whose gradients are clipped.
        clip_value: the largest allowed absolute value of a gradient element.

    >>> import nerve
    >>> w = nerve.tensor([1.0, 1.0], requires_grad=True)
    >>> (w * nerve.tensor([-3.0, 0.5])).sum().backward()
    >>> clip_grad_value_(w, 1.0)
    >>> w.grad._data
    array([-1. ,  0.5], dtype=float32)
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters) -> Tensor:
    """Flatten parameters into one 1-d Tensor, in order.

    The result is a copy of the values (outside the autograd graph); write a vector back with
    :func:`vector_to_parameters`.

    Args:
        parameters: an iterable of Tensors.

    Returns:
        A 1-d Tensor of length ``sum(p.numel() for p in parameters)``.
    """
    arrays = [p._data.ravel() for p in _as_list(parameters)]
    if not arrays:
        return Tensor(np.zeros(0, dtype=np.float32))
    return Tensor(np.concatenate(arrays))


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of a 1-d vector into the parameters, in place.

    Args:
        vec: a 1-d Tensor holding every parameter's values, as from
            :func:`parameters_to_vector`.
        parameters: an iterable of Tensors, in the order the vector was made from.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    if vec._data.ndim != 1:
        raise ValueError(f"vector_to_parameters expects a 1-d vector, got shape {vec.shape}")
    params = _as_list(parameters)
    total = sum(p._data.size for p in params)
    if vec._data.size != total:
        raise ValueError(
            f"vector_to_parameters got a vector of {vec._data.size} values for parameters "
            f"holding {total}"
        )
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = vec._data[offset : offset + n].reshape(p._data.shape)
        offset += n
