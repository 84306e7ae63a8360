"""CyclicLR: the rate cycles between two bounds (Smith, 2017, "Cyclical Learning Rates for
Training Neural Networks"), the momentum in the opposite direction."""

from __future__ import annotations

import math

from nerve.optim.lr_scheduler.base import LRScheduler, per_group


class CyclicLR(LRScheduler):
    """Cycle each group's rate between ``base_lr`` and ``max_lr``; step it once per batch.

    A cycle rises for ``step_size_up`` steps and falls for ``step_size_down``. The amplitude is
    scaled per cycle: "triangular" keeps it, "triangular2" halves it every cycle, "exp_range"
    multiplies it by ``gamma ** step``; or give ``scale_fn`` (with ``scale_mode`` "cycle" or
    "iterations"). With ``cycle_momentum`` the momentum (or Adam's beta1) moves between
    ``max_momentum`` and ``base_momentum`` inversely to the rate.

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        base_lr, max_lr: the cycle's bounds (a value, or one per param group).
        step_size_up: steps in the rising half (default 2000).
        step_size_down: steps in the falling half (default step_size_up).
        mode: "triangular", "triangular2" or "exp_range" (ignored when scale_fn is given).
        gamma: the base of "exp_range" (default 1).
        scale_fn: a custom amplitude scale of one argument, with scale_mode.
        scale_mode: "cycle" (scale_fn of the cycle number) or "iterations" (of the step).
        cycle_momentum: cycle the momentum too (default True).
        base_momentum, max_momentum: the momentum bounds (defaults 0.8 and 0.9).
        last_epoch: the index of the last step seen (-1 to start afresh).

    Raises:
        ValueError: an unknown mode without scale_fn, or cycle_momentum with an optimizer
            that has neither momentum nor betas.
    """

    def __init__(
        self,
        optimizer,
        base_lr,
        max_lr,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn=None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum=0.8,
        max_momentum=0.9,
        last_epoch: int = -1,
    ):
        base_lrs = per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode {mode!r} is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        if scale_fn is None:
            scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self.scale_mode = scale_mode
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups
                ):
                    self._set_momentum(group, m_max)
                    group["max_momentum"], group["base_momentum"] = m_max, m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x) -> float:
        """The amplitude scale at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base + (high - base) * scale_factor * scale
            for base, high in zip(self.base_lrs, self.max_lrs)
        ]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                self._set_momentum(group, m_max - (m_max - m_base) * scale_factor * scale)
        return lrs

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.pop("_scale_fn_custom", None)  # a function is code, not data
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
