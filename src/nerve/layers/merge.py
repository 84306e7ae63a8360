"""Keras-style merge layers, called on a list of tensors: Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate, Dot, and Keras's functional shortcuts ``add(inputs)``,
``concatenate(inputs, axis=-1)``, ... that make the layer and call it.

Elementwise merges broadcast as Keras does: the batch axes must agree, the other axes follow
NumPy's rules (equal sizes or 1), and an input of lower rank gets size-1 axes after its batch
axis. The math is nerve's ops.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.tensor import Tensor
from nerve.layers.base import Layer, get_mask
from nerve.primitives import elementwise as ew
from nerve.primitives import linalg, reduction
from nerve.primitives import shape as shape_ops
from nerve.primitives.common import as_tensor

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


class _Merge(Layer):
    """Base of the merge layers: checks the list of inputs and merges masks (logical or)."""

    _n_inputs: int | None = None  # None: any number >= 1
    _verb = "merged"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} must be called on a list of tensors, "
                f"got a single {type(inputs).__name__}"
            )
        n = self._n_inputs
        if (n is not None and len(inputs) != n) or not inputs:
            want = f"exactly {n}" if n is not None else "at least 1"
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} must be called on {want} inputs, "
                f"got {len(inputs)}"
            )
        return super().__call__(list(inputs), *args, **kwargs)

    def build(self, input_shape) -> None:
        self._check_shapes([tuple(s) for s in input_shape])
        self.built = True

    def _shape_error(self, shapes, why: str) -> ValueError:
        listed = ", ".join(str(s) for s in shapes)
        return ValueError(
            f"{type(self).__name__} layer {self.name!r}: inputs of shapes {listed} cannot be "
            f"{self._verb}: {why}"
        )

    def _check_shapes(self, shapes: list) -> tuple:
        """The output shape of an elementwise merge (Keras's broadcasting rules)."""
        if any(len(s) == 0 for s in shapes):
            raise self._shape_error(shapes, "each input needs a batch axis")
        if len({s[0] for s in shapes}) > 1:
            raise self._shape_error(shapes, "the batch sizes differ")
        rank = max(len(s) for s in shapes)
        padded = [s[:1] + (1,) * (rank - len(s)) + s[1:] for s in shapes]
        try:
            return np.broadcast_shapes(*padded)
        except ValueError:
            raise self._shape_error(
                shapes, "their sizes must match on every axis (or be 1, to broadcast)"
            ) from None

    def _tensors(self, inputs) -> list:
        xs = [as_tensor(x, self.name) for x in inputs]
        self._check_shapes([x.shape for x in xs])
        rank = max(x.ndim for x in xs)
        return [
            x
            if x.ndim == rank
            else shape_ops.reshape(x, x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])
            for x in xs
        ]

    def call(self, inputs):
        return self._merge(self._tensors(inputs))

    def _merge(self, xs: list):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        masks = [get_mask(x) for x in inputs]
        if any(m is None for m in masks):
            return None
        out = np.asarray(masks[0]._data, dtype=bool)
        for m in masks[1:]:
            out = np.logical_or(out, np.asarray(m._data, dtype=bool))
        return Tensor(out)


