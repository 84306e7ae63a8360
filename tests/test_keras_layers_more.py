"""The Keras layers tutorials use beyond the core set: upsampling, padding, cropping, resizing,
noise and spatial dropout, masking, unit normalization, 3-d global pooling, the functional merge
shortcuts, and the reshaping layers, each against Keras 3 itself (same input, same output, same
config keys), plus gradients, saving and ONNX export."""

import json

import numpy as np
import pytest

import nerve
from nerve import layers, models
from nerve.layers.base import get_mask
from nerve.testing import gradcheck

RNG = np.random.default_rng(0)


def _np(t):
    return np.asarray(t.detach().cpu()) if hasattr(t, "detach") else np.asarray(t)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _same(ours, ref, x, atol=1e-5):
    got = ours(x)
    want = _np(ref(x))
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=atol)
    return got


# Each case: (class name, constructor kwargs, input shape); the same class in both frameworks.
SHAPE_CASES = [
    ("UpSampling1D", {}, (2, 4, 3)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": 2, "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (2, 5, 4, 3)),
    ("UpSampling2D", {"size": 3, "interpolation": "bilinear"}, (1, 2, 3, 2)),
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, (2, 5, 4, 3)),
    (
        "UpSampling2D",
        {"size": 2, "interpolation": "bilinear", "data_format": "channels_first"},
        (2, 3, 4, 5),
    ),
    ("UpSampling3D", {"size": (1, 2, 3)}, (2, 2, 3, 2, 2)),
    ("ZeroPadding1D", {}, (2, 4, 3)),
    ("ZeroPadding1D", {"padding": (2, 1)}, (2, 4, 3)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": 2}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 3))}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 3)), "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (1, 2, 3, 2, 2)),
    ("Cropping1D", {}, (2, 5, 3)),
    ("Cropping1D", {"cropping": (2, 0)}, (2, 5, 3)),
    ("Cropping2D", {}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": 1}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": (1, 2)}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1)), "data_format": "channels_first"}, (2, 2, 5, 6)),
    ("Cropping3D", {"cropping": ((1, 0), (0, 1), (1, 1))}, (1, 3, 4, 5, 2)),
    ("Resizing", {"height": 3, "width": 5}, (2, 7, 9, 3)),
    ("Resizing", {"height": 11, "width": 6}, (2, 4, 5, 3)),
    ("Resizing", {"height": 3, "width": 5, "interpolation": "nearest"}, (2, 7, 9, 3)),
    ("Resizing", {"height": 9, "width": 13, "interpolation": "nearest"}, (2, 4, 5, 3)),
    ("Resizing", {"height": 6, "width": 4, "interpolation": "bicubic"}, (2, 7, 9, 3)),
    ("Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (2, 7, 10, 3)),
    (
        "Resizing",
        {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5},
        (2, 5, 10, 3),
    ),
    ("Resizing", {"height": 3, "width": 4, "data_format": "channels_first"}, (2, 3, 7, 9)),
    ("Resizing", {"height": 3, "width": 4}, (7, 9, 3)),  # one image, unbatched
    ("Resizing", {"height": 3, "width": 5, "antialias": True}, (2, 11, 9, 3)),
    ("Resizing", {"height": 12, "width": 4, "antialias": True}, (2, 5, 13, 3)),
    (
        "Resizing",
        {"height": 3, "width": 7, "interpolation": "bicubic", "antialias": True},
        (2, 10, 8, 3),
    ),
    (
        "Resizing",
        {"height": 4, "width": 3, "interpolation": "nearest", "antialias": True},
        (2, 9, 8, 1),
    ),
    ("CenterCrop", {"height": 3, "width": 4}, (2, 7, 9, 3)),
    ("CenterCrop", {"height": 4, "width": 4}, (2, 7, 8, 1)),
    ("CenterCrop", {"height": 6, "width": 8}, (2, 4, 5, 3)),  # smaller: crop + resize
    ("CenterCrop", {"height": 3, "width": 4, "data_format": "channels_first"}, (2, 3, 7, 9)),
    ("GlobalMaxPooling3D", {}, (2, 3, 4, 5, 2)),
    ("GlobalAveragePooling3D", {"keepdims": True}, (2, 3, 4, 5, 2)),
    ("GlobalAveragePooling3D", {"data_format": "channels_first"}, (2, 3, 4, 5, 2)),
    ("GlobalMaxPooling1D", {"keepdims": True}, (2, 4, 3)),
    ("GlobalAveragePooling2D", {"keepdims": True}, (2, 4, 3, 2)),
    ("UnitNormalization", {}, (3, 5)),
    ("UnitNormalization", {"axis": [1, 2]}, (3, 4, 5)),
    ("ActivityRegularization", {"l1": 0.01, "l2": 0.1}, (3, 4)),
    ("SpatialDropout1D", {"rate": 0.3}, (2, 4, 3)),
    ("SpatialDropout2D", {"rate": 0.3}, (2, 4, 3, 2)),
    ("GaussianNoise", {"stddev": 0.3}, (2, 4)),
    ("GaussianDropout", {"rate": 0.3}, (2, 4)),
    ("AlphaDropout", {"rate": 0.3}, (2, 4)),
    ("Masking", {"mask_value": 0.5}, (2, 4, 3)),
    ("RepeatVector", {"n": 3}, (2, 4)),
    ("Permute", {"dims": (2, 1)}, (2, 4, 3)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 4, 3, 5)),
    ("Reshape", {"target_shape": (-1, 2)}, (2, 4, 3)),
    ("Reshape", {"target_shape": (3, 4)}, (2, 12)),
    ("Flatten", {}, (2, 4, 3)),
    ("Flatten", {"data_format": "channels_first"}, (2, 4, 3, 2)),
    ("Identity", {}, (2, 3)),
]


