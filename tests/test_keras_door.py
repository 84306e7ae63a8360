"""The Keras door (nerve.keras): Keras 3's semantics, checked against Keras 3 where it runs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve
from nerve import keras
from nerve.testing import assert_close


def _numpy(x):
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else x
    return np.asarray(x)


def _set_random_weights(model, seed=0):
    rng = np.random.default_rng(seed)  # positive, so a batch norm's variance is one too
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    return weights


# ----------------------------------------------------------------------------- the package
def test_reachable_three_ways():
    import nerve.keras as by_import
    from nerve.keras import layers, ops  # noqa: F401

    assert by_import is keras
    assert keras.layers.Dense is nerve.layers.Dense
    assert keras.Sequential is nerve.models.Sequential
    assert keras.models.Model is keras.Model
    assert keras.optimizers.schedules.ExponentialDecay is not None


def test_a_missing_name_suggests_the_nearest():
    with pytest.raises(AttributeError, match="did you mean 'Dense'"):
        keras.layers.Dence  # noqa: B018
    with pytest.raises(AttributeError, match="did you mean 'Sequential'"):
        keras.Sequental  # noqa: B018
    with pytest.raises(AttributeError, match="does not have it"):
        keras.layers.QuantumEntangler  # noqa: B018


# ----------------------------------------------------------------------------- inference
def test_a_direct_call_is_inference_unless_training_is_true():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6), keras.layers.Dropout(0.5)])
    x = np.ones((4, 6), np.float32)
    a, b = model(x, training=False).numpy(), model(x).numpy()
    assert_close(a, b)
    assert (model(x, training=True).numpy() == 0).mean() > 0.2


def test_fresh_batch_norm_is_inference_and_keeps_its_moving_mean(keras_ref):
    z = np.random.default_rng(0).normal(2.0, 3.0, (16, 3)).astype(np.float32)
    ours = keras.layers.BatchNormalization()
    theirs = keras_ref.layers.BatchNormalization()
    assert_close(ours(z).numpy(), _numpy(theirs(z)), atol=1e-5)
    assert_close(ours.moving_mean.numpy(), np.zeros(3))
    assert_close(ours(z, training=True).numpy(), _numpy(theirs(z, training=True)), atol=1e-5)
    assert_close(ours.moving_mean.numpy(), _numpy(theirs.moving_mean), atol=1e-6)


def test_training_flows_into_nested_layers_and_models():
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dropout(0.9)])
    outer = keras.Sequential([keras.Input((5,)), inner])
    x = np.ones((64, 5), np.float32)
    assert_close(outer(x).numpy(), x)
    assert (outer(x, training=True).numpy() == 0).mean() > 0.5


def test_nn_modules_keep_torch_train_and_eval():
    drop = nerve.nn.Dropout(0.9)
    assert drop.training
    assert (drop(nerve.ones(100)).numpy() == 0).mean() > 0.5
    drop.eval()
    assert_close(drop(nerve.ones(100)).numpy(), np.ones(100))


# ----------------------------------------------------------------------------- weights
def _bn_model(lib):
    return lib.Sequential(
        [
            lib.Input((4,)),
            lib.layers.Dense(3),
            lib.layers.BatchNormalization(),
            lib.layers.Dense(2),
        ]
    )


def test_weights_in_keras_order_whatever_is_frozen(keras_ref):
    ours, theirs = _bn_model(keras), _bn_model(keras_ref)
    ours.layers[0].trainable = False
    theirs.layers[0].trainable = False
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.shape for w in ours.trainable_weights] == [
        tuple(w.shape) for w in theirs.trainable_weights
    ]
    assert [w.shape for w in ours.non_trainable_weights] == [
        tuple(w.shape) for w in theirs.non_trainable_weights
    ]
    # weights copied from Keras load into nerve and predict the same
    ours.set_weights([_numpy(w) for w in theirs.get_weights()])
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)


def test_freezing_between_get_and_set_weights_changes_nothing():
    model = _bn_model(keras)
    _set_random_weights(model)
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    before = model.predict(x, verbose=0)
    weights = model.get_weights()
    model.layers[1].trainable = False
    model.set_weights(weights)
    assert_close(model.predict(x, verbose=0), before)


def test_variables_have_keras_methods():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    kernel = layer.kernel
    assert isinstance(kernel, keras.Variable) and kernel.name == "kernel"
    kernel.assign(np.ones((3, 2)))
    kernel.assign_add(np.ones((3, 2)))
    kernel.assign_sub(0.5 * np.ones((3, 2)))
    assert_close(kernel.numpy(), np.full((3, 2), 1.5))
    assert kernel.value is kernel and kernel.trainable
    kernel.trainable = False
    assert layer.trainable_weights == [layer.bias]
    with pytest.raises(ValueError, match="assign on variable 'kernel'"):
        kernel.assign(np.ones((2, 2)))


# ----------------------------------------------------------------------------- losses, metrics
class _Penalty(keras.layers.Layer):
    def call(self, x):
        self.add_loss(keras.ops.mean(keras.ops.square(x)))
        return x


def test_add_loss_terms_are_collected_and_replaced_on_each_call():
    model = keras.Sequential([keras.Input((2,)), _Penalty()])
    model(np.ones((3, 2), np.float32))
    assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(1.0)
    model(np.full((3, 2), 2.0, np.float32))
    assert len(model.losses) == 1 and float(model.losses[0]) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="expected a scalar loss"):
        _Penalty().add_loss(nerve.ones(3))


def test_compile_without_a_loss_and_nothing_to_minimize_says_so():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)


def test_fit_without_trainable_weights_warns_once_and_runs():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    with pytest.warns(UserWarning, match="does not have any trainable weights") as record:
        history = model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=4, epochs=2, verbose=0)
    assert len([w for w in record if "trainable weights" in str(w.message)]) == 1
    assert len(history.history["loss"]) == 2
    for a, b in zip(before, model.get_weights()):
        assert_close(a, b)


def test_metric_add_variable_matches_keras(keras_ref):
    def make(lib):
        class TruePositives(lib.metrics.Metric):
            def __init__(self, name="tp", **kwargs):
                super().__init__(name=name, **kwargs)
                self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")

            def update_state(self, y_true, y_pred, sample_weight=None):
                hit = lib.ops.logical_and(
                    lib.ops.greater(y_true, 0.5), lib.ops.greater(y_pred, 0.5)
                )
                self.tp.assign_add(lib.ops.sum(lib.ops.cast(hit, "float32")))

            def result(self):
                return self.tp

        return TruePositives()

    ours, theirs = make(keras), make(keras_ref)
    for m in (ours, theirs):
        m.update_state(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.7]))
        m.update_state(np.array([1.0]), np.array([0.1]))
    assert float(ours.result()) == float(_numpy(theirs.result())) == 2.0
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_metrics_property_and_tracked_metrics():
    class WithTracker(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.tracker = keras.metrics.Mean(name="extra")

        def call(self, x):
            return self.dense(x)

    model = WithTracker()
    model(np.ones((2, 3), np.float32))
    model.compile("sgd", "mse", metrics=["mae"])
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "extra"]


# ----------------------------------------------------------------------------- graph
def test_layer_input_output_and_feature_extractor():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="hidden")
    h = hidden(inputs)
    outputs = keras.layers.Dense(2)(h)
    model = keras.Model(inputs, outputs)
    assert hidden.input is inputs and hidden.output is h
    assert hidden.input_shape == (None, 4) and hidden.output_shape == (None, 3)
    extractor = keras.Model(model.inputs, [layer.output for layer in model.layers])
    x = np.ones((2, 4), np.float32)
    features = extractor(x)
    assert [tuple(f.shape) for f in features] == [(2, 4), (2, 3), (2, 2)]
    with pytest.raises(AttributeError, match="has never been called"):
        keras.layers.Dense(2).output  # noqa: B018


def test_sequential_layers_have_outputs_once_built():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    assert len(model.inputs) == 1 and model.outputs[0].shape == (None, 2)
    assert model.layers[0].output.shape == (None, 3)
    model.pop()
    model.add(keras.layers.Dense(5))
    assert model.outputs[0].shape == (None, 5)
    assert len(model.layers[0]._inbound_nodes) == 1  # the graph before add/pop is gone


def test_functional_layer_order_is_keras(keras_ref):
    def build(lib):
        a, b = lib.Input((3,)), lib.Input((5,))
        x = lib.layers.concatenate([lib.layers.Dense(2)(a), lib.layers.Dense(4)(b)])
        return lib.Model([a, b], [lib.layers.Dense(1)(x), lib.layers.Dense(6)(x)])

    ours, theirs = build(keras), build(keras_ref)
    assert [type(layer).__name__ for layer in ours.layers] == [
        type(layer).__name__ for layer in theirs.layers
    ]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


def test_from_config_rebuilds_a_functional_topology():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, activation="relu")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2)(x), x])
    _set_random_weights(model)
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    data = np.ones((2, 4), np.float32)
    for a, b in zip(model.predict(data, verbose=0), clone.predict(data, verbose=0)):
        assert_close(a, b)


def test_sequential_from_config_round_trips():
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(2)])
    _set_random_weights(model)
    clone = keras.Sequential.from_config(model.get_config())
    assert type(clone) is keras.Sequential and clone.built  # the input shape came along
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    data = np.ones((2, 5, 3), np.float32)
    assert_close(model.predict(data, verbose=0), clone.predict(data, verbose=0))
    unbuilt = keras.Sequential.from_config(keras.Sequential([keras.layers.Dense(2)]).get_config())
    assert not unbuilt.built and len(unbuilt.layers) == 1  # built on first call, as Keras


def test_summary_show_trainable():
    model = _bn_model(keras)
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True)
    table = lines[0]
    assert "Trainable" in table
    rows = [r for r in table.splitlines() if "(Dense)" in r or "(BatchNormalization)" in r]
    assert rows[0].rstrip("│ ").endswith("N") and rows[1].rstrip("│ ").endswith("Y")


# ----------------------------------------------------------------------------- data
class _Batches(keras.utils.PyDataset):
    def __init__(self, n):
        super().__init__()
        self.n, self.ends = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, index):  # never raises IndexError, as real PyDatasets often do
        x = np.full((4, 2), float(index), np.float32)
        return x, x.sum(axis=1, keepdims=True)

    def on_epoch_end(self):
        self.ends += 1


def test_fit_reads_a_pydataset_by_index_and_ends_each_epoch():
    data = _Batches(3)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and data.ends == 2
    assert model.predict(data, verbose=0).shape == (12, 1)


def test_fit_reads_any_len_getitem_sequence():
    class Plain:
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.ones((3, 2), np.float32), np.ones((3, 1), np.float32)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert len(model.fit(Plain(), epochs=1, verbose=0).history["loss"]) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"maxlen": 2},
        {"maxlen": 4, "padding": "post"},
        {"maxlen": 2, "truncating": "post"},
        {"maxlen": 5, "padding": "post", "truncating": "post", "value": 9},
        {"dtype": "float32", "value": -1.5},
    ],
)
def test_pad_sequences_matches_keras(keras_ref, kwargs):
    seqs = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9]]
    ours = keras.utils.pad_sequences(seqs, **kwargs)
    theirs = keras_ref.utils.pad_sequences(seqs, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding must be"):
        keras.utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="non-iterable 3 at index 1"):
        keras.utils.pad_sequences([[1], 3])


def test_to_categorical_normalize_split(keras_ref):
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]], np.float32)
    assert_close(keras.utils.normalize(x), keras_ref.utils.normalize(x))
    assert_close(
        keras.utils.to_categorical([0, 2, 1], 3), keras_ref.utils.to_categorical([0, 2, 1], 3)
    )
    left, right = keras.utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
    assert len(left[0]) == 8 and len(right[1]) == 2 and right[1][0] == 16
    with pytest.raises(ValueError, match="left_size"):
        keras.utils.split_dataset(np.arange(4), left_size=1.5)


# ----------------------------------------------------------------------------- legacy spellings
def test_legacy_spellings_warn_once_and_work():
    with pytest.warns(DeprecationWarning, match="keras.utils.to_categorical"):
        y = keras.utils.np_utils.to_categorical([1, 0])
    assert y.shape == (2, 2)
    with pytest.warns(DeprecationWarning, match=r"keras.Input\(shape=\(3,\)\)"):
        model = keras.Sequential([keras.layers.Dense(2, input_dim=3)])
    model.compile("sgd", "mse")
    with pytest.warns(DeprecationWarning, match="epochs="):
        history = model.fit(np.ones((4, 3)), np.ones((4, 2)), nb_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.raises(TypeError, match="epochz"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), epochz=2, verbose=0)


# ----------------------------------------------------------------------------- constraints
@pytest.mark.parametrize(
    "name, args",
    [("MaxNorm", (1.0,)), ("UnitNorm", ()), ("NonNeg", ()), ("MinMaxNorm", (0.5, 1.0, 0.5))],
)
def test_constraints_match_keras(keras_ref, name, args):
    w = np.array([[3.0, 0.1, -2.0], [4.0, 0.1, 0.5]], np.float32)
    ours = getattr(keras.constraints, name)(*args)(w)
    theirs = getattr(keras_ref.constraints, name)(*args)(keras_ref.ops.convert_to_tensor(w))
    assert_close(ours, _numpy(theirs), atol=1e-6)


def test_a_constraint_is_applied_after_each_step():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, kernel_constraint="non_neg")]
    )
    model.compile(keras.optimizers.SGD(1.0), "mse")
    model.fit(np.ones((4, 3)), -10 * np.ones((4, 2)), verbose=0)
    assert (model.layers[0].kernel.numpy() >= 0).all()


def test_backend_functions():
    assert keras.backend.floatx() == "float32" and keras.config.epsilon() == 1e-7
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"
    with pytest.raises(ValueError, match="float32"):
        keras.config.set_floatx("float16")


@pytest.fixture
def keras_ref(keras):
    """The real Keras 3 (the conftest's ``keras`` fixture), named apart from nerve.keras."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield keras


# ----------------------------------------------------------------------------- more of the surface
def test_timeseries_windows_follow_keras_arithmetic():
    data = np.arange(100)
    ds = keras.utils.timeseries_dataset_from_array(
        data, np.arange(100) * 10, sequence_length=10, sampling_rate=2, batch_size=8
    )
    x, y = next(iter(ds))
    assert x.shape == (8, 10) and x[0].tolist() == list(range(0, 20, 2))
    assert y[:2].tolist() == [0, 10]
    assert sum(len(b[0]) for b in ds) == 100 - 18
    strided = keras.utils.timeseries_dataset_from_array(
        data, None, sequence_length=5, sequence_stride=3, start_index=10, end_index=30
    )
    windows = np.concatenate(list(strided))
    assert windows[0].tolist() == [10, 11, 12, 13, 14] and windows[1][0] == 13
    assert windows[-1][-1] < 30
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    scaled = keras.utils.timeseries_dataset_from_array(
        data / 100.0, data / 100.0, sequence_length=10, batch_size=16
    )
    assert len(model.fit(scaled, epochs=1, verbose=0).history["loss"]) == 1
    with pytest.raises(ValueError, match="sequence_length must be >= 1"):
        keras.utils.timeseries_dataset_from_array(data, None, sequence_length=0)


def test_model_json_round_trip():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu")])
    clone = keras.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in clone.layers] == ["Dense"]
    assert clone.count_params() == model.count_params()
    with pytest.raises(ValueError, match="not valid JSON"):
        keras.models.model_from_json("{nope")


