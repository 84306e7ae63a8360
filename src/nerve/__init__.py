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

from nerve import accelerator, cuda, memory
from nerve.autograd import (
    Function,
    Tensor,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from nerve.autograd.amp import autocast, is_autocast_enabled
from nerve.autograd.api import is_floating_point, is_tensor, numel
from nerve.autograd.printing import set_printoptions
from nerve.backend import (
    Generator,
    get_default_dtype,
    manual_seed,
    set_default_dtype,
    set_num_threads,
)
from nerve.device import device, get_default_device, set_default_device
from nerve.primitives.creation import *  # noqa: F403
from nerve.primitives.elementwise import *  # noqa: F403
from nerve.primitives.indexing import *  # noqa: F403
from nerve.primitives.linalg import *  # noqa: F403
from nerve.primitives.reduction import *  # noqa: F403
from nerve.primitives.reshaping import *  # noqa: F403
from nerve.primitives.sampling import *  # noqa: F403
from nerve.primitives.shape import *  # noqa: F403

# dtypes under torch's names (NumPy dtypes: t.dtype == nerve.float32 and np.float32 alike)
float32 = _np.dtype("float32")
float64 = _np.dtype("float64")
float16 = _np.dtype("float16")
int64 = _np.dtype("int64")
int32 = _np.dtype("int32")
int16 = _np.dtype("int16")
int8 = _np.dtype("int8")
uint8 = _np.dtype("uint8")
bool = _np.dtype("bool")
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

__version__ = "0.1.0"

# Large activations are freed and allocated again every step: keep them in the process rather
# than page-faulting them back in (see nerve.memory; NERVE_KEEP_FREED_MEMORY=0 opts out).
if _os.environ.get("NERVE_KEEP_FREED_MEMORY", "1") != "0":
    memory.keep_freed_memory()

# Sub-packages load on first use (nerve.nn, nerve.optim, ...), keeping `import nerve` fast.
_SUBMODULES = {
    "activations",
    "amp",
    "compiler",
    "callbacks",
    "compat",
    "constraints",
    "data",
    "datasets",
    "distributed",
    "explain",
    "initializers",
    "keras",
    "layers",
    "losses",
    "metrics",
    "models",
    "nn",
    "onnx",
    "optim",
    "optimizers",
    "plot",
    "regularizers",
    "saving",
    "sklearn",
    "testing",
    "tune",
    "utils",
    "variables",
    "vision",
}


# Names of a lazily loaded sub-package, reachable as nerve.<name>: the file functions, and
# Keras's three most used names (keras.Sequential, keras.Model, keras.Input).
_LAZY_FUNCTIONS = {
    "compile": "compiler",
    "save": "saving",
    "load": "saving",
    "load_model": "saving",
    "Sequential": "models",
    "Model": "models",
    "Input": "models",
}


def __getattr__(name):
    import importlib

    if name in _SUBMODULES or name in _LAZY_FUNCTIONS:
        module = importlib.import_module(f"nerve.{_LAZY_FUNCTIONS.get(name, name)}")
        return getattr(module, name) if name in _LAZY_FUNCTIONS else module
    if name == "ops":  # `from nerve import ops` is Keras's ops (the internal ones are primitives)
        return importlib.import_module("nerve.keras.ops")
    raise AttributeError(f"module 'nerve' has no attribute {name!r}")