@pytest.mark.parametrize("name, kwargs, shape", SHAPE_CASES, ids=lambda v: str(v))
def test_layer_matches_keras(keras, name, kwargs, shape):
    """Inference output, dtype and shape as Keras's on the same input; training layers are the
    identity when not training."""
    x = _rand(*shape)
    ours = getattr(layers, name)(**kwargs)
    ref = getattr(keras.layers, name)(**kwargs)
    _same(ours, ref, x)


@pytest.mark.parametrize("name, kwargs, shape", SHAPE_CASES, ids=lambda v: str(v))
def test_config_keys_match_keras_and_round_trip(keras, name, kwargs, shape):
    ours = getattr(layers, name)(**kwargs)
    ref = getattr(keras.layers, name)(**kwargs)
    ours(_rand(*shape))
    config = json.loads(json.dumps(ours.get_config()))
    keras_keys = set(ref.get_config()) - {"dtype"}
    assert keras_keys <= set(config), keras_keys - set(config)
    # Each value of Keras's config equals ours (tuples as lists).
    for key in keras_keys - {"name", "trainable"}:
        want = json.loads(json.dumps(ref.get_config()[key]))
        assert config[key] == want, (key, config[key], want)
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    ones = np.ones(shape, np.float32)
    np.testing.assert_allclose(np.asarray(clone(ones)), np.asarray(ours(ones)))


def test_every_new_layer_class_round_trips_its_config():
    """Each class these modules add: JSON config -> from_config -> the same config, and it is
    in the saving registry."""
    import inspect

    from nerve.layers import (
        encoding,
        masking,
        preprocessing,
        regularization,
        reshaping,
        resizing,
        unit_normalization,
    )
    from nerve.saving.registry import BUILTIN_LAYERS

    samples = {
        "SpatialDropout1D": {"rate": 0.1},
        "SpatialDropout2D": {"rate": 0.1, "data_format": "channels_first"},
        "SpatialDropout3D": {"rate": 0.1},
        "GaussianNoise": {"stddev": 0.1, "seed": 3},
        "GaussianDropout": {"rate": 0.1},
        "AlphaDropout": {"rate": 0.1, "noise_shape": (None, 1)},
        "Resizing": {"height": 2, "width": 3, "antialias": True},
        "CenterCrop": {"height": 2, "width": 3},
        "RandomContrast": {"factor": (0.1, 0.3), "value_range": (0, 1)},
        "RandomBrightness": {"factor": 0.2},
        "RandomCrop": {"height": 2, "width": 2, "seed": 1},
        "CategoryEncoding": {"num_tokens": 4, "output_mode": "count"},
        "Discretization": {"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"},
    }
    modules = (encoding, masking, regularization, reshaping, resizing, unit_normalization)
    names = {n for m in modules for n in m.__all__} | {"RandomContrast", "RandomBrightness"}
    names.add("RandomCrop")
    for name in sorted(names):
        cls = getattr(layers, name)
        assert BUILTIN_LAYERS[name] is cls
        layer = cls(**samples.get(name, {}))
        config = json.loads(json.dumps(layer.get_config()))
        clone = cls.from_config(config)
        assert clone.get_config() == config, name
        params = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
        assert params <= set(config), (name, params - set(config))
    assert preprocessing.RandomCrop is layers.RandomCrop


