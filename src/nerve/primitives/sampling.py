"""Draws from distributions a tensor describes: ``multinomial``, ``bernoulli``, ``poisson``.

torch's functions of these names (the sampling line of every character-level RNN tutorial is
``torch.multinomial(F.softmax(logits / T, -1), 1)``). The samples carry no gradient and are made
on the device of their input, from nerve's generator (see ``manual_seed``) or ``generator=``.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives.creation import _rng

__all__ = ["bernoulli", "multinomial", "poisson"]


def _array(x, what: str):
    if isinstance(x, Tensor):
        return x._data
    raise TypeError(f"{what} expects a Tensor, got {type(x).__name__}")


def _host_draws(g, xp, draw):
    """``draw(generator)`` made where the data lives (a given host generator's draws are
    copied to the device)."""
    out = draw(g)
    return out if type(out) is not np.ndarray or xp is np else xp.asarray(out)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Category indices drawn with the probabilities of each row of ``input`` (torch's).

    ``input`` holds non-negative weights, one distribution per row (1-d: one distribution);
    they need not sum to 1. Returns int64 indices of shape ``(num_samples,)`` or
    ``(rows, num_samples)``. Without replacement a row's indices are distinct, drawn one
    after another with the remaining weights renormalized (an exponential race: the same law).

    >>> import nerve
    >>> nerve.manual_seed(0)
    >>> nerve.multinomial(nerve.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
    tensor([1, 1])

    Raises:
        ValueError: ``input`` is not 1-d or 2-d or not floating point; a weight is negative,
            infinite or NaN; a row sums to 0; ``num_samples`` < 1; or, without replacement,
            more samples are asked than a row has categories of non-zero weight.
    """
    w = _array(input, "multinomial")
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(w.shape)}")
    if w.dtype.kind != "f":
        raise ValueError(
            f"multinomial only supports floating-point dtypes for input, got {w.dtype}"
        )
    n = int(num_samples)
    if n < 1:
        raise ValueError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
    xp = array_module_of(w)
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    categories = rows.shape[1]
    rows = rows.astype(np.float64)
    if bool((~np.isfinite(rows)).any()) or bool((rows < 0).any()):
        raise ValueError("multinomial: probability tensor contains either inf, nan or element < 0")
    total = rows.sum(axis=1, keepdims=True)
    if bool((total <= 0).any()):
        raise ValueError(
            "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
        )
    g = _rng(generator, "multinomial", xp)
    if not replacement:
        if n > categories:
            raise ValueError(
                f"multinomial: cannot sample n_sample ({n}) > prob_dist.size(-1) "
                f"({categories}) samples without replacement"
            )
        if int((rows > 0).sum(axis=1).min()) < n:
            raise ValueError(
                "multinomial: invalid multinomial distribution (with replacement=False, not "
                f"enough non-negative category to sample: {n} asked)"
            )
        # Each category's exponential clock E/w rings in the order sequential draws pick them.
        u = _host_draws(g, xp, lambda g: g.random(rows.shape))
        with np.errstate(divide="ignore"):
            keys = -np.log1p(-u) / rows  # weight 0: an infinite wait, never picked
        picks = np.argsort(keys, axis=1, kind="stable")[:, :n]
    else:
        cdf = np.cumsum(rows / total, axis=1)
        cdf[:, -1] = 1.0  # rounding must not leave a gap above the last category
        # One searchsorted over all rows: row r's CDF is shifted to [r, r + 1].
        offsets = xp.arange(len(rows), dtype=np.float64)[:, None]
        u = _host_draws(g, xp, lambda g: g.random((len(rows), n)))
        flat = (cdf + offsets).reshape(-1)
        picks = xp.searchsorted(flat, (u + offsets).reshape(-1), side="right")
        picks = picks.reshape(len(rows), n) - (offsets.astype(np.int64) * categories)
        picks = np.minimum(picks, categories - 1)  # u + r rounding up to r + 1
    picks = picks.astype(np.int64, copy=False)
    return Tensor._wrap(picks.reshape(n) if w.ndim == 1 else picks)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 draws, 1 with probability ``input`` (or ``p`` for every element), as torch's.

    Returns a tensor of ``input``'s shape and dtype.

    Raises:
        ValueError: a probability lies outside [0, 1].
    """
    a = _array(input, "bernoulli")
    if p is None:
        if a.dtype.kind != "f":
            raise ValueError(
                f"bernoulli expects a floating-point tensor of probabilities, got {a.dtype}"
            )
        prob = a
    else:
        prob = p._data if isinstance(p, Tensor) else float(p)
    if isinstance(prob, float):
        low = high = prob
    else:
        low, high = (float(prob.min()), float(prob.max())) if prob.size else (0.0, 0.0)
    if not (low >= 0 and high <= 1):  # NaN fails too
        raise ValueError(f"bernoulli: expected 0 <= p <= 1, got values in [{low}, {high}]")
    xp = array_module_of(a)
    g = _rng(generator, "bernoulli", xp)
    u = _host_draws(g, xp, lambda g: g.random(a.shape))
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
    return Tensor._wrap((u < prob).astype(dtype))


def poisson(input, generator=None) -> Tensor:
    """Counts drawn from Poisson distributions with the rates in ``input`` (torch's), in
    ``input``'s dtype.

    Raises:
        ValueError: a rate is negative or not finite.
    """
    a = _array(input, "poisson")
    if a.dtype.kind != "f":
        raise ValueError(f"poisson expects a floating-point tensor of rates, got {a.dtype}")
    if bool((a < 0).any()) or bool((~np.isfinite(a)).any()):
        raise ValueError("poisson: every rate must be finite and >= 0")
    xp = array_module_of(a)
    g = _rng(generator, "poisson", xp)
    draws = _host_draws(g, xp, lambda g: g.poisson(a.astype(np.float64)))
    return Tensor._wrap(draws.astype(a.dtype))
