"""Hyperparameter and architecture search: Keras Tuner's API on Optuna.

``import nerve.tune as kt`` and Keras Tuner code runs unchanged: ``kt.HyperParameters``,
``kt.HyperModel``, ``kt.Objective``, the tuners ``kt.RandomSearch``, ``kt.GridSearch``,
``kt.BayesianOptimization`` and ``kt.Hyperband``. Optuna does the sampling (Random, Grid, GP or
TPE samplers), the pruning (median, Optuna's Hyperband pruner) and the storage: trials live in
``directory/project_name/study.journal`` (or any Optuna storage URL), so a killed search resumes
and several processes can search one study. ``mlp_space`` / ``cnn_space`` are ready
architecture-search hypermodels; ``report`` is the pruning helper for hand-written loops.

Needs the optional extra: ``pip install 'nerve[tune]'`` (optuna).
"""

from nerve.callbacks.optuna_pruning import OptunaPruning, report
from nerve.tune.hyperband import (
    Hyperband,
    HyperbandOracle,
    hyperband_schedule,
    hyperband_total_trials,
    hyperband_trials,
)
from nerve.tune.hyperparameters import HyperParameter, HyperParameters
from nerve.tune.oracle import Objective, Oracle, Trial, infer_direction
from nerve.tune.spaces import cnn_space, mlp_space
from nerve.tune.tuner import HyperModel, Tuner
from nerve.tune.tuners import (
    BayesianOptimization,
    BayesianOptimizationOracle,
    GridSearch,
    GridSearchOracle,
    RandomSearch,
    RandomSearchOracle,
)

__all__ = [
    "BayesianOptimization",
    "BayesianOptimizationOracle",
    "GridSearch",
    "GridSearchOracle",
    "HyperModel",
    "HyperParameter",
    "HyperParameters",
    "Hyperband",
    "HyperbandOracle",
    "Objective",
    "OptunaPruning",
    "Oracle",
    "RandomSearch",
    "RandomSearchOracle",
    "Trial",
    "Tuner",
    "cnn_space",
    "hyperband_schedule",
    "hyperband_total_trials",
    "hyperband_trials",
    "infer_direction",
    "mlp_space",
    "report",
]
