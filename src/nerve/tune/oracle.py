"""Objective, Trial and Oracle: Keras Tuner's bookkeeping over one Optuna study.

The Oracle owns the study (its sampler, pruner and storage). It hands out trials so that a
search stops at exactly ``max_trials`` counted trials even with several processes on one study,
retries a failed trial ``max_retries_per_trial`` times, and re-runs (with the same values) the
trials of a process that died, so a killed search resumes without repeating finished trials.
"""

from __future__ import annotations

import os
import socket

from nerve.tune._optuna import require_optuna
from nerve.tune.hyperparameters import HyperParameters

# Metric names Keras Tuner maximizes; any other known metric or loss is minimized.
_MAX_NAMES = {"acc", "auc", "precision", "recall", "f1_score", "fbeta_score", "r2_score", "iou"}
_MAX_SUFFIXES = ("accuracy", "auc", "precision", "recall", "iou", "f1_score", "r2_score")
_MIN_HINTS = ("loss", "error", "crossentropy", "hinge", "divergence", "poisson", "mse", "mae")
# Tags on FAIL trials that do not count toward max_trials.
_NOT_COUNTED = ("cancelled", "retried", "stale", "interrupted")


def infer_direction(name: str) -> str:
    """``"min"`` or ``"max"`` for a metric name, as Keras Tuner infers it (``val_`` ignored).

    Raises:
        ValueError: the name is not a known metric or loss.
    """
    base = name[4:] if name.startswith("val_") else name
    base = base.lower()
    if base in _MAX_NAMES or base.endswith(_MAX_SUFFIXES):
        return "max"
    if any(h in base for h in _MIN_HINTS) or base in ("mape", "msle", "logcosh", "huber"):
        return "min"
    raise ValueError(
        f'Could not infer optimization direction ("min" or "max") for unknown metric "{name}". '
        f"Please specify the objective as a nerve.tune.Objective, for example "
        f'nerve.tune.Objective("{name}", direction="max").'
    )


class Objective:
    """The metric a search optimizes and its direction (Keras Tuner's ``kt.Objective``).

    Args:
        name: a key of the fit logs, e.g. ``"val_accuracy"``.
        direction: ``"min"`` or ``"max"``.

    Raises:
        ValueError: any other direction.

    >>> Objective("val_accuracy", "max")
    Objective(name="val_accuracy", direction="max")
    """

    def __init__(self, name: str, direction: str):
        if direction not in ("min", "max"):
            raise ValueError(f'Objective: direction must be "min" or "max", got {direction!r}')
        self.name = name
        self.direction = direction

    def get_value(self, logs: dict):
        """The objective's value in ``logs`` (None when absent)."""
        value = logs.get(self.name)
        return None if value is None else float(value)

    def better_than(self, a, b) -> bool:
        """Whether ``a`` is strictly better than ``b`` (anything beats None)."""
        if b is None:
            return a is not None
        return a is not None and (a > b if self.direction == "max" else a < b)

    def __eq__(self, other) -> bool:
        return isinstance(other, Objective) and (self.name, self.direction) == (
            other.name,
            other.direction,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.direction))

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'


class MultiObjective(Objective):
    """A list of objectives as one to minimize: the minimized ones minus the maximized ones."""

    def __init__(self, objectives):
        super().__init__("multi_objective", "min")
        self.objectives = objectives

    def get_value(self, logs: dict):
        total = 0.0
        for obj in self.objectives:
            value = obj.get_value(logs)
            if value is None:
                return None
            total += value if obj.direction == "min" else -value
        return total

    def __repr__(self) -> str:
        return f"MultiObjective({self.objectives})"


def make_objective(objective) -> Objective:
    """An Objective from a string, an Objective, a list of either, or None (``"val_loss"``).

    Raises:
        TypeError: anything else.
    """
    if objective is None:
        return Objective("val_loss", "min")
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return Objective(objective, infer_direction(objective))
    if isinstance(objective, (list, tuple)):
        objs = [make_objective(o) for o in objective]
        return objs[0] if len(objs) == 1 else MultiObjective(objs)
    raise TypeError(
        "objective must be a string, an Objective or a list of them, got "
        f"{type(objective).__name__}"
    )


_STATUS = {
    "COMPLETE": "COMPLETED",
    "PRUNED": "STOPPED",
    "FAIL": "FAILED",
    "RUNNING": "RUNNING",
    "WAITING": "IDLE",
}


