"""nerve.vision: torchvision-shaped MNIST/FashionMNIST and per-sample transforms.

torchvision is not installed: the deterministic transforms are checked against torchvision's
formulas written here with torch ops (its inverse affine matrix, its sampling grid and
``grid_sample``; ``interpolate`` for Resize), the datasets against small IDX files made here.
"""

import gzip
import math
import os
import struct

import numpy as np
import pytest

import nerve
from nerve.autograd.tensor import Tensor
from nerve.data import transforms as data_transforms
from nerve.utils.data import DataLoader, Dataset
from nerve.vision import datasets
from nerve.vision import transforms as T

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- datasets
STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def small_arrays(seed=0, n_train=6, n_test=4):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_idx(directory, arrays, compress=True):
    os.makedirs(directory, exist_ok=True)
    for key, stem in STEMS.items():
        data = idx_bytes(arrays[key])
        name = f"{stem}.gz" if compress else stem
        with open(os.path.join(directory, name), "wb") as f:
            f.write(gzip.compress(data) if compress else data)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No cache, $NERVE_DATA or Debian copy leaks in; no network is tried."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NERVE_DATA", raising=False)
    from nerve.datasets import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "no-debian"))
    return tmp_path


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_dataset_from_torchvisions_layout(isolated, cls):
    arrays = small_arrays()
    write_idx(isolated / "root" / cls.__name__ / "raw", arrays, compress=False)
    train = cls(str(isolated / "root"), train=True)
    test = cls(isolated / "root", train=False, download=False)
    assert len(train) == 6 and len(test) == 4
    assert train.data.dtype == np.uint8 and train.data.shape == (6, 28, 28)
    assert train.targets.dtype == np.int64 and isinstance(train.targets, Tensor)
    np.testing.assert_array_equal(test.data._data, arrays["x_test"])
    img, label = train[2]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    assert type(label) is int and label == int(arrays["y_train"][2])
    assert len(cls.classes) == 10 and train.class_to_idx[cls.classes[3]] == 3
    assert "Split: Test" in repr(test)


def test_fashion_mnist_classes_and_gzip_files_in_root(isolated):
    arrays = small_arrays(1)
    write_idx(isolated / "root", arrays)
    ds = datasets.FashionMNIST(isolated / "root", train=False)
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(ds.targets._data, arrays["y_test"].astype(np.int64))


def test_dataset_falls_back_to_nerves_places(isolated, monkeypatch):
    arrays = small_arrays(2)
    write_idx(isolated / "nd" / "fashion-mnist", arrays)
    monkeypatch.setenv("NERVE_DATA", str(isolated / "nd"))
    ds = datasets.FashionMNIST(isolated / "empty-root")
    np.testing.assert_array_equal(ds.data._data, arrays["x_train"])
    from nerve.datasets import fashion_mnist

    monkeypatch.delenv("NERVE_DATA")
    write_idx(isolated / "debian", arrays)  # the Debian package's directory, before any download
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(isolated / "debian"))
    assert len(datasets.FashionMNIST(isolated / "empty-root", train=False)) == 4


def test_missing_dataset_says_to_download(isolated):
    with pytest.raises(RuntimeError, match="Dataset not found. You can use download=True"):
        datasets.MNIST(isolated / "nowhere")
    with pytest.raises(TypeError, match="transform must be callable"):
        datasets.MNIST(isolated / "nowhere", transform=3)


def test_dataset_transforms_and_loader(isolated):
    arrays = small_arrays(3)
    write_idx(isolated / "root" / "MNIST" / "raw", arrays)
    ds = datasets.MNIST(
        isolated / "root",
        transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]),
        target_transform=lambda y: y + 100,
    )
    x, y = ds[0]
    assert isinstance(x, Tensor) and x.shape == (1, 28, 28) and y == arrays["y_train"][0] + 100
    want = (arrays["x_train"][0].astype(np.float32) / np.float32(255) - np.float32(0.1307)) / (
        np.float32(0.3081)
    )
    np.testing.assert_array_equal(x._data[0], want)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert xb.shape == (4, 1, 28, 28) and xb.dtype == np.float32 and yb.dtype == np.int64
    plain = datasets.MNIST(isolated / "root")  # no transform: the loader cuts whole arrays
    batches = list(DataLoader(plain, batch_size=4))
    assert batches[0][0].dtype == np.uint8 and batches[0][0].shape == (4, 28, 28)
    np.testing.assert_array_equal(np.concatenate([b[0]._data for b in batches]), arrays["x_train"])
    assert np.concatenate([b[1]._data for b in batches]).dtype == np.int64


