"""nerve.callbacks: hooks, History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback and the progress bar.

Keras 3.15 (the ``keras`` fixture, torch backend) is the reference: the same hook sequence, the
same stop epoch / lr sequence / best weights for the same logs, the same progress-bar lines.
"""

import csv
import io
import operator
import os
import re
import sys
import time

import numpy as np
import pytest

from nerve import callbacks, layers, models, nn, optim, optimizers

# Keras 3.15 on torch 2.13 warns inside its own fit about np.array(tensor); not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# ---------------------------------------------------------------------------- helpers

HOOKS = sorted(name for name in vars(callbacks.Callback) if name.startswith("on_"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeTTY(io.StringIO):
    """A captured stream that says it is a terminal, so the bar redraws in place."""

    def isatty(self):
        return True


def _data(n=64, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def _rule_data():
    """Labels from a noisy linear rule, 48 to train on and 48 to validate: with Adam(0.03) the
    validation loss falls for a few epochs and then rises (the net overfits the noise)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = (x @ rng.standard_normal((8, 3)) + rng.standard_normal((96, 3)) * 1.5).argmax(1)
    return (x[:48], y[:48]), (x[48:], y[48:])


def _model(optimizer="adam", d=8, classes=3, metrics=("accuracy",), hidden=16):
    model = models.Sequential(
        [
            layers.Input((d,)),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(classes, activation="softmax"),
        ]
    )
    if optimizer is not None:
        model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _keras_model(keras, d=8, classes=3):
    model = keras.Sequential(
        [
            keras.Input((d,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _recorder(base):
    """A callback of class ``base`` that records (hook, index, log names) at every hook."""
    calls = []

    def make(name):
        def hook(self, *args, **kwargs):
            logs = kwargs.get("logs", next((a for a in args if isinstance(a, dict)), None))
            index = [a for a in args if isinstance(a, int)]
            calls.append((name, *index, tuple(logs or ())))
            if name in ("on_train_begin", "on_test_begin", "on_predict_begin"):
                calls.append(("params", dict(self.params)))
            getattr(base, name)(self, *args, **kwargs)

        return hook

    recorder = type("Recorder", (base,), {name: make(name) for name in HOOKS})()
    return recorder, calls


class _FakeModel:
    """What a monitor callback touches: stop_training, optimizer, get/set_weights."""

    def __init__(self, optimizer=None):
        self.stop_training = False
        self.optimizer = optimizer
        self.epoch = -1  # the "weights" are the epoch that made them

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.epoch = int(weights[0])


def _run_epochs(cb, model, values, monitor):
    """Feed ``values`` as the monitored log, one per epoch, as fit does; returns the logs."""
    cb.set_model(model)
    cb.on_train_begin({})
    all_logs = []
    for epoch, value in enumerate(values):
        model.epoch = epoch
        logs = {monitor: float(value)}
        cb.on_epoch_end(epoch, logs)
        all_logs.append(logs)
        if model.stop_training:
            break
    cb.on_train_end({})
    return all_logs


def _lr(optimizer):
    return callbacks.get_learning_rate(optimizer)


# ---------------------------------------------------------------------------- hooks


def test_hook_order_matches_keras(keras):
    x, y = _data(32)
    xv, yv = _data(16, seed=1)
    runs = {}
    for name, model, base in (
        ("nerve", _model(), callbacks.Callback),
        ("keras", _keras_model(keras), keras.callbacks.Callback),
    ):
        rec, calls = _recorder(base)
        model.fit(
            x, y, batch_size=16, epochs=2, validation_data=(xv, yv), callbacks=[rec], verbose=0
        )
        fit_calls = list(calls)
        calls.clear()
        model.evaluate(x, y, batch_size=16, callbacks=[rec], verbose=0)
        eval_calls = list(calls)
        calls.clear()
        model.predict(x, batch_size=16, callbacks=[rec], verbose=0)
        runs[name] = (fit_calls, eval_calls, list(calls), rec.model is model)

    nerve_run, keras_run = runs["nerve"], runs["keras"]
    assert nerve_run[0] == keras_run[0]  # fit: epochs, batches, validation, in Keras's order
    assert nerve_run[1] == keras_run[1]  # evaluate
    assert nerve_run[2] == keras_run[2]  # predict
    assert nerve_run[3] and keras_run[3]
    fit_calls, eval_calls = nerve_run[0], nerve_run[1]
    assert fit_calls[:2] == [
        ("on_train_begin", ()),
        ("params", {"epochs": 2, "steps": 2, "verbose": 0}),
    ]
    assert eval_calls[1] == ("params", {"epochs": 1, "steps": 2, "verbose": 0})
    assert fit_calls[-1] == ("on_train_end", ("accuracy", "loss", "val_accuracy", "val_loss"))
    epoch_end = fit_calls.index(
        ("on_epoch_end", 0, ("accuracy", "loss", "val_accuracy", "val_loss"))
    )
    assert fit_calls[epoch_end - 1] == ("on_test_end", ("accuracy", "loss"))
    assert ("on_train_batch_begin", 1, ()) in fit_calls
    assert ("on_batch_begin", 1, ()) in fit_calls  # the old alias runs from the base hook
    assert nerve_run[2][-2] == ("on_predict_batch_end", 1, ("outputs",))


def test_callback_list_sorts_logs_and_rejects_non_callbacks():
    seen = []
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(list(logs)))
    cbl = callbacks.CallbackList([cb], add_history=True, add_progbar=True, verbose=0)
    assert [type(c).__name__ for c in cbl] == ["LambdaCallback", "History", "ProgbarLogger"]
    assert cb.params == {"verbose": 0}
    cbl.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5, "val_loss": 2.0})
    assert seen == [["accuracy", "loss", "val_loss"]]
    with pytest.raises(TypeError, match="must be a nerve.callbacks.Callback, got function"):
        callbacks.CallbackList([lambda: None])


def test_stop_training_mid_epoch_still_closes_the_epoch():
    x, y = _data(64)
    events = []

    def batch_end(batch, logs):
        events.append(("batch", batch))
        if batch == 1:
            model.stop_training = True

    model = _model()
    cb = callbacks.LambdaCallback(
        on_train_batch_end=batch_end,
        on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch)),
        on_train_end=lambda logs: events.append(("end", sorted(logs))),
    )
    history = model.fit(x, y, batch_size=16, epochs=5, callbacks=[cb], verbose=0)
    assert events == [("batch", 0), ("batch", 1), ("epoch", 0), ("end", ["accuracy", "loss"])]
    assert history.epoch == [0] and model.stop_training is True


# ---------------------------------------------------------------------------- History


def test_history_records_epochs_and_val_keys():
    x, y = _data(64)
    model = _model()
    history = model.fit(
        x, y, batch_size=32, epochs=4, initial_epoch=1, validation_split=0.25, verbose=0
    )
    assert history is model.history
    assert isinstance(history, callbacks.History)
    assert history.epoch == [1, 2, 3]
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.params == {"epochs": 4, "steps": 2, "verbose": 0}
    assert "learning_rate" not in history.history  # as Keras: only a callback logs it
    # Each value is the epoch's own: the last one equals an evaluate after fit.
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[48:], y[48:], verbose=0)[0], rel=1e-6
    )


def test_history_keys_match_keras(keras):
    x, y = _data(32)
    keys = {}
    for name, model, cbs in (
        ("nerve", _model(), callbacks),
        ("keras", _keras_model(keras), keras.callbacks),
    ):
        h0 = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0)
        h1 = model.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            validation_data=(x, y),
            verbose=0,
            callbacks=[cbs.ReduceLROnPlateau(patience=1)],
        )
        h2 = model.fit(
            x,
            y,
            epochs=2,
            verbose=0,
            callbacks=[cbs.LearningRateScheduler(lambda epoch, lr: lr * 0.5)],
        )
        keys[name] = [list(h.history) for h in (h0, h1, h2)]
    assert keys["nerve"] == keys["keras"]


# ---------------------------------------------------------------------------- EarlyStopping

ES_CONFIGS = [
    dict(patience=0),
    dict(patience=2),
    dict(patience=3, min_delta=0.15),
    dict(patience=2, baseline=0.35),
    dict(patience=1, restore_best_weights=True),
    dict(patience=2, restore_best_weights=True, baseline=0.2),
    dict(patience=2, start_from_epoch=3, restore_best_weights=True),
    dict(patience=1, mode="max", restore_best_weights=True),
]


@pytest.mark.parametrize(
    "config", ES_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
def test_early_stopping_matches_keras(keras, config):
    rng = np.random.default_rng(1)
    for trial in range(12):
        # One decimal: plateaus and ties, where the rules differ most easily.
        values = np.round(rng.uniform(0.0, 1.0, 14), 1)
        if trial % 3 == 0:
            values = np.round(np.linspace(1.0, 0.2, 14) + rng.normal(0, 0.1, 14), 1)
        results = []
        for module in (callbacks, keras.callbacks):
            cb = module.EarlyStopping(monitor="val_loss", **config)
            model = _FakeModel()
            logs = _run_epochs(cb, model, values, "val_loss")
            results.append(
                (len(logs), cb.stopped_epoch, cb.best_epoch, float(cb.best), cb.wait, model.epoch)
            )
        assert results[0] == results[1], (config, values.tolist())


def test_early_stopping_restore_best_weights_on_a_real_fit():
    (x, y), (xv, yv) = _rule_data()
    model = _model(optimizers.Adam(learning_rate=0.03), hidden=32)
    snapshots = []
    es = callbacks.EarlyStopping(patience=3, restore_best_weights=True, verbose=1)
    snap = callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append(model.get_weights())
    )
    history = model.fit(
        x, y, batch_size=16, epochs=40, validation_data=(xv, yv), callbacks=[es, snap], verbose=0
    )
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert es.best_epoch == best
    assert best > 0 and len(val) < 40 and es.stopped_epoch == len(val) - 1 == best + 3
    assert es.best == val[best]
    for got, want in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.get_weights()[0], snapshots[-1][0])
    # Without restore_best_weights the last epoch's weights stay.
    model2 = _model(optimizers.Adam(learning_rate=0.03), hidden=32)
    last = []
    model2.fit(
        x,
        y,
        batch_size=16,
        epochs=40,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[
            callbacks.EarlyStopping(patience=3),
            callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: last.append(model2.get_weights())
            ),
        ],
    )
    np.testing.assert_array_equal(model2.get_weights()[0], last[-1][0])


def test_early_stopping_prints_like_keras(capsys):
    es = callbacks.EarlyStopping(monitor="loss", patience=1, verbose=1, restore_best_weights=True)
    _run_epochs(es, _FakeModel(), [1.0, 0.5, 0.7, 0.9], "loss")
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )


@pytest.mark.parametrize(
    "monitor, op",
    [
        ("val_loss", operator.lt),
        ("loss", operator.lt),
        ("val_out_loss", operator.lt),
        ("mae", operator.lt),
        ("val_mean_squared_error", operator.lt),
        ("accuracy", operator.gt),
        ("val_accuracy", operator.gt),
        ("val_acc", operator.gt),
        ("val_sparse_categorical_accuracy", operator.gt),
        ("val_out_accuracy", operator.gt),
        ("auc", operator.gt),
        ("val_auc_1", operator.gt),
        ("val_precision", operator.gt),
    ],
)
def test_auto_mode_direction(monitor, op):
    es = callbacks.EarlyStopping(monitor=monitor)
    es.set_model(_FakeModel())
    es.on_train_begin()
    es.on_epoch_end(0, {monitor: 0.5})
    assert es.monitor_op is op


def test_auto_mode_on_a_real_fit_for_accuracy_and_auc():
    x, y = _data(64, classes=2)
    model = models.Sequential([layers.Input((8,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
    es = {m: callbacks.EarlyStopping(monitor=m, patience=100) for m in ("val_accuracy", "val_auc")}
    model.fit(x, y, epochs=3, validation_split=0.25, callbacks=list(es.values()), verbose=0)
    for name, cb in es.items():
        assert cb.monitor_op is operator.gt
        assert cb.best == max(model.history.history[name])


def test_auto_mode_unknown_metric_raises():
    es = callbacks.EarlyStopping(monitor="val_foo")
    es.set_model(_FakeModel())
    with pytest.raises(ValueError, match="monitor=val_foo.*mode='max'"):
        es.on_epoch_end(0, {"val_foo": 1.0})
    es = callbacks.EarlyStopping(monitor="val_foo", mode="max")
    _run_epochs(es, _FakeModel(), [1.0, 2.0], "val_foo")
    assert es.best == 2.0


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"])
def test_unknown_mode_warns_and_falls_back_to_auto(keras, name, tmp_path):
    for module, suffix in ((callbacks, ".nerve"), (keras.callbacks, ".keras")):
        args = (str(tmp_path / f"m{suffix}"),) if name == "ModelCheckpoint" else ()
        with pytest.warns(UserWarning, match=f"{name} mode 'bigger' is unknown, fallback to auto"):
            cb = getattr(module, name)(*args, mode="bigger")
        assert cb.mode == "auto"


def test_missing_monitor_warns_like_keras(keras):
    for module in (callbacks, keras.callbacks):
        es = module.EarlyStopping(monitor="val_loss")
        with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss`"):
            _run_epochs(es, _FakeModel(), [1.0, 2.0, 3.0], "loss")
        assert es.stopped_epoch == 0
        opt = optimizers.SGD(1.0) if module is callbacks else keras.optimizers.SGD(1.0)
        rlr = module.ReduceLROnPlateau(monitor="val_loss", patience=0)
        with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on metric"):
            _run_epochs(rlr, _FakeModel(opt), [1.0, 2.0], "loss")
        assert float(np.asarray(opt.learning_rate)) == 1.0


def test_missing_monitor_in_a_real_fit_trains_to_the_end():
    x, y = _data(32)
    model = _model()
    with pytest.warns(UserWarning, match="Available metrics are: accuracy,loss"):
        history = model.fit(
            x, y, epochs=3, callbacks=[callbacks.EarlyStopping(patience=0)], verbose=0
        )
    assert history.epoch == [0, 1, 2]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Received factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="patience=-1"):
        callbacks.ReduceLROnPlateau(patience=-1)
    with pytest.raises(ValueError, match="min_lr=-0.1"):
        callbacks.ReduceLROnPlateau(min_lr=-0.1)
    with pytest.raises(ValueError, match="EarlyStopping: patience must be >= 0, got -1"):
        callbacks.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="start_from_epoch must be >= 0"):
        callbacks.EarlyStopping(start_from_epoch=-2)
    with pytest.raises(ValueError, match="Unrecognized save_freq: batch"):
        callbacks.ModelCheckpoint("m.nerve", save_freq="batch")
    with pytest.raises(ValueError, match="Unrecognized save_freq: 0"):
        callbacks.ModelCheckpoint("m.nerve", save_freq=0)
    with pytest.raises(TypeError, match="schedule must be a function"):
        callbacks.LearningRateScheduler(0.1)
    with pytest.raises(TypeError, match=r"\['on_epoch_finish'\] are not callback hooks"):
        callbacks.LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="on_test_end must be callable, got int"):
        callbacks.LambdaCallback(on_test_end=3)
    with pytest.raises(ValueError, match="finite number >= 0, got -1.0"):
        callbacks.set_learning_rate(optimizers.SGD(0.1), -1)


# ---------------------------------------------------------------------------- ReduceLROnPlateau

RLR_CONFIGS = [
    dict(patience=0, factor=0.5),
    dict(patience=2, factor=0.5, min_delta=0.05),
    dict(patience=1, factor=0.1, cooldown=2),
    dict(patience=1, factor=0.5, min_lr=0.1),
    dict(patience=2, factor=0.2, cooldown=1, min_lr=0.01, mode="max"),
]


@pytest.mark.parametrize(
    "config", RLR_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
def test_reduce_lr_on_plateau_matches_keras(keras, config):
    rng = np.random.default_rng(2)
    param = nn.Parameter(np.zeros(3, np.float32))
    for _ in range(10):
        values = np.round(rng.uniform(0.0, 1.0, 14), 1)
        runs = []
        for module, opt in (
            (keras.callbacks, keras.optimizers.SGD(learning_rate=1.0)),
            (callbacks, optimizers.SGD(learning_rate=1.0)),
            (callbacks, optim.SGD([param], lr=1.0)),
        ):
            cb = module.ReduceLROnPlateau(monitor="val_loss", **config)
            model = _FakeModel(opt)
            lrs = []
            cb.set_model(model)
            cb.on_train_begin({})
            logged = []
            for epoch, v in enumerate(values):
                logs = {"val_loss": float(v)}
                cb.on_epoch_end(epoch, logs)
                logged.append(logs["learning_rate"])
                lrs.append(
                    float(np.asarray(_lr(opt) if module is callbacks else opt.learning_rate))
                )
            runs.append((lrs, logged))
        # Keras keeps the rate in float32: equal to its precision.
        for lrs, logged in runs[1:]:
            np.testing.assert_allclose(lrs, runs[0][0], rtol=1e-6)
            np.testing.assert_allclose(logged, runs[0][1], rtol=1e-6)


@pytest.mark.parametrize("kind", ["keras-style", "torch-style"])
def test_reduce_lr_on_plateau_real_fit(kind):
    x, y = _data(64)
    model = _model(optimizer=None)
    opt = optimizers.SGD(learning_rate=0.01) if kind == "keras-style" else None
    if opt is None:
        opt = optim.SGD(model.parameters(), lr=0.01)
    model.compile(opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # min_delta larger than any change: every epoch after the first is a plateau.
    rlr = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10)
    history = model.fit(x, y, batch_size=32, epochs=4, callbacks=[rlr], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert _lr(opt) == pytest.approx(0.00125)
    # The new rate is the one the optimizer steps with: one batch moves the weights by lr * grad.
    before = [w.copy() for w in model.get_weights()]
    callbacks.set_learning_rate(opt, 0.0)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_learning_rate_keeps_group_ratios_and_refuses_schedules():
    a, b = nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros(2, np.float32))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    callbacks.set_learning_rate(opt, 0.01)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.05])
    assert callbacks.get_learning_rate(opt) == pytest.approx(0.01)
    scheduled = optimizers.SGD(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    assert callbacks.get_learning_rate(scheduled) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        callbacks.set_learning_rate(scheduled, 0.01)
    with pytest.raises(ValueError, match='must have a "learning_rate" attribute'):
        callbacks.set_learning_rate(object(), 0.01)
    assert callbacks.get_learning_rate(None) is None


def test_reduce_lr_on_plateau_verbose_message(capsys):
    rlr = callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, verbose=1)
    _run_epochs(rlr, _FakeModel(optimizers.SGD(1.0)), [1.0, 1.0], "loss")
    assert (
        capsys.readouterr().out == "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"
    )


# ---------------------------------------------------------------------------- LearningRateScheduler


@pytest.mark.parametrize("kind", ["keras-style", "torch-style"])
def test_learning_rate_scheduler(kind, capsys):
    x, y = _data(32)
    model = _model(optimizer=None)
    opt = optimizers.SGD(0.1) if kind == "keras-style" else optim.SGD(model.parameters(), lr=0.1)
    model.compile(opt, loss="sparse_categorical_crossentropy")
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2, 1)
    history = model.fit(x, y, epochs=4, callbacks=[sched], verbose=0)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert _lr(opt) == pytest.approx(0.025)
    out = capsys.readouterr().out
    assert "\nEpoch 3: LearningRateScheduler setting learning rate to 0.05.\n" in out
    # Keras's old API: a function of the epoch alone.
    history = model.fit(
        x, y, epochs=2, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.3 + e)]
    )
    assert history.history["learning_rate"] == pytest.approx([0.3, 1.3])
    with pytest.raises(ValueError, match="should be a float. Got: fast"):
        model.fit(
            x, y, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")]
        )


def test_learning_rate_scheduler_matches_keras(keras):
    x, y = _data(32)
    rates = []
    for module, model in ((callbacks, _model()), (keras.callbacks, _keras_model(keras))):
        model.optimizer.learning_rate = 0.01
        sched = module.LearningRateScheduler(lambda e, lr: lr if e < 1 else lr * 0.9)
        h = model.fit(x, y, epochs=4, callbacks=[sched], verbose=0)
        rates.append(h.history["learning_rate"])
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-6)


# ---------------------------------------------------------------------------- ModelCheckpoint


def _same_weights(path, model):
    """Whether the weights file at ``path`` holds exactly ``model``'s current state_dict."""
    import nerve

    saved, current = nerve.load(str(path)), model.state_dict()
    assert list(saved) == list(current)
    return all(np.array_equal(saved[k], np.asarray(current[k])) for k in current)


def test_model_checkpoint_save_best_only_writes_only_on_improvement(tmp_path):
    (x, y), (xv, yv) = _rule_data()
    model = _model(optimizers.Adam(learning_rate=0.03), hidden=32)
    path = tmp_path / "best.weights.safetensors"
    seen = []

    def after_checkpoint(epoch, logs):
        stat = os.stat(path)
        same = _same_weights(path, model)
        seen.append(((stat.st_ino, stat.st_mtime_ns), same))

    ckpt = callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=12,
        validation_data=(xv, yv),
        verbose=0,
        callbacks=[ckpt, callbacks.LambdaCallback(on_epoch_end=after_checkpoint)],
    )
    val = history.history["val_loss"]
    improved = [v < min(val[:i], default=np.inf) for i, v in enumerate(val)]
    assert any(improved[1:]) and not all(improved)  # both cases happen
    for epoch, (stamp, same) in enumerate(seen):
        written = epoch == 0 or stamp != seen[epoch - 1][0]
        assert written == improved[epoch] == same, epoch
    assert ckpt.best == min(val)
    assert os.listdir(tmp_path) == ["best.weights.safetensors"]  # no temp file left behind


def test_model_checkpoint_filepath_placeholders(tmp_path):
    x, y = _data(32)
    model = _model()
    pattern = str(tmp_path / "ckpt" / "{epoch:02d}-{val_loss:.2f}.weights.safetensors")
    ckpt = callbacks.ModelCheckpoint(pattern, save_weights_only=True)
    history = model.fit(x, y, epochs=3, validation_data=(x, y), callbacks=[ckpt], verbose=0)
    names = [
        f"{e + 1:02d}-{v:.2f}.weights.safetensors"
        for e, v in enumerate(history.history["val_loss"])
    ]
    assert sorted(os.listdir(tmp_path / "ckpt")) == sorted(names)
    assert _same_weights(tmp_path / "ckpt" / names[-1], model)
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        model.fit(
            x,
            y,
            verbose=0,
            callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{val_auc}.nerve"))],
        )


def test_model_checkpoint_saves_the_whole_model(tmp_path):
    import nerve

    x, y = _data(32)
    model = _model()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "model-{epoch}.nerve"), monitor="loss")
    model.fit(x, y, epochs=2, callbacks=[ckpt], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["model-1.nerve", "model-2.nerve"]
    again = nerve.load_model(str(tmp_path / "model-2.nerve"))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "path, weights_only, keras_path",
    [
        ("m.npz", True, "m.h5"),
        ("m.nerve", True, "m.keras"),
        ("m.weights.safetensors", False, "m.weights.npz"),
    ],
)
def test_model_checkpoint_suffix_is_checked_like_keras(keras, path, weights_only, keras_path):
    for module, p in ((callbacks, path), (keras.callbacks, keras_path)):
        with pytest.raises(ValueError, match=f"must end in .*Received: filepath={p}"):
            module.ModelCheckpoint(p, save_weights_only=weights_only)


