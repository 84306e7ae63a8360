"""MultiheadAttention and Transformer layers equal torch.nn's with the same weights."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close


def _copy(n, t):
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _grads_equal(n, t, rtol=1e-4, atol=1e-5):
    grads = {k: p.grad.numpy() for k, p in t.named_parameters() if p.grad is not None}
    for k, p in n.named_parameters():
        if k in grads:
            assert_close(p.grad, grads[k], rtol=rtol, atol=atol, msg=f"{k}: ")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("masks", ["none", "key_padding", "bool_attn", "float_attn", "causal"])
def test_multihead_attention_matches_torch(torch, batch_first, need_weights, masks):
    t = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    n = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    _copy(n, t)
    rng = np.random.default_rng(0)
    shape_q = (3, 5, 8) if batch_first else (5, 3, 8)
    shape_k = (3, 6, 8) if batch_first else (6, 3, 8)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in (shape_q, shape_k, shape_k))
    kw_n, kw_t = {"need_weights": need_weights}, {"need_weights": need_weights}
    if masks == "key_padding":
        pad = np.zeros((3, 6), bool)
        pad[0, -2:] = True
        kw_n["key_padding_mask"], kw_t["key_padding_mask"] = nerve.tensor(pad), torch.tensor(pad)
    elif masks == "bool_attn":
        m = rng.random((5, 6)) < 0.3
        m[:, 0] = False
        kw_n["attn_mask"], kw_t["attn_mask"] = nerve.tensor(m), torch.tensor(m)
    elif masks == "float_attn":
        m = rng.standard_normal((3 * 2, 5, 6)).astype(np.float32)
        kw_n["attn_mask"], kw_t["attn_mask"] = nerve.tensor(m), torch.tensor(m)
    elif masks == "causal":
        m = np.triu(np.ones((5, 6), bool), k=1)
        kw_n["attn_mask"], kw_t["attn_mask"] = nerve.tensor(m), torch.tensor(m)
    qn, kn, vn = (nerve.tensor(a, requires_grad=True) for a in (q, k, v))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_n, w_n = n(qn, kn, vn, **kw_n)
    out_t, w_t = t(qt, kt, vt, **kw_t)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    if need_weights:
        assert_close(w_n, w_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert w_n is None
    g = rng.standard_normal(out_n.shape).astype(np.float32)
    (out_n * nerve.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for a, b in ((qn, qt), (kn, kt), (vn, vt)):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    _grads_equal(n, t)


def test_self_attention_uses_one_projection(torch):
    t = torch.nn.MultiheadAttention(8, 4, batch_first=True)
    n = nn.MultiheadAttention(8, 4, batch_first=True)
    _copy(n, t)
    x = np.random.default_rng(1).standard_normal((2, 7, 8)).astype(np.float32)
    xn = nerve.tensor(x)
    out_n, _ = n(xn, xn, xn)
    xt = torch.tensor(x)
    out_t, _ = t(xt, xt, xt)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_matches_torch(torch, norm_first, activation):
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first,
              activation=activation)  # fmt: skip
    t = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, **kw), 2, enable_nested_tensor=False
    )
    n = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **kw), 2)
    _copy(n, t)
    assert set(n.state_dict()) == set(t.state_dict())
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    pad = np.zeros((3, 5), bool)
    pad[1, -1] = True
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_n = n(xn, src_key_padding_mask=nerve.tensor(pad))
    out_t = t(xt, src_key_padding_mask=torch.tensor(pad))
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    out_n.sum().backward()
    out_t.sum().backward()
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    _grads_equal(n, t, atol=1e-4)


def test_transformer_decoder_layer_matches_torch(torch):
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True)
    t = torch.nn.TransformerDecoderLayer(8, 2, **kw)
    n = nn.TransformerDecoderLayer(8, 2, **kw)
    _copy(n, t)
    rng = np.random.default_rng(3)
    tgt = rng.standard_normal((2, 4, 8)).astype(np.float32)
    mem = rng.standard_normal((2, 6, 8)).astype(np.float32)
    causal = np.triu(np.ones((4, 4), bool), k=1)
    out_n = n(nerve.tensor(tgt), nerve.tensor(mem), tgt_mask=nerve.tensor(causal))
    out_t = t(torch.tensor(tgt), torch.tensor(mem), tgt_mask=torch.tensor(causal))
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_embed_dim_not_divisible_by_heads():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


def test_wrong_query_size_names_the_layer():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = nerve.randn(2, 3, 6)
    with pytest.raises(ValueError, match=r"embed_dim=8.*\(2, 3, 6\)"):
        m(x, x, x)
