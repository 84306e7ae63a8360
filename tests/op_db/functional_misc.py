"""Samples and error cases for linear, dropout, embedding and scaled_dot_product_attention.

Dropout draws a mask, so its samples seed nerve's generator inside the call (every gradcheck
evaluation then draws the same mask) and have no torch twin; scaling, keep rate and determinism
are checked in tests/test_functional_dropout.py.
"""

from __future__ import annotations

import numpy as np

from op_db import ErrorSample, Sample, ints, rand, randn

# ----------------------------------------------------------------------------- linear
LW = randn(3, 5, seed=201)
LB = rand(3, seed=202)

# ----------------------------------------------------------------------------- embedding
EW = randn(7, 3, seed=203)
E_IDX = np.array([[1, 4, 4, 0], [6, 1, 0, 4]])  # repeated indices and the padding row 0
E_IDX1 = np.array([2, 5, 2, 2, 3])
PAD_ZERO = np.ones((7, 1))
PAD_ZERO[0] = 0.0

# ----------------------------------------------------------------------------- attention
Q, K, V = randn(2, 2, 3, 4, seed=204), randn(2, 2, 5, 4, seed=205), randn(2, 2, 5, 3, seed=206)
BOOL_MASK = rand(3, 5, seed=207) > -0.4
BOOL_MASK[1] = False  # a fully masked query: zeros out, as torch 2.13 gives
BOOL_MASK[2, 0] = True
FLOAT_MASK = randn(2, 1, 3, 5, seed=208)
KV1 = randn(2, 1, 5, 4, seed=209), randn(2, 1, 5, 3, seed=210)
QG = randn(1, 4, 3, 4, seed=211)  # 4 query heads over 2 key/value heads


def _seeded(call):
    """Seed nerve's generator first, so every evaluation draws the same dropout mask."""

    def fn(m, *xs):
        m.manual_seed(7)
        return call(m, *xs)

    return fn