def test_model_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    x, y = _data(32)
    model = _model()
    for name, weights_only in (("w.weights.safetensors", True), ("m.nerve", False)):
        path = tmp_path / name
        cb = callbacks.ModelCheckpoint(path, monitor="loss", save_weights_only=weights_only)
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
        before = path.read_bytes()

        def no_rename(src, dst):
            raise OSError("rename failed")

        monkeypatch.setattr(os, "replace", no_rename)
        with pytest.raises(OSError, match="rename failed"):
            model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
        monkeypatch.undo()
        assert path.read_bytes() == before  # the previous checkpoint is whole
        assert name in os.listdir(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["m.nerve", "w.weights.safetensors"]  # no temp file


def test_model_checkpoint_save_freq_in_batches(tmp_path, keras):
    x, y = _data(64)
    model = _model()
    pattern = str(tmp_path / "e{epoch}-b{batch}.weights.safetensors")
    ckpt = callbacks.ModelCheckpoint(pattern, save_freq=3, save_weights_only=True)
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[ckpt], verbose=0)
    # 4 batches an epoch, a save every 3 batches counted across epochs (Keras's rule).
    assert sorted(os.listdir(tmp_path)) == [
        "e1-b3.weights.safetensors",
        "e2-b2.weights.safetensors",
    ]
    kc = keras.callbacks.ModelCheckpoint(str(tmp_path / "k.keras"), save_freq=3)
    nc = callbacks.ModelCheckpoint(str(tmp_path / "n.nerve"), save_freq=3)
    batches = [0, 1, 2, 3] * 3 + [0, 1]
    assert [nc._should_save_on_batch(b) for b in batches] == [
        kc._should_save_on_batch(b) for b in batches
    ]