def test_resizing_integer_images_match_keras(keras):
    x = RNG.integers(0, 256, (2, 7, 9, 3)).astype(np.uint8)
    for interpolation in ("bilinear", "nearest"):
        ours = layers.Resizing(4, 5, interpolation=interpolation)(x)
        ref = _np(keras.layers.Resizing(4, 5, interpolation=interpolation)(x))
        assert ours.dtype == np.uint8
        # float32 sums in another order can land on the other side of a .5: one unit at most
        assert np.abs(ours._data.astype(int) - ref.astype(int)).max() <= 1
    got = layers.CenterCrop(3, 3)(x)
    np.testing.assert_array_equal(got._data, _np(keras.layers.CenterCrop(3, 3)(x)))
    assert got.dtype == np.float32


def test_resize_is_differentiable():
    def up(x):
        return layers.UpSampling2D((2, 3), interpolation="bilinear")(x)

    assert gradcheck(up, np.random.default_rng(1).standard_normal((1, 3, 2, 2)))
    for interpolation in ("bicubic", "nearest", "bilinear"):

        def resize(x, interpolation=interpolation):
            return layers.Resizing(4, 3, interpolation=interpolation)(x)

        assert gradcheck(resize, np.random.default_rng(2).standard_normal((1, 5, 2, 1)))
    assert gradcheck(lambda x: layers.UpSampling3D(2)(x), np.ones((1, 2, 1, 2, 1)))
    assert gradcheck(lambda x: layers.ZeroPadding2D(((1, 0), (0, 2)))(x), np.ones((1, 2, 2, 1)))
    assert gradcheck(lambda x: layers.Cropping2D(((1, 0), (0, 1)))(x), np.ones((1, 3, 3, 1)))
    assert gradcheck(lambda x: layers.UnitNormalization()(x), _rand(2, 3).astype(np.float64))