def test_aliases_of_the_door(keras_ref):
    assert keras.layers.Convolution2D is keras.layers.Conv2D
    assert keras.initializers.glorot_uniform is keras.initializers.GlorotUniform
    assert keras.utils.is_keras_tensor(keras.Input((2,)))
    x, y, sw = keras.utils.unpack_x_y_sample_weight((1, 2))
    assert (x, y, sw) == (1, 2, None)
    for name in ("Dense", "Conv2D", "LSTM", "Embedding", "BatchNormalization", "Dropout"):
        assert hasattr(keras.layers, name) and hasattr(keras_ref.layers, name)


def test_keras2_optimizer_arguments_warn_and_work():
    with pytest.warns(DeprecationWarning, match=r"Adam\(learning_rate=\.\.\.\)"):
        adam = keras.optimizers.Adam(lr=0.05)
    assert adam.learning_rate == pytest.approx(0.05)
    x, y = np.random.default_rng(3).normal(size=(16, 3)), np.ones((16, 1))
    trained = []
    for make in (
        lambda: keras.optimizers.SGD(lr=0.1, decay=0.5, momentum=0.9),
        lambda: keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.1, 1, 0.5),
            momentum=0.9,
        ),
    ):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        _set_random_weights(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            model.compile(make(), "mse")
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    for a, b in zip(*trained):
        assert_close(a, b)
    with pytest.raises(TypeError, match="unexpected argument"):
        keras.optimizers.SGD(learning_rat=0.1)


def test_compiling_again_replaces_the_compiled_metrics():
    """Fine-tuning compiles a model a second time: its metrics are the new ones, once (the
    first compile's tracker used to linger and report 0 accuracy)."""
    from nerve import keras

    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    y = (x[:, 0] > 0.5).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    for lr in (1e-2, 1e-3):
        model.compile(
            keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        history = model.fit(x, y, epochs=1, batch_size=64, verbose=0).history
        assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
        predicted = model.predict(x, verbose=0).argmax(axis=1)
        # one batch: fit's accuracy is that of the weights before the step
        assert history["accuracy"][0] > 0
    assert abs(model.evaluate(x, y, verbose=0)[1] - (predicted == y).mean()) < 1e-6