def test_model_checkpoint_verbose_thresholds_and_errors(tmp_path, capsys):
    model = _FakeModel()
    model.save_weights = lambda filepath: open(filepath, "w").close()
    weights = "m.weights.safetensors"
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / weights), save_best_only=True, save_weights_only=True, verbose=1
    )
    _run_epochs(ckpt, model, [0.5, 0.7], "val_loss")
    out = capsys.readouterr().out
    assert (
        f"\nEpoch 1: val_loss improved from None to 0.50000, saving model to {tmp_path / weights}\n"
        in out
    )
    assert "\nEpoch 2: val_loss did not improve from 0.50000\n" in out
    assert f"\nEpoch 1: finished saving model to {tmp_path / weights}\n" in out
    os.mkdir(tmp_path / "a.weights.safetensors")
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "a.weights.safetensors"), save_weights_only=True
    )
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        _run_epochs(ckpt, model, [0.5], "val_loss")
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "x.weights.safetensors"), save_best_only=True, save_weights_only=True
    )
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        _run_epochs(ckpt, model, [0.5], "loss")
    assert (tmp_path / "x.weights.safetensors").exists()
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "t.weights.safetensors"),
        save_best_only=True,
        initial_value_threshold=0.4,
        save_weights_only=True,
    )
    _run_epochs(ckpt, model, [0.5, 0.45], "val_loss")
    assert not (tmp_path / "t.weights.safetensors").exists()  # never beat the threshold