def test_upsampling_bilinear_gradient_matches_keras(keras):
    import torch

    x = _rand(2, 3, 4, 2)
    g = _rand(2, 6, 12, 2)
    xt = torch.tensor(x, requires_grad=True)
    ref = keras.layers.UpSampling2D((2, 3), interpolation="bilinear")
    (ref(xt) * torch.tensor(g)).sum().backward()
    xn = nerve.tensor(x, requires_grad=True)
    (layers.UpSampling2D((2, 3), interpolation="bilinear")(xn) * nerve.tensor(g)).sum().backward()
    np.testing.assert_allclose(xn.grad._data, xt.grad.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- color, crop
@pytest.mark.parametrize(
    "name, kwargs, shape",
    [
        # (lower, upper) pairs that pin the random draw, so both frameworks agree exactly
        ("RandomContrast", {"factor": (-0.3, 0.3)}, (2, 5, 6, 3)),
        ("RandomContrast", {"factor": (-0.6, 0.6), "value_range": (0, 1)}, (2, 5, 6, 3)),
        ("RandomBrightness", {"factor": (0.2, 0.2)}, (2, 5, 6, 3)),
        ("RandomBrightness", {"factor": (-0.4, -0.4), "value_range": (0, 1)}, (5, 6, 3)),
        ("RandomCrop", {"height": 4, "width": 4}, (2, 4, 9, 3)),  # not larger: crop + resize
        ("RandomCrop", {"height": 6, "width": 8}, (2, 4, 5, 3)),  # smaller: resize
    ],
    ids=str,
)
def test_augmentation_matches_keras_when_the_draw_is_pinned(keras, name, kwargs, shape):
    x = RNG.random(shape).astype(np.float32) * (1 if "value_range" in kwargs else 255)
    ours = getattr(layers, name)(**kwargs)
    ref = getattr(keras.layers, name)(**kwargs)
    got = ours(x, training=True)
    want = _np(ref(x, training=True))
    assert got.shape == want.shape
    np.testing.assert_allclose(got._data, want, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(ours(x, training=False)._data, _np(ref(x, training=False)))
    keras_keys = set(ref.get_config()) - {"dtype"}
    assert keras_keys <= set(ours.get_config())


def test_random_crop_and_color_draws():
    nerve.manual_seed(0)
    x = RNG.random((3, 7, 9, 2)).astype(np.float32)
    crop = layers.RandomCrop(4, 5)(x, training=True)._data
    found = [
        (i, j)
        for i in range(4)
        for j in range(5)
        if np.array_equal(x[:, i : i + 4, j : j + 5], crop)
    ]
    assert len(found) == 1  # one window, the same for the whole batch (Keras's rule)
    y = layers.RandomContrast(0.5, value_range=(0, 1), seed=3)(x, training=True)._data
    mean = x.mean(axis=(1, 2), keepdims=True)
    for dx, dy, inside in zip(x - mean, y - mean, (y > 0) & (y < 1)):
        factor = (dx[inside] @ dy[inside]) / (dx[inside] @ dx[inside])  # one per image
        assert 1.0 <= factor <= 1.5  # Keras's single-number factor only raises contrast
        np.testing.assert_allclose(dy[inside], factor * dx[inside], atol=1e-5)
    z = layers.RandomBrightness(0.3, value_range=(0, 1))(x, training=True)._data
    shift = z - x
    inside = (z > 0) & (z < 1)
    assert all(np.ptp(s[m]) < 1e-6 and abs(s[m][0]) <= 0.3 for s, m in zip(shift, inside))
    with pytest.raises(ValueError, match="RandomContrast: factor"):
        layers.RandomContrast(1.5)
    with pytest.raises(ValueError, match="RandomBrightness: value_range"):
        layers.RandomBrightness(0.1, value_range=(0, 1, 2))
    with pytest.raises(ValueError, match="RandomCrop: height"):
        layers.RandomCrop(0, 2)


# ----------------------------------------------------------------------------- encoding
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count", "binary"])
@pytest.mark.parametrize("shape", [(4, 2), (5,), (3, 1), (2, 3, 4), ()], ids=str)
def test_category_encoding_matches_keras(keras, mode, shape):
    ids = np.asarray(RNG.integers(0, 5, shape))
    got = layers.CategoryEncoding(5, output_mode=mode)(ids)
    want = _np(keras.layers.CategoryEncoding(5, output_mode=mode)(ids))
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got._data, want)


def test_category_encoding_count_weights_and_errors(keras):
    ids, w = RNG.integers(0, 5, (3, 4)), RNG.random((3, 4)).astype(np.float32)
    got = layers.CategoryEncoding(5, "count")(ids, count_weights=w)
    want = _np(keras.layers.CategoryEncoding(5, "count")(ids, count_weights=w))
    np.testing.assert_allclose(got._data, want, rtol=1e-6)
    with pytest.raises(ValueError, match="count_weights is only used with output_mode='count'"):
        layers.CategoryEncoding(5)(ids, count_weights=w)
    with pytest.raises(ValueError, match=r"id 7 is out of range for num_tokens=5"):
        layers.CategoryEncoding(5)([[1, 7]])
    with pytest.raises(ValueError, match="CategoryEncoding: num_tokens"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="CategoryEncoding: output_mode"):
        layers.CategoryEncoding(3, output_mode="tf_idf")


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(keras, mode):
    bounds = [-1.0, 0.0, 0.5, 2.0]
    x = RNG.standard_normal((6, 3)).astype(np.float32)
    x[0, :2] = [0.0, 0.5]  # on a boundary: the upper bucket
    got = layers.Discretization(bin_boundaries=bounds, output_mode=mode)(x)
    want = _np(keras.layers.Discretization(bin_boundaries=bounds, output_mode=mode)(x))
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got._data, want)


