"""Keras tutorial models run unchanged but for the imports, and learn."""

import numpy as np
import pytest

import nerve
from nerve import callbacks, layers, models, optimizers
from nerve.testing import assert_close
from nerve.utils import to_categorical


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits, split deterministically, scaled to [0, 1]."""
    sk = pytest.importorskip("sklearn.datasets")
    x, y = sk.load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = (x[order] / 16.0).astype(np.float32), y[order]
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def test_sequential_mlp_learns(digits):
    (x_train, y_train), (x_test, y_test) = digits
    nerve.utils.set_random_seed(0)
    model = models.Sequential([
        layers.Dense(64, activation="relu", input_shape=(64,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(optimizer=optimizers.Adam(learning_rate=0.001),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
    history = model.fit(x_train, y_train, batch_size=32, epochs=10, validation_split=0.1,
                        verbose=0)  # fmt: skip
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(10))
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.93
    probs = model.predict(x_test[:5], verbose=0)
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_functional_model_learns(digits):
    (x_train, y_train), (x_test, y_test) = digits
    nerve.utils.set_random_seed(0)
    inputs = layers.Input(shape=(64,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = models.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit({"digits": x_train}, y_train, batch_size=64, epochs=12, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.93
    assert model.get_layer("dense_2").units == 64
    assert [layer.name for layer in model.layers] == ["digits", "dense_1", "dense_2",
                                                       "predictions"]  # fmt: skip


def test_keras_convnet_with_one_hot_labels(digits):
    (x_train, y_train), (x_test, y_test) = digits
    nerve.utils.set_random_seed(0)
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1)
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    model = models.Sequential([
        layers.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu", padding="same"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=8, validation_split=0.1, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9


def test_keras_mnist_convnet_on_fashion_mnist():
    """The Keras "simple MNIST convnet" as the tutorial writes it, on 6,000 Fashion-MNIST images
    (about 10 s); the full 3-epoch run is measured outside the suite (see the README)."""
    from nerve.datasets import fashion_mnist

    try:
        (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    except (FileNotFoundError, OSError) as exc:
        pytest.skip(f"Fashion-MNIST is not installed here: {exc}")
    x_train = np.expand_dims(x_train[:6000].astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test[:1000].astype("float32") / 255, -1)
    y_train, y_test = to_categorical(y_train[:6000], 10), to_categorical(y_test[:1000], 10)
    nerve.utils.set_random_seed(0)
    model = models.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=2, validation_split=0.1, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.7  # seed 0: 0.748; chance: 0.1


def test_embedding_lstm_classifier_learns_a_sequence_task():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (600, 12))
    y = (x[:, :6].sum(1) > x[:, 6:].sum(1)).astype(np.float32)  # which half sums higher
    nerve.utils.set_random_seed(0)
    model = models.Sequential([
        layers.Embedding(20, 16),
        layers.LSTM(32),
        layers.Dense(1, activation="sigmoid"),
    ])  # fmt: skip
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(x[:500], y[:500], batch_size=32, epochs=15, verbose=0)
    assert model.evaluate(x[500:], y[500:], verbose=0)[1] > 0.8  # chance: 0.5; seeds: 0.84-0.88


class CustomDense(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)  # fmt: skip
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return inputs @ self.w + self.b


def test_custom_layer_trains_inside_a_model(digits):
    (x_train, y_train), (x_test, y_test) = digits
    nerve.utils.set_random_seed(0)
    model = models.Sequential([CustomDense(32), layers.Activation("relu"), CustomDense(10)])
    model.compile(optimizer="adam",
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])  # fmt: skip
    model.fit(x_train, y_train, epochs=10, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9


class TwoLayer(models.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(32, activation="relu")
        self.out = layers.Dense(10)

    def call(self, x):
        return self.out(self.hidden(x))


def test_subclassed_model_and_train_on_batch(digits):
    (x_train, y_train), _ = digits
    model = TwoLayer()
    loss = nerve.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="sgd", loss=loss)
    first = model.train_on_batch(x_train[:64], y_train[:64])
    for _ in range(30):
        last = model.train_on_batch(x_train[:64], y_train[:64])
    assert last < first
    assert model.test_on_batch(x_train[:64], y_train[:64]) == pytest.approx(
        model.evaluate(x_train[:64], y_train[:64], verbose=0), rel=1e-5
    )
    assert model.predict_on_batch(x_train[:3]).shape == (3, 10)


def test_early_stopping_restores_the_best_weights(digits):
    (x_train, y_train), (x_val, y_val) = digits
    nerve.utils.set_random_seed(0)
    model = models.Sequential([layers.Dense(10, activation="softmax", input_shape=(64,))])
    model.compile(optimizer=optimizers.SGD(2.0), loss="sparse_categorical_crossentropy")
    best = {}

    class Recorder(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not best or logs["val_loss"] < best["loss"]:
                best.update(loss=logs["val_loss"], weights=self.model.get_weights())

    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model.fit(x_train, y_train, epochs=30, validation_data=(x_val, y_val),
              callbacks=[Recorder(), stop], verbose=0)  # fmt: skip
    for a, b in zip(model.get_weights(), best["weights"]):
        assert np.array_equal(a, b)


def test_validation_split_takes_the_last_fraction():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.float32)
    seen = []
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    original = model.test_step

    def spy(data):
        seen.append(data[1]._data.copy())
        return original(data)

    model.test_step = spy
    model.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    assert_close(np.concatenate(seen), [8.0, 9.0])


def test_class_weight_scales_the_loss_like_keras(keras):
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    weights = {0: 1.0, 1: 3.0}
    ours = models.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    ours.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    theirs.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    theirs.set_weights(ours.get_weights())
    loss_n = ours.train_on_batch(x, y, class_weight=weights)
    loss_k = theirs.train_on_batch(x, y, class_weight=weights)
    assert loss_n == pytest.approx(float(loss_k), rel=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_summary_matches_keras_counts(capsys):
    model = models.Sequential([layers.Input(shape=(784,)), layers.Dense(64, activation="relu"),
                               layers.Dense(64, activation="relu"),
                               layers.Dense(10, activation="softmax")])  # fmt: skip
    model.summary()
    text = capsys.readouterr().out
    assert "Total params: 55,050 (215.04 KB)" in text
    assert "(None, 64)" in text and "Trainable params: 55,050" in text


def test_wrapped_nn_module_trains_through_fit(digits):
    (x_train, y_train), (x_test, y_test) = digits
    nerve.manual_seed(0)
    net = nerve.nn.Sequential(nerve.nn.Linear(64, 32), nerve.nn.ReLU(), nerve.nn.Linear(32, 10))
    model = models.Model.from_module(net)
    model.compile(optimizer=nerve.optim.Adam(net.parameters(), lr=0.01),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])  # fmt: skip
    model.fit(x_train, y_train, epochs=5, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.9


def test_bad_input_says_what_is_wrong():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(RuntimeError, match=r"compile\(\) before fit\(\)"):
        model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="same number of samples, but x has 4.*y has 5"):
        model.fit(np.zeros((4, 3)), np.zeros(5), verbose=0)
    with pytest.raises(ValueError, match="label 7 is out of range for 2 classes"):
        model.fit(np.zeros((4, 3)), np.array([0, 1, 7, 1]), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    mismatch = r"y_true has shape \(4, 5\) but y_pred has shape \(4, 2\)"
    with pytest.raises(ValueError, match=mismatch):
        model.fit(np.zeros((4, 3)), np.zeros((4, 5)), verbose=0)
    with pytest.raises(ValueError, match=r"expected shape \(None, ..., 3\), got \(4, 6\)"):
        model.predict(np.zeros((4, 6)), verbose=0)


def test_transfer_learning_frozen_base_keeps_its_weights_while_the_head_learns(digits):
    (x_train, y_train), _ = digits
    nerve.utils.set_random_seed(3)
    base = models.Sequential(
        [layers.Input((64,)), layers.Dense(32, activation="relu"), layers.Dense(16)], name="base"
    )
    base.trainable = False
    model = models.Sequential([base, layers.Activation("relu"), layers.Dense(10)])
    model.compile(
        optimizer="adam",
        loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    frozen = [w.numpy().copy() for w in base.weights]
    head = model.layers[-1]
    history = model.fit(x_train, y_train, epochs=3, verbose=0)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    for before, after in zip(frozen, base.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert head.kernel.numpy().std() > 0
