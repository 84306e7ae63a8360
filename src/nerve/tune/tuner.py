"""HyperModel and Tuner: Keras Tuner's search loop, with the trials kept by an Optuna study.

``Tuner.search(x, y, **fit_kwargs)`` asks the Oracle for trials until it says stop. Each trial
builds the hypermodel with the trial's HyperParameters, fits it ``executions_per_trial`` times
with everything ``search`` was given (plus a callback that reports each epoch's objective to
Optuna, which may prune the trial), and scores it as Keras Tuner does: the mean over executions
of each execution's best epoch. The best epoch's weights go to
``directory/project_name/trial_NN/checkpoint.weights.safetensors``; ``get_best_models`` rebuilds
the model and loads them.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
import traceback

import numpy as np

from nerve.callbacks.base import Callback
from nerve.tune._optuna import open_storage, require_optuna
from nerve.tune.hyperparameters import HyperParameters
from nerve.tune.oracle import Oracle

CHECKPOINT = "checkpoint.weights.safetensors"
_LAST = object()  # "the best weights are the model's current ones"


class HyperModel:
    """A model-building class: override ``build(hp)``, and ``fit`` to tune training too.

    Args:
        name: an optional name.
        tunable: whether its hyperparameters are tuned (Keras Tuner's flag; kept for
            compatibility).

    >>> class MyHyperModel(HyperModel):
    ...     def build(self, hp):
    ...         return hp.Int("units", 8, 64, step=8)
    >>> MyHyperModel().build(HyperParameters())
    8
    """

    def __init__(self, name=None, tunable=True):
        self.name = name
        self.tunable = tunable

    def build(self, hp):
        """Build and return a (compiled) model for the values in ``hp``.

        Raises:
            NotImplementedError: in the base class.
        """
        raise NotImplementedError(f"{type(self).__name__}.build(hp) must be overridden")

    def declare_hyperparameters(self, hp):
        """Declare hyperparameters before ``build`` (optional)."""

    def fit(self, hp, model, *args, **kwargs):
        """Train ``model``; returns a History, a dict of metrics or a float (the objective)."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    def __init__(self, build_fn):
        super().__init__(name=getattr(build_fn, "__name__", None))
        self._build_fn = build_fn

    def build(self, hp):
        return self._build_fn(hp)


def _as_hypermodel(hypermodel):
    if hypermodel is None or isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise TypeError(
        "hypermodel must be a HyperModel or a function hp -> model, got "
        f"{type(hypermodel).__name__}"
    )


class _TrialTracker(Callback):
    """Follows the objective epoch by epoch: best value and weights, reports to Optuna."""

    def __init__(self, objective, live_trial, report: bool):
        super().__init__()
        self.objective = objective
        self.live = live_trial
        self.report = report
        self.best = None
        self.best_step = None
        self.best_weights = None
        self.pruned = False
        self.epochs = 0
        self._previous = None

    def on_epoch_begin(self, epoch, logs=None):
        # The weights before this epoch: the best so far when the best was the last epoch.
        if self.best_weights is _LAST:
            self._previous = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = self.objective.get_value(logs or {})
        self.epochs += 1
        if value is None:
            return
        if self.objective.better_than(value, self.best):
            self.best, self.best_step = value, epoch
            self.best_weights = _LAST  # copied only when a later epoch is worse
        elif self.best_weights is _LAST and self._previous is not None:
            self.best_weights = self._previous
        self._previous = None
        if self.report and np.isfinite(value):
            self.live.report(value, epoch)
            if self.live.should_prune():
                self.pruned = True
                self.model.stop_training = True


