"""shap's interface for nerve models: ``DeepExplainer`` and ``GradientExplainer``.

``DeepExplainer(model, background).shap_values(x)`` gives what shap's DeepExplainer gives for the
same PyTorch model: DeepLift multipliers with shap's rules (rescale through ReLU, ELU, LeakyReLU,
Sigmoid, Tanh, Softplus, Softmax, SELU, GELU; shap's max-pool rule), averaged over every
background example. ``GradientExplainer`` gives expected gradients (random background example,
random point on the path). Both return shap 0.45+'s layout: one array of shape
``x.shape + (n_outputs,)`` (outputs last), or a list of those, one per input, for a model with
several inputs; ``ranked_outputs=k`` returns ``(values, ranks)`` with the k top outputs.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.explain import _common as C
from nerve.explain.deep_lift import DeepLift

_ORDERS = ("max", "min", "max_abs")


def _as_list(what: str, data) -> tuple[list[np.ndarray], bool]:
    many = isinstance(data, (list, tuple))
    arrays, _ = C.format_inputs(what, list(data) if many else data)
    return list(arrays), many


def _ranks(what, model, xs, n_outputs, ranked_outputs, order):
    """Which outputs to explain per example: all of them, or the top ``ranked_outputs``."""
    n = xs[0].shape[0]
    if ranked_outputs is None:
        return np.tile(np.arange(n_outputs), (n, 1))
    if order not in _ORDERS:
        raise ValueError(f"{what}: output_rank_order must be one of {_ORDERS}, got {order!r}")
    _, out = C.forward(what, model, tuple(xs), (), requires_grad=False)
    values = out._data.reshape(n, -1)
    key = {"max": -values, "min": values, "max_abs": -np.abs(values)}[order]
    return np.argsort(key, axis=1, kind="stable")[:, :ranked_outputs]


def _layout(phis_per_output: list[list[np.ndarray]], many: bool):
    """shap's layout: outputs on the last axis; a list over inputs for several inputs."""
    stacked = [
        np.stack([p[k] for p in phis_per_output], axis=-1) for k in range(len(phis_per_output[0]))
    ]
    return stacked if many else stacked[0]


class _ShapDeepLift(DeepLift):
    _shap_rules = True


