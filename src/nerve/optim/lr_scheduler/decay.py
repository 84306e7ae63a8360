"""Schedules that scale the rate by a factor: LambdaLR, StepLR, MultiStepLR, ExponentialLR,
LinearLR."""

from __future__ import annotations

import copy
import functools
import types
from bisect import bisect_right

from nerve.optim.lr_scheduler.base import LRScheduler, per_group


class LambdaLR(LRScheduler):
    """Set each group's rate to its initial rate times a function of the epoch.

    ``lr = initial_lr * lr_lambda(epoch)``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        lr_lambda: a function of the epoch, or a list of them (one per param group).
        last_epoch: the index of the last epoch seen (-1 to start afresh).

    The functions are not saved by :meth:`state_dict` (only a callable object's attributes are).
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = per_group("lr_lambda", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "lr_lambdas")
        }
        # A function is code, not data: only a callable object's attributes are kept.
        state["lr_lambdas"] = [
            None
            if isinstance(fn, _FUNCTION_TYPES)
            else copy.deepcopy(getattr(fn, "__dict__", None))
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(copy.deepcopy(attrs))


_FUNCTION_TYPES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr = initial_lr * gamma ** (epoch // step_size)``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        step_size: the period of the decay, in epochs.
        gamma: the factor applied at each period's end (default 0.1).
        last_epoch: the index of the last epoch seen (-1 to start afresh).
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if int(step_size) != step_size or step_size <= 0:
            raise ValueError(f"Expected positive integer step_size, but got {step_size}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each milestone epoch.

    ``lr = initial_lr * gamma ** (number of milestones <= epoch)``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        milestones: epoch indices (a milestone listed twice applies gamma twice).
        gamma: the factor applied at each milestone (default 0.1).
        last_epoch: the index of the last epoch seen (-1 to start afresh).
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma**hits for g in groups]

    def _closed_form_lr(self) -> list[float]:
        passed = bisect_right(self.milestones, self.last_epoch)
        return [b * self.gamma**passed for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch.

    ``lr = initial_lr * gamma ** epoch``

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        gamma: the factor applied each epoch.
        last_epoch: the index of the last epoch seen (-1 to start afresh).
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [g["lr"] for g in groups]
        return [g["lr"] * self.gamma for g in groups]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate by a factor that moves linearly from start_factor to end_factor.

    ``lr = initial_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
    / total_iters)``, computed in torch's recursive form so the values match it exactly.

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        start_factor: the factor at epoch 0, in (0, 1] (default 1/3).
        end_factor: the factor from epoch ``total_iters`` on, in [0, 1] (default 1.0).
        total_iters: the number of epochs the factor takes to get there (default 5).
        last_epoch: the index of the last epoch seen (-1 to start afresh).
    """

    def __init__(
        self,
        optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                f"equal to 1, but got {start_factor}."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                f"Ending multiplicative factor expected to be between 0 and 1, but got "
                f"{end_factor}."
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [g["lr"] for g in groups]
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [g["lr"] * ratio for g in groups]

    def _closed_form_lr(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [b * factor for b in self.base_lrs]
