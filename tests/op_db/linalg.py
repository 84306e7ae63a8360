"""Linear algebra: matmul (with mm, bmm, dot and the @ operator), outer, einsum."""

from __future__ import annotations

from op_db import ErrorSample, Sample, rand


def _mat(*shape):
    return rand(*shape, seed=sum(shape) * 7 + len(shape))


SAMPLES = {
    "matmul": [
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(3, 4), _mat(4, 5)), desc="2d"),
        Sample(lambda m, a, b: a @ b, (_mat(2, 3, 4), _mat(2, 4, 5)), desc="op-batched"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(2, 1, 3, 4), _mat(5, 4, 2)), desc="broadcast"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(1, 3, 4), _mat(2, 4, 5)), desc="size1-batch"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(2, 3, 4), _mat(4, 5)), desc="3d-2d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(4), _mat(4, 5)), desc="1d-2d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(3, 4), _mat(4)), desc="2d-1d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(4), _mat(4)), desc="1d-1d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(4), _mat(2, 3, 4, 5)), desc="1d-4d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(2, 1, 3, 4), _mat(4)), desc="4d-1d"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(3, 0), _mat(0, 4)), desc="empty-inner"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(0, 3, 4), _mat(4, 2)), desc="empty-batch"),
        Sample(lambda m, a, b: m.matmul(a, b), (_mat(3, 4), _mat(4, 5)), grad=(1,), desc="b-only"),
        Sample(lambda m, a, b: a.matmul(b), (_mat(3, 4), _mat(4, 5)), grad=(0,), desc="a-only"),
        Sample(lambda m, a, b: m.mm(a, b), (_mat(3, 4), _mat(4, 2)), desc="mm"),
        Sample(lambda m, a, b: m.bmm(a, b), (_mat(2, 3, 4), _mat(2, 4, 2)), desc="bmm"),
        Sample(lambda m, a, b: m.dot(a, b), (_mat(5), _mat(5)), desc="dot"),
        Sample(lambda m, a, b: a.dot(b), (_mat(3), _mat(3)), desc="dot-method"),
    ],
    "outer": [
        Sample(lambda m, a, b: m.outer(a, b), (_mat(3), _mat(4)), desc="outer"),
        Sample(lambda m, a, b: a.outer(b), (_mat(2), _mat(5)), desc="method"),
        Sample(lambda m, a, b: m.outer(a, b), (_mat(0), _mat(3)), desc="empty"),
        Sample(lambda m, a, b: m.outer(a, b), (_mat(3), _mat(4)), grad=(1,), desc="b-only"),
    ],
    "einsum": [
        Sample(lambda m, a, b: m.einsum("ij,jk->ik", a, b), (_mat(2, 3), _mat(3, 4)), desc="mm"),
        Sample(lambda m, a, b: m.einsum("ij,jk", a, b), (_mat(2, 3), _mat(3, 4)), desc="implicit"),
        Sample(
            lambda m, a, b: m.einsum("bij,bjk->bik", a, b),
            (_mat(2, 2, 3), _mat(2, 3, 4)),
            desc="bmm",
        ),
        Sample(
            lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b),
            (_mat(2, 1, 3, 4), _mat(5, 4, 2)),
            desc="ellipsis-broadcast",
        ),
        Sample(
            lambda m, a, b: m.einsum("...ij,...jk", a, b),
            (_mat(2, 3, 4), _mat(4, 2)),
            desc="ellipsis-implicit",
        ),
        Sample(lambda m, a: m.einsum("...i->...", a), (_mat(2, 3, 4),), desc="ellipsis-sum-last"),
        Sample(lambda m, a: m.einsum("i...->...", a), (_mat(2, 3, 4),), desc="ellipsis-sum-first"),
        Sample(lambda m, a: m.einsum("...i->i", a), (_mat(2, 3, 4),), desc="ellipsis-dropped"),
        Sample(lambda m, a: m.einsum("b...j->jb", a), (_mat(2, 3, 4),), desc="ellipsis-middle"),
        Sample(lambda m, a, b: m.einsum("i,i->", a, b), (_mat(5), _mat(5)), desc="dot"),
        Sample(lambda m, a, b: m.einsum("i,j->ij", a, b), (_mat(3), _mat(4)), desc="outer"),
        Sample(lambda m, a: m.einsum("ij->ji", a), (_mat(3, 4),), desc="transpose"),
        Sample(lambda m, a: m.einsum("ij->", a), (_mat(3, 4),), desc="sum"),
        Sample(lambda m, a: m.einsum("ijk->kj", a), (_mat(2, 3, 4),), desc="sum-permute"),
        Sample(lambda m, a: m.einsum("ii->i", a), (_mat(3, 3),), desc="diagonal"),
        Sample(lambda m, a: m.einsum("ii", a), (_mat(4, 4),), desc="trace"),
        Sample(lambda m, a, b: m.einsum("iij,j->i", a, b), (_mat(3, 3, 2), _mat(2)), desc="diag-2"),
        Sample(
            lambda m, a, b: m.einsum("bhqd,bhkd->bhqk", a, b),
            (_mat(2, 2, 3, 4), _mat(2, 2, 5, 4)),
            desc="attention",
        ),
        Sample(
            lambda m, a, b: m.einsum("ij,ij->ij", a, b),
            (_mat(1, 3), _mat(2, 3)),
            desc="size1-broadcast",
        ),
        Sample(
            lambda m, a, b: m.einsum("ij,j->i", a, b),
            (_mat(2, 3), _mat(1)),
            desc="size1-contracted",
        ),
        Sample(
            lambda m, a, b: m.einsum("ij,jk->i", a, b),
            (_mat(2, 3), _mat(3, 4)),
            desc="summed-in-one-operand",
        ),
        Sample(
            lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c),
            (_mat(2, 3), _mat(3, 4), _mat(4, 2)),
            desc="three",
        ),
        Sample(
            lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c),
            (_mat(2, 3), _mat(3, 4), _mat(4, 2)),
            grad=(1,),
            desc="three-middle-only",
        ),
        Sample(
            lambda m, a, b: m.einsum("Ab,bC->AC", [a, b]),
            (_mat(2, 3), _mat(3, 4)),
            desc="list-uppercase",
        ),
        Sample(
            lambda m, a, b: m.einsum(" ij , jk -> ik ", a, b),
            (_mat(2, 3), _mat(3, 4)),
            desc="spaces",
        ),
        Sample(lambda m, a, b: m.einsum("ij,jk->ik", a, b), (_mat(2, 0), _mat(0, 3)), desc="empty"),
    ],
}