def test_discretization_adapt_learns_keras_boundaries(keras):
    data = (RNG.standard_normal((900, 2)) * 3 + 1).astype(np.float32)
    for num_bins, epsilon in ((4, 0.01), (10, 0.05)):
        ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ours.adapt([data[:400], (data[400:], None)])  # batches, (x, y) pairs too
        ref = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ref.reset_state()  # Keras's adapt wants TensorFlow; its update_state does not
        ref.update_state(data[:400])
        ref.update_state(data[400:])
        ref.finalize_state()
        assert len(ours.bin_boundaries) == num_bins - 1
        np.testing.assert_allclose(ours.bin_boundaries, ref.bin_boundaries, rtol=1e-6)
        config = json.loads(json.dumps(ours.get_config()))
        clone = layers.Discretization.from_config(config)
        np.testing.assert_array_equal(clone(data[:7])._data, ours(data[:7])._data)
    with pytest.raises(ValueError, match="has no boundaries yet"):
        layers.Discretization(num_bins=3)(data)
    with pytest.raises(ValueError, match="give bin_boundaries or num_bins, not both"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="was given bin_boundaries"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(data)


def test_encoding_layers_in_a_functional_model(tmp_path):
    ids = layers.Input((2,), dtype="int64")
    values = layers.Input((3,))
    bucketed = layers.Discretization(bin_boundaries=[0.25, 0.5], output_mode="multi_hot")(values)
    encoded = layers.CategoryEncoding(6, output_mode="multi_hot")(ids)
    out = layers.Dense(1)(layers.concatenate([encoded, bucketed]))
    model = models.Model([ids, values], out)
    model.compile("sgd", "mse")
    xs = [RNG.integers(0, 6, (8, 2)), RNG.random((8, 3)).astype(np.float32)]
    model.fit(xs, np.zeros((8, 1), np.float32), epochs=1, verbose=0)
    path = str(tmp_path / "m.nerve")
    model.save(path)
    np.testing.assert_allclose(
        nerve.load_model(path).predict(xs, verbose=0), model.predict(xs, verbose=0), rtol=1e-6
    )


# ----------------------------------------------------------------------------- training noise
def test_spatial_dropout_drops_whole_channels():
    nerve.manual_seed(0)
    x = nerve.ones(64, 5, 6, 8)
    y = layers.SpatialDropout2D(0.5)(x, training=True)._data
    per_channel = y.reshape(64, 30, 8)
    assert ((per_channel == 0).all(axis=1) | (per_channel == 2).all(axis=1)).all()
    assert 0.4 < (per_channel[:, 0] == 0).mean() < 0.6
    y = layers.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True)._data
    assert ((y == 0).all(axis=(2, 3)) | (y == 2).all(axis=(2, 3))).all()
    y = layers.SpatialDropout1D(0.5)(nerve.ones(16, 7, 4), training=True)._data
    assert ((y == 0).all(axis=1) | (y == 2).all(axis=1)).all()
    y = layers.SpatialDropout3D(0.5)(nerve.ones(4, 2, 2, 2, 3), training=True)._data
    assert ((y == 0).all(axis=(1, 2, 3)) | (y == 2).all(axis=(1, 2, 3))).all()


