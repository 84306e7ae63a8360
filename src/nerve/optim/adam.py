"""Adam: adaptive moment estimation (Kingma and Ba, 2015), with AMSGrad and weight decay."""

from __future__ import annotations

import math

import numpy as np

from nerve.optim.optimizer import (
    Optimizer,
    check_betas,
    check_lr,
    check_nonnegative,
    effective_grad,
)


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), step ``t`` does::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                   (amsgrad only; v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    With ``decoupled_weight_decay=True`` (AdamW) the decay is not added to ``g``; instead
    ``p = p * (1 - lr * weight_decay)`` comes first.

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the maximum of all second-moment averages so far (Reddi et al., 2018).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: decay the weights directly, as AdamW does.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("epsilon", options["eps"])
        check_betas(options["betas"])
        check_nonnegative("weight_decay", options["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        amsgrad = group["amsgrad"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if amsgrad:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["decoupled_weight_decay"]:
            if weight_decay != 0:
                param *= 1.0 - lr * weight_decay
            g = effective_grad(param, grad, 0.0, group["maximize"])
        else:
            g = effective_grad(param, grad, weight_decay, group["maximize"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        work = np.subtract(g, exp_avg)  # the one scratch array of the step
        work *= 1.0 - beta1
        exp_avg += work  # m + (1 - beta1) * (g - m), the lerp torch uses
        np.multiply(g, g, out=work)
        work *= 1.0 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += work

        second = exp_avg_sq
        if amsgrad:
            second = state["max_exp_avg_sq"]
            np.maximum(second, exp_avg_sq, out=second)
        step_size = lr / (1.0 - beta1**step)
        np.sqrt(second, out=work)
        work /= math.sqrt(1.0 - beta2**step)
        work += float(group["eps"])
        np.divide(exp_avg, work, out=work)
        work *= step_size
        param -= work

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
