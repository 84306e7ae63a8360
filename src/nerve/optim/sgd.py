"""SGD: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from nerve.optim.optimizer import Optimizer, check_lr, check_nonnegative, effective_grad


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    With ``g = grad + weight_decay * p`` (``-grad`` when maximizing), each step does::

        b = g                                   on the first step (when momentum != 0)
        b = momentum * b + (1 - dampening) * g  afterwards
        g = g + momentum * b  if nesterov else  b
        p = p - lr * g

    Args:
        params: the parameters to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening == 0).
        maximize: maximize the objective instead of minimizing it.

    >>> import nerve
    >>> w = nerve.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w._data
    array([0.8, 1.6], dtype=float32)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check(self, options: dict) -> None:
        check_lr(options["lr"])
        check_nonnegative("momentum", options["momentum"])
        check_nonnegative("weight_decay", options["weight_decay"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        g = effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                dampening = float(group["dampening"])
                if dampening == 0:
                    buf += g
                else:
                    buf += (1.0 - dampening) * g
            if group["nesterov"]:
                g = g + momentum * buf
            else:
                g = buf
        param -= lr * g

    _elementwise_update = _update  # step may split it over the threads (see Optimizer)

    def _state_ready(self, state: dict, group: dict) -> bool:
        # Without momentum there is no state; with it, the first step copies the whole gradient.
        return float(group["momentum"]) == 0 or "momentum_buffer" in state
