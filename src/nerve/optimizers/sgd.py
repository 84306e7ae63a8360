"""Keras's SGD, RMSprop, Adagrad and Lion (Keras 3 formulas)."""

from __future__ import annotations

import numpy as np

from nerve.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent with Keras's momentum (the velocity folds in the learning rate)::

    v = momentum * v - lr * g;  var += v            (nesterov: var += momentum * v - lr * g)
    """

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = float(momentum), nesterov
        self.slot_names = ("momentum",) if momentum else ()

    def update_step(self, grad, var, lr, slots):
        if not self.momentum:
            var -= grad * lr
            return
        v = slots["momentum"]
        v *= self.momentum
        v -= grad * lr
        if self.nesterov:
            var += v * self.momentum - grad * lr
        else:
            var += v

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Keras's RMSprop (epsilon inside the square root)::

    v = rho v + (1 - rho) g^2;  step = lr g / sqrt(v + eps)   (centered: v - avg^2 + eps)
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho}")
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered
        self.slot_names = (
            ("velocity",)
            + (("momentum",) if momentum else ())
            + (("average_gradient",) if centered else ())
        )

    def update_step(self, grad, var, lr, slots):
        v = slots["velocity"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        if self.centered:
            avg = slots["average_gradient"]
            avg *= self.rho
            avg += (1 - self.rho) * grad
            denominator = v - avg * avg
            denominator += self.epsilon
        else:
            denominator = v + self.epsilon
        np.sqrt(denominator, out=denominator)
        increment = np.divide(grad * lr, denominator, out=denominator)
        if self.momentum:
            m = slots["momentum"]
            m *= self.momentum
            m += increment
            var -= m
        else:
            var -= increment

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """acc += g^2; var -= lr g / sqrt(acc + eps), the accumulator starting at 0.1 (Keras)."""

    slot_names = ("accumulator",)

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError("Adagrad: initial_accumulator_value must be >= 0")
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _make_slots(self, var):
        return {"accumulator": np.full_like(var, self.initial_accumulator_value)}

    def update_step(self, grad, var, lr, slots):
        acc = slots["accumulator"]
        acc += grad * grad
        denominator = acc + self.epsilon
        np.sqrt(denominator, out=denominator)
        var -= np.divide(grad * lr, denominator, out=denominator)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Lion(Optimizer):
    """Lion (Chen et al., 2023): var -= lr sign(beta_1 m + (1-beta_1) g); m = beta_2 m + ..."""

    slot_names = ("m",)

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0.0 < beta_1 <= 1.0 or not 0.0 <= beta_2 <= 1.0:
            raise ValueError(
                f"Lion: need 0 < beta_1 <= 1 and 0 <= beta_2 <= 1, got {beta_1}, {beta_2}"
            )
        self.beta_1, self.beta_2 = beta_1, beta_2

    def update_step(self, grad, var, lr, slots):
        m = slots["m"]
        direction = np.sign(m * self.beta_1 + grad * (1 - self.beta_1))
        direction *= lr
        var -= direction
        m *= self.beta_2
        m += grad * (1 - self.beta_2)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
