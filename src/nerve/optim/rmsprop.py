"""RMSprop: divide the gradient by a running root-mean-square of recent gradients (Hinton)."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import Optimizer, check_lr, check_nonnegative, effective_grad


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), each step does::

        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g         (centered only)
        d = sqrt(v - a * a) + eps  if centered else  sqrt(v) + eps
        b = momentum * b + g / d                (momentum > 0; then p = p - lr * b)
        p = p - lr * g / d                      (momentum == 0)

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its second
            moment.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("epsilon", options["eps"])
        check_nonnegative("momentum", options["momentum"])
        check_nonnegative("weight_decay", options["weight_decay"])
        check_nonnegative("alpha", options["alpha"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        momentum = float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        g = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        square_avg = state["square_avg"]

        work = np.multiply(g, g)  # the one scratch array of the step
        work *= 1.0 - alpha
        square_avg *= alpha
        square_avg += work
        if group["centered"]:
            grad_avg = state["grad_avg"]
            np.subtract(g, grad_avg, out=work)
            work *= 1.0 - alpha
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(square_avg, out=work)
        work += float(group["eps"])
        np.divide(g, work, out=work)
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += work
            np.multiply(buf, lr, out=work)
        else:
            work *= lr
        param -= work

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)
