"""nerve.data: datasets, DataLoader (batching, shuffling, samplers, collate, prefetch), splits."""

import gc
import threading

import numpy as np
import pytest

import nerve
from nerve.autograd.tensor import Tensor
from nerve.data import (
    ArrayDataset,
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
    train_test_split,
)
from nerve.data.transforms import RandomHorizontalFlip, ToFloat

X = np.arange(40, dtype=np.float64).reshape(10, 2, 2)
Y = np.arange(10)


class Pairs(Dataset):
    """A generic (not array-backed) dataset, read sample by sample."""

    def __init__(self, n=10):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        return {"image": X[i], "meta": (i, float(i) / 2)}, int(Y[i])


def test_tensor_dataset_and_loader_yield_tensors_in_order():
    loader = DataLoader(TensorDataset(X, Y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    for data, target in loader:  # the PyTorch loop
        assert isinstance(data, Tensor) and isinstance(target, Tensor)
    data, target = batches[0]
    assert data.dtype == np.float32 and target.dtype == np.int64  # float64 -> nerve's float32
    np.testing.assert_array_equal(np.concatenate([b[1]._data for b in batches]), Y)
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert [b[0].shape[0] for b in DataLoader(TensorDataset(X, Y), 4, drop_last=True)] == [4, 4]
    assert len(DataLoader(TensorDataset(X, Y), 4, drop_last=True)) == 2


def test_tensor_dataset_accepts_nerve_tensors_and_indexes():
    ds = TensorDataset(nerve.tensor(X), nerve.tensor(Y))
    x, y = ds[3]
    np.testing.assert_array_equal(x, X[3].astype(np.float32))
    assert int(y) == 3 and len(ds) == 10


def test_array_backed_batches_use_one_take_not_per_sample_reads(monkeypatch):
    ds = TensorDataset(X, Y)
    monkeypatch.setattr(
        TensorDataset, "__getitem__", lambda self, i: pytest.fail("read one sample at a time")
    )
    assert len(list(DataLoader(ds, batch_size=3, shuffle=True))) == 4
    assert len(list(DataLoader(Subset(ds, [1, 2, 3]), batch_size=2))) == 2


def test_shuffle_is_a_permutation_reproducible_by_seed_and_redrawn_per_epoch():
    loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, generator=5)
    epoch1 = np.concatenate([t._data for _, t in loader])
    epoch2 = np.concatenate([t._data for _, t in loader])
    assert sorted(epoch1) == list(range(10)) and not np.array_equal(epoch1, epoch2)
    again = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, generator=5)
    np.testing.assert_array_equal(np.concatenate([t._data for _, t in again]), epoch1)
    nerve.manual_seed(1)
    a = np.concatenate([t._data for _, t in DataLoader(TensorDataset(X, Y), 4, shuffle=True)])
    nerve.manual_seed(1)
    b = np.concatenate([t._data for _, t in DataLoader(TensorDataset(X, Y), 4, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_generic_dataset_default_collate_recurses_into_dicts_and_tuples():
    ds = Pairs()
    inputs, target = next(iter(DataLoader(ds, batch_size=4)))
    assert inputs["image"].shape == (4, 2, 2) and inputs["image"].dtype == np.float32
    index, half = inputs["meta"]
    assert index.tolist() == [0, 1, 2, 3] and half.dtype == np.float32
    assert target.tolist() == [0, 1, 2, 3] and ds.reads == 4


def test_default_collate_errors_and_custom_collate():
    with pytest.raises(ValueError, match="same shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="batch must contain tensors.*found <class .object.>"):
        default_collate([object(), object()])
    lengths = DataLoader(TensorDataset(X, Y), batch_size=4, collate_fn=len)
    assert list(lengths) == [4, 4, 2]


def test_sampler_batch_sampler_and_unbatched():
    ds = TensorDataset(X, Y)
    got = [t.tolist() for _, t in DataLoader(ds, batch_size=2, sampler=[9, 8, 7])]
    assert got == [[9, 8], [7]]
    got = [t.tolist() for _, t in DataLoader(ds, batch_sampler=[[0, 5], [2]])]
    assert got == [[0, 5], [2]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 10 and single[3][0].shape == (2, 2) and single[3][1].tolist() == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": -2}, "batch_size must be a positive integer"),
        ({"shuffle": True, "sampler": [0]}, "mutually exclusive with shuffle"),
        ({"batch_sampler": [[0]], "batch_size": 4}, "batch_sampler option is mutually"),
        ({"prefetch": -1}, "prefetch must be an integer >= 0"),
        ({"transform": 3}, "transform must be callable"),
        ({"generator": "seed"}, "generator must be a numpy.random.Generator"),
    ],
)
def test_loader_argument_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        DataLoader(TensorDataset(X, Y), **kwargs)


def test_dataset_errors():
    with pytest.raises(
        ValueError, match=r"Size mismatch between tensors.*got shapes \(10, 2, 2\), \(9,\)"
    ):
        TensorDataset(X, Y[:9])
    with pytest.raises(AssertionError, match="Size mismatch"):  # what torch raises
        TensorDataset(X, Y[:9])
    with pytest.raises(TypeError, match="map-style"):
        DataLoader(iter(range(3)))
    with pytest.raises(IndexError, match="out of range"):
        Subset(TensorDataset(Y), [10])


def test_transform_applies_per_batch_to_inputs_only():
    images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    ds = ArrayDataset(images, np.array([1, 2]), transform=ToFloat(add_channel=True))
    x, y = next(iter(DataLoader(ds, batch_size=2)))
    assert x.shape == (2, 1, 3, 3) and x.dtype == np.float32 and y.tolist() == [1, 2]
    np.testing.assert_allclose(x._data[:, 0], images / 255, rtol=1e-6)
    assert ds[1][0].shape == (1, 3, 3)  # the same transform on one sample
    flip = DataLoader(TensorDataset(X, Y), batch_size=10, transform=RandomHorizontalFlip(p=1.0))
    x, y = next(iter(flip))
    np.testing.assert_array_equal(x._data, X[..., ::-1]) and np.testing.assert_array_equal(y, Y)


def test_prefetch_gives_the_same_epochs_and_stops_its_thread():
    aug = RandomHorizontalFlip(p=0.5)

    def epochs(prefetch):
        loader = DataLoader(
            TensorDataset(X, Y),
            batch_size=3,
            shuffle=True,
            generator=2,
            transform=aug,
            prefetch=prefetch,
        )
        return [np.concatenate([x._data.ravel() for x, _ in loader]) for _ in range(2)]

    for a, b in zip(epochs(0), epochs(2)):
        np.testing.assert_array_equal(a, b)
    loader = DataLoader(TensorDataset(X, Y), batch_size=1, prefetch=1)
    it = iter(loader)
    next(it)
    assert any(t.name == "nerve-DataLoader-prefetch" for t in threading.enumerate())
    del it
    gc.collect()
    assert not any(t.name == "nerve-DataLoader-prefetch" for t in threading.enumerate())


def test_prefetch_passes_errors_to_the_consumer():
    class Broken(Pairs):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("sample 5 is missing")
            return super().__getitem__(i)

    with pytest.raises(KeyError, match="sample 5"):
        list(DataLoader(Broken(), batch_size=2, prefetch=2))


def test_random_split_counts_fractions_and_errors():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [3, 7], generator=0)
    assert [len(p) for p in parts] == [3, 7]
    joined = sorted(int(p[i][0]) for p in parts for i in range(len(p)))
    assert joined == list(range(10))
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(TensorDataset(np.arange(11)), [0.5, 0.5])] == [6, 5]
    a, b = random_split(ds, [5, 5], generator=np.random.default_rng(4))
    c, d = random_split(ds, [5, 5], generator=4)
    np.testing.assert_array_equal(a.indices, c.indices)
    with pytest.raises(ValueError, match="sum to the dataset's 10 samples"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.2])


