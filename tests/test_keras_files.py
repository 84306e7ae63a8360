"""Keras's own files: .keras, .weights.h5 and legacy .h5, checked against Keras 3 itself.

Each model goes nerve -> file -> Keras 3 and Keras 3 -> file -> nerve with equal predictions;
the optimizer state survives a round trip so that training continues identically; files with
code are refused; damaged files raise NerveFileError.
"""

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("h5py")

import nerve
from nerve import layers, models, optimizers
from nerve.saving import NerveFileError, register_serializable

RNG = np.random.default_rng(0)


@register_serializable(package="KerasFilesTest")
class Scale(layers.Layer):
    """A custom layer registered on both sides: y = x * w (one weight per feature)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
        self.built = True

    def call(self, x):
        return x * self.w


def _keras_scale(keras):
    @keras.saving.register_keras_serializable(package="KerasFilesTest", name="Scale")
    class Scale(keras.layers.Layer):  # the same class name: Keras files name paths by it
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    return Scale


def _models(lib, keras=None):
    """The issue's five models, built with nerve's layers (lib=None) or Keras's."""
    L = layers if lib is None else lib.layers
    Seq = models.Sequential if lib is None else lib.Sequential
    Mod = models.Model if lib is None else lib.Model
    Inp = layers.Input if lib is None else lib.Input
    scale = Scale if lib is None else _keras_scale(lib)
    mlp = Seq([Inp((4,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    cnn = Seq(
        [
            Inp((8, 8, 1)),
            L.Conv2D(4, 3, activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Dropout(0.25),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )
    lstm = Seq([Inp((5,)), L.Embedding(20, 6), L.LSTM(7), L.Dense(1, activation="sigmoid")])
    a, b = Inp((4,), name="a"), Inp((3,), name="b")
    h = L.Dense(5, activation="relu")(a)
    s = L.Add()([h, L.Dense(5)(b)])
    s = L.Add()([s, L.Dense(5, activation="tanh")(s)])
    functional = Mod([a, b], L.Dense(1)(L.Concatenate()([s, h])))
    custom = Seq([Inp((4,)), L.Dense(3), scale(), L.Dense(2)])
    return {"mlp": mlp, "cnn": cnn, "lstm": lstm, "functional": functional, "custom": custom}


def _data(name):
    if name == "cnn":
        return RNG.normal(size=(6, 8, 8, 1)).astype(np.float32), RNG.integers(0, 3, 6)
    if name == "lstm":
        return RNG.integers(0, 20, (6, 5)), RNG.integers(0, 2, (6, 1)).astype(np.float32)
    if name == "functional":
        x = [RNG.normal(size=(6, 4)).astype(np.float32), RNG.normal(size=(6, 3)).astype(np.float32)]
        return x, RNG.normal(size=(6, 1)).astype(np.float32)
    if name == "custom":
        return RNG.normal(size=(6, 4)).astype(np.float32), RNG.normal(size=(6, 2)).astype(
            np.float32
        )
    return RNG.normal(size=(6, 4)).astype(np.float32), RNG.integers(0, 3, 6)


LOSSES = {
    "mlp": "sparse_categorical_crossentropy",
    "cnn": "sparse_categorical_crossentropy",
    "lstm": "binary_crossentropy",
    "functional": "mse",
    "custom": "mse",
}
NAMES = list(LOSSES)


def _perturb(model):
    # Non-trivial weights everywhere (BatchNormalization statistics too).
    model.set_weights(
        [w + RNG.normal(size=w.shape).astype(w.dtype) * 0.1 for w in model.get_weights()]
    )


@pytest.mark.parametrize("name", NAMES)
def test_nerve_to_keras_predicts_the_same(name, keras, tmp_path):
    model = _models(None)[name]
    _perturb(model)
    metrics = ["accuracy"] if name in ("mlp", "lstm") else None
    model.compile(optimizer=optimizers.Adam(1e-3), loss=LOSSES[name], metrics=metrics)
    x, y = _data(name)
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    _keras_scale(keras)
    theirs = keras.models.load_model(path)
    ours = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), ours, atol=1e-6)
    # The optimizer state arrived: Keras's Adam holds nerve's iterations and moments.
    assert int(theirs.optimizer.iterations.numpy()) == model.optimizer.iterations == 2
    mine = model.optimizer
    first = mine.slots[[id(v) for v in mine.variables_].index(id(model.trainable_weights[0]))]
    momentum = np.asarray(theirs.optimizer.variables[2].numpy())
    np.testing.assert_allclose(momentum, first["m"], atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_keras_to_nerve_predicts_the_same(name, keras, tmp_path):
    model = _models(keras)[name]
    model.set_weights(
        [w + RNG.normal(size=w.shape).astype(w.dtype) * 0.1 for w in model.get_weights()]
    )
    metrics = ["accuracy"] if name in ("mlp", "lstm") else None
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=LOSSES[name], metrics=metrics)
    x, y = _data(name)
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    ours = nerve.keras.models.load_model(path)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), np.asarray(model.predict(x, verbose=0)), atol=1e-6
    )
    assert ours.optimizer.iterations == 2
    weights = str(tmp_path / f"{name}.weights.h5")
    model.save_weights(weights)
    fresh = _models(None)[name]
    fresh.load_weights(weights)
    np.testing.assert_allclose(
        fresh.predict(x, verbose=0), np.asarray(model.predict(x, verbose=0)), atol=1e-6
    )


def _train(model, x, y, steps):
    nerve.manual_seed(1)  # the same dropout masks for both runs
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model.get_weights()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_optimizer_state_round_trip_continues_identically(suffix, tmp_path):
    nerve.manual_seed(0)
    model = _models(None)["cnn"]
    model.compile(optimizer=optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    x, y = _data("cnn")
    _train(model, x, y, 3)
    path = str(tmp_path / f"m{suffix}")
    model.save(path)
    again = nerve.load_model(path)
    assert again.optimizer.iterations == 3
    expected = _train(model, x, y, 5)
    got = _train(again, x, y, 5)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_keras_optimizer_state_continues_in_nerve(keras, tmp_path):
    model = _models(keras)["mlp"]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    x, y = _data("mlp")
    for _ in range(3):
        model.train_on_batch(x, y)
    path = str(tmp_path / "m.keras")
    model.save(path)
    ours = nerve.load_model(path)
    for _ in range(5):
        model.train_on_batch(x, y)
        ours.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)


def test_model_checkpoint_writes_keras_files(keras, tmp_path):
    from nerve.callbacks import ModelCheckpoint

    model = _models(None)["mlp"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data("mlp")
    files = [str(tmp_path / "best.keras"), str(tmp_path / "best_model.h5")]
    callbacks = [ModelCheckpoint(f) for f in files]
    callbacks.append(ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True))
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=callbacks)
    for f in files:
        np.testing.assert_allclose(
            np.asarray(keras.models.load_model(f).predict(x, verbose=0)),
            model.predict(x, verbose=0),
            atol=1e-6,
        )
    theirs = _models(keras)["mlp"]
    theirs.load_weights(str(tmp_path / "w.weights.h5"))
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), atol=1e-6
    )


