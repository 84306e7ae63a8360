"""Keras-style activation functions by name; the math is nerve's ops (one place)."""

from __future__ import annotations

from nerve.primitives import elementwise as ew
from nerve.primitives import reduction


def linear(x):
    return x


def relu(x, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """max(x, 0), with Keras's options: a leaky slope, a cap, a threshold."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ew.relu(x)
    out = ew.where(x > threshold, x, (x - threshold) * negative_slope if negative_slope else 0.0)
    return out if max_value is None else ew.clamp(out, max=max_value)


def relu6(x):
    return ew.clamp(ew.relu(x), max=6.0)


def leaky_relu(x, negative_slope: float = 0.2):
    """Keras's default slope is 0.2 (torch's is 0.01)."""
    return ew.leaky_relu(x, negative_slope)


def sigmoid(x):
    return ew.sigmoid(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, as in Keras 3."""
    return relu6(x + 3.0) / 6.0


def tanh(x):
    return ew.tanh(x)


def softmax(x, axis: int = -1):
    return reduction.softmax(x, axis)


def log_softmax(x, axis: int = -1):
    return reduction.log_softmax(x, axis)


def elu(x, alpha: float = 1.0):
    return ew.elu(x, alpha)


def selu(x):
    return ew.selu(x)


def gelu(x, approximate: bool = False):
    """Keras's default is the exact (erf) form."""
    return ew.gelu(x, "tanh" if approximate else "none")


def silu(x):
    return ew.silu(x)


swish = silu


def softplus(x):
    return ew.softplus(x)


def softsign(x):
    return x / (ew.abs(x) + 1.0)


def exponential(x):
    return ew.exp(x)


def mish(x):
    return x * ew.tanh(ew.softplus(x))


_BY_NAME = {
    f.__name__: f
    for f in (
        linear,
        relu,
        relu6,
        leaky_relu,
        sigmoid,
        hard_sigmoid,
        tanh,
        softmax,
        log_softmax,
        elu,
        selu,
        gelu,
        silu,
        softplus,
        softsign,
        exponential,
        mish,
    )
}
_BY_NAME["swish"] = silu


def get(identifier):
    """The activation function for a name ('relu'), None ('linear'), or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(
                f"unknown activation {identifier!r}; known: {sorted(_BY_NAME)}"
            ) from None
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an activation")


def serialize(activation) -> str:
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME and _BY_NAME[name] is activation:
        return name
    raise ValueError(f"activation {activation!r} has no registered name to serialize")