def test_train_test_split_plain_and_stratified():
    x = np.arange(100).reshape(50, 2)
    y = np.array([0] * 40 + [1] * 10)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, seed=0, stratify=y)
    assert len(x_te) == 10 and len(x_tr) == 40
    assert np.bincount(y_te).tolist() == [8, 2] and np.bincount(y_tr).tolist() == [32, 8]
    np.testing.assert_array_equal(x_tr[:, 0] // 2 >= 40, y_tr == 1)  # rows stay paired
    assert sorted(np.concatenate([x_tr[:, 0], x_te[:, 0]]).tolist()) == list(range(0, 100, 2))
    again = train_test_split(x, y, test_size=0.2, seed=0, stratify=y)
    np.testing.assert_array_equal(again[1], x_te)
    a_tr, a_te = train_test_split(x, test_size=7, shuffle=False)
    np.testing.assert_array_equal(a_te, x[:7])
    with pytest.raises(ValueError, match="x has 50 samples but y has 3"):
        train_test_split(x, y[:3])
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(x, y, test_size=1.5)
    with pytest.raises(ValueError, match="only 1 sample"):
        train_test_split(x, y, stratify=np.array([0] * 49 + [1]))


@pytest.mark.parametrize(
    "n, fractions", [(11, [0.5, 0.5]), (10, [0.33, 0.33, 0.34]), (7, [0.1, 0.9])]
)
def test_random_split_sizes_match_torch(torch, n, fractions):
    ours = [len(p) for p in random_split(TensorDataset(np.arange(n)), fractions, generator=0)]
    ref = [len(p) for p in torch.utils.data.random_split(range(n), fractions)]
    assert ours == ref


def test_loader_lengths_and_collate_dtypes_match_torch(torch):
    samples = [(np.ones((2, 2), np.float32) * i, i, float(i)) for i in range(5)]

    class Listed(Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, i):
            return samples[i]

    for kwargs in ({"batch_size": 2}, {"batch_size": 2, "drop_last": True}, {"batch_size": 5}):
        ours = DataLoader(Listed(), **kwargs)
        ref = torch.utils.data.DataLoader(samples, **kwargs)
        assert len(ours) == len(ref)
        for got, want in zip(ours, ref):
            assert [tuple(g.shape) for g in got] == [tuple(w.shape) for w in want]
            np.testing.assert_array_equal(got[0]._data, want[0].numpy())
            assert got[1].dtype == np.int64 and str(want[1].dtype) == "torch.int64"


def test_pytorch_style_training_loop_on_a_loader():
    from nerve import nn, optim
    from nerve.nn import functional as F

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 1, 4, 4)).astype(np.float32)
    y = (x.reshape(96, -1).sum(1) > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=0, prefetch=2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(5):
        for data, target in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def test_a_grayscale_batch_gets_one_draw_per_image_in_a_loader():
    from nerve.data.transforms import RandomRotation

    images = np.repeat(np.random.default_rng(0).integers(0, 256, (1, 12, 12), np.uint8), 6, 0)
    ds = ArrayDataset(images, np.arange(6), transform=RandomRotation(40))
    x, _ = next(iter(DataLoader(ds, batch_size=6)))
    assert x.shape == (6, 12, 12) and x.dtype == np.uint8
    assert len({x._data[i].tobytes() for i in range(6)}) == 6  # not one angle for the batch
    loader = DataLoader(TensorDataset(images), batch_size=6, transform=RandomRotation(40))
    (x,) = next(iter(loader))
    assert len({x._data[i].tobytes() for i in range(6)}) == 6
    # called directly, a 3-D array is still one (C, H, W) image: one angle for its channels
    out = RandomRotation(40)(images)
    assert len({out[i].tobytes() for i in range(6)}) == 1


def test_mnist_like_torch_loop_is_not_slower_than_the_array_path():
    import time

    x = np.random.default_rng(0).random((6000, 1, 28, 28), dtype=np.float32)
    y = np.arange(6000) % 10

    def epoch(ds):
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            for _xb, _yb in DataLoader(ds, batch_size=64, shuffle=True):
                pass
            best = min(best, time.perf_counter() - start)
        return best

    # both take whole-array batches; the bound is loose for the shared test machine
    assert epoch(TensorDataset(x, y)) < 2.0 * epoch(ArrayDataset(x, y)) + 0.01