def test_noise_layers_statistics_when_training():
    nerve.manual_seed(1)
    x = nerve.ones(200, 500)
    noisy = layers.GaussianNoise(0.5)(x, training=True)._data
    assert noisy.dtype == np.float32
    assert abs(noisy.mean() - 1.0) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    gd = layers.GaussianDropout(0.2)(x, training=True)._data
    assert abs(gd.mean() - 1.0) < 0.01 and abs(gd.std() - 0.5) < 0.01  # sqrt(0.2 / 0.8)
    # AlphaDropout keeps a standard normal input's mean and variance
    z = nerve.tensor(np.random.default_rng(3).standard_normal((400, 500)).astype(np.float32))
    ad = layers.AlphaDropout(0.2)(z, training=True)._data
    assert abs(ad.mean()) < 0.02 and abs(ad.std() - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p**2)) ** -0.5
    dropped = np.isclose(ad, a * alpha_p - a * alpha_p * 0.2, atol=1e-6)
    assert 0.18 < dropped.mean() < 0.22
    kept = ~dropped
    np.testing.assert_allclose(
        ad[kept], a * z._data[kept] - a * alpha_p * 0.2, rtol=1e-5, atol=1e-6
    )


def test_noise_layers_are_identity_unless_training():
    x = nerve.tensor(_rand(4, 3, 5))
    for layer in (
        layers.GaussianNoise(1.0),
        layers.GaussianDropout(0.5),
        layers.AlphaDropout(0.5),
        layers.SpatialDropout1D(0.5),
    ):
        np.testing.assert_array_equal(layer(x, training=False)._data, x._data)
    w = nerve.ones(3, 4, requires_grad=True)
    (layers.GaussianNoise(0.1)(w, training=True) * 2).sum().backward()
    np.testing.assert_allclose(w.grad._data, 2.0)


def test_noise_layers_act_in_fit_and_not_in_predict():
    nerve.manual_seed(0)
    model = models.Sequential(
        [
            layers.Input((4,)),
            layers.GaussianNoise(3.0),
            layers.Dense(2),
            layers.GaussianDropout(0.2),
        ]
    )
    model.compile(nerve.optimizers.SGD(learning_rate=0.0), "mse")
    x, y = _rand(64, 4), _rand(64, 2)
    train_loss = model.fit(x, y, epochs=1, verbose=0).history["loss"][0]
    eval_loss = model.evaluate(x, y, verbose=0)
    assert train_loss > 2 * eval_loss  # the noise (variance 9 per input) only while training
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_argument_errors():
    with pytest.raises(ValueError, match="ZeroPadding2D: padding"):
        layers.ZeroPadding2D(((1, 2, 3), (1, 1)))
    with pytest.raises(ValueError, match="Cropping1D: cropping"):
        layers.Cropping1D(-1)
    with pytest.raises(ValueError, match="leaves nothing of axis 1"):
        layers.Cropping2D(((2, 2), (0, 0)))(np.ones((1, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="UpSampling2D: interpolation"):
        layers.UpSampling2D(interpolation="lanczos3")
    with pytest.raises(ValueError, match="UpSampling1D: size"):
        layers.UpSampling1D(0)
    with pytest.raises(ValueError, match=r"UpSampling2D\) is incompatible: expected shape"):
        layers.UpSampling2D()(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="Resizing: only one of"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="rank 4"):
        layers.Resizing(2, 2)(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="GaussianDropout: rate"):
        layers.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="GaussianNoise: stddev"):
        layers.GaussianNoise(-1)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.AlphaDropout(0.5, noise_shape=(3, 1))(nerve.ones(2, 4), training=True)
    with pytest.raises(ValueError, match="out of range"):
        layers.UnitNormalization(axis=3)(nerve.ones(2, 4))
    with pytest.raises(TypeError, match="needs a floating-point input"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3, 4), np.int64), training=True)


# ----------------------------------------------------------------------------- masks
def test_masking_matches_keras_and_feeds_the_mask_on(keras):
    x = _rand(3, 5, 4)
    x[0, 1] = 0.0
    x[1, 3:] = 0.0
    x[2, 0, :2] = 0.0  # only partly masked: kept
    out = layers.Masking()(x)
    ref = keras.layers.Masking()(x)
    np.testing.assert_array_equal(out._data, _np(ref))
    np.testing.assert_array_equal(get_mask(out)._data, _np(ref._keras_mask))
    # a mask-aware layer after it averages only the unmasked steps, as Keras's does
    ours = layers.GlobalAveragePooling1D()(layers.Masking()(x))
    theirs = keras.layers.GlobalAveragePooling1D()(keras.layers.Masking()(x))
    np.testing.assert_allclose(ours._data, _np(theirs), rtol=1e-6)


