"""Keras's Adam, AdamW, Adamax and Nadam (Keras 3 formulas)."""

from __future__ import annotations

import numpy as np

from nerve.optimizers.base import Optimizer

_F32 = np.float32


def _power(beta: float, step: int):
    """beta ** step in float32, as Keras computes it (so trajectories match to the last bits)."""
    return _F32(beta) ** _F32(step)


def _moments(grad, m, v, beta_1: float, beta_2: float):
    """m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g^2, in place.

    Written as Keras's torch backend writes it (and nerve.optim.Adam), not as the incremental
    ``v += (g^2 - v)(1 - beta_2)``: once g^2 overflows to inf, that form computes inf - inf =
    NaN, where this one keeps v = inf and the step m / (sqrt(v) + eps) finite. Returns the
    scratch buffer it used (g^2 scaled), for the caller to reuse.
    """
    work = np.multiply(grad, 1 - beta_1)
    m *= beta_1
    m += work
    np.multiply(grad, grad, out=work)
    work *= 1 - beta_2
    v *= beta_2
    v += work
    return work


def _check_betas(cls: str, beta_1: float, beta_2: float) -> None:
    for i, b in enumerate((beta_1, beta_2)):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{cls}: beta_{i + 1} must be in [0, 1), got {b}")


class Adam(Optimizer):
    """Adam as Keras computes it (epsilon added to sqrt(v) before bias correction)::

        m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g^2
        var -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    >>> import nerve
    >>> w = nerve.ones(3, requires_grad=True)
    >>> opt = Adam(learning_rate=0.1)
    >>> opt.apply([nerve.ones(3)], [w])
    1
    >>> [round(v, 4) for v in w.tolist()]  # the first step moves each weight by about lr
    [0.9, 0.9, 0.9]
    """

    slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        _check_betas(type(self).__name__, beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        if amsgrad:
            self.slot_names = ("m", "v", "v_hat")

    def update_step(self, grad, var, lr, slots):
        t = self.iterations + 1
        one = _F32(1)
        alpha = _F32(lr) * np.sqrt(one - _power(self.beta_2, t)) / (one - _power(self.beta_1, t))
        m, v = slots["m"], slots["v"]
        work = _moments(grad, m, v, self.beta_1, self.beta_2)
        if self.amsgrad:
            np.maximum(slots["v_hat"], v, out=slots["v_hat"])
            v = slots["v_hat"]
        np.sqrt(v, out=work)
        work += self.epsilon
        np.divide(m, work, out=work)
        work *= alpha
        var -= work

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019); Keras's default 0.004."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number, not None")
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs
        )


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(beta_2 u, |g|), var -= lr m / ((1-beta_1^t)(u+eps))."""

    slot_names = ("m", "u")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        _check_betas("Adamax", beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def update_step(self, grad, var, lr, slots):
        t = self.iterations + 1
        m, u = slots["m"], slots["u"]
        work = np.multiply(grad, 1 - self.beta_1)
        m *= self.beta_1
        m += work
        u *= self.beta_2
        np.maximum(u, np.abs(grad), out=u)
        np.add(u, self.epsilon, out=work)
        work *= _F32(1) - _power(self.beta_1, t)
        np.divide(m, work, out=work)
        work *= lr
        var -= work

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Dozat's momentum schedule, as Keras implements it."""

    slot_names = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        _check_betas("Nadam", beta_1, beta_2)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_product = 1.0

    def _momentum_cache(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def _before_step(self) -> None:
        self._u_product *= self._momentum_cache(self.iterations + 1)

    def update_step(self, grad, var, lr, slots):
        t = self.iterations + 1
        u_t, u_t1 = self._momentum_cache(t), self._momentum_cache(t + 1)
        u_prod, u_prod_next = self._u_product, self._u_product * u_t1
        m, v = slots["m"], slots["v"]
        work = _moments(grad, m, v, self.beta_1, self.beta_2)
        m_hat = m * (u_t1 / (1 - u_prod_next)) + grad * ((1 - u_t) / (1 - u_prod))
        np.sqrt(v, out=work)
        work /= np.sqrt(_F32(1) - _power(self.beta_2, t))
        work += self.epsilon
        np.divide(m_hat, work, out=work)
        work *= lr
        var -= work

    def _extra_state(self) -> dict:
        return {"u_product": self._u_product}

    def _load_extra_state(self, extra: dict) -> None:
        self._u_product = float(extra.get("u_product", 1.0))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
