"""nerve.keras.random: Keras's signatures, shapes, dtypes, distributions and seeding.

The numbers differ from Keras's (another generator), so the tests check what Keras promises:
shapes and dtypes (against keras.random), the distributions' moments and ranges, and what a
seed means (an int repeats, a SeedGenerator advances, None follows nerve.manual_seed).
"""

import numpy as np
import pytest

import nerve
from nerve.keras import random as nrandom

N = 20000


@pytest.mark.parametrize(
    "call",
    [
        lambda r, s: r.normal((2, 3), seed=s),
        lambda r, s: r.normal((4,), mean=2.0, stddev=3.0, dtype="float64", seed=s),
        lambda r, s: r.uniform((3, 2), seed=s),
        lambda r, s: r.uniform((5,), minval=-1.0, maxval=2.0, dtype="float64", seed=s),
        lambda r, s: r.randint((2, 2), 0, 10, seed=s),
        lambda r, s: r.randint((3,), -5, 5, dtype="int64", seed=s),
        lambda r, s: r.truncated_normal((2, 5), seed=s),
        lambda r, s: r.categorical(np.zeros((2, 3), np.float32), 4, seed=s),
        lambda r, s: r.categorical(np.zeros((2, 3), np.float32), 4, dtype="int64", seed=s),
        lambda r, s: r.shuffle(np.arange(12, dtype=np.float32).reshape(3, 4), axis=1, seed=s),
        lambda r, s: r.dropout(r.normal((3, 4), seed=s), 0.5, seed=s),
        lambda r, s: r.gamma((3,), 2.0, seed=s),
        lambda r, s: r.beta((2, 2), 2.0, 3.0, seed=s),
        lambda r, s: r.binomial((4,), 10, 0.3, seed=s),
    ],
)
def test_shapes_and_dtypes_match_keras(keras, call):
    want = call(keras.random, 1)
    got = call(nrandom, 1)
    assert isinstance(got, nerve.Tensor)
    assert got.shape == tuple(want.shape)
    assert str(got.dtype) == keras.backend.standardize_dtype(want.dtype)


def test_int_seed_repeats_and_seed_generator_advances():
    a = nrandom.normal((5,), seed=3)
    b = nrandom.normal((5,), seed=3)
    np.testing.assert_array_equal(a._data, b._data)
    assert not np.array_equal(a._data, nrandom.normal((5,), seed=4)._data)
    gen = nrandom.SeedGenerator(42)
    first, second = nrandom.uniform((5,), seed=gen), nrandom.uniform((5,), seed=gen)
    assert not np.array_equal(first._data, second._data)
    gen2 = nrandom.SeedGenerator(42)  # the same seed replays the same sequence
    np.testing.assert_array_equal(nrandom.uniform((5,), seed=gen2)._data, first._data)
    np.testing.assert_array_equal(nrandom.uniform((5,), seed=gen2)._data, second._data)
    assert gen2.state.tolist() == [42, 2]
    assert nrandom.SeedGenerator.from_config(gen.get_config()).get_config() == {"seed": 42}


def test_seed_none_follows_manual_seed():
    nerve.manual_seed(7)
    a = nrandom.normal((4,))
    gen_a = nrandom.uniform((3,), seed=nrandom.SeedGenerator())
    nerve.manual_seed(7)
    b = nrandom.normal((4,))
    gen_b = nrandom.uniform((3,), seed=nrandom.SeedGenerator())
    np.testing.assert_array_equal(a._data, b._data)
    np.testing.assert_array_equal(gen_a._data, gen_b._data)
    assert not np.array_equal(nrandom.normal((4,))._data, a._data)  # the global state moved on


