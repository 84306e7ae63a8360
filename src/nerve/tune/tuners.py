"""The tuners: Keras Tuner's RandomSearch, GridSearch and BayesianOptimization, each an Oracle
choosing Optuna's sampler and pruner, under the one search loop of Tuner (Hyperband, which also
schedules rounds, is in nerve.tune.hyperband)."""

from __future__ import annotations

import math

from nerve.tune._optuna import require_optuna
from nerve.tune.oracle import Oracle
from nerve.tune.tuner import Tuner

_ORACLE_ARGS = (
    "hyperparameters",
    "tune_new_entries",
    "allow_new_entries",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
)


def _split(kwargs):
    """The oracle's keyword arguments apart from the tuner's."""
    return {k: kwargs.pop(k) for k in _ORACLE_ARGS if k in kwargs}


class RandomSearchOracle(Oracle):
    """Random sampling (Optuna's RandomSampler)."""


class RandomSearch(Tuner):
    """Random search (Keras Tuner's ``kt.RandomSearch``) on Optuna's RandomSampler.

    Args:
        hypermodel: a HyperModel or a function ``hp -> compiled model``.
        objective: a metric name (direction inferred: ``"val_accuracy"`` is maximized,
            ``"val_loss"`` minimized), an Objective, or a list (their sum is minimized).
        max_trials: the number of trials (default 10).
        seed: the sampler's seed; with it, each trial's model initialization is seeded too, so a
            search repeats exactly.
        sampler, pruner: Optuna objects replacing the defaults (Random, no pruning).
        **kwargs: Oracle arguments (hyperparameters, tune_new_entries, allow_new_entries,
            max_retries_per_trial, max_consecutive_failed_trials) and Tuner arguments
            (executions_per_trial, directory, project_name, overwrite, storage, ...).

    >>> import nerve.tune as kt
    >>> def build_model(hp):
    ...     return hp.Int("units", 8, 64, step=8)  # a real one returns a compiled model
    >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=5,
    ...                         storage=__import__("optuna").storages.InMemoryStorage())
    >>> tuner.oracle.objective
    Objective(name="val_accuracy", direction="max")
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=10,
        seed=None,
        sampler=None,
        pruner=None,
        **kwargs,
    ):
        oracle = RandomSearchOracle(
            objective, max_trials, seed=seed, sampler=sampler, pruner=pruner, **_split(kwargs)
        )
        super().__init__(oracle, hypermodel, **kwargs)


class GridSearchOracle(Oracle):
    """Every combination of the space's values (Optuna's GridSampler)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._grid_size = None

    def _make_sampler(self):
        optuna = require_optuna("nerve.tune.GridSearch")
        if not self.hyperparameters.space:
            return None  # the space is not known yet: GridSearch.search makes the sampler
        grid = {
            hp.name: hp.grid_values() for hp in self.hyperparameters.space if hp.kind != "Fixed"
        }
        self._grid_size = math.prod(len(v) for v in grid.values()) if grid else 1
        return optuna.samplers.GridSampler(grid, seed=self.seed)

    def _exhausted(self) -> bool:
        return hasattr(self.sampler, "is_exhausted") and self.sampler.is_exhausted(self.study)


class GridSearch(Tuner):
    """Grid search (Keras Tuner's ``kt.GridSearch``): every combination of Choice and Boolean
    values and of Int and Float ranges walked by their ``step``, on Optuna's GridSampler.

    Args:
        max_trials: the most trials (default None: the whole grid).
        Others as RandomSearch.

    Raises:
        ValueError: a Float without ``step``.
    """

    def __init__(self, hypermodel=None, objective=None, max_trials=None, seed=None, **kwargs):
        oracle = GridSearchOracle(objective, max_trials, seed=seed, **_split(kwargs))
        super().__init__(oracle, hypermodel, **kwargs)

    def search(self, *fit_args, **fit_kwargs):
        # The grid is known once the space is: build it before the study opens its sampler.
        self._remember_input(fit_args, fit_kwargs)
        self._populate_space()
        self.oracle.sampler = self.oracle._make_sampler()
        self.oracle.study.sampler = self.oracle.sampler
        return super().search(*fit_args, **fit_kwargs)


class BayesianOptimizationOracle(Oracle):
    """Bayesian optimization with a Gaussian process (Optuna's GPSampler; its TPESampler when
    the GP's dependencies, torch and scipy, are missing)."""

    def __init__(self, *args, num_initial_points=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.num_initial_points = num_initial_points

    def _make_sampler(self):
        optuna = require_optuna("nerve.tune.BayesianOptimization")
        # Keras Tuner's default: 3 random points per dimension of the space.
        dims = max(1, len([h for h in self.hyperparameters.space if h.kind != "Fixed"]))
        startup = self.num_initial_points or 3 * dims
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=startup)
        return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=startup)


class BayesianOptimization(Tuner):
    """Bayesian optimization (Keras Tuner's ``kt.BayesianOptimization``) on Optuna's GPSampler.

    Args:
        num_initial_points: random trials before the model guides the search (default 3 per
            hyperparameter).
        alpha, beta: Keras Tuner's GP noise and exploration constants; Optuna's GPSampler fits
            its own, so they are accepted and not used.
        Others as RandomSearch.
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials=10,
        num_initial_points=None,
        alpha=1e-4,
        beta=2.6,
        seed=None,
        sampler=None,
        pruner=None,
        **kwargs,
    ):
        oracle = BayesianOptimizationOracle(
            objective,
            max_trials,
            seed=seed,
            sampler=sampler,
            pruner=pruner,
            num_initial_points=num_initial_points,
            **_split(kwargs),
        )
        self.alpha, self.beta = alpha, beta
        self._own_sampler = sampler is None
        super().__init__(oracle, hypermodel, **kwargs)

    def search(self, *fit_args, **fit_kwargs):
        # The default number of initial points depends on the space: known after populating.
        if self._own_sampler:
            self._remember_input(fit_args, fit_kwargs)
            self._populate_space()
            self.oracle.sampler = self.oracle._make_sampler()
            self.oracle.study.sampler = self.oracle.sampler
        return super().search(*fit_args, **fit_kwargs)
