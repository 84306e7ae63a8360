"""embedding's gradient rules that gradcheck cannot see: padding_idx, scale_grad_by_freq, max_norm.

The plain gradient is gradchecked and torch-compared in tests/op_db/functional_misc.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as F
from nerve.nn.functional.embedding import scatter_add_rows
from nerve.testing import assert_close


def _both(torch, idx, w, **kw):
    nw = nerve.tensor(w, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    out = F.embedding(nerve.tensor(idx), nw, **kw)
    tout = torch.nn.functional.embedding(torch.tensor(idx), tw, **kw)
    cot = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    out.backward(nerve.tensor(cot))
    tout.backward(torch.tensor(cot))
    assert_close(out._data, tout.detach().numpy(), msg="output: ")
    assert_close(nw.grad._data, tw.grad.numpy(), 1e-5, 1e-6, msg="weight grad: ")
    assert_close(nw._data, tw.detach().numpy(), msg="weight after: ")
    return nw


IDX = np.array([[1, 4, 4, 0], [6, 1, 0, 4], [0, 0, 2, 2]])
W = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)


@pytest.mark.parametrize("padding_idx", [0, 4, -3])
def test_padding_row_gets_zero_gradient_like_torch(torch, padding_idx):
    nw = _both(torch, IDX, W.copy(), padding_idx=padding_idx)
    assert not nw.grad._data[padding_idx].any()


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_scale_grad_by_freq_matches_torch(torch, padding_idx):
    _both(torch, IDX, W.copy(), padding_idx=padding_idx, scale_grad_by_freq=True)


def test_max_norm_renormalizes_rows_in_place_like_torch(torch):
    w = W.copy() * 3
    nw = _both(torch, IDX, w, max_norm=1.5)
    norms = np.linalg.norm(nw._data[np.unique(IDX)], axis=1)
    assert norms.max() <= 1.5 + 1e-5
    untouched = np.setdiff1d(np.arange(7), IDX)
    np.testing.assert_array_equal(nw._data[untouched], W[untouched] * 3)


@pytest.mark.parametrize("unique", [True, False])
def test_scatter_add_rows_matches_add_at(unique):
    g = np.random.default_rng(2)
    n = 50
    index = g.permutation(n)[:30] if unique else g.integers(0, n, 200)
    rows = g.standard_normal((index.size, 6)).astype(np.float32)
    expected = np.zeros((n, 6), np.float32)
    np.add.at(expected, index, rows)
    np.testing.assert_allclose(scatter_add_rows(index, rows, n), expected, rtol=1e-6, atol=1e-6)


def test_sparse_is_not_implemented():
    with pytest.raises(NotImplementedError, match="embedding: sparse=True"):
        F.embedding(nerve.tensor([0, 1]), nerve.randn(3, 2), sparse=True)


def test_index_error_names_index_and_size():
    with pytest.raises(IndexError, match=r"index 3 is out of range for num_embeddings=3"):
        F.embedding(nerve.tensor([[0, 3]]), nerve.randn(3, 2))
