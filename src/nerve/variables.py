"""Variable: what Keras's add_weight and Metric.add_variable return, a Parameter with Keras's
methods (assign, assign_add, assign_sub, value, numpy, trainable)."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.device import to_host
from nerve.nn.parameter import Parameter


class Variable(Parameter):
    """A layer weight: a Parameter (so torch-style code and optimizers see it as one) with
    Keras's variable API: ``assign``, ``assign_add``, ``assign_sub``, ``value``, ``numpy()``,
    ``trainable`` and ``name``.

    >>> from nerve import layers
    >>> layer = layers.Dense(2)
    >>> layer.build((None, 3))
    >>> layer.kernel.assign_add(np.ones((3, 2)))
    >>> layer.kernel.name, layer.kernel.trainable
    ('kernel', True)
    """

    __slots__ = ("name",)

    def __init__(self, data=None, requires_grad: bool = True, name: str = "variable"):
        super().__init__(data, requires_grad=requires_grad)
        self.name = name

    @property
    def value(self) -> Variable:
        """The variable itself (Keras's backend tensor; its ``.grad`` after backward)."""
        return self

    @property
    def trainable(self) -> bool:
        return self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.requires_grad_(bool(value))

    def numpy(self) -> np.ndarray:
        """The values, trainable or not, as Keras's numpy(): shared with the variable on the
        CPU, a host copy of a variable on a device."""
        return self._data if type(self._data) is np.ndarray else to_host(self._data)

    @property
    def path(self) -> str:
        return self.name

    def _checked(self, value, what: str) -> np.ndarray:
        v = value._data if isinstance(value, Tensor) else np.asarray(value)
        try:
            return np.broadcast_to(v, self._data.shape).astype(self._data.dtype, copy=False)
        except ValueError:
            raise ValueError(
                f"{what} on variable {self.name!r}: the value's shape {v.shape} does not match "
                f"the variable's {self._data.shape}"
            ) from None

    def assign(self, value) -> None:
        """Set the variable's values in place (shape and dtype kept)."""
        self._data[...] = self._checked(value, "assign")

    def assign_add(self, delta) -> None:
        self._data += self._checked(delta, "assign_add")

    def assign_sub(self, delta) -> None:
        self._data -= self._checked(delta, "assign_sub")

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.name}, shape={self._data.shape}, dtype={self._data.dtype.name}, "
            f"value={np.array2string(self._data, threshold=6)}>"
        )
