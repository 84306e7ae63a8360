"""DeepLift (the rescale rule) and DeepLiftShap with Captum's names and arguments.

The model runs once on the inputs and the baselines stacked into one batch. Each nonlinear
module's output is replaced by a node (an ordinary nerve ``Function``) whose backward applies
Captum's multiplier instead of the module's gradient: ``grad * (out - out_ref) / (in - in_ref)``,
the plain gradient where ``|in - in_ref| < eps``; Softmax's multipliers are centred; MaxPool's
follow Captum's max-pool rule. The gradient of the picked outputs at the inputs, times
(inputs - baselines), gives the attributions. The rules apply to Captum's modules (nn.ReLU, ELU,
LeakyReLU, Sigmoid, Tanh, Softplus, Softmax, MaxPool1d/2d), their Keras-door layers and Keras
``Activation`` layers of those functions; nonlinearities called as functions (``F.relu``, a
Dense layer's ``activation=``) keep their plain gradient, as in Captum.
"""

from __future__ import annotations

import inspect

import numpy as np

from nerve.autograd import Tensor, enable_grad, grad
from nerve.explain import _common as C
from nerve.explain.gradient import Attribution
from nerve.explain.layer import _GradientRule


def _rule_kind(module, shap_rules: bool = False) -> str | None:
    """Which DeepLift rule a module gets: "elementwise", "softmax", "maxpool" or None.

    The modules Captum hooks (nn.ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, Softmax,
    MaxPool), their Keras-door layers, and a Keras ``Activation`` layer of those functions.
    """
    from nerve import activations, layers, nn

    elementwise = (
        nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus,
        layers.ReLU, layers.ELU, layers.LeakyReLU,
    )  # fmt: skip
    functions = (
        activations.relu, activations.elu, activations.leaky_relu, activations.sigmoid,
        activations.tanh, activations.softplus,
    )  # fmt: skip
    if shap_rules:  # shap's DeepExplainer also rescales through SELU and GELU
        elementwise += (nn.SELU, nn.GELU)
        functions += (activations.selu, activations.gelu)
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, layers.MaxPooling1D, layers.MaxPooling2D)):
        return "maxpool"
    if isinstance(module, (nn.Softmax, layers.Softmax)):
        return "softmax"
    if isinstance(module, elementwise):
        return "elementwise"
    if isinstance(module, layers.Activation):
        if module.activation is activations.softmax:
            return "softmax"
        if module.activation in functions:
            return "elementwise"
    return None


