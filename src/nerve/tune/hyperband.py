"""Hyperband as Keras Tuner runs it: synchronous successive-halving brackets, with each promoted
model resumed from the checkpoint its previous round saved.

Optuna samples the new models' values (RandomSampler unless a sampler is given) and stores every
trial; the bracket and round bookkeeping lives on the trials themselves (the ``hyperband`` user
attribute of each Optuna trial) and the study (``hyperband`` user attribute: the arithmetic's
parameters), so a killed search rebuilds its brackets from the study and carries on.

Keras Tuner's arithmetic, for ``max_epochs`` (R) and ``factor`` (f):

- brackets: the number of divisions of R by f that stay >= 1 (``floor(log_f R) + 1``, computed by
  repeated division as Keras Tuner does), run from the largest ``s = brackets - 1`` down to 0,
  ``hyperband_iterations`` times;
- bracket ``s`` has ``s + 1`` rounds; round ``r`` holds ``ceil(ceil(1 + log_f R) / (s + 1) *
  f**(s - r))`` models trained to ``ceil(R / f**(s - r))`` epochs;
- a model of round ``r > 0`` is the best not yet promoted of round ``r - 1``, chosen once more
  unchosen ones have finished than the round drops; it gets the same values plus ``tuner/trial_id``
  (its parent), ``tuner/initial_epoch`` (the parent's epochs) and ``tuner/epochs``, loads the
  parent's checkpoint and trains on from ``initial_epoch``.
"""

from __future__ import annotations

import math
import time

from nerve.tune._optuna import require_optuna
from nerve.tune.oracle import _NOT_COUNTED, Oracle, _score
from nerve.tune.tuner import Tuner
from nerve.tune.tuners import _split


def num_brackets(max_epochs: int, factor: int, min_epochs: int = 1) -> int:
    """Keras Tuner's number of brackets: how often ``max_epochs`` divides by ``factor`` and stays
    ``>= min_epochs``, plus one.

    >>> num_brackets(10, 3)
    3
    """
    epochs, brackets = max_epochs, 0
    while epochs >= min_epochs:
        epochs = epochs / factor
        brackets += 1
    return brackets


def bracket_size(max_epochs: int, factor: int, bracket: int, round_num: int) -> int:
    """How many models round ``round_num`` of bracket ``bracket`` trains (Keras Tuner's
    ``_get_size``: every bracket spends about the same epochs)."""
    end = math.ceil(1 + math.log(max_epochs, factor))
    return math.ceil(end / (bracket + 1) * factor ** (bracket - round_num))


def bracket_epochs(max_epochs: int, factor: int, bracket: int, round_num: int) -> int:
    """The epochs a model of round ``round_num`` of bracket ``bracket`` has trained at its end
    (Keras Tuner's ``_get_epochs``)."""
    return math.ceil(max_epochs / factor ** (bracket - round_num))


def hyperband_schedule(max_epochs: int, factor: int) -> list[list[tuple[int, int]]]:
    """One Hyperband iteration: per bracket (largest first), ``(models, epochs)`` per round.

    >>> hyperband_schedule(10, 3)
    [[(12, 2), (4, 4), (2, 10)], [(6, 4), (2, 10)], [(4, 10)]]
    """
    out = []
    for s in reversed(range(num_brackets(max_epochs, factor))):
        out.append(
            [
                (bracket_size(max_epochs, factor, s, r), bracket_epochs(max_epochs, factor, s, r))
                for r in range(s + 1)
            ]
        )
    return out


def hyperband_trials(max_epochs: int, factor: int, hyperband_iterations: int = 1) -> int:
    """How many new models (first rounds) Keras Tuner's Hyperband starts.

    >>> hyperband_trials(10, 3)
    22
    """
    per = sum(rounds[0][0] for rounds in hyperband_schedule(max_epochs, factor))
    return per * int(hyperband_iterations)


def hyperband_total_trials(max_epochs: int, factor: int, hyperband_iterations: int = 1) -> int:
    """How many trials (new and promoted) Keras Tuner's Hyperband runs when none fails.

    >>> hyperband_total_trials(10, 3)
    30
    """
    per = sum(n for rounds in hyperband_schedule(max_epochs, factor) for n, _ in rounds)
    return per * int(hyperband_iterations)


