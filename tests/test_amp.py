"""Mixed precision (nerve.autograd.amp): autocast's casts and GradScaler's steps against torch's
CPU autocast (float16) and torch.amp.GradScaler("cpu"), through the same code."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
import nerve.nn.functional as nF
from nerve import nn
from nerve.autograd.amp import GradScaler, autocast, is_autocast_enabled
from nerve.autograd.grad_mode import _modes
from nerve.testing import assert_close, strict_cuda

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6)).astype(np.float32)
W = RNG.standard_normal((3, 6)).astype(np.float32)
B = RNG.standard_normal(3).astype(np.float32)
IMG = RNG.standard_normal((2, 2, 5, 5)).astype(np.float32)
K = RNG.standard_normal((3, 2, 3, 3)).astype(np.float32)
LABELS = np.array([0, 2, 1, 2])

# (name, fn(m, F, x, w, b, img, k, labels)) run under autocast on both frameworks (F: fn_)
CALLS = [
    ("matmul", lambda m, fn_, x, w, b, i, k, y: x @ w.T),
    ("linear", lambda m, fn_, x, w, b, i, k, y: fn_.linear(x, w, b)),
    ("conv2d", lambda m, fn_, x, w, b, i, k, y: fn_.conv2d(i, k, padding=1)),
    ("mse_loss", lambda m, fn_, x, w, b, i, k, y: fn_.mse_loss(fn_.linear(x, w), x[:, :3])),
    ("cross_entropy", lambda m, fn_, x, w, b, i, k, y: fn_.cross_entropy(fn_.linear(x, w, b), y)),
    ("relu of linear", lambda m, fn_, x, w, b, i, k, y: fn_.relu(fn_.linear(x, w, b))),
    ("softmax of linear", lambda m, fn_, x, w, b, i, k, y: fn_.softmax(fn_.linear(x, w), dim=-1)),
    ("sum of linear", lambda m, fn_, x, w, b, i, k, y: fn_.linear(x, w).sum()),
    ("add float16 + float32", lambda m, fn_, x, w, b, i, k, y: fn_.linear(x, w) + b),
    ("exp", lambda m, fn_, x, w, b, i, k, y: (x @ w.T).exp()),
    ("layer_norm", lambda m, fn_, x, w, b, i, k, y: fn_.layer_norm(x @ w.T, (3,))),
]


def _run(m, functional, fn, device_type="cpu"):
    tensors = []
    for a, grad in ((X, True), (W, True), (B, True), (IMG, True), (K, True)):
        t = m.tensor(a, requires_grad=grad)
        tensors.append(t)
    y = m.tensor(LABELS)
    with m.autocast(device_type, dtype=m.float16):
        out = fn(m, functional, *tensors, y)
    return out, tensors


@pytest.mark.parametrize("name,fn", CALLS, ids=[c[0] for c in CALLS])
def test_autocast_dtypes_values_and_gradients_match_torch(name, fn, torch, monkeypatch):
    # the door's name, until nerve/__init__.py exports it
    monkeypatch.setattr(nerve, "autocast", autocast, raising=False)
    ours, our_inputs = _run(nerve, nF, fn)
    theirs, their_inputs = _run(torch, torch.nn.functional, fn)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), name
    assert_close(ours.float(), theirs.float().detach().numpy(), rtol=2e-2, atol=2e-2)
    ours.float().sum().backward()
    theirs.float().sum().backward()
    for a, b in zip(our_inputs, their_inputs):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad.numpy())
            continue
        assert a.grad.dtype == np.float32  # master weights keep float32 gradients
        assert_close(a.grad, b.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_autocast_casts_only_its_device_and_nests():
    w = nerve.randn(3, 3, requires_grad=True)
    with autocast("cuda"):  # CPU tensors are left alone by a CUDA region
        assert (w @ w).dtype == np.float32
        assert is_autocast_enabled("cuda") and not is_autocast_enabled("cpu")
    with autocast("cpu", dtype=nerve.float16):
        assert (w @ w).dtype == np.float16
        with autocast("cpu", enabled=False):
            assert (w @ w).dtype == np.float32
        assert (w @ w).dtype == np.float16
        assert (w.double() @ w.double()).dtype == np.float64  # float64 is never cast
    assert not is_autocast_enabled()

    @autocast("cpu", dtype=nerve.float16)
    def f(a):
        return a @ a

    assert f(w).dtype == np.float16


def _dtypes(m, functional):
    """Result dtypes of the ops that read the autocast region (apply, linear, conv, attention)."""
    x, w, img, k = m.tensor(X), m.tensor(W), m.tensor(IMG), m.tensor(K)
    q = m.tensor(IMG[:, :, :, :4])
    outs = (
        x @ w.T,
        functional.linear(x, w),
        functional.conv2d(img, k),
        functional.scaled_dot_product_attention(q, q, q),
    )
    return [str(o.dtype).rpartition(".")[2] for o in outs]


def test_autocast_region_belongs_to_the_thread_as_torch(torch):
    import threading

    entered, checked = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)
    seen = {}

    def holder():  # holds a region while the main thread runs ops
        with autocast("cpu", dtype=nerve.float16), torch.autocast("cpu", dtype=torch.float16):
            entered.wait()
            checked.wait()
            seen["holder"] = _dtypes(nerve, nF), _dtypes(torch, torch.nn.functional)

    def other():  # started inside the main thread's region
        seen["other"] = (
            _dtypes(nerve, nF),
            _dtypes(torch, torch.nn.functional),
            is_autocast_enabled("cpu"),
            torch.is_autocast_enabled("cpu"),
            _modes.autocast,
        )

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait()
    seen["main"] = _dtypes(nerve, nF), _dtypes(torch, torch.nn.functional)
    checked.wait()
    thread.join(timeout=60)
    with autocast("cpu", dtype=nerve.float16), torch.autocast("cpu", dtype=torch.float16):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=60)
        assert _modes.autocast is not None
    low, full = ["float16"] * 4, ["float32"] * 4
    assert seen["holder"] == (low, low)
    assert seen["main"] == (full, full)
    assert seen["other"] == (full, full, False, False, None)


def test_grad_mode_changes_inside_an_autocast_region_keep_it(torch):
    def run(m):
        w = m.tensor(W, requires_grad=True)
        seen = []
        with m.autocast("cpu", dtype=m.float16):
            with m.no_grad():  # a weight cast made here is no use to a recording op later
                seen.append((w @ w.T).requires_grad)
                with m.inference_mode(False):
                    seen.append((w @ w.T).requires_grad)
            h = w @ w.T
            seen.append((str(h.dtype), h.grad_fn is not None))
            with m.inference_mode():
                seen.append((str((w @ w.T).dtype), (w @ w.T).requires_grad))
        h = w @ w.T
        seen.append((str(h.dtype), h.grad_fn is not None))
        return [
            tuple(s.rpartition(".")[2] if isinstance(s, str) else s for s in row)
            if isinstance(row, tuple)
            else row
            for row in seen
        ]

    assert run(nerve) == run(torch)
    assert run(nerve) == [False, True, ("float16", True), ("float16", False), ("float32", True)]


def test_autocast_on_the_cuda_device_uses_the_cuda_lists():
    with strict_cuda():
        w = nerve.randn(3, 3).cuda().requires_grad_()
        with autocast("cuda"):
            h = w @ w
            assert h.dtype == np.float16 and h.is_cuda
            assert nF.softmax(h, dim=-1).dtype == np.float32  # fp32 list on CUDA
            assert h.sum().dtype == np.float32
            with pytest.raises(RuntimeError, match="unsafe to autocast"):
                nF.binary_cross_entropy(h.sigmoid(), nerve.ones(3, 3).cuda())
        h.float().sum().backward()
        assert w.grad.dtype == np.float32 and w.grad.is_cuda


def test_bfloat16_disables_autocast_with_a_warning():
    w = nerve.randn(2, 2)
    with pytest.warns(UserWarning, match="bfloat16"), autocast("cpu"):
        assert (w @ w).dtype == np.float32
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        autocast("mps")


def test_weight_cast_once_per_region():
    w = nerve.randn(3, 3, requires_grad=True)
    with autocast("cpu", dtype=nerve.float16):
        a = w @ w
        b = nerve.ones(3, 3) @ w
    # both products read one float16 copy of w: one Cast node feeds them
    assert a.grad_fn.next_functions[0][0] is b.grad_fn.next_functions[1][0]
    (a.float().sum() + b.float().sum()).backward()
    assert w.grad.dtype == np.float32


# ---------------------------------------------------------------------------- GradScaler
def _scaled_training(m, steps, init_scale, lr=0.1, deep=False):
    m.manual_seed(0)
    if deep:  # the second Linear gets a float16 input beside its float32 weight
        model = m.nn.Sequential(m.nn.Linear(6, 8), m.nn.ReLU(), m.nn.Linear(8, 3))
        init = _INIT
    else:
        model = m.nn.Sequential(m.nn.Linear(6, 3))
        init = [a[:3] for a in _INIT[:2]]
    with m.no_grad():  # identical starting weights on both sides
        for p, a in zip(model.parameters(), init):
            p.copy_(m.tensor(a))
    opt = m.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scaler = m.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=2)
    x, y = m.tensor(X), m.tensor(LABELS)
    scales = []
    for _ in range(steps):
        opt.zero_grad()
        with m.autocast("cpu", dtype=m.float16):
            loss = m.nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        scales.append(float(scaler.get_scale()))
    return scales, [p.detach().numpy() for p in model.parameters()]


_INIT = [RNG.standard_normal(s).astype(np.float32) * 0.3 for s in ((8, 6), (8,), (3, 8), (3,))]


class _NerveAmp:
    GradScaler = GradScaler


def _door_names(monkeypatch):
    """nerve.autocast and nerve.amp.GradScaler, until nerve/__init__.py exports them."""
    monkeypatch.setattr(nerve, "autocast", autocast, raising=False)
    if not hasattr(nerve, "amp"):
        monkeypatch.setattr(nerve, "amp", _NerveAmp, raising=False)


@pytest.mark.parametrize("init_scale", [2.0**16, 1e38], ids=["grows", "overflows-then-backs-off"])
def test_grad_scaler_training_matches_torch(init_scale, torch, monkeypatch):
    _door_names(monkeypatch)
    # An overflowing step makes infs and NaNs in float16 on purpose (the scaler then skips it):
    # NumPy would warn where torch is silent, and this suite turns nerve's warnings into errors.
    with np.errstate(over="ignore", invalid="ignore"):
        our_scales, ours = _scaled_training(nerve, 6, init_scale)
    their_scales, theirs = _scaled_training(torch, 6, init_scale)
    assert our_scales == their_scales
    for a, b in zip(ours, theirs):
        assert_close(a, b, rtol=2e-2, atol=2e-3)


def test_grad_scaler_training_of_a_deeper_net_matches_torch(torch, monkeypatch):
    _door_names(monkeypatch)
    our_scales, ours = _scaled_training(nerve, 4, 2.0**16, deep=True)
    their_scales, theirs = _scaled_training(torch, 4, 2.0**16, deep=True)
    assert our_scales == their_scales
    for a, b in zip(ours, theirs):
        assert_close(a, b, rtol=2e-2, atol=2e-3)


def test_grad_scaler_misuse_errors_as_torch():
    net = nn.Linear(2, 1)
    opt = nerve.optim.SGD(net.parameters(), lr=0.1)
    scaler = GradScaler("cpu")
    scaler.scale(net(nerve.ones(1, 2)).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    with pytest.raises(AssertionError, match="No inf checks"):
        scaler.update()
    assert scaler.state_dict()["scale"] == 2.0**16
    off = GradScaler(enabled=False)
    loss = net(nerve.ones(1, 2)).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(ValueError, match="growth_factor"):
        GradScaler(growth_factor=1.0)


@pytest.mark.parametrize("overflow", [False, True], ids=["finite", "inf-in-one-gradient"])
def test_unscale_reads_the_device_once_per_step(overflow):
    """GradScaler.unscale_ checks every gradient for inf/NaN on the device and reads one flag
    for all of them (torch reads one too), not one per parameter: each read waits for the GPU."""
    from nerve import strict
    from nerve.testing import strict_cuda

    with strict_cuda():
        model = nerve.nn.Sequential(
            nerve.nn.Linear(4, 8), nerve.nn.ReLU(), nerve.nn.Linear(8, 8), nerve.nn.Linear(8, 2)
        ).to("cuda")
        opt = nerve.optim.SGD(model.parameters(), lr=0.1)
        scaler = GradScaler("cuda", init_scale=4.0)
        loss = model(nerve.randn(3, 4, device="cuda")).sum()
        scaler.scale(loss).backward()
        if overflow:
            model[2].bias.grad._data[0] = float("inf")
        before = strict.HOST_READS[0]
        scaler.unscale_(opt)
        assert strict.HOST_READS[0] - before == 1  # six gradients, one read
        scaler.step(opt)
        scaler.update()
        assert scaler.get_scale() == (2.0 if overflow else 4.0)
