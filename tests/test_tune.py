"""nerve.tune: Keras Tuner's API on Optuna (spaces, tuners, storage, resume, workers, pruning)."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import nerve  # noqa: E402
import nerve.tune as kt  # noqa: E402
from nerve import keras  # noqa: E402
from nerve.callbacks import EarlyStopping  # noqa: E402
from nerve.callbacks.optuna_pruning import OptunaPruning, report  # noqa: E402
from nerve.datasets import fashion_mnist  # noqa: E402

# End-to-end searches on real images (seconds each): `pytest -m "not slow"` leaves them out.
slow = pytest.mark.slow
needs_fmnist = pytest.mark.skipif(
    not os.path.isdir(fashion_mnist.DEBIAN_DIR), reason="Fashion-MNIST (Debian package) absent"
)
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


@pytest.fixture(scope="module")
def fmnist():
    (x, y), _ = fashion_mnist.load_data()
    x = (x[:1500].reshape(-1, 784) / 255.0).astype(np.float32)
    y = y[:1500].astype(np.int64)
    return x[:1000], y[:1000], x[1000:], y[1000:]


def tiny_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :], y[n * 3 // 4 :]


def tiny_builder(hp):
    model = keras.Sequential([keras.Input((8,))])
    model.add(keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"))
    model.add(keras.layers.Dense(2, activation="softmax"))
    lr = hp.Choice("learning_rate", [1e-2, 1e-3])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# ----------------------------------------------------------------------------- HyperParameters
def test_hyperparameters_defaults_and_values():
    hp = kt.HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("act", ["relu", "tanh"], default="tanh") == "tanh"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("epochs", 7) == 7
    assert hp.values == {"units": 32, "lr": 1e-4, "act": "tanh", "bn": False, "epochs": 7}
    assert hp["units"] == 32 and hp.get("act") == "tanh" and "bn" in hp
    hp.values["units"] = 64
    assert hp.Int("units", 32, 512, step=32) == 64  # a value already set wins
    with pytest.raises(KeyError, match="'nope' does not exist"):
        hp.get("nope")


def test_hyperparameters_conditional_scope():
    hp = kt.HyperParameters()
    kind = hp.Choice("kind", ["mlp", "cnn"])
    with hp.conditional_scope("kind", ["cnn"]):
        assert hp.Int("filters", 8, 64) is None  # inactive: registered, not valued
    with hp.conditional_scope("kind", "mlp"):
        assert hp.Int("units", 8, 64) == 8
    assert kind == "mlp"
    assert [h.name for h in hp.space] == ["kind", "filters", "units"]
    assert "filters" not in hp.values and not hp.is_active("filters")
    assert hp.Int("depth", 1, 3, parent_name="kind", parent_values=["mlp"]) == 1
    with (
        pytest.raises(ValueError, match="parent_name 'missing' must be declared"),
        hp.conditional_scope("missing", [1]),
    ):
        pass


def test_hyperparameters_errors_name_the_problem():
    hp = kt.HyperParameters()
    with pytest.raises(ValueError, match=r"hp.Int\('a'\): min_value=5 is greater than"):
        hp.Int("a", 5, 1)
    with pytest.raises(ValueError, match="sampling='log' needs min_value > 0"):
        hp.Float("b", 0.0, 1.0, sampling="log")
    with pytest.raises(TypeError, match="only one type of value"):
        hp.Choice("c", [1, "x"])
    with pytest.raises(ValueError, match="sampling must be one of"):
        hp.Int("d", 1, 4, sampling="cubic")
    with pytest.raises(ValueError, match="default value should be one of"):
        hp.Choice("e", [1, 2], default=3)


def test_grid_values():
    hp = kt.HyperParameters()
    hp.Int("a", 32, 100, step=32)
    hp.Int("b", 1, 16, step=2, sampling="log")
    hp.Float("c", 0.0, 0.5, step=0.25)
    assert hp.space[0].grid_values() == [32, 64, 96]
    assert hp.space[1].grid_values() == [1, 2, 4, 8, 16]
    assert hp.space[2].grid_values() == [0.0, 0.25, 0.5]
    hp.Float("d", 0.0, 1.0)
    with pytest.raises(ValueError, match="Float 'd' needs a step"):
        hp.space[3].grid_values()


def test_sampled_values_respect_ranges():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        hp = kt.HyperParameters()
        hp._trial = study.ask()
        u = hp.Int("u", 32, 500, step=32)
        r = hp.Float("r", 1e-3, 1.0, sampling="reverse_log")
        g = hp.Int("g", 2, 64, step=2, sampling="log")
        f = hp.Float("f", 0.0, 0.45, step=0.1)
        assert u % 32 == 0 and 32 <= u <= 480
        assert 1e-3 <= r <= 1.0
        assert g in (2, 4, 8, 16, 32, 64)
        assert any(abs(f - v) < 1e-9 for v in (0.0, 0.1, 0.2, 0.3, 0.4))


def test_objective_direction_is_inferred():
    assert kt.infer_direction("val_accuracy") == "max"
    assert kt.infer_direction("accuracy") == "max"
    assert kt.infer_direction("val_auc") == "max"
    assert kt.infer_direction("loss") == "min"
    assert kt.infer_direction("val_mean_squared_error") == "min"
    with pytest.raises(ValueError, match="Could not infer optimization direction"):
        kt.infer_direction("val_custom")
    assert repr(kt.Objective("val_accuracy", "max")) == (
        'Objective(name="val_accuracy", direction="max")'
    )
    with pytest.raises(ValueError, match='direction must be "min" or "max"'):
        kt.Objective("x", "up")


def test_hyperband_brackets_follow_keras_tuner():
    # Expected numbers worked by hand from Keras Tuner's HyperbandOracle: brackets = divisions of
    # max_epochs by factor staying >= 1; round r of bracket s holds
    # ceil(ceil(1 + log_f(max_epochs)) / (s + 1) * f**(s - r)) models trained to
    # ceil(max_epochs / f**(s - r)) epochs. Per bracket (largest first): (models, epochs) per round.
    assert kt.hyperband_schedule(10, 3) == [
        [(12, 2), (4, 4), (2, 10)],
        [(6, 4), (2, 10)],
        [(4, 10)],
    ]
    assert kt.hyperband_schedule(9, 3) == [[(9, 1), (3, 3), (1, 9)], [(5, 3), (2, 9)], [(3, 9)]]
    assert kt.hyperband_schedule(3, 3) == [[(3, 1), (1, 3)], [(2, 3)]]
    assert kt.hyperband_schedule(20, 4) == [
        [(22, 2), (6, 5), (2, 20)],
        [(8, 5), (2, 20)],
        [(4, 20)],
    ]
    assert kt.hyperband_schedule(8, 2) == [
        [(8, 1), (4, 2), (2, 4), (1, 8)],
        [(6, 2), (3, 4), (2, 8)],
        [(4, 4), (2, 8)],
        [(4, 8)],
    ]
    assert kt.hyperband_schedule(1, 3) == [[(1, 1)]]
    assert kt.hyperband_trials(10, 3) == 22
    assert kt.hyperband_trials(10, 3, hyperband_iterations=2) == 44
    assert kt.hyperband_total_trials(10, 3) == 30
    assert kt.hyperband_total_trials(9, 3, hyperband_iterations=2) == 46
    with pytest.raises(ValueError, match="factor"):
        kt.Hyperband(tiny_builder, max_epochs=10, factor=1)
    with pytest.raises(ValueError, match="max_epochs"):
        kt.Hyperband(tiny_builder, max_epochs=0)


# ----------------------------------------------------------------------------- tuners, tiny data
def test_random_search_records_trials_and_best_model(tmp_path):
    xt, yt, xv, yv = tiny_data()
    tuner = kt.RandomSearch(
        tiny_builder,
        objective="val_accuracy",
        max_trials=3,
        seed=3,
        directory=tmp_path,
        project_name="p",
    )
    tuner.search(xt, yt, epochs=2, validation_data=(xv, yv), verbose=0)
    trials = tuner.oracle.trials
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials.values())
    best = tuner.oracle.get_best_trials(3)
    assert [t.score for t in best] == sorted((t.score for t in best), reverse=True)
    model = tuner.get_best_models(1)[0]
    acc = model.evaluate(xv, yv, return_dict=True, verbose=0)["accuracy"]
    assert acc == pytest.approx(best[0].score, abs=1e-6)  # the best epoch's weights
    hps = tuner.get_best_hyperparameters(1)[0]
    assert hps.values == best[0].hyperparameters.values
    rebuilt = tuner.hypermodel.build(hps)
    assert rebuilt.layers[0].units == hps["units"]
    assert os.path.exists(tmp_path / "p" / "study.journal")


def test_executions_per_trial_are_averaged(tmp_path):
    class Scripted(kt.HyperModel):
        # Each fit returns its objective value directly (Keras Tuner accepts a float).
        def __init__(self):
            super().__init__()
            self.values = iter([1.0, 3.0, 5.0, 9.0])

        def build(self, hp):
            hp.Int("u", 1, 4)
            return tiny_builder(hp)

        def fit(self, hp, model, *args, **kwargs):
            return next(self.values)

    tuner = kt.RandomSearch(
        Scripted(),
        objective=kt.Objective("score", "min"),
        max_trials=2,
        executions_per_trial=2,
        directory=tmp_path,
        project_name="e",
    )
    tuner.search(verbose=0)
    assert sorted(t.score for t in tuner.oracle.trials.values()) == [2.0, 7.0]
    assert tuner.oracle.get_best_trials(1)[0].score == 2.0


def test_objective_missing_from_logs_fails_clearly(tmp_path):
    xt, yt, _, _ = tiny_data()
    tuner = kt.RandomSearch(
        tiny_builder,
        objective="val_accuracy",
        max_trials=2,
        max_consecutive_failed_trials=1,
        directory=tmp_path,
        project_name="p",
    )
    with pytest.raises(RuntimeError, match="pass validation_data"):
        tuner.search(xt, yt, epochs=1, verbose=0)


def test_failed_trials_are_retried_then_counted(tmp_path):
    xt, yt, xv, yv = tiny_data()
    calls = []

    def build(hp):
        units = hp.Int("units", 4, 8, step=4)
        calls.append(units)
        if units == 8 and len(calls) > 1:
            raise ValueError("planted failure")
        return tiny_builder(hp)

    tuner = kt.GridSearch(
        build, objective="val_loss", max_retries_per_trial=1, directory=tmp_path, project_name="p"
    )
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    states = sorted(t.status for t in tuner.oracle.trials.values())
    # units=4 x lr 2 complete; units=8 fails twice per grid point (one retry), then counts.
    assert states.count("COMPLETED") == 2 and states.count("FAILED") == 2
    raw = tuner.oracle.study.get_trials()
    assert sum(t.user_attrs.get("tag") == "retried" for t in raw) == 2


def test_grid_search_visits_every_combination(tmp_path):
    xt, yt, xv, yv = tiny_data()
    tuner = kt.GridSearch(tiny_builder, objective="val_loss", directory=tmp_path, project_name="g")
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    seen = sorted(
        (t.hyperparameters["units"], t.hyperparameters["learning_rate"])
        for t in tuner.oracle.trials.values()
    )
    assert seen == sorted((u, lr) for u in (4, 8, 12, 16) for lr in (1e-2, 1e-3))


def test_bayesian_optimization_runs_on_optuna(tmp_path):
    xt, yt, xv, yv = tiny_data()
    tuner = kt.BayesianOptimization(
        tiny_builder,
        objective="val_loss",
        max_trials=4,
        num_initial_points=2,
        seed=0,
        directory=tmp_path,
        project_name="b",
    )
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    assert len(tuner.oracle.trials) == 4
    assert type(tuner.oracle.sampler).__name__ in ("GPSampler", "TPESampler")


def test_architecture_space_is_conditional(tmp_path):
    xt, yt, xv, yv = tiny_data()
    space = kt.mlp_space((8,), num_classes=2, max_layers=3, units=(4, 16, 4))
    tuner = kt.RandomSearch(
        space, objective="val_accuracy", max_trials=5, seed=1, directory=tmp_path, project_name="a"
    )
    names = {h.name for h in tuner.oracle.get_space().space} if False else None
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    names = {h.name for h in tuner.oracle.hyperparameters.space}
    assert {"units_0", "units_1", "units_2", "dropout_2", "activation_1"} <= names
    for trial in tuner.oracle.trials.values():
        values, depth = trial.hyperparameters.values, trial.hyperparameters["num_layers"]
        assert {f"units_{i}" for i in range(depth)} <= set(values)
        assert not {f"units_{i}" for i in range(depth, 3)} & set(values)
        model = tuner.hypermodel.build(trial.hyperparameters.copy())
        assert sum(type(lyr).__name__ == "Dense" for lyr in model.layers) == depth + 1
    hp = kt.HyperParameters()
    cnn = kt.cnn_space((12, 12, 1), 3, max_blocks=2).build(hp)
    assert cnn.predict(np.zeros((2, 12, 12, 1), np.float32), verbose=0).shape == (2, 3)


def test_pruning_trains_fewer_epochs(tmp_path):
    xt, yt, xv, yv = tiny_data(160)

    def epochs_run(pruner, name):
        tuner = kt.RandomSearch(
            tiny_builder,
            objective="val_loss",
            max_trials=8,
            seed=5,
            pruner=pruner,
            directory=tmp_path,
            project_name=name,
        )
        tuner.search(xt, yt, epochs=6, validation_data=(xv, yv), verbose=0)
        trials = tuner.oracle.study.get_trials()
        return sum(len(t.intermediate_values) for t in trials), trials

    full, _ = epochs_run(None, "none")
    pruned, trials = epochs_run(
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1), "median"
    )
    assert full == 8 * 6
    assert pruned < full
    assert any(t.state.name == "PRUNED" for t in trials)


def test_hyperband_runs_keras_tuners_rounds(tmp_path):
    xt, yt, xv, yv = tiny_data(160)
    tuner = kt.Hyperband(
        tiny_builder,
        objective="val_loss",
        max_epochs=9,
        factor=3,
        seed=2,
        directory=tmp_path,
        project_name="h",
    )
    tuner.search(xt, yt, epochs=100, validation_data=(xv, yv), verbose=0)
    trials = tuner.oracle.study.get_trials()
    assert len(trials) == kt.hyperband_total_trials(9, 3) == 23
    schedule = kt.hyperband_schedule(9, 3)
    seen = {}
    for t in trials:
        info = t.user_attrs["hyperband"]
        seen.setdefault((info["bracket"], info["round"]), []).append(t)
        # Each trial trains only its round's epochs: from initial_epoch to epochs.
        assert sorted(t.intermediate_values) == list(range(info["initial_epoch"], info["epochs"]))
        if info["past_id"] is not None:
            parent = trials[info["past_id"]]
            assert parent.params == t.params
            assert parent.user_attrs["hyperband"]["round"] == info["round"] - 1
    for rounds in schedule:
        s = len(rounds) - 1
        for r, (models, epochs) in enumerate(rounds):
            assert len(seen[(s, r)]) == models
            assert all(t.user_attrs["hyperband"]["epochs"] == epochs for t in seen[(s, r)])
        for r in range(1, s + 1):  # the promoted are the best of the round before
            below = sorted(seen[(s, r - 1)], key=lambda t: t.value)
            promoted = {t.user_attrs["hyperband"]["past_id"] for t in seen[(s, r)]}
            assert promoted == {t.number for t in below[: rounds[r][0]]}
    best = tuner.get_best_hyperparameters(1)[0]
    assert {"tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round"} <= set(
        best.values
    )
    assert tuner.get_best_models(1)[0].predict(xv, verbose=0).shape == (len(xv), 2)


def test_hyperband_resumes_promoted_models_from_their_checkpoint(tmp_path):
    xt, yt, _, _ = tiny_data(160)
    seen = {}

    class Recorded(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((8,))])
            model.add(keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"))
            model.add(keras.layers.Dense(2, activation="softmax"))
            model.compile(
                optimizer=keras.optimizers.SGD(learning_rate=hp.Choice("lr", [0.05, 0.1])),
                loss="sparse_categorical_crossentropy",
            )
            return model

        def fit(self, hp, model, *args, **kwargs):
            start = [w.copy() for w in model.get_weights()]
            history = model.fit(*args, **kwargs)
            seen[dict(hp.values).get("tuner/trial_id"), hp["tuner/round"], len(seen)] = (
                start,
                history.history["loss"],
                kwargs["initial_epoch"],
                kwargs["epochs"],
            )
            return history

    tuner = kt.Hyperband(
        Recorded(), objective="loss", max_epochs=3, factor=3, seed=0, directory=tmp_path
    )
    tuner.search(xt, yt, batch_size=32, verbose=0)
    records = {k[2]: (k[0], v) for k, v in seen.items()}  # by trial number (one process, order)
    promoted = [(n, parent, v) for n, (parent, v) in records.items() if parent is not None]
    assert len(promoted) == 1  # bracket 1: 3 models for 1 epoch, the best goes on to 3
    for _, parent_id, (start, losses, initial_epoch, epochs) in promoted:
        assert (initial_epoch, epochs) == (1, 3) and len(losses) == 2
        parent_start, parent_losses = records[int(parent_id)][1][:2]
        # It starts from the weights its parent saved, not from a fresh initialization ...
        saved = tuner.load_model(tuner.oracle.trials[parent_id]).get_weights()
        for a, b in zip(start, saved):
            np.testing.assert_array_equal(a, b)
        assert any(not np.array_equal(a, b) for a, b in zip(start, parent_start))
        # ... so its first epoch carries on below the parent's (fresh) epoch instead of
        # starting over, and goes on falling.
        assert losses[0] < parent_losses[-1] and losses[1] < losses[0]


def test_killed_hyperband_search_resumes_its_brackets(tmp_path):
    xt, yt, xv, yv = tiny_data(96)

    calls = []

    def build(hp):
        if len(calls) == 4:  # the 5th trial: the search is killed (KeyboardInterrupt-like)
            calls.append("killed")
            raise KeyboardInterrupt
        calls.append(hp.values.get("tuner/trial_id"))
        return tiny_builder(hp)

    kwargs = dict(objective="val_loss", max_epochs=9, factor=3, seed=3, directory=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        kt.Hyperband(build, **kwargs).search(xt, yt, validation_data=(xv, yv), verbose=0)
    tuner = kt.Hyperband(build, **kwargs)
    tuner.search(xt, yt, validation_data=(xv, yv), verbose=0)
    trials = tuner.oracle.study.get_trials()
    done = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(done) == kt.hyperband_total_trials(9, 3)
    assert sum(t.user_attrs.get("tag") == "interrupted" for t in trials) == 1
    with pytest.raises(ValueError, match="max_epochs, factor"):
        kt.Hyperband(build, **{**kwargs, "max_epochs": 10})


def test_missing_optuna_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'nerve\[tune\]'"):
        OptunaPruning(object())
    from nerve.tune._optuna import require_optuna

    with pytest.raises(ImportError, match="nerve.tune needs optuna"):
        require_optuna("nerve.tune")


# ----------------------------------------------------------------------------- Optuna directly
def test_optuna_objective_with_pruning_callback():
    xt, yt, xv, yv = tiny_data()

    def objective(trial):
        model = keras.Sequential([keras.Input((8,))])
        for i in range(trial.suggest_int("n_layers", 1, 2)):
            model.add(
                keras.layers.Dense(trial.suggest_int(f"n_units_l{i}", 4, 16), activation="relu")
            )
        model.add(keras.layers.Dense(2, activation="softmax"))
        lr = trial.suggest_float("lr", 1e-3, 1e-1, log=True)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(
            xt,
            yt,
            validation_data=(xv, yv),
            epochs=3,
            verbose=0,
            callbacks=[OptunaPruning(trial, monitor="val_accuracy")],
        )
        return model.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"]

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=3)
    assert all(len(t.intermediate_values) == 3 for t in study.trials)
    # A pruner that always says stop: fit raises TrialPruned after the first epoch.
    always = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))
    always.optimize(objective, n_trials=1)
    assert always.trials[0].state.name == "PRUNED"
    assert list(always.trials[0].intermediate_values) == [0]


def test_report_helper_for_hand_written_loops():
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=1.0))

    def objective(trial):
        for epoch, loss in enumerate([0.5, 0.7, 2.0, 0.1]):
            report(trial, nerve.tensor(loss), epoch)
        return 0.1

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state.name == "PRUNED"
    assert sorted(study.trials[0].intermediate_values) == [0, 1, 2]


def test_optuna_pruning_warns_on_unknown_monitor():
    study = optuna.create_study()
    cb = OptunaPruning(study.ask(), monitor="val_nope")
    with pytest.warns(UserWarning, match="'val_nope' is not in the epoch logs"):
        cb.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(TypeError, match="must be an optuna.Trial"):
        OptunaPruning("trial")


# ----------------------------------------------------------------------------- resume, workers
WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {src!r})
    import numpy as np
    import nerve.tune as kt
    from nerve import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    delay = float(sys.argv[3])
    ran = []

    class Counted(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Int("u", 1, 64)),
                                      keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            ran.append(hp["u"])  # one line per fit: a trial run twice would show
            with open(sys.argv[1] + "/fitting-" + sys.argv[4], "w") as f:
                f.write(str(len(ran)))
            time.sleep(delay)
            return model.fit(*args, **kwargs)

    tuner = kt.RandomSearch(Counted(), objective="val_loss", max_trials=int(sys.argv[2]),
                            directory=sys.argv[1], project_name="shared", tuner_id=sys.argv[4])
    tuner.search(x[:48], y[:48], epochs=1, validation_data=(x[48:], y[48:]), verbose=0)
    print("RAN", len(ran))
    """
)


