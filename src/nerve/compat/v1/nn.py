"""tf.nn: activations, dropout and the losses TensorFlow 1 tutorials use, over nerve.nn.functional.

The losses give one value per example (no reduction), as TensorFlow's do; wrap them in
``tf.reduce_mean``.
"""

from __future__ import annotations

import numpy as np

import nerve
import nerve.nn.functional as F
from nerve.autograd import Tensor as NerveTensor
from nerve.compat.v1.graph import GraphTensor, TensorShape, binary, convert_to_tensor
from nerve.compat.v1.math_ops import _float_unary, sigmoid, tanh
from nerve.compat.v1.nn_conv import avg_pool, conv2d, max_pool

__all__ = [
    "avg_pool",
    "bias_add",
    "conv2d",
    "dropout",
    "elu",
    "l2_loss",
    "leaky_relu",
    "log_softmax",
    "max_pool",
    "relu",
    "relu6",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2",
    "softplus",
    "sparse_softmax_cross_entropy_with_logits",
    "tanh",
]


def relu(features, name=None):
    """max(features, 0)."""
    return _float_unary("Relu", F.relu, features, name)


def relu6(features, name=None):
    """min(max(features, 0), 6)."""
    return _float_unary("Relu6", F.relu6, features, name)


def elu(features, name=None):
    """x for x > 0, exp(x) - 1 otherwise."""
    return _float_unary("Elu", F.elu, features, name)


def leaky_relu(features, alpha=0.2, name=None):
    """x for x > 0, alpha * x otherwise (TensorFlow's default alpha is 0.2)."""
    return _float_unary("LeakyRelu", lambda t: F.leaky_relu(t, float(alpha)), features, name)


def softplus(features, name=None):
    """log(1 + exp(x))."""
    return _float_unary("Softplus", F.softplus, features, name)


def _axis(op_type, axis, dim):
    if axis is not None and dim is not None:
        raise ValueError(f"{op_type}: give axis or dim (its old name), not both")
    return -1 if axis is None and dim is None else int(dim if axis is None else axis)