# Constructor arguments for the layers that need some (the rest take their defaults).
LAYER_ARGS = {
    "Activation": ("relu",),
    "CategoryEncoding": (4,),
    "CenterCrop": (2, 2),
    "Conv1D": (2, 3),
    "Conv1DTranspose": (2, 3),
    "Conv2D": (2, 3),
    "Conv2DTranspose": (2, 3),
    "Dense": (3,),
    "DepthwiseConv2D": (3,),
    "Dot": (1,),
    "Dropout": (0.5,),
    "AlphaDropout": (0.5,),
    "GaussianDropout": (0.5,),
    "GaussianNoise": (0.5,),
    "Embedding": (5, 3),
    "GRU": (3,),
    "LSTM": (3,),
    "SimpleRNN": (3,),
    "MultiHeadAttention": (2, 3),
    "Permute": ((2, 1),),
    "RandomBrightness": (0.2,),
    "RandomContrast": (0.2,),
    "RandomCrop": (2, 2),
    "RandomRotation": (0.2,),
    "RandomTranslation": (0.2, 0.2),
    "RandomZoom": (0.2,),
    "RepeatVector": (2,),
    "Rescaling": (0.5,),
    "Reshape": ((2, 2),),
    "Resizing": (2, 2),
    "SeparableConv2D": (2, 3),
    "SpatialDropout1D": (0.5,),
    "SpatialDropout2D": (0.5,),
    "SpatialDropout3D": (0.5,),
    "Discretization": (),
}


