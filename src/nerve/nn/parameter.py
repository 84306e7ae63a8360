"""Parameter: a leaf Tensor that a Module registers as trainable state."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A Tensor that is a module's parameter: requires grad by default, float32 by default.

    >>> p = Parameter(np.zeros((2, 3)))
    >>> p.requires_grad, p.dtype
    (True, dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            data = data._data  # shares memory, as torch's Parameter(tensor) does
        else:
            data = _to_array(data)
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
