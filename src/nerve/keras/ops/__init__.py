"""keras.ops for nerve: Keras 3's operations, with its names, keywords, defaults and dtypes.

``from nerve.keras import ops`` and ``ops.softmax(x)``, ``ops.matmul(a, b)``,
``ops.split(x, 3)`` behave as Keras 3's (NumPy-like semantics, float32 by default, int32 for
Python ints and indices). Inputs may be nerve Tensors, NumPy arrays, Python numbers or lists;
results are nerve Tensors, differentiable wherever Keras's op is (``convert_to_numpy`` gives
arrays). Every op is composed from nerve's primitives; none holds math of its own.

Families: ``core`` (conversion, slicing, scatter, control flow), ``numpy_*`` (creation, math,
reductions, arrays, products), ``nn`` (activations, crossentropies, normalization),
``nn_conv`` (conv, pooling), ``nn_attention`` (dot_product_attention, layer/rms norm), ``math``
(top_k, logsumexp, segments). Where Keras's torch backend departs from Keras's documented
(NumPy / TensorFlow) semantics (``take`` with negative indices, ``pad`` with an int width,
``cross`` of square inputs, ``sparsemax``, strided 'same' 2-d average pooling), these follow the
documentation. Not here: ``keras.ops.image``, ``keras.ops.linalg`` (inv, solve, svd, qr, ...),
FFTs, ``ctc_*``, ``custom_gradient``, ``conv_transpose``, ``separable_conv``, adaptive pooling,
and the ``nan*`` quantiles.

>>> from nerve.keras import ops
>>> ops.softmax([[1.0, 1.0]]).tolist()
[[0.5, 0.5]]
>>> [p.shape for p in ops.split(ops.arange(6), 3)]
[(2,), (2,), (2,)]
"""

from nerve.keras._door import missing
from nerve.keras.ops import (
    core,
    math,
    nn,
    nn_attention,
    nn_conv,
    numpy_array,
    numpy_create,
    numpy_extra,
    numpy_linalg,
    numpy_math,
    numpy_more,
    numpy_reduce,
)
from nerve.keras.ops._symbolic import symbolic
from nerve.keras.ops.core import *  # noqa: F403
from nerve.keras.ops.math import *  # noqa: F403
from nerve.keras.ops.nn import *  # noqa: F403
from nerve.keras.ops.nn_attention import *  # noqa: F403
from nerve.keras.ops.nn_conv import *  # noqa: F403
from nerve.keras.ops.numpy_array import *  # noqa: F403
from nerve.keras.ops.numpy_create import *  # noqa: F403
from nerve.keras.ops.numpy_extra import *  # noqa: F403
from nerve.keras.ops.numpy_linalg import *  # noqa: F403
from nerve.keras.ops.numpy_math import *  # noqa: F403
from nerve.keras.ops.numpy_more import *  # noqa: F403
from nerve.keras.ops.numpy_reduce import *  # noqa: F403

__all__ = sorted(
    {
        *core.__all__,
        *math.__all__,
        *nn.__all__,
        *nn_attention.__all__,
        *nn_conv.__all__,
        *numpy_array.__all__,
        *numpy_create.__all__,
        *numpy_linalg.__all__,
        *numpy_extra.__all__,
        *numpy_math.__all__,
        *numpy_more.__all__,
        *numpy_reduce.__all__,
    }
)

# Ops that take functions or only read metadata are not recorded in functional graphs.
_NOT_RECORDED = {
    "cond",
    "convert_to_numpy",
    "dtype",
    "fori_loop",
    "is_tensor",
    "map",
    "ndim",
    "scan",
    "shape",
    "switch",
    "vectorized_map",
    "while_loop",
}
# Every other op also accepts KerasTensors (``keras.Input`` outputs): see _symbolic.py.
for _name in __all__:
    if _name not in _NOT_RECORDED:
        globals()[_name] = symbolic(globals()[_name])
del _name


def __getattr__(name):
    # a Keras op nerve lacks: say so, and suggest the nearest names
    raise missing("nerve.keras.ops", globals(), name)
