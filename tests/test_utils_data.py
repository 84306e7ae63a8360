"""nerve.utils.data: torch.utils.data's names and semantics, compared with torch where it runs."""

import collections
import threading

import numpy as np
import pytest

import nerve
from nerve.autograd.tensor import Tensor
from nerve.utils import data as D

X = np.random.default_rng(0).random((10, 3)).astype(np.float32)
Y = np.arange(10)


def as_numpy(t):
    return t._data if isinstance(t, Tensor) else t.numpy()


def test_import_forms_reach_the_one_implementation():
    import nerve.data
    import nerve.utils.data
    from nerve.utils.data import DataLoader, TensorDataset
    from nerve.utils.data.dataloader import default_collate
    from nerve.utils.data.sampler import RandomSampler

    assert nerve.utils.data is D
    assert DataLoader is nerve.data.DataLoader and TensorDataset is nerve.data.TensorDataset
    assert default_collate is nerve.data.default_collate
    assert RandomSampler is nerve.data.RandomSampler
    assert nerve.utils.to_categorical([1], 2).tolist() == [[0.0, 1.0]]  # utils.py's names kept


def test_public_names_cover_torchs(torch):
    wanted = {
        "Dataset", "IterableDataset", "TensorDataset", "DataLoader", "random_split", "Subset",
        "ConcatDataset", "ChainDataset", "default_collate", "default_convert",
        "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler",
        "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
    }  # fmt: skip
    assert wanted <= set(dir(torch.utils.data))  # the names are torch's
    assert wanted <= set(D.__all__)


def test_tensor_dataset_items_are_tensors_like_torchs(torch):
    ours = D.TensorDataset(nerve.tensor(X), nerve.tensor(Y))
    ref = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y))
    assert len(ours) == len(ref) == 10
    for i in (0, 3, -1):
        got, want = ours[i], ref[i]
        assert isinstance(got, tuple) and all(isinstance(g, Tensor) for g in got)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape) and str(w.dtype) == f"torch.{g.dtype}"
            np.testing.assert_array_equal(g._data, w.numpy())
    sl = ours[2:5]
    assert sl[0].shape == (3, 3) and sl[1].tolist() == [2, 3, 4]
    assert all(isinstance(t, Tensor) for t in ours.tensors)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(Y[:9]))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(nerve.tensor(X), nerve.tensor(Y[:9]))


def test_tensor_dataset_from_numpy_float64_holds_float32():
    ds = D.TensorDataset(X.astype(np.float64), Y)
    assert ds[0][0].dtype == np.float32 and ds[0][1].dtype == np.int64


def test_the_tutorial_loop_runs_shuffles_and_learns():
    from nerve import nn, optim
    from nerve.nn import functional as F

    rng = np.random.default_rng(1)
    x = nerve.tensor(rng.normal(size=(300, 1, 4, 4)).astype(np.float32))
    y = nerve.tensor((x._data.reshape(300, -1).sum(1) > 0).astype(np.int64))
    loader = D.DataLoader(D.TensorDataset(x, y), batch_size=64, shuffle=True)
    assert len(loader) == 5
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    losses, seen = [], []
    for epoch in range(4):
        for X_, y_ in loader:
            assert X_.dtype == np.float32 and y_.dtype == np.int64 and X_.shape[1:] == (1, 4, 4)
            if epoch == 0:
                seen.append(y_.shape[0])
            loss = F.cross_entropy(model(X_), y_)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert seen == [64, 64, 64, 64, 44]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


def order_of(loader):
    return np.concatenate([as_numpy(b[1]) for b in loader]).tolist()


