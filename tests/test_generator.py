"""nerve.Generator: torch.Generator's seedable stream for generator= arguments."""

import numpy as np
import pytest

import nerve
from nerve.utils.data import DataLoader, TensorDataset, random_split

# what nerve does without a GPU: on a GPU machine these run with CUDA hidden (conftest)
pytestmark = pytest.mark.no_cuda


def test_a_seeded_generator_repeats_its_draws():
    g = nerve.Generator().manual_seed(42)
    first = nerve.randn(5, generator=g).numpy()
    g.manual_seed(42)
    np.testing.assert_array_equal(nerve.randn(5, generator=g).numpy(), first)
    state = g.get_state()
    a = nerve.rand(3, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(nerve.rand(3, generator=g).numpy(), a)
    assert g.initial_seed() == 42 and g.device == "cpu"


def test_generators_drive_splits_and_loaders():
    ds = TensorDataset(nerve.arange(20))
    parts = [
        random_split(ds, [0.75, 0.25], generator=nerve.Generator().manual_seed(3)) for _ in "ab"
    ]
    assert [len(p) for p in parts[0]] == [15, 5]
    assert list(parts[0][1].indices) == list(parts[1][1].indices)
    order = [
        [int(b[0][0]) for b in DataLoader(ds, batch_size=1, shuffle=True, generator=g)]
        for g in (nerve.Generator().manual_seed(9), nerve.Generator().manual_seed(9))
    ]
    assert order[0] == order[1] and sorted(order[0]) == list(range(20))


def test_bad_seeds_and_devices():
    with pytest.raises(TypeError, match="expects an int"):
        nerve.Generator().manual_seed(1.5)
    with pytest.raises(RuntimeError, match="not available"):
        nerve.Generator(device="cuda")