class HyperbandOracle(Oracle):
    """Keras Tuner's Hyperband oracle on an Optuna study.

    Args:
        max_epochs: the epochs of the last round of every bracket (default 100).
        factor: the reduction factor between rounds (default 3).
        hyperband_iterations: how many times the whole set of brackets runs (default 1).
        Others as Oracle (``max_trials``, None by default, caps the trials as a safety net).

    Raises:
        ValueError: max_epochs < 1, factor < 2 or hyperband_iterations < 1.
    """

    poll_seconds = 0.5  # wait between looks when other workers hold the trials a round needs

    def __init__(
        self,
        objective=None,
        max_trials=None,
        *,
        max_epochs=100,
        factor=3,
        hyperband_iterations=1,
        **kwargs,
    ):
        if int(max_epochs) < 1:
            raise ValueError(f"Hyperband: max_epochs must be >= 1, got {max_epochs}")
        if int(factor) < 2:
            raise ValueError(f"Hyperband: factor must be >= 2, got {factor}")
        if int(hyperband_iterations) < 1:
            raise ValueError(
                f"Hyperband: hyperband_iterations must be >= 1, got {hyperband_iterations}"
            )
        super().__init__(objective, max_trials, **kwargs)
        self.max_epochs, self.factor = int(max_epochs), int(factor)
        self.hyperband_iterations = int(hyperband_iterations)
        self.min_epochs = 1

    def _open(self, storage, study_name: str) -> None:
        super()._open(storage, study_name)
        config = [self.max_epochs, self.factor, self.hyperband_iterations]
        recorded = self.study.user_attrs.get("hyperband")
        if recorded is None:
            self.study.set_user_attr("hyperband", config)
        elif list(recorded) != config:
            raise ValueError(
                f"the study {study_name!r} ran Hyperband with [max_epochs, factor, "
                f"hyperband_iterations] = {list(recorded)}, not {config}: use another "
                f"project_name, or overwrite=True"
            )

    # ------------------------------------------------------------------ the brackets
    def _brackets(self, trials):
        """``{(iteration, bracket): [round 0 trials, round 1 trials, ...]}`` in creation order,
        from the trials' ``hyperband`` attributes (queued retries count, their failed copies
        do not)."""
        brackets: dict = {}
        for t in trials:
            info = t.user_attrs.get("hyperband")
            if info is None or t.user_attrs.get("tag") in _NOT_COUNTED:
                continue
            key = (info["iteration"], info["bracket"])
            rounds = brackets.setdefault(key, [[] for _ in range(info["bracket"] + 1)])
            rounds[info["round"]].append(t)
        return dict(sorted(brackets.items(), key=lambda kv: (kv[0][0], -kv[0][1])))

    def _size(self, bracket, round_num):
        return bracket_size(self.max_epochs, self.factor, bracket, round_num)

    def _epochs(self, bracket, round_num):
        return bracket_epochs(self.max_epochs, self.factor, bracket, round_num)

    def _info(self, iteration, bracket, round_num, past):
        return {
            "iteration": iteration,
            "bracket": bracket,
            "round": round_num,
            "past_id": past,
            "epochs": self._epochs(bracket, round_num),
            "initial_epoch": self._epochs(bracket, round_num - 1) if round_num else 0,
        }

    def _plan(self, trials):
        """What to run next: ``("new", info)``, ``("promote", info, parent)``, ``"idle"`` (other
        workers hold what the open rounds wait for) or None (done). Keras Tuner's order: fill
        each open bracket's first round, then promote; else open the next bracket."""
        brackets = self._brackets(trials)
        for (iteration, s), rounds in brackets.items():
            if len(rounds[s]) >= self._size(s, s):
                continue  # every trial of its last round exists: the bracket is complete
            if len(rounds[0]) < self._size(s, 0):
                return ("new", self._info(iteration, s, 0, None))
            for r in range(1, s + 1):
                chosen = {t.user_attrs["hyperband"]["past_id"] for t in rounds[r]}
                candidates = [
                    t
                    for t in rounds[r - 1]
                    if t.number not in chosen
                    and t.state.name == "COMPLETE"
                    and _score(t) is not None
                ]
                # Choose once more unchosen ones have finished than the round drops: the best
                # of them is then sure to be among the round's best (Keras Tuner's rule).
                if len(candidates) > self._size(s, r - 1) - self._size(s, r):
                    sign = -1.0 if self.objective.direction == "max" else 1.0
                    best = min(candidates, key=lambda t: (sign * _score(t), t.number))
                    return ("promote", self._info(iteration, s, r, best.number), best)
        last = self._last_bracket(brackets)
        if last == (self.hyperband_iterations - 1, 0):
            return "idle" if any(t.state.name == "RUNNING" for t in trials) else None
        iteration, s = last
        if s == 0:
            iteration, s = iteration + 1, self._num_brackets() - 1
        else:
            s -= 1
        return ("new", self._info(iteration, s, 0, None))

    def _num_brackets(self):
        return num_brackets(self.max_epochs, self.factor, self.min_epochs)

    def _last_bracket(self, brackets):
        if not brackets:
            return (0, self._num_brackets())  # so that the next one is (0, brackets - 1)
        return list(brackets)[-1]

    # ------------------------------------------------------------------ trials
    def create_trial(self, tuner_id: str = "tuner0"):
        """The next trial of the brackets (new or promoted), or None when they are done.

        Returns:
            (Trial) or None; the Trial's ``hyperparameters.values`` hold Keras Tuner's
            ``tuner/epochs``, ``tuner/initial_epoch``, ``tuner/bracket``, ``tuner/round`` and,
            for a promoted trial, ``tuner/trial_id``.
        """
        study = self.study
        while True:
            trials = study.get_trials(deepcopy=False)
            self._recover_stale(trials)
            trials = study.get_trials(deepcopy=False)
            plan = None  # a queued retry or promotion carries its own bookkeeping
            if not any(t.state.name == "WAITING" for t in trials):
                plan = self._plan(trials)
                if plan is None:
                    return None
                if plan == "idle":
                    time.sleep(self.poll_seconds)
                    continue
                # Queued with its bookkeeping, which the storage writes with the trial in one
                # step (so racing workers see it), and with the parent's values when promoted
                # (the next ask() gets them fixed; a new trial's are sampled then).
                params = plan[2].params if plan[0] == "promote" else {}
                study.enqueue_trial(params, user_attrs={"hyperband": plan[1]}, skip_if_exists=False)
            trial = super().create_trial(tuner_id)
            if trial is None:
                return None
            live = trial.optuna_trial
            info = live.user_attrs.get("hyperband")
            if info is None or self._taken(info, live.number):
                # Another worker took the queued trial, or filled this slot first: let go.
                live.set_user_attr("tag", "cancelled")
                self._tell(live, state=require_optuna("nerve.tune").trial.TrialState.FAIL)
                continue
            self._add_tuner_values(trial, info)
            return trial

    def _taken(self, info, number) -> bool:
        """Whether trials numbered before ``number`` already fill the slot ``info`` describes
        (its round's size reached, or its parent already promoted): several workers may plan
        the same slot at once, and the storage's trial numbers decide who keeps it."""
        key = (info["iteration"], info["bracket"], info["round"])
        before = [
            t.user_attrs["hyperband"]
            for t in self.study.get_trials(deepcopy=False)
            if t.number < number
            and "hyperband" in t.user_attrs
            and t.user_attrs.get("tag") not in _NOT_COUNTED
        ]
        same = [b for b in before if (b["iteration"], b["bracket"], b["round"]) == key]
        if len(same) >= self._size(info["bracket"], info["round"]):
            return True
        return info["past_id"] is not None and any(b["past_id"] == info["past_id"] for b in same)

    @staticmethod
    def _add_tuner_values(trial, info) -> None:
        values = trial.hyperparameters.values
        values["tuner/epochs"] = info["epochs"]
        values["tuner/initial_epoch"] = info["initial_epoch"]
        values["tuner/bracket"] = info["bracket"]
        values["tuner/round"] = info["round"]
        if info["past_id"] is not None:
            values["tuner/trial_id"] = f"{info['past_id']:02d}"


