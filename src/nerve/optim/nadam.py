"""NAdam: Adam with Nesterov momentum (Dozat, 2016), with torch's momentum-decay schedule."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import (
    Optimizer,
    check_betas,
    check_lr,
    check_nonnegative,
    effective_grad,
)


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), step ``t`` does::

        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        P_t = mu_1 * ... * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d
              - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    With ``decoupled_weight_decay=True`` the decay is not added to ``g``; instead
    ``p = p * (1 - lr * weight_decay)`` comes first (NAdamW).

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 2e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum_decay: how fast the momentum schedule ``mu_t`` rises to beta1 (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW does.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("epsilon", options["eps"])
        check_betas(options["betas"])
        check_nonnegative("weight_decay", options["weight_decay"])
        check_nonnegative("momentum_decay", options["momentum_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        weight_decay = float(group["weight_decay"])
        momentum_decay = float(group["momentum_decay"])
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["decoupled_weight_decay"]:
            if weight_decay != 0:
                param *= 1.0 - lr * weight_decay
            g = effective_grad(param, grad, 0.0, group["maximize"])
        else:
            g = effective_grad(param, grad, weight_decay, group["maximize"])

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # The running product is kept at the parameter's precision, as torch keeps it in a
        # float32 tensor; rounding it differently would drift from torch over many steps.
        mu_product = float(param.dtype.type(state["mu_product"] * mu))
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

        work = np.subtract(g, exp_avg)  # two scratch arrays: this one and the denominator
        work *= 1.0 - beta1
        exp_avg += work
        np.multiply(g, g, out=work)
        work *= 1.0 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += work
        denom = np.divide(exp_avg_sq, 1.0 - beta2**step)
        np.sqrt(denom, out=denom)
        denom += float(group["eps"])

        np.divide(g, denom, out=work)
        work *= lr * (1.0 - mu) / (1.0 - mu_product)
        param -= work
        np.divide(exp_avg, denom, out=work)
        work *= lr * mu_next / (1.0 - mu_product * mu_next)
        param -= work

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
