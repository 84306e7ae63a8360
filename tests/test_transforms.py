"""nerve.data.transforms and the affine kernel: against scipy.ndimage and exact flips/rotations."""

import numpy as np
import pytest

import nerve
from nerve.autograd.tensor import Tensor
from nerve.data import affine
from nerve.data import transforms as T

RNG = np.random.default_rng(0)
BATCH = RNG.random((6, 2, 20, 20)).astype(np.float32)


def ndimage():
    return pytest.importorskip("scipy.ndimage")


def test_to_float_scales_integers_and_adds_channels():
    x = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    out = T.ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0, 0.2], [0.4, 1.0]], rtol=1e-6)
    assert T.ToFloat(add_channel=True)(x).shape == (1, 2, 2)
    assert T.ToFloat(add_channel=True)(np.stack([x] * 3)).shape == (3, 1, 2, 2)
    assert T.ToFloat()(np.array([2.5])).dtype == np.float32  # floats only cast
    with pytest.raises(ValueError, match=r"grayscale \(H, W\) or \(N, H, W\)"):
        T.ToFloat(add_channel=True)(np.zeros((1, 1, 2, 2), np.uint8))


def test_normalize_per_channel_and_errors():
    out = T.Normalize([0.5, 0.25], [0.5, 0.25])(BATCH)
    np.testing.assert_allclose(out[:, 1], (BATCH[:, 1] - 0.25) / 0.25, rtol=1e-5)
    assert T.Normalize(0.5, 2.0)(np.ones((2, 2))).tolist() == [[0.25, 0.25], [0.25, 0.25]]
    with pytest.raises(ValueError, match="2 channel statistics for an input of shape"):
        T.Normalize([0, 0], [1, 1])(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="std must be positive"):
        T.Normalize(0, 0)


@pytest.mark.parametrize("degrees", [17.0, -40.0])
def test_rotation_matches_scipy_rotate_on_the_interior(degrees):
    out = T.RandomRotation((degrees, degrees))(BATCH)
    for n in range(2):
        for c in range(2):
            ref = ndimage().rotate(BATCH[n, c], degrees, reshape=False, order=1)
            np.testing.assert_allclose(out[n, c, 5:-5, 5:-5], ref[5:-5, 5:-5], atol=1e-5)


def test_translation_and_zoom_match_scipy_per_sample():
    shift = T.RandomTranslation(3, generator=1)(BATCH)
    draw = np.random.default_rng(1)
    dy, dx = draw.uniform(-3, 3, 6), draw.uniform(-3, 3, 6)
    for n in range(6):
        ref = ndimage().shift(BATCH[n], (0, dy[n], dx[n]), order=1, mode="constant")
        np.testing.assert_allclose(shift[n, :, 4:-4, 4:-4], ref[:, 4:-4, 4:-4], atol=1e-5)
    zoom = T.RandomZoom((0.8, 1.25), generator=2)(BATCH)
    s = np.random.default_rng(2).uniform(0.8, 1.25, 6)
    center = np.array([9.5, 9.5])
    for n in range(6):
        matrix = np.diag([1.0, 1 / s[n], 1 / s[n]])
        offset = np.array([0.0, *(center - center / s[n])])
        ref = ndimage().affine_transform(BATCH[n], matrix, offset, order=1, mode="constant")
        np.testing.assert_allclose(zoom[n, :, 5:-5, 5:-5], ref[:, 5:-5, 5:-5], atol=1e-5)


@pytest.mark.parametrize(
    "mode, pad_mode",
    [
        ("constant", "constant"),
        ("nearest", "edge"),
        ("reflect", "symmetric"),
        ("wrap", "wrap"),
    ],
)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_warp_fill_modes_match_numpy_pad(mode, pad_mode, interpolation):
    x = RNG.random((2, 1, 5, 7)).astype(np.float32)
    out = affine.warp(x, affine.translation(np.full(2, 1.0), np.full(2, 3.0)), interpolation, mode)
    ref = np.pad(x, ((0, 0), (0, 0), (1, 0), (3, 0)), mode=pad_mode)[..., :5, :7]
    np.testing.assert_allclose(out, ref, atol=1e-6)


