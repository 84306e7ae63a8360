"""Schedules over a fixed number of epochs: ConstantLR (a factor, then the full rate) and
PolynomialLR (a polynomial decay to zero)."""

from __future__ import annotations

from nerve.optim.lr_scheduler.base import LRScheduler


class ConstantLR(LRScheduler):
    """Scale the rate by ``factor`` until epoch ``total_iters``, then use the full rate.

    ``lr = initial_lr * (factor if epoch < total_iters else 1)``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        factor: the multiplier before ``total_iters``, in [0, 1] (default 1/3).
        total_iters: the epoch at which the full rate comes back (default 5).
        last_epoch: the index of the last epoch seen (-1 to start afresh).

    Raises:
        ValueError: ``factor`` outside [0, 1].
    """

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.factor for lr in lrs]
        if self.last_epoch != self.total_iters:
            return lrs
        return [lr * (1.0 / self.factor) for lr in lrs]

    def _closed_form_lr(self) -> list[float]:
        scale = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * scale for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the rate polynomially to zero over ``total_iters`` epochs.

    ``lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        total_iters: the epochs until the rate reaches zero (default 5).
        power: the polynomial's power (default 1, a linear decay).
        last_epoch: the index of the last epoch seen (-1 to start afresh).
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch=-1):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch > self.total_iters:
            return lrs
        e, n = self.last_epoch, self.total_iters
        decay = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [lr * decay for lr in lrs]

    def _closed_form_lr(self) -> list[float]:
        e, n = min(self.total_iters, self.last_epoch), self.total_iters
        return [base * (1.0 - e / n) ** self.power for base in self.base_lrs]
