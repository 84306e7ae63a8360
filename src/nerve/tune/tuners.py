"""The tuners: Keras Tuner's RandomSearch, GridSearch, BayesianOptimization and Hyperband, each
an Oracle choosing Optuna's sampler and pruner, under the one search loop of Tuner."""

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


def hyperband_trials(max_epochs: int, factor: int, hyperband_iterations: int = 1) -> int:
    """How many models Keras Tuner's Hyperband starts: per iteration, the first round of each
    bracket, ``ceil(ceil(1 + log_factor(max_epochs)) / (s + 1) * factor**s)`` for brackets
    ``s = 0 .. floor(log_factor(max_epochs))``.

    >>> hyperband_trials(10, 3)
    22
    """
    end = math.ceil(1 + math.log(max_epochs, factor))
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # Keras Tuner's bracket count: max_epochs / factor**s >= 1
        epochs /= factor
        brackets += 1
    per = sum(math.ceil(end / (s + 1) * factor**s) for s in range(brackets))
    return per * int(hyperband_iterations)


class HyperbandOracle(Oracle):
    """Successive halving in brackets (Optuna's HyperbandPruner over random sampling)."""

    def __init__(self, *args, max_epochs=100, factor=3, min_epochs=1, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_epochs, self.factor, self.min_epochs = max_epochs, factor, min_epochs

    def _make_pruner(self):
        optuna = require_optuna("nerve.tune.Hyperband")
        return optuna.pruners.HyperbandPruner(
            min_resource=self.min_epochs,
            max_resource=self.max_epochs,
            reduction_factor=self.factor,
        )


class Hyperband(Tuner):
    """Hyperband (Keras Tuner's ``kt.Hyperband``) on Optuna's HyperbandPruner.

    Keras Tuner's arithmetic decides the budget: ``floor(log_factor(max_epochs)) + 1`` brackets,
    and ``hyperband_trials(max_epochs, factor, hyperband_iterations)`` models in all (22 for
    ``max_epochs=10, factor=3``). Each model trains for up to ``max_epochs`` epochs; at every
    rung (``1, factor, factor**2, ...`` epochs) Optuna's pruner keeps the best ``1/factor`` of
    its bracket and stops the rest. A kept model continues from where it is (its weights stay
    in memory), so no round starts a model from scratch.

    Args:
        max_epochs: the most epochs one model trains (default 100); ``search``'s ``epochs`` is
            replaced by it, as in Keras Tuner.
        factor: the reduction factor between rungs (default 3).
        hyperband_iterations: how many times the whole set of brackets runs (default 1).
        Others as RandomSearch.

    Raises:
        ValueError: max_epochs < 1 or factor < 2.
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
        if int(max_epochs) < 1:
            raise ValueError(f"Hyperband: max_epochs must be >= 1, got {max_epochs}")
        if int(factor) < 2:
            raise ValueError(f"Hyperband: factor must be >= 2, got {factor}")
        self.max_epochs, self.factor = int(max_epochs), int(factor)
        self.hyperband_iterations = int(hyperband_iterations)
        max_trials = kwargs.pop("max_trials", None) or hyperband_trials(
            self.max_epochs, self.factor, self.hyperband_iterations
        )
        oracle = HyperbandOracle(
            objective,
            max_trials,
            seed=seed,
            sampler=sampler,
            max_epochs=self.max_epochs,
            factor=self.factor,
            **_split(kwargs),
        )
        super().__init__(oracle, hypermodel, **kwargs)

    def _adjust_fit_kwargs(self, trial, kwargs) -> None:
        kwargs["epochs"] = self.max_epochs