def test_flips_and_the_order_of_a_fused_chain_are_exact():
    x = RNG.random((3, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(x), x[..., ::-1, :])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    flip_then_turn = T.Compose([T.RandomHorizontalFlip(p=1.0), T.RandomRotation((90, 90))])
    assert [len(g) for g in flip_then_turn._groups()] == [2]  # one resampling
    np.testing.assert_allclose(flip_then_turn(x), np.rot90(x[..., ::-1], axes=(-2, -1)), atol=1e-5)
    turn_then_flip = T.Compose([T.RandomRotation((90, 90)), T.RandomHorizontalFlip(p=1.0)])
    np.testing.assert_allclose(turn_then_flip(x), np.rot90(x, axes=(-2, -1))[..., ::-1], atol=1e-5)


def test_flip_draws_per_sample():
    x = np.tile(np.arange(4.0), (200, 1, 1, 1))
    flipped = (T.RandomHorizontalFlip(generator=0)(x)[:, 0, 0, 0] == 3.0).mean()
    assert 0.35 < flipped < 0.65


def test_fused_compose_equals_one_warp_of_the_product_of_matrices():
    chain = T.Compose(
        [
            T.RandomRotation(20, generator=3),
            T.RandomTranslation(0.1, generator=4),
            T.RandomZoom(0.2, generator=5),
            T.RandomHorizontalFlip(generator=6),
        ]
    )
    out = chain(BATCH)
    parts = [
        T.RandomRotation(20, generator=3),
        T.RandomTranslation(0.1, generator=4),
        T.RandomZoom(0.2, generator=5),
        T.RandomHorizontalFlip(generator=6),
    ]
    m = affine.identity(6)
    for t in parts:
        m = m @ t.matrices(6, 20, 20)
    np.testing.assert_allclose(out, affine.warp(BATCH, m), atol=1e-6)
    assert not np.allclose(out, BATCH)


def test_integer_images_tensors_single_samples_and_reproducibility():
    images = RNG.integers(0, 256, (4, 1, 12, 12), dtype=np.uint8)
    out = T.RandomRotation(30)(images)
    assert out.dtype == np.uint8 and out.shape == images.shape
    t = T.RandomZoom(0.2)(nerve.tensor(BATCH))
    assert isinstance(t, Tensor) and t.shape == BATCH.shape and not t.requires_grad
    assert T.RandomRotation(10)(BATCH[0]).shape == (2, 20, 20)
    assert T.RandomRotation(10)(BATCH[0, 0]).shape == (20, 20)
    np.testing.assert_array_equal(
        T.RandomRotation(45, generator=9)(BATCH), T.RandomRotation(45, generator=9)(BATCH)
    )
    nerve.manual_seed(11)
    first = T.RandomErasing(p=1.0)(BATCH)
    nerve.manual_seed(11)
    np.testing.assert_array_equal(T.RandomErasing(p=1.0)(BATCH), first)


def test_random_crop_takes_windows_of_the_padded_image():
    x = np.arange(2 * 1 * 6 * 6, dtype=np.float32).reshape(2, 1, 6, 6)
    out = T.RandomCrop(4, generator=0)(np.tile(x, (10, 1, 1, 1)))
    assert out.shape == (20, 1, 4, 4)
    for i, crop in enumerate(out):
        windows = np.lib.stride_tricks.sliding_window_view(x[i % 2, 0], (4, 4))
        assert any(np.array_equal(crop[0], w) for w in windows.reshape(-1, 4, 4))
    padded = T.RandomCrop(6, padding=2, generator=1)(x)
    assert padded.shape == x.shape and (padded == 0).any()
    assert T.RandomCrop((6, 6))(x).tolist() == x.tolist()
    assert T.RandomCrop(3)(x[0]).shape == (1, 3, 3)
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(8)(x)


def test_random_erasing_blanks_one_rectangle_per_chosen_sample():
    x = np.ones((50, 1, 10, 10), np.float32)
    out = T.RandomErasing(p=1.0, value=0.0, generator=0)(x)
    for sample in out[:, 0]:
        rows, cols = np.nonzero(sample == 0)
        assert len(rows) > 0
        box = sample[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (box == 0).all()  # a filled rectangle
    assert np.array_equal(T.RandomErasing(p=0.0)(x), x)
    noisy = T.RandomErasing(p=1.0, value="random", generator=0)(x)
    assert (noisy != 1).any() and np.isfinite(noisy).all()


def test_gaussian_noise():
    x = np.zeros((100, 1, 10, 10), np.float32)
    out = T.GaussianNoise(0.5, generator=0)(x)
    assert out.dtype == np.float32 and abs(out.std() - 0.5) < 0.02
    assert T.GaussianNoise(2.0, clip=(0, 1), generator=0)(x).max() <= 1.0
    with pytest.raises(TypeError, match="apply ToFloat first"):
        T.GaussianNoise()(np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: T.RandomRotation(-5), "degrees must be non-negative"),
        (lambda: T.RandomRotation((10, 5)), "min > max"),
        (lambda: T.RandomTranslation(2.5), "pass an int for pixels"),
        (lambda: T.RandomHorizontalFlip(p=1.5), r"probability in \[0, 1\]"),
        (lambda: T.RandomRotation(5, fill_mode="mirror"), "fill_mode must be one of"),
        (lambda: T.RandomZoom((0.0, 1.0)), "zoom factors must be positive"),
        (lambda: T.RandomRotation(5)(np.zeros(4)), r"expected an image \(H, W\)"),
        (lambda: T.Compose([1]), "must be callable"),
        (lambda: T.RandomRotation(5, generator=1.5), "generator must be"),
    ],
)
def test_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_random_affine_draws_per_sample_and_validates():
    x = np.repeat(RNG.random((1, 1, 12, 12)).astype(np.float32), 5, 0)
    out = T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10, generator=0)(x)
    assert out.shape == x.shape and len({o.tobytes() for o in out}) == 5
    same = T.RandomAffine((0, 0))(x)  # the identity
    np.testing.assert_allclose(same, x, atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        T.RandomAffine(0, translate=(1.5, 0))
    with pytest.raises(ValueError, match="scale values should be positive"):
        T.RandomAffine(0, scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="2 or 4 numbers"):
        T.RandomAffine(0, shear=(1, 2, 3))


def test_rotation_about_a_corner_center():
    x = np.zeros((1, 5, 5), np.float32)
    x[0, 0, 4] = 1.0  # top right; turning 90 degrees about the top-left pixel center (0.5, 0.5)
    out = T.RandomRotation((90, 90), interpolation="nearest", center=(0.5, 0.5))(x)
    assert out[0, -4, 0] == 0.0 and out.sum() == 0.0  # carried off the image, above it
    out = T.RandomRotation((-90, -90), interpolation="nearest", center=(0.5, 0.5))(x)
    assert out[0, 4, 0] == 1.0  # clockwise: top right -> bottom left


def test_resize_and_center_crop_on_a_batch():
    out = T.Resize((10, 5))(BATCH)
    assert out.shape == (6, 2, 10, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(2, 3)), BATCH.mean(axis=(2, 3)), atol=0.02)
    np.testing.assert_array_equal(T.CenterCrop(10)(BATCH), BATCH[..., 5:15, 5:15])
    with pytest.raises(ValueError, match="size must be positive"):
        T.Resize(0)
