"""TensorFlow 1 programs on nerve: ``import nerve.compat.v1 as tf``.

Graph-and-session code (placeholders, Variables, ``tf.Session``, ``sess.run(train_step,
feed_dict=...)``) runs with its imports changed and nothing else. Nodes are built by the tf.*
functions and by operators on nodes; ``Session.run`` evaluates what the fetches need by calling
nerve's Tensor ops, and training steps get their gradients from nerve's autograd.

>>> import numpy as np
>>> import nerve.compat.v1 as tf
>>> tf.reset_default_graph()
>>> x = tf.placeholder(tf.float32, [None, 2])
>>> w = tf.Variable([[1.0], [2.0]])
>>> y = tf.reduce_sum(tf.matmul(x, w))
>>> with tf.Session() as sess:
...     sess.run(tf.global_variables_initializer())
...     print(sess.run(y, feed_dict={x: np.ones((3, 2))}))
9.0

The MNIST tutorial helper is ``nerve.compat.v1.examples.tutorials.mnist.input_data`` (also
``tf.read_data_sets``), on nerve's MNIST and Fashion-MNIST loaders.
"""

import numpy as _np

from nerve.compat.v1 import errors, layers, math_ops, nn, random, train
from nerve.compat.v1.creation import (
    constant,
    fill,
    ones,
    ones_like,
    placeholder,
    placeholder_with_default,
    random_normal,
    random_uniform,
    set_random_seed,
    truncated_normal,
    zeros,
    zeros_like,
)
from nerve.compat.v1.graph import (
    Graph,
    Operation,
    TensorShape,
    convert_to_tensor,
    get_default_graph,
    name_scope,
    reset_default_graph,
)
from nerve.compat.v1.graph import GraphTensor as Tensor
from nerve.compat.v1.init_ops import (
    AUTO_REUSE,
    constant_initializer,
    get_variable,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variable_scope,
    zeros_initializer,
)
from nerve.compat.v1.math_ops import *  # noqa: F403
from nerve.compat.v1.math_ops import div, truediv
from nerve.compat.v1.session import InteractiveSession, Session, get_default_session
from nerve.compat.v1.train import gradients
from nerve.compat.v1.variables import (
    Variable,
    all_variables,
    assign,
    assign_add,
    assign_sub,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    local_variables_initializer,
    trainable_variables,
    variables_initializer,
)

# dtypes: NumPy's (tf.float32 == np.float32)
float16 = _np.dtype("float16")
float32 = _np.dtype("float32")
float64 = _np.dtype("float64")
double = float64
half = float16
int8 = _np.dtype("int8")
int16 = _np.dtype("int16")
int32 = _np.dtype("int32")
int64 = _np.dtype("int64")
uint8 = _np.dtype("uint8")
bool = _np.dtype("bool")

math = math_ops  # tf.math.log, tf.math.reduce_mean, ...
glorot_uniform = glorot_uniform_initializer
xavier_initializer = glorot_uniform_initializer


def disable_v2_behavior() -> None:
    """Nothing to do: this module is TensorFlow 1's graph mode already."""


def disable_eager_execution() -> None:
    """Nothing to do: nodes are always built first and run in a Session."""


def executing_eagerly() -> bool:
    """False: TensorFlow 1 graph mode."""
    return False


def group(*inputs, name=None):
    """An Operation that runs all ``inputs`` (e.g. several training steps at once)."""
    nodes = []
    for i in inputs:
        nodes.extend(i if isinstance(i, (list, tuple)) else [i])
    return Operation("NoOp", nodes, name=name or "group_deps")


def no_op(name=None):
    """An Operation that does nothing."""
    return Operation("NoOp", (), name=name or "NoOp")


def read_data_sets(train_dir=None, one_hot=False, **kwargs):
    """The MNIST tutorial's data helper; see examples.tutorials.mnist.input_data.read_data_sets."""
    from nerve.compat.v1.examples.tutorials.mnist import input_data

    return input_data.read_data_sets(train_dir, one_hot=one_hot, **kwargs)