class Trial:
    """One trial of a search, as Keras Tuner shows it.

    Attributes:
        trial_id: ``"00"``, ``"01"``, ... (the Optuna trial number, zero-padded).
        hyperparameters: its HyperParameters (space and values).
        score: the objective (mean over executions of each one's best epoch), or None.
        best_step: the epoch of the best value (of the best execution).
        status: ``"RUNNING"``, ``"COMPLETED"``, ``"STOPPED"`` (pruned), ``"FAILED"``, ``"IDLE"``.
        number: the Optuna trial number; ``frozen``: Optuna's FrozenTrial, when finished.
    """

    def __init__(self, hyperparameters, number, status, score=None, best_step=None, frozen=None):
        self.hyperparameters = hyperparameters
        self.number = number
        self.trial_id = f"{number:02d}"
        self.status = status
        self.score = score
        self.best_step = best_step
        self.frozen = frozen
        self.optuna_trial = None  # the live optuna.Trial while it runs

    def summary(self) -> None:
        """Print the trial's id, hyperparameters and score (Keras Tuner's layout)."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")
        if self.score is not None:
            print(f"Score: {self.score}")

    def __repr__(self) -> str:
        return f"Trial(id={self.trial_id}, status={self.status}, score={self.score})"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Oracle:
    """Hands out trials from an Optuna study and records their results.

    Args:
        objective: see Tuner.
        max_trials: the number of trials to run (None: until the sampler is exhausted).
        hyperparameters: a HyperParameters whose declarations override the hypermodel's.
        allow_new_entries: whether the hypermodel may declare names ``hyperparameters`` lacks.
        tune_new_entries: whether those are tuned (else they keep their defaults).
        seed: the sampler's seed.
        max_retries_per_trial: re-runs (same values) of a trial that raised.
        max_consecutive_failed_trials: raise after this many failed trials in a row.
        sampler, pruner: Optuna's; each tuner picks its own when None.
    """

    def __init__(
        self,
        objective=None,
        max_trials=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        seed=None,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        sampler=None,
        pruner=None,
    ):
        if max_trials is not None and int(max_trials) < 1:
            raise ValueError(f"max_trials must be >= 1, got {max_trials}")
        if int(max_retries_per_trial) < 0:
            raise ValueError(f"max_retries_per_trial must be >= 0, got {max_retries_per_trial}")
        self.objective = make_objective(objective)
        self.max_trials = None if max_trials is None else int(max_trials)
        self.hyperparameters = hyperparameters.copy() if hyperparameters else HyperParameters()
        self._fixed_space = {hp.name: hp for hp in self.hyperparameters.space}
        self.allow_new_entries = allow_new_entries
        self.tune_new_entries = tune_new_entries
        self.seed = seed
        self.max_retries_per_trial = int(max_retries_per_trial)
        self.max_consecutive_failed_trials = int(max_consecutive_failed_trials)
        self.sampler = sampler
        self.pruner = pruner
        self.study = None
        self._host = socket.gethostname()

    # ------------------------------------------------------------------ per-tuner choices
    def _make_sampler(self):
        return require_optuna("nerve.tune").samplers.RandomSampler(seed=self.seed)

    def _make_pruner(self):
        return require_optuna("nerve.tune").pruners.NopPruner()

    def _exhausted(self) -> bool:
        return False

    # ------------------------------------------------------------------ the study
    def _open(self, storage, study_name: str) -> None:
        optuna = require_optuna("nerve.tune")
        self.sampler = self.sampler or self._make_sampler()
        self.pruner = self.pruner or self._make_pruner()
        direction = "maximize" if self.objective.direction == "max" else "minimize"
        self.study = optuna.create_study(
            storage=storage,
            sampler=self.sampler,
            pruner=self.pruner,
            study_name=study_name,
            direction=direction,
            load_if_exists=True,
        )
        if self.study.direction.name.lower() != direction:
            raise ValueError(
                f"the study {study_name!r} in this project was made to "
                f"{self.study.direction.name.lower()} but the objective {self.objective} asks to "
                f"{direction}: use another project_name, or overwrite=True"
            )
        recorded = self.study.user_attrs.get("objective")
        if recorded is None:
            self.study.set_user_attr("objective", repr(self.objective))
        elif recorded != repr(self.objective):
            raise ValueError(
                f"the study {study_name!r} was searched for {recorded}, not {self.objective}: "
                f"use another project_name, or overwrite=True"
            )

    def _counts(self, t) -> bool:
        state = t.state.name
        if state == "FAIL":
            return t.user_attrs.get("tag") not in _NOT_COUNTED
        return True

    def _recover_stale(self, trials) -> None:
        """Fail the RUNNING trials of dead processes on this host and queue them again."""
        for t in trials:
            if t.state.name != "RUNNING":
                continue
            owner = t.user_attrs.get("owner")
            if not owner or owner[0] != self._host or owner[1] == os.getpid():
                continue
            if not _pid_alive(owner[1]):
                self._requeue(t, "stale")

    def _requeue(self, t, tag: str) -> None:
        optuna = require_optuna("nerve.tune")
        self.study._storage.set_trial_user_attr(t._trial_id, "tag", tag)
        self.study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        retry = int(t.user_attrs.get("retry", 0)) + (tag == "retried")
        attrs = {"retry": retry}
        if "hyperband" in t.user_attrs:  # a Hyperband trial's retry keeps its bracket and round
            attrs["hyperband"] = t.user_attrs["hyperband"]
        self.study.enqueue_trial(t.params, user_attrs=attrs, skip_if_exists=False)

    def create_trial(self, tuner_id: str = "tuner0"):
        """The next trial to run, or None when the search is done.

        Returns:
            (Trial, optuna.Trial) or None.
        """
        study = self.study
        trials = study.get_trials(deepcopy=False)
        self._recover_stale(trials)
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state.name == "WAITING" for t in trials)
        full = self.max_trials is not None and sum(map(self._counts, trials)) >= self.max_trials
        if full and not waiting:
            return None
        if not waiting and self._exhausted():
            return None
        live = study.ask()
        live.set_user_attr("owner", [self._host, os.getpid(), tuner_id])
        if self.max_trials is not None:
            # Another process may have taken the last slot between our count and our ask.
            trials = study.get_trials(deepcopy=False)
            counted = sorted(t.number for t in trials if t.number == live.number or self._counts(t))
            if counted.index(live.number) >= self.max_trials:
                live.set_user_attr("tag", "cancelled")
                self._tell(live, state=require_optuna("nerve.tune").trial.TrialState.FAIL)
                return None
        hp = HyperParameters()
        hp._trial = live
        hp._fixed_space = self._fixed_space
        hp._tune_new_entries = self.tune_new_entries
        hp._allow_new_entries = self.allow_new_entries
        trial = Trial(hp, live.number, "RUNNING")
        trial.optuna_trial = live
        return trial

    def end_trial(self, trial: Trial, status: str, error: str | None = None) -> None:
        """Record a finished trial: ``"COMPLETED"``, ``"STOPPED"`` (pruned), ``"FAILED"``, or
        ``"INTERRUPTED"`` (queued again with the same values)."""
        optuna = require_optuna("nerve.tune")
        live = trial.optuna_trial
        trial.status = status
        trial.hyperparameters._trial = None
        if status == "INTERRUPTED":
            self._requeue(self.study._storage.get_trial(live._trial_id), "interrupted")
            return
        attrs = {"values": _jsonable(trial.hyperparameters.values)}
        if trial.best_step is not None:
            attrs["best_step"] = int(trial.best_step)
        if trial.score is not None:
            attrs["score"] = float(trial.score)
        live.set_user_attr("result", attrs)
        if status == "FAILED":
            live.set_user_attr("error", (error or "")[-2000:])
            retries = int(live.user_attrs.get("retry", 0))
            if retries < self.max_retries_per_trial:
                self._requeue(self.study._storage.get_trial(live._trial_id), "retried")
                return
            self._tell(live, state=optuna.trial.TrialState.FAIL)
        elif status == "STOPPED":
            self._tell(live, state=optuna.trial.TrialState.PRUNED)
        else:
            self._tell(live, trial.score)

    def _tell(self, live, values=None, state=None) -> None:
        try:
            self.study.tell(live, values, state=state)
        except RuntimeError:
            # GridSampler calls study.stop() when the grid is used up, which Optuna allows only
            # inside study.optimize; the state is stored by then, and _exhausted() stops us.
            if self.study._storage.get_trial(live._trial_id).state.name == "RUNNING":
                raise

    # ------------------------------------------------------------------ results
    def _as_trial(self, t, space: HyperParameters) -> Trial:
        result = t.user_attrs.get("result", {})
        hp = space.copy()
        hp.values = dict(result.get("values", {}))
        status = _STATUS.get(t.state.name, t.state.name)
        return Trial(hp, t.number, status, _score(t), result.get("best_step"), t)

    @property
    def trials(self) -> dict:
        """``{trial_id: Trial}`` of every counted trial."""
        space = self.get_space()
        return {
            f"{t.number:02d}": self._as_trial(t, space)
            for t in self.study.get_trials(deepcopy=False)
            if self._counts(t)
        }

    def get_space(self) -> HyperParameters:
        """The search space recorded by the search (HyperParameters without values)."""
        recorded = self.study.user_attrs.get("space") if self.study is not None else None
        if recorded:
            return HyperParameters.from_config({"space": recorded})
        return self.hyperparameters.copy()

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The best finished trials (completed or pruned, by score as Keras Tuner ranks every
        trial it ran), best first.

        Raises:
            RuntimeError: the search has not been opened yet.
        """
        if self.study is None:
            raise RuntimeError("get_best_trials: no search yet; call tuner.search(...) first")
        space = self.get_space()
        sign = -1.0 if self.objective.direction == "max" else 1.0
        done = [
            t
            for t in self.study.get_trials(deepcopy=False)
            if t.state.name in ("COMPLETE", "PRUNED") and _score(t) is not None
        ]
        done.sort(key=lambda t: (sign * _score(t), t.number))
        return [self._as_trial(t, space) for t in done[:num_trials]]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        return [t.hyperparameters for t in self.get_best_trials(num_trials)]


def _score(t):
    """A finished trial's score: the tuner's own (best epoch, as Keras Tuner), else Optuna's."""
    if t.state.name not in ("COMPLETE", "PRUNED"):
        return None
    return t.user_attrs.get("result", {}).get("score", t.value)


def _jsonable(values: dict) -> dict:
    out = {}
    for k, v in values.items():
        if hasattr(v, "item"):
            v = v.item()
        out[k] = v if isinstance(v, (bool, int, float, str, type(None))) else repr(v)
    return out
