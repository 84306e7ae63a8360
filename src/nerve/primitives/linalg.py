"""Linear algebra: matmul (batch broadcasting), mm, bmm, mv, dot, inner, outer, tensordot,
einsum, cdist, and the add-products addmm/addmv/addbmm/baddbmm/addcmul/addcdiv.

The matrix-structure ops (t, diag, diagonal, trace, tril, triu, cross) live in ``matrix.py``
and are re-exported here."""

from __future__ import annotations

import string

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.registry import register
from nerve.autograd.tensor import Tensor
from nerve.backend import array_module_of
from nerve.primitives import elementwise as ew
from nerve.primitives.common import as_tensor, binary_operands
from nerve.primitives.matrix import (
    block_diag,
    cross,
    diag,
    diag_embed,
    diagonal,
    t,
    trace,
    tril,
    triu,
)
from nerve.primitives.out_arg import write_out
from nerve.primitives.reduction import norm as reduction_norm
from nerve.primitives.reduction import sum as reduction_sum
from nerve.primitives.shape import reshape, transpose

__all__ = [
    "addbmm",
    "addcdiv",
    "addcmul",
    "addmm",
    "addmv",
    "baddbmm",
    "block_diag",
    "bmm",
    "cdist",
    "corrcoef",
    "cov",
    "cross",
    "diag",
    "diag_embed",
    "diagonal",
    "dist",
    "dot",
    "einsum",
    "inner",
    "kron",
    "matmul",
    "mm",
    "mv",
    "outer",
    "t",
    "tensordot",
    "trace",
    "tril",
    "triu",
    "vdot",
]


# ----------------------------------------------------------------------------- matmul
@register("matmul")
class MatMul(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.a = a if need_b else None
        self.b = b if need_a else None
        self.a_vec, self.b_vec = a.ndim == 1, b.ndim == 1
        return a @ b

    def backward(self, g):
        # Promote 1-d operands as matmul does (a to a row, b to a column), then squeeze back.
        # b first: when both are 1-d, g is 0-d and becomes (1,) then (1, 1).
        a, b = self.a, self.b
        if self.b_vec:
            g = g[..., None]
            b = None if b is None else b[:, None]
        if self.a_vec:
            g = g[..., None, :]
            a = None if a is None else a[None, :]
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = np.matmul(g, np.swapaxes(b, -1, -2))  # batch dims: the engine sums them back
            if self.a_vec:
                ga = ga[..., 0, :]
        if self.needs_input_grad[1]:
            gb = np.matmul(np.swapaxes(a, -1, -2), g)
            if self.b_vec:
                gb = gb[..., 0]
        return ga, gb


def _check_matmul(op: str, a: Tensor, b: Tensor) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"{op}: both operands need at least one dimension, got shapes {a.shape} and {b.shape}"
        )
    rows = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != rows:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} do not match "
            f"({a.shape[-1]} columns vs {rows} rows)"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast "
            f"({a.shape[:-2]} vs {b.shape[:-2]})"
        ) from None


def matmul(a, b, *, out=None) -> Tensor:
    """Matrix product with NumPy/torch semantics (batch dims broadcast; 1-d operands allowed).

    With ``out`` the product is written into that tensor and returned, as torch does (not
    differentiable: an input that requires grad is an error while grad mode is on).

    >>> import nerve
    >>> (nerve.ones(2, 1, 3, 4) @ nerve.ones(5, 4, 2)).shape
    (2, 5, 3, 2)
    """
    if out is not None:
        return write_out("matmul", out, (a, b), lambda: matmul(a, b), exact_dtype=True)
    a, b = binary_operands(a, b, "matmul")
    _check_matmul("matmul", a, b)
    return MatMul.apply(a, b)


