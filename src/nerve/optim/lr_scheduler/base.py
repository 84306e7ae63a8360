"""LRScheduler: the base of every learning-rate schedule (epoch count, base rates, saving)."""

from __future__ import annotations

import copy

from nerve.optim.optimizer import Optimizer


class LRScheduler:
    """Base class for learning-rate schedulers (PyTorch's API).

    A schedule sets ``group["lr"]`` of every param group of its optimizer. Building one records each
    group's starting rate as ``group["initial_lr"]`` (kept in ``base_lrs``) and takes the first
    step, epoch 0; call :meth:`step` once per epoch (or per batch) after ``optimizer.step()``.

    Subclasses write :meth:`get_lr`: the rates for ``self.last_epoch``, which ``step`` has
    just advanced. Most follow torch's recursive ("chainable") form, which reads the groups'
    current rates, so two schedules on one optimizer compose.

    Args:
        optimizer: the optimizer whose learning rates the schedule sets.
        last_epoch: the index of the last epoch seen; leave it at -1 unless resuming, in which
            case every group must already hold ``"initial_lr"``.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "a scheduler with last_epoch >= 0: load the optimizer's state_dict "
                        "first, or leave last_epoch at -1 for a fresh run"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take the step that sets epoch 0's rates."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``self.last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def _closed_form_lr(self) -> list[float]:
        """The rates for ``self.last_epoch`` from the epoch alone (where a closed form exists)."""
        return self.get_lr()

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last step set, one per param group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The schedule's state: every attribute except the optimizer, as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state returned by :meth:`state_dict`."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


def per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` repeated for each param group, or checked to have one entry per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}."
            )
        return list(value)
    return [value] * n