_A, _B = _mat(3, 4), _mat(5, 6)
ERRORS = [
    ErrorSample(
        lambda m, a, b: m.matmul(a, b),
        (_A, _B),
        ValueError,
        r"matmul: shapes \(3, 4\) and \(5, 6\) do not match",
        "matmul-shapes",
    ),
    ErrorSample(
        lambda m, a, b: m.matmul(a, b),
        (_mat(2, 3, 4), _mat(3, 4, 5)),
        ValueError,
        r"matmul: batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)",
        "matmul-batch",
    ),
    ErrorSample(
        lambda m, a, b: m.matmul(a, b[0, 0]),
        (_A, _B),
        ValueError,
        r"matmul: both operands need at least one dimension",
        "matmul-0d",
    ),
    ErrorSample(
        lambda m, a, b: m.mm(a, b), (_mat(2, 3, 4), _A), ValueError, r"mm: needs two 2-d", "mm-3d"
    ),
    ErrorSample(
        lambda m, a, b: m.bmm(a, b),
        (_mat(2, 3, 4), _mat(3, 4, 5)),
        ValueError,
        r"bmm: .* same batch size, got shapes \(2, 3, 4\) and \(3, 4, 5\)",
        "bmm-batch",
    ),
    ErrorSample(
        lambda m, a, b: m.dot(a, b),
        (_mat(3), _mat(4)),
        ValueError,
        r"dot: .* got shapes \(3,\) and \(4,\)",
        "dot-length",
    ),
    ErrorSample(lambda m, a, b: m.outer(a, b), (_A, _mat(3)), ValueError, r"outer: needs two 1-d"),
    ErrorSample(
        lambda m, a: m.einsum("ij,jk->ik", a),
        (_A,),
        ValueError,
        r"einsum: equation 'ij,jk->ik' names 2 operand\(s\) but 1 were given",
        "einsum-count",
    ),
    ErrorSample(
        lambda m, a, b: m.einsum("ij,jk", a, b),
        (_A, _B),
        ValueError,
        r"subscript 'j' has size 4 in an earlier operand but 5 in operand 1",
        "einsum-size",
    ),
    ErrorSample(
        lambda m, a: m.einsum("ijk->i", a),
        (_A,),
        ValueError,
        r"operand 0 has shape \(3, 4\) \(2 dims\) but subscripts 'ijk' name 3",
        "einsum-ndim",
    ),
    ErrorSample(
        lambda m, a: m.einsum("ij->iz", a),
        (_A,),
        ValueError,
        r"output subscript 'z' appears in no operand",
        "einsum-output",
    ),
    ErrorSample(
        lambda m, a: m.einsum("i1->i", a), (_A,), ValueError, r"invalid subscript '1'", "einsum-chr"
    ),
]