def test_every_keras_layer_config_crosses_both_ways(keras):
    """Each nerve layer Keras also has: its config, in Keras's form, builds Keras's layer; and
    Keras's config of that layer builds nerve's (config translation, both directions)."""
    from nerve.saving import keras_config, model_config

    for name in sorted(keras_config.KERAS_LAYERS - {"InputLayer"}):
        cls = getattr(layers, name)
        if name == "Bidirectional":
            layer = cls(layers.LSTM(3))
        elif name == "Discretization":
            layer = cls(bin_boundaries=[0.0, 1.0])
        else:
            layer = cls(*LAYER_ARGS.get(name, ()))
        spec = json.loads(json.dumps(keras_config.layer_to_keras(layer)))
        theirs = keras.layers.deserialize(spec)
        assert type(theirs).__name__ == name
        for key, value in spec["config"].items():
            if isinstance(value, (int, float, str)) and key not in ("dtype", "seed"):
                got = theirs.get_config().get(key, value)
                same = got == value or list(np.ravel(got)) == list(np.ravel(value))
                # Keras writes a symmetric factor 0.2 as (-0.2, 0.2)
                assert same or list(np.ravel(got)) == [-value, value], (name, key, got, value)
        back = keras_config.layer_from_keras(
            json.loads(json.dumps(keras.layers.serialize(theirs))), None
        )
        assert type(model_config.deserialize_layer(back)).__name__ == name


def test_every_loss_and_metric_is_named_as_keras_names_it(keras):
    from nerve import losses, metrics
    from nerve.saving import keras_compile

    for name, cls in sorted(losses._CLASSES.items()):
        if name != "LossFunctionWrapper":
            spec = json.loads(json.dumps(keras_compile._loss(cls())))
            assert type(keras.losses.deserialize(spec)).__name__ == name
    for fn in set(losses._FUNCTIONS.values()):
        assert callable(keras.losses.get(keras_compile._loss(fn)))
    for name, cls in sorted(metrics.CLASSES.items()):
        try:
            metric = cls()
        except TypeError:
            continue  # needs arguments (e.g. thresholds): covered by its config test
        if name in keras_compile.NOT_KERAS_METRICS:
            with pytest.raises(keras_compile.NotKerasError):
                keras_compile._metric(metric, "")
            continue
        spec = keras_compile._metric(metric, "")
        if isinstance(spec, str):
            assert keras.metrics.get(spec) is not None
        else:
            assert type(keras.metrics.deserialize(json.loads(json.dumps(spec)))).__name__ == name


OPTIMIZERS = [
    ("Adam", {"amsgrad": True}),
    ("AdamW", {}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("SGD", {"momentum": 0.9}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}),
    ("Lion", {}),
]


@pytest.mark.parametrize("name,options", OPTIMIZERS)
def test_every_optimizer_state_reaches_keras(name, options, keras, tmp_path):
    from nerve.saving import keras_h5

    model = _models(None)["mlp"]
    model.compile(optimizer=getattr(optimizers, name)(learning_rate=0.01, **options), loss="mse")
    x = RNG.normal(size=(6, 4)).astype(np.float32)
    y = RNG.normal(size=(6, 3)).astype(np.float32)
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = keras.models.load_model(path)
    assert type(theirs.optimizer).__name__ == name
    expected = keras_h5.optimizer_arrays(model.optimizer, model.trainable_weights)
    got = [np.asarray(v.numpy()) for v in theirs.optimizer.variables]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    again = nerve.load_model(path)
    assert type(again.optimizer).__name__ == name
    assert again.optimizer.iterations == model.optimizer.iterations


def test_multi_head_attention_weights_cross_both_ways(keras, tmp_path):
    a = layers.Input(shape=(5, 8))
    out = layers.MultiHeadAttention(2, 4)(a, a)
    ours = models.Model(a, layers.GlobalAveragePooling1D()(out))
    _perturb(ours)
    x = RNG.normal(size=(3, 5, 8)).astype(np.float32)
    path = str(tmp_path / "mha.keras")
    ours.save(path)
    theirs = keras.models.load_model(path)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), ours.predict(x, verbose=0), atol=1e-6
    )
    weights = str(tmp_path / "mha.weights.h5")
    theirs.set_weights([w * 1.5 for w in theirs.get_weights()])
    theirs.save_weights(weights)
    ours.load_weights(weights)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), atol=1e-6
    )


