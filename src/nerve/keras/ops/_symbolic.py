"""keras.ops on symbolic tensors: ``keras.ops.concatenate([a, b])`` inside a functional model.

In Keras 3 an op called on KerasTensors (the outputs of ``keras.Input`` and of layers called on
them) is recorded in the graph. Here such a call becomes one :class:`OpLayer` node: a weightless
layer that runs the op on the real tensors when the model runs. Calls on real tensors go
straight to the op.
"""

from __future__ import annotations

import functools

from nerve.layers.input_layer import KerasTensor, OperationLayer, has_symbolic

OpLayer = OperationLayer  # the one graph node for ops and operators on symbolic tensors


def _symbolic(args: tuple, kwargs: dict) -> bool:
    # the common case first: plain tensors and numbers, no structure to walk
    for a in args:
        if isinstance(a, KerasTensor):
            return True
        if isinstance(a, (list, tuple, dict)) and has_symbolic(a):
            return True
    return bool(kwargs) and has_symbolic(kwargs)


def symbolic(op):
    """``op``, also accepting KerasTensors (then recorded as an :class:`OpLayer` node)."""

    @functools.wraps(op)
    def call(*args, **kwargs):
        if _symbolic(args, kwargs):
            return OpLayer(op)([list(args), kwargs])
        return op(*args, **kwargs)

    return call
