"""Tensor's torch-door op methods: comparisons, rounding, sorting, scatter, cumulative and
matrix ops, the NumPy/torch aliases (``eq``, ``topk``, ``scatter_add``, ``tril``, ...).

A base class of :class:`nerve.autograd.tensor.Tensor`, apart only to keep each file short. Each
method calls the op in ``nerve.primitives`` that holds the math (through tensor.py's imports).
"""

from __future__ import annotations


class TensorOps:
    """torch's op methods of Tensor (see the module docstring)."""

    __slots__ = ()

    def eq(self, other):
        return _t._ew.eq(self, other)

    def ne(self, other):
        return _t._ew.ne(self, other)

    def lt(self, other):
        return _t._ew.lt(self, other)

    def le(self, other):
        return _t._ew.le(self, other)

    def gt(self, other):
        return _t._ew.gt(self, other)

    def ge(self, other):
        return _t._ew.ge(self, other)

    def logical_not(self):
        return _t._ew.logical_not(self)

    def logical_and(self, other):
        return _t._ew.logical_and(self, other)

    def logical_or(self, other):
        return _t._ew.logical_or(self, other)

    def logical_xor(self, other):
        return _t._ew.logical_xor(self, other)

    def isinf(self):
        return _t._ew.isinf(self)

    def round(self, *, decimals: int = 0):
        return _t._ew.round(self, decimals=decimals)

    def floor(self):
        return _t._ew.floor(self)

    def ceil(self):
        return _t._ew.ceil(self)

    def trunc(self):
        return _t._ew.trunc(self)

    def frac(self):
        return _t._ew.frac(self)

    def lerp(self, end, weight):
        return _t._ew.lerp(self, end, weight)

    def where(self, condition, other):
        return _t._ew.where(condition, self, other)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _t._red.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _t._red.argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
        return _t._red.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False):
        return _t._red.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim: bool = False):
        return _t._red.median(self, dim, keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
        return _t._red.unique(self, sorted, return_inverse, return_counts, dim)

    def cumprod(self, dim=None, **numpy_names):
        return _t._red.cumprod(self, dim, **numpy_names)

    def t(self):
        return _t._linalg.t(self)

    def diag(self, diagonal: int = 0):
        return _t._linalg.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        return _t._linalg.diagonal(self, offset, dim1, dim2)

    def trace(self):
        return _t._linalg.trace(self)

    def tril(self, diagonal: int = 0):
        return _t._linalg.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        return _t._linalg.triu(self, diagonal)

    def cross(self, other, dim=None):
        return _t._linalg.cross(self, other, dim)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _t._linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def narrow(self, dim: int, start, length: int):
        return _t._index.narrow(self, dim, start, length)

    def scatter(self, dim: int, index, src=None, *, value=None):
        return _t._index.scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim: int, index, src):
        return _t._index.scatter_add(self, dim, index, src)

    def scatter_reduce(self, dim: int, index, src, reduce: str, *, include_self: bool = True):
        return _t._index.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def index_add(self, dim: int, index, source, *, alpha=1):
        return _t._index.index_add(self, dim, index, source, alpha=alpha)

    def masked_select(self, mask):
        return _t._index.masked_select(self, mask)

    def nonzero(self, *, as_tuple: bool = False):
        return _t._index.nonzero(self, as_tuple=as_tuple)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _t._index.repeat_interleave(self, repeats, dim, output_size=output_size)

    def reciprocal(self):
        return _t._ew.reciprocal(self)

    def exp2(self):
        return _t._ew.exp2(self)

    def expm1(self):
        return _t._ew.expm1(self)

    def log2(self):
        return _t._ew.log2(self)

    def log10(self):
        return _t._ew.log10(self)

    def tan(self):
        return _t._ew.tan(self)

    def asin(self):
        return _t._ew.asin(self)

    def acos(self):
        return _t._ew.acos(self)

    def atan(self):
        return _t._ew.atan(self)

    def sinh(self):
        return _t._ew.sinh(self)

    def cosh(self):
        return _t._ew.cosh(self)

    def erf(self):
        return _t._ew.erf(self)

    def atan2(self, other):
        return _t._ew.atan2(self, other)

    def logaddexp(self, other):
        return _t._ew.logaddexp(self, other)

    def fmod(self, other):
        return _t._ew.fmod(self, other)

    def nan_to_num(self, nan: float = 0.0, posinf=None, neginf=None):
        return _t._ew.nan_to_num(self, nan, posinf, neginf)

    def clamp_min(self, min):
        return _t._ew.clamp_min(self, min)

    def clamp_max(self, max):
        return _t._ew.clamp_max(self, max)

    def isclose(self, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
        return _t._ew.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False):
        return _t._ew.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return _t._ew.equal(self, other)

    def nansum(self, dim=None, keepdim=False, **kw):
        return _t._red.nansum(self, dim, keepdim, **kw)

    def nanmean(self, dim=None, keepdim=False, **numpy_names):
        return _t._red.nanmean(self, dim, keepdim, **numpy_names)

    def count_nonzero(self, dim=None):
        return _t._red.count_nonzero(self, dim)

    def aminmax(self, *, dim=None, keepdim=False):
        return _t._red.aminmax(self, dim=dim, keepdim=keepdim)

    def select(self, dim: int, index: int):
        from nerve.primitives import reshaping  # imports shape and indexing: loaded on use

        return reshaping.select(self, dim, index)

    def unflatten(self, dim: int, sizes):
        from nerve.primitives import reshaping

        return reshaping.unflatten(self, dim, sizes)

    def ravel(self):
        return _t._shape.reshape(self, (-1,))

    def take(self, index):
        from nerve.primitives import reshaping

        return reshaping.take(self, index)

    def tensor_split(self, indices_or_sections, dim: int = 0):
        from nerve.primitives import reshaping

        return reshaping.tensor_split(self, indices_or_sections, dim)

    def fliplr(self):
        from nerve.primitives import reshaping

        return reshaping.fliplr(self)

    def flipud(self):
        from nerve.primitives import reshaping

        return reshaping.flipud(self)

    def rot90(self, k: int = 1, dims=(0, 1)):
        from nerve.primitives import reshaping

        return reshaping.rot90(self, k, dims)

    def diff(self, n: int = 1, dim: int = -1, prepend=None, append=None):
        from nerve.primitives import reshaping

        return reshaping.diff(self, n, dim, prepend, append)

    def argwhere(self):
        return _t._index.nonzero(self)

    def moveaxis(self, source, destination):
        return _t._shape.movedim(self, source, destination)

    def movedim(self, source, destination):
        return _t._shape.movedim(self, source, destination)

    def cummax(self, dim: int):
        return _t._red.cummax(self, dim)

    def cummin(self, dim: int):
        return _t._red.cummin(self, dim)

    def bincount(self, weights=None, minlength: int = 0):
        return _t._red.bincount(self, weights, minlength)

    def histc(self, bins: int = 100, min=0, max=0):
        return _t._red.histc(self, bins, min, max)

    def index_fill(self, dim: int, index, value):
        return _t._index.index_fill(self, dim, index, value)

    def mv(self, vec):
        return _t._linalg.mv(self, vec)

    def inner(self, other):
        return _t._linalg.inner(self, other)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _t._linalg.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _t._linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _t._linalg.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _t._linalg.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _t._linalg.addcdiv(self, tensor1, tensor2, value=value)

    def add(self, other, *, alpha=1):
        return _t._ew.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return _t._ew.sub(self, other, alpha=alpha)

    def mul(self, other):
        return _t._ew.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return _t._ew.div(self, other, rounding_mode=rounding_mode)

    def true_divide(self, other):
        return _t._ew.div(self, other)

    def remainder(self, other):
        return _t._ew.remainder(self, other)

    def floor_divide(self, other):
        return _t._ew.floor_divide(self, other)

    # NumPy-style names torch's _t.Tensor also has
    subtract, multiply, divide = sub, mul, div
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
    arccos, arcsin, arctan, arctan2 = acos, asin, atan, atan2
    fix = trunc

    def absolute(self):
        return _t._ew.abs(self)

    def negative(self):
        return _t._ew.neg(self)

    def positive(self):
        return self

    def sgn(self):
        return _t._ew.sign(self)

    def bmm(self, other):
        return _t._linalg.bmm(self, other)

    def unbind(self, dim: int = 0):
        return _t._shape.unbind(self, dim)

    def reshape_as(self, other):
        return _t._shape.reshape(self, other.shape)

    def split_with_sizes(self, split_sizes, dim: int = 0):
        return _t._shape.split(self, list(split_sizes), dim)

    def erfc(self):
        return _t._ew.erfc(self)

    def erfinv(self):
        return _t._ew.erfinv(self)

    def logit(self, eps=None):
        return _t._ew.logit(self, eps)

    def sinc(self):
        return _t._ew.sinc(self)

    def deg2rad(self):
        return _t._ew.deg2rad(self)

    def rad2deg(self):
        return _t._ew.rad2deg(self)

    def fmax(self, other):
        return _t._ew.fmax(self, other)

    def fmin(self, other):
        return _t._ew.fmin(self, other)

    def hypot(self, other):
        return _t._ew.hypot(self, other)

    def xlogy(self, other):
        return _t._ew.xlogy(self, other)

    def isposinf(self):
        return _t._ew.isposinf(self)

    def isneginf(self):
        return _t._ew.isneginf(self)

    def signbit(self):
        return _t._ew.signbit(self)

    def quantile(self, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
        return _t._red.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
        return _t._red.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanmedian(self, dim=None, keepdim: bool = False):
        return _t._red.nanmedian(self, dim, keepdim)

    def msort(self):
        return _t._red.msort(self)

    def mode(self, dim: int = -1, keepdim: bool = False):
        return _t._red.mode(self, dim, keepdim)

    def logcumsumexp(self, dim: int):
        return _t._red.logcumsumexp(self, dim)

    def cov(self, *, correction: int = 1, fweights=None, aweights=None):
        return _t._linalg.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self):
        return _t._linalg.corrcoef(self)

    def kron(self, other):
        return _t._linalg.kron(self, other)

    def dist(self, other, p: float = 2.0):
        return _t._linalg.dist(self, other, p)

    def vdot(self, other):
        return _t._linalg.vdot(self, other)

    def hsplit(self, sections):
        from nerve.primitives import reshaping

        return reshaping.hsplit(self, sections)

    def vsplit(self, sections):
        from nerve.primitives import reshaping

        return reshaping.vsplit(self, sections)

    def dsplit(self, sections):
        from nerve.primitives import reshaping

        return reshaping.dsplit(self, sections)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1):
        return _t._linalg.diag_embed(self, offset, dim1, dim2)

    def swapdims(self, dim0: int, dim1: int):
        return _t._shape.transpose(self, dim0, dim1)

    # ---------------------------------------------------------------- random draws
    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None):
        """Category indices drawn with the weights of each row (``nerve.multinomial``).

        Args:
            num_samples: draws per row.
            replacement: draw with replacement (else each row's indices are distinct).
            generator: a ``nerve.Generator`` (default: the global one).

        Returns:
            int64 indices, (num_samples,) for a 1-d tensor, else (rows, num_samples), on
            this tensor's device.

        Raises:
            ValueError: as ``nerve.multinomial`` (bad weights, shape or ``num_samples``).
        """
        from nerve.primitives import sampling

        return sampling.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        """0/1 draws, 1 with probability ``self`` (or ``p``), of this tensor's shape and dtype
        (``nerve.bernoulli``; ``bernoulli_`` fills in place).

        Raises:
            ValueError: a probability lies outside [0, 1].
        """
        from nerve.primitives import sampling

        return sampling.bernoulli(self, p, generator=generator)


from nerve.autograd import tensor as _t  # noqa: E402  (tensor.py subclasses TensorOps)
