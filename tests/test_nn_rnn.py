"""RNN, LSTM and GRU equal torch.nn's with the same weights: outputs, states and all gradients."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close, gradcheck

CONFIGS = [
    dict(num_layers=1),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=2, batch_first=True, bias=False),
    dict(num_layers=1, bidirectional=True, batch_first=True),
]


def _pair(torch, kind, config, extra=None):
    extra = extra or {}
    t = getattr(torch.nn, kind)(5, 4, **config, **extra)
    n = getattr(nn, kind)(5, 4, **config, **extra)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return n, t


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("kind,extra", [("LSTM", None), ("GRU", None), ("RNN", None),
                                        ("RNN", {"nonlinearity": "relu"})])  # fmt: skip
@pytest.mark.parametrize("with_state", [False, True])
def test_matches_torch(torch, kind, extra, config, with_state):
    n, t = _pair(torch, kind, config, extra)
    rng = np.random.default_rng(0)
    shape = (3, 6, 5) if config.get("batch_first") else (6, 3, 5)
    x = rng.standard_normal(shape).astype(np.float32)
    xn = nerve.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    layers = config["num_layers"] * (2 if config.get("bidirectional") else 1)
    args_n, args_t = (), ()
    if with_state:
        h0 = rng.standard_normal((layers, 3, 4)).astype(np.float32)
        c0 = rng.standard_normal((layers, 3, 4)).astype(np.float32)
        if kind == "LSTM":
            args_n = ((nerve.tensor(h0), nerve.tensor(c0)),)
            args_t = ((torch.tensor(h0), torch.tensor(c0)),)
        else:
            args_n, args_t = (nerve.tensor(h0),), (torch.tensor(h0),)
    out_n, state_n = n(xn, *args_n)
    out_t, state_t = t(xt, *args_t)
    states_n = state_n if isinstance(state_n, tuple) else (state_n,)
    states_t = state_t if isinstance(state_t, tuple) else (state_t,)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(states_n, states_t):
        assert_close(a, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(out_n.shape).astype(np.float32)
    gh = rng.standard_normal(states_n[0].shape).astype(np.float32)
    loss_n = (out_n * nerve.tensor(g)).sum() + (states_n[-1] * nerve.tensor(gh)).sum()
    loss_t = (out_t * torch.tensor(g)).sum() + (states_t[-1] * torch.tensor(gh)).sum()
    loss_n.backward()
    loss_t.backward()
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    grads_t = {k: p.grad.numpy() for k, p in t.named_parameters()}
    for k, p in n.named_parameters():
        assert_close(p.grad, grads_t[k], rtol=1e-4, atol=1e-5, msg=f"{kind} {k}: ")


def test_unbatched_input(torch):
    n, t = _pair(torch, "LSTM", dict(num_layers=1))
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    out_n, (h_n, _) = n(nerve.tensor(x))
    out_t, (h_t, _) = t(torch.tensor(x))
    assert out_n.shape == (7, 4) and h_n.shape == (1, 4)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_saturated_gates_equal_torch_without_overflow_warnings(torch, kind):
    """Pre-activations of +-1000: every logistic is exactly 0 or 1 (exp overflows to inf
    inside, silently), outputs and gradients stay finite and equal torch's."""
    n, t = _pair(torch, kind, dict(num_layers=1))
    x = np.random.default_rng(3).choice([-1000.0, 1000.0], size=(6, 3, 5)).astype(np.float32)
    xn = nerve.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_n, out_t = n(xn)[0], t(xt)[0]  # RuntimeWarnings from nerve fail the suite (pyproject)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out_n * out_n).sum().backward()
    (out_t * out_t).sum().backward()
    assert np.isfinite(xn.grad.numpy()).all()
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_gradcheck_through_two_layer_bidirectional_gru():
    nerve.manual_seed(0)
    gru = nn.GRU(3, 2, num_layers=2, bidirectional=True)
    for p in gru.parameters():
        p._data = p._data.astype(np.float64)
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    assert gradcheck(lambda t: gru(t)[0], x)


def test_wrong_input_size_names_the_layer():
    with pytest.raises(ValueError, match=r"LSTM\(input_size=5\).*\(2, 3, 7\)"):
        nn.LSTM(5, 4)(nerve.randn(2, 3, 7))


def test_wrong_state_shape_is_reported():
    with pytest.raises(ValueError, match=r"h_0 of shape \(1, 3, 4\)"):
        nn.GRU(5, 4)(nerve.randn(6, 3, 5), nerve.randn(2, 3, 4))


def test_dropout_between_layers_only_in_training():
    m = nn.LSTM(5, 4, num_layers=2, dropout=0.5)
    x = nerve.randn(6, 3, 5)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    assert np.array_equal(a._data, b._data)
