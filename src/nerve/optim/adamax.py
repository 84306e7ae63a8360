"""Adamax: Adam with the infinity norm in place of the second moment (Kingma and Ba, 2015)."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import (
    Optimizer,
    check_betas,
    check_lr,
    check_nonnegative,
    effective_grad,
)


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), step ``t`` does::

        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1**t) * m / u

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates of the first moment and of the infinity norm (default (0.9, 0.999)).
        eps: added to ``|g|`` for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("epsilon", options["eps"])
        check_betas(options["betas"])
        check_nonnegative("weight_decay", options["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_inf"] = np.zeros_like(param)
        state["step"] += 1
        g = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]

        work = np.subtract(g, exp_avg)  # the one scratch array of the step
        work *= 1.0 - beta1
        exp_avg += work
        np.abs(g, out=work)
        work += float(group["eps"])
        exp_inf *= beta2
        np.maximum(exp_inf, work, out=exp_inf)
        clr = float(group["lr"]) / (1.0 - beta1 ** state["step"])
        np.divide(exp_avg, exp_inf, out=work)
        work *= clr
        param -= work

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
