"""LBFGS: the same trajectory as torch.optim.LBFGS on a small problem, with and without the
strong-Wolfe line search; and a tutorial-style program over issue 14's pieces (LSTMCell,
Transformer, the new schedules, LBFGS, state dicts, interpolate) run from one source text on
torch and on nerve."""

import numpy as np
import pytest

import nerve
from nerve import optim
from nerve.testing import assert_close


def _problem(fw, m, dtype, **kwargs):
    """A two-layer tanh regression in nerve or torch; returns (params, optimizer, closure)."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((20, 3))
    y_np = np.sin(x_np.sum(1, keepdims=True))
    w1, w2 = rng.standard_normal((5, 3)) * 0.5, rng.standard_normal((1, 5)) * 0.5
    if fw == "torch":
        ps = [m.tensor(w.astype(dtype), requires_grad=True) for w in (w1, w2)]
        x, y = m.tensor(x_np.astype(dtype)), m.tensor(y_np.astype(dtype))
        opt = m.optim.LBFGS(ps, **kwargs)
    else:
        ps = [nerve.tensor(w, dtype=dtype, requires_grad=True) for w in (w1, w2)]
        x, y = nerve.tensor(x_np, dtype=dtype), nerve.tensor(y_np, dtype=dtype)
        opt = optim.LBFGS(ps, **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((m.tanh(x @ ps[0].T) @ ps[1].T - y) ** 2).mean()
        loss.backward()
        return loss

    return ps, opt, closure


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"history_size": 3, "max_iter": 7, "lr": 0.5},
        {"max_iter": 4, "max_eval": 6, "tolerance_change": 1e-5},
    ],
    ids=["defaults", "short-history", "max-eval"],
)
def test_lbfgs_trajectory_equals_torch_float64(torch, line_search_fn, kwargs):
    kwargs = dict(kwargs, line_search_fn=line_search_fn)
    tp, topt, tclosure = _problem("torch", torch, np.float64, **kwargs)
    nps, nopt, nclosure = _problem("nerve", nerve, np.float64, **kwargs)
    for _ in range(4):
        t_loss, n_loss = float(topt.step(tclosure)), float(nopt.step(nclosure))
        assert n_loss == pytest.approx(t_loss, rel=1e-7, abs=1e-10)
        for a, b in zip(nps, tp):
            assert_close(a.detach(), b.detach().numpy(), rtol=1e-5, atol=1e-7)
    ts, ns = topt.state[tp[0]], nopt.state[nps[0]]
    assert (ns["func_evals"], ns["n_iter"]) == (ts["func_evals"], ts["n_iter"])
    assert len(ns["old_dirs"]) == len(ts["old_dirs"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_float32_stays_float32_and_close_to_torch(torch, line_search_fn):
    tp, topt, tclosure = _problem("torch", torch, np.float32, line_search_fn=line_search_fn)
    nps, nopt, nclosure = _problem("nerve", nerve, np.float32, line_search_fn=line_search_fn)
    t_first, n_first = float(topt.step(tclosure)), float(nopt.step(nclosure))
    assert n_first == pytest.approx(t_first, rel=1e-6)
    assert all(p.dtype == np.float32 for p in nps)
    for a, b in zip(nps, tp):
        assert_close(a.detach(), b.detach().numpy(), rtol=1e-3, atol=1e-3)
    final = float(nclosure())
    assert final < 0.5 * n_first


def test_lbfgs_minimizes_a_quadratic_and_checks_its_arguments():
    w = nerve.tensor([1.5, -0.5, 4.0], requires_grad=True)
    target = nerve.tensor([3.0, 1.0, -2.0])
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - target) ** 2 * nerve.tensor([1.0, 10.0, 100.0])).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert_close(w.detach(), target, atol=1e-4)
    with pytest.raises(RuntimeError, match="requires a closure"):
        opt.step()
    with pytest.raises(ValueError, match="strong_wolfe"):
        optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [nerve.zeros(1, requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([w], lr=-1)


TUTORIAL = """\
# A tutorial-style program: an LSTMCell character model trained with Adam under a cyclic and a
# chained schedule, a Transformer step, then L-BFGS fine-tuning of the head in float64.
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler

rng = np.random.default_rng(0)


