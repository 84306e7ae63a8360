"""Every simple nn module equals torch.nn's with the same weights (forward and all gradients)."""

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.testing import assert_close

# (name, constructor arguments, input shape) — constructed the same way in both frameworks
CASES = [
    ("Linear", (6, 4), (3, 6)),
    ("Linear", (6, 4, False), (2, 5, 6)),
    ("Bilinear", (3, 4, 2), None),
    ("Conv1d", (3, 4, 3), (2, 3, 9)),
    ("Conv1d", (4, 4, 3, 2, 1, 1, 2), (2, 4, 9)),
    ("Conv2d", (3, 6, 3), (2, 3, 7, 7)),
    ("Conv2d", (4, 4, (3, 2), 2, 1, 1, 2), (2, 4, 8, 7)),
    ("Conv2d", (4, 4, 3, 1, "same", 1, 4, False), (2, 4, 6, 6)),
    ("ConvTranspose2d", (4, 6, 3, 2, 1, 1, 2), (2, 4, 5, 5)),
    ("MaxPool2d", (2,), (2, 3, 6, 6)),
    ("MaxPool2d", (3, 2, 1), (2, 3, 7, 7)),
    ("AvgPool2d", (2,), (2, 3, 6, 6)),
    ("AvgPool2d", (3, 2, 1, False, False), (2, 3, 7, 7)),
    ("AdaptiveAvgPool2d", ((3, 2),), (2, 3, 7, 5)),
    ("LayerNorm", ((5,),), (3, 4, 5)),
    ("LayerNorm", ((4, 5),), (3, 4, 5)),
    ("GroupNorm", (2, 6), (3, 6, 4, 4)),
    ("ReLU", (), (4, 5)),
    ("LeakyReLU", (0.2,), (4, 5)),
    ("ELU", (0.7,), (4, 5)),
    ("SELU", (), (4, 5)),
    ("GELU", (), (4, 5)),
    ("GELU", ("tanh",), (4, 5)),
    ("SiLU", (), (4, 5)),
    ("Sigmoid", (), (4, 5)),
    ("Tanh", (), (4, 5)),
    ("Softplus", (2.0,), (4, 5)),
    ("Softmax", (1,), (4, 5)),
    ("LogSoftmax", (-1,), (4, 5)),
    ("Flatten", (), (2, 3, 4)),
    ("Unflatten", (1, (2, 3)), (4, 6)),
    ("Identity", (), (4, 5)),
]


def _copy(n, t):
    return n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _inputs(shape, name, rng):
    if name == "MaxPool2d":  # distinct values: the gradient is well defined
        return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float32) / 10
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name,args,shape", CASES, ids=lambda v: str(v))
def test_module_matches_torch(torch, name, args, shape):
    t = getattr(torch.nn, name)(*args)
    n = getattr(nn, name)(*args)
    assert set(n.state_dict()) == set(t.state_dict())
    _copy(n, t)
    rng = np.random.default_rng(0)
    if name == "Bilinear":
        xs = [rng.standard_normal((5, 3)).astype(np.float32),
              rng.standard_normal((5, 4)).astype(np.float32)]  # fmt: skip
    else:
        xs = [_inputs(shape, name, rng)]
    xn = [nerve.tensor(x, requires_grad=True) for x in xs]
    xt = [torch.tensor(x, requires_grad=True) for x in xs]
    out_n, out_t = n(*xn), t(*xt)
    assert_close(out_n, out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(out_n.shape).astype(np.float32)
    (out_n * nerve.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    for a, b in zip(xn, xt):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    grads = {k: p.grad.numpy() for k, p in t.named_parameters()}
    for k, p in n.named_parameters():
        assert_close(p.grad, grads[k], rtol=1e-4, atol=1e-4, msg=f"{name}.{k}: ")


@pytest.mark.parametrize("name,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (8, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 5))])  # fmt: skip
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_train_and_eval_match_torch(torch, name, shape, momentum):
    t = getattr(torch.nn, name)(3, momentum=momentum)
    n = getattr(nn, name)(3, momentum=momentum)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, 3).astype(np.float32)))
        t.bias.copy_(torch.tensor(rng.standard_normal(3).astype(np.float32)))
    _copy(n, t)
    for _ in range(4):  # several training steps: running stats must follow torch's
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_n, out_t = n(xn), t(xt)
        assert_close(out_n, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
        (out_n * out_n).sum().backward()
        (out_t * out_t).sum().backward()
        assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert_close(n.running_mean, t.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(n.running_var, t.running_var.numpy(), rtol=1e-5, atol=1e-6)
    assert int(n.num_batches_tracked.item()) == int(t.num_batches_tracked.item()) == 4
    n.eval()
    t.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    assert_close(n(nerve.tensor(x)), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_embedding_with_padding_idx_matches_torch(torch):
    t = torch.nn.Embedding(10, 4, padding_idx=0)
    n = nn.Embedding(10, 4, padding_idx=0)
    assert not n.weight._data[0].any()
    _copy(n, t)
    ids = np.array([[0, 3, 3], [9, 0, 1]])
    out_n, out_t = n(nerve.tensor(ids)), t(torch.tensor(ids))
    assert_close(out_n, out_t.detach().numpy())
    out_n.sum().backward()
    out_t.sum().backward()
    assert_close(n.weight.grad, t.weight.grad.numpy())


@pytest.mark.parametrize(
    "name,kwargs,target",
    [
        ("CrossEntropyLoss", {}, "class"),
        ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 2}, "class"),
        ("NLLLoss", {"reduction": "sum"}, "class"),
        ("MSELoss", {}, "float"),
        ("L1Loss", {"reduction": "none"}, "float"),
        ("BCELoss", {}, "prob"),
        ("BCEWithLogitsLoss", {}, "prob"),
        ("HuberLoss", {"delta": 0.5}, "float"),
        ("SmoothL1Loss", {"beta": 0.5}, "float"),
        ("KLDivLoss", {"reduction": "batchmean"}, "prob"),
    ],
)
def test_loss_modules_match_torch(torch, name, kwargs, target):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
    if name in ("NLLLoss", "KLDivLoss"):
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    y = {
        "class": rng.integers(0, 4, 6),
        "float": rng.standard_normal((6, 4)).astype(np.float32),
        "prob": rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32),
    }[target]
    n, t = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ln, lt = n(xn, nerve.tensor(y)), t(xt, torch.tensor(y))
    assert_close(ln, lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    ln.sum().backward()
    lt.sum().backward()
    assert_close(xn.grad, xt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_state_dict_keys_match_torch_for_a_cnn(torch):
    def build(m):
        return m.Sequential(
            m.Conv2d(1, 4, 3), m.BatchNorm2d(4), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
            m.Linear(4 * 3 * 3, 10),
        )  # fmt: skip

    n, t = build(nn), build(torch.nn)
    assert list(n.state_dict()) == list(t.state_dict())
    _copy(n, t)
    n.eval()
    t.eval()
    x = np.random.default_rng(3).standard_normal((2, 1, 8, 8)).astype(np.float32)
    assert_close(n(nerve.tensor(x)), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