# ---------------------------------------------------------------------------- CSVLogger


def _feed_csv(module, path, epochs_logs, **kwargs):
    logger = module.CSVLogger(str(path), **kwargs)
    logger.on_train_begin({})
    for epoch, logs in enumerate(epochs_logs):
        logger.on_epoch_end(epoch, dict(logs))
    logger.on_train_end({})


def test_csv_logger_matches_keras(keras, tmp_path):
    logs = [
        {"loss": 0.5, "accuracy": 0.25},
        {"loss": 0.4, "accuracy": 0.5, "val_loss": 0.45, "val_accuracy": 0.5},
    ]
    for kwargs in ({}, {"separator": ";"}):
        for name, module in (("n", callbacks), ("k", keras.callbacks)):
            _feed_csv(module, tmp_path / f"{name}.csv", logs, **kwargs)
            _feed_csv(module, tmp_path / f"{name}.csv", logs[1:], append=True, **kwargs)
        assert (tmp_path / "n.csv").read_text() == (tmp_path / "k.csv").read_text()
    text = (tmp_path / "n.csv").read_text().splitlines()
    assert text[0] == "epoch;accuracy;loss;val_accuracy;val_loss"
    assert text[1] == "0;0.25;0.5;NA;NA"
    assert len(text) == 4  # appended rows, no second header


