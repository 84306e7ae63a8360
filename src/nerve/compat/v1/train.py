"""tf.train: optimizers whose ``minimize`` builds a training step, and tf.gradients.

A training step is a node: running it evaluates the loss, calls ``backward()`` on it (nerve's
autograd gives the gradients) and applies the update to the Variables' values in the session.
The updates are TensorFlow 1's formulas with its defaults:

* GradientDescentOptimizer: ``var -= lr * g``.
* MomentumOptimizer: ``accum = momentum * accum + g``; ``var -= lr * accum``, or with
  ``use_nesterov`` ``var -= lr * (g + momentum * accum)`` (torch's SGD is the same update, and
  runs it).
* AdamOptimizer: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``m = beta1 m + (1 - beta1) g``;
  ``v = beta2 v + (1 - beta2) g^2``; ``var -= lr_t * m / (sqrt(v) + epsilon)``: epsilon is
  "epsilon hat", added outside the bias correction (torch's Adam adds it inside).
* RMSPropOptimizer: ``ms = decay ms + (1 - decay) g^2`` (ms starts at 1.0), ``mom = momentum
  mom + lr g / sqrt(ms + epsilon)``, ``var -= mom``.
* AdagradOptimizer: ``accum += g^2`` (starts at 0.1), ``var -= lr g / sqrt(accum)``.

The moments live in the session and start afresh when tf.global_variables_initializer runs.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd import Tensor as NerveTensor
from nerve.compat.v1.graph import GraphTensor, Node, Operation, convert_to_tensor
from nerve.compat.v1.math_ops import add_n, cast, reduce_sum
from nerve.compat.v1.saver import Saver, latest_checkpoint
from nerve.compat.v1.variables import Variable, trainable_variables
from nerve.optim import SGD
from nerve.optim.optimizer import Optimizer as _NerveOptimizer

__all__ = [
    "AdagradOptimizer",
    "AdamOptimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "Optimizer",
    "RMSPropOptimizer",
    "Saver",
    "create_global_step",
    "exponential_decay",
    "get_global_step",
    "get_or_create_global_step",
    "gradients",
    "latest_checkpoint",
]


# ------------------------------------------------------------------------------- gradients
class _Backward(Node):
    """Runs ``backward()`` on the evaluated loss; its value is the gradient of each of ``xs``."""

    needs_grad = True

    def __init__(self, loss, xs, name):
        super().__init__("Gradients", (loss, *xs), name)
        self.wrt = tuple(xs)

    def _compute(self, run, args):
        loss, xs = args[0], args[1:]
        for t in (*run.session._variables.values(), *xs):
            t.grad = None  # a clean slate: backward accumulates
        if loss.requires_grad:
            seed = None if loss._data.size == 1 else np.ones_like(loss._data)
            loss.backward(seed, retain_graph=run.retain)
        grads = [None if t.grad is None else t.grad._data for t in xs]
        for t in xs:
            t.grad = None
        return grads


class _Grad(GraphTensor):
    def __init__(self, backward, index, x):
        super().__init__("Grad", None, (backward,), x.dtype, x.shape, f"{backward.op_name}/grad")
        self._index = index

    def _compute(self, run, args):
        g = args[0][self._index]
        if g is None:  # connected in the graph, but only through non-differentiable ops
            like = run.values[self.inputs[0].wrt[self._index]]._data
            return NerveTensor(np.zeros_like(like), dtype=like.dtype)
        return NerveTensor(g, dtype=g.dtype)


def _reachable(root) -> set:
    seen, stack = {root}, [root]
    while stack:
        for i in stack.pop().inputs:
            if i not in seen:
                seen.add(i)
                stack.append(i)
    return seen


def _gradient_nodes(loss, xs, name):
    if not isinstance(loss, GraphTensor) or loss.dtype.kind != "f":
        raise TypeError(f"gradients: the loss must be a float tensor, got {loss!r}")
    connected = _reachable(loss)
    linked = [x for x in xs if x in connected and x.dtype.kind == "f"]
    if not linked:
        return [None] * len(xs)
    backward = _Backward(loss, linked, name)
    grads = {x: _Grad(backward, i, x) for i, x in enumerate(linked)}
    return [grads.get(x) for x in xs]


def gradients(ys, xs, grad_ys=None, name="gradients", **unused):
    """d(sum of ys)/d(x) for each x in ``xs``, as nodes (None where x does not reach ys).

    Args:
        ys: a tensor or a list of tensors (their sums are added).
        xs: a tensor or list of tensors: Variables, placeholders or intermediate nodes.
        grad_ys: not supported (must be None).

    Raises:
        TypeError: a loss that is not a float tensor.
        ValueError: grad_ys given.
    """
    if grad_ys is not None:
        raise ValueError("tf.gradients: grad_ys is not supported; multiply ys by it instead")
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    loss = ys[0] if len(ys) == 1 else add_n([reduce_sum(y) for y in ys])
    return _gradient_nodes(loss, xs, name)


# ------------------------------------------------------------------------------- updates
class _TFAdam(_NerveOptimizer):
    def _update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["m"] = np.zeros_like(param)
            state["v"] = np.zeros_like(param)
        state["step"] += 1
        t, b1, b2 = state["step"], group["beta1"], group["beta2"]
        lr_t = group["lr"] * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        m, v = state["m"], state["v"]
        m *= b1
        m += (1.0 - b1) * grad
        v *= b2
        v += (1.0 - b2) * (grad * grad)
        param -= lr_t * m / (np.sqrt(v) + group["epsilon"])


class _TFRMSProp(_NerveOptimizer):
    def _update(self, param, grad, state, group):
        if not state:
            state["ms"] = np.ones_like(param)  # TensorFlow 1 starts the mean square at 1
            state["mom"] = np.zeros_like(param)
        decay, ms, mom = group["decay"], state["ms"], state["mom"]
        ms *= decay
        ms += (1.0 - decay) * (grad * grad)
        mom *= group["momentum"]
        mom += group["lr"] * grad / np.sqrt(ms + group["epsilon"])
        param -= mom


class _TFAdagrad(_NerveOptimizer):
    def _update(self, param, grad, state, group):
        if not state:
            state["accum"] = np.full_like(param, group["initial_accumulator_value"])
        accum = state["accum"]
        accum += grad * grad
        param -= group["lr"] * grad / np.sqrt(accum)


# ------------------------------------------------------------------------------- optimizers
class Optimizer:
    """The base of the tf.train optimizers: compute_gradients, apply_gradients, minimize."""

    def __init__(self, learning_rate, use_locking=False, name="Optimizer"):
        if isinstance(learning_rate, GraphTensor):
            if learning_rate.dtype.kind != "f" or learning_rate.shape.ndims not in (None, 0):
                raise TypeError(
                    f"{name}: learning_rate {learning_rate.name} must be a float scalar tensor"
                )
        elif not float(learning_rate) >= 0.0:
            raise ValueError(f"{name}: invalid learning_rate {learning_rate!r}")
        self._lr = learning_rate
        self._name = name

    def get_name(self) -> str:
        return self._name

    def _make(self, params: list, lr: float) -> _NerveOptimizer:
        raise NotImplementedError

    def compute_gradients(self, loss, var_list=None, gate_gradients=1, **unused):
        """[(gradient node or None, Variable)] for every Variable in ``var_list``.

        Args:
            loss: a float tensor (a non-scalar loss is summed).
            var_list: the Variables (default: tf.trainable_variables()).

        Raises:
            ValueError: no Variables to optimize.
        """
        var_list = trainable_variables() if var_list is None else list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"{self._name}: var_list holds {v!r}, not a tf.Variable")
        grads = _gradient_nodes(loss, var_list, f"{self._name}/gradients")
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """An Operation that applies the update with these (gradient, Variable) pairs.

        Args:
            grads_and_vars: pairs from compute_gradients (possibly transformed, e.g. clipped).
            global_step: a Variable incremented by one each time the step runs.
            name: the Operation's name.

        Raises:
            ValueError: every gradient is None (the loss does not depend on the Variables).
        """
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            names = [v.op_name for _, v in grads_and_vars]
            raise ValueError(
                f"{self._name}: No gradients provided for any variable, check your graph for "
                f"ops that do not support gradients, between variables {names} and the loss"
            )
        grads = [convert_to_tensor(g, dtype=v.dtype, what=self._name) for g, v in pairs]
        var_list = [v for _, v in pairs]
        extra = []
        lr_node = self._lr if isinstance(self._lr, GraphTensor) else None
        if lr_node is not None:
            extra.append(lr_node)
        if global_step is not None:
            extra.append(global_step)
        n = len(pairs)

        def step(run, *args):
            g_ts, v_ts, rest = args[:n], args[n : 2 * n], list(args[2 * n :])
            lr = float(rest.pop(0).item()) if lr_node is not None else float(self._lr)
            opt = run.session._slots.get(op)
            if opt is None:
                opt = run.session._slots[op] = self._make(list(v_ts), lr)
            for group in opt.param_groups:
                group["lr"] = lr
            for g, t in zip(g_ts, v_ts):
                t.grad = g
            opt.step()
            for t in v_ts:
                t.grad = None
            if global_step is not None:
                run.session._assign(global_step, rest[0]._data + 1)

        op = Operation(
            self._name, (*grads, *var_list, *extra), fn=step, name=name or self._name, effect=True
        )
        return op

    def minimize(
        self, loss, global_step=None, var_list=None, gate_gradients=1, name=None, **unused
    ):
        """An Operation that runs one training step on ``loss`` (compute and apply gradients).

        Args:
            loss: the float tensor to minimize.
            global_step: a Variable incremented by one per step.
            var_list: the Variables to update (default: tf.trainable_variables()).
            name: the Operation's name.

        Raises:
            ValueError: no Variables, or none that the loss depends on.
        """
        pairs = self.compute_gradients(loss, var_list=var_list)
        return self.apply_gradients(pairs, global_step=global_step, name=name)


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent: ``var -= learning_rate * grad``.

    Args:
        learning_rate: a float or a float scalar tensor (e.g. tf.train.exponential_decay).
        use_locking: ignored (one thread updates).
        name: the training op's name.
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(learning_rate, use_locking, name)

    def _make(self, params, lr):
        return SGD(params, lr=lr)


class MomentumOptimizer(Optimizer):
    """Momentum: ``accum = momentum * accum + grad; var -= lr * accum`` (or Nesterov's form).

    Args:
        learning_rate: a float or a float scalar tensor.
        momentum: the momentum factor.
        use_locking: ignored.
        name: the training op's name.
        use_nesterov: ``var -= lr * (grad + momentum * accum)``.
    """

    def __init__(
        self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False
    ):
        super().__init__(learning_rate, use_locking, name)
        if not float(momentum) >= 0.0:
            raise ValueError(f"{name}: invalid momentum {momentum!r}")
        self._momentum = float(momentum)
        self._nesterov = bool(use_nesterov)

    def _make(self, params, lr):
        if self._momentum == 0.0:
            return SGD(params, lr=lr)
        return SGD(params, lr=lr, momentum=self._momentum, nesterov=self._nesterov)


class AdamOptimizer(Optimizer):
    """Adam with TensorFlow 1's update (epsilon is "epsilon hat"; see the module docstring).

    Args:
        learning_rate: default 0.001; a float or a float scalar tensor.
        beta1: decay of the first moment (default 0.9).
        beta2: decay of the second moment (default 0.999).
        epsilon: added to sqrt(v) (default 1e-08).
        use_locking: ignored.
        name: the training op's name.
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-08,
        use_locking=False,
        name="Adam",
    ):
        super().__init__(learning_rate, use_locking, name)
        for label, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= float(b) < 1.0:
                raise ValueError(f"{name}: {label} must be in [0, 1), got {b!r}")
        if not float(epsilon) >= 0.0:
            raise ValueError(f"{name}: invalid epsilon {epsilon!r}")
        self._hyper = dict(beta1=float(beta1), beta2=float(beta2), epsilon=float(epsilon))

    def _make(self, params, lr):
        return _TFAdam(params, dict(lr=lr, **self._hyper))