class Hyperband(Tuner):
    """Hyperband (Keras Tuner's ``kt.Hyperband``): successive halving in brackets, with each
    promoted model resumed from its previous round's checkpoint.

    ``hyperband_schedule(max_epochs, factor)`` shows the brackets: for ``max_epochs=10,
    factor=3``, 12 models for 2 epochs of which the best 4 go on to 4 epochs and the best 2 to
    10; then 6 models for 4 epochs, the best 2 to 10; then 4 models for 10 epochs (30 trials,
    22 of them new models). A promoted trial builds the model, loads the best-epoch weights its
    parent saved and fits from ``initial_epoch`` to ``epochs`` (``tuner/initial_epoch`` and
    ``tuner/epochs`` in its values); ``search``'s own ``epochs`` is replaced, as in Keras Tuner.

    Args:
        max_epochs: the epochs of a bracket's last round (default 100).
        factor: the reduction factor between rounds (default 3).
        hyperband_iterations: how many times the whole set of brackets runs (default 1).
        sampler: an Optuna sampler for the new models' values (default RandomSampler(seed)).
        Others as RandomSearch (``max_trials`` is optional: the brackets decide).

    Raises:
        ValueError: max_epochs < 1, factor < 2 or hyperband_iterations < 1.
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_epochs=100,
        factor=3,
        hyperband_iterations=1,
        seed=None,
        sampler=None,
        **kwargs,
    ):
        oracle = HyperbandOracle(
            objective,
            kwargs.pop("max_trials", None),
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=hyperband_iterations,
            seed=seed,
            sampler=sampler,
            pruner=kwargs.pop("pruner", None),
            **_split(kwargs),
        )
        self.max_epochs, self.factor = oracle.max_epochs, oracle.factor
        self.hyperband_iterations = oracle.hyperband_iterations
        super().__init__(oracle, hypermodel, **kwargs)

    def _adjust_fit_kwargs(self, trial, kwargs) -> None:
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            kwargs["epochs"] = values["tuner/epochs"]
            kwargs["initial_epoch"] = values["tuner/initial_epoch"]

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        if "tuner/trial_id" in hp.values:
            self._load_checkpoint(model, hp.values["tuner/trial_id"])
        return self.hypermodel.fit(hp, model, *args, **kwargs)


__all__ = [
    "Hyperband",
    "HyperbandOracle",
    "bracket_epochs",
    "bracket_size",
    "hyperband_schedule",
    "hyperband_total_trials",
    "hyperband_trials",
    "num_brackets",
]
