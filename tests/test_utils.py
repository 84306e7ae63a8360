"""nerve.utils: to_categorical and set_random_seed, as Keras has them."""

import random

import numpy as np
import pytest

import nerve
from nerve.utils import set_random_seed, to_categorical


@pytest.mark.parametrize(
    ("labels", "num_classes"),
    [([0, 2, 1], None), ([[1], [3]], 5), (np.array([[0, 1], [2, 0]]), 3), ([1.0, 0.0], None)],
)
def test_to_categorical_matches_keras(keras, labels, num_classes):
    ours = to_categorical(labels, num_classes)
    theirs = keras.utils.to_categorical(labels, num_classes)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_accepts_a_tensor():
    out = to_categorical(nerve.tensor([2, 0]), 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        ([0, 3], 3, r"label 3 is out of range for num_classes=3"),
        ([-1, 0], None, r"labels must be >= 0, got -1"),
        ([0.5, 1.0], None, r"whole numbers"),
    ],
)
def test_to_categorical_rejects_bad_labels(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(labels, num_classes)


def test_set_random_seed_reproduces_every_generator():
    def draw():
        return random.random(), float(np.random.rand()), nerve.randn(3).numpy().tolist()

    set_random_seed(123)
    first = draw()
    set_random_seed(123)
    assert draw() == first
    set_random_seed(124)
    assert draw() != first


def test_set_random_seed_makes_layer_initialization_reproducible():
    from nerve import layers

    def weights():
        layer = layers.Dense(4)
        layer(np.zeros((1, 3), np.float32))
        return layer.kernel.numpy().copy()

    set_random_seed(5)
    a = weights()
    set_random_seed(5)
    np.testing.assert_array_equal(a, weights())


@pytest.mark.parametrize("seed", [1.5, "7", None, True])
def test_set_random_seed_rejects_non_integers(seed):
    with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
        set_random_seed(seed)
