"""Gradient attributions with Captum's names and arguments: Saliency, InputXGradient,
IntegratedGradients, NoiseTunnel and GradientShap.

Each class wraps a forward function (an ``nn.Module``, a Keras-door model, or any callable that
maps Tensors to a Tensor with the batch first) and offers ``attribute(inputs, ...)``. Gradients
come from ``nerve.autograd.grad`` on one batched forward pass.
"""

from __future__ import annotations

import numpy as np

from nerve import backend
from nerve.explain import _common as C

_IG_METHODS = ("riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid")


class Attribution:
    """Base of the attribution methods: holds the forward function.

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
    """

    def __init__(self, forward_func) -> None:
        if not callable(forward_func):
            raise TypeError(
                f"{type(self).__name__}: forward_func must be callable (a model), got "
                f"{type(forward_func).__name__}"
            )
        self.forward_func = forward_func

    @property
    def multiplies_by_inputs(self) -> bool:
        """Whether the attributions are multiplied by (inputs - baselines) (Captum's flag)."""
        return getattr(self, "_multiply_by_inputs", False)

    def has_convergence_delta(self) -> bool:
        """Whether ``attribute`` can return a convergence delta."""
        return False

    def _name(self) -> str:
        return f"{type(self).__name__}.attribute"


class Saliency(Attribution):
    """Gradients of the target output with respect to the inputs (Simonyan et al.)."""

    def attribute(self, inputs, target=None, abs=True, additional_forward_args=None):
        """The (absolute, by default) gradient of the picked output per input element.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            target: the output to explain: None, an int, a tuple, or one per example.
            abs: return absolute values of the gradients.
            additional_forward_args: extra arguments passed to the model after the inputs.

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError, IndexError: a target that does not fit the model's output.
        """
        arrays, is_tuple = C.format_inputs(self._name(), inputs)
        args = C.format_args(additional_forward_args)
        grads = C.gradients(self._name(), self.forward_func, arrays, target, args)
        if abs:
            grads = tuple(np.abs(g) for g in grads)
        return C.format_output(grads, is_tuple)


class InputXGradient(Attribution):
    """Inputs times the gradients of the target output."""

    def attribute(self, inputs, target=None, additional_forward_args=None):
        """``inputs * d(output[target]) / d(inputs)``.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.

        Returns:
            Attributions in the form of ``inputs``.

        Raises:
            ValueError, IndexError: a target that does not fit the model's output.
        """
        arrays, is_tuple = C.format_inputs(self._name(), inputs)
        args = C.format_args(additional_forward_args)
        grads = C.gradients(self._name(), self.forward_func, arrays, target, args)
        return C.format_output(tuple(x * g for x, g in zip(arrays, grads)), is_tuple)

    @property
    def multiplies_by_inputs(self) -> bool:
        return True


def _steps_and_alphas(method: str, n_steps: int) -> tuple[list, list]:
    """Quadrature weights and points on [0, 1], as Captum's approximation methods make them."""
    if method == "gausslegendre":
        if n_steps < 1:
            raise ValueError(f"IntegratedGradients: n_steps must be >= 1, got {n_steps}")
        x, w = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * w).tolist(), (0.5 * (1 + x)).tolist()
    if method not in _IG_METHODS:
        raise ValueError(
            f"IntegratedGradients: unknown method {method!r}; expected 'gausslegendre' or one of "
            f"{', '.join(_IG_METHODS)}"
        )
    if n_steps < 2:
        raise ValueError(f"IntegratedGradients: n_steps must be > 1 for {method}, got {n_steps}")
    n = n_steps
    steps = [1 / n] * n
    # the points are rounded to float32, as Captum takes them from a float32 linspace
    if method == "riemann_trapezoid":
        steps[0] /= 2
        steps[-1] /= 2
        alphas = np.linspace(0, 1, n, dtype=np.float32)
    elif method == "riemann_left":
        alphas = np.linspace(0, 1 - 1 / n, n, dtype=np.float32)
    elif method == "riemann_middle":
        alphas = np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n, dtype=np.float32)
    else:
        alphas = np.linspace(1 / n, 1, n, dtype=np.float32)
    return steps, alphas.tolist()