def test_distributions():
    x = nrandom.normal((N,), mean=1.5, stddev=2.0, seed=0)._data
    assert abs(x.mean() - 1.5) < 0.05 and abs(x.std() - 2.0) < 0.05
    t = nrandom.truncated_normal((N,), mean=-1.0, stddev=0.5, seed=0)._data
    assert t.min() >= -2.0 and t.max() <= 0.0
    assert abs(t.mean() + 1.0) < 0.02 and abs(t.std() - 0.5 * 0.8796) < 0.02
    u = nrandom.uniform((N,), minval=-2.0, maxval=3.0, seed=0)._data
    assert u.min() >= -2.0 and u.max() < 3.0 and abs(u.mean() - 0.5) < 0.05
    r = nrandom.randint((N,), 3, 7, seed=0)._data
    assert set(np.unique(r)) == {3, 4, 5, 6}
    g = nrandom.gamma((N,), 3.0, seed=0)._data
    assert abs(g.mean() - 3.0) < 0.1
    be = nrandom.beta((N,), 2.0, 6.0, seed=0)._data
    assert abs(be.mean() - 0.25) < 0.01
    bi = nrandom.binomial((N,), 10, 0.3, seed=0)._data
    assert abs(bi.mean() - 3.0) < 0.05


def test_categorical_frequencies_follow_softmax():
    probs = np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]])
    draws = nrandom.categorical(np.log(probs), N, seed=0)._data
    assert draws.shape == (2, N) and draws.dtype == np.int32
    for row, p in zip(draws, probs):
        np.testing.assert_allclose(np.bincount(row, minlength=3) / N, p, atol=0.015)


def test_shuffle_permutes_along_axis():
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    out = nrandom.shuffle(x, axis=1, seed=2)._data
    assert not np.array_equal(out, x)
    np.testing.assert_array_equal(np.sort(out, axis=1), x)  # each row keeps its elements
    np.testing.assert_array_equal(out - out[:1], x - x[:1])  # one order for every row
    rows = nrandom.shuffle(x, seed=2)._data
    np.testing.assert_array_equal(np.sort(rows, axis=0), x)


def test_dropout_rate_scale_noise_shape_and_gradient():
    x = nerve.tensor(np.ones((200, 100), np.float32), requires_grad=True)
    out = nrandom.dropout(x, 0.3, seed=0)
    kept = out._data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(out._data[kept], 1 / 0.7, rtol=1e-6)
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_allclose(x.grad._data, out._data)
    shared = nrandom.dropout(np.ones((50, 8), np.float32), 0.5, noise_shape=(1, 8), seed=1)._data
    assert (shared == shared[:1]).all()  # the mask is shared along the broadcast axis
    partial = nrandom.dropout(np.ones((6, 8), np.float32), 0.5, noise_shape=(None, 1), seed=1)
    assert (partial._data == partial._data[:, :1]).all()


@pytest.mark.parametrize(
    "call, kind, message",
    [
        (lambda: nrandom.uniform((2,), dtype="int32"), ValueError, "uniform: dtype"),
        (lambda: nrandom.normal((2,), seed="x"), TypeError, "normal: seed"),
        (lambda: nrandom.randint((2,), 5, 5), ValueError, "randint: maxval"),
        (lambda: nrandom.randint((2,), 0, 5, dtype="float32"), ValueError, "randint: dtype"),
        (lambda: nrandom.dropout(np.ones(3), 1.0), ValueError, "dropout: rate"),
        (lambda: nrandom.dropout(np.ones((2, 3)), 0.5, (3, 3)), ValueError, "dropout: noise"),
        (lambda: nrandom.categorical(np.zeros(3), 2), ValueError, "categorical: logits"),
        (lambda: nrandom.shuffle(np.ones(3), axis=1), ValueError, "shuffle: axis 1"),
        (lambda: nrandom.SeedGenerator(1.5), TypeError, "SeedGenerator: seed"),
        (lambda: nrandom.normal((-1, 2)), ValueError, "normal: shape"),
    ],
)
def test_bad_input_names_the_function(call, kind, message):
    with pytest.raises(kind, match=message):
        call()