def test_csv_logger_on_a_real_fit(tmp_path):
    x, y = _data(32)
    model = _model()
    path = tmp_path / "logs" / "run.csv"
    history = model.fit(
        x,
        y,
        epochs=3,
        validation_data=(x, y),
        validation_freq=2,
        verbose=0,
        callbacks=[callbacks.CSVLogger(path)],
    )
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"])
    assert [r["val_loss"] for r in rows][::2] == ["NA", "NA"]
    assert float(rows[1]["val_loss"]) == pytest.approx(history.history["val_loss"][0])
    # Per-class values go in one cell that reads back as a list.
    _feed_csv(callbacks, tmp_path / "arr.csv", [{"f1": np.array([0.5, 0.25])}])
    with open(tmp_path / "arr.csv", newline="") as f:
        assert next(csv.DictReader(f))["f1"] == "[0.5, 0.25]"


# ------------------------------------------------------------------ TerminateOnNaN, LambdaCallback


def test_terminate_on_nan(capsys):
    x, y = _data(64)
    x[20] = np.nan  # the second batch of 16
    model = _model()
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=3,
        shuffle=False,
        callbacks=[callbacks.TerminateOnNaN()],
        verbose=0,
    )
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    ended = []
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1"):
        _model().fit(
            x,
            y,
            batch_size=16,
            shuffle=False,
            verbose=0,
            callbacks=[
                callbacks.TerminateOnNaN(raise_error=True),
                callbacks.LambdaCallback(on_train_end=ended.append),
            ],
        )
    assert ended == []


