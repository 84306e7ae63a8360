"""The array module, the default float dtype and the one random generator.

Every op is written against ``xp`` so that a CuPy backend can be dropped in later without a second
code path. Every random draw in nerve (initializers, dropout, shuffling, augmentation) goes through
:func:`rng`, so :func:`manual_seed` reproduces a run bit for bit.
"""

from __future__ import annotations

import numpy as xp

DEFAULT_FLOAT = xp.float32
DEFAULT_INT = xp.int64

_generator = xp.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random op in nerve."""
    global _generator
    if not isinstance(seed, (int, xp.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    _generator = xp.random.default_rng(int(seed))


def rng() -> xp.random.Generator:
    """The generator every random op draws from (replaced by manual_seed)."""
    return _generator


def set_num_threads(n: int) -> None:
    """Limit the BLAS thread pool to ``n`` threads (needs threadpoolctl).

    OpenBLAS threads spin while waiting; when another process takes a core they thrash, so on a
    shared machine one thread can be several times faster than two.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "nerve.set_num_threads needs threadpoolctl: pip install threadpoolctl"
        ) from exc
    if int(n) < 1:
        raise ValueError(f"set_num_threads expects n >= 1, got {n}")
    global _thread_limit
    _thread_limit = threadpool_limits(limits=int(n), user_api="blas")


_thread_limit = None