class Add(_Merge):
    """The elementwise sum of the inputs.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Add()([nerve.ones(2, 3), nerve.ones(2, 3)]).tolist()[0]
    [2.0, 2.0, 2.0]
    """

    _verb = "added"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ew.add(out, x)
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Subtract()([nerve.ones(1, 2), nerve.ones(1, 2)]).tolist()
    [[0.0, 0.0]]
    """

    _n_inputs = 2
    _verb = "subtracted"

    def _merge(self, xs):
        return ew.sub(xs[0], xs[1])


class Multiply(_Merge):
    """The elementwise product of the inputs.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Multiply()([nerve.full((1, 2), 3.0), nerve.full((1, 2), 2.0)]).tolist()
    [[6.0, 6.0]]
    """

    _verb = "multiplied"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ew.mul(out, x)
        return out


class Average(_Merge):
    """The elementwise mean of the inputs.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Average()([nerve.zeros(1, 2), nerve.full((1, 2), 4.0)]).tolist()
    [[2.0, 2.0]]
    """

    _verb = "averaged"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ew.add(out, x)
        return out / len(xs)


class Maximum(_Merge):
    """The elementwise maximum of the inputs (ties split the gradient, as ``nerve.maximum``).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Maximum()([nerve.tensor([[1.0, 5.0]]), nerve.tensor([[3.0, 2.0]])]).tolist()
    [[3.0, 5.0]]
    """

    _verb = "compared"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ew.maximum(out, x)
        return out


class Minimum(_Merge):
    """The elementwise minimum of the inputs.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Minimum()([nerve.tensor([[1.0, 5.0]]), nerve.tensor([[3.0, 2.0]])]).tolist()
    [[1.0, 2.0]]
    """

    _verb = "compared"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = ew.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Join the inputs along ``axis``; every other axis must agree.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Concatenate()([nerve.zeros(2, 3), nerve.zeros(2, 4)]).shape
    (2, 7)
    """

    _verb = "concatenated"

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes: list) -> tuple:
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise self._shape_error(shapes, "they have different ranks")
        (rank,) = ranks
        if not -rank <= self.axis < rank:
            raise self._shape_error(shapes, f"axis {self.axis} is out of range")
        axis = self.axis % rank
        for i in range(rank):
            if i != axis and len({s[i] for s in shapes}) > 1:
                raise self._shape_error(
                    shapes, f"all axes but the concatenation axis {self.axis} must match"
                )
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)

    def call(self, inputs):
        xs = [as_tensor(x, self.name) for x in inputs]
        self._check_shapes([x.shape for x in xs])
        return shape_ops.cat(xs, dim=self.axis)

    def compute_mask(self, inputs, mask=None):
        # Keras's rule: masks widened to each input's shape (all True where an input has no
        # mask), joined along the axis, then reduced with any() over the last axis.
        masks = [get_mask(x) for x in inputs]
        if all(m is None for m in masks):
            return None
        parts = []
        for x, m in zip(inputs, masks):
            shape = tuple(x.shape)
            if m is None:
                parts.append(np.ones(shape, dtype=bool))
                continue
            m = np.asarray(m._data, dtype=bool)
            if m.ndim < len(shape):
                m = np.broadcast_to(m[..., None], shape)
            parts.append(m)
        return Tensor(np.concatenate(parts, axis=self.axis).any(axis=-1))

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """The dot product of two inputs along ``axes``, sample by sample (Keras's batch_dot).

    The output keeps the first input's remaining axes, then the second's (its batch axis
    excepted); a 1-d result becomes (batch, 1).

    Args:
        axes: one axis for both inputs, or ``(axis_of_x, axis_of_y)``; never 0 (the batch).
        normalize: L2-normalize both inputs along those axes first (the cosine similarity).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.Dot(axes=1)([nerve.ones(2, 3), nerve.ones(2, 3)]).tolist()
    [[3.0], [3.0]]
    """

    _n_inputs = 2
    _verb = "multiplied (dot)"

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
            axes = (int(axes[0]), int(axes[1]))
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes(self, shapes) -> tuple:
        pair = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        out = []
        for a, s in zip(pair, shapes):
            if len(s) < 2 or not -len(s) <= a < len(s) or a % len(s) == 0:
                raise self._shape_error(
                    shapes, f"axes {self.axes} must name a non-batch axis of each input"
                )
            out.append(a % len(s))
        return tuple(out)

    def _check_shapes(self, shapes: list) -> tuple:
        if len({s[0] for s in shapes}) > 1:
            raise self._shape_error(shapes, "the batch sizes differ")
        ax, ay = self._axes(shapes)
        if shapes[0][ax] != shapes[1][ay]:
            raise self._shape_error(
                shapes, f"sizes {shapes[0][ax]} (axis {ax}) and {shapes[1][ay]} (axis {ay}) differ"
            )
        rest = shapes[0][:ax] + shapes[0][ax + 1 :]
        rest += tuple(s for i, s in enumerate(shapes[1]) if i not in (0, ay))
        return rest if len(rest) > 1 else rest + (1,)

    def call(self, inputs):
        x, y = (as_tensor(t, self.name) for t in inputs)
        out_shape = self._check_shapes([x.shape, y.shape])
        ax, ay = self._axes([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        letters = "bcdefghijklmnopqrstuvwxyz"
        xs = ["a"] + [letters[i] for i in range(x.ndim - 1)]
        ys = ["a"] + [letters[x.ndim - 1 + i] for i in range(y.ndim - 1)]
        ys[ay] = xs[ax]
        kept = [c for i, c in enumerate(xs) if i != ax] + [
            c for i, c in enumerate(ys) if i not in (0, ay)
        ]
        out = linalg.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(kept)}", x, y)
        return out if out.shape == out_shape else shape_ops.reshape(out, out_shape)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self) -> dict:
        axes = list(self.axes) if isinstance(self.axes, tuple) else self.axes
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def _l2_normalize(x, axis: int):
    """x / max(||x||, 1e-12) along ``axis`` (torch's F.normalize bound)."""
    norm = reduction.sum(x * x, dim=axis, keepdim=True)
    return x * ew.rsqrt(ew.clamp(norm, min=1e-24))