class RMSPropOptimizer(Optimizer):
    """RMSProp as TensorFlow 1 (mean square starting at 1.0; see the module docstring).

    Args:
        learning_rate: a float or a float scalar tensor.
        decay: the mean square's decay (default 0.9).
        momentum: default 0.0.
        epsilon: default 1e-10, inside the square root.
        use_locking: ignored.
        centered: not supported (must be False).
        name: the training op's name.
    """

    def __init__(
        self,
        learning_rate,
        decay=0.9,
        momentum=0.0,
        epsilon=1e-10,
        use_locking=False,
        centered=False,
        name="RMSProp",
    ):
        super().__init__(learning_rate, use_locking, name)
        if centered:
            raise ValueError(f"{name}: centered=True is not supported")
        self._hyper = dict(decay=float(decay), momentum=float(momentum), epsilon=float(epsilon))

    def _make(self, params, lr):
        return _TFRMSProp(params, dict(lr=lr, **self._hyper))


class AdagradOptimizer(Optimizer):
    """Adagrad: ``accum += g^2; var -= lr * g / sqrt(accum)``, accum starting at 0.1."""

    def __init__(
        self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"
    ):
        super().__init__(learning_rate, use_locking, name)
        if not float(initial_accumulator_value) > 0.0:
            raise ValueError(
                f"{name}: initial_accumulator_value must be positive, got "
                f"{initial_accumulator_value!r}"
            )
        self._init = float(initial_accumulator_value)

    def _make(self, params, lr):
        return _TFAdagrad(params, dict(lr=lr, initial_accumulator_value=self._init))


