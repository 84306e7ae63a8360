"""nerve: a deep-learning framework on NumPy.

>>> import nerve
>>> w = nerve.randn(3, 2, requires_grad=True)
>>> loss = (nerve.ones(4, 3) @ w).relu().sum()
>>> loss.backward()
>>> w.grad.shape
(3, 2)
"""

import os as _os

import numpy as _np

from nerve import memory
from nerve.autograd import (
    Function,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from nerve.backend import manual_seed, set_num_threads
from nerve.primitives.creation import *  # noqa: F403
from nerve.primitives.elementwise import *  # noqa: F403
from nerve.primitives.indexing import *  # noqa: F403
from nerve.primitives.linalg import *  # noqa: F403
from nerve.primitives.reduction import *  # noqa: F403
from nerve.primitives.shape import *  # noqa: F403

float32 = _np.dtype("float32")
float64 = _np.dtype("float64")
float16 = _np.dtype("float16")
int64 = _np.dtype("int64")
int32 = _np.dtype("int32")
uint8 = _np.dtype("uint8")
bool = _np.dtype("bool")
long = int64
float = float32

__version__ = "0.1.0"

# Large activations are freed and allocated again every step: keep them in the process rather
# than page-faulting them back in (see nerve.memory; NERVE_KEEP_FREED_MEMORY=0 opts out).
if _os.environ.get("NERVE_KEEP_FREED_MEMORY", "1") != "0":
    memory.keep_freed_memory()

# Sub-packages load on first use (nerve.nn, nerve.optim, ...), keeping `import nerve` fast.
_SUBMODULES = {
    "activations",
    "callbacks",
    "data",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "nn",
    "optim",
    "optimizers",
    "plot",
    "regularizers",
    "saving",
    "testing",
    "utils",
}


# Functions of a lazily loaded sub-package, reachable as nerve.<name>.
_LAZY_FUNCTIONS = {"save": "saving", "load": "saving", "load_model": "saving"}


def __getattr__(name):
    if name in _SUBMODULES or name in _LAZY_FUNCTIONS:
        import importlib

        module = importlib.import_module(f"nerve.{_LAZY_FUNCTIONS.get(name, name)}")
        return getattr(module, name) if name in _LAZY_FUNCTIONS else module
    raise AttributeError(f"module 'nerve' has no attribute {name!r}")