def test_lambda_callback_runs_every_given_hook():
    x, y = _data(32)
    seen = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: seen.append(f"epoch_begin {epoch}"),
        on_train_batch_begin=lambda batch, logs: seen.append(f"batch {batch}"),
        on_test_end=lambda logs: seen.append(f"test_end {sorted(logs)}"),
        on_predict_end=lambda logs: seen.append("predict_end"),
    )
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), callbacks=[cb], verbose=0)
    model.predict(x, callbacks=[cb], verbose=0)
    assert seen == [
        "train_begin",
        "epoch_begin 0",
        "batch 0",
        "batch 1",
        "test_end ['accuracy', 'loss']",
        "predict_end",
    ]


# ---------------------------------------------------------------------------- progress bar


def _final_lines(text):
    """Each written line as the terminal ends up showing it: after its last redraw."""
    lines = []
    for line in text.replace("\b", "").split("\n")[:-1]:
        lines.append(line.rsplit("\r", 1)[-1].rstrip())
    return lines


def _normalize(line):
    """Times and metric values replaced by placeholders, so two runs compare equal."""
    line = re.sub(r"\d+(us|ms|s)/step", "T/step", line)
    line = re.sub(r"(\x1b\[1m)?\d+s(\x1b\[0m)? ", r"\1Ns\2 ", line)
    line = re.sub(r" - \d+s - ", " - Ns - ", line)
    return re.sub(r": -?\d+\.\d{4}(e[-+]\d+)?", ": V", line)