# ------------------------------------------------------------------------------- schedules
def exponential_decay(
    learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None
):
    """``learning_rate * decay_rate ** (global_step / decay_steps)`` as a node (floored with
    ``staircase``); pass it as an optimizer's learning_rate and global_step to minimize."""
    if global_step is None:
        raise ValueError("exponential_decay: global_step is required.")
    step = cast(global_step, np.float32)
    lr = convert_to_tensor(learning_rate, dtype=np.float32, what="exponential_decay")
    rate = convert_to_tensor(decay_rate, dtype=np.float32, what="exponential_decay")
    steps = float(decay_steps)

    def fn(a, r, s):
        p = s / steps
        return a * r ** (p.floor() if staircase else p)

    return GraphTensor("ExponentialDecay", fn, (lr, rate, step), np.float32, [], name)


def _global_step_var():
    from nerve.compat.v1.graph import get_default_graph

    for v in get_default_graph()._variables:
        if v.op_name == "global_step":
            return v
    return None


def get_global_step(graph=None):
    """The graph's ``global_step`` Variable, or None."""
    return _global_step_var()


def create_global_step(graph=None):
    """Make the ``global_step`` Variable (int64, not trainable, starting at 0).

    Raises:
        ValueError: it exists already.
    """
    if _global_step_var() is not None:
        raise ValueError('"global_step" already exists.')
    return Variable(np.int64(0), trainable=False, name="global_step")


def get_or_create_global_step(graph=None):
    """The ``global_step`` Variable, made when missing."""
    return _global_step_var() or create_global_step()
