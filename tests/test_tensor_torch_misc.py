"""Tensor memory-layout queries, ``out=`` on matmul/add/mul, and nn.init's argument check,
compared with torch."""

import numpy as np
import pytest

import nerve
from nerve import nn

VIEWS = {
    "plain": lambda t: t,
    "transposed": lambda t: t.transpose(0, 1),
    "sliced_rows": lambda t: t[1:],
    "sliced_cols": lambda t: t[:, 1:3],
    "permuted": lambda t: t.permute(2, 0, 1),
    "row": lambda t: t[1],
    "expanded": lambda t: t[:, :1].expand(2, 3, 4),
    "unsqueezed": lambda t: t.unsqueeze(0),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_layout_queries_match_torch(torch, view):
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    ours = VIEWS[view](nerve.from_numpy(base))
    ref = VIEWS[view](torch.from_numpy(base))
    assert ours.stride() == ref.stride()
    assert [ours.stride(d) for d in range(-ours.ndim, ours.ndim)] == [
        ref.stride(d) for d in range(-ref.ndim, ref.ndim)
    ]
    assert ours.is_contiguous() == ref.is_contiguous()
    assert ours.storage_offset() == ref.storage_offset()
    assert ours.data_ptr() - base.ctypes.data == ref.data_ptr() - base.ctypes.data


def test_stride_is_in_elements_and_checks_dim():
    t = nerve.zeros(2, 3, dtype=nerve.float64)
    assert t.stride() == (3, 1)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        t.stride(2)


def test_views_share_data_ptr():
    t = nerve.arange(12).view(3, 4)
    assert t.view(12).data_ptr() == t.data_ptr()
    assert t[1].data_ptr() == t.data_ptr() + 4 * t.element_size()
    assert t.clone().data_ptr() != t.data_ptr()


@pytest.mark.parametrize(
    "name,args",
    [
        ("matmul", ((3, 4), (4, 2))),
        ("matmul", ((2, 3, 4), (4,))),
        ("add", ((3, 4), (4,))),
        ("mul", ((3, 4), (3, 1))),
    ],
)
def test_out_writes_into_and_returns_out(torch, name, args):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in args)
    expected = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    out = nerve.zeros(*expected.shape)
    before = out._data
    result = getattr(nerve, name)(nerve.tensor(a), nerve.tensor(b), out=out)
    assert result is out and out._data is before  # written in place: NumPy views see it
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_add_out_with_alpha_and_cast(torch):
    out = nerve.zeros(2, dtype=nerve.float64)
    nerve.add(nerve.ones(2), nerve.ones(2), alpha=3, out=out)
    assert out.dtype == nerve.float64 and out.tolist() == [4.0, 4.0]


def test_out_resizes_with_torch_warning():
    out = nerve.zeros(3)
    with pytest.warns(UserWarning, match=r"resized since it had shape \[3\]"):
        nerve.add(nerve.ones(2), 1, out=out)
    assert out.shape == (2,) and out.tolist() == [2.0, 2.0]


def test_out_errors_match_torch(torch):
    a = nerve.ones(2, 2, requires_grad=True)
    ta = torch.ones(2, 2, requires_grad=True)
    for name in ("matmul", "add", "mul"):
        with pytest.raises(RuntimeError) as ref:
            getattr(torch, name)(ta, ta, out=torch.empty(2, 2))
        with pytest.raises(RuntimeError) as ours:
            getattr(nerve, name)(a, a, out=nerve.zeros(2, 2))
        assert str(ours.value) == str(ref.value)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        nerve.matmul(nerve.ones(2, 2), nerve.ones(2, 2), out=nerve.zeros(2, 2, requires_grad=True))
    with nerve.no_grad():  # allowed without grad mode, as in torch
        nerve.matmul(a, a, out=nerve.zeros(2, 2))
    with pytest.raises(RuntimeError, match="expected out tensor to have dtype float32"):
        nerve.matmul(nerve.ones(2, 2), nerve.ones(2, 2), out=nerve.zeros(2, 2, dtype=nerve.float64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        nerve.add(nerve.ones(2), nerve.ones(2), out=nerve.zeros(2, dtype=nerve.int64))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not ndarray"):
        nerve.mul(nerve.ones(2), 2, out=np.zeros(2))


def test_out_result_has_no_graph():
    out = nerve.zeros(2, 2)
    nerve.matmul(nerve.ones(2, 2), nerve.ones(2, 2), out=out)
    assert not out.requires_grad and out.tolist() == [[2.0, 2.0], [2.0, 2.0]]


@pytest.mark.parametrize(
    "fn", ["uniform_", "normal_", "zeros_", "xavier_uniform_", "kaiming_normal_", "orthogonal_"]
)
def test_init_rejects_arrays_by_name(fn):
    with pytest.raises(
        TypeError,
        match=rf"nn\.init\.{fn} expects a Tensor or Parameter, got "
        r"numpy\.ndarray",
    ):
        getattr(nn.init, fn)(np.zeros((3, 3), np.float32))


def test_init_still_fills_tensors_and_parameters():
    p = nn.Linear(4, 3).weight
    assert nn.init.xavier_uniform_(p) is p
    t = nerve.ones(2, 2)
    assert nn.init.zeros_(t) is t and t.tolist() == [[0.0, 0.0], [0.0, 0.0]]