def _run_fit_into(model, stream, monkeypatch, verbose, x, y, **kwargs):
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=verbose, **kwargs)
        model.evaluate(x, y, batch_size=16, verbose=verbose)
        model.predict(x, batch_size=16, verbose=verbose)
    finally:
        monkeypatch.undo()
    return stream.getvalue()


@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_lines_match_keras(keras, monkeypatch, verbose):
    x, y = _data(32)
    nerve_out = _run_fit_into(_model(), FakeTTY(), monkeypatch, verbose, x, y)
    keras_out = _run_fit_into(_keras_model(keras), FakeTTY(), monkeypatch, verbose, x, y)
    nerve_lines = [_normalize(s) for s in _final_lines(nerve_out)]
    keras_lines = [_normalize(s) for s in _final_lines(keras_out)]
    print("nerve:", *_final_lines(nerve_out), sep="\n  ")
    print("keras:", *_final_lines(keras_out), sep="\n  ")
    assert nerve_lines == keras_lines
    if verbose == 2:
        assert "\r" not in nerve_out and "\x1b" not in nerve_out
        assert nerve_lines[1] == (
            "2/2 - Ns - T/step - accuracy: V - loss: V - val_accuracy: V - val_loss: V"
        )
    else:
        plain = ANSI.sub("", nerve_lines[1])
        assert plain == (
            "2/2 ━━━━━━━━━━━━━━━━━━━━ Ns T/step - accuracy: V - loss: V - val_accuracy: V"
            " - val_loss: V"
        )
        assert nerve_out.count("\r") >= 4  # a live bar: redrawn in place