def test_shuffle_follows_manual_seed_and_a_generator_object(torch):
    ds = D.TensorDataset(X, Y)
    nerve.manual_seed(3)
    a = order_of(D.DataLoader(ds, batch_size=4, shuffle=True))
    nerve.manual_seed(3)
    b = order_of(D.DataLoader(ds, batch_size=4, shuffle=True))
    assert a == b and sorted(a) == list(range(10)) and a != list(range(10))
    # torch code passes generator=torch.Generator().manual_seed(n): anything with initial_seed()
    seeded = torch.Generator().manual_seed(5)
    g = order_of(D.DataLoader(ds, batch_size=4, shuffle=True, generator=seeded))
    h = order_of(D.DataLoader(ds, batch_size=4, shuffle=True, generator=5))
    assert g == h


class Pairs(D.Dataset):
    """A torch-style map dataset: (image, label) with a transform, read sample by sample."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])


def test_dataset_subclass_with_a_transform_batches_as_torch(torch):
    from nerve.vision import transforms as T

    images = np.random.default_rng(2).integers(0, 256, (7, 5, 5), dtype=np.uint8)
    labels = np.arange(7) % 3
    ours = D.DataLoader(
        Pairs(images, labels, T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))])),
        batch_size=3,
    )

    def torch_transform(a):
        return (torch.from_numpy(a)[None].float().div(255) - 0.5) / 0.25

    ref = torch.utils.data.DataLoader(Pairs(images, labels, torch_transform), batch_size=3)
    assert len(ours) == len(ref) == 3
    for (xo, yo), (xr, yr) in zip(ours, ref):
        assert xo.shape == tuple(xr.shape) and xo.dtype == np.float32
        np.testing.assert_allclose(xo._data, xr.numpy(), rtol=1e-6, atol=1e-6)
        assert yo.dtype == np.int64 and yo.tolist() == yr.tolist()


Point = collections.namedtuple("Point", ["x", "y"])

SAMPLES = {
    "tuple": [(np.ones(2, np.float32) * i, i) for i in range(3)],
    "dict": [{"a": np.full((2, 2), i, np.float32), "b": i, "name": f"s{i}"} for i in range(3)],
    "list": [[i, np.int32(i)] for i in range(3)],
    "namedtuple": [Point(np.float32(i), i) for i in range(3)],
    "bools": [True, False, True],
    "nested": [((i, i + 1), {"k": np.arange(3) + i}) for i in range(2)],
}


def structure(batch, module):
    """(type name, dtype or value) leaves, torch and nerve spelled alike."""
    if isinstance(batch, (Tensor, module.Tensor)):
        arr = as_numpy(batch)
        return ("tensor", str(arr.dtype), arr.tolist())
    if isinstance(batch, dict):
        return {k: structure(v, module) for k, v in batch.items()}
    if isinstance(batch, tuple):
        return (type(batch).__name__, [structure(b, module) for b in batch])
    if isinstance(batch, list):
        return ["list", [structure(b, module) for b in batch]]
    return batch


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_default_collate_matches_torch(torch, kind):
    ours = structure(D.default_collate(SAMPLES[kind]), torch)
    ref = structure(torch.utils.data.default_collate(SAMPLES[kind]), torch)
    assert ours == ref


def test_default_collate_python_floats_are_nerves_float32(torch):
    ours = D.default_collate([0.5, 1.5])
    assert ours.dtype == np.float32  # torch: float64; nerve keeps its default float
    assert ours.tolist() == torch.utils.data.default_collate([0.5, 1.5]).tolist()


@pytest.mark.parametrize(
    "sample",
    [
        np.array([1, 2]),
        (np.zeros(2, np.float32), 3),
        {"a": np.int64(4), "b": "x"},
        7,
        "text",
        [np.ones(1, np.float32)],
    ],
)
def test_default_convert_matches_torch(torch, sample):
    ours = structure(D.default_convert(sample), torch)
    ref = structure(torch.utils.data.default_convert(sample), torch)
    assert ours == ref


def test_float64_arrays_become_nerves_float32():
    assert D.default_convert(np.zeros(2)).dtype == np.float32  # torch: float64
    assert D.default_collate([np.zeros(2), np.ones(2)]).dtype == np.float32
    kept = nerve.tensor(np.zeros(2), dtype=np.float64)
    assert D.default_collate([kept, kept]).dtype == np.float64  # a Tensor keeps its dtype


def test_collate_errors():
    with pytest.raises(ValueError, match="equal size"):
        D.default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match="same shape"):
        D.default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        D.default_collate([object()])


def test_unbatched_loader_converts_like_torch(torch):
    samples = [(np.arange(2) + i, i) for i in range(3)]
    ours = list(D.DataLoader(Pairs([s[0] for s in samples], [s[1] for s in samples]), None))
    ref = list(torch.utils.data.DataLoader(samples, batch_size=None))
    assert [structure(o, torch) for o in ours] == [structure(r, torch) for r in ref]


def stream_class(base, worker_info):
    """The same IterableDataset written against torch or nerve (base and get_worker_info)."""

    class Stream(base):
        def __init__(self, n, sized=True):
            self.n, self.sized = n, sized

        def __iter__(self):
            info = worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter([(np.full(2, i, np.float32), i) for i in range(start, self.n, step)])

        def __len__(self):
            if not self.sized:
                raise TypeError("no length")
            return self.n

    return Stream


Stream = stream_class(D.IterableDataset, D.get_worker_info)


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_batches_and_length_as_torch(torch, drop_last):
    TorchStream = stream_class(torch.utils.data.IterableDataset, torch.utils.data.get_worker_info)
    ours = D.DataLoader(Stream(7), batch_size=3, drop_last=drop_last)
    ref = torch.utils.data.DataLoader(TorchStream(7), batch_size=3, drop_last=drop_last)
    assert len(ours) == len(ref)
    got, want = [b[1].tolist() for b in ours], [b[1].tolist() for b in ref]
    assert got == want
    assert [b[1] for b in D.DataLoader(Stream(3), batch_size=None)] == [0, 1, 2]  # ints kept
    with pytest.raises(TypeError):
        len(D.DataLoader(Stream(3, sized=False), batch_size=2))
    chained = D.DataLoader(Stream(2) + Stream(3), batch_size=5)
    assert [b[1].tolist() for b in chained] == [[0, 1, 0, 1, 2]]


def test_workers_run_in_one_thread_and_give_the_same_batches():
    calls = []
    kwargs = {"batch_size": 3, "shuffle": True, "generator": 4}
    plain = order_of(D.DataLoader(D.TensorDataset(X, Y), **kwargs))
    threaded = D.DataLoader(
        D.TensorDataset(X, Y),
        num_workers=2,
        pin_memory=True,
        timeout=30,
        worker_init_fn=calls.append,
        prefetch_factor=2,
        persistent_workers=True,
        **kwargs,
    )
    assert order_of(threaded) == plain and calls == [0]
    assert D.get_worker_info() is None
    # an IterableDataset that shards by worker sees worker 0 of 1 and yields everything once
    assert order_of(D.DataLoader(Stream(5), batch_size=2, num_workers=3)) == [0, 1, 2, 3, 4]
    names = {t.name for t in threading.enumerate()}
    assert "nerve-DataLoader-prefetch" not in names


def test_timeout_raises_as_torch():
    class Slow(Pairs):
        def __getitem__(self, i):
            threading.Event().wait(0.5)
            return super().__getitem__(i)

    loader = D.DataLoader(Slow(X, Y), batch_size=2, num_workers=1, timeout=0.05)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.05 seconds"):
        next(iter(loader))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
        {"shuffle": True, "sampler": [0, 1]},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
    ],
)
def test_argument_conflicts_raise_where_torch_raises(torch, kwargs):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(ValueError):
        D.DataLoader(D.TensorDataset(np.arange(4)), **kwargs)


def test_iterable_dataset_refuses_shuffle_and_samplers(torch):
    TorchStream = stream_class(torch.utils.data.IterableDataset, torch.utils.data.get_worker_info)
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
            torch.utils.data.DataLoader(TorchStream(2), **kwargs)
        with pytest.raises(ValueError, match="IterableDataset: expected unspecified"):
            D.DataLoader(Stream(2), **kwargs)


@pytest.mark.parametrize(
    "n, lengths", [(10, [3, 7]), (11, [0.5, 0.5]), (10, [0.33, 0.33, 0.34]), (5, [0.1, 0.9])]
)
def test_random_split_as_torch(torch, n, lengths):
    ours = D.random_split(D.TensorDataset(np.arange(n)), lengths)
    ref = torch.utils.data.random_split(range(n), lengths)
    assert [len(p) for p in ours] == [len(p) for p in ref]
    flat = sorted(int(p[i][0]) for p in ours for i in range(len(p)))
    assert flat == list(range(n))
    assert all(isinstance(p, D.Subset) for p in ours)


def test_random_split_warns_on_an_empty_part_as_torch():
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        D.random_split(D.TensorDataset(np.arange(3)), [1.0, 0.0])


def test_concat_and_subset_index_as_torch(torch):
    a, b = [(i, -i) for i in range(3)], [(10 + i, i) for i in range(4)]

    class Listed(D.Dataset):
        def __init__(self, items):
            self.items = items

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    ours = D.ConcatDataset([Listed(a), Listed(b)])
    ref = torch.utils.data.ConcatDataset([a, b])
    assert len(ours) == len(ref) and ours.cumulative_sizes == ref.cumulative_sizes
    assert [ours[i] for i in range(-7, 7)] == [ref[i] for i in range(-7, 7)]
    assert (Listed(a) + Listed(b))[3] == (10, 0)
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        ours[-8]
    sub = D.Subset(Listed(a + b), [6, 0, 2])
    ref_sub = torch.utils.data.Subset(a + b, [6, 0, 2])
    assert [sub[i] for i in range(3)] == [ref_sub[i] for i in range(3)]
    loader = D.DataLoader(ours, batch_size=4)
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 10], [11, 12, 13]]


def test_samplers_lengths_and_contents_as_torch(torch):
    data = list(range(6))
    pairs = [
        (D.SequentialSampler(data), torch.utils.data.SequentialSampler(data)),
        (D.RandomSampler(data), torch.utils.data.RandomSampler(data)),
        (
            D.RandomSampler(data, num_samples=14),
            torch.utils.data.RandomSampler(data, num_samples=14),
        ),
        (
            D.RandomSampler(data, replacement=True, num_samples=20),
            torch.utils.data.RandomSampler(data, replacement=True, num_samples=20),
        ),
        (D.SubsetRandomSampler([5, 1, 3]), torch.utils.data.SubsetRandomSampler([5, 1, 3])),
    ]
    for ours, ref in pairs:
        got, want = list(ours), list(ref)
        assert len(ours) == len(ref) == len(got) == len(want)
        assert all(type(i) is int for i in got)
        if not getattr(ours, "replacement", False):  # whole permutations, then part of one
            counts = np.bincount(got, minlength=6)
            assert counts.max() - counts.min() <= 1 and set(got) == {int(i) for i in want}
    assert list(D.SequentialSampler(data)) == list(range(6))
    batches = D.BatchSampler(D.SequentialSampler(data), 4, drop_last=False)
    ref = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(data), 4, False)
    assert list(batches) == list(ref) and len(batches) == len(ref)
    assert list(D.BatchSampler(range(5), 2, True)) == list(
        torch.utils.data.BatchSampler(range(5), 2, True)
    )


def test_weighted_random_sampler_draws_by_weight():
    sampler = D.WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, generator=0)
    counts = np.bincount(list(sampler), minlength=3)
    assert counts[0] == 0 and 2.7 < counts[2] / counts[1] < 3.3
    unique = list(D.WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    loader = D.DataLoader(D.TensorDataset(X, Y), batch_size=5, sampler=sampler)
    assert len(loader) == 800


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.RandomSampler(range(3), replacement=1),
        lambda m: m.RandomSampler(range(3), num_samples=0),
        lambda m: m.WeightedRandomSampler([1.0, 2.0], num_samples=-1),
        lambda m: m.WeightedRandomSampler([[1.0, 2.0]], num_samples=2),
        lambda m: m.BatchSampler(range(3), 0, False),
        lambda m: m.BatchSampler(range(3), 2, drop_last=1),
    ],
)
def test_sampler_errors_where_torch_raises(torch, make):
    with pytest.raises((TypeError, ValueError)) as ref:
        make(torch.utils.data)
    with pytest.raises(ref.type):
        make(D)


def test_samplers_are_reproducible_under_manual_seed():
    nerve.manual_seed(9)
    a = order_of(D.DataLoader(D.TensorDataset(X, Y), batch_size=3, sampler=D.RandomSampler(Y)))
    nerve.manual_seed(9)
    b = order_of(D.DataLoader(D.TensorDataset(X, Y), batch_size=3, sampler=D.RandomSampler(Y)))
    assert a == b and sorted(a) == list(range(10))


def test_overridden_getitem_is_honoured_and_getitems_is_used():
    class Doubled(D.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    x, _ = next(iter(D.DataLoader(Doubled(X, Y), batch_size=10)))
    np.testing.assert_allclose(x._data, X * 2)

    class Batched(Pairs):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]

    batches = list(D.DataLoader(Batched(X, Y), batch_size=4))
    assert Batched.calls == 3 and [b[1].tolist() for b in batches][-1] == [8, 9]


TUTORIAL = """
import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, TensorDataset, random_split