def test_sequential_without_input_and_wrong_names(keras, tmp_path):
    model = models.Sequential([layers.Dense(3, activation="relu"), layers.Dense(2)])
    x = RNG.normal(size=(4, 5)).astype(np.float32)
    expected = model.predict(x, verbose=0)  # built by its first call
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), expected, atol=1e-6)
    np.testing.assert_allclose(nerve.load_model(path).predict(x, verbose=0), expected, atol=1e-6)
    model.save_weights(str(tmp_path / "w.weights.h5"))
    with pytest.raises(NerveFileError, match="holds weights only"):
        nerve.load_model(str(tmp_path / "w.weights.h5"))
    with pytest.raises(ValueError, match="names a weights file"):
        model.save(str(tmp_path / "x.weights.h5"))
    with pytest.raises(ValueError, match=r"'\.weights\.h5' \(Keras's\)"):
        model.save_weights(str(tmp_path / "x.h5"))


def test_keras_legacy_h5_and_untrained_compile_are_read(keras, tmp_path):
    model = _models(keras)["cnn"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data("cnn")
    untrained = str(tmp_path / "untrained.keras")
    model.save(untrained)  # the optimizer is not built yet: no slots in the file
    ours = nerve.load_model(untrained)
    assert ours.optimizer.iterations == 0
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    legacy = str(tmp_path / "m.h5")
    model.save(legacy)  # Keras 3 writes the legacy format, with a warning
    ours = nerve.load_model(legacy)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), np.asarray(model.predict(x, verbose=0)), atol=1e-6
    )
    assert ours.optimizer.iterations == 2


def test_lambda_is_refused_even_without_safe_mode(keras, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2)])
    path = str(tmp_path / "lambda.keras")
    model.save(path)
    with pytest.raises(NerveFileError, match="safe_mode"):
        nerve.load_model(path)
    with pytest.raises(NerveFileError, match="never deserializes or runs code"):
        nerve.load_model(path, safe_mode=False)


def test_nerve_lambda_cannot_be_saved_to_keras(tmp_path):
    model = models.Sequential([layers.Input((3,)), layers.Lambda(lambda t: t * 2)])
    with pytest.raises(TypeError, match="Lambda layers hold Python code"):
        model.save(str(tmp_path / "x.keras"))
    assert not (tmp_path / "x.keras").exists()


def test_models_without_a_keras_config_are_refused_clearly(tmp_path):
    class Net(models.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="only Sequential and functional models"):
        net.save(str(tmp_path / "net.keras"))
    net.save_weights(str(tmp_path / "net.weights.h5"))  # its weights still go to Keras's file
    wrapped = models.Model.from_module(nerve.nn.Linear(3, 2))
    with pytest.raises(TypeError, match="Model.from_module"):
        wrapped.save(str(tmp_path / "wrapped.h5"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.weights.h5"]


def test_legacy_keras2_h5_is_read(tmp_path):
    """A Keras 2 full-model .h5, written here in Keras 2's layout."""
    import h5py

    kernel = RNG.normal(size=(4, 3)).astype(np.float32)
    bias = RNG.normal(size=(3,)).astype(np.float32)
    gamma, beta = np.full(3, 1.5, np.float32), np.full(3, 0.1, np.float32)
    mean, var = np.full(3, 0.2, np.float32), np.full(3, 2.0, np.float32)
    init = {"class_name": "GlorotUniform", "config": {"seed": None}}
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {
                        "batch_input_shape": [None, 4],
                        "dtype": "float32",
                        "sparse": False,
                        "ragged": False,
                        "name": "dense_input",
                    },
                },
                {
                    "class_name": "Dense",
                    "config": {
                        "name": "dense",
                        "trainable": True,
                        "batch_input_shape": [None, 4],
                        "dtype": "float32",
                        "units": 3,
                        "activation": "relu",
                        "use_bias": True,
                        "kernel_initializer": init,
                        "bias_initializer": {"class_name": "Zeros", "config": {}},
                        "kernel_regularizer": None,
                        "bias_regularizer": None,
                        "activity_regularizer": None,
                        "kernel_constraint": None,
                        "bias_constraint": None,
                    },
                },
                {
                    "class_name": "BatchNormalization",
                    "config": {"name": "batch_normalization", "axis": [1], "epsilon": 0.001},
                },
            ],
        },
    }
    path = str(tmp_path / "keras2.h5")
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"dense", b"batch_normalization"]
        d = group.create_group("dense")
        d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        d["dense/kernel:0"], d["dense/bias:0"] = kernel, bias
        bn = group.create_group("batch_normalization")
        names = ["gamma", "beta", "moving_mean", "moving_variance"]
        bn.attrs["weight_names"] = [f"batch_normalization/{n}:0".encode() for n in names]
        for n, v in zip(names, (gamma, beta, mean, var)):
            bn[f"batch_normalization/{n}:0"] = v
    model = nerve.load_model(path)
    x = RNG.normal(size=(5, 4)).astype(np.float32)
    h = np.maximum(x @ kernel + bias, 0)
    expected = gamma * (h - mean) / np.sqrt(var + 0.001) + beta
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_legacy_keras2_functional_h5_is_read(tmp_path):
    """Keras 2's functional config: inbound_nodes as [[layer, node, tensor, kwargs]] lists."""
    import h5py

    w1, b1 = RNG.normal(size=(3, 4)).astype(np.float32), np.zeros(4, np.float32)
    w2, b2 = RNG.normal(size=(3, 4)).astype(np.float32), np.ones(4, np.float32)

    def dense(name, source):
        return {
            "class_name": "Dense",
            "config": {"name": name, "units": 4, "activation": "linear", "dtype": "float32"},
            "name": name,
            "inbound_nodes": [[[source, 0, 0, {}]]],
        }

    config = {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 3], "dtype": "float32", "name": "x"},
                    "name": "x",
                    "inbound_nodes": [],
                },
                dense("d1", "x"),
                dense("d2", "x"),
                {
                    "class_name": "Add",
                    "config": {"name": "add"},
                    "name": "add",
                    "inbound_nodes": [[["d1", 0, 0, {}], ["d2", 0, 0, {}]]],
                },
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["add", 0, 0]],
        },
    }
    path = str(tmp_path / "functional.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"x", b"d1", b"d2", b"add"]
        for name in ("x", "add"):
            group.create_group(name).attrs["weight_names"] = np.array([], np.float64)
        for name, (k, b) in (("d1", (w1, b1)), ("d2", (w2, b2))):
            g = group.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g[f"{name}/kernel:0"], g[f"{name}/bias:0"] = k, b
    model = nerve.load_model(path)
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ w1 + b1 + x @ w2 + b2, atol=1e-5)


