"""tf.layers: the functional layers of TensorFlow 1 (dense, dropout, flatten) as graph nodes."""

from __future__ import annotations

import numpy as np

from nerve.compat.v1.graph import GraphTensor, convert_to_tensor, get_default_graph, matmul
from nerve.compat.v1.init_ops import glorot_uniform_initializer, zeros_initializer
from nerve.compat.v1.nn import dropout as _nn_dropout
from nerve.compat.v1.variables import Variable

__all__ = ["dense", "dropout", "flatten"]


def dense(
    inputs,
    units,
    activation=None,
    use_bias=True,
    kernel_initializer=None,
    bias_initializer=None,
    kernel_regularizer=None,
    bias_regularizer=None,
    activity_regularizer=None,
    kernel_constraint=None,
    bias_constraint=None,
    trainable=True,
    name=None,
    reuse=None,
):
    """``activation(inputs @ kernel + bias)`` with new Variables ``name/kernel`` and ``name/bias``.

    Args:
        inputs: a float tensor whose last dimension is known.
        units: the output size.
        activation: a function applied to the result (e.g. tf.nn.relu), or None.
        use_bias: add a bias.
        kernel_initializer: default Glorot uniform, as TensorFlow 1.
        bias_initializer: default zeros.
        trainable: whether the Variables are trainable.
        name: the layer's name (default ``dense``, made unique).

    Raises:
        ValueError: the last dimension of ``inputs`` is unknown, or units is not positive;
            regularizers, constraints or reuse given (not supported).
    """
    x = convert_to_tensor(inputs, what="dense")
    for label, value in (
        ("kernel_regularizer", kernel_regularizer),
        ("bias_regularizer", bias_regularizer),
        ("activity_regularizer", activity_regularizer),
        ("kernel_constraint", kernel_constraint),
        ("bias_constraint", bias_constraint),
        ("reuse", reuse),
    ):
        if value is not None:
            raise ValueError(f"tf.layers.dense: {label} is not supported")
    if x.shape.ndims is None or x.shape[-1] is None:
        raise ValueError(
            f"tf.layers.dense: the last dimension of the inputs ({x.name}, shape {x.shape}) "
            "should be defined. Found None."
        )
    if int(units) <= 0:
        raise ValueError(f"tf.layers.dense: units must be positive, got {units}")
    scope = get_default_graph().unique_name(name or "dense")
    kernel_init = kernel_initializer or glorot_uniform_initializer()
    kernel = Variable(
        kernel_init((x.shape[-1], int(units)), dtype=x.dtype),
        trainable=trainable,
        name=f"{scope}/kernel",
    )
    out = matmul(x, kernel) if x.shape.ndims == 2 else _last_axis_matmul(x, kernel)
    if use_bias:
        bias = Variable(
            (bias_initializer or zeros_initializer())((int(units),), dtype=x.dtype),
            trainable=trainable,
            name=f"{scope}/bias",
        )
        out = out + bias
    return activation(out) if activation is not None else out


def _last_axis_matmul(x, kernel):
    shape = list(x.shape)[:-1] + [kernel.shape[-1]]
    return GraphTensor("Tensordot", lambda a, w: a @ w, (x, kernel), x.dtype, shape, None)


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Dropout at ``rate`` when ``training`` (a bool or a bool placeholder), else the input.

    Unlike tf.nn.dropout this is off by default (training=False), as in TensorFlow 1.
    """
    x = convert_to_tensor(inputs, what="dropout")
    if isinstance(training, GraphTensor):
        dropped = _nn_dropout(x, rate=rate, noise_shape=noise_shape, seed=seed)
        return GraphTensor(
            "cond",
            lambda flag, a, b: a if bool(flag.item()) else b,
            (training, dropped, x),
            x.dtype,
            x.shape,
            name,
        )
    if not training:
        return x
    return _nn_dropout(x, rate=rate, noise_shape=noise_shape, seed=seed, name=name)


def flatten(inputs, name=None, data_format="channels_last"):
    """``inputs`` reshaped to (batch, everything else)."""
    x = convert_to_tensor(inputs, what="flatten")
    shape = None
    if x.shape.ndims is not None:
        rest = x.shape.as_list()[1:]
        shape = [x.shape[0], None if None in rest else int(np.prod(rest, dtype=np.int64))]
    return GraphTensor("Flatten", lambda t: t.reshape(t.shape[0], -1), (x,), x.dtype, shape, name)
