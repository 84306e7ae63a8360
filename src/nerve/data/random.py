"""Where the data pipeline draws its random numbers from.

A transform or loader given its own ``generator`` (a ``numpy.random.Generator`` or an int seed)
draws from it. Otherwise it draws from the generator a DataLoader installs for the batches it
is building (per thread, so a prefetch thread reproduces the same epoch as the main thread),
and outside a loader from nerve's one generator, which ``nerve.manual_seed`` seeds.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from nerve import backend

_local = threading.local()


def as_generator(generator, owner: str) -> np.random.Generator | None:
    """None, an int seed or a Generator -> None or a Generator."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"{owner}: generator must be a numpy.random.Generator, an int seed or None, "
        f"got {type(generator).__name__}"
    )


def current(own: np.random.Generator | None = None) -> np.random.Generator:
    """The generator to draw from: ``own``, else the active loader's, else nerve's."""
    if own is not None:
        return own
    active = getattr(_local, "generator", None)
    return active if active is not None else backend.rng()


@contextlib.contextmanager
def using(generator: np.random.Generator):
    """Make ``generator`` the one :func:`current` returns in this thread, for a while."""
    previous = getattr(_local, "generator", None)
    _local.generator = generator
    try:
        yield generator
    finally:
        _local.generator = previous
