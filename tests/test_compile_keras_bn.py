"""Keras's BatchNormalization under ``jit_compile=True``: its moving statistics are updated inside
the batch_norm op (Keras's formula), so a recorded plan replays the update and such a model fits
from plans, with the weights and moving statistics of eager fit bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve
from nerve import callbacks, layers, losses
from nerve.models import Sequential
from nerve.nn.functional.normalization import keras_batch_norm


def same(a, b) -> bool:
    a = a._data if hasattr(a, "_data") else np.asarray(a)
    b = b._data if hasattr(b, "_data") else np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def conv_bn_model(frozen: bool = False, axis: int = -1) -> Sequential:
    model = Sequential(
        [
            layers.Input(shape=(6, 6, 2)),
            layers.Conv2D(4, 3, padding="same"),
            layers.BatchNormalization(axis=axis, momentum=0.9),
            layers.Activation("relu"),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(3),
        ]
    )
    if frozen:
        bn = model.layers[1]
        bn.set_weights([np.full(4, 1.5), np.full(4, 0.25), np.full(4, 0.5), np.full(4, 2.0)])
        bn.trainable = False
    return model


def data(n: int = 24):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((n, 6, 6, 2)) * 2 + 1).astype(np.float32)
    return x, rng.integers(0, 3, n)


def fit(jit: bool, **kw):
    nerve.manual_seed(5)
    model = conv_bn_model(**kw)
    model.compile(
        optimizer="adam",
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit,
    )
    x, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        evaluated = model.evaluate(x, y, batch_size=8, verbose=0)
        predicted = model.predict(x[:5], verbose=0)
    messages = [str(w.message) for w in caught if "nerve.compile" in str(w.message)]
    return model, hist.history, evaluated, predicted, messages


@pytest.mark.parametrize("axis", [-1, 3])
def test_conv_bn_dropout_jit_fit_equals_eager_bit_for_bit(axis):
    eager, h_e, ev_e, pred_e, _ = fit(False, axis=axis)
    fast, h_f, ev_f, pred_f, messages = fit(True, axis=axis)
    assert not messages  # no fallback warning
    plans = fast.__dict__["_jit_plans"]
    info = plans["train"].cache_info()
    assert info["hits"] > 0 and info["fallbacks"] == 0
    assert plans["test"].cache_info()["fallbacks"] == 0
    assert plans["predict"].cache_info()["fallbacks"] == 0
    assert h_e == h_f and ev_e == ev_f
    assert same(pred_e, pred_f)  # training=False: the moving statistics normalize
    bn_f = fast.layers[1]
    assert not same(bn_f.moving_mean, np.zeros(4, np.float32))  # the plans updated them
    assert not same(bn_f.moving_variance, np.ones(4, np.float32))
    assert [w.name for w in fast.weights] == [w.name for w in eager.weights]
    for w_e, w_f in zip(eager.weights, fast.weights):  # the moving statistics among them
        assert same(w_e, w_f), w_e.name


def test_frozen_bn_keeps_its_moving_statistics_under_jit():
    eager, h_e, _, pred_e, _ = fit(False, frozen=True)
    fast, h_f, _, pred_f, messages = fit(True, frozen=True)
    assert not messages
    assert fast.__dict__["_jit_plans"]["train"].cache_info()["hits"] > 0
    assert h_e == h_f and same(pred_e, pred_f)
    bn = fast.layers[1]
    assert same(bn.moving_mean, np.full(4, 0.5, np.float32))
    assert same(bn.moving_variance, np.full(4, 2.0, np.float32))
    assert same(bn.gamma, np.full(4, 1.5, np.float32))  # trainable=False freezes gamma too
    for w_e, w_f in zip(eager.weights, fast.weights):
        assert same(w_e, w_f), w_e.name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keras_moving_statistics_formula(dtype):
    # moving = moving * momentum + stat * (1 - momentum) with the biased (population) batch
    # variance: with 4 rows the unbiased one is 4/3 of it, far outside the tolerance
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 3)) * 2 + 1).astype(dtype)
    mean0 = rng.standard_normal(3).astype(dtype)
    var0 = rng.random(3).astype(dtype) + 0.5
    mm, mv = nerve.from_numpy(mean0.copy()), nerve.from_numpy(var0.copy())
    out = keras_batch_norm(nerve.from_numpy(x), mm, mv, None, None, 0.99, 1e-3)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(0), x64.var(0)
    assert mm.dtype == dtype and mv.dtype == dtype
    np.testing.assert_allclose(mm._data, mean0 * 0.99 + mean * 0.01, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mv._data, var0 * 0.99 + var * 0.01, rtol=1e-6, atol=1e-7)
    want = (x64 - mean) / np.sqrt(var + 1e-3)
    np.testing.assert_allclose(out._data, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("momentum", [0.99, 0.9, 0.5])
def test_keras_moving_statistics_equal_keras_bit_for_bit(keras, momentum):
    # Batch statistics both frameworks take exactly (each column 0, 2, 0, 2... plus a shift:
    # mean and biased variance exact), so the moving statistics after each step show the
    # update's own arithmetic: moving * momentum + stat * (1 - momentum), with 1 - momentum
    # taken in Python floats as Keras does (float32(1) - float32(0.99) is another number).
    col = np.tile(np.array([0.0, 2.0], np.float32), 4)
    x = np.stack([col, col + 1, col * 2], axis=1)  # means 1, 2, 2; variances 1, 1, 4
    ours = layers.BatchNormalization(momentum=momentum)
    theirs = keras.layers.BatchNormalization(momentum=momentum)
    for _ in range(3):
        ours(nerve.tensor(x), training=True)
        theirs(x, training=True)
        assert same(ours.moving_mean, np.asarray(theirs.moving_mean.numpy()))
        assert same(ours.moving_variance, np.asarray(theirs.moving_variance.numpy()))


def test_keras_moving_statistics_match_keras(keras):
    x = (np.random.default_rng(2).standard_normal((16, 5)) * 3 + 2).astype(np.float32)
    ours = layers.BatchNormalization(momentum=0.9)
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    ours(nerve.tensor(x), training=True)
    theirs(x, training=True)
    got_m, got_v = ours.moving_mean._data, ours.moving_variance._data
    want_m = np.asarray(theirs.moving_mean.numpy())
    want_v = np.asarray(theirs.moving_variance.numpy())
    np.testing.assert_allclose(got_m, want_m, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got_v, want_v, rtol=1e-5, atol=1e-6)


def test_epochs_and_fit_calls_reuse_the_recorded_plans():
    # fit's bookkeeping (model.history, model.stop_training, History's per-epoch assignment)
    # is not structure: the plans of the first epoch serve every later epoch and fit() call
    nerve.manual_seed(5)
    model = conv_bn_model()
    model.compile(
        optimizer="adam",
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    info = model.__dict__["_jit_plans"]["train"].cache_info()
    assert info["misses"] == 1 and info["fallbacks"] == 0
    assert info["hits"] == 5 * 3 - 1  # 3 batches an epoch, the first recorded


def test_early_stopping_keeps_the_plans_for_the_next_fit():
    nerve.manual_seed(5)
    model = conv_bn_model()
    model.compile(
        optimizer="adam",
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    x, y = data()
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # stops at once
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[stop])
    assert model.stop_training
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.__dict__["_jit_plans"]["train"].cache_info()["misses"] == 1
