"""Keras preprocessing layers: Rescaling/Normalization against Keras, augmentation layers
against Keras with fixed parameters, identity in inference, seeds, and fit on a DataLoader."""

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.data import DataLoader, TensorDataset

RNG = np.random.default_rng(0)
IMAGES = RNG.random((2, 16, 16, 3)).astype(np.float32)


def _np(t):
    return np.asarray(t.detach().cpu()) if hasattr(t, "detach") else np.asarray(t)


# ----------------------------------------------------------------------------- Rescaling
@pytest.mark.parametrize("scale, offset", [(1 / 255, 0.0), (1 / 127.5, -1.0), ([0.5, 2, 3], 1.0)])
def test_rescaling_matches_keras(keras, scale, offset):
    x = RNG.integers(0, 256, (4, 5, 5, 3)).astype(np.float32)
    ours = layers.Rescaling(scale, offset)(x)._data
    ref = _np(keras.layers.Rescaling(scale, offset)(x))
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    assert ours.dtype == np.float32


def test_rescaling_casts_integers_and_is_differentiable():
    x = nerve.tensor(np.array([[0, 255]], dtype=np.uint8))
    assert layers.Rescaling(1 / 255)(x).tolist() == [[0.0, 1.0]]
    w = nerve.ones(2, requires_grad=True)
    layers.Rescaling(3.0, 1.0)(w).sum().backward()
    np.testing.assert_allclose(w.grad._data, [3.0, 3.0])
    assert layers.Rescaling(2.0, 1.0).get_config()["scale"] == 2.0


# ----------------------------------------------------------------------------- Normalization
@pytest.mark.parametrize("axis", [-1, None, (1, 2), 1])
def test_normalization_adapt_matches_keras(keras, axis):
    x = (RNG.random((32, 4, 5, 3)) * 10 + 3).astype(np.float32)
    ours = layers.Normalization(axis=axis)
    ours.adapt(x)
    ref = keras.layers.Normalization(axis=axis)
    ref.adapt(x)
    probe = RNG.random((7, 4, 5, 3)).astype(np.float32) * 10
    np.testing.assert_allclose(ours(probe)._data, _np(ref(probe)), rtol=1e-4, atol=1e-4)


def test_normalization_given_statistics_and_invert_match_keras(keras):
    mean, var = [1.0, 2.0, 3.0], [4.0, 0.25, 0.0]  # a zero variance meets the 1e-7 floor
    x = RNG.random((6, 3)).astype(np.float32)
    for invert in (False, True):
        ours = layers.Normalization(mean=mean, variance=var, invert=invert)(x)._data
        ref = _np(keras.layers.Normalization(mean=mean, variance=var, invert=invert)(x))
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_normalization_adapt_on_batches_equals_adapt_on_array():
    x = RNG.random((50, 3)).astype(np.float32) * 5
    whole, batched = layers.Normalization(), layers.Normalization()
    whole.adapt(x)
    batched.adapt(DataLoader(TensorDataset(x, np.zeros(50)), batch_size=16))
    np.testing.assert_allclose(batched.mean._data, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(batched.variance._data, whole.variance._data, rtol=1e-4)
    assert [w.shape for w in whole.get_weights()] == [(3,), (3,), ()]  # as Keras: mean, var, count


def test_normalization_errors():
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="adapt would overwrite"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.zeros((2, 2)))
    norm = layers.Normalization()
    norm.adapt(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"built for \(4, 3\)"):
        norm.adapt(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="out of range"):
        layers.Normalization(axis=3)(np.zeros((2, 2)))