class IntegratedGradients(Attribution):
    """Integrated Gradients (Sundararajan et al.): gradients integrated along the straight path
    from the baseline to the input, times (input - baseline).

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
        multiply_by_inputs: multiply the integrated gradients by (inputs - baselines) (global
            attributions); False gives the local ones.
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True) -> None:
        super().__init__(forward_func)
        self._multiply_by_inputs = multiply_by_inputs

    def has_convergence_delta(self) -> bool:
        return True

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        n_steps: int = 50,
        method: str = "gausslegendre",
        internal_batch_size: int | None = None,
        return_convergence_delta: bool = False,
    ):
        """Integrated gradients of the picked output with respect to each input element.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: the path's start: None (zeros), a number, or an array of the input's
                shape or of one example's shape ``(1, ...)``; one per input for a tuple.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            n_steps: the number of points of the quadrature.
            method: ``"gausslegendre"`` or ``"riemann_left"``, ``"riemann_right"``,
                ``"riemann_middle"``, ``"riemann_trapezoid"``.
            internal_batch_size: at most this many path points per forward pass (it is
                rounded down to a multiple of the batch size, at least one step at a time).
            return_convergence_delta: also return, per example, sum(attributions) -
                (f(input) - f(baseline)).

        Returns:
            Attributions in the form of ``inputs``, and the delta Tensor of shape (N,) when
            ``return_convergence_delta``.

        Raises:
            ValueError: an unknown method, too few steps, baselines that do not fit the inputs,
                a target that does not fit the model's output.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=False)
        args = C.format_args(additional_forward_args)
        steps, alphas = _steps_and_alphas(method, n_steps)
        n = arrays[0].shape[0]
        if internal_batch_size is None:
            chunk = n_steps
        else:
            if internal_batch_size < 1:
                raise ValueError(f"{name}: internal_batch_size must be >= 1")
            chunk = max(internal_batch_size // n, 1)
        totals = [np.zeros_like(x) for x in arrays]
        diffs = [x - b for x, b in zip(arrays, bases)]
        for start in range(0, n_steps, chunk):
            a = alphas[start : start + chunk]
            w = steps[start : start + chunk]
            k = len(a)
            # step-major layout: k copies of the batch, one per path point
            scaled = tuple(
                np.concatenate([b + np.float32(al).astype(x.dtype) * d for al in a])
                for x, b, d in zip(arrays, bases, diffs)
            )
            grads = C.gradients(
                name,
                self.forward_func,
                scaled,
                C.expand_target(target, k),
                C.expand_args(args, k),
            )
            for tot, g in zip(totals, grads):
                weights = np.asarray(w, g.dtype).reshape((k,) + (1,) * g.ndim)
                tot += (g.reshape((k,) + tot.shape) * weights).sum(0)
        attributions = (
            tuple(t * d for t, d in zip(totals, diffs)) if self._multiply_by_inputs else totals
        )
        result = C.format_output(attributions, is_tuple)
        if not return_convergence_delta:
            return result
        delta = C.convergence_delta(
            name, self.forward_func, attributions, bases, arrays, target, args
        )
        return result, delta


class NoiseTunnel(Attribution):
    """SmoothGrad and its kin: an attribution method averaged over noisy copies of the inputs.

    Args:
        attribution_method: an attribution object (Saliency, IntegratedGradients, ...).
    """

    def __init__(self, attribution_method) -> None:
        if not hasattr(attribution_method, "attribute"):
            raise TypeError(
                "NoiseTunnel: attribution_method must be an attribution object (Saliency(model), "
                f"IntegratedGradients(model), ...), got {type(attribution_method).__name__}"
            )
        super().__init__(attribution_method.forward_func)
        self.attribution_method = attribution_method

    @property
    def multiplies_by_inputs(self) -> bool:
        return self.attribution_method.multiplies_by_inputs

    def has_convergence_delta(self) -> bool:
        return self.attribution_method.has_convergence_delta()

    def attribute(
        self,
        inputs,
        nt_type: str = "smoothgrad",
        nt_samples: int = 5,
        nt_samples_batch_size: int | None = None,
        stdevs=1.0,
        draw_baseline_from_distrib: bool = False,
        **kwargs,
    ):
        """The wrapped method's attributions over ``nt_samples`` noisy copies, combined.

        Noise is N(0, stdevs^2), drawn from nerve's generator (``nerve.manual_seed``).

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            nt_type: ``"smoothgrad"`` (mean), ``"smoothgrad_sq"`` (mean of squares) or
                ``"vargrad"`` (variance).
            nt_samples: noisy copies per example.
            nt_samples_batch_size: copies per call of the wrapped method (default: all).
            stdevs: the noise's standard deviation, one number or one per input.
            draw_baseline_from_distrib: pick each copy's baseline at random from the
                ``baselines`` batch (GradientShap's sampling).
            **kwargs: passed to the wrapped method's ``attribute`` (target=, baselines=,
                additional_forward_args=, return_convergence_delta=, ...).

        Returns:
            Attributions in the form of ``inputs`` (and the wrapped method's deltas for every
            noisy copy, shape (N * nt_samples,), when ``return_convergence_delta``: ordered
            by batch of samples, then by example, as Captum orders them).

        Raises:
            ValueError: an unknown nt_type, a bad number of samples or of stdevs.
        """
        name = self._name()
        if nt_type not in ("smoothgrad", "smoothgrad_sq", "vargrad"):
            raise ValueError(
                f"{name}: unknown nt_type {nt_type!r}; expected 'smoothgrad', 'smoothgrad_sq' or "
                "'vargrad'"
            )
        if nt_samples < 1:
            raise ValueError(f"{name}: nt_samples must be >= 1, got {nt_samples}")
        arrays, is_tuple = C.format_inputs(name, inputs)
        sds = tuple(stdevs) if isinstance(stdevs, (tuple, list)) else (stdevs,) * len(arrays)
        if len(sds) != len(arrays):
            raise ValueError(f"{name}: {len(sds)} stdevs given for {len(arrays)} inputs")
        batch = nt_samples if nt_samples_batch_size is None else nt_samples_batch_size
        batch = max(1, min(nt_samples, batch))
        want_delta = kwargs.get("return_convergence_delta", False)
        n = arrays[0].shape[0]
        sums = [np.zeros_like(x) for x in arrays]
        sqs = [np.zeros_like(x) for x in arrays]
        deltas = []
        done = 0
        while done < nt_samples:
            k = min(batch, nt_samples - done)
            kw = dict(kwargs)
            # interleaved copies: example i's k noisy copies are rows i*k .. i*k+k-1
            if "target" in kw:
                kw["target"] = C.expand_target(kw["target"], k, interleave=True)
            if kw.get("additional_forward_args") is not None:
                args = C.format_args(kw["additional_forward_args"])
                kw["additional_forward_args"] = C.expand_args(args, k, interleave=True)
            if kw.get("baselines") is not None:
                kw["baselines"] = self._expand_baselines(
                    kw["baselines"], arrays, k, draw_baseline_from_distrib
                )
            noisy = tuple(
                np.repeat(x, k, axis=0) + self._noise(x, k, sd) for x, sd in zip(arrays, sds)
            )
            out = self.attribution_method.attribute(C.format_output(noisy, is_tuple), **kw)
            if want_delta:
                out, delta = out
                deltas.append(delta._data)  # Captum's order: by partition, then example
            attrs = out if is_tuple else (out,)
            for s, q, a in zip(sums, sqs, attrs):
                a = a._data.reshape((n, k) + a.shape[1:])
                s += a.sum(1)
                q += (a * a).sum(1)
            done += k
        means = [s / np.asarray(nt_samples, s.dtype) for s in sums]
        mean_sqs = [q / np.asarray(nt_samples, q.dtype) for q in sqs]
        if nt_type == "smoothgrad":
            result = means
        elif nt_type == "smoothgrad_sq":
            result = mean_sqs
        else:
            result = [q - m * m for q, m in zip(mean_sqs, means)]
        result = C.format_output(result, is_tuple)
        if want_delta:
            return result, C.Tensor._wrap(np.concatenate(deltas))
        return result

    @staticmethod
    def _noise(x: np.ndarray, k: int, sd) -> np.ndarray:
        shape = (x.shape[0] * k,) + x.shape[1:]
        if not sd:  # GradientShap's default: no noise, and no draw
            return np.zeros(shape, x.dtype)
        return backend.rng().normal(0.0, float(sd), shape).astype(x.dtype)

    def _expand_baselines(self, baselines, arrays, k: int, from_distrib: bool):
        name = self._name()
        bases = C.format_baselines(name, baselines, arrays, allow_batch=True)
        n = arrays[0].shape[0]
        if from_distrib:
            # one random baseline per noisy copy (the same rows for every input)
            m = bases[0].shape[0]
            picks = backend.rng().integers(0, m, n * k)
            return tuple(b[picks] if b.shape[0] == m else b for b in bases)
        return tuple(np.repeat(b, k, axis=0) if b.shape[0] == n and n > 1 else b for b in bases)


class InputBaselineXGradient(Attribution):
    """Gradients at a random point between baseline and input, times (input - baseline): one
    draw of GradientShap.

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
        multiply_by_inputs: multiply by (inputs - baselines).
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True) -> None:
        super().__init__(forward_func)
        self._multiply_by_inputs = multiply_by_inputs

    def has_convergence_delta(self) -> bool:
        return True

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        return_convergence_delta: bool = False,
    ):
        """One GradientShap draw per example (see :class:`GradientShap`).

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: None (zeros), a number, or an array of the input's shape or ``(1, ...)``.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            return_convergence_delta: also return sum(attributions) - (f(x) - f(baseline)).

        Returns:
            Attributions in the form of ``inputs`` (and the delta, shape (N,)).

        Raises:
            ValueError: baselines that do not fit the inputs; a bad target.
        """
        name = self._name()
        arrays, is_tuple = C.format_inputs(name, inputs)
        bases = C.format_baselines(name, baselines, arrays, allow_batch=False)
        args = C.format_args(additional_forward_args)
        n = arrays[0].shape[0]
        coef = backend.rng().uniform(0.0, 1.0, n).astype(arrays[0].dtype)
        scaled = tuple(
            coef.reshape((n,) + (1,) * (x.ndim - 1)) * x
            + (1 - coef.reshape((n,) + (1,) * (x.ndim - 1))) * b
            for x, b in zip(arrays, bases)
        )
        grads = C.gradients(name, self.forward_func, scaled, target, args)
        if self._multiply_by_inputs:
            attributions = tuple(g * (x - b) for g, x, b in zip(grads, arrays, bases))
        else:
            attributions = grads
        result = C.format_output(attributions, is_tuple)
        if not return_convergence_delta:
            return result
        delta = C.convergence_delta(
            name, self.forward_func, attributions, bases, arrays, target, args
        )
        return result, delta


class GradientShap(Attribution):
    """Expected gradients (SHAP values by sampling): for each of ``n_samples`` draws, a random
    baseline from ``baselines``, Gaussian noise on the input and a uniform point on the path;
    the attributions are the mean of gradient * (input - baseline).

    Args:
        forward_func: the model, or any callable from input Tensors to an output Tensor.
        multiply_by_inputs: multiply by (inputs - baselines).
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True) -> None:
        super().__init__(forward_func)
        self._multiply_by_inputs = multiply_by_inputs

    def has_convergence_delta(self) -> bool:
        return True

    def attribute(
        self,
        inputs,
        baselines,
        n_samples: int = 5,
        stdevs=0.0,
        target=None,
        additional_forward_args=None,
        return_convergence_delta: bool = False,
    ):
        """SHAP value estimates by expected gradients.

        Args:
            inputs: a Tensor (batch first) or a tuple of Tensors.
            baselines: the reference distribution: a batch ``(M, ...)`` of the inputs'
                feature shape (one per input for a tuple), or a callable returning it.
            n_samples: draws per example.
            stdevs: the standard deviation of the noise added to the inputs.
            target: the output to explain: None, an int, a tuple, or one per example.
            additional_forward_args: extra arguments passed to the model after the inputs.
            return_convergence_delta: also return the delta of every draw (N * n_samples,).

        Returns:
            Attributions in the form of ``inputs`` (and the deltas).

        Raises:
            ValueError: baselines that do not fit the inputs; a bad target.
        """
        if callable(baselines):
            baselines = baselines(inputs)
        if baselines is None:
            raise ValueError(f"{self._name()}: baselines is required (a batch of references)")
        tunnel = NoiseTunnel(InputBaselineXGradient(self.forward_func, self._multiply_by_inputs))
        tunnel._name = self._name  # errors name GradientShap
        tunnel.attribution_method._name = self._name
        return tunnel.attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=n_samples,
            stdevs=stdevs,
            draw_baseline_from_distrib=True,
            baselines=baselines,
            target=target,
            additional_forward_args=additional_forward_args,
            return_convergence_delta=return_convergence_delta,
        )