def _halves(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = a.shape[0] // 2
    return a[:n], a[n:]


def _diffs(x: np.ndarray, y: np.ndarray):
    x1, x2 = _halves(x)
    y1, y2 = _halves(y)
    return np.concatenate([x1 - x2] * 2), np.concatenate([y1 - y2] * 2)


def _local_vjp(module, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The module's own vector-Jacobian product at x (its plain backward)."""
    xd = Tensor(x, requires_grad=True)
    with enable_grad():
        yd = module.forward(xd)
    (gx,) = grad(yd, (xd,), grad_outputs=Tensor._wrap(g.astype(yd._data.dtype)))
    return gx._data


def _elementwise_rule(module, x, y, eps):
    d_in, d_out = _diffs(x, y)
    slope = _local_vjp(module, x, np.ones_like(y))  # the elementwise derivative
    small = np.abs(d_in) < eps
    safe = np.where(small, 1, d_in)  # no division by ~0 in the branch np.where drops

    def rule(_, g):
        return np.where(small, g * slope, g * d_out / safe)

    return rule


def _softmax_rule(module, x, y, eps, centre=True):
    d_in, d_out = _diffs(x, y)
    small = np.abs(d_in) < eps
    safe = np.where(small, 1, d_in)
    if hasattr(module, "dim"):
        axis = module.dim
    else:  # layers.Softmax, or an Activation("softmax") layer (the last axis)
        axis = getattr(module, "axis", -1)
    if axis is None:
        axis = 0 if x.ndim in (0, 1, 3) else 1  # torch's legacy implicit dim

    def rule(_, g):
        plain = y * (g - (g * y).sum(axis=axis, keepdims=True))
        unnorm = np.where(small, plain, g * d_out / safe)
        if not centre:  # shap rescales softmax elementwise
            return unnorm
        # Captum centres the multipliers over the whole stacked batch
        return unnorm - unnorm.sum() * (1 / unnorm.size)

    return rule


def _maxpool_rule(module, x, y, eps, small_grad=True):
    d_in = np.concatenate([_halves(x)[0] - _halves(x)[1]] * 2)
    y1, y2 = _halves(y)
    top = np.maximum(y1, y2)
    d_out = np.concatenate([top - y2, y1 - top])
    # where each input element sends its gradient: the flat index (+1) of the window that
    # picked it; the plain backward of a counting array finds it without a second pool kernel
    flat = np.arange(1, y.size + 1, dtype=np.float64).reshape(y.shape)
    picked = _local_vjp(module, x.astype(np.float64), flat)
    count = _local_vjp(module, x.astype(np.float64), np.ones(y.shape))
    if count.max() > 1:
        raise NotImplementedError(
            f"DeepLift: {type(module).__name__} has windows that pick the same input element; "
            "Captum's max-pool rule is defined for non-overlapping windows (stride >= kernel)"
        )
    hit = count > 0
    small = np.abs(d_in) < eps
    safe = np.where(small, 1, d_in)
    where = np.where(hit, picked, 1).astype(np.int64) - 1

    def unpool(v):
        return np.where(hit, v.reshape(-1)[where], 0).astype(v.dtype)

    def rule(_, g):
        both = unpool(g * d_out)
        a, b = _halves(both)
        total = np.concatenate([a + b] * 2)
        # where the input does not move: the plain gradient (Captum), or zero (shap)
        return np.where(small, unpool(g) if small_grad else 0, total / safe).astype(g.dtype)

    return rule


def _call_custom(func, multipliers, inputs, baselines):
    n = len(inspect.signature(func).parameters)
    if n == 1:
        out = func(multipliers)
    elif n == 2:
        out = func(multipliers, inputs)
    elif n == 3:
        out = func(multipliers, inputs, baselines)
    else:
        raise ValueError(
            f"DeepLift: custom_attribution_func takes 1 to 3 arguments (multipliers, inputs, "
            f"baselines), got {n}"
        )
    return tuple(o._data if isinstance(o, Tensor) else np.asarray(o) for o in out)


class DeepLift(Attribution):
    """DeepLift with the rescale rule (Shrikumar et al.), as Captum defines it.

    Args:
        model: an nn.Module or a Keras-door model.
        multiply_by_inputs: multiply the multipliers by (inputs - baselines).
        eps: below this |in - in_ref| a nonlinearity uses its plain gradient.
    """

    def __init__(self, model, multiply_by_inputs: bool = True, eps: float = 1e-10) -> None:
        C.check_module(type(self).__name__, model)
        super().__init__(model)
        self.model = model
        self.eps = eps
        self._multiply_by_inputs = multiply_by_inputs

    def has_convergence_delta(self) -> bool:
        return True

    #: shap's DeepExplainer rules instead of Captum's (see nerve.explain.shap)
    _shap_rules = False

    def _hooks(self) -> list:
        shap_rules = self._shap_rules
        eps = self.eps
        kinds = {}

        def hook(module, args, out):
            x, y = args[0]._data, out._data
            kind = kinds[id(module)]
            if kind == "maxpool":
                rule = _maxpool_rule(module, x, y, 1e-7 if shap_rules else eps, not shap_rules)
            elif kind == "softmax":
                rule = _softmax_rule(module, x, y, eps, centre=not shap_rules)
            else:
                rule = _elementwise_rule(module, x, y, eps)
            return _GradientRule.apply(args[0], y=y, rule=rule)

        handles = []
        for m in self.model.modules():
            kind = _rule_kind(m, shap_rules)
            if kind is not None:
                kinds[id(m)] = kind
                handles.append(m.register_forward_hook(hook))
        return handles

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        return_convergence_delta: bool = False,
        custom_attribution_func=None,
    ):
        """DeepLift attributions of the picked output.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: the references: None (zeros), a number, or an array of the input's shape
                or ``(1, ...)``.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            return_convergence_delta: also return sum(attributions) - (f(x) - f(baseline)).
            custom_attribution_func: ``f(multipliers[, inputs[, baselines]])`` returning the
                attributions (tuples of Tensors) instead of multipliers * (inputs - baselines).

        Returns:
            Attributions in the form of ``inputs`` (and the delta, shape (N,)).

        Raises:
            ValueError: baselines that do not fit the inputs; a bad target.
            NotImplementedError: a max pool whose windows overlap on a picked element.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=False)
        bases = tuple(np.broadcast_to(b, x.shape) for b, x in zip(bases, arrays))
        return self._attribute(
            name, arrays, bases, is_tuple, target, additional_forward_args,
            return_convergence_delta, custom_attribution_func,
        )  # fmt: skip

    def _attribute(self, name, arrays, bases, is_tuple, target, extra, want_delta, custom):
        args = C.format_args(extra)
        n = arrays[0].shape[0]
        stacked = tuple(np.concatenate([x, b]) for x, b in zip(arrays, bases))
        handles = self._hooks()
        try:
            grads = C.gradients(
                name,
                self.model,
                stacked,
                C.expand_target(target, 2),
                C.expand_args(args, 2),
            )
        finally:
            for h in handles:
                h.remove()
        mults = tuple(g[:n] for g in grads)
        if custom is not None:
            wrap = C.format_output
            attributions = _call_custom(
                custom, wrap(mults, True), wrap(arrays, True), wrap(bases, True)
            )
        elif self._multiply_by_inputs:
            attributions = tuple((x - b) * m for x, b, m in zip(arrays, bases, mults))
        else:
            attributions = mults
        result = C.format_output(attributions, is_tuple)
        if not want_delta:
            return result
        delta = C.convergence_delta(name, self.model, attributions, bases, arrays, target, args)
        return result, delta


class DeepLiftShap(DeepLift):
    """DeepLift averaged over a distribution of baselines: SHAP value estimates.

    Args:
        model: an nn.Module or a Keras-door model.
        multiply_by_inputs: multiply the multipliers by (inputs - baselines).
    """

    def __init__(self, model, multiply_by_inputs: bool = True) -> None:
        super().__init__(model, multiply_by_inputs=multiply_by_inputs)

    def attribute(
        self,
        inputs,
        baselines,
        target=None,
        additional_forward_args=None,
        return_convergence_delta: bool = False,
        custom_attribution_func=None,
    ):
        """The mean of DeepLift's attributions over every baseline of the batch.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: a batch ``(M, ...)`` of references with M > 1 (one per input for a
                tuple), or a callable returning it.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            return_convergence_delta: also return the deltas, shape (N * M,), ordered by input
                example, then baseline.
            custom_attribution_func: as for :class:`DeepLift`.

        Returns:
            Attributions in the form of ``inputs`` (and the deltas).

        Raises:
            ValueError: fewer than two baselines, or baselines that do not fit the inputs.
        """
        name = self._name()
        if callable(baselines):
            baselines = baselines(inputs)
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=True)
        m = bases[0].shape[0]
        if m < 2:
            raise ValueError(
                f"{name}: baselines must be a batch of more than one example, got shape "
                f"{bases[0].shape}; use DeepLift for a single baseline"
            )
        n = arrays[0].shape[0]
        # every input against every baseline: input i's M copies are rows i*M .. i*M+M-1
        exp_in = tuple(np.repeat(x, m, axis=0) for x in arrays)
        exp_base = tuple(np.concatenate([b] * n) for b in bases)
        exp_target = C.expand_target(target, m, interleave=True)
        extra = C.expand_args(C.format_args(additional_forward_args), m, interleave=True)
        out = self._attribute(
            name, exp_in, exp_base, True, exp_target, extra or None,
            return_convergence_delta, custom_attribution_func,
        )  # fmt: skip
        attrs, delta = out if return_convergence_delta else (out, None)
        means = tuple(a._data.reshape((n, m) + a.shape[1:]).mean(1) for a in attrs)
        result = C.format_output(means, is_tuple)
        return (result, delta) if return_convergence_delta else result
