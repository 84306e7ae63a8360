"""SequentialLR: run one schedule after another, switching at milestone epochs."""

from __future__ import annotations

import copy
from bisect import bisect_right

from nerve.optim.lr_scheduler.base import LRScheduler
from nerve.optim.lr_scheduler.plateau import ReduceLROnPlateau


class SequentialLR(LRScheduler):
    """Hand the rate to ``schedulers[i]`` from epoch ``milestones[i - 1]`` on.

    A schedule that takes over starts from its own epoch 0 (e.g. a warm-up LinearLR for 5
    epochs, then CosineAnnealingLR from the full rate).

    Args:
        optimizer: the optimizer every schedule in the sequence belongs to.
        schedulers: the schedules, in order (ReduceLROnPlateau cannot be one: it needs a metric).
        milestones: the epochs at which the next schedule takes over, one fewer than schedulers.
        last_epoch: the index of the last epoch seen (-1 to start afresh).

    >>> import nerve
    >>> from nerve.optim import SGD
    >>> from nerve.optim.lr_scheduler import ExponentialLR, LinearLR
    >>> opt = SGD([nerve.zeros(1, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers: list, milestones: list, last_epoch: int = -1):
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name} at index {i} should be an LRScheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                    "additional kwargs to be specified when calling `step`, but got one at "
                    f"index {i} in the given schedulers sequence."
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"{name} expects all schedulers to belong to the same optimizer, but got "
                    f"scheduler {type(scheduler).__name__} at index {i} with another optimizer."
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than "
                f"the number of milestone points, but got number of schedulers {len(schedulers)} "
                f"and the number of milestones to be equal to {len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]

        # Building each schedule stepped it once and changed the rates: undo both, then let the
        # schedule in charge at epoch 0 take its first step again.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        pending = list(self._schedulers)
        while pending:
            s = pending.pop()
            if isinstance(s, SequentialLR):
                pending.extend(s._schedulers)
            else:
                s.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch, switching schedule at a milestone."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(copy.deepcopy(state))
        for s, s_state in zip(self._schedulers, saved):
            s.load_state_dict(s_state)


class ChainedScheduler(LRScheduler):
    """Step several schedules together each epoch; their (chainable) factors multiply.

    Args:
        schedulers: the schedules, all on one optimizer (ReduceLROnPlateau cannot be one).
        optimizer: that optimizer (default: the first schedule's).

    Raises:
        ValueError: no schedule, a ReduceLROnPlateau, or schedules on different optimizers.

    >>> import nerve
    >>> from nerve.optim import SGD
    >>> from nerve.optim.lr_scheduler import ConstantLR, ExponentialLR
    >>> opt = SGD([nerve.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=2),
    ...                           ExponentialLR(opt, gamma=0.5)])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     sched.step()
    ...     lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(self, schedulers, optimizer=None):
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(
                f"{name} expects at least one scheduler to be chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name} at index {i} should be an LRScheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                    "additional kwargs to be specified when calling `step`, but got one at "
                    f"index {i} in the given schedulers sequence."
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"{name} expects all schedulers to belong to the same optimizer, but got "
                    f"scheduler {type(scheduler).__name__} at index {i} with another optimizer."
                )
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Step every schedule, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        state = {
            k: copy.deepcopy(v)
            for k, v in self.__dict__.items()
            if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        self.__dict__.update(copy.deepcopy(state))
        for s, s_state in zip(self._schedulers, saved):
            s.load_state_dict(s_state)