# ----------------------------------------------------------------------------- augmentation
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap"])
@pytest.mark.parametrize(
    "name, args",
    [
        ("RandomRotation", ((0.1, 0.1),)),
        ("RandomTranslation", ((0.2, 0.2), (-0.1, -0.1))),
        ("RandomZoom", ((0.3, 0.3), (-0.2, -0.2))),
    ],
)
def test_fixed_geometry_matches_keras_everywhere(keras, name, args, fill_mode):
    """With a degenerate factor range the draw is fixed, so the whole image must match."""
    ours = getattr(layers, name)(*args, fill_mode=fill_mode)(IMAGES, training=True)._data
    ref = _np(getattr(keras.layers, name)(*args, fill_mode=fill_mode)(IMAGES, training=True))
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_rotation_matches_scipy_on_the_interior():
    ndimage = pytest.importorskip("scipy.ndimage")
    image = RNG.random((24, 24)).astype(np.float32)
    out = layers.RandomRotation((30 / 360, 30 / 360))(image[None, :, :, None], training=True)
    ref = ndimage.rotate(image, 30, reshape=False, order=1)
    np.testing.assert_allclose(out._data[0, 6:-6, 6:-6, 0], ref[6:-6, 6:-6], atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.RandomFlip(),
        lambda: layers.RandomRotation(0.2),
        lambda: layers.RandomTranslation(0.2, 0.2),
        lambda: layers.RandomZoom(0.3),
    ],
)
def test_random_layers_shapes_inference_identity_and_seed(layer):
    x = np.round(IMAGES * 255).astype(np.float32)
    trained = layer()(x, training=True)
    assert trained.shape == x.shape and trained.dtype == np.float32
    assert not np.array_equal(trained._data, x)
    # As in Keras 3, an augmentation layer called directly augments (its call's default is
    # training=True); a model's predict, or training=False, makes it the identity.
    direct = layer()
    assert any(not np.array_equal(direct(x)._data, x) for _ in range(8))
    assert np.array_equal(layer()(x, training=False)._data, x)
    inference = layer()
    inference.eval()  # as for any Module: eval() wins over the call's default
    assert np.array_equal(inference(x)._data, x)
    model = nerve.keras.Sequential([nerve.keras.Input(x.shape[1:]), layer()])
    assert np.array_equal(model.predict(x, verbose=0), x)
    unbatched = layer()(x[0], training=True)
    assert unbatched.shape == x[0].shape
    a, b = (type(layer())(**{**layer().get_config(), "name": None, "seed": 7}) for _ in "ab")
    np.testing.assert_array_equal(a(x, training=True)._data, b(x, training=True)._data)
    nerve.manual_seed(3)
    first = layer()(x, training=True)._data
    nerve.manual_seed(3)
    np.testing.assert_array_equal(layer()(x, training=True)._data, first)


def test_random_flip_modes_and_channels_first():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    out = layers.RandomFlip("horizontal", seed=0)(np.tile(x, (50, 1, 1, 1)), training=True)._data
    flipped = np.array([np.array_equal(o, x[i % 2][:, ::-1]) for i, o in enumerate(out)])
    kept = np.array([np.array_equal(o, x[i % 2]) for i, o in enumerate(out)])
    assert (flipped | kept).all() and 10 < flipped.sum() < 90
    cf = layers.RandomFlip("vertical", seed=1, data_format="channels_first")
    out = cf(np.moveaxis(x, -1, 1), training=True)._data
    assert out.shape == (2, 1, 4, 4)
    for o, i in zip(out[:, 0], x[..., 0]):
        assert np.array_equal(o, i) or np.array_equal(o, i[::-1])


def test_random_layer_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="lower <= upper"):
        layers.RandomZoom((0.5, 0.1))
    with pytest.raises(ValueError, match=r"expects images \(H, W, C\)"):
        layers.RandomRotation(0.1)(np.zeros((3, 3)), training=True)
    with pytest.raises(NotImplementedError, match="passes no gradient"):
        layers.RandomZoom(0.1)(nerve.zeros(1, 4, 4, 1, requires_grad=True), training=True)


# ----------------------------------------------------------------------------- in a model
def test_model_fit_on_a_dataloader_with_augmentation_layers():
    from nerve import models

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (64, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.int64)
    model = models.Sequential(
        [
            layers.Rescaling(1 / 255),
            layers.RandomFlip("horizontal", seed=0),
            layers.RandomTranslation(0.1, 0.1, seed=0),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=0)
    history = model.fit(loader, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()
    evaluated = model.evaluate(DataLoader(TensorDataset(x, y), batch_size=32), verbose=0)
    assert np.isfinite(evaluated).all()
    predictions = model.predict(x[:5], verbose=0)  # inference: augmentation off, deterministic
    np.testing.assert_array_equal(predictions, model.predict(x[:5], verbose=0))


def test_configs_round_trip_and_a_saved_model_reloads(tmp_path):
    x = np.random.default_rng(2).random((8, 6, 6, 1)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(x)
    model = nerve.models.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Rescaling(2.0, offset=-1.0),
            norm,
            layers.Normalization(mean=0.5, variance=4.0),
            layers.RandomFlip("vertical", seed=1),
            layers.RandomRotation(0.1, fill_mode="constant"),
            layers.RandomTranslation(0.1, (-0.2, 0.1)),
            layers.RandomZoom(0.1, 0.2, interpolation="nearest"),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    for layer in model.layers[:7]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "augmented.nerve"
    model.save(path)
    reloaded = nerve.load_model(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))
