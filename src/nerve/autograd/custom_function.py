"""torch-style ``autograd.Function``: forward and backward written on Tensors, with a ctx.

User code subclasses :class:`nerve.autograd.Function` with ``@staticmethod forward(ctx, *inputs)``
and ``@staticmethod backward(ctx, *grad_outputs)``, as for torch. ``Function.apply`` sends such a
subclass here. The call runs through the array-level machinery like every nerve op: one
:class:`CustomNode` (an ordinary array-level Function) is the graph node and the ``ctx`` at once.
Its ``forward`` wraps the input arrays as Tensors and runs the user's forward under no_grad; its
``backward`` wraps the incoming gradients and runs the user's backward. So the engine, hooks,
retain_graph and the in-place checks treat a custom Function like any built-in op.
"""

from __future__ import annotations

import functools

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import no_grad
from nerve.backend import array_module_of


class CustomNode(Function):
    """The node of one call of a torch-style Function, and the ``ctx`` its methods receive.

    Besides any attribute user code sets, it offers torch's ctx API: ``save_for_backward``,
    ``saved_tensors``, ``needs_input_grad``, ``mark_non_differentiable``, ``mark_dirty``,
    ``set_materialize_grads``.
    """

    def forward(self, *arrays, _fn, _kwargs, _mask):
        self._fn = _fn
        self._materialize = True
        self._non_differentiable = ()
        inputs = tuple(Tensor._wrap(a) if m else a for a, m in zip(arrays, _mask))
        self._in_meta = tuple((a.shape, a.dtype) if m else None for a, m in zip(arrays, _mask))
        with no_grad():
            if _has_setup_context(_fn):
                out = _fn.forward(*inputs, **_kwargs)
                _fn.setup_context(self, inputs, out)
            else:
                out = _fn.forward(self, *inputs, **_kwargs)
        many = isinstance(out, tuple)
        outs = out if many else (out,)
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                raise TypeError(
                    f"{_fn.__name__}.forward must return a Tensor or a tuple of Tensors; "
                    f"output {k} is a {type(o).__name__}"
                )
        marked = {id(t) for t in self._non_differentiable}
        self._non_differentiable = tuple(k for k, o in enumerate(outs) if id(o) in marked)
        self._out_meta = tuple((o._data.shape, o._data.dtype) for o in outs)
        arrays_out = tuple(o._data for o in outs)
        self._xp = array_module_of(*arrays_out)  # where backward's stand-in zeros are made
        return arrays_out if many else arrays_out[0]

    def backward(self, *grads):
        fn = self._fn
        if fn.backward is Function.backward:
            raise NotImplementedError(f"{fn.__name__} defines no backward (a @staticmethod)")
        wrapped = []
        xp = self._xp
        for g, (shape, dtype) in zip(grads, self._out_meta):
            if g is None and self._materialize:
                g = xp.zeros(shape, dtype=dtype)
            wrapped.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = fn.backward(self, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._in_meta)
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]  # torch accepts extra trailing Nones
        if len(result) != n:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n}, got {len(result)})"
            )
        out = []
        for i, (r, meta) in enumerate(zip(result, self._in_meta)):
            if r is None:
                out.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {self.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Tensor"
                )
            g = r._data if isinstance(r, Tensor) else np.asarray(r)
            shape, dtype = meta
            if g.shape != shape and not _sums_to(g.shape, shape):
                raise RuntimeError(
                    f"function {self.name()} returned an invalid gradient at index {i} - got "
                    f"{list(g.shape)} but expected shape compatible with {list(shape)}"
                )
            out.append(g if g.dtype == dtype or dtype.kind != "f" else g.astype(dtype))
        return tuple(out)

    def release(self) -> None:
        fn = self.__dict__.get("_fn")
        super().release()
        self._fn = fn  # keep the name for repr and error messages

    def name(self) -> str:
        fn = self.__dict__.get("_fn")
        return f"{fn.__name__ if fn is not None else 'Custom'}Backward"

    # ---------------------------------------------------------------- torch's ctx API
    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (Tensors or None) for backward, where ``saved_tensors`` returns them.

        Raises:
            TypeError: something other than a Tensor or None was given.
        """
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save Tensors or None, argument {k} is a "
                    f"{type(t).__name__} (keep other values as ctx attributes)"
                )
        # arrays, not Tensors: backward's in-place check looks for modified saved arrays
        self._saved = tuple(None if t is None else t._data for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The Tensors given to ``save_for_backward`` (as Tensors that take no gradient)."""
        saved = self.__dict__.get("_saved")
        if saved is None:
            if self.freed:
                raise RuntimeError(
                    f"Trying to backward through the graph a second time ({self.name()} was "
                    "freed); pass retain_graph=True to the first backward if you need to call "
                    "it twice."
                )
            return ()
        return tuple(None if a is None else Tensor._wrap(a) for a in saved)

    def mark_non_differentiable(self, *outputs) -> None:
        """Say that these outputs of forward take no gradient (indices, masks)."""
        self._non_differentiable = self._non_differentiable + tuple(outputs)

    def mark_dirty(self, *tensors) -> None:
        """Say that forward changed these inputs in place (accepted for torch compatibility)."""
        self._dirty = tuple(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether backward receives zeros (True, the default) or None for unused outputs."""
        self._materialize = bool(value)


def _has_setup_context(fn) -> bool:
    # torch 2's second style: forward(*inputs) without ctx, then setup_context(ctx, inputs, out)
    return getattr(fn, "setup_context", None) is not None


def _sums_to(grad_shape: tuple, shape: tuple) -> bool:
    """Whether a gradient of ``grad_shape`` sums back to ``shape`` (shape broadcasts to it)."""
    try:
        return np.broadcast_shapes(grad_shape, shape) == tuple(grad_shape)
    except ValueError:
        return False


def apply(fn, inputs: tuple, kwargs: dict):
    """Run the torch-style Function ``fn`` on ``inputs`` (``fn.apply`` comes here)."""
    mask = tuple(isinstance(x, Tensor) for x in inputs)
    out = CustomNode.apply(*inputs, _fn=fn, _kwargs=kwargs, _mask=mask)
    outs = out if isinstance(out, tuple) else (out,)
    node = next((o._node for o in outs if o._node is not None), None)
    if node is not None and node._non_differentiable:
        for k in node._non_differentiable:
            outs[k]._node = None
            outs[k].requires_grad = False
    return out


def once_differentiable(backward):
    """Decorator for a backward that cannot itself be differentiated (torch's name).

    nerve runs every backward without recording a graph, so this only keeps the promise.
    """

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)

    return wrapper


from nerve.autograd.tensor import Tensor  # noqa: E402  (tensor.py imports this module's users)