class Tuner:
    """The search loop of every tuner (Keras Tuner's ``kt.Tuner``).

    Args:
        oracle: the Oracle that hands out trials (each subclass makes its own).
        hypermodel: a HyperModel, or a function ``hp -> model``.
        executions_per_trial: fits per trial; the score is their mean.
        directory, project_name: the study and checkpoints go to ``directory/project_name``
            (default ``./untitled_project``).
        overwrite: start afresh, deleting that folder (default: resume the search there).
        optimizer, loss, metrics: when given, each built model is (re)compiled with them.
        storage: an Optuna storage or database URL to share the study beyond one filesystem.
        tuner_id: this process's name in the study (default ``"tuner0"``).

    Raises:
        TypeError: an unknown argument or a hypermodel that is not a HyperModel or callable.
    """

    def __init__(
        self,
        oracle: Oracle,
        hypermodel=None,
        optimizer=None,
        loss=None,
        metrics=None,
        directory=None,
        project_name=None,
        tuner_id=None,
        overwrite=False,
        executions_per_trial=1,
        storage=None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        if int(executions_per_trial) < 1:
            raise ValueError(f"executions_per_trial must be >= 1, got {executions_per_trial}")
        self.oracle = oracle
        self.hypermodel = _as_hypermodel(hypermodel)
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        self.project_dir = os.path.join(self.directory, self.project_name)
        self.tuner_id = tuner_id or "tuner0"
        self.executions_per_trial = int(executions_per_trial)
        self.verbose = 1
        self._sample_shape = None
        self._writer = None
        self._pending: list = []
        if overwrite and os.path.isdir(self.project_dir):
            shutil.rmtree(self.project_dir)
        self.oracle._open(open_storage(storage, self.project_dir), self.project_name)

    # ------------------------------------------------------------------ the search
    def search(self, *fit_args, **fit_kwargs):
        """Run trials until the oracle stops; every argument goes to ``fit``.

        ``verbose=0`` silences the tuner's per-trial lines as well as fit's progress.

        Raises:
            RuntimeError: ``max_consecutive_failed_trials`` trials failed in a row.
        """
        if "verbose" in fit_kwargs:
            self.verbose = fit_kwargs["verbose"]
        self._remember_input(fit_args, fit_kwargs)
        self._populate_space()
        start = time.time()
        self.on_search_begin()
        try:
            self._search_loop(fit_args, fit_kwargs, start)
        finally:
            self._flush_checkpoints()
        self.on_search_end()

    def _search_loop(self, fit_args, fit_kwargs, start) -> None:
        failed_in_a_row = 0
        while True:
            trial = self.oracle.create_trial(self.tuner_id)
            if trial is None:
                break
            self.on_trial_begin(trial)
            t0 = time.time()
            try:
                result = self.run_trial(trial, *fit_args, **fit_kwargs)
                if trial.status == "RUNNING":
                    # An overridden run_trial that did not call super(): its return value is
                    # the score (a float, a dict of metrics, Histories), as in Keras Tuner.
                    trial.score = self._score_returned(result)
                    trial.status = "COMPLETED"
            except KeyboardInterrupt:
                self.oracle.end_trial(trial, "INTERRUPTED")
                raise
            except Exception as exc:
                if isinstance(exc, require_optuna("nerve.tune").TrialPruned):
                    # An OptunaPruning callback of the user's own stopped it.
                    trial.status = "STOPPED"
                    self.oracle.end_trial(trial, "STOPPED")
                    continue
                failed_in_a_row += 1
                error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                self.oracle.end_trial(trial, "FAILED", error)
                if self.verbose:
                    print(f"Trial {trial.trial_id} failed: {type(exc).__name__}: {exc}")
                if failed_in_a_row >= self.oracle.max_consecutive_failed_trials:
                    raise RuntimeError(
                        f"{failed_in_a_row} trials failed in a row (the last: "
                        f"{type(exc).__name__}: {exc}); stopping the search"
                    ) from exc
                continue
            failed_in_a_row = 0
            self.oracle.end_trial(trial, trial.status)
            self.on_trial_end(trial)
            if self.verbose:
                self._report(trial, time.time() - t0, time.time() - start)

    def run_trial(self, trial, *args, **kwargs):
        """Build and fit the trial's model ``executions_per_trial`` times and score it.

        Override to tune what ``search`` passes to fit (``kwargs["batch_size"] =
        trial.hyperparameters.Int(...)``) and call ``super().run_trial``.

        Returns:
            The list of what each ``hypermodel.fit`` returned.
        """
        histories, scores, best = [], [], None
        for execution in range(self.executions_per_trial):
            self._seed(trial, execution)
            tracker = _TrialTracker(self.oracle.objective, trial.optuna_trial, execution == 0)
            run_kwargs = dict(kwargs)
            run_kwargs["callbacks"] = _copy_callbacks(kwargs.get("callbacks")) + [tracker]
            self._adjust_fit_kwargs(trial, run_kwargs)
            result = self._build_and_fit_model(trial, *args, **run_kwargs)
            histories.append(result)
            score, step = self._score(result, tracker)
            scores.append(score)
            if tracker.pruned:
                trial.status = "STOPPED"
            if best is None or self.oracle.objective.better_than(score, best[0]):
                best = (score, step, tracker.best_weights, tracker.model)
            if tracker.pruned:
                break
        trial.score = float(np.mean(scores)) if None not in scores else None
        trial.best_step = best[1]
        if trial.status == "RUNNING":
            trial.status = "COMPLETED"
        self._save_checkpoint(trial, best[2], best[3])
        return histories

    def _adjust_fit_kwargs(self, trial, kwargs) -> None:
        """Hook for tuners that decide the epochs (Hyperband)."""

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        return self.hypermodel.fit(hp, model, *args, **kwargs)

    def _try_build(self, hp):
        if self.hypermodel is None:
            raise RuntimeError(
                f"{type(self).__name__}: no hypermodel; pass one, or override run_trial"
            )
        self.hypermodel.declare_hyperparameters(hp)
        model = self.hypermodel.build(hp)
        if model is None:
            raise RuntimeError(f"{type(self).__name__}: hypermodel.build(hp) returned None")
        if any(v is not None for v in (self.optimizer, self.loss, self.metrics)):
            model.compile(
                optimizer=self.optimizer or getattr(model, "optimizer", None) or "rmsprop",
                loss=self.loss or getattr(model, "loss", None),
                metrics=self.metrics,
            )
        return model

    def _score(self, result, tracker):
        objective = self.oracle.objective
        if isinstance(result, (int, float, np.floating, np.integer)):
            return float(result), tracker.best_step
        if isinstance(result, dict):
            value = objective.get_value(result)
            if value is None:
                raise ValueError(f"hypermodel.fit returned {sorted(result)}, without {objective}")
            return value, tracker.best_step
        if tracker.best is None:
            raise ValueError(
                f"the objective {objective} is not among the metrics fit logged "
                f"({sorted(getattr(result, 'history', {}) or {})}); pass validation_data for "
                f"a val_ metric, or choose another objective"
            )
        return tracker.best, tracker.best_step

    def _score_returned(self, result):
        objective = self.oracle.objective
        if isinstance(result, (list, tuple)):
            values = [self._score_returned(r) for r in result]
            return float(np.mean(values)) if values else None
        if isinstance(result, (int, float, np.floating, np.integer)):
            return float(result)
        logs = getattr(result, "history", result)
        if isinstance(logs, dict):
            value = logs.get(objective.name)
            if isinstance(value, (list, tuple)):
                values = [float(v) for v in value]
                if not values:
                    return None
                return max(values) if objective.direction == "max" else min(values)
            if value is None and hasattr(objective, "objectives"):
                return objective.get_value(logs)
            return None if value is None else float(value)
        raise TypeError(
            f"run_trial returned {type(result).__name__}; expected a float, a dict of metrics, "
            f"a History or a list of them"
        )

    def _seed(self, trial, execution) -> None:
        seed = self.oracle.seed
        if seed is not None:
            from nerve import backend

            backend.manual_seed((int(seed) * 1_000_003 + trial.number * 101 + execution) % 2**32)

    def _remember_input(self, args, kwargs) -> None:
        x = args[0] if args else kwargs.get("x")
        shape = getattr(x, "shape", None)
        if shape is not None and len(shape) >= 1:
            self._sample_shape = [int(d) for d in shape[1:]]
            if self.oracle.study.user_attrs.get("input_shape") != self._sample_shape:
                self.oracle.study.set_user_attr("input_shape", self._sample_shape)

    def _populate_space(self) -> None:
        """Register every hyperparameter (those in conditional scopes too) by building with
        each parent value, so search_space_summary and GridSearch see the whole space."""
        if self.hypermodel is None:
            return
        space = self.oracle.hyperparameters
        tried: set = set()
        pending = [{}]
        while pending and len(tried) < 64:
            values = pending.pop()
            key = tuple(sorted(values.items(), key=repr))
            if key in tried:
                continue
            tried.add(key)
            hp = space.copy()
            hp.values = dict(values)
            self.hypermodel.declare_hyperparameters(hp)
            self.hypermodel.build(hp)
            for h in hp.space:
                space._register(h)
            for h in hp.space:
                for parent, allowed in h.conditions:
                    for v in allowed:
                        if hp.values.get(parent) != v:
                            pending.append({**values, **{parent: v}})
        recorded = [h.get_config() for h in space.space]
        if self.oracle.study.user_attrs.get("space") != recorded:
            self.oracle.study.set_user_attr("space", recorded)

    # ------------------------------------------------------------------ hooks
    def on_search_begin(self):
        """Called once when ``search`` starts."""

    def on_trial_begin(self, trial):
        """Called before each trial is run."""

    def on_trial_end(self, trial):
        """Called after each trial that ran to the end (completed or pruned)."""

    def on_search_end(self):
        """Called once when ``search`` ends."""

    # ------------------------------------------------------------------ results
    def _trial_dir(self, trial_id) -> str:
        return os.path.join(self.project_dir, f"trial_{trial_id}")

    def _save_checkpoint(self, trial, weights, model) -> None:
        if weights is None or model is None or not hasattr(model, "save_weights"):
            return
        folder = self._trial_dir(trial.trial_id)
        os.makedirs(folder, exist_ok=True)
        if weights is not _LAST:
            # The trial's model is not used after this: leave it with its best weights.
            model.set_weights(weights)
        # The atomic write waits on fsync: a background thread does it while the next trial
        # trains (the model is not touched again); _flush_checkpoints waits for them all.
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._writer = ThreadPoolExecutor(1, thread_name_prefix="nerve-tune-checkpoint")
        path = os.path.join(folder, CHECKPOINT)
        self._pending.append(self._writer.submit(model.save_weights, path))

    def _flush_checkpoints(self) -> None:
        """Wait for the checkpoints being written; raise the first write error."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The HyperParameters of the best trials, best first."""
        return self.oracle.get_best_hyperparameters(num_trials)

    def get_best_models(self, num_models: int = 1) -> list:
        """The best trials' models: rebuilt and loaded with their best epoch's weights.

        Raises:
            FileNotFoundError: a trial's checkpoint is missing.
        """
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]

    def load_model(self, trial):
        """The model of ``trial``, with its checkpointed weights."""
        model = self._try_build(trial.hyperparameters.copy())
        self._load_checkpoint(model, trial.trial_id, "load_model")
        return model

    def _load_checkpoint(self, model, trial_id, where="Hyperband") -> None:
        """Load trial ``trial_id``'s checkpoint into ``model`` (built first when it has no
        weights yet).

        Raises:
            FileNotFoundError: the trial has no checkpoint.
            RuntimeError: the model is not built and the input shape is unknown.
        """
        self._flush_checkpoints()
        path = os.path.join(self._trial_dir(trial_id), CHECKPOINT)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{where}: trial {trial_id} has no checkpoint {path}")
        if not model.state_dict():
            shape = self._sample_shape or self.oracle.study.user_attrs.get("input_shape")
            if shape is None:
                raise RuntimeError(
                    f"{where}: the model of trial {trial_id} is not built and the "
                    f"input shape is unknown; give the model an Input"
                )
            model.predict(np.zeros([1, *shape], np.float32), verbose=0)
        model.load_weights(path)

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the search space, one hyperparameter per line with its configuration."""
        if not self.oracle.hyperparameters.space:
            self._populate_space()
        space = self.oracle.hyperparameters.space
        print("Search space summary")
        print(f"Default search space size: {len(space)}")
        for hp in space:
            config = {"default": hp.default, "conditions": hp.conditions, **hp.config}
            print(f"{hp.name} ({hp.kind})")
            print(config)

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best ``num_trials`` trials: id, hyperparameters, score."""
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(self.oracle.objective)
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()

    def _report(self, trial, seconds, total) -> None:
        name = self.oracle.objective.name
        best = self.oracle.get_best_trials(1)
        state = "Complete" if trial.status == "COMPLETED" else "Pruned"
        print(f"\nTrial {trial.trial_id} {state} [{_hms(seconds)}]")
        print(f"{name}: {trial.score}")
        if best:
            print(f"\nBest {name} So Far: {best[0].score}")
        print(f"Total elapsed time: {_hms(total)}")


def _copy_callbacks(callbacks) -> list:
    # Each execution gets fresh copies, as Keras Tuner's deep copy (no state shared between fits).
    out = []
    for cb in list(callbacks or []):
        try:
            out.append(copy.deepcopy(cb))
        except Exception:
            out.append(cb)
    return out


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}h {s % 3600 // 60:02d}m {s % 60:02d}s"
