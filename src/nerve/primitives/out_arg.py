"""torch's ``out=`` keyword: a result written into a given tensor instead of a new one."""

from __future__ import annotations

import warnings

import numpy as np

from nerve.autograd.grad_mode import _modes as _grad_modes
from nerve.autograd.grad_mode import no_grad
from nerve.autograd.inplace import bump as _bump
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of


def write_out(what: str, out, operands, compute, exact_dtype: bool = False) -> Tensor:
    """torch's ``out=``: compute the result and write it into ``out``, which is returned.

    Not differentiable, as in torch: nothing is recorded, and asking for a gradient is an error.
    An ``out`` of another shape is resized (with torch's warning when it held elements).

    Args:
        what: the function's name, for errors.
        out: the Tensor written into.
        operands: the inputs, to see whether one requires grad.
        compute: () -> Tensor, the out-of-place op.
        exact_dtype: ``out`` must have the result's dtype (matmul) instead of one it can be
            cast to (add, mul).

    Returns:
        ``out``.

    Raises:
        TypeError: ``out`` is not a Tensor.
        RuntimeError: grad mode is on and an input or ``out`` requires grad; the result's dtype
            does not fit ``out``.
    """
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _grad_modes.enabled and (
        out.requires_grad or any(getattr(o, "requires_grad", False) for o in operands)
    ):
        raise RuntimeError(
            f"{what}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    with no_grad():
        result = compute()._data
    target = out._data.dtype
    if exact_dtype and result.dtype != target:
        raise RuntimeError(
            f"{what}(): expected out tensor to have dtype {result.dtype}, but got {target} instead"
        )
    if result.dtype != target and not np.can_cast(result.dtype, target, "same_kind"):
        raise RuntimeError(
            f"{what}(): result type {result.dtype} can't be cast to the desired output type "
            f"{target}"
        )
    if out._data.shape != result.shape:
        if out._data.size:
            warnings.warn(
                f"{what}(): an output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(result.shape)}",
                UserWarning,
                stacklevel=3,
            )
        out._data = array_module_of(result).empty(result.shape, dtype=target)
    np.copyto(out._data, result, casting="unsafe")
    _bump(out._data)
    return out