def _worker(tmp_path, max_trials, delay, tuner_id):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(src=SRC))
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), str(max_trials), str(delay), tuner_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _study(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(
        JournalFileBackend(str(tmp_path / "shared" / "study.journal"))
    )
    return optuna.load_study(study_name="shared", storage=storage)


def test_killed_search_resumes_without_repeating(tmp_path):
    proc = _worker(tmp_path, 6, 0.5, "w0")
    marker = tmp_path / "fitting-w0"
    deadline = time.time() + 60
    # Killed (SIGKILL) while its third trial is in fit: two trials are finished, one running.
    while time.time() < deadline and not (marker.exists() and marker.read_text() == "3"):
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert marker.read_text() == "3", proc.stderr.read()
    before = {
        t.number: t.params for t in _study(tmp_path).get_trials() if t.state.name == "COMPLETE"
    }
    assert len(before) == 2
    x, y, xv, yv = tiny_data(64)

    def build(hp):
        return keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(hp.Int("u", 1, 64)),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )

    tuner = kt.RandomSearch(
        build,
        objective="val_loss",
        max_trials=6,
        directory=tmp_path,
        project_name="shared",
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
    )
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    trials = _study(tmp_path).get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 6
    for number, params in before.items():  # finished trials kept, not run again
        assert trials[number].state.name == "COMPLETE" and trials[number].params == params
    # The trial the kill interrupted was queued again with the same values and finished.
    stale = [t for t in trials if t.user_attrs.get("tag") == "stale"]
    assert len(stale) == 1
    for t in stale:
        assert any(c.params == t.params for c in complete)


