"""Linear and Bilinear layers."""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.functional.linear import Linear as LinearOp
from nerve.nn.module import Module
from nerve.nn.modules._factory import place
from nerve.nn.parameter import Parameter
from nerve.primitives import linalg


def _check_size(cls: str, name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{cls}: {name} must be a non-negative int, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features).

    Weights and bias start as U(-1/sqrt(in_features), 1/sqrt(in_features)), as in torch.

    Shape: input (*, in_features) -> output (*, out_features).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ):
        super().__init__()
        self.in_features = _check_size("Linear", "in_features", in_features)
        self.out_features = _check_size("Linear", "out_features", out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), np.float32))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, np.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        place(self, device, dtype)

    def reset_parameters(self) -> None:
        init.uniform_fan_in_(self.weight, self.in_features)
        if self.bias is not None:
            init.uniform_fan_in_(self.bias, self.in_features)

    def forward(self, x):
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}) "
                f"got input of shape {tuple(x.shape)}: its last dim must be {self.in_features}"
            )
        if type(self) is Linear:  # one dict read instead of two __getattr__ calls (~3 us)
            params = self.__dict__["_parameters"]
            weight, bias = params["weight"], params["bias"]
        else:  # a subclass may make them properties (the int8 layer's weight is one)
            weight, bias = self.weight, self.bias
        if type(x) is Tensor and x._data.dtype == weight._data.dtype and weight.ndim == 2:
            # The module's own shapes are right by construction: straight to the op (a third
            # of the per-call overhead at batch 1). Anything unusual takes F.linear's checks.
            return LinearOp.apply(x, weight, bias)
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T A x2 + b, with A of shape (out_features, in1_features, in2_features)."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in1_features = _check_size("Bilinear", "in1_features", in1_features)
        self.in2_features = _check_size("Bilinear", "in2_features", in2_features)
        self.out_features = _check_size("Bilinear", "out_features", out_features)
        self.weight = Parameter(
            np.empty((out_features, in1_features, in2_features), dtype=np.float32)
        )
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=np.float32))
        else:
            self.register_parameter("bias", None)
        init.uniform_fan_in_(self.weight, in1_features)
        if bias:
            init.uniform_fan_in_(self.bias, in1_features)
        place(self, device, dtype)

    def forward(self, x1, x2):
        if x1.shape[-1] != self.in1_features or x2.shape[-1] != self.in2_features:
            raise ValueError(
                f"Bilinear({self.in1_features}, {self.in2_features}, {self.out_features}) got "
                f"inputs of shapes {tuple(x1.shape)} and {tuple(x2.shape)}"
            )
        out = linalg.einsum("...i,oij,...j->...o", x1, self.weight, x2)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
