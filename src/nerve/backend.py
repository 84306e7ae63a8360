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


# Array types of other devices -> their array module (CuPy's ndarray -> cupy); filled by
# nerve.device when a device backend loads. NumPy's own arrays never reach the lookup.
DEVICE_MODULES: dict = {}


def array_module_of(*arrays):
    """The array module (NumPy, or CuPy for arrays on a CUDA device) of the first array given
    that lives on a device other than the CPU; NumPy when all are NumPy arrays or scalars.

    Ops take their creation functions (``zeros``, ``empty``, ``arange``...) from it, so one
    definition runs on either device. It costs a type check per argument on the CPU.

    >>> array_module_of(xp.ones(2)).__name__
    'numpy'
    """
    for a in arrays:
        t = type(a)
        if t is not xp.ndarray:
            module = DEVICE_MODULES.get(t)
            if module is not None:
                return module
    return xp


def as_device_array(data):
    """``data`` as it is when it is an array of any device (NumPy's or a device's), else as a
    NumPy array: ``np.asarray`` for code that takes lists and scalars without moving a device
    array to the host (which CuPy refuses)."""
    if type(data) is xp.ndarray or type(data) in DEVICE_MODULES:
        return data
    return xp.asarray(data)


def get_default_dtype() -> xp.dtype:
    """The dtype of new float tensors (Python floats, ``nerve.zeros``, ``nerve.rand``...).

    >>> get_default_dtype()
    dtype('float32')
    """
    return xp.dtype(DEFAULT_FLOAT)


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (a floating-point dtype: float32, float64 or float16) the default float.

    Like torch.set_default_dtype: it changes what Python floats and the creation functions give,
    never the dtype of an existing tensor or of NumPy data handed in.

    Raises:
        TypeError: ``dtype`` is not a floating-point dtype.
    """
    global DEFAULT_FLOAT
    try:
        dt = xp.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"set_default_dtype expects a dtype such as nerve.float64, got {dtype!r}"
        ) from None
    if dt.kind != "f":
        raise TypeError(
            f"only floating-point types are supported as the default type, got {dt} "
            "(set_default_dtype)"
        )
    DEFAULT_FLOAT = dt.type


def manual_seed(seed: int) -> None:
    """Seed the generator behind every random op in nerve, on the CPU and on every device
    (as torch.manual_seed seeds CUDA too)."""
    global _generator
    if not isinstance(seed, (int, xp.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    _generator = xp.random.default_rng(int(seed))
    seed_devices(int(seed))


def rng() -> xp.random.Generator:
    """The generator every random op draws from on the CPU (replaced by manual_seed)."""
    return _generator


# The device generators: array module -> its Generator, made on first use from the seed of the
# latest manual_seed (or from fresh entropy before any), so device draws are reproducible too.
_device_generators: dict = {}
_device_seed: list = [None]


def seed_devices(seed: int) -> None:
    """Seed the generators of the devices only (``nerve.cuda.manual_seed``)."""
    _device_seed[0] = int(seed)
    _device_generators.clear()


def rng_for(module):
    """The generator that makes random arrays with ``module`` (NumPy: :func:`rng`; CuPy: a
    ``cupy.random.Generator``, which has ``random``, ``standard_normal``, ``integers`` and
    ``uniform``, not NumPy's ``normal``, ``permutation`` or ``choice``).

    Ops draw with ``rng_for(array_module_of(x))`` so that their samples are made where their
    data lives.

    >>> rng_for(xp) is rng()
    True
    """
    if module is xp:
        return _generator
    g = _device_generators.get(module)
    if g is None:
        g = _device_generators[module] = module.random.default_rng(_device_seed[0])
    return g


class Generator:
    """A seedable random stream, as ``torch.Generator``: ``Generator().manual_seed(42)``.

    Functions and loaders that take ``generator=`` draw from it instead of nerve's global
    generator. Inside is a NumPy ``Generator`` (``.rng``).

    >>> g = Generator().manual_seed(7)
    >>> g.initial_seed()
    7
    """

    def __init__(self, device="cpu"):
        from nerve.device import as_device

        self.device = as_device(device)
        self.seed()

    def manual_seed(self, seed) -> Generator:
        if not isinstance(seed, (int, xp.integer)) or isinstance(seed, bool):
            raise TypeError(f"Generator.manual_seed expects an int, got {type(seed).__name__}")
        self._seed = int(seed) % 2**64
        self.rng = xp.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(xp.random.SeedSequence().entropy) % 2**63)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.rng.bit_generator.state = state
        return self


def set_num_threads(n: int) -> None:
    """Limit the BLAS thread pool to ``n`` threads (needs threadpoolctl).

    OpenBLAS threads spin while waiting; when another process takes a core they thrash, so on a
    shared machine one thread can be several times faster than two. ``n`` > 1 also lets nerve
    split large memory-bound ops (ReLU's backward, max pooling: from about 1M elements) over
    ``n`` threads (:mod:`nerve.primitives.threads`); 1 turns that off.
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
    for hook in THREAD_HOOKS:
        hook(int(n))


_thread_limit = None
# Called with n by set_num_threads: nerve.primitives.threads (a level up, so not importable
# here) registers its pool, which splits large elementwise work over n threads.
THREAD_HOOKS: list = []
