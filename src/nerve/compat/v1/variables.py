"""Variables: graph nodes whose values live in a Session, set by initializers and assignments.

As in TensorFlow 1, a Variable has no value until its initializer has run in that session
(``tf.global_variables_initializer()``); each Session keeps its own values.
"""

from __future__ import annotations

import numpy as np

from nerve.compat.v1.graph import (
    GraphTensor,
    Operation,
    TensorShape,
    as_dtype,
    convert_to_tensor,
    get_default_graph,
)

__all__ = [
    "Variable",
    "assign",
    "assign_add",
    "assign_sub",
    "global_variables",
    "global_variables_initializer",
    "initialize_all_variables",
    "local_variables_initializer",
    "trainable_variables",
    "variables_initializer",
]


class Variable(GraphTensor):
    """A value that persists across ``Session.run`` calls (tf.Variable).

    Args:
        initial_value: a node (e.g. ``tf.random_normal([784, 500])``, evaluated each time the
            initializer runs), a number, list or array, or a callable returning one of those.
        trainable: whether optimizers update it by default (default True).
        collections, caching_device: accepted and ignored (one graph-wide variable list).
        validate_shape: whether assignments must keep the shape (default True).
        name: the variable's name (default ``'Variable'``, made unique).
        dtype: cast the initial value to this dtype when it is a Python value.
        shape: the static shape, when it should be looser than the initial value's.

    Raises:
        ValueError: no initial value.
        TypeError: an initial value that is not numeric or does not fit ``dtype``.
    """

    def __init__(
        self,
        initial_value=None,
        trainable=None,
        collections=None,
        validate_shape: bool = True,
        caching_device=None,
        name=None,
        dtype=None,
        shape=None,
    ):
        if initial_value is None:
            raise ValueError("tf.Variable: initial_value must be specified.")
        if callable(initial_value) and not isinstance(initial_value, GraphTensor):
            initial_value = initial_value()
        dtype = None if dtype is None else as_dtype(dtype, "tf.Variable")
        init = convert_to_tensor(initial_value, dtype=dtype, what="tf.Variable")
        static = init.shape if shape is None else TensorShape(shape)
        if not static.is_compatible_with(init.shape):
            raise ValueError(f"tf.Variable: shape {static} does not fit the initial value's")
        super().__init__("Variable", None, (), init.dtype, static, name or "Variable")
        self.initial_value = init
        self.trainable = True if trainable is None else bool(trainable)
        self.validate_shape = bool(validate_shape)
        self.initializer = Operation(
            "Assign",
            (init,),
            fn=lambda run, value: run.session._assign(self, self._checked(value._data)),
            name=f"{self.op_name[len(self.graph._prefix) :]}/Assign",  # under the same scope
            effect=True,
        )
        self.graph._variables.append(self)

    def _compute(self, run, args):
        return run.session._variable(self)

    def _checked(self, value: np.ndarray) -> np.ndarray:
        if self.validate_shape and not self.shape.is_compatible_with(value.shape):
            raise ValueError(
                f"Assign to {self.op_name}: value of shape {value.shape} does not match the "
                f"Variable's shape {self.shape} (validate_shape=True)"
            )
        return value

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype}_ref>"

    def value(self):
        """This Variable as a plain tensor node (its current value when run)."""
        return self

    read_value = value

    def initialized_value(self):
        """The initial value node (what the initializer assigns)."""
        return self.initial_value

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """A node that sets this Variable to ``value`` when run, and gives the new value."""
        return assign(self, value, name=name)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        """A node that adds ``delta`` to this Variable when run, and gives the new value."""
        return assign_add(self, delta, name=name)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        """A node that subtracts ``delta`` from this Variable when run."""
        return assign_sub(self, delta, name=name)

    def load(self, value, session=None) -> None:
        """Set this Variable's value in ``session`` (default: the default session) directly."""
        from nerve.compat.v1.session import _session_for

        arr = np.asarray(value).astype(self.dtype, copy=False)
        _session_for(self, session)._assign(self, self._checked(arr))


class _Assign(GraphTensor):
    is_effect = True

    def __init__(self, op_type, var, inputs, combine, name):
        if not isinstance(var, Variable):
            raise TypeError(f"{op_type}: ref must be a tf.Variable, got {var!r}")
        super().__init__(op_type, None, inputs, var.dtype, var.shape, name)
        self._var = var
        self._combine = combine

    def _compute(self, run, args):
        value = self._combine(*(a._data for a in args))
        return run.session._assign(self._var, self._var._checked(value))


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """A node that sets Variable ``ref`` to ``value`` when run (also before initialization).

    Raises:
        TypeError: ``ref`` is not a Variable, or ``value`` has another dtype.
        ValueError: the shapes are incompatible.
    """
    value = convert_to_tensor(value, dtype=getattr(ref, "dtype", None), what="Assign")
    checked = isinstance(ref, Variable) and ref.validate_shape
    if checked and not ref.shape.is_compatible_with(value.shape):
        raise ValueError(
            f"Assign: {ref.op_name} has shape {ref.shape}, the value {value.name} has "
            f"shape {value.shape}"
        )
    return _Assign("Assign", ref, (value,), lambda v: v, name)


def assign_add(ref, value, use_locking=None, name=None):
    """A node that adds ``value`` to Variable ``ref`` when run, giving the new value."""
    value = convert_to_tensor(value, dtype=getattr(ref, "dtype", None), what="AssignAdd")
    return _Assign("AssignAdd", ref, (ref, value), lambda a, b: a + b, name)


def assign_sub(ref, value, use_locking=None, name=None):
    """A node that subtracts ``value`` from Variable ``ref`` when run, giving the new value."""
    value = convert_to_tensor(value, dtype=getattr(ref, "dtype", None), what="AssignSub")
    return _Assign("AssignSub", ref, (ref, value), lambda a, b: a - b, name)


def global_variables() -> list:
    """Every Variable of the default graph, in creation order."""
    return list(get_default_graph()._variables)


all_variables = global_variables


def trainable_variables() -> list:
    """The default graph's Variables made with ``trainable=True``."""
    return [v for v in get_default_graph()._variables if v.trainable]


def variables_initializer(var_list, name: str = "init"):
    """An Operation that runs the initializers of ``var_list``."""
    var_list = list(var_list)
    for v in var_list:
        if not isinstance(v, Variable):
            raise TypeError(f"variables_initializer: {v!r} is not a tf.Variable")
    return Operation("NoOp", [v.initializer for v in var_list], name=name)


def global_variables_initializer():
    """An Operation that initializes every Variable made so far (and resets optimizer slots).

    Run it once in each session before using the Variables; running it again re-draws random
    initial values and starts the optimizers' moments afresh, as TensorFlow 1 does.
    """
    var_list = global_variables()

    def reset_slots(run, *_):
        run.session._slots.clear()

    return Operation("NoOp", [v.initializer for v in var_list], fn=reset_slots, name="init")


initialize_all_variables = global_variables_initializer


def local_variables_initializer():
    """An Operation that does nothing: this graph has no local Variables (metrics' counters)."""
    return Operation("NoOp", (), name="init_1")
