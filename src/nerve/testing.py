"""Gradient checking and closeness assertions, for nerve's tests and for users' own ops.

>>> import nerve
>>> from nerve.testing import gradcheck
>>> gradcheck(lambda x: (x * x).sum(), nerve.randn(3, 4))
True
"""

from __future__ import annotations

import contextlib

import numpy as np

from nerve import backend
from nerve.autograd.grad_mode import no_grad
from nerve.autograd.tensor import Tensor
from nerve.device import _backends, drop_backend, use_backend


class GradcheckError(AssertionError):
    """Backward disagrees with central differences."""


def _outputs(out) -> list[Tensor]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]


def gradcheck(
    fn,
    *inputs,
    wrt=None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_full: int = 256,
    n_directions: int = 3,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s backward against float64 central differences at ``inputs``.

    Args:
        fn: takes Tensors, returns a Tensor or a tuple of Tensors.
        inputs: Tensors or arrays; float ones are copied to float64 leaves.
        wrt: indices of the inputs to check (default: every float input).
        max_full: up to this many checked elements, the whole Jacobian-vector product is
            compared element by element; above it, ``n_directions`` random directions are.

    Returns True, or raises GradcheckError naming the input and the worst element.
    """
    rng = np.random.default_rng(seed)
    arrays = [_host(x) for x in inputs]
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]

    def run(arrs, grad: bool):
        ts = [Tensor._wrap(a.copy()) for a in arrs]
        for i in wrt:
            ts[i].requires_grad = grad
        return ts, _outputs(fn(*ts))

    leaves, outs = run(arrays, True)
    if not outs:
        raise GradcheckError("gradcheck: fn returned no floating-point tensor")
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    for o, v in zip(outs, cotangents):
        if o.requires_grad:
            o.backward(Tensor._wrap(v), retain_graph=True)
    analytic = [
        np.zeros_like(arrays[i]) if leaves[i].grad is None else leaves[i].grad._data for i in wrt
    ]
    for i, g in zip(wrt, analytic):
        if g.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: gradient of input {i} has dtype {g.dtype}, not float64"
            )

    def objective(arrs) -> float:
        with no_grad():
            _, os = run(arrs, False)
        return float(sum(np.sum(o._data * v) for o, v in zip(os, cotangents)))

    total = sum(arrays[i].size for i in wrt)
    if total <= max_full:
        for i, g in zip(wrt, analytic):
            numeric = np.zeros(arrays[i].shape, arrays[i].dtype)  # C order: reshape(-1) is a view
            flat = numeric.reshape(-1)
            for k in range(arrays[i].size):
                shifted = [a.copy() for a in arrays]
                shifted[i].reshape(-1)[k] += eps
                plus = objective(shifted)
                shifted[i].reshape(-1)[k] -= 2 * eps
                minus = objective(shifted)
                flat[k] = (plus - minus) / (2 * eps)
            _compare(f"input {i}", g, numeric, atol, rtol)
    else:
        for d in range(n_directions):
            directions = {i: rng.standard_normal(arrays[i].shape) for i in wrt}
            plus = [a + eps * directions[i] if i in directions else a for i, a in enumerate(arrays)]
            minus = [
                a - eps * directions[i] if i in directions else a for i, a in enumerate(arrays)
            ]
            numeric = (objective(plus) - objective(minus)) / (2 * eps)
            exact = sum(float(np.sum(g * directions[i])) for i, g in zip(wrt, analytic))
            _compare(f"random direction {d}", np.array(exact), np.array(numeric), atol, rtol)
    return True


def _compare(what: str, analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float):
    err = np.abs(analytic - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    if np.any(bad):
        k = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        raise GradcheckError(
            f"gradcheck failed for {what}: backward gave {analytic[k]!r}, central differences "
            f"{numeric[k]!r} at index {k} ({int(bad.sum())} of {bad.size} elements off)"
        )


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6, msg: str = "") -> None:
    """Assert two arrays or Tensors are equal in shape and close in value."""
    a = _host(actual)
    e = _host(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{msg}shape {a.shape} != expected {e.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        err = np.abs(a.astype(np.float64) - e.astype(np.float64))
        k = np.unravel_index(np.nanargmax(err), err.shape) if err.ndim else ()
        raise AssertionError(
            f"{msg}values differ: max abs error {np.nanmax(err):.3g} at {k} "
            f"(got {a[k]!r}, expected {e[k]!r}; rtol={rtol}, atol={atol})"
        )


def _host(x) -> np.ndarray:
    """A Tensor's or an array's values on the host (a device array is copied explicitly)."""
    if isinstance(x, Tensor):
        x = x._data
    if type(x) is np.ndarray:
        return x
    module = backend.DEVICE_MODULES.get(type(x))
    if module is not None:
        return module.asnumpy(x)
    if callable(getattr(x, "get", None)) and hasattr(x, "__array__"):
        return x.get()  # a device array whose backend is no longer loaded (CuPy's .get())
    return np.asarray(x)


@contextlib.contextmanager
def strict_cuda():
    """Inside the block, device "cuda" (and "cuda:0") exists, backed by :mod:`nerve.strict`: a
    CPU stand-in for CuPy whose arrays refuse implicit conversion to NumPy and mixing with host
    arrays. Tests run device code through it on machines without a GPU; real CuPy, when
    loaded, is put back afterwards.

    >>> import nerve
    >>> before = nerve.cuda.is_available()
    >>> with strict_cuda():
    ...     x = nerve.ones(2).to("cuda")
    ...     print(x.device, nerve.cuda.is_available())
    cuda:0 True
    >>> nerve.cuda.is_available() == before  # the machine's own answer again
    True
    """
    from nerve import strict

    previous = _backends.get("cuda")
    previous_types = {t: m for t, m in backend.DEVICE_MODULES.items() if m is previous}
    for t in previous_types:
        del backend.DEVICE_MODULES[t]
    use_backend("cuda", strict, strict.StrictArray)
    try:
        yield strict
    finally:
        drop_backend("cuda", strict.StrictArray)
        backend._device_generators.pop(strict, None)
        if previous is not None:
            _backends["cuda"] = previous
            backend.DEVICE_MODULES.update(previous_types)
