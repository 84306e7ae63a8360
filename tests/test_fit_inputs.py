"""fit / evaluate / predict refuse bad input with one clear error (issue 15, items 9-12)."""

from __future__ import annotations

import numpy as np
import pytest

from nerve import keras


def _model(inputs=4, outputs=2, loss="mse", metrics=None):
    model = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(outputs)])
    model.compile(keras.optimizers.SGD(0.01), loss, metrics=metrics)
    return model


X = np.ones((8, 4), np.float32)
Y = np.ones((8, 2), np.float32)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "8", True])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_batch_size_must_be_a_positive_integer(call, batch_size):
    model = _model()
    args = (X,) if call == "predict" else (X, Y)
    with pytest.raises(ValueError, match=rf"{call}: batch_size must be a positive integer"):
        getattr(model, call)(*args, batch_size=batch_size, verbose=0)


def test_steps_must_be_positive():
    model = _model()
    with pytest.raises(ValueError, match="fit: steps_per_epoch must be a positive integer, got 0"):
        model.fit(X, Y, steps_per_epoch=0, verbose=0)
    with pytest.raises(ValueError, match="evaluate: steps must be a positive integer"):
        model.evaluate(X, Y, steps=-1, verbose=0)


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_empty_data_is_an_error(call):
    model = _model()
    x, y = np.ones((0, 4), np.float32), np.ones((0, 2), np.float32)
    args = (x,) if call == "predict" else (x, y)
    with pytest.raises(ValueError, match=f"{call}: the data holds no samples"):
        getattr(model, call)(*args, verbose=0)


def test_a_validation_split_that_leaves_nothing_is_an_error():
    with pytest.raises(ValueError, match="leaves 0 for training"):
        _model().fit(X, Y, validation_split=0.95, verbose=0)


def test_nested_lists_of_numbers_are_one_array():
    model = _model()
    out = model.predict([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], verbose=0)
    assert out.shape == (2, 2)
    history = model.fit([[0.1, 0.2, 0.3, 0.4]] * 4, [[1.0, 0.0]] * 4, verbose=0)
    assert len(history.history["loss"]) == 1


def test_a_list_of_inputs_must_match_the_model():
    with pytest.raises(ValueError, match="has 1 input\\(s\\) but x holds 2 arrays"):
        _model().predict([X, X], verbose=0)


def test_a_metric_given_as_a_string():
    model = _model(outputs=3, loss="sparse_categorical_crossentropy", metrics="accuracy")
    history = model.fit(X, np.zeros(8), verbose=0)
    assert "accuracy" in history.history


def test_string_labels_are_refused_by_name():
    model = _model(outputs=3, loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="y holds <U3 values \\('cat'"):
        model.fit(X, np.array(["cat", "dog"] * 4), verbose=0)


def test_negative_class_weight_keys_are_refused():
    model = _model(outputs=3, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="class_weight keys must be class indices >= 0, got -1"):
        model.fit(X, np.zeros(8), class_weight={0: 1.0, -1: 2.0}, verbose=0)


def test_integer_images_are_cast_as_keras_does(keras):
    x = np.random.default_rng(0).integers(0, 255, (4, 6, 6, 1)).astype(np.uint8)
    ours = keras_like_convnet(__import__("nerve").keras)
    theirs = keras_like_convnet(keras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-3
    )


def keras_like_convnet(lib):
    return lib.Sequential(
        [
            lib.Input((6, 6, 1)),
            lib.layers.Conv2D(2, 3),
            lib.layers.Flatten(),
            lib.layers.Dense(3),
        ]
    )
