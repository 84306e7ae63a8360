"""The CUDA device's plumbing, on the strict test backend (nerve.strict stands in for CuPy):
tensors and modules moving between devices, gradients across the move, device mixing refused,
nerve.cuda's answers, optimizers, DataLoader batches and files on the device.

Run: .venv/bin/python -m pytest tests/test_cuda_device.py -q
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close, strict_cuda


@pytest.fixture
def cuda():
    with strict_cuda() as strict:
        yield strict


def _on_device(t, strict) -> bool:
    return type(t._data) is strict.StrictArray


# ---------------------------------------------------------------------------- tensors
def test_tensor_moves_to_the_device_and_back(cuda):
    x = nerve.tensor([[1.0, 2.0], [3.0, 4.0]])
    for spec in ("cuda", "cuda:0", nerve.device("cuda", 0), 0):
        y = x.to(spec) if spec != 0 else x.cuda(0)
        assert _on_device(y, cuda) and y.is_cuda and not y.is_cpu
        assert y.device == "cuda:0" and y.get_device() == 0
    y = x.cuda()
    assert y.to("cuda") is y and y.cuda() is y  # already there: the same tensor, as torch
    back = y.cpu()
    assert type(back._data) is np.ndarray and back.device == "cpu" and back.get_device() == -1
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert x.cpu() is x
    z = x.to("cuda", nerve.float64)
    assert _on_device(z, cuda) and z.dtype == np.float64


def test_repr_names_the_device_as_torch(cuda):
    y = nerve.tensor([1.0, 2.0]).cuda()
    assert repr(y) == "tensor([1., 2.], device='cuda:0')"
    w = nerve.tensor([1.0], requires_grad=True).cuda()
    assert repr(w) == "tensor([1.], device='cuda:0', grad_fn=<ToCopyBackward0>)"


def test_numpy_of_a_device_tensor_refuses_as_torch(cuda, torch):
    y = nerve.ones(2).cuda()
    message = (
        "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
        "to host memory first."
    )
    with pytest.raises(TypeError) as ours:
        y.numpy()
    assert str(ours.value) == message
    with pytest.raises(TypeError, match="Tensor.cpu"):
        np.asarray(y)
    np.testing.assert_array_equal(y.numpy(force=True), np.ones(2, np.float32))
    assert y.sum().item() == 2.0  # item/tolist copy to the host
    assert y.tolist() == [1.0, 1.0] and float(y[0]) == 1.0


def test_gradient_flows_back_across_devices(cuda):
    x = nerve.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("cuda")
    loss = (y * y).sum().cpu()  # back to the host, as loss.item() code often does
    loss.backward()
    assert type(x.grad._data) is np.ndarray
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    w = nerve.tensor([0.5, 0.5], requires_grad=True, dtype=nerve.float32).cuda()
    w.retain_grad()
    (w * 3).sum().backward()
    assert _on_device(w.grad, cuda)


def test_leaf_on_the_device_gets_its_gradient_there(cuda):
    w = nerve.randn(3, 2).cuda().requires_grad_()
    x = nerve.randn(4, 3).cuda()
    (x @ w).relu().sum().backward()
    assert _on_device(w.grad, cuda)
    cpu_w = nerve.Tensor._wrap(w.numpy(force=True)).requires_grad_()
    (x.cpu() @ cpu_w).relu().sum().backward()
    assert_close(w.grad, cpu_w.grad)


def test_mixing_devices_is_an_error_naming_both(cuda):
    a = nerve.ones(2, 3).cuda()
    b = nerve.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"cuda:0 and cpu.*\(in add: input 1 of shape \(2, 3\)"):
        a + b
    with pytest.raises(RuntimeError, match="cuda:0 and cpu"), nerve.no_grad():
        a * b
    with pytest.raises(RuntimeError, match=r"in matmul: input 0 of shape \(2, 3\) is on cpu"):
        b.requires_grad_() @ a.T
    # a 0-d CPU tensor is a number beside device tensors, as in torch
    out = a * nerve.tensor(2.0)
    assert _on_device(out, cuda)
    np.testing.assert_array_equal(out.numpy(force=True), np.full((2, 3), 2.0, np.float32))


def test_backward_gradient_on_another_device_is_refused(cuda):
    y = nerve.ones(2, requires_grad=True).cuda() * 2
    with pytest.raises(RuntimeError, match="gradient is on cpu but the tensor is on cuda:0"):
        y.backward(nerve.ones(2))
    y.sum().backward(nerve.tensor(1.0))  # a 0-d gradient is moved, as a number


def test_new_tensors_and_random_fills_stay_on_the_device(cuda):
    y = nerve.ones(2, 2).cuda()
    for t in (y.new_zeros(3), y.new_ones(2, 1), y.new_empty(4), y.new_full((2,), 7.0)):
        assert _on_device(t, cuda) and t.dtype == y.dtype
    assert _on_device(y.new_tensor([1, 2]), cuda)
    assert type(y.new_zeros(2, device="cpu")._data) is np.ndarray
    nerve.manual_seed(3)
    first = y.clone().normal_().numpy(force=True)
    nerve.manual_seed(3)
    again = y.clone().normal_()
    assert _on_device(again, cuda)
    np.testing.assert_array_equal(first, again.numpy(force=True))
    nerve.cuda.manual_seed(4)
    other = y.clone().uniform_(-1, 1)
    assert _on_device(other, cuda) and np.all(np.abs(other.numpy(force=True)) <= 1)


def test_copy_between_devices(cuda):
    dev = nerve.zeros(3).cuda()
    dev.copy_(nerve.tensor([1.0, 2.0, 3.0]))
    assert _on_device(dev, cuda)
    np.testing.assert_array_equal(dev.numpy(force=True), [1.0, 2.0, 3.0])
    host = nerve.zeros(3)
    host.copy_(dev)
    np.testing.assert_array_equal(host.numpy(), [1.0, 2.0, 3.0])


def test_in_place_change_of_a_saved_device_array_is_caught(cuda):
    x = nerve.ones(3, requires_grad=True).cuda()
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_autograd_grad_and_custom_functions_on_the_device(cuda):
    class Cube(nerve.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x, x + 1

        @staticmethod
        def backward(ctx, g, g2):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = nerve.tensor([1.0, 2.0]).cuda().requires_grad_()
    y, _ = Cube.apply(x)  # the second output gets no gradient: zeros on the device stand in
    (gx,) = nerve.autograd.grad(y.sum(), x)
    assert _on_device(gx, cuda)
    np.testing.assert_allclose(gx.numpy(force=True), [3.0, 12.0])


# ---------------------------------------------------------------------------- nerve.cuda
def test_cuda_answers_for_the_strict_device(cuda):
    assert nerve.cuda.is_available() and nerve.cuda.device_count() == 1
    assert nerve.cuda.is_initialized() and nerve.cuda.current_device() == 0
    nerve.cuda.synchronize()
    nerve.cuda.set_device(0)
    assert "strict" in nerve.cuda.get_device_name(0)
    assert nerve.cuda.get_device_capability() == (0, 0)
    assert nerve.cuda.get_device_properties(0).multi_processor_count == 1
    assert nerve.accelerator.is_available()
    assert nerve.accelerator.current_accelerator() == nerve.device("cuda")
    assert nerve.accelerator.device_count() == 1 and nerve.accelerator.current_device_index() == 0
    with pytest.raises(RuntimeError, match="1 cuda device"):
        nerve.zeros(2).to("cuda:1")


def test_events_time_device_work(cuda):
    start, end = nerve.cuda.Event(enable_timing=True), nerve.cuda.Event(enable_timing=True)
    start.record()
    (nerve.randn(64, 64).cuda() @ nerve.randn(64, 64).cuda()).sum()
    end.record()
    end.synchronize()
    assert end.query() and start.elapsed_time(end) >= 0.0


def test_memory_allocated_follows_device_arrays(cuda):
    nerve.cuda.reset_peak_memory_stats()
    before = nerve.cuda.memory_allocated()
    big = nerve.zeros(1000, 1000).cuda()
    during = nerve.cuda.memory_allocated()
    assert during - before >= 4_000_000
    del big
    assert nerve.cuda.memory_allocated() < during
    assert nerve.cuda.max_memory_allocated() >= during
    nerve.cuda.empty_cache()


@pytest.fixture
def no_cuda():
    """A machine without a CUDA backend, on any machine: a real GPU's (CuPy's) is hidden."""
    from nerve.device import hidden_backend

    with hidden_backend("cuda"):
        yield


def test_cuda_without_a_backend_says_so(no_cuda):
    assert not nerve.cuda.is_available() and nerve.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="not available"):
        nerve.ones(2).cuda()
    with pytest.raises(RuntimeError, match="not available"):
        nn.Linear(2, 2).to("cuda")
    with pytest.raises(RuntimeError, match="not available"):
        nerve.cuda.Event()
    with pytest.raises(RuntimeError, match=r"synchronize\(\): device 'cuda' is not available"):
        nerve.cuda.synchronize()


def test_hiding_the_backend_puts_it_back(cuda):
    from nerve.device import hidden_backend

    with hidden_backend("cuda"):
        assert not nerve.cuda.is_available()
    assert nerve.cuda.is_available()
    assert _on_device(nerve.ones(2).cuda(), cuda)


# ---------------------------------------------------------------------------- modules, training
def _net():
    nerve.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_module_to_moves_parameters_buffers_and_grads_in_place(cuda):
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(net.parameters())
    net(nerve.randn(5, 3)).sum().backward()
    assert net.to("cuda") is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    for p in net.parameters():
        assert _on_device(p, cuda) and _on_device(p.grad, cuda)
    for b in net.buffers():
        assert _on_device(b, cuda)
    net.cpu()
    assert all(type(p._data) is np.ndarray for p in net.parameters())
    net.cuda(0)
    assert all(_on_device(p, cuda) for p in net.parameters())


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: nerve.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda ps: nerve.optim.Adam(ps, lr=0.01, amsgrad=True),
        lambda ps: nerve.optim.AdamW(ps, lr=0.01),
        lambda ps: nerve.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
        lambda ps: nerve.optim.Adagrad(ps, lr=0.1),
        lambda ps: nerve.optim.Adadelta(ps),
        lambda ps: nerve.optim.Adamax(ps, lr=0.01),
        lambda ps: nerve.optim.NAdam(ps, lr=0.01),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam"],
)
def test_training_on_the_device_matches_the_cpu(cuda, make):
    x, y = nerve.randn(16, 4), nerve.randint(0, 3, (16,))
    results = []
    for dev in ("cpu", "cuda"):
        net = _net().to(dev)
        opt = make(net.parameters())
        xd, yd = x.to(dev), y.to(dev)
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xd), yd)
            loss.backward()
            opt.step()
        for state in opt.state.values():
            for v in state.values():
                if hasattr(v, "shape") and getattr(v, "ndim", 0):
                    assert (type(v) is cuda.StrictArray) == (dev == "cuda"), type(v)
        results.append([p.numpy(force=True) for p in net.parameters()])
    for cpu_p, dev_p in zip(*results):
        assert_close(dev_p, cpu_p, rtol=1e-5, atol=1e-6)


def test_optimizer_state_loads_onto_the_parameters_device(cuda):
    net = _net()
    opt = nerve.optim.Adam(net.parameters(), lr=0.01)
    nn.functional.mse_loss(net(nerve.randn(2, 4)), nerve.zeros(2, 3)).backward()
    opt.step()
    saved = opt.state_dict()
    net.to("cuda")
    fresh = nerve.optim.Adam(net.parameters(), lr=0.01)
    fresh.load_state_dict(saved)
    for state in fresh.state.values():
        assert type(state["exp_avg"]) is cuda.StrictArray
    dev_saved = fresh.state_dict()
    assert all(_on_device(s["exp_avg"], cuda) for s in dev_saved["state"].values())


def test_dataloader_batches_move_to_the_device(cuda):
    from nerve.utils.data import DataLoader, TensorDataset

    data = TensorDataset(nerve.randn(10, 3), nerve.arange(10))
    loader = DataLoader(data, batch_size=4, pin_memory=True)
    seen = 0
    for xb, yb in loader:
        xb, yb = xb.to("cuda", non_blocking=True), yb.to("cuda", non_blocking=True)
        assert _on_device(xb, cuda) and _on_device(yb, cuda)
        seen += len(yb)
    assert seen == 10


# ---------------------------------------------------------------------------- files
def test_state_dict_of_a_device_model_saves_and_loads_with_map_location(cuda):
    net = _net().to("cuda")
    buffer = io.BytesIO()
    nerve.save(net.state_dict(), buffer)
    buffer.seek(0)
    on_host = nerve.load(buffer)
    assert all(type(a) is np.ndarray for a in on_host.values())
    for spec in ("cuda", nerve.device("cuda:0"), {"cpu": "cuda"}):
        buffer.seek(0)
        on_device = nerve.load(buffer, map_location=spec)
        assert all(type(a) is cuda.StrictArray for a in on_device.values()), spec
    cpu_net = _net()
    for p in cpu_net.parameters():
        p.data.zero_()
    cpu_net.load_state_dict(net.state_dict())  # device values into a CPU model
    assert all(type(p._data) is np.ndarray for p in cpu_net.parameters())
    for a, b in zip(cpu_net.parameters(), net.parameters()):
        assert_close(a, b)
    dev_net = _net().to("cuda")
    dev_net.load_state_dict(on_host)  # host values into a device model
    assert all(_on_device(p, cuda) for p in dev_net.parameters())


def test_checkpoint_of_a_device_model_and_optimizer_saves(cuda):
    net = _net().to("cuda")
    opt = nerve.optim.Adam(net.parameters())
    nn.functional.mse_loss(net(nerve.randn(2, 4).cuda()), nerve.zeros(2, 3).cuda()).backward()
    opt.step()
    buffer = io.BytesIO()
    nerve.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, buffer)
    buffer.seek(0)
    back = nerve.load(buffer, map_location="cuda")
    assert back["epoch"] == 3
    assert type(back["model"]["0.weight"]) is cuda.StrictArray


def test_map_location_cuda_without_a_device_is_an_error(no_cuda):
    buffer = io.BytesIO()
    nerve.save(nn.Linear(2, 2).state_dict(), buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="not available"):
        nerve.load(buffer, map_location="cuda")


# ---------------------------------------------------------------------------- the GPU check
def test_gpu_check_dry_run_on_the_strict_backend(tmp_path, torch):
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from benchmarks import gpu_check

    real = nerve.cuda.is_available()  # a GPU machine's CuPy
    status = gpu_check.main(
        ["--strict", "--quick", "--only", "epoch,bench", "--out", str(tmp_path)]
    )
    assert status == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["environment"]["backend"].startswith("strict")
    epoch = report["sections"]["epoch"]
    assert epoch["nerve"]["images"] == 256 and 0 <= epoch["nerve"]["test_accuracy"] <= 1
    assert set(report["sections"]["bench"]["rows"]) == {"mlp", "infer_mlp_b1024"}
    assert nerve.cuda.is_available() is real  # the strict backend is off again


def test_gpu_check_without_a_gpu_says_what_is_missing(tmp_path, capsys):
    import importlib.util
    import sys
    from pathlib import Path

    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed: gpu_check would run for real")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks import gpu_check

    assert gpu_check.main(["--out", str(tmp_path)]) == 2
    assert "cannot run on this machine" in capsys.readouterr().err


def test_a_cpu_scalar_beside_device_tensors_gets_its_gradient_on_the_cpu(cuda):
    s = nerve.tensor(3.0, requires_grad=True)
    x = nerve.tensor([1.0, 2.0]).cuda().requires_grad_()
    (x * s).sum().backward()
    assert type(s.grad._data) is np.ndarray and s.grad.item() == 3.0
    assert _on_device(x.grad, cuda)
    np.testing.assert_array_equal(x.grad.numpy(force=True), [3.0, 3.0])


def test_the_error_says_why_an_installed_cupy_gave_no_device(monkeypatch, no_cuda):
    """CuPy installed but the driver failing: the message says so instead of only asking to
    pip install nerve[cuda]."""
    import sys
    import types

    dev = sys.modules["nerve.device"]  # nerve.device is the device class, as torch.device

    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(dev, "_probed", set())
    monkeypatch.setattr(dev, "_cupy_problem", [None])
    with pytest.raises(RuntimeError, match="found no usable GPU: cudaErrorInsufficientDriver"):
        nerve.zeros(2, device="cuda")