def test_masks_pass_through_the_noise_layers():
    ids = np.array([[1, 2, 0, 0]])
    emb = layers.Embedding(5, 3, mask_zero=True)(ids)
    for layer in (
        layers.GaussianNoise(0.1),
        layers.GaussianDropout(0.1),
        layers.AlphaDropout(0.1),
        layers.SpatialDropout1D(0.2),
        layers.ActivityRegularization(l1=0.1),
        layers.UnitNormalization(),
    ):
        for training in (False, True):
            out = layer(emb, training=training)
            assert get_mask(out).tolist() == [[True, True, False, False]], layer
    # Masking computes its own mask from the values (no step of emb equals -9)
    assert get_mask(layers.Masking(-9.0)(emb)).tolist() == [[True] * 4]
    assert get_mask(layers.UpSampling1D()(emb)) is None  # Keras drops it there too


def test_masking_in_a_functional_model_with_lstm(keras):
    """Masking -> LSTM: the masked steps are skipped, as in Keras (same weights)."""
    x = _rand(3, 6, 2)
    x[0, 4:] = 0.0
    x[2, 2:] = 0.0
    inp = layers.Input((6, 2))
    out = layers.LSTM(4)(layers.Masking()(inp))
    model = models.Model(inp, out)
    k_inp = keras.Input((6, 2))
    k_model = keras.Model(k_inp, keras.layers.LSTM(4)(keras.layers.Masking()(k_inp)))
    model.set_weights(k_model.get_weights())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def test_activity_regularization_loss_matches_keras(keras):
    x = _rand(4, 3)
    ours = layers.ActivityRegularization(l1=0.01, l2=0.1)
    ours(x)
    ref = keras.layers.ActivityRegularization(l1=0.01, l2=0.1)
    ref(x)
    assert len(ours.losses) == 1
    np.testing.assert_allclose(float(ours.losses[0].item()), float(_np(ref.losses[0])), rtol=1e-5)


# ----------------------------------------------------------------------------- merge shortcuts
@pytest.mark.parametrize(
    "fn, kwargs, n",
    [
        ("add", {}, 3),
        ("subtract", {}, 2),
        ("multiply", {}, 2),
        ("average", {}, 3),
        ("maximum", {}, 2),
        ("minimum", {}, 2),
        ("concatenate", {"axis": 1}, 2),
        ("dot", {"axes": 1}, 2),
        ("dot", {"axes": 1, "normalize": True}, 2),
    ],
)
def test_merge_shortcuts_match_keras(keras, fn, kwargs, n):
    xs = [_rand(3, 4) for _ in range(n)]
    ours = getattr(layers, fn)([nerve.tensor(x) for x in xs], **kwargs)
    ref = getattr(keras.layers, fn)(xs, **kwargs)
    np.testing.assert_allclose(ours._data, _np(ref), rtol=1e-5, atol=1e-6)
    # on symbolic inputs: a functional model
    inputs = [layers.Input((4,)) for _ in range(n)]
    out = getattr(layers, fn)(inputs, name=f"merged_{fn}", **kwargs)
    model = models.Model(inputs, out)
    assert model.get_layer(f"merged_{fn}") is not None
    np.testing.assert_allclose(model.predict(xs, verbose=0), _np(ref), rtol=1e-5, atol=1e-6)


def test_pooling_aliases_are_keras_names():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D


# ----------------------------------------------------------------------------- whole models
def _unet_like():
    inp = layers.Input((8, 8, 2))
    x = layers.ZeroPadding2D(1)(inp)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    skip = x
    x = layers.MaxPool2D()(x)
    x = layers.SpatialDropout2D(0.2)(x)
    x = layers.UpSampling2D(interpolation="bilinear")(x)
    x = layers.concatenate([x, skip])
    x = layers.Cropping2D(((1, 1), (0, 2)))(x)
    x = layers.Resizing(4, 4)(x)
    x = layers.GaussianNoise(0.1)(x)
    x = layers.UpSampling2D(2)(x)
    x = layers.CenterCrop(6, 6)(x)
    x = layers.UnitNormalization()(x)
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = layers.Flatten()(x)
    x = layers.ActivityRegularization(l2=0.01)(x)
    x = layers.GaussianDropout(0.1)(x)
    x = layers.AlphaDropout(0.1)(x)
    return models.Model(inp, layers.Dense(3)(x))