SAMPLES = {
    "linear": [
        Sample(lambda m, x, w, b: m.F.linear(x, w, b), (randn(5, seed=212), LW, LB), desc="1d"),
        Sample(lambda m, x, w, b: m.F.linear(x, w, b), (randn(4, 5, seed=213), LW, LB), desc="2d"),
        Sample(
            lambda m, x, w, b: m.F.linear(x, w, b), (randn(1, 5, seed=217), LW, LB), desc="one-row"
        ),
        Sample(
            lambda m, x, w, b: m.F.linear(x, w, b), (randn(2, 3, 5, seed=214), LW, LB), desc="3d"
        ),
        Sample(lambda m, x, w: m.F.linear(x, w), (randn(2, 3, 5, seed=215), LW), desc="no-bias"),
        Sample(
            lambda m, x, w, b: m.F.linear(x.transpose(0, 1), w, b),
            (randn(5, 4, seed=216), LW, LB),
            desc="non-contiguous",
        ),
    ],
    "dense": [
        Sample(
            lambda m, x, k, b: m.F.dense(x, k, b),
            (randn(5, seed=231), LW.T.copy(), LB),
            torch_fn=lambda m, x, k, b: x @ k + b,
            desc="1d",
        ),
        Sample(
            lambda m, x, k, b: m.F.dense(x, k, b),
            (randn(2, 3, 5, seed=232), LW.T.copy(), LB),
            torch_fn=lambda m, x, k, b: x @ k + b,
            desc="3d",
        ),
        Sample(
            lambda m, x, k, b: m.F.dense(x, k, b),
            (randn(1, 5, seed=234), LW.T.copy(), LB),
            torch_fn=lambda m, x, k, b: x @ k + b,
            desc="one-row",
        ),
        Sample(
            lambda m, x, k: m.F.dense(x.transpose(0, 1), k),
            (randn(5, 4, seed=233), LW.T.copy()),
            torch_fn=lambda m, x, k: x.transpose(0, 1) @ k,
            desc="non-contiguous-no-bias",
        ),
    ],
    "dropout": [
        Sample(
            _seeded(lambda m, x: m.F.dropout(x, p=0.3)),
            (randn(4, 6, seed=217),),
            torch_fn=False,
            desc="p0.3",
        ),
        Sample(
            _seeded(lambda m, x: m.F.dropout2d(x, p=0.5)),
            (randn(3, 4, 2, 2, seed=218),),
            torch_fn=False,
            desc="2d",
        ),
        Sample(
            _seeded(lambda m, x: m.F.dropout1d(x, 0.4)),
            (randn(3, 4, 5, seed=219),),
            torch_fn=False,
            desc="1d",
        ),
        Sample(
            _seeded(lambda m, x: m.F.dropout3d(x, 0.4)),
            (randn(2, 3, 2, 2, 2, seed=220),),
            torch_fn=False,
            desc="3d",
        ),
        Sample(
            lambda m, x: m.F.dropout(x, 0.3, training=False), (randn(4, 5, seed=221),), desc="eval"
        ),
        Sample(lambda m, x: m.F.dropout(x, 0.0), (randn(4, 5, seed=222),), desc="p0"),
        Sample(lambda m, x: m.F.dropout(x, 1.0), (randn(4, 5, seed=223),), desc="p1"),
    ],
    "embedding": [
        Sample(lambda m, i, w: m.F.embedding(i, w), (E_IDX1, EW), desc="1d-repeats"),
        # The padding row feeds the forward but gets no gradient (as torch), which central
        # differences would see; these samples zero it first (w * PAD_ZERO), so gradcheck holds.
        # That its gradient is exactly zero, and scale_grad_by_freq (not a true gradient, so
        # not gradcheckable), are checked against torch in tests/test_functional_embedding.py.
        Sample(
            lambda m, i, w, z: m.F.embedding(i, w * z, padding_idx=0),
            (E_IDX, EW, PAD_ZERO),
            grad=(1,),
            desc="padding",
        ),
        Sample(
            lambda m, i, w, z: m.F.embedding(i, w * z, padding_idx=-7),
            (E_IDX, EW, PAD_ZERO),
            grad=(1,),
            desc="negative-padding",
        ),
        Sample(lambda m, i, w: m.F.embedding(i, w), (np.array(3), EW), desc="0d-index"),
        Sample(lambda m, i, w: m.F.embedding(i, w), (ints(0, 7, 2, 3, 2, seed=224), EW), desc="3d"),
        # max_norm renormalizes weight rows in place, outside the graph (as torch): the numeric
        # gradient would see the renorm, so only the forward is compared.
        Sample(
            lambda m, i, w: m.F.embedding(i, w, max_norm=1.0),
            (E_IDX, EW),
            grad=(),
            desc="max_norm",
        ),
    ],
    "scaled_dot_product_attention": [
        Sample(lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v), (Q, K, V)),
        Sample(
            lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, is_causal=True),
            (Q, K, V),
            desc="causal",
        ),
        Sample(
            lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, is_causal=True),
            (randn(2, 5, 4, seed=225), randn(2, 3, 4, seed=226), randn(2, 3, 2, seed=227)),
            desc="causal-L>S-3d",
        ),
        Sample(
            lambda m, q, k, v, a: m.F.scaled_dot_product_attention(q, k, v, attn_mask=a),
            (Q, K, V, BOOL_MASK),
            desc="bool-mask-fully-masked-row",
        ),
        Sample(
            lambda m, q, k, v, a: m.F.scaled_dot_product_attention(q, k, v, a, scale=0.7),
            (Q, K, V, FLOAT_MASK),
            desc="float-mask-differentiable",
        ),
        Sample(
            lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v),
            (Q, *KV1),
            desc="broadcast-heads",
        ),
        Sample(
            lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
            (QG, K[:1], V[:1]),
            desc="gqa",
        ),
        Sample(
            lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v),
            (randn(3, 4, seed=228), randn(5, 4, seed=229), randn(5, 2, seed=230)),
            desc="2d",
        ),
        Sample(
            _seeded(lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)),
            (Q, K, V),
            torch_fn=False,
            desc="dropout",
        ),
    ],
}