def softmax(logits, axis=None, name=None, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (default the last; ``dim`` is the old name)."""
    ax = _axis("Softmax", axis, dim)
    return _float_unary("Softmax", lambda t: nerve.softmax(t, dim=ax), logits, name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """log(softmax(x)) along ``axis``, computed stably."""
    ax = _axis("LogSoftmax", axis, dim)
    return _float_unary("LogSoftmax", lambda t: F.log_softmax(t, dim=ax), logits, name)


def _without_axis(shape: TensorShape, axis: int) -> TensorShape:
    if shape.ndims is None:
        return TensorShape(None)
    dims = list(shape)
    del dims[axis % len(dims)]
    return TensorShape(dims)


def _check_logits(op_type, labels, logits):
    logits = convert_to_tensor(logits, what=op_type)
    if logits.dtype.kind != "f":
        raise TypeError(f"{op_type}: logits {logits.name} must be float, got {logits.dtype}")
    labels = convert_to_tensor(labels, dtype=logits.dtype, what=op_type)
    if not labels.shape.is_compatible_with(logits.shape):
        raise ValueError(
            f"{op_type}: labels {labels.name} {labels.shape} and logits {logits.name} "
            f"{logits.shape} must have the same shape"
        )
    return labels, logits


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=None, name=None, dim=None):
    """-sum(labels * log_softmax(logits)) along ``axis``: one loss per example.

    Gradients flow into both logits and labels (the v2 behaviour).

    Args:
        labels: class probabilities (e.g. one-hot), the logits' shape.
        logits: unnormalized scores.
        axis: the class axis (default the last; ``dim`` is the old name).

    Raises:
        ValueError: labels and logits of different shapes.
    """
    ax = _axis("SoftmaxCrossEntropyWithLogits", axis, dim)
    labels, logits = _check_logits("SoftmaxCrossEntropyWithLogits", labels, logits)
    return GraphTensor(
        "SoftmaxCrossEntropyWithLogits",
        lambda y, z: -(y * F.log_softmax(z, dim=ax)).sum(dim=ax),
        (labels, logits),
        logits.dtype,
        _without_axis(logits.shape, ax),
        name,
    )


def softmax_cross_entropy_with_logits(
    _sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None
):
    """The v1 loss: as ``softmax_cross_entropy_with_logits_v2`` with no gradient into labels.

    Raises:
        ValueError: positional arguments (TensorFlow requires labels= and logits=).
    """
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError(
            "softmax_cross_entropy_with_logits: call it with named arguments (labels=..., "
            "logits=...)"
        )
    ax = _axis("SoftmaxCrossEntropyWithLogits", axis, None if axis is not None else dim)
    labels, logits = _check_logits("SoftmaxCrossEntropyWithLogits", labels, logits)
    return GraphTensor(
        "SoftmaxCrossEntropyWithLogits",
        lambda y, z: -(y.detach() * F.log_softmax(z, dim=ax)).sum(dim=ax),
        (labels, logits),
        logits.dtype,
        _without_axis(logits.shape, ax),
        name,
    )


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Cross-entropy of logits (N, C) against integer class labels (N,): one loss per example.

    Raises:
        ValueError: positional arguments, or labels whose rank is not the logits' rank - 1.
        TypeError: labels that are not integers.
    """
    op = "SparseSoftmaxCrossEntropyWithLogits"
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError(f"{op}: call it with named arguments (labels=..., logits=...)")
    logits = convert_to_tensor(logits, what=op)
    labels = convert_to_tensor(labels, what=op)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels {labels.name} must be int32 or int64, got {labels.dtype}")
    ls, zs = labels.shape, logits.shape
    known = ls.ndims is not None and zs.ndims is not None
    if known and (ls.ndims != zs.ndims - 1 or not ls.is_compatible_with(zs[:-1])):
        raise ValueError(
            f"{op}: labels {labels.name} {ls} must have the logits' shape {zs} without its "
            "last axis"
        )

    def fn(y, z):
        if z.ndim == 2:
            return F.cross_entropy(z, y.astype(np.int64), reduction="none")
        flat = F.cross_entropy(
            z.reshape(-1, z.shape[-1]), y.reshape(-1).astype(np.int64), reduction="none"
        )
        return flat.reshape(tuple(y.shape))

    return GraphTensor(
        op, fn, (labels, logits), logits.dtype, ls if ls.ndims is not None else zs[:-1], name
    )


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """max(x, 0) - x * z + log(1 + exp(-|x|)) elementwise, for logits x and labels z."""
    op = "SigmoidCrossEntropyWithLogits"
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError(f"{op}: call it with named arguments (labels=..., logits=...)")
    labels, logits = _check_logits(op, labels, logits)
    return GraphTensor(
        op,
        lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none"),
        (labels, logits),
        logits.dtype,
        logits.shape,
        name,
    )


def bias_add(value, bias, data_format=None, name=None):
    """value + bias, the bias (1-D) along the last axis."""
    bias = convert_to_tensor(bias, what="BiasAdd")
    if bias.shape.ndims not in (None, 1):
        raise ValueError(f"BiasAdd: bias {bias.name} must be 1-D, got shape {bias.shape}")
    if data_format not in (None, "NHWC"):
        raise ValueError(f"BiasAdd: only data_format='NHWC' (channels last), got {data_format!r}")
    return binary("BiasAdd", lambda a, b: a + b, value, bias, name)


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    t = convert_to_tensor(t, what="L2Loss")
    return GraphTensor("L2Loss", lambda a: a.square().sum() * 0.5, (t,), t.dtype, [], name)


def _dropout_rate(keep_prob, rate):
    if keep_prob is not None and rate is not None:
        raise ValueError("dropout: give keep_prob or rate, not both")
    if keep_prob is None and rate is None:
        raise ValueError("dropout: give keep_prob (v1) or rate = 1 - keep_prob")
    value = keep_prob if rate is None else rate
    if isinstance(value, GraphTensor):
        return value, rate is None
    value = float(value)
    if rate is None and not 0.0 < value <= 1.0:
        raise ValueError(f"dropout: keep_prob must be in (0, 1], got {value}")
    if rate is not None and not 0.0 <= value < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1), got {value}")
    return (1.0 - value if rate is None else value), False


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Keep each element with probability keep_prob (= 1 - rate), scaled by 1 / keep_prob.

    Applied every time the node runs (TensorFlow 1 has no training flag here: feed a
    keep_prob placeholder 1.0 for evaluation).

    Args:
        x: a float tensor.
        keep_prob: the keep probability in (0, 1], a number or a scalar node.
        noise_shape: the shape of the keep mask, broadcast against x (e.g. [N, 1]).
        seed: draw the mask from a generator of its own seeded with this.
        rate: the drop probability in [0, 1), instead of keep_prob.

    Raises:
        ValueError: both or neither of keep_prob and rate, or a value out of range (a fed
            keep_prob out of range fails at run time, naming the node).
    """
    x = convert_to_tensor(x, what="dropout")
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: {x.name} must be float, got {x.dtype}")
    p, is_keep = _dropout_rate(keep_prob, rate)
    inputs = (x,)
    if isinstance(p, GraphTensor):
        inputs = (x, p)
    own_rng = None if seed is None else np.random.default_rng(int(seed))

    def fn(t, q=None):
        drop = p if q is None else float(q.item())
        if q is not None:
            drop = 1.0 - drop if is_keep else drop
            if not 0.0 <= drop < 1.0:
                raise ValueError(f"keep_prob must be in (0, 1] and rate in [0, 1), got {q.item()}")
        if drop == 0.0:
            return t
        if noise_shape is None and own_rng is None:
            return F.dropout(t, p=drop, training=True)
        shape = tuple(t.shape) if noise_shape is None else tuple(int(d) for d in noise_shape)
        rng = own_rng if own_rng is not None else nerve.backend.rng()
        keep = (rng.random(shape) >= drop).astype(t.dtype) * t.dtype.type(1.0 / (1.0 - drop))
        return t * NerveTensor(keep, dtype=t.dtype)

    return GraphTensor("dropout", fn, inputs, x.dtype, x.shape, name)
