"""Adadelta: an adaptive learning-rate method without a global rate to tune (Zeiler, 2012)."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import Optimizer, check_lr, check_nonnegative, effective_grad


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), each step does::

        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: coefficient that scales the delta before it is applied (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        if not 0.0 <= options["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {options['rho']}")
        check_nonnegative("epsilon", options["eps"])
        check_nonnegative("weight_decay", options["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        rho = float(group["rho"])
        eps = float(group["eps"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            state["acc_delta"] = np.zeros_like(param)
        state["step"] += 1
        g = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]

        std = np.multiply(g, g)  # two scratch arrays: the rms of the gradient, then of the delta
        std *= 1.0 - rho
        square_avg *= rho
        square_avg += std
        np.add(square_avg, eps, out=std)
        np.sqrt(std, out=std)
        delta = np.add(acc_delta, eps)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        np.multiply(delta, delta, out=std)
        std *= 1.0 - rho
        acc_delta *= rho
        acc_delta += std
        delta *= float(group["lr"])
        param -= delta

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