class DeepExplainer:
    """SHAP values by DeepLift over a background set (shap's ``DeepExplainer``).

    Args:
        model: an nn.Module or a Keras-door model with outputs (N, n_outputs) or (N,).
        data: the background examples: a Tensor/array (batch first), or a list of them for a
            model with several inputs.

    Attributes:
        expected_value: the model's mean output over the background, shape (n_outputs,).

    Raises:
        TypeError: a model that is not a nerve Module.
    """

    def __init__(self, model, data) -> None:
        C.check_module("DeepExplainer", model)
        self.model = model
        self.data, self.multi_input = _as_list("DeepExplainer", data)
        _, out = C.forward("DeepExplainer", model, tuple(self.data), (), requires_grad=False)
        values = out._data.reshape(out.shape[0], -1)
        self.num_outputs = values.shape[1]
        self.multi_output = self.num_outputs > 1
        self.expected_value = values.mean(0)
        self._explainer = _ShapDeepLift(model, eps=1e-6)

    def shap_values(
        self,
        X,  # noqa: N803 - shap's name
        ranked_outputs=None,
        output_rank_order="max",
        check_additivity=True,
    ):
        """SHAP values of ``X``.

        Args:
            X: the examples to explain (a list of inputs for a multi-input model).
            ranked_outputs: explain only the top k outputs of each example.
            output_rank_order: "max", "min" or "max_abs": how the outputs are ranked.
            check_additivity: check that the values sum to output - expected_value.

        Returns:
            An array ``X.shape + (n_outputs,)`` (a list of them for several inputs); with
            ``ranked_outputs``, ``(values, ranks)``.

        Raises:
            ValueError: X does not match the background's inputs; the values do not add up.
        """
        what = "DeepExplainer.shap_values"
        xs, many = _as_list(what, X)
        if many != self.multi_input or len(xs) != len(self.data):
            raise ValueError(
                f"{what}: the explainer was built on {len(self.data)} input(s) "
                f"({'a list' if self.multi_input else 'one Tensor'}); X must match"
            )
        ranks = _ranks(what, self.model, xs, self.num_outputs, ranked_outputs, output_rank_order)
        n, m = xs[0].shape[0], self.data[0].shape[0]
        step = max(1, 1024 // m)  # examples per pass: each runs against every background row
        phis_per_output = []
        for i in range(ranks.shape[1]):
            parts = [[] for _ in xs]
            for s in range(0, n, step):
                part = [x[s : s + step] for x in xs]
                k = part[0].shape[0]
                # one output per example: shap explains it as column 0 (target None here)
                target = (
                    np.repeat(ranks[s : s + step, i], m).tolist() if self.multi_output else None
                )
                attrs = self._explainer._attribute(
                    what,
                    tuple(np.repeat(x, m, axis=0) for x in part),
                    tuple(np.concatenate([b] * k) for b in self.data),
                    True, target, None, False, None,
                )  # fmt: skip
                for j, a in enumerate(attrs):
                    parts[j].append(a._data.reshape((k, m) + a.shape[1:]).mean(1))
            phis_per_output.append([np.concatenate(p) for p in parts])
        if check_additivity:
            self._check(what, xs, ranks, phis_per_output)
        values = _layout(phis_per_output, many)
        return (values, ranks) if ranked_outputs is not None else values

    def _check(self, what, xs, ranks, phis_per_output):
        _, out = C.forward(what, self.model, tuple(xs), (), requires_grad=False)
        values = out._data.reshape(out.shape[0], -1)
        rows = np.arange(values.shape[0])
        for i, phis in enumerate(phis_per_output):
            col = ranks[:, i]
            total = sum(p.reshape(p.shape[0], -1).sum(1) for p in phis)
            diff = np.abs(values[rows, col] - self.expected_value[col] - total).max()
            if diff > 1e-2:
                raise ValueError(
                    f"{what}: the SHAP values do not sum to the model's output minus the expected "
                    f"value (largest difference {diff:.4g} for output {i}); a nonlinearity called "
                    "as a function (F.relu, Dense(activation=...)) gets no DeepLift rule: use its "
                    "module/layer, or pass check_additivity=False"
                )


class GradientExplainer:
    """SHAP values by expected gradients (shap's ``GradientExplainer``).

    Args:
        model: an nn.Module, a Keras-door model or a callable from Tensors to (N, n_outputs).
        data: the background examples (a list of them for a model with several inputs).
        batch_size: samples per forward pass.
        local_smoothing: the standard deviation of noise added to the explained inputs.
    """

    def __init__(self, model, data, batch_size: int = 50, local_smoothing: float = 0) -> None:
        if not callable(model):
            raise TypeError(
                f"GradientExplainer: model must be callable, got {type(model).__name__}"
            )
        self.model = model
        self.data, self.multi_input = _as_list("GradientExplainer", data)
        _, out = C.forward("GradientExplainer", model, tuple(self.data), (), requires_grad=False)
        values = out._data.reshape(out.shape[0], -1)
        self.num_outputs = values.shape[1]
        self.multi_output = self.num_outputs > 1
        self.expected_value = values.mean(0)
        self.batch_size = batch_size
        self.local_smoothing = local_smoothing

    def shap_values(
        self,
        X,  # noqa: N803 - shap's name
        nsamples: int = 200,
        ranked_outputs=None,
        output_rank_order="max",
        rseed=None,
        return_variances: bool = False,
    ):
        """Expected-gradient SHAP values of ``X``.

        Args:
            X: the examples to explain (a list of inputs for a multi-input model).
            nsamples: draws per example (the same draws serve every output).
            ranked_outputs: explain only the top k outputs of each example.
            output_rank_order: "max", "min" or "max_abs".
            rseed: seed of the draws (default: nerve's generator, see ``nerve.manual_seed``).
            return_variances: also return the variance of each estimate.

        Returns:
            An array ``X.shape + (n_outputs,)`` (a list for several inputs); with
            ``return_variances`` a (values, variances) pair; with ``ranked_outputs`` the ranks
            come last.

        Raises:
            ValueError: X does not match the background's inputs.
        """
        what = "GradientExplainer.shap_values"
        xs, many = _as_list(what, X)
        if many != self.multi_input or len(xs) != len(self.data):
            raise ValueError(f"{what}: X must have the background's {len(self.data)} input(s)")
        if nsamples < 1:
            raise ValueError(f"{what}: nsamples must be >= 1, got {nsamples}")
        ranks = _ranks(what, self.model, xs, self.num_outputs, ranked_outputs, output_rank_order)
        rng = backend.rng() if rseed is None else np.random.default_rng(rseed)
        n, m = xs[0].shape[0], self.data[0].shape[0]
        picks = rng.integers(0, m, (n, nsamples))
        t = rng.uniform(0.0, 1.0, (n, nsamples)).astype(xs[0].dtype)
        points, deltas = [], []
        for x, bg in zip(xs, self.data):
            xr = np.repeat(x, nsamples, axis=0)
            if self.local_smoothing > 0:
                noise = rng.standard_normal(xr.shape) * self.local_smoothing
                xr = xr + noise.astype(x.dtype)
            b = bg[picks.reshape(-1)]
            tt = t.reshape((-1,) + (1,) * (x.ndim - 1))
            points.append(tt * xr + (1 - tt) * b)
            deltas.append(xr - b)
        phis_per_output, vars_per_output = [], []
        chunk = max(1, self.batch_size)
        for i in range(ranks.shape[1]):
            target = np.repeat(ranks[:, i], nsamples)
            grads = [[] for _ in xs]
            for s in range(0, n * nsamples, chunk):
                part = tuple(p[s : s + chunk] for p in points)
                tgt = target[s : s + chunk].tolist() if self.multi_output else None
                for k, g in enumerate(C.gradients(what, self.model, part, tgt, ())):
                    grads[k].append(g)
            samples = [
                (np.concatenate(g) * d).reshape((n, nsamples) + d.shape[1:])
                for g, d in zip(grads, deltas)
            ]
            phis_per_output.append([s.mean(1) for s in samples])
            vars_per_output.append([s.var(1) / np.sqrt(nsamples) for s in samples])
        values = _layout(phis_per_output, many)
        if return_variances:
            values = (values, _layout(vars_per_output, many))
            return (*values, ranks) if ranked_outputs is not None else values
        return (values, ranks) if ranked_outputs is not None else values