def test_shape_mismatch_is_refused_before_assigning(tmp_path):
    model = _models(None)["mlp"]
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    other = models.Sequential([layers.Input((4,)), layers.Dense(9), layers.Dense(3)])
    before = other.get_weights()
    with pytest.raises(NerveFileError, match="shape"):
        other.load_weights(path)
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_edited_config_is_refused(tmp_path):
    model = _models(None)["mlp"]
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["config.json"] = members["config.json"].replace(b'"relu"', b'"tanh"')
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(NerveFileError, match="SHA-256"):
        nerve.load_model(str(path))


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _fuzz_model():
    return models.Sequential([layers.Input((3,)), layers.Dense(2), layers.BatchNormalization()])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kfuzz")
    nerve.manual_seed(0)
    model = _fuzz_model()
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    files = {}
    for suffix in (".keras", ".h5", ".weights.h5"):
        path = folder / f"m{suffix}"
        (model.save_weights if suffix == ".weights.h5" else model.save)(str(path))
        files[suffix] = path.read_bytes()
    x = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    return files, x, model.predict(x, verbose=0)


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_damaged_keras_file_loads_as_saved_or_is_refused(suffix, saved, tmp_path, data):
    """Flipped bits, overwritten bytes, truncation: the file loads as saved or raises
    NerveFileError (never another exception, never a silently different model)."""
    files, x, expected = saved
    out = bytearray(files[suffix])
    kind = data.draw(st.sampled_from(["flip", "byte", "cut"]))
    at = data.draw(st.integers(0, len(out) - 1))
    if kind == "cut":
        del out[at:]
    elif kind == "flip":
        out[at] ^= 1 << data.draw(st.integers(0, 7))
    else:
        out[at] = data.draw(st.integers(0, 255))
    path = tmp_path / f"d{suffix}"
    path.write_bytes(bytes(out))
    try:
        if suffix == ".weights.h5":
            model = _fuzz_model()
            model.load_weights(str(path))
        else:
            model = nerve.load_model(str(path))
    except NerveFileError:
        return
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


def test_missing_h5py_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    with pytest.raises(ImportError, match=r"nerve\[keras-files\]"):
        _fuzz_model().save(str(tmp_path / "m.keras"))