def test_two_workers_share_one_study(tmp_path):
    (tmp_path / "shared").mkdir()
    procs = [_worker(tmp_path, 8, 0.05, f"w{i}") for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    ran = [int(o[0].split("RAN")[-1]) for o in outs]
    trials = _study(tmp_path).get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 8 and sum(ran) == 8  # no trial run twice, none lost
    owners = {t.user_attrs["owner"][2] for t in complete}
    assert owners == {"w0", "w1"}


HYPERBAND_WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {src!r})
    import numpy as np
    import nerve.tune as kt
    from nerve import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def build(hp):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Int("u", 1, 64)),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        time.sleep(0.05)
        return model

    tuner = kt.Hyperband(build, objective="val_loss", max_epochs=9, factor=3,
                         directory=sys.argv[1], project_name="shared", tuner_id=sys.argv[2])
    tuner.oracle.poll_seconds = 0.05
    tuner.search(x[:48], y[:48], validation_data=(x[48:], y[48:]), verbose=0)
    """
)


def test_two_hyperband_workers_share_the_brackets(tmp_path):
    (tmp_path / "shared").mkdir()
    script = tmp_path / "hb_worker.py"
    script.write_text(HYPERBAND_WORKER.format(src=SRC))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), f"w{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    trials = _study(tmp_path).get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    # Exactly Keras Tuner's rounds, no slot run twice, however the workers raced.
    assert len(complete) == kt.hyperband_total_trials(9, 3)
    slots = {}
    for t in complete:
        info = t.user_attrs["hyperband"]
        slots.setdefault((info["bracket"], info["round"]), []).append(info["past_id"])
    for rounds in kt.hyperband_schedule(9, 3):
        s = len(rounds) - 1
        for r, (models, _) in enumerate(rounds):
            assert len(slots[(s, r)]) == models
            if r:
                assert len(set(slots[(s, r)])) == models  # each parent promoted once
    assert {t.user_attrs["owner"][2] for t in complete} == {"w0", "w1"}


# ----------------------------------------------------------------------------- Fashion-MNIST
def seed_model_builder(hp):
    # The seed tutorial's Keras Tuner code, with only the import changed.
    model = keras.Sequential()
    model.add(keras.layers.Flatten(input_shape=(784,)))
    hp_units = hp.Int("units", min_value=32, max_value=512, step=32)
    model.add(keras.layers.Dense(units=hp_units, activation="relu"))
    model.add(keras.layers.Dense(10))
    hp_learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@slow
@needs_fmnist
def test_seed_hyperband_snippet_beats_the_median_trial(tmp_path, fmnist, capsys):
    x, y, xv, yv = fmnist
    tuner = kt.Hyperband(
        seed_model_builder,
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        directory=tmp_path,
        project_name="intro_to_kt",
        seed=0,
    )
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    tuner.search(x, y, epochs=50, validation_data=(xv, yv), callbacks=[stop_early])
    best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]
    assert best_hps.get("units") % 32 == 0
    scores = [t.score for t in tuner.oracle.trials.values()]
    best = tuner.get_best_models(num_models=1)[0]
    acc = best.evaluate(xv, yv, return_dict=True, verbose=0)["accuracy"]
    assert acc > np.median(scores)
    assert acc == pytest.approx(max(scores), abs=1e-6)
    tuner.results_summary()
    out = capsys.readouterr().out
    assert "Best val_accuracy So Far" in out and "Trial 00 summary" in out


@slow
@needs_fmnist
def test_same_seed_gives_the_same_trials(tmp_path, fmnist):
    x, y, xv, yv = fmnist[0][:500], fmnist[1][:500], fmnist[2][:200], fmnist[3][:200]

    def run(name):
        tuner = kt.RandomSearch(
            seed_model_builder,
            objective="val_accuracy",
            max_trials=3,
            seed=7,
            directory=tmp_path,
            project_name=name,
        )
        tuner.search(
            x,
            y,
            epochs=1,
            validation_data=(xv, yv),
            verbose=0,
            callbacks=[EarlyStopping(patience=2)],
        )
        return [(t.hyperparameters.values, t.score) for t in tuner.oracle.trials.values()]

    assert run("a") == run("b")


# ----------------------------------------------------------------------------- nerve tune
@slow
@needs_fmnist
def test_nerve_tune_command_writes_the_run_folder(tmp_path, capsys):
    import csv

    from nerve.tune.cli import main_tune

    out = tmp_path / "run"
    status = main_tune(
        [
            "--model",
            "mlp",
            "--trials",
            "4",
            "--max-epochs",
            "2",
            "--limit",
            "400",
            "--workers",
            "2",
            "--sampler",
            "random",
            "--pruner",
            "median",
            "--output",
            str(out),
        ]
    )
    assert status == 0
    text = capsys.readouterr().out
    assert "Best trial" in text and "num_layers:" in text
    with open(out / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["worker"] for r in rows} <= {"tuner0", "tuner1"}
    assert (out / "optimization_history.png").stat().st_size > 1000
    best = nerve.load_model(str(out / "best.nerve"))
    assert best.predict(np.zeros((1, 784), np.float32), verbose=0).shape == (1, 10)


def test_nerve_tune_bad_option_is_one_line(capsys):
    from nerve.tune.cli import main_tune

    assert main_tune(["--trials", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "nerve tune: error: --trials must be >= 1, got 0"


@slow
@needs_fmnist
def test_tuner_overhead_is_under_two_percent_of_a_one_epoch_trial(tmp_path):
    """Everything but build and fit (sampling, storage, bookkeeping, checkpoint) per trial,
    against a 1-epoch MLP trial on the full Fashion-MNIST training set."""
    (x, y), (xv, yv) = fashion_mnist.load_data()
    x, xv = (x.reshape(-1, 784) / 255.0).astype(np.float32), (xv.reshape(-1, 784) / 255.0)
    xv, y, yv = xv.astype(np.float32), y.astype(np.int64), yv.astype(np.int64)
    spent = {"fit": 0.0, "build": 0.0}

    class Timed(kt.HyperModel):
        def build(self, hp):
            t = time.perf_counter()
            model = seed_model_builder(hp)
            spent["build"] += time.perf_counter() - t
            return model

        def fit(self, hp, model, *args, **kwargs):
            t = time.perf_counter()
            history = model.fit(*args, **kwargs)
            spent["fit"] += time.perf_counter() - t
            return history

    trials = 4
    tuner = kt.RandomSearch(
        Timed(),
        objective="val_accuracy",
        max_trials=trials,
        seed=0,
        directory=tmp_path,
        project_name="overhead",
    )
    start = time.perf_counter()
    tuner.search(x, y, epochs=1, batch_size=128, validation_data=(xv, yv), verbose=0)
    total = time.perf_counter() - start
    overhead = (total - spent["fit"] - spent["build"]) / trials
    assert overhead < 0.02 * spent["fit"] / trials, (overhead, spent["fit"] / trials)


def test_overridden_run_trial_tunes_fit_arguments(tmp_path):
    xt, yt, xv, yv = tiny_data()
    seen = []

    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            # Keras Tuner's recipe for tuning batch_size: a hyperparameter outside build.
            kwargs["batch_size"] = trial.hyperparameters.Choice("batch_size", [8, 32])
            seen.append(kwargs["batch_size"])
            return super().run_trial(trial, *args, **kwargs)

    class OwnLoop(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            model = self.hypermodel.build(trial.hyperparameters)
            history = model.fit(*args, **kwargs)
            return history  # scored as its best val_accuracy epoch

    tuner = MyTuner(
        tiny_builder,
        objective="val_accuracy",
        max_trials=3,
        seed=0,
        directory=tmp_path,
        project_name="m",
    )
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    values = [t.hyperparameters["batch_size"] for t in tuner.oracle.trials.values()]
    assert values == seen and set(values) <= {8, 32}
    own = OwnLoop(
        tiny_builder, objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="o"
    )
    own.search(xt, yt, epochs=2, validation_data=(xv, yv), verbose=0)
    scores = [t.score for t in own.oracle.trials.values()]
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)


def test_tuner_hyperparameters_override_and_freeze(tmp_path):
    xt, yt, xv, yv = tiny_data()
    fixed = kt.HyperParameters()
    fixed.Fixed("learning_rate", 1e-2)
    tuner = kt.RandomSearch(
        tiny_builder,
        objective="val_accuracy",
        max_trials=2,
        seed=0,
        hyperparameters=fixed,
        tune_new_entries=False,
        directory=tmp_path,
        project_name="f",
    )
    tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    values = [t.hyperparameters.values for t in tuner.oracle.trials.values()]
    assert values == [{"units": 4, "learning_rate": 1e-2}] * 2  # new entries keep defaults
    narrowed = kt.HyperParameters()
    narrowed.Int("units", 100, 200, step=50)
    tuner = kt.RandomSearch(
        tiny_builder,
        objective="val_accuracy",
        max_trials=3,
        seed=0,
        hyperparameters=narrowed,
        allow_new_entries=False,
        directory=tmp_path,
        project_name="n",
    )
    with pytest.raises(RuntimeError, match="3 trials failed in a row.*new entries are not allowed"):
        tuner.search(xt, yt, epochs=1, validation_data=(xv, yv), verbose=0)
    assert all(t.state.name == "FAIL" for t in tuner.oracle.study.get_trials())


def test_benchmark_measures_the_tuner_overhead():
    # The benchmark row of the performance target (`python -m benchmarks --only tune`),
    # in its quick form: the numbers exist and add up; the target itself is for the full run.
    root = os.path.dirname(SRC)
    sys.path.insert(0, root)
    try:
        from benchmarks import bench_tune
    finally:
        sys.path.remove(root)
    result = bench_tune.run(quick=True)
    assert result["trials"] == 2
    assert result["fit_s_per_trial"] > 0 and result["build_s_per_trial"] > 0
    fit_and_build = result["fit_s_per_trial"] + result["build_s_per_trial"]
    assert result["total_s"] == pytest.approx(
        result["trials"] * (fit_and_build + result["overhead_s_per_trial"])
    )
    assert result["ratio"] == pytest.approx(
        result["overhead_s_per_trial"] / result["fit_s_per_trial"]
    )
    text = "\n".join(bench_tune.markdown_lines(result))
    assert "overhead/fit" in text and f"{result['ratio']:.2%}" in text