ERRORS = [
    ErrorSample(
        lambda m, x, w: m.F.linear(x, w),
        (randn(2, 4, seed=1), LW),
        ValueError,
        r"linear: input of shape \(2, 4\) has 4 features in its last dim but weight of shape "
        r"\(3, 5\) expects in_features=5",
        desc="linear-in-features",
    ),
    ErrorSample(
        lambda m, x, w, b: m.F.linear(x, w, b),
        (randn(2, 5, seed=2), LW, rand(4, seed=3)),
        ValueError,
        r"linear: bias must have shape \(3,\) to match weight \(3, 5\), got \(4,\)",
        desc="linear-bias",
    ),
    ErrorSample(
        lambda m, x, k: m.F.dense(x, k),
        (randn(2, 4, seed=4), LW.T.copy()),
        ValueError,
        r"dense: input of shape \(2, 4\) has 4 features in its last dim but kernel of shape "
        r"\(5, 3\) expects in_features=5",
        desc="dense-in-features",
    ),
    ErrorSample(
        lambda m, i, w: m.F.embedding(i, w),
        (np.array([0, 9, 2]), EW),
        IndexError,
        r"embedding: index 9 is out of range for num_embeddings=7",
        desc="embedding-index-high",
    ),
    ErrorSample(
        lambda m, i, w: m.F.embedding(i, w),
        (np.array([[0, -1]]), EW),
        IndexError,
        r"embedding: index -1 is out of range for num_embeddings=7",
        desc="embedding-index-negative",
    ),
    ErrorSample(
        lambda m, i, w: m.F.embedding(i, w),
        (np.array([0.0, 1.0]), EW),
        TypeError,
        r"embedding: input must hold integer indices, got dtype float32",
        desc="embedding-float-index",
    ),
    ErrorSample(
        lambda m, x: m.F.dropout(x, p=1.5),
        (randn(3, seed=4),),
        ValueError,
        r"dropout: dropout probability p must be in \[0, 1\], got 1.5",
        desc="dropout-p",
    ),
    ErrorSample(
        lambda m, x: m.F.dropout2d(x, p=0.2),
        (randn(3, 4, seed=5),),
        ValueError,
        r"dropout2d: expected a 3-d or 4-d \(N, C, H, W\) input, got \(3, 4\)",
        desc="dropout2d-ndim",
    ),
    ErrorSample(
        lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v),
        (Q, randn(2, 2, 5, 3, seed=6), V),
        ValueError,
        r"scaled_dot_product_attention: query \(2, 2, 3, 4\) and key \(2, 2, 5, 3\) must have "
        r"the same last dim",
        desc="attention-E",
    ),
    ErrorSample(
        lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v),
        (Q, K, randn(2, 2, 4, 3, seed=7)),
        ValueError,
        r"scaled_dot_product_attention: key \(2, 2, 5, 4\) and value \(2, 2, 4, 3\) must have "
        r"the same length dim",
        desc="attention-S",
    ),
    ErrorSample(
        lambda m, q, k, v, a: m.F.scaled_dot_product_attention(q, k, v, a, is_causal=True),
        (Q, K, V, BOOL_MASK),
        ValueError,
        r"scaled_dot_product_attention: pass attn_mask or is_causal=True, not both",
        desc="attention-mask-and-causal",
    ),
    ErrorSample(
        lambda m, q, k, v, a: m.F.scaled_dot_product_attention(q, k, v, a),
        (Q, K, V, BOOL_MASK[:, :4]),
        ValueError,
        r"scaled_dot_product_attention: shapes do not broadcast: .* attn_mask \(3, 4\)",
        desc="attention-mask-shape",
    ),
]
