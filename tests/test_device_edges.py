"""Issue 19's edges on the strict "cuda" device (nerve.strict stands in for CuPy, see
tests/test_strict_device.py): the Keras door's fit/evaluate/predict placing the model and each
batch on the GPU as Keras does, ``nerve train --device``, ONNX export and quantization of a
model on the device, autocast through the functionals, and list indices made on the device.

Each device run is compared with the same run on the CPU.

Run: .venv/bin/python -m pytest tests/test_device_edges.py -q
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import nerve
from nerve import layers, models
from nerve.device import to_host
from nerve.models.training import default_keras_device, keras_device
from nerve.testing import assert_close, strict_cuda

# what nerve does without a GPU: on a GPU machine these run with CUDA hidden (conftest)
pytestmark = pytest.mark.no_cuda

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 5)).astype(np.float32)
Y_REG = RNG.standard_normal((40, 3)).astype(np.float32)
Y_CLASS = RNG.integers(0, 3, 40)


@pytest.fixture
def cuda():
    with strict_cuda() as strict:
        yield strict


def _on_device(t, strict) -> bool:
    return type(t._data) is strict.StrictArray


def _dense_model(lazy: bool = False, last=None):
    nerve.manual_seed(0)
    head = [layers.Dense(8, activation="relu"), layers.Dense(3, activation=last)]
    return models.Sequential(head if lazy else [layers.Input((5,)), *head])


def _fit_run(device: str, loss, y, metrics, optimizer=None, lazy=False, last=None):
    """fit (with validation), evaluate and predict of one small model, on ``device`` (the
    Keras door's choice under strict_cuda is "cuda"; "cpu" is asked for explicitly)."""
    with strict_cuda() as strict, nerve.device(device):
        model = _dense_model(lazy, last)
        opt = optimizer or nerve.optim.Adam(model.parameters(), lr=0.01)
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
        history = model.fit(X, y, batch_size=8, epochs=2, verbose=0, validation_split=0.25)
        assert keras_device(model).type == device
        on_device = [type(p._data) is strict.StrictArray for p in model.parameters()]
        assert all(on_device) == (device == "cuda") and any(on_device) == (device == "cuda")
        results = model.evaluate(X, y, verbose=0, return_dict=True)
        predictions = model.predict(X, batch_size=16, verbose=0)
        assert type(predictions) is np.ndarray  # NumPy for the user, from either device
        batch_logs = model.train_on_batch(X[:8], y[:8], return_dict=True)
        weights = [to_host(p) for p in model.parameters()]
    return history.history, results, predictions, batch_logs, weights


def _same_runs(cpu, dev):
    for key, values in cpu[0].items():
        np.testing.assert_allclose(dev[0][key], values, rtol=1e-6, atol=1e-7, err_msg=key)
    for key, value in cpu[1].items():
        assert dev[1][key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
    assert_close(dev[2], cpu[2], rtol=1e-6, atol=1e-6)
    for key, value in cpu[3].items():
        assert dev[3][key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
    for a, b in zip(dev[4], cpu[4]):
        assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "loss,y,metrics,last",
    [
        ("mse", Y_REG, ["mae", "root_mean_squared_error"], None),
        (
            nerve.losses.CategoricalCrossentropy(from_logits=True),
            np.eye(3, dtype=np.float32)[Y_CLASS],
            ["categorical_accuracy"],
            None,
        ),
        ("binary_crossentropy", (Y_REG > 0).astype(np.float32), ["binary_accuracy"], "sigmoid"),
    ],
    ids=["mse", "categorical", "binary"],
)
def test_fit_evaluate_predict_on_the_device_match_the_cpu(loss, y, metrics, last):
    cpu = _fit_run("cpu", loss, y, metrics, last=last)
    dev = _fit_run("cuda", loss, y, metrics, last=last)
    _same_runs(cpu, dev)


def test_fit_with_sparse_labels_and_a_keras_optimizer_on_the_device():
    def run(device):
        loss = nerve.losses.SparseCategoricalCrossentropy(from_logits=True)
        return _fit_run(device, loss, Y_CLASS, ["accuracy"], optimizer="adam", lazy=True)

    _same_runs(run("cpu"), run("cuda"))


def test_the_keras_door_picks_the_gpu_when_there_is_one(cuda, monkeypatch):
    monkeypatch.delenv("NERVE_KERAS_DEVICE", raising=False)
    model = _dense_model()
    assert keras_device(model) == "cuda"  # a GPU (the strict one) and no choice made
    predictions = model.predict(X, verbose=0)
    assert type(predictions) is np.ndarray and all(_on_device(p, cuda) for p in model.parameters())
    # the opt-outs: Keras's KERAS_TORCH_DEVICE is nerve's NERVE_KERAS_DEVICE, and a default
    # device chosen in code (set_default_device, a ``with nerve.device(...)`` block)
    fresh = _dense_model()
    monkeypatch.setenv("NERVE_KERAS_DEVICE", "cpu")
    assert keras_device(fresh) == "cpu" and default_keras_device() == "cpu"
    fresh.predict(X, verbose=0)
    assert all(type(p._data) is np.ndarray for p in fresh.parameters())
    assert keras_device(model) == "cuda:0"  # a model placed on the device stays there
    monkeypatch.delenv("NERVE_KERAS_DEVICE")
    nerve.set_default_device("cpu")
    try:
        assert keras_device(fresh) == "cpu"
    finally:
        nerve.set_default_device(None)
    with nerve.device("cpu"):
        assert keras_device(fresh) == "cpu"
    assert keras_device(fresh) == "cuda"


def test_without_a_gpu_the_keras_door_stays_on_the_cpu(monkeypatch):
    monkeypatch.delenv("NERVE_KERAS_DEVICE", raising=False)
    assert keras_device(_dense_model()) == "cpu"
    monkeypatch.setenv("NERVE_KERAS_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        _dense_model().predict(X, verbose=0)


def test_a_lazily_built_model_is_built_then_placed_on_the_device(cuda):
    with nerve.device("cpu"):
        cpu = _dense_model(lazy=True).predict(X, verbose=0)
    model = _dense_model(lazy=True)  # weights are drawn at the build, from the same seed
    assert not model.built
    out = model.predict(X, verbose=0)
    assert model.built and all(_on_device(p, cuda) for p in model.parameters())
    assert_close(out, cpu, rtol=1e-6, atol=1e-6)


def test_fit_from_a_data_loader_on_the_device(cuda):
    from nerve.utils.data import DataLoader, TensorDataset

    data = TensorDataset(nerve.tensor(X), nerve.tensor(Y_REG))  # host data, batches moved

    def run(device):
        with nerve.device(device):
            model = _dense_model()
            model.compile(optimizer=nerve.optim.SGD(model.parameters(), lr=0.1), loss="mse")
            loader = DataLoader(data, batch_size=10)
            history = model.fit(loader, epochs=2, verbose=0)
            return history.history["loss"], [to_host(p) for p in model.parameters()]

    cpu_loss, cpu_w = run("cpu")
    dev_loss, dev_w = run("cuda")
    np.testing.assert_allclose(dev_loss, cpu_loss, rtol=1e-6)
    for a, b in zip(dev_w, cpu_w):
        assert_close(a, b, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------- nerve train
def test_train_device_option_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    from nerve.cli import main

    for spec, said in (("cuda", "device 'cuda' is not available"), ("gpu", "unknown device")):
        argv = ["train", "--dataset", "digits", "--device", spec, "--output", str(tmp_path)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"nerve train: error: --device {spec}: ") and said in err
        assert err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # refused before anything was written


def _train(tmp_path, name, device):
    from nerve.cli import main

    pytest.importorskip("sklearn")
    out = tmp_path / name
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--limit", "200"]
    assert main([*argv, "--device", device, "--output", str(out)]) == 0
    return json.loads((out / "report.json").read_text())


def test_train_device_cpu_runs_on_the_cpu_with_a_gpu_present(tmp_path, cuda):
    report = _train(tmp_path, "cpu", "cpu")
    assert report["device"] == "cpu"


def test_train_on_the_device_matches_the_cpu(tmp_path, cuda):
    dev = _train(tmp_path, "dev", "cuda")
    cpu = _train(tmp_path, "cpu", "cpu")
    assert dev["device"] == "cuda:0" and cpu["device"] == "cpu"
    for key in ("test_accuracy", "test_loss", "final_loss"):
        assert dev[key] == pytest.approx(cpu[key], rel=1e-5), key


# ---------------------------------------------------------------------------- files
def _conv_net():
    nerve.manual_seed(0)
    return nerve.nn.Sequential(
        nerve.nn.Conv2d(1, 4, 3, padding=1),
        nerve.nn.BatchNorm2d(4),
        nerve.nn.ReLU(),
        nerve.nn.Flatten(),
        nerve.nn.Linear(4 * 6 * 6, 3),
    ).eval()


IMAGES = RNG.standard_normal((8, 1, 6, 6)).astype(np.float32)


def test_onnx_export_of_a_device_model_equals_the_cpu_models(cuda):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    cpu_proto = nerve.onnx.export(_conv_net(), (nerve.tensor(IMAGES[:1]),))
    net = _conv_net().to("cuda")
    dev_proto = nerve.onnx.export(net, (nerve.tensor(IMAGES[:1]).cuda(),), verify=True)
    assert all(_on_device(p, cuda) for p in net.parameters())  # the model stays where it was
    assert dev_proto.SerializeToString() == cpu_proto.SerializeToString()
    keras = _dense_model().to("cuda")
    proto = nerve.onnx.export(keras, X[:2])
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: X})
    assert_close(out, keras.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_quantize_of_a_device_model_equals_the_cpu_models(cuda):
    from nerve.quantization import quantize, state_nbytes

    cpu_q = quantize(_conv_net(), IMAGES)
    net = _conv_net().to("cuda")
    dev_q = quantize(net, nerve.tensor(IMAGES).cuda(), batch_size=4)
    assert all(_on_device(p, cuda) for p in net.parameters())
    for (k, a), (k2, b) in zip(dev_q.state_dict().items(), cpu_q.state_dict().items()):
        assert type(a._data) is np.ndarray, k  # int8 inference runs on the CPU, as torch's
        assert k == k2 and a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    with nerve.no_grad():
        assert_close(dev_q(nerve.tensor(IMAGES)), cpu_q(nerve.tensor(IMAGES)), rtol=0, atol=0)
    assert state_nbytes(net) == state_nbytes(_conv_net())


# ---------------------------------------------------------------------------- autocast
H16 = RNG.standard_normal((2, 3, 6)).astype(np.float16)
W32 = RNG.standard_normal((4, 6)).astype(np.float32)
IMG16 = RNG.standard_normal((2, 1, 6, 6)).astype(np.float16)
K32 = RNG.standard_normal((2, 1, 3, 3)).astype(np.float32)
MASK32 = np.triu(np.full((3, 3), -1e4, np.float32), 1)

# a float16 activation meets float32 weights (or a float32 mask): the functionals' dtype
# checks come after autocast's casts, as in torch
AUTOCAST_CALLS = [
    ("linear", lambda fn_, h, w, i, k, m: fn_.linear(h, w)),
    ("conv2d", lambda fn_, h, w, i, k, m: fn_.conv2d(i, k, padding=1)),
    ("conv1d", lambda fn_, h, w, i, k, m: fn_.conv1d(h, w.reshape(4, 3, 2))),
    ("sdpa", lambda fn_, h, w, i, k, m: fn_.scaled_dot_product_attention(h, h, h, attn_mask=m)),
]


def _autocast_run(lib, functional, fn, device_type, place):
    tensors = [
        place(lib.tensor(a, requires_grad=a.dtype == np.float32))
        for a in (H16, W32, IMG16, K32, MASK32)
    ]
    for t in tensors:
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
    with lib.autocast(device_type, dtype=lib.float16):
        out = fn(functional, *tensors)
    out.float().sum().backward()
    return out, tensors


@pytest.mark.parametrize("name,fn", AUTOCAST_CALLS, ids=[c[0] for c in AUTOCAST_CALLS])
def test_autocast_casts_before_the_functionals_dtype_checks(name, fn, torch):
    ours, our_in = _autocast_run(nerve, nerve.nn.functional, fn, "cpu", lambda t: t)
    theirs, their_in = _autocast_run(torch, torch.nn.functional, fn, "cpu", lambda t: t)
    assert ours.dtype == np.float16 and str(theirs.dtype) == "torch.float16"
    assert_close(ours.float(), theirs.float().detach().numpy(), rtol=2e-2, atol=2e-2)
    for a, b in zip(our_in, their_in):
        if b.grad is not None:
            assert a.grad.dtype == b.grad.numpy().dtype  # float32 masters get float32 grads
            assert_close(a.grad, b.grad.numpy(), rtol=3e-2, atol=3e-2)
    with strict_cuda() as strict:
        dev, dev_in = _autocast_run(nerve, nerve.nn.functional, fn, "cuda", lambda t: t.cuda())
        assert _on_device(dev, strict) and dev.dtype == np.float16
        assert_close(dev.float(), ours.float(), rtol=1e-3, atol=1e-3)
        for a, b in zip(dev_in, our_in):
            if b.grad is not None:
                assert _on_device(a.grad, strict) and a.grad.dtype == b.grad.dtype


# ---------------------------------------------------------------------------- to_copy
def test_to_copy_is_a_registered_op_traced_to_onnx_identity(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nerve.autograd.device_copy import ToCopy
    from nerve.autograd.registry import OPS

    assert OPS["to_copy"] is ToCopy

    class Net(nerve.nn.Module):
        def forward(self, x):
            return ToCopy.apply(x, dest=x.device) * 2  # what x.to(device) records

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    proto = nerve.onnx.export(Net(), (nerve.tensor(x),))
    assert [n.op_type for n in proto.graph.node][:1] == ["Identity"]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_array_equal(out, x * 2)
    y = nerve.tensor(x)
    assert ToCopy.apply(y, dest=y.device)._data is not y._data  # a copy, as torch's _to_copy


# ---------------------------------------------------------------------------- indices, draws
def test_item_assignment_with_list_indices_on_the_device(cuda):
    t = nerve.zeros(4, 3).cuda()
    t[[0, 2]] = 5.0  # the list becomes an index array on the tensor's device
    assert _on_device(t, cuda) and t.sum().item() == 30.0
    w = nerve.zeros(4, 3).cuda().requires_grad_()
    u = w * 1
    u[[1, 3], 0] = nerve.tensor(2.0).cuda()  # differentiable: a scatter
    u.sum().backward()
    expected = np.zeros((4, 3), np.float32)
    expected[[1, 3], 0] = 2.0
    np.testing.assert_array_equal(u.numpy(force=True), expected)
    assert _on_device(w.grad, cuda)
    np.testing.assert_array_equal(w.grad.numpy(force=True), (expected == 0).astype(np.float32))


def test_tensor_multinomial_and_bernoulli_methods_as_torch(torch):
    w = [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    for lib in (nerve, torch):
        lib.manual_seed(0)
        draws = lib.tensor(w).multinomial(50, replacement=True)
        assert tuple(draws.shape) == (2, 50) and str(draws.dtype).endswith("int64")
        assert (draws[0] == 2).all() and set(np.unique(draws[1].numpy())) == {0, 1}
        distinct = lib.tensor([1.0, 2.0, 3.0, 4.0]).multinomial(4)
        assert sorted(distinct.tolist()) == [0, 1, 2, 3]
        sure = lib.tensor([[0.0, 1.0], [1.0, 0.0]]).bernoulli()
        assert sure.tolist() == [[0.0, 1.0], [1.0, 0.0]] and str(sure.dtype).endswith("float32")
        assert lib.zeros(3).bernoulli(1.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="multinomial: prob_dist must be 1 or 2 dim"):
        nerve.zeros(2, 2, 2).multinomial(1)
    with pytest.raises(ValueError, match="expected 0 <= p <= 1"):
        nerve.tensor([1.5]).bernoulli()
    gen = nerve.Generator().manual_seed(3)
    first = nerve.ones(100).mul(0.5).bernoulli(generator=gen).numpy()
    again = nerve.ones(100).mul(0.5).bernoulli(generator=nerve.Generator().manual_seed(3))
    np.testing.assert_array_equal(first, again.numpy())


def test_tensor_draws_stay_on_the_device(cuda):
    w = nerve.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]]).cuda()
    draws = w.multinomial(20, replacement=True)
    assert _on_device(draws, cuda) and (draws[0] == 2).all().item()
    flips = w.bernoulli()
    assert _on_device(flips, cuda)
    np.testing.assert_array_equal(flips.numpy(force=True), w.numpy(force=True))


def test_weights_come_to_the_host_and_go_back_to_the_device(cuda):
    """get_weights hands NumPy copies of device weights; set_weights writes host arrays into
    them; so EarlyStopping(restore_best_weights=True) works after a fit on the GPU."""
    model = _dense_model()
    model.compile(optimizer="adam", loss="mse")
    stop = nerve.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    model.fit(X, Y_REG, batch_size=8, epochs=4, verbose=0, validation_split=0.25, callbacks=[stop])
    assert all(_on_device(p, cuda) for p in model.parameters())
    weights = model.get_weights()
    assert all(type(w) is np.ndarray for w in weights)
    model.set_weights([w * 0 + 1.5 for w in weights])
    assert all(_on_device(p, cuda) for p in model.parameters())
    assert all((to_host(p) == 1.5).all() for p in model.parameters())
    var = model.layers[0].kernel
    assert type(var.numpy()) is np.ndarray


def test_item_assignment_copies_a_value_from_another_device(cuda):
    """torch copies a tensor value across devices in ``t[i] = v``; so does nerve, and the
    gradient of a differentiable assignment flows back to the value's own device."""
    target = nerve.zeros(4, 3, device="cuda")
    target[1:3] = nerve.ones(2, 3)  # a CPU value into a device tensor
    assert _on_device(target, cuda)
    assert to_host(target).sum() == 6
    host = nerve.zeros(2, 3)
    host[0] = nerve.full((3,), 2.0, device="cuda")  # and back
    assert type(host._data) is np.ndarray and host.numpy()[0].tolist() == [2.0, 2.0, 2.0]
    value = nerve.ones(3, requires_grad=True)  # on the CPU
    base = nerve.zeros(2, 3, device="cuda")
    out = base.clone()
    out[0] = value * 3
    out.sum().backward()
    assert type(value.grad._data) is np.ndarray and value.grad.numpy().tolist() == [3.0, 3.0, 3.0]