RESULTS = {}
x = torch.tensor(np.arange(200, dtype=np.float32).reshape(50, 4) / 100)
y = torch.tensor(np.arange(50) % 3)
ds = TensorDataset(x, y)
loader = DataLoader(ds, batch_size=16)
RESULTS["len"] = len(loader)
for i, (xb, yb) in enumerate(loader):
    RESULTS[f"shape{i}"] = tuple(xb.shape)
    RESULTS[f"sum{i}"] = xb.sum().item()
    RESULTS[f"labels{i}"] = int(yb.sum().item())
train, val = random_split(ds, [0.8, 0.2])
RESULTS["split"] = (len(train), len(val))
RESULTS["drop_last"] = len(DataLoader(train, batch_size=16, drop_last=True))
RESULTS["shuffled"] = sum(int(yb.sum()) for _, yb in DataLoader(ds, batch_size=7, shuffle=True))


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": torch.tensor([float(i), float(i * i)]), "i": i}


batch = next(iter(DataLoader(Squares(), batch_size=4)))
RESULTS["dict_x"] = batch["x"].numpy()
RESULTS["dict_i"] = batch["i"].numpy()
both = ConcatDataset([Squares(), Squares()])
RESULTS["concat"] = (len(both), int(both[13]["i"]))
"""


def test_a_torch_data_program_runs_unchanged_on_nerve(torch, tmp_path):
    from compat import assert_same_results, run_program, to_nerve

    reference = run_program(TUTORIAL, "tutorial.py", tmp_path / "torch")
    ours = run_program(to_nerve(TUTORIAL), "tutorial.py", tmp_path / "nerve")
    assert_same_results(reference, ours)


def test_custom_samplers_and_generic_subscripts_as_torch():
    class Numbers(D.Dataset[int]):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i

    class Backwards(D.Sampler[int]):
        def __iter__(self):
            return iter([4, 3, 2, 1, 0])

        def __len__(self):
            return 5

    class Fixed(D.RandomSampler):  # overrides __iter__: its own order, not the vectorized draw
        def __iter__(self):
            return iter([0, 0, 1])

        def __len__(self):
            return 3

    batches = D.DataLoader(Numbers(), batch_size=2, sampler=Backwards())
    assert [b.tolist() for b in batches] == [[4, 3], [2, 1], [0]]
    assert [b.tolist() for b in D.DataLoader(Numbers(), batch_size=2, sampler=Fixed(range(5)))] == [
        [0, 0],
        [1],
    ]
    assert list(D.DataLoader(Numbers(), batch_size=None, sampler=Fixed(range(5)))) == [0, 0, 1]