# ----------------------------------------------------------------------------- value transforms
def test_to_tensor_as_torchvision(torch):
    gray = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    for img in (gray, rgb):
        ours = T.ToTensor()(img)
        hwc = img if img.ndim == 3 else img[:, :, None]
        want = torch.from_numpy(hwc).permute(2, 0, 1).contiguous().float().div(255)
        assert isinstance(ours, Tensor) and ours.dtype == np.float32
        np.testing.assert_array_equal(ours._data, want.numpy())
    floats = RNG.random((4, 4))
    assert T.ToTensor()(floats).dtype == np.float64  # other dtypes unscaled, as torchvision
    assert T.PILToTensor()(rgb).dtype == np.uint8 and T.PILToTensor()(rgb).shape == (3, 5, 7)
    with pytest.raises(TypeError, match="pic should be"):
        T.ToTensor()(nerve.tensor(floats))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.ToTensor()(np.zeros((1, 2, 2, 2), np.uint8))


def test_normalize_as_torchvision(torch):
    img = RNG.random((3, 4, 5)).astype(np.float32)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ours = T.Normalize(mean, std)(nerve.tensor(img))
    t_mean = torch.tensor(mean).view(-1, 1, 1)
    t_std = torch.tensor(std).view(-1, 1, 1)
    want = torch.from_numpy(img).sub(t_mean).div(t_std)
    np.testing.assert_array_equal(ours._data, want.numpy())
    same = nerve.tensor(img)
    assert T.Normalize(0.5, 0.5, inplace=True)(same) is same
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.Normalize(mean, std)(img)
    with pytest.raises(TypeError, match="should be a float tensor"):
        T.Normalize(mean, std)(nerve.tensor(np.zeros((3, 2, 2), np.uint8)))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match=r"size \(\.\.\., C, H, W\)"):
        T.Normalize((0.5,), (0.5,))(nerve.tensor(np.zeros((2, 2), np.float32)))


def test_lambda_compose_and_no_to_pil_image():
    t = T.Compose([T.Lambda(lambda x: x * 2), T.ToTensor()])
    assert t(np.ones((2, 2), np.float32)).tolist() == [[[2.0, 2.0], [2.0, 2.0]]]
    with pytest.raises(TypeError, match="lambd should be callable"):
        T.Lambda(3)
    with pytest.raises(AttributeError, match="does not use Pillow"):
        T.ToPILImage  # noqa: B018 - the attribute access is the test
    with pytest.raises(AttributeError, match="no attribute 'ColorJitter' .nerve has CenterCrop"):
        T.ColorJitter  # noqa: B018
    with pytest.raises(AttributeError, match="nerve has MNIST and FashionMNIST"):
        datasets.CIFAR10  # noqa: B018