def _sequence_model():
    inp = layers.Input((6, 3))
    x = layers.Masking()(inp)
    x = layers.ZeroPadding1D((1, 2))(x)
    x = layers.Cropping1D((1, 1))(x)
    x = layers.UpSampling1D(2)(x)
    x = layers.SpatialDropout1D(0.1)(x)
    x = layers.GlobalMaxPool1D()(x)
    x = layers.RepeatVector(2)(x)
    x = layers.Permute((2, 1))(x)
    x = layers.Reshape((-1,))(x)
    return models.Model(inp, layers.Dense(2)(x))


def _volume_model():
    inp = layers.Input((2, 3, 2, 1))
    x = layers.ZeroPadding3D(1)(inp)
    x = layers.Cropping3D(((0, 1), (1, 0), (1, 1)))(x)
    x = layers.UpSampling3D((1, 2, 1))(x)
    x = layers.SpatialDropout3D(0.1)(x)
    x = layers.GlobalAvgPool3D()(x)
    return models.Model(inp, layers.Dense(2)(x))


@pytest.mark.parametrize(
    "make, shape",
    [(_unet_like, (8, 8, 2)), (_sequence_model, (6, 3)), (_volume_model, (2, 3, 2, 1))],
)
def test_models_with_the_new_layers_train_save_and_load(tmp_path, make, shape):
    nerve.manual_seed(0)
    model = make()
    model.compile("adam", "mse")
    x = _rand(8, *shape)
    y = _rand(*model.predict(x, verbose=0).shape)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    before = model.predict(x, verbose=0)
    path = str(tmp_path / "model.nerve")
    model.save(path)
    loaded = nerve.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)


def _resize_variants():
    inp = layers.Input((5, 7, 2))
    outs = [
        layers.Resizing(3, 4, interpolation="nearest")(inp),
        layers.Resizing(9, 4, interpolation="bicubic")(inp),
        layers.Resizing(4, 4, crop_to_aspect_ratio=True)(inp),
        layers.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=0.5)(inp),
        layers.Resizing(2, 3, interpolation="bicubic", antialias=True)(inp),
        layers.Resizing(3, 6, data_format="channels_first")(inp),
        layers.CenterCrop(9, 8)(inp),
        layers.CenterCrop(3, 3, data_format="channels_first")(inp),
        layers.UpSampling2D((2, 1), data_format="channels_first", interpolation="bilinear")(inp),
        layers.ZeroPadding2D(((0, 1), (2, 0)), data_format="channels_first")(inp),
        layers.Cropping2D(((1, 0), (0, 1)), data_format="channels_first")(inp),
        layers.UnitNormalization(axis=[1, 2])(inp),
        layers.GlobalMaxPooling3D(keepdims=True)(layers.Reshape((5, 7, 2, 1))(inp)),
    ]
    outs = [layers.Flatten()(o) for o in outs]
    return models.Model(inp, layers.concatenate(outs))


@pytest.mark.parametrize(
    "make, shape",
    [
        (_unet_like, (8, 8, 2)),
        (_sequence_model, (6, 3)),
        (_volume_model, (2, 3, 2, 1)),
        (_resize_variants, (5, 7, 2)),
    ],
)
def test_models_with_the_new_layers_export_to_onnx(tmp_path, make, shape):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nerve.onnx import export

    nerve.manual_seed(0)
    model = make()
    model.eval()
    path = str(tmp_path / "m.onnx")

    def sample(n):
        x = _rand(n, *shape)
        if make is _sequence_model:
            x[0, 2:] = 0.0  # masked steps
        return x

    export(model, sample(2), path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (2, 5):
        x = sample(n)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