# ----------------------------------------------------------------------------- shortcuts
# Keras's functional forms: make the layer with **kwargs (name=..., ...) and call it on the
# list, on tensors or on symbolic Inputs alike.
def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``: the elementwise sum of a list of tensors.

    Args:
        inputs: a list of tensors (or symbolic Inputs) of compatible shapes.
        **kwargs: Add's keyword arguments (``name=``, ...).

    Returns:
        The sum (a symbolic tensor when the inputs are).

    >>> import nerve
    >>> from nerve import layers
    >>> layers.add([nerve.ones(1, 2), nerve.ones(1, 2)]).tolist()
    [[2.0, 2.0]]
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``.

    Args:
        inputs: a list of exactly two tensors.
        **kwargs: Subtract's keyword arguments.

    Returns:
        The difference.
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``: the elementwise product of a list of tensors.

    Args:
        inputs: a list of tensors of compatible shapes.
        **kwargs: Multiply's keyword arguments.

    Returns:
        The product.
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``: the elementwise mean of a list of tensors.

    Args:
        inputs: a list of tensors of compatible shapes.
        **kwargs: Average's keyword arguments.

    Returns:
        The mean.
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``: the elementwise maximum of a list of tensors.

    Args:
        inputs: a list of tensors of compatible shapes.
        **kwargs: Maximum's keyword arguments.

    Returns:
        The maximum.
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``: the elementwise minimum of a list of tensors.

    Args:
        inputs: a list of tensors of compatible shapes.
        **kwargs: Minimum's keyword arguments.

    Returns:
        The minimum.
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``: join a list of tensors along ``axis``.

    Args:
        inputs: a list of tensors that agree on every axis but ``axis``.
        axis: the concatenation axis (default -1).
        **kwargs: Concatenate's other keyword arguments.

    Returns:
        The joined tensor.

    >>> import nerve
    >>> from nerve import layers
    >>> layers.concatenate([nerve.zeros(2, 3), nerve.zeros(2, 4)]).shape
    (2, 7)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """``Dot(axes=axes, **kwargs)(inputs)``: the per-sample dot product of two tensors.

    Args:
        inputs: a list of exactly two tensors.
        axes: one axis for both, or a pair (default -1).
        **kwargs: Dot's other keyword arguments (``normalize=``, ``name=``).

    Returns:
        The dot products.
    """
    return Dot(axes=axes, **kwargs)(inputs)