class CharModel(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.cell = nn.LSTMCell(8, hidden)
        self.head = nn.Sequential(nn.Hardswish(), nn.Dropout(0.0), nn.Linear(hidden, vocab))

    def forward(self, ids):
        h = c = None
        outs = []
        for t in range(ids.shape[1]):
            state = None if h is None else (h, c)
            h, c = self.cell(self.embed(ids[:, t]), state)
            outs.append(self.head(h))
        return torch.stack(outs, 1)


model = CharModel(12, 16)
model.load_state_dict(
    {k: torch.tensor(rng.standard_normal(tuple(v.shape)).astype(np.float32) * 0.3)
     for k, v in model.state_dict().items()}
)
snapshot = {k: v.clone() for k, v in model.state_dict().items()}
ids = torch.tensor(rng.integers(0, 12, (4, 7)))
targets = torch.tensor(rng.integers(0, 12, (4, 7)))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
sched = lr_scheduler.ChainedScheduler(
    [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
     lr_scheduler.PolynomialLR(opt, total_iters=20, power=2.0)]
)
losses, lrs = [], []
for step in range(12):
    opt.zero_grad()
    loss = F.cross_entropy(model(ids).reshape(-1, 12), targets.reshape(-1))
    loss.backward()
    opt.step()
    sched.step()
    losses.append(loss.item())
    lrs.append(sched.get_last_lr()[0])
RESULTS["adam_losses"] = np.array(losses)
RESULTS["lrs"] = np.array(lrs)
moved = model.state_dict()["head.2.weight"] - snapshot["head.2.weight"]
RESULTS["moved"] = float(moved.abs().sum())
missing = model.load_state_dict(snapshot, strict=False)
RESULTS["restored"] = f"{missing.missing_keys} {missing.unexpected_keys}"
RESULTS["repr"] = repr(model.head)

sgd = torch.optim.SGD(model.parameters(), lr=0.1)
cyc = lr_scheduler.CyclicLR(sgd, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2")
cyc_lrs = []
for step in range(10):
    sgd.zero_grad()
    F.cross_entropy(model(ids).reshape(-1, 12), targets.reshape(-1)).backward()
    sgd.step()
    cyc.step()
    cyc_lrs.append([cyc.get_last_lr()[0], sgd.param_groups[0]["momentum"]])
RESULTS["cyclic"] = np.array(cyc_lrs)

# L-BFGS on a float64 regression head
head = nn.Linear(5, 1).double()
f64 = torch.float64
head.load_state_dict({"weight": torch.tensor(rng.standard_normal((1, 5)), dtype=f64),
                      "bias": torch.tensor(rng.standard_normal(1), dtype=f64)})
x = torch.tensor(rng.standard_normal((30, 5)), dtype=f64)
y = torch.tensor(rng.standard_normal((30, 1)), dtype=f64)
lbfgs = torch.optim.LBFGS(head.parameters(), lr=1, max_iter=5, line_search_fn="strong_wolfe")


def closure():
    lbfgs.zero_grad()
    out = F.mse_loss(torch.tanh(head(x)), y)
    out.backward()
    return out


RESULTS["lbfgs"] = np.array([lbfgs.step(closure).item() for _ in range(3)])
RESULTS["dtype"] = str(head.weight.dtype).replace("torch.", "")

# one Transformer step with a causal mask
tf = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                    dim_feedforward=16, dropout=0.0, batch_first=True)
tf.load_state_dict(
    {k: torch.tensor(rng.standard_normal(tuple(v.shape)).astype(np.float32) * 0.2)
     for k, v in tf.state_dict().items()}
)
src = torch.tensor(rng.standard_normal((2, 5, 8)).astype(np.float32))
tgt = torch.tensor(rng.standard_normal((2, 4, 8)).astype(np.float32))
mask = nn.Transformer.generate_square_subsequent_mask(4)
out = tf(src, tgt, tgt_mask=mask)
RESULTS["transformer"] = out.detach().numpy()
up = F.interpolate(src.transpose(1, 2), scale_factor=2, mode="linear")
RESULTS["upsampled"] = up.detach().numpy()
"""


def test_tutorial_program_matches_torch(torch, tmp_path):
    from compat import assert_same_results, run_both

    path = tmp_path / "tutorial.py"
    path.write_text(TUTORIAL)
    reference, ours = run_both(path, tmp_path)
    assert_same_results(reference, ours, rtol=1e-4, atol=1e-5)


def test_optimizer_state_dict_holds_tensor_copies(torch):
    w = nerve.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    saved = opt.state_dict()
    exp_avg = saved["state"][0]["exp_avg"]
    assert isinstance(exp_avg, nerve.Tensor) and exp_avg.dtype == np.float32
    snapshot = exp_avg.clone()
    opt.step()  # the saved Tensors are copies: training on does not change them
    assert_close(saved["state"][0]["exp_avg"], snapshot)
    fresh = optim.Adam([w], lr=0.1)
    fresh.load_state_dict(saved)
    assert_close(fresh.state[w]["exp_avg"], snapshot)
