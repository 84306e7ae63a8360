"""Adagrad: per-coordinate learning rates from the sum of squared gradients (Duchi et al., 2011)."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import Optimizer, check_lr, check_nonnegative, effective_grad


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), step ``t`` does::

        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                           (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("lr_decay", options["lr_decay"])
        check_nonnegative("weight_decay", options["weight_decay"])
        check_nonnegative("initial_accumulator_value", options["initial_accumulator_value"])
        check_nonnegative("epsilon", options["eps"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, float(group["initial_accumulator_value"]))
        state["step"] += 1
        g = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        clr = float(group["lr"]) / (1.0 + (state["step"] - 1) * float(group["lr_decay"]))
        total = state["sum"]

        work = np.multiply(g, g)  # the one scratch array of the step
        total += work
        np.sqrt(total, out=work)
        work += float(group["eps"])
        np.divide(g, work, out=work)
        work *= clr
        param -= work

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
