"""Where the data pipeline draws its random numbers from, and whether it is batching.

A transform or loader given its own ``generator`` (a ``numpy.random.Generator`` or an int seed)
draws from it. Otherwise it draws from the generator a DataLoader installs for the batches it
is building (per thread, so a prefetch thread reproduces the same epoch as the main thread),
and outside a loader from nerve's one generator, which ``nerve.manual_seed`` seeds.

A torch-style generator object (anything with ``initial_seed()``, as ``torch.Generator`` and
its nerve counterpart have) stands for a NumPy generator seeded with that seed.

:func:`batch_of_samples` marks, per thread, that a transform is being given a whole batch
by the loader, so a 3-D array is read as N grayscale images (each with its own random draw)
rather than as one (C, H, W) image.
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
    if isinstance(generator, backend.Generator):
        return generator.rng
    if callable(getattr(generator, "initial_seed", None)):
        return np.random.default_rng(int(generator.initial_seed()))
    raise TypeError(
        f"{owner}: generator must be a numpy.random.Generator, an int seed, an object with "
        f"initial_seed() or None, got {type(generator).__name__}"
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


@contextlib.contextmanager
def batch_of_samples():
    """While active in this thread, transforms read a 3-D array as a batch (N, H, W)."""
    previous = getattr(_local, "batched", False)
    _local.batched = True
    try:
        yield
    finally:
        _local.batched = previous


def batched() -> bool:
    """Whether a loader is handing transforms whole batches in this thread."""
    return getattr(_local, "batched", False)