# ----------------------------------------------------------------------------- resizing, crops
@pytest.mark.parametrize(
    "shape, size, antialias",
    [((2, 12, 16), (6, 8), True), ((2, 12, 16), (5, 7), True), ((1, 9, 10), (5, 6), False),
     ((1, 5, 6), (12, 13), True), ((3, 8, 8), (8, 3), True)],
)  # fmt: skip
def test_resize_bilinear_matches_torch_interpolate(torch, shape, size, antialias):
    img = RNG.random(shape).astype(np.float32)
    ours = T.Resize(size, antialias=antialias)(nerve.tensor(img))
    want = torch.nn.functional.interpolate(
        torch.from_numpy(img)[None], size=size, mode="bilinear", align_corners=False,
        antialias=antialias,
    )[0]  # fmt: skip
    np.testing.assert_allclose(ours._data, want.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_resize_nearest_matches_torch_interpolate(torch, mode):
    img = RNG.random((1, 7, 9)).astype(np.float32)
    for size in ((3, 4), (11, 20)):
        ours = T.Resize(size, interpolation=T.InterpolationMode(mode))(nerve.tensor(img))
        want = torch.nn.functional.interpolate(torch.from_numpy(img)[None], size=size, mode=mode)
        np.testing.assert_array_equal(ours._data, want[0].numpy())


def test_resize_sizes_rounding_and_arrays():
    assert T.Resize(15)(nerve.tensor(np.zeros((1, 30, 40)))).shape == (1, 15, 20)
    assert T.Resize(15)(np.zeros((40, 30), np.uint8)).shape == (20, 15)
    assert T.Resize([10], max_size=12)(np.zeros((20, 40), np.uint8)).shape == (6, 12)
    img = np.array([[0, 255]], np.uint8)
    up = T.Resize((1, 4))(img)
    assert up.dtype == np.uint8 and up.tolist() == [[0, 64, 191, 255]]  # rounded, as torch
    rgb = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # (H, W, C), the PIL stand-in
    assert T.Resize((3, 4))(rgb).shape == (3, 4, 3)
    with pytest.raises(ValueError, match="not supported by nerve"):
        T.Resize(4, interpolation=T.InterpolationMode.BICUBIC)
    with pytest.raises(ValueError, match="max_size should only be passed"):
        T.Resize((4, 5), max_size=10)


@pytest.mark.parametrize("h, w, ch, cw", [(7, 8, 4, 4), (6, 9, 5, 2), (5, 5, 4, 4), (3, 4, 6, 7)])
def test_center_crop_follows_torchvisions_rounding_and_padding(h, w, ch, cw):
    img = np.arange(h * w, dtype=np.float32).reshape(1, h, w) + 1
    out = T.CenterCrop((ch, cw))(nerve.tensor(img))._data
    # torchvision: zero padding of ((c - s) // 2, (c - s + 1) // 2), then round((s - c) / 2.0)
    pt, pl = max(ch - h, 0) // 2, max(cw - w, 0) // 2
    pb, pr = (max(ch - h, 0) + 1) // 2, (max(cw - w, 0) + 1) // 2
    padded = np.pad(img, ((0, 0), (pt, pb), (pl, pr)))
    H, W = padded.shape[1:]
    top, left = int(round((H - ch) / 2.0)), int(round((W - cw) / 2.0))
    np.testing.assert_array_equal(out, padded[:, top : top + ch, left : left + cw])


def test_random_crop_padding_layouts_are_torchvisions():
    img = np.arange(12, dtype=np.float32).reshape(1, 3, 4) + 1
    t = nerve.tensor(img)
    # (left/right, top/bottom): the only window of the padded size is the padded image
    out = T.RandomCrop((3 + 4, 4 + 2), padding=(1, 2))(t)._data
    np.testing.assert_array_equal(out, np.pad(img, ((0, 0), (2, 2), (1, 1))))
    out = T.RandomCrop((3 + 3, 4 + 4), padding=(1, 2, 3, 1))(t)._data  # left, top, right, bottom
    np.testing.assert_array_equal(out, np.pad(img, ((0, 0), (2, 1), (1, 3))))
    out = T.RandomCrop((5, 4), pad_if_needed=True, padding_mode="edge")(t)._data
    assert out.shape == (1, 5, 4)
    crops = {tuple(T.RandomCrop(2)(t)._data.ravel()) for _ in range(40)}
    assert len(crops) > 3  # a new place each call
    with pytest.raises(ValueError, match="1, 2, or 4 element tuple"):
        T.RandomCrop(2, padding=(1, 2, 3))


# ----------------------------------------------------------------------------- geometry
def tv_inverse_matrix(center, angle, translate, scale, shear):
    """torchvision's _get_inverse_affine_matrix, written from its documented formula
    M = T * C * R(a) * S(s) * SHy * SHx * C^-1 (x right, y down, 2x3, output -> input)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    (cx, cy), (tx, ty) = center, translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def tv_warp(torch, img, matrix, mode):
    """torchvision's tensor path: its affine grid (pixel centers about the image center,
    normalized by w/2, h/2) and grid_sample with zero padding. Returns the image and the
    in-image mask torchvision blends the fill with."""
    c, h, w = img.shape
    theta = torch.tensor(matrix, dtype=torch.float32).reshape(1, 2, 3)
    base = torch.empty(1, h, w, 3)
    base[..., 0] = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, w)
    base[..., 1] = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, h).unsqueeze(-1)
    base[..., 2] = 1.0
    grid = base.view(1, h * w, 3).bmm(theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h]))
    grid = grid.view(1, h, w, 2)
    sample = torch.nn.functional.grid_sample
    out = sample(torch.from_numpy(img)[None], grid, mode, "zeros", align_corners=False)[0]
    mask = sample(torch.ones(1, 1, h, w), grid, mode, "zeros", align_corners=False)[0, 0]
    return out.numpy(), mask.numpy()


def test_random_rotation_matches_torchvisions_formula(torch):
    img = RNG.random((2, 9, 11)).astype(np.float32)
    for angle, center in ((33.0, None), (-17.0, (3.0, 4.0))):
        ours = T.RandomRotation((angle, angle), center=center)(nerve.tensor(img))._data
        center_f = [0.0, 0.0] if center is None else [center[0] - 5.5, center[1] - 4.5]
        want, _ = tv_warp(
            torch, img, tv_inverse_matrix(center_f, -angle, (0, 0), 1.0, (0, 0)), "nearest"
        )
        np.testing.assert_array_equal(ours, want)
    ours = T.RandomRotation((25, 25), T.InterpolationMode.BILINEAR)(nerve.tensor(img))._data
    want, mask = tv_warp(
        torch, img, tv_inverse_matrix([0, 0], -25, (0, 0), 1.0, (0, 0)), "bilinear"
    )
    inside = mask == 1  # torchvision blends the border with the fill a second time
    np.testing.assert_allclose(ours[:, inside], want[:, inside], rtol=1e-5, atol=1e-5)


def test_random_affine_matches_torchvisions_formula(torch):
    img = RNG.random((1, 12, 10)).astype(np.float32)
    t = T.RandomAffine((20, 20), scale=(1.3, 1.3), shear=(8, 8, -5, -5))
    want, _ = tv_warp(torch, img, tv_inverse_matrix([0, 0], 20, (0, 0), 1.3, (8, -5)), "nearest")
    np.testing.assert_array_equal(t(nerve.tensor(img))._data, want)
    # translations: whole pixels within translate * (width, height), in torchvision's direction
    dot = np.zeros((1, 12, 10), np.float32)
    dot[0, 6, 5] = 1.0
    for seed in range(5):
        shift = data_transforms.RandomAffine(0, translate=(0.3, 0.2), generator=seed)
        moved = shift(dot[None])[0]
        ((row, col),) = np.argwhere(moved[0] == 1.0)
        dx, dy = col - 5, row - 6
        assert abs(dx) <= 3 and abs(dy) <= 2.4 and moved.sum() == 1.0
        ours = data_transforms.RandomAffine(0, translate=(0.3, 0.2), generator=seed)(img[None])[0]
        want, _ = tv_warp(
            torch, img, tv_inverse_matrix([0, 0], 0, (dx, dy), 1.0, (0, 0)), "nearest"
        )
        np.testing.assert_array_equal(ours, want)


def test_random_transforms_draw_once_per_call_for_all_channels():
    img = np.repeat(RNG.random((1, 16, 16)).astype(np.float32), 3, axis=0)
    for t in (
        T.RandomRotation(40),
        T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10),
        T.RandomHorizontalFlip(),
        T.RandomVerticalFlip(),
        T.RandomCrop(10, padding=2),
        T.RandomErasing(p=1.0),
    ):
        outs = [t(nerve.tensor(img))._data for _ in range(12)]
        for out in outs:  # one draw for the whole image: channels stay equal
            np.testing.assert_array_equal(out[0], out[1])
            np.testing.assert_array_equal(out[0], out[2])
        assert len({o.tobytes() for o in outs}) > 1, t  # a new draw each call


def test_flips_and_arrays_keep_their_form():
    img = RNG.integers(0, 256, (4, 5), dtype=np.uint8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(img), img[::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(img), img)
    rotated = T.RandomRotation(30)(img)
    assert isinstance(rotated, np.ndarray) and rotated.dtype == np.uint8 and rotated.shape == (4, 5)
    rgb = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(rgb), rgb[:, ::-1])
    with pytest.raises(TypeError, match="img should be a Tensor"):
        T.RandomRotation(3)([[1, 2]])
    with pytest.raises(NotImplementedError, match="expand=True"):
        T.RandomRotation(3, expand=True)
    with pytest.raises(ValueError, match="it must be positive"):
        T.RandomRotation(-3)
    with pytest.raises(TypeError, match="should be a Tensor"):
        T.RandomErasing()(img)


class Digits(Dataset):
    image = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)

    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.transform(self.image), i % 10


def test_per_sample_augmentation_in_a_loader_draws_per_image_and_reproduces():
    aug = T.Compose([T.RandomRotation(30), T.RandomCrop(28, padding=2), T.ToTensor()])
    nerve.manual_seed(5)
    x, y = next(iter(DataLoader(Digits(aug), batch_size=8, shuffle=True)))
    assert x.shape == (8, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    assert len({x._data[i].tobytes() for i in range(8)}) == 8  # every image its own draw
    nerve.manual_seed(5)
    again, _ = next(iter(DataLoader(Digits(aug), batch_size=8, shuffle=True)))
    np.testing.assert_array_equal(again._data, x._data)