def test_progbar_with_reduce_lr_shows_learning_rate(monkeypatch):
    x, y = _data(32)
    out = _run_fit_into(
        _model(), FakeTTY(), monkeypatch, 2, x, y, callbacks=[callbacks.ReduceLROnPlateau()]
    )
    assert _final_lines(out)[1].endswith(" - learning_rate: 1.0000e-03")


def test_progbar_not_a_terminal_prints_one_line_per_epoch(monkeypatch):
    x, y = _data(64)
    out = _run_fit_into(_model(), io.StringIO(), monkeypatch, 1, x, y)
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert [line[:10] for line in lines] == [
        "Epoch 1/2",
        "4/4 ━━━━━━",
        "Epoch 2/2",
        "4/4 ━━━━━━",
        "4/4 ━━━━━━",  # evaluate
        "4/4 ━━━━━━",  # predict
    ]
    assert re.fullmatch(
        r"4/4 ━{20} \d+s \d+(us|ms)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
        r" - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}",
        lines[1],
    )


def test_verbose_0_prints_nothing(capsys):
    x, y = _data(32)
    model = _model()
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_live_frames_match_keras(keras, monkeypatch):
    """Progbar alone, redrawing at every update: the same frames as Keras's."""
    updates = [(1, 0.5), (2, 0.25), (3, 0.0001), (5, 0.125)]
    outputs = []
    for make in (
        lambda: callbacks.Progbar(5, interval=0),
        lambda: keras.utils.Progbar(5, interval=0, stateful_metrics=["loss"]),
    ):
        stream = FakeTTY()
        monkeypatch.setattr(sys, "stdout", stream)
        bar = make()
        for step, loss in updates:
            bar.update(step, [("loss", loss)])
        monkeypatch.undo()
        frames = stream.getvalue().replace("\b", "").split("\r")[1:]
        outputs.append([_normalize(f).rstrip() for f in frames])
    assert outputs[0] == outputs[1]
    assert ANSI.sub("", outputs[0][2]) == "3/5 ━━━━━━━━━━━━━━━━━━━━ Ns T/step - loss: V"


def test_progbar_unknown_target_and_padding():
    stream = FakeTTY()
    bar = callbacks.Progbar(None, interval=0, stream=stream)
    bar.update(1, {"loss": 123.0, "accuracy": 0.5})
    bar.update(2, {"loss": 1.0})
    frames = stream.getvalue().split("\r")[1:]
    first, second = (ANSI.sub("", f) for f in frames)
    assert first.startswith("      1/Unknown ")
    # The shorter second line is padded over what is left of the first.
    assert len(second) == len(first) and second.rstrip().endswith("loss: 1.0000")
    bar.update(2, finalize=True)
    assert stream.getvalue().endswith("\n")


def test_progbar_overhead():
    """Loose sanity check of the per-update cost the progbar module docstring quotes."""
    logs = {"accuracy": 0.8125, "loss": 0.5613}
    n = 10_000

    def best_of(fn, repeat=5):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    def plain():
        bar = callbacks.Progbar(n + 1, interval=0.1, stream=FakeTTY())
        for i in range(1, n + 1):
            bar.update(i, logs)

    def redraw():
        bar = callbacks.Progbar(n + 1, interval=0.0, stream=FakeTTY())
        for i in range(1, 1001):
            bar.update(i, logs)

    per_update = best_of(plain) / n * 1e6
    per_redraw = best_of(redraw) / 1000 * 1e6
    print(f"\nnerve Progbar: {per_update:.2f} us/update, {per_redraw:.1f} us/update+redraw")
    try:
        import tqdm
    except ImportError:
        pass
    else:

        def tqdm_postfix():  # the cheapest way tqdm can show metrics: a string every batch
            bar = tqdm.tqdm(total=n, file=FakeTTY(), mininterval=0.1)
            for _ in range(n):
                bar.set_postfix_str(
                    " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), refresh=False
                )
                bar.update(1)
            bar.close()

        def tqdm_plain():
            bar = tqdm.tqdm(total=n, file=FakeTTY(), mininterval=0.1)
            for _ in range(n):
                bar.update(1)
            bar.close()

        print(
            f"tqdm {tqdm.__version__}: set_postfix_str + update(1) "
            f"{best_of(tqdm_postfix, 3) / n * 1e6:.2f} us/update, update(1) alone "
            f"{best_of(tqdm_plain, 3) / n * 1e6:.2f} us/update"
        )
    assert per_update * n < 50_000  # 10,000 updates under 50 ms