def mm(a, b) -> Tensor:
    """Product of two matrices, (n, k) @ (k, m) -> (n, m); no broadcasting."""
    a, b = binary_operands(a, b, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: needs two 2-d tensors, got shapes {a.shape} and {b.shape}")
    _check_matmul("mm", a, b)
    return MatMul.apply(a, b)


def bmm(a, b) -> Tensor:
    """Batched product, (B, n, k) @ (B, k, m) -> (B, n, m); no broadcasting."""
    a, b = binary_operands(a, b, "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(
            f"bmm: needs two 3-d tensors with the same batch size, got shapes {a.shape} and "
            f"{b.shape}"
        )
    _check_matmul("bmm", a, b)
    return MatMul.apply(a, b)


def dot(a, b) -> Tensor:
    """Inner product of two 1-d tensors of the same length (a 0-d tensor).

    >>> import nerve
    >>> nerve.dot(nerve.tensor([1.0, 2.0]), nerve.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = binary_operands(a, b, "dot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"dot: needs two 1-d tensors of the same length, got shapes {a.shape} and {b.shape}"
        )
    return MatMul.apply(a, b)


# ----------------------------------------------------------------------------- outer
@register("outer")
class Outer(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.a = a if need_b else None
        self.b = b if need_a else None
        return np.multiply.outer(a, b)

    def backward(self, g):
        ga = g @ self.b if self.needs_input_grad[0] else None
        gb = self.a @ g if self.needs_input_grad[1] else None
        return ga, gb


def outer(a, b) -> Tensor:
    """Outer product of two 1-d tensors: out[i, j] = a[i] * b[j]."""
    a, b = binary_operands(a, b, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: needs two 1-d tensors, got shapes {a.shape} and {b.shape}")
    return Outer.apply(a, b)


# ----------------------------------------------------------------------------- add-products
def _scaled_sum(op: str, x: Tensor, prod: Tensor, beta, alpha) -> Tensor:
    """beta * x + alpha * prod, x broadcast to prod's shape; beta 0 ignores x (nan too)."""
    try:
        fits = np.broadcast_shapes(x.shape, prod.shape) == prod.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{op}: input of shape {x.shape} does not broadcast to the product's shape {prod.shape}"
        )
    if alpha != 1:
        prod = ew.mul(prod, alpha)
    if beta == 0:
        return prod
    return ew.add(prod, x if beta == 1 else ew.mul(x, beta))


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product's shape.

    With ``beta=0`` the input is ignored (nan and inf in it do not propagate), as in torch.

    Raises:
        ValueError: mat1 and mat2 are not 2-d with matching inner sizes, or ``input`` does not
            broadcast to their product.

    >>> import nerve
    >>> nerve.addmm(nerve.ones(2), nerve.eye(2), nerve.ones(2, 2), alpha=2).tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    return _scaled_sum("addmm", as_tensor(input, "addmm"), mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)`` (see :func:`addmm`)."""
    return _scaled_sum("addmv", as_tensor(input, "addmv"), mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)`` (see :func:`addmm`)."""
    return _scaled_sum("baddbmm", as_tensor(input, "baddbmm"), bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum of the batch of products bmm(batch1, batch2)``."""
    prod = reduction_sum(bmm(batch1, batch2), 0)
    return _scaled_sum("addbmm", as_tensor(input, "addbmm"), prod, beta, alpha)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``, all broadcasting."""
    prod = ew.mul(tensor1, tensor2)
    return ew.add(input, prod if value == 1 else ew.mul(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``, all broadcasting."""
    quot = ew.div(tensor1, tensor2)
    return ew.add(input, quot if value == 1 else ew.mul(quot, value))


def mv(input, vec) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,).

    Raises:
        ValueError: ``input`` is not 2-d or ``vec`` not 1-d of matching size.
    """
    a, b = binary_operands(input, vec, "mv")
    if a.ndim != 2 or b.ndim != 1:
        raise ValueError(f"mv: needs a 2-d and a 1-d tensor, got shapes {a.shape} and {b.shape}")
    _check_matmul("mv", a, b)
    return MatMul.apply(a, b)


def inner(input, other) -> Tensor:
    """Sum of products over the last dims: ``tensordot(input, other, ([-1], [-1]))``; with a
    0-d operand, the product."""
    a, b = binary_operands(input, other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return ew.mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: the last dims must match, got shapes {a.shape} and {b.shape}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def tensordot(a, b, dims=2) -> Tensor:
    """Sum of products over ``dims``: the last ``dims`` of ``a`` with the first of ``b``, or the
    listed pairs ``([dims of a], [dims of b])``; written as one einsum.

    Raises:
        ValueError: the paired dims differ in size.
    """
    a, b = binary_operands(a, b, "tensordot")
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        da, db = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        da, db = (
            [int(d)] if isinstance(d, (int, np.integer)) else [int(e) for e in d] for d in dims
        )
    da = [d % max(a.ndim, 1) for d in da]
    db = [d % max(b.ndim, 1) for d in db]
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise ValueError(
            f"tensordot: dims {da} of {a.shape} and {db} of {b.shape} must pair up in size"
        )
    letters = iter(_LETTERS)
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        tb[j] = ta[i]
    out = [c for k, c in enumerate(ta) if k not in da] + [
        c for k, c in enumerate(tb) if k not in db
    ]
    return einsum(f"{''.join(ta)},{''.join(tb)}->{''.join(out)}", a, b)


def cdist(x1, x2, p: float = 2.0, compute_mode=None) -> Tensor:
    """The p-norm distance between each row of ``x1`` (..., P, M) and each of ``x2`` (..., R,
    M): shape (..., P, R). The gradient at a zero distance is 0, as torch.

    Raises:
        ValueError: fewer than 2 dims, or the row sizes M differ.
    """
    a, b = binary_operands(x1, x2, "cdist")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"cdist: needs (..., P, M) and (..., R, M) tensors, got shapes {a.shape} and {b.shape}"
        )
    diff = ew.sub(
        reshape(a, a.shape[:-1] + (1, a.shape[-1])), reshape(b, b.shape[:-2] + (1,) + b.shape[-2:])
    )
    return reduction_norm(diff, p, dim=-1)


# ----------------------------------------------------------------------------- einsum
# Uppercase first: NumPy and torch order implicit outputs this way.
_LETTERS = string.ascii_uppercase + string.ascii_lowercase


@register("einsum")
class Einsum(Function):
    """einsum on an explicit equation (no ellipsis: the caller spelled it out with letters)."""

    def forward(self, *arrays, inputs, output, sizes):
        self.inputs_subs, self.output, self.sizes = inputs, output, sizes
        need = self.needs_input_grad
        # Operand j is read by the gradient of every other operand.
        self.arrays = [
            a if any(n for i, n in enumerate(need) if i != j) else None
            for j, a in enumerate(arrays)
        ]
        return np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=True)

    def backward(self, g):
        return tuple(
            self._grad(i, g) if need else None for i, need in enumerate(self.needs_input_grad)
        )

    def _grad(self, i: int, g: np.ndarray) -> np.ndarray:
        # d out / d operand i: contract the gradient with every other operand, keeping i's letters.
        subs, sizes = self.inputs_subs[i], self.sizes
        unique = "".join(dict.fromkeys(subs))
        terms, operands = [self.output], [g]
        for j, (s, a) in enumerate(zip(self.inputs_subs, self.arrays)):
            if j != i:
                terms.append(s)
                operands.append(a)
        seen = set("".join(terms))
        for letter in unique:
            if letter not in seen:  # summed in operand i alone: its gradient is broadcast
                terms.append(letter)
                operands.append(array_module_of(g).ones(sizes[letter], dtype=g.dtype))
        grad = np.einsum(f"{','.join(terms)}->{unique}", *operands, optimize=True)
        full_shape = tuple(sizes[c] for c in unique)
        if grad.shape != full_shape:  # a size-1 dim of the others: the engine sums it back
            grad = np.broadcast_to(grad, full_shape)
        if len(unique) == len(subs):
            return grad
        # A repeated letter ('ii->i'): the gradient lives on the diagonal.
        xp = array_module_of(g)
        full = xp.zeros(tuple(sizes[c] for c in subs), dtype=g.dtype)
        if xp is np:
            np.einsum(f"{subs}->{unique}", full)[...] = grad  # NumPy's diagonal: a writable view
        else:  # a device's einsum copies: write the diagonal through broadcast index arrays
            axes = [[-1 if u == c else 1 for u in unique] for c in subs]
            full[tuple(xp.arange(sizes[c]).reshape(a) for c, a in zip(subs, axes))] = grad
        return full


def _split_term(equation: str, term: str, where: str) -> tuple[str, bool]:
    """A subscript term as its letters (ellipsis removed) and whether it had '...'."""
    has_ellipsis = "..." in term
    letters = term.replace("...", "", 1)
    bad = [c for c in letters if c not in _LETTERS]
    if bad:
        raise ValueError(
            f"einsum: equation {equation!r}: {where} {term!r} has invalid subscript {bad[0]!r} "
            "(use letters a-z, A-Z and at most one '...')"
        )
    return letters, has_ellipsis


def _parse_einsum(equation: str, shapes: list) -> tuple[list, str, dict]:
    """Rewrite ``equation`` with letters for the ellipsis dims; return terms, output, sizes."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs:
        raise ValueError(f"einsum: equation {equation!r} has more than one '->'")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum: equation {equation!r} names {len(terms)} operand(s) but "
            f"{len(shapes)} were given"
        )
    parsed = []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        letters, has_ellipsis = _split_term(equation, term, f"operand {k}")
        extra = len(shape) - len(letters)
        if extra < 0 or (extra and not has_ellipsis):
            raise ValueError(
                f"einsum: equation {equation!r}: operand {k} has shape {shape} "
                f"({len(shape)} dims) but subscripts {term!r} name {len(letters)}"
            )
        parsed.append((term, extra))
    n_ell = max((extra for _, extra in parsed), default=0)
    fresh = [c for c in _LETTERS if c not in eq][:n_ell]
    if len(fresh) < n_ell:
        raise ValueError(f"einsum: equation {equation!r} uses too many letters for its '...'")
    ell = "".join(fresh)
    inputs = [term.replace("...", ell[n_ell - extra :]) for term, extra in parsed]

    sizes: dict = {}
    for k, (subs, shape) in enumerate(zip(inputs, shapes)):
        own: dict = {}
        for c, n in zip(subs, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(
                    f"einsum: equation {equation!r}: subscript {c!r} repeats in operand {k} "
                    f"with sizes {own[c]} and {n} (shape {shape})"
                )
            m = sizes.setdefault(c, n)
            if m != n and 1 not in (m, n):
                name = "'...'" if c in ell else repr(c)
                raise ValueError(
                    f"einsum: equation {equation!r}: subscript {name} has size {m} in an earlier "
                    f"operand but {n} in operand {k} (shape {shape})"
                )
            sizes[c] = m if n == 1 else n

    if arrow:
        letters, _ = _split_term(equation, rhs, "output")
        missing = [c for c in letters if c not in sizes]
        if missing:
            raise ValueError(
                f"einsum: equation {equation!r}: output subscript {missing[0]!r} appears in no "
                "operand"
            )
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum: equation {equation!r}: output {rhs!r} repeats a subscript")
        # Without '...' in the output, the ellipsis dims are summed (as torch does).
        output = rhs.replace("...", ell)
    else:
        counts: dict = {}
        for subs in inputs:
            for c in subs:
                counts[c] = counts.get(c, 0) + 1
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return inputs, output, sizes


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, as ``torch.einsum``/``np.einsum`` (with '...' and implicit output).

    The gradient of each operand is the einsum of the output gradient with the other operands.

    >>> import nerve
    >>> a, b = nerve.ones(2, 3), nerve.ones(3, 4)
    >>> nerve.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument is the equation (a str), got {equation!r}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])  # torch.einsum(eq, [a, b])
    ts = [as_tensor(x, f"einsum operand {k}") for k, x in enumerate(operands)]
    inputs, output, sizes = _parse_einsum(equation, [t.shape for t in ts])
    if ts:
        common = np.result_type(*[t._data.dtype for t in ts])
        ts = [t if t._data.dtype == common else t.astype(common) for t in ts]
    return Einsum.apply(*ts, inputs=inputs, output=output, sizes=sizes)


# ----------------------------------------------------------------------------- statistics, kron
def cov(input, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns; a 1-d input is one variable), normalized by N - correction, with optional integer
    frequency weights and float observation weights per column, as NumPy's and torch's cov.

    Raises:
        ValueError: more than 2 dims, or weights of the wrong shape or sign.
    """
    x = as_tensor(input, "cov")
    if x.ndim > 2:
        raise ValueError(f"cov: expects a 1-d or 2-d tensor, got shape {x.shape}")
    if x.dtype.kind != "f":
        x = x.float()
    if x.ndim < 2:
        x = reshape(x, (1, -1))
    n = x.shape[1]
    w = aw = None
    for name, given in (("fweights", fweights), ("aweights", aweights)):
        if given is None:
            continue
        a = as_tensor(given, "cov")._data
        if a.shape != (n,) or np.any(a < 0):
            raise ValueError(
                f"cov: {name} must be {n} non-negative values (one per observation), got "
                f"shape {a.shape}"
            )
        w = a if w is None else w * a
        if name == "aweights":
            aw = a
    if w is None:
        total = float(n)
        centered = ew.sub(x, ew.div(reduction_sum(x, 1, True), total))
        weighted = centered
        factor = total - correction
    else:
        wt = Tensor._wrap(w.astype(x.dtype))
        total = float(w.sum())
        centered = ew.sub(x, ew.div(reduction_sum(ew.mul(x, wt), 1, True), total))
        weighted = ew.mul(centered, wt)
        # NumPy's and torch's normalization with observation weights
        factor = total - (correction if aw is None else correction * float((w * aw).sum()) / total)
    # No degrees of freedom left: nan (torch divides by 0 and warns; nan is quiet and as useless)
    out = ew.div(matmul(weighted, transpose(centered, 0, 1)), factor if factor > 0 else np.nan)
    return reshape(out, ()) if out.shape == (1, 1) else out


def corrcoef(input) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input`` (see :func:`cov`), clipped to
    [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return ew.div(c, c)
    d = ew.sqrt(diagonal(c))
    return ew.clamp(ew.div(ew.div(c, reshape(d, (-1, 1))), reshape(d, (1, -1))), -1.0, 1.0)


def kron(input, other) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``, laid out
    in blocks (shape: the products of the sizes, the shorter shape padded with leading 1s)."""
    a, b = binary_operands(input, other, "kron")
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    # a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...), then merged pairwise
    wide_a = reshape(a, tuple(v for s in sa for v in (s, 1)))
    wide_b = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(ew.mul(wide_a, wide_b), tuple(p * q for p, q in zip(sa, sb)))


def dist(input, other, p: float = 2.0) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), a 0-d tensor."""
    return reduction_norm(ew.sub(input, other), p)


def vdot(input, other) -> Tensor:
    """The dot product of two 1-d tensors (the first conjugated: the same for real ones)."""
    return dot(input, other)
