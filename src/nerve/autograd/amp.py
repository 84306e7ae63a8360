"""Mixed precision, as ``torch.autocast`` and ``torch.amp.GradScaler`` do it.

Inside ``autocast(device_type, dtype)``, the ops that gain from lower precision (matrix products:
matmul, linear, conv, attention, recurrent layers) cast their floating inputs to ``dtype``
(float16), and the ops that need range or accuracy (losses, and on "cuda" also softmax, norms,
exp/log and sums) cast theirs to float32, following torch's op lists per device. The casts are
ordinary differentiable ops, so the float32 parameters (the master weights) get float32
gradients. A float32 leaf that requires grad is cast once per region (torch's weight cache).

:class:`GradScaler` multiplies the loss by a scale so float16 gradients do not underflow, unscales
the gradients before the optimizer steps, skips a step whose gradients hold inf or NaN and
adapts the scale, with torch's defaults and order of operations.

NumPy and CuPy have no bfloat16: asking for it disables autocast with a warning, as torch does
for a dtype its device does not support.

>>> import nerve
>>> w = nerve.randn(3, 2, requires_grad=True)
>>> with autocast("cpu", dtype=nerve.float16):
...     y = nerve.ones(4, 3) @ w
>>> y.dtype, w.dtype
(dtype('float16'), dtype('float32'))
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from nerve.autograd.grad_mode import _modes, _sync
from nerve.backend import array_module_of
from nerve.device import device_of, to_device

# The op lists (registered op names), from torch's autocast op reference.
_LOWER = frozenset(
    {
        "matmul",
        "linear",
        "dense",
        "conv2d",
        "conv_transpose2d",
        "einsum",
        "scaled_dot_product_attention",
        "lstm_sequence",
        "gru_sequence",
        "rnn_sequence",
    }
)
_FP32_CPU = frozenset(
    {
        "prod",
        "mse_loss",
        "nll_loss",
        "smooth_l1_loss",
        "huber_loss",
        "cross_entropy",
        "cross_entropy_probs",
        "l1_loss",
        "kl_div",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
    }
)
_FP32_CUDA = _FP32_CPU - {"binary_cross_entropy"} | {
    "acos",
    "asin",
    "cosh",
    "sinh",
    "tan",
    "exp",
    "expm1",
    "log",
    "log10",
    "log1p",
    "log2",
    "erfinv",
    "pow",
    "reciprocal",
    "rsqrt",
    "cumsum",
    "cumprod",
    "sum",
    "norm",
    "softmax",
    "log_softmax",
    "softplus",
    "layer_norm",
    "group_norm",
}
# torch refuses these under CUDA autocast: their float16 forms are not safe
_BANNED_CUDA = {
    "binary_cross_entropy": (
        "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast. "
        "Many models use a sigmoid layer right before the binary cross entropy layer. In this "
        "case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits"
        " or torch.nn.BCEWithLogitsLoss. binary_cross_entropy_with_logits and BCEWithLogits are "
        "safe to autocast."
    )
}

# The calling thread's region is ``_modes.autocast`` (grad_mode.py), as torch's autocast state
# is per thread: None, or [device type, dtype, fp32 op set, cache or None]. Function.apply reads
# it through ``_modes.op``, in the same one attribute read as the grad mode.


def _policy(device_type: str, dtype: np.dtype, cache: bool) -> list:
    fp32 = _FP32_CUDA if device_type == "cuda" else _FP32_CPU
    return [device_type, dtype, fp32, {} if cache else None]


def cast_inputs(cls, inputs: tuple, region: list | None = None) -> tuple:
    """``inputs`` of op ``cls`` as autocast ``region`` (default: the calling thread's active
    one) wants them (see the module)."""
    device_type, dtype, fp32, cache = _modes.autocast if region is None else region
    name = cls.op_name
    if name in _LOWER:
        target = dtype
    elif name in fp32:
        target = np.dtype(np.float32)
    else:
        if device_type == "cuda" and name in _BANNED_CUDA:
            raise RuntimeError(_BANNED_CUDA[name])
        return inputs
    return tuple(_cast(x, target, device_type, cache) for x in inputs)


def autocast_inputs(op_name: str, *tensors):
    """``tensors`` as op ``op_name`` takes them in the active autocast region (unchanged when
    there is none): for functions that check their inputs' dtypes before ``Function.apply``
    casts them (``F.linear``'s "one floating dtype" check), called first thing.

    >>> import nerve
    >>> x = nerve.ones(2, 3, dtype=nerve.float16)
    >>> w = nerve.ones(4, 3)
    >>> with autocast("cpu", dtype=nerve.float16):
    ...     [t.dtype.name for t in autocast_inputs("linear", x, w)]
    ['float16', 'float16']
    """
    if _modes.autocast is None:
        return tensors
    return cast_inputs(_Named(op_name), tensors)


class _Named:
    __slots__ = ("op_name",)

    def __init__(self, op_name: str):
        self.op_name = op_name


def _cast(x, target: np.dtype, device_type: str, cache):
    from nerve.autograd.tensor import Tensor

    if not isinstance(x, Tensor):
        return x
    dt = x._data.dtype
    # torch casts floating tensors of the region's device, never float64
    if dt.kind != "f" or dt == target or dt == np.float64:
        return x
    if device_of(x._data).type != device_type:
        return x
    # a cast made while nothing records has no graph, so a recording op must not reuse it
    # (torch 2.13 records the weight's cast again there)
    use_cache = cache is not None and x.requires_grad and x._node is None and _modes.enabled
    if use_cache:
        hit = cache.get(id(x))
        if hit is not None and hit[0] is x and hit[1].dtype == target:
            return hit[1]
    out = _elementwise().cast(x, target)
    if use_cache:
        cache[id(x)] = (x, out)
    return out


def _elementwise():
    from nerve.primitives import elementwise

    return elementwise


_DEFAULT_DTYPE = {"cuda": np.dtype(np.float16), "cpu": "bfloat16"}


class autocast:  # noqa: N801 - torch's name
    """Run the ops inside in mixed precision (see the module docstring); a context manager
    and a decorator, as ``torch.autocast``.

    Args:
        device_type: "cuda" or "cpu": only tensors on that device are cast.
        dtype: the lower precision, float16 (the default on "cuda"; "cpu" defaults to
            bfloat16, which NumPy lacks: autocast is then disabled with a warning).
        enabled: False makes the region a no-op (and disables an enclosing one inside it).
        cache_enabled: cast each float32 leaf that requires grad once per region (default).

    Raises:
        RuntimeError: ``device_type`` is not "cuda" or "cpu".
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled=None):
        if not isinstance(device_type, str) or device_type.split(":")[0] not in ("cuda", "cpu"):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}' "
                "(nerve.autocast supports 'cuda' and 'cpu')"
            )
        self.device = device_type.split(":")[0]
        spec = _DEFAULT_DTYPE[self.device] if dtype is None else dtype
        self.fast_dtype = spec
        self._enabled = bool(enabled)
        if str(spec).rpartition(".")[2] == "bfloat16":
            if self._enabled:
                warnings.warn(
                    "nerve.autocast: bfloat16 is not supported (NumPy and CuPy have no bfloat16); "
                    "autocast is disabled. Pass dtype=nerve.float16 for mixed precision.",
                    UserWarning,
                    stacklevel=2,
                )
            self._enabled = False
        else:
            self.fast_dtype = np.dtype(spec)
            if self.fast_dtype != np.float16:
                raise RuntimeError(
                    f"nerve.autocast: dtype must be float16 (or bfloat16, unsupported), got "
                    f"{self.fast_dtype}"
                )
        self._cache = True if cache_enabled is None else bool(cache_enabled)
        self._saved: list = []

    def __enter__(self):
        m = _modes
        self._saved.append(m.autocast)
        m.autocast = _policy(self.device, self.fast_dtype, self._cache) if self._enabled else None
        _sync(m)
        return self

    def __exit__(self, *exc):
        m = _modes
        m.autocast = self._saved.pop()
        _sync(m)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache):
                return fn(*args, **kwargs)

        return wrapped


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether an autocast region is active in the calling thread (for ``device_type`` when
    given)."""
    state = _modes.autocast
    return state is not None and (device_type is None or state[0] == device_type)


class GradScaler:
    """Loss scaling for float16 training, as ``torch.amp.GradScaler``.

    ``scaler.scale(loss).backward()``, ``scaler.step(optimizer)``, ``scaler.update()``: the loss
    is multiplied by the scale; ``step`` unscales the gradients (``unscale_`` may be called
    first, e.g. to clip them), skips the optimizer's step when any is inf or NaN, and ``update``
    halves the scale after a skipped step or doubles it after ``growth_interval`` clean ones.

    Args:
        device: "cuda" or "cpu" (accepted for torch's signature; the scale lives with the loss).
        init_scale: the first scale (2**16).
        growth_factor: the scale's factor after ``growth_interval`` steps without inf (2.0).
        backoff_factor: the scale's factor after a step with inf or NaN (0.5).
        growth_interval: clean steps between two growths (2000).
        enabled: False makes every method a pass-through (``step`` just steps).

    Raises:
        ValueError: a factor or the interval is out of range.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ):
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if int(growth_interval) <= 0:
            raise ValueError(f"GradScaler: growth_interval must be > 0, got {growth_interval}")
        self._device = device
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict = {}  # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    # ------------------------------------------------------------ the scale
    def scale(self, outputs):
        """``outputs`` (a Tensor, or lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        from nerve.autograd.tensor import Tensor

        if isinstance(outputs, Tensor):
            # a float32 0-d tensor on the outputs' device, as torch's (a float16 0-d loss
            # times it is float32, so the scaled loss cannot overflow float16)
            scale = to_device(np.asarray(self._scale, np.float32), outputs.device)
            return outputs * Tensor._wrap(scale)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    # ------------------------------------------------------------ the step
    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(
            id(optimizer), {"unscaled": False, "found_inf": False, "stepped": False}
        )

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and note any inf or NaN.

        Raises:
            RuntimeError: called twice for one optimizer before ``update()``, or after ``step``.
        """
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["unscaled"]:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stepped"]:
            raise RuntimeError("unscale_() is being called after step().")
        inv = float(np.float32(1.0 / self._scale))  # torch: a float32 reciprocal
        finite = {}  # array type -> per-gradient "all finite" flags, read once per device
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.dtype == np.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                g *= inv
                finite.setdefault(type(g), []).append(np.isfinite(g).all())
        found = False
        for kind, flags in finite.items():
            if kind is np.ndarray:
                found |= not all(flags)
            else:  # one host read for all of a device's gradients, not one per parameter
                found |= not bool(array_module_of(flags[0]).stack(flags).all())
        state["unscaled"] = True
        state["found_inf"] = found

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless done), then ``optimizer.step(*args, **kwargs)`` unless a gradient
        held inf or NaN. Returns what the optimizer's step returned, or None when skipped.

        Raises:
            RuntimeError: ``step`` was already called for this optimizer before ``update()``.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stepped"]:
            raise RuntimeError("step() has already been called since the last update().")
        if not state["unscaled"]:
            self.unscale_(optimizer)
        state["stepped"] = True
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Adapt the scale to the steps since the last update (or set it to ``new_scale``).

        Raises:
            AssertionError: no ``step`` was recorded since the last update (as torch).
        """
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(getattr(new_scale, "item", lambda: new_scale)())
        else:
            states = [s for s in self._per_optimizer.values() if s["unscaled"]]
            assert states, "No inf checks were recorded prior to update."
            if any(s["found_inf"] for s in states):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(np.float32(grown)):  # torch keeps the scale a float32
                        self._scale = grown
                    self._growth_tracker = 0
        self._scale = float(np.float32(self._scale))
        self._per_optimizer.clear()

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The scale and its settings, as torch's keys."""
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore :meth:`state_dict`'s values.

        Raises:
            RuntimeError: the dict is empty (saved from a disabled scaler).
        """
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled "
                "instance of GradScaler."
            )
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
