"""multinomial, bernoulli, poisson: torch's signatures, shapes and errors; the laws they draw
from checked by counting many draws (seeded, so the tolerances are deterministic)."""

from __future__ import annotations

import numpy as np
import pytest

import nerve


@pytest.fixture(autouse=True)
def _seed():
    nerve.manual_seed(0)


def test_multinomial_with_replacement_follows_the_weights():
    w = nerve.tensor([1.0, 0.0, 3.0, 6.0])  # unnormalized, one impossible category
    draws = nerve.multinomial(w, 20000, replacement=True)
    assert draws.shape == (20000,) and draws.dtype == nerve.int64
    freq = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.01)


def test_multinomial_rows_are_independent_distributions():
    w = nerve.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    draws = nerve.multinomial(w, 500, replacement=True).numpy()
    assert draws.shape == (2, 500)
    assert (draws[0] == 2).all() and set(np.unique(draws[1])) == {0, 1}


def test_multinomial_without_replacement_is_distinct_and_favours_heavy_categories():
    w = nerve.tensor([[5.0, 1.0, 1.0, 1.0, 0.0]] * 4000)
    draws = nerve.multinomial(w, 3).numpy()
    assert all(len(set(r)) == 3 for r in draws[:200]) and (draws != 4).all()
    # the first pick is category 0 with probability 5/8; sequential sampling's law
    np.testing.assert_allclose((draws[:, 0] == 0).mean(), 5 / 8, atol=0.02)


def test_multinomial_sampling_line_of_a_char_rnn():
    logits = nerve.randn(3, 97)
    nxt = nerve.multinomial(nerve.nn.functional.softmax(logits / 0.5, dim=-1), 1)
    assert nxt.shape == (3, 1) and int(nxt.max()) < 97


def test_multinomial_is_reproducible_with_a_generator():
    w = nerve.rand(10)
    a = nerve.multinomial(w, 5, generator=nerve.Generator().manual_seed(3))
    b = nerve.multinomial(w, 5, generator=nerve.Generator().manual_seed(3))
    assert (a.numpy() == b.numpy()).all()


@pytest.mark.parametrize(
    ("weights", "n", "replacement", "message"),
    [
        ([1.0, -1.0], 1, True, "element < 0"),
        ([1.0, float("nan")], 1, True, "nan"),
        ([0.0, 0.0], 1, True, "sum of probabilities <= 0"),
        ([1.0, 1.0], 3, False, r"n_sample \(3\) > prob_dist.size\(-1\) \(2\)"),
        ([1.0, 0.0, 0.0], 2, False, "not enough non-negative category"),
        ([1.0], 0, True, "n_sample <= 0"),
        ([[[1.0]]], 1, True, "1 or 2 dim"),
    ],
)
def test_multinomial_errors_say_what_is_wrong(weights, n, replacement, message):
    with pytest.raises(ValueError, match=message):
        nerve.multinomial(nerve.tensor(weights), n, replacement=replacement)


def test_multinomial_refuses_integer_weights():
    with pytest.raises(ValueError, match="floating-point"):
        nerve.multinomial(nerve.tensor([1, 2]), 1)


def test_bernoulli_draws_ones_with_the_given_probabilities():
    p = nerve.tensor([0.0, 0.25, 1.0]).expand(20000, 3).contiguous()
    draws = nerve.bernoulli(p)
    assert draws.dtype == nerve.float32 and draws.shape == (20000, 3)
    np.testing.assert_allclose(draws.numpy().mean(axis=0), [0.0, 0.25, 1.0], atol=0.01)
    scalar_p = nerve.bernoulli(nerve.zeros(20000), 0.75).numpy()
    assert abs(scalar_p.mean() - 0.75) < 0.01


@pytest.mark.parametrize("p", [nerve.tensor([0.5, 1.5]), nerve.tensor([float("nan")])])
def test_bernoulli_refuses_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match="0 <= p <= 1"):
        nerve.bernoulli(p)


def test_poisson_has_the_rates_as_means():
    rates = nerve.tensor([0.0, 2.0, 10.0]).expand(20000, 3).contiguous()
    draws = nerve.poisson(rates)
    assert draws.dtype == nerve.float32
    np.testing.assert_allclose(draws.numpy().mean(axis=0), [0.0, 2.0, 10.0], atol=0.1)
    with pytest.raises(ValueError, match="finite and >= 0"):
        nerve.poisson(nerve.tensor([-1.0]))


def test_same_signatures_and_shapes_as_torch(torch):
    w = np.random.default_rng(0).random((4, 6)).astype(np.float32)
    for n, replacement in ((3, False), (9, True)):
        ours = nerve.multinomial(nerve.tensor(w), n, replacement)
        theirs = torch.multinomial(torch.tensor(w), n, replacement)
        assert tuple(ours.shape) == tuple(theirs.shape) and str(theirs.dtype) == "torch.int64"
    assert nerve.bernoulli(nerve.tensor(w)).dtype == nerve.float32
    assert str(torch.bernoulli(torch.tensor(w)).dtype) == "torch.float32"
